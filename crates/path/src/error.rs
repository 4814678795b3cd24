//! Errors: located parse errors and named evaluation errors.

use thiserror::Error;

use crate::error_name::ErrorName;

/// A path, intrinsic call or template that does not parse: what is wrong and where (byte offset).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at offset {offset} of '{source_text}'")]
pub struct ParseError {
    source_text: String,
    offset: usize,
    message: String,
}

impl ParseError {
    pub(crate) fn new(source: &str, offset: usize, message: impl Into<String>) -> Self {
        let mut source_text: String = source.chars().take(200).collect();
        if source_text.len() < source.len() {
            source_text.push('…');
        }
        ParseError { source_text, offset, message: message.into() }
    }

    /// Byte offset in the parsed text where the problem was found.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The text that failed to parse (truncated to 200 characters).
    pub fn text(&self) -> &str {
        &self.source_text
    }
}

/// A template that does not parse: the JSON pointer of the offending member and the parse error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "{pointer}: the value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call: {error}"
)]
pub struct TemplateError {
    /// JSON pointer of the member inside the template (`/a/b.$`).
    pub pointer: String,
    /// The key as written (`b.$`).
    pub field: String,
    /// Why its value does not parse.
    #[source]
    pub error: ParseError,
}

/// A run-time evaluation failure with its ASL error name (`States.Runtime`, `States.IntrinsicFailure`, …).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct EvalError {
    name: ErrorName,
    message: String,
}

impl EvalError {
    /// A `States.Runtime` error.
    pub fn runtime(message: impl Into<String>) -> Self {
        EvalError { name: ErrorName::Runtime, message: message.into() }
    }

    /// An error with an explicit ASL name.
    pub fn named(name: ErrorName, message: impl Into<String>) -> Self {
        EvalError { name, message: message.into() }
    }

    /// The ASL error name Retry/Catch match.
    pub fn error_name(&self) -> &ErrorName {
        &self.name
    }

    /// The cause text (without the state prefix the engine adds).
    pub fn message(&self) -> &str {
        &self.message
    }
}
