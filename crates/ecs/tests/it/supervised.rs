//! The local backend with a state directory: every task under a supervisor process (`supervise`), and a
//! second backend on the same directory — as a restarted server — adopting what the first one started.
//!
//! The supervisor program of these tests is this test binary, re-run as `supervised::supervisor_child`
//! with [`SUPERVISE`] among its arguments and the task's directory as the last one (the crate does not
//! assume it runs inside the `sfn` binary; the CLI's end-to-end tests run the real one).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sfn_ecs::params::RunTaskParams;
use sfn_ecs::{EcsBackend, EcsTask, LocalBackend, RunTaskRequest, SupervisorCommand};

use crate::support::tds;

/// The argument that makes `supervisor_child` a supervisor.
const SUPERVISE: &str = "SFN-ECS-IT-SUPERVISE";

/// A supervisor (a no-op unless this binary was started as one by [`command`]).
#[test]
fn supervisor_child() {
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == SUPERVISE) {
        return;
    }
    let dir = PathBuf::from(args.last().unwrap());
    let code = match sfn_ecs::supervise(&dir) {
        Ok(_) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    };
    std::process::exit(code);
}

fn command() -> SupervisorCommand {
    SupervisorCommand {
        program: std::env::current_exe().unwrap(),
        args: ["supervised::supervisor_child", "--exact", "--nocapture", "--test-threads=1", SUPERVISE]
            .map(Into::into)
            .to_vec(),
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("sfn-ecs-supervised-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn starts(&self) -> usize {
        std::fs::read_to_string(self.0.join("starts")).unwrap_or_default().lines().count()
    }

    fn backend(&self) -> Arc<LocalBackend> {
        self.backend_with(|b| b)
    }

    /// The backend, with `f`'s settings on top.
    fn backend_with(&self, f: impl FnOnce(LocalBackend) -> LocalBackend) -> Arc<LocalBackend> {
        let script = format!("echo started >> {}; sleep 0.5", self.0.join("starts").display());
        let defs = tds(&[
            json!({"family": "job", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app",
                "image": "busybox", "entryPoint": ["sh", "-c"], "command": [script]}]}),
            json!({"family": "sleeper", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app",
                "image": "busybox", "entryPoint": ["sh", "-c"], "command": ["sleep 300 & setsid sleep 301 & wait"]}]}),
            // 50 MB of output in lines of 999 bytes and their newlines, then exit code 3.
            json!({"family": "flood", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app",
                "image": "busybox", "entryPoint": ["sh", "-c"],
                "command": ["head -c 49950000 /dev/zero | tr '\\0' x | fold -w 999; echo; echo last line; exit 3"]}]}),
        ]);
        let b = f(LocalBackend::new(defs).with_stop_grace(Duration::from_millis(500)))
            .with_state_dir(&self.0.join("state"), command())
            .unwrap();
        Arc::new(b)
    }

    fn task_dir(&self, arn: &str) -> PathBuf {
        self.0.join("state/tasks").join(arn.rsplit('/').next().unwrap())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn request(family: &str, token: Option<&str>) -> RunTaskRequest {
    RunTaskRequest {
        params: RunTaskParams::parse(&json!({"TaskDefinition": family, "LaunchType": "FARGATE"})).unwrap(),
        client_token: token.map(str::to_owned),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        ..RunTaskRequest::default()
    }
}

const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/default";

async fn describe(b: &LocalBackend, arn: &str) -> sfn_ecs::DescribeOutput {
    b.describe_tasks(CLUSTER, &[arn.to_owned()]).await.unwrap()
}

async fn wait_for(b: &LocalBackend, arn: &str, mut f: impl FnMut(&EcsTask) -> bool) -> EcsTask {
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        let d = describe(b, arn).await;
        assert!(d.failures.is_empty(), "{:?}", d.failures);
        if f(&d.tasks[0]) {
            return d.tasks[0].clone();
        }
        assert!(Instant::now() < give_up, "gave up waiting for {arn}: {:?}", d.tasks[0]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Processes (not zombies) that carry the task's marker.
fn marked(arn: &str) -> Vec<u32> {
    let marker = format!("SFN_ECS_TASK_ARN={arn}").into_bytes();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with(['Z', 'X'])) {
            continue;
        }
        let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
        if env.split(|b| *b == 0).any(|v| v == &marker[..]) {
            out.push(pid);
        }
    }
    out
}

/// A restarted server repeats the RunTask of a Task whose TaskScheduled was recorded but not its
/// submission (the engine's idempotency key is the `ClientToken`): the task the dead server started is
/// found, not started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_client_token_finds_the_task_a_previous_backend_started() {
    let dir = Dir::new("token");
    let first = dir.backend();
    let out = first.run_task(&request("job", Some("sfn-abc-5-1"))).await.unwrap();
    let arn = out.tasks[0].task_arn.clone();
    drop(first);

    let second = dir.backend();
    let again = second.run_task(&request("job", Some("sfn-abc-5-1"))).await.unwrap();
    assert_eq!(again.tasks.len(), 1);
    assert_eq!(again.tasks[0].task_arn, arn, "the same task");
    assert_eq!(again.tasks[0], out.tasks[0], "RunTask's answer, as first given");
    let t = wait_for(&second, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.containers[0].exit_code, Some(0), "{t:?}");
    assert_eq!(dir.starts(), 1, "one start");
    // Another token is another task.
    let other = second.run_task(&request("job", Some("sfn-abc-6-1"))).await.unwrap();
    assert_ne!(other.tasks[0].task_arn, arn);
    wait_for(&second, &other.tasks[0].task_arn, EcsTask::is_stopped).await;
    assert_eq!(dir.starts(), 2);
}

/// A server that died after recording a task (and its `ClientToken`) but before its supervisor ran:
/// the next one, asked again with the token, starts that very task — once. (The first backend's
/// "supervisor" here is `true`, which exits without starting anything, as a dead server's never ran.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_recorded_but_never_started_is_started_once_by_the_next_backend() {
    let dir = Dir::new("unstarted");
    let never = SupervisorCommand { program: "true".into(), args: Vec::new() };
    let first = LocalBackend::new(tds(&[json!({"family": "job", "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["sh", "-c"],
            "command": [format!("echo started >> {}", dir.0.join("starts").display())]}]})]))
    .with_state_dir(&dir.0.join("state"), never)
    .unwrap();
    let out = first.run_task(&request("job", Some("sfn-def-3-1"))).await.unwrap();
    let arn = out.tasks[0].task_arn.clone();
    let t = wait_for(&first, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.stop_code.as_deref(), Some("TaskFailedToStart"), "{t:?}");
    assert!(t.stopped_reason.unwrap().contains("supervisor exited before it started the task"));
    assert!(!dir.task_dir(&arn).join("status.json").exists());
    drop(first);

    let second = dir.backend();
    let again = second.run_task(&request("job", Some("sfn-def-3-1"))).await.unwrap();
    assert_eq!(again.tasks[0].task_arn, arn);
    let t = wait_for(&second, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.containers[0].exit_code, Some(0), "{t:?}");
    assert_eq!(dir.starts(), 1);
    // Asked again, it is not started again.
    let third = dir.backend();
    wait_for(&third, &arn, EcsTask::is_stopped).await;
    assert_eq!(third.run_task(&request("job", Some("sfn-def-3-1"))).await.unwrap().tasks[0].task_arn, arn);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dir.starts(), 1);
}

/// Damaged files are a clear error for their task — STOPPED with the file and what is wrong in its
/// reason — never a panic and never MISSING (the task ran); a task id with no directory is MISSING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_task_files_stop_the_task_with_a_located_cause() {
    let dir = Dir::new("damaged");
    let first = dir.backend();
    let a = first.run_task(&request("job", None)).await.unwrap().tasks[0].task_arn.clone();
    let b = first.run_task(&request("job", None)).await.unwrap().tasks[0].task_arn.clone();
    wait_for(&first, &a, EcsTask::is_stopped).await;
    wait_for(&first, &b, EcsTask::is_stopped).await;
    drop(first);
    // A status cut short, and a record that is not JSON.
    let status = dir.task_dir(&a).join("status.json");
    let text = std::fs::read(&status).unwrap();
    std::fs::write(&status, &text[..text.len() / 2]).unwrap();
    std::fs::write(dir.task_dir(&b).join("task.json"), "{\"format\": 1, \"task\": ").unwrap();

    let second = dir.backend();
    let t = wait_for(&second, &a, EcsTask::is_stopped).await;
    assert_eq!(t.stop_code.as_deref(), Some("InfrastructureHealth"), "{t:?}");
    let reason = t.stopped_reason.clone().unwrap();
    assert!(
        reason.contains(&status.display().to_string()) && reason.contains("is not a task status"),
        "{reason}"
    );
    assert_eq!(t.containers[0].exit_code, None, "no exit code is made up");
    let t = wait_for(&second, &b, EcsTask::is_stopped).await;
    let reason = t.stopped_reason.clone().unwrap();
    assert!(reason.contains("task.json") && reason.contains("is not a task record"), "{reason}");

    let unknown = format!("{CLUSTER}/0123456789abcdef0123456789abcdef").replace(":cluster/", ":task/");
    let d = describe(&second, &unknown).await;
    assert_eq!(d.failures[0].reason, "MISSING");
    let outside = "arn:aws:ecs:us-east-1:123456789012:task/default/..";
    assert_eq!(describe(&second, outside).await.failures[0].reason, "MISSING");
}

/// A supervisor that dies (kill -9) leaves no one to record its task's end: the server says so
/// (STOPPED, `InfrastructureHealth`) and kills what is left of the task, `setsid` children included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_supervisor_stops_its_task_and_leaves_no_process() {
    let dir = Dir::new("killed");
    let b = dir.backend();
    let arn = b.run_task(&request("sleeper", None)).await.unwrap().tasks[0].task_arn.clone();
    wait_for(&b, &arn, |t| t.last_status == "RUNNING").await;
    let give_up = Instant::now() + Duration::from_secs(60);
    while marked(&arn).len() < 3 {
        assert!(Instant::now() < give_up, "the container's children did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.task_dir(&arn).join("status.json")).unwrap()).unwrap();
    let pid = status["supervisor"]["pid"].as_i64().unwrap();
    assert!(std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap().success());

    let t = wait_for(&b, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.stop_code.as_deref(), Some("InfrastructureHealth"), "{t:?}");
    let reason = t.stopped_reason.unwrap();
    assert!(reason.contains(&format!("supervisor (pid {pid}) ended without recording")), "{reason}");
    let give_up = Instant::now() + Duration::from_secs(30);
    while !marked(&arn).is_empty() {
        assert!(Instant::now() < give_up, "processes left: {:?}", marked(&arn));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// StopTask reaches a supervised task through its stop file: every process of it goes, and the task is
/// STOPPED `UserInitiated` with the reason given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_task_stops_a_supervised_task_and_its_descendants() {
    let dir = Dir::new("stop");
    let b = dir.backend();
    let arn = b.run_task(&request("sleeper", None)).await.unwrap().tasks[0].task_arn.clone();
    wait_for(&b, &arn, |t| t.last_status == "RUNNING").await;
    let give_up = Instant::now() + Duration::from_secs(60);
    while marked(&arn).len() < 3 {
        assert!(Instant::now() < give_up, "the container's children did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.stop_task(CLUSTER, &arn, "Execution stopped").await.unwrap();
    let t = wait_for(&b, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.stop_code.as_deref(), Some("UserInitiated"), "{t:?}");
    assert_eq!(t.stopped_reason.as_deref(), Some("Execution stopped"));
    assert_eq!(t.containers[0].exit_code, Some(143), "SIGTERM: {t:?}");
    assert!(marked(&arn).is_empty(), "{:?}", marked(&arn));
}

/// Through the engine: a `.sync` state's `TimeoutSeconds` stops a supervised task (StopTask, its stop
/// file) and every process of it, `setsid` ones included (the suite's orphan check after the execution).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_timeout_stops_a_supervised_task_and_leaves_no_process() {
    let dir = Dir::new("timeout");
    let (engine, _) = crate::support::engine(dir.backend());
    let params = json!({"TaskDefinition": "sleeper", "LaunchType": "FARGATE"});
    let def =
        crate::support::machine("arn:aws:states:::ecs:runTask.sync", params, json!({"TimeoutSeconds": 1}));
    let (o, h) = crate::support::run(&engine, def, json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"), "{o:?}");
    let tasks = crate::support::sync_tasks(&h);
    assert_eq!(tasks.len(), 1);
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.task_dir(&tasks[0].1).join("status.json")).unwrap())
            .unwrap();
    assert_eq!(status["status"], "STOPPED", "{status}");
}

/// Bytes of container 0's stored output on disk (both its files).
fn stored_output(task_dir: &std::path::Path) -> u64 {
    ["container-0.log", "container-0.log.1"]
        .iter()
        .filter_map(|f| std::fs::metadata(task_dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// A container that prints 50 MB keeps at most the cap on disk (checked while it runs and after), its
/// exit code and status are intact, and the newest output — its last line — is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabytes_of_output_leave_at_most_the_cap_on_disk_and_the_exit_code() {
    let dir = Dir::new("flood");
    let cap = sfn_ecs::MIN_STORED_OUTPUT_BYTES;
    let b = dir.backend_with(|b| b.with_stored_output_cap(cap));
    let arn = b.run_task(&request("flood", None)).await.unwrap().tasks[0].task_arn.clone();
    let task_dir = dir.task_dir(&arn);
    let mut peak = 0;
    let t = wait_for(&b, &arn, |t| {
        peak = peak.max(stored_output(&task_dir));
        t.is_stopped()
    })
    .await;
    assert_eq!(t.containers[0].exit_code, Some(3), "{t:?}");
    assert_eq!(t.stop_code.as_deref(), Some("EssentialContainerExited"));
    let on_disk = stored_output(&task_dir);
    assert!(peak <= cap && on_disk <= cap, "{peak} / {on_disk} bytes on disk, cap {cap}");
    assert!(on_disk > cap / 2, "the newest half of the cap at least is kept: {on_disk}");
    let log = std::fs::read_to_string(task_dir.join("container-0.log")).unwrap();
    assert!(log.trim_end().ends_with(r#""l":"last line"}"#), "{}", &log[log.len().saturating_sub(200)..]);
    let lines: Vec<String> = b.logs(&arn).into_iter().flat_map(|l| l.lines).collect();
    assert_eq!(lines.last().map(String::as_str), Some("last line"));

    // A restarted server reads the outcome, and what was dropped is said, not hidden.
    drop(b);
    let second = dir.backend();
    let t = wait_for(&second, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.containers[0].exit_code, Some(3), "{t:?}");
    let lines: Vec<String> = second.logs(&arn).into_iter().flat_map(|l| l.lines).collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("[sfn: ") && l.contains("were dropped")),
        "{:?}",
        lines.first()
    );
    assert_eq!(lines.last().map(String::as_str), Some("last line"));
}

/// A finished task's directory is deleted once its retention after it was last reported STOPPED is
/// over (the execution has its outcome by then), and it is MISSING after that; the restart adoption of
/// a running task is unchanged (the tests above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_tasks_directory_is_deleted_after_the_execution_has_its_outcome() {
    let dir = Dir::new("retention");
    let b = dir.backend_with(|b| b.with_stopped_task_retention(Duration::from_millis(300)));
    let (engine, _) = crate::support::engine(b.clone());
    let params = json!({"TaskDefinition": "job", "LaunchType": "FARGATE"});
    let def = crate::support::machine("arn:aws:states:::ecs:runTask.sync", params, json!({}));
    let (o, h) = crate::support::run(&engine, def, json!({})).await;
    assert_eq!(o.status.as_str(), "SUCCEEDED", "{o:?}");
    let (_, arn) = crate::support::sync_tasks(&h).pop().unwrap();
    // Its directory goes, and its ClientToken record right after it.
    let tokens = || std::fs::read_dir(dir.0.join("state/tasks/tokens")).map(|d| d.count()).unwrap_or(0);
    let task_dir = dir.task_dir(&arn);
    let give_up = Instant::now() + Duration::from_secs(30);
    while task_dir.exists() || tokens() > 0 {
        assert!(Instant::now() < give_up, "{} or its token record is still there", task_dir.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(describe(&b, &arn).await.failures[0].reason, "MISSING");
    let left: Vec<_> =
        std::fs::read_dir(dir.0.join("state/tasks")).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| n == "tokens"), "{left:?}");
}

/// A supervised task's directory holds the outcome a resumed execution reads after a crash, so it stays,
/// whatever the retention, until the `.sync` state's end is on record (`EcsBackend::release`, which the
/// engine calls once that event is durable): a server that died between DescribeTasks reporting STOPPED
/// and the journal's commit finds the outcome again, never MISSING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_tasks_directory_stays_until_its_end_is_on_record() {
    let dir = Dir::new("release");
    let b = dir.backend_with(|b| b.with_stopped_task_retention(Duration::ZERO));
    let arn = b.run_task(&request("job", Some("sfn-r-1-0"))).await.unwrap().tasks[0].task_arn.clone();
    let t = wait_for(&b, &arn, EcsTask::is_stopped).await;
    assert_eq!(t.containers[0].exit_code, Some(0), "{t:?}");
    // Reported STOPPED, retention zero, not released: several reaper rounds later it is all still there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(dir.task_dir(&arn).exists(), "deleted before its end was on record");
    assert_eq!(describe(&b, &arn).await.tasks[0].containers[0].exit_code, Some(0));
    b.release(&arn);
    let give_up = Instant::now() + Duration::from_secs(30);
    while dir.task_dir(&arn).exists() {
        assert!(Instant::now() < give_up, "{} is still there once released", dir.task_dir(&arn).display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What earlier servers left — a finished task nobody asks for — is deleted by the next backend once
/// its retention is over; one that is asked for meanwhile reports its outcome first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_backend_deletes_finished_tasks_nobody_asks_for() {
    let dir = Dir::new("sweep");
    let first = dir.backend();
    let asked = first.run_task(&request("job", Some("sfn-x-1-0"))).await.unwrap().tasks[0].task_arn.clone();
    let unasked = first.run_task(&request("job", Some("sfn-x-2-0"))).await.unwrap().tasks[0].task_arn.clone();
    let never_recorded =
        first.run_task(&request("job", Some("sfn-x-3-0"))).await.unwrap().tasks[0].task_arn.clone();
    wait_for(&first, &asked, EcsTask::is_stopped).await;
    wait_for(&first, &unasked, EcsTask::is_stopped).await;
    wait_for(&first, &never_recorded, EcsTask::is_stopped).await;
    // The engine had the end of `unasked` on record; that of `never_recorded` was not yet (the server
    // died before the journal's commit).
    first.release(&unasked);
    drop(first);
    assert!(dir.task_dir(&unasked).exists(), "a finished task stays for its retention (an hour by default)");

    let retention = Duration::from_millis(500);
    let second = dir.backend_with(|b| b.with_stopped_task_retention(retention));
    let t = wait_for(&second, &asked, EcsTask::is_stopped).await;
    assert_eq!(t.containers[0].exit_code, Some(0), "{t:?}");
    // The resumed execution that asked records the task's end (the engine then releases it).
    second.release(&asked);
    // The directories go, and their ClientToken records with them (a record just after its task's
    // directory: both are waited for).
    let tokens = || std::fs::read_dir(dir.0.join("state/tasks/tokens")).map(|d| d.count()).unwrap_or(0);
    let give_up = Instant::now() + Duration::from_secs(30);
    // (`never_recorded`'s token record stays with its directory.)
    while dir.task_dir(&unasked).exists() || dir.task_dir(&asked).exists() || tokens() > 1 {
        assert!(
            Instant::now() < give_up,
            "left: directories {} {}, {} token records",
            dir.task_dir(&unasked).exists(),
            dir.task_dir(&asked).exists(),
            tokens()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        dir.task_dir(&never_recorded).exists(),
        "an outcome not on record elsewhere is kept for ECS's hour"
    );
    assert_eq!(dir.starts(), 3, "nothing ran again");
}
