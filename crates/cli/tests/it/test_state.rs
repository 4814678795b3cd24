//! `sfn test-state` as the TestState API on the command line (AWS CLI option names): the README's
//! JSONata seed, `--mock`, `--context`, `--state-configuration`, `--inspection-level`, and unmocked
//! `.sync` run for real as a local extension.

use serde_json::{Value, json};

use crate::{root, sfn, temp_file};

fn json_out(args: &[&str]) -> (Option<i32>, Value, String) {
    let o = sfn(args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code(), serde_json::from_slice(&o.stdout).unwrap_or(Value::Null), stderr)
}

/// issue 17: the README's JSONata seed failed under TestState with `States.QueryEvaluationError` on its
/// `Assign`; it runs as `sfn run` runs it (here `.sync` for real on the simulator, a local extension:
/// the API refuses an unmocked `.sync`).
#[test]
fn the_jsonata_seed_runs_under_test_state() {
    let seed = root().join("fixtures/seed/run-job.jsonata.asl.json");
    let input = root().join("fixtures/seed/run-job.input.json");
    let tds = root().join("fixtures/seed/task-definitions");
    let (code, v, stderr) = json_out(&[
        "test-state",
        seed.to_str().unwrap(),
        "--state-name",
        "Run an ECS Task and wait for it to complete",
        "--input",
        input.to_str().unwrap(),
        "--ecs",
        "sim",
        "--task-definitions",
        tds.to_str().unwrap(),
        "--inspection-level",
        "DEBUG",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    assert_eq!(v["output"]["status"], "STOPPED", "{v}");
    assert_eq!(v["output"]["exitCode"], 0, "{v}");
    assert_eq!(v["nextState"], "Report");
    assert!(v["inspectionData"]["variables"]["taskArn"].as_str().unwrap().contains(":task/"), "{v}");
    let args = &v["inspectionData"]["afterArguments"];
    assert_eq!(args["Overrides"]["ContainerOverrides"][0]["Command"][0], "sh", "{v}");

    // The JSONata Pass after it, with the variable it reads.
    let vars = temp_file("vars.json", r#"{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/jobs/abc"}"#);
    let input = temp_file("in.json", r#"{"exitCode": 0}"#);
    let (code, v, stderr) = json_out(&[
        "test-state",
        seed.to_str().unwrap(),
        "--state",
        "Report",
        "--input",
        input.to_str().unwrap(),
        "--variables",
        vars.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        v["output"],
        json!({"report": "ready", "task": "arn:aws:ecs:us-east-1:123456789012:task/jobs/abc"})
    );
}

const TASK: &str = r#"{"StartAt":"Run","States":{
  "Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask.sync","Parameters":{"TaskDefinition":"job","Cluster.$":"$$.Execution.Name"},
    "Retry":[{"ErrorEquals":["States.TaskFailed"],"MaxAttempts":1}],
    "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Handle"}],"Next":"Done"},
  "Handle":{"Type":"Succeed"},"Done":{"Type":"Succeed"}}}"#;

/// `--mock` (the AWS CLI's JSON), `--state-configuration` and `--context`: a mocked Task needs no
/// integration nor task definitions; the error is RETRIABLE, then CAUGHT_ERROR once the retrier is spent.
#[test]
fn mock_context_and_state_configuration() {
    let def = temp_file("task.asl.json", TASK);
    let run = |extra: &[&str]| {
        let mut args = vec!["test-state", def.to_str().unwrap(), "--state-name", "Run", "--format", "json"];
        args.extend_from_slice(extra);
        json_out(&args)
    };
    let error = r#"{"errorOutput": {"error": "States.TaskFailed", "cause": "exit 1"}}"#;
    let (code, v, stderr) = run(&["--mock", error, "--inspection-level", "DEBUG"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        (v["status"].as_str(), v["error"].as_str()),
        (Some("RETRIABLE"), Some("States.TaskFailed")),
        "{v}"
    );
    assert_eq!(v["inspectionData"]["errorDetails"]["retryIndex"], 0);
    let (code, v, _) = run(&["--mock", error, "--state-configuration", r#"{"retrierRetryCount": 1}"#]);
    assert_eq!(
        (code, v["status"].as_str(), v["nextState"].as_str()),
        (Some(0), Some("CAUGHT_ERROR"), Some("Handle")),
        "{v}"
    );
    assert_eq!(v["output"]["error"], json!({"Error": "States.TaskFailed", "Cause": "exit 1"}));

    let mock = temp_file("mock.json", r#"{"result": "{\"LastStatus\": \"STOPPED\"}"}"#);
    let file = format!("file://{}", mock.display());
    let (code, v, stderr) = run(&[
        "--mock",
        &file,
        "--context",
        r#"{"Execution": {"Name": "given"}}"#,
        "--inspection-level",
        "DEBUG",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(v["output"], json!({"LastStatus": "STOPPED"}));
    assert_eq!(v["inspectionData"]["afterParameters"]["Cluster"], "given", "{v}");

    let (code, _, stderr) = run(&["--mock", r#"{"result": "1", "errorOutput": {"error": "E"}}"#]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("only one of the following fields: [result, errorOutput]"), "{stderr}");
}
