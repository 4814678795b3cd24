//! The interpreter: one execution, its scopes (the machine, Parallel branches, Map iterations) and states.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map as JsonMap, Value, json};
use sfn_asl::{
    Choice, Dynamic, Fail, IoPath, Payload, ProcessorMode, QueryLanguage, Recovery, ResultPath, Retrier,
    State, StateKind, StateMachine, States, Text, Wait,
};
use sfn_path::{ContextObject, ErrorName, NotFound, Path, Root, Scope, Segment, Selector, Template};
use sfn_patterns::AbortSignal;

use crate::choice;
use crate::engine::EngineInner;
use crate::error::{Failure, Interrupt, runtime};
use crate::history::{EventDetails, History, JsonText};
use crate::jsonata::AtaScope;
use crate::vars::Vars;

/// Most Map iterations in flight at once.
const MAX_IN_FLIGHT: usize = 16_384;

/// Largest state input/output, in bytes (AWS: 256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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
    pub(crate) input: Value,
    /// Invocations so far of each mocked Task state.
    pub(crate) mock_calls: std::sync::Mutex<std::collections::HashMap<String, u32>>,
    /// The recorded events of a resumed execution (`None` for a fresh one).
    pub(crate) replay: Option<Arc<crate::replay::Replay>>,
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
        match (name(0), name(1), name(2)) {
            (Some("Execution"), Some("Input"), _) => return path.select_from(2, &exec.input),
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

/// Per-state facts the context object (`$$`) shows.
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

/// What a state hands on: where to go next (none = end of scope) and the output.
pub(crate) struct Flow {
    pub(crate) next: Option<String>,
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

/// True when the JSON text of `v` is longer than `limit` bytes.
pub(crate) fn exceeds(v: &Value, limit: usize) -> bool {
    serde_json::to_writer(Counter { n: 0, limit }, v).is_err()
}

impl Exec {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.engine.clock.now()
    }

    /// Appends an event after `*prev` and moves the cursor to it (in a resumed execution, an event on
    /// record is not appended again: the cursor moves to the recorded one).
    pub(crate) fn event(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        if let Some(replay) = &self.replay {
            return replay.event(self, prev, details);
        }
        self.append(prev, details)
    }

    /// Appends an event after `*prev` and moves the cursor to it.
    pub(crate) fn append(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        match self.history.push(*prev, self.now(), details) {
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

    /// Appends the event that joins concurrent branches: it follows the latest event of any branch.
    pub(crate) fn join_event(&self, prev: &mut u64, details: EventDetails) -> Result<u64, Interrupt> {
        *prev = (*prev).max(self.history.len() as u64);
        self.event(prev, details)
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
        let mut execution = json!({
            "Id": self.execution_arn,
            "StartTime": iso(self.start_time),
            "Name": self.execution_name,
            "RoleArn": self.role_arn,
            "RedriveCount": 0,
        });
        if with_input && let Value::Object(m) = &mut execution {
            m.insert("Input".into(), self.input.clone());
        }
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
        Value::Object(ctx)
    }

    /// Runs a scope (the machine, a branch or an iteration) from `start_at` to its end.
    pub(crate) fn run_scope<'a>(
        self: &'a Arc<Self>,
        start_at: &'a str,
        states: &'a States,
        input: Value,
        vars: &'a mut Vars,
        prev: &'a mut u64,
        abort: &'a AbortSignal,
    ) -> BoxFuture<'a, Result<Value, Interrupt>> {
        Box::pin(async move {
            let mut current = start_at;
            let mut input = input;
            loop {
                if abort.is_aborted() {
                    return Err(Interrupt::Abort);
                }
                let Some(state) = states.get(current) else {
                    return Err(Interrupt::Fail(Failure::new(
                        ErrorName::Runtime,
                        format!("The state '{current}' does not exist"),
                    )));
                };
                let flow = self.run_state(state, input, vars, prev, abort).await?;
                match flow.next {
                    Some(next) => {
                        current = states.get(&next).map(|s| s.name.as_str()).unwrap_or_default();
                        if current.is_empty() {
                            return Err(Interrupt::Fail(Failure::new(
                                ErrorName::Runtime,
                                format!("The state '{next}' does not exist"),
                            )));
                        }
                        input = flow.output;
                    }
                    None => return Ok(flow.output),
                }
            }
        })
    }

    async fn run_state(
        self: &Arc<Self>,
        state: &State,
        input: Value,
        vars: &mut Vars,
        prev: &mut u64,
        abort: &AbortSignal,
    ) -> Result<Flow, Interrupt> {
        let st = state.state_type();
        let name: Arc<str> = Arc::from(state.name.as_str());
        let entered_time = self.now();
        let entered = self.event(
            prev,
            EventDetails::StateEntered { state_type: st, name: name.clone(), input: JsonText::new(&input) },
        )?;
        let entered_time = self.replay.as_ref().and_then(|r| r.timestamp(entered)).unwrap_or(entered_time);
        let info = StateInfo {
            name: &state.name,
            entered_event: entered,
            entered_time,
            retry_count: None,
            token: None,
            map_item: None,
        };
        let jsonata = state.query_language == QueryLanguage::Jsonata;
        let step = match &state.kind {
            StateKind::Fail(f) => return Err(self.fail_state(f, &input, vars, &info)?.into()),
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                // Boxed: keeps the future of every other state small (Map iterations move it around).
                Box::pin(self.retrying_state(state, input, vars, prev, abort, entered, entered_time)).await?
            }
            _ if jsonata => Box::pin(self.ata_simple_state(state, input, vars, &info, abort)).await?,
            StateKind::Choice(c) => self.choice_state(state, c, input, vars, &info)?,
            StateKind::Succeed => {
                let eff = self.input_path(state, &input, vars, &info)?;
                let out = self.output_path(state, eff.into_owned(), vars, &info)?;
                Step { next: None, output: out, assign: None }
            }
            StateKind::Pass(p) => {
                let eff = self.input_path(state, &input, vars, &info)?;
                let result = match (&p.result, &p.parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(params)) => self.payload(params, &eff, vars, &info)?,
                    (None, None) => eff.into_owned(),
                };
                let assign = self.assign(state.assign.as_ref(), &result, vars, &info)?;
                let out = self.apply_result(state, &p.result_path, input, result, vars, &info)?;
                Step { next: state.next.clone(), output: out, assign }
            }
            StateKind::Wait(w) => {
                let eff = self.input_path(state, &input, vars, &info)?.into_owned();
                self.wait_state(w, &eff, vars, &info, abort).await?;
                let assign = self.assign(state.assign.as_ref(), &eff, vars, &info)?;
                let out = self.output_path(state, eff, vars, &info)?;
                Step { next: state.next.clone(), output: out, assign }
            }
        };
        // The output is serialized once: for the history, and to check the payload limit.
        let output_text = JsonText::new(&step.output);
        if output_text.len() > self.engine.config.max_payload_bytes {
            return Err(Interrupt::Fail(Failure::new(
                ErrorName::DataLimitExceeded,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            )));
        }
        let assigned = step.assign.map(|a| {
            let mut list = Vec::with_capacity(a.len());
            for (k, v) in a {
                list.push((k.clone(), JsonText::new(&v)));
                vars.set(k, v);
            }
            list
        });
        let exited = self
            .event(prev, EventDetails::StateExited { state_type: st, name, output: output_text, assigned })?;
        let output = match &self.replay {
            Some(r) => r.exited(exited, vars).unwrap_or(step.output),
            None => step.output,
        };
        Ok(Flow { next: step.next, output })
    }

    // ---- input/output pipeline ------------------------------------------------------------------------

    fn eval_path<'v>(
        &self,
        path: &Path,
        input: &'v Value,
        vars: &'v Vars,
        info: &StateInfo<'_>,
    ) -> Result<Cow<'v, Value>, Failure> {
        let map_err = |e: sfn_path::EvalError| runtime(info.name, info.entered_event, e.message());
        if *path.root() == Root::Context {
            let view = ContextView { exec: self, info };
            let scope = Scope { input, context: &view, variables: vars };
            return path.eval(&scope).map(|c| Cow::Owned(c.into_owned())).map_err(map_err);
        }
        let scope = Scope { input, context: &Value::Null, variables: vars };
        path.eval(&scope).map_err(map_err)
    }

    pub(crate) fn input_path<'v>(
        &self,
        state: &State,
        input: &'v Value,
        vars: &'v Vars,
        info: &StateInfo<'_>,
    ) -> Result<Cow<'v, Value>, Failure> {
        match &state.input_path {
            IoPath::Whole => Ok(Cow::Borrowed(input)),
            IoPath::Null => Ok(Cow::Owned(Value::Object(JsonMap::new()))),
            IoPath::Path(p) => self.eval_path(p, input, vars, info),
        }
    }

    pub(crate) fn output_path(
        &self,
        state: &State,
        output: Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match &state.output_path {
            IoPath::Whole => Ok(output),
            IoPath::Null => Ok(Value::Object(JsonMap::new())),
            IoPath::Path(p) if *p.root() == Root::Input => p
                .take(output, &Scope { input: &Value::Null, context: &Value::Null, variables: vars })
                .map_err(|e| runtime(info.name, info.entered_event, e.message())),
            IoPath::Path(p) => Ok(self.eval_path(p, &output, vars, info)?.into_owned()),
        }
    }

    /// Evaluates a payload template against `input` (JSONata: `Arguments` with `$states.input`).
    pub(crate) fn payload(
        &self,
        payload: &Payload,
        input: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match payload {
            Payload::JsonPath(t) => self.template(t, input, vars, info),
            // The one JSONata payload evaluated through here: `Arguments` (Task, Parallel).
            Payload::Jsonata(p) => {
                self.ata_template(p.template(), "Arguments", AtaScope::input(input), vars, info)
            }
        }
    }

    pub(crate) fn template(
        &self,
        t: &Template,
        input: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        if let Template::Literal(v) = t {
            return Ok(v.clone());
        }
        let view = ContextView { exec: self, info };
        t.eval(&Scope { input, context: &view, variables: vars })
            .map_err(|e| runtime(info.name, info.entered_event, e.message()))
    }

    /// ResultPath alone: the result placed into the raw input.
    pub(crate) fn apply_result_only(
        &self,
        result_path: &ResultPath,
        raw_input: Value,
        result: Value,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match result_path {
            ResultPath::Whole => Ok(result),
            ResultPath::Discard => Ok(raw_input),
            ResultPath::Path(rp) => rp.set(raw_input, result).map_err(|e| {
                if *e.error_name() == ErrorName::Runtime {
                    runtime(info.name, info.entered_event, e.message())
                } else {
                    Failure::new(e.error_name(), e.message())
                }
            }),
        }
    }

    /// ResultPath then OutputPath.
    pub(crate) fn apply_result(
        &self,
        state: &State,
        result_path: &ResultPath,
        raw_input: Value,
        result: Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        let merged = self.apply_result_only(result_path, raw_input, result, info)?;
        self.output_path(state, merged, vars, info)
    }

    /// Evaluates an `Assign` block; `$` is the state's result.
    pub(crate) fn assign(
        &self,
        assign: Option<&Payload>,
        result: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Option<JsonMap<String, Value>>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        match self.payload(a, result, vars, info)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Err(runtime(info.name, info.entered_event, "Assign must evaluate to a JSON object.")),
        }
    }

    // ---- simple states --------------------------------------------------------------------------------

    pub(crate) fn fail_state(
        &self,
        f: &Fail,
        input: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Failure, Interrupt> {
        let text = |t: &Option<Text>| -> Result<Option<String>, Failure> {
            match t {
                None => Ok(None),
                Some(Text::Value(s)) => Ok(Some(s.clone())),
                Some(Text::Expr(e)) => {
                    let view = ContextView { exec: self, info };
                    let v = e
                        .eval(&Scope { input, context: &view, variables: vars })
                        .map_err(|err| runtime(info.name, info.entered_event, err.message()))?;
                    match v.as_ref() {
                        Value::String(s) => Ok(Some(s.clone())),
                        other => Err(runtime(
                            info.name,
                            info.entered_event,
                            &format!(
                                "The value of the path or intrinsic function must be a string, got {other}"
                            ),
                        )),
                    }
                }
                Some(Text::Jsonata(e)) => {
                    let field = if std::ptr::eq(t, &f.error) { "Error" } else { "Cause" };
                    self.ata_string(e, field, AtaScope::input(input), vars, info).map(Some)
                }
            }
        };
        let name = text(&f.error)?.map(ErrorName::from);
        let cause = text(&f.cause)?;
        Ok(Failure { name, cause })
    }

    pub(crate) fn choice_state(
        &self,
        state: &State,
        c: &Choice,
        input: Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Step, Failure> {
        let eff = self.input_path(state, &input, vars, info)?.into_owned();
        let view = ContextView { exec: self, info };
        let scope = Scope { input: &eff, context: &view, variables: vars };
        let mut matched = None;
        for rule in &c.choices {
            if choice::eval(&rule.condition, &scope)
                .map_err(|m| runtime(info.name, info.entered_event, &m))?
            {
                matched = Some(rule);
                break;
            }
        }
        let (next, assign) = match matched {
            Some(rule) => (rule.next.clone(), rule.assign.as_ref().or(None)),
            None => match &c.default {
                Some(d) => (d.clone(), state.assign.as_ref()),
                None => {
                    return Err(Failure::new(
                        ErrorName::NoChoiceMatched,
                        format!(
                            "An error occurred while executing the state '{}' (entered at the event id #{}). No Choice Rule matched and no Default is set.",
                            info.name, info.entered_event
                        ),
                    ));
                }
            },
        };
        let assign = self.assign(assign, &eff, vars, info)?;
        let out = self.output_path(state, eff, vars, info)?;
        Ok(Step { next: Some(next), output: out, assign })
    }

    fn number_at(
        &self,
        p: &Path,
        input: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
        field: &str,
    ) -> Result<u64, Failure> {
        let v = self.eval_path(p, input, vars, info)?;
        // Like Jackson's coercion, a numeric string ("1") is accepted (recorded: MaxConcurrencyPath "1").
        let n = match v.as_ref() {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) => Ok(n),
            None => Err(runtime(
                info.name,
                info.entered_event,
                &format!(
                    "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                    display_value(v.as_ref()),
                    p.source()
                ),
            )),
        }
    }

    pub(crate) async fn wait_state(
        &self,
        w: &Wait,
        eff: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
        abort: &AbortSignal,
    ) -> Result<(), Interrupt> {
        let duration = match w {
            Wait::Seconds(Dynamic::Value(s)) => Duration::from_secs(*s),
            Wait::Seconds(Dynamic::Path(p)) => {
                Duration::from_secs(self.number_at(p, eff, vars, info, "SecondsPath")?)
            }
            Wait::Timestamp(d) => {
                let text = match d {
                    Dynamic::Value(t) => t.clone(),
                    Dynamic::Path(p) => match self.eval_path(p, eff, vars, info)?.as_ref() {
                        Value::String(s) => s.clone(),
                        other => {
                            return Err(runtime(
                                info.name,
                                info.entered_event,
                                &format!("The TimestampPath field refers to value {other} which is not a valid timestamp"),
                            )
                            .into());
                        }
                    },
                    Dynamic::Jsonata(e) => {
                        self.ata_string(e, "Timestamp", AtaScope::input(eff), vars, info)?
                    }
                };
                let Some(at) = sfn_asl::parse_timestamp(&text) else {
                    return Err(runtime(
                        info.name,
                        info.entered_event,
                        &format!("The timestamp '{text}' is not a valid RFC 3339 timestamp"),
                    )
                    .into());
                };
                let delta = at.with_timezone(&Utc) - self.now();
                delta.to_std().unwrap_or(Duration::ZERO)
            }
            Wait::Seconds(Dynamic::Jsonata(e)) => {
                Duration::from_secs(self.ata_integer(e, "Seconds", AtaScope::input(eff), vars, info)?)
            }
        };
        let duration = match &self.replay {
            Some(r) => {
                let relative = matches!(w, Wait::Seconds(_));
                r.wait_left(info.entered_event, info.entered_time, duration, relative, self.now())
            }
            None => duration,
        };
        if duration.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => Ok(()),
            () = abort.aborted() => Err(Interrupt::Abort),
        }
    }

    // ---- Retry / Catch --------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    async fn retrying_state(
        self: &Arc<Self>,
        state: &State,
        input: Value,
        vars: &mut Vars,
        prev: &mut u64,
        abort: &AbortSignal,
        entered: u64,
        entered_time: DateTime<Utc>,
    ) -> Result<Step, Interrupt> {
        let no_recovery = Recovery::default();
        let recovery = state.recovery().unwrap_or(&no_recovery);
        let (retry, catch) = (&recovery.retry, &recovery.catch);
        let mut attempts = vec![0u64; retry.len()];
        let mut retry_count = 0u32;
        loop {
            let info = StateInfo {
                name: &state.name,
                entered_event: entered,
                entered_time,
                retry_count: Some(retry_count),
                token: None,
                map_item: None,
            };
            // Each kind is boxed so a waiting task does not carry the (large) Map and Parallel futures.
            let attempt = match &state.kind {
                StateKind::Task(t) => {
                    Box::pin(crate::task::run(self, state, t, &input, vars, prev, abort, &info)).await
                }
                StateKind::Parallel(p) => {
                    Box::pin(self.parallel_state(state, p, &input, vars, prev, abort, &info)).await
                }
                StateKind::Map(m) => {
                    Box::pin(self.map_state(state, m, &input, vars, prev, abort, &info)).await
                }
                _ => unreachable_state(&info),
            };
            let failure = match attempt {
                Ok(result) if state.query_language == QueryLanguage::Jsonata => {
                    let sc = AtaScope { input: &input, result: Some(&result), error_output: None };
                    let assign = self.ata_assign(state.assign.as_ref(), sc, vars, &info)?;
                    let out = match &state.output {
                        Some(p) => self.ata_payload(p, "Output", sc, vars, &info)?,
                        None => result,
                    };
                    return Ok(Step { next: state.next.clone(), output: out, assign });
                }
                Ok(result) => {
                    let result_path = &recovery.result_path;
                    let result = match &recovery.result_selector {
                        Some(sel) => self.payload(sel, &result, vars, &info)?,
                        None => result,
                    };
                    let assign = self.assign(state.assign.as_ref(), &result, vars, &info)?;
                    let out = self.apply_result(state, result_path, input, result, vars, &info)?;
                    return Ok(Step { next: state.next.clone(), output: out, assign });
                }
                Err(Interrupt::Fail(f)) => f,
                Err(other) => return Err(other),
            };
            if let Some(i) = retry.iter().position(|r| failure.matches(&r.error_equals)) {
                let r = &retry[i];
                if attempts[i] < r.max_attempts {
                    let mut delay = backoff(r, attempts[i]);
                    if let Some(replay) = &self.replay {
                        delay = replay.delay_left(*prev, delay, self.now());
                    }
                    attempts[i] += 1;
                    retry_count += 1;
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = abort.aborted() => return Err(Interrupt::Abort),
                    }
                    continue;
                }
            }
            if let Some(c) = catch.iter().find(|c| failure.matches(&c.error_equals)) {
                let mut err = JsonMap::new();
                err.insert("Error".into(), Value::String(failure.error_name().to_owned()));
                if let Some(cause) = &failure.cause {
                    err.insert("Cause".into(), Value::String(cause.clone()));
                }
                let err = Value::Object(err);
                let info = StateInfo {
                    name: &state.name,
                    entered_event: entered,
                    entered_time,
                    retry_count: Some(retry_count),
                    token: None,
                    map_item: None,
                };
                if state.query_language == QueryLanguage::Jsonata {
                    let sc = AtaScope { input: &input, result: None, error_output: Some(&err) };
                    let assign = self.ata_assign(c.assign.as_ref(), sc, vars, &info)?;
                    let out = match &c.output {
                        Some(p) => self.ata_payload(p, "Output", sc, vars, &info)?,
                        None => err,
                    };
                    return Ok(Step { next: Some(c.next.clone()), output: out, assign });
                }
                let assign = self.assign(c.assign.as_ref(), &err, vars, &info)?;
                let out = match &c.result_path {
                    ResultPath::Whole => err,
                    ResultPath::Discard => input,
                    ResultPath::Path(rp) => {
                        rp.set(input, err).map_err(|e| Failure::new(e.error_name(), e.message()))?
                    }
                };
                return Ok(Step { next: Some(c.next.clone()), output: out, assign });
            }
            return Err(Interrupt::Fail(failure));
        }
    }

    // ---- Parallel ---------------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    async fn parallel_state(
        self: &Arc<Self>,
        state: &State,
        p: &sfn_asl::Parallel,
        input: &Value,
        vars: &Vars,
        prev: &mut u64,
        abort: &AbortSignal,
        info: &StateInfo<'_>,
    ) -> Result<Value, Interrupt> {
        let eff = self.input_path(state, input, vars, info)?;
        let branch_input = match &p.parameters {
            Some(params) => self.payload(params, &eff, vars, info)?,
            None => eff.into_owned(),
        };
        let started = self.event(prev, EventDetails::ParallelStateStarted)?;
        let (branch_abort, branch_signal) = abort.child();
        let frozen = Arc::new(vars.clone());
        let futures = p.branches.iter().map(|b| {
            let input = branch_input.clone();
            let frozen = frozen.clone();
            let signal = branch_signal.clone();
            let abort_siblings = branch_abort.clone();
            async move {
                let mut vars = Vars::child_of(&frozen);
                let mut cursor = started;
                let r = self.run_scope(&b.start_at, &b.states, input, &mut vars, &mut cursor, &signal).await;
                if r.is_err() {
                    abort_siblings.abort();
                }
                r
            }
        });
        let results = futures_util::future::join_all(futures).await;
        let mut outputs = Vec::with_capacity(results.len());
        let mut first_error: Option<Interrupt> = None;
        for r in results {
            match r {
                Ok(v) => outputs.push(v),
                Err(Interrupt::Abort) if first_error.is_some() => {}
                Err(e) => {
                    if first_error.is_none() || matches!(first_error, Some(Interrupt::Abort)) {
                        first_error = Some(e);
                    }
                }
            }
        }
        match first_error {
            None => {
                self.join_event(prev, EventDetails::ParallelStateSucceeded { started })?;
                Ok(Value::Array(outputs))
            }
            Some(Interrupt::Abort) => {
                self.join_event(prev, EventDetails::ParallelStateAborted { started })?;
                Err(Interrupt::Abort)
            }
            Some(e) => {
                self.join_event(prev, EventDetails::ParallelStateFailed { started })?;
                Err(e)
            }
        }
    }

    // ---- Map --------------------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    async fn map_state(
        self: &Arc<Self>,
        state: &State,
        m: &sfn_asl::Map,
        input: &Value,
        vars: &Vars,
        prev: &mut u64,
        abort: &AbortSignal,
        info: &StateInfo<'_>,
    ) -> Result<Value, Interrupt> {
        if let Some(cause) = distributed_only(m) {
            return Err(runtime(info.name, info.entered_event, &cause).into());
        }
        let eff = self.input_path(state, input, vars, info)?;
        let items_value = match &m.items_path {
            _ if state.query_language == QueryLanguage::Jsonata => {
                Cow::Owned(self.ata_items(m.items.as_ref(), AtaScope::input(&eff), vars, info)?)
            }
            Some(p) => self.eval_path(p, &eff, vars, info)?,
            None => Cow::Borrowed(eff.as_ref()),
        };
        let Value::Array(items) = items_value.as_ref() else {
            return Err(runtime(
                info.name,
                info.entered_event,
                &format!(
                    "Item value for ItemsPath {} is not a JSON array: {}",
                    m.items_path.as_ref().map_or("$", Path::source),
                    display_value(items_value.as_ref())
                ),
            )
            .into());
        };
        let max_concurrency = match &m.max_concurrency {
            Dynamic::Value(n) => *n,
            Dynamic::Path(p) => self.number_at(p, &eff, vars, info, "MaxConcurrencyPath")?,
            Dynamic::Jsonata(e) => {
                self.ata_integer(e, "MaxConcurrency", AtaScope::input(&eff), vars, info)?
            }
        };
        let tolerated_count =
            self.tolerated(m.tolerated_failure_count.as_ref(), &eff, vars, info, "ToleratedFailureCount")?;
        let tolerated_pct = self.tolerated(
            m.tolerated_failure_percentage.as_ref(),
            &eff,
            vars,
            info,
            "ToleratedFailurePercentage",
        )?;
        let distributed = m.mode == ProcessorMode::Distributed;
        let total = items.len();

        let started = self.event(prev, EventDetails::MapStateStarted { length: total })?;
        let name: Arc<str> = Arc::from(state.name.as_str());
        let (map_abort, map_signal) = abort.child();
        let frozen = Arc::new(vars.clone());
        // MaxConcurrency 0 means "as many as possible"; iterations still start in bounded waves so a
        // huge array does not hold a future per item at once.
        let limit = match max_concurrency {
            0 => MAX_IN_FLIGHT,
            n => usize::try_from(n).unwrap_or(MAX_IN_FLIGHT).min(MAX_IN_FLIGHT),
        };
        let processor = &m.processor;

        let mut progress = MapProgress {
            outputs: vec![None; total],
            failures: 0,
            total,
            first_error: None,
            distributed,
            tolerated_count,
            tolerated_pct,
        };
        let mut pending = futures_util::stream::FuturesUnordered::new();
        let mut queue = items.iter().enumerate();
        use futures_util::{FutureExt as _, StreamExt as _};
        loop {
            while pending.len() < limit && progress.first_error.is_none() {
                let Some((index, item)) = queue.next() else { break };
                // The iteration's input: ItemSelector (or legacy Parameters) sees $$.Map.Item.
                let item_input = match self.item_input(m, index, item, &eff, vars, info) {
                    Ok(v) => v,
                    Err(f) => {
                        progress.first_error = Some(Interrupt::Fail(f));
                        map_abort.abort();
                        break;
                    }
                };
                let frozen = frozen.clone();
                let signal = map_signal.clone();
                let name = name.clone();
                pending.push(async move {
                    let mut cursor = started;
                    let r = async {
                        self.event(
                            &mut cursor,
                            EventDetails::MapIterationStarted { name: name.clone(), index },
                        )?;
                        let mut vars = Vars::child_of(&frozen);
                        self.run_scope(
                            &processor.start_at,
                            &processor.states,
                            item_input,
                            &mut vars,
                            &mut cursor,
                            &signal,
                        )
                        .await
                    }
                    .await;
                    let end = match &r {
                        Ok(_) => EventDetails::MapIterationSucceeded { name, index },
                        Err(Interrupt::Abort) => EventDetails::MapIterationAborted { name, index },
                        Err(_) => EventDetails::MapIterationFailed { name, index },
                    };
                    let r = match (self.event(&mut cursor, end), r) {
                        (Err(e), _) => Err(e),
                        (Ok(_), r) => r,
                    };
                    (index, r)
                });
                // Iterations that finish without waiting (pure data work) finish right here, so their
                // futures and inputs are freed before the next one starts.
                while let Some(Some((index, r))) = pending.next().now_or_never() {
                    progress.record(index, r, &map_abort);
                }
            }
            let Some((index, r)) = pending.next().await else { break };
            progress.record(index, r, &map_abort);
        }
        let MapProgress { outputs, first_error, .. } = progress;
        match first_error {
            None => {
                self.join_event(prev, EventDetails::MapStateSucceeded { started })?;
                Ok(Value::Array(outputs.into_iter().map(Option::unwrap_or_default).collect()))
            }
            Some(Interrupt::Abort) => {
                self.join_event(prev, EventDetails::MapStateAborted { started })?;
                Err(Interrupt::Abort)
            }
            Some(e) => {
                self.join_event(prev, EventDetails::MapStateFailed { started })?;
                Err(e)
            }
        }
    }

    fn item_input(
        &self,
        m: &sfn_asl::Map,
        index: usize,
        item: &Value,
        eff: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match &m.item_selector {
            Some(Payload::JsonPath(t)) => {
                if let Template::Literal(v) = t {
                    return Ok(v.clone());
                }
                let item_info = info.with(None, Some((index, item)));
                let view = ContextView { exec: self, info: &item_info };
                t.eval(&Scope { input: eff, context: &view, variables: vars })
                    .map_err(|e| runtime(info.name, info.entered_event, e.message()))
            }
            Some(Payload::Jsonata(p)) => {
                let item_info = info.with(None, Some((index, item)));
                self.ata_template(p.template(), "ItemSelector", AtaScope::input(eff), vars, &item_info)
            }
            None => Ok(item.clone()),
        }
    }

    fn tolerated(
        &self,
        d: Option<&Dynamic<Value>>,
        eff: &Value,
        vars: &Vars,
        info: &StateInfo<'_>,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        let Some(d) = d else { return Ok(None) };
        let (value, path) = match d {
            Dynamic::Value(v) => (Cow::Borrowed(v), None),
            Dynamic::Path(p) => (self.eval_path(p, eff, vars, info)?, Some(p)),
            Dynamic::Jsonata(_) => {
                (Cow::Owned(self.ata_dynamic_value(d, field, AtaScope::input(eff), vars, info)?), None)
            }
        };
        let percentage = field == "ToleratedFailurePercentage";
        let n = match value.as_ref() {
            Value::Number(n) if percentage => n.as_f64(),
            Value::Number(n) => n.as_i64().map(|x| x as f64),
            Value::String(s) if percentage => s.trim().parse::<f64>().ok(),
            Value::String(s) => s.trim().parse::<i64>().ok().map(|x| x as f64),
            _ => None,
        };
        let Some(n) = n else {
            let p = path.map_or_else(String::new, |p| p.source().to_owned());
            let what = if percentage { "a valid number" } else { "a valid integer" };
            return Err(runtime(
                info.name,
                info.entered_event,
                &format!(
                    "The {field}Path field refers to value \"{}\" which is not {what}: {p}",
                    display_value(&value)
                ),
            ));
        };
        if n < 0.0 {
            return Err(runtime(info.name, info.entered_event, &format!("{field} cannot be negative.")));
        }
        if percentage && n > 100.0 {
            return Err(runtime(
                info.name,
                info.entered_event,
                &format!("{field} cannot be greater than 100."),
            ));
        }
        Ok(Some(n))
    }
}

/// What a Map state has collected from its iterations so far.
struct MapProgress {
    outputs: Vec<Option<Value>>,
    failures: usize,
    total: usize,
    first_error: Option<Interrupt>,
    distributed: bool,
    tolerated_count: Option<f64>,
    tolerated_pct: Option<f64>,
}

impl MapProgress {
    fn record(&mut self, index: usize, r: Result<Value, Interrupt>, map_abort: &sfn_patterns::AbortHandle) {
        match r {
            Ok(v) => self.outputs[index] = Some(v),
            Err(Interrupt::Fail(_)) if self.distributed && self.first_error.is_none() => {
                // Distributed mode: failed items count against the tolerated failure threshold
                // (AWS: "Setting failure thresholds for Distributed Map states"; default 0).
                self.failures += 1;
                let pct = (self.failures as f64) * 100.0 / (self.total.max(1) as f64);
                let exceeded = match (self.tolerated_count, self.tolerated_pct) {
                    (None, None) => true,
                    (c, p) => c.is_some_and(|c| self.failures as f64 > c) || p.is_some_and(|p| pct > p),
                };
                if exceeded {
                    self.first_error = Some(Interrupt::Fail(Failure::new(
                        ErrorName::ExceedToleratedFailureThreshold,
                        "The specified tolerated failure threshold was exceeded",
                    )));
                    map_abort.abort();
                }
                self.outputs[index] = Some(Value::Null);
            }
            Err(Interrupt::Abort) if self.first_error.is_some() => {}
            Err(e) => {
                if self.first_error.is_none() || matches!(self.first_error, Some(Interrupt::Abort)) {
                    self.first_error = Some(e);
                }
                map_abort.abort();
            }
        }
    }
}

/// The result of a state before the history records its exit.
pub(crate) struct Step {
    pub(crate) next: Option<String>,
    pub(crate) output: Value,
    pub(crate) assign: Option<JsonMap<String, Value>>,
}

fn unreachable_state(info: &StateInfo<'_>) -> Result<Value, Interrupt> {
    Err(runtime(info.name, info.entered_event, "internal error: not a retryable state").into())
}

/// How a value appears in AWS's error messages (strings without quotes, JSON otherwise).
pub(crate) fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// The delay before retry number `attempt` (0-based) of a retrier.
pub(crate) fn backoff(r: &Retrier, attempt: u64) -> Duration {
    let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(exp);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    secs = secs.min(31_536_000.0);
    if r.jitter == sfn_asl::Jitter::Full {
        secs *= rand::random::<f64>();
    }
    Duration::from_secs_f64(secs.max(0.0))
}

/// The cause a Map state fails with when it uses a Distributed Map field that reads or writes outside the
/// execution (`ItemReader`, `ResultWriter`) or reshapes the items (`ItemBatcher`): AWS accepts such a
/// definition, but running it inline over the state input would be silently wrong, so it fails instead.
fn distributed_only(m: &sfn_asl::Map) -> Option<String> {
    let fields: Vec<&str> = [
        ("ItemReader", m.item_reader.is_some()),
        ("ResultWriter", m.result_writer.is_some()),
        ("ItemBatcher", m.item_batcher.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, used)| used.then_some(f))
    .collect();
    (!fields.is_empty()).then(|| {
        format!(
            "The Map state uses {} (Distributed Map), which sfn does not run yet: it would not read the items, batch them or write the results as AWS does",
            fields.join(", ")
        )
    })
}
