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
    let args =
        ["validate", def.to_str().unwrap(), "--task-definitions", tds.to_str().unwrap(), "--format", "json"];
    let (code, v) = report(&args);
    // Our lints are warnings: AWS accepts this definition (it checks parameters only when the task runs).
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"], true);
    assert!(v["diagnostics"].as_array().unwrap().iter().all(|d| d["severity"] == "warning"), "{v}");
    let (strict, _) = report(&[&args[..], &["--strict"]].concat());
    assert_eq!(strict, 1, "--strict fails on warnings");
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

/// The seed's machines copied where no task definitions are: valid, and no task-definition lint runs.
fn seed_copies() -> Vec<std::path::PathBuf> {
    let dir = root().join("fixtures/seed");
    ["run-job.asl.json", "run-job.jsonata.asl.json", "callback.asl.json"]
        .iter()
        .map(|f| temp_file(f, &std::fs::read_to_string(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn task_definitions_are_checked_only_when_given() {
    let defs = seed_copies();
    let paths: Vec<&str> = defs.iter().map(|p| p.to_str().unwrap()).collect();
    let o = sfn(&[&["validate"], &paths[..]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("ECS_UNKNOWN_TASK_DEFINITION"));

    // A folder that lacks the families: valid, a warning naming the families it has; --strict fails.
    let other = temp_file(
        "other.json",
        r#"{"family": "other-job", "containerDefinitions": [{"name": "main", "image": "x"}]}"#,
    );
    let dir = other.parent().unwrap().to_str().unwrap();
    let o = sfn(&[&["validate", "--task-definitions", dir], &paths[..]].concat());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out.matches("warning[ECS_UNKNOWN_TASK_DEFINITION]").count(), 3, "{out}");
    assert!(
        out.contains("family 'report-job' is not among the task definitions given (families: other-job)"),
        "{out}"
    );
    let o = sfn(&[&["validate", "--strict", "--task-definitions", dir], &paths[..]].concat());
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn unknown_revisions_and_containers_are_warnings_naming_the_known_ones() {
    let tds = root().join("fixtures/seed/task-definitions");
    let def = temp_file(
        "names.asl.json",
        r#"{"StartAt":"A","States":{
           "A":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","Next":"B",
                "Parameters":{"TaskDefinition":"report-job:7","Cluster":"c"}},
           "B":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","Next":"C",
                "Parameters":{"TaskDefinition":"report-job","Overrides":{"ContainerOverrides":[{"Name":"reporter"},{"Name":"report"}]}}},
           "C":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","Next":"D",
                "Parameters":{"TaskDefinition.$":"$.family"}},
           "D":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask","QueryLanguage":"JSONata","End":true,
                "Arguments":{"TaskDefinition":"{% $states.input.family %}","Overrides":{"ContainerOverrides":[{"Name":"{% 'x' %}"}]}}}}}"#,
    );
    let (code, v) = report(&[
        "validate",
        def.to_str().unwrap(),
        "--task-definitions",
        tds.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{v}");
    let found: Vec<(&str, &str, &str)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap(), d["pointer"].as_str().unwrap(), d["message"].as_str().unwrap())
        })
        .collect();
    let td: Vec<_> = found.iter().filter(|d| d.0.starts_with("ECS_UNKNOWN_")).collect();
    assert_eq!(
        td,
        [
            &(
                "ECS_UNKNOWN_TASK_DEFINITION",
                "/States/A/Parameters/TaskDefinition",
                "task definition 'report-job:7': family 'report-job' has no such revision among the task definitions given (revisions: 1)"
            ),
            &(
                "ECS_UNKNOWN_CONTAINER",
                "/States/B/Parameters/Overrides/ContainerOverrides/0/Name",
                "'reporter' is not a container of task definition report-job:1 (containers: report)"
            ),
        ],
        "a path, an intrinsic or a JSONata expression is never compared with the task definitions"
    );
}

#[test]
fn seed_mistakes_get_one_verdict_in_validate_and_run() {
    // `Comand`, a lower-case `cluster` and a path without `.$`: AWS accepts them at creation.
    let def = temp_file(
        "mistakes.asl.json",
        r#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","TimeoutSeconds":60,
           "Parameters":{"TaskDefinition":"job","cluster":"jobs","Overrides":{"ContainerOverrides":[
             {"Name":"app","Comand":["echo"],"Environment":[{"Name":"X","Value":"$.x"}]}]}},"End":true}}}"#,
    );
    let (code, v) = report(&["validate", def.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{v}");
    let codes: Vec<&str> =
        v["diagnostics"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "ECS_UNKNOWN_FIELD").count(), 2, "{v}");
    // sfn run starts it (the warnings on stderr) and the task fails when it runs, as on AWS.
    let o = sfn(&["run", def.to_str().unwrap(), "--ecs", "sim", "--format", "json"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning[ECS_UNKNOWN_FIELD]") && !err.contains(": error["), "{err}");
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], "FAILED", "{out}");
}
