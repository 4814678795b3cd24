//! What people read (the `human` format): `sfn run`'s summary of an execution — status, duration, states
//! entered, the ECS task (ARN, `StopCode`/`StoppedReason`, one line per container with its exit code and
//! reason) and, for a failure, the error, a shortened cause, the failing container's last output lines and
//! the error a Catch caught before a Fail state ended the run; `--history` as a table; `test-state
//! --inspect` as one line per step, each a diff from the step before. Everything here reads the JSON the
//! `json` format prints (GetExecutionHistory's event shape), so both formats say the same things.

use serde_json::{Map, Value};

use crate::console::Console;

/// Characters of a cause or an output shown in the summary.
const SHORT: usize = 160;
/// Containers listed per task.
const MAX_CONTAINERS: usize = 6;

/// `s` cut to `n` characters, with `…` when cut.
pub(crate) fn short(s: &str, n: usize) -> String {
    let mut it = s.char_indices();
    match it.nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// An event's details object (`…EventDetails`).
fn details(e: &Value) -> Option<&Map<String, Value>> {
    e.as_object()?.iter().find(|(k, _)| k.ends_with("EventDetails")).and_then(|(_, v)| v.as_object())
}

fn field<'a>(e: &'a Value, name: &str) -> Option<&'a str> {
    details(e)?.get(name)?.as_str()
}

fn event_type(e: &Value) -> &str {
    e.get("type").and_then(Value::as_str).unwrap_or_default()
}

fn timestamp(e: &Value) -> f64 {
    e.get("timestamp").and_then(Value::as_f64).unwrap_or_default()
}

/// A stopped ECS task, as `.sync` outputs it or a TaskFailed cause carries it.
fn ecs_task(text: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(text).ok()?;
    (v.get("TaskArn").is_some() && v.get("Containers").is_some()).then_some(v)
}

/// What the summary says about one run, read from its history.
#[derive(Debug, Default)]
struct Reading {
    states_entered: usize,
    seconds: f64,
    /// The last ECS task seen, the state that ran it, and whether it failed the state.
    task: Option<(Value, Option<String>, bool)>,
    tasks: usize,
    /// The last error a state raised before the execution's own (state, error, cause).
    first_error: Option<(Option<String>, String, Option<String>)>,
    /// A Fail state was entered after that error.
    fail_state: Option<String>,
}

fn read(events: &[Value]) -> Reading {
    let mut r = Reading::default();
    let mut state: Option<String> = None;
    if let (Some(first), Some(last)) = (events.first(), events.last()) {
        r.seconds = (timestamp(last) - timestamp(first)).max(0.0);
    }
    for e in events {
        let ty = event_type(e);
        if ty.ends_with("StateEntered") {
            r.states_entered += 1;
            state = field(e, "name").map(str::to_owned);
            if ty == "FailStateEntered" {
                r.fail_state = state.clone();
            }
        }
        // A Task state's result or failure (not the states and execution that pass it on).
        let ended = match ty {
            "TaskSucceeded" => field(e, "output").map(|o| (o, false)),
            "TaskFailed" => field(e, "cause").map(|c| (c, true)),
            _ => None,
        };
        if let Some((text, failed)) = ended {
            if let Some(t) = ecs_task(text) {
                r.tasks += 1;
                // A failing task is the one to show; a later success does not hide it.
                if failed || !r.task.as_ref().is_some_and(|t| t.2) {
                    r.task = Some((t, state.clone(), failed));
                }
            }
        }
        if ty != "ExecutionFailed"
            && (ty.ends_with("Failed") || ty.ends_with("TimedOut"))
            && let Some(error) = field(e, "error")
        {
            r.first_error = Some((state.clone(), error.to_owned(), field(e, "cause").map(str::to_owned)));
            r.fail_state = None;
        }
    }
    r
}

/// The lines of `sfn run`'s human summary (at most 25).
pub(crate) fn run_summary(
    out: &Map<String, Value>,
    events: &[Value],
    console: Option<&Console>,
    color: bool,
) -> Vec<String> {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    let status = out.get("status").and_then(Value::as_str).unwrap_or_default();
    let r = read(events);
    let mut lines = Vec::new();
    let painted = if status == "SUCCEEDED" { paint("1;32", status) } else { paint("1;31", status) };
    lines.push(format!(
        "{painted} in {:.2} s, {} state{} entered",
        r.seconds,
        r.states_entered,
        if r.states_entered == 1 { "" } else { "s" }
    ));
    if let Some(o) = out.get("output") {
        let text = o.to_string();
        let more = if text.chars().count() > SHORT {
            format!(" ({} bytes; --format json prints it all)", text.len())
        } else {
            String::new()
        };
        lines.push(format!("output: {}{more}", short(&text, SHORT)));
    }
    if let Some(e) = out.get("error").and_then(Value::as_str) {
        lines.push(format!("error:  {}", paint("1", e)));
    }
    if let Some(c) = out.get("cause").and_then(Value::as_str) {
        let more = if c.chars().count() > SHORT {
            format!(" ({} bytes; --format json prints it all)", c.len())
        } else {
            String::new()
        };
        lines.push(format!("cause:  {}{more}", short(c, SHORT)));
    }
    if let Some((task, state, _)) = &r.task {
        lines.extend(task_lines(task, state.as_deref(), r.tasks, console));
    }
    if let (Some(fail), Some((state, error, cause))) = (&r.fail_state, &r.first_error) {
        let at = state.as_deref().map(|s| format!(" in state \"{s}\"")).unwrap_or_default();
        lines.push(format!("caught: {error}{at}, then the Fail state \"{fail}\" ended the execution"));
        if let Some(c) = cause.as_deref().filter(|c| ecs_task(c).is_none()) {
            lines.push(format!("        cause: {}", short(c, SHORT)));
        }
    }
    lines
}

fn task_lines(task: &Value, state: Option<&str>, tasks: usize, console: Option<&Console>) -> Vec<String> {
    let s = |k: &str| task.get(k).and_then(Value::as_str).unwrap_or("-");
    let arn = s("TaskArn");
    let mut lines = Vec::new();
    let of = state.map(|st| format!(" (state \"{st}\")")).unwrap_or_default();
    let others = if tasks > 1 { format!(", the last of {tasks} tasks") } else { String::new() };
    lines.push(format!("ECS task: {arn}{of}{others}"));
    lines.push(format!(
        "  LastStatus: {}  StopCode: {}  StoppedReason: {}",
        s("LastStatus"),
        s("StopCode"),
        s("StoppedReason")
    ));
    let containers = task.get("Containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut failing = None;
    for c in containers.iter().take(MAX_CONTAINERS) {
        let name = c.get("Name").and_then(Value::as_str).unwrap_or("?");
        let code = c.get("ExitCode").and_then(Value::as_i64);
        let reason = c
            .get("Reason")
            .and_then(Value::as_str)
            .map(|r| format!("  Reason: {}", short(r, 100)))
            .unwrap_or_default();
        let code_text = code.map_or_else(|| "none".to_owned(), |c| c.to_string());
        lines.push(format!("  container {name}: ExitCode: {code_text}{reason}"));
        if code != Some(0) && failing.is_none() {
            failing = Some(name.to_owned());
        }
    }
    if containers.len() > MAX_CONTAINERS {
        lines.push(format!("  … {} more containers", containers.len() - MAX_CONTAINERS));
    }
    if let (Some(name), Some(console)) = (failing, console) {
        let tail = console.tail(arn, &name);
        if !tail.is_empty() {
            lines.push(format!("last output of {name}:"));
            lines.extend(tail.iter().map(|l| format!("  {}", short(l, 200))));
        }
    }
    lines
}

/// `--history` for people: one row per event (id, seconds since the start, type, state, short detail).
pub(crate) fn history_table(events: &[Value]) -> Vec<String> {
    let start = events.first().map(timestamp).unwrap_or_default();
    let mut state = String::new();
    let mut rows = vec![format!("{:>4}  {:>8}  {:<28}  {:<24}  detail", "id", "+time", "type", "state")];
    for e in events {
        let ty = event_type(e);
        if let Some(name) = field(e, "name") {
            state = name.to_owned();
        }
        let detail = if let Some(err) = field(e, "error") {
            let cause = field(e, "cause").map(|c| format!(": {}", short(c, 60))).unwrap_or_default();
            format!("{err}{cause}")
        } else if let Some(res) = field(e, "resource") {
            format!("{}:{res}", field(e, "resourceType").unwrap_or("?"))
        } else if let Some(o) = field(e, "output").or_else(|| field(e, "input")) {
            short(o, 60)
        } else {
            String::new()
        };
        let id = e.get("id").and_then(Value::as_u64).unwrap_or_default();
        let at = timestamp(e) - start;
        rows.push(format!("{id:>4}  {at:>7.3}s  {ty:<28}  {:<24}  {detail}", short(&state, 24)));
        if ty.ends_with("StateExited") {
            state.clear();
        }
    }
    rows
}

/// `test-state --inspect` for people: each step once, as what changed since the step before.
pub(crate) fn inspect_lines(data: &Map<String, Value>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut prev: Option<&Value> = None;
    for (step, v) in data {
        if step == "variables" {
            continue;
        }
        match prev {
            None => lines.push(format!("{step}: {}", short(&v.to_string(), 400))),
            Some(p) if p == v => lines.push(format!("{step}: unchanged")),
            Some(p) => {
                let mut d = Vec::new();
                diff(p, v, String::new(), &mut d);
                lines.push(format!("{step}:"));
                let n = d.len();
                lines.extend(d.into_iter().take(20).map(|l| format!("  {l}")));
                if n > 20 {
                    lines.push(format!("  … {} more changes", n - 20));
                }
            }
        }
        prev = Some(v);
    }
    if let Some(vars) = data.get("variables") {
        lines.push(format!("variables: {}", short(&vars.to_string(), 400)));
    }
    lines
}

/// The changes from `a` to `b` as `+ /path: value`, `- /path`, `~ /path: old → new` (JSON pointers).
fn diff(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
    let show = |v: &Value| short(&v.to_string(), 100);
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{at}/{}", sfn::asl::pointer::escape(k));
                match y.get(k) {
                    Some(vb) => diff(va, vb, p, out),
                    None => out.push(format!("- {p}")),
                }
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                out.push(format!("+ {at}/{}: {}", sfn::asl::pointer::escape(k), show(vb)));
            }
        }
        _ if a == b => {}
        _ => {
            let p = if at.is_empty() { "/".to_owned() } else { at };
            out.push(format!("~ {p}: {} → {}", show(a), show(b)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diffs_name_what_changed_by_pointer() {
        let mut d = Vec::new();
        diff(
            &json!({"a": 1, "b": {"c": 2}, "gone": true}),
            &json!({"a": 1, "b": {"c": 3}, "new": [1]}),
            String::new(),
            &mut d,
        );
        assert_eq!(d, ["~ /b/c: 2 → 3", "- /gone", "+ /new: [1]"]);
        let mut d = Vec::new();
        diff(&json!(1), &json!("x"), String::new(), &mut d);
        assert_eq!(d, ["~ /: 1 → \"x\""]);
    }

    #[test]
    fn each_step_is_shown_once() {
        let mut m = Map::new();
        m.insert("input".into(), json!({"a": 1}));
        m.insert("afterInputPath".into(), json!({"a": 1}));
        m.insert("afterParameters".into(), json!({"a": 1, "b": 2}));
        assert_eq!(
            inspect_lines(&m),
            ["input: {\"a\":1}", "afterInputPath: unchanged", "afterParameters:", "  + /b: 2"]
        );
    }

    #[test]
    fn short_cuts_on_characters() {
        assert_eq!(short("héllo", 2), "hé…");
        assert_eq!(short("hé", 2), "hé");
    }
}
