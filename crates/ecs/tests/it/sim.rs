//! The simulator: batching, MISSING, never-stopping tasks, Failures — on a paused clock.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::json;
use sfn_ecs::{SimBackend, SimScript};
use sfn_engine::ExecutionStatus;

use crate::support::{engine, machine, run};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";

#[tokio::test(start_paused = true)]
async fn many_sync_tasks_share_batched_describe_calls() {
    let sim = Arc::new(SimBackend::new(SimScript { run_seconds: Some(30.0), ..Default::default() }));
    let (engine, ecs) = engine(sim.clone());
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": SYNC, "Parameters": {"Cluster": "c", "TaskDefinition": "job"},
            "ResultSelector": {"exit.$": "$.Containers[0].ExitCode"}, "End": true}}}}}});
    let (o, _) = run(&engine, def, json!((0..450).collect::<Vec<_>>())).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let c = &sim.counters;
    assert_eq!(c.run_task.load(Ordering::Relaxed), 450);
    assert!(c.max_arns_per_call.load(Ordering::Relaxed) <= 100);
    let rounds = ecs.poll_rounds();
    let calls = c.describe_tasks.load(Ordering::Relaxed);
    assert!(calls <= rounds * 5, "{calls} DescribeTasks calls in {rounds} rounds for 450 tasks");
    assert!(rounds < 40, "no busy polling: {rounds} rounds for 30 s of task time");
}

#[tokio::test(start_paused = true)]
async fn missing_tasks_fail_the_state() {
    let sim = Arc::new(SimBackend::new(SimScript { missing: true, ..Default::default() }));
    let (engine, _) = engine(sim);
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    assert!(o.cause.unwrap().contains("MISSING"));
}

#[tokio::test(start_paused = true)]
async fn never_stopping_task_times_out_and_is_stopped() {
    let sim = Arc::new(SimBackend::new(SimScript { never_stops: true, ..Default::default() }));
    let (engine, _) = engine(sim.clone());
    let (o, _) = run(
        &engine,
        machine(SYNC, json!({"TaskDefinition": "job"}), json!({"TimeoutSeconds": 3600})),
        json!({}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(sim.counters.stop_task.load(Ordering::Relaxed), 1);
    assert!(sim.running_tasks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn scripted_failures_exit_codes_and_failed_starts() {
    let sim = Arc::new(
        SimBackend::new(SimScript::default())
            .script("full", SimScript { failure: Some("RESOURCE:CPU".into()), ..Default::default() })
            .script("crash", SimScript { exit_codes: [("app".to_owned(), 137)].into(), ..Default::default() })
            .script(
                "pull",
                SimScript {
                    fail_to_start: Some("CannotPullContainerError: pull access denied".into()),
                    ..Default::default()
                },
            ),
    );
    let (engine, _) = engine(sim);
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "full"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"));
    let (o, _) = run(&engine, machine("arn:aws:states:::ecs:runTask.waitForTaskToken",
        json!({"TaskDefinition": "full", "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "T", "Value.$": "$$.Task.Token"}]}]}}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"), "the Failures rule applies to callbacks too");
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "crash"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "pull"}), json!({})), json!({})).await;
    assert!(o.cause.unwrap().contains("\"StopCode\":\"TaskFailedToStart\""));
}

#[tokio::test(start_paused = true)]
async fn invalid_parameters_are_ecs_errors() {
    let (engine, _) = engine(Arc::new(SimBackend::new(SimScript::default())));
    let (o, _) = run(
        &engine,
        machine(SYNC, json!({"TaskDefinition.$": "$.td", "Count.$": "$.n"}), json!({})),
        json!({"td": "x", "n": 50}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("ECS.InvalidParameterException"));
}
