//! Every execution recorded against AWS (fixtures/conformance) gives AWS's result through the engine.
//! Runs on tokio's paused clock, so Retry back-off and Wait states take no real time.

use serde_json::Value;
use sfn_engine::{Engine, ExecutionStatus, StartRequest};

use crate::fixtures;

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

async fn check(case: &Value) -> Result<(), String> {
    let def = serde_json::to_vec(&case["definition"]).unwrap();
    let machine = sfn_asl::parse(&def).map_err(|d| format!("invalid definition: {d:?}"))?;
    let engine = Engine::builder().build();
    let prepared = engine.prepare(machine, "conformance").map_err(|e| format!("prepare: {e:?}"))?;
    let req = StartRequest { execution_name: "case".into(), input: case["input"].clone(), role_arn: None };
    let (outcome, _history) = engine.run(&prepared, req).await;
    let expect = &case["expect"];
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

async fn run_dir(dir: &str) -> (usize, Vec<String>) {
    let files = json_files(&fixtures().join(dir));
    let mut failures = Vec::new();
    for f in &files {
        let case: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        if let Err(why) = check(&case).await {
            failures.push(format!("FAIL {}: {why}", case["id"].as_str().unwrap_or_default()));
        }
    }
    (files.len(), failures)
}

#[tokio::test(start_paused = true)]
async fn every_recorded_jsonpath_execution_matches_aws() {
    let (n, failures) = run_dir("conformance").await;
    assert_eq!(n, 559);
    assert!(failures.is_empty(), "{} of {n} cases differ from AWS:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test(start_paused = true)]
async fn every_recorded_jsonata_execution_matches_aws() {
    let (n, failures) = run_dir("conformance-jsonata").await;
    assert_eq!(n, 74);
    assert!(failures.is_empty(), "{} of {n} cases differ from AWS:\n{}", failures.len(), failures.join("\n"));
}
