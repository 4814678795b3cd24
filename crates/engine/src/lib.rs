//! `sfn-engine`: the Step Functions interpreter.
//!
//! Place in the workspace: above `sfn-asl` (the typed, pre-parsed definition), `sfn-path` (evaluation)
//! and `sfn-patterns` (the `ServiceIntegration` seam); below the server, the facade and the CLI.
//!
//! It runs every state type with AWS's semantics: the JSONPath input/output pipeline (InputPath →
//! Parameters → ResultSelector → ResultPath → OutputPath), Assign and variable scopes, Retry with
//! back-off, jitter and MaxDelaySeconds, Catch, Choice with AWS's type rules, Wait, Parallel and Map
//! (MaxConcurrency, tolerated failures), state and execution timeouts, the 256 KiB payload limit and
//! the history limit; every execution records AWS's history events with ids and previous ids.
//!
//! Resuming ([`Engine::resume`]): an execution that was running when its process died continues from its
//! recorded events by *deterministic replay*. The machine runs again from the start with the recorded
//! events in its history; every event the interpreter is about to append gets a logical key — its place
//! in the tree that `previousEventId` draws (scope: the machine, a Parallel branch by its first state and
//! order, a Map iteration by index; step within the scope), never its id, which depends on how branches
//! interleave — and an event on record under that key is not appended again. Side effects are not
//! repeated: a Task takes its recorded result; a recorded submission is followed to its end (`.sync`:
//! the integration's `wait`, e.g. ECS polled again by task ARN; callbacks: the recorded token is
//! registered again, so SendTaskSuccess with the old token completes the resumed task); an unrecorded
//! submission is made again with the recorded parameters and the same idempotency key (ECS `ClientToken`).
//! Write-ahead makes that safe: with an [`EventSink`], a Task calls its service only once
//! [`EventSink::durable`] says its `TaskScheduled`/`TaskStarted` are on record. Wait states, Retry back-off
//! and TimeoutSeconds count from the recorded timestamps (only the remaining time is waited), and the
//! output and variables of a state whose exit is on record come from the record (random intrinsics replay
//! as they ran). Two facts GetExecutionHistory does not show are kept for this in the events (the task
//! token in `TaskStarted`, the `…StateStarted` a Parallel/Map closing event closes):
//! [`Event::to_stored_json`] / [`Event::from_json`] carry them through a journal. A fresh execution pays
//! one `None` check per hook, nothing else.
//!
//! Module layering: the modules form a line, each using only those before it (`use crate::…` points
//! one way, down):
//! 1. leaves: `ata_pool` (the threads JSONata evaluates on, off tokio's workers), `error`, `history`,
//!    `inspect` (what a TestState run adds: its mock, context object and inspection data), `mocks`,
//!    `objects` (the object store a Distributed Map reads items from and writes results to),
//!    `execution` (an [`Execution`] and its [`Outcome`], made by the engine and, for each child
//!    execution of a map run, by `map`), `maprun` (a map run's names, settings and counts, and the
//!    [`MapRunObserver`] told of them),
//!    `rules` (Choice rules), `vars`;
//! 2. `config`: clock, settings and the parts of an engine every execution shares;
//! 3. `replay`: the recorded events of a resumed execution (it knows no execution: it is handed the append);
//! 4. `exec`, the core: the execution, its history cursor, the context object and `StateCtx` (the
//!    execution, the state, its `StateInfo`, the variables, the abort signal); it knows no state type and
//!    runs a nested scope through `Exec::scopes`, the interpreter the engine installs;
//! 5. `jsonata` (JSONata evaluation), then `pipeline` (InputPath → Parameters → ResultPath → OutputPath,
//!    payloads, Assign), then `recovery` (ResultSelector/ResultPath, Retry back-off, Catch): `StateCtx`
//!    methods and functions the state modules use;
//! 6. one module per state type: `pass`, `task`, `choice`, `wait`, `parallel`, `map`, `terminal`
//!    (Succeed, Fail); `items` (a Distributed Map's ItemReader and ResultWriter, through `objects`)
//!    just below `map`; `activity` (a Task on an activity ARN, its task waiting for a worker in the
//!    engine's `sfn_patterns::ActivityQueue`) just below `task`;
//! 7. `interp`: runs a scope state by state, the only match on the state type;
//! 8. `engine` (the public API: prepare, start, resume) and `test_state` (TestState).
//!
//! Invariants: it knows no service (tasks go through [`sfn_patterns::ServiceIntegration`] chosen when
//! the machine is prepared); it never re-parses a definition string while running (jsonata-rs, which
//! keeps no parsed form, parses a JSONata expression again when it evaluates it); every failure
//! carries its ASL error name and Retry/Catch match that name; stopping an execution aborts every
//! branch and task cooperatively so `.sync` jobs are stopped, not orphaned; all waiting uses tokio's
//! timer, so a paused test runtime is a virtual clock.
//!
//! Dependencies beyond the workspace's usual ones, each for an `ItemReader` format: `csv` (CSV items),
//! `flate2` (gzip S3 Inventory files), `parquet` without default features (Parquet items through its
//! record API; Snappy, GZIP and ZSTD, the codecs AWS's writers use — Arrow, brotli and lz4 stay out), with
//! `bytes` (the byte ranges it reads) and `base64` (binary Parquet values that are not UTF-8).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use serde_json::json;
//! use sfn_engine::{Engine, StartRequest, ExecutionStatus};
//! let machine = sfn_asl::parse(br#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass",
//!     "Parameters": {"greeting.$": "States.Format('Hello {}', $.who)"}, "End": true}}}"#).unwrap();
//! let engine = Engine::builder().build();
//! let prepared = engine.prepare(machine, "hello").unwrap();
//! let (outcome, history) = engine
//!     .run(&prepared, StartRequest { execution_name: "e1".into(), input: json!({"who": "ECS"}), role_arn: None, input_text: None })
//!     .await;
//! assert_eq!(outcome.status, ExecutionStatus::Succeeded);
//! assert_eq!(outcome.output, Some(json!({"greeting": "Hello ECS"})));
//! assert_eq!(history.events().len(), 4);
//! # });
//! ```

// The modules form a line (see "Module layering" in the crate doc); rustfmt keeps them sorted here.
mod activity;
mod ata_pool;
mod choice;
mod config;
mod engine;
mod error;
mod exec;
mod execution;
mod history;
mod inspect;
mod interp;
mod items;
mod jsonata;
mod map;
mod maprun;
mod mocks;
mod objects;
mod parallel;
mod pass;
mod pipeline;
mod recovery;
mod replay;
mod rules;
mod task;
mod terminal;
mod test_state;
mod vars;
mod wait;

pub use config::{Clock, EngineConfig, MAX_PAYLOAD_BYTES};
pub use engine::{
    Engine, EngineBuilder, Execution, ExecutionStatus, Outcome, Prepared, ResumeRequest, StartRequest,
};
pub use error::{EventError, Failure, PrepareError, TestStateError, UnrunnableKind, UnrunnableTask};
pub use history::{Durable, Event, EventDetails, EventSink, History, JsonText, StateType, TaskResource};
pub use inspect::{ErrorDetails, Inspection, TestMock};
pub use maprun::{
    MapRun, MapRunCounts, MapRunObserver, MapRunState, MapRunStatus, PriorChild, map_run_child_redrive_status,
};
pub use mocks::{MockResponse, TaskMocks, Unmocked};
pub use objects::{MAX_OBJECT_BYTES, ObjectError, ObjectInfo, ObjectReader, ObjectStore, RangedObject};
pub use sfn_path::ErrorName;
pub use test_state::{TestStateOutcome, TestStateRequest, TestStatus};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
