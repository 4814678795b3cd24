//! `states:startExecution` in `sfn run` with `--machine NAME=FILE` children (shapes: AWS's "Start a new
//! AWS Step Functions state machine execution" page and LocalStack's recorded `test_start_execution*`).

use serde_json::{Value, json};

use crate::{sfn, temp_file};

const CHILD_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

fn parent(resource: &str) -> String {
    json!({"StartAt": "Nested", "States": {"Nested": {
        "Type": "Task", "Resource": resource,
        "Parameters": {"StateMachineArn": CHILD_ARN, "Name": "kid",
            "Input": {"n.$": "$.n", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
        "End": true}}})
    .to_string()
}

const DOUBLER: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)","by.$":"$.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"},"End":true}}}"#;
const FAILER: &str =
    r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"Child.Broke","Cause":"no luck"}}}"#;

fn run(resource: &str, child: Option<&str>) -> (i32, Value) {
    run_with(resource, child, &[])
}

/// [`run`] with more arguments (e.g. `--machine-type child=EXPRESS`).
fn run_with(resource: &str, child: Option<&str>, extra: &[&str]) -> (i32, Value) {
    let p = temp_file("parent.asl.json", &parent(resource));
    let mut args =
        vec!["run".to_owned(), p.to_str().unwrap().to_owned(), "--input".into(), r#"{"n":21}"#.into()];
    args.extend(["--format".into(), "json".into(), "--name".into(), "mum".into()]);
    if let Some(c) = child {
        let c = temp_file("child.asl.json", c);
        args.extend(["--machine".into(), format!("child={}", c.display())]);
    }
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sfn(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

#[test]
fn sync2_child_output_is_json_in_the_parent() {
    let (code, v) = run("arn:aws:states:::states:startExecution.sync:2", Some(DOUBLER));
    assert_eq!(code, 0, "{v}");
    let out = &v["output"];
    assert_eq!(out["Status"], "SUCCEEDED");
    assert_eq!(
        out["Output"],
        json!({"doubled": 42, "by": "arn:aws:states:us-east-1:123456789012:execution:parent:mum"})
    );
    assert_eq!(out["Input"]["n"], 21);
    assert_eq!(out["ExecutionArn"], "arn:aws:states:us-east-1:123456789012:execution:child:kid");
    assert_eq!(out["StateMachineArn"], CHILD_ARN);
    assert_eq!(out["Name"], "kid");
    assert!(out["StartDate"].as_i64().unwrap() <= out["StopDate"].as_i64().unwrap());
}

#[test]
fn sync_child_output_is_a_json_string() {
    let (code, v) = run("arn:aws:states:::states:startExecution.sync", Some(DOUBLER));
    assert_eq!(code, 0, "{v}");
    let text = v["output"]["Output"].as_str().expect("Output is a string");
    assert_eq!(serde_json::from_str::<Value>(text).unwrap()["doubled"], 42);
    assert!(v["output"]["Input"].is_string());
}

#[test]
fn request_response_answers_the_start() {
    let (code, v) = run("arn:aws:states:::states:startExecution", Some(DOUBLER));
    assert_eq!(code, 0, "{v}");
    let keys: Vec<&String> = v["output"].as_object().unwrap().keys().collect();
    // The StartExecution response with the SDK's HTTP metadata, as AWS's `.sync` records the same call
    // (`../shared/recorded/callback.history.json`, `test_start_execution_sync`'s TaskSubmitted).
    assert_eq!(keys, ["ExecutionArn", "SdkHttpMetadata", "SdkResponseMetadata", "StartDate"]);
    assert_eq!(v["output"]["SdkHttpMetadata"]["HttpStatusCode"], 200);
    assert!(v["output"]["StartDate"].is_i64());
}

#[test]
fn failed_child_fails_the_task_with_its_description() {
    let (code, v) = run("arn:aws:states:::states:startExecution.sync:2", Some(FAILER));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(v["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Child.Broke");
    assert_eq!(cause["Cause"], "no luck");
}

#[test]
fn unknown_machine_is_state_machine_does_not_exist() {
    let (code, v) = run("arn:aws:states:::states:startExecution.sync", None);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"], "StepFunctions.StateMachineDoesNotExistException");
    let cause = v["cause"].as_str().unwrap();
    assert!(cause.starts_with(&format!("State Machine Does Not Exist: '{CHILD_ARN}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;")), "{cause}");
}

#[test]
fn bad_machine_flag_is_a_usage_error() {
    let p = temp_file("parent.asl.json", &parent("arn:aws:states:::states:startExecution"));
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", "no-equals-sign"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not NAME=FILE"));
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", "child=/nonexistent/child.asl.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/child.asl.json"));
}

#[test]
fn validate_accepts_every_pattern() {
    for suffix in ["", ".sync", ".sync:2", ".waitForTaskToken"] {
        let p =
            temp_file("parent.asl.json", &parent(&format!("arn:aws:states:::states:startExecution{suffix}")));
        let out = sfn(&["validate", "--strict", p.to_str().unwrap()]);
        assert!(out.status.success(), "{suffix}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn policy_grants_the_child_machine() {
    let p = temp_file("parent.asl.json", &parent("arn:aws:states:::states:startExecution.sync:2"));
    let out = sfn(&["policy", p.to_str().unwrap(), "--region", "us-east-1", "--account", "123456789012"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    let grants = |action: &str| -> Vec<Value> {
        statements
            .iter()
            .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
            .map(|s| s["Resource"].clone())
            .collect()
    };
    assert_eq!(grants("states:StartExecution"), [json!([CHILD_ARN])]);
    assert_eq!(
        grants("states:StopExecution"),
        [json!(["arn:aws:states:us-east-1:123456789012:execution:child:*"])]
    );
}

/// An EXPRESS child (`--machine-type child=EXPRESS`) reports its own `$$.Execution.Id`.
const EXPRESS_ECHO: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"doubled.$":"States.MathAdd($.n, $.n)","id.$":"$$.Execution.Id"},"End":true}}}"#;

/// `arn:aws:states:us-east-1:123456789012:express:child:kid:UUID`, the ARN AWS gives an EXPRESS
/// execution (API reference, StartExecution: "executionArn" of an Express workflow).
fn assert_express_arn(arn: &str) {
    let prefix = "arn:aws:states:us-east-1:123456789012:express:child:kid:";
    let id = arn.strip_prefix(prefix).unwrap_or_else(|| panic!("{arn} is not {prefix}UUID"));
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{arn}: '{id}' is not a UUID");
}

#[test]
fn express_child_sync2_output_is_json_under_an_express_arn() {
    let (code, v) = run_with(
        "arn:aws:states:::states:startExecution.sync:2",
        Some(EXPRESS_ECHO),
        &["--machine-type", "child=EXPRESS"],
    );
    assert_eq!(code, 0, "{v}");
    let out = &v["output"];
    assert_eq!(out["Status"], "SUCCEEDED");
    let arn = out["ExecutionArn"].as_str().unwrap();
    assert_express_arn(arn);
    // The child ran under that ARN: its context object's Execution.Id is it.
    assert_eq!(out["Output"], json!({"doubled": 42, "id": arn}));
    assert_eq!(out["Input"]["n"], 21);
    assert_eq!(out["StateMachineArn"], CHILD_ARN);
    assert_eq!(out["Name"], "kid");
    assert!(out["StartDate"].as_i64().unwrap() <= out["StopDate"].as_i64().unwrap());
}

#[test]
fn express_child_sync_output_is_a_json_string() {
    let (code, v) = run_with(
        "arn:aws:states:::states:startExecution.sync",
        Some(EXPRESS_ECHO),
        &["--machine-type", "child=EXPRESS"],
    );
    assert_eq!(code, 0, "{v}");
    assert_express_arn(v["output"]["ExecutionArn"].as_str().unwrap());
    let text = v["output"]["Output"].as_str().expect("Output is a string");
    assert_eq!(serde_json::from_str::<Value>(text).unwrap()["doubled"], 42);
    assert!(v["output"]["Input"].is_string());
}

#[test]
fn failed_express_child_fails_the_task_with_its_description() {
    let (code, v) = run_with(
        "arn:aws:states:::states:startExecution.sync:2",
        Some(FAILER),
        &["--machine-type", "child=EXPRESS"],
    );
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["error"], "States.TaskFailed");
    let cause: Value = serde_json::from_str(v["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Status"], "FAILED");
    assert_eq!(cause["Error"], "Child.Broke");
    assert_express_arn(cause["ExecutionArn"].as_str().unwrap());
}

#[test]
fn express_child_request_response_answers_its_express_arn() {
    let (code, v) = run_with(
        "arn:aws:states:::states:startExecution",
        Some(EXPRESS_ECHO),
        &["--machine-type", "child=EXPRESS"],
    );
    assert_eq!(code, 0, "{v}");
    assert_express_arn(v["output"]["ExecutionArn"].as_str().unwrap());
}

/// AWS refuses `.sync` and `.waitForTaskToken` in an EXPRESS machine (LocalStack's recorded
/// `test_sfn_api_express::test_illegal_callbacks`); the same child as STANDARD is accepted.
#[test]
fn express_child_with_a_sync_task_is_refused_at_validation() {
    let nested_sync = parent("arn:aws:states:::states:startExecution.sync");
    let p = temp_file("parent.asl.json", &parent("arn:aws:states:::states:startExecution.sync"));
    let c = temp_file("child.asl.json", &nested_sync);
    let machine = format!("child={}", c.display());
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", &machine, "--machine-type", "child=EXPRESS"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Express state machine does not support '.sync' service integration")
            && stderr.contains("/States/Nested/Resource"),
        "{stderr}"
    );
    // STANDARD (the default, or said) accepts it: the run starts (and fails only at the grandchild).
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", &machine, "--machine-type", "child=STANDARD"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Express state machine"), "{stderr}");
    assert_ne!(out.status.code(), Some(2), "{stderr}");
}

#[test]
fn bad_machine_type_flag_is_a_usage_error() {
    let p = temp_file("parent.asl.json", &parent("arn:aws:states:::states:startExecution"));
    let c = temp_file("child.asl.json", DOUBLER);
    let machine = format!("child={}", c.display());
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", &machine, "--machine-type", "child=FAST"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'FAST' is not a state machine type"));
    let out = sfn(&["run", p.to_str().unwrap(), "--machine", &machine, "--machine-type", "other=EXPRESS"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no --machine is named 'other'"), "{stderr}");
}
