//! API errors in AWS's wire shape, and the server's own (startup) errors.
//!
//! On the wire an error is an HTTP status plus `{"__type": "<namespace>#<Code>", "message": "…"}`.
//! Step Functions' own exceptions use the namespace `com.amazonaws.swf.service.v2.model`; model-constraint
//! violations (`ValidationException`) come from `com.amazon.coral.validate`, protocol errors
//! (`UnknownOperationException`, `SerializationException`) from `com.amazon.coral.service`. botocore and
//! aws-sdk-rust keep what follows the last `#` as the error code, so both spellings parse; the namespaced
//! one is what AWS sends.

/// Namespace of Step Functions' modelled exceptions.
pub const SERVICE_NAMESPACE: &str = "com.amazonaws.swf.service.v2.model";
/// Namespace of model-constraint violations (`ValidationException`).
pub const VALIDATE_NAMESPACE: &str = "com.amazon.coral.validate";
/// Namespace of protocol errors (`UnknownOperationException`, `SerializationException`).
pub const PROTOCOL_NAMESPACE: &str = "com.amazon.coral.service";

/// An API error in AWS's shape: `{"__type": "<namespace>#<code>", "message": …}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for client errors, 500 for server errors, 503 when a write could not be made durable).
    pub status: u16,
    /// The error code (`InvalidToken`, `ValidationException`, …), without namespace.
    pub code: String,
    /// The message.
    pub message: String,
}

impl ApiError {
    /// A 400 error with this code.
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        ApiError { status: 400, code: code.to_owned(), message: message.into() }
    }

    /// A 500 error (`InternalFailure`): something failed on our side, not in the request.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError { status: 500, code: "InternalFailure".to_owned(), message: message.into() }
    }

    /// A 503 error (`ServiceUnavailable`): the request could not be made durable (a journal commit failed);
    /// it may or may not have taken effect, and SDKs retry it.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError { status: 503, code: "ServiceUnavailable".to_owned(), message: message.into() }
    }

    /// `ValidationException` with coral's one-error message: `1 validation error detected: <detail>`.
    pub fn validation(detail: impl std::fmt::Display) -> Self {
        ApiError::client("ValidationException", format!("1 validation error detected: {detail}"))
    }

    /// `ValidationException` for a missing required member.
    pub fn missing(field: &str) -> Self {
        ApiError::validation(format_args!(
            "Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// `InvalidArn: Invalid Arn: '<detail>'`.
    pub fn invalid_arn(detail: impl std::fmt::Display) -> Self {
        ApiError::client("InvalidArn", format!("Invalid Arn: '{detail}'"))
    }

    /// `InvalidName: Invalid Name: '<name>'`.
    pub fn invalid_name(name: &str) -> Self {
        ApiError::client("InvalidName", format!("Invalid Name: '{name}'"))
    }

    /// `StateMachineDoesNotExist` for this ARN.
    pub fn machine_not_found(arn: &str) -> Self {
        ApiError::client("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'"))
    }

    /// `StateMachineDeleting` (StartExecution, CreateStateMachine): the machine is being deleted.
    pub fn machine_deleting(arn: &str) -> Self {
        ApiError::client("StateMachineDeleting", format!("State machine is being deleted: '{arn}'"))
    }

    /// `ExecutionDoesNotExist` for this ARN.
    pub fn execution_not_found(arn: &str) -> Self {
        ApiError::client("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'"))
    }

    /// `StateMachineTypeNotSupported` (an operation the machine's type does not offer).
    pub fn type_not_supported() -> Self {
        ApiError::client(
            "StateMachineTypeNotSupported",
            "This operation is not supported by this type of state machine",
        )
    }

    /// The `__type` AWS sends for this code.
    pub fn wire_type(&self) -> String {
        let namespace = match self.code.as_str() {
            "ValidationException" => VALIDATE_NAMESPACE,
            "UnknownOperationException"
            | "SerializationException"
            | "InternalFailure"
            | "ServiceUnavailable"
            | "RequestEntityTooLargeException" => PROTOCOL_NAMESPACE,
            _ => SERVICE_NAMESPACE,
        };
        format!("{namespace}#{}", self.code)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// `--listen` names a non-loopback address without `--allow-remote`.
    #[error(
        "refusing to listen on {addr}: it is not a loopback address (the endpoint checks no credentials); pass --allow-remote to expose it"
    )]
    NotLoopback {
        /// The address asked for.
        addr: std::net::SocketAddr,
    },
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The state directory cannot be used.
    #[error("state directory {path}: {message}")]
    Store {
        /// The directory or file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The journal is damaged (flipped bytes, a truncated or emptied file, records that fail their
    /// checksums): the server refuses it rather than start with records missing or altered.
    #[error(
        "the journal {path} is damaged: {problem}. `sfn journal check {dir}` lists what is damaged; `sfn journal salvage {dir} NEW_DIR` copies every intact record into a new state directory to serve from (--state-dir NEW_DIR); or move {path} away to start empty"
    )]
    Journal {
        /// The journal file.
        path: std::path::PathBuf,
        /// Its state directory.
        dir: std::path::PathBuf,
        /// What was found.
        problem: String,
    },
}
