//! Every execution recorded against AWS (fixtures/conformance) gives AWS's result through the engine, and
//! the histories AWS recorded (`expect.history`, 193 JSONPath and 74 JSONata cases) are compared with the
//! engine's event by event (`history_diff`, `run.py --history`'s rules): the identical ones may not drop
//! below a floor. Runs on tokio's paused clock, so Retry back-off and Wait states take no real time.

use serde_json::Value;
use sfn_engine::{Engine, ExecutionStatus, StartRequest};

use crate::fixtures;
use crate::history_diff::history_diff;

fn json_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Removes the value at a JSON pointer (a masked value in the recording).
fn drop_pointer(doc: &mut Value, pointer: &str) {
    let parts: Vec<String> =
        pointer.split('/').skip(1).map(|p| sfn_asl::pointer::unescape(p).into_owned()).collect();
    let Some((last, path)) = parts.split_last() else { return };
    let mut cur = doc;
    for p in path {
        cur = match cur {
            Value::Object(m) => match m.get_mut(p) {
                Some(v) => v,
                None => return,
            },
            Value::Array(a) => match p.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match cur {
        Value::Object(m) => {
            m.remove(last);
        }
        Value::Array(a) => {
            if let Some(v) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *v = Value::Null;
            }
        }
        _ => {}
    }
}

/// JSON equality with numbers by value, as the recordings are compared.
fn same(a: &Value, b: &Value) -> bool {
    sfn_path::json_eq(a, b)
}

/// What one case gave: its outcome against AWS's, and (where AWS's history is recorded) the history
/// differences (empty: identical).
struct Checked {
    outcome: Result<(), String>,
    history: Option<Vec<String>>,
}

async fn check(case: &Value) -> Checked {
    let mut history = None;
    let outcome = run_case(case, &mut history).await;
    Checked { outcome, history }
}

/// The output's objects must list their members in AWS's order too.
async fn run_case(case: &Value, history_diffs: &mut Option<Vec<String>>) -> Result<(), String> {
    let def = serde_json::to_vec(&case["definition"]).unwrap();
    let machine = sfn_asl::parse(&def).map_err(|d| format!("invalid definition: {d:?}"))?;
    let engine = Engine::builder().build();
    let prepared = engine.prepare(machine, "conformance").map_err(|e| format!("prepare: {e:?}"))?;
    // The input as `run.py` gives it to `sfn run --input` (Python's `json.dumps`): AWS keeps a caller's text.
    let input_text = Some(crate::history_diff::python_dumps(&case["input"]));
    let req = StartRequest {
        execution_name: "case".into(),
        input: case["input"].clone(),
        role_arn: None,
        input_text,
    };
    let (outcome, history) = engine.run(&prepared, req).await;
    let expect = &case["expect"];
    if let Some(recorded) = crate::history_diff::recorded_history(case) {
        let events: Vec<Value> = history.events().iter().map(sfn_engine::Event::to_json).collect();
        *history_diffs = Some(history_diff(&recorded, &events));
    }
    let status = outcome.status.as_str();
    if status != expect["status"] {
        return Err(format!(
            "status {status} != {} (error={:?} cause={:?})",
            expect["status"],
            outcome.error,
            outcome.cause.as_deref().map(|c| c.chars().take(200).collect::<String>())
        ));
    }
    if outcome.status == ExecutionStatus::Succeeded {
        let mut want = expect["output"].clone();
        let mut have = outcome.output.unwrap_or(Value::Null);
        for p in case["ignore"].as_array().into_iter().flatten() {
            let p = p.as_str().unwrap_or_default();
            drop_pointer(&mut want, p);
            drop_pointer(&mut have, p);
        }
        if !same(&want, &have) {
            return Err(format!("output {have} != {want}"));
        }
        if let Some(d) = crate::history_diff::order_differs(&want, &have, "") {
            return Err(format!("output member order {d}"));
        }
    } else {
        if let Some(e) = expect.get("error")
            && outcome.error.as_deref() != e.as_str()
        {
            return Err(format!("error {:?} != {e}", outcome.error));
        }
        if let Some(c) = expect.get("cause")
            && outcome.cause.as_deref() != c.as_str()
        {
            return Err(format!("cause {:?} != {c}", outcome.cause));
        }
    }
    Ok(())
}

/// What a directory of cases gave.
struct DirReport {
    cases: usize,
    failures: Vec<String>,
    identical: usize,
    differ: Vec<String>,
}

#[allow(
    clippy::print_stdout,
    reason = "the report line `histories: N identical, N differ`, as run.py prints it"
)]
async fn run_dir(dir: &str) -> DirReport {
    let files = json_files(&fixtures().join(dir));
    let mut report = DirReport { cases: files.len(), failures: Vec::new(), identical: 0, differ: Vec::new() };
    for f in &files {
        let case: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        let id = case["id"].as_str().unwrap_or_default().to_owned();
        let checked = check(&case).await;
        if let Err(why) = checked.outcome {
            report.failures.push(format!("FAIL {id}: {why}"));
        }
        match checked.history {
            Some(d) if d.is_empty() => report.identical += 1,
            Some(d) => report
                .differ
                .push(format!("HDIFF {id}: {}", d.iter().take(3).cloned().collect::<Vec<_>>().join(" | "))),
            None => {}
        }
    }
    println!("{dir}: histories: {} identical, {} differ", report.identical, report.differ.len());
    for d in &report.differ {
        println!("  {d}");
    }
    report
}

/// Histories identical to AWS's recordings, at least (raise them as rules are fixed; never lower them).
const JSONPATH_HISTORIES_IDENTICAL: usize = 193;
const JSONATA_HISTORIES_IDENTICAL: usize = 74;

fn assert_report(r: &DirReport, cases: usize, histories: usize, floor: usize) {
    let n = r.cases;
    assert_eq!(n, cases);
    assert!(
        r.failures.is_empty(),
        "{} of {n} cases differ from AWS:\n{}",
        r.failures.len(),
        r.failures.join("\n")
    );
    assert_eq!(r.identical + r.differ.len(), histories, "cases with a recorded history");
    assert!(
        r.identical >= floor,
        "histories: {} identical, {} differ (floor {floor}):\n{}",
        r.identical,
        r.differ.len(),
        r.differ.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn every_recorded_jsonpath_execution_matches_aws() {
    // And the member order, in outputs and history payloads: AWS builds a template's `.$` fields and
    // `States.JsonMerge`'s result in a Java `HashMap` (sfn-path's `java_order`).
    let r = run_dir("conformance").await;
    assert_report(&r, 559, 193, JSONPATH_HISTORIES_IDENTICAL);
}

#[tokio::test(start_paused = true)]
async fn every_recorded_jsonata_execution_matches_aws() {
    // And the member order: AWS keeps JSONata's (insertion order: `$merge([{"hello": …}, {"foo": …}])` is
    // `{"hello":…,"foo":…}` in `evaluate_jsonata/test_base_evaluate_expressions__test_merge_with_dynamic_args`).
    let r = run_dir("conformance-jsonata").await;
    assert_report(&r, 74, 74, JSONATA_HISTORIES_IDENTICAL);
}
