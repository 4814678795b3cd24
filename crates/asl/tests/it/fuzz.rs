//! Fuzz targets for loading and validation (`cargo xtask fuzz`; see `fuzz_runner.rs`): arbitrary bytes,
//! and real definitions (the conformance corpus, the seed and the invalid fixtures) mutated as JSON values
//! and as text.
//!
//! Properties, besides never panicking: `validate` says valid exactly when `parse` succeeds; every
//! diagnostic's JSON pointer names a member of the input (or a member missing from an object that
//! exists); the findings depend on the JSON value only, not on its formatting.

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Value, json};
use sfn_asl::{ValidateOptions, Validation, validate, validate_value};

#[path = "../../../path/tests/it/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz;

/// Every definition of the fixtures, as JSON values.
fn corpus() -> &'static [Value] {
    static CORPUS: OnceLock<Vec<Value>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let f = crate::fixtures();
        let mut out = Vec::new();
        for dir in ["conformance", "conformance-jsonata"] {
            for path in crate::json_files(&f.join(dir)) {
                let case: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                match &case["definition"] {
                    Value::String(s) => out.extend(serde_json::from_str::<Value>(s).ok()),
                    Value::Object(_) => out.push(case["definition"].clone()),
                    _ => {}
                }
            }
        }
        for dir in ["seed", "invalid"] {
            for path in crate::json_files(&f.join(dir)) {
                if path.to_string_lossy().ends_with(".asl.json") {
                    out.extend(serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()).ok());
                }
            }
        }
        assert!(out.len() > 500, "the corpus is missing: {} definitions", out.len());
        out
    })
}

/// One edit of a JSON value, applied at a node chosen by `at` (a walk from the root).
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the node.
    Replace(Value),
    /// Remove a member or item.
    Remove,
    /// Rename a member (a typo, a case change, or another field's name).
    Rename(String),
    /// Insert a member.
    Insert(String, Value),
    /// Copy another node of the same document over this one (a state's Next pointing elsewhere, a
    /// branch inside itself, …).
    CopyFrom(Vec<u16>),
}

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "Type",
            "Next",
            "End",
            "States",
            "StartAt",
            "Parameters",
            "Arguments",
            "Output",
            "Assign",
            "QueryLanguage",
            "InputPath",
            "OutputPath",
            "ResultPath",
            "ResultSelector",
            "Resource",
            "Retry",
            "Catch",
            "ErrorEquals",
            "Choices",
            "Default",
            "Branches",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "MaxConcurrency",
            "TimeoutSeconds",
            "HeartbeatSeconds",
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "Variable",
            "Condition",
            "And",
            "Or",
            "Not",
            "StringEquals",
            "NumericLessThan",
            "IsPresent",
            "Error",
            "Cause",
            "Comment",
            "Version",
            "ProcessorConfig",
            "ItemReader",
            "ResultWriter",
            "ToleratedFailurePercentage",
            "Label",
            "Credentials",
            "MaxAttempts",
            "BackoffRate",
            "IntervalSeconds",
            "JitterStrategy",
            "a.$",
            "Payload.$",
            "Next ",
            "type",
            "",
        ])
        .prop_map(str::to_owned),
        "[A-Za-z.$]{1,12}",
    ]
}

fn leaf_values() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e12f64..1e12).prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "Pass",
            "Task",
            "Choice",
            "Wait",
            "Succeed",
            "Fail",
            "Parallel",
            "Map",
            "JSONata",
            "JSONPath",
            "$",
            "$.a",
            "$$.Execution.Id",
            "$.a[0]",
            "$..a",
            "$[?(@.a > 1)]",
            "States.ALL",
            "States.Timeout",
            "States.Format('{}', $.a)",
            "States.ArrayRange(0, 3, 1)",
            "{% $states.input %}",
            "{% 1 + %}",
            "{% $x := 1 %}",
            "arn:aws:states:::ecs:runTask.sync",
            "arn:aws:states:::ecs:runTask.waitForTaskToken",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
            "2016-03-14T01:59:00Z",
            "INLINE",
            "DISTRIBUTED",
            "FULL",
            "",
            "A",
            "B",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn values() -> impl Strategy<Value = Value> {
    leaf_values().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((names(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => values().prop_map(Edit::Replace),
        3 => Just(Edit::Remove),
        2 => names().prop_map(Edit::Rename),
        2 => (names(), values()).prop_map(|(k, v)| Edit::Insert(k, v)),
        2 => prop::collection::vec(any::<u16>(), 0..8).prop_map(Edit::CopyFrom),
    ]
}

/// The node reached by walking `at` (each step picks a child by index modulo the number of children).
fn walk<'v>(root: &'v Value, at: &[u16]) -> &'v Value {
    let mut cur = root;
    for &i in at {
        let next = match cur {
            Value::Object(m) if !m.is_empty() => m.values().nth(usize::from(i) % m.len()),
            Value::Array(a) if !a.is_empty() => a.get(usize::from(i) % a.len()),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    cur
}

fn walk_mut<'v>(root: &'v mut Value, at: &[u16]) -> &'v mut Value {
    let Some((&i, rest)) = at.split_first() else { return root };
    let len = match &*root {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    if len == 0 {
        return root;
    }
    let k = usize::from(i) % len;
    // A container whose chosen child is a leaf is the node edited (so members can be removed or renamed).
    let child_is_container = match &*root {
        Value::Object(m) => m.values().nth(k).is_some_and(|c| c.is_object() || c.is_array()),
        Value::Array(a) => a[k].is_object() || a[k].is_array(),
        _ => false,
    };
    if !child_is_container || rest.is_empty() {
        return root;
    }
    match root {
        Value::Object(m) => walk_mut(m.values_mut().nth(k).expect("in range"), rest),
        Value::Array(a) => walk_mut(&mut a[k], rest),
        _ => unreachable!("containers only"),
    }
}

fn apply(doc: &mut Value, at: &[u16], pick: u16, edit: &Edit) {
    let copied = match edit {
        Edit::CopyFrom(from) => Some(walk(doc, from).clone()),
        _ => None,
    };
    let node = walk_mut(doc, at);
    let pick = usize::from(pick);
    match (node, edit) {
        (Value::Object(m), Edit::Remove) if !m.is_empty() => {
            let k = m.keys().nth(pick % m.len()).expect("in range").clone();
            m.shift_remove(&k);
        }
        (Value::Array(a), Edit::Remove) if !a.is_empty() => {
            a.remove(pick % a.len());
        }
        (Value::Object(m), Edit::Rename(name)) if !m.is_empty() => {
            let k = m.keys().nth(pick % m.len()).expect("in range").clone();
            if let Some(v) = m.shift_remove(&k) {
                m.insert(name.clone(), v);
            }
        }
        (Value::Object(m), Edit::Insert(k, v)) => {
            m.insert(k.clone(), v.clone());
        }
        (Value::Array(a), Edit::Insert(_, v)) => a.insert(pick % (a.len() + 1), v.clone()),
        (Value::Object(m), Edit::Replace(v)) if !m.is_empty() => {
            let k = m.keys().nth(pick % m.len()).expect("in range").clone();
            m.insert(k, v.clone());
        }
        (Value::Object(m), Edit::CopyFrom(_)) if !m.is_empty() => {
            let k = m.keys().nth(pick % m.len()).expect("in range").clone();
            m.insert(k, copied.unwrap_or_default());
        }
        (node, Edit::Replace(v)) => *node = v.clone(),
        (node, Edit::CopyFrom(_)) => *node = copied.unwrap_or_default(),
        _ => {}
    }
}

/// `(severity, code, pointer)` of every finding.
fn findings(v: &Validation) -> Vec<(String, String, String)> {
    v.diagnostics
        .iter()
        .map(|d| (d.severity.as_str().to_owned(), d.code.clone(), d.pointer.clone()))
        .collect()
}

/// Properties that hold for any input text.
fn check_text(text: &[u8]) {
    let v = validate(text, ValidateOptions::default());
    let parsed = sfn_asl::parse(text);
    assert_eq!(v.is_valid(), parsed.is_ok(), "validate and parse disagree");
    if let Ok(doc) = serde_json::from_slice::<Value>(text) {
        check_pointers(&doc, &v);
    }
}

/// Every pointer names a member of `doc`, or a member missing from an object of `doc` (`/` is the whole
/// definition, as in `sfn validate`'s output).
fn check_pointers(doc: &Value, v: &Validation) {
    for d in &v.diagnostics {
        if d.pointer.is_empty() || d.pointer == "/" || doc.pointer(&d.pointer).is_some() {
            continue;
        }
        let parent = d.pointer.rsplit_once('/').map_or("", |(p, _)| p);
        assert!(
            doc.pointer(parent).is_some_and(Value::is_object),
            "diagnostic {} at {} names nothing in the input ({})",
            d.code,
            d.pointer,
            d.message
        );
    }
}

/// Properties of a mutated definition.
fn check_value(doc: &Value) {
    let compact = serde_json::to_vec(doc).expect("serializable");
    let pretty = serde_json::to_vec_pretty(doc).expect("serializable");
    let a = validate(&compact, ValidateOptions::default());
    let b = validate(&pretty, ValidateOptions::default());
    let c = validate_value(doc, ValidateOptions::default());
    assert_eq!(findings(&a), findings(&b), "formatting changed the findings");
    assert_eq!(findings(&a), findings(&c), "validate and validate_value differ");
    assert_eq!(a.is_valid(), sfn_asl::parse(&compact).is_ok(), "validate and parse disagree");
    check_pointers(doc, &a);
}

#[test]
fn arbitrary_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        "\\PC{0,200}".prop_map(String::into_bytes),
        values().prop_map(|v| serde_json::to_vec(&v).expect("serializable")),
    ];
    fuzz("asl-bytes", bytes, 300, |b| check_text(b));
}

#[test]
fn mutated_definitions() {
    let n = corpus().len();
    let case = (
        0..n,
        prop::collection::vec((prop::collection::vec(any::<u16>(), 0..8), any::<u16>(), edit()), 1..4),
    );
    fuzz("asl-mutated", case, 300, |(i, edits)| {
        let mut doc = corpus()[*i].clone();
        for (at, pick, e) in edits {
            apply(&mut doc, at, *pick, e);
        }
        check_value(&doc);
    });
}

#[test]
fn mutated_definition_text() {
    let n = corpus().len();
    let byte_edit = (any::<u16>(), any::<u8>(), 0u8..3);
    fuzz("asl-text", (0..n, prop::collection::vec(byte_edit, 1..6)), 300, |(i, edits)| {
        let mut text = serde_json::to_vec_pretty(&corpus()[*i]).expect("serializable");
        for &(at, byte, op) in edits {
            let k = usize::from(at) % (text.len() + 1);
            match op {
                0 => text.insert(k, byte),
                1 if k < text.len() => {
                    text.remove(k);
                }
                _ if k < text.len() => text[k] = byte,
                _ => {}
            }
        }
        check_text(&text);
    });
}

/// Inputs the targets found.
#[test]
fn regressions() {
    // A member name with a backtick cut serde's unknown-field message short: the finding named `En` and
    // listed every expected field as empty.
    let text = br#"{"StartAt": "A", "States": {"A": {"Type": "Succeed", "En`d": true}}}"#;
    let v = validate(text, ValidateOptions::default());
    let d = &v.diagnostics[0];
    assert_eq!(
        (d.pointer.as_str(), d.message.as_str()),
        ("/States/A/En`d", "unknown field En`d, did you mean End?")
    );
    check_text(text);
    // Findings inside a legacy `Iterator` were located at `ItemProcessor`, which the input does not have.
    let text = br#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "Iterator": {"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let v = validate(text, ValidateOptions::default());
    assert!(v.diagnostics.iter().any(|d| d.pointer == "/States/M/Iterator/StartAt"), "{:?}", v.diagnostics);
    check_text(text);
    // A choice rule that cannot be read shifted the next ones: rule 1's missing target was located at 0.
    let text = br#"{"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "D",
        "Choices": ["x", {"Variable": "$.v", "BooleanEquals": false, "Next": "Nope"}]}, "D": {"Type": "Succeed"}}}"#;
    let v = validate(text, ValidateOptions::default());
    assert!(v.diagnostics.iter().any(|d| d.pointer == "/States/C/Choices/1/Next"), "{:?}", v.diagnostics);
    check_text(text);
    // serde's derived structs read an array as their fields in order: `"ProcessorConfig": ["JSONata"]` was read
    // as `Mode` and reported at `/ProcessorConfig/Mode`, which the input does not have (found by
    // `cargo xtask ci`'s random-seed fuzzing). Every nested object must be an object.
    let nested = [
        r#""ItemProcessor": {"ProcessorConfig": ["DISTRIBUTED", "STANDARD"],
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        r#""ItemProcessor": ["P"]"#,
        r#""Retry": [[["States.ALL"], 1]], "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
        r#""Catch": [[["States.ALL"], "M"]], "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    ];
    for fields in nested {
        let text =
            format!(r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", "End": true, {fields}}}}}}}"#);
        let v = validate(text.as_bytes(), ValidateOptions::default());
        assert!(!v.is_valid(), "{fields}");
        assert!(
            v.diagnostics.iter().any(|d| d.message.contains("expected an object")),
            "{fields}: {:?}",
            v.diagnostics
        );
        check_text(text.as_bytes());
    }
    let text =
        br#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [["A"]]}}}"#;
    let v = validate(text, ValidateOptions::default());
    assert!(v.diagnostics.iter().any(|d| d.pointer == "/States/P/Branches/0"), "{:?}", v.diagnostics);
    check_text(text);
}

/// Every definition of the corpus, unmutated: the same properties, and the valid ones stay valid.
#[test]
fn corpus_holds_the_properties() {
    for doc in corpus() {
        check_value(doc);
    }
}
