//! Running with mocks and snapshotting the execution (outcome + history), stable across runs.

use serde_json::json;
use sfn::prelude::*;

fn mocks() -> MockConfig {
    MockConfig::from_json(&json!({
        "StateMachines": {"nightly": {"TestCases": {
            "retry-then-ok": {"Run job": "FlakyThenStopped"},
            "fails": {"Run job": "AlwaysFails"}}}},
        "MockedResponses": {
            "FlakyThenStopped": {
                "0": {"Throw": {"Error": "ECS.AmazonECSException", "Cause": "Rate exceeded"}},
                "1": {"Return": {"LastStatus": "STOPPED", "Containers": [{"Name": "app", "ExitCode": 0}], "TaskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc"}}},
            "AlwaysFails": {"0-5": {"Throw": {"Error": "States.TaskFailed", "Cause": "{\"StopCode\":\"EssentialContainerExited\"}"}}}}
    }))
    .unwrap()
}

fn machine() -> Sfn {
    Sfn::from_value(&json!({"StartAt": "Run job", "States": {"Run job": {"Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": "jobs", "TaskDefinition": "report", "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.commands"}]}},
        "Retry": [{"ErrorEquals": ["ECS.AmazonECSException"], "IntervalSeconds": 30, "MaxAttempts": 2}],
        "ResultSelector": {"exit.$": "$.Containers[0].ExitCode", "id.$": "States.UUID()"}, "End": true}}}))
    .unwrap()
    .name("nightly")
}

#[test]
fn retry_then_success_snapshot() {
    let run = machine()
        .mock_config(&mocks(), "retry-then-ok")
        .unwrap()
        .run_virtual(json!({"commands": ["report", "--today"]}))
        .unwrap();
    assert_eq!(run.outcome.status, ExecutionStatus::Succeeded);
    sfn::assert_execution_snapshot!("retry_then_success", run);
}

#[test]
fn failure_snapshot_and_stability() {
    let a = machine().mock_config(&mocks(), "fails").unwrap().run_virtual(json!({"commands": []})).unwrap();
    let b = machine().mock_config(&mocks(), "fails").unwrap().run_virtual(json!({"commands": []})).unwrap();
    assert_eq!(sfn::testing::snapshot(&a), sfn::testing::snapshot(&b), "snapshots are stable across runs");
    assert_eq!(a.outcome.error.as_deref(), Some("States.TaskFailed"));
    sfn::assert_execution_snapshot!("failure", a);
}

#[test]
fn unknown_test_cases_are_clear_errors() {
    let err = machine().mock_config(&mocks(), "nope").unwrap_err();
    assert!(err.to_string().contains("no test case 'nope' for 'nightly'"), "{err}");
}
