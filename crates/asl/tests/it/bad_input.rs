//! Hostile input gets a clear diagnostic, never a panic.

use proptest::prelude::*;
use sfn_asl::{ValidateOptions, codes, validate};

fn codes_of(text: &[u8]) -> Vec<String> {
    validate(text, ValidateOptions::default()).diagnostics.into_iter().map(|d| d.code).collect()
}

#[test]
fn not_json_not_object_empty() {
    assert_eq!(codes_of(b"not a definition"), [codes::INVALID_JSON_DESCRIPTION]);
    assert_eq!(codes_of(b""), [codes::MISSING_DESCRIPTION]);
    assert_eq!(codes_of(b"  "), [codes::SCHEMA_VALIDATION_FAILED]);
    assert_eq!(codes_of(b"[1, 2]"), [codes::SCHEMA_VALIDATION_FAILED]);
    assert_eq!(codes_of(b"\"text\""), [codes::SCHEMA_VALIDATION_FAILED]);
}

#[test]
fn huge_deep_and_odd_numbers() {
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    assert_eq!(codes_of(deep.as_bytes()), [codes::INVALID_JSON_DESCRIPTION]);
    let big = format!("{{\"Comment\": \"{}\"}}", "x".repeat(50 * 1024 * 1024));
    assert_eq!(codes_of(big.as_bytes()), [codes::SCHEMA_VALIDATION_FAILED]);
    let v = validate(
        br#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1e400,"End":true}}}"#,
        ValidateOptions::default(),
    );
    assert_eq!(v.diagnostics[0].code, codes::INVALID_JSON_DESCRIPTION);
    assert!(v.diagnostics[0].message.contains("number out of range"), "{:?}", v.diagnostics);
}

#[test]
fn non_utf8_bytes() {
    let mut text = br#"{"StartAt":"A","States":{"A":{"Type":"Pass","Comment":""#.to_vec();
    text.extend_from_slice(&[0xff, 0xfe]);
    text.extend_from_slice(br#"","End":true}}}"#);
    assert_eq!(codes_of(&text), [codes::INVALID_JSON_DESCRIPTION]);
}

#[test]
fn empty_state_name() {
    let v = validate(br#"{"StartAt":"","States":{"":{"Type":"Succeed"}}}"#, ValidateOptions::default());
    assert!(v.diagnostics.iter().any(|d| d.code == codes::INVALID_STATE_NAME && d.pointer == "/States/"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = validate(&bytes, ValidateOptions::default());
    }

    #[test]
    fn random_json_never_panics(v in arb_json()) {
        let _ = sfn_asl::validate_value(&v, ValidateOptions::default());
        // and the same value placed as a state, a template and a choice rule
        let wrapped = serde_json::json!({"StartAt": "A", "States": {"A": v.clone(), "B": {"Type": "Pass", "Parameters": v.clone(), "End": true}, "C": {"Type": "Choice", "Choices": [v]}}});
        let _ = sfn_asl::validate_value(&wrapped, ValidateOptions::default());
    }

    #[test]
    fn random_state_fields_never_panic(ty in prop::sample::select(vec!["Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map", "Nope"]),
                                       key in prop::sample::select(sfn_keys()), val in arb_json()) {
        let def = serde_json::json!({"StartAt": "A", "States": {"A": {"Type": ty, key: val, "End": true}}});
        let _ = sfn_asl::validate_value(&def, ValidateOptions::default());
    }
}

fn sfn_keys() -> Vec<&'static str> {
    vec![
        "Next",
        "InputPath",
        "OutputPath",
        "ResultPath",
        "Parameters",
        "ResultSelector",
        "Result",
        "Assign",
        "Output",
        "Resource",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "Retry",
        "Catch",
        "Choices",
        "Default",
        "Seconds",
        "SecondsPath",
        "Timestamp",
        "TimestampPath",
        "Error",
        "ErrorPath",
        "Cause",
        "CausePath",
        "Branches",
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "MaxConcurrency",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "Label",
        "QueryLanguage",
        "Arguments",
        "Credentials",
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        prop_oneof![
            "[$][.a-zA-Z0-9\\[\\]*?@()'\"=<> ,]{0,12}",
            "States\\.[A-Za-z]{0,10}\\([$.a-z0-9', ]{0,12}\\)?",
            "\\{% .{0,8} %\\}",
            ".{0,10}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(("[A-Za-z.$]{0,8}", inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
