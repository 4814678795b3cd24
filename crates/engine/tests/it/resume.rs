//! Resuming executions after a crash (`Engine::resume`): an execution runs partway on one engine and
//! runtime, the runtime is dropped (its tasks vanish as in a kill -9), and a fresh engine on a fresh runtime
//! continues from the recorded events. Every test runs on tokio's paused clock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sfn_engine::{
    Clock, Durable, Engine, Event, EventSink, ExecutionStatus, Outcome, Prepared, ResumeRequest, StartRequest,
};
use sfn_patterns::{CheckError, Pattern, ServiceIntegration, ServiceResource, TaskContext, TaskFailure};

/// `jobs:run` (every pattern; `.sync` jobs run `Seconds`) and `jobs:flaky` (request-response; the first
/// `Times` submissions fail with `Jobs.Flaky`). Counts every call.
#[derive(Default)]
struct Jobs {
    submits: AtomicUsize,
    waits: AtomicUsize,
    stops: AtomicUsize,
    /// The idempotency key of every submission.
    keys: Mutex<Vec<String>>,
}

#[async_trait]
impl ServiceIntegration for Jobs {
    fn service(&self) -> &str {
        "jobs"
    }

    fn check(&self, resource: &ServiceResource) -> Result<(), CheckError> {
        match (resource.action.as_str(), resource.pattern) {
            ("run", _) | ("flaky", Pattern::RequestResponse) => Ok(()),
            (a, p) => Err(format!("jobs does not support {a} with {p}").into()),
        }
    }

    async fn submit(&self, ctx: &TaskContext, parameters: Value) -> Result<Value, TaskFailure> {
        let n = self.submits.fetch_add(1, Ordering::SeqCst);
        self.keys.lock().unwrap().push(ctx.idempotency_key());
        if ctx.resource.action == "flaky" && (n as u64) < parameters["Times"].as_u64().unwrap_or(0) {
            return Err(TaskFailure::new("Jobs.Flaky", "not yet"));
        }
        Ok(json!({"Job": parameters}))
    }

    async fn wait(&self, _ctx: &TaskContext, submitted: &Value) -> Result<Value, TaskFailure> {
        self.waits.fetch_add(1, Ordering::SeqCst);
        let secs = submitted["Job"]["Seconds"].as_u64().unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok(json!({"Done": submitted["Job"]}))
    }

    async fn stop(&self, _ctx: &TaskContext, _submitted: &Value, _reason: &str) {
        self.stops.fetch_add(1, Ordering::SeqCst);
    }
}

fn t0() -> DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap()
}

/// An engine whose clock reads `at` now (build it inside the runtime).
fn engine(jobs: &Arc<Jobs>, at: DateTime<Utc>) -> Engine {
    Engine::builder().integration(jobs.clone()).clock(Clock::starting_at(at)).build()
}

fn prepare(engine: &Engine, def: &Value) -> Prepared {
    engine.prepare(sfn_asl::parse(&serde_json::to_vec(def).unwrap()).unwrap(), "m").unwrap()
}

fn start(input: &Value) -> StartRequest {
    StartRequest { execution_name: "e".into(), input: input.clone(), role_arn: None, input_text: None }
}

/// Runs `def` for `crash_at` of virtual time, then drops the runtime mid-flight; returns what was recorded.
fn crash(jobs: &Arc<Jobs>, def: &Value, input: &Value, crash_at: Duration) -> Vec<Event> {
    let rt = paused_runtime();
    rt.block_on(async {
        let engine = engine(jobs, t0());
        let ex = engine.start(&prepare(&engine, def), start(input));
        tokio::time::sleep(crash_at).await;
        assert!(ex.outcome().is_none(), "still running at the crash");
        ex.history().events()
    })
}

fn resume_request(input: &Value, events: Vec<Event>) -> ResumeRequest {
    ResumeRequest {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        execution_name: "e".into(),
        input: input.clone(),
        role_arn: None,
        start_time: t0(),
        events,
    }
}

/// Resumes on a fresh engine whose clock reads `at`; returns the outcome, the whole history and the
/// virtual time the resumed run took.
fn resume(
    jobs: &Arc<Jobs>,
    def: &Value,
    input: &Value,
    events: Vec<Event>,
    at: DateTime<Utc>,
) -> (Outcome, Vec<Event>, Duration) {
    let rt = paused_runtime();
    rt.block_on(async {
        let engine = engine(jobs, at);
        let began = tokio::time::Instant::now();
        let ex = engine.resume(&prepare(&engine, def), resume_request(input, events));
        let outcome = ex.wait().await;
        (outcome, ex.history().events(), began.elapsed())
    })
}

/// The same machine without a crash.
fn uninterrupted(def: &Value, input: &Value) -> (Outcome, Vec<Event>) {
    let jobs = Arc::new(Jobs::default());
    paused_runtime().block_on(async {
        let engine = engine(&jobs, t0());
        let (o, h) = engine.run(&prepare(&engine, def), start(input)).await;
        (o, h.events())
    })
}

/// Ids `1..=n`, each event after the one it follows; the recorded events come back unchanged.
fn check_ids(events: &[Event], recorded: &[Event]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1, "continuous ids");
        assert!(e.previous_event_id < e.id, "{e:?}");
    }
    assert_eq!(&events[..recorded.len()], recorded, "the recorded events are kept as they were");
}

/// The events without ids and timestamps, sorted (equal for histories with the same events).
fn shape(events: &[Event]) -> Vec<String> {
    let mut v: Vec<String> = events
        .iter()
        .map(|e| {
            let mut j = e.to_json();
            let m = j.as_object_mut().unwrap();
            m.remove("timestamp");
            m.remove("id");
            m.remove("previousEventId");
            j.to_string()
        })
        .collect();
    v.sort();
    v
}

fn types(events: &[Event]) -> Vec<String> {
    events.iter().map(Event::event_type).collect()
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

#[test]
fn a_sync_task_is_waited_for_again_never_submitted_twice() {
    // The Pass state's random id must come back from the record, not be drawn again.
    let def = json!({"StartAt": "Id", "States": {
        "Id": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "Next": "Job"},
        "Job": {"Type": "Task", "Resource": "arn:aws:states:::jobs:run.sync",
                "Parameters": {"Seconds": 100, "id.$": "$.id"}, "TimeoutSeconds": 1000, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    assert_eq!(types(&recorded).last().map(String::as_str), Some("TaskSubmitted"));
    let id: Value =
        serde_json::from_str(recorded[2].to_json()["stateExitedEventDetails"]["output"].as_str().unwrap())
            .unwrap();

    let (o, events, _) = resume(&jobs, &def, &input, recorded.clone(), t0() + chrono::Duration::seconds(30));
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output.unwrap()["Done"], json!({"Seconds": 100, "id": id["id"]}));
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 1, "submitted once in total");
    assert_eq!(jobs.waits.load(Ordering::SeqCst), 2, "waited for before the crash and again after");
    check_ids(&events, &recorded);
    assert_eq!(types(&events), types(&uninterrupted(&def, &input).1));
}

#[test]
fn a_callback_token_stays_valid_after_resume() {
    let def = json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.waitForTaskToken",
        "Parameters": {"Token.$": "$$.Task.Token"}, "TimeoutSeconds": 3600, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(5));
    let params: Value = serde_json::from_str(
        recorded[2].to_json()["taskScheduledEventDetails"]["parameters"].as_str().unwrap(),
    )
    .unwrap();
    let token = params["Token"].as_str().unwrap().to_owned();
    // The token is kept for resuming, but GetExecutionHistory's shape does not show it.
    assert_eq!(recorded[3].event_type(), "TaskStarted");
    assert!(!recorded[3].to_json().to_string().contains(&token));
    assert!(recorded[3].to_stored_json().to_string().contains(&token));

    let rt = paused_runtime();
    let (o, events) = rt.block_on(async {
        let engine = engine(&jobs, t0() + chrono::Duration::seconds(60));
        let ex = engine.resume(&prepare(&engine, &def), resume_request(&input, recorded.clone()));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(engine.tokens().live_count(), 1);
        assert_eq!(
            engine.tokens().send_success("AQnot-the-token", "{}").unwrap_err().code(),
            "TaskDoesNotExist"
        );
        engine.tokens().send_success(&token, r#"{"answer": 42}"#).unwrap();
        let o = ex.wait().await;
        assert_eq!(engine.tokens().send_success(&token, "{}").unwrap_err().code(), "TaskDoesNotExist");
        (o, ex.history().events())
    });
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!({"answer": 42})));
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 1);
    check_ids(&events, &recorded);
    assert_eq!(
        types(&events),
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
}

/// After a restart a worker may call back before the resumed execution has replayed up to its task
/// (`sfn-server`'s in-process restart test lost this race under load): the recorded outstanding token is
/// valid from the moment `resume` returns, and a completed task's token is not revived.
#[test]
fn a_callback_sent_before_the_replay_reaches_its_task_is_kept() {
    let def = json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.waitForTaskToken",
        "Parameters": {"Token.$": "$$.Task.Token"}, "TimeoutSeconds": 3600, "Next": "Again"},
        "Again": {"Type": "Task", "Resource": "arn:aws:states:::jobs:run.waitForTaskToken",
        "Parameters": {"Token.$": "$$.Task.Token"}, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let token_of = |events: &[Event], i: usize| -> String {
        let d = events[i].to_json()["taskScheduledEventDetails"]["parameters"].as_str().unwrap().to_owned();
        serde_json::from_str::<Value>(&d).unwrap()["Token"].as_str().unwrap().to_owned()
    };
    // The first task answered, the second waiting, then the crash.
    let rt = paused_runtime();
    let recorded = rt.block_on(async {
        let engine = engine(&jobs, t0());
        let ex = engine.start(&prepare(&engine, &def), start(&input));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let first = token_of(&ex.history().events(), 2);
        engine.tokens().send_success(&first, "{}").unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        ex.history().events()
    });
    let (first, second) = (token_of(&recorded, 2), token_of(&recorded, 8));
    let rt = paused_runtime();
    let o = rt.block_on(async {
        let engine = engine(&jobs, t0() + chrono::Duration::seconds(60));
        let ex = engine.resume(&prepare(&engine, &def), resume_request(&input, recorded.clone()));
        // Nothing of the resumed execution has run yet (one thread, no yield).
        assert_eq!(engine.tokens().send_success(&first, "{}").unwrap_err().code(), "TaskDoesNotExist");
        engine.tokens().send_success(&second, r#"{"answer": 42}"#).unwrap();
        ex.wait().await
    });
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!({"answer": 42})));
}

#[test]
fn a_callback_task_times_out_on_its_original_schedule() {
    let def = json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.waitForTaskToken",
        "Parameters": {"Token.$": "$$.Task.Token"}, "TimeoutSeconds": 100, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    // Down for 30 s: 60 s are left of the task's 100.
    let (o, events, took) = resume(&jobs, &def, &input, recorded, t0() + chrono::Duration::seconds(40));
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(took, Duration::from_secs(60));
    let timed_out = events.iter().find(|e| e.event_type() == "TaskTimedOut").unwrap();
    assert_eq!(secs(timed_out.timestamp - t0()), 100.0);
}

#[test]
fn a_wait_resumes_with_the_remaining_time() {
    let def = json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    assert_eq!(types(&recorded), ["ExecutionStarted", "WaitStateEntered"]);
    // Restarted 25 s after the wait began: 35 s are left.
    let (o, events, took) =
        resume(&jobs, &def, &input, recorded.clone(), t0() + chrono::Duration::seconds(25));
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert_eq!(took, Duration::from_secs(35), "only the remaining time");
    let exited = events.iter().find(|e| e.event_type() == "WaitStateExited").unwrap();
    assert_eq!(secs(exited.timestamp - t0()), 60.0);
    assert_eq!(o.output, Some(json!({"entered": "2024-01-01T00:01:00.000Z"})));
    check_ids(&events, &recorded);

    // Restarted after the wait should have ended: it ends at once.
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    let (o, _, took) = resume(&jobs, &def, &input, recorded, t0() + chrono::Duration::seconds(90));
    assert_eq!((o.status, took), (ExecutionStatus::Succeeded, Duration::ZERO));
}

#[test]
fn retry_back_off_resumes_with_the_remaining_delay() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:flaky", "Parameters": {"Times": 1},
        "Retry": [{"ErrorEquals": ["Jobs.Flaky"], "IntervalSeconds": 100, "MaxAttempts": 2}], "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(30));
    assert_eq!(types(&recorded).last().map(String::as_str), Some("TaskFailed"));
    let (o, events, took) =
        resume(&jobs, &def, &input, recorded.clone(), t0() + chrono::Duration::seconds(40));
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(took, Duration::from_secs(60), "100 s of back-off, 40 s of which had passed");
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 2, "the failed attempt is not repeated");
    check_ids(&events, &recorded);
    let retried = events.iter().filter(|e| e.event_type() == "TaskScheduled").nth(1).unwrap();
    assert_eq!(secs(retried.timestamp - t0()), 100.0);
}

#[test]
fn map_and_parallel_resume_without_repeating_work() {
    // Map iterations run states of the same name and finish at different times (events are matched by their
    // place in the tree, never by name); state names are unique across branches, as AWS requires
    // (DUPLICATE_STATE_NAME).
    let job = |secs: Value| json!({"Type": "Task", "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds.$": secs}, "End": true});
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "End": true,
            "ItemProcessor": {"StartAt": "J", "States": {"J": job(json!("$"))}}}}},
        {"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 15, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::jobs:run", "Parameters": {"Branch": "b"}, "End": true}}},
        {"StartAt": "W3", "States": {"W3": {"Type": "Wait", "Seconds": 5, "Next": "X"},
            "X": {"Type": "Pass", "Result": "c", "End": true}}}
    ]}}});
    let input = json!({"items": [10, 20, 30, 5]});
    let (expected, full) = uninterrupted(&def, &input);
    assert_eq!(expected.status, ExecutionStatus::Succeeded);

    // At 12 s: item 0 done, items 1 and 2 running (MaxConcurrency 2), item 3 not started; branch 3 done,
    // branch 2 waiting.
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(12));
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 3);
    let (o, events, _) = resume(&jobs, &def, &input, recorded.clone(), t0() + chrono::Duration::seconds(12));
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, expected.output);
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 5, "4 jobs and one call, each submitted once");
    check_ids(&events, &recorded);
    assert_eq!(shape(&events), shape(&full), "the same events as without a crash, none twice");
}

#[test]
fn a_submission_lost_with_the_journal_tail_is_made_again_with_the_same_idempotency_key() {
    let def = json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds": 50}, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let mut recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    // The call was made, but `TaskSubmitted` never reached the journal.
    assert_eq!(recorded.pop().map(|e| e.event_type()).as_deref(), Some("TaskSubmitted"));
    let (o, events, _) = resume(&jobs, &def, &input, recorded.clone(), t0() + chrono::Duration::seconds(10));
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    let keys = jobs.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "ECS ClientToken makes the second RunTask return the first task");
    check_ids(&events, &recorded);
    assert_eq!(types(&events).iter().filter(|t| *t == "TaskSubmitted").count(), 1);
}

#[test]
fn stopping_a_resumed_execution_stops_its_job() {
    let def = json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds": 500}, "End": true}}});
    let input = json!({});
    let jobs = Arc::new(Jobs::default());
    let recorded = crash(&jobs, &def, &input, Duration::from_secs(10));
    let rt = paused_runtime();
    let o = rt.block_on(async {
        let engine = engine(&jobs, t0() + chrono::Duration::seconds(10));
        let ex = engine.resume(&prepare(&engine, &def), resume_request(&input, recorded));
        tokio::time::sleep(Duration::from_secs(5)).await;
        ex.stop_with(Some("Halt".into()), None);
        ex.wait().await
    });
    assert_eq!((o.status, o.error.as_deref()), (ExecutionStatus::Aborted, Some("Halt")));
    assert_eq!(jobs.stops.load(Ordering::SeqCst), 1);
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_finished_execution_resumes_finished() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": true}}});
    let input = json!({});
    let (o, events) = uninterrupted(&def, &input);
    let jobs = Arc::new(Jobs::default());
    let (again, after, took) = resume(&jobs, &def, &input, events.clone(), t0());
    assert_eq!((again.status, again.output, again.stop_date), (o.status, o.output, o.stop_date));
    assert_eq!((after, took), (events, Duration::ZERO));
}

#[test]
fn events_round_trip_through_their_stored_json() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Next": "F", "Branches": [
        {"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "J", "States": {"J": {"Type": "Task",
                "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds.$": "$"},
                "TimeoutSeconds": 9, "End": true}}}}}},
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"x": 1, "y": "two"}, "End": true}}}]},
        "F": {"Type": "Task", "Resource": "arn:aws:states:::jobs:flaky", "Parameters": {"Times": 9},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail"}], "End": true},
        "Fail": {"Type": "Fail", "Error": "E", "Cause": "c"}}});
    let (o, events) = uninterrupted(&def, &json!([1, 20]));
    assert_eq!(o.status, ExecutionStatus::Failed);
    assert!(events.iter().any(|e| e.event_type() == "TaskTimedOut"));
    for e in &events {
        let stored = e.to_stored_json();
        assert_eq!(Event::from_json(&stored).unwrap(), *e);
        let mut public = stored.clone();
        Event::strip_private(&mut public);
        assert_eq!(public, e.to_json(), "only the private member is added");
        assert!(!e.to_json().to_string().contains("sfnResume"));
    }
}

/// A sink whose events become durable only when the test says so.
struct SlowDisk {
    open: tokio::sync::watch::Sender<bool>,
}

impl EventSink for SlowDisk {
    fn event(&self, _execution_arn: &str, _event: &Event) {}

    fn durable(&self) -> Durable {
        let mut rx = self.open.subscribe();
        Box::pin(async move {
            let _ = rx.wait_for(|open| *open).await;
        })
    }
}

#[test]
fn a_task_calls_its_service_only_once_its_schedule_is_durable() {
    let def = json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run", "Parameters": {}, "End": true}}});
    let jobs = Arc::new(Jobs::default());
    paused_runtime().block_on(async {
        let (open, _) = tokio::sync::watch::channel(false);
        let sink = Arc::new(SlowDisk { open });
        let engine = Engine::builder().integration(jobs.clone()).event_sink(sink.clone()).build();
        let ex = engine.start(&prepare(&engine, &def), start(&json!({})));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(types(&ex.history().events()).last().map(String::as_str), Some("TaskStarted"));
        assert_eq!(jobs.submits.load(Ordering::SeqCst), 0, "not before the schedule is on disk");
        sink.open.send_replace(true);
        assert_eq!(ex.wait().await.status, ExecutionStatus::Succeeded);
        assert_eq!(jobs.submits.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn an_abandoned_execution_stops_where_it_stands() {
    let def = json!({"StartAt": "Job", "States": {"Job": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds": 50}, "End": true}}});
    let jobs = Arc::new(Jobs::default());
    paused_runtime().block_on(async {
        let engine = engine(&jobs, t0());
        let ex = engine.start(&prepare(&engine, &def), start(&json!({})));
        tokio::time::sleep(Duration::from_secs(10)).await;
        let before = ex.history().len();
        ex.abandon();
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert_eq!(ex.history().len(), before, "no further event");
        assert_eq!(ex.outcome(), None);
        assert_eq!(ex.wait().await.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            jobs.stops.load(Ordering::SeqCst),
            0,
            "its job is not stopped: a resumed execution follows it"
        );
    });
}

#[test]
fn a_callback_lost_before_its_call_gets_a_new_token_and_one_lost_after_keeps_its_own() {
    let def = json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
        "Resource": "arn:aws:states:::jobs:run.waitForTaskToken",
        "Parameters": {"Token.$": "$$.Task.Token"}, "End": true}}});
    let input = json!({});
    for (keep, same_token) in [(3, false), (4, true)] {
        // keep 3: ExecutionStarted, TaskStateEntered, TaskScheduled (the call was never made: write-ahead);
        // keep 4: … TaskStarted too (the call may have been made).
        let jobs = Arc::new(Jobs::default());
        let mut recorded = crash(&jobs, &def, &input, Duration::from_secs(5));
        let old = serde_json::from_str::<Value>(
            recorded[2].to_json()["taskScheduledEventDetails"]["parameters"].as_str().unwrap(),
        )
        .unwrap()["Token"]
            .as_str()
            .unwrap()
            .to_owned();
        recorded.truncate(keep);
        let o = paused_runtime().block_on(async {
            let engine = engine(&jobs, t0() + chrono::Duration::seconds(5));
            let ex = engine.resume(&prepare(&engine, &def), resume_request(&input, recorded.clone()));
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            assert_eq!(jobs.submits.load(Ordering::SeqCst), 2, "submitted again");
            assert_eq!(engine.tokens().live_count(), 1);
            let submitted =
                ex.history().events().into_iter().find(|e| e.event_type() == "TaskSubmitted").unwrap();
            let out: Value = serde_json::from_str(
                submitted.to_json()["taskSubmittedEventDetails"]["output"].as_str().unwrap(),
            )
            .unwrap();
            let token = out["Job"]["Token"].as_str().unwrap().to_owned();
            assert_eq!(token == old, same_token, "keep {keep}");
            engine.tokens().send_success(&token, "1").unwrap();
            ex.wait().await
        });
        assert_eq!(o.output, Some(json!(1)));
        assert_eq!(jobs.submits.load(Ordering::SeqCst), 2);
        let keys = jobs.keys.lock().unwrap().clone();
        assert_eq!(keys[0], keys[1], "the same idempotency key both times");
    }
}

#[test]
fn a_retried_serial_map_resumes_with_aws_links() {
    // The linking rule points `previousEventId` into the iteration before (AWS:
    // `scenarios/test_base_scenarios__test_map_state_retry`); a resumed execution places each event by
    // the event it followed in its scope (`after`), so it continues exactly as an uninterrupted run.
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
        "ItemProcessor": {"StartAt": "J", "States": {"J": {"Type": "Task",
            "Resource": "arn:aws:states:::jobs:run.sync", "Parameters": {"Seconds.$": "$"}, "Next": "F"},
            "F": {"Type": "Task", "Resource": "arn:aws:states:::jobs:flaky", "Parameters": {"Times": 2}, "End": true}}},
        "Retry": [{"ErrorEquals": ["Jobs.Flaky"], "IntervalSeconds": 100, "MaxAttempts": 1}]}}});
    let input = json!([10, 20]);
    let (expected, full) = uninterrupted(&def, &input);
    assert_eq!(expected.status, ExecutionStatus::Succeeded, "{expected:?}");
    let links = |events: &[Event]| -> Vec<(String, u64)> {
        events.iter().map(|e| (e.event_type(), e.previous_event_id)).collect()
    };
    // The first attempt fails at 10 s (item 0's job, then its flaky call, the second submission); the
    // second starts after 100 s of back-off and ends at 140 s. Crash in the back-off, and while the
    // second attempt's item 1 runs.
    for crash_at in [50, 125] {
        let jobs = Arc::new(Jobs::default());
        let recorded = crash(&jobs, &def, &input, Duration::from_secs(crash_at));
        let at = t0() + chrono::Duration::seconds(crash_at as i64);
        let (o, events, _) = resume(&jobs, &def, &input, recorded.clone(), at);
        assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
        check_ids(&events, &recorded);
        assert_eq!(links(&events), links(&full), "crash at {crash_at} s");
        let stored: Vec<Event> =
            recorded.iter().map(|e| Event::from_json(&e.to_stored_json()).unwrap()).collect();
        assert_eq!(stored, recorded, "the journal keeps where each event was placed");
    }
}
