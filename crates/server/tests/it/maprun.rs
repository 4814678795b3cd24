//! Map runs over the API: a Distributed Map's children are executions of their own (AWS API reference:
//! DescribeMapRun, UpdateMapRun, ListExecutions with `mapRunArn`; DescribeExecution "unless a Map Run
//! dispatched them" for EXPRESS children).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestServer;

fn distributed(execution_type: &str, extra: Value, processor: Value) -> Value {
    let mut map = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
            "StartAt": "P", "States": processor
        },
        "End": true
    });
    if let (Some(m), Value::Object(e)) = (map.as_object_mut(), extra) {
        m.extend(e);
    }
    json!({"StartAt": "Each", "States": {"Each": map}})
}

async fn the_map_run(s: &TestServer, execution: &str) -> String {
    let runs = s.ok("ListMapRuns", json!({"executionArn": execution})).await;
    assert_eq!(runs["mapRuns"].as_array().unwrap().len(), 1, "{runs}");
    runs["mapRuns"][0]["mapRunArn"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_children_are_described_and_listed_and_count_failures() {
    let s = TestServer::start().await;
    let def = distributed(
        "EXPRESS",
        json!({"ToleratedFailureCount": 1}),
        json!({
            "P": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Bad"}], "Default": "Good"},
            "Bad": {"Type": "Fail", "Error": "Three", "Cause": "no threes"},
            "Good": {"Type": "Pass", "End": true}
        }),
    );
    let machine = s.create("express-children", &def).await;
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": "[1, 2, 3, 4]"})).await;
    let exec = started["executionArn"].as_str().unwrap();
    let d = s.wait(exec).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let run = the_map_run(&s, exec).await;
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(m["status"], "SUCCEEDED");
    assert_eq!(m["toleratedFailureCount"], 1);
    let c = &m["executionCounts"];
    assert_eq!(
        (c["succeeded"].as_u64(), c["failed"].as_u64(), c["total"].as_u64()),
        (Some(3), Some(1), Some(4)),
        "{m}"
    );
    assert_eq!(m["itemCounts"]["failed"], 1);
    let listed = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let children = listed["executions"].as_array().unwrap();
    assert_eq!(children.len(), 4);
    let failed: Vec<&Value> = children.iter().filter(|c| c["status"] == "FAILED").collect();
    assert_eq!(failed.len(), 1, "{listed}");
    let child = failed[0]["executionArn"].as_str().unwrap();
    assert!(child.contains(":express:express-children/Each:"), "{child}");
    let dc = s.ok("DescribeExecution", json!({"executionArn": child})).await;
    assert_eq!(
        (dc["status"].as_str(), dc["error"].as_str(), dc["mapRunArn"].as_str()),
        (Some("FAILED"), Some("Three"), Some(run.as_str()))
    );
    assert_eq!(dc["input"], "3");
    // A map run's failed child is redriven by its map run (the API's ExecutionRedriveStatus), a succeeded one
    // not at all.
    assert_eq!(
        (dc["redriveStatus"].as_str(), dc.get("redriveStatusReason")),
        (Some("REDRIVABLE_BY_MAP_RUN"), None)
    );
    let ok = children.iter().find(|c| c["status"] == "SUCCEEDED").and_then(|c| c["executionArn"].as_str());
    let d = s.ok("DescribeExecution", json!({"executionArn": ok.unwrap()})).await;
    assert_eq!(
        (d["redriveStatus"].as_str(), d["redriveStatusReason"].as_str()),
        (Some("NOT_REDRIVABLE"), Some("Execution is SUCCEEDED and cannot be redriven"))
    );
    // No history of an EXPRESS execution, a map run's included.
    let (status, e) = s.call("GetExecutionHistory", json!({"executionArn": child})).await;
    assert_eq!(
        (status, e["__type"].as_str().unwrap_or_default().ends_with("InvalidArn")),
        (400, true),
        "{e}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_map_run_raises_the_concurrency_of_a_running_map_run() {
    let s = TestServer::start().await;
    let def = distributed(
        "STANDARD",
        json!({"MaxConcurrency": 1}),
        json!({"P": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "default", "TaskDefinition": "slow"}, "End": true}}),
    );
    let machine = s.create("raised", &def).await;
    let started =
        s.ok("StartExecution", json!({"stateMachineArn": machine, "input": "[1, 2, 3, 4, 5, 6]"})).await;
    let exec = started["executionArn"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        let runs = s.ok("ListMapRuns", json!({"executionArn": exec})).await;
        if let Some(a) = runs["mapRuns"][0]["mapRunArn"].as_str() {
            break a.to_owned();
        }
        assert!(Instant::now() < deadline, "no map run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!((m["status"].as_str(), m["maxConcurrency"].as_u64()), (Some("RUNNING"), Some(1)));
    assert!(m["executionCounts"]["running"].as_u64() <= Some(1), "{m}");
    let (status, e) = s.call("UpdateMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(
        (status, e["__type"].as_str().unwrap_or_default().ends_with("ValidationException")),
        (400, true)
    );
    s.ok("UpdateMapRun", json!({"mapRunArn": run, "maxConcurrency": 6})).await;
    // With MaxConcurrency 6 the children waiting for the first one start at once.
    let most = loop {
        let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
        let running = m["executionCounts"]["running"].as_u64().unwrap();
        if running > 1 || m["status"] != "RUNNING" {
            break running;
        }
        assert!(Instant::now() < deadline, "{m}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(most > 1, "the raised MaxConcurrency ran more than one child at once");
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(m["maxConcurrency"], 6);
    s.stop().await;
}

/// A journaled server stopped while a map run runs: after the restart its execution, resumed, runs the
/// map run again under the ARN its history records, and the map run is described and listed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_run_interrupted_by_a_restart_runs_again_under_its_arn() {
    let dir = crate::temp_dir("maprun-restart");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let def = distributed(
        "STANDARD",
        json!({"MaxConcurrency": 1}),
        json!({"P": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "default", "TaskDefinition": "job"}, "End": true}}),
    );
    let machine = s.create("restarted", &def).await;
    let started = s
        .ok("StartExecution", json!({"stateMachineArn": machine, "input": "[1, 2, 3, 4, 5, 6, 7, 8]"}))
        .await;
    let exec = started["executionArn"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let run = loop {
        let runs = s.ok("ListMapRuns", json!({"executionArn": exec})).await;
        if let Some(a) = runs["mapRuns"][0]["mapRunArn"].as_str() {
            break a.to_owned();
        }
        assert!(Instant::now() < deadline, "no map run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    s.stop().await;
    let s = TestServer::start_with(Some(dir.clone())).await;
    let d = s.wait(&exec).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let runs = s.ok("ListMapRuns", json!({"executionArn": exec})).await;
    let arns: Vec<&str> =
        runs["mapRuns"].as_array().unwrap().iter().map(|r| r["mapRunArn"].as_str().unwrap()).collect();
    assert_eq!(arns, [run.as_str()]);
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(m["status"], "SUCCEEDED", "{m}");
    assert_eq!(m["executionCounts"]["succeeded"], 8, "{m}");
    let h = s.ok("GetExecutionHistory", json!({"executionArn": exec, "maxResults": 1000})).await;
    let started: Vec<&Value> =
        h["events"].as_array().unwrap().iter().filter(|e| e["type"] == "MapRunStarted").collect();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0]["mapRunStartedEventDetails"]["mapRunArn"], json!(run));
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journaled server stopped while a map run runs, one child finished and one running: after the
/// restart the finished child keeps its result and history (it does not run again), the running one is
/// resumed under its ARN from its recorded events (its ECS task is followed, not started again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_map_run_keeps_its_finished_children_and_resumes_the_running_ones() {
    let dir = crate::temp_dir("maprun-resume-children");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let def = distributed(
        "STANDARD",
        json!({}),
        json!({"P": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "Parameters": {"Cluster": "default", "TaskDefinition.$": "$.td"}, "ResultPath": null, "End": true}}),
    );
    let machine = s.create("resumed-children", &def).await;
    let input = json!([{"td": "job"}, {"td": "slow"}]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let exec = started["executionArn"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (run, done) = loop {
        let runs = s.ok("ListMapRuns", json!({"executionArn": exec})).await;
        if let Some(run) = runs["mapRuns"][0]["mapRunArn"].as_str() {
            let listed = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
            let children = listed["executions"].as_array().unwrap().clone();
            if let Some(done) = children.iter().find(|c| c["status"] == "SUCCEEDED") {
                assert_eq!(children.len(), 2);
                break (run.to_owned(), done["executionArn"].as_str().unwrap().to_owned());
            }
        }
        assert!(Instant::now() < deadline, "no child finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let done_history = s.ok("GetExecutionHistory", json!({"executionArn": done})).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    let d = s.wait(&exec).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let listed = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let children = listed["executions"].as_array().unwrap();
    assert_eq!(children.len(), 2, "no child ran twice: {listed}");
    assert!(children.iter().all(|c| c["status"] == "SUCCEEDED"), "{listed}");
    assert_eq!(s.ok("GetExecutionHistory", json!({"executionArn": done})).await, done_history);
    let resumed = children.iter().find(|c| c["executionArn"] != json!(done)).unwrap();
    let h = s.ok("GetExecutionHistory", json!({"executionArn": resumed["executionArn"]})).await;
    let types: Vec<&str> =
        h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| **t == "TaskSubmitted").count(), 1, "one task: {types:?}");
    assert_eq!(types.iter().filter(|t| **t == "ExecutionStarted").count(), 1, "{types:?}");
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!(
        (m["status"].as_str(), m["executionCounts"]["succeeded"].as_u64()),
        (Some("SUCCEEDED"), Some(2)),
        "{m}"
    );
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"td": "job"}, {"td": "slow"}]));
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
