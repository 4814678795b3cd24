//! What an execution's history says, state by state: the event table's rows (each event's state found
//! through its `previousEventId` link), each state's visits (entered → exited) with their input, output,
//! error, cause, attempts and ECS tasks, and the status the graph colours it by.
//!
//! The status of a visit: exited after a success (or with no result event) → succeeded; exited after a
//! failure (a Catch took it) → caught; an `…Aborted` event, or the execution ABORTED/TIMED_OUT while it
//! was in the state → aborted; not exited in a FAILED execution after a failure (or a `Fail` state) →
//! failed; not exited while the execution runs → running. A state visited more than once (a loop, a Map's
//! iterations) shows the most urgent of its visits: running, failed, aborted, caught, succeeded.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sfn::graph::StateStatus;

/// One row of the event table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) id: u64,
    /// Milliseconds since the first event.
    pub(crate) since_ms: i64,
    pub(crate) kind: String,
    pub(crate) state: Option<String>,
    pub(crate) detail: String,
}

/// An ECS task a state ran, as the latest event that showed it describes it (RunTask's response, the
/// stopped task of `.sync`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EcsTask {
    pub(crate) arn: String,
    pub(crate) last_status: Option<String>,
    pub(crate) stop_code: Option<String>,
    pub(crate) stopped_reason: Option<String>,
    pub(crate) containers: Vec<Container>,
}

/// A container of an ECS task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Container {
    pub(crate) name: String,
    pub(crate) exit_code: Option<i64>,
    pub(crate) reason: Option<String>,
    pub(crate) last_status: Option<String>,
}

/// One time a state was entered.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Visit {
    /// The state type's prefix of its event types (`Task`, `Map`, `Fail`, …).
    pub(crate) kind: String,
    pub(crate) input: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// Attempts started (a Task's `TaskScheduled`, a Map's or Parallel's `…StateStarted`).
    pub(crate) attempts: u32,
    pub(crate) exited: bool,
    pub(crate) aborted: bool,
    /// Whether the last result event was a failure (`…Failed`, `…TimedOut`).
    pub(crate) failed_last: bool,
    pub(crate) tasks: Vec<EcsTask>,
}

impl Visit {
    /// Retries: attempts after the first.
    pub(crate) fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }

    fn status(&self, execution: &str) -> StateStatus {
        if self.aborted {
            StateStatus::Aborted
        } else if self.exited {
            if self.failed_last { StateStatus::Caught } else { StateStatus::Succeeded }
        } else {
            match execution {
                "RUNNING" => StateStatus::Running,
                "FAILED" if self.failed_last || self.kind == "Fail" => StateStatus::Failed,
                _ => StateStatus::Aborted,
            }
        }
    }
}

/// An execution's history, read.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    pub(crate) rows: Vec<Row>,
    /// Each state's visits, in order.
    pub(crate) states: BTreeMap<String, Vec<Visit>>,
    /// The execution's status (DescribeExecution's).
    pub(crate) status: String,
}

/// The `…EventDetails` member of an event.
fn details(event: &Value) -> Option<&serde_json::Map<String, Value>> {
    event.as_object()?.iter().find(|(k, _)| k.ends_with("EventDetails")).and_then(|(_, v)| v.as_object())
}

fn text_of(d: Option<&serde_json::Map<String, Value>>, key: &str) -> Option<String> {
    d?.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The first `max` characters of `s` (on one line), with `…` when cut.
pub(crate) fn shorten(s: &str, max: usize) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max).collect();
    out.push('…');
    out
}

/// The event table's detail: what the event carries that people look for first.
fn detail_of(event: &Value) -> String {
    let d = details(event);
    let error = text_of(d, "error");
    let cause = text_of(d, "cause");
    let text = match (error, cause) {
        (Some(e), Some(c)) => format!("{e}: {c}"),
        (Some(e), None) => e,
        (None, Some(c)) => c,
        (None, None) => ["output", "input", "resource"]
            .iter()
            .find_map(|k| text_of(d, k).map(|v| if *k == "resource" { v } else { format!("{k}: {v}") }))
            .unwrap_or_default(),
    };
    // A task's events name their integration as the graph does (`ecs:runTask.sync`).
    let text = match (text_of(d, "resourceType"), text_of(d, "resource")) {
        (Some(t), Some(r)) if text == r => format!("{t}:{r}"),
        _ => text,
    };
    shorten(&text, 200)
}

/// The ECS tasks described in `v` (an object with `TaskArn`, in any depth, or a string holding one).
fn ecs_tasks(v: &Value, out: &mut Vec<EcsTask>) {
    match v {
        Value::Object(m) => {
            if let Some(arn) = m.get("TaskArn").and_then(Value::as_str).filter(|a| a.contains(":task/")) {
                let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
                let containers = m
                    .get("Containers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| Container {
                        name: c["Name"].as_str().unwrap_or_default().to_owned(),
                        exit_code: c["ExitCode"].as_i64(),
                        reason: c["Reason"].as_str().map(str::to_owned),
                        last_status: c["LastStatus"].as_str().map(str::to_owned),
                    })
                    .collect();
                out.push(EcsTask {
                    arn: arn.to_owned(),
                    last_status: s("LastStatus"),
                    stop_code: s("StopCode"),
                    stopped_reason: s("StoppedReason"),
                    containers,
                });
                return;
            }
            m.values().for_each(|x| ecs_tasks(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| ecs_tasks(x, out)),
        Value::String(s) if s.contains("TaskArn") => {
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                ecs_tasks(&inner, out);
            }
        }
        _ => {}
    }
}

/// The prefix of a state event type (`TaskStateEntered` → `Task`).
fn state_kind(kind: &str) -> &str {
    kind.strip_suffix("StateEntered").or_else(|| kind.strip_suffix("StateExited")).unwrap_or(kind)
}

impl Timeline {
    /// Reads `events` (GetExecutionHistory's, oldest first) of an execution whose status is `status`.
    pub(crate) fn new(events: &[Value], status: &str) -> Timeline {
        let mut t = Timeline { status: status.to_owned(), ..Timeline::default() };
        // Event id → the (state, visit index) it belongs to.
        let mut owner: HashMap<u64, (String, usize)> = HashMap::new();
        // Visits entered and not exited, latest last.
        let mut open: Vec<(String, usize)> = Vec::new();
        let start = events.first().and_then(|e| e["timestamp"].as_f64()).unwrap_or(0.0);
        for e in events {
            let id = e["id"].as_u64().unwrap_or_default();
            let prev = e["previousEventId"].as_u64().unwrap_or_default();
            let kind = e["type"].as_str().unwrap_or_default().to_owned();
            let d = details(e);
            let linked = owner.get(&prev).cloned();
            let here: Option<(String, usize)> = if kind.ends_with("StateEntered") {
                let name = text_of(d, "name").unwrap_or_default();
                let visits = t.states.entry(name.clone()).or_default();
                visits.push(Visit {
                    kind: state_kind(&kind).to_owned(),
                    input: text_of(d, "input"),
                    ..Visit::default()
                });
                let at = (name, visits.len() - 1);
                open.push(at.clone());
                Some(at)
            } else if kind.ends_with("StateExited") {
                let name = text_of(d, "name").unwrap_or_default();
                let at = linked
                    .filter(|(n, _)| *n == name)
                    .or_else(|| open.iter().rev().find(|(n, _)| *n == name).cloned());
                if let Some(at) = &at {
                    open.retain(|o| o != at);
                }
                at
            } else if kind.starts_with("Execution") || kind.starts_with("MapRun") {
                None
            } else if let Some(container) = ["Map", "Parallel"].into_iter().find(|p| kind.starts_with(p)) {
                // A Map's or Parallel's own events may link into the iteration or branch that ended last.
                let is_container = |at: &(String, usize)| {
                    t.states.get(&at.0).and_then(|v| v.get(at.1)).is_some_and(|v| v.kind == container)
                };
                linked.filter(is_container).or_else(|| open.iter().rev().find(|at| is_container(at)).cloned())
            } else {
                linked
            };
            if let Some((name, i)) = &here {
                owner.insert(id, (name.clone(), *i));
                if let Some(v) = t.states.get_mut(name).and_then(|v| v.get_mut(*i)) {
                    Self::apply(v, &kind, d, e);
                }
            }
            let ts = e["timestamp"].as_f64().unwrap_or(start);
            t.rows.push(Row {
                id,
                since_ms: ((ts - start) * 1000.0).round() as i64,
                kind,
                state: here.map(|(n, _)| n),
                detail: detail_of(e),
            });
        }
        t
    }

    fn apply(v: &mut Visit, kind: &str, d: Option<&serde_json::Map<String, Value>>, e: &Value) {
        if kind.ends_with("StateExited") {
            v.exited = true;
            v.output = text_of(d, "output");
            return;
        }
        if kind.ends_with("Aborted") {
            v.aborted = true;
        }
        if kind.ends_with("Scheduled") || kind == "MapStateStarted" || kind == "ParallelStateStarted" {
            v.attempts += 1;
        }
        let iteration = kind.starts_with("MapIteration");
        if !iteration && (kind.ends_with("Failed") || kind.ends_with("TimedOut")) {
            v.failed_last = true;
            v.error = text_of(d, "error");
            v.cause = text_of(d, "cause");
        } else if !iteration && kind.ends_with("Succeeded") {
            v.failed_last = false;
        }
        let mut found = Vec::new();
        ecs_tasks(e, &mut found);
        for task in found {
            match v.tasks.iter_mut().find(|t| t.arn == task.arn) {
                Some(known) => *known = task,
                None => v.tasks.push(task),
            }
        }
    }

    /// The status the graph shows for `state`; `None` when it was not entered.
    pub(crate) fn status_of(&self, state: &str) -> Option<StateStatus> {
        let rank = |s: StateStatus| match s {
            StateStatus::Running => 0,
            StateStatus::Failed => 1,
            StateStatus::Aborted => 2,
            StateStatus::Caught => 3,
            StateStatus::Succeeded => 4,
        };
        self.states.get(state)?.iter().map(|v| v.status(&self.status)).min_by_key(|s| rank(*s))
    }

    /// The id of the last event (0 for none).
    pub(crate) fn last_id(&self) -> u64 {
        self.rows.last().map_or(0, |r| r.id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(id: u64, prev: u64, kind: &str, details: Value) -> Value {
        let key = {
            let mut k = kind.to_owned();
            if let Some(first) = k.get_mut(0..1) {
                first.make_ascii_lowercase();
            }
            // `TaskStateEntered` → `stateEnteredEventDetails`, as AWS names them.
            if kind.ends_with("StateEntered") {
                "stateEnteredEventDetails".to_owned()
            } else if kind.ends_with("StateExited") {
                "stateExitedEventDetails".to_owned()
            } else {
                format!("{k}EventDetails")
            }
        };
        json!({"id": id, "previousEventId": prev, "type": kind, "timestamp": 1000.0 + id as f64 / 10.0, key: details})
    }

    /// A `.sync` task that fails with its stopped task in the cause, caught by nothing: failed, with the
    /// task's exit code; the execution-level events belong to no state.
    #[test]
    fn an_uncaught_ecs_failure_marks_the_state_failed_with_its_task() {
        let stopped = json!({"TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/jobs/abc", "LastStatus": "STOPPED",
            "StopCode": "EssentialContainerExited", "Containers": [{"Name": "report", "ExitCode": 3, "LastStatus": "STOPPED"}]});
        let events = [
            ev(1, 0, "ExecutionStarted", json!({"input": "{}"})),
            ev(2, 0, "TaskStateEntered", json!({"name": "Run", "input": "{\"a\":1}"})),
            ev(3, 2, "TaskScheduled", json!({"resource": "runTask.sync", "resourceType": "ecs"})),
            ev(4, 3, "TaskStarted", json!({"resource": "runTask.sync", "resourceType": "ecs"})),
            ev(
                5,
                4,
                "TaskSubmitted",
                json!({"output": json!({"Tasks": [{"TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/jobs/abc", "LastStatus": "PROVISIONING"}]}).to_string()}),
            ),
            ev(6, 5, "TaskFailed", json!({"error": "States.TaskFailed", "cause": stopped.to_string()})),
            ev(7, 6, "ExecutionFailed", json!({"error": "States.TaskFailed"})),
        ];
        let t = Timeline::new(&events, "FAILED");
        assert_eq!(t.status_of("Run"), Some(StateStatus::Failed));
        assert_eq!(t.status_of("Elsewhere"), None);
        let v = &t.states["Run"][0];
        assert_eq!((v.attempts, v.error.as_deref()), (1, Some("States.TaskFailed")));
        assert_eq!(v.tasks.len(), 1, "{:?}", v.tasks);
        assert_eq!(v.tasks[0].containers[0].exit_code, Some(3));
        assert_eq!(v.tasks[0].stop_code.as_deref(), Some("EssentialContainerExited"));
        let states: Vec<Option<&str>> = t.rows.iter().map(|r| r.state.as_deref()).collect();
        assert_eq!(states, [None, Some("Run"), Some("Run"), Some("Run"), Some("Run"), Some("Run"), None]);
        assert_eq!(t.rows[6].since_ms, 600);
        assert!(t.rows[5].detail.starts_with("States.TaskFailed: {"), "{}", t.rows[5].detail);
        assert_eq!(t.rows[2].detail, "ecs:runTask.sync");
    }

    /// Retried then caught: two attempts, exited after a failure → caught; the Catch's target succeeded;
    /// a Fail state ends a FAILED execution failed; a state still open in a RUNNING execution is running.
    #[test]
    fn retries_catches_fail_states_and_running_states() {
        let events = [
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(2, 0, "TaskStateEntered", json!({"name": "T"})),
            ev(3, 2, "TaskScheduled", json!({})),
            ev(4, 3, "TaskFailed", json!({"error": "E"})),
            ev(5, 4, "TaskScheduled", json!({})),
            ev(6, 5, "TaskFailed", json!({"error": "E", "cause": "twice"})),
            ev(7, 6, "TaskStateExited", json!({"name": "T", "output": "{}"})),
            ev(8, 7, "PassStateEntered", json!({"name": "Handle"})),
            ev(9, 8, "PassStateExited", json!({"name": "Handle", "output": "{}"})),
            ev(10, 9, "FailStateEntered", json!({"name": "Boom"})),
        ];
        let failed = Timeline::new(&events, "FAILED");
        assert_eq!(failed.status_of("T"), Some(StateStatus::Caught));
        assert_eq!(failed.states["T"][0].retries(), 1);
        assert_eq!(failed.states["T"][0].cause.as_deref(), Some("twice"));
        assert_eq!(failed.status_of("Handle"), Some(StateStatus::Succeeded));
        assert_eq!(failed.status_of("Boom"), Some(StateStatus::Failed));
        let running = Timeline::new(&events[..9], "RUNNING");
        assert_eq!(running.status_of("T"), Some(StateStatus::Caught));
        let open = Timeline::new(&events[..3], "RUNNING");
        assert_eq!(open.status_of("T"), Some(StateStatus::Running));
        let stopped = Timeline::new(&events[..3], "ABORTED");
        assert_eq!(stopped.status_of("T"), Some(StateStatus::Aborted));
    }

    /// A Map's iterations: the inner state's visits combine (one failed visit → failed); the Map's own
    /// `MapStateFailed`, linked into the failed iteration, is the Map's.
    #[test]
    fn map_iterations_combine_and_map_events_belong_to_the_map() {
        let events = [
            ev(1, 0, "ExecutionStarted", json!({})),
            ev(2, 0, "MapStateEntered", json!({"name": "M"})),
            ev(3, 2, "MapStateStarted", json!({"length": 2})),
            ev(4, 3, "MapIterationStarted", json!({"index": 0})),
            ev(5, 4, "PassStateEntered", json!({"name": "Item"})),
            ev(6, 5, "PassStateExited", json!({"name": "Item"})),
            ev(7, 6, "MapIterationSucceeded", json!({"index": 0})),
            ev(8, 3, "MapIterationStarted", json!({"index": 1})),
            ev(9, 8, "TaskStateEntered", json!({"name": "Work"})),
            ev(10, 9, "TaskFailed", json!({"error": "X"})),
            ev(11, 10, "MapIterationFailed", json!({"index": 1})),
            ev(12, 11, "MapStateFailed", json!({"error": "X"})),
            ev(13, 12, "ExecutionFailed", json!({"error": "X"})),
        ];
        let t = Timeline::new(&events, "FAILED");
        assert_eq!(t.status_of("M"), Some(StateStatus::Failed));
        assert_eq!(t.status_of("Item"), Some(StateStatus::Succeeded));
        assert_eq!(t.status_of("Work"), Some(StateStatus::Failed));
        assert_eq!(t.rows[11].state.as_deref(), Some("M"));
        assert_eq!(t.rows[6].state.as_deref(), Some("M"));
        assert_eq!(t.states["M"][0].attempts, 1);
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("héllo\nworld", 20), "héllo world");
        assert_eq!(shorten("ééééé", 3), "ééé…");
    }
}
