//! `sfn-server`: the Step Functions API over HTTP (awsJson1_0: `POST /`, `X-Amz-Target:
//! AWSStepFunctions.<Operation>`), for boto3, the AWS CLI and every AWS SDK, unchanged.
//!
//! Place in the workspace: above the engine (it runs executions with [`sfn_engine::Engine`]) and `sfn-asl`
//! (definitions are validated exactly as `sfn validate` does); below the CLI (`sfn serve`, and `sfn run`'s
//! callback endpoint for `.waitForTaskToken` containers).
//!
//! Operations: Create/Describe/Update/Delete/ListStateMachines, ValidateStateMachineDefinition,
//! StartExecution, StartSyncExecution (EXPRESS), Describe/ListExecutions, GetExecutionHistory, StopExecution,
//! DescribeStateMachineForExecution, SendTaskSuccess/Failure/Heartbeat, TestState, Tag/UntagResource,
//! ListTagsForResource, PublishStateMachineVersion, List/DeleteStateMachineVersion(s),
//! Create/Describe/Update/Delete/ListStateMachineAlias(es) (StartExecution and DescribeStateMachine take a
//! version ARN, StartExecution an alias ARN), RedriveExecution (in memory), Create/Describe/List/DeleteActivity
//! and GetActivityTask (the tasks of Task states on activity ARNs, for workers that complete them with
//! SendTask*), DescribeMapRun, ListMapRuns and UpdateMapRun (a Distributed Map's STANDARD children are
//! executions of their own: described, listed with `ListExecutions --map-run-arn`, journaled). Anything else
//! answers `UnknownOperationException`.
//!
//! Durability: with a state directory ([`ServerOptions::state_dir`]) every state machine, activity,
//! execution and history event is journaled in an embedded [redb](https://docs.rs/redb) database, through the engine's
//! [`sfn_engine::EventSink`] as events happen, with group commit; finished executions and their histories
//! are served from it after a restart, and executions that were RUNNING — after a graceful stop or a
//! kill -9 — resume where they were ([`sfn_engine::Engine::resume`], deterministic replay of their
//! recorded events): a `.sync` task is polled again by its ARN (a call never runs twice: the engine makes
//! it only once its `TaskScheduled` is committed — the sink's [`sfn_engine::EventSink::durable`] is a
//! journal barrier — and a call lost with the journal's tail is made again with the same ECS `ClientToken`),
//! a callback token stays valid (SendTaskSuccess with the old token completes the resumed task), an
//! activity task no worker had taken is offered to GetActivityTask again (one taken stays the worker's), a Wait
//! waits only for what is left. Resumed executions are described, listed, stopped and their histories
//! served like live ones; new events continue the recorded ids. redb rather than SQLite: pure Rust (no C toolchain), and lighter to
//! build on a 2-core machine — measured on a scratch crate: debug 8.5 s vs 14.4 s for `rusqlite` with
//! `bundled`, release 24.5 s vs 92.1 s (SQLite's single C translation unit at -O3). SQLite's WAL would
//! spare an fsync per commit; here one fsync covers a whole batch, and a call that must be durable before
//! it answers (StartExecution, CreateStateMachine, …, and a task's service call) waits for its batch only.
//! A RUNNING execution that cannot be resumed (its state machine cannot run with this server's
//! integrations) stays RUNNING with its recorded history until StopExecution ends it.
//!
//! Durable means durable: a request that writes is answered 200 only once its journal commit succeeded. A
//! commit that fails (a full disk, an I/O error) fails the requests waiting on it with HTTP 503
//! `ServiceUnavailable` (logged at error level), and a Task does not call its service until its
//! `TaskScheduled` is committed (the sink's barrier waits; it never resolves on a failed commit). Nothing
//! queued is dropped: the writer keeps the uncommitted operations, reopens the redb file (redb fails every
//! operation after an I/O error until it is reopened; reads wait out the reopen) and tries again with
//! back-off, 50 ms doubling to 5 s, so writes succeed again once space is back — which is why a 503 leaves
//! the outcome open, as any 5xx does on AWS (StartExecution with the same name is idempotent while the
//! execution runs). Reads answer meanwhile.
//!
//! A damaged journal is refused, never half-read: every open runs redb's integrity check, checks the
//! SHA-256 seal of every record (table, key, commit number and text) and every version a machine or an
//! execution names, and compares redb's current commit slot with the last commit recorded beside the file
//! (`sfn.redb.commit`: a flipped header bit can otherwise bring back the previous commit whole). A
//! corrupt, truncated or 0-byte `sfn.redb` fails [`Server::open`] with [`ServerError::Journal`] (the file,
//! what was found, how to recover) — never a panic, never a start with records missing or altered; a
//! directory without the file starts empty. [`check_journal`] and [`salvage_journal`] (`sfn journal check
//! DIR`, `sfn journal salvage DIR NEW_DIR`) say what is damaged and copy every intact record into a new
//! journal (through redb when it can still open the file, else from the raw bytes, each record's newest
//! intact copy). Journals written before records were sealed are sealed in place when opened.
//!
//! Invariants:
//! - Binds loopback unless the caller asks otherwise ([`bind`] / [`check_listen`] refuse a non-loopback
//!   address without `allow_remote`): like Step Functions Local, requests are not SigV4-checked, and a task
//!   token is the only credential SendTask* needs.
//! - Requests a web page could forge are refused with HTTP 403 before they are read: a `Host` that is not a
//!   loopback name (DNS rebinding) or one the server was told to answer for, or a browser `Origin` other
//!   than the server's own ([`HostPolicy`]). AWS SDKs and the AWS CLI send neither.
//! - Request bodies over 1 MiB are refused with HTTP 413 before they are read.
//! - Errors have AWS's wire shape (`{"__type": "<namespace>#<Code>", "message"}`, HTTP 400 for the
//!   caller's mistakes, 500 for ours, 503 when a write could not be made durable) and AWS's messages where
//!   they are known; request data and stored data never panic.
//! - A 200 answer to a request that writes means its records are committed.
//! - SendTask* has one implementation ([`send_task`]), shared by the full server and the callback-only
//!   [`callback_router`] that `sfn run` mounts on an ephemeral port.
//! - What the console shows is what the API answers: [`Server::api`] runs the same dispatch (and the Logs
//!   operations) in process, and [`guard_router`] puts the console's pages behind the same `Host`/`Origin`
//!   rules.
//!
//! Modules, in layers: a module names (`use crate::…`) only modules of the layers below it, never one
//! of its own layer or above (checked by the `layering` test below).
//! 1. `error`: [`ApiError`] and [`ServerError`].
//! 2. `protocol` (awsJson1_0: bodies, responses, request members), `arn`, `guard` ([`HostPolicy`]),
//!    `mocking` ([`MockCases`]: Step Functions Local's `NAME#TestCase`).
//! 3. `journal` (the redb journal), `definition` (the one validation, AWS's `InvalidDefinition`).
//! 4. `service`: the core — the registry of state machines, versions and executions, preparing versions,
//!    resuming executions, closing. It knows no operation.
//! 5. The operations, which never name one another: `machines`, `executions`, `testing` (TestState),
//!    `callback` (SendTask*, and the callback-only endpoint), `versions` (versions and aliases),
//!    `activities` (the activity operations), `maprun` (map runs: the engine's observer of them and
//!    their operations).
//! 6. `http`: which operation module answers which operation, the router, binding; and this file.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let server = sfn_server::Server::open(sfn_engine::Engine::builder(), sfn_server::ServerOptions::default())?;
//! let listener = sfn_server::bind("127.0.0.1:8083".parse()?, false).await?;
//! server.serve(listener, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

mod activities;
mod arn;
mod callback;
mod client;
mod conn;
mod definition;
mod error;
mod executions;
mod guard;
mod http;
mod journal;
mod logs;
mod machines;
mod maprun;
mod mocking;
mod nested;
mod protocol;
mod service;
mod testing;
mod versions;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use sfn_engine::{Engine, EngineBuilder};

pub use arn::valid_name;
pub use callback::{callback_router, send_task, serve_callbacks};
pub use client::{ClientError, call as call_endpoint};
pub use conn::HEADER_READ_TIMEOUT;
pub use error::{ApiError, PROTOCOL_NAMESPACE, SERVICE_NAMESPACE, ServerError, VALIDATE_NAMESPACE};
pub use guard::HostPolicy;
pub use http::{bind, check_listen};
pub use journal::{
    JOURNAL_FILE, JournalCheck, RecordCounts, SalvageReport, check as check_journal,
    salvage as salvage_journal,
};
pub use logs::{LogStore, STREAM_BYTES as LOG_STREAM_BYTES, TARGET_PREFIX as LOGS_TARGET_PREFIX};
pub use mocking::MockCases;
pub use protocol::BODY_READ_TIMEOUT;
pub use protocol::{CONTENT_TYPE, MAX_BODY_BYTES, body_json, operation};

/// How the server keeps its state, and whom it answers.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Journal everything here (created if missing); `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// The `Host` names answered (default: loopback names only) and the browser-`Origin` rule.
    pub hosts: HostPolicy,
    /// Step Functions Local's test cases: StartExecution on `…:stateMachine:NAME#TestCase` runs with that
    /// test case's mocked responses (`None`: such an ARN names no state machine).
    pub mocks: Option<Arc<dyn MockCases>>,
}

/// A Step Functions endpoint over one engine.
pub struct Server {
    service: Arc<service::Service>,
    hosts: Arc<HostPolicy>,
    logs: Arc<LogStore>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("journal", &self.service.journal).finish_non_exhaustive()
    }
}

impl Server {
    /// Builds the engine from `builder` (adding the journal's event sink when there is a state directory)
    /// and loads what the state directory holds; executions that were running resume at once. Call it
    /// inside a tokio runtime.
    pub fn open(builder: EngineBuilder, options: ServerOptions) -> Result<Server, ServerError> {
        let children = Arc::new(nested::ServerExecutions::default());
        let activities = Arc::new(service::Activities::default());
        let priors = Arc::new(service::PriorChildren::default());
        let map_runs = Arc::new(maprun::ServerMapRuns::new(priors.clone()));
        let builder = builder
            .integration(Arc::new(sfn_patterns::StatesIntegration::new(children.clone())))
            .activities(activities.clone())
            .map_runs(map_runs.clone());
        let (engine, journal, snapshot) = match &options.state_dir {
            Some(dir) => {
                let (journal, snapshot) = journal::Journal::open(dir)?;
                (builder.event_sink(journal.sink()).build(), Some(journal), snapshot)
            }
            None => (builder.build(), None, journal::Snapshot::default()),
        };
        let service =
            Arc::new(service::Service::new(engine, journal, snapshot, options.mocks, activities, priors));
        children.bind(&service);
        map_runs.bind(&service);
        Ok(Server { service, hosts: Arc::new(options.hosts), logs: Arc::default() })
    }

    /// Answers CloudWatch Logs' GetLogEvents, FilterLogEvents and DescribeLogStreams from `logs` (the
    /// containers' output; by default an empty store).
    pub fn with_logs(mut self, logs: Arc<LogStore>) -> Self {
        self.logs = logs;
        self
    }

    /// The engine (its token registry answers SendTask*).
    pub fn engine(&self) -> &Engine {
        &self.service.engine
    }

    /// The API in process: the operations and the logs answered by the same code as over HTTP, for a
    /// caller in this process (the console) that must read what the API serves.
    pub fn api(&self) -> Api {
        Api { service: self.service.clone(), logs: self.logs.clone() }
    }

    /// The API as an axum router (`POST /`), behind the `Host`/`Origin` rules of [`ServerOptions::hosts`].
    pub fn router(&self) -> axum::Router {
        http::router(self.service.clone(), self.logs.clone(), self.hosts.clone())
    }

    /// Serves the API on `listener` until `shutdown` resolves, then finishes the requests in flight,
    /// commits the journal and closes it (the state directory can be opened again at once). Executions
    /// still running are abandoned where they stand, as if the process had died: they stay RUNNING in the
    /// journal and resume when it is opened again. Without a state directory they are stopped instead
    /// (ABORTED, their `.sync` tasks stopped), since nothing could resume them.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router();
        conn::serve(listener, app, shutdown).await?;
        self.service.close().await;
        Ok(())
    }

    /// Waits until everything journaled so far is on disk (no-op without a state directory); the error
    /// (HTTP 503 `ServiceUnavailable`) when the journal cannot be written at the moment (its writes stay
    /// queued and are tried again).
    pub async fn flush(&self) -> Result<(), ApiError> {
        self.service.durable().await
    }
}

/// The server's API called in process ([`Server::api`]): what `POST /` answers, without HTTP. Cheap to
/// clone; it keeps the server's registry alive, not its listener.
#[derive(Clone)]
pub struct Api {
    service: Arc<service::Service>,
    logs: Arc<LogStore>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").finish_non_exhaustive()
    }
}

impl Api {
    /// Runs one Step Functions operation (`DescribeExecution`, `StopExecution`, …; the name without the
    /// `AWSStepFunctions.` prefix) on `input`, exactly as the endpoint answers it: the same errors too.
    pub async fn call(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        http::call(&self.service, operation, input).await
    }

    /// Runs one CloudWatch Logs operation (`GetLogEvents`, `DescribeLogStreams`, `DescribeLogGroups`,
    /// `FilterLogEvents`; without the `Logs_20140328.` prefix) on the containers' output.
    pub fn call_logs(
        &self,
        operation: &str,
        input: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        self.logs.call(operation, input)
    }
}

/// `router` behind `policy`'s `Host`/`Origin` rules (HTTP 403 `AccessDeniedException` before anything
/// runs), as the API is: for the console's pages on their own port.
pub fn guard_router(router: axum::Router, policy: HostPolicy) -> axum::Router {
    guard::guarded(router, Arc::new(policy))
}

/// Serves `router` on `listener` as the API is served (HTTP/1.1, [`HEADER_READ_TIMEOUT`]) until
/// `shutdown` resolves, then waits for the requests in flight.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listener, router, shutdown).await
}

/// `use crate::…` points down the layers of the crate doc.
#[cfg(test)]
mod layering {
    /// The modules, bottom layer first, with their sources.
    const LAYERS: &[&[(&str, &str)]] = &[
        &[("error", include_str!("error.rs"))],
        &[
            ("protocol", include_str!("protocol.rs")),
            ("arn", include_str!("arn.rs")),
            ("guard", include_str!("guard.rs")),
            ("mocking", include_str!("mocking.rs")),
            ("conn", include_str!("conn.rs")),
            ("logs", include_str!("logs.rs")),
        ],
        &[
            ("journal", include_str!("journal.rs")),
            ("definition", include_str!("definition.rs")),
            ("client", include_str!("client.rs")),
        ],
        &[("service", include_str!("service.rs"))],
        &[
            ("machines", include_str!("machines.rs")),
            ("executions", include_str!("executions.rs")),
            ("testing", include_str!("testing.rs")),
            ("callback", include_str!("callback.rs")),
            ("versions", include_str!("versions.rs")),
            ("activities", include_str!("activities.rs")),
            ("maprun", include_str!("maprun.rs")),
        ],
        &[("nested", include_str!("nested.rs"))],
        &[("http", include_str!("http.rs"))],
    ];

    /// Whether `source` names module `name` (`crate::name::…`, `crate::name;`, `crate::{…name…}`).
    fn names(source: &str, name: &str) -> bool {
        let path = format!("crate::{name}");
        let direct = source
            .match_indices(&path)
            .any(|(i, _)| !source[i + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'));
        let grouped = source.match_indices("crate::{").any(|(i, _)| {
            let group = &source[i..source[i..].find('}').map_or(source.len(), |e| i + e)];
            group.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == name)
        });
        direct || grouped
    }

    #[test]
    fn uses_point_down() {
        let mut upward = Vec::new();
        for (layer, modules) in LAYERS.iter().enumerate() {
            for (module, source) in *modules {
                for above in &LAYERS[layer..] {
                    for (other, _) in *above {
                        if other != module && names(source, other) {
                            upward.push(format!("{module} names {other}"));
                        }
                    }
                }
            }
        }
        assert!(upward.is_empty(), "{upward:?}");
        let modules: usize = LAYERS.iter().map(|l| l.len()).sum();
        let declared =
            include_str!("lib.rs").lines().filter(|l| l.starts_with("mod ") && l.ends_with(';')).count();
        assert_eq!(modules, declared, "every module of the crate is in a layer");
    }
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
