//! Task states on activity ARNs (`arn:aws:states:REGION:ACCOUNT:activity:NAME`): the state's input
//! (after InputPath and Parameters) waits in the engine's [`ActivityQueue`] for a worker's
//! GetActivityTask, and the worker completes it with SendTaskSuccess / SendFailure /
//! SendTaskHeartbeat on the task token it was handed.
//!
//! History, as AWS records it (LocalStack's AWS-validated `activities/test_activities.snapshot.json`):
//! `ActivityScheduled` (resource, input, `timeoutInSeconds`/`heartbeatInSeconds` when set) after the
//! state's entry, `ActivityStarted` (`workerName`, absent when the worker gave none) when a worker takes
//! the task, then `ActivitySucceeded` (output), `ActivityFailed` (error, cause) or `ActivityTimedOut`
//! (`States.Timeout`), each linked to the one before. A Task on an activity that does not exist fails
//! with `States.Runtime` ("The activity ARN does not exist.") and schedules nothing
//! (`test_activity_task_on_deleted`). `TimeoutSeconds` counts from `ActivityScheduled` (a task no worker
//! takes times out too); `HeartbeatSeconds` from `ActivityStarted` and each heartbeat, and its expiry is
//! recorded as `States.Timeout` and caught as `States.HeartbeatTimeout` (as for other tasks, see
//! `sfn_path::ErrorName::HeartbeatTimeout`).
//!
//! Resumed (after a restart): the recorded token is registered again, so a worker that holds it still
//! completes the task; a task no worker had taken is offered to the workers again.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sfn_path::ErrorName;
use sfn_patterns::{ActivityQueue, ActivityTask, CallbackMessage, TaskOutcome, TokenOwner};

use crate::error::{Failure, Interrupt};
use crate::exec::{Exec, StateCtx};
use crate::history::{EventDetails, JsonText};
use crate::replay::Replay;

/// One attempt of a Task state on the activity `arn`, whose evaluated input is `input`.
pub(crate) async fn run(
    ctx: &StateCtx<'_>,
    queue: &Arc<dyn ActivityQueue>,
    arn: &str,
    input: Value,
    (timeout, heartbeat): (Option<u64>, Option<u64>),
    prev: &mut u64,
) -> Result<Value, Interrupt> {
    let exec = ctx.exec;
    let record = exec.replay.as_ref().map(|r| r.activity(*prev)).unwrap_or_default();
    if record.token.is_none() && record.outcome.is_none() && !queue.exists(arn) {
        return Err(ctx.runtime(&format!("The activity {arn} does not exist.")).into());
    }
    let owner = TokenOwner { execution_arn: exec.execution_arn.clone(), state_name: ctx.state.name.clone() };
    let rx = record.outcome.is_none().then(|| match record.token.clone() {
        Some(recorded) => exec.engine.tokens.adopt(recorded, owner),
        None => exec.engine.tokens.mint(owner),
    });
    let token = rx.as_ref().map(|r| r.token().to_owned()).or(record.token.clone());
    let input_text = JsonText::new(&input);
    drop(input);
    let scheduled = EventDetails::ActivityScheduled {
        resource: Arc::from(arn),
        input: input_text.clone(),
        timeout,
        heartbeat,
        token: token.as_deref().map(Arc::from),
    };
    ctx.event(prev, scheduled)?;
    if let Some(worker_name) = record.started.clone() {
        exec.event(prev, EventDetails::ActivityStarted { worker_name })?;
    }
    let (Some(mut rx), Some(token)) = (rx, token) else {
        // The outcome is on record.
        let outcome = record.outcome.unwrap_or(TaskOutcome::Aborted);
        return finish(exec, outcome, prev);
    };

    // Workers see the task only once its `ActivityScheduled` (and token) is on record (write-ahead).
    if let Some(durable) = exec.history.durable() {
        durable.await;
    }
    let started = record.started.is_some();
    let recorded = Arc::new(tokio::sync::Notify::new());
    let task = ActivityTask {
        activity_arn: arn.to_owned(),
        token: token.clone(),
        input: input_text.as_str().to_owned(),
        recorded: recorded.clone(),
    };
    if !started && !queue.offer(task) {
        return Err(ctx.runtime(&format!("The activity {arn} does not exist.")).into());
    }
    let mut timeout = timeout.map(Duration::from_secs);
    if let (Some(at), Some(t)) = (record.scheduled_at, timeout) {
        timeout = Some(Replay::timeout_left(at, t, exec.now()));
    }
    let heartbeat = heartbeat.map(Duration::from_secs);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut heartbeat_deadline = heartbeat.filter(|_| started).map(|h| tokio::time::Instant::now() + h);
    let outcome = loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(CallbackMessage::Success(v)) => break TaskOutcome::Succeeded(v),
                Some(CallbackMessage::Failure { error, cause }) => {
                    break TaskOutcome::Failed(Failure { name: error.map(ErrorName::from), cause });
                }
                Some(CallbackMessage::Heartbeat) => {
                    heartbeat_deadline = heartbeat.map(|h| tokio::time::Instant::now() + h);
                }
                Some(CallbackMessage::Started { worker_name }) => {
                    exec.event(prev, EventDetails::ActivityStarted { worker_name })?;
                    // The worker's GetActivityTask answers once this is on record.
                    if let Some(durable) = exec.history.durable() {
                        durable.await;
                    }
                    recorded.notify_one();
                    heartbeat_deadline = heartbeat.map(|h| tokio::time::Instant::now() + h);
                }
                None => break TaskOutcome::Aborted,
            },
            () = sleep_until(deadline) => {
                rx.mark_timed_out();
                break TaskOutcome::TimedOut(Failure::named(ErrorName::Timeout));
            }
            () = sleep_until(heartbeat_deadline) => {
                rx.mark_timed_out();
                break TaskOutcome::TimedOut(Failure::named(ErrorName::HeartbeatTimeout));
            }
            () = ctx.abort.aborted() => break TaskOutcome::Aborted,
        }
    };
    // A task no worker took is not handed out any more; its token is retired with `rx`.
    queue.withdraw(arn, &token);
    drop(rx);
    finish(exec, outcome, prev)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The event that ends the activity task and the state's result.
fn finish(exec: &Exec, outcome: TaskOutcome, prev: &mut u64) -> Result<Value, Interrupt> {
    match outcome {
        TaskOutcome::Succeeded(output) => {
            exec.event(prev, EventDetails::ActivitySucceeded { output: JsonText::new(&output) })?;
            Ok(output)
        }
        TaskOutcome::Failed(f) => {
            // SendFailure without an error: the history shows none.
            let name = f.name.filter(|n| !n.as_str().is_empty());
            let error = name.as_ref().map(ErrorName::to_string);
            exec.event(prev, EventDetails::ActivityFailed { error, cause: f.cause.clone() })?;
            Err(Interrupt::Fail(Failure { name, cause: f.cause }))
        }
        TaskOutcome::TimedOut(f) => {
            let name = f.name.unwrap_or(ErrorName::Timeout);
            let error = Some(name.to_string());
            exec.event(prev, EventDetails::ActivityTimedOut { error, cause: f.cause.clone() })?;
            Err(Interrupt::Fail(Failure { name: Some(name), cause: f.cause }))
        }
        TaskOutcome::Aborted => Err(Interrupt::Abort),
    }
}
