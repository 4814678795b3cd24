//! Errors of this crate.

use thiserror::Error;

/// A `Resource` that is not a usable Task resource ARN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid resource '{resource}': {reason}")]
pub struct ResourceError {
    resource: String,
    reason: String,
}

impl ResourceError {
    pub(crate) fn new(resource: &str, reason: &str) -> Self {
        Self { resource: resource.to_owned(), reason: reason.to_owned() }
    }

    /// The resource as written.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Why it was rejected.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A failed task, as Retry and Catch see it: an ASL error name and a cause.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{error}: {}", cause.as_deref().unwrap_or(""))]
pub struct TaskFailure {
    /// The error name Retry/Catch match (`States.TaskFailed`, `AmazonECS.Unknown`, …).
    pub error: String,
    /// The cause; `None` when the failure carries none.
    pub cause: Option<String>,
}

impl TaskFailure {
    /// A failure with an error name and a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: Some(cause.into()) }
    }
}

/// Why SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat was refused; the names are the Step Functions API's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SendTaskError {
    /// The token is not one Step Functions could have issued.
    #[error("Invalid Token: '{0}'")]
    InvalidToken(String),
    /// The token is well formed but no task waits for it (never existed, or already completed).
    #[error("Task does not exist anymore")]
    TaskDoesNotExist,
    /// The task that owned the token timed out.
    #[error("Task Timed Out: '{0}'")]
    TaskTimedOut(String),
    /// The output is not JSON or is too large.
    #[error("{0}")]
    InvalidOutput(String),
}

impl SendTaskError {
    /// The API error code (`InvalidToken`, `TaskDoesNotExist`, `TaskTimedOut`, `InvalidOutput`).
    pub fn code(&self) -> &'static str {
        match self {
            SendTaskError::InvalidToken(_) => "InvalidToken",
            SendTaskError::TaskDoesNotExist => "TaskDoesNotExist",
            SendTaskError::TaskTimedOut(_) => "TaskTimedOut",
            SendTaskError::InvalidOutput(_) => "InvalidOutput",
        }
    }
}
