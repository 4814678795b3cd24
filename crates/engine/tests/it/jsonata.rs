//! JSONata states beyond the recorded conformance cases: tasks through the seam (`Arguments`,
//! `$states.result`, expression-valued timeouts, the task token in `$states.context`), Catch with
//! `$states.errorOutput`, Map with `$states.context.Map.Item`, variables shared with JSONPath states.
//! Semantics: AWS "Transforming data with JSONata in Step Functions".

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_engine::{Engine, ExecutionStatus, History, Outcome, StartRequest};

use crate::fake::{Fake, engine_with};

async fn run(engine: &Engine, def: Value, input: Value) -> (Outcome, History) {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    engine
        .run(&prepared, StartRequest { execution_name: "e".into(), input, role_arn: None, input_text: None })
        .await
}

fn scheduled(h: &History) -> Value {
    let e = h.events().into_iter().find(|e| e.event_type() == "TaskScheduled").unwrap().to_json();
    let d = &e["taskScheduledEventDetails"];
    json!({"parameters": serde_json::from_str::<Value>(d["parameters"].as_str().unwrap()).unwrap(),
           "timeout": d["timeoutInSeconds"], "heartbeat": d["heartbeatInSeconds"]})
}

#[tokio::test(start_paused = true)]
async fn task_arguments_result_output_and_assign() {
    let engine = engine_with(Arc::new(Fake::default()));
    // A JSONPath machine with one JSONata state: variables cross the language boundary.
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::fake:echo",
              "Arguments": {"n": "{% $states.input.n * 2 %}", "fixed": "x", "list": ["{% $states.input.n %}", 7]},
              "TimeoutSeconds": "{% $states.input.n + 10 %}",
              "Assign": {"seen": "{% $states.result.Submitted.n %}", "before": "{% $states.input.n %}"},
              "Output": {"echo": "{% $states.result.Submitted %}"},
              "Next": "P"},
        "P": {"Type": "Pass", "Parameters": {"seen.$": "$seen", "before.$": "$before", "echo.$": "$.echo.fixed"}, "End": true}}});
    let (o, h) = run(&engine, def, json!({"n": 3})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!({"seen": 6, "before": 3, "echo": "x"})));
    assert_eq!(
        scheduled(&h),
        json!({"parameters": {"n": 6, "fixed": "x", "list": [3, 7]}, "timeout": 13, "heartbeat": null})
    );
}

#[tokio::test(start_paused = true)]
async fn callback_token_comes_from_states_context() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake);
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:echo.waitForTaskToken",
              "Arguments": {"token": "{% $states.context.Task.Token %}"},
              "TimeoutSeconds": 5, "End": true}}});
    let (o, h) = run(&engine, def, json!({})).await;
    // Nobody calls back: the state times out, but the token reached the parameters.
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    let token = scheduled(&h)["parameters"]["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 22, "{token}");
}

#[tokio::test(start_paused = true)]
async fn catch_sees_the_error_output() {
    let engine = engine_with(Arc::new(Fake::default()));
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:fail",
              "Arguments": {"Error": "Boom", "Cause": "{% 'because ' & $states.input.why %}"},
              "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handled",
                         "Assign": {"err": "{% $states.errorOutput.Error %}"},
                         "Output": {"caught": "{% $states.errorOutput %}", "input": "{% $states.input.why %}"}}],
              "End": true},
        "Handled": {"Type": "Pass", "Output": {"all": "{% $states.input %}", "err": "{% $err %}"}, "End": true}}});
    let (o, _) = run(&engine, def, json!({"why": "reasons"})).await;
    assert_eq!(
        o.output,
        Some(
            json!({"all": {"caught": {"Error": "Boom", "Cause": "because reasons"}, "input": "reasons"}, "err": "Boom"})
        )
    );
    // Without Output, a Catch passes the error output on.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:fail", "Arguments": {"Error": "Boom"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}], "End": true},
        "S": {"Type": "Succeed"}}});
    let (o, _) = run(&engine, def, json!({})).await;
    assert_eq!(o.output, Some(json!({"Error": "Boom"})));
}

#[tokio::test(start_paused = true)]
async fn map_item_selector_sees_the_item_and_the_input() {
    let engine = Engine::builder().build();
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "Items": "{% $states.input.xs %}", "MaxConcurrency": "{% 2 %}",
              "ItemSelector": {"i": "{% $states.context.Map.Item.Index %}", "v": "{% $states.context.Map.Item.Value %}", "k": "{% $states.input.k %}"},
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $states.input.k & $string($states.input.v * $states.input.i) %}", "End": true}}},
              "End": true}}});
    let (o, _) = run(&engine, def, json!({"xs": [5, 6, 7], "k": "x"})).await;
    assert_eq!(o.output, Some(json!(["x0", "x6", "x14"])));
}

#[tokio::test(start_paused = true)]
async fn expression_valued_fields_and_their_evaluation_errors() {
    let engine = Engine::builder().build();
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Next": "F"},
        "F": {"Type": "Fail", "Error": "{% 'E.' & $states.input.s %}", "Cause": "{% $string($states.input) %}"}}});
    let (o, _) = run(&engine, def.clone(), json!({"s": 2})).await;
    assert_eq!((o.error.as_deref(), o.cause.as_deref()), (Some("E.2"), Some("{\"s\":2}")));
    let (o, _) = run(&engine, def, json!({"s": "two"})).await;
    assert_eq!(o.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(
        o.cause.as_deref().unwrap().contains(
            "field 'Seconds' returned an unexpected result type. Expected 'integer', but was 'string'"
        ),
        "{o:?}"
    );
    // A Choice Condition that is not Boolean.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "S"}], "Default": "S"},
        "S": {"Type": "Succeed"}}});
    let (o, _) = run(&engine, def, json!({"n": 1})).await;
    assert_eq!(o.error.as_deref(), Some("States.QueryEvaluationError"));
    assert!(
        o.cause.as_deref().unwrap().contains("Expected 'boolean', but was 'number' for value: 1"),
        "{o:?}"
    );
}
