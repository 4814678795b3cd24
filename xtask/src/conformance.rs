//! `cargo xtask conformance [DIR...]`: runs the AWS-recorded executions through the release `sfn run`
//! (the CLI contract) and prints `conformance: N passed, N failed` per group and in total, and beside it
//! `histories: N identical, N differ` over the cases with a recorded history (`expect.history`, compared
//! with `sfn run --history` event by event by the engine tests' `history_diff`, included here by path).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use serde_json::Value;

#[path = "../../crates/engine/tests/it/history_diff.rs"]
#[allow(clippy::unwrap_used, reason = "test code: splits of a mask known to hold its parts")]
mod history_diff;

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            json_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    Ok(())
}

/// Removes the value at a JSON pointer (a value masked in the recording).
fn drop_pointer(doc: &mut Value, pointer: &str) {
    let parts: Vec<String> =
        pointer.split('/').skip(1).map(|p| p.replace("~1", "/").replace("~0", "~")).collect();
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

/// JSON equality with numbers compared by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// What one case gave: `None` when its outcome is AWS's, else why not; and, where AWS's history is
/// recorded, whether sfn's is identical.
type Checked = (Option<String>, Option<bool>);

fn check(case: &Value, bin: &Path, tmp: &Path) -> Result<Checked> {
    let recorded = history_diff::recorded_history(case);
    let (outcome, got) = check_outcome(case, bin, tmp)?;
    let history = recorded.map(|r| {
        let events = got["history"].as_array().map(Vec::as_slice).unwrap_or_default();
        history_diff::history_diff(&r, events).is_empty()
    });
    Ok((outcome, history))
}

fn check_outcome(case: &Value, bin: &Path, tmp: &Path) -> Result<(Option<String>, Value)> {
    let id = case["id"].as_str().unwrap_or("case").replace('/', "_");
    let def = tmp.join(format!("{id}.asl.json"));
    let input = tmp.join(format!("{id}.input.json"));
    std::fs::write(&def, serde_json::to_vec(&case["definition"])?)?;
    // As `run.py` writes it (Python's `json.dumps`): AWS keeps a non-object input's text verbatim.
    std::fs::write(&input, history_diff::python_dumps(&case["input"]))?;
    let out = Command::new(bin)
        .arg("run")
        .arg(&def)
        .arg("--input")
        .arg(&input)
        .args(["--format", "json", "--history"])
        .current_dir(tmp)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let code = out.status.code().unwrap_or(-1);
    if code != 0 && code != 1 {
        return Ok((
            Some(format!("exit {code}: {}", String::from_utf8_lossy(&out.stderr).trim())),
            Value::Null,
        ));
    }
    let got: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            let why = format!("stdout is not one JSON object: {}", String::from_utf8_lossy(&out.stdout));
            return Ok((Some(why), Value::Null));
        }
    };
    let expect = &case["expect"];
    if got["status"] != expect["status"] {
        let why = format!(
            "status {} != {} (error={} cause={})",
            got["status"], expect["status"], got["error"], got["cause"]
        );
        return Ok((Some(why), got));
    }
    if expect["status"] == "SUCCEEDED" {
        let (mut want, mut have) = (expect["output"].clone(), got["output"].clone());
        for p in case["ignore"].as_array().into_iter().flatten() {
            drop_pointer(&mut want, p.as_str().unwrap_or_default());
            drop_pointer(&mut have, p.as_str().unwrap_or_default());
        }
        if !same(&want, &have) {
            return Ok((Some(format!("output {have} != {want}")), got));
        }
    } else {
        for key in ["error", "cause"] {
            if let Some(e) = expect.get(key)
                && got.get(key) != Some(e)
            {
                let why = format!("{key} {} != {e}", got.get(key).unwrap_or(&Value::Null));
                return Ok((Some(why), got));
            }
        }
    }
    Ok((None, got))
}

/// Runs the cases below `dirs` with `bin` on two threads; prints per-group and total counts.
pub(crate) fn run(dirs: &[PathBuf], bin: &Path) -> Result<()> {
    let mut files = Vec::new();
    for d in dirs {
        json_files(d, &mut files)?;
    }
    files.sort();
    if files.is_empty() {
        bail!("no cases found");
    }
    let bin = &std::fs::canonicalize(bin).with_context(|| format!("cannot find {}", bin.display()))?;
    let tmp = std::env::temp_dir().join(format!("sfn-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let results: Mutex<Vec<(String, Checked)>> = Mutex::new(Vec::new());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        *n += 1;
                        *n - 1
                    };
                    let Some(f) = files.get(i) else { break };
                    let outcome = std::fs::read(f)
                        .map_err(anyhow::Error::from)
                        .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(anyhow::Error::from))
                        .and_then(|case| {
                            let id = case["id"].as_str().unwrap_or_default().to_owned();
                            check(&case, bin, &tmp).map(|r| (id, r))
                        });
                    let entry = match outcome {
                        Ok(e) => e,
                        Err(e) => (f.display().to_string(), (Some(format!("{e:#}")), None)),
                    };
                    results.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&tmp);
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort();
    let mut groups: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let histories: Vec<bool> = results.iter().filter_map(|(_, (_, h))| *h).collect();
    let identical = histories.iter().filter(|&&h| h).count();
    let results: Vec<(String, Option<String>)> = results.into_iter().map(|(id, (r, _))| (id, r)).collect();
    for (id, r) in &results {
        let g = id.split('/').next().unwrap_or_default().to_owned();
        let e = groups.entry(g).or_default();
        if r.is_none() {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    for (g, (ok, bad)) in &groups {
        println!("conformance {g}: {ok} passed, {bad} failed");
    }
    for (id, r) in results.iter().filter(|(_, r)| r.is_some()).take(30) {
        println!("FAIL {id}: {}", r.as_deref().unwrap_or_default().chars().take(300).collect::<String>());
    }
    let failed = results.iter().filter(|(_, r)| r.is_some()).count();
    println!("conformance: {} passed, {failed} failed", results.len() - failed);
    println!("histories: {identical} identical, {} differ", histories.len() - identical);
    if failed > 0 {
        bail!("{failed} conformance cases failed");
    }
    Ok(())
}
