//! Local tasks survive a crash of `sfn serve --state-dir D --ecs local` (issue 16, item 5): each
//! container runs under a supervisor (`sfn __supervise`) that keeps its status, exit code and output in
//! `D/tasks/<task-id>/`; after kill -9 of the server and a restart on the same directory, a running task
//! is followed again (one start per task, never `MISSING`), one that finished meanwhile reports its real
//! exit code, and StopExecution still kills the adopted container and all its descendants.
//!
//! The real `sfn` binary, the Step Functions API through `sfn_server::client`. Each container appends a
//! line (its task ARN) to a file when it starts: the starts are counted there. "No process left" is read
//! from `/proc`: no supervisor of the state directory and no process carrying one of the tasks' marker
//! (`SFN_ECS_TASK_ARN`) is running.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::unique;

/// Generous: the machine is shared and busy; every wait polls and ends as soon as it can.
const PATIENCE: Duration = Duration::from_secs(90);

struct Fixture {
    dir: PathBuf,
    starts: PathBuf,
}

impl Fixture {
    /// A state directory and a task definition `job` running `script` (`sh -c`; `$STARTS` is the file of
    /// starts, `$GO` a file the test creates when the container may go on).
    fn new(name: &str, script: &str) -> Fixture {
        let dir =
            std::env::temp_dir().join(format!("sfn-cli-super-{name}-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("task-definitions")).unwrap();
        let starts = dir.join("starts");
        let td = json!({"family": "job", "cpu": "256", "memory": "512", "containerDefinitions": [{
            "name": "app", "image": "busybox", "entryPoint": ["sh", "-c"], "command": [script],
            "environment": [{"name": "STARTS", "value": starts.display().to_string()},
                {"name": "GO", "value": dir.join("go").display().to_string()}]}]});
        std::fs::write(dir.join("task-definitions/job.json"), td.to_string()).unwrap();
        Fixture { dir, starts }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// `sfn serve --state-dir D --ecs local` on an ephemeral port.
    fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// [`Fixture::serve`] with more flags.
    fn serve_with(&self, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["serve", "--listen", "127.0.0.1:0", "--ecs", "local", "--state-dir"])
            .arg(self.state_dir())
            .arg("--task-definitions")
            .arg(self.dir.join("task-definitions"))
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        let endpoint = first.trim().rsplit_once(' ').unwrap().1.to_owned();
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{first}");
        // Keep reading the server's stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
        Server { child, endpoint }
    }

    /// The task ARNs the containers wrote when they started, one line per start.
    fn starts(&self) -> Vec<String> {
        std::fs::read_to_string(&self.starts).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    fn wait_for_starts(&self, n: usize) -> Vec<String> {
        wait_until("the containers started", || {
            let s = self.starts();
            (s.len() >= n).then_some(s)
        })
    }

    /// The statuses the supervisors wrote (`D/tasks/*/status.json`), by task id.
    fn statuses(&self) -> Vec<(String, Value)> {
        let Ok(entries) = std::fs::read_dir(self.state_dir().join("tasks")) else { return Vec::new() };
        entries
            .flatten()
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path().join("status.json")).ok()?;
                Some((e.file_name().to_string_lossy().into_owned(), serde_json::from_str(&text).ok()?))
            })
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Server {
    child: Child,
    endpoint: String,
}

impl Server {
    fn call(&self, operation: &str, body: Value) -> Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let target = format!("AWSStepFunctions.{operation}");
        rt.block_on(sfn_server::call_endpoint(&self.endpoint, &target, &body))
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    fn create(&self, definition: &Value) -> String {
        let v = self.call(
            "CreateStateMachine",
            json!({"name": "job", "definition": definition.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/sfn"}),
        );
        v["stateMachineArn"].as_str().unwrap().to_owned()
    }

    fn start(&self, machine: &str, name: &str) -> String {
        let v = self.call("StartExecution", json!({"stateMachineArn": machine, "name": name}));
        v["executionArn"].as_str().unwrap().to_owned()
    }

    fn history_types(&self, execution: &str) -> Vec<String> {
        let v = self.call("GetExecutionHistory", json!({"executionArn": execution, "maxResults": 1000}));
        v["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
    }

    /// Waits until every execution's history holds `kind` (the journal commits in the background, and
    /// what the server answers is committed).
    fn wait_for_event(&self, executions: &[String], kind: &str) {
        for e in executions {
            wait_until(kind, || self.history_types(e).iter().any(|t| t == kind).then_some(()));
        }
    }

    fn wait_done(&self, execution: &str) -> Value {
        wait_until("the execution ended", || {
            let d = self.call("DescribeExecution", json!({"executionArn": execution}));
            (d["status"] != "RUNNING").then_some(d)
        })
    }

    /// kill -9: no shutdown code runs.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < give_up, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The running (not zombie) processes that are a supervisor of `state_dir` or carry one of `arns`'
/// markers: `pid cmdline`.
fn leftovers(state_dir: &Path, arns: &[String]) -> Vec<String> {
    let dir = state_dir.display().to_string();
    let markers: Vec<Vec<u8>> = arns.iter().map(|a| format!("SFN_ECS_TASK_ARN={a}").into_bytes()).collect();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
        if state.flatten().is_none_or(|s| s == 'Z' || s == 'X') {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let supervisor = cmdline.contains("__supervise") && cmdline.contains(&dir);
        let marked = environ.split(|b| *b == 0).any(|e| markers.iter().any(|m| e == &m[..]));
        if supervisor || marked {
            out.push(format!("{pid} {cmdline}"));
        }
    }
    out
}

fn wait_no_leftovers(state_dir: &Path, arns: &[String]) {
    let give_up = Instant::now() + PATIENCE;
    loop {
        let left = leftovers(state_dir, arns);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < give_up, "processes left: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sync_machine() -> Value {
    json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"TaskDefinition": "job", "LaunchType": "FARGATE"}, "End": true}}})
}

/// The "done when": five `.sync` tasks (`sleep 5`) running, kill -9 of the server, a restart on
/// the same state directory: all five executions succeed, five container starts in total, no process
/// left.
#[test]
fn five_running_sync_tasks_survive_a_kill_9_of_the_server() {
    let f = Fixture::new("five", "echo \"$SFN_ECS_TASK_ARN\" >> \"$STARTS\"; sleep 5");
    let server = f.serve();
    let machine = server.create(&sync_machine());
    let executions: Vec<String> = (0..5).map(|i| server.start(&machine, &format!("e{i}"))).collect();
    let arns = f.wait_for_starts(5);
    server.wait_for_event(&executions, "TaskSubmitted");
    server.kill_9();
    // The tasks run on without the server: every task not yet STOPPED still has its supervisor (the
    // processes are looked at first: a supervisor exits only after writing STOPPED).
    let supervisors = leftovers(&f.state_dir(), &arns).iter().filter(|l| l.contains("__supervise")).count();
    let running = f.statuses().iter().filter(|(_, s)| s["status"] != "STOPPED").count();
    assert!(running >= 1 && supervisors >= running, "{running} tasks running, {supervisors} supervisors");

    let server = f.serve();
    for e in &executions {
        let d = server.wait_done(e);
        assert_eq!(d["status"], "SUCCEEDED", "{d}");
        let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        assert_eq!(out["LastStatus"], "STOPPED", "{out}");
        assert_eq!(out["Containers"][0]["ExitCode"], 0, "{out}");
        assert!(arns.contains(&out["TaskArn"].as_str().unwrap().to_owned()), "{out}");
    }
    let mut starts = f.starts();
    assert_eq!(starts.len(), 5, "one start per task: {starts:?}");
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), 5, "five distinct tasks");
    wait_no_leftovers(&f.state_dir(), &arns);
    server.stop();
}

/// A container that ended while no server ran: the restarted server reads its outcome — the real exit
/// code, failing the state as AWS's `.sync` does (`States.TaskFailed`, the stopped task as the cause).
#[test]
fn a_task_that_ended_while_the_server_was_down_reports_its_real_exit_code() {
    let f = Fixture::new(
        "exit3",
        "echo \"$SFN_ECS_TASK_ARN\" >> \"$STARTS\"; while [ ! -e \"$GO\" ]; do sleep 0.05; done; exit 3",
    );
    let server = f.serve();
    let machine = server.create(&sync_machine());
    let execution = server.start(&machine, "exit3");
    let arns = f.wait_for_starts(1);
    server.wait_for_event(std::slice::from_ref(&execution), "TaskSubmitted");
    server.kill_9();
    // The container ends, and its supervisor records it, while no server runs.
    std::fs::write(f.dir.join("go"), "").unwrap();
    wait_until("the task's status says STOPPED", || {
        f.statuses().into_iter().find(|(_, s)| s["status"] == "STOPPED").map(|_| ())
    });
    wait_no_leftovers(&f.state_dir(), &arns);

    let server = f.serve();
    let d = server.wait_done(&execution);
    assert_eq!(d["status"], "FAILED", "{d}");
    assert_eq!(d["error"], "States.TaskFailed", "{d}");
    let task: Value = serde_json::from_str(d["cause"].as_str().unwrap()).unwrap();
    assert_eq!(task["Containers"][0]["ExitCode"], 3, "{task}");
    assert_eq!(task["StopCode"], "EssentialContainerExited", "{task}");
    assert_eq!(task["TaskArn"], arns[0].as_str(), "{task}");
    assert_eq!(f.starts().len(), 1, "never run again");
    server.stop();
}

/// StopExecution after a restart stops the adopted task: its container, a background child and a `setsid`
/// grandchild all go.
#[test]
fn stop_execution_after_a_restart_kills_the_adopted_task_and_its_descendants() {
    let f = Fixture::new(
        "stop",
        "echo \"$SFN_ECS_TASK_ARN\" >> \"$STARTS\"; sleep 300 & setsid sleep 301 & wait",
    );
    let server = f.serve();
    let machine = server.create(&sync_machine());
    let execution = server.start(&machine, "stop");
    let arns = f.wait_for_starts(1);
    server.wait_for_event(std::slice::from_ref(&execution), "TaskSubmitted");
    server.kill_9();
    wait_until("the container's descendants run", || {
        let left = leftovers(&f.state_dir(), &arns);
        let sleeps =
            left.iter().filter(|l| l.split_once(' ').is_some_and(|(_, cmd)| cmd.starts_with("sleep 30")));
        (sleeps.count() == 2).then_some(())
    });

    let server = f.serve();
    server.call("StopExecution", json!({"executionArn": execution, "error": "Halt"}));
    let d = server.wait_done(&execution);
    assert_eq!(d["status"], "ABORTED", "{d}");
    wait_no_leftovers(&f.state_dir(), &arns);
    let (_, status) = f.statuses().pop().unwrap();
    assert_eq!(status["status"], "STOPPED", "{status}");
    let stopped = status["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(stopped["stopCode"], "UserInitiated", "{status}");
    assert_eq!(f.starts().len(), 1);
    server.stop();
}

/// `--task-output-cap`: a container that prints 2 MB keeps at most the cap on disk (its output files in
/// `D/tasks/<task-id>/`), and its task still succeeds with its exit code.
#[test]
fn task_output_cap_bounds_what_a_container_leaves_on_disk() {
    let f = Fixture::new("cap", "head -c 2000000 /dev/zero | tr '\\0' 'x' | fold -w 100; echo last");
    let server = f.serve_with(&["--task-output-cap", "262144"]);
    let machine = server.create(&sync_machine());
    let execution = server.start(&machine, "cap");
    let d = server.wait_done(&execution);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let tasks = std::fs::read_dir(f.state_dir().join("tasks")).unwrap();
    let mut logs = 0;
    for task in tasks.flatten() {
        let Ok(files) = std::fs::read_dir(task.path()) else { continue };
        let bytes: u64 = files
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("container-"))
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(bytes <= 262_144, "{bytes} bytes of output on disk, over the cap");
        logs += usize::from(bytes > 0);
    }
    assert_eq!(logs, 1, "one task's output on disk");
    server.stop();
}

/// `--stopped-task-retention 0`: a finished task's directory goes once the `.sync` wait has read its
/// STOPPED description.
#[test]
fn stopped_task_retention_zero_deletes_a_finished_tasks_directory() {
    let f = Fixture::new("retain", "echo done");
    let server = f.serve_with(&["--stopped-task-retention", "0"]);
    let machine = server.create(&sync_machine());
    let execution = server.start(&machine, "retain");
    let d = server.wait_done(&execution);
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    wait_until("the task directory deleted", || f.statuses().is_empty().then_some(()));
    server.stop();
}
