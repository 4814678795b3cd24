//! `sfn run`: the CLI contract (one JSON object, exit codes), input handling, history, mocks.

use std::process::Command;

use serde_json::{Value, json};

use crate::{root, sfn, temp_file};

fn json_out(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn succeeded_prints_one_json_object_and_exits_0() {
    let def = root().join("fixtures/examples/orders.asl.json");
    let input = root().join("fixtures/examples/orders.input.json");
    let o = sfn(&["run", def.to_str().unwrap(), "--input", input.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(v["status"], "SUCCEEDED");
    assert_eq!(v["output"]["route"], "freight");
    assert!(v.get("history").is_none());
}

#[test]
fn failed_exits_1_with_error_and_cause() {
    let def = temp_file(
        "fail.asl.json",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Bad","Cause":"because"}}}"#,
    );
    let o = sfn(&["run", def.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json_out(&o), json!({"status": "FAILED", "error": "Bad", "cause": "because"}));
}

#[test]
fn history_is_included_on_request() {
    let def = temp_file("p.asl.json", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#);
    let o = sfn(&["run", def.to_str().unwrap(), "--history", "--format", "json"]);
    let v = json_out(&o);
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]);
}

#[test]
fn input_from_stdin() {
    use std::io::Write as _;
    let def = temp_file(
        "p.asl.json",
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}"#,
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["run", def.to_str().unwrap(), "--input", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"a": [1, 2]}"#).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(json_out(&o)["output"], json!([1, 2]));
}

#[test]
fn usage_errors_exit_2() {
    let def = temp_file("bad.asl.json", r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Nxt":"B"}}}"#);
    let o = sfn(&["run", def.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/States/A/Nxt"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let good = temp_file("p.asl.json", r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#);
    let bad_input = temp_file("in.json", "{not json");
    let o = sfn(&["run", good.to_str().unwrap(), "--input", bad_input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = sfn(&["run", "/nonexistent/def.json"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn mock_config_runs_tasks_without_services() {
    let def = temp_file(
        "orders.asl.json",
        r#"{"StartAt":"Charge","States":{"Charge":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
           "Parameters":{"FunctionName":"charge"},"Retry":[{"ErrorEquals":["Lambda.TooManyRequestsException"],"IntervalSeconds":1}],
           "OutputPath":"$.Payload","End":true}}}"#,
    );
    let mocks = temp_file(
        "MockConfigFile.json",
        r#"{"StateMachines":{"orders":{"TestCases":{"Throttled":{"Charge":"ThrottleThenOk"}}}},
            "MockedResponses":{"ThrottleThenOk":{"0":{"Throw":{"Error":"Lambda.TooManyRequestsException","Cause":"slow down"}},
                                                 "1":{"Return":{"StatusCode":200,"Payload":{"charged":true}}}}}}"#,
    );
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        "Throttled",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_out(&o)["output"], json!({"charged": true}));
    let o =
        sfn(&["run", def.to_str().unwrap(), "--mock-config", mocks.to_str().unwrap(), "--test-case", "Nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no test case 'Nope'"));
}

#[test]
fn seed_run_job_runs_a_real_process_to_completion() {
    let def = root().join("fixtures/seed/run-job.asl.json");
    let input = root().join("fixtures/seed/run-job.input.json");
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
        "--history",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(v["output"]["LastStatus"], "STOPPED");
    assert_eq!(v["output"]["Containers"][0]["ExitCode"], 0);
    assert_eq!(v["output"]["StartedBy"], "AWS Step Functions");
    let types: Vec<&str> =
        v["history"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let scheduled = &v["history"][2]["taskScheduledEventDetails"];
    assert_eq!(scheduled["resource"], "runTask.sync");
    let params: Value = serde_json::from_str(scheduled["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["Overrides"]["ContainerOverrides"][0]["Command"][0], "sh");
    assert_eq!(params["StartedBy"], "AWS Step Functions");
}

/// The seed page's JSONata form (`Arguments`, `$states.result`, `Assign`) on real processes.
#[test]
fn seed_run_job_in_jsonata_runs_a_real_process_to_completion() {
    let def = root().join("fixtures/seed/run-job.jsonata.asl.json");
    let input = root().join("fixtures/seed/run-job.input.json");
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--format",
        "json",
        "--history",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(v["output"]["report"], "ready");
    assert!(
        v["output"]["task"]
            .as_str()
            .is_some_and(|t| t.starts_with("arn:aws:ecs:us-east-1:123456789012:task/jobs/"))
    );
    let scheduled = &v["history"][2]["taskScheduledEventDetails"];
    let params: Value = serde_json::from_str(scheduled["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(params["Overrides"]["ContainerOverrides"][0]["Command"][0], "sh");
    assert_eq!(scheduled["timeoutInSeconds"], 600);
}

#[test]
fn seed_callback_container_calls_back_through_the_loopback_endpoint() {
    let def = root().join("fixtures/seed/callback.asl.json");
    let o = sfn(&["run", def.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json_out(&o), json!({"status": "SUCCEEDED", "output": {"worker": "done", "items": 3}}));
}

#[test]
fn sim_backend_runs_without_processes() {
    let def = root().join("fixtures/seed/run-job.asl.json");
    let cfg = temp_file(
        "sim.json",
        r#"{"families": {"report-job": {"runSeconds": 0.1, "exitCodes": {"report": 2}}}}"#,
    );
    let input = root().join("fixtures/seed/run-job.input.json");
    let o = sfn(&[
        "run",
        def.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--ecs",
        "sim",
        "--sim-config",
        cfg.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = json_out(&o);
    assert_eq!(v["error"], "States.TaskFailed");
    let task: Value = serde_json::from_str(v["cause"].as_str().unwrap()).unwrap();
    assert_eq!(task["Containers"][0]["ExitCode"], 2);
}

/// `--ecs aws` records the region of the AWS configuration (here a profile's, with no `AWS_REGION`) in
/// TaskScheduled. ECS itself is unreachable (port 1), so the task fails once the SDK's retries are spent.
#[test]
fn aws_backend_runs_in_the_region_of_the_aws_config() {
    let config = temp_file("config", "[default]\nregion = eu-west-3\n");
    let def = temp_file(
        "aws.asl.json",
        r#"{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::ecs:runTask",
           "Parameters":{"Cluster":"c","TaskDefinition":"td:1"},"End":true}}}"#,
    );
    let o = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["run", def.to_str().unwrap(), "--ecs", "aws", "--format", "json", "--history"])
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", config.with_file_name("no-credentials"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL_ECS", "http://127.0.0.1:1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let v = json_out(&o);
    assert_eq!(v["status"], "FAILED", "{v}");
    let scheduled = v["history"].as_array().unwrap().iter().find(|e| e["type"] == "TaskScheduled").unwrap();
    assert_eq!(scheduled["taskScheduledEventDetails"]["region"], "eu-west-3");
}

/// Issue 16's regex freeze, end to end: a JSONata machine whose `$match` pattern has a back-reference
/// (so it matches on the backtracking engine) and backtracks exponentially on a 30,000-character input
/// ends with `States.QueryEvaluationError`, its cause saying the pattern ran out of its budget.
#[test]
fn catastrophic_backreference_regex_fails_with_query_evaluation_error() {
    let def = temp_file(
        "regex.asl.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {"Type": "Pass",
            "Output": "{% $match($states.input.s, /(a+)+\\1$/) %}", "End": true}}}"#,
    );
    let input = temp_file("regex.input.json", &json!({"s": format!("{}!", "a".repeat(30_000))}).to_string());
    let o = sfn(&["run", def.to_str().unwrap(), "--input", input.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json_out(&o);
    assert_eq!(
        (v["status"].as_str(), v["error"].as_str()),
        (Some("FAILED"), Some("States.QueryEvaluationError"))
    );
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.contains("/(a+)+\\1$/ exceeded its backtracking budget"), "{cause}");
}
