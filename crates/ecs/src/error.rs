//! Errors of the ECS adapter.

use thiserror::Error;

/// An ECS API error, named as Step Functions names it for the optimized integration
/// (`ECS.<Exception>`, e.g. `ECS.InvalidParameterException`, `ECS.ClusterNotFoundException`,
/// `ECS.AmazonECSException`; seen in user reports such as cdklabs/construct-hub#415).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{exception}: {message}")]
pub struct EcsError {
    /// The ECS exception name (`InvalidParameterException`, `ClientException`, …).
    pub exception: String,
    /// The message ECS gives.
    pub message: String,
}

impl EcsError {
    /// An error with an exception name and a message.
    pub fn new(exception: &str, message: impl Into<String>) -> Self {
        EcsError { exception: exception.to_owned(), message: message.into() }
    }

    /// `InvalidParameterException`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        EcsError::new("InvalidParameterException", message)
    }

    /// `ClientException`.
    pub fn client(message: impl Into<String>) -> Self {
        EcsError::new("ClientException", message)
    }

    /// The Step Functions error name (`ECS.InvalidParameterException`).
    pub fn error_name(&self) -> String {
        format!("ECS.{}", self.exception)
    }
}

/// A task-definition file that cannot be used.
#[derive(Debug, Error)]
#[error("{path}: {message}")]
pub struct TaskDefinitionError {
    /// The file.
    pub path: String,
    /// What is wrong (with the JSON location when the file does not parse).
    pub message: String,
}

/// A simulator script file ([`crate::SimBackend::from_json`]) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct SimConfigError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl SimConfigError {
    /// Where in the file (`families.report.exit_codes`, `.` for the whole file).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}
