//! Histories AWS recorded (LocalStack's AWS-validated snapshots in `../shared/recorded`, read in place),
//! re-run by `sfn run --history` and compared event by event with the conformance comparer
//! (`crates/engine/tests/it/history_diff.rs`, included by path): the nested executions of
//! `callback.history.json` (`test_start_execution_sync*`, natively: `--machine NAME=CHILD`) and the ECS
//! tasks of `ecs_task_service.history.json` on `--ecs sim` and `--ecs local`. The definitions are written
//! from what the events show.

use serde_json::{Value, json};

use crate::{sfn, temp_file};

#[allow(dead_code, reason = "python_dumps and recorded_history serve the conformance suites only")]
#[path = "../../../engine/tests/it/history_diff.rs"]
mod history_diff;

const CHILD_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

/// The recorded history of the test `test` in `../shared/recorded/<file>`; `None`, with a message, when
/// the folder is absent.
fn recorded_history_in(file: &str, test: &str) -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/recorded").join(file);
    let Some(content) = history_diff::recorded_content(&path, test) else {
        eprintln!("skipped: {} is absent", path.display());
        return None;
    };
    Some(content["get_execution_history"].clone())
}

/// Runs `StartExecution` (`resource`) on the recording's input (its masked state machine ARN made the
/// child's) with `child` as the machine it starts (and `others`, `(name, definition)`, as machines the
/// child may start), and compares the histories.
fn rerun(test: &str, resource: &str, child: &Value, others: &[(&str, Value)]) {
    let Some(rec) = recorded_history_in("callback.history.json", test) else { return };
    let events = rec["events"].as_array().unwrap();
    let mut input = events[0]["executionStartedEventDetails"]["input"].clone();
    input["StateMachineArn"] = json!(CHILD_ARN);
    let parent = json!({"StartAt": "StartExecution", "States": {"StartExecution": {
        "Type": "Task", "Resource": resource,
        "Parameters": {"StateMachineArn.$": "$.StateMachineArn", "Input.$": "$.Input", "Name.$": "$.Name"},
        "End": true}}});
    let p = temp_file("parent.asl.json", &parent.to_string());
    let c = temp_file("child.asl.json", &child.to_string());
    let mut args = vec![
        "run".to_owned(),
        p.to_str().unwrap().to_owned(),
        "--input".into(),
        input.to_string(),
        "--machine".into(),
        format!("child={}", c.display()),
        "--format".into(),
        "json".into(),
        "--history".into(),
    ];
    for (name, def) in others {
        let f = temp_file(&format!("{name}.asl.json"), &def.to_string());
        args.extend(["--machine".into(), format!("{name}={}", f.display())]);
    }
    compare(test, events, &args);
}

/// Runs `sfn` with `args` and compares its `--history` with the recorded `events`.
fn compare(test: &str, events: &[Value], args: &[String]) {
    let out = sfn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    let got = v["history"].as_array().unwrap();
    let diff = history_diff::history_diff(events, got);
    assert!(diff.is_empty(), "{test}: sfn's history differs from AWS's:\n{}\nsfn: {v:#}", diff.join("\n"));
}

fn succeeding_child() -> Value {
    json!({"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": true}}})
}

#[test]
fn test_start_execution_sync() {
    // A null Input starts the child with `{}`; the child's output is JSON text in the parent.
    rerun(
        "test_start_execution_sync",
        "arn:aws:states:::states:startExecution.sync",
        &succeeding_child(),
        &[],
    );
}

#[test]
fn test_start_execution_sync2() {
    rerun(
        "test_start_execution_sync2",
        "arn:aws:states:::states:startExecution.sync:2",
        &succeeding_child(),
        &[],
    );
}

#[test]
fn test_start_execution_sync_delegate_failure() {
    let child = json!({"StartAt": "Fail", "States": {"Fail": {"Type": "Fail",
        "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."}}});
    rerun(
        "test_start_execution_sync_delegate_failure",
        "arn:aws:states:::states:startExecution.sync",
        &child,
        &[],
    );
}

#[test]
fn test_start_execution_sync_delegate_timeout() {
    // The child's task times out (its TimeoutSeconds; the child's status is FAILED, not TIMED_OUT, so it
    // is a state's timeout): the parent fails with States.TaskFailed, the child's description (Error
    // States.Timeout, no Cause) as the cause. The task that times out waits for a slow grandchild.
    let child = json!({"StartAt": "Work", "States": {"Work": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:slow"},
        "TimeoutSeconds": 1, "End": true}}});
    let slow = json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 30, "End": true}}});
    rerun(
        "test_start_execution_sync_delegate_timeout",
        "arn:aws:states:::states:startExecution.sync",
        &child,
        &[("slow", slow)],
    );
}

/// Runs the recorded ECS task `test` (state `ecstask`, `resource`) on `--ecs <backend>` and compares the
/// histories. The task definition is the recording's: family `task_definition_family` at the revision
/// its ARN names, one container `task_definition_container_name` of the recorded image, 256 CPU units,
/// 512 MiB, FARGATE in awsvpc mode.
fn rerun_ecs(test: &str, resource: &str, backend: &str) {
    let Some(rec) = recorded_history_in("ecs_task_service.history.json", test) else { return };
    rerun_ecs_on(test, rec["events"].as_array().unwrap(), resource, backend, &json!(["true"]), &[]);
}

/// [`rerun_ecs`] with the container's `command` and further `sfn run` arguments, against `events`.
fn rerun_ecs_on(
    test: &str,
    events: &[Value],
    resource: &str,
    backend: &str,
    command: &Value,
    extra: &[String],
) {
    let described = events
        .iter()
        .filter_map(|e| e.as_object()?.iter().find(|(k, _)| k.ends_with("Details"))?.1["output"].as_object())
        .find_map(|o| o.get("Tasks").map_or(Some(o), |t| t[0].as_object()))
        .unwrap();
    let revision = described["TaskDefinitionArn"]
        .as_str()
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, r)| r.parse::<u64>().ok())
        .unwrap_or(1);
    let td = json!({"family": "task_definition_family", "revision": revision,
        "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "task_definition_container_name",
            "image": described["Containers"][0]["Image"], "essential": true, "command": command}]});
    let tds = temp_file("task_definition_family.json", &td.to_string());
    let def = json!({"StartAt": "ecstask", "States": {"ecstask": {"Type": "Task", "Resource": resource,
        "Parameters": {"Cluster": "arn:aws:ecs:eu-central-1:123456789012:cluster/cluster_name",
            "TaskDefinition": "task_definition_family",
            "NetworkConfiguration": {"AwsvpcConfiguration":
                {"Subnets": ["subnet-0a1", "subnet-0b2"], "SecurityGroups": ["sg-0c3"]}},
            "LaunchType": "FARGATE", "PlatformVersion": "1.4.0"},
        "End": true}}});
    let d = temp_file("ecstask.asl.json", &def.to_string());
    let args: Vec<String> = [
        "run",
        d.to_str().unwrap(),
        "--input",
        "{}",
        "--ecs",
        backend,
        "--task-definitions",
        tds.parent().unwrap().to_str().unwrap(),
        "--format",
        "json",
        "--history",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(extra.iter().cloned())
    .collect();
    compare(&format!("{test} (--ecs {backend})"), events, &args);
}

#[test]
fn test_run_task_on_sim_and_local() {
    // Request-response: the RunTask response (the task PROVISIONING, its ENI not created yet).
    for backend in ["sim", "local"] {
        rerun_ecs("test_run_task", "arn:aws:states:::ecs:runTask", backend);
    }
}

#[test]
fn test_run_task_raise_failure_on_sim_and_local() {
    // An image that cannot be pulled: RunTask still answers with the PROVISIONING task.
    for backend in ["sim", "local"] {
        rerun_ecs("test_run_task_raise_failure", "arn:aws:states:::ecs:runTask", backend);
    }
}

#[test]
fn test_run_task_sync_on_sim_and_local() {
    for backend in ["sim", "local"] {
        rerun_ecs("test_run_task_sync", "arn:aws:states:::ecs:runTask.sync", backend);
    }
}

/// The recorded ECS task that `test`'s `TaskFailed` describes (its cause, parsed).
fn failed_task(events: &[Value]) -> Value {
    let failed = events.iter().find(|e| e["type"] == "TaskFailed").unwrap();
    failed["taskFailedEventDetails"]["cause"].clone()
}

#[test]
fn test_run_task_sync_raise_failure_on_sim() {
    // The image cannot be pulled: the task goes PENDING (its ENI connected, each container a runtime id,
    // nothing pulled: no PullStartedAt, ImageDigest or container Reason), then DEACTIVATING and STOPPED
    // (TaskFailedToStart, Version 4), and the state fails with States.TaskFailed, the task as the cause.
    // The sim is scripted to fail the family's tasks to start with the recorded reason (its text names
    // Docker Hub's answer for that image, which only a registry gives).
    let test = "test_run_task_sync_raise_failure";
    let Some(rec) = recorded_history_in("ecs_task_service.history.json", test) else { return };
    let events = rec["events"].as_array().unwrap();
    let reason = &failed_task(events)["StoppedReason"];
    assert!(reason.as_str().unwrap().starts_with("CannotPullContainerError: "), "{reason}");
    let script = json!({"families": {"task_definition_family": {"failToStart": reason}}});
    let sim = temp_file("sim.json", &script.to_string());
    let extra = ["--sim-config".to_owned(), sim.to_str().unwrap().to_owned()];
    rerun_ecs_on(test, events, "arn:aws:states:::ecs:runTask.sync", "sim", &json!(["true"]), &extra);
}

#[test]
fn test_run_task_sync_raise_failure_on_local() {
    // The local backend has no image to pull: its failure to start is a container whose program cannot
    // be started, ECS's CannotStartContainerError (the image was pulled, the container could not start).
    // The task goes the recorded way — PENDING with its ENI, DEACTIVATING, STOPPED with TaskFailedToStart,
    // Version 4 — and differs from the recorded CannotPullContainerError task only where that other
    // failure does: the pull happened (PullStartedAt, PullStoppedAt, each container's ImageDigest), and
    // the container and the task give the CannotStartContainerError reason. One difference is local's
    // own: a local container's RuntimeId is its process id, and a program that cannot start never was a
    // process, so it has none. The recording is compared with those fields as local reports them.
    let test = "test_run_task_sync_raise_failure";
    let Some(rec) = recorded_history_in("ecs_task_service.history.json", test) else { return };
    let program = "/nonexistent/sfn-test-no-such-program";
    let reason = format!(
        "CannotStartContainerError: failed to start {program}: No such file or directory (os error 2)"
    );
    let mut events = rec["events"].as_array().unwrap().clone();
    for e in &mut events {
        let details = match e["type"].as_str() {
            Some("TaskFailed") => "taskFailedEventDetails",
            Some("ExecutionFailed") => "executionFailedEventDetails",
            _ => continue,
        };
        let task = e[details]["cause"].as_object_mut().unwrap();
        task.insert("PullStartedAt".into(), json!("time"));
        task.insert("PullStoppedAt".into(), json!("time"));
        task.insert("StoppedReason".into(), json!(reason));
        let container = task["Containers"][0].as_object_mut().unwrap();
        container.insert("ImageDigest".into(), json!("<image_digest:1>"));
        container.insert("Reason".into(), json!(reason));
        container.remove("RuntimeId");
        // Where AWS lists them: ECS's task descriptions name their members in alphabetical order.
        container.sort_keys();
        task.sort_keys();
    }
    rerun_ecs_on(test, &events, "arn:aws:states:::ecs:runTask.sync", "local", &json!([program]), &[]);
}
