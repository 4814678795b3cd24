//! The views, rendered on the server: state machines, a machine's executions, an execution (graph,
//! side panel, event table), and the fragments the page's script swaps in (the panel of another state,
//! the live update of a running execution).

use std::fmt::Write as _;

use serde_json::{Value, json};
use sfn_server::ApiError;

use crate::html::{badge, date, duration, esc, page, url};
use crate::source::Source;
use crate::timeline::{Timeline, Visit, shorten};

/// The statuses ListExecutions filters by.
pub(crate) const STATUSES: [&str; 5] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

/// Lines of a container's log shown in the panel (the newest).
const LOG_LINES: u64 = 500;

/// Every page of a listing operation, `key` holding the items (`stateMachines`, `events`, …).
async fn all(src: &dyn Source, op: &str, mut input: Value, key: &str) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    loop {
        let page = src.call(op, input.clone()).await?;
        out.extend(page[key].as_array().cloned().unwrap_or_default());
        match page["nextToken"].as_str() {
            Some(t) => input["nextToken"] = json!(t),
            None => return Ok(out),
        }
    }
}

fn millis(v: &Value) -> Option<i64> {
    v.as_f64().map(|s| (s * 1000.0).round() as i64)
}

/// How long an execution ran (or has been running).
fn took(e: &Value) -> String {
    let start = millis(&e["startDate"]);
    let stop = millis(&e["stopDate"]).or_else(|| Some(chrono::Utc::now().timestamp_millis()));
    match (start, stop) {
        (Some(a), Some(b)) => duration(b - a),
        _ => String::new(),
    }
}

fn execution_href(arn: &str) -> String {
    format!("/executions/{}", url(arn))
}

fn machine_href(arn: &str) -> String {
    format!("/state-machines/{}", url(arn))
}

/// `/`: every state machine with its type, creation date and last executions.
pub(crate) async fn machines(src: &dyn Source) -> Result<String, ApiError> {
    let list = all(src, "ListStateMachines", json!({"maxResults": 1000}), "stateMachines").await?;
    let mut body = String::new();
    if list.is_empty() {
        body.push_str(
            "<p>No state machines yet. Create one with CreateStateMachine (boto3, the AWS CLI).</p>",
        );
    } else {
        body.push_str(
            "<table><caption>State machines</caption><thead><tr><th scope=\"col\">Name</th>\
             <th scope=\"col\">Type</th><th scope=\"col\">Created</th><th scope=\"col\">Last executions</th>\
             </tr></thead><tbody>\n",
        );
        for m in &list {
            let arn = m["stateMachineArn"].as_str().unwrap_or_default();
            let recent = src
                .call("ListExecutions", json!({"stateMachineArn": arn, "maxResults": 5}))
                .await
                .map(|r| r["executions"].as_array().cloned().unwrap_or_default())
                .unwrap_or_default();
            let mut last = String::new();
            for e in &recent {
                let earn = e["executionArn"].as_str().unwrap_or_default();
                let _ = write!(
                    last,
                    "<li><a href=\"{}\">{}</a> {}</li>",
                    esc(&execution_href(earn)),
                    esc(e["name"].as_str().unwrap_or_default()),
                    badge(e["status"].as_str().unwrap_or_default())
                );
            }
            let last =
                if last.is_empty() { "—".to_owned() } else { format!("<ul class=\"recent\">{last}</ul>") };
            let _ = writeln!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{last}</td></tr>",
                esc(&machine_href(arn)),
                esc(m["name"].as_str().unwrap_or_default()),
                esc(m["type"].as_str().unwrap_or_default()),
                esc(&date(&m["creationDate"])),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok(page("State machines", &[], &body))
}

/// `/state-machines/ARN?status=S`: the machine's executions, newest first, optionally of one status.
pub(crate) async fn machine(src: &dyn Source, arn: &str, status: Option<&str>) -> Result<String, ApiError> {
    let described = src.call("DescribeStateMachine", json!({"stateMachineArn": arn})).await?;
    let name = described["name"].as_str().unwrap_or(arn).to_owned();
    let status = status.filter(|s| STATUSES.contains(s));
    let mut input = json!({"stateMachineArn": arn, "maxResults": 1000});
    if let Some(s) = status {
        input["statusFilter"] = json!(s);
    }
    let express = described["type"] == "EXPRESS";
    // EXPRESS executions are not listed, as on AWS (ListExecutions answers StateMachineTypeNotSupported).
    let list = if express { Vec::new() } else { all(src, "ListExecutions", input, "executions").await? };
    let mut body = format!(
        "<dl class=\"summary\"><dt>Type</dt><dd>{}</dd><dt>ARN</dt><dd><code>{}</code></dd></dl>\n\
         <h2>Executions</h2>\n<form method=\"get\" class=\"filter\"><label for=\"status\">Status</label> \
         <select id=\"status\" name=\"status\"><option value=\"\">All</option>",
        esc(described["type"].as_str().unwrap_or("STANDARD")),
        esc(arn)
    );
    for s in STATUSES {
        let selected = if status == Some(s) { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{s}\"{selected}>{s}</option>");
    }
    body.push_str("</select> <button type=\"submit\">Filter</button></form>\n");
    if express {
        body.push_str("<p>EXPRESS executions are not recorded: StartSyncExecution answers them whole.</p>");
    } else if list.is_empty() {
        body.push_str("<p>No executions.</p>");
    } else {
        body.push_str(
            "<table><caption>Executions</caption><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Status</th>\
             <th scope=\"col\">Started</th><th scope=\"col\">Duration</th></tr></thead><tbody>\n",
        );
        for e in &list {
            let _ = writeln!(
                body,
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&execution_href(e["executionArn"].as_str().unwrap_or_default())),
                esc(e["name"].as_str().unwrap_or_default()),
                badge(e["status"].as_str().unwrap_or_default()),
                esc(&date(&e["startDate"])),
                esc(&took(e)),
            );
        }
        body.push_str("</tbody></table>");
    }
    Ok(page(&name, &[], &body))
}

/// Everything the execution page shows, read once.
pub(crate) struct ExecutionView {
    arn: String,
    describe: Value,
    machine: Option<sfn::asl::StateMachine>,
    machine_error: Option<String>,
    timeline: Timeline,
}

impl ExecutionView {
    pub(crate) async fn read(src: &dyn Source, arn: &str) -> Result<ExecutionView, ApiError> {
        let describe = src.call("DescribeExecution", json!({"executionArn": arn})).await?;
        let definition = src.call("DescribeStateMachineForExecution", json!({"executionArn": arn})).await?;
        let events =
            all(src, "GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000}), "events")
                .await?;
        let text = definition["definition"].as_str().unwrap_or_default();
        let (machine, machine_error) = match sfn::asl::parse(text.as_bytes()) {
            Ok(m) => (Some(m), None),
            Err(diags) => {
                (None, Some(diags.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")))
            }
        };
        let status = describe["status"].as_str().unwrap_or_default().to_owned();
        let timeline = Timeline::new(&events, &status);
        Ok(ExecutionView { arn: arn.to_owned(), describe, machine, machine_error, timeline })
    }

    pub(crate) fn status(&self) -> &str {
        &self.timeline.status
    }

    pub(crate) fn last_event(&self) -> u64 {
        self.timeline.last_id()
    }

    /// The state the panel shows when none is asked for: a failed one, else a running one.
    fn default_state(&self) -> Option<String> {
        use sfn::graph::StateStatus as S;
        [S::Failed, S::Running].into_iter().find_map(|want| {
            self.timeline.states.keys().find(|n| self.timeline.status_of(n) == Some(want)).cloned()
        })
    }

    pub(crate) fn summary(&self) -> String {
        let d = &self.describe;
        let machine_arn = d["stateMachineArn"].as_str().unwrap_or_default();
        let machine_name = machine_arn.rsplit(':').next().unwrap_or_default();
        let mut out = format!(
            "<dl class=\"summary\"><dt>Status</dt><dd id=\"status\">{}</dd><dt>State machine</dt>\
             <dd><a href=\"{}\">{}</a></dd><dt>Started</dt><dd>{}</dd><dt>Duration</dt><dd>{}</dd>",
            badge(self.status()),
            esc(&machine_href(machine_arn)),
            esc(machine_name),
            esc(&date(&d["startDate"])),
            esc(&took(d)),
        );
        for key in ["error", "cause"] {
            if let Some(v) = d[key].as_str() {
                let v = &cause_line(v);
                let _ = write!(
                    out,
                    "<dt>{}</dt><dd><code>{}</code></dd>",
                    if key == "error" { "Error" } else { "Cause" },
                    esc(&shorten(v, 300))
                );
            }
        }
        out.push_str("</dl>");
        if self.status() == "RUNNING" {
            let _ = write!(
                out,
                "<form method=\"post\" action=\"{}/stop\" id=\"stop-form\"><button type=\"submit\" id=\"stop\">Stop execution</button></form>",
                esc(&execution_href(&self.arn))
            );
        }
        out
    }

    pub(crate) fn graph(&self) -> String {
        match &self.machine {
            Some(m) => sized(sfn::graph::svg(m, &|name| self.timeline.status_of(name))),
            None => format!(
                "<p>The definition cannot be drawn: {}</p>",
                esc(self.machine_error.as_deref().unwrap_or_default())
            ),
        }
    }

    pub(crate) fn events(&self) -> String {
        let mut out = String::new();
        for r in &self.timeline.rows {
            let _ = writeln!(
                out,
                "<tr data-event=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.id,
                r.id,
                esc(&duration(r.since_ms)),
                esc(&r.kind),
                esc(r.state.as_deref().unwrap_or("")),
                esc(&r.detail)
            );
        }
        out
    }

    /// The side panel for `state` (or the default one).
    pub(crate) fn panel(&self, src: &dyn Source, state: Option<&str>) -> String {
        let chosen = state.map(str::to_owned).or_else(|| self.default_state());
        let Some(name) = chosen else {
            return "<aside id=\"panel\" aria-labelledby=\"panel-h\"><h2 id=\"panel-h\">State</h2>\
                    <p>Select a state in the graph: click it, or focus it (Tab) and press Enter.</p></aside>"
                .to_owned();
        };
        let mut out = format!(
            "<aside id=\"panel\" aria-labelledby=\"panel-h\" data-state=\"{n}\"><h2 id=\"panel-h\">State: {n}</h2>",
            n = esc(&name)
        );
        let Some(visits) = self.timeline.states.get(&name) else {
            out.push_str("<p>Not entered.</p></aside>");
            return out;
        };
        let status = self.timeline.status_of(&name).map_or("not-entered", sfn::graph::StateStatus::class);
        let Some(v) = visits.last() else { return out };
        let _ = write!(out, "<dl><dt>Status</dt><dd id=\"panel-status\">{}</dd>", badge(status));
        if visits.len() > 1 {
            let _ = write!(out, "<dt>Visits</dt><dd>{} (the last shown)</dd>", visits.len());
        }
        let _ = write!(out, "<dt>Retries</dt><dd id=\"panel-retries\">{}</dd>", v.retries());
        if let Some(e) = &v.error {
            let _ = write!(out, "<dt>Error</dt><dd id=\"panel-error\"><code>{}</code></dd>", esc(e));
        }
        out.push_str("</dl>");
        out.push_str(&tasks(src, v));
        // A long cause (a stopped ECS task) is folded: the task's parts are shown above.
        for (title, id, text) in [
            ("Cause", "panel-cause", &v.cause),
            ("Input", "panel-input", &v.input),
            ("Output", "panel-output", &v.output),
        ] {
            if let Some(t) = text {
                let open = if id == "panel-cause" && t.len() > 300 { "" } else { " open" };
                let _ = write!(
                    out,
                    "<details{open}><summary>{title}</summary><pre id=\"{id}\">{}</pre></details>",
                    esc(&pretty(t))
                );
            }
        }
        out.push_str("</aside>");
        out
    }
}

/// A cause in one line: a stopped ECS task (a `.sync` task's failure) as its ARN and stop reason, the
/// rest shortened.
fn cause_line(cause: &str) -> String {
    let task: Option<Value> = serde_json::from_str(cause).ok();
    match task.as_ref().and_then(|t| Some((t["TaskArn"].as_str()?, t))) {
        Some((arn, t)) => format!(
            "ECS task {arn} stopped: {} (its containers' exit codes and logs are in the state's panel)",
            t["StoppedReason"].as_str().unwrap_or("no reason given")
        ),
        None => cause.to_owned(),
    }
}

/// The SVG drawn at its own size (its `viewBox` width, in CSS pixels), shrunk to fit, never blown up.
fn sized(svg: String) -> String {
    let width = svg
        .split_once("viewBox=\"")
        .and_then(|(_, rest)| rest.split('"').next())
        .and_then(|vb| vb.split_whitespace().nth(2)?.parse::<f64>().ok());
    match width {
        Some(w) => format!("<div class=\"graph-box\" style=\"max-width: {w:.0}px\">{svg}</div>"),
        None => svg,
    }
}

/// JSON text indented when it parses, else as it is.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}

/// The ECS tasks of a visit: ARN, status, containers with exit codes, and each container's log lines.
fn tasks(src: &dyn Source, v: &Visit) -> String {
    let mut out = String::new();
    for t in &v.tasks {
        let _ = write!(
            out,
            "<h3>ECS task</h3><dl><dt>Task ARN</dt><dd><code class=\"task-arn\">{}</code></dd>",
            esc(&t.arn)
        );
        for (label, value) in [
            ("Last status", &t.last_status),
            ("Stop code", &t.stop_code),
            ("Stopped reason", &t.stopped_reason),
        ] {
            if let Some(x) = value {
                let _ = write!(out, "<dt>{label}</dt><dd>{}</dd>", esc(x));
            }
        }
        out.push_str("</dl>");
        if !t.containers.is_empty() {
            out.push_str(
                "<table class=\"containers\"><caption>Containers</caption><thead><tr><th scope=\"col\">Container</th>\
                 <th scope=\"col\">Exit code</th><th scope=\"col\">Status</th><th scope=\"col\">Reason</th></tr></thead><tbody>",
            );
            for c in &t.containers {
                let _ = write!(
                    out,
                    "<tr data-container=\"{n}\"><td>{n}</td><td class=\"exit-code\">{}</td><td>{}</td><td>{}</td></tr>",
                    c.exit_code.map_or_else(|| "—".to_owned(), |x| x.to_string()),
                    esc(c.last_status.as_deref().unwrap_or("")),
                    esc(c.reason.as_deref().unwrap_or("")),
                    n = esc(&c.name),
                );
            }
            out.push_str("</tbody></table>");
        }
        let logs = task_logs(src, &t.arn);
        if logs.is_empty() {
            out.push_str(
                "<p class=\"no-logs\">No log lines: only containers with an <code>awslogs</code> \
                 logConfiguration have a log stream.</p>",
            );
        }
        for (container, lines) in logs {
            let _ = write!(
                out,
                "<h4>Logs of {c}</h4><pre class=\"logs\" data-container=\"{c}\" tabindex=\"0\" aria-label=\"Log lines of container {c}\">",
                c = esc(&container)
            );
            for l in lines {
                let _ = writeln!(out, "{}", esc(&l));
            }
            out.push_str("</pre>");
        }
    }
    out
}

/// The newest log lines of every stream of `task_arn` (`…/<container>/<task-id>` in any group), by
/// container, through CloudWatch Logs' operations (as `sfn logs` reads them).
fn task_logs(src: &dyn Source, task_arn: &str) -> Vec<(String, Vec<String>)> {
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    let suffix = format!("/{task_id}");
    let mut out = Vec::new();
    let Ok(groups) = src.call_logs("DescribeLogGroups", &json!({})) else { return out };
    for g in groups["logGroups"].as_array().into_iter().flatten() {
        let Some(group) = g["logGroupName"].as_str() else { continue };
        let input =
            json!({"logGroupName": group, "orderBy": "LastEventTime", "descending": true, "limit": 50});
        let Ok(streams) = src.call_logs("DescribeLogStreams", &input) else { continue };
        for s in streams["logStreams"].as_array().into_iter().flatten() {
            let Some(stream) = s["logStreamName"].as_str().filter(|n| n.ends_with(&suffix)) else { continue };
            let container = stream.rsplit('/').nth(1).unwrap_or(stream).to_owned();
            let input = json!({"logGroupName": group, "logStreamName": stream, "limit": LOG_LINES});
            let Ok(page) = src.call_logs("GetLogEvents", &input) else { continue };
            let lines = page["events"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect();
            out.push((container, lines));
        }
    }
    out
}

/// `/executions/ARN?state=NAME`: the execution page.
pub(crate) async fn execution(src: &dyn Source, arn: &str, state: Option<&str>) -> Result<String, ApiError> {
    let view = ExecutionView::read(src, arn).await?;
    let name = view.describe["name"].as_str().unwrap_or(arn).to_owned();
    let machine_arn = view.describe["stateMachineArn"].as_str().unwrap_or_default();
    let machine_name = machine_arn.rsplit(':').next().unwrap_or_default().to_owned();
    let panel = view.panel(src, state);
    let body = format!(
        "<div id=\"execution\" data-execution=\"{arn}\" data-status=\"{status}\" data-last-event=\"{last}\">\n\
         <div id=\"summary\">{summary}</div>\n<div class=\"layout\">\n<div class=\"column\">\n\
         <section class=\"graph\" aria-labelledby=\"graph-h\"><h2 id=\"graph-h\">Graph</h2>\n\
         <p class=\"legend\">{legend}</p>\n<div id=\"graph\">{graph}</div></section>\n\
         <section aria-labelledby=\"events-h\"><h2 id=\"events-h\">Events</h2>\n\
         <table class=\"events\"><caption>Execution history</caption><thead><tr><th scope=\"col\">ID</th>\
         <th scope=\"col\">Since start</th><th scope=\"col\">Type</th><th scope=\"col\">State</th>\
         <th scope=\"col\">Detail</th></tr></thead><tbody id=\"events\">\n{events}</tbody></table></section>\n\
         </div>\n{panel}\n</div>\n</div>",
        arn = esc(arn),
        status = esc(view.status()),
        last = view.last_event(),
        summary = view.summary(),
        legend = ["succeeded", "failed", "caught", "running", "aborted", "not-entered"]
            .map(|s| format!("<span class=\"key {s}\">{}</span>", s.replace('-', " ")))
            .join(" "),
        graph = view.graph(),
        events = view.events(),
    );
    Ok(page(&name, &[(&machine_name, machine_href(machine_arn))], &body))
}

/// The live update of a running execution: waits (up to `wait`) until its history has grown past
/// `after` or it ended, then answers the parts of the page that change.
pub(crate) async fn live(
    src: &dyn Source,
    arn: &str,
    after: u64,
    state: Option<&str>,
    wait: std::time::Duration,
) -> Result<Value, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    // The status every 250 ms, the last event every second: GetExecutionHistory renders the whole history
    // to answer even one event (0.2 s for 8,000 events on a debug build), DescribeExecution does not.
    for round in 0u64.. {
        let d = src.call("DescribeExecution", json!({"executionArn": arn})).await?;
        let moved = if round % 4 == 0 {
            let last = src
                .call(
                    "GetExecutionHistory",
                    json!({"executionArn": arn, "reverseOrder": true, "maxResults": 1}),
                )
                .await?["events"][0]["id"]
                .as_u64()
                .unwrap_or_default();
            last != after
        } else {
            false
        };
        if d["status"] != "RUNNING" || moved || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let view = ExecutionView::read(src, arn).await?;
    Ok(json!({
        "status": view.status(),
        "lastEvent": view.last_event(),
        "summary": view.summary(),
        "graph": view.graph(),
        "events": view.events(),
        "panel": view.panel(src, state),
    }))
}
