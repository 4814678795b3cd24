//! Step Functions Local's test cases through the Rust SDK: StartExecution on `…:stateMachine:NAME#Case`
//! runs with that case's mocks (each execution counts its own invocations, so a retry path replays the same
//! way every time), unmocked states call their integration (here the simulated ECS), and the execution is
//! NAME's for Describe, GetExecutionHistory and ListExecutions (AWS's guide "Using mocked service
//! integrations for testing in Step Functions Local", steps 3 and 4).

use std::sync::Arc;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use sfn_engine::{ErrorName, MockResponse, TaskMocks};
use sfn_server::{MockCases, ServerOptions};

use crate::sdk::client;
use crate::{ROLE, TestServer};

/// `Call` throws on invocations 0 and 1 and returns on 2 (AWS's numbered responses "0", "1", "2").
struct Flaky;

impl TaskMocks for Flaky {
    fn covers(&self, state: &str) -> bool {
        state == "Call"
    }

    fn respond(&self, _: &str, invocation: u32) -> Option<MockResponse> {
        Some(match invocation {
            0 | 1 => MockResponse::Throw {
                error: ErrorName::from("Lambda.TooManyRequestsException"),
                cause: Some(format!("throttled #{invocation}")),
            },
            _ => MockResponse::Return(json!({"Payload": {"called": invocation}})),
        })
    }
}

#[derive(Debug)]
struct Cases;

impl MockCases for Cases {
    fn test_case(
        &self,
        machine: &str,
        case: &str,
        definition: &sfn_asl::StateMachine,
    ) -> Result<Arc<dyn TaskMocks>, String> {
        assert!(definition.states.get("Call").is_some(), "the server hands over the machine's definition");
        match (machine, case) {
            ("flaky", "RetryPath") => Ok(Arc::new(Flaky)),
            _ => Err(format!("no test case '{case}' for '{machine}'")),
        }
    }
}

fn machine() -> Value {
    json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                 "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                            "MaxAttempts": 2, "BackoffRate": 1.0}],
                 "Next": "Job"},
        "Job": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask",
                "Parameters": {"Cluster": "default", "TaskDefinition": "job"}, "End": true}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_case_executions_through_the_rust_sdk() {
    let options = ServerOptions { mocks: Some(Arc::new(Cases)), ..ServerOptions::default() };
    let s = TestServer::start_opts(options, sfn_engine::Unmocked::Fail).await;
    let c = client(&s.url());
    let created = c
        .create_state_machine()
        .name("flaky")
        .definition(machine().to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_owned();
    for name in ["first", "second"] {
        let started = c
            .start_execution()
            .state_machine_arn(format!("{arn}#RetryPath"))
            .name(name)
            .input("{}")
            .send()
            .await
            .unwrap();
        let exec = started.execution_arn().to_owned();
        assert_eq!(exec, format!("{}:{name}", arn.replace(":stateMachine:", ":execution:")));
        let d = loop {
            let d = c.describe_execution().execution_arn(&exec).send().await.unwrap();
            if d.status() != &ExecutionStatus::Running {
                break d;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        };
        assert_eq!(d.status(), &ExecutionStatus::Succeeded, "{d:?}");
        assert_eq!(d.state_machine_arn(), arn);
        let h = c.get_execution_history().execution_arn(&exec).send().await.unwrap();
        let failed: Vec<&str> = h
            .events()
            .iter()
            .filter(|e| e.r#type() == &HistoryEventType::TaskFailed)
            .filter_map(|e| e.task_failed_event_details().and_then(|d| d.cause()))
            .collect();
        // Each execution counts its own invocations: both replay throttled #0, #1, then succeed.
        assert_eq!(failed, ["throttled #0", "throttled #1"], "{name}");
        // The unmocked ECS state ran on the simulator: a real RunTask response, not a mock.
        let out: Value = serde_json::from_str(d.output().unwrap()).unwrap();
        assert_eq!(out["Tasks"][0]["LastStatus"], "PROVISIONING", "{out}");
    }
    let listed = c.list_executions().state_machine_arn(&arn).send().await.unwrap();
    let mut names: Vec<&str> = listed.executions().iter().map(|e| e.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"]);

    // An unknown test case is a ValidationException saying why; the plain ARN runs with no mock, and the
    // Lambda state (no integration here) fails as --unmocked fail says.
    let err = c.start_execution().state_machine_arn(format!("{arn}#Nope")).send().await.unwrap_err();
    let err = err.into_service_error();
    assert_eq!(err.meta().code(), Some("ValidationException"));
    assert!(err.meta().message().unwrap_or_default().contains("no test case 'Nope'"), "{err:?}");
    let plain = c.start_execution().state_machine_arn(&arn).name("plain").send().await.unwrap();
    let d = loop {
        let d = c.describe_execution().execution_arn(plain.execution_arn()).send().await.unwrap();
        if d.status() != &ExecutionStatus::Running {
            break d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    assert_eq!(d.status(), &ExecutionStatus::Failed);
    assert_eq!(d.error(), Some("States.Runtime"));
    s.stop().await;
}

/// `Call` mocked, then a Wait: long enough to stop the server in between.
fn waiting_machine() -> Value {
    json!({"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Pause"},
        "Pause": {"Type": "Wait", "Seconds": 2, "End": true}}})
}

/// `Call` returns its invocation number.
struct Counted;

impl TaskMocks for Counted {
    fn covers(&self, state: &str) -> bool {
        state == "Call"
    }

    fn respond(&self, _: &str, invocation: u32) -> Option<MockResponse> {
        Some(MockResponse::Return(json!({"n": invocation})))
    }
}

#[derive(Debug)]
struct Always;

impl MockCases for Always {
    fn test_case(&self, _: &str, _: &str, _: &sfn_asl::StateMachine) -> Result<Arc<dyn TaskMocks>, String> {
        Ok(Arc::new(Counted))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journaled_test_case_execution_resumes_with_its_mocks_and_never_without_them() {
    let dir = crate::temp_dir("mock-resume");
    let open = |mocks: Option<Arc<dyn MockCases>>| {
        let options = ServerOptions { state_dir: Some(dir.clone()), mocks, ..ServerOptions::default() };
        TestServer::start_opts(options, sfn_engine::Unmocked::Fail)
    };
    let s = open(Some(Arc::new(Always))).await;
    let arn = s.create("waits", &waiting_machine()).await;
    let exec = s
        .ok("StartExecution", json!({"stateMachineArn": format!("{arn}#Any"), "name": "e"}))
        .await["executionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    // Stopped while it waits: it stays RUNNING in the journal.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    s.stop().await;

    // Without a mock configuration it is not resumed (its Task would otherwise run unmocked).
    let s = open(None).await;
    let d = s.ok("DescribeExecution", json!({"executionArn": exec})).await;
    assert_eq!(d["status"], "RUNNING");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": exec})).await["status"], "RUNNING");
    s.stop().await;

    // With it, the execution resumes with the same mocks: invocations are numbered as before.
    let s = open(Some(Arc::new(Always))).await;
    let d = s.wait(&exec).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["output"], json!({"n": 0}).to_string());
    let h = s.ok("GetExecutionHistory", json!({"executionArn": exec})).await;
    let succeeded = h["events"].as_array().unwrap().iter().filter(|e| e["type"] == "TaskSucceeded").count();
    assert_eq!(succeeded, 1, "the recorded mocked call is not recorded again: {h}");
    s.stop().await;
}
