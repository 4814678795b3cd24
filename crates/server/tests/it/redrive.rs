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

/// A Pass state that fails on the first run (`States.StringToJson("oops")`) and, redriven, gives the
/// number its input lists at `$$.Execution.RedriveCount`: the input is `["oops", "2"]`-like.
fn flaky(next: Option<&str>) -> Value {
    let mut s = json!({
        "Type": "Pass",
        "Parameters": {"v.$": "States.StringToJson(States.ArrayGetItem($, $$.Execution.RedriveCount))"}
    });
    match next {
        Some(n) => s["Next"] = json!(n),
        None => s["End"] = json!(true),
    }
    s
}

/// The events after the (first) `ExecutionRedriven`.
async fn after_redrive(s: &TestServer, arn: &str) -> Vec<Value> {
    let h = s.ok("GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000})).await;
    let events = h["events"].as_array().unwrap().clone();
    let at = events.iter().position(|e| e["type"] == "ExecutionRedriven").expect("an ExecutionRedriven");
    events[at + 1..].to_vec()
}

fn entered(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["type"].as_str().unwrap().ends_with("StateEntered"))
        .map(|e| e["stateEnteredEventDetails"]["name"].as_str().unwrap())
        .collect()
}

/// AWS (API reference, RedriveExecution): "For workflows that include an Inline Map or Parallel state,
/// RedriveExecution API action reschedules and redrives only the iterations and branches that failed or
/// aborted"; the states that succeeded keep their results and are not run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_parallel_reruns_only_its_failed_branch() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Before", "States": {
        "Before": {"Type": "Pass", "Result": ["oops", "2"], "Next": "Both"},
        "Both": {"Type": "Parallel", "Next": "After", "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B1", "States": {
                "B1": {"Type": "Pass", "Next": "B2"},
                "B2": flaky(None)
            }}
        ]},
        "After": {"Type": "Pass", "End": true}
    }});
    let machine = s.create("redrive-parallel", &def).await;
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let failed = s.wait(&arn).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");

    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!(["a", {"v": 2}]), "branch A's result is kept, B's is the redriven one");
    let events = after_redrive(&s, &arn).await;
    assert_eq!(entered(&events), ["Both", "B2", "After"], "A and B1 succeeded: not run again");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ParallelStateEntered",
            "ParallelStateStarted",
            "PassStateEntered",
            "PassStateExited",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    s.stop().await;
}

/// An inline Map redriven: the iterations that succeeded keep their outputs (no new
/// `MapIterationStarted` for them), the failed one and those never started run (API reference,
/// RedriveExecution, as above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_inline_map_reruns_only_the_iterations_that_did_not_succeed() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
            "ItemProcessor": {"StartAt": "Parse", "States": {"Parse": flaky(None)}}}
    }});
    let machine = s.create("redrive-inline-map", &def).await;
    let input = json!([["1", "1"], ["oops", "2"], ["3", "3"]]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(s.wait(&arn).await["status"], "FAILED");

    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"v": 1}, {"v": 2}, {"v": 3}]));
    let events = after_redrive(&s, &arn).await;
    let iterations: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "MapIterationStarted")
        .map(|e| e["mapIterationStartedEventDetails"]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, [1, 2], "iteration 0 succeeded before the redrive");
    assert_eq!(entered(&events), ["Each", "Parse", "Parse"]);
    s.stop().await;
}

/// A Distributed Map redriven redrives its map run (AWS, "Redriving Map Runs"): `MapRunRedriven` names
/// the same map run, its succeeded child keeps its result and history, the failed STANDARD child is
/// redriven under its ARN from the state it failed in (its history goes on with `ExecutionRedriven`),
/// the children never started start; DescribeMapRun shows the redrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_distributed_map_redrives_its_map_run() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "First", "States": {
                    "First": {"Type": "Pass", "Next": "Parse"},
                    "Parse": flaky(None)
                }}}
    }});
    let machine = s.create("redrive-dmap", &def).await;
    let input = json!([["1"], ["oops", "2"], ["3"]]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let failed = s.wait(&arn).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let runs = s.ok("ListMapRuns", json!({"executionArn": arn})).await;
    let run = runs["mapRuns"][0]["mapRunArn"].as_str().unwrap().to_owned();
    let before = s.ok("ListExecutions", json!({"mapRunArn": run})).await["executions"].clone();
    assert_eq!(before.as_array().unwrap().len(), 2, "the map run stopped at the failure: {before}");
    let child = |status: &str| {
        before.as_array().unwrap().iter().find(|c| c["status"] == status).unwrap()["executionArn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ok_child, bad_child) = (child("SUCCEEDED"), child("FAILED"));
    let ok_history = s.ok("GetExecutionHistory", json!({"executionArn": ok_child})).await;

    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"v": 1}, {"v": 2}, {"v": 3}]));
    let events = after_redrive(&s, &arn).await;
    let redriven = events.iter().find(|e| e["type"] == "MapRunRedriven").expect("MapRunRedriven");
    assert_eq!(redriven["mapRunRedrivenEventDetails"], json!({"mapRunArn": run, "redriveCount": 1}));
    assert!(events.iter().all(|e| e["type"] != "MapRunStarted"), "no new map run");
    assert_eq!(
        s.ok("ListMapRuns", json!({"executionArn": arn})).await["mapRuns"].as_array().unwrap().len(),
        1
    );

    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!((m["status"].as_str(), m["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{m}");
    assert!(m["redriveDate"].as_f64().is_some(), "{m}");
    let c = &m["executionCounts"];
    assert_eq!(
        (c["succeeded"].as_u64(), c["failed"].as_u64(), c["total"].as_u64()),
        (Some(3), Some(0), Some(3))
    );
    assert_eq!(c["pendingRedrive"], 0);

    let after = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
    assert_eq!(
        after["executions"].as_array().unwrap().len(),
        3,
        "the failed child is redriven, not restarted: {after}"
    );
    // The succeeded child did not run again.
    assert_eq!(s.ok("GetExecutionHistory", json!({"executionArn": ok_child})).await, ok_history);
    let bad = s.ok("DescribeExecution", json!({"executionArn": bad_child})).await;
    assert_eq!((bad["status"].as_str(), bad["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{bad}");
    let child_events = after_redrive(&s, &bad_child).await;
    assert_eq!(entered(&child_events), ["Parse"], "redriven from the state it failed in");
    s.stop().await;
}

/// A journaled server restarted between the failure and the redrive: the map run's children come from
/// the journal (their item indexes and histories), the failed one is redriven under its ARN, and the
/// redriven history is served again after another restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_map_is_redriven_from_the_journal_after_a_restart() {
    let dir = crate::temp_dir("redrive-dmap");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Parse", "States": {"Parse": flaky(None)}}}}});
    let machine = s.create("redrive-journaled", &def).await;
    let input = json!([["1"], ["oops", "2"], ["3"]]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(s.wait(&arn).await["status"], "FAILED");
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"v": 1}, {"v": 2}, {"v": 3}]));
    let run = s.ok("ListMapRuns", json!({"executionArn": arn})).await["mapRuns"][0]["mapRunArn"].clone();
    let children = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
    let counts: Vec<u64> = children["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["redriveCount"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.len(), 3, "{children}");
    assert_eq!(counts.iter().sum::<u64>(), 1, "one child redriven: {children}");
    let served = s.ok("GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000})).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    assert_eq!(s.ok("GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000})).await, served);
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!((m["status"].as_str(), m["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{m}");
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journaled server stopped while a redriven execution runs: after the restart it resumes with its
/// redrive (the redriven task's token still answers it, nothing is submitted again) and ends as it
/// would have, its history one piece.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_execution_resumes_after_a_restart() {
    let dir = crate::temp_dir("redrive-resume");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let machine_arn = s.create("redriven", &machine()).await;
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine_arn, "input": "{}"})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let token = nth_token(&s, &arn, 1).await;
    s.ok("SendTaskFailure", json!({"taskToken": token, "error": "Flaky"})).await;
    s.wait(&arn).await;
    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let token = nth_token(&s, &arn, 2).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{\"ok\": 1}"})).await;
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{d}");
    let h = s.ok("GetExecutionHistory", json!({"executionArn": arn})).await;
    let events = h["events"].as_array().unwrap();
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.iter().filter(|t| **t == "TaskScheduled").count(), 2, "not submitted again: {types:?}");
    assert_eq!(types.iter().filter(|t| **t == "ExecutionRedriven").count(), 1, "{types:?}");
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"));
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rule holds in every scope: a Map of Parallels redriven reruns, in the iteration that failed, only
/// the branch that failed (the other iteration and the other branch keep their results).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_map_of_parallels_reruns_only_the_failed_branch_of_the_failed_iteration() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
    "ItemProcessor": {"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "B", "States": {"B": flaky(None)}}
    ]}}}}}});
    let machine = s.create("redrive-map-of-parallels", &def).await;
    let input = json!([["1", "1"], ["oops", "2"]]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(s.wait(&arn).await["status"], "FAILED");
    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    let d = s.wait(&arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([["a", {"v": 1}], ["a", {"v": 2}]]));
    let events = after_redrive(&s, &arn).await;
    assert_eq!(entered(&events), ["Each", "Both", "B"], "only iteration 1's branch B ran again");
    s.stop().await;
}

/// An execution that ended at the history limit (25,000 events) has no room for a redrive: AWS's
/// `redriveStatusReason` "Execution history event limit exceeded" (API reference, DescribeExecution),
/// and RedriveExecution refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_at_the_history_limit_is_not_redrivable() {
    let s = TestServer::start().await;
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let machine = s.create("redrive-full", &def).await;
    let input = serde_json::to_string(&vec![0; 10_000]).unwrap();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("FAILED"), Some("States.Runtime")), "{d}");
    assert_eq!(
        (d["redriveStatus"].as_str(), d["redriveStatusReason"].as_str()),
        (Some("NOT_REDRIVABLE"), Some("Execution history event limit exceeded"))
    );
    let (status, e) = s.call("RedriveExecution", json!({"executionArn": arn})).await;
    assert_eq!((status, code(&e)), (400, "ExecutionNotRedrivable"), "{e}");
    s.stop().await;
}

/// A journaled server stopped while a redriven execution's map run is being redriven: after the restart
/// the map run goes on — the child that succeeded before the redrive keeps its result, the child being
/// redriven resumes its redrive (its task's token still answers it, nothing is submitted again, its
/// `redriveCount` stays 1), the child not started yet starts once — and the parent's history goes on
/// with one `ExecutionRedriven` and one `MapRunRedriven` (API reference, RedriveExecution: "Redriving
/// Map Runs").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redriven_map_run_resumes_after_a_restart_keeping_its_children() {
    let dir = crate::temp_dir("redrive-dmap-resume");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let mut work = machine()["States"]["Work"].clone();
    work["ResultPath"] = json!("$.work");
    let def = json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "MaxConcurrency": 1, "End": true,
    "ItemProcessor": {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Parse", "States": {
            "Parse": flaky(Some("Big?")),
            "Big?": {"Type": "Choice", "Choices": [{"Variable": "$.v", "NumericEquals": 3, "Next": "Work"}],
                "Default": "Done"},
            "Work": work,
            "Done": {"Type": "Succeed"}
        }}}}});
    let machine = s.create("redrive-dmap-resume", &def).await;
    let input = json!([["1"], ["oops", "3"], ["3"]]).to_string();
    let started = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": input})).await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(s.wait(&arn).await["status"], "FAILED");
    let run = s.ok("ListMapRuns", json!({"executionArn": arn})).await["mapRuns"][0]["mapRunArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = s.ok("ListExecutions", json!({"mapRunArn": run})).await["executions"].clone();
    let child = |status: &str| {
        before.as_array().unwrap().iter().find(|c| c["status"] == status).unwrap()["executionArn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (ok_child, bad_child) = (child("SUCCEEDED"), child("FAILED"));
    let ok_history = s.ok("GetExecutionHistory", json!({"executionArn": ok_child})).await;

    s.ok("RedriveExecution", json!({"executionArn": arn})).await;
    // The redriven child waits for its task: the map run is running when the server stops.
    let token = nth_token(&s, &bad_child, 1).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    // The resumed child registers its recorded token again as its replay reaches the task.
    send_success(&s, &token, json!({"ok": 1})).await;
    // Then the child that had not started runs, once.
    let third = loop {
        let listed = s.ok("ListExecutions", json!({"mapRunArn": run})).await;
        let new = listed["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["executionArn"].as_str().unwrap().to_owned())
            .find(|a| *a != ok_child && *a != bad_child);
        if let Some(a) = new {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let token = nth_token(&s, &third, 1).await;
    send_success(&s, &token, json!({"ok": 2})).await;
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output, json!([{"v": 1}, {"v": 3, "work": {"ok": 1}}, {"v": 3, "work": {"ok": 2}}]));

    // The parent's history: one piece, one redrive of it and of its map run.
    let h = s.ok("GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000})).await;
    let events = h["events"].as_array().unwrap();
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>());
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!((count("ExecutionRedriven"), count("MapRunRedriven"), count("MapRunStarted")), (1, 1, 1));
    assert_eq!(events.last().unwrap()["type"], "ExecutionSucceeded");
    let m = s.ok("DescribeMapRun", json!({"mapRunArn": run})).await;
    assert_eq!((m["status"].as_str(), m["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{m}");
    assert_eq!(m["executionCounts"]["succeeded"], 3, "{m}");

    // The children: the first kept as it was, the redriven one redriven once and its task submitted once.
    assert_eq!(s.ok("GetExecutionHistory", json!({"executionArn": ok_child})).await, ok_history);
    let bad = s.ok("DescribeExecution", json!({"executionArn": bad_child})).await;
    assert_eq!((bad["status"].as_str(), bad["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(1)), "{bad}");
    let bad_events =
        s.ok("GetExecutionHistory", json!({"executionArn": bad_child, "maxResults": 1000})).await;
    let bad_events = bad_events["events"].as_array().unwrap();
    let bad_types: Vec<&str> = bad_events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(bad_types.iter().filter(|t| **t == "ExecutionRedriven").count(), 1, "{bad_types:?}");
    assert_eq!(bad_types.iter().filter(|t| **t == "TaskScheduled").count(), 1, "{bad_types:?}");
    let bad_ids: Vec<u64> = bad_events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(bad_ids, (1..=bad_events.len() as u64).collect::<Vec<_>>());
    let third = s.ok("DescribeExecution", json!({"executionArn": third})).await;
    assert_eq!((third["status"].as_str(), third["redriveCount"].as_u64()), (Some("SUCCEEDED"), Some(0)));
    s.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// SendTaskSuccess, again while the token is not registered yet (a resumed execution replaying to it).
async fn send_success(s: &TestServer, token: &str, output: Value) {
    let body = json!({"taskToken": token, "output": output.to_string()});
    for _ in 0..400 {
        let (status, answer) = s.call("SendTaskSuccess", body.clone()).await;
        if status == 200 {
            return;
        }
        assert!(code(&answer) == "TaskDoesNotExist" || code(&answer) == "InvalidToken", "{answer}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the token {token} was never accepted");
}
