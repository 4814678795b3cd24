//! Run-time failures, named as ASL errors, and the errors of the engine's API.

use sfn_path::ErrorName;
pub use sfn_patterns::Failure;
use thiserror::Error;

/// Why a state (or a scope of states) stopped before producing output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Interrupt {
    /// A failure that Retry/Catch may handle.
    Fail(Failure),
    /// A failure that ends the execution whatever the Retry/Catch rules say (history limit).
    Terminal(Failure),
    /// The execution was stopped, or a sibling failed and this branch was cancelled.
    Abort,
}

impl From<Failure> for Interrupt {
    fn from(f: Failure) -> Self {
        Interrupt::Fail(f)
    }
}

/// AWS's prefix for run-time errors raised while evaluating a state's fields.
pub(crate) fn runtime(state: &str, entered_event: u64, message: &str) -> Failure {
    Failure::new(
        ErrorName::Runtime,
        format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event}). {message}"
        ),
    )
}

/// Why [`crate::Engine::prepare`] refused a machine: every Task state that cannot run on this engine
/// (shown one per line by the CLI; [`std::fmt::Display`] joins them with `; `).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PrepareError {
    problems: Vec<UnrunnableTask>,
}

impl PrepareError {
    pub(crate) fn new(problems: Vec<UnrunnableTask>) -> Self {
        PrepareError { problems }
    }

    /// Every Task state that cannot run, in document order.
    pub fn problems(&self) -> &[UnrunnableTask] {
        &self.problems
    }
}

impl IntoIterator for PrepareError {
    type Item = UnrunnableTask;
    type IntoIter = std::vec::IntoIter<UnrunnableTask>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.into_iter()
    }
}

impl<'a> IntoIterator for &'a PrepareError {
    type Item = &'a UnrunnableTask;
    type IntoIter = std::slice::Iter<'a, UnrunnableTask>;

    fn into_iter(self) -> Self::IntoIter {
        self.problems.iter()
    }
}

/// A Task state whose resource cannot run on this engine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct UnrunnableTask {
    state: String,
    resource: String,
    kind: UnrunnableKind,
    message: String,
}

/// Why a Task state cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnrunnableKind {
    /// No integration is registered for the resource's service.
    NoIntegration,
    /// The integration does not support the resource's action or pattern.
    Unsupported,
    /// A Lambda function or activity ARN: only service integrations run locally.
    NotAnIntegration,
    /// The resource is not a Task resource ARN.
    InvalidResource,
}

impl UnrunnableTask {
    pub(crate) fn new(state: &str, resource: &str, kind: UnrunnableKind, message: String) -> Self {
        UnrunnableTask { state: state.to_owned(), resource: resource.to_owned(), kind, message }
    }

    /// The Task state's name.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The state's `Resource`, as written.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Why it cannot run.
    pub fn kind(&self) -> UnrunnableKind {
        self.kind
    }

    /// The message (as [`std::fmt::Display`] shows it).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Why [`crate::Engine::test_state`] could not test a state (a state that fails is a
/// [`crate::TestStateOutcome`], not an error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TestStateError {
    /// No state of the machine has this name.
    #[error("the state machine has no state named '{0}'")]
    NoSuchState(String),
    /// A mock was given for a state whose work cannot be mocked (a Pass, Choice, Wait, Succeed or Fail
    /// state; AWS's message, recorded for Pass, Succeed and Fail).
    #[error("State type '{0}' is not supported when a mock is specified")]
    MockNotSupported(&'static str),
    /// The test was aborted.
    #[error("the test was aborted")]
    Aborted,
}

/// An event that [`crate::Event::from_json`] cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EventError {
    /// The event has no `type` (the JSON of the event).
    #[error("an event without a type: {0}")]
    MissingType(String),
    /// The event has no `id` (the event's type).
    #[error("a {0} event without an id")]
    MissingId(String),
    /// The event's type is not one the engine writes.
    #[error("unknown event type {0}")]
    UnknownType(String),
}
