//! Execution history: the events of GetExecutionHistory, with ids, previous ids and timestamps.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

/// The state types as they prefix history event names (`PassStateEntered`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    /// The type name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Pass => "Pass",
            StateType::Task => "Task",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
            StateType::Parallel => "Parallel",
            StateType::Map => "Map",
        }
    }
}

/// A JSON document as the history keeps it: serialized once, shared cheaply (GetExecutionHistory
/// returns inputs and outputs as JSON text anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(Arc<str>);

impl JsonText {
    /// Serializes a value.
    pub fn new(v: &Value) -> JsonText {
        JsonText(Arc::from(serde_json::to_string(v).unwrap_or_default()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes (what the payload limit counts).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty text (never produced by [`JsonText::new`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses it back.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// Which integration a task event is about (`resourceType` / `resource`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResource {
    /// `resourceType` (`ecs`).
    pub resource_type: Arc<str>,
    /// `resource` (`runTask.sync`).
    pub resource: Arc<str>,
}

/// What happened, with the details GetExecutionHistory shows.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum EventDetails {
    ExecutionStarted {
        input: JsonText,
        role_arn: String,
    },
    ExecutionSucceeded {
        output: JsonText,
    },
    ExecutionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionAborted {
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    StateEntered {
        state_type: StateType,
        name: Arc<str>,
        input: JsonText,
    },
    StateExited {
        state_type: StateType,
        name: Arc<str>,
        output: JsonText,
        assigned: Option<Vec<(String, JsonText)>>,
    },
    TaskScheduled {
        task: TaskResource,
        region: String,
        parameters: JsonText,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
    },
    TaskStarted {
        task: TaskResource,
    },
    TaskSubmitted {
        task: TaskResource,
        output: JsonText,
    },
    TaskSucceeded {
        task: TaskResource,
        output: JsonText,
    },
    TaskFailed {
        task: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    TaskTimedOut {
        task: TaskResource,
        error: Option<String>,
        cause: Option<String>,
    },
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    MapStateStarted {
        length: usize,
    },
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapIterationStarted {
        name: Arc<str>,
        index: usize,
    },
    MapIterationSucceeded {
        name: Arc<str>,
        index: usize,
    },
    MapIterationFailed {
        name: Arc<str>,
        index: usize,
    },
    MapIterationAborted {
        name: Arc<str>,
        index: usize,
    },
    WaitStateAborted {
        name: Arc<str>,
    },
}

impl EventDetails {
    /// The event type name (`ExecutionStarted`, `TaskStateEntered`, …).
    pub fn event_type(&self) -> String {
        use EventDetails as E;
        match self {
            E::StateEntered { state_type, .. } => format!("{}StateEntered", state_type.as_str()),
            E::StateExited { state_type, .. } => format!("{}StateExited", state_type.as_str()),
            E::ExecutionStarted { .. } => "ExecutionStarted".into(),
            E::ExecutionSucceeded { .. } => "ExecutionSucceeded".into(),
            E::ExecutionFailed { .. } => "ExecutionFailed".into(),
            E::ExecutionAborted { .. } => "ExecutionAborted".into(),
            E::ExecutionTimedOut { .. } => "ExecutionTimedOut".into(),
            E::TaskScheduled { .. } => "TaskScheduled".into(),
            E::TaskStarted { .. } => "TaskStarted".into(),
            E::TaskSubmitted { .. } => "TaskSubmitted".into(),
            E::TaskSucceeded { .. } => "TaskSucceeded".into(),
            E::TaskFailed { .. } => "TaskFailed".into(),
            E::TaskTimedOut { .. } => "TaskTimedOut".into(),
            E::ParallelStateStarted => "ParallelStateStarted".into(),
            E::ParallelStateSucceeded => "ParallelStateSucceeded".into(),
            E::ParallelStateFailed => "ParallelStateFailed".into(),
            E::ParallelStateAborted => "ParallelStateAborted".into(),
            E::MapStateStarted { .. } => "MapStateStarted".into(),
            E::MapStateSucceeded => "MapStateSucceeded".into(),
            E::MapStateFailed => "MapStateFailed".into(),
            E::MapStateAborted => "MapStateAborted".into(),
            E::MapIterationStarted { .. } => "MapIterationStarted".into(),
            E::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            E::MapIterationFailed { .. } => "MapIterationFailed".into(),
            E::MapIterationAborted { .. } => "MapIterationAborted".into(),
            E::WaitStateAborted { .. } => "WaitStateAborted".into(),
        }
    }
}

/// One history event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1-based id, in order of occurrence.
    pub id: u64,
    /// The event this one follows from (0 for the first).
    pub previous_event_id: u64,
    /// When it happened (by the engine's clock).
    pub timestamp: DateTime<Utc>,
    /// What happened.
    pub details: EventDetails,
}

fn text(v: &JsonText) -> Value {
    Value::String(v.as_str().to_owned())
}

fn opt(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), Value::String(v.clone()));
    }
}

fn task_fields(task: &TaskResource) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("resourceType".into(), Value::String(task.resource_type.to_string()));
    m.insert("resource".into(), Value::String(task.resource.to_string()));
    m
}

impl Event {
    /// The event type name.
    pub fn event_type(&self) -> String {
        self.details.event_type()
    }

    /// The event in GetExecutionHistory's JSON shape (`includeExecutionData: true`): inputs and outputs as
    /// JSON text with `…Details: {"truncated": false}`, the timestamp in epoch seconds.
    pub fn to_json(&self) -> Value {
        use EventDetails as E;
        let mut ev = Map::new();
        ev.insert("timestamp".into(), json!(self.timestamp.timestamp_millis() as f64 / 1000.0));
        ev.insert("type".into(), Value::String(self.event_type()));
        ev.insert("id".into(), json!(self.id));
        ev.insert("previousEventId".into(), json!(self.previous_event_id));
        let not_truncated = json!({"truncated": false});
        let (key, body): (&str, Value) = match &self.details {
            E::ExecutionStarted { input, role_arn } => (
                "executionStartedEventDetails",
                json!({"input": text(input), "inputDetails": not_truncated, "roleArn": role_arn}),
            ),
            E::ExecutionSucceeded { output } => (
                "executionSucceededEventDetails",
                json!({"output": text(output), "outputDetails": not_truncated}),
            ),
            E::ExecutionFailed { error, cause }
            | E::ExecutionAborted { error, cause }
            | E::ExecutionTimedOut { error, cause } => {
                let key = match &self.details {
                    E::ExecutionFailed { .. } => "executionFailedEventDetails",
                    E::ExecutionAborted { .. } => "executionAbortedEventDetails",
                    _ => "executionTimedOutEventDetails",
                };
                let mut m = Map::new();
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
                (key, Value::Object(m))
            }
            E::StateEntered { name, input, .. } => (
                "stateEnteredEventDetails",
                json!({"name": name.as_ref(), "input": text(input), "inputDetails": not_truncated}),
            ),
            E::StateExited { name, output, assigned, .. } => {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(name.to_string()));
                m.insert("output".into(), text(output));
                m.insert("outputDetails".into(), not_truncated);
                if let Some(vars) = assigned {
                    let mut a = Map::new();
                    for (k, v) in vars {
                        a.insert(k.clone(), text(v));
                    }
                    m.insert("assignedVariables".into(), Value::Object(a));
                    m.insert("assignedVariablesDetails".into(), json!({"truncated": false}));
                }
                ("stateExitedEventDetails", Value::Object(m))
            }
            E::TaskScheduled { task, region, parameters, timeout, heartbeat } => {
                let mut m = task_fields(task);
                m.insert("region".into(), Value::String(region.clone()));
                m.insert("parameters".into(), text(parameters));
                if let Some(t) = timeout {
                    m.insert("timeoutInSeconds".into(), json!(t));
                }
                if let Some(h) = heartbeat {
                    m.insert("heartbeatInSeconds".into(), json!(h));
                }
                ("taskScheduledEventDetails", Value::Object(m))
            }
            E::TaskStarted { task } => ("taskStartedEventDetails", Value::Object(task_fields(task))),
            E::TaskSubmitted { task, output } | E::TaskSucceeded { task, output } => {
                let mut m = task_fields(task);
                m.insert("output".into(), text(output));
                m.insert("outputDetails".into(), not_truncated);
                let key = if matches!(self.details, E::TaskSubmitted { .. }) {
                    "taskSubmittedEventDetails"
                } else {
                    "taskSucceededEventDetails"
                };
                (key, Value::Object(m))
            }
            E::TaskFailed { task, error, cause } | E::TaskTimedOut { task, error, cause } => {
                let mut m = task_fields(task);
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
                let key = if matches!(self.details, E::TaskFailed { .. }) {
                    "taskFailedEventDetails"
                } else {
                    "taskTimedOutEventDetails"
                };
                (key, Value::Object(m))
            }
            E::MapStateStarted { length } => ("mapStateStartedEventDetails", json!({"length": length})),
            E::MapIterationStarted { name, index } => {
                ("mapIterationStartedEventDetails", json!({"name": name.as_ref(), "index": index}))
            }
            E::MapIterationSucceeded { name, index } => {
                ("mapIterationSucceededEventDetails", json!({"name": name.as_ref(), "index": index}))
            }
            E::MapIterationFailed { name, index } => {
                ("mapIterationFailedEventDetails", json!({"name": name.as_ref(), "index": index}))
            }
            E::MapIterationAborted { name, index } => {
                ("mapIterationAbortedEventDetails", json!({"name": name.as_ref(), "index": index}))
            }
            E::WaitStateAborted { name } => ("stateExitedEventDetails", json!({"name": name.as_ref()})),
            E::ParallelStateStarted
            | E::ParallelStateSucceeded
            | E::ParallelStateFailed
            | E::ParallelStateAborted
            | E::MapStateSucceeded
            | E::MapStateFailed
            | E::MapStateAborted => return Value::Object(ev),
        };
        ev.insert(key.to_owned(), body);
        Value::Object(ev)
    }
}

/// The history limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryFull;

#[derive(Debug, Default)]
struct Inner {
    /// Events in fixed-size chunks: appending never moves earlier events (no reallocation copies).
    chunks: Vec<Vec<Event>>,
    len: usize,
}

/// Events per chunk.
const CHUNK: usize = 4096;

impl Inner {
    fn push(&mut self, e: Event) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(c) = self.chunks.last_mut() {
            c.push(e);
        }
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &Event> {
        self.chunks.iter().flatten()
    }
}

/// Receives every event as it is appended (for journals, live views, metrics).
pub trait EventSink: Send + Sync {
    /// Called under the history's lock, in event order; keep it quick.
    fn event(&self, execution_arn: &str, event: &Event);
}

/// An execution's events, shared between the running execution and its observers.
#[derive(Clone)]
pub struct History {
    inner: Arc<Mutex<Inner>>,
    limit: Option<usize>,
    sink: Option<(Arc<dyn EventSink>, Arc<str>)>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("events", &self.len()).field("limit", &self.limit).finish()
    }
}

impl History {
    /// An empty history holding at most `limit` events (AWS: 25,000).
    pub fn new(limit: Option<usize>) -> Self {
        History { inner: Arc::default(), limit, sink: None }
    }

    /// The same, reporting every event to `sink` under `execution_arn`.
    pub fn with_sink(limit: Option<usize>, sink: Arc<dyn EventSink>, execution_arn: &str) -> Self {
        History { inner: Arc::default(), limit, sink: Some((sink, Arc::from(execution_arn))) }
    }

    /// A history that continues from recorded events (a resumed execution).
    pub fn restore(&self, events: Vec<Event>) {
        let mut inner = self.lock();
        inner.chunks.clear();
        inner.len = 0;
        for e in events {
            inner.push(e);
        }
    }

    fn report(&self, e: &Event) {
        if let Some((sink, arn)) = &self.sink {
            sink.event(arn, e);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event after `previous` and returns its id; `Err` once the limit is reached.
    pub(crate) fn push(
        &self,
        previous: u64,
        timestamp: DateTime<Utc>,
        details: EventDetails,
    ) -> Result<u64, HistoryFull> {
        let mut inner = self.lock();
        if self.limit.is_some_and(|limit| inner.len >= limit) {
            return Err(HistoryFull);
        }
        let id = inner.len as u64 + 1;
        let event = Event { id, previous_event_id: previous, timestamp, details };
        self.report(&event);
        inner.push(event);
        Ok(id)
    }

    /// Appends the final execution event, even past the limit.
    pub(crate) fn push_final(&self, previous: u64, timestamp: DateTime<Utc>, details: EventDetails) -> u64 {
        let mut inner = self.lock();
        let id = inner.len as u64 + 1;
        let event = Event { id, previous_event_id: previous, timestamp, details };
        self.report(&event);
        inner.push(event);
        id
    }

    /// A copy of every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().iter().cloned().collect()
    }

    /// Number of events so far.
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// True when no event was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events from index `from` on (for pollers).
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        let inner = self.lock();
        inner.iter().skip(from).cloned().collect()
    }
}
