//! The engine: configuration, clock, prepared machines and running executions.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sfn_asl::{StateKind, StateMachine, States, Task};
use sfn_path::ErrorName;
use sfn_patterns::{
    AbortHandle, AbortSignal, ActivityQueue, Integrations, Resource, ServiceIntegration, TokenOwner,
    TokenRegistry,
};
use tokio::sync::watch;

use crate::config::{Binding, Clock, EngineConfig, EngineInner};
use crate::error::{Failure, Interrupt, PrepareError, UnrunnableKind, UnrunnableTask};
use crate::exec::{Exec, ExecInput, exceeds};
use crate::execution::StopReason;
pub use crate::execution::{Execution, ExecutionStatus, Outcome};
use crate::history::{Event, EventDetails, EventSink, History, JsonText};
use crate::maprun::MapRunObserver;
use crate::mocks::{TaskMocks, Unmocked};
use crate::objects::ObjectStore;
use crate::replay::Replay;
use crate::vars::Vars;

/// A state machine checked against the engine's integrations, ready to run many times.
#[derive(Clone)]
pub struct Prepared {
    machine: Arc<StateMachine>,
    name: String,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("name", &self.name).finish()
    }
}

impl Prepared {
    /// The state machine.
    pub fn machine(&self) -> &StateMachine {
        &self.machine
    }

    pub(crate) fn machine_arc(&self) -> Arc<StateMachine> {
        self.machine.clone()
    }

    /// The state machine's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What to start.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// Execution name (unique per state machine).
    pub execution_name: String,
    /// Execution input.
    pub input: Value,
    /// Execution role ARN (`$$.Execution.RoleArn`); the engine's default when `None`.
    pub role_arn: Option<String>,
    /// The caller's JSON text of `input`, when there is one: AWS keeps it verbatim (spacing included) in
    /// `ExecutionStarted` and the first state's input. `None`: `input` serialized.
    pub input_text: Option<String>,
}

/// An execution to continue after a restart (see [`Engine::resume`]): what it was started with, and the
/// events it had recorded.
#[derive(Debug, Clone)]
pub struct ResumeRequest {
    /// The execution ARN (`$$.Execution.Id`).
    pub execution_arn: String,
    /// The execution name.
    pub execution_name: String,
    /// The execution input.
    pub input: Value,
    /// Execution role ARN; the engine's default when `None`.
    pub role_arn: Option<String>,
    /// When it started (`$$.Execution.StartTime`, the execution's TimeoutSeconds).
    pub start_time: DateTime<Utc>,
    /// Its recorded events, ids `1..=n` in order (e.g. from a journal through [`Event::from_json`]).
    pub events: Vec<Event>,
}

/// Builds an [`Engine`].
#[derive(Default)]
pub struct EngineBuilder {
    mocks: Option<Arc<dyn TaskMocks>>,
    unmocked: Unmocked,
    sink: Option<Arc<dyn EventSink>>,
    integrations: Integrations,
    tokens: Option<TokenRegistry>,
    clock: Option<Clock>,
    config: EngineConfig,
    objects: Option<Arc<dyn ObjectStore>>,
    activities: Option<Arc<dyn ActivityQueue>>,
    map_runs: Option<Arc<dyn MapRunObserver>>,
}

impl EngineBuilder {
    /// Runs Task states on activity ARNs: their tasks wait in `queue` for a worker (GetActivityTask);
    /// without one, such a Task runs only when mocked.
    pub fn activities(mut self, queue: Arc<dyn ActivityQueue>) -> Self {
        self.activities = Some(queue);
        self
    }

    /// Tells `observer` of every map run a Distributed Map starts and of its child executions (a
    /// server lists and describes them); without one they run unseen.
    pub fn map_runs(mut self, observer: Arc<dyn MapRunObserver>) -> Self {
        self.map_runs = Some(observer);
        self
    }

    /// Serves a Distributed Map's `ItemReader` and `ResultWriter` (`s3://BUCKET/KEY`) from `store`;
    /// without one, such a Map fails with `States.ItemReaderFailed` / `States.ResultWriterFailed`.
    pub fn object_store(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.objects = Some(store);
        self
    }

    /// Registers a service integration.
    pub fn integration(mut self, integration: Arc<dyn ServiceIntegration>) -> Self {
        self.integrations.register(integration);
        self
    }

    /// Shares a token registry (e.g. with a server that answers SendTask* calls).
    pub fn tokens(mut self, tokens: TokenRegistry) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Uses this clock (default: the system clock).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Answers the Task states `mocks` covers with mocked responses instead of calling a service.
    pub fn mocks(mut self, mocks: Arc<dyn TaskMocks>) -> Self {
        self.mocks = Some(mocks);
        self
    }

    /// What a Task state with neither a mock nor an integration does (default: [`Unmocked::Refuse`],
    /// [`Engine::prepare`] fails naming it).
    pub fn unmocked(mut self, unmocked: Unmocked) -> Self {
        self.unmocked = unmocked;
        self
    }

    /// Reports every history event of every execution to `sink` (e.g. a durable journal).
    pub fn event_sink(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine {
        Engine {
            inner: Arc::new(EngineInner {
                mocks: self.mocks,
                unmocked: self.unmocked,
                sink: self.sink,
                integrations: self.integrations,
                tokens: self.tokens.unwrap_or_default(),
                clock: self.clock.unwrap_or_else(Clock::system),
                config: self.config,
                objects: self.objects,
                activities: self.activities,
                map_runs: self.map_runs,
                bindings: Default::default(),
            }),
        }
    }
}

/// Runs state machines.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("integrations", &self.inner.integrations).finish()
    }
}

fn walk_tasks<'a>(states: &'a States, out: &mut Vec<(&'a str, &'a Task)>) {
    for s in states {
        match &s.kind {
            StateKind::Task(t) => out.push((&s.name, t)),
            StateKind::Parallel(p) => p.branches.iter().for_each(|b| walk_tasks(&b.states, out)),
            StateKind::Map(m) => walk_tasks(&m.processor.states, out),
            _ => {}
        }
    }
}

impl Engine {
    /// An engine builder.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The token registry (SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat).
    pub fn tokens(&self) -> &TokenRegistry {
        &self.inner.tokens
    }

    /// The integrations.
    pub fn integrations(&self) -> &Integrations {
        &self.inner.integrations
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// Resolves every Task resource to a registered integration; fails listing every resource that
    /// cannot run here.
    pub fn prepare(&self, machine: StateMachine, name: &str) -> Result<Prepared, PrepareError> {
        self.prepare_with(machine, name, |_| false)
    }

    /// [`Engine::prepare`] for a TestState run of `req`: only the tested state runs, so the other
    /// Task states need no integration, nor does the tested one when it is mocked.
    pub fn prepare_for_test(
        &self,
        machine: StateMachine,
        name: &str,
        req: &crate::TestStateRequest,
    ) -> Result<Prepared, PrepareError> {
        self.prepare_with(machine, name, |state| state != req.state || req.mock.is_some())
    }

    /// Binds the Task states' integrations; `runs_not(state)` says which states need none.
    fn prepare_with(
        &self,
        machine: StateMachine,
        name: &str,
        runs_not: impl Fn(&str) -> bool,
    ) -> Result<Prepared, PrepareError> {
        let machine = Arc::new(machine);
        let mut tasks = Vec::new();
        walk_tasks(&machine.states, &mut tasks);
        let mut errors = Vec::new();
        let mut bindings = self.inner.bindings.write().unwrap_or_else(|e| e.into_inner());
        for (state, t) in tasks {
            if self.inner.mocks.as_ref().is_some_and(|m| m.covers(state)) {
                continue;
            }
            let len = errors.len();
            match Resource::parse(&t.resource) {
                Ok(Resource::Service(r)) => match self.inner.integrations.check(&r) {
                    Ok(()) => {
                        if let Some(i) = self.inner.integrations.get(&r) {
                            bindings.insert(
                                t as *const Task as usize,
                                Arc::new(Binding { resource: r, integration: i.clone() }),
                            );
                        }
                    }
                    Err(e) => {
                        let kind = match e.kind() {
                            sfn_patterns::CheckErrorKind::NoIntegration => UnrunnableKind::NoIntegration,
                            _ => UnrunnableKind::Unsupported,
                        };
                        if kind == UnrunnableKind::NoIntegration && self.inner.unmocked != Unmocked::Refuse {
                            continue;
                        }
                        errors.push(UnrunnableTask::new(state, &t.resource, kind, e.to_string()));
                    }
                },
                Ok(Resource::Activity(_)) if self.inner.activities.is_some() => {}
                Ok(_) if self.inner.unmocked != Unmocked::Refuse => {}
                Ok(Resource::Activity(arn)) => errors.push(UnrunnableTask::new(
                    state,
                    &t.resource,
                    UnrunnableKind::NotAnIntegration,
                    format!(
                        "the resource '{arn}' is an activity, and no worker can take its tasks here: run the \
                         machine on `sfn serve`, where workers poll it with GetActivityTask, or mock this \
                         state (--mock-config)"
                    ),
                )),
                Ok(_) => errors.push(UnrunnableTask::new(
                    state,
                    &t.resource,
                    UnrunnableKind::NotAnIntegration,
                    format!(
                        "the resource '{}' (a Lambda function ARN) cannot run locally: only service \
                         integrations are supported",
                        t.resource
                    ),
                )),
                Err(e) => errors.push(UnrunnableTask::new(
                    state,
                    &t.resource,
                    UnrunnableKind::InvalidResource,
                    e.to_string(),
                )),
            }
            if runs_not(state) {
                errors.truncate(len);
            }
        }
        drop(bindings);
        if errors.is_empty() {
            Ok(Prepared { machine, name: name.to_owned() })
        } else {
            Err(PrepareError::new(errors))
        }
    }

    /// A TestState run's execution: fresh, with the test's hooks.
    pub(crate) fn exec_for(
        &self,
        prepared: &Prepared,
        req: StartRequest,
        test: Arc<crate::inspect::TestHooks>,
    ) -> Arc<Exec> {
        let (mut exec, _history) = self.exec(prepared, req);
        if let Some(e) = Arc::get_mut(&mut exec) {
            e.test = Some(test);
        }
        exec
    }

    fn exec(&self, prepared: &Prepared, req: StartRequest) -> (Arc<Exec>, History) {
        self.exec_as(prepared, req, None)
    }

    fn exec_as(&self, prepared: &Prepared, req: StartRequest, arn: Option<String>) -> (Arc<Exec>, History) {
        self.new_exec(prepared, req, arn, None, None, self.inner.mocks.clone())
    }

    fn new_exec(
        &self,
        prepared: &Prepared,
        req: StartRequest,
        arn: Option<String>,
        start_time: Option<DateTime<Utc>>,
        replay: Option<Arc<Replay>>,
        mocks: Option<Arc<dyn TaskMocks>>,
    ) -> (Arc<Exec>, History) {
        let cfg = &self.inner.config;
        let state_machine_arn =
            format!("arn:aws:states:{}:{}:stateMachine:{}", cfg.region, cfg.account, prepared.name);
        let execution_arn = arn.unwrap_or_else(|| {
            format!(
                "arn:aws:states:{}:{}:execution:{}:{}",
                cfg.region, cfg.account, prepared.name, req.execution_name
            )
        });
        let history = match &self.inner.sink {
            Some(sink) => History::with_sink(cfg.max_history_events, sink.clone(), &execution_arn),
            None => History::new(cfg.max_history_events),
        };
        let exec = Arc::new(Exec {
            engine: self.inner.clone(),
            machine: prepared.machine.clone(),
            history: history.clone(),
            execution_arn,
            execution_name: req.execution_name,
            state_machine_arn,
            state_machine_name: prepared.name.clone(),
            role_arn: req.role_arn.unwrap_or_else(|| cfg.role_arn.clone()),
            start_time: start_time.unwrap_or_else(|| self.inner.clock.now()),
            // The recordings keep a non-object input's text as the caller wrote it; an object input is
            // recorded as its JSON (the only verbatim cases recorded are arrays and scalars).
            input_text: req
                .input_text
                .filter(|_| !req.input.is_object())
                .map(|t| JsonText::from_text(&t).into())
                .unwrap_or_default(),
            input: ExecInput::new(req.input),
            mock_calls: Default::default(),
            mocks,
            evaluation_failures: Default::default(),
            replay,
            scopes: crate::interp::run_scope,
            test: None,
            terminating: Arc::default(),
        });
        (exec, history)
    }

    /// Starts an execution on the current tokio runtime and returns at once.
    pub fn start(&self, prepared: &Prepared, req: StartRequest) -> Execution {
        let (exec, history) = self.exec(prepared, req);
        Self::spawn(exec, history)
    }

    /// Starts an execution under an explicit ARN (`$$.Execution.Id`), e.g. an EXPRESS execution's
    /// `arn:aws:states:<region>:<account>:express:<machine>:<name>:<id>`.
    pub fn start_with_arn(&self, prepared: &Prepared, req: StartRequest, execution_arn: String) -> Execution {
        let (exec, history) = self.exec_as(prepared, req, Some(execution_arn));
        Self::spawn(exec, history)
    }

    /// Starts an execution under an explicit ARN whose Task states `mocks` answers (the ones it covers;
    /// the others call their integrations), e.g. a Step Functions Local test case
    /// (`StartExecution` on `…:stateMachine:NAME#TestCase`). Each execution counts its own invocations.
    pub fn start_mocked(
        &self,
        prepared: &Prepared,
        req: StartRequest,
        execution_arn: String,
        mocks: Arc<dyn TaskMocks>,
    ) -> Execution {
        let (exec, history) = self.new_exec(prepared, req, Some(execution_arn), None, None, Some(mocks));
        Self::spawn(exec, history)
    }

    /// Continues an execution that was running when its process stopped (a crash, kill -9, a restart),
    /// from its recorded events, on the current tokio runtime; returns at once. The machine runs again
    /// from the start, replaying what is on record without repeating it (see the crate documentation):
    /// `.sync` jobs are waited for again by their recorded handles (never submitted twice), callback
    /// tokens stay valid, Wait states and back-off wait only for what is left. New events continue the
    /// recorded ids and go to the engine's event sink (recorded ones are not reported again). An execution
    /// whose last recorded event ends it is returned finished.
    pub fn resume(&self, prepared: &Prepared, req: ResumeRequest) -> Execution {
        self.resume_with(prepared, req, self.inner.mocks.clone())
    }

    /// [`Engine::resume`] for an execution started with [`Engine::start_mocked`]: the same mocks answer
    /// (replay runs the machine again from the start, so each state's invocations are numbered as before).
    pub fn resume_mocked(
        &self,
        prepared: &Prepared,
        req: ResumeRequest,
        mocks: Arc<dyn TaskMocks>,
    ) -> Execution {
        self.resume_with(prepared, req, Some(mocks))
    }

    /// RedriveExecution: continues an execution that ended unsuccessfully (FAILED, TIMED_OUT, ABORTED)
    /// from its recorded events, under its ARN, on the current tokio runtime; returns at once. Its
    /// history goes on with `ExecutionRedriven` (`redriveCount`: `redrive_count`, this redrive
    /// included); the machine replays what succeeded and runs again what did not — the state it ended
    /// in, and of a Parallel or inline Map only the branches and iterations that failed or were aborted;
    /// a Distributed Map redrives its map run ([`MapRunObserver::prior_children`](crate::MapRunObserver::prior_children)). See the crate's
    /// `replay` module for the rule. Its TimeoutSeconds counts from the redrive.
    pub fn redrive(&self, prepared: &Prepared, req: ResumeRequest, redrive_count: u64) -> Execution {
        let ResumeRequest { execution_arn, execution_name, input, role_arn, start_time, mut events } = req;
        let contiguous = events.iter().enumerate().take_while(|(i, e)| e.id == *i as u64 + 1).count();
        events.truncate(contiguous);
        let start = StartRequest { execution_name, input, role_arn, input_text: None };
        let last = events.len() as u64;
        let replay = Arc::new(Replay::redrive(events.clone(), redrive_count, last + 1));
        let (exec, history) = self.new_exec(
            prepared,
            start,
            Some(execution_arn),
            Some(start_time),
            Some(replay),
            self.inner.mocks.clone(),
        );
        history.restore(events);
        let redriven = EventDetails::ExecutionRedriven { redrive_count };
        // Its previousEventId is the event before it (AWS: the execution's end).
        let _ = history.push_final(last, self.inner.clock.now(), redriven);
        Self::spawn(exec, history)
    }

    fn resume_with(
        &self,
        prepared: &Prepared,
        req: ResumeRequest,
        mocks: Option<Arc<dyn TaskMocks>>,
    ) -> Execution {
        let ResumeRequest { execution_arn, execution_name, input, role_arn, start_time, mut events } = req;
        // Only a gap-free prefix can be continued: ids of new events follow the recorded ones.
        let contiguous = events.iter().enumerate().take_while(|(i, e)| e.id == *i as u64 + 1).count();
        events.truncate(contiguous);
        let start = StartRequest { execution_name, input, role_arn, input_text: None };
        let finished = events.last().filter(|e| crate::replay::is_final(&e.details)).map(recorded_outcome);
        if finished.is_none() {
            // Callbacks may arrive while the execution replays: its outstanding tokens are valid at once.
            // A redriven execution's tokens are those of its last redrive.
            let since = events
                .iter()
                .rposition(|e| matches!(e.details, EventDetails::ExecutionRedriven { .. }))
                .unwrap_or(0);
            let current: std::collections::HashSet<&str> = events[since..]
                .iter()
                .filter_map(|e| match &e.details {
                    EventDetails::TaskStarted { token: Some(t), .. }
                    | EventDetails::ActivityScheduled { token: Some(t), .. } => Some(t.as_ref()),
                    _ => None,
                })
                .collect();
            let outstanding = crate::replay::outstanding_tokens(&events);
            for (token, state_name) in outstanding.into_iter().filter(|(t, _)| current.contains(t.as_str())) {
                let owner = TokenOwner { execution_arn: execution_arn.clone(), state_name };
                self.inner.tokens.reserve(token, owner);
            }
        }
        let replay = Arc::new(Replay::resumed(events.clone()));
        let (exec, history) =
            self.new_exec(prepared, start, Some(execution_arn), Some(start_time), Some(replay), mocks);
        history.restore(events);
        match finished {
            Some(outcome) => {
                let (abort, _) = AbortHandle::new();
                let (_, done) = watch::channel(Some(outcome));
                Execution {
                    arn: exec.execution_arn.clone(),
                    start_date: exec.start_time,
                    history,
                    abort,
                    stop_reason: StopReason::default(),
                    done,
                    task: None,
                    terminating: Arc::default(),
                }
            }
            None => Self::spawn(exec, history),
        }
    }

    fn spawn(exec: Arc<Exec>, history: History) -> Execution {
        let (abort, signal) = AbortHandle::new();
        let (tx, rx) = watch::channel(None);
        let stop_reason = StopReason::default();
        let arn = exec.execution_arn.clone();
        let start_date = exec.start_time;
        let terminating = exec.terminating.clone();
        let task = tokio::spawn({
            let (abort, stop_reason) = (abort.clone(), stop_reason.clone());
            async move {
                let history = exec.history.clone();
                let tokens = exec.engine.tokens.clone();
                let arn = exec.execution_arn.clone();
                let outcome = execute(exec, abort, signal, stop_reason).await;
                tokens.release(&arn);
                // The outcome is shown once the final event is durable: an end a client has seen is
                // never undone by a crash.
                if let Some(durable) = history.durable() {
                    durable.await;
                }
                tx.send_replace(Some(outcome));
            }
        });
        Execution {
            arn,
            start_date,
            history,
            abort,
            stop_reason,
            done: rx,
            task: Some(task.abort_handle()),
            terminating,
        }
    }

    /// Runs an execution to its end in the current task; returns the outcome and the history.
    pub async fn run(&self, prepared: &Prepared, req: StartRequest) -> (Outcome, History) {
        let (exec, history) = self.exec(prepared, req);
        let (abort, signal) = AbortHandle::new();
        (execute(exec, abort, signal, StopReason::default()).await, history)
    }
}

async fn execute(
    exec: Arc<Exec>,
    abort: AbortHandle,
    signal: AbortSignal,
    stop_reason: StopReason,
) -> Outcome {
    let mut prev = 0;
    let started =
        EventDetails::ExecutionStarted { input: exec.input_text(), role_arn: exec.role_arn.clone() };
    // The start event is the root of the history, not a step of the machine's scope: AWS links the first
    // state's `…StateEntered` to what `ExecutionStarted` follows (`previousEventId` 0 in every recording).
    let _ = exec.event(&mut 0, started);
    let machine = exec.machine.clone();
    let mut timeout = machine.timeout_seconds.map(std::time::Duration::from_secs);
    if let Some(since) = exec.replay.as_ref().and_then(|r| r.timeout_since(exec.start_time)) {
        timeout = timeout.map(|t| Replay::timeout_left(since, t, exec.now()));
    }
    let mut vars = Vars::default();
    let input = exec.take_input();
    enum End {
        Done(Result<(Value, Option<JsonText>), Interrupt>),
        TimedOut,
    }
    // An object input's history text is its serialization (`Exec::input_text`), made above: its length is
    // what `exceeds` would count; another input may be the caller's text, so its value is measured.
    let limit = exec.engine.config.max_payload_bytes;
    let over = match input.is_object() {
        true => exec.input_text().len() > limit,
        false => exceeds(&input, limit),
    };
    let end = if over {
        End::Done(Err(Interrupt::Fail(Failure::new(
            ErrorName::DataLimitExceeded,
            "The execution input exceeds the maximum number of bytes service limit.",
        ))))
    } else {
        // The first state's input text is the caller's (`StartRequest::input_text`); the last state's
        // output text is the execution's output (AWS keeps both verbatim, see `exec::Texts`).
        let text = Some(exec.input_text());
        let fut = exec.run_scope_text(
            &machine.start_at,
            &machine.states,
            input,
            text,
            &mut vars,
            &mut prev,
            &signal,
        );
        tokio::pin!(fut);
        let deadline = async {
            match timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = &mut fut => End::Done(r),
            () = deadline => {
                abort.abort();
                let _ = fut.await;
                End::TimedOut
            }
        }
    };
    let result = match end {
        End::Done(r) => r,
        End::TimedOut => {
            let error = Some(ErrorName::Timeout.to_string());
            return finish(&exec, prev, ExecutionStatus::TimedOut, None, error, None);
        }
    };
    match result {
        Ok((output, text)) => {
            let text = text.unwrap_or_else(|| JsonText::new(&output));
            let details = EventDetails::ExecutionSucceeded { output: text };
            finish_with(&exec, prev, ExecutionStatus::Succeeded, Some(output), None, None, details)
        }
        Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => {
            finish(&exec, prev, ExecutionStatus::Failed, None, f.name.map(String::from), f.cause)
        }
        Err(Interrupt::Abort) => {
            let (error, cause) = stop_reason.lock().unwrap_or_else(|e| e.into_inner()).clone();
            finish(&exec, prev, ExecutionStatus::Aborted, None, error, cause)
        }
    }
}

/// How an execution whose final event is on record ended.
fn recorded_outcome(e: &Event) -> Outcome {
    let (status, output, error, cause) = match &e.details {
        EventDetails::ExecutionSucceeded { output } => {
            (ExecutionStatus::Succeeded, Some(output.to_value()), None, None)
        }
        EventDetails::ExecutionTimedOut { error, cause } => {
            (ExecutionStatus::TimedOut, None, error.clone(), cause.clone())
        }
        EventDetails::ExecutionAborted { error, cause } => {
            (ExecutionStatus::Aborted, None, error.clone(), cause.clone())
        }
        EventDetails::ExecutionFailed { error, cause } => {
            (ExecutionStatus::Failed, None, error.clone(), cause.clone())
        }
        _ => (ExecutionStatus::Running, None, None, None),
    };
    Outcome { status, output, error, cause, stop_date: e.timestamp }
}

fn finish(
    exec: &Exec,
    prev: u64,
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
) -> Outcome {
    let details = match status {
        ExecutionStatus::Succeeded => EventDetails::ExecutionSucceeded {
            output: JsonText::new(output.as_ref().unwrap_or(&Value::Null)),
        },
        ExecutionStatus::TimedOut => {
            EventDetails::ExecutionTimedOut { error: error.clone(), cause: cause.clone() }
        }
        ExecutionStatus::Aborted => {
            EventDetails::ExecutionAborted { error: error.clone(), cause: cause.clone() }
        }
        _ => EventDetails::ExecutionFailed { error: error.clone(), cause: cause.clone() },
    };
    finish_with(exec, prev, status, output, error, cause, details)
}

/// [`finish`] with the final event's details as made.
fn finish_with(
    exec: &Exec,
    prev: u64,
    status: ExecutionStatus,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    details: EventDetails,
) -> Outcome {
    let now = exec.now();
    exec.history.push_final(prev, now, details);
    Outcome { status, output, error, cause, stop_date: now }
}
