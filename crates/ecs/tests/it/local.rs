//! The local backend with real processes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sfn_ecs::{Capacity, LocalBackend};
use sfn_engine::ExecutionStatus;

use crate::support::{cause_json, engine, machine, run, tds};

fn defs() -> sfn_ecs::TaskDefinitions {
    tds(&[
        json!({"family": "ok", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["true"]}]}),
        json!({"family": "exit3", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["sh", "-c"], "command": ["exit 3"]}]}),
        json!({"family": "missing", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "x", "command": ["/no/such/binary-sfn"]}]}),
        json!({"family": "echo", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["true"],
            "environment": [{"name": "FROM_DEF", "value": "1"}]}]}),
        json!({"family": "sidecar", "cpu": "256", "memory": "512", "containerDefinitions": [
            {"name": "app", "image": "busybox", "entryPoint": ["sh", "-c"], "command": ["sleep 0.3"]},
            {"name": "sidecar", "image": "busybox", "essential": false, "entryPoint": ["sh", "-c"], "command": ["exit 1"]}]}),
        json!({"family": "sleeper", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["sleep", "300"]}]}),
        json!({"family": "sleepy", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["sleep", "1"]}]}),
        json!({"family": "big", "cpu": "4096", "memory": "30000", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["true"]}]}),
    ])
}

fn backend() -> Arc<LocalBackend> {
    Arc::new(
        LocalBackend::new(defs())
            .with_stop_grace(Duration::from_millis(500))
            .with_capacity(Capacity { cpu: 4096, memory_mib: 8192 }),
    )
}

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";

#[tokio::test]
async fn sync_success_returns_the_stopped_task() {
    let (engine, _) = engine(backend());
    let (o, h) =
        run(&engine, machine(SYNC, json!({"Cluster": "jobs", "TaskDefinition": "ok"}), json!({})), json!({}))
            .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let t = o.output.unwrap();
    assert_eq!(t["LastStatus"], "STOPPED");
    assert_eq!(t["StopCode"], "EssentialContainerExited");
    assert_eq!(t["StartedBy"], "AWS Step Functions");
    assert_eq!(t["Containers"][0]["ExitCode"], 0);
    assert_eq!(t["Group"], "family:ok");
    let types: Vec<String> = h.events().iter().map(|e| e.event_type()).collect();
    assert!(types.contains(&"TaskSubmitted".to_owned()));
}

#[tokio::test]
async fn non_zero_exit_fails_with_the_task_as_cause() {
    let (engine, _) = engine(backend());
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "exit3"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let task = cause_json(&o);
    assert_eq!(task["Containers"][0]["ExitCode"], 3);
    assert_eq!(task["LastStatus"], "STOPPED");
}

#[tokio::test]
async fn missing_binary_fails_to_start_with_a_container_reason() {
    let (engine, _) = engine(backend());
    let (o, _) =
        run(&engine, machine(SYNC, json!({"TaskDefinition": "missing"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let task = cause_json(&o);
    assert_eq!(task["StopCode"], "TaskFailedToStart");
    let reason = task["Containers"][0]["Reason"].as_str().unwrap();
    assert!(reason.starts_with("CannotStartContainerError:"), "{reason}");
    assert!(task["Containers"][0].get("ExitCode").is_none());
    // PROVISIONING, PENDING, DEACTIVATING, STOPPED: Version 4, with StoppingAt and ExecutionStoppedAt, as
    // ECS reports a task that failed to start (recorded: `test_run_task_sync_raise_failure`).
    assert_eq!(task["Version"], 4);
    assert!(task["StoppingAt"].is_i64() && task["StoppedAt"].is_i64(), "{task}");
    assert_eq!(task["ExecutionStoppedAt"], task["StoppedAt"]);
    assert!(task.get("StartedAt").is_none());
}

#[tokio::test]
async fn command_from_the_input_and_environment_reach_the_process() {
    let out = std::env::temp_dir().join(format!("sfn-ecs-cmd-{}", std::process::id()));
    let (engine, _) = engine(backend());
    let params = json!({"TaskDefinition": "echo", "Overrides": {"ContainerOverrides": [{"Name": "app",
        "Command.$": "$.commands", "Environment": [{"Name": "FROM_OVERRIDE", "Value": "2"}]}]}});
    let script = format!("echo \"$FROM_DEF $FROM_OVERRIDE $1\" > {}", out.display());
    let (o, _) = run(
        &engine,
        machine(SYNC, params, json!({})),
        json!({"commands": ["sh", "-c", script, "arg0", "; rm -rf /tmp/never"]}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    // `; rm -rf …` arrived as one argv element ($1), not as shell syntax.
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "1 2 ; rm -rf /tmp/never");
    let _ = std::fs::remove_file(out);
}

#[tokio::test]
async fn non_essential_sidecar_failure_fails_sync() {
    let (engine, _) = engine(backend());
    let (o, _) =
        run(&engine, machine(SYNC, json!({"TaskDefinition": "sidecar"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let task = cause_json(&o);
    let codes: Vec<Value> =
        task["Containers"].as_array().unwrap().iter().map(|c| c["ExitCode"].clone()).collect();
    assert_eq!(codes, [json!(0), json!(1)]);
}

#[tokio::test]
async fn capacity_failures_follow_the_failures_rule() {
    let (engine, _) = engine(backend());
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "big"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"));
    assert!(o.cause.unwrap().contains("RESOURCE:MEMORY"));
    let (o, _) = run(
        &engine,
        machine("arn:aws:states:::ecs:runTask", json!({"TaskDefinition": "big"}), json!({})),
        json!({}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    let out = o.output.unwrap();
    assert_eq!(out["Failures"][0]["Reason"], "RESOURCE:MEMORY");
    assert_eq!(out["Tasks"], json!([]));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
}

#[tokio::test]
async fn timeout_stops_the_task_and_leaves_no_process() {
    let b = backend();
    let (engine, _) = engine(b.clone());
    let (o, _) = run(
        &engine,
        machine(SYNC, json!({"TaskDefinition": "sleeper"}), json!({"TimeoutSeconds": 1})),
        json!({}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    for _ in 0..50 {
        if b.running_tasks().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(b.running_tasks().is_empty(), "orphaned tasks: {:?}", b.running_tasks());
}

#[tokio::test]
async fn request_response_returns_at_once_and_stop_task_is_user_initiated() {
    use sfn_ecs::EcsBackend as _;
    let b = backend();
    let (engine, _) = engine(b.clone());
    let (o, _) = run(
        &engine,
        machine(
            "arn:aws:states:::ecs:runTask",
            json!({"TaskDefinition": "sleeper", "Cluster": "c"}),
            json!({}),
        ),
        json!({}),
    )
    .await;
    let out = o.output.unwrap();
    assert_eq!(out["Tasks"][0]["LastStatus"], "PROVISIONING");
    let arn = out["Tasks"][0]["TaskArn"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    b.stop_task("c", &arn, "done testing").await.unwrap();
    for _ in 0..50 {
        let d = b.describe_tasks("c", std::slice::from_ref(&arn)).await.unwrap();
        if d.tasks[0].is_stopped() {
            assert_eq!(d.tasks[0].stop_code.as_deref(), Some("UserInitiated"));
            assert_eq!(d.tasks[0].stopped_reason.as_deref(), Some("done testing"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task did not stop");
}

/// FARGATE tasks take no cluster capacity (ECS limits Fargate only by an account-wide quota): a Map of 100
/// concurrent 256-CPU FARGATE tasks all succeed on a cluster whose EC2-style capacity holds 16 of them,
/// while the same Map on EC2 gets `RESOURCE:CPU` failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fargate_tasks_take_no_cluster_capacity() {
    let map = |params: Value| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0, "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": SYNC,
                "TimeoutSeconds": 60, "Parameters": params, "End": true}}}}}})
    };
    let items = Value::Array((0..100).map(|i| json!(i)).collect());
    let (engine, _) = engine(backend());
    for params in [
        json!({"Cluster": "jobs", "TaskDefinition": "sleepy", "LaunchType": "FARGATE"}),
        json!({"Cluster": "jobs", "TaskDefinition": "sleepy",
            "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]}),
    ] {
        let (o, _) = run(&engine, map(params.clone()), items.clone()).await;
        assert_eq!(o.status, ExecutionStatus::Succeeded, "{params}: {:?}", o.cause);
        assert_eq!(o.output.unwrap().as_array().unwrap().len(), 100);
    }
    let (o, _) =
        run(&engine, map(json!({"Cluster": "jobs", "TaskDefinition": "sleepy", "LaunchType": "EC2"})), items)
            .await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"), "{o:?}");
    assert!(o.cause.unwrap().contains("RESOURCE:CPU"));
}

#[tokio::test]
async fn a_fargate_task_is_described_field_for_field_as_recorded() {
    // AWS: `../shared/recorded/ecs_task_service.history.json`, `test_run_task_sync` (see the sim's test).
    let Some(aws) = crate::support::recorded_fargate_task() else { return };
    let (engine, _) = engine(backend());
    let params = json!({"Cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/jobs", "TaskDefinition": "ok",
        "LaunchType": "FARGATE", "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-0abc"]}}});
    let (o, _) = run(&engine, machine(SYNC, params, json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let ours = o.output.unwrap();
    crate::support::assert_described_as(&aws, &ours);
    assert_eq!(ours["Version"], 5);
    assert_eq!(ours["PlatformVersion"], "1.4.0");
    assert!(ours["TaskArn"].as_str().unwrap().starts_with("arn:aws:ecs:eu-west-1:111122223333:task/jobs/"));
}

/// `--fargate-vcpu-quota`: FARGATE tasks count their vCPUs against the account's quota (AWS: "Fargate
/// On-Demand vCPU resource count"), released when they stop; past it RunTask reports the quota failure,
/// which the Failures rule turns into the task's failure.
#[tokio::test]
async fn fargate_vcpu_quota_when_set() {
    // One vCPU: four 256-CPU tasks at once, not five.
    let (engine, _) = engine(Arc::new(
        LocalBackend::new(defs()).with_stop_grace(Duration::from_millis(500)).with_fargate_vcpu_quota(1),
    ));
    let map = |n: usize| {
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0, "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": SYNC, "TimeoutSeconds": 60,
                "Parameters": {"TaskDefinition": "sleepy", "LaunchType": "FARGATE"}, "End": true}}}}}});
        (def, Value::Array((0..n).map(|i| json!(i)).collect()))
    };
    let (def, items) = map(4);
    let (o, _) = run(&engine, def, items).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{:?}", o.cause);
    // The four are stopped, so their vCPUs are back: again four fit, a fifth does not.
    let (def, items) = map(5);
    let (o, _) = run(&engine, def, items).await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"), "{o:?}");
    assert!(o.cause.unwrap().contains(sfn_ecs::FARGATE_QUOTA_REASON));
    // EC2 tasks do not count against it.
    let (o, _) = run(
        &engine,
        machine(SYNC, json!({"TaskDefinition": "ok", "LaunchType": "EC2"}), json!({})),
        json!({}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{:?}", o.cause);
}

/// `--cluster NAME=cpu:…,memory:…`: one cluster's EC2-style capacity, the others keep theirs.
#[tokio::test]
async fn capacity_per_cluster() {
    let (engine, _) = engine(Arc::new(
        LocalBackend::new(defs())
            .with_stop_grace(Duration::from_millis(500))
            .with_cluster_capacity("large", Capacity { cpu: 8192, memory_mib: 32768 })
            .with_cluster_capacity(
                "arn:aws:ecs:us-east-1:123456789012:cluster/tiny",
                Capacity { cpu: 128, memory_mib: 8192 },
            ),
    ));
    let task = |cluster: &str| machine(SYNC, json!({"Cluster": cluster, "TaskDefinition": "big"}), json!({}));
    let (o, _) = run(&engine, task("large"), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{:?}", o.cause);
    let (o, _) = run(&engine, task("default"), json!({})).await;
    assert!(o.cause.unwrap().contains("RESOURCE:MEMORY"));
    let (o, _) =
        run(&engine, machine(SYNC, json!({"Cluster": "tiny", "TaskDefinition": "ok"}), json!({})), json!({}))
            .await;
    assert!(o.cause.unwrap().contains("RESOURCE:CPU"));
}
