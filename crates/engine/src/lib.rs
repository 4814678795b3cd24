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
//! Invariants: it knows no service (tasks go through [`sfn_patterns::ServiceIntegration`] chosen when
//! the machine is prepared); it never re-parses a definition string while running; every failure
//! carries its ASL error name and Retry/Catch match that name; stopping an execution aborts every
//! branch and task cooperatively so `.sync` jobs are stopped, not orphaned; all waiting uses tokio's
//! timer, so a paused test runtime is a virtual clock.
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
//!     .run(&prepared, StartRequest { execution_name: "e1".into(), input: json!({"who": "ECS"}), role_arn: None })
//!     .await;
//! assert_eq!(outcome.status, ExecutionStatus::Succeeded);
//! assert_eq!(outcome.output, Some(json!({"greeting": "Hello ECS"})));
//! assert_eq!(history.events().len(), 4);
//! # });
//! ```

mod choice;
mod engine;
mod error;
mod exec;
mod history;
mod jsonata;
mod mocks;
mod task;
mod test_state;
mod vars;

pub use engine::{
    Clock, Engine, EngineBuilder, EngineConfig, Execution, ExecutionStatus, Outcome, Prepared, StartRequest,
};
pub use error::Failure;
pub use exec::MAX_PAYLOAD_BYTES;
pub use history::{Event, EventDetails, EventSink, History, JsonText, StateType, TaskResource};
pub use mocks::{MockResponse, TaskMocks};
pub use test_state::{Inspection, TestStateOutcome, TestStatus};
