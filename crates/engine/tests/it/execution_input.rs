//! `$$.Execution.Input` after the first state took the input (`Exec::take_input`): the value read back
//! is the input the execution started with, whatever it holds and however deep.

use serde_json::{Value, json};
use sfn_engine::{Engine, EventDetails, ExecutionStatus, StartRequest};

/// The machine: its first state replaces its input, its second reads the execution input back by path
/// and as a member of the context object (`$$.Execution`). In JSONata (`ata`), the second reads it
/// through `$states.context`.
fn machine(ata: bool) -> Value {
    let read = match ata {
        false => json!({"Type": "Pass", "Parameters": {
            "byPath.$": "$$.Execution.Input",
            "whole.$": "$$.Execution",
            "current.$": "$"
        }, "End": true}),
        true => json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {
            "byPath": "{% $states.context.Execution.Input %}",
            "whole": "{% $states.context.Execution %}",
            "current": "{% $states.input %}"
        }, "End": true}),
    };
    json!({"StartAt": "Replace", "States": {
        "Replace": {"Type": "Pass", "Result": {"replaced": true}, "Next": "Read"},
        "Read": read}})
}

/// Runs [`machine`]; its output and the `ExecutionStarted` text.
async fn read_back(input: Value, input_text: Option<&str>, ata: bool) -> (Value, String) {
    let engine = Engine::builder().build();
    let machine = sfn_asl::parse(&serde_json::to_vec(&machine(ata)).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    let req = StartRequest {
        execution_name: "e".into(),
        input,
        role_arn: None,
        input_text: input_text.map(str::to_owned),
    };
    let (outcome, history) = engine.run(&prepared, req).await;
    assert_eq!(outcome.status, ExecutionStatus::Succeeded, "{:?} {:?}", outcome.error, outcome.cause);
    let started = history
        .events()
        .into_iter()
        .find_map(|e| match e.details {
            EventDetails::ExecutionStarted { input, .. } => Some(input.as_str().to_owned()),
            _ => None,
        })
        .unwrap();
    (outcome.output.unwrap(), started)
}

/// What the `Read` state read.
fn assert_read_back(out: &Value, input: &Value) {
    assert_eq!(out["current"], json!({"replaced": true}));
    assert_eq!(&out["byPath"], input);
    assert_eq!(&out["whole"]["Input"], input);
}

#[tokio::test(start_paused = true)]
async fn an_object_input_reads_back_as_it_started_numbers_and_strings_included() {
    let input = json!({
        "ints": [0, -1, 9_007_199_254_740_993_u64, u64::MAX, i64::MIN],
        "floats": [1.0, -0.0, 0.1, 1e300, 2.5e-308, 123_456.789],
        "strings": ["", "quote \" backslash \\ slash /", "tab\t newline\n nul\u{0} bell\u{7}", "é ü 日本 🎉"],
        "nested": {"b": {"z": 1, "a": 2}, "a": [[], {}, null, true, false]},
        "order": {"zeta": 1, "alpha": 2, "mid": 3}
    });
    let (out, started) = read_back(input.clone(), None, false).await;
    assert_read_back(&out, &input);
    // The members keep the input's order.
    let keys: Vec<&String> = out["byPath"]["order"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["zeta", "alpha", "mid"]);
    assert_eq!(started, serde_json::to_string(&input).unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_deep_object_input_reads_back_whole() {
    // Deeper than `serde_json` parses (128 levels): the first state gets a copy, not the value itself.
    let mut input = json!({"leaf": 1});
    for i in 0..200 {
        input = json!({ format!("level{i}"): input });
    }
    let (out, _) = read_back(input.clone(), None, false).await;
    assert_read_back(&out, &input);
}

#[tokio::test(start_paused = true)]
async fn a_non_object_input_keeps_the_callers_text_and_reads_back_as_its_value() {
    let input = json!([1, 2.5, "x"]);
    let (out, started) = read_back(input.clone(), Some("[1,  2.50, \"x\"]"), false).await;
    assert_read_back(&out, &input);
    assert_eq!(started, "[1,  2.50, \"x\"]");
}

/// (JSONata's values are its own: doubles, and an object's members in its order; this input is the same
/// in both.)
#[tokio::test(start_paused = true)]
async fn jsonata_reads_the_execution_input_back_after_the_first_state_took_it() {
    let input = json!({"a": [1, 2.5, "x"], "b": {"c": null, "d": true}});
    let (out, _) = read_back(input.clone(), None, true).await;
    assert_read_back(&out, &input);
}
