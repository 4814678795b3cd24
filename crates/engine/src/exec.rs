//! The core of the interpreter: one execution ([`Exec`]), its history cursor (events appended after
//! `previousEventId`, through the replay layer when resuming), the context object (`$$`, resolved path by
//! path), and [`StateCtx`], the context every state module runs with. It knows no state type: a scope
//! (the machine, a Parallel branch, a Map iteration) is run by the interpreter the engine installs in
//! [`Exec::scopes`] (`crate::interp::run_scope`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map as JsonMap, Value, json};
use sfn_asl::{State, StateMachine, States};
use sfn_path::{ContextObject, ErrorName, NotFound, Path, Root, Scope, Segment, Selector, Template};
use sfn_patterns::AbortSignal;

use crate::config::EngineInner;
use crate::error::{Failure, Interrupt, runtime};
use crate::history::{EventDetails, History, JsonText, Link};
use crate::inspect::{Inspection, TestHooks, TestMock};
use crate::replay::Replay;
use crate::vars::Vars;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs a scope from its `StartAt` to its end: the interpreter above the state modules
/// (`crate::interp::run_scope`), handed down so that Parallel and Map can run nested scopes. Beside the
/// input goes its history text where a state before made it, and beside the output its text.
pub(crate) type RunScope = for<'a> fn(
    &'a Arc<Exec>,
    &'a str,
    &'a States,
    Value,
    Option<JsonText>,
    &'a mut Vars,
    &'a mut u64,
    &'a AbortSignal,
) -> BoxFuture<'a, Result<(Value, Option<JsonText>), Interrupt>>;

/// Everything one execution shares across its branches.
pub(crate) struct Exec {
    pub(crate) engine: Arc<EngineInner>,
    pub(crate) machine: Arc<StateMachine>,
    pub(crate) history: History,
    pub(crate) execution_arn: String,
    pub(crate) execution_name: String,
    pub(crate) state_machine_arn: String,
    pub(crate) state_machine_name: String,
    pub(crate) role_arn: String,
    pub(crate) start_time: DateTime<Utc>,
    /// The execution input (`$$.Execution.Input`), which the first state takes ([`Exec::take_input`]).
    pub(crate) input: ExecInput,
    /// The text of `input` in the history: the caller's, kept verbatim (see `StartRequest::input_text`),
    /// or made once when first asked ([`Exec::input_text`]) and shared by `ExecutionStarted` and the
    /// first state's entered event.
    pub(crate) input_text: std::sync::OnceLock<JsonText>,
    /// Invocations so far of each mocked Task state.
    /// (Shared by a map run's child executions, which count as one run of the machine.)
    pub(crate) mock_calls: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
    /// The mocks answering this execution's Task states: the engine's, or the ones it was started with
    /// ([`crate::Engine::start_mocked`]).
    pub(crate) mocks: Option<Arc<dyn crate::mocks::TaskMocks>>,
    /// The last JSONata evaluation failure raised in each running state (by its entered event): the
    /// field it names (`Output/result`) and its cause, written as `EvaluationFailed` if it fails the state.
    pub(crate) evaluation_failures:
        std::sync::Mutex<std::collections::HashMap<u64, (Option<String>, String)>>,
    /// The recorded events of a resumed execution (`None` for a fresh one).
    pub(crate) replay: Option<Arc<Replay>>,
    /// The interpreter that runs a scope.
    pub(crate) scopes: RunScope,
    /// A TestState run's mock, context object and inspection (`None` for an execution).
    pub(crate) test: Option<Arc<TestHooks>>,
    /// Set by [`crate::Execution::terminate`]: the execution ends (ABORTED) at its next state transition.
    pub(crate) terminating: Arc<std::sync::atomic::AtomicBool>,
}

/// An execution's input. Its first state takes the value itself ([`Exec::take_input`]: the states
/// consume their inputs, so it would otherwise be copied whole for them); a `$$.Execution.Input` read
/// after that parses it back, once, from its history text ([`Exec::input_text`]), which for an object
/// input is always its serialization: `serde_json` (with `float_roundtrip`) reads back the value it
/// wrote. A non-object input's text may be the caller's (`StartRequest::input_text`), and a deep object
/// would stop at the parser's depth limit: such an input is copied for the first state, as before.
pub(crate) struct ExecInput {
    /// The value, until the first state takes it or a read keeps it.
    given: std::sync::Mutex<Option<Value>>,
    /// The value as reads see it: moved from `given`, or parsed back from the text.
    read: std::sync::OnceLock<Value>,
}

/// The deepest object input whose text is parsed back (`serde_json` stops at 128 nested levels).
const REPARSED_DEPTH: usize = 64;

impl ExecInput {
    pub(crate) fn new(v: Value) -> ExecInput {
        ExecInput { given: std::sync::Mutex::new(Some(v)), read: std::sync::OnceLock::new() }
    }

    fn given(&self) -> std::sync::MutexGuard<'_, Option<Value>> {
        self.given.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `f` of the value (`Value::Null` once taken: [`Exec::take_input`] makes the text first).
    fn with<R>(&self, f: impl FnOnce(&Value) -> R) -> R {
        if let Some(v) = self.read.get() {
            return f(v);
        }
        f(self.given().as_ref().unwrap_or(&Value::Null))
    }
}

/// True when `v` nests at most `limit` arrays and objects deep.
fn depth_within(v: &Value, limit: usize) -> bool {
    match v {
        Value::Array(a) => limit > 0 && a.iter().all(|x| depth_within(x, limit - 1)),
        Value::Object(m) => limit > 0 && m.values().all(|x| depth_within(x, limit - 1)),
        _ => true,
    }
}

/// The context object of one state, resolved path by path: `$$.Execution.Input…` and
/// `$$.Map.Item.Value…` borrow what they select; nothing is built unless a path needs a whole member.
pub(crate) struct ContextView<'a> {
    pub(crate) exec: &'a Exec,
    pub(crate) info: &'a StateInfo<'a>,
}

impl ContextObject for ContextView<'_> {
    fn resolve<'s>(&'s self, path: &Path) -> Result<Cow<'s, Value>, NotFound> {
        let name = |i: usize| match path.segments().get(i) {
            Some(Segment::Child(Selector::Name(n))) => Some(n.as_ref()),
            _ => None,
        };
        let leaf = |depth: usize, v: Value| -> Result<Cow<'s, Value>, NotFound> {
            match path.segments().len() == depth {
                true => Ok(Cow::Owned(v)),
                false => path.select_from(depth, &v).map(|c| Cow::Owned(c.into_owned())),
            }
        };
        let (exec, info) = (self.exec, self.info);
        // A TestState context object replaces members: every path goes through the whole document.
        let given = exec.test.as_ref().is_some_and(|t| t.context.is_some());
        match (name(0), name(1), name(2)) {
            _ if given => {}
            (Some("Execution"), Some("Input"), _) => return path.select_from(2, exec.execution_input()),
            (Some("Execution"), Some("Id"), _) => return leaf(2, Value::String(exec.execution_arn.clone())),
            (Some("Execution"), Some("Name"), _) => {
                return leaf(2, Value::String(exec.execution_name.clone()));
            }
            (Some("StateMachine"), Some("Id"), _) => {
                return leaf(2, Value::String(exec.state_machine_arn.clone()));
            }
            (Some("StateMachine"), Some("Name"), _) => {
                return leaf(2, Value::String(exec.state_machine_name.clone()));
            }
            (Some("State"), Some("Name"), _) => return leaf(2, Value::String(info.name.to_owned())),
            (Some("Task"), Some("Token"), _) if info.token.is_some() => {
                return leaf(2, Value::String(info.token.unwrap_or_default().to_owned()));
            }
            (Some("Map"), Some("Item"), Some("Value")) => {
                if let Some((_, item)) = info.map_item {
                    return path.select_from(3, item);
                }
            }
            (Some("Map"), Some("Item"), Some("Index")) => {
                if let Some((index, _)) = info.map_item {
                    return leaf(3, json!(index));
                }
            }
            _ => {}
        }
        let with_input = matches!((name(0), name(1)), (None, _) | (Some("Execution"), None));
        let whole = self.exec.context_value(self.info, with_input);
        path.select_from(0, &whole).map(|c| Cow::Owned(c.into_owned()))
    }
}

/// How a Parallel or Map scope ended (which closing event it gets).
#[derive(Clone, Copy)]
pub(crate) enum Closing {
    Succeeded,
    Aborted,
}

/// Per-state facts the context object (`$$`) shows.
#[derive(Clone, Copy)]
pub(crate) struct StateInfo<'a> {
    pub(crate) name: &'a str,
    pub(crate) entered_event: u64,
    pub(crate) entered_time: DateTime<Utc>,
    pub(crate) retry_count: Option<u32>,
    pub(crate) token: Option<&'a str>,
    pub(crate) map_item: Option<(usize, &'a Value)>,
}

impl<'a> StateInfo<'a> {
    /// The same state seen with a task token (`$$.Task.Token`) or a Map item (`$$.Map.Item`).
    pub(crate) fn with<'b>(
        &'b self,
        token: Option<&'b str>,
        map_item: Option<(usize, &'b Value)>,
    ) -> StateInfo<'b>
    where
        'a: 'b,
    {
        StateInfo {
            name: self.name,
            entered_event: self.entered_event,
            entered_time: self.entered_time,
            retry_count: self.retry_count,
            token,
            map_item,
        }
    }
}

pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a state hands on: the state to go to next (none = end of scope) and the output.
pub(crate) struct Flow<'s> {
    pub(crate) next: Option<&'s State>,
    pub(crate) output: Value,
}

/// Counts serialized bytes, stopping as soon as the limit is passed.
struct Counter {
    n: usize,
    limit: usize,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.n += buf.len();
        if self.n > self.limit {
            return Err(std::io::Error::other("over limit"));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length in bytes of the JSON text of `v`.
pub(crate) fn json_len(v: &Value) -> usize {
    let mut c = Counter { n: 0, limit: usize::MAX };
    let _ = serde_json::to_writer(&mut c, v);
    c.n
}

/// True when the JSON text of `v` is longer than `limit` bytes.
pub(crate) fn exceeds(v: &Value, limit: usize) -> bool {
    serde_json::to_writer(Counter { n: 0, limit }, v).is_err()
}

impl Exec {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.engine.clock.now()
    }

    /// The execution input as the history shows it: the caller's text when there is one.
    pub(crate) fn input_text(&self) -> JsonText {
        self.input_text.get_or_init(|| self.input.with(JsonText::new)).clone()
    }

    /// The execution input for its first state: the value itself when its text can stand for it later
    /// (see [`ExecInput`]), else a copy.
    pub(crate) fn take_input(&self) -> Value {
        // The text is made while the value is here: reads after this parse it back.
        let text = self.input_text();
        if let Some(v) = self.input.read.get() {
            return v.clone();
        }
        let mut given = self.input.given();
        let movable = given.as_ref().is_some_and(|v| v.is_object() && depth_within(v, REPARSED_DEPTH));
        match movable {
            true => given.take().unwrap_or_default(),
            false => given.clone().unwrap_or_else(|| text.to_value()),
        }
    }

    /// `$$.Execution.Input`: the value until the first state takes it, then parsed back from its text.
    pub(crate) fn execution_input(&self) -> &Value {
        self.input.read.get_or_init(|| {
            let given = self.input.given().take();
            given.unwrap_or_else(|| self.input_text().to_value())
        })
    }

    /// Appends an event after `*prev` and moves the cursor to it (in a resumed execution, an event on
    /// record is not appended again: the cursor moves to the recorded one). Its `previousEventId` follows
    /// the history's linking rule ([`History`](crate::History)).
    pub(crate) fn event(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        self.linked_event(prev, details, Link::Follow, None)
    }

    /// [`Exec::event`] stamped with a time the caller read: one clock read serves a state's exited event
    /// and the next state's entered event, which follow each other without waiting.
    pub(crate) fn event_at(
        &self,
        prev: &mut u64,
        details: EventDetails,
        at: DateTime<Utc>,
    ) -> Result<u64, Interrupt> {
        self.linked_event(prev, details, Link::Follow, Some(at))
    }

    /// Appends the event that joins concurrent branches or iterations after they all succeeded: it links
    /// to the latest event of any of them.
    pub(crate) fn join_event(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        self.linked_event(prev, details, Link::Latest, None)
    }

    fn linked_event(
        &self,
        prev: &mut u64,
        details: EventDetails,
        link: Link,
        at: Option<DateTime<Utc>>,
    ) -> Result<u64, Interrupt> {
        if let Some(replay) = &self.replay {
            return replay.event(prev, details, |prev, details| {
                // A redriven execution's first new event follows its `ExecutionRedriven`.
                if link == Link::Follow
                    && let Some(redriven) = replay.take_redriven_event()
                {
                    self.history.relink(*prev, redriven);
                }
                self.append(prev, details, link, at)
            });
        }
        self.append(prev, details, link, at)
    }

    /// Appends an event after `*prev` (at `at`, else now) and moves the cursor to it.
    fn append(
        &self,
        prev: &mut u64,
        details: EventDetails,
        link: Link,
        at: Option<DateTime<Utc>>,
    ) -> Result<u64, Interrupt> {
        let at = at.unwrap_or_else(|| self.now());
        match self.history.push(*prev, link, at, details) {
            Ok(id) => {
                *prev = id;
                Ok(id)
            }
            Err(_) => Err(Interrupt::Terminal(Failure::new(
                ErrorName::Runtime,
                format!(
                    "The execution reached the maximum number of history events ({}).",
                    self.engine.config.max_history_events.unwrap_or_default()
                ),
            ))),
        }
    }

    /// Appends an event after `*prev` that links as event `beside` does (AWS's `EvaluationFailed` sits
    /// beside the state's entered event).
    pub(crate) fn event_beside(
        &self,
        prev: &mut u64,
        beside: u64,
        details: EventDetails,
    ) -> Result<u64, Interrupt> {
        self.linked_event(prev, details, Link::Beside(beside), None)
    }

    /// A child execution of a Distributed Map's map run (AWS runs each iteration, or batch, as a child
    /// workflow execution with an ARN and a history of its own; the parent's history shows only
    /// `MapRunStarted` and its end): this execution's machine, engine and mocks, under the child's
    /// names. Its events go to the engine's sink under its own ARN. A resumed execution runs its map
    /// runs again.
    pub(crate) fn map_child(&self, child: &ChildNames, input: Value) -> Arc<Exec> {
        self.map_child_from(child, input, None, self.now())
    }

    /// [`Exec::map_child`] for a child that ran before (a resumed or redriven map run's): started at
    /// `start_time`, replaying `replay` (its recorded events are to be restored into its history).
    pub(crate) fn map_child_from(
        &self,
        child: &ChildNames,
        input: Value,
        replay: Option<Arc<Replay>>,
        start_time: DateTime<Utc>,
    ) -> Arc<Exec> {
        let limit = self.engine.config.max_history_events;
        let history = match &self.engine.sink {
            Some(sink) => History::with_sink(limit, sink.clone(), &child.arn),
            None => History::new(limit),
        };
        Arc::new(Exec {
            engine: self.engine.clone(),
            machine: self.machine.clone(),
            history,
            execution_arn: child.arn.clone(),
            execution_name: child.name.clone(),
            state_machine_arn: child.state_machine_arn.clone(),
            state_machine_name: child.state_machine_name.clone(),
            role_arn: self.role_arn.clone(),
            start_time,
            input: ExecInput::new(input),
            input_text: Default::default(),
            mocks: self.mocks.clone(),
            mock_calls: child.mock_calls.clone(),
            evaluation_failures: Default::default(),
            replay,
            scopes: self.scopes,
            test: self.test.clone(),
            terminating: Arc::default(),
        })
    }

    /// Makes what follows event `id` (a Map's or Parallel's `…StateStarted`) link to what follows `to`
    /// (the last event of an iteration or branch): the linking rule's one movable link.
    pub(crate) fn relink(&self, id: u64, to: u64) {
        self.history.relink(id, to);
    }

    /// Ends a scope that ran branches or iterations (Parallel, Map): on success or abort, the closing
    /// event `closing` names (after the latest event of any branch), and the array of their outputs. A
    /// failure writes nothing here: the cursor stays on `…StateStarted`, which now links into the branch or
    /// iteration that failed, so a retry follows it and after the last attempt the recovery writes
    /// `…StateFailed` there (`scenarios/test_base_scenarios__test_map_state_retry`,
    /// `…__test_parallel_state_retry`).
    pub(crate) fn close(
        &self,
        prev: &mut u64,
        outcome: Result<Value, Interrupt>,
        closing: impl Fn(Closing) -> EventDetails,
    ) -> Result<Value, Interrupt> {
        match outcome {
            Ok(output) => {
                self.join_event(prev, closing(Closing::Succeeded))?;
                Ok(output)
            }
            Err(Interrupt::Abort) => {
                self.join_event(prev, closing(Closing::Aborted))?;
                Err(Interrupt::Abort)
            }
            Err(e) => Err(e),
        }
    }

    /// The context object as one JSON document (only for `$$` paths that need a whole member);
    /// `Execution.Input` is copied only when `with_input`.
    pub(crate) fn context_value(&self, s: &StateInfo<'_>, with_input: bool) -> Value {
        let mut state = JsonMap::new();
        state.insert("Name".into(), Value::String(s.name.to_owned()));
        state.insert("EnteredTime".into(), Value::String(iso(s.entered_time)));
        if let Some(r) = s.retry_count {
            state.insert("RetryCount".into(), json!(r));
        }
        // AWS's member order: Id, Input, StartTime, Name, RoleArn, RedriveCount
        // (`context_object/test_context_object__test_input_path`).
        let mut execution = JsonMap::new();
        execution.insert("Id".into(), Value::String(self.execution_arn.clone()));
        if with_input {
            execution.insert("Input".into(), self.execution_input().clone());
        }
        execution.insert("StartTime".into(), Value::String(iso(self.start_time)));
        execution.insert("Name".into(), Value::String(self.execution_name.clone()));
        execution.insert("RoleArn".into(), Value::String(self.role_arn.clone()));
        // An EXPRESS execution (`arn:…:express:…`) cannot be redriven: AWS gives it no RedriveCount.
        if !self.execution_arn.contains(":express:") {
            let redrives = self.replay.as_ref().map_or(0, |r| r.redrive_count());
            execution.insert("RedriveCount".into(), json!(redrives));
        }
        let execution = Value::Object(execution);
        let mut ctx = JsonMap::new();
        ctx.insert("Execution".into(), execution);
        ctx.insert(
            "StateMachine".into(),
            json!({"Id": self.state_machine_arn, "Name": self.state_machine_name}),
        );
        ctx.insert("State".into(), Value::Object(state));
        if let Some(t) = s.token {
            ctx.insert("Task".into(), json!({"Token": t}));
        }
        if let Some((i, v)) = s.map_item {
            ctx.insert("Map".into(), json!({"Item": {"Index": i, "Value": v}}));
        }
        let mut ctx = Value::Object(ctx);
        if let Some(given) = self.test.as_ref().and_then(|t| t.context.as_ref()) {
            crate::inspect::merge(&mut ctx, &Value::Object(given.clone()));
        }
        ctx
    }

    /// Runs a scope (the machine, a branch or an iteration) from `start_at` to its end, with the
    /// interpreter the engine gave this execution ([`Exec::scopes`]).
    pub(crate) async fn run_scope(
        self: &Arc<Self>,
        start_at: &str,
        states: &States,
        input: Value,
        vars: &mut Vars,
        prev: &mut u64,
        abort: &AbortSignal,
    ) -> Result<Value, Interrupt> {
        (self.scopes)(self, start_at, states, input, None, vars, prev, abort).await.map(|(v, _)| v)
    }

    /// [`Exec::run_scope`] with the history text of `input` (`input_text`, where the state before made
    /// it) and of the output: the text the scope's last state exited with.
    #[allow(clippy::too_many_arguments, reason = "run_scope's arguments and the input's text")]
    pub(crate) fn run_scope_text<'a>(
        self: &'a Arc<Self>,
        start_at: &'a str,
        states: &'a States,
        input: Value,
        input_text: Option<JsonText>,
        vars: &'a mut Vars,
        prev: &'a mut u64,
        abort: &'a AbortSignal,
    ) -> BoxFuture<'a, Result<(Value, Option<JsonText>), Interrupt>> {
        (self.scopes)(self, start_at, states, input, input_text, vars, prev, abort)
    }
}

/// The names of one child execution of a map run.
pub(crate) struct ChildNames {
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) state_machine_arn: String,
    pub(crate) state_machine_name: String,
    /// Mocked Task invocations, counted across the map run.
    pub(crate) mock_calls: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
}

/// One state being run: the execution, the state, what `$$` shows of it, the variables it sees (as they
/// were before the state) and its abort signal. The recurring errors and every evaluation of a state's
/// fields are its methods.
#[derive(Clone, Copy)]
pub(crate) struct StateCtx<'a> {
    pub(crate) exec: &'a Arc<Exec>,
    pub(crate) state: &'a State,
    pub(crate) info: StateInfo<'a>,
    pub(crate) vars: &'a Vars,
    pub(crate) abort: &'a AbortSignal,
    /// The history texts the state hands on unchanged (`None` in a TestState run).
    pub(crate) texts: Option<&'a Texts>,
}

/// The history texts of one state that AWS keeps verbatim while a value passes through unchanged
/// (`scenarios/test_base_scenarios__test_parallel_state_nested`: the caller's `[[1, 2, 3], [4, 5, 6]]`,
/// spaces and all, in a Parallel's branches and, as `[[[[1, 2, 3], [4, 5, 6]]]]`, in its output).
pub(crate) struct Texts {
    /// The text of the state's input, as its entered event shows it.
    pub(crate) input: JsonText,
    /// The text of the state's result where its module made one (a Parallel's: an array of its
    /// branches' output texts), set by the attempt that succeeded.
    pub(crate) result: std::sync::OnceLock<JsonText>,
}

impl<'a> StateCtx<'a> {
    /// The same state seen with a task token (`$$.Task.Token`) or a Map item (`$$.Map.Item`).
    pub(crate) fn with<'b>(
        &'b self,
        token: Option<&'b str>,
        map_item: Option<(usize, &'b Value)>,
    ) -> StateCtx<'b>
    where
        'a: 'b,
    {
        StateCtx { info: self.info.with(token, map_item), ..*self }
    }

    /// The same state on attempt `retry_count` (`$$.State.RetryCount`).
    pub(crate) fn attempt(&self, retry_count: u32) -> StateCtx<'a> {
        StateCtx { info: StateInfo { retry_count: Some(retry_count), ..self.info }, ..*self }
    }

    /// A `States.Runtime` error with AWS's prefix naming this state.
    pub(crate) fn runtime(&self, message: &str) -> Failure {
        runtime(self.info.name, self.info.entered_event, message)
    }

    /// The context object `$$` of this state.
    pub(crate) fn view(&self) -> ContextView<'_> {
        ContextView { exec: self.exec, info: &self.info }
    }

    /// Records into TestState's inspection, when this state is the one tested.
    pub(crate) fn inspect(&self, f: impl FnOnce(&mut Inspection)) {
        if let Some(t) = &self.exec.test
            && t.state == self.state.name
        {
            t.record(f);
        }
    }

    /// TestState's mock, when this state is the one tested and has one.
    pub(crate) fn test_mock(&self) -> Option<&'a TestMock> {
        self.exec.test.as_ref().filter(|t| t.state == self.state.name).and_then(|t| t.mock.as_ref())
    }

    /// The time now (the engine's clock).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.exec.now()
    }

    /// Appends an event after `*prev` (see [`Exec::event`]).
    pub(crate) fn event(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        self.exec.event(prev, details)
    }

    /// Evaluates a path on `input`, the context object or the variables.
    pub(crate) fn eval_path<'v>(&self, path: &Path, input: &'v Value) -> Result<Cow<'v, Value>, Failure>
    where
        'a: 'v,
    {
        let map_err = |e: sfn_path::EvalError| self.runtime(e.message());
        if *path.root() == Root::Context {
            let view = self.view();
            let scope = Scope { input, context: &view, variables: self.vars };
            return path.eval(&scope).map(|c| Cow::Owned(c.into_owned())).map_err(map_err);
        }
        let scope = Scope { input, context: &Value::Null, variables: self.vars };
        path.eval(&scope).map_err(map_err)
    }

    /// Evaluates a JSONPath payload template against `input`.
    pub(crate) fn template(&self, t: &Template, input: &Value) -> Result<Value, Failure> {
        if let Template::Literal(v) = t {
            return Ok(v.clone());
        }
        let view = self.view();
        t.eval(&Scope { input, context: &view, variables: self.vars }).map_err(|e| self.runtime(e.message()))
    }
}

/// The result of a state before the history records its exit; `next` is borrowed from the definition
/// (no copy of the name per transition).
pub(crate) struct Step<'a> {
    pub(crate) next: Option<&'a str>,
    pub(crate) output: Value,
    pub(crate) assign: Option<JsonMap<String, Value>>,
}

/// How a value appears in AWS's error messages (strings without quotes, JSON otherwise).
pub(crate) fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}
