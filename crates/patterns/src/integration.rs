//! The `ServiceIntegration` seam and the pattern driver shared by every service.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sfn_path::ErrorName;

use crate::abort::AbortSignal;
use crate::error::{CheckError, Failure};
use crate::resource::{Pattern, ServiceResource};
use crate::token::{CallbackMessage, CallbackReceiver};

/// Everything an integration may want to know about the task invocation it serves.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The parsed `Resource`.
    pub resource: ServiceResource,
    /// The execution's ARN.
    pub execution_arn: String,
    /// The Task state's name.
    pub state_name: String,
    /// The id of this invocation's `TaskScheduled` event: unique within the execution and stable across restarts.
    pub scheduled_event_id: u64,
    /// Retry attempt (0 for the first).
    pub attempt: u32,
    /// Region of the state machine.
    pub region: String,
    /// Account of the state machine.
    pub account: String,
    /// The task token, for `.waitForTaskToken`.
    pub token: Option<String>,
}

impl TaskContext {
    /// An idempotency key for this invocation (≤ 64 characters, e.g. ECS `ClientToken`): a stable hash
    /// of the execution ARN, the TaskScheduled event id and the attempt — the same after a restart.
    pub fn idempotency_key(&self) -> String {
        let hash = self
            .execution_arn
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        format!("sfn-{hash:016x}-{}-{}", self.scheduled_event_id, self.attempt)
    }
}

/// A static finding about one Task state, from the integration that serves it. Lints are ours, not
/// AWS's: they are always warnings and never change a definition's verdict (AWS checks an optimized
/// integration's parameters only when the task runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// Stable code (`ECS_UNKNOWN_FIELD`, …).
    pub code: String,
    /// JSON pointer relative to the Task state (`/Parameters/Overrides/...`).
    pub pointer: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// A service that Task states can call; the engine knows services only through this trait.
#[async_trait]
pub trait ServiceIntegration: Send + Sync {
    /// The service name as in the resource and history's `resourceType` (`ecs`).
    fn service(&self) -> &str;

    /// Whether this action and pattern are supported; the error ([`CheckError::unsupported`]) has an
    /// AWS-like message for validation.
    fn check(&self, resource: &ServiceResource) -> Result<(), CheckError>;

    /// Static findings about a Task state that uses this service (`state` is the state's JSON).
    fn lint(&self, _resource: &ServiceResource, _state: &Value) -> Vec<Lint> {
        Vec::new()
    }

    /// Checks a mocked result (TestState `mock.result`) against this action's response model, as AWS's
    /// `fieldValidationMode` does: present members must have the model's types (members the model does
    /// not name are accepted); `strict` also requires the required members. The default accepts anything.
    fn check_result(
        &self,
        _resource: &ServiceResource,
        _result: &Value,
        _strict: bool,
    ) -> Result<(), crate::MockResultError> {
        Ok(())
    }

    /// Adjusts the evaluated parameters before the task is scheduled; the history's `TaskScheduled` shows
    /// the result (ECS `.sync` adds `StartedBy: "AWS Step Functions"`). The default keeps them as they are.
    fn prepare(&self, _resource: &ServiceResource, parameters: Value) -> Value {
        parameters
    }

    /// Calls the API with the evaluated parameters. For request-response this is the state's result;
    /// for `.sync` and `.waitForTaskToken` it is the submission (the `TaskSubmitted` output).
    async fn submit(&self, ctx: &TaskContext, parameters: Value) -> Result<Value, Failure>;

    /// `.sync` and `.waitForTaskToken`: calls the API as [`ServiceIntegration::submit`] does, for a
    /// submission that only the history reads (its `TaskSubmitted` output) and that waiting follows
    /// through its [`ServiceIntegration::handle`]. An integration may answer with the response's JSON
    /// text and the handle at once ([`Submission::Rendered`]) instead of a value built to be written
    /// out and dropped. The default is `submit`'s answer.
    async fn submit_job(&self, ctx: &TaskContext, parameters: Value) -> Result<Submission, Failure> {
        self.submit(ctx, parameters).await.map(Submission::Response)
    }

    /// What `wait` and `stop` need of a submission, kept while the job runs instead of the whole API
    /// response (thousands of concurrent `.sync` jobs each hold one). The default keeps everything.
    fn handle(&self, submitted: &Value) -> Value {
        submitted.clone()
    }

    /// `.sync`: waits until the submitted job ends and returns its result.
    async fn wait(&self, ctx: &TaskContext, _submitted: &Value) -> Result<Value, Failure> {
        Err(Failure::new(
            ErrorName::Runtime,
            format!(
                "the {} integration does not support the {} pattern",
                self.service(),
                ctx.resource.pattern
            ),
        ))
    }

    /// Stops the submitted job (state timeout or execution stopped). Best effort; never fails the state.
    async fn stop(&self, _ctx: &TaskContext, _submitted: &Value, _reason: &str) {}

    /// `.sync`: the job's end is on record — the event that ends the invocation is durable in the
    /// execution's history — so what the service keeps for a resumed execution to ask for (a local task's
    /// directory) may go at its retention. `handle` is what [`ServiceIntegration::handle`] kept. The
    /// default does nothing.
    fn release(&self, _handle: &Value) {}
}

/// The integrations available to an engine, by service name.
#[derive(Clone, Default)]
pub struct Integrations {
    by_service: BTreeMap<String, Arc<dyn ServiceIntegration>>,
}

impl std::fmt::Debug for Integrations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_service.keys()).finish()
    }
}

impl Integrations {
    /// No integrations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the integration for its service.
    pub fn register(&mut self, integration: Arc<dyn ServiceIntegration>) -> &mut Self {
        self.by_service.insert(integration.service().to_owned(), integration);
        self
    }

    /// The integration serving a resource (SDK integrations are looked up as `aws-sdk:<service>`).
    pub fn get(&self, resource: &ServiceResource) -> Option<&Arc<dyn ServiceIntegration>> {
        self.by_service.get(&resource.history_resource_type())
    }

    /// Checks that a resource can be served: an integration exists and accepts the action and pattern.
    pub fn check(&self, resource: &ServiceResource) -> Result<(), CheckError> {
        match self.get(resource) {
            Some(i) => i.check(resource),
            None => Err(CheckError::no_integration(format!(
                "no integration is registered for '{}' (service '{}'); supported: {}",
                resource.history_resource(),
                resource.history_resource_type(),
                if self.by_service.is_empty() {
                    "none".to_owned()
                } else {
                    self.by_service.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))),
        }
    }
}

/// TimeoutSeconds and HeartbeatSeconds of one task invocation, already evaluated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskTimeouts {
    /// `TimeoutSeconds`: the whole task, from TaskStarted.
    pub timeout: Option<Duration>,
    /// `HeartbeatSeconds`: longest gap between heartbeats (callbacks and `.sync` jobs).
    pub heartbeat: Option<Duration>,
}

/// A job's submission ([`ServiceIntegration::submit_job`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    /// The API response.
    Response(Value),
    /// The API response as its compact JSON text (exactly what serializing the response's value with
    /// `serde_json` writes), and what [`ServiceIntegration::handle`] would keep of it.
    Rendered {
        /// The response's JSON text.
        text: String,
        /// What waiting for the job needs.
        handle: Value,
    },
}

/// A submission as the observer is told of it: the response, or its JSON text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Submitted<'a> {
    /// The API response (or the one recorded).
    Value(&'a Value),
    /// The API response's compact JSON text ([`Submission::Rendered`]).
    Text(&'a str),
}

/// Callbacks through which the driver reports progress, so the engine can write history as it happens.
pub trait TaskObserver: Send + Sync {
    /// The job was submitted (`.sync`, `.waitForTaskToken`); `output` is the API response.
    fn submitted(&self, _output: Submitted<'_>) {}
    /// A heartbeat arrived.
    fn heartbeat(&self) {}
    /// `.sync`: the job is waited for; `handle` is what [`ServiceIntegration::handle`] kept of it (the
    /// engine hands it to [`ServiceIntegration::release`] once the job's end is on record).
    fn waiting(&self, _handle: &Value) {}
}

/// A no-op observer.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;
impl TaskObserver for NoObserver {}

/// How one task invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The state's result (before ResultSelector/ResultPath).
    Succeeded(Value),
    /// Failed with an error name and cause.
    Failed(Failure),
    /// TimeoutSeconds (`States.Timeout`) or HeartbeatSeconds (`States.HeartbeatTimeout`) expired.
    TimedOut(Failure),
    /// The execution was stopped while the task ran.
    Aborted,
}

/// Runs one task invocation with the semantics of its pattern (AWS "Discover service integration patterns"):
/// request-response returns the API response; `.sync` submits then waits for the job (or, with `callback`,
/// the first SendTaskSuccess/Failure on its token); `.waitForTaskToken` submits then waits for
/// SendTaskSuccess/Failure, with heartbeats. TimeoutSeconds covers the whole task;
/// a `.sync` job is stopped when it times out or the execution is aborted; a callback job is not (as on AWS).
pub async fn run_task(
    integration: &dyn ServiceIntegration,
    ctx: &TaskContext,
    parameters: Value,
    callback: Option<CallbackReceiver>,
    timeouts: TaskTimeouts,
    abort: &AbortSignal,
    observer: &dyn TaskObserver,
) -> TaskOutcome {
    let deadline = timeouts.timeout.map(|d| tokio::time::Instant::now() + d);
    let pattern = ctx.resource.pattern;

    // Submit.
    if pattern == Pattern::RequestResponse {
        return tokio::select! {
            r = integration.submit(ctx, parameters) => match r {
                Ok(v) => TaskOutcome::Succeeded(v),
                Err(f) => TaskOutcome::Failed(f),
            },
            () = sleep_until(deadline) => timed_out(),
            () = abort.aborted() => TaskOutcome::Aborted,
        };
    }
    let submitted = tokio::select! {
        r = integration.submit_job(ctx, parameters) => r,
        () = sleep_until(deadline) => return timed_out(),
        () = abort.aborted() => return TaskOutcome::Aborted,
    };
    let submitted = match submitted {
        Ok(s) => s,
        Err(f) => return TaskOutcome::Failed(f),
    };
    let waiting = Waiting { integration, ctx, abort, observer, deadline };
    match submitted {
        Submission::Response(v) => {
            observer.submitted(Submitted::Value(&v));
            follow(waiting, v, callback, timeouts.heartbeat).await
        }
        Submission::Rendered { text, handle } => {
            observer.submitted(Submitted::Text(&text));
            drop(text);
            follow_handle(waiting, handle, callback, timeouts.heartbeat).await
        }
    }
}

/// Continues a task invocation whose submission was recorded before a restart (its `TaskSubmitted` output):
/// `.sync` waits for the submitted job again (e.g. polls the ECS task by ARN; nothing is submitted twice);
/// `.waitForTaskToken` waits on `callback`, the recorded token registered again with
/// [`TokenRegistry::adopt`](crate::TokenRegistry::adopt), so SendTaskSuccess with the old token completes it.
/// `timeouts.timeout` is what is left of TimeoutSeconds (the caller deducts the time since TaskStarted);
/// HeartbeatSeconds counts from now.
pub async fn resume_task(
    integration: &dyn ServiceIntegration,
    ctx: &TaskContext,
    submitted: Value,
    callback: Option<CallbackReceiver>,
    timeouts: TaskTimeouts,
    abort: &AbortSignal,
    observer: &dyn TaskObserver,
) -> TaskOutcome {
    let deadline = timeouts.timeout.map(|d| tokio::time::Instant::now() + d);
    if ctx.resource.pattern == Pattern::RequestResponse {
        return TaskOutcome::Succeeded(submitted);
    }
    let waiting = Waiting { integration, ctx, abort, observer, deadline };
    follow(waiting, submitted, callback, timeouts.heartbeat).await
}

/// What waiting for a submitted task needs besides the submission itself.
struct Waiting<'a> {
    integration: &'a dyn ServiceIntegration,
    ctx: &'a TaskContext,
    abort: &'a AbortSignal,
    observer: &'a dyn TaskObserver,
    /// When TimeoutSeconds runs out.
    deadline: Option<tokio::time::Instant>,
}

fn timed_out() -> TaskOutcome {
    TaskOutcome::TimedOut(Failure::named(ErrorName::Timeout))
}

/// After the submission: waits for the `.sync` job or the callback, until the deadline.
async fn follow(
    w: Waiting<'_>,
    submitted: Value,
    callback: Option<CallbackReceiver>,
    heartbeat: Option<Duration>,
) -> TaskOutcome {
    // Keep only what waiting needs; the full response is already in the history.
    let handle =
        if w.ctx.resource.pattern.is_sync() { w.integration.handle(&submitted) } else { Value::Null };
    drop(submitted);
    follow_handle(w, handle, callback, heartbeat).await
}

/// [`follow`] with what waiting keeps of the submission (`.sync`: its handle; a callback needs none).
async fn follow_handle(
    w: Waiting<'_>,
    handle: Value,
    callback: Option<CallbackReceiver>,
    heartbeat: Option<Duration>,
) -> TaskOutcome {
    if w.ctx.resource.pattern.is_sync() {
        w.observer.waiting(&handle);
        return wait_for_job(&w, &handle, callback, heartbeat).await;
    }
    drop(handle);
    match callback {
        // Boxed: a waiting `.sync` task's future does not carry its size.
        Some(rx) => Box::pin(wait_for_callback(&w, rx, heartbeat)).await,
        None => TaskOutcome::Failed(Failure::new(
            ErrorName::Runtime,
            "a .waitForTaskToken task was started without a task token",
        )),
    }
}

/// `.sync`: the job's end, or its stop when the state times out or the execution is stopped — or, first,
/// a callback on the task's token (`callback`): a `.sync` task has a `$$.Task.Token` too, and
/// SendTaskSuccess / SendTaskFailure with it ends the task at once with that output or error, while the
/// job runs on (Step Functions API reference, SendTaskSuccess: "used by … optionally Task states using
/// the job run pattern"; AWS-recorded: LocalStack's `test_callback.py::test_sync_with_task_token`, a
/// `startExecution.sync` task completed by SendTaskSuccess while its child waits).
///
/// `HeartbeatSeconds` holds for a `.sync` task too: its heartbeat clock starts once the job is submitted,
/// each SendTaskHeartbeat on its token resets it, and when it runs out the job is stopped and the task
/// times out as a callback task's does (`TaskTimedOut`, `States.Timeout`; Step Functions API reference,
/// SendTaskHeartbeat: "if the task times out, the execution history contains … a TaskTimedOut entry for
/// tasks using the job run or callback pattern"). A task whose parameters do not pass its token can
/// send no heartbeat, so a HeartbeatSeconds shorter than its job fails it, as on AWS.
async fn wait_for_job(
    w: &Waiting<'_>,
    submitted: &Value,
    mut callback: Option<CallbackReceiver>,
    heartbeat: Option<Duration>,
) -> TaskOutcome {
    let mut job = std::pin::pin!(w.integration.wait(w.ctx, submitted));
    let mut heartbeat_due = due(heartbeat);
    loop {
        tokio::select! {
            r = &mut job => return match r {
                Ok(v) => TaskOutcome::Succeeded(v),
                Err(f) => TaskOutcome::Failed(f),
            },
            msg = next_callback(&mut callback) => match msg {
                Some(CallbackMessage::Success(v)) => return TaskOutcome::Succeeded(v),
                Some(CallbackMessage::Failure { error, cause }) => {
                    return TaskOutcome::Failed(Failure { name: error.map(ErrorName::from), cause });
                }
                Some(CallbackMessage::Heartbeat) => {
                    w.observer.heartbeat();
                    heartbeat_due = due(heartbeat);
                }
                Some(CallbackMessage::Started { .. }) => {}
                // The registry is gone: only the job can end the task now.
                None => callback = None,
            },
            failure = expiry(w.deadline, heartbeat_due) => {
                if let Some(rx) = &mut callback {
                    rx.mark_timed_out();
                }
                w.integration.stop(w.ctx, submitted, "Step Functions state timed out").await;
                return TaskOutcome::TimedOut(failure);
            }
            () = w.abort.aborted() => {
                w.integration.stop(w.ctx, submitted, "Step Functions execution stopped").await;
                return TaskOutcome::Aborted;
            }
        }
    }
}

/// The next message on a task's token; pending for ever when it has none.
async fn next_callback(rx: &mut Option<CallbackReceiver>) -> Option<CallbackMessage> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// `.waitForTaskToken`: SendTaskSuccess / SendTaskFailure, heartbeats pushing `heartbeat` back, or a timeout.
async fn wait_for_callback(
    w: &Waiting<'_>,
    mut rx: CallbackReceiver,
    heartbeat: Option<Duration>,
) -> TaskOutcome {
    let mut heartbeat_due = due(heartbeat);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(CallbackMessage::Success(v)) => return TaskOutcome::Succeeded(v),
                Some(CallbackMessage::Failure { error, cause }) => {
                    return TaskOutcome::Failed(Failure { name: error.map(ErrorName::from), cause });
                }
                Some(CallbackMessage::Heartbeat) => {
                    w.observer.heartbeat();
                    heartbeat_due = due(heartbeat);
                }
                // Only activity tasks are taken by workers; a callback task has no such step.
                Some(CallbackMessage::Started { .. }) => {}
                None => return TaskOutcome::Aborted,
            },
            failure = expiry(w.deadline, heartbeat_due) => {
                rx.mark_timed_out();
                return TaskOutcome::TimedOut(failure);
            }
            () = w.abort.aborted() => return TaskOutcome::Aborted,
        }
    }
}

/// When a HeartbeatSeconds clock started (or reset) now runs out.
fn due(heartbeat: Option<Duration>) -> Option<tokio::time::Instant> {
    heartbeat.map(|d| tokio::time::Instant::now() + d)
}

/// The first of a waiting task's two clocks to run out — TimeoutSeconds (`deadline`) or HeartbeatSeconds
/// (`heartbeat_due`) — as the failure that times the task out.
async fn expiry(
    deadline: Option<tokio::time::Instant>,
    heartbeat_due: Option<tokio::time::Instant>,
) -> Failure {
    tokio::select! {
        () = sleep_until(deadline) => Failure::named(ErrorName::Timeout),
        () = sleep_until(heartbeat_due) => Failure::named(ErrorName::HeartbeatTimeout),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The ECS-style "Failures" rule (AWS: Run Amazon ECS tasks, "Key features"): an HTTP 200 response with a
/// non-empty `Failures` array is returned as-is for request-response, and fails `.sync` and
/// `.waitForTaskToken` with `error_name` and the failures as JSON for cause.
pub fn failures_rule(pattern: Pattern, response: &Value, error_name: &str) -> Result<(), Failure> {
    if pattern == Pattern::RequestResponse {
        return Ok(());
    }
    match response.get("Failures") {
        Some(Value::Array(f)) if !f.is_empty() => {
            Err(Failure::new(error_name, serde_json::to_string(f).unwrap_or_default()))
        }
        _ => Ok(()),
    }
}
