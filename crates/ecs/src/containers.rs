//! Running one local task's containers, written once for both places a local task runs: inside the sfn
//! process (`sfn run`, a server without a state directory) and inside its supervisor (`supervisor.rs`,
//! with a state directory). Where the task's changes and its output go is the [`TaskHost`]'s business:
//! in process, the task DescribeTasks reports and the output buffers; in a supervisor, the task's
//! directory (`taskdir.rs`).
//!
//! [`drive`] takes a task from PENDING to STOPPED: it starts the containers in order (argv, never a
//! shell; each in its own process group, with the task's marker [`TASK_ARN_VAR`]), runs until an essential
//! container exits or it is told to stop, and stops every process of the task (`procs.rs`: SIGTERM, SIGKILL
//! after the grace), reporting STOPPED only once none is left and the output is read to its end.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::backend::millis;
use crate::lifecycle::{ESSENTIAL_CONTAINER_EXITED, STOPPED_BY_USER, StopCode};
use crate::output::Readers;
use crate::procs::{self, TASK_ARN_VAR, TaskProcs};
use crate::taskdir::{ContainerRun, Event};

/// Where a running task's changes and output go.
pub(crate) trait TaskHost: Send + Sync {
    /// One change of the task's life cycle.
    fn record(&self, event: Event);
    /// Starts reading container `i`'s stdout and stderr.
    fn capture(&self, i: usize, child: &mut Child) -> Readers;
}

/// How long processes still there after SIGKILL are waited for before the task is reported STOPPED anyway
/// (a process in uninterruptible sleep; logged).
pub(crate) const KILL_WAIT: Duration = Duration::from_secs(5);

pub(crate) fn now_ms() -> i64 {
    millis(chrono::Utc::now())
}

/// The exit code ECS reports for a process: its code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9))
}

/// What a task's containers are, once they were started.
enum Started {
    /// Every container runs (by index in the task definition).
    All(Vec<Child>),
    /// A container could not start (the reason); those started before it.
    Failed(String, Vec<Child>),
}

/// Drives one task (`task_arn`, `containers`) from PENDING to STOPPED; `stop` says when StopTask asks
/// (with its reason).
pub(crate) async fn drive(
    host: &dyn TaskHost,
    task_arn: &str,
    containers: &[ContainerRun],
    grace: Duration,
    stop: watch::Receiver<Option<String>>,
) {
    host.record(Event::Pending { at: now_ms() });
    let mut procs = TaskProcs::new(task_arn);
    let mut readers = Readers::default();
    match start_containers(host, task_arn, containers, &mut procs, &mut readers) {
        Started::Failed(reason, children) => fail_to_start(host, children, &mut procs, &reason).await,
        Started::All(children) => {
            host.record(Event::Running { at: now_ms() });
            let (code, reason) =
                run_until_stopped(host, task_arn, containers, children, &mut procs, grace, stop).await;
            // The output is complete before the task is STOPPED (its processes are gone, so are the pipes).
            readers.finish(KILL_WAIT).await;
            host.record(Event::Stopped { stop_code: code, reason, at: now_ms() });
        }
    }
}

/// Starts every container in order; the first that cannot start fails the task to start. Each container
/// gets the task's marker ([`TASK_ARN_VAR`]), which neither the task definition nor an override can change.
fn start_containers(
    host: &dyn TaskHost,
    task_arn: &str,
    containers: &[ContainerRun],
    procs: &mut TaskProcs,
    readers: &mut Readers,
) -> Started {
    procs::become_subreaper();
    let mut children = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let mut env: Vec<(String, String)> =
            c.env.iter().filter(|(k, _)| k != TASK_ARN_VAR).cloned().collect();
        env.push((TASK_ARN_VAR.to_owned(), task_arn.to_owned()));
        match spawn(c, &env) {
            Ok(mut child) => {
                readers.extend(host.capture(i, &mut child));
                if let Some(pid) = child.id() {
                    procs.add_container(pid);
                }
                host.record(Event::ContainerStarted { container: i, pid: child.id() });
                children.push(child);
            }
            Err(reason) => {
                host.record(Event::ContainerFailedToStart { container: i, reason: reason.clone() });
                return Started::Failed(reason, children);
            }
        }
    }
    Started::All(children)
}

/// One container's process (argv, never a shell), in its own process group; `Err` is the container's
/// `CannotStartContainerError` reason.
fn spawn(c: &ContainerRun, env: &[(String, String)]) -> Result<Child, String> {
    let Some((prog, rest)) = c.argv.split_first() else {
        return Err(format!("CannotStartContainerError: container {} has no entryPoint or command", c.name));
    };
    let mut cmd = Command::new(prog);
    cmd.args(rest)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &c.working_directory {
        cmd.current_dir(dir);
    }
    cmd.spawn().map_err(|e| format!("CannotStartContainerError: failed to start {prog}: {e}"))
}

/// A container could not start: every process of those already started is killed, the task is STOPPED
/// (`TaskFailedToStart`).
async fn fail_to_start(host: &dyn TaskHost, mut children: Vec<Child>, procs: &mut TaskProcs, reason: &str) {
    procs.scan();
    procs.signal(Signal::SIGKILL);
    for child in &mut children {
        let _ = child.wait().await;
    }
    let give_up = tokio::time::Instant::now() + KILL_WAIT;
    loop {
        procs.scan();
        if procs.is_empty() || tokio::time::Instant::now() >= give_up {
            break;
        }
        procs.signal(Signal::SIGKILL);
        tokio::time::sleep(procs::SCAN_EVERY).await;
    }
    host.record(Event::FailedToStart { reason: reason.to_owned(), at: now_ms() });
}

/// Waits until an essential container exits or the task is stopped (StopTask), recording the task's
/// processes meanwhile; then every process of the task gets SIGTERM (those that appear while it stops
/// too), and SIGKILL after `grace`. Returns, once none is left, the task's stop code and reason.
async fn run_until_stopped(
    host: &dyn TaskHost,
    task_arn: &str,
    containers: &[ContainerRun],
    children: Vec<Child>,
    procs: &mut TaskProcs,
    grace: Duration,
    mut stop_rx: watch::Receiver<Option<String>>,
) -> (StopCode, String) {
    use futures_util::StreamExt as _;
    let mut waits = futures_util::stream::FuturesUnordered::new();
    for (i, mut ch) in children.into_iter().enumerate() {
        waits.push(async move {
            let status = ch.wait().await;
            (i, status.map(exit_code).ok(), ch)
        });
    }
    let mut running: HashSet<usize> = (0..containers.len()).collect();
    let mut stop: Option<(StopCode, String)> = None;
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut killing = false;
    let mut tick = tokio::time::interval(procs::SCAN_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Told to stop: every process of the task gets SIGTERM now and SIGKILL at the deadline.
    let stopping = |stop: &mut Option<(StopCode, String)>, code, reason, procs: &mut TaskProcs| {
        *stop = Some((code, reason));
        procs.scan();
        procs.signal(Signal::SIGTERM);
        host.record(Event::Stopping { at: now_ms() });
        tokio::time::Instant::now() + grace
    };
    // A stop asked before the task ran (StopTask while it started) counts.
    let asked = stop_rx.borrow_and_update().clone();
    if let Some(reason) = asked {
        deadline = Some(stopping(&mut stop, StopCode::UserInitiated, reason, procs));
    }
    loop {
        if stop.is_some() && running.is_empty() {
            procs.scan();
            if procs.is_empty() {
                break;
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d + KILL_WAIT) {
                tracing::warn!(task = %task_arn, left = procs.left(),
                    "processes of a stopped local task survived SIGKILL");
                break;
            }
        }
        tokio::select! {
            Some((i, code, _child)) = waits.next() => {
                running.remove(&i);
                host.record(Event::ContainerExited { container: i, exit_code: code, at: now_ms() });
                if stop.is_none() && (containers[i].essential || running.is_empty()) {
                    let reason = ESSENTIAL_CONTAINER_EXITED.to_owned();
                    deadline = Some(stopping(&mut stop, StopCode::EssentialContainerExited, reason, procs));
                }
            }
            Ok(()) = stop_rx.changed(), if stop.is_none() => {
                let reason = stop_rx.borrow().clone().unwrap_or_else(|| STOPPED_BY_USER.into());
                deadline = Some(stopping(&mut stop, StopCode::UserInitiated, reason, procs));
            }
            _ = tick.tick() => {
                procs.scan();
                if killing || deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    killing = true;
                    procs.signal(Signal::SIGKILL);
                } else if stop.is_some() {
                    procs.signal(Signal::SIGTERM);
                }
            }
        }
    }
    stop.unwrap_or_else(|| (StopCode::EssentialContainerExited, ESSENTIAL_CONTAINER_EXITED.into()))
}
