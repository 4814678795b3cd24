//! Task states: Parameters → integration pattern (through `sfn-patterns`) → history events; a mocked
//! Task (Step Functions Local's mocks, TestState's `mock`) records the same events with the mock's answer;
//! a Task on an activity ARN waits for a worker (`activity`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sfn_asl::{Dynamic, Task};
use sfn_path::ErrorName;
use sfn_patterns::{TaskContext, TaskObserver, TaskOutcome, TaskTimeouts, TokenOwner};

use crate::error::{Failure, Interrupt};
use crate::exec::{Exec, StateCtx};
use crate::history::{EventDetails, JsonText, TaskResource};
use crate::inspect::TestMock;
use crate::jsonata::AtaScope;
use crate::replay::Invocation;

/// Records `TaskSubmitted` as the driver reports it.
struct Observer<'a> {
    exec: &'a Exec,
    task: TaskResource,
    cursor: Mutex<u64>,
    full: Mutex<Option<Interrupt>>,
    /// `.sync`: what the integration keeps of the job it waits for (released once its end is on record).
    waiting: Mutex<Option<Value>>,
}

impl<'a> Observer<'a> {
    /// Events of `task` follow event `prev`.
    fn new(exec: &'a Exec, task: TaskResource, prev: u64) -> Self {
        Observer { exec, task, cursor: Mutex::new(prev), full: Mutex::new(None), waiting: Mutex::new(None) }
    }
}

impl TaskObserver for Observer<'_> {
    fn submitted(&self, output: sfn_patterns::Submitted<'_>) {
        let output = match output {
            sfn_patterns::Submitted::Value(v) => JsonText::new(v),
            sfn_patterns::Submitted::Text(text) => JsonText::from_text(text),
        };
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let details = EventDetails::TaskSubmitted { task: self.task.clone(), output };
        if let Err(e) = self.exec.event(&mut cursor, details) {
            *self.full.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
        }
    }

    fn waiting(&self, handle: &Value) {
        *self.waiting.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.clone());
    }
}

/// One attempt of a Task state: its result is the integration's (or the mock's) output.
pub(crate) async fn run(
    ctx: StateCtx<'_>,
    t: &Task,
    input: &Value,
    prev: &mut u64,
) -> Result<Value, Interrupt> {
    let (exec, state) = (ctx.exec, ctx.state);
    if let Some(mock) = ctx.test_mock() {
        let response = match mock {
            TestMock::Result(v) => crate::mocks::MockResponse::Return(v.clone()),
            TestMock::Error { error, cause } => {
                crate::mocks::MockResponse::Throw { error: error.clone(), cause: cause.clone() }
            }
        };
        return Box::pin(mocked(&ctx, t, input, prev, &|_, _| Some(response.clone()))).await;
    }
    if let Some(mocks) = exec.mocks.as_ref().filter(|m| m.covers(&state.name)) {
        let respond = |_: &Value, invocation| mocks.respond(&state.name, invocation);
        return Box::pin(mocked(&ctx, t, input, prev, &respond)).await;
    }
    if let Some(queue) = &exec.engine.activities
        && matches!(sfn_patterns::Resource::parse(&t.resource), Ok(sfn_patterns::Resource::Activity(_)))
    {
        let eff = ctx.input_path(input)?;
        let parameters = ctx.parameters(t.parameters.as_ref(), eff).await?;
        let timeout = seconds(&ctx, &t.timeout_seconds, "TimeoutSecondsPath", input)?;
        let heartbeat = seconds(&ctx, &t.heartbeat_seconds, "HeartbeatSecondsPath", input)?;
        let activity = crate::activity::run(&ctx, queue, &t.resource, parameters, (timeout, heartbeat), prev);
        return Box::pin(activity).await;
    }
    let Some(binding) = exec.engine.binding(t) else {
        if exec.engine.unmocked == crate::mocks::Unmocked::Echo {
            let echo = |parameters: &Value, _| Some(crate::mocks::MockResponse::Return(parameters.clone()));
            return Box::pin(mocked(&ctx, t, input, prev, &echo)).await;
        }
        return Err(unserved(&ctx, t, input));
    };
    let resource = &binding.resource;
    let eff = ctx.input_path(input)?;

    // A resumed execution: what this invocation recorded before the restart (its token, its result…).
    // Boxed: the task's future holds it while the task waits.
    let record = exec.replay.as_ref().map(|r| Box::new(r.task(*prev)));
    let done = record.as_ref().is_some_and(|r| r.outcome.is_some());
    let callback = (resource.pattern.has_task_token(t.parameters.as_ref()) && !done)
        .then(|| callback_token(&ctx, record.as_ref().and_then(|r| r.token.clone())));
    let token = match &callback {
        Some(c) => Some(c.token().to_owned()),
        None => record.as_ref().and_then(|r| r.token.clone()),
    };
    // A callback or `.sync` task has its token before Parameters are evaluated (`$$.Task.Token`).
    let parameters = ctx.with(token.as_deref(), None).parameters(t.parameters.as_ref(), eff).await?;
    let parameters = binding.integration.prepare(resource, parameters);
    let timeout = seconds(&ctx, &t.timeout_seconds, "TimeoutSecondsPath", input)?;
    let heartbeat = seconds(&ctx, &t.heartbeat_seconds, "HeartbeatSecondsPath", input)?;

    let task = TaskResource {
        resource_type: Arc::from(resource.history_resource_type().as_str()),
        resource: Arc::from(resource.history_resource().as_str()),
    };
    let scheduled = schedule(&ctx, &task, &parameters, (timeout, heartbeat), prev)?;
    let token_text = callback.as_ref().map(|c| Arc::from(c.token()));
    exec.event(prev, EventDetails::TaskStarted { task: task.clone(), token: token_text })?;

    let task_context = task_context(&ctx, resource.clone(), scheduled, token);
    let observer = Observer::new(exec, task.clone(), *prev);
    let call = Invocation {
        integration: binding.integration.as_ref(),
        ctx: &task_context,
        parameters,
        callback,
        timeouts: TaskTimeouts {
            timeout: timeout.map(Duration::from_secs),
            heartbeat: heartbeat.map(Duration::from_secs),
        },
        abort: ctx.abort,
        observer: &observer,
    };
    if record.is_none()
        && let Some(durable) = exec.history.durable()
    {
        durable.await;
    }
    let outcome = invoke(exec, call, record).await;
    *prev = *observer.cursor.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(full) = observer.full.lock().unwrap_or_else(|e| e.into_inner()).take() {
        return Err(full);
    }
    let waited = observer.waiting.lock().unwrap_or_else(|e| e.into_inner()).take();
    let ended = !matches!(outcome, TaskOutcome::Aborted);
    let before = exec.history.len();
    let result = finish(exec, task, outcome, prev);
    if let Some(handle) = waited
        && ended
        && exec.history.len() > before
    {
        release_when_recorded(exec, binding.integration.clone(), handle);
    }
    result
}

/// The failure of a Task that no mock and no integration serves (`--unmocked fail`). AWS evaluates a
/// Task's InputPath, Parameters/Arguments and timeouts before it calls the resource, so an error in them
/// is the state's error (e.g. a JSONata `Arguments` that returns nothing: `States.QueryEvaluationError`)
/// whatever would have served it; only then does the state fail with `States.Runtime` naming the resource.
fn unserved(ctx: &StateCtx<'_>, t: &Task, input: &Value) -> Interrupt {
    match evaluate(ctx, t, input) {
        Err(e) => e,
        Ok(_) => ctx
            .runtime(&format!(
                "No mock and no integration serves the resource '{}' of this state.",
                t.resource
            ))
            .into(),
    }
}

/// What a mocked or unserved Task evaluates before it calls its resource, in AWS's order: InputPath,
/// Parameters/Arguments (a callback task's may read `$$.Task.Token`: it has one, as in Step Functions
/// Local, retired when the receiver is dropped), then TimeoutSeconds and HeartbeatSeconds.
struct Evaluated {
    parsed: Result<sfn_patterns::Resource, sfn_patterns::ResourceError>,
    callback: Option<sfn_patterns::CallbackReceiver>,
    token: Option<String>,
    parameters: Value,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

fn evaluate(ctx: &StateCtx<'_>, t: &Task, input: &Value) -> Result<Evaluated, Interrupt> {
    let eff = ctx.input_path(input)?;
    let parsed = sfn_patterns::Resource::parse(&t.resource);
    let callback = matches!(&parsed, Ok(sfn_patterns::Resource::Service(r)) if r.pattern.has_task_token(t.parameters.as_ref()))
        .then(|| callback_token(ctx, None));
    let token = callback.as_ref().map(|c| c.token().to_owned());
    let parameters = ctx.in_place(ctx.with(token.as_deref(), None).parameters(t.parameters.as_ref(), eff))?;
    let timeout = seconds(ctx, &t.timeout_seconds, "TimeoutSecondsPath", input)?;
    let heartbeat = seconds(ctx, &t.heartbeat_seconds, "HeartbeatSecondsPath", input)?;
    Ok(Evaluated { parsed, callback, token, parameters, timeout, heartbeat })
}

/// The mock's invocation number for this state (0 first), counted per state over the execution.
fn next_invocation(ctx: &StateCtx<'_>) -> u32 {
    let mut calls = ctx.exec.mock_calls.lock().unwrap_or_else(|e| e.into_inner());
    let n = calls.entry(ctx.state.name.clone()).or_insert(0);
    *n += 1;
    *n - 1
}

/// Hands a `.sync` job back to its integration once the event that ends it is durable (at once without a
/// journal): what the service kept for a resumed execution to ask for may then go.
fn release_when_recorded(exec: &Exec, integration: Arc<dyn sfn_patterns::ServiceIntegration>, handle: Value) {
    match exec.history.durable() {
        None => integration.release(&handle),
        Some(durable) => {
            tokio::spawn(async move {
                durable.await;
                integration.release(&handle);
            });
        }
    }
}

/// What the integration is told of an invocation scheduled as event `scheduled`.
fn task_context(
    ctx: &StateCtx<'_>,
    resource: sfn_patterns::ServiceResource,
    scheduled: u64,
    token: Option<String>,
) -> TaskContext {
    let exec = ctx.exec;
    TaskContext {
        resource,
        execution_arn: exec.execution_arn.clone(),
        state_name: ctx.state.name.clone(),
        scheduled_event_id: scheduled,
        attempt: ctx.info.retry_count.unwrap_or(0),
        region: exec.engine.config.region.clone(),
        account: exec.engine.config.account.clone(),
        token,
    }
}

/// The task token of a callback or `.sync` task: the recorded one of a resumed invocation, else a new one.
fn callback_token(ctx: &StateCtx<'_>, recorded: Option<String>) -> sfn_patterns::CallbackReceiver {
    let exec = ctx.exec;
    let owner = TokenOwner { execution_arn: exec.execution_arn.clone(), state_name: ctx.state.name.clone() };
    match recorded {
        Some(recorded) => exec.engine.tokens.adopt(recorded, owner),
        None => exec.engine.tokens.mint(owner),
    }
}

/// `TimeoutSeconds`/`HeartbeatSeconds` (literal, `…Path` or JSONata).
fn seconds(
    ctx: &StateCtx<'_>,
    d: &Option<Dynamic<u64>>,
    field: &str,
    input: &Value,
) -> Result<Option<u64>, Failure> {
    match d {
        None => Ok(None),
        Some(Dynamic::Value(s)) => Ok(Some(*s)),
        Some(Dynamic::Path(p)) => {
            let v = p
                .eval(&sfn_path::Scope { input, context: &Value::Null, variables: ctx.vars })
                .map_err(|e| ctx.runtime(e.message()))?;
            match v.as_u64() {
                Some(n) if n > 0 => Ok(Some(n)),
                _ => Err(ctx.runtime(&format!(
                    "The {field} field refers to value {} which is not a valid positive integer: {}",
                    v,
                    p.source()
                ))),
            }
        }
        Some(Dynamic::Jsonata(e)) => {
            let field = field.trim_end_matches("Path");
            let n = ctx.in_place(ctx.ata_integer(e, field, AtaScope::input(input)))?;
            Ok(Some(n).filter(|n| *n > 0))
        }
    }
}

/// The `TaskScheduled` event (its id is the invocation's `scheduled_event_id`).
fn schedule(
    ctx: &StateCtx<'_>,
    task: &TaskResource,
    parameters: &Value,
    (timeout, heartbeat): (Option<u64>, Option<u64>),
    prev: &mut u64,
) -> Result<u64, Interrupt> {
    ctx.event(
        prev,
        EventDetails::TaskScheduled {
            task: task.clone(),
            region: ctx.exec.engine.config.region.clone(),
            parameters: JsonText::new(parameters),
            timeout,
            heartbeat,
        },
    )
}

/// Calls the integration: a resumed invocation follows its record; a fresh one is the call itself (the
/// caller waits until `TaskScheduled`/`TaskStarted` are durable first: write-ahead). Not an `async fn`:
/// one would hold `call` and `record` beside the call's future while the task waits. The resumed path is
/// boxed: it holds a whole fresh call besides its record, and every waiting task would otherwise carry
/// its size.
fn invoke<'a>(
    exec: &'a Exec,
    call: Invocation<'a>,
    record: Option<Box<crate::replay::TaskRecord>>,
) -> impl std::future::Future<Output = TaskOutcome> + Send + 'a {
    use futures_util::future::Either;
    match record {
        Some(record) => {
            let resumed: std::pin::Pin<Box<dyn std::future::Future<Output = TaskOutcome> + Send + 'a>> =
                Box::pin(crate::replay::task(*record, &exec.history, call, exec.now()));
            Either::Left(resumed)
        }
        None => Either::Right(call.run()),
    }
}

/// The event that ends the invocation (`TaskSucceeded`, `TaskFailed`, `TaskTimedOut`) and its result.
fn finish(exec: &Exec, task: TaskResource, outcome: TaskOutcome, prev: &mut u64) -> Result<Value, Interrupt> {
    match outcome {
        TaskOutcome::Succeeded(output) => {
            exec.event(prev, EventDetails::TaskSucceeded { task, output: JsonText::new(&output) })?;
            Ok(output)
        }
        TaskOutcome::Failed(f) => {
            // An empty name is no name: the history shows no error.
            let name = f.name.filter(|n| !n.as_str().is_empty());
            let error = name.as_ref().map(ErrorName::to_string);
            exec.event(prev, EventDetails::TaskFailed { task, error, cause: f.cause.clone() })?;
            Err(Interrupt::Fail(Failure { name, cause: f.cause }))
        }
        TaskOutcome::TimedOut(f) => {
            // A timeout always has a name (`States.Timeout` unless the integration gave another).
            let name = f.name.unwrap_or(ErrorName::Timeout);
            let error = Some(name.to_string());
            exec.event(prev, EventDetails::TaskTimedOut { task, error, cause: f.cause.clone() })?;
            Err(Interrupt::Fail(Failure { name: Some(name), cause: f.cause }))
        }
        TaskOutcome::Aborted => Err(Interrupt::Abort),
    }
}

/// What answers a mocked invocation: its effective parameters and invocation number (0-based) in, the
/// response out (`None`: the mock has none for this invocation). Step Functions Local's mocks answer per
/// invocation, TestState's `mock` always the same, `--unmocked echo` with the parameters.
type Respond<'a> = dyn Fn(&Value, u32) -> Option<crate::mocks::MockResponse> + Sync + 'a;

/// A mocked invocation: the same events as a request-response task, with the mock's answer; a
/// [`MockResponse::Submitted`](crate::mocks::MockResponse::Submitted) answer runs through the pattern
/// driver (`mocked_pattern`), as an unmocked callback or `.sync` task does.
async fn mocked(
    ctx: &StateCtx<'_>,
    t: &Task,
    input: &Value,
    prev: &mut u64,
    respond: &Respond<'_>,
) -> Result<Value, Interrupt> {
    let exec = ctx.exec;
    // The task's TimeoutSeconds/HeartbeatSeconds are recorded (and kept) as for an unmocked task.
    let Evaluated { parsed, callback, token, parameters, timeout, heartbeat } = evaluate(ctx, t, input)?;
    let (resource_type, resource) = match &parsed {
        Ok(sfn_patterns::Resource::Service(r)) => (r.history_resource_type(), r.history_resource()),
        Ok(sfn_patterns::Resource::LambdaFunction(arn)) => ("lambda".to_owned(), arn.clone()),
        Ok(sfn_patterns::Resource::Activity(arn)) => ("activity".to_owned(), arn.clone()),
        Err(_) => ("unknown".to_owned(), t.resource.clone()),
    };
    let task = TaskResource {
        resource_type: Arc::from(resource_type.as_str()),
        resource: Arc::from(resource.as_str()),
    };
    if let Ok(sfn_patterns::Resource::LambdaFunction(arn)) = &parsed {
        return lambda_function(ctx, arn, parameters, timeout, prev, respond);
    }
    let scheduled = schedule(ctx, &task, &parameters, (timeout, heartbeat), prev)?;
    exec.event(prev, EventDetails::TaskStarted { task: task.clone(), token: None })?;
    let invocation = next_invocation(ctx);
    match respond(&parameters, invocation) {
        Some(crate::mocks::MockResponse::Return(output)) => {
            finish(exec, task, TaskOutcome::Succeeded(output), prev)
        }
        Some(crate::mocks::MockResponse::Throw { error, cause }) => {
            // A mock's error is recorded even when empty.
            exec.event(
                prev,
                EventDetails::TaskFailed { task, error: Some(error.to_string()), cause: cause.clone() },
            )?;
            Err(Interrupt::Fail(Failure { name: Some(error), cause }))
        }
        Some(crate::mocks::MockResponse::Submitted { submitted, answer }) => {
            let resource = match parsed {
                Ok(sfn_patterns::Resource::Service(r))
                    if r.pattern != sfn_patterns::Pattern::RequestResponse =>
                {
                    r
                }
                _ => {
                    return Err(ctx
                        .runtime(
                            "The mock answers with Submitted, which only a .waitForTaskToken or .sync task has.",
                        )
                        .into());
                }
            };
            let task_context = task_context(ctx, resource, scheduled, token);
            let service = MockedService {
                service: resource_type,
                submitted,
                answer: answer.map(|a| *a),
                tokens: exec.engine.tokens.clone(),
            };
            let observer = Observer::new(exec, task.clone(), *prev);
            let timeouts = TaskTimeouts {
                timeout: timeout.map(Duration::from_secs),
                heartbeat: heartbeat.map(Duration::from_secs),
            };
            let outcome = sfn_patterns::run_task(
                &service,
                &task_context,
                parameters,
                callback,
                timeouts,
                ctx.abort,
                &observer,
            )
            .await;
            *prev = *observer.cursor.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(full) = observer.full.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Err(full);
            }
            finish(exec, task, outcome, prev)
        }
        None => Err(ctx
            .runtime(&format!("The mock has no response for invocation {invocation} of this state."))
            .into()),
    }
}

/// A mocked invocation of a Task whose `Resource` is a Lambda function ARN: AWS records such a task with
/// `LambdaFunctionScheduled` (its input, its `TimeoutSeconds`), `LambdaFunctionStarted`, then
/// `LambdaFunctionSucceeded` or `LambdaFunctionFailed`, not with the `Task…` events of an integration.
fn lambda_function(
    ctx: &StateCtx<'_>,
    arn: &str,
    parameters: Value,
    timeout: Option<u64>,
    prev: &mut u64,
    respond: &Respond<'_>,
) -> Result<Value, Interrupt> {
    let exec = ctx.exec;
    let resource = Arc::from(arn);
    let input = JsonText::new(&parameters);
    ctx.event(prev, EventDetails::LambdaFunctionScheduled { resource, input, timeout })?;
    exec.event(prev, EventDetails::LambdaFunctionStarted)?;
    let invocation = next_invocation(ctx);
    match respond(&parameters, invocation) {
        Some(crate::mocks::MockResponse::Return(output)) => {
            exec.event(prev, EventDetails::LambdaFunctionSucceeded { output: JsonText::new(&output) })?;
            Ok(output)
        }
        Some(crate::mocks::MockResponse::Throw { error, cause }) => {
            let details =
                EventDetails::LambdaFunctionFailed { error: Some(error.to_string()), cause: cause.clone() };
            exec.event(prev, details)?;
            Err(Interrupt::Fail(Failure { name: Some(error), cause }))
        }
        Some(crate::mocks::MockResponse::Submitted { .. }) => Err(ctx
            .runtime("The mock answers with Submitted, which only a .waitForTaskToken or .sync task has.")
            .into()),
        None => Err(ctx
            .runtime(&format!("The mock has no response for invocation {invocation} of this state."))
            .into()),
    }
}

/// The service of a [`MockResponse::Submitted`](crate::mocks::MockResponse::Submitted) mock: its call
/// answers `submitted`; the answer then comes as a callback (SendTaskSuccess/SendTaskFailure through the
/// engine's token registry, so the real callback path records it) or, for `.sync`, as the job's end.
struct MockedService {
    service: String,
    submitted: Value,
    answer: Option<crate::mocks::MockResponse>,
    tokens: sfn_patterns::TokenRegistry,
}

impl MockedService {
    fn failure(error: &ErrorName, cause: Option<String>) -> sfn_patterns::Failure {
        let name = Some(error.clone()).filter(|n| !n.as_str().is_empty());
        sfn_patterns::Failure { name, cause }
    }
}

#[async_trait::async_trait]
impl sfn_patterns::ServiceIntegration for MockedService {
    fn service(&self) -> &str {
        &self.service
    }

    fn check(&self, _resource: &sfn_patterns::ServiceResource) -> Result<(), sfn_patterns::CheckError> {
        Ok(())
    }

    async fn submit(&self, ctx: &TaskContext, _parameters: Value) -> Result<Value, sfn_patterns::Failure> {
        // A callback task's answer comes on its token; a `.sync` task's is the job's end (`wait`).
        if let Some(token) =
            ctx.token.as_ref().filter(|_| ctx.resource.pattern == sfn_patterns::Pattern::WaitForTaskToken)
        {
            // The callback comes once the call has answered; the driver then receives it.
            use crate::mocks::MockResponse as M;
            let _sent = match &self.answer {
                Some(M::Return(v)) => self.tokens.send_success(token, &v.to_string()),
                Some(M::Throw { error, cause }) => {
                    let f = Self::failure(error, cause.clone());
                    self.tokens.send_failure(token, f.name.map(|n| n.to_string()), f.cause)
                }
                Some(M::Submitted { .. }) | None => Ok(()),
            };
        }
        Ok(self.submitted.clone())
    }

    async fn wait(&self, _ctx: &TaskContext, _submitted: &Value) -> Result<Value, sfn_patterns::Failure> {
        use crate::mocks::MockResponse as M;
        match &self.answer {
            Some(M::Return(v)) => Ok(v.clone()),
            Some(M::Throw { error, cause }) => Err(Self::failure(error, cause.clone())),
            Some(M::Submitted { .. }) | None => std::future::pending().await,
        }
    }
}
