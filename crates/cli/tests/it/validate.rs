//! `sfn validate`: AWS's verdicts, located diagnostics, ECS lints with task definitions.

use serde_json::Value;

use crate::{root, sfn, temp_file};

fn report(args: &[&str]) -> (i32, Value) {
    let o = sfn(args);
    (o.status.code().unwrap_or(-1), serde_json::from_slice(&o.stdout).unwrap_or(Value::Null))
}

#[test]
fn seed_definitions_are_valid() {
    let dir = root().join("fixtures/seed");
    for f in ["run-job.asl.json", "run-job.jsonata.asl.json", "callback.asl.json"] {
        let (code, v) = report(&["validate", dir.join(f).to_str().unwrap(), "--format", "json"]);
        assert_eq!(code, 0, "{f}: {v}");
        assert_eq!(v["valid"], true);
    }
}

#[test]
fn ecs_lints_use_the_task_definitions() {
    let def = temp_file(
        "lint.asl.json",
        r#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.waitForTaskToken",
           "Parameters":{"TaskDefinition":"nope","Cluster":"c","Overrides":{"ContainerOverrides":[{"Name":"a","Comand":["x"]}]}},"End":true}}}"#,
    );
    let tds = root().join("fixtures/seed/task-definitions");
    let (code, v) = report(&[
        "validate",
        def.to_str().unwrap(),
        "--task-definitions",
        tds.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let codes: Vec<(&str, &str)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["code"].as_str().unwrap(), d["pointer"].as_str().unwrap()))
        .collect();
    for want in [
        ("ECS_UNKNOWN_FIELD", "/States/Run/Parameters/Overrides/ContainerOverrides/0/Comand"),
        ("ECS_UNKNOWN_TASK_DEFINITION", "/States/Run/Parameters/TaskDefinition"),
        ("ECS_TOKEN_NOT_PASSED", "/States/Run/Parameters"),
        ("ECS_NO_TIMEOUT", "/States/Run"),
        ("ECS_NO_HEARTBEAT", "/States/Run"),
    ] {
        assert!(codes.contains(&want), "{want:?} missing in {codes:?}");
    }
}

#[test]
fn aws_rejects_unsupported_actions() {
    let def = temp_file(
        "q.asl.json",
        r#"{"StartAt":"Q","States":{"Q":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:query","End":true}}}"#,
    );
    let (code, v) = report(&["validate", def.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    assert_eq!(v["diagnostics"][0]["code"], "SCHEMA_VALIDATION_FAILED");
    assert_eq!(v["diagnostics"][0]["pointer"], "/States/Q/Resource");
}

#[test]
fn unreadable_files_exit_2() {
    let o = sfn(&["validate", "/nonexistent.json"]);
    assert_eq!(o.status.code(), Some(2));
    let dir = std::env::temp_dir();
    let o = sfn(&["validate", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
