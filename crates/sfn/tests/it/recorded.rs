//! The callback histories AWS recorded (`../shared/recorded/callback.history.json`: LocalStack's
//! AWS-validated snapshots of `tests/aws/services/stepfunctions/v2/callback/test_callback.py`, read in
//! place), re-run and compared with sfn's event by event — type, order, `id`, `previousEventId`, detail
//! field names and value kinds, payload text, masks standing for one value per history — by the
//! conformance comparer (`crates/engine/tests/it/history_diff.rs`, included by path).
//!
//! The recordings carry the events, not the definitions: each definition here is written from what the
//! events show (state names, types, parameters, Timeout/Heartbeat, Catch). SQS and SNS are not services
//! sfn runs: their call is a Step Functions Local mock with the `Submitted` extension (the service's
//! answer, taken from the recording's `TaskSubmitted`), and the callback is either the mock's
//! `Return`/`Throw` (SendTaskSuccess / SendTaskFailure) or, where the test sent heartbeats, sent through
//! the engine's token API (SendTaskHeartbeat, then SendTaskSuccess with the message the queue received).
//! The nested executions of that file are replayed by `crates/cli/tests/it/recorded.rs`
//! (`test_start_execution_sync*`) and `crates/engine/tests/it/nested.rs` (`test_sync_with_task_token`: the
//! child's SendTaskSuccess on the `.sync` task's token, sent through the engine's token API).

use std::time::Duration;

use serde_json::{Value, json};
use sfn::Sfn;
use sfn::engine::{Engine, Event, ExecutionStatus, StartRequest};
use sfn::mocks::MockConfig;

#[allow(dead_code, reason = "python_dumps and recorded_history serve the conformance suites only")]
#[path = "../../../engine/tests/it/history_diff.rs"]
mod history_diff;

const CALLBACK: &str = "callback.history.json";
const SQS_WAIT: &str = "arn:aws:states:::sqs:sendMessage.waitForTaskToken";

/// The recorded content of the test whose id ends with `::<test>` in `../shared/recorded/<file>`; `None`,
/// with a message, when the folder is absent.
fn recording(file: &str, test: &str) -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/recorded").join(file);
    let Some(content) = history_diff::recorded_content(&path, test) else {
        eprintln!("skipped: {} is absent", path.display());
        return None;
    };
    Some(content)
}

fn events(history: &Value) -> &[Value] {
    history["events"].as_array().unwrap()
}

/// The execution input of a recorded history (its masked values are plain text here).
fn input_of(history: &Value) -> Value {
    events(history)[0]["executionStartedEventDetails"]["input"].clone()
}

/// What the service call answered, in the recording: each `TaskSubmitted` output in order.
fn submitted_of(history: &Value) -> Vec<Value> {
    events(history)
        .iter()
        .filter(|e| e["type"] == "TaskSubmitted")
        .map(|e| e["taskSubmittedEventDetails"]["output"].clone())
        .collect()
}

fn clock() -> sfn::engine::Clock {
    sfn::engine::Clock::starting_at(chrono::DateTime::from_timestamp(1_704_067_200, 0).unwrap())
}

/// A Step Functions Local mock file for one machine (`recorded`) and test case (`aws`): each state gets
/// the answer given, with `Submitted` — the recorded `TaskSubmitted` output, in the order of `answers`.
fn mock_config(history: &Value, answers: &[(&str, Value)]) -> MockConfig {
    let submitted = submitted_of(history);
    let (mut case, mut responses) = (serde_json::Map::new(), serde_json::Map::new());
    for (n, (state, answer)) in answers.iter().enumerate() {
        let mut answer = answer.clone();
        answer["Submitted"] = submitted[n].clone();
        case.insert((*state).to_owned(), json!(format!("R{n}")));
        responses.insert(format!("R{n}"), json!({"0": answer}));
    }
    MockConfig::from_json(&json!({
        "StateMachines": {"recorded": {"TestCases": {"aws": case}}},
        "MockedResponses": responses
    }))
    .unwrap()
}

fn assert_same(test: &str, recorded: &Value, got: &[Event]) {
    let got: Vec<Value> = got.iter().map(Event::to_json).collect();
    let diff = history_diff::history_diff(events(recorded), &got);
    assert!(
        diff.is_empty(),
        "{test}: sfn's history differs from AWS's:\n{}\nsfn: {}",
        diff.join("\n"),
        serde_json::to_string_pretty(&got).unwrap()
    );
}

/// Runs `definition` on the recording's input with the mocked answers and compares the histories.
async fn rerun_mocked(test: &str, definition: Value, answers: &[(&str, Value)]) {
    let Some(rec) = recording(CALLBACK, test) else { return };
    let history = &rec["get_execution_history"];
    let sfn = Sfn::from_value(&definition)
        .unwrap()
        .name("recorded")
        .clock(clock())
        .mock_config(&mock_config(history, answers), "aws")
        .unwrap();
    let run = sfn.run(input_of(history)).await.unwrap();
    assert_same(test, history, &run.history);
}

fn sqs_task(name: &str, message_body: Value, extra: Value) -> Value {
    let mut state = json!({
        "Type": "Task", "Resource": SQS_WAIT,
        "Parameters": {"QueueUrl.$": "$.QueueUrl", "MessageBody": message_body}, "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        state[k] = v.clone();
    }
    json!({"StartAt": name, "States": {name: state}})
}

fn message_and_token() -> Value {
    json!({"Message.$": "$.Message", "TaskToken.$": "$$.Task.Token"})
}

#[tokio::test(start_paused = true)]
async fn test_sqs_wait_for_task_token() {
    let def = sqs_task("SendMessageWithWait", message_and_token(), json!({}));
    rerun_mocked(
        "test_sqs_wait_for_task_token",
        def,
        &[("SendMessageWithWait", json!({"Return": "test_message_txt"}))],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn test_sqs_wait_for_task_token_timeout() {
    // No callback comes: TimeoutSeconds ends the task (TaskTimedOut, States.Timeout, no cause).
    let def = sqs_task("SendMessageWithWaitAndTimeout", message_and_token(), json!({"TimeoutSeconds": 5}));
    rerun_mocked(
        "test_sqs_wait_for_task_token_timeout",
        def,
        &[("SendMessageWithWaitAndTimeout", json!({}))],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn test_sqs_failure_in_wait_for_task_token() {
    let def = sqs_task("SendMessageWithWait", message_and_token(), json!({}));
    let answer = json!({"Throw": {"Error": "Failure error", "Cause": "Failure cause"}});
    rerun_mocked("test_sqs_failure_in_wait_for_task_token", def, &[("SendMessageWithWait", answer)]).await;
}

#[tokio::test(start_paused = true)]
async fn test_sns_publish_wait_for_task_token() {
    let def = json!({"StartAt": "Publish", "States": {"Publish": {
        "Type": "Task", "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
        "Parameters": {"TopicArn.$": "$.TopicArn",
            "Message": {"TaskToken.$": "$$.Task.Token", "arg1.$": "$.body.arg1", "arg2.$": "$.body.arg2"}},
        "End": true}}});
    rerun_mocked("test_sns_publish_wait_for_task_token", def, &[("Publish", json!({"Return": {}}))]).await;
}

#[tokio::test(start_paused = true)]
async fn test_sqs_wait_for_task_token_call_chain() {
    let state = |result_path: &str, next: Option<&str>| {
        let mut s = json!({"Type": "Task", "Resource": SQS_WAIT, "ResultPath": result_path,
            "Parameters": {"QueueUrl.$": "$.QueueUrl", "MessageBody": message_and_token()}});
        match next {
            Some(n) => s["Next"] = json!(n),
            None => s["End"] = json!(true),
        }
        s
    };
    let def = json!({"StartAt": "State1", "States": {
        "State1": state("$.State1Output", Some("State2")), "State2": state("$.State2Output", None)}});
    let answer = json!({"Return": "HelloWorld"});
    rerun_mocked(
        "test_sqs_wait_for_task_token_call_chain",
        def,
        &[("State1", answer.clone()), ("State2", answer)],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn test_sqs_wait_for_task_token_no_token_parameter() {
    // The message carries no token, so no callback can come: TimeoutSeconds ends the task.
    let def = sqs_task("State1", json!({"Context.$": "$"}), json!({"TimeoutSeconds": 5}));
    rerun_mocked("test_sqs_wait_for_task_token_no_token_parameter", def, &[("State1", json!({}))]).await;
}

fn context_and_token() -> Value {
    json!({"Context.$": "$", "TaskToken.$": "$$.Task.Token"})
}

fn catch_all() -> Value {
    json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.states_all_error", "Next": "CaughtStatesALL"}])
}

#[tokio::test(start_paused = true)]
async fn test_sqs_failure_in_wait_for_task_tok_no_error_field_parallel() {
    // SendTaskFailure without error or cause, inside a Parallel caught by States.ALL: TaskFailed without
    // error, TaskStateAborted, and `{"Error": null, "Cause": null}` at the ResultPath.
    let branch = sqs_task("SendMessageWithWait", context_and_token(), json!({}));
    let def = json!({"StartAt": "ParallelJob", "States": {
        "ParallelJob": {"Type": "Parallel", "Branches": [branch], "Catch": catch_all(), "End": true},
        "CaughtStatesALL": {"Type": "Pass", "End": true}}});
    rerun_mocked(
        "test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_PARALLEL_WAIT_FOR_TASK_TOKEN]",
        def,
        &[("SendMessageWithWait", json!({"Throw": {}}))],
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn test_sqs_failure_in_wait_for_task_tok_no_error_field_catch() {
    let mut def = sqs_task("SendMessageWithWait", context_and_token(), json!({"Catch": catch_all()}));
    def["States"]["CaughtStatesALL"] = json!({"Type": "Pass", "End": true});
    rerun_mocked(
        "test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_WAIT_FOR_TASK_TOKEN_CATCH]",
        def,
        &[("SendMessageWithWait", json!({"Throw": {}}))],
    )
    .await;
}

/// The histories of executions whose callbacks come through the token API: each execution's task is
/// mocked with `Submitted` only (the queue took the message; no callback from the mock), then gets
/// `beats` SendTaskHeartbeat calls `gap` apart and SendTaskSuccess with `output(message body)`.
async fn rerun_with_heartbeats(
    definition: Value,
    recorded: &[&Value],
    beats: u32,
    gap: Duration,
    output: fn(&Value) -> Value,
) -> Vec<Vec<Event>> {
    let state = definition["StartAt"].as_str().unwrap().to_owned();
    let sfn = Sfn::from_value(&definition)
        .unwrap()
        .name("recorded")
        .clock(clock())
        .mock_config(&mock_config(recorded[0], &[(&state, json!({}))]), "aws")
        .unwrap();
    let engine: Engine = sfn.engine();
    let prepared = engine.prepare(sfn.machine().clone(), "recorded").unwrap();
    let runs: Vec<_> = recorded
        .iter()
        .enumerate()
        .map(|(n, h)| {
            engine.start(
                &prepared,
                StartRequest {
                    execution_name: format!("e{n}"),
                    input: input_of(h),
                    role_arn: None,
                    input_text: None,
                },
            )
        })
        .collect();
    // The message each queue received (TaskScheduled's parameters), once the call has answered.
    let mut bodies = Vec::new();
    for run in &runs {
        let body = loop {
            let evs: Vec<Value> = run.history().events().iter().map(Event::to_json).collect();
            if evs.iter().any(|e| e["type"] == "TaskSubmitted") {
                let scheduled = evs.iter().find(|e| e["type"] == "TaskScheduled").unwrap();
                let p = scheduled["taskScheduledEventDetails"]["parameters"].as_str().unwrap();
                break serde_json::from_str::<Value>(p).unwrap()["MessageBody"].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        bodies.push(body);
    }
    for _ in 0..beats {
        tokio::time::sleep(gap).await;
        for body in &bodies {
            engine.tokens().send_heartbeat(body["TaskToken"].as_str().unwrap()).unwrap();
        }
    }
    tokio::time::sleep(gap).await;
    for body in &bodies {
        engine.tokens().send_success(body["TaskToken"].as_str().unwrap(), &output(body).to_string()).unwrap();
    }
    let mut out = Vec::new();
    for run in &runs {
        let outcome = run.wait().await;
        assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{outcome:?}");
        out.push(run.history().events());
    }
    out
}

#[tokio::test(start_paused = true)]
async fn test_sqs_wait_for_task_tok_with_heartbeat() {
    let test = "test_sqs_wait_for_task_tok_with_heartbeat";
    let Some(rec) = recording(CALLBACK, test) else { return };
    let history = &rec["get_execution_history"];
    let def = sqs_task(
        "SendMessageWithWait",
        message_and_token(),
        json!({"HeartbeatSeconds": 60, "TimeoutSeconds": 600}),
    );
    // Three heartbeats 50 s apart, then success at 200 s: past HeartbeatSeconds without them.
    let got =
        rerun_with_heartbeats(def, &[history], 3, Duration::from_secs(50), |b| b["Message"].clone()).await;
    assert_same(test, history, &got[0]);
}

fn heartbeat_path_machine() -> Value {
    sqs_task(
        "SendMessageWithWait",
        message_and_token(),
        json!({"HeartbeatSecondsPath": "$.HeartbeatSecondsPath", "TimeoutSeconds": 600}),
    )
}

#[tokio::test(start_paused = true)]
async fn test_multiple_heartbeat_notifications() {
    let test = "test_multiple_heartbeat_notifications";
    let Some(rec) = recording(CALLBACK, test) else { return };
    let history = &rec["get_execution_history"];
    // The worker answers with the message it received (its token included).
    let got = rerun_with_heartbeats(
        heartbeat_path_machine(),
        &[history],
        4,
        Duration::from_secs(100),
        Value::clone,
    )
    .await;
    assert_same(test, history, &got[0]);
}

#[tokio::test(start_paused = true)]
async fn test_multiple_executions_and_heartbeat_notifications() {
    let test = "test_multiple_executions_and_heartbeat_notifications";
    let Some(rec) = recording(CALLBACK, test) else { return };
    let histories: Vec<&Value> = (0..6).map(|n| &rec[format!("execution_history_{n}")]).collect();
    assert!(histories.iter().all(|h| h["events"].is_array()));
    let got = rerun_with_heartbeats(
        heartbeat_path_machine(),
        &histories,
        4,
        Duration::from_secs(100),
        Value::clone,
    )
    .await;
    for (n, (h, g)) in histories.iter().zip(&got).enumerate() {
        assert_same(&format!("{test} execution_history_{n}"), h, g);
    }
}

#[tokio::test(start_paused = true)]
async fn submitted_on_a_request_response_task_fails_naming_why() {
    // Only a callback or `.sync` task has a submission: a request-response task mocked with one fails.
    let def = json!({"StartAt": "Send", "States": {"Send": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage", "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
        "End": true}}});
    let mocks = MockConfig::from_json(&json!({
        "StateMachines": {"m": {"TestCases": {"c": {"Send": "R"}}}},
        "MockedResponses": {"R": {"0": {"Submitted": {}, "Return": 1}}}
    }))
    .unwrap();
    let run = Sfn::from_value(&def)
        .unwrap()
        .name("m")
        .mock_config(&mocks, "c")
        .unwrap()
        .run(json!({}))
        .await
        .unwrap();
    assert_eq!(run.outcome.status, ExecutionStatus::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.Runtime"));
    let cause = run.outcome.cause.unwrap_or_default();
    assert!(cause.contains("Submitted") && cause.contains(".waitForTaskToken or .sync"), "{cause}");
}

#[tokio::test(start_paused = true)]
async fn a_mocked_sync_task_with_submitted_ends_with_the_job() {
    // `.sync`: the job's end is the mock's Return, after the recorded submission; with no answer the
    // task's TimeoutSeconds ends it.
    let def = |timeout: Value| {
        json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
            "Resource": "arn:aws:states:::batch:submitJob.sync", "TimeoutSeconds": timeout,
            "Parameters": {"JobName": "j", "JobQueue": "q", "JobDefinition": "d"}, "End": true}}})
    };
    let mocks = |answer: Value| {
        let mut r = json!({"Submitted": {"JobId": "7"}});
        if let Value::Object(a) = answer {
            r.as_object_mut().unwrap().extend(a);
        }
        MockConfig::from_json(&json!({
            "StateMachines": {"m": {"TestCases": {"c": {"Job": "R"}}}},
            "MockedResponses": {"R": {"0": r}}
        }))
        .unwrap()
    };
    let done = Sfn::from_value(&def(json!(60)))
        .unwrap()
        .name("m")
        .mock_config(&mocks(json!({"Return": {"Status": "SUCCEEDED"}})), "c")
        .unwrap()
        .run(json!({}))
        .await
        .unwrap();
    assert_eq!(done.outcome.output, Some(json!({"Status": "SUCCEEDED"})));
    assert_eq!(
        done.event_types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let stuck = Sfn::from_value(&def(json!(5)))
        .unwrap()
        .name("m")
        .mock_config(&mocks(json!({})), "c")
        .unwrap()
        .run(json!({}))
        .await
        .unwrap();
    assert_eq!(stuck.outcome.error.as_deref(), Some("States.Timeout"));
    assert!(stuck.event_types().contains(&"TaskTimedOut".to_owned()));
}
