//! TestState: one state, its inspection data, and the RETRIABLE / CAUGHT_ERROR statuses.

use std::sync::Arc;

use serde_json::{Map, json};
use sfn_engine::{Engine, MockResponse, TaskMocks, TestMock, TestStateRequest, TestStatus};

struct Throw;
impl TaskMocks for Throw {
    fn covers(&self, _state: &str) -> bool {
        true
    }
    fn respond(&self, _state: &str, _invocation: u32) -> Option<MockResponse> {
        Some(MockResponse::Throw { error: "App.Error".into(), cause: Some("no".into()) })
    }
}

fn req(state: &str, input: serde_json::Value, variables: Map<String, serde_json::Value>) -> TestStateRequest {
    TestStateRequest { state: state.into(), input, variables, ..TestStateRequest::default() }
}

fn prepared(engine: &Engine, def: serde_json::Value) -> sfn_engine::Prepared {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    engine.prepare(machine, "m").unwrap()
}

/// Prepared for a TestState run of `r`: a mocked Task needs no integration.
fn prepared_for(engine: &Engine, def: &serde_json::Value, r: &TestStateRequest) -> sfn_engine::Prepared {
    let machine = sfn_asl::parse(&serde_json::to_vec(def).unwrap()).unwrap();
    engine.prepare_for_test(machine, "m", r).unwrap()
}

#[tokio::test]
async fn pass_state_inspection() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.in",
            "Parameters": {"v.$": "States.MathAdd($.x, $y)"}, "ResultPath": "$.r", "OutputPath": "$.r",
            "Assign": {"seen.$": "$.v"}, "Next": "Q"}, "Q": {"Type": "Succeed"}}}),
    );
    let vars = Map::from_iter([("y".to_owned(), json!(10))]);
    let o = engine.test_state(&p, req("P", json!({"in": {"x": 1}}), vars)).await.unwrap();
    assert_eq!(o.status, TestStatus::Succeeded);
    assert_eq!(o.output, Some(json!({"v": 11})));
    assert_eq!(o.next_state.as_deref(), Some("Q"));
    assert_eq!(o.inspection.after_input_path, Some(json!({"x": 1})));
    assert_eq!(o.inspection.after_parameters, Some(json!({"v": 11})));
    // ResultPath places the result into the raw input (before InputPath).
    assert_eq!(o.inspection.after_result_path, Some(json!({"in": {"x": 1}, "r": {"v": 11}})));
    assert_eq!(o.inspection.variables, Some(Map::from_iter([("seen".to_owned(), json!(11))])));
}

#[tokio::test]
async fn task_failures_are_retriable_or_caught() {
    let engine = Engine::builder().mocks(Arc::new(Throw)).build();
    let task = |retry: serde_json::Value, catch: serde_json::Value| {
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": retry, "Catch": catch, "Next": "H"}, "H": {"Type": "Succeed"}}})
    };
    let p = prepared(&engine, task(json!([{"ErrorEquals": ["App.Error"]}]), json!([])));
    let o = engine.test_state(&p, req("T", json!({}), Map::new())).await.unwrap();
    assert_eq!(o.status, TestStatus::Retriable);
    let p = prepared(
        &engine,
        task(json!([]), json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "H"}])),
    );
    let o = engine.test_state(&p, req("T", json!({"a": 1}), Map::new())).await.unwrap();
    assert_eq!(o.status, TestStatus::CaughtError);
    assert_eq!(o.output, Some(json!({"a": 1, "e": {"Error": "App.Error", "Cause": "no"}})));
    assert_eq!(o.next_state.as_deref(), Some("H"));
    let p = prepared(&engine, task(json!([]), json!([])));
    let o = engine.test_state(&p, req("T", json!({}), Map::new())).await.unwrap();
    assert_eq!((o.status, o.error.as_deref()), (TestStatus::Failed, Some("App.Error")));
}

#[tokio::test]
async fn choice_picks_the_next_state_and_unknown_states_are_errors() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Big"}], "Default": "Small"},
            "Big": {"Type": "Succeed"}, "Small": {"Type": "Succeed"}}}),
    );
    let o = engine.test_state(&p, req("C", json!({"n": 5}), Map::new())).await.unwrap();
    assert_eq!(o.next_state.as_deref(), Some("Big"));
    // A Choice has no work to mock: refused, never ignored.
    let mut r = req("C", json!({"n": 5}), Map::new());
    r.mock = Some(TestMock::Result(json!(1)));
    let e = engine.test_state(&p, r).await.unwrap_err();
    assert_eq!(e.to_string(), "State type 'Choice' is not supported when a mock is specified");
    assert!(engine.test_state(&p, req("Nope", json!({}), Map::new())).await.is_err());
}

fn machine(states: serde_json::Value, start: &str) -> serde_json::Value {
    json!({"StartAt": start, "States": states})
}

/// issue 17: a JSONata Pass's `Output` is evaluated under TestState as under `sfn run` (it returned `{}`).
#[tokio::test]
async fn jsonata_pass_output_is_evaluated() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        machine(
            json!({"P": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"seen": "{% $states.input.n %}"},
                "Output": {"a": "{% 1+1 %}", "n": "{% $states.input.n * $k %}"}, "End": true}}),
            "P",
        ),
    );
    let vars = Map::from_iter([("k".to_owned(), json!(3))]);
    let o = engine.test_state(&p, req("P", json!({"n": 2}), vars)).await.unwrap();
    assert_eq!(o.status, TestStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!({"a": 2, "n": 6})));
    assert_eq!(o.inspection.variables, Some(Map::from_iter([("seen".to_owned(), json!(2))])));
    // JSONata has no InputPath: AWS leaves afterInputPath out (InspectionData reference).
    assert_eq!(o.inspection.after_input_path, None);
}

fn lambda_task(extra: serde_json::Value) -> serde_json::Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$.p"}, "Next": "H"});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    machine(json!({"T": t, "H": {"Type": "Succeed"}}), "T")
}

/// TestState `mock.result`: Parameters are evaluated, the mock is the result, ResultSelector and
/// ResultPath apply to it; nothing is called (the engine has no integration at all).
#[tokio::test]
async fn a_mocked_result_goes_through_the_state_pipeline() {
    let engine = Engine::builder().build();
    let def = lambda_task(json!({"ResultSelector": {"body.$": "$.Payload.body"}, "ResultPath": "$.out"}));
    let mut r = req("T", json!({"p": {"x": 1}}), Map::new());
    // Unmocked, the Task cannot run here: there is no integration.
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    assert!(engine.prepare_for_test(machine, "m", &r).is_err());
    r.mock = Some(TestMock::Result(json!({"Payload": {"body": "hi"}, "StatusCode": 200})));
    let p = prepared_for(&engine, &def, &r);
    let o = engine.test_state(&p, r).await.unwrap();
    assert_eq!(o.status, TestStatus::Succeeded, "{o:?}");
    assert_eq!(o.inspection.after_parameters, Some(json!({"FunctionName": "f", "Payload": {"x": 1}})));
    assert_eq!(o.inspection.result, Some(json!({"Payload": {"body": "hi"}, "StatusCode": 200})));
    assert_eq!(o.inspection.after_result_selector, Some(json!({"body": "hi"})));
    assert_eq!(o.output, Some(json!({"p": {"x": 1}, "out": {"body": "hi"}})));
    assert_eq!(o.next_state.as_deref(), Some("H"));
}

/// TestState `mock.errorOutput` and `stateConfiguration.retrierRetryCount`: the error is retriable while
/// the matching retrier has attempts left, then it goes to the Catch (API reference, TestStateConfiguration).
#[tokio::test]
async fn a_mocked_error_is_retriable_until_the_retrier_is_spent_then_caught() {
    let engine = Engine::builder().build();
    let def = lambda_task(json!({
        "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 5}, {"ErrorEquals": ["App.Boom"], "MaxAttempts": 2, "IntervalSeconds": 3, "BackoffRate": 2.0}],
        "Catch": [{"ErrorEquals": ["Other"], "Next": "H"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}]}));
    let mock = TestMock::Error { error: "App.Boom".into(), cause: Some("bad".into()) };
    let mut r = req("T", json!({}), Map::new());
    r.mock = Some(mock.clone());
    let p = prepared_for(&engine, &def, &r);
    let run = |retried: u32| {
        let mut r = req("T", json!({"p": 1}), Map::new());
        r.mock = Some(mock.clone());
        r.retrier_retry_count = retried;
        engine.test_state(&p, r)
    };
    let o = run(1).await.unwrap();
    assert_eq!(
        (o.status, o.error.as_deref(), o.cause.as_deref()),
        (TestStatus::Retriable, Some("App.Boom"), Some("bad"))
    );
    let details = o.inspection.error_details.unwrap();
    assert_eq!((details.retry_index, details.retry_backoff_interval_seconds), (Some(1), Some(6.0)));
    let o = run(2).await.unwrap();
    assert_eq!(o.status, TestStatus::CaughtError, "{o:?}");
    assert_eq!(o.inspection.error_details.unwrap().catch_index, Some(1));
    assert_eq!(o.output, Some(json!({"p": 1, "err": {"Error": "App.Boom", "Cause": "bad"}})));
    assert_eq!(o.next_state.as_deref(), Some("H"));
}

/// TestState `context`: its members replace the execution's in `$$` (JSONPath and JSONata alike).
#[tokio::test]
async fn a_given_context_object_is_what_dollar_dollar_reads() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        machine(
            json!({"P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "name.$": "$$.State.Name", "all.$": "$$.Custom"}, "Next": "J"},
                "J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.context.Execution.Id %}", "End": true}}),
            "P",
        ),
    );
    let context = json!({"Execution": {"Id": "arn:given"}, "Custom": {"x": 1}});
    let mut r = req("P", json!({}), Map::new());
    r.context = context.as_object().cloned();
    let o = engine.test_state(&p, r.clone()).await.unwrap();
    assert_eq!(o.output, Some(json!({"id": "arn:given", "name": "P", "all": {"x": 1}})));
    r.state = "J".into();
    assert_eq!(engine.test_state(&p, r).await.unwrap().output, Some(json!("arn:given")));
}

/// Every TestState call is a fresh execution: its own name (idempotency tokens derive from it).
#[tokio::test]
async fn every_call_is_a_fresh_execution() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        machine(json!({"P": {"Type": "Pass", "Parameters": {"n.$": "$$.Execution.Name"}, "End": true}}), "P"),
    );
    let a = engine.test_state(&p, req("P", json!({}), Map::new())).await.unwrap().output;
    let b = engine.test_state(&p, req("P", json!({}), Map::new())).await.unwrap().output;
    assert_ne!(a, b);
}

/// A mocked Map: the mock is its result; `mapIterationFailureCount` over the tolerated threshold fails it
/// with `States.ExceedToleratedFailureThreshold`, which its Catch then handles.
#[tokio::test]
async fn a_mocked_map_counts_failed_iterations_against_its_threshold() {
    let engine = Engine::builder().build();
    let p = prepared(
        &engine,
        machine(
            json!({"M": {"Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "H"}], "Next": "H"},
                "H": {"Type": "Succeed"}}),
            "M",
        ),
    );
    let run = |failures: Option<u64>| {
        let mut r = req("M", json!([1, 2, 3]), Map::new());
        r.mock = Some(TestMock::Result(json!([1, null, 3])));
        r.map_iteration_failure_count = failures;
        engine.test_state(&p, r)
    };
    let o = run(Some(1)).await.unwrap();
    assert_eq!((o.status, o.output), (TestStatus::Succeeded, Some(json!([1, null, 3]))));
    // What AWS shows of a mocked Map (LocalStack's AWS-validated test_state_configuration snapshot).
    let members = o.inspection.members();
    assert_eq!(members.get("afterItemsPath"), Some(&json!([1, 2, 3])));
    assert_eq!(members.get("maxConcurrency"), Some(&json!(0)));
    assert_eq!(members.get("toleratedFailureCount"), Some(&json!(1)));
    let o = run(Some(2)).await.unwrap();
    assert_eq!(
        (o.status, o.error.as_deref()),
        (TestStatus::CaughtError, Some("States.ExceedToleratedFailureThreshold"))
    );
}

/// Unmocked, a Parallel or Map runs its branches and iterations through the interpreter (the API refuses
/// this; `sfn test-state` allows it as a local extension), and a Wait is evaluated but not waited.
#[tokio::test]
async fn unmocked_parallel_and_map_run_their_scopes_and_waits_do_not_wait() {
    let engine = Engine::builder().build();
    let branch = |r: i64| {
        let (w, p) = (format!("W{r}"), format!("R{r}"));
        json!({"StartAt": w, "States": {w.clone(): {"Type": "Wait", "Seconds": 3600, "Next": p}, p.clone(): {"Type": "Pass", "Result": r, "End": true}}})
    };
    let p = prepared(
        &engine,
        machine(
            json!({"P": {"Type": "Parallel", "Branches": [branch(1), branch(2)], "ResultPath": "$.r", "Next": "M"},
                "M": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}}, "End": true}}),
            "P",
        ),
    );
    let o = engine.test_state(&p, req("P", json!({"xs": [1]}), Map::new())).await.unwrap();
    assert_eq!((o.status, o.output), (TestStatus::Succeeded, Some(json!({"xs": [1], "r": [1, 2]}))));
    let o = engine.test_state(&p, req("M", json!({"xs": ["a", "b"]}), Map::new())).await.unwrap();
    assert_eq!(o.output, Some(json!([{"v": "a"}, {"v": "b"}])));
}
