//! `cargo xtask conformance [DIR...]`: runs the AWS-recorded executions through the release `sfn run`
//! (the CLI contract) and prints `conformance: N passed, N failed` per group and in total.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use serde_json::Value;

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

fn check(case: &Value, bin: &Path, tmp: &Path) -> Result<Option<String>> {
    let id = case["id"].as_str().unwrap_or("case").replace('/', "_");
    let def = tmp.join(format!("{id}.asl.json"));
    let input = tmp.join(format!("{id}.input.json"));
    std::fs::write(&def, serde_json::to_vec(&case["definition"])?)?;
    std::fs::write(&input, serde_json::to_vec(&case["input"])?)?;
    let out = Command::new(bin)
        .arg("run")
        .arg(&def)
        .arg("--input")
        .arg(&input)
        .args(["--format", "json"])
        .current_dir(tmp)
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let code = out.status.code().unwrap_or(-1);
    if code != 0 && code != 1 {
        return Ok(Some(format!("exit {code}: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    let got: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            return Ok(Some(format!(
                "stdout is not one JSON object: {}",
                String::from_utf8_lossy(&out.stdout)
            )));
        }
    };
    let expect = &case["expect"];
    if got["status"] != expect["status"] {
        return Ok(Some(format!(
            "status {} != {} (error={} cause={})",
            got["status"], expect["status"], got["error"], got["cause"]
        )));
    }
    if expect["status"] == "SUCCEEDED" {
        let (mut want, mut have) = (expect["output"].clone(), got["output"].clone());
        for p in case["ignore"].as_array().into_iter().flatten() {
            drop_pointer(&mut want, p.as_str().unwrap_or_default());
            drop_pointer(&mut have, p.as_str().unwrap_or_default());
        }
        if !same(&want, &have) {
            return Ok(Some(format!("output {have} != {want}")));
        }
    } else {
        for key in ["error", "cause"] {
            if let Some(e) = expect.get(key)
                && got.get(key) != Some(e)
            {
                return Ok(Some(format!("{key} {} != {e}", got.get(key).unwrap_or(&Value::Null))));
            }
        }
    }
    Ok(None)
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
    let results: Mutex<Vec<(String, Option<String>)>> = Mutex::new(Vec::new());
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
                        Err(e) => (f.display().to_string(), Some(format!("{e:#}"))),
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
    if failed > 0 {
        bail!("{failed} conformance cases failed");
    }
    Ok(())
}
