//! Static rules: every problem reported at once, each located.

use sfn_asl::{Severity, ValidateOptions, codes, validate};

fn diags(def: &str) -> Vec<(String, String)> {
    validate(def.as_bytes(), ValidateOptions::default())
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.pointer))
        .collect()
}

#[test]
fn serde_errors_are_located_per_state() {
    let v = validate(
        br#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":"3"}],"End":true},
            "Other":{"Type":"Pass","Next":"Run","Bogus":1}}}"#,
        ValidateOptions::default(),
    );
    let errors: Vec<_> = v.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.iter().any(|d| d.pointer == "/States/Run/Retry/0/MaxAttempts"), "{errors:?}");
    assert!(errors.iter().any(|d| d.pointer == "/States/Other/Bogus"), "{errors:?}");
}

#[test]
fn transitions_and_reachability() {
    let d = diags(
        r#"{"StartAt":"A","States":{
            "A":{"Type":"Pass","Next":"Nowhere"},
            "B":{"Type":"Pass","End":true},
            "C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true,"Next":"Missing"}],"Default":"B"},
            "D":{"Type":"Pass"},
            "E":{"Type":"Fail","Next":"B"}}}"#,
    );
    assert!(d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/A/Next".into())), "{d:?}");
    assert!(
        d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/C/Choices/0/Next".into())),
        "{d:?}"
    );
    assert!(d.contains(&(codes::UNREACHABLE_STATE.into(), "/States/B".into())), "{d:?}");
    assert!(d.contains(&(codes::SCHEMA_VALIDATION_FAILED.into(), "/States/D".into())), "{d:?}");
    assert!(d.contains(&(codes::SCHEMA_VALIDATION_FAILED.into(), "/States/E/Next".into())), "{d:?}");
}

#[test]
fn nested_scopes_are_checked_on_their_own() {
    let d = diags(
        r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Outer"}}}]},
            "Outer":{"Type":"Succeed"}}}"#,
    );
    assert!(
        d.contains(&(codes::MISSING_TRANSITION_TARGET.into(), "/States/P/Branches/0/States/X/Next".into())),
        "{d:?}"
    );
}

#[test]
fn retry_rules_and_ranges() {
    let d = diags(
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","End":true,
            "Retry":[{"ErrorEquals":["States.ALL","X"],"MaxAttempts":-1,"BackoffRate":0.5},{"ErrorEquals":["Y"],"IntervalSeconds":0}],
            "Catch":[{"ErrorEquals":[],"Next":"T"}]}}}"#,
    );
    for p in [
        "/States/T/Retry/0/ErrorEquals",
        "/States/T/Retry/0/MaxAttempts",
        "/States/T/Retry/0/BackoffRate",
        "/States/T/Retry/1/IntervalSeconds",
        "/States/T/Catch/0/ErrorEquals",
    ] {
        assert!(d.iter().any(|(_, ptr)| ptr == p), "{p} missing in {d:?}");
    }
}

#[test]
fn fields_by_type_and_language() {
    let d = diags(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Seconds":3,"End":true}}}"#);
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A/Seconds".to_owned())]);
    let d = diags(
        r#"{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"$.x","End":true}}}"#,
    );
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A/InputPath".to_owned())]);
    // A JSONata-only field in a JSONPath state is reported at the state (floci-io/floci#2968, measured on AWS).
    let d = diags(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Output":{},"End":true}}}"#);
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/A".to_owned())]);
    // States inside a Map or Parallel inherit the machine's language, not the Map's (same source).
    let d = diags(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","QueryLanguage":"JSONata","ItemProcessor":{"StartAt":"P",
            "States":{"P":{"Type":"Pass","Output":"{% 1 %}","End":true}}},"End":true}}}"#,
    );
    assert_eq!(
        d,
        vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/M/ItemProcessor/States/P".to_owned())]
    );
    // A processor cannot declare a language at all (same source).
    let d = diags(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"QueryLanguage":"JSONata","StartAt":"P",
            "States":{"P":{"Type":"Pass","End":true}}},"End":true}}}"#,
    );
    assert_eq!(d, vec![(codes::SCHEMA_VALIDATION_FAILED.to_owned(), "/States/M/ItemProcessor".to_owned())]);
}

#[test]
fn paths_are_parsed_at_load_time() {
    let d = diags(
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","OutputPath":"$.[","End":true}}}"#,
    );
    assert!(d.iter().any(|(_, p)| p == "/States/A/ResultPath"), "{d:?}");
    assert!(d.iter().any(|(_, p)| p == "/States/A/OutputPath"), "{d:?}");
    let d = diags(
        r#"{"StartAt":"A","States":{"A":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":"1","Next":"A"},{"Variable":"$.x","StringEqualz":"1","Next":"A"}]}}}"#,
    );
    assert!(d.iter().any(|(_, p)| p == "/States/A/Choices/0/NumericEquals"), "{d:?}");
    assert!(d.iter().any(|(_, p)| p == "/States/A/Choices/1/StringEqualz"), "{d:?}");
}

#[test]
fn duplicate_state_names() {
    let d = diags(r#"{"StartAt":"A","States":{"A":{"Type":"Succeed"},"A":{"Type":"Succeed"}}}"#);
    assert!(d.contains(&(codes::DUPLICATE_STATE_NAME.into(), "/States/A".into())), "{d:?}");
}

#[test]
fn warnings_do_not_invalidate() {
    let v = validate(
        br#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"Value":"$.foo"},"End":true}}}"#,
        ValidateOptions::default(),
    );
    assert!(v.is_valid());
    assert_eq!(v.diagnostics[0].code, codes::NO_DOLLAR);
    assert_eq!(v.diagnostics[0].pointer, "/States/A/Parameters/Value");
}

/// AWS parses every JSONata expression at definition time (floci-io/floci#2745 quotes
/// `INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/Main/Output`); only a string that
/// starts with `{%` and ends with `%}` is an expression (conformance: outputdecl BASE_LITERALS).
#[test]
fn jsonata_expressions_are_parsed_at_load_time() {
    let d = diags(
        r#"{"QueryLanguage": "JSONata", "StartAt": "Main", "States": {"Main": {"Type": "Pass",
            "Output": {"v": "{% 1 + %}", "ok": "{% $states.input %}", "plain": " {% 1 + %} "}, "End": true}}}"#,
    );
    assert_eq!(d, vec![(codes::INVALID_JSONATA_EXPRESSION.to_owned(), "/States/Main/Output/v".to_owned())]);
    let d = diags(
        r#"{"QueryLanguage": "JSONata", "StartAt": "C", "States": {"C": {"Type": "Choice",
            "Choices": [{"Condition": "{% $states.input.a = %}", "Next": "E"}], "Default": "E"},
            "E": {"Type": "Succeed"}}}"#,
    );
    assert_eq!(
        d,
        vec![(codes::INVALID_JSONATA_EXPRESSION.to_owned(), "/States/C/Choices/0/Condition".to_owned())]
    );
}
