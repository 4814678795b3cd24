//! TestState: one state's definition run once with an input, through the engine, on a synthesized
//! one-state machine (or a state of a whole machine, with `stateName`).

use std::time::Duration;

use serde_json::{Map, Value, json};
use sfn_asl::{State, StateKind};
use sfn_engine::{ErrorName, Inspection, TestMock, TestStateRequest};

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

/// The members of TestState's request (API reference, TestState "Request Syntax"); any other is refused.
const FIELDS: &[&str] = &[
    "definition",
    "roleArn",
    "input",
    "inspectionLevel",
    "revealSecrets",
    "variables",
    "stateName",
    "mock",
    "context",
    "stateConfiguration",
];
const MOCK_FIELDS: &[&str] = &["result", "errorOutput", "fieldValidationMode"];
const ERROR_OUTPUT_FIELDS: &[&str] = &["error", "cause"];
const CONFIGURATION_FIELDS: &[&str] =
    &["retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"];

/// A member the API does not know is refused, never dropped (`at` names where it is).
fn known(members: &Value, allowed: &[&str], at: &str) -> Result<(), ApiError> {
    let mut keys = members.as_object().into_iter().flat_map(Map::keys);
    match keys.find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(ApiError::client(
            "ValidationException",
            format!("Unknown member '{at}{k}': TestState accepts [{}]", allowed.join(", ")),
        )),
    }
}

/// AWS's answer to an unmocked Map or Parallel (recorded against AWS in LocalStack's
/// `test_state_mock_validation.snapshot.json`, `test_state_type_requires_mock`).
const MAP_OR_PARALLEL: &str = "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]";

/// The API reference's rule for what needs a mock ("TestState only supports the following when a mock
/// is specified: …"); AWS's exact wording of the refusal is not on record.
const NEEDS_MOCK: &str = "TestState only supports the following when a mock is specified: Activity tasks, .sync or .waitForTaskToken service integration patterns, Parallel, or Map states.";

/// The request's `mock`, checked against the state it mocks (messages recorded against AWS in
/// LocalStack's `test_state_mock_validation.snapshot.json` unless said otherwise).
fn mock_for(
    mock: &Value,
    state: &State,
    reveal: bool,
    integrations: &sfn_patterns::Integrations,
) -> Result<TestMock, ApiError> {
    known(mock, MOCK_FIELDS, "mock.")?;
    let m = Input::new(mock);
    let mode = m.opt_enum("fieldValidationMode", &["STRICT", "PRESENT", "NONE"])?.unwrap_or("STRICT");
    let result = m.opt_sensitive("result", 262_144)?;
    let error_output = m.opt_object("errorOutput")?.and(mock.get("errorOutput"));
    if state.recovery().is_none() {
        // The engine's refusal (`TestStateError::MockNotSupported`), before the mock's own checks.
        let why = sfn_engine::TestStateError::MockNotSupported(state.type_name());
        return Err(ApiError::client("ValidationException", why.to_string()));
    }
    if reveal {
        return Err(ApiError::client(
            "ValidationException",
            "TestState does not support RevealSecrets when a mock is specified.",
        ));
    }
    match (result, error_output) {
        (Some(_), Some(_)) => Err(ApiError::client(
            "ValidationException",
            "A test mock should have only one of the following fields: [result, errorOutput].",
        )),
        (None, None) => Err(ApiError::client(
            "ValidationException",
            "A test mock should have one of the following fields: [result, errorOutput].",
        )),
        (None, Some(e)) => {
            known(e, ERROR_OUTPUT_FIELDS, "mock.errorOutput.")?;
            let e = Input::new(e);
            let error = e.opt_str("error")?.unwrap_or_default();
            let cause = e.opt_str("cause")?.map(str::to_owned);
            Ok(TestMock::Error { error: ErrorName::from(error.to_owned()), cause })
        }
        (Some(text), None) => {
            // "Mocked result must be valid JSON" is LocalStack's wording (not recorded).
            let v: Value = serde_json::from_str(text)
                .map_err(|_| ApiError::client("ValidationException", "Mocked result must be valid JSON"))?;
            match &state.kind {
                // A ResultWriter that exports (a Resource) makes the Map's output an object; a
                // WriterConfig alone leaves it an array (AWS: "ResultWriter (Map)").
                StateKind::Map(m) if m.writer.as_ref().is_some_and(|w| w.exports()) && !v.is_object() => {
                    Err(ApiError::client("ValidationException", "Mocked result must be a JSON object."))
                }
                StateKind::Map(m) if !m.writer.as_ref().is_some_and(|w| w.exports()) && !v.is_array() => {
                    Err(ApiError::client("ValidationException", "Mocked result must be an array."))
                }
                StateKind::Parallel(p) => match v.as_array() {
                    None => Err(ApiError::client("ValidationException", "Mocked result must be an array.")),
                    Some(a) if a.len() != p.branches.len() => Err(ApiError::client(
                        "ValidationException",
                        "Mocked result must contain the same number of items as number of Parallel branches.",
                    )),
                    Some(_) => Ok(TestMock::Result(v)),
                },
                StateKind::Task(t) if mode != "NONE" => {
                    // The integration checks the result against its action's response model.
                    if let Ok(sfn_patterns::Resource::Service(r)) = sfn_patterns::Resource::parse(&t.resource)
                        && let Some(i) = integrations.get(&r)
                    {
                        i.check_result(&r, &v, mode == "STRICT")
                            .map_err(|e| ApiError::client("ValidationException", e.to_string()))?;
                    }
                    Ok(TestMock::Result(v))
                }
                _ => Ok(TestMock::Result(v)),
            }
        }
    }
}

/// True when a state of `states` (nested ones included) is named `name`.
fn contains(states: &sfn_asl::States, name: &str) -> bool {
    states.get(name).is_some()
        || states.iter().any(|s| match &s.kind {
            StateKind::Parallel(p) => p.branches.iter().any(|b| contains(&b.states, name)),
            StateKind::Map(m) => contains(&m.processor.states, name),
            _ => false,
        })
}

/// `stateConfiguration`, checked against the state and the mock (AWS's wording of these refusals is
/// not on record; each names the field and the rule, from the API reference's TestStateConfiguration).
fn configure(
    c: &Value,
    state: &State,
    mock: Option<&TestMock>,
    req: &mut TestStateRequest,
) -> Result<(), ApiError> {
    known(c, CONFIGURATION_FIELDS, "stateConfiguration.")?;
    let i = Input::new(c);
    let refuse = |m: &str| Err(ApiError::client("ValidationException", m.to_owned()));
    if let Some(n) = i.opt_int("retrierRetryCount", i64::from(i32::MAX))? {
        if state.recovery().is_none_or(|r| r.retry.is_empty()) {
            return refuse("stateConfiguration.retrierRetryCount needs a state with a Retry field");
        }
        req.retrier_retry_count = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(name) = i.opt_str_len("errorCausedByState", 1, 80)? {
        let inside = match &state.kind {
            StateKind::Map(m) => contains(&m.processor.states, name),
            StateKind::Parallel(p) => p.branches.iter().any(|b| contains(&b.states, name)),
            _ => return refuse("stateConfiguration.errorCausedByState is only for a Map or Parallel state"),
        };
        if !matches!(mock, Some(TestMock::Error { .. })) {
            return refuse("stateConfiguration.errorCausedByState needs mock.errorOutput");
        }
        if !inside {
            return Err(ApiError::client(
                "ValidationException",
                format!("stateConfiguration.errorCausedByState: '{name}' is not a state of '{}'", state.name),
            ));
        }
    }
    if let Some(n) = i.opt_int("mapIterationFailureCount", i64::from(i32::MAX))? {
        if !matches!(state.kind, StateKind::Map(_)) || mock.is_none() {
            return refuse("stateConfiguration.mapIterationFailureCount is only for a mocked Map state");
        }
        req.map_iteration_failure_count = u64::try_from(n).ok();
    }
    if let Some(data) = i.opt_sensitive("mapItemReaderData", 262_144)? {
        if !matches!(&state.kind, StateKind::Map(m) if m.item_reader.is_some()) {
            return refuse("stateConfiguration.mapItemReaderData is only for a Map state with an ItemReader");
        }
        serde_json::from_str::<Value>(data).map_err(|e| {
            ApiError::client(
                "ValidationException",
                format!("stateConfiguration.mapItemReaderData is not JSON: {e}"),
            )
        })?;
    }
    Ok(())
}

/// An unmocked state the API does not run: Map, Parallel, an Activity, `.sync`, `.waitForTaskToken`.
fn needs_mock(state: &State) -> Option<ApiError> {
    match &state.kind {
        StateKind::Map(_) | StateKind::Parallel(_) => {
            Some(ApiError::client("InvalidDefinition", MAP_OR_PARALLEL))
        }
        StateKind::Task(t) => match sfn_patterns::Resource::parse(&t.resource) {
            Ok(sfn_patterns::Resource::Activity(_)) => {
                Some(ApiError::client("ValidationException", NEEDS_MOCK))
            }
            Ok(sfn_patterns::Resource::Service(r)) if r.pattern != sfn_patterns::Pattern::RequestResponse => {
                Some(ApiError::client("ValidationException", NEEDS_MOCK))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A JSON object member given as a string (`variables`, `context`).
fn object_text(i: &Input<'_>, field: &str) -> Result<Option<Map<String, Value>>, ApiError> {
    match i.opt_sensitive(field, 262_144)?.map(serde_json::from_str::<Value>) {
        None => Ok(None),
        Some(Ok(Value::Object(m))) => Ok(Some(m)),
        Some(_) => Err(ApiError::client("ValidationException", format!("{field} must be a JSON object"))),
    }
}

impl Service {
    pub(crate) async fn test_state(&self, body: &Value) -> Result<Value, ApiError> {
        known(body, FIELDS, "")?;
        let i = Input::new(body);
        let definition = i.str_len("definition", 1, 1_048_576)?;
        let role_arn = i.opt_str_len("roleArn", 1, 256)?;
        let input = i.opt_sensitive("input", 262_144)?.unwrap_or("{}");
        let level = i.opt_enum("inspectionLevel", &["INFO", "DEBUG", "TRACE"])?.unwrap_or("INFO");
        let reveal = i.opt_bool("revealSecrets")?.unwrap_or(false);
        let variables = object_text(&i, "variables")?;
        let context = object_text(&i, "context")?;
        let state_name = i.opt_str_len("stateName", 1, 80)?;
        let mock = i.opt_object("mock")?.and(body.get("mock"));
        let configuration = i.opt_object("stateConfiguration")?.and(body.get("stateConfiguration"));

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
        let Some(tested) = find(&machine.states, &state) else {
            return Err(ApiError::client(
                "ValidationException",
                format!("State '{state}' does not exist in the state machine definition"),
            ));
        };
        let mock = mock.map(|m| mock_for(m, tested, reveal, self.engine.integrations())).transpose()?;
        if mock.is_none()
            && let Some(refusal) = needs_mock(tested)
        {
            return Err(refusal);
        }
        let input: Value = serde_json::from_str(input).map_err(|e| {
            ApiError::client("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{e}'"))
        })?;
        let mut req = TestStateRequest {
            state: state.clone(),
            input,
            variables: variables.unwrap_or_default(),
            context,
            role_arn: role_arn.map(str::to_owned),
            ..TestStateRequest::default()
        };
        if let Some(c) = configuration {
            configure(c, tested, mock.as_ref(), &mut req)?;
        }
        req.mock = mock;
        let prepared = self
            .engine
            .prepare_for_test(machine, "TestState", &req)
            .map_err(|errors| ApiError::client("ValidationException", errors.to_string()))?;
        // Every call is a fresh execution (its own name, so its own idempotency tokens).
        let run = self.engine.test_state(&prepared, req);
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
        // INFO shows the outcome only; DEBUG the data after each step; TRACE adds an HTTP Task's request
        // and response (no HTTP Task runs here, so it is DEBUG's).
        if level != "INFO" {
            out.insert("inspectionData".into(), inspection_data(&outcome.inspection));
        }
        Ok(Value::Object(out))
    }
}

/// `inspectionData`: each step that ran, as JSON text (`errorDetails` and the Map's numbers as they are).
fn inspection_data(insp: &Inspection) -> Value {
    let numbers = ["errorDetails", "maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage"];
    let members = insp.members().into_iter();
    Value::Object(
        members.map(|(k, v)| if numbers.contains(&k.as_str()) { (k, v) } else { (k, text(&v)) }).collect(),
    )
}

/// Finds a state by name anywhere in the machine (nested branches and processors included).
fn find<'a>(states: &'a sfn_asl::States, name: &str) -> Option<&'a State> {
    states.get(name).or_else(|| {
        states.iter().find_map(|s| match &s.kind {
            StateKind::Parallel(p) => p.branches.iter().find_map(|b| find(&b.states, name)),
            StateKind::Map(m) => find(&m.processor.states, name),
            _ => None,
        })
    })
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
