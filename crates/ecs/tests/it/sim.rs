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
    let task: serde_json::Value = serde_json::from_str(&o.cause.unwrap()).unwrap();
    assert_eq!(task["StopCode"], "TaskFailedToStart");
    // As ECS reports a task whose image cannot be pulled (recorded: `test_run_task_sync_raise_failure`):
    // PENDING, DEACTIVATING, STOPPED (Version 4), a runtime id per container, nothing pulled, no reason
    // on the container.
    assert_eq!(task["Version"], 4);
    assert!(task["StoppingAt"].is_i64() && task["ExecutionStoppedAt"].is_i64(), "{task}");
    assert!(task.get("PullStartedAt").is_none() && task.get("StartedAt").is_none(), "{task}");
    let container = &task["Containers"][0];
    assert!(container["RuntimeId"].is_string(), "{container}");
    assert!(container.get("Reason").is_none() && container.get("ExitCode").is_none(), "{container}");
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

/// A persistent simulator (`SimBackend::persist`), opened again on its state file as after a kill -9:
/// tasks come back with their ARNs, their run time so far, their ClientToken and their stops.
#[tokio::test]
async fn persisted_tasks_survive_a_restart() {
    use sfn_ecs::params::RunTaskParams;
    use sfn_ecs::{EcsBackend as _, RunTaskRequest};
    let path = std::env::temp_dir().join(format!("sfn-ecs-sim-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let open = || {
        SimBackend::new(SimScript { run_seconds: Some(1.0), ..Default::default() })
            .script("forever", SimScript { never_stops: true, ..Default::default() })
            .persist(&path)
            .unwrap()
    };
    let request = |family: &str, token: &str| RunTaskRequest {
        params: RunTaskParams::parse(&json!({"Cluster": "default", "TaskDefinition": family})).unwrap(),
        client_token: Some(token.to_owned()),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        ..RunTaskRequest::default()
    };
    let sim = open();
    let job = sim.run_task(&request("job", "t1")).await.unwrap().tasks[0].clone();
    let forever = sim.run_task(&request("forever", "t2")).await.unwrap().tasks[0].clone();
    sim.stop_task("default", &forever.task_arn, "enough").await.unwrap();
    drop(sim);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let sim = open();
    assert_eq!(sim.counters.run_task.load(Ordering::Relaxed), 2, "replayed calls are counted");
    let d = sim.describe_tasks("default", &[job.task_arn.clone(), forever.task_arn.clone()]).await.unwrap();
    assert!(d.failures.is_empty(), "{:?}", d.failures);
    assert_eq!((d.tasks[0].last_status.as_str(), d.tasks[0].created_at), ("RUNNING", job.created_at));
    assert_eq!(d.tasks[1].stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(d.tasks[1].stopped_reason.as_deref(), Some("enough"));
    // Same ClientToken, same task; a new one gets a new ARN.
    let again = sim.run_task(&request("job", "t1")).await.unwrap();
    assert_eq!(again.tasks[0].task_arn, job.task_arn);
    let other = sim.run_task(&request("job", "t3")).await.unwrap();
    assert!(![&job.task_arn, &forever.task_arn].contains(&&other.tasks[0].task_arn));
    assert_eq!(sim.running_tasks().len(), 2);
    // It ends on its original schedule, one second after it was created.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let d = sim.describe_tasks("default", std::slice::from_ref(&job.task_arn)).await.unwrap();
    assert_eq!(d.tasks[0].last_status, "STOPPED");
    assert_eq!(d.tasks[0].stopped_at, Some(job.created_at + 1000));
    let _ = std::fs::remove_file(&path);
}

#[tokio::test(start_paused = true)]
async fn a_fargate_task_is_described_field_for_field_as_recorded() {
    // AWS: `../shared/recorded/ecs_task_service.history.json`, `test_run_task_sync` (read in place; the
    // test says so and passes when the folder is absent): the `.sync` output of a FARGATE task in awsvpc
    // mode — ENI attachment from NetworkConfiguration, AvailabilityZone, Connectivity, EphemeralStorage,
    // containers' ImageDigest and NetworkInterfaces, Version 5 — and ARNs in the cluster ARN's region
    // and account.
    let Some(aws) = crate::support::recorded_fargate_task() else { return };
    let sim = Arc::new(SimBackend::new(SimScript::default()));
    let (engine, _) = engine(sim);
    let cluster = "arn:aws:ecs:eu-west-1:111122223333:cluster/jobs";
    let params = json!({"Cluster": cluster, "TaskDefinition": "job", "LaunchType": "FARGATE", "PlatformVersion": "1.4.0",
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0abc", "subnet-0def"], "SecurityGroups": ["sg-1"]}}});
    let (o, _) = run(&engine, machine(SYNC, params, json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let ours = o.output.unwrap();
    crate::support::assert_described_as(&aws, &ours);
    assert_eq!(ours["Version"], 5);
    assert_eq!(ours["Attachments"][0]["Status"], "DELETED");
    assert_eq!(ours["Attachments"][0]["Details"][0], json!({"Name": "subnetId", "Value": "subnet-0abc"}));
    assert_eq!(ours["AvailabilityZone"], "eu-west-1a");
    assert!(ours["TaskArn"].as_str().unwrap().starts_with("arn:aws:ecs:eu-west-1:111122223333:task/jobs/"));
    let eni = &ours["Containers"][0]["NetworkInterfaces"][0];
    assert_eq!(eni["AttachmentId"], ours["Attachments"][0]["Id"]);
}
