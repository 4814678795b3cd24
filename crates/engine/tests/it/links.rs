//! The history's linking rule (`previousEventId`) and the events AWS writes around Map, Parallel and
//! JSONata failures, each checked against the AWS recording it follows (`../shared/conformance`,
//! `../shared/recorded`; the conformance test compares the whole recordings too).

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_engine::{Clock, Engine, StartRequest};

use crate::fake::{Fake, engine_with};

async fn run_on(engine: &Engine, def: Value, input: Value) -> Vec<Value> {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "machine").unwrap();
    let req = StartRequest { execution_name: "exec".into(), input, role_arn: None, input_text: None };
    let (_, h) = engine.run(&prepared, req).await;
    h.events().iter().map(sfn_engine::Event::to_json).collect()
}

async fn history(def: Value, input: Value) -> Vec<Value> {
    let start =
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    run_on(&Engine::builder().clock(Clock::starting_at(start)).build(), def, input).await
}

/// `id type <- previousEventId` per event.
fn shape(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {} <- {}", e["id"], e["type"].as_str().unwrap(), e["previousEventId"]))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn map_iterations_link_into_the_iteration_before() {
    // AWS: `scenarios/test_base_scenarios__test_map_state` (MaxConcurrency 1): iteration i > 0 starts
    // after the last state event of iteration i - 1, not after its `MapIterationSucceeded`;
    // `MapStateSucceeded` follows the last `MapIterationSucceeded` and `MapStateExited` links beside it.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let ev = history(def, json!([1, 2])).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 MapStateEntered <- 0",
            "3 MapStateStarted <- 2",
            "4 MapIterationStarted <- 3",
            "5 PassStateEntered <- 4",
            "6 PassStateExited <- 5",
            "7 MapIterationSucceeded <- 6",
            "8 MapIterationStarted <- 6",
            "9 PassStateEntered <- 8",
            "10 PassStateExited <- 9",
            "11 MapIterationSucceeded <- 10",
            "12 MapStateSucceeded <- 11",
            "13 MapStateExited <- 11",
            "14 ExecutionSucceeded <- 13",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_map_fails_once_after_its_last_attempt() {
    // AWS: `scenarios/test_base_scenarios__test_map_state_retry`: each attempt's `MapStateStarted` and the
    // final `MapStateFailed` follow the failed iteration's last state event; one `MapStateFailed`.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}},
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}]}}});
    let ev = history(def, json!([1])).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 MapStateEntered <- 0",
            "3 MapStateStarted <- 2",
            "4 MapIterationStarted <- 3",
            "5 FailStateEntered <- 4",
            "6 MapIterationFailed <- 5",
            "7 MapStateStarted <- 5",
            "8 MapIterationStarted <- 7",
            "9 FailStateEntered <- 8",
            "10 MapIterationFailed <- 9",
            "11 MapStateFailed <- 9",
            "12 ExecutionFailed <- 11",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_parallel_fails_once_after_its_last_attempt() {
    // AWS: `scenarios/test_base_scenarios__test_parallel_state_retry`.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}],
        "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}]}}});
    let ev = history(def, json!({})).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 ParallelStateEntered <- 0",
            "3 ParallelStateStarted <- 2",
            "4 FailStateEntered <- 3",
            "5 ParallelStateStarted <- 4",
            "6 FailStateEntered <- 5",
            "7 ParallelStateFailed <- 6",
            "8 ExecutionFailed <- 7",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_jsonata_evaluation_failure_is_recorded_beside_the_state() {
    // AWS: `jsonata/assign/test_assign_reference_variables__test_undefined_reference__BASE_UNDEFINED_OUTPUT_MULTIPLE_STATES`:
    // `EvaluationFailed` links where the state's entered event links, with the field as its location.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": true}}});
    let ev = history(def, json!({})).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 PassStateEntered <- 0",
            "3 PassStateExited <- 2",
            "4 PassStateEntered <- 3",
            "5 EvaluationFailed <- 3",
            "6 ExecutionFailed <- 5",
        ]
    );
    let cause = "An error occurred while executing the state 'B' (entered at the event id #4). The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).";
    assert_eq!(
        ev[4]["evaluationFailedEventDetails"],
        json!({"error": "States.QueryEvaluationError", "cause": cause, "location": "Output/result", "state": "B"})
    );
}

#[tokio::test(start_paused = true)]
async fn a_jsonata_map_whose_items_fail_is_closed_without_starting() {
    // AWS: `jsonata/scenarios/test_base_scenarios__test_map_state_items_input_types__null`: no location for
    // a non-array input, and `MapStateFailed` after `EvaluationFailed` though the Map never started.
    let def = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let ev = history(def, json!(null)).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 MapStateEntered <- 0",
            "3 EvaluationFailed <- 0",
            "4 MapStateFailed <- 3",
            "5 ExecutionFailed <- 4",
        ]
    );
    assert!(ev[2]["evaluationFailedEventDetails"].get("location").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_distributed_map_records_its_map_run_not_its_iterations() {
    // AWS since late 2024 (`scenarios/test_base_scenarios__test_map_state_config_distributed_items_path_from_previous`,
    // recorded 2025-01-09; `…__test_map_state_config_distributed_item_selector_parameters`, 2024-11-15):
    // `MapStateExited` links to `MapRunStarted` (before, to `MapRunSucceeded`).
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}}});
    let ev = history(def, json!(["a", "b"])).await;
    assert_eq!(
        shape(&ev),
        [
            "1 ExecutionStarted <- 0",
            "2 MapStateEntered <- 0",
            "3 MapStateStarted <- 2",
            "4 MapRunStarted <- 3",
            "5 MapRunSucceeded <- 4",
            "6 MapStateSucceeded <- 5",
            "7 MapStateExited <- 4",
            "8 ExecutionSucceeded <- 7",
        ]
    );
    let arn = ev[3]["mapRunStartedEventDetails"]["mapRunArn"].as_str().unwrap();
    assert!(arn.starts_with("arn:aws:states:us-east-1:123456789012:mapRun:machine/M:"), "{arn}");
    assert_eq!(ev[6]["stateExitedEventDetails"]["output"], json!("[\"a\",\"b\"]"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_task_of_a_branch_is_aborted_and_caught_without_a_name() {
    // AWS: `recorded/callback.history.json`,
    // `test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_PARALLEL_WAIT_FOR_TASK_TOKEN]`: the
    // branch's Task fails with neither error nor cause, is aborted (`TaskStateAborted`, no details), the
    // Parallel fails linked to the `TaskFailed` and its Catch output is `{"Error": null, "Cause": null}`.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Branches": [{"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:states:::fake:fail", "Parameters": {"Error": null}, "End": true}}}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}]},
        "Done": {"Type": "Pass", "End": true}}});
    let ev = run_on(&engine_with(Arc::new(Fake::default())), def, json!({})).await;
    let tail: Vec<String> = shape(&ev).into_iter().skip(3).collect();
    assert_eq!(
        tail,
        [
            "4 TaskStateEntered <- 3",
            "5 TaskScheduled <- 4",
            "6 TaskStarted <- 5",
            "7 TaskFailed <- 6",
            "8 TaskStateAborted <- 7",
            "9 ParallelStateFailed <- 7",
            "10 ParallelStateExited <- 9",
            "11 PassStateEntered <- 10",
            "12 PassStateExited <- 11",
            "13 ExecutionSucceeded <- 12",
        ]
    );
    assert_eq!(ev[7].as_object().unwrap().len(), 4, "id, previousEventId, timestamp, type: {}", ev[7]);
    let out: Value =
        serde_json::from_str(ev[9]["stateExitedEventDetails"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!({"err": {"Error": null, "Cause": null}}));
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_expiry_is_recorded_as_a_timeout_and_caught_by_either_name() {
    // AWS: LocalStack's AWS-validated `timeouts/test_heartbeats.snapshot.json` (`TaskTimedOut` with
    // `"error": "States.Timeout"`, then `ExecutionFailed` with it); aws/aws-cdk#16084 (a Catch on
    // `States.Timeout` includes heartbeat timeouts, `States.HeartbeatTimeout` only them).
    let task = |catch: Value| {
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:echo.waitForTaskToken",
                  "Parameters": {"Token.$": "$$.Task.Token"}, "HeartbeatSeconds": 5, "TimeoutSeconds": 600,
                  "Catch": catch, "End": true},
            "C": {"Type": "Pass", "End": true}}})
    };
    let engine = engine_with(Arc::new(Fake::default()));
    let ev = run_on(&engine, task(json!([{"ErrorEquals": ["Other.Error"], "Next": "C"}])), json!({})).await;
    let timed_out = ev.iter().find(|e| e["type"] == "TaskTimedOut").unwrap();
    assert_eq!(timed_out["taskTimedOutEventDetails"]["error"], "States.Timeout");
    assert_eq!(ev.last().unwrap()["executionFailedEventDetails"]["error"], "States.Timeout");
    for name in ["States.HeartbeatTimeout", "States.Timeout", "States.ALL"] {
        let catch = json!([{"ErrorEquals": [name], "Next": "C"}]);
        let ev = run_on(&engine, task(catch), json!({})).await;
        assert_eq!(ev.last().unwrap()["type"], "ExecutionSucceeded", "{name}");
        let out = ev.last().unwrap()["executionSucceededEventDetails"]["output"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(out).unwrap(), json!({"Error": "States.Timeout"}), "{name}");
    }
    let catch = json!([{"ErrorEquals": ["States.TaskFailed"], "Next": "C"}]);
    let ev = run_on(&engine, task(catch), json!({})).await;
    assert_eq!(ev.last().unwrap()["type"], "ExecutionFailed", "States.TaskFailed does not match a timeout");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_not_a_heartbeat_timeout() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:echo.waitForTaskToken",
              "Parameters": {"Token.$": "$$.Task.Token"}, "TimeoutSeconds": 5,
              "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "C"}], "End": true},
        "C": {"Type": "Pass", "End": true}}});
    let ev = run_on(&engine_with(Arc::new(Fake::default())), def, json!({})).await;
    assert_eq!(ev.last().unwrap()["type"], "ExecutionFailed");
}

#[tokio::test(start_paused = true)]
async fn an_express_execution_has_no_redrive_count() {
    // Issue 15 (AWS's unseen cases): `$$.Execution` of an EXPRESS run has no `RedriveCount`; a STANDARD
    // one has `RedriveCount: 0`.
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"e.$": "$$.Execution"}, "End": true}}});
    let engine = Engine::builder().build();
    let prepared = engine.prepare(sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap(), "m").unwrap();
    let req =
        || StartRequest { execution_name: "x".into(), input: json!({}), role_arn: None, input_text: None };
    let express = "arn:aws:states:us-east-1:123456789012:express:m:x:0c1b2a".to_owned();
    let o = engine.start_with_arn(&prepared, req(), express).wait().await;
    let e = &o.output.unwrap()["e"];
    assert!(e.get("RedriveCount").is_none(), "{e}");
    assert_eq!(e["Id"], "arn:aws:states:us-east-1:123456789012:express:m:x:0c1b2a");
    let (o, _) = engine.run(&prepared, req()).await;
    assert_eq!(o.output.unwrap()["e"]["RedriveCount"], 0);
}
