//! Nested executions (`states:startExecution`) on one engine: the `StatesIntegration` over a small
//! `Executions` that starts children on the same engine; the events AWS records for a `.sync:2` parent and a
//! stopped or timed-out parent stopping its child.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sfn_engine::{Engine, Execution, ExecutionStatus, Prepared, StartRequest};
use sfn_patterns::{ApiError, ChildExecution, Executions, StartChild, StatesIntegration};

const CHILD: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

/// One child machine (`child`) on the engine that runs the parent.
#[derive(Default)]
struct OneMachine {
    engine: OnceLock<(Engine, Prepared)>,
    runs: Mutex<BTreeMap<String, (Arc<Execution>, String)>>,
}

impl OneMachine {
    fn describe(arn: &str, input: &str, e: &Execution, o: Option<&sfn_engine::Outcome>) -> ChildExecution {
        ChildExecution {
            execution_arn: arn.to_owned(),
            state_machine_arn: CHILD.to_owned(),
            name: arn.rsplit(':').next().unwrap().to_owned(),
            status: o.map_or("RUNNING", |o| o.status.as_str()).to_owned(),
            input: input.to_owned(),
            output: o.and_then(|o| o.output.as_ref()).map(ToString::to_string),
            error: o.and_then(|o| o.error.clone()),
            cause: o.and_then(|o| o.cause.clone()),
            start_date_ms: e.start_date.timestamp_millis(),
            stop_date_ms: o.map(|o| o.stop_date.timestamp_millis()),
        }
    }

    fn get(&self, arn: &str) -> Result<(Arc<Execution>, String), ApiError> {
        self.runs.lock().unwrap().get(arn).cloned().ok_or_else(|| ApiError::new("ExecutionDoesNotExist", arn))
    }
}

#[async_trait]
impl Executions for OneMachine {
    async fn start(&self, r: StartChild) -> Result<ChildExecution, ApiError> {
        let (engine, prepared) = self.engine.get().unwrap();
        if r.state_machine_arn != CHILD {
            return Err(ApiError::no_machine(&r.state_machine_arn));
        }
        let input = serde_json::from_str(&r.input).unwrap();
        let name = r.name.unwrap_or_else(|| "kid".into());
        let e = engine
            .start(prepared, StartRequest { execution_name: name, input, role_arn: None, input_text: None });
        let d = Self::describe(&e.arn, &r.input, &e, None);
        self.runs.lock().unwrap().insert(e.arn.clone(), (Arc::new(e), r.input));
        Ok(d)
    }
    async fn wait(&self, arn: &str) -> Result<ChildExecution, ApiError> {
        let (e, input) = self.get(arn)?;
        let o = e.wait().await;
        Ok(Self::describe(arn, &input, &e, Some(&o)))
    }
    async fn stop(&self, arn: &str, error: Option<String>, cause: Option<String>) {
        if let Ok((e, _)) = self.get(arn) {
            e.stop_with(error, cause);
            e.wait().await;
        }
    }
}

fn machine(def: &Value) -> sfn_asl::StateMachine {
    sfn_asl::parse(&serde_json::to_vec(def).unwrap()).unwrap()
}

/// An engine whose `states` integration starts `child` (this definition) executions.
fn engine(child: &Value) -> (Engine, Arc<OneMachine>) {
    let children = Arc::new(OneMachine::default());
    let engine = Engine::builder().integration(Arc::new(StatesIntegration::new(children.clone()))).build();
    let prepared = engine.prepare(machine(child), "child").unwrap();
    assert!(children.engine.set((engine.clone(), prepared)).is_ok());
    (engine, children)
}

fn parent(resource: &str, extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": resource, "End": true,
        "Parameters": {"StateMachineArn": CHILD, "Input": {"n.$": "$.n"}}});
    if let (Value::Object(t), Value::Object(e)) = (&mut t, extra) {
        t.extend(e);
    }
    json!({"StartAt": "Nested", "States": {"Nested": t}})
}

fn start(engine: &Engine, def: &Value) -> Execution {
    let prepared = engine.prepare(machine(def), "parent").unwrap();
    engine.start(
        &prepared,
        StartRequest { execution_name: "p".into(), input: json!({"n": 2}), role_arn: None, input_text: None },
    )
}

#[tokio::test(start_paused = true)]
async fn sync2_parent_history_and_output() {
    let child = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"sum.$": "States.MathAdd($.n, 40)"}, "End": true}}});
    let (engine, _) = engine(&child);
    let p = start(
        &engine,
        &parent("arn:aws:states:::states:startExecution.sync:2", json!({"OutputPath": "$.Output"})),
    );
    let o = p.wait().await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output, Some(json!({"sum": 42})));
    let events: Vec<Value> = p.history().events().iter().map(sfn_engine::Event::to_json).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
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
    let scheduled = &events[2]["taskScheduledEventDetails"];
    assert_eq!(scheduled["resourceType"], "states");
    assert_eq!(scheduled["resource"], "startExecution.sync:2");
    let submitted: Value =
        serde_json::from_str(events[4]["taskSubmittedEventDetails"]["output"].as_str().unwrap()).unwrap();
    // No Name: the child is named after the invocation, a UUID-shaped name (see sfn-patterns' nested tests).
    let arn = submitted["ExecutionArn"].as_str().unwrap();
    let name = arn.strip_prefix("arn:aws:states:us-east-1:123456789012:execution:child:").unwrap();
    assert_eq!(name.split('-').map(str::len).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{arn}");
    assert!(submitted["StartDate"].is_i64());
}

#[tokio::test(start_paused = true)]
async fn stopping_the_parent_stops_the_sync_child() {
    let child = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let (engine, children) = engine(&child);
    let p = start(&engine, &parent("arn:aws:states:::states:startExecution.sync", json!({})));
    while children.runs.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.stop();
    assert_eq!(p.wait().await.status, ExecutionStatus::Aborted);
    let (kid, _) = children.runs.lock().unwrap().values().next().cloned().unwrap();
    assert_eq!(kid.wait().await.status, ExecutionStatus::Aborted);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_sync_task_stops_its_child_and_a_callback_one_does_not() {
    let child = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    for (suffix, child_status) in [(".sync", Some(ExecutionStatus::Aborted)), (".waitForTaskToken", None)] {
        let (engine, children) = engine(&child);
        let resource = format!("arn:aws:states:::states:startExecution{suffix}");
        let p = start(&engine, &parent(&resource, json!({"TimeoutSeconds": 5})));
        let o = p.wait().await;
        assert_eq!(o.error.as_deref(), Some("States.Timeout"), "{suffix}");
        let (kid, _) = children.runs.lock().unwrap().values().next().cloned().unwrap();
        assert_eq!(kid.outcome().map(|o| o.status), child_status, "{suffix}");
    }
}

/// A child that runs on long after its parent's task has its answer.
fn waiting_child() -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}})
}

/// The `TaskToken` the parent passed in its (only) child's input, once the child has started (within a
/// minute of the paused clock).
async fn child_token(children: &OneMachine) -> String {
    for _ in 0..6000 {
        if let Some((_, input)) = children.runs.lock().unwrap().values().next() {
            let input: Value = serde_json::from_str(input).unwrap();
            return input["TaskToken"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the parent started no child");
}

/// AWS-recorded (`../shared/recorded/callback.history.json`, LocalStack's AWS-validated
/// `test_callback.py::test_sync_with_task_token`): a `startExecution.sync` task passes `$$.Task.Token` in
/// its child's input; a worker's SendTaskSuccess with that token (its output a JSON string) ends the task
/// with that output verbatim — not the DescribeExecution shape — while the child waits on. The child here
/// waits as the recorded one does after handing the token to the worker's queue; the worker is this test.
#[tokio::test(start_paused = true)]
#[allow(clippy::print_stderr, reason = "the test says why it skipped")]
async fn test_sync_with_task_token() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/recorded/callback.history.json");
    let Some(rec) = crate::history_diff::recorded_content(&path, "test_sync_with_task_token") else {
        eprintln!("skipped: {} is absent", path.display());
        return;
    };
    let events = rec["get_execution_history"]["events"].as_array().unwrap();
    let mut input = events[0]["executionStartedEventDetails"]["input"].clone();
    input["StateMachineArn"] = json!(CHILD);
    let def = json!({"StartAt": "StartExecution", "States": {"StartExecution": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn.$": "$.StateMachineArn", "Name.$": "$.Name",
            "Input": {"TaskToken.$": "$$.Task.Token", "QueueUrl.$": "$.QueueUrl"}},
        "End": true}}});
    let (engine, children) = engine(&waiting_child());
    let prepared = engine.prepare(machine(&def), "parent").unwrap();
    let p = engine.start(
        &prepared,
        StartRequest { execution_name: "p".into(), input, role_arn: None, input_text: None },
    );
    let token = child_token(&children).await;
    engine.tokens().send_success(&token, "\"SQS_SEND_MESSAGE_AND_WAIT\"").unwrap();
    let o = p.wait().await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let got: Vec<Value> = p.history().events().iter().map(sfn_engine::Event::to_json).collect();
    let diff = crate::history_diff::history_diff(events, &got);
    assert!(diff.is_empty(), "sfn's history differs from AWS's:\n{}\nsfn: {got:#?}", diff.join("\n"));
    // The child runs on; the token is spent.
    let (kid, _) = children.runs.lock().unwrap().values().next().cloned().unwrap();
    assert!(kid.outcome().is_none());
    assert!(engine.tokens().send_success(&token, "{}").is_err());
}

/// The same token takes SendTaskFailure (the task fails with that error and cause, as a callback task's
/// does) and SendTaskHeartbeat (accepted; the task goes on waiting), on `.sync` and `.sync:2` alike.
#[tokio::test(start_paused = true)]
async fn a_sync_task_token_takes_failure_and_heartbeat() {
    for suffix in [".sync", ".sync:2"] {
        let (engine, children) = engine(&waiting_child());
        let resource = format!("arn:aws:states:::states:startExecution{suffix}");
        let mut def = parent(&resource, json!({}));
        def["States"]["Nested"]["Parameters"]["Input"] = json!({"TaskToken.$": "$$.Task.Token"});
        let p = start(&engine, &def);
        let token = child_token(&children).await;
        engine.tokens().send_heartbeat(&token).unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(p.outcome().is_none(), "{suffix}: a heartbeat does not end the task");
        engine.tokens().send_failure(&token, Some("Worker.Gave.Up".into()), Some("no more".into())).unwrap();
        let o = p.wait().await;
        assert_eq!(
            (o.error.as_deref(), o.cause.as_deref()),
            (Some("Worker.Gave.Up"), Some("no more")),
            "{suffix}"
        );
        let failed = p
            .history()
            .events()
            .iter()
            .map(sfn_engine::Event::to_json)
            .find(|e| e["type"] == "TaskFailed")
            .unwrap();
        assert_eq!(failed["taskFailedEventDetails"]["error"], "Worker.Gave.Up", "{suffix}");
        let (kid, _) = children.runs.lock().unwrap().values().next().cloned().unwrap();
        assert!(kid.outcome().is_none(), "{suffix}: the child runs on");
    }
}

/// Without a callback the `.sync` task still ends with its job (DescribeExecution), and a token sent
/// to after that answers TaskDoesNotExist.
#[tokio::test(start_paused = true)]
async fn a_sync_task_token_is_spent_when_the_job_ends() {
    let child = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}});
    let (engine, children) = engine(&child);
    let mut def = parent("arn:aws:states:::states:startExecution.sync:2", json!({"OutputPath": "$.Output"}));
    def["States"]["Nested"]["Parameters"]["Input"] = json!({"TaskToken.$": "$$.Task.Token"});
    let p = start(&engine, &def);
    let token = child_token(&children).await;
    let o = p.wait().await;
    assert_eq!(o.output, Some(json!(1)), "{o:?}");
    let e = engine.tokens().send_success(&token, "{}").unwrap_err();
    assert_eq!(e.code(), "TaskDoesNotExist");
}
