//! `sfn-asl`: the Amazon States Language as typed values, parsed with locations and statically validated.
//!
//! Place in the workspace: above `sfn-path` (which parses every path, template and intrinsic call of a
//! definition once, here, at load time), below everything that reads definitions (`sfn-patterns`,
//! `sfn-iam`, `sfn-engine`, the CLI).
//!
//! Loading goes text → JSON (syntax errors with line and column, duplicate keys, 1 MB and depth limits)
//! → serde (types and unknown fields, located with `serde_path_to_error`, one report per state so one bad
//! state does not hide another) → the typed [`StateMachine`] (state-type and query-language rules, parsed
//! paths, value ranges) → whole-machine checks (transition targets, reachability, terminal states).
//! Every problem is a [`Diagnostic`] with AWS's code where AWS has one and a JSON pointer; nothing stops at
//! the first error.
//!
//! Invariants: no IO, no async, no tokio; never panics on any input.
//!
//! ```
//! let v = sfn_asl::validate(br#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Nxt": "B"}}}"#, Default::default());
//! assert!(!v.is_valid());
//! assert_eq!(v.diagnostics[0].pointer, "/States/A/Nxt");
//! assert_eq!(v.diagnostics[0].message, "unknown field Nxt, did you mean Next?");
//! ```

mod diagnostic;
mod json;
mod jsonata;
mod lower;
mod model;
pub mod pointer;
mod raw;
mod schema;
pub mod suggest;
mod time;
mod validate;

use serde_json::Value;

pub use diagnostic::{Diagnostic, Severity, codes};
pub use json::MAX_DEFINITION_BYTES;
pub use jsonata::{JsonataExpr, JsonataExprError, JsonataPayload, JsonataPayloadError, JsonataTemplate};
pub use lower::MachineType;
pub use model::*;
pub use schema::{StateType, UnknownStateType};
pub use time::parse_timestamp;

/// Options for validation.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// STANDARD or EXPRESS.
    pub machine_type: MachineType,
}

/// The result of loading a definition: the machine (when it could be built) and every finding.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The typed machine; `None` when the definition is too broken to build one.
    pub machine: Option<StateMachine>,
    /// Errors and warnings, in document order.
    pub diagnostics: Vec<Diagnostic>,
}

impl Validation {
    /// True when there is a machine and no error.
    pub fn is_valid(&self) -> bool {
        self.machine.is_some() && !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The machine when valid, else every error.
    pub fn into_result(self) -> Result<StateMachine, Vec<Diagnostic>> {
        match self.machine {
            Some(m) if !self.diagnostics.iter().any(Diagnostic::is_error) => Ok(m),
            _ => Err(self.diagnostics.into_iter().filter(Diagnostic::is_error).collect()),
        }
    }
}

/// Validates definition text (bytes, so non-UTF-8 input is reported rather than refused).
pub fn validate(text: &[u8], options: ValidateOptions) -> Validation {
    let (value, mut diagnostics) = json::read(text);
    let Some(value) = value else { return Validation { machine: None, diagnostics } };
    let mut v = validate_value(&value, options);
    diagnostics.append(&mut v.diagnostics);
    v.diagnostics = diagnostics;
    v
}

/// Validates a definition that is already JSON.
pub fn validate_value(value: &Value, options: ValidateOptions) -> Validation {
    let mut lowering = lower::Lowering::new(options.machine_type);
    let machine = lowering.machine(value);
    let mut diagnostics = lowering.diags;
    if let Some(m) = &machine {
        validate::check(m, &mut diagnostics);
    }
    Validation { machine, diagnostics }
}

/// Parses a definition, failing with every error when it is not valid.
pub fn parse(text: &[u8]) -> Result<StateMachine, Vec<Diagnostic>> {
    validate(text, ValidateOptions::default()).into_result()
}

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
