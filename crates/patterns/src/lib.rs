//! `sfn-patterns`: Task resource ARNs, integration patterns and the `ServiceIntegration` seam.
//!
//! Place in the workspace: below `sfn-engine` and the service adapters (`sfn-ecs`), above nothing of ours.
//! The engine knows services only through [`ServiceIntegration`]; what is common to every service lives here:
//! parsing `Resource` ([`Resource::parse`]), the three integration patterns ([`run_task`]: request-response,
//! `.sync`, `.waitForTaskToken` with TimeoutSeconds/HeartbeatSeconds; [`resume_task`] continues a recorded
//! submission after a restart), task tokens ([`TokenRegistry`], ≥ 128-bit
//! random, single use, SendTask* answers as the Step Functions API), the Failures rule ([`failures_rule`]) and
//! cooperative cancellation ([`AbortHandle`]), and nested executions ([`StatesIntegration`] over the
//! [`Executions`] a caller implements: `states:startExecution` with its four patterns), and activities
//! ([`ActivityQueue`]: where a Task on an activity ARN waits for a worker's GetActivityTask).
//!
//! Failures: [`Failure`] (an [`ErrorName`] and a cause) is the one failure type of integrations and the
//! engine; `TaskFailure` is its other name.
//!
//! Invariants: no service SDK types, no printing; every failure carries its ASL error name.
//!
//! ```
//! use sfn_patterns::{Pattern, Resource};
//! let r = Resource::parse("arn:aws:states:::ecs:runTask.waitForTaskToken").unwrap();
//! assert!(matches!(r, Resource::Service(s) if s.pattern == Pattern::WaitForTaskToken));
//! ```

mod abort;
mod activity;
mod aws_table;
mod check;
mod error;
mod integration;
mod nested;
mod resource;
mod sdk;
mod token;

pub use abort::{AbortHandle, AbortSignal};
pub use activity::{ActivityQueue, ActivityTask};
pub use check::{check_definition, validate_definition};
pub use error::{
    CheckError, CheckErrorKind, Failure, MockResultError, ResourceError, SendTaskError, TaskFailure,
};
pub use integration::{
    Integrations, Lint, NoObserver, ServiceIntegration, Submission, Submitted, TaskContext, TaskObserver,
    TaskOutcome, TaskTimeouts, failures_rule, resume_task, run_task,
};
pub use nested::{ApiError, ChildExecution, Executions, StartChild, StatesIntegration, describe_output};
pub use resource::{Pattern, Resource, ServiceResource};
pub use sdk::{SdkHttp, insert_sdk_metadata, request_id};
pub use sfn_path::ErrorName;
pub use token::{
    CallbackMessage, CallbackReceiver, MAX_CAUSE_CHARS, MAX_ERROR_CHARS, MAX_OUTPUT_BYTES, MAX_TOKEN_LEN,
    TokenOwner, TokenRegistry,
};

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
