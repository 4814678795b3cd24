//! `sfn`: validate, run, test and secure AWS Step Functions state machines that run Amazon ECS tasks.
//!
//! This is the front door of the workspace: it re-exports each crate under a short name
//! ([`asl`], [`path`], [`engine`], [`patterns`], [`iam`], and `ecs` with the `ecs` feature), offers a builder ([`Sfn`]) that loads a
//! definition and runs it, and ships the helpers users need in their own test suites ([`testing`]:
//! mocked service responses in AWS Step Functions Local's mock-file format, stable snapshots of an
//! execution) and a diagram renderer ([`graph`]).
//!
//! # Run a definition with mocks and snapshot it
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use serde_json::json;
//! use sfn::prelude::*;
//!
//! let definition = json!({"StartAt": "Run job", "States": {"Run job": {
//!     "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
//!     "Parameters": {"Cluster": "jobs", "TaskDefinition": "report"},
//!     "ResultSelector": {"exit.$": "$.Containers[0].ExitCode"}, "End": true}}});
//! let mocks = MockConfig::from_json(&json!({
//!     "StateMachines": {"report": {"TestCases": {"ok": {"Run job": "Stopped"}}}},
//!     "MockedResponses": {"Stopped": {"0": {"Return": {"LastStatus": "STOPPED", "Containers": [{"ExitCode": 0}]}}}}
//! })).unwrap();
//! let run = Sfn::from_value(&definition).unwrap()
//!     .name("report")
//!     .mock_config(&mocks, "ok").unwrap()
//!     .run(json!({}))
//!     .await
//!     .unwrap();
//! assert_eq!(run.outcome.output, Some(json!({"exit": 0})));
//! // In a test: sfn::assert_execution_snapshot!(run);
//! # });
//! ```
//!
//! Invariants: no printing; everything a run needs is explicit (integrations, mocks, clock); snapshots are
//! stable across runs and machines (ARNs, ids, tokens, UUIDs and timestamps are redacted or fixed).
#![deny(missing_docs)]

#[cfg(feature = "ecs")]
pub mod ecs;
pub mod graph;
pub mod mocks;
pub mod s3;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

pub use sfn_asl as asl;
pub use sfn_engine as engine;
pub use sfn_iam as iam;
pub use sfn_path as path;
pub use sfn_patterns as patterns;

use sfn_engine::{Clock, Engine, EngineBuilder, EngineConfig, Event, Outcome, StartRequest, TaskMocks};
use sfn_patterns::ServiceIntegration;

/// The usual imports.
pub mod prelude {
    pub use crate::engine::{ExecutionStatus, Outcome};
    pub use crate::mocks::MockConfig;
    pub use crate::{Error, Run, Sfn};
}

/// What can go wrong before an execution starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The definition file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The definition is invalid (every error, each with its JSON pointer).
    #[error("invalid definition: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<sfn_asl::Diagnostic>),
    /// A Task resource has no integration (and no mock).
    #[error("cannot run: {0}")]
    Unrunnable(sfn_engine::PrepareError),
    /// The mock configuration is unusable.
    #[error("mock configuration: {0}")]
    Mocks(mocks::MockConfigError),
    /// No runtime could be started for [`Sfn::run_virtual`].
    #[error("cannot run: cannot start a runtime: {0}")]
    Runtime(std::io::Error),
}

/// A loaded definition and how to run it.
#[derive(Clone)]
pub struct Sfn {
    machine: sfn_asl::StateMachine,
    name: String,
    integrations: Vec<Arc<dyn ServiceIntegration>>,
    mocks: Option<Arc<dyn TaskMocks>>,
    config: EngineConfig,
    clock: Option<Clock>,
}

impl std::fmt::Debug for Sfn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sfn").field("name", &self.name).finish_non_exhaustive()
    }
}

/// One finished execution: its outcome and its history.
#[derive(Debug, Clone)]
pub struct Run {
    /// Status, output or error and cause.
    pub outcome: Outcome,
    /// GetExecutionHistory events, in order.
    pub history: Vec<Event>,
}

impl Run {
    /// The run as JSON: `{"status", "output"?, "error"?, "cause"?, "history": [events]}`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("status".into(), Value::String(self.outcome.status.as_str().to_owned()));
        if let Some(o) = &self.outcome.output {
            m.insert("output".into(), o.clone());
        }
        if let Some(e) = &self.outcome.error {
            m.insert("error".into(), Value::String(e.clone()));
        }
        if let Some(c) = &self.outcome.cause {
            m.insert("cause".into(), Value::String(c.clone()));
        }
        m.insert("history".into(), Value::Array(self.history.iter().map(Event::to_json).collect()));
        Value::Object(m)
    }

    /// The event types in order (`["ExecutionStarted", "TaskStateEntered", …]`).
    pub fn event_types(&self) -> Vec<String> {
        self.history.iter().map(Event::event_type).collect()
    }
}

/// The verdict every entry point shares (`sfn validate`, the server): AWS's, Task resources included.
fn verdict(text: &[u8]) -> Result<sfn_asl::StateMachine, Error> {
    let options = sfn_asl::ValidateOptions::default();
    let v = sfn_patterns::validate_definition(text, options, &sfn_patterns::Integrations::new(), &|_| true);
    v.into_result().map_err(Error::Invalid)
}

impl Sfn {
    fn new(machine: sfn_asl::StateMachine, name: &str) -> Sfn {
        Sfn {
            machine,
            name: name.to_owned(),
            integrations: Vec::new(),
            mocks: None,
            config: EngineConfig::default(),
            clock: None,
        }
    }

    /// Loads a definition file; the state machine is named after the file (`run-job.asl.json` → `run-job`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Sfn, Error> {
        let path = path.as_ref();
        let text =
            std::fs::read(path).map_err(|source| Error::Read { path: path.display().to_string(), source })?;
        let machine = verdict(&text)?;
        let stem = path.file_name().and_then(|s| s.to_str()).unwrap_or("state-machine");
        let name = stem.trim_end_matches(".json").trim_end_matches(".asl");
        Ok(Sfn::new(machine, name))
    }

    /// Loads a definition from JSON text.
    pub fn from_json(text: impl AsRef<[u8]>) -> Result<Sfn, Error> {
        Ok(Sfn::new(verdict(text.as_ref())?, "state-machine"))
    }

    /// Loads a definition from a JSON value.
    pub fn from_value(definition: &Value) -> Result<Sfn, Error> {
        Ok(Sfn::new(verdict(definition.to_string().as_bytes())?, "state-machine"))
    }

    /// Names the state machine (ARNs, `$$.StateMachine.Name`, the mock file's `StateMachines` key).
    pub fn name(mut self, name: &str) -> Sfn {
        self.name = name.to_owned();
        self
    }

    /// Adds a service integration (e.g. `sfn_ecs`'s ECS integration).
    pub fn integration(mut self, integration: Arc<dyn ServiceIntegration>) -> Sfn {
        self.integrations.push(integration);
        self
    }

    /// Answers Task states from these mocks.
    pub fn mocks(mut self, mocks: Arc<dyn TaskMocks>) -> Sfn {
        self.mocks = Some(mocks);
        self
    }

    /// Answers Task states from a test case of a mock configuration (this machine's name selects
    /// `StateMachines.<name>`).
    pub fn mock_config(self, config: &mocks::MockConfig, test_case: &str) -> Result<Sfn, Error> {
        let case = config.test_case_for(&self.name, test_case, &self.machine).map_err(Error::Mocks)?;
        Ok(self.mocks(Arc::new(case)))
    }

    /// Engine settings (region, account, limits).
    pub fn config(mut self, config: EngineConfig) -> Sfn {
        self.config = config;
        self
    }

    /// Uses a fixed start time for timestamps (stable snapshots); waiting still follows tokio's clock.
    pub fn clock(mut self, clock: Clock) -> Sfn {
        self.clock = Some(clock);
        self
    }

    /// The loaded state machine.
    pub fn machine(&self) -> &sfn_asl::StateMachine {
        &self.machine
    }

    /// Builds the engine for this definition.
    pub fn engine(&self) -> Engine {
        let mut b: EngineBuilder = Engine::builder().config(self.config.clone());
        for i in &self.integrations {
            b = b.integration(i.clone());
        }
        if let Some(m) = &self.mocks {
            b = b.mocks(m.clone());
        }
        if let Some(c) = self.clock {
            b = b.clock(c);
        }
        b.build()
    }

    /// Runs an execution to its end (named `execution`).
    pub async fn run(&self, input: Value) -> Result<Run, Error> {
        let engine = self.engine();
        let prepared = engine.prepare(self.machine.clone(), &self.name).map_err(Error::Unrunnable)?;
        let req =
            StartRequest { execution_name: "execution".to_owned(), input, role_arn: None, input_text: None };
        let (outcome, history) = engine.run(&prepared, req).await;
        Ok(Run { outcome, history: history.events() })
    }

    /// Runs on a fresh single-threaded runtime with paused time (feature `testing`) (Wait states and back-off take no real
    /// time) and a fixed clock starting at 2024-01-01T00:00:00Z: convenient in plain `#[test]`s.
    #[cfg(feature = "testing")]
    pub fn run_virtual(&self, input: Value) -> Result<Run, Error> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .map_err(Error::Runtime)?;
        rt.block_on(async {
            let mut this = self.clone();
            if this.clock.is_none() {
                let start = chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default();
                this.clock = Some(Clock::starting_at(start));
            }
            this.run(input).await
        })
    }
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
