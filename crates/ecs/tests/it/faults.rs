//! Fault injection on the sim and local backends (README, "Fault injection"), and the orphan check at
//! every way an execution ends: success, failure, state timeout, StopExecution, a Map whose failing
//! iteration aborts its siblings. (`support::run` checks for orphans after every run of these tests;
//! the server's shutdown is checked in `sfn-server`'s tests.)

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use sfn_ecs::{EcsBackend, LocalBackend, SimBackend, SimScript};
use sfn_engine::{Engine, ExecutionStatus, StartRequest};

use crate::support::{assert_no_orphans, engine, machine, run, sync_tasks, tds};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";

fn start(engine: &Engine, def: &Value, input: Value) -> sfn_engine::Execution {
    let machine = sfn_asl::parse(&serde_json::to_vec(def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    engine.start(
        &prepared,
        StartRequest { execution_name: "stopped".into(), input, role_arn: None, input_text: None },
    )
}

/// Waits until the execution has submitted `n` `.sync` tasks.
async fn submitted(execution: &sfn_engine::Execution, n: usize) {
    for _ in 0..200 {
        if sync_tasks(execution.history()).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the execution never submitted {n} tasks");
}

#[tokio::test(start_paused = true)]
async fn run_task_throttled_fails_with_ecs_throttling_exception_that_retry_matches() {
    let throttled = || {
        Arc::new(
            SimBackend::new(SimScript::default())
                .script("busy", SimScript { run_task_throttled: 2, ..Default::default() }),
        )
    };
    let params = json!({"TaskDefinition": "busy"});
    let sim = throttled();
    let (engine_, _) = engine(sim.clone());
    let (o, _) = run(&engine_, machine(SYNC, params.clone(), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("ECS.ThrottlingException"), "{o:?}");
    assert_eq!(o.cause.as_deref(), Some("Rate exceeded"));
    assert!(sim.running_tasks().is_empty(), "a throttled RunTask starts nothing");

    let sim = throttled();
    let (engine_, _) = engine(sim.clone());
    let retry = json!({"Retry": [{"ErrorEquals": ["ECS.ThrottlingException"], "IntervalSeconds": 1, "MaxAttempts": 3}]});
    let (o, h) = run(&engine_, machine(SYNC, params, retry), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(sim.counters.run_task.load(Ordering::Relaxed), 3);
    assert_eq!(sync_tasks(&h).len(), 1, "one task, started by the third attempt");
}

#[tokio::test(start_paused = true)]
async fn task_that_never_stops_hits_timeout_seconds_and_is_stopped() {
    let sim = Arc::new(SimBackend::new(SimScript { never_stops: true, ..Default::default() }));
    let (engine_, _) = engine(sim.clone());
    let def = machine(SYNC, json!({"TaskDefinition": "forever"}), json!({"TimeoutSeconds": 600}));
    let (o, h) = run(&engine_, def, json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    let (cluster, arn) = sync_tasks(&h).pop().unwrap();
    let task = sim.describe_tasks(&cluster, &[arn]).await.unwrap().tasks.remove(0);
    assert_eq!(task.stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(sim.counters.stop_task.load(Ordering::Relaxed), 1);
}

/// StopTask failing (after the SDK's retries on AWS): the state still ends `States.Timeout` and the
/// failure is logged with the task's ARN; the task is the one left running, and the simulator reports it.
#[tokio::test(start_paused = true)]
async fn stop_task_failing_still_ends_in_states_timeout_and_reports_the_task() {
    let sim = Arc::new(SimBackend::new(SimScript {
        never_stops: true,
        stop_task_error: Some("ServerException".into()),
        ..Default::default()
    }));
    let (engine_, _) = engine(sim.clone());
    let def = machine(SYNC, json!({"TaskDefinition": "stuck"}), json!({"TimeoutSeconds": 60}));
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine_.prepare(machine, "m").unwrap();
    // Not `support::run`: this is the one fault that leaves a task running, by definition.
    let (o, h) = engine_
        .run(
            &prepared,
            StartRequest { execution_name: "e".into(), input: json!({}), role_arn: None, input_text: None },
        )
        .await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    assert_eq!(sim.counters.stop_task.load(Ordering::Relaxed), 1);
    let (_, arn) = sync_tasks(&h).pop().unwrap();
    assert_eq!(sim.running_tasks(), [arn]);
}

#[tokio::test(start_paused = true)]
async fn describe_tasks_missing_fails_with_states_task_failed() {
    let sim = Arc::new(SimBackend::new(SimScript { missing: true, ..Default::default() }));
    let (engine_, _) = engine(sim.clone());
    let catch = json!({"Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]});
    let mut def = machine(SYNC, json!({"TaskDefinition": "gone"}), catch);
    def["States"]["Run"].as_object_mut().unwrap().remove("End");
    def["States"]["Run"]["Next"] = json!("Done");
    def["States"]["Done"] = json!({"Type": "Succeed"});
    def["States"]["Caught"] = json!({"Type": "Pass", "End": true});
    let (o, h) = run(&engine_, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    let failed = h.events().into_iter().find(|e| e.event_type() == "TaskFailed").unwrap().to_json();
    let cause: Value =
        serde_json::from_str(failed["taskFailedEventDetails"]["cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["Reason"], "MISSING");
}

/// Orphan check at StopExecution (`Execution::stop`): every running `.sync` task is stopped.
#[tokio::test(start_paused = true)]
async fn stop_execution_stops_its_tasks() {
    let sim = Arc::new(SimBackend::new(SimScript { run_seconds: Some(3600.0), ..Default::default() }));
    let (engine_, _) = engine(sim.clone());
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": SYNC, "Parameters": {"TaskDefinition": "a"}, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": SYNC, "Parameters": {"TaskDefinition": "b"}, "End": true}}}]}}});
    let execution = start(&engine_, &def, json!({}));
    submitted(&execution, 2).await;
    assert_eq!(sim.running_tasks().len(), 2);
    execution.stop();
    let o = execution.wait().await;
    assert_eq!(o.status, ExecutionStatus::Aborted);
    assert_no_orphans(sim.as_ref(), execution.history()).await;
    assert!(sim.running_tasks().is_empty());
}

/// Orphan check when one Map iteration fails: the others are aborted and their tasks stopped.
#[tokio::test(start_paused = true)]
async fn map_with_one_failing_iteration_stops_its_siblings_tasks() {
    let sim =
        Arc::new(SimBackend::new(SimScript { run_seconds: Some(3600.0), ..Default::default() }).script(
            "crash",
            SimScript {
                run_seconds: Some(5.0),
                exit_codes: [("app".to_owned(), 1)].into(),
                ..Default::default()
            },
        ));
    let (engine_, _) = engine(sim.clone());
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": SYNC, "Parameters": {"TaskDefinition.$": "$"}, "End": true}}}}}});
    let (o, h) = run(&engine_, def, json!(["slow", "slow", "crash", "slow"])).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(sync_tasks(&h).len(), 4);
    assert!(sim.running_tasks().is_empty(), "{:?}", sim.running_tasks());
    assert_eq!(sim.counters.stop_task.load(Ordering::Relaxed), 3, "the three siblings were stopped");
}

fn local() -> Arc<LocalBackend> {
    Arc::new(
        LocalBackend::new(tds(&[
            json!({"family": "ok", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["true"]}]}),
            json!({"family": "fail", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["sh", "-c"], "command": ["exit 2"]}]}),
            // Ignores SIGTERM and leaves a grandchild in its process group.
            json!({"family": "stubborn", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox",
                "entryPoint": ["sh", "-c"], "command": ["trap '' TERM; sleep 300 & while true; do sleep 1; done"]}]}),
        ]))
        .with_stop_grace(Duration::from_millis(300)),
    )
}

/// The local backend at every ending: success, failure, state timeout with a container that ignores
/// SIGTERM and has a child (SIGKILL to the whole process group after the grace period), StopExecution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_tasks_leave_no_process_at_any_ending() {
    let b = local();
    let (engine_, _) = engine(b.clone());
    let (o, _) = run(&engine_, machine(SYNC, json!({"TaskDefinition": "ok"}), json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    let (o, _) = run(&engine_, machine(SYNC, json!({"TaskDefinition": "fail"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let (o, h) = run(
        &engine_,
        machine(SYNC, json!({"TaskDefinition": "stubborn"}), json!({"TimeoutSeconds": 1})),
        json!({}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    let (cluster, arn) = sync_tasks(&h).pop().unwrap();
    let task = b.describe_tasks(&cluster, &[arn]).await.unwrap().tasks.remove(0);
    assert_eq!(task.containers[0].exit_code, Some(137), "killed after the grace period");

    let execution =
        start(&engine_, &machine(SYNC, json!({"TaskDefinition": "stubborn"}), json!({})), json!({}));
    submitted(&execution, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    execution.stop();
    assert_eq!(execution.wait().await.status, ExecutionStatus::Aborted);
    assert_no_orphans(b.as_ref() as &dyn EcsBackend, execution.history()).await;
    assert!(b.running_tasks().is_empty());
}
