//! TestState: one state, its inspection data, and the RETRIABLE / CAUGHT_ERROR statuses.

use std::sync::Arc;

use serde_json::{Map, json};
use sfn_engine::{Engine, MockResponse, TaskMocks, TestStatus};

struct Throw;
impl TaskMocks for Throw {
    fn covers(&self, _state: &str) -> bool {
        true
    }
    fn respond(&self, _state: &str, _invocation: u32) -> Option<MockResponse> {
        Some(MockResponse::Throw { error: "App.Error".into(), cause: Some("no".into()) })
    }
}

fn prepared(engine: &Engine, def: serde_json::Value) -> sfn_engine::Prepared {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    engine.prepare(machine, "m").unwrap()
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
    let o = engine.test_state(&p, "P", json!({"in": {"x": 1}}), vars).await.unwrap();
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
    let o = engine.test_state(&p, "T", json!({}), Map::new()).await.unwrap();
    assert_eq!(o.status, TestStatus::Retriable);
    let p = prepared(
        &engine,
        task(json!([]), json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "H"}])),
    );
    let o = engine.test_state(&p, "T", json!({"a": 1}), Map::new()).await.unwrap();
    assert_eq!(o.status, TestStatus::CaughtError);
    assert_eq!(o.output, Some(json!({"a": 1, "e": {"Error": "App.Error", "Cause": "no"}})));
    assert_eq!(o.next_state.as_deref(), Some("H"));
    let p = prepared(&engine, task(json!([]), json!([])));
    let o = engine.test_state(&p, "T", json!({}), Map::new()).await.unwrap();
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
    let o = engine.test_state(&p, "C", json!({"n": 5}), Map::new()).await.unwrap();
    assert_eq!(o.next_state.as_deref(), Some("Big"));
    assert!(engine.test_state(&p, "Nope", json!({}), Map::new()).await.is_err());
}
