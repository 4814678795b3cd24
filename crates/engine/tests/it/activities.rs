//! Task states on activity ARNs through the engine's `ActivityQueue`: an in-test queue and worker, on a
//! virtual clock. Histories as LocalStack's AWS-validated `activities/test_activities.snapshot.json`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sfn_engine::{Engine, Event, ExecutionStatus, ResumeRequest, StartRequest};
use sfn_patterns::{ActivityQueue, ActivityTask};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:activity:resize";

/// One activity (`ARN`), its waiting tasks in a list.
#[derive(Default)]
struct Queue {
    tasks: Mutex<Vec<ActivityTask>>,
}

impl ActivityQueue for Queue {
    fn exists(&self, activity_arn: &str) -> bool {
        activity_arn == ARN
    }
    fn offer(&self, task: ActivityTask) -> bool {
        self.tasks.lock().unwrap().push(task);
        true
    }
    fn withdraw(&self, _activity_arn: &str, token: &str) {
        self.tasks.lock().unwrap().retain(|t| t.token != token);
    }
}

impl Queue {
    /// A worker's GetActivityTask: waits (virtual time) for a task and takes it.
    async fn take(&self, engine: &Engine, worker: &str) -> ActivityTask {
        loop {
            let next = {
                let mut tasks = self.tasks.lock().unwrap();
                (!tasks.is_empty()).then(|| tasks.remove(0))
            };
            if let Some(t) = next {
                engine.tokens().start(&t.token, Some(worker.to_owned())).unwrap();
                return t;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn setup() -> (Engine, Arc<Queue>) {
    let queue = Arc::new(Queue::default());
    (Engine::builder().activities(queue.clone()).build(), queue)
}

fn machine(task: Value, more: Value) -> sfn_asl::StateMachine {
    let mut states = json!({"A": task});
    if let (Some(s), Some(m)) = (states.as_object_mut(), more.as_object()) {
        s.extend(m.clone());
    }
    let def = json!({"StartAt": "A", "States": states});
    sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap()
}

fn req() -> StartRequest {
    StartRequest { execution_name: "e".into(), input: json!({"n": 1}), role_arn: None, input_text: None }
}

fn links(events: &[Event]) -> Vec<(String, u64, u64)> {
    events.iter().map(|e| (e.event_type(), e.id, e.previous_event_id)).collect()
}

fn owned(v: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    v.iter().map(|(t, i, p)| ((*t).to_owned(), *i, *p)).collect()
}

#[tokio::test(start_paused = true)]
async fn a_retried_activity_is_scheduled_again_after_its_failure() {
    let (engine, queue) = setup();
    let task = json!({"Type": "Task", "Resource": ARN, "End": true,
        "Retry": [{"ErrorEquals": ["Worker.Busy"], "IntervalSeconds": 2, "MaxAttempts": 1}]});
    let prepared = engine.prepare(machine(task, json!({})), "m").unwrap();
    let execution = engine.start(&prepared, req());
    let t = queue.take(&engine, "w").await;
    assert_eq!(t.input, r#"{"n":1}"#);
    engine.tokens().send_failure(&t.token, Some("Worker.Busy".into()), None).unwrap();
    let t = queue.take(&engine, "w").await;
    engine.tokens().send_success(&t.token, r#"{"done":1}"#).unwrap();
    let o = execution.wait().await;
    assert_eq!((o.status, o.output), (ExecutionStatus::Succeeded, Some(json!({"done": 1}))));
    assert_eq!(
        links(&execution.history().events()),
        owned(&[
            ("ExecutionStarted", 1, 0),
            ("TaskStateEntered", 2, 0),
            ("ActivityScheduled", 3, 2),
            ("ActivityStarted", 4, 3),
            ("ActivityFailed", 5, 4),
            ("ActivityScheduled", 6, 5),
            ("ActivityStarted", 7, 6),
            ("ActivitySucceeded", 8, 7),
            ("TaskStateExited", 9, 8),
            ("ExecutionSucceeded", 10, 9),
        ])
    );
    let failed = execution.history().events()[4].to_json();
    assert_eq!(failed["activityFailedEventDetails"], json!({"error": "Worker.Busy"}));
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_expiry_counts_from_the_workers_take_and_is_caught_as_heartbeat_timeout() {
    let (engine, queue) = setup();
    // Waiting in the queue for 30 s does not expire the 5 s heartbeat: it starts when a worker takes it.
    let task = json!({"Type": "Task", "Resource": ARN, "HeartbeatSeconds": 5, "Next": "Done",
        "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Caught"}]});
    let more = json!({"Done": {"Type": "Succeed"}, "Caught": {"Type": "Pass", "End": true}});
    let prepared = engine.prepare(machine(task, more), "m").unwrap();
    let execution = engine.start(&prepared, req());
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(execution.outcome().is_none(), "still waiting for a worker");
    let t = queue.take(&engine, "slow").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    engine.tokens().send_heartbeat(&t.token).unwrap();
    let o = execution.wait().await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    assert_eq!(o.output.unwrap()["Error"], "States.Timeout");
    let events: Vec<Value> = execution.history().events().iter().map(Event::to_json).collect();
    let timed_out = events.iter().find(|e| e["type"] == "ActivityTimedOut").unwrap();
    assert_eq!(timed_out["activityTimedOutEventDetails"], json!({"error": "States.Timeout"}));
    let scheduled = events.iter().find(|e| e["type"] == "ActivityScheduled").unwrap();
    assert_eq!(scheduled["activityScheduledEventDetails"]["heartbeatInSeconds"], 5);
    assert!(scheduled["activityScheduledEventDetails"].get("timeoutInSeconds").is_none());
    // The late worker is told the task timed out.
    let late = engine.tokens().send_success(&t.token, "{}").unwrap_err();
    assert_eq!(late.code(), "TaskTimedOut");
}

#[tokio::test(start_paused = true)]
async fn a_resumed_execution_offers_its_untaken_task_again_with_the_recorded_token() {
    let (engine, queue) = setup();
    let task = json!({"Type": "Task", "Resource": ARN, "TimeoutSeconds": 100, "End": true});
    let prepared = engine.prepare(machine(task.clone(), json!({})), "m").unwrap();
    let first = engine.start(&prepared, req());
    while queue.tasks.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    // The process "dies": the recorded events go through the journal's shape and back.
    let recorded: Vec<Event> =
        first.history().events().iter().map(|e| Event::from_json(&e.to_stored_json()).unwrap()).collect();
    let token = queue.tasks.lock().unwrap()[0].token.clone();
    first.abandon();
    queue.tasks.lock().unwrap().clear();

    let (engine, queue) = setup();
    let prepared = engine.prepare(machine(task, json!({})), "m").unwrap();
    let resumed = engine.resume(
        &prepared,
        ResumeRequest {
            execution_arn: first.arn.clone(),
            execution_name: "e".into(),
            input: json!({"n": 1}),
            role_arn: None,
            start_time: first.start_date,
            events: recorded,
        },
    );
    let t = queue.take(&engine, "w").await;
    assert_eq!(t.token, token, "the recorded token");
    // TimeoutSeconds counts from the recorded ActivityScheduled: 40 of its 100 s are left.
    let o = resumed.wait().await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    let events = resumed.history().events();
    let types: Vec<String> = events.iter().map(Event::event_type).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivityTimedOut",
            "ExecutionFailed"
        ]
    );
    let waited = events[4].timestamp - events[2].timestamp;
    assert_eq!(waited.num_seconds(), 100, "{waited}");
}
