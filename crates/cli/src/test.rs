//! `sfn test [PATH…] [--junit FILE] [--coverage-html FILE] [--min-coverage PCT]`: runs every test case of
//! the mock configuration files found (Step Functions Local's MockConfigFile format) against its machine
//! (`StateMachines.NAME` pairs with `NAME.asl.json` beside the mock file, in its parent directory, or in a
//! PATH given), on the virtual clock; checks each case's expectations; prints a pass/fail table and the
//! coverage (states, transitions — each `Next`, `End`, Choice rule and `Default` — and Retry and Catch
//! branches, taken or never taken).
//!
//! Expectations live beside the mock file, in `<stem>.expect.json` (for `seed.json`, `seed.expect.json`):
//! ```json
//! {"StateMachines": {"run-job": {"TestCases": {"HappyPath": {
//!     "input": {"commands": ["echo"]},
//!     "status": "SUCCEEDED",
//!     "output": {"ok": true},
//!     "error": "States.TaskFailed", "cause": "…",
//!     "states": ["Run", "Report"]
//! }}}}}
//! ```
//! Every member is optional: `input` is the execution input (default `{}`), `status` the expected status
//! (default `SUCCEEDED`), `output`, `error` and `cause` must equal the outcome's when given, and `states`
//! is the list of states entered, in order. A case without expectations must succeed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde_json::{Value, json};
use sfn::asl::{StateKind, StateMachine};

/// Arguments of `sfn test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Mock configuration files, or directories searched for them (default: the current directory).
    pub(crate) paths: Vec<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    pub(crate) junit: Option<PathBuf>,
    /// Write the coverage as an HTML page (each machine's graph coloured by coverage) here.
    #[arg(long)]
    pub(crate) coverage_html: Option<PathBuf>,
    /// Fail (exit 1) when the coverage of all items is under this percentage.
    #[arg(long)]
    pub(crate) min_coverage: Option<f64>,
    /// What a Task with neither a mock nor an integration does (`sfn test` calls no service).
    #[arg(long, value_enum, default_value = "fail")]
    pub(crate) unmocked: crate::mock::UnmockedArg,
}

/// One test case's result.
struct CaseResult {
    machine: String,
    case: String,
    file: PathBuf,
    failure: Option<String>,
    seconds: f64,
}

/// A coverage item: what it is, and whether a case took it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    kind: &'static str,
    state: String,
    what: String,
}

/// One machine's coverage.
#[derive(Default)]
struct Coverage {
    items: BTreeMap<Item, bool>,
}

/// Runs the command: 0 when every case passes (and coverage reaches `--min-coverage`), 1 otherwise, 2
/// when a file cannot be used.
pub(crate) fn run(args: &TestArgs) -> anyhow::Result<i32> {
    let roots = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let mut files = Vec::new();
    for r in &roots {
        find_mock_files(r, &mut files);
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        eprintln!(
            "sfn test: no mock configuration file (a JSON file with StateMachines and MockedResponses) under {roots:?}"
        );
        return Ok(2);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?;
    let mut results = Vec::new();
    let mut coverage: BTreeMap<String, (StateMachine, Coverage)> = BTreeMap::new();
    let mut code = 0;
    for file in &files {
        let cfg = match sfn::mocks::MockConfig::from_file(file) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sfn test: {e}");
                code = 2;
                continue;
            }
        };
        let expectations = read_expectations(file);
        let dirs = search_dirs(file, &roots);
        for machine_name in cfg.machines() {
            let Some(def) = dirs.iter().find_map(|d| crate::mock::definition_for(d, machine_name)) else {
                let known: Vec<String> = dirs.iter().flat_map(|d| definitions_in(d)).collect();
                let hint = sfn::asl::suggest::did_you_mean(machine_name, known.iter().map(String::as_str))
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                eprintln!(
                    "sfn test: {}: no definition {machine_name}.asl.json for StateMachines.{machine_name}{hint}",
                    file.display()
                );
                code = 2;
                continue;
            };
            let Ok(machine) =
                crate::load_definition(&def, crate::Load { mocked: true, ..Default::default() })
            else {
                code = 2;
                continue;
            };
            let entry = coverage
                .entry(machine_name.to_owned())
                .or_insert_with(|| (machine.clone(), Coverage::for_machine(&machine)));
            for case in cfg.test_cases(machine_name) {
                let expect = expectations
                    .as_ref()
                    .map_or(&Value::Null, |e| &e["StateMachines"][machine_name]["TestCases"][case]);
                let started = std::time::Instant::now();
                let failure = match cfg.test_case_for(machine_name, case, &machine) {
                    Err(e) => Some(e.to_string()),
                    Ok(tc) => {
                        let (outcome, events) = runtime.block_on(run_case(
                            &def,
                            &machine,
                            machine_name,
                            tc,
                            expect,
                            args.unmocked,
                        ));
                        entry.1.record(&machine, &events);
                        check(expect, &outcome, &events)
                    }
                };
                results.push(CaseResult {
                    machine: machine_name.to_owned(),
                    case: case.to_owned(),
                    file: file.clone(),
                    failure,
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
        }
    }
    print_results(&results);
    let (covered, total) = print_coverage(&coverage);
    if let Some(p) = &args.junit {
        std::fs::write(p, junit(&results))?;
    }
    if let Some(p) = &args.coverage_html {
        std::fs::write(p, html(&coverage))?;
    }
    let pct = if total == 0 { 100.0 } else { covered as f64 * 100.0 / total as f64 };
    if results.iter().any(|r| r.failure.is_some()) && code == 0 {
        code = 1;
    }
    if let Some(min) = args.min_coverage
        && pct < min
    {
        eprintln!("sfn test: coverage {pct:.1}% is under --min-coverage {min}%");
        if code == 0 {
            code = 1;
        }
    }
    Ok(code)
}

/// Mock configuration files: the files given, and under directories every `*.json` (not `*.asl.json`,
/// not `*.expect.json`) with top-level `StateMachines` and `MockedResponses`.
fn find_mock_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(dir) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if p.is_dir() {
            if !name.starts_with('.') && name != "target" {
                find_mock_files(&p, out);
            }
        } else if name.ends_with(".json") && !name.ends_with(".asl.json") && !name.ends_with(".expect.json") {
            let is_mock = std::fs::read(&p)
                .ok()
                .and_then(|t| serde_json::from_slice::<Value>(&t).ok())
                .is_some_and(|v| v.get("StateMachines").is_some() && v.get("MockedResponses").is_some());
            if is_mock {
                out.push(p);
            }
        }
    }
}

/// Where a mock file's definitions may be: its directory, its parent, the paths given (directories).
fn search_dirs(file: &Path, roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = file.parent() {
        let d = if d.as_os_str().is_empty() { Path::new(".") } else { d };
        dirs.push(d.to_path_buf());
        if let Some(p) = d.parent() {
            dirs.push(if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() });
        }
    }
    dirs.extend(roots.iter().filter(|r| r.is_dir()).cloned());
    dirs
}

fn definitions_in(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".asl.json").map(str::to_owned)).collect()
}

fn read_expectations(file: &Path) -> Option<Value> {
    let stem = file.file_name()?.to_str()?.strip_suffix(".json")?;
    let p = file.with_file_name(format!("{stem}.expect.json"));
    let text = std::fs::read(&p).ok()?;
    match serde_json::from_slice(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("sfn test: {}: not JSON: {e}", p.display());
            None
        }
    }
}

async fn run_case(
    definition: &Path,
    machine: &StateMachine,
    name: &str,
    tc: sfn::mocks::TestCase,
    expect: &Value,
    unmocked: crate::mock::UnmockedArg,
) -> (sfn::engine::Outcome, Vec<Value>) {
    // Unmocked ECS tasks run on the simulator (virtual time, no process, no AWS call), with the task
    // definitions beside the definition when there are any.
    let ecs = sfn::ecs::EcsConfig {
        backend: sfn::ecs::Backend::Sim,
        task_definitions: crate::integrations::task_definitions_dir(None, definition),
        region: "us-east-1".to_owned(),
        ..sfn::ecs::EcsConfig::default()
    };
    let mut builder = sfn::engine::Engine::builder();
    match ecs.build().await {
        Ok(setup) => builder = builder.integration(Arc::new(setup.integration)),
        Err(e) => eprintln!("sfn test: the simulated ECS backend is unavailable: {e}"),
    }
    let engine =
        builder.mocks(Arc::new(tc)).unmocked(crate::mock::UnmockedArg::engine(Some(unmocked))).build();
    let prepared = match engine.prepare(machine.clone(), name) {
        Ok(p) => p,
        Err(e) => {
            let outcome = sfn::engine::Outcome {
                status: sfn::engine::ExecutionStatus::Failed,
                output: None,
                error: Some("sfn.CannotRun".into()),
                cause: Some(e.to_string()),
                stop_date: engine.clock().now(),
            };
            return (outcome, Vec::new());
        }
    };
    let input = expect.get("input").cloned().unwrap_or_else(|| json!({}));
    let req =
        sfn::engine::StartRequest { execution_name: "test".into(), input, role_arn: None, input_text: None };
    let (outcome, history) = engine.run(&prepared, req).await;
    let events = history.events().iter().map(sfn::engine::Event::to_json).collect();
    (outcome, events)
}

/// What is wrong with the outcome, if anything.
fn check(expect: &Value, outcome: &sfn::engine::Outcome, events: &[Value]) -> Option<String> {
    let want = expect.get("status").and_then(Value::as_str).unwrap_or("SUCCEEDED");
    let mut problems = Vec::new();
    if outcome.status.as_str() != want {
        let why = match (&outcome.error, &outcome.cause) {
            (Some(e), Some(c)) => format!(" ({e}: {})", c.chars().take(200).collect::<String>()),
            (Some(e), None) => format!(" ({e})"),
            _ => String::new(),
        };
        problems.push(format!("status {} ≠ expected {want}{why}", outcome.status.as_str()));
    }
    if let Some(o) = expect.get("output")
        && outcome.output.as_ref() != Some(o)
    {
        problems.push(format!("output {} ≠ expected {o}", outcome.output.clone().unwrap_or(Value::Null)));
    }
    for (key, got) in [("error", &outcome.error), ("cause", &outcome.cause)] {
        if let Some(w) = expect.get(key).and_then(Value::as_str)
            && got.as_deref() != Some(w)
        {
            problems.push(format!("{key} {got:?} ≠ expected {w:?}"));
        }
    }
    if let Some(Value::Array(want)) = expect.get("states") {
        let got: Vec<Value> = events
            .iter()
            .filter_map(|e| e.get("stateEnteredEventDetails").and_then(|d| d.get("name")).cloned())
            .collect();
        if &got != want {
            problems.push(format!("states {} ≠ expected {}", Value::Array(got), Value::Array(want.clone())));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// The details object of an event (`…EventDetails`).
fn details(e: &Value) -> Option<&serde_json::Map<String, Value>> {
    e.as_object()?.iter().find(|(k, _)| k.ends_with("EventDetails")).and_then(|(_, v)| v.as_object())
}

fn is_failure(e: &Value) -> bool {
    let t = e["type"].as_str().unwrap_or_default();
    !t.starts_with("Execution") && (t.ends_with("Failed") || t.ends_with("TimedOut"))
}

impl Coverage {
    /// Every item of a machine, none taken yet.
    fn for_machine(machine: &StateMachine) -> Coverage {
        let mut items = BTreeMap::new();
        let mut add = |kind, state: &str, what: String| {
            items.insert(Item { kind, state: state.to_owned(), what }, false);
        };
        for s in machine.states.every() {
            add("state", &s.name, String::new());
            if let Some(n) = &s.next {
                add("transition", &s.name, format!("Next → {n}"));
            }
            if s.end {
                add("transition", &s.name, "End".to_owned());
            }
            if let StateKind::Choice(c) = &s.kind {
                for r in &c.choices {
                    add("transition", &s.name, format!("Choice → {}", r.next));
                }
                if let Some(d) = &c.default {
                    add("transition", &s.name, format!("Default → {d}"));
                }
            }
            if let Some(r) = s.recovery() {
                for (i, rt) in r.retry.iter().enumerate() {
                    add("retry", &s.name, format!("Retry #{} [{}]", i + 1, rt.error_equals.join(", ")));
                }
                for (i, c) in r.catch.iter().enumerate() {
                    add(
                        "catch",
                        &s.name,
                        format!("Catch #{} [{}] → {}", i + 1, c.error_equals.join(", "), c.next),
                    );
                }
            }
        }
        Coverage { items }
    }

    fn take(&mut self, kind: &'static str, state: &str, what: String) {
        if let Some(v) = self.items.get_mut(&Item { kind, state: state.to_owned(), what }) {
            *v = true;
        }
    }

    /// Marks what one execution's history took. Each event belongs to the state its `previousEventId`
    /// chain last entered; a state entered right after another one exited is a transition; a failure
    /// followed by anything but the state's exit was retried (by the first retrier matching its error);
    /// a failure followed by the exit and a transition to a catcher's `Next` was caught. A Choice rule
    /// counts by its target (rules with one target are one edge of the graph).
    fn record(&mut self, machine: &StateMachine, events: &[Value]) {
        let every = machine.states.every();
        let by_name: BTreeMap<&str, &sfn::asl::State> = every.iter().map(|s| (s.name.as_str(), *s)).collect();
        let mut owner: BTreeMap<u64, String> = BTreeMap::new();
        let by_id: BTreeMap<u64, &Value> =
            events.iter().filter_map(|e| Some((e["id"].as_u64()?, e))).collect();
        let mut open: Vec<String> = Vec::new();
        let mut next_of: BTreeMap<u64, u64> = BTreeMap::new();
        for e in events {
            if let Some(id) = e["id"].as_u64() {
                next_of.entry(e["previousEventId"].as_u64().unwrap_or(0)).or_insert(id);
            }
        }
        for e in events {
            let (Some(id), prev) = (e["id"].as_u64(), e["previousEventId"].as_u64().unwrap_or(0)) else {
                continue;
            };
            let t = e["type"].as_str().unwrap_or_default();
            if t.ends_with("StateEntered") {
                let name = details(e).and_then(|d| d.get("name")).and_then(Value::as_str).unwrap_or_default();
                self.take("state", name, String::new());
                owner.insert(id, name.to_owned());
                if t.starts_with("Map") || t.starts_with("Parallel") {
                    open.push(name.to_owned());
                }
                if let (Some(p), Some(from)) = (by_id.get(&prev), owner.get(&prev))
                    && p["type"].as_str().is_some_and(|pt| pt.ends_with("StateExited"))
                {
                    let from = from.clone();
                    self.transition(by_name.get(from.as_str()).copied(), &from, name, prev, &by_id, &next_of);
                }
            } else {
                // A state's exit names it; a Map's or Parallel's own events (started, iterations,
                // succeeded, failed) belong to the innermost one entered and not yet exited; anything
                // else to what its previous event belongs to.
                let named = details(e).and_then(|d| d.get("name")).and_then(Value::as_str).map(str::to_owned);
                let is_exit = t.ends_with("StateExited");
                let o = if is_exit {
                    named.or_else(|| owner.get(&prev).cloned())
                } else if t.starts_with("Map") || t.starts_with("Parallel") {
                    open.last().cloned()
                } else {
                    owner.get(&prev).cloned()
                };
                let Some(o) = o else { continue };
                if is_exit {
                    if open.last() == Some(&o) {
                        open.pop();
                    }
                    let next = next_of.get(&id).and_then(|n| by_id.get(n));
                    let entered = next
                        .is_some_and(|n| n["type"].as_str().is_some_and(|nt| nt.ends_with("StateEntered")));
                    if by_name.get(o.as_str()).is_some_and(|s| s.end) && !entered {
                        self.take("transition", &o, "End".to_owned());
                    }
                }
                owner.insert(id, o);
            }
        }
        // Retries: a failure whose next event is not its state's exit.
        for e in events {
            let Some(id) = e["id"].as_u64() else { continue };
            if !is_failure(e) {
                continue;
            }
            let Some(state) = owner.get(&id).and_then(|n| by_name.get(n.as_str())) else { continue };
            let next = next_of.get(&id).and_then(|n| by_id.get(n));
            let exits = next.is_none_or(|n| {
                n["type"].as_str().is_some_and(|t| t.ends_with("StateExited") || t.starts_with("Execution"))
            });
            if exits {
                continue;
            }
            let error = details(e).and_then(|d| d.get("error")).and_then(Value::as_str).unwrap_or_default();
            let name = sfn::path::ErrorName::from(error);
            if let Some(r) = state.recovery()
                && let Some((i, rt)) =
                    r.retry.iter().enumerate().find(|(_, rt)| name.matches_any(&rt.error_equals))
            {
                self.take("retry", &state.name, format!("Retry #{} [{}]", i + 1, rt.error_equals.join(", ")));
            }
        }
    }

    fn transition(
        &mut self,
        from: Option<&sfn::asl::State>,
        from_name: &str,
        to: &str,
        exit: u64,
        by_id: &BTreeMap<u64, &Value>,
        next_of: &BTreeMap<u64, u64>,
    ) {
        let Some(s) = from else { return };
        // The failure right before the state's exit (`exit`), if it left on one: a Catch. Its error (none
        // for a Parallel's or Map's own failure event) picks the catcher.
        let failed = by_id
            .iter()
            .find(|(id, e)| next_of.get(id) == Some(&exit) && is_failure(e))
            .map(|(_, e)| details(e).and_then(|d| d.get("error")).and_then(Value::as_str).map(str::to_owned));
        if let (Some(error), Some(r)) = (&failed, s.recovery()) {
            let name = error.as_deref().map(sfn::path::ErrorName::from);
            let matches = |c: &&sfn::asl::Catcher| {
                c.next == to && name.as_ref().is_none_or(|n| n.matches_any(&c.error_equals))
            };
            if let Some((i, c)) = r.catch.iter().enumerate().find(|(_, c)| matches(c)) {
                self.take(
                    "catch",
                    from_name,
                    format!("Catch #{} [{}] → {}", i + 1, c.error_equals.join(", "), c.next),
                );
                return;
            }
        }
        if let StateKind::Choice(c) = &s.kind {
            if c.choices.iter().any(|r| r.next == to) {
                self.take("transition", from_name, format!("Choice → {to}"));
            } else if c.default.as_deref() == Some(to) {
                self.take("transition", from_name, format!("Default → {to}"));
            }
            return;
        }
        if s.next.as_deref() == Some(to) {
            self.take("transition", from_name, format!("Next → {to}"));
        }
    }

    fn counts(&self) -> (usize, usize) {
        (self.items.values().filter(|v| **v).count(), self.items.len())
    }
}

fn print_results(results: &[CaseResult]) {
    let w = results.iter().map(|r| r.machine.len() + r.case.len() + 1).max().unwrap_or(10).max(10);
    outln!("{:<w$}  {:<6}  detail", "test case", "result");
    for r in results {
        let name = format!("{}#{}", r.machine, r.case);
        match &r.failure {
            None => outln!("{name:<w$}  {:<6}", "pass"),
            Some(f) => outln!("{name:<w$}  {:<6}  {f}", "FAIL"),
        }
    }
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    outln!("{} passed, {failed} failed", results.len() - failed);
}

fn print_coverage(coverage: &BTreeMap<String, (StateMachine, Coverage)>) -> (usize, usize) {
    let (mut all_c, mut all_t) = (0, 0);
    outln!("");
    outln!("coverage");
    for (name, (_, cov)) in coverage {
        let (c, t) = cov.counts();
        all_c += c;
        all_t += t;
        for (kind, plural) in
            [("state", "states"), ("transition", "transitions"), ("retry", "retries"), ("catch", "catches")]
        {
            let of: Vec<(&Item, &bool)> = cov.items.iter().filter(|(i, _)| i.kind == kind).collect();
            if of.is_empty() {
                continue;
            }
            let taken = of.iter().filter(|(_, v)| **v).count();
            outln!("  {name}: {plural} {taken}/{}", of.len());
        }
        for (i, _) in cov.items.iter().filter(|(_, v)| !**v) {
            let what = if i.what.is_empty() { String::new() } else { format!(" {}", i.what) };
            outln!("    never taken: {} {}{what}", i.kind, i.state);
        }
    }
    let pct = if all_t == 0 { 100.0 } else { all_c as f64 * 100.0 / all_t as f64 };
    outln!("total: {all_c}/{all_t} ({pct:.1}%)");
    (all_c, all_t)
}

fn xml_escape(s: &str) -> String {
    sfn::graph::xml_text(s)
}

/// JUnit XML: one `<testsuite>` per state machine, one `<testcase>` per test case.
fn junit(results: &[CaseResult]) -> String {
    let mut by: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in results {
        by.entry(&r.machine).or_default().push(r);
    }
    let failures = results.iter().filter(|r| r.failure.is_some()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"sfn test\" tests=\"{}\" failures=\"{failures}\">\n",
        results.len()
    );
    for (m, rs) in by {
        let f = rs.iter().filter(|r| r.failure.is_some()).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\">\n",
            xml_escape(m),
            rs.len()
        ));
        for r in rs {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" time=\"{:.3}\"",
                xml_escape(m),
                xml_escape(&r.case),
                xml_escape(&r.file.display().to_string()),
                r.seconds
            ));
            match &r.failure {
                None => out.push_str("/>\n"),
                Some(f) => out.push_str(&format!(
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml_escape(f),
                    xml_escape(f)
                )),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The coverage page, offline (nothing fetched): per machine, its laid-out SVG graph with the states a case
/// entered green (`succeeded`) and the others white (`not-entered`), and the table of items.
fn html(coverage: &BTreeMap<String, (StateMachine, Coverage)>) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sfn test coverage</title>\n\
         <style>body{font-family:sans-serif} td,th{padding:2px 8px} .taken{background:#cfc} .never{background:#fcc}</style>\n\
         </head><body>\n<h1>sfn test coverage</h1>\n\
         <p>In each graph, green states were entered by some test case; white ones by none.</p>\n",
    );
    for (name, (machine, cov)) in coverage {
        let (c, t) = cov.counts();
        let taken: BTreeSet<&str> = cov
            .items
            .iter()
            .filter(|(i, v)| i.kind == "state" && **v)
            .map(|(i, _)| i.state.as_str())
            .collect();
        let graph =
            sfn::graph::svg(machine, &|s| taken.contains(s).then_some(sfn::graph::StateStatus::Succeeded));
        out.push_str(&format!("<h2>{} — {c}/{t}</h2>\n{graph}\n", xml_escape(name)));
        out.push_str("<table><tr><th>kind</th><th>state</th><th>item</th><th>taken</th></tr>\n");
        for (i, v) in &cov.items {
            out.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                if *v { "taken" } else { "never" },
                i.kind,
                xml_escape(&i.state),
                xml_escape(&i.what),
                if *v { "yes" } else { "never" }
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
