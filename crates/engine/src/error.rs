//! Run-time failures, named as ASL errors.

/// A state or execution failure: the ASL error name Retry/Catch match, and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Error name (`States.TaskFailed`, `States.Runtime`, a custom name, …); `None` when none was given.
    pub error: Option<String>,
    /// Cause text.
    pub cause: Option<String>,
}

impl Failure {
    /// A failure with a name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Failure { error: Some(error.into()), cause: Some(cause.into()) }
    }

    /// The error name, or empty when there is none.
    pub fn error_name(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }
}

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
        "States.Runtime",
        format!(
            "An error occurred while executing the state '{state}' (entered at the event id #{entered_event}). {message}"
        ),
    )
}
