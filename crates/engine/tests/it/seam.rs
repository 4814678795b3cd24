//! Tasks through the `ServiceIntegration` seam: patterns, history events, Retry on a virtual clock,
//! timeouts, heartbeats, callbacks, stops.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

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

fn types(h: &History) -> Vec<String> {
    h.events().iter().map(|e| e.event_type()).collect()
}

fn task(resource: &str, extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": resource, "End": true});
    if let (Value::Object(t), Value::Object(e)) = (&mut t, extra) {
        t.extend(e);
    }
    json!({"StartAt": "T", "States": {"T": t}})
}

#[tokio::test(start_paused = true)]
async fn request_response_events_and_output() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake);
    let (o, h) = run(
        &engine,
        task("arn:aws:states:::fake:echo", json!({"Parameters": {"x.$": "$.v"}})),
        json!({"v": 1}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert_eq!(o.output.unwrap()["Submitted"], json!({"x": 1}));
    assert_eq!(
        types(&h),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let scheduled = h.events()[2].to_json();
    assert_eq!(scheduled["taskScheduledEventDetails"]["resource"], "echo");
    assert_eq!(scheduled["taskScheduledEventDetails"]["resourceType"], "fake");
    assert_eq!(scheduled["taskScheduledEventDetails"]["parameters"], "{\"x\":1}");
    assert_eq!(scheduled["previousEventId"], 2);
}

#[tokio::test(start_paused = true)]
async fn sync_submits_then_waits_and_shows_prepared_parameters() {
    let engine = engine_with(Arc::new(Fake::default()));
    let (o, h) = run(
        &engine,
        task("arn:aws:states:::fake:sleep.sync", json!({"Parameters": {"Seconds": 30}})),
        json!({}),
    )
    .await;
    assert_eq!(o.output, Some(json!({"Done": true, "Seconds": 30})));
    assert!(types(&h).contains(&"TaskSubmitted".to_owned()));
    let ev = h.events();
    assert_eq!(
        ev[2].to_json()["taskScheduledEventDetails"]["parameters"],
        "{\"Seconds\":30,\"StartedBy\":\"AWS Step Functions\"}"
    );
    // 30 s of virtual time passed between TaskSubmitted and TaskSucceeded.
    let submitted = ev.iter().find(|e| e.event_type() == "TaskSubmitted").unwrap().timestamp;
    let succeeded = ev.iter().find(|e| e.event_type() == "TaskSucceeded").unwrap().timestamp;
    assert_eq!((succeeded - submitted).num_seconds(), 30);
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_runs_on_the_virtual_clock() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake.clone());
    let def = task(
        "arn:aws:states:::fake:flaky",
        json!({"Parameters": {"Times": 3}, "Retry": [{"ErrorEquals": ["Fake.Flaky"], "IntervalSeconds": 60, "BackoffRate": 2, "MaxAttempts": 3}]}),
    );
    let real = std::time::Instant::now();
    let (o, h) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(fake.submits.load(Ordering::SeqCst), 4);
    assert_eq!(o.output.unwrap()["Attempt"], 3);
    let ev = h.events();
    let total = ev.last().unwrap().timestamp - ev[0].timestamp;
    assert_eq!(total.num_seconds(), 60 + 120 + 240);
    assert!(real.elapsed() < Duration::from_secs(5));
    assert_eq!(types(&h).iter().filter(|t| *t == "TaskScheduled").count(), 4);
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_backoff_and_retries_run_out() {
    let engine = engine_with(Arc::new(Fake::default()));
    let def = task(
        "arn:aws:states:::fake:fail",
        json!({"Parameters": {"Error": "E"}, "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 2, "MaxDelaySeconds": 15}]}),
    );
    let (o, h) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("E"));
    let ev = h.events();
    assert_eq!((ev.last().unwrap().timestamp - ev[0].timestamp).num_seconds(), 10 + 15);
}

#[tokio::test(start_paused = true)]
async fn catch_puts_error_and_cause_at_result_path() {
    let engine = engine_with(Arc::new(Fake::default()));
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::fake:fail", "Parameters": {"Error": "Boom", "Cause": "why"},
              "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.err", "Next": "Done"}], "End": true},
        "Done": {"Type": "Succeed"}}});
    let (o, h) = run(&engine, def, json!({"keep": 1})).await;
    assert_eq!(o.output, Some(json!({"keep": 1, "err": {"Error": "Boom", "Cause": "why"}})));
    assert!(types(&h).contains(&"TaskFailed".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn timeout_stops_a_sync_job() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake.clone());
    let def = task(
        "arn:aws:states:::fake:sleep.sync",
        json!({"Parameters": {"Seconds": 600}, "TimeoutSeconds": 5}),
    );
    let (o, h) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(fake.stops.load(Ordering::SeqCst), 1);
    assert!(types(&h).contains(&"TaskTimedOut".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_path_is_read_from_the_input() {
    let engine = engine_with(Arc::new(Fake::default()));
    let def = task(
        "arn:aws:states:::fake:sleep.sync",
        json!({"Parameters": {"Seconds": 600}, "TimeoutSecondsPath": "$.t"}),
    );
    let (o, h) = run(&engine, def, json!({"t": 7})).await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(h.events()[2].to_json()["taskScheduledEventDetails"]["timeoutInSeconds"], 7);
}

#[tokio::test(start_paused = true)]
async fn callback_success_failure_and_heartbeat_timeout() {
    let engine = engine_with(Arc::new(Fake::default()));
    let def = task(
        "arn:aws:states:::fake:echo.waitForTaskToken",
        json!({"Parameters": {"Token.$": "$$.Task.Token"}, "HeartbeatSeconds": 10, "TimeoutSeconds": 100}),
    );
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();

    // success after two heartbeats
    let ex = engine.start(
        &prepared,
        StartRequest { execution_name: "a".into(), input: json!({}), role_arn: None, input_text: None },
    );
    let token = wait_token(&ex).await;
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(8)).await;
        engine.tokens().send_heartbeat(&token).unwrap();
    }
    engine.tokens().send_success(&token, r#"{"ok": true}"#).unwrap();
    let o = ex.wait().await;
    assert_eq!(o.output, Some(json!({"ok": true})));
    assert_eq!(engine.tokens().send_success(&token, "{}").unwrap_err().code(), "TaskDoesNotExist");

    // failure with error and cause
    let ex = engine.start(
        &prepared,
        StartRequest { execution_name: "b".into(), input: json!({}), role_arn: None, input_text: None },
    );
    let token = wait_token(&ex).await;
    engine.tokens().send_failure(&token, Some("App.Err".into()), Some("bad".into())).unwrap();
    let o = ex.wait().await;
    assert_eq!((o.error.as_deref(), o.cause.as_deref()), (Some("App.Err"), Some("bad")));

    // no heartbeat → shown as States.Timeout (LocalStack's AWS-validated test_heartbeats snapshots), then
    // the token answers TaskTimedOut
    let ex = engine.start(
        &prepared,
        StartRequest { execution_name: "c".into(), input: json!({}), role_arn: None, input_text: None },
    );
    let token = wait_token(&ex).await;
    let o = ex.wait().await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(engine.tokens().send_success(&token, "{}").unwrap_err().code(), "TaskTimedOut");
}

/// `HeartbeatSeconds` on a `.sync` job (Step Functions API reference, SendTaskHeartbeat: "if the task
/// times out, the execution history contains … a TaskTimedOut entry for tasks using the job run or
/// callback pattern"): heartbeats on the task's token keep a long job going; without them the job is
/// stopped and the task times out with `States.Timeout`, as a callback task's heartbeat expiry is shown.
#[tokio::test(start_paused = true)]
async fn sync_job_heartbeats_keep_it_and_their_absence_times_it_out() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake.clone());
    let def = task(
        "arn:aws:states:::fake:sleep.sync",
        json!({"Parameters": {"Seconds": 30, "Token.$": "$$.Task.Token"}, "HeartbeatSeconds": 10}),
    );
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();

    // A heartbeat every 8 s: the 30 s job ends on its own.
    let ex = engine.start(
        &prepared,
        StartRequest { execution_name: "beating".into(), input: json!({}), role_arn: None, input_text: None },
    );
    let token = wait_token(&ex).await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_secs(8)).await;
        let _ = engine.tokens().send_heartbeat(&token);
    }
    let o = ex.wait().await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{:?}", o.error);
    assert_eq!(o.output, Some(json!({"Done": true, "Seconds": 30})));
    assert_eq!(fake.stops.load(Ordering::SeqCst), 0);

    // No heartbeat: after 10 s the job is stopped and the task times out.
    let (o, h) = run(&engine, def.clone(), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(fake.stops.load(Ordering::SeqCst), 1, "the job is stopped");
    let t = types(&h);
    assert!(t.contains(&"TaskTimedOut".to_owned()), "{t:?}");
    assert!(!t.contains(&"TaskSucceeded".to_owned()), "{t:?}");

    // Without HeartbeatSeconds the same job runs its 30 s without a heartbeat.
    let mut def = def;
    def["States"]["T"].as_object_mut().unwrap().remove("HeartbeatSeconds");
    let (o, _) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{:?}", o.error);
}

async fn wait_token(ex: &sfn_engine::Execution) -> String {
    for _ in 0..100 {
        for e in ex.history().events() {
            if e.event_type() == "TaskSubmitted" {
                let out: Value = serde_json::from_str(
                    e.to_json()["taskSubmittedEventDetails"]["output"].as_str().unwrap(),
                )
                .unwrap();
                return out["Token"].as_str().unwrap().to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("no TaskSubmitted event")
}

#[tokio::test(start_paused = true)]
async fn stopping_an_execution_stops_running_jobs_in_every_branch() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake.clone());
    let job = json!({"Type": "Task", "Resource": "arn:aws:states:::fake:sleep.sync", "Parameters": {"Seconds": 1000}, "End": true});
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": job.clone()}},
        {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"StartAt": "B", "States": {"B": job}}}}}]}}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    let ex = engine.start(
        &prepared,
        StartRequest {
            execution_name: "s".into(),
            input: json!({"items": [1, 2, 3]}),
            role_arn: None,
            input_text: None,
        },
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    ex.stop();
    let o = ex.wait().await;
    assert_eq!(o.status, ExecutionStatus::Aborted);
    assert_eq!(fake.stops.load(Ordering::SeqCst), 4, "every running .sync job is stopped");
    let t = types(ex.history());
    assert_eq!(t.last().map(String::as_str), Some("ExecutionAborted"));
    assert!(t.contains(&"MapIterationAborted".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn execution_timeout_stops_jobs_and_times_out() {
    let fake = Arc::new(Fake::default());
    let engine = engine_with(fake.clone());
    let def = json!({"TimeoutSeconds": 30, "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::fake:sleep.sync", "Parameters": {"Seconds": 1000}, "End": true}}});
    let (o, h) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::TimedOut);
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(fake.stops.load(Ordering::SeqCst), 1);
    assert_eq!(types(&h).last().map(String::as_str), Some("ExecutionTimedOut"));
}

#[tokio::test]
async fn unknown_integrations_are_refused_when_preparing() {
    let engine = Engine::builder().build();
    let machine =
        sfn_asl::parse(&serde_json::to_vec(&task("arn:aws:states:::ecs:runTask.sync", json!({}))).unwrap())
            .unwrap();
    let err = engine.prepare(machine, "m").unwrap_err();
    assert!(
        err.problems()[0].to_string().contains("no integration is registered for 'runTask.sync'"),
        "{err:?}"
    );
    let engine = engine_with(Arc::new(Fake::default()));
    let machine =
        sfn_asl::parse(&serde_json::to_vec(&task("arn:aws:states:::fake:sleep", json!({}))).unwrap())
            .unwrap();
    let err = engine.prepare(machine, "m").unwrap_err();
    assert!(err.problems()[0].to_string().contains("does not support sleep"), "{err:?}");
}

struct Mocks;
impl sfn_engine::TaskMocks for Mocks {
    fn covers(&self, state: &str) -> bool {
        state == "Invoke"
    }
    fn respond(&self, _state: &str, invocation: u32) -> Option<sfn_engine::MockResponse> {
        match invocation {
            0 => {
                Some(sfn_engine::MockResponse::Throw { error: "Lambda.ServiceException".into(), cause: None })
            }
            1 => Some(sfn_engine::MockResponse::Return(json!({"StatusCode": 200, "Payload": {"ok": true}}))),
            _ => None,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn mocked_states_need_no_integration_and_answer_in_order() {
    let engine = Engine::builder().mocks(Arc::new(Mocks)).build();
    let def = json!({"StartAt": "Invoke", "States": {"Invoke": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2}],
        "ResultSelector": {"ok.$": "$.Payload.ok"}, "End": true}}});
    let (o, h) = run(&engine, def, json!({})).await;
    assert_eq!(o.output, Some(json!({"ok": true})));
    let t = types(&h);
    assert_eq!(t.iter().filter(|t| *t == "TaskFailed").count(), 1);
    assert_eq!(h.events()[2].to_json()["taskScheduledEventDetails"]["resourceType"], "lambda");
}
