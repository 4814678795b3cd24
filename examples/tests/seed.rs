//! The seed state machines (`fixtures/seed`) snapshot-tested the way a user tests their own definitions:
//! with mocked ECS responses in AWS Step Functions Local's mock-file format, and on the embedded ECS simulator.
//! Snapshots (`tests/snapshots`) hold outcome + history, redacted so they are stable across runs.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected values")]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use sfn::prelude::*;

fn seed(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/seed").join(file)
}

fn input() -> Value {
    serde_json::from_slice(&std::fs::read(seed("run-job.input.json")).unwrap()).unwrap()
}

/// The README's ten lines: load, mock, run, snapshot.
#[test]
fn run_job_with_mocked_ecs() {
    let mocks = MockConfig::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/mocks/seed.json")).unwrap();
    let run = Sfn::from_file(seed("run-job.asl.json")).unwrap().mock_config(&mocks, "ReportDone").unwrap();
    let run = run.run_virtual(input()).unwrap();
    assert_eq!(run.outcome.status, ExecutionStatus::Succeeded);
    sfn::assert_execution_snapshot!(run);
}

#[test]
fn run_job_fails_when_the_container_exits_non_zero() {
    let mocks = MockConfig::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/mocks/seed.json")).unwrap();
    let sfn = Sfn::from_file(seed("run-job.asl.json")).unwrap().mock_config(&mocks, "ReportCrashes").unwrap();
    let run = sfn.run_virtual(input()).unwrap();
    assert_eq!(run.outcome.status, ExecutionStatus::Failed);
    assert_eq!(run.outcome.error.as_deref(), Some("States.TaskFailed"));
    sfn::assert_execution_snapshot!(run);
}

#[test]
fn run_job_without_capacity_fails_with_amazon_ecs_unknown() {
    let mocks = MockConfig::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/mocks/seed.json")).unwrap();
    let sfn = Sfn::from_file(seed("run-job.asl.json")).unwrap().mock_config(&mocks, "NoCapacity").unwrap();
    let run = sfn.run_virtual(input()).unwrap();
    assert_eq!(run.outcome.error.as_deref(), Some("AmazonECS.Unknown"));
    assert!(run.outcome.cause.as_deref().unwrap().contains("RESOURCE:MEMORY"));
}

#[test]
fn callback_with_mocked_worker() {
    let mocks = MockConfig::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/mocks/seed.json")).unwrap();
    let sfn =
        Sfn::from_file(seed("callback.asl.json")).unwrap().mock_config(&mocks, "WorkerCallsBack").unwrap();
    let run = sfn.run_virtual(json!({})).unwrap();
    assert_eq!(run.outcome.output, Some(json!({"worker": "done", "items": 3})), "{:?}", run.outcome);
    sfn::assert_execution_snapshot!(run);
}

/// No mocks: the ECS integration itself on the simulator (virtual time: the 30 s task takes no real time).
#[test]
fn run_job_on_the_ecs_simulator() {
    let sim = simulator(0);
    let sfn = Sfn::from_file(seed("run-job.jsonata.asl.json"))
        .unwrap()
        .integration(Arc::new(sfn::ecs::EcsIntegration::new(sim.clone())));
    let run = sfn.run_virtual(input()).unwrap();
    assert_eq!(run.outcome.status, ExecutionStatus::Succeeded, "{:?}", run.outcome);
    assert_eq!(run.outcome.output.as_ref().unwrap()["report"], "ready");
    assert!(sim.running_tasks().is_empty(), "no task is left running");
    assert_eq!(
        run.event_types(),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

/// An essential container exiting non-zero fails a `.sync` state with `States.TaskFailed`, the stopped
/// task as the cause (FACTS.md).
#[test]
fn a_failing_container_fails_the_sync_state_on_the_simulator() {
    let sim = simulator(3);
    let sfn = Sfn::from_file(seed("run-job.asl.json"))
        .unwrap()
        .integration(Arc::new(sfn::ecs::EcsIntegration::new(sim.clone())));
    let run = sfn.run_virtual(input()).unwrap();
    assert_eq!(run.outcome.error.as_deref(), Some("States.TaskFailed"));
    let cause: Value = serde_json::from_str(run.outcome.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["Containers"][0]["ExitCode"], 3);
    assert_eq!(cause["StopCode"], "EssentialContainerExited");
    assert!(sim.running_tasks().is_empty(), "no task is left running");
}

fn simulator(exit_code: i32) -> Arc<sfn::ecs::SimBackend> {
    use sfn::ecs::{SimBackend, SimScript, load_task_definitions};
    let tds = load_task_definitions(&seed("task-definitions")).unwrap();
    let script = SimScript {
        run_seconds: Some(30.0),
        exit_codes: [("report".into(), exit_code)].into(),
        ..SimScript::default()
    };
    Arc::new(SimBackend::new(SimScript::default()).script("report-job", script).with_task_definitions(tds))
}
