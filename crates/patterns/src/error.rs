//! Errors of this crate.

use sfn_path::ErrorName;
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

/// A failure, as Retry and Catch see it: an ASL error name and a cause. One type for every layer — a
/// task's integration returns it, the engine carries it through Parallel and Map to the execution's end.
///
/// `name` is `None` when none was given (a Fail state without `Error`, SendTaskFailure without `error`):
/// the history then shows no `error`. `cause` is `None` when the failure carries none.
///
/// ```
/// use sfn_patterns::{ErrorName, Failure};
/// let f = Failure::new("ECS.AccessDeniedException", "not allowed");
/// assert!(f.matches(&["States.TaskFailed"]));
/// assert_eq!(f.to_string(), "ECS.AccessDeniedException: not allowed");
/// assert!(!Failure::named(ErrorName::Timeout).matches(&["States.TaskFailed"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}: {}", name.as_ref().map_or("", ErrorName::shown), cause.as_deref().unwrap_or(""))]
pub struct Failure {
    /// The error name Retry/Catch match (`States.TaskFailed`, `AmazonECS.Unknown`, …).
    pub name: Option<ErrorName>,
    /// The cause.
    pub cause: Option<String>,
}

/// The name integrations know a [`Failure`] by.
pub type TaskFailure = Failure;

impl Failure {
    /// A failure with an error name and a cause.
    pub fn new(name: impl Into<ErrorName>, cause: impl Into<String>) -> Self {
        Self { name: Some(name.into()), cause: Some(cause.into()) }
    }

    /// A failure with an error name and no cause (`States.Timeout`, `States.HeartbeatTimeout`).
    pub fn named(name: impl Into<ErrorName>) -> Self {
        Self { name: Some(name.into()), cause: None }
    }

    /// The error name as AWS shows it ([`ErrorName::shown`]), or `""` when the failure has none.
    pub fn error_name(&self) -> &str {
        self.name.as_ref().map_or("", ErrorName::shown)
    }

    /// Whether an `ErrorEquals` list matches this failure ([`ErrorName::matches`]); a failure without
    /// a name matches as the empty name (the wildcards `States.ALL` and `States.TaskFailed` match it).
    pub fn matches<S: AsRef<str>>(&self, error_equals: &[S]) -> bool {
        match &self.name {
            Some(n) => n.matches_any(error_equals),
            None => ErrorName::Custom(String::new()).matches_any(error_equals),
        }
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

/// Why a mocked result does not fit the service action's response model
/// ([`crate::ServiceIntegration::check_result`], TestState's `mock.fieldValidationMode`); the message is
/// AWS's (`Mock result schema validation error: Field 'Entries' must be an array`, recorded against AWS in
/// LocalStack's `test_field_validation_mode.snapshot.json`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Mock result schema validation error: {detail}")]
pub struct MockResultError {
    detail: String,
}

impl MockResultError {
    /// A member of the wrong type: `expected` is `a string`, `a number`, `an array`, `an object`, ….
    pub fn wrong_type(field: &str, expected: &str) -> Self {
        Self { detail: format!("Field '{field}' must be {expected}") }
    }

    /// A required member is missing (`STRICT` only).
    pub fn missing(field: &str) -> Self {
        Self { detail: format!("Required field '{field}' is missing") }
    }

    /// The result is not a JSON object.
    pub fn not_an_object() -> Self {
        Self { detail: "the mocked result must be a JSON object".to_owned() }
    }
}

/// Why a Task resource cannot be served ([`crate::ServiceIntegration::check`], [`crate::Integrations::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct CheckError {
    kind: CheckErrorKind,
    message: String,
}

/// What kind of problem a [`CheckError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckErrorKind {
    /// No integration is registered for the resource's service.
    NoIntegration,
    /// The integration does not support this action or pattern.
    Unsupported,
}

impl CheckError {
    /// The integration does not support the resource's action or pattern; `message` is AWS-like (it is
    /// shown as a validation error).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self { kind: CheckErrorKind::Unsupported, message: message.into() }
    }

    pub(crate) fn no_integration(message: String) -> Self {
        Self { kind: CheckErrorKind::NoIntegration, message }
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> CheckErrorKind {
        self.kind
    }

    /// The message (as [`std::fmt::Display`] shows it).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// An unsupported resource, with this message.
impl From<String> for CheckError {
    fn from(message: String) -> Self {
        CheckError::unsupported(message)
    }
}

/// An unsupported resource, with this message.
impl From<&str> for CheckError {
    fn from(message: &str) -> Self {
        CheckError::unsupported(message)
    }
}
