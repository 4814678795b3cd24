//! RedriveExecution over raw awsJson1_0 (API reference, RedriveExecution and
//! ExecutionRedrivenEventDetails): the execution goes on from the state it failed in, with that state's
//! input, under the same ARN; the states before it do not run again.

use std::time::Duration;

use serde_json::{Value, json};

use crate::TestServer;

fn code(v: &Value) -> &str {
    v["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default()
}

/// A Pass state, then a `.waitForTaskToken` ECS task whose token goes to the container.
fn machine() -> Value {
    json!({"StartAt": "Prepare", "States": {
        "Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.prep", "Next": "Work"},
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
            "Parameters": {
                "Cluster": "default",
                "TaskDefinition": "worker",
                "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]}
            },
            "ResultPath": "$.work",
            "End": true
        }
    }})
}

/// The token of the `n`th task submitted (1-based), once it is.
async fn nth_token(s: &TestServer, arn: &str, n: usize) -> String {
    for _ in 0..400 {
        let h = s.ok("GetExecutionHistory", json!({"executionArn": arn})).await;
        let events = h["events"].as_array().unwrap();
        if events.iter().filter(|e| e["type"] == "TaskSubmitted").count() >= n {
            let scheduled = events.iter().filter(|e| e["type"] == "TaskScheduled").nth(n - 1).unwrap();
            let text = scheduled["taskScheduledEventDetails"]["parameters"].as_str().unwrap();
            let params: Value = serde_json::from_str(text).unwrap();
            return params["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{arn} never submitted task {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_execution_redriven_goes_on_from_the_failed_state() {
    let s = TestServer::start().await;
    let machine_arn = s.create("redriven", &machine()).await;
    let started =
        s.ok("StartExecution", json!({"stateMachineArn": machine_arn, "input": "{\"n\": 7}"})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();

    // Redriving a running execution is refused.
    let (status, e) = s.call("RedriveExecution", json!({"executionArn": arn})).await;
    assert_eq!((status, code(&e)), (400, "ExecutionNotRedrivable"), "{e}");

    let token = nth_token(&s, &arn, 1).await;
    s.ok("SendTaskFailure", json!({"taskToken": token, "error": "Flaky", "cause": "first try"})).await;
    let failed = s.wait(&arn).await;
    assert_eq!((failed["status"].as_str(), failed["error"].as_str()), (Some("FAILED"), Some("Flaky")));
    assert_eq!(
        (failed["redriveCount"].as_u64(), failed["redriveStatus"].as_str()),
        (Some(0), Some("REDRIVABLE"))
    );
    let before =
        s.ok("GetExecutionHistory", json!({"executionArn": arn})).await["events"].as_array().unwrap().len();

    let redriven = s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    assert!(redriven["redriveDate"].as_f64().is_some(), "{redriven}");
    let token = nth_token(&s, &arn, 2).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{\"done\": true}"})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["redriveCount"], 1);
    assert_eq!(d["redriveDate"], redriven["redriveDate"]);
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    assert_eq!(d["startDate"], failed["startDate"], "the start date stays");
    // The failed state's input (the Pass state's result included) went on.
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!({"n": 7, "prep": "prepared", "work": {"done": true}}));

    let events =
        s.ok("GetExecutionHistory", json!({"executionArn": arn})).await["events"].as_array().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>(), "ids go on: {types:?}");
    assert_eq!(types.iter().filter(|t| **t == "ExecutionStarted").count(), 1);
    assert_eq!(types.iter().filter(|t| **t == "PassStateEntered").count(), 1, "Prepare did not run again");
    assert_eq!(types[before - 1], "ExecutionFailed");
    let r = &events[before];
    assert_eq!(r["type"], "ExecutionRedriven");
    assert_eq!(r["previousEventId"], before as u64);
    assert_eq!(r["executionRedrivenEventDetails"], json!({"redriveCount": 1}));
    assert_eq!(events[before + 1]["type"], "TaskStateEntered");
    assert_eq!(events[before + 1]["previousEventId"], before as u64 + 1);
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));

    // A SUCCEEDED execution is not redrivable; an unknown one does not exist.
    let (status, e) = s.call("RedriveExecution", json!({"executionArn": arn})).await;
    assert_eq!((status, code(&e)), (400, "ExecutionNotRedrivable"), "{e}");
    let (status, e) = s.call("RedriveExecution", json!({"executionArn": format!("{}-nope", arn)})).await;
    assert_eq!((status, code(&e)), (400, "ExecutionDoesNotExist"), "{e}");
    let listed = s.ok("ListExecutions", json!({"stateMachineArn": machine_arn})).await;
    assert_eq!(listed["executions"][0]["redriveCount"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_history_is_journaled_as_served() {
    let dir = crate::temp_dir("redrive");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let machine_arn = s.create("redriven", &machine()).await;
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine_arn, "input": "{}"})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let token = nth_token(&s, &arn, 1).await;
    s.ok("SendTaskFailure", json!({"taskToken": token, "error": "Flaky"})).await;
    s.wait(&arn).await;
    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let token = nth_token(&s, &arn, 2).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    let described = s.wait(&arn).await;
    assert_eq!(described["status"], "SUCCEEDED");
    let served = s.ok("GetExecutionHistory", json!({"executionArn": arn})).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir)).await;
    assert_eq!(s.ok("GetExecutionHistory", json!({"executionArn": arn})).await, served);
    let again = s.ok("DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(again, described);
    s.stop().await;
}
