//! Definitions as every entry point judges them: the one validation (`sfn_patterns::validate_definition`)
//! for a state machine type, and AWS's `InvalidDefinition` message. Below the service (which prepares
//! versions with it) and the operations (Create/Update/ValidateStateMachineDefinition, TestState).

use sfn_asl::{Diagnostic, MachineType, ValidateOptions, Validation};
use sfn_patterns::Integrations;

use crate::error::ApiError;

/// AWS's `InvalidDefinition` message: `Invalid State Machine Definition: 'CODE: message at /pointer, …'`.
pub(crate) fn invalid_definition(diags: &[Diagnostic]) -> ApiError {
    let parts: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {} at {}", d.code, d.message, d.pointer))
        .collect();
    ApiError::client("InvalidDefinition", format!("Invalid State Machine Definition: '{}'", parts.join(", ")))
}

fn machine_type(kind: &str) -> MachineType {
    if kind == "EXPRESS" { MachineType::Express } else { MachineType::Standard }
}

/// The verdict `sfn validate` gives (one validation for every entry point): AWS's on the definition, the
/// engine's integrations' lints as warnings. A state this server cannot run (no integration, no mock) is
/// not a finding about the definition: StartExecution says so.
pub(crate) fn verdict(integrations: &Integrations, definition: &str, kind: &str) -> Validation {
    let options = ValidateOptions { machine_type: machine_type(kind) };
    sfn_patterns::validate_definition(definition.as_bytes(), options, integrations, &|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_definition_message_is_aws_shaped() {
        let v = sfn_asl::validate(br#"{"StartAt": "A"}"#, ValidateOptions::default());
        let e = invalid_definition(&v.diagnostics);
        assert_eq!(e.code, "InvalidDefinition");
        assert_eq!(
            e.message,
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
        );
    }
}
