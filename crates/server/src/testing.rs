//! TestState: one state's definition run once with an input, through the engine, on a synthesized
//! one-state machine (or a state of a whole machine, with `stateName`).

use std::time::Duration;

use serde_json::{Map, Value, json};
use sfn_engine::ErrorName;

use crate::definition::{invalid_definition, verdict};
use crate::error::ApiError;
use crate::protocol::Input;
use crate::service::Service;

/// TestState runs for at most five minutes.
const TEST_LIMIT: Duration = Duration::from_secs(300);

/// Every state name a state transitions to (`Next`, `Default`, `Choices[].Next`, `Catch[].Next`).
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            out.push(s.clone());
        }
    };
    push(state.get("Next"));
    push(state.get("Default"));
    for key in ["Choices", "Catch"] {
        for item in state.get(key).and_then(Value::as_array).into_iter().flatten() {
            push(item.get("Next"));
        }
    }
    out
}

/// `{"StartAt": name, "States": {name: state, <target>: {"Type": "Succeed"}…}}`: a machine where the
/// state's transitions exist, so it validates as it would inside its own machine.
fn synthesize(state: &Map<String, Value>) -> (String, Value) {
    let all = targets(state);
    let mut name = "TestState".to_owned();
    while all.contains(&name) {
        name.push('_');
    }
    let mut states = Map::new();
    states.insert(name.clone(), Value::Object(state.clone()));
    for t in all {
        states.entry(t).or_insert_with(|| json!({"Type": "Succeed"}));
    }
    (name.clone(), json!({"StartAt": name, "States": states}))
}

fn text(v: &Value) -> Value {
    Value::String(v.to_string())
}

impl Service {
    pub(crate) async fn test_state(&self, body: &Value) -> Result<Value, ApiError> {
        let i = Input::new(body);
        let definition = i.str_len("definition", 1, 1_048_576)?;
        i.opt_str_len("roleArn", 1, 256)?;
        let input = i.opt_sensitive("input", 262_144)?.unwrap_or("{}");
        let level = i.opt_enum("inspectionLevel", &["INFO", "DEBUG", "TRACE"])?.unwrap_or("INFO");
        i.opt_bool("revealSecrets")?;
        let variables = i.opt_sensitive("variables", 262_144)?;
        let state_name = i.opt_str_len("stateName", 1, 80)?;

        let parsed: Value = serde_json::from_str(definition).map_err(|e| {
            ApiError::client(
                "InvalidDefinition",
                format!("Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {e}'"),
            )
        })?;
        let (machine_text, state) = match (state_name, parsed) {
            (Some(name), whole @ Value::Object(_)) if whole.get("States").is_some() => {
                (whole.to_string(), name.to_owned())
            }
            (None, Value::Object(state)) => {
                let (name, machine) = synthesize(&state);
                (machine.to_string(), name)
            }
            _ => {
                return Err(ApiError::client(
                    "InvalidDefinition",
                    "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: the definition must be a state (or, with stateName, a state machine) at /'",
                ));
            }
        };
        let v = verdict(self.engine.integrations(), &machine_text, "STANDARD");
        let machine = v.into_result().map_err(|d| invalid_definition(&d))?;
        let input: Value = serde_json::from_str(input).map_err(|e| {
            ApiError::client("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{e}'"))
        })?;
        let variables = match variables.map(serde_json::from_str::<Value>) {
            None => Map::new(),
            Some(Ok(Value::Object(m))) => m,
            Some(_) => {
                return Err(ApiError::client("ValidationException", "variables must be a JSON object"));
            }
        };
        let prepared = self
            .engine
            .prepare(machine, "TestState")
            .map_err(|errors| ApiError::client("ValidationException", errors.to_string()))?;
        let run = self.engine.test_state(&prepared, &state, input, variables);
        let outcome = match tokio::time::timeout(TEST_LIMIT, run).await {
            Ok(Ok(o)) => o,
            Ok(Err(why)) => return Err(ApiError::client("ValidationException", why.to_string())),
            Err(_) => {
                return Ok(
                    json!({"status": "FAILED", "error": ErrorName::Timeout.as_str(), "cause": "TestState ran for more than five minutes"}),
                );
            }
        };
        let mut out = Map::new();
        out.insert("status".into(), json!(outcome.status.as_str()));
        if let Some(o) = &outcome.output {
            out.insert("output".into(), text(o));
        }
        if let Some(e) = &outcome.error {
            out.insert("error".into(), json!(e));
        }
        if let Some(c) = &outcome.cause {
            out.insert("cause".into(), json!(c));
        }
        if let Some(n) = &outcome.next_state {
            out.insert("nextState".into(), json!(n));
        }
        if level != "INFO" {
            let insp = &outcome.inspection;
            let mut d = Map::new();
            d.insert("input".into(), text(&insp.input));
            for (k, v) in [
                ("afterInputPath", &insp.after_input_path),
                ("afterParameters", &insp.after_parameters),
                ("result", &insp.result),
                ("afterResultSelector", &insp.after_result_selector),
                ("afterResultPath", &insp.after_result_path),
            ] {
                if let Some(v) = v {
                    d.insert(k.into(), text(v));
                }
            }
            if let Some(vars) = &insp.variables {
                d.insert("variables".into(), text(&Value::Object(vars.clone())));
            }
            out.insert("inspectionData".into(), Value::Object(d));
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesized_machines_have_every_target() {
        let state = json!({"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "A"}], "Default": "TestState"});
        let (name, m) = synthesize(state.as_object().unwrap());
        assert_eq!(name, "TestState_");
        assert_eq!(m["States"]["A"]["Type"], "Succeed");
        assert_eq!(m["States"]["TestState"]["Type"], "Succeed");
        assert_eq!(m["StartAt"], "TestState_");
        let v = sfn_asl::validate(m.to_string().as_bytes(), sfn_asl::ValidateOptions::default());
        assert!(v.is_valid(), "{:?}", v.diagnostics);
    }
}
