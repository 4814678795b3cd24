//! Execution history: the events of GetExecutionHistory, with ids, previous ids and timestamps.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Map, Value, json};

use crate::error::EventError;

mod store;

use store::{MAX_EVENTS, Store};

/// The state types; [`StateType::as_str`] prefixes the history event names (`PassStateEntered`, …).
pub use sfn_asl::StateType;

/// A JSON document as the history keeps it: serialized once, shared cheaply (GetExecutionHistory
/// returns inputs and outputs as JSON text anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(Arc<str>);

impl JsonText {
    /// Serializes a value (into a buffer the thread reuses, so the text is allocated once, at its size).
    pub fn new(v: &Value) -> JsonText {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        /// A buffer grown past this by a large document is given back after it.
        const KEEP: usize = 64 * 1024;
        let text = BUF.with(|buf| {
            let mut buf = buf.try_borrow_mut().ok()?;
            buf.clear();
            serde_json::to_writer(&mut *buf, v).ok()?;
            let text = std::str::from_utf8(&buf).ok().map(Arc::<str>::from);
            if buf.capacity() > KEEP {
                *buf = Vec::new();
            }
            text
        });
        JsonText(text.unwrap_or_else(|| Arc::from(serde_json::to_string(v).unwrap_or_default())))
    }

    /// JSON text kept as it was written (a caller's execution input).
    pub fn from_text(text: &str) -> JsonText {
        JsonText(Arc::from(text))
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

/// What happened, with the details GetExecutionHistory shows — plus two facts it does not show, which a
/// resumed execution needs ([`Event::to_stored_json`] keeps them): the task token a `TaskStarted` or an
/// `ActivityScheduled` waits on, and the `…StateStarted` event a Parallel or Map state's closing event
/// (`…StateSucceeded`, …) ends.
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
        /// The `.waitForTaskToken` token (not shown by GetExecutionHistory).
        token: Option<Arc<str>>,
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
    /// A Task on an activity ARN offered its task to the activity's workers; `token` is the task token
    /// a worker completes it with (not shown by GetExecutionHistory).
    ActivityScheduled {
        resource: Arc<str>,
        input: JsonText,
        timeout: Option<u64>,
        heartbeat: Option<u64>,
        token: Option<Arc<str>>,
    },
    /// A worker took the activity task (GetActivityTask), with its `workerName` if it gave one.
    ActivityStarted {
        worker_name: Option<String>,
    },
    ActivitySucceeded {
        output: JsonText,
    },
    ActivityFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    ActivityTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    /// A Task whose `Resource` is a Lambda function ARN (not the `lambda:invoke` integration) invoked its
    /// function with `input` (AWS records these `LambdaFunction…` events for such a task, not `Task…`).
    LambdaFunctionScheduled {
        resource: Arc<str>,
        input: JsonText,
        timeout: Option<u64>,
    },
    LambdaFunctionStarted,
    LambdaFunctionSucceeded {
        output: JsonText,
    },
    LambdaFunctionFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    LambdaFunctionTimedOut {
        error: Option<String>,
        cause: Option<String>,
    },
    ParallelStateStarted,
    /// `started`: the id of the `ParallelStateStarted` event this one closes (not shown by GetExecutionHistory).
    ParallelStateSucceeded {
        started: u64,
    },
    ParallelStateFailed {
        started: u64,
    },
    ParallelStateAborted {
        started: u64,
    },
    MapStateStarted {
        length: usize,
    },
    /// `started`: the id of the `MapStateStarted` event this one closes (not shown by GetExecutionHistory).
    MapStateSucceeded {
        started: u64,
    },
    MapStateFailed {
        started: u64,
    },
    MapStateAborted {
        started: u64,
    },
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
    /// A Task state of a branch or iteration that ended without it exiting (no details shown).
    TaskStateAborted,
    /// A Distributed Map's run of child workflows started (`mapRunArn`).
    MapRunStarted {
        map_run_arn: String,
    },
    MapRunSucceeded,
    MapRunFailed {
        error: Option<String>,
        cause: Option<String>,
    },
    MapRunAborted,
    /// RedriveExecution restarted the execution (`redriveCount`: how often so far). AWS API reference,
    /// `ExecutionRedrivenEventDetails`.
    ExecutionRedriven {
        redrive_count: u64,
    },
    /// A redriven execution's Distributed Map redrove its map run (`MapRunRedrivenEventDetails`).
    MapRunRedriven {
        map_run_arn: String,
        redrive_count: u64,
    },
    /// A JSONata expression (or the value it gave) failed the state `state`; `location` is the field.
    EvaluationFailed {
        error: String,
        cause: String,
        location: Option<String>,
        state: Arc<str>,
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
            E::ActivityScheduled { .. } => "ActivityScheduled".into(),
            E::ActivityStarted { .. } => "ActivityStarted".into(),
            E::ActivitySucceeded { .. } => "ActivitySucceeded".into(),
            E::LambdaFunctionScheduled { .. } => "LambdaFunctionScheduled".into(),
            E::LambdaFunctionStarted => "LambdaFunctionStarted".into(),
            E::LambdaFunctionSucceeded { .. } => "LambdaFunctionSucceeded".into(),
            E::LambdaFunctionFailed { .. } => "LambdaFunctionFailed".into(),
            E::LambdaFunctionTimedOut { .. } => "LambdaFunctionTimedOut".into(),
            E::ActivityFailed { .. } => "ActivityFailed".into(),
            E::ActivityTimedOut { .. } => "ActivityTimedOut".into(),
            E::ParallelStateStarted => "ParallelStateStarted".into(),
            E::ParallelStateSucceeded { .. } => "ParallelStateSucceeded".into(),
            E::ParallelStateFailed { .. } => "ParallelStateFailed".into(),
            E::ParallelStateAborted { .. } => "ParallelStateAborted".into(),
            E::MapStateStarted { .. } => "MapStateStarted".into(),
            E::MapStateSucceeded { .. } => "MapStateSucceeded".into(),
            E::MapStateFailed { .. } => "MapStateFailed".into(),
            E::MapStateAborted { .. } => "MapStateAborted".into(),
            E::MapIterationStarted { .. } => "MapIterationStarted".into(),
            E::MapIterationSucceeded { .. } => "MapIterationSucceeded".into(),
            E::MapIterationFailed { .. } => "MapIterationFailed".into(),
            E::MapIterationAborted { .. } => "MapIterationAborted".into(),
            E::WaitStateAborted { .. } => "WaitStateAborted".into(),
            E::TaskStateAborted => "TaskStateAborted".into(),
            E::MapRunStarted { .. } => "MapRunStarted".into(),
            E::MapRunSucceeded => "MapRunSucceeded".into(),
            E::MapRunFailed { .. } => "MapRunFailed".into(),
            E::MapRunAborted => "MapRunAborted".into(),
            E::ExecutionRedriven { .. } => "ExecutionRedriven".into(),
            E::MapRunRedriven { .. } => "MapRunRedriven".into(),
            E::EvaluationFailed { .. } => "EvaluationFailed".into(),
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
    /// The event this one follows in its scope (the machine, a branch, an iteration), when that is not
    /// `previous_event_id` (see [`History`]'s linking rule); kept by [`Event::to_stored_json`] so that a
    /// resumed execution places the event where it ran.
    pub(crate) after: Option<u64>,
}

fn text(v: &JsonText) -> Value {
    Value::String(v.as_str().to_owned())
}

/// The details of an `ActivityScheduled` or `LambdaFunctionScheduled`.
fn scheduled(resource: &str, input: &JsonText, timeout: Option<u64>, heartbeat: Option<u64>) -> Value {
    let mut m = Map::new();
    m.insert("resource".into(), Value::String(resource.to_owned()));
    m.insert("input".into(), text(input));
    m.insert("inputDetails".into(), json!({"truncated": false}));
    if let Some(t) = timeout {
        m.insert("timeoutInSeconds".into(), json!(t));
    }
    if let Some(h) = heartbeat {
        m.insert("heartbeatInSeconds".into(), json!(h));
    }
    Value::Object(m)
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
            E::TaskStarted { task, .. } => ("taskStartedEventDetails", Value::Object(task_fields(task))),
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
            E::ActivityScheduled { resource, input, timeout, heartbeat, .. } => {
                ("activityScheduledEventDetails", scheduled(resource, input, *timeout, *heartbeat))
            }
            E::LambdaFunctionScheduled { resource, input, timeout } => {
                ("lambdaFunctionScheduledEventDetails", scheduled(resource, input, *timeout, None))
            }
            E::ActivityStarted { worker_name } => {
                let mut m = Map::new();
                opt(&mut m, "workerName", worker_name);
                ("activityStartedEventDetails", Value::Object(m))
            }
            E::ActivitySucceeded { output } | E::LambdaFunctionSucceeded { output } => {
                let key = if matches!(self.details, E::ActivitySucceeded { .. }) {
                    "activitySucceededEventDetails"
                } else {
                    "lambdaFunctionSucceededEventDetails"
                };
                (key, json!({"output": text(output), "outputDetails": not_truncated}))
            }
            E::ActivityFailed { error, cause }
            | E::ActivityTimedOut { error, cause }
            | E::LambdaFunctionFailed { error, cause }
            | E::LambdaFunctionTimedOut { error, cause } => {
                let mut m = Map::new();
                opt(&mut m, "error", error);
                opt(&mut m, "cause", cause);
                let key = match self.details {
                    E::ActivityFailed { .. } => "activityFailedEventDetails",
                    E::ActivityTimedOut { .. } => "activityTimedOutEventDetails",
                    E::LambdaFunctionFailed { .. } => "lambdaFunctionFailedEventDetails",
                    _ => "lambdaFunctionTimedOutEventDetails",
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
            E::EvaluationFailed { error, cause, location, state } => {
                let mut d = Map::new();
                d.insert("error".into(), Value::String(error.clone()));
                d.insert("cause".into(), Value::String(cause.clone()));
                opt(&mut d, "location", location);
                d.insert("state".into(), Value::String(state.to_string()));
                ("evaluationFailedEventDetails", Value::Object(d))
            }
            E::MapRunStarted { map_run_arn } => {
                ("mapRunStartedEventDetails", json!({"mapRunArn": map_run_arn}))
            }
            E::ExecutionRedriven { redrive_count } => {
                ("executionRedrivenEventDetails", json!({"redriveCount": redrive_count}))
            }
            E::MapRunRedriven { map_run_arn, redrive_count } => (
                "mapRunRedrivenEventDetails",
                json!({"mapRunArn": map_run_arn, "redriveCount": redrive_count}),
            ),
            E::MapRunFailed { error, cause } => {
                let mut d = Map::new();
                opt(&mut d, "error", error);
                opt(&mut d, "cause", cause);
                ("mapRunFailedEventDetails", Value::Object(d))
            }
            E::ParallelStateStarted
            | E::LambdaFunctionStarted
            | E::MapRunSucceeded
            | E::MapRunAborted
            | E::TaskStateAborted
            | E::ParallelStateSucceeded { .. }
            | E::ParallelStateFailed { .. }
            | E::ParallelStateAborted { .. }
            | E::MapStateSucceeded { .. }
            | E::MapStateFailed { .. }
            | E::MapStateAborted { .. } => return Value::Object(ev),
        };
        ev.insert(key.to_owned(), body);
        Value::Object(ev)
    }
}

/// The member of [`Event::to_stored_json`] that holds what GetExecutionHistory does not show.
const PRIVATE: &str = "sfnResume";

impl Event {
    /// The event as a journal keeps it: [`Event::to_json`] plus a `sfnResume` member with what a resumed
    /// execution needs and GetExecutionHistory does not show (a callback task's token, the event a Parallel
    /// or Map state's closing event closes). [`Event::from_json`] reads it back; [`Event::strip_private`]
    /// removes it before the event is shown.
    pub fn to_stored_json(&self) -> Value {
        use EventDetails as E;
        let mut v = self.to_json();
        let mut private = match &self.details {
            E::TaskStarted { token: Some(t), .. } | E::ActivityScheduled { token: Some(t), .. } => {
                json!({"token": t.as_ref()})
            }
            E::ParallelStateSucceeded { started }
            | E::ParallelStateFailed { started }
            | E::ParallelStateAborted { started }
            | E::MapStateSucceeded { started }
            | E::MapStateFailed { started }
            | E::MapStateAborted { started } => json!({"started": started}),
            _ => json!({}),
        };
        if let (Some(after), Value::Object(p)) = (self.after, &mut private) {
            p.insert("after".into(), json!(after));
        }
        if let (Value::Object(m), Value::Object(p)) = (&mut v, private)
            && !p.is_empty()
        {
            m.insert(PRIVATE.to_owned(), Value::Object(p));
        }
        v
    }

    /// Removes what [`Event::to_stored_json`] added, leaving GetExecutionHistory's shape.
    pub fn strip_private(v: &mut Value) {
        if let Value::Object(m) = v {
            m.remove(PRIVATE);
        }
    }

    /// Reads an event back from GetExecutionHistory's shape (`includeExecutionData: true`) or from
    /// [`Event::to_stored_json`]: the inverse of both (timestamps to the millisecond).
    pub fn from_json(v: &Value) -> Result<Event, EventError> {
        use EventDetails as E;
        let kind = v["type"].as_str().ok_or_else(|| EventError::MissingType(v.to_string()))?;
        let id = v["id"].as_u64().ok_or_else(|| EventError::MissingId(kind.to_owned()))?;
        let previous_event_id = v["previousEventId"].as_u64().unwrap_or(0);
        let millis = v["timestamp"].as_f64().map_or(0, |t| (t * 1000.0).round() as i64);
        let timestamp = Utc.timestamp_millis_opt(millis).single().unwrap_or_default();
        let private = &v[PRIVATE];
        let started = private["started"].as_u64().unwrap_or(0);
        let after = private["after"].as_u64();
        let key = |suffix: &str| {
            let mut k = kind.to_owned();
            if let Some(first) = k.get_mut(..1) {
                first.make_ascii_lowercase();
            }
            k.push_str(suffix);
            k
        };
        let d = &v[key("EventDetails").as_str()];
        let text = |o: &Value, k: &str| JsonText(Arc::from(o[k].as_str().unwrap_or("null")));
        let string = |o: &Value, k: &str| o[k].as_str().map(str::to_owned);
        let name = |o: &Value| Arc::<str>::from(o["name"].as_str().unwrap_or_default());
        let index = |o: &Value| o["index"].as_u64().unwrap_or(0) as usize;
        let task = |o: &Value| TaskResource {
            resource_type: Arc::from(o["resourceType"].as_str().unwrap_or_default()),
            resource: Arc::from(o["resource"].as_str().unwrap_or_default()),
        };
        let state_type = |prefix: &str| prefix.parse::<StateType>().ok();
        let details = match kind {
            "ExecutionStarted" => E::ExecutionStarted {
                input: text(d, "input"),
                role_arn: string(d, "roleArn").unwrap_or_default(),
            },
            "ExecutionSucceeded" => E::ExecutionSucceeded { output: text(d, "output") },
            "ExecutionFailed" => E::ExecutionFailed { error: string(d, "error"), cause: string(d, "cause") },
            "ExecutionAborted" => {
                E::ExecutionAborted { error: string(d, "error"), cause: string(d, "cause") }
            }
            "ExecutionTimedOut" => {
                E::ExecutionTimedOut { error: string(d, "error"), cause: string(d, "cause") }
            }
            "TaskScheduled" => E::TaskScheduled {
                task: task(d),
                region: string(d, "region").unwrap_or_default(),
                parameters: text(d, "parameters"),
                timeout: d["timeoutInSeconds"].as_u64(),
                heartbeat: d["heartbeatInSeconds"].as_u64(),
            },
            "TaskStarted" => {
                E::TaskStarted { task: task(d), token: private["token"].as_str().map(Arc::from) }
            }
            "TaskSubmitted" => E::TaskSubmitted { task: task(d), output: text(d, "output") },
            "TaskSucceeded" => E::TaskSucceeded { task: task(d), output: text(d, "output") },
            "TaskFailed" => {
                E::TaskFailed { task: task(d), error: string(d, "error"), cause: string(d, "cause") }
            }
            "TaskTimedOut" => {
                E::TaskTimedOut { task: task(d), error: string(d, "error"), cause: string(d, "cause") }
            }
            "ActivityScheduled" => E::ActivityScheduled {
                resource: Arc::from(d["resource"].as_str().unwrap_or_default()),
                input: text(d, "input"),
                timeout: d["timeoutInSeconds"].as_u64(),
                heartbeat: d["heartbeatInSeconds"].as_u64(),
                token: private["token"].as_str().map(Arc::from),
            },
            "ActivityStarted" => E::ActivityStarted { worker_name: string(d, "workerName") },
            "ActivitySucceeded" => E::ActivitySucceeded { output: text(d, "output") },
            "ActivityFailed" => E::ActivityFailed { error: string(d, "error"), cause: string(d, "cause") },
            "ActivityTimedOut" => {
                E::ActivityTimedOut { error: string(d, "error"), cause: string(d, "cause") }
            }
            "LambdaFunctionScheduled" => E::LambdaFunctionScheduled {
                resource: Arc::from(d["resource"].as_str().unwrap_or_default()),
                input: text(d, "input"),
                timeout: d["timeoutInSeconds"].as_u64(),
            },
            "LambdaFunctionStarted" => E::LambdaFunctionStarted,
            "LambdaFunctionSucceeded" => E::LambdaFunctionSucceeded { output: text(d, "output") },
            "LambdaFunctionFailed" => {
                E::LambdaFunctionFailed { error: string(d, "error"), cause: string(d, "cause") }
            }
            "LambdaFunctionTimedOut" => {
                E::LambdaFunctionTimedOut { error: string(d, "error"), cause: string(d, "cause") }
            }
            "ParallelStateStarted" => E::ParallelStateStarted,
            "ParallelStateSucceeded" => E::ParallelStateSucceeded { started },
            "ParallelStateFailed" => E::ParallelStateFailed { started },
            "ParallelStateAborted" => E::ParallelStateAborted { started },
            "MapStateStarted" => E::MapStateStarted { length: d["length"].as_u64().unwrap_or(0) as usize },
            "MapStateSucceeded" => E::MapStateSucceeded { started },
            "MapStateFailed" => E::MapStateFailed { started },
            "MapStateAborted" => E::MapStateAborted { started },
            "MapIterationStarted" => {
                let d = &v["mapIterationStartedEventDetails"];
                E::MapIterationStarted { name: name(d), index: index(d) }
            }
            "MapIterationSucceeded" => {
                let d = &v["mapIterationSucceededEventDetails"];
                E::MapIterationSucceeded { name: name(d), index: index(d) }
            }
            "MapIterationFailed" => {
                let d = &v["mapIterationFailedEventDetails"];
                E::MapIterationFailed { name: name(d), index: index(d) }
            }
            "MapIterationAborted" => {
                let d = &v["mapIterationAbortedEventDetails"];
                E::MapIterationAborted { name: name(d), index: index(d) }
            }
            "WaitStateAborted" => E::WaitStateAborted { name: name(&v["stateExitedEventDetails"]) },
            "TaskStateAborted" => E::TaskStateAborted,
            "MapRunStarted" => E::MapRunStarted { map_run_arn: string(d, "mapRunArn").unwrap_or_default() },
            "MapRunSucceeded" => E::MapRunSucceeded,
            "MapRunFailed" => E::MapRunFailed { error: string(d, "error"), cause: string(d, "cause") },
            "MapRunAborted" => E::MapRunAborted,
            "ExecutionRedriven" => E::ExecutionRedriven {
                redrive_count: v["executionRedrivenEventDetails"]["redriveCount"].as_u64().unwrap_or(0),
            },
            "MapRunRedriven" => {
                let d = &v["mapRunRedrivenEventDetails"];
                E::MapRunRedriven {
                    map_run_arn: string(d, "mapRunArn").unwrap_or_default(),
                    redrive_count: d["redriveCount"].as_u64().unwrap_or(0),
                }
            }
            "EvaluationFailed" => E::EvaluationFailed {
                error: string(d, "error").unwrap_or_default(),
                cause: string(d, "cause").unwrap_or_default(),
                location: string(d, "location"),
                state: Arc::from(d["state"].as_str().unwrap_or_default()),
            },
            other => {
                if let Some(st) = other.strip_suffix("StateEntered").and_then(state_type) {
                    let d = &v["stateEnteredEventDetails"];
                    E::StateEntered { state_type: st, name: name(d), input: text(d, "input") }
                } else if let Some(st) = other.strip_suffix("StateExited").and_then(state_type) {
                    let d = &v["stateExitedEventDetails"];
                    let assigned = d["assignedVariables"].as_object().map(|m| {
                        m.iter()
                            .map(|(k, t)| (k.clone(), JsonText(Arc::from(t.as_str().unwrap_or("null")))))
                            .collect()
                    });
                    E::StateExited { state_type: st, name: name(d), output: text(d, "output"), assigned }
                } else {
                    return Err(EventError::UnknownType(other.to_owned()));
                }
            }
        };
        Ok(Event { id, previous_event_id, timestamp, details, after })
    }
}

/// The history limit was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryFull;

#[derive(Debug, Default)]
struct Inner {
    /// The events, compact ([`store`]).
    store: Store,
    /// The events an event following them links to instead of themselves (see [`History`]). A Map
    /// relinks its `…StateStarted` after every iteration, so every later event of the history looks
    /// its link up here: keyed by event id with [`IdHasher`], not SipHash.
    links: std::collections::HashMap<u64, u64, std::hash::BuildHasherDefault<IdHasher>>,
}

/// Hashes an event id (the engine's own sequential numbers, never a caller's key): one multiplication
/// by an odd constant (Fibonacci hashing) spreads consecutive ids over the table.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64((self.0 << 8) | u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Inner {
    fn len(&self) -> usize {
        self.store.len()
    }

    /// The `previousEventId` of event `id` (0 for none).
    fn previous_of(&self, id: u64) -> u64 {
        self.store.previous_of(id)
    }

    /// What an event that follows `id` in its scope gives as `previousEventId`.
    fn link(&self, id: u64) -> u64 {
        self.links.get(&id).copied().unwrap_or(id)
    }

    /// Makes the transparent event `id`, whose `previousEventId` is `previous`, link to what `previous`
    /// links to: a transparent event after a transparent one links through both (`MapStateSucceeded`
    /// after `MapRunSucceeded`).
    fn link_through(&mut self, id: u64, previous: u64) {
        let target = self.link(previous);
        self.links.insert(id, target);
    }

    /// The event with id `len + 1` that follows `after` in its scope and links to `previous` (a
    /// transparent one is linked through).
    fn next_event(
        &mut self,
        after: u64,
        previous: u64,
        timestamp: DateTime<Utc>,
        details: EventDetails,
    ) -> Event {
        let id = self.len() as u64 + 1;
        if is_transparent(&details) {
            self.link_through(id, previous);
        }
        let after = (after != previous).then_some(after);
        Event { id, previous_event_id: previous, timestamp, details, after }
    }
}

/// What [`EventSink::durable`] returns.
pub type Durable = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Receives every event as it is appended (for journals, live views, metrics).
pub trait EventSink: Send + Sync {
    /// Called under the history's lock, in event order; keep it quick.
    fn event(&self, execution_arn: &str, event: &Event);

    /// Resolves once every event reported so far is durable. The engine awaits it before a Task state
    /// calls its service (write-ahead): after a crash, the invocation's `TaskScheduled` and `TaskStarted`
    /// — its idempotency key and task token — are on record, so a resumed execution never runs it twice.
    /// The default resolves at once.
    fn durable(&self) -> Durable {
        Box::pin(std::future::ready(()))
    }
}

/// Whether the event is *transparent*: what follows it links to what it links to. AWS writes a Map's or a
/// Parallel's `…StateSucceeded` so: `MapStateExited` has the `previousEventId` of `MapStateSucceeded`
/// (`scenarios/test_base_scenarios__test_map_state`: `38 MapStateSucceeded ← 37`, `39 MapStateExited ← 37`);
/// and `TaskStateAborted`: `ParallelStateFailed` links to the `TaskFailed` before it
/// (`recorded/callback.history.json`, `test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_PARALLEL_WAIT_FOR_TASK_TOKEN]`:
/// `8 TaskFailed`, `9 TaskStateAborted ← 8`, `10 ParallelStateFailed ← 8`).
///
/// A Distributed Map's `MapRunSucceeded` is transparent too, so its `MapStateExited` links to the
/// `MapRunStarted` (`4 MapRunStarted`, `5 MapRunSucceeded ← 4`, `6 MapStateSucceeded ← 5`,
/// `7 MapStateExited ← 4`): AWS has written it so since late 2024 — every distributed-map history
/// LocalStack recorded from 2024-11-13 on (`scenarios/test_base_scenarios__test_map_state_config_distributed_item_selector_parameters`,
/// 2024-11-15; `…__test_map_state_config_distributed_items_path_from_previous`, 2025-01-09;
/// `test_map_state_nested_config_distributed`, the distributed `assign/test_reference_in_map_state`
/// cases, the JSONata item-reader and batching cases, 2024-11-13/14/18) — while the ones recorded up to
/// 2024-08-19 linked it to `MapRunSucceeded` (`fixtures/conformance/README.md`: how the suite reads them).
fn is_transparent(d: &EventDetails) -> bool {
    matches!(
        d,
        EventDetails::MapStateSucceeded { .. }
            | EventDetails::ParallelStateSucceeded { .. }
            | EventDetails::TaskStateAborted
            | EventDetails::MapRunSucceeded
    )
}

/// Which event a new event links to (`previousEventId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// The link of the event it follows in its scope (the rule).
    Follow,
    /// What event `.0` links to: its own `previousEventId` (an event beside it).
    Beside(u64),
    /// The latest event of the execution: the event that joins concurrent branches or iterations after
    /// they all succeeded (AWS: `MapStateSucceeded` follows the last `MapIterationSucceeded`).
    Latest,
}

/// An execution's events, shared between the running execution and its observers.
///
/// **Linking rule** (`previousEventId`), one for every event: an event is appended *after* an event of
/// its scope (the machine, a Parallel branch, a Map iteration: the interpreter's cursor, which also
/// places it for a resumed execution) and links to that event's *link*, which is the event itself unless
/// the engine moved it: a Map's or Parallel's `…StateStarted` links to the last event of the iteration
/// that ended last (or of the one that failed), so that AWS's `MapIterationStarted` of iteration *i*>0, a
/// retried attempt's `…StateStarted` and `…StateFailed` point into the iteration before
/// (`scenarios/test_base_scenarios__test_map_state`, `…__test_map_state_retry`); a transparent event
/// (`…StateSucceeded` of Map and Parallel, `TaskStateAborted`, `MapRunSucceeded`) links to what it links
/// to; a joining event links to the latest event.
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
        inner.store.clear();
        inner.links.clear();
        for e in events {
            if is_transparent(&e.details) {
                inner.link_through(e.id, e.previous_event_id);
            }
            inner.store.push(e);
        }
    }

    /// Makes event `id` link to what event `to` links to (see the linking rule above).
    pub(crate) fn relink(&self, id: u64, to: u64) {
        let mut inner = self.lock();
        let target = inner.link(to);
        inner.links.insert(id, target);
    }

    /// What an event following `id` in its scope links to.
    pub(crate) fn link(&self, id: u64) -> u64 {
        self.lock().link(id)
    }

    /// Resolves once the sink (if any) has made every event so far durable.
    pub(crate) fn durable(&self) -> Option<Durable> {
        self.sink.as_ref().map(|(sink, _)| sink.durable())
    }

    fn report(&self, e: &Event) {
        if let Some((sink, arn)) = &self.sink {
            sink.event(arn, e);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event after `after` in its scope, linked by `link`, and returns its id; `Err` once the
    /// limit is reached.
    pub(crate) fn push(
        &self,
        after: u64,
        link: Link,
        timestamp: DateTime<Utc>,
        details: EventDetails,
    ) -> Result<u64, HistoryFull> {
        let mut inner = self.lock();
        // The last slot is kept for the execution's final event, so a history never exceeds the limit
        // (AWS: at most 25,000 events, the failure included).
        if self.limit.is_some_and(|limit| inner.len() + 1 >= limit) || inner.len() + 1 >= MAX_EVENTS {
            return Err(HistoryFull);
        }
        let previous = match link {
            Link::Follow => inner.link(after),
            Link::Latest => (inner.len() as u64).max(after),
            Link::Beside(id) => inner.previous_of(id),
        };
        let event = inner.next_event(after, previous, timestamp, details);
        let id = event.id;
        self.report(&event);
        inner.store.push(event);
        Ok(id)
    }

    /// Appends the final execution event after `after`, into the slot [`History::push`] keeps for it.
    pub(crate) fn push_final(&self, after: u64, timestamp: DateTime<Utc>, details: EventDetails) -> u64 {
        let mut inner = self.lock();
        let previous = inner.link(after);
        let event = inner.next_event(after, previous, timestamp, details);
        let id = event.id;
        self.report(&event);
        inner.store.push(event);
        id
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().store.events_from(0)
    }

    /// Calls `f` with every event so far, in order, each made when its turn comes (no copy of the whole
    /// history is made). The history is locked meanwhile: `f` must not append to it.
    pub fn for_each(&self, mut f: impl FnMut(&Event)) {
        self.lock().store.for_each(0, |e| f(&e));
    }

    /// Number of events so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// The heap bytes the history's events hold, counted as asked of the allocator (its size classes and
    /// pages not included): what a finished execution keeps per event, without the noise of a resident
    /// set (`sfn bench`'s `history_heap_bytes_per_event`).
    pub fn heap_bytes(&self) -> usize {
        let inner = self.lock();
        let links = inner.links.capacity() * (2 * std::mem::size_of::<u64>() + 1);
        inner.store.heap_bytes() + links
    }

    /// True when no event was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events from index `from` on (for pollers).
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        self.lock().store.events_from(from)
    }

    /// The events at 0-based indexes `range` (those that exist), in order: one page of
    /// GetExecutionHistory, made without the rest of the history.
    pub fn events_in(&self, range: std::ops::Range<usize>) -> Vec<Event> {
        self.lock().store.events_in(range)
    }
}

#[cfg(test)]
mod tests {
    use super::store::CHUNK;
    use super::*;

    fn failed() -> EventDetails {
        EventDetails::ExecutionFailed { error: None, cause: None }
    }

    #[test]
    fn a_short_history_reserves_a_small_chunk() {
        let h = History::new(None);
        for i in 0..3 {
            assert_eq!(h.push(i, Link::Follow, Utc::now(), failed()), Ok(i + 1));
        }
        let inner = h.lock();
        assert_eq!(inner.store.chunks.len(), 1);
        assert!(
            inner.store.chunks[0].capacity() < CHUNK,
            "first chunk holds {}",
            inner.store.chunks[0].capacity()
        );
    }

    #[test]
    fn a_long_history_grows_by_chunks_and_keeps_every_event_in_order() {
        let h = History::new(Some(25_000));
        for i in 0..10_000u64 {
            assert_eq!(h.push(i, Link::Follow, Utc::now(), failed()), Ok(i + 1));
        }
        let events = h.events();
        assert_eq!(events.len(), 10_000);
        assert!(
            events.iter().enumerate().all(|(i, e)| e.id == i as u64 + 1 && e.previous_event_id == i as u64)
        );
        assert_eq!(h.events_since(9_990).len(), 10);
        let inner = h.lock();
        assert!(inner.store.chunks.iter().all(|c| c.capacity() <= CHUNK && !c.is_empty()));
        // Every event is found where `locate` says, across every chunk boundary.
        assert!((1..=10_000u64).all(|id| inner.previous_of(id) == id - 1));
        assert_eq!(inner.previous_of(10_001), 0);
        // Doubling: 16, 16, 32, … 4096, then 4096-event chunks — a few dozen chunks, not one per event.
        assert!(inner.store.chunks.len() < 16, "{} chunks", inner.store.chunks.len());
    }

    fn text(s: &str) -> JsonText {
        JsonText::from_text(s)
    }

    /// Fresh `Arc`s each time, as the interpreter makes them.
    fn task(resource: &str) -> TaskResource {
        TaskResource { resource_type: Arc::from("ecs"), resource: Arc::from(resource) }
    }

    /// One of every kind of details, in the forms a slot keeps small and the ones it boxes.
    fn every_kind() -> Vec<EventDetails> {
        use EventDetails as E;
        let name = |n: &str| Arc::<str>::from(n);
        let some = |s: &str| Some(s.to_owned());
        vec![
            E::ExecutionStarted { input: text(r#"{"a":1}"#), role_arn: "arn:aws:iam::1:role/r".into() },
            E::StateEntered { state_type: StateType::Task, name: name("Run"), input: text("{}") },
            E::TaskScheduled {
                task: task("runTask.sync"),
                region: "us-east-1".into(),
                parameters: text(r#"{"Cluster":"c"}"#),
                timeout: None,
                heartbeat: None,
            },
            E::TaskScheduled {
                task: task("runTask.sync"),
                region: "eu-west-1".into(),
                parameters: text("{}"),
                timeout: Some(7),
                heartbeat: Some(3),
            },
            E::TaskStarted { task: task("runTask.sync"), token: None },
            E::TaskStarted { task: task("runTask.waitForTaskToken"), token: Some(Arc::from("tok")) },
            E::TaskSubmitted { task: task("runTask.sync"), output: text(r#"{"Tasks":[]}"#) },
            E::TaskSucceeded { task: task("runTask.sync"), output: text(r#"{"LastStatus":"STOPPED"}"#) },
            E::TaskFailed { task: task("runTask.sync"), error: some("States.TaskFailed"), cause: some("c") },
            E::TaskTimedOut { task: task("runTask.sync"), error: some("States.Timeout"), cause: None },
            E::StateExited {
                state_type: StateType::Task,
                name: name("Run"),
                output: text("1"),
                assigned: None,
            },
            E::StateExited {
                state_type: StateType::Pass,
                name: name("Set"),
                output: text("2"),
                assigned: Some(vec![("x".into(), text("3"))]),
            },
            E::LambdaFunctionScheduled {
                resource: name("arn:aws:lambda:us-east-1:1:function:f"),
                input: text(r#"{"x":1}"#),
                timeout: None,
            },
            E::LambdaFunctionScheduled {
                resource: name("arn:aws:lambda:us-east-1:1:function:f"),
                input: text("{}"),
                timeout: Some(9),
            },
            E::LambdaFunctionStarted,
            E::LambdaFunctionSucceeded { output: text(r#"{"y":2}"#) },
            E::LambdaFunctionFailed { error: some("E"), cause: some("c") },
            E::LambdaFunctionTimedOut { error: some("States.Timeout"), cause: None },
            E::ParallelStateStarted,
            E::ParallelStateSucceeded { started: 12 },
            E::ParallelStateFailed { started: 12 },
            E::ParallelStateAborted { started: 12 },
            E::MapStateStarted { length: 3 },
            E::MapIterationStarted { name: name("Fan"), index: 0 },
            E::MapIterationSucceeded { name: name("Fan"), index: 1 },
            E::MapIterationFailed { name: name("Fan"), index: 2 },
            E::MapIterationAborted { name: name("Fan"), index: usize::MAX },
            E::MapStateSucceeded { started: 16 },
            E::MapStateFailed { started: 16 },
            E::MapStateAborted { started: u64::MAX },
            E::WaitStateAborted { name: name("Wait") },
            E::TaskStateAborted,
            E::ActivityScheduled {
                resource: Arc::from("arn:aws:states:us-east-1:1:activity:a"),
                input: text("{}"),
                timeout: None,
                heartbeat: Some(5),
                token: Some(Arc::from("t")),
            },
            E::ActivityStarted { worker_name: some("w") },
            E::ActivitySucceeded { output: text("{}") },
            E::ActivityFailed { error: None, cause: some("c") },
            E::ActivityTimedOut { error: some("States.Timeout"), cause: None },
            E::MapRunStarted { map_run_arn: "arn:aws:states:us-east-1:1:mapRun:m/l:1".into() },
            E::MapRunSucceeded,
            E::MapRunFailed { error: some("States.ExceedToleratedFailureThreshold"), cause: None },
            E::MapRunAborted,
            E::EvaluationFailed {
                error: "States.QueryEvaluationError".into(),
                cause: "c".into(),
                location: some("Output"),
                state: name("Run"),
            },
            E::ExecutionSucceeded { output: text(r#"{"done":true}"#) },
            E::ExecutionFailed { error: some("e"), cause: some("c") },
            E::ExecutionAborted { error: None, cause: None },
            E::ExecutionTimedOut { error: some("States.Timeout"), cause: None },
        ]
    }

    #[test]
    fn every_event_reads_back_as_it_was_appended() {
        let h = History::new(None);
        let mut appended = Vec::new();
        let t0 = Utc.timestamp_opt(1_700_000_000, 123_456_789).single().unwrap();
        for (i, d) in every_kind().into_iter().enumerate() {
            let i = i as u64;
            // Every third event is placed after an event it does not link to (`after`).
            let link = if i % 3 == 2 { Link::Beside(i) } else { Link::Follow };
            let at = t0 + chrono::Duration::nanoseconds(i as i64 * 1_000_001);
            h.push(i, link, at, d.clone()).unwrap();
            appended.push((d, at));
        }
        let events = h.events();
        assert_eq!(events.len(), appended.len());
        for (e, (d, at)) in events.iter().zip(&appended) {
            assert_eq!(&e.details, d, "event {}", e.id);
            assert_eq!(e.timestamp, *at, "event {}", e.id);
        }
        assert!(events.iter().any(|e| e.after.is_some()));
        let mut seen = Vec::new();
        h.for_each(|e| seen.push(e.clone()));
        assert_eq!(seen, events);
        // What the journal keeps reads back the same (`after` and the private facts included).
        for e in &events {
            let stored = e.to_stored_json();
            let back = Event::from_json(&stored).unwrap();
            assert_eq!((back.id, back.previous_event_id, back.after), (e.id, e.previous_event_id, e.after));
            assert_eq!(back.to_stored_json(), stored);
        }
        assert_eq!(h.events_since(events.len() - 2), events[events.len() - 2..]);
    }

    #[test]
    fn a_state_name_and_a_task_resource_are_kept_once() {
        let h = History::new(None);
        for i in 0..100u64 {
            let name: Arc<str> = Arc::from(if i % 2 == 0 { "Increment" } else { "Check" });
            let d = EventDetails::StateEntered { state_type: StateType::Pass, name, input: text("{}") };
            h.push(i, Link::Follow, Utc::now(), d).unwrap();
        }
        h.push(100, Link::Follow, Utc::now(), EventDetails::TaskStarted { task: task("r"), token: None })
            .unwrap();
        h.push(101, Link::Follow, Utc::now(), EventDetails::TaskStarted { task: task("r"), token: None })
            .unwrap();
        let events = h.events();
        let name = |e: &Event| match &e.details {
            EventDetails::StateEntered { name, .. } => name.clone(),
            _ => Arc::from(""),
        };
        // Every `Increment` event shares one string.
        assert!(Arc::ptr_eq(&name(&events[0]), &name(&events[98])));
        assert_eq!(&*name(&events[99]), "Check");
        let resource = |e: &Event| match &e.details {
            EventDetails::TaskStarted { task, .. } => task.resource.clone(),
            _ => Arc::from(""),
        };
        assert!(Arc::ptr_eq(&resource(&events[100]), &resource(&events[101])));
    }

    #[test]
    fn a_restored_history_goes_on_from_its_events() {
        let h = History::new(None);
        for (i, d) in every_kind().into_iter().take(5).enumerate() {
            h.push(i as u64, Link::Follow, Utc::now(), d).unwrap();
        }
        let recorded = h.events();
        let resumed = History::new(None);
        resumed.restore(recorded.clone());
        assert_eq!(resumed.events(), recorded);
        assert_eq!(resumed.push(5, Link::Follow, Utc::now(), failed()), Ok(6));
        assert_eq!(resumed.events()[5].previous_event_id, 5);
    }

    /// A Distributed Map's end as AWS has written it since late 2024: `MapRunSucceeded` and the joining
    /// `MapStateSucceeded` are transparent one after the other, so `MapStateExited` links through both to
    /// `MapRunStarted` — in a running history and in one restored from its events.
    #[test]
    fn a_state_exited_after_a_map_run_links_through_its_end_to_its_start() {
        use EventDetails as E;
        let h = History::new(None);
        let t = Utc::now();
        let started = h.push(0, Link::Follow, t, E::MapStateStarted { length: 1 }).unwrap();
        let run = h.push(started, Link::Follow, t, E::MapRunStarted { map_run_arn: "a".into() }).unwrap();
        let ended = h.push(run, Link::Follow, t, E::MapRunSucceeded).unwrap();
        let joined = h.push(ended, Link::Latest, t, E::MapStateSucceeded { started }).unwrap();
        let exited = E::StateExited {
            state_type: StateType::Map,
            name: Arc::from("M"),
            output: JsonText::from_text("[]"),
            assigned: None,
        };
        h.push(joined, Link::Follow, t, exited.clone()).unwrap();
        let links: Vec<u64> = h.events().iter().map(|e| e.previous_event_id).collect();
        assert_eq!(links, [0, 1, 2, 3, 2]);
        let resumed = History::new(None);
        resumed.restore(h.events().into_iter().take(4).collect());
        assert_eq!(resumed.push(joined, Link::Follow, t, exited), Ok(5));
        assert_eq!(resumed.events()[4].previous_event_id, run);
    }
}
