//! `states:startExecution` against the server's own machines: children are executions of this server
//! (listed, described, stopped with their parent). Shapes: AWS's "Start a new AWS Step Functions state
//! machine execution" page and LocalStack's recorded `test_start_execution*` tests.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{TestServer, wait_machine};

fn parent(resource: &str, child_arn: &str, input: Value) -> Value {
    json!({"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task", "Resource": resource,
        "Parameters": {"StateMachineArn": child_arn, "Input": input},
        "End": true}}})
}

async fn start(s: &TestServer, machine: &str, input: Value) -> String {
    let v = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input.to_string()})).await;
    v["executionArn"].as_str().unwrap().to_owned()
}

/// The child machine's executions (ListExecutions), once there is one.
async fn children(s: &TestServer, child: &str) -> Vec<Value> {
    for _ in 0..400 {
        let l = s.ok("ListExecutions", json!({"stateMachineArn": child})).await;
        let e = l["executions"].as_array().unwrap().clone();
        if !e.is_empty() {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{child} has no execution");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync2_child_is_a_server_execution_and_its_output_json() {
    let s = TestServer::start().await;
    let child = s
        .create(
            "doubler",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}}),
        )
        .await;
    let input = json!({"n.$": "$.n", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"});
    let p = s.create("mum", &parent("arn:aws:states:::states:startExecution.sync:2", &child, input)).await;
    let arn = start(&s, &p, json!({"n": 21})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Output"], json!({"doubled": 42}));
    assert_eq!(out["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"], json!(arn));
    let kids = children(&s, &child).await;
    assert_eq!(kids.len(), 1);
    assert_eq!(kids[0]["executionArn"], out["ExecutionArn"]);
    assert_eq!(kids[0]["status"], "SUCCEEDED");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_parent_stops_its_sync_child() {
    let s = TestServer::start().await;
    let child = s.create("sleeper", &wait_machine(300)).await;
    let p = s.create("mum", &parent("arn:aws:states:::states:startExecution.sync", &child, json!({}))).await;
    let arn = start(&s, &p, json!({})).await;
    let kid = children(&s, &child).await[0]["executionArn"].as_str().unwrap().to_owned();
    s.ok("StopExecution", json!({"executionArn": arn})).await;
    assert_eq!(s.wait(&arn).await["status"], "ABORTED");
    assert_eq!(s.wait(&kid).await["status"], "ABORTED");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_task_token_child_answers_the_parent() {
    let s = TestServer::start().await;
    let child = s.create("sleeper", &wait_machine(300)).await;
    let input = json!({"TaskToken.$": "$$.Task.Token"});
    let p = s
        .create("mum", &parent("arn:aws:states:::states:startExecution.waitForTaskToken", &child, input))
        .await;
    let arn = start(&s, &p, json!({})).await;
    let kid = children(&s, &child).await[0]["executionArn"].as_str().unwrap().to_owned();
    let d = s.ok("DescribeExecution", json!({"executionArn": kid})).await;
    let token = serde_json::from_str::<Value>(d["input"].as_str().unwrap()).unwrap()["TaskToken"].clone();
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{\"done\":true}"})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "{\"done\":true}");
    s.ok("StopExecution", json!({"executionArn": kid})).await;
    s.stop().await;
}

/// A `.sync` task's `$$.Task.Token` through the API (AWS-recorded: LocalStack's
/// `test_callback.py::test_sync_with_task_token`): SendTaskHeartbeat is accepted, SendTaskSuccess ends
/// the task with its output verbatim while the child runs on, and the token is spent after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_task_success_on_a_sync_token_ends_the_task_before_its_child() {
    let s = TestServer::start().await;
    let child = s.create("sleeper", &wait_machine(300)).await;
    let input = json!({"TaskToken.$": "$$.Task.Token"});
    let p = s.create("mum", &parent("arn:aws:states:::states:startExecution.sync", &child, input)).await;
    let arn = start(&s, &p, json!({})).await;
    let kid = children(&s, &child).await[0]["executionArn"].as_str().unwrap().to_owned();
    let d = s.ok("DescribeExecution", json!({"executionArn": kid})).await;
    let token = serde_json::from_str::<Value>(d["input"].as_str().unwrap()).unwrap()["TaskToken"].clone();
    s.ok("SendTaskHeartbeat", json!({"taskToken": token})).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "\"SQS_SEND_MESSAGE_AND_WAIT\""})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], "\"SQS_SEND_MESSAGE_AND_WAIT\"");
    let k = s.ok("DescribeExecution", json!({"executionArn": kid})).await;
    assert_eq!(k["status"], "RUNNING", "the child runs on: {k}");
    let again = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert!(again.1["__type"].as_str().unwrap().ends_with("#TaskDoesNotExist"), "{again:?}");
    s.ok("StopExecution", json!({"executionArn": kid})).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_child_machine_fails_as_aws() {
    let s = TestServer::start().await;
    let missing = "arn:aws:states:us-east-1:123456789012:stateMachine:nobody";
    let p =
        s.create("mum", &parent("arn:aws:states:::states:startExecution.sync:2", missing, json!({}))).await;
    let arn = start(&s, &p, json!({})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["error"], "StepFunctions.StateMachineDoesNotExistException");
    assert!(d["cause"].as_str().unwrap().contains("Error Code: StateMachineDoesNotExist"), "{d}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_parent_resumed_after_a_restart_waits_for_the_same_child() {
    let dir = crate::temp_dir("nested-restart");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let child = s.create("sleeper", &wait_machine(1)).await;
    let p = s
        .create("mum", &parent("arn:aws:states:::states:startExecution.sync:2", &child, json!({"k": 7})))
        .await;
    let arn = start(&s, &p, json!({})).await;
    let kid = children(&s, &child).await[0]["executionArn"].as_str().unwrap().to_owned();
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["ExecutionArn"], json!(kid));
    assert_eq!(out["Output"], json!({"k": 7}));
    // Nothing was started twice.
    assert_eq!(children(&s, &child).await.len(), 1);
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// An EXPRESS child under `.sync:2` and `.sync` (AWS's "Start a new AWS Step Functions state machine
/// execution" integration starts any state machine; a Standard parent waits for an Express child too:
/// the Step Functions workshop's "Nested Express Workflows"): the parent gets the child's end in
/// DescribeExecution's shape, its ARN an `…:express:…` one; a failed child fails the Task with
/// `States.TaskFailed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_child_under_sync_answers_its_parent() {
    let s = TestServer::start().await;
    let express = |name: &str, definition: Value| json!({"name": name, "definition": definition.to_string(), "roleArn": crate::ROLE, "type": "EXPRESS"});
    let child = s
        .ok(
            "CreateStateMachine",
            express(
                "quick",
                json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
                    "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": true}}}),
            ),
        )
        .await["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let failing = s
        .ok(
            "CreateStateMachine",
            express(
                "broken",
                json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Nope", "Cause": "no"}}}),
            ),
        )
        .await["stateMachineArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = s
        .create(
            "express-mum",
            &parent("arn:aws:states:::states:startExecution.sync:2", &child, json!({"n.$": "$.n"})),
        )
        .await;
    let arn = start(&s, &p, json!({"n": 4})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!((&out["Output"], &out["Status"]), (&json!({"doubled": 8}), &json!("SUCCEEDED")), "{out}");
    assert!(out["ExecutionArn"].as_str().unwrap().contains(":express:quick:"), "{out}");
    assert_eq!(out["StateMachineArn"], json!(child));

    let p = s
        .create(
            "express-dad",
            &parent("arn:aws:states:::states:startExecution.sync", &child, json!({"n": 1})),
        )
        .await;
    let arn = start(&s, &p, json!({})).await;
    let d = s.wait(&arn).await;
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["Output"], json!("{\"doubled\":2}"), ".sync: the output as a string: {out}");

    let p = s
        .create("express-sad", &parent("arn:aws:states:::states:startExecution.sync:2", &failing, json!({})))
        .await;
    let arn = start(&s, &p, json!({})).await;
    let d = s.wait(&arn).await;
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str()),
        (Some("FAILED"), Some("States.TaskFailed")),
        "{d}"
    );
    s.stop().await;
}
