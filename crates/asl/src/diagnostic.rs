//! Diagnostics: every problem found in a definition, each with a JSON pointer.

use std::fmt;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The definition is invalid (AWS would reject it, or it cannot work).
    Error,
    /// Probably a mistake; the definition is still valid.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One finding: severity, a stable code (AWS's where AWS has one), where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// `SCHEMA_VALIDATION_FAILED`, `INVALID_JSON_DESCRIPTION`, `MISSING_TRANSITION_TARGET`, …
    pub code: String,
    /// JSON pointer into the definition (`/States/Run/Next`), `/` for the whole document.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_owned(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code: code.to_owned(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}] {}", self.pointer, self.severity.as_str(), self.code, self.message)
    }
}

/// Stable diagnostic codes. AWS's ValidateStateMachineDefinition codes are reused where they exist.
pub mod codes {
    /// The text is not JSON (AWS code).
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    /// The definition is empty (AWS code).
    pub const MISSING_DESCRIPTION: &str = "MISSING_DESCRIPTION";
    /// Structure, types, required or illegal fields (AWS code).
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    /// A Task resource that is not valid (AWS code).
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// A `{% %}` expression that does not parse as JSONata (floci-io/floci#2745 quotes AWS's wording).
    pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
    /// A `{% %}` expression that parses but reads what a Step Functions expression cannot: a name at the
    /// top level (`{% phone %}`), `$` or `$$` (floci-io/floci#2670 and #2745 quote AWS's wording).
    pub const UNSUPPORTED_JSONATA_EXPRESSION: &str = "UNSUPPORTED_JSONATA_EXPRESSION";
    /// No state can end the execution (AWS code).
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    /// The same state name twice, in one `States` object or in two (names are unique across the whole
    /// machine, nested scopes included; AWS code).
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    /// A state name that breaks the naming rules (AWS code).
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    /// `Next`, `Default`, `StartAt` or a Catch `Next` names no state, or a state no path reaches (AWS code).
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    /// A field that looks like a path but has no `.$` (AWS warning code).
    pub const NO_DOLLAR: &str = "NO_DOLLAR";
    /// A value that looks like a path in a field whose name does not end with `Path` (AWS warning code).
    pub const NO_PATH: &str = "NO_PATH";
    /// A path in a Pass state's static `Result` (AWS warning code).
    pub const PASS_RESULT_IS_STATIC: &str = "PASS_RESULT_IS_STATIC";
}
