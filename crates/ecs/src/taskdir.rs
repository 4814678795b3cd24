//! The directory of a supervised local task (`STATE_DIR/tasks/<task-id>/`), the protocol between the
//! server and the task's supervisor (`supervisor.rs`), which survives the server:
//!
//! - `task.json` ([`TaskRecord`]), written by the server before it starts the supervisor: the task as
//!   RunTask returned it, its `ClientToken`, who asked, its capacity, and each container's argv,
//!   environment and working directory (mode 0600: the environment may hold secrets).
//! - `status.json` ([`Status`]), written by the supervisor only: its pid and start time, the task's phase
//!   (`PENDING`, `RUNNING`, `STOPPING`, `STOPPED`) and every change of the task's life cycle with its time
//!   ([`Event`]: container pids, exit codes, the stop code and reason). The first one is published with
//!   `link(2)`, which fails when the file exists: the supervisor that publishes it is the only one that
//!   starts the task's containers (one start per task, however many supervisors race); each later one
//!   replaces it with `rename(2)`. Every write goes to a temporary file first, so a reader sees a whole
//!   status or the one before, never half of one; a status that does not parse is damage, reported with
//!   its file and JSON location ([`TaskDirError`]).
//! - `container-<i>.log`: container `i`'s output as JSON lines (`{"t": epoch-ms, "s": "stdout"|"stderr",
//!   "l": text}`), appended by the supervisor as it reads the pipes and tailed by the server ([`Tail`]),
//!   complete before the status says STOPPED.
//! - `stop`: the reason of a StopTask, written by the server; the supervisor looks for it at every scan.
//! - `supervisor.log`: the supervisor's own standard error (why it could not run, if it could not).
//!
//! A RunTask `ClientToken` is kept as `tokens/<sha-256 of the token>` (the task ids it started), written
//! after the task records and before any supervisor starts, so a restarted server answers a repeated
//! RunTask with the tasks that exist instead of starting new ones.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lifecycle::StopCode;
use crate::model::EcsTask;
use crate::output::{LogStream, OutputLine, OutputStream};

/// Version of the files' format (a file of another version is refused, not guessed at).
pub(crate) const FORMAT: u32 = 1;

pub(crate) const TASK_FILE: &str = "task.json";
pub(crate) const STATUS_FILE: &str = "status.json";
pub(crate) const STOP_FILE: &str = "stop";
pub(crate) const SUPERVISOR_LOG: &str = "supervisor.log";

/// Where container `i`'s output goes.
pub(crate) fn output_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("container-{i}.log"))
}

/// True for a task id this backend makes (32 lowercase hex digits): the only names looked up under
/// `tasks/`, so an ARN from elsewhere never names another path.
pub(crate) fn is_task_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// One container as its supervisor starts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerRun {
    /// Its name in the task definition.
    pub(crate) name: String,
    /// entryPoint + command (a `Command` override replaces the command); empty: it cannot start.
    pub(crate) argv: Vec<String>,
    /// Its whole environment (nothing else is inherited).
    pub(crate) env: Vec<(String, String)>,
    /// `workingDirectory`.
    pub(crate) working_directory: Option<String>,
    /// Essential?
    pub(crate) essential: bool,
    /// Where its output goes on AWS (labels the lines the server tails).
    pub(crate) log_stream: Option<LogStream>,
}

/// The capacity a task holds while it runs: where it is counted, CPU units, MiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Usage(pub(crate) String, pub(crate) i64, pub(crate) i64);

/// `task.json`: what the server decided about a task before its supervisor starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TaskRecord {
    pub(crate) format: u32,
    /// The task as RunTask returned it (PROVISIONING).
    pub(crate) task: EcsTask,
    pub(crate) client_token: Option<String>,
    pub(crate) state_name: Option<String>,
    pub(crate) execution_arn: Option<String>,
    /// Between SIGTERM and SIGKILL when the task stops.
    pub(crate) stop_grace_ms: u64,
    pub(crate) usage: Usage,
    pub(crate) containers: Vec<ContainerRun>,
}

/// A process known by its pid and start time (clock ticks since boot), so a reused pid is not mistaken
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProcessId {
    pub(crate) pid: i32,
    pub(crate) start: u64,
}

/// One change of a task's life cycle, with its time (epoch ms) — the transitions of `lifecycle.rs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub(crate) enum Event {
    /// PENDING: pulled (nothing to pull locally).
    Pending { at: i64 },
    /// Container `container` runs as process `pid`.
    ContainerStarted { container: usize, pid: Option<u32> },
    /// Container `container` could not start (`CannotStartContainerError: …`).
    ContainerFailedToStart { container: usize, reason: String },
    /// STOPPED before it ran (`TaskFailedToStart`), once every process started is gone.
    FailedToStart { reason: String, at: i64 },
    /// RUNNING: every container started.
    Running { at: i64 },
    /// Container `container` exited (`exitCode` none: no code could be read).
    ContainerExited { container: usize, exit_code: Option<i32>, at: i64 },
    /// Told to stop (an essential container exited, or StopTask).
    Stopping { at: i64 },
    /// STOPPED, every process of the task gone and its output complete.
    Stopped { stop_code: StopCode, reason: String, at: i64 },
}

impl Event {
    /// True for the task's last event.
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Event::FailedToStart { .. } | Event::Stopped { .. })
    }

    /// The change this event is, made to `task`; a container the task does not have is an error (the
    /// message names the container index).
    pub(crate) fn apply(&self, task: &mut EcsTask) -> Result<(), String> {
        let check = |i: usize| {
            if i < task.containers.len() {
                Ok(i)
            } else {
                Err(format!("container {i} does not exist (the task has {})", task.containers.len()))
            }
        };
        match self {
            Event::Pending { at } => task.pending(*at),
            Event::ContainerStarted { container, pid } => {
                let i = check(*container)?;
                task.container_started(i, pid.map(|p| p.to_string()));
            }
            Event::ContainerFailedToStart { container, reason } => {
                let i = check(*container)?;
                task.container_failed_to_start(i, reason);
            }
            Event::FailedToStart { reason, at } => task.failed_to_start(reason, *at, Some(*at)),
            Event::Running { at } => task.running(*at),
            Event::ContainerExited { container, exit_code, .. } => {
                let i = check(*container)?;
                task.container_exited(i, *exit_code);
            }
            Event::Stopping { at } => task.stopping(*at),
            Event::Stopped { stop_code, reason, at } => task.stopped(stop_code.clone(), reason, *at),
        }
        Ok(())
    }
}

/// The task's phase, as `status.json` names it for people (the events say everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Phase {
    Pending,
    Running,
    Stopping,
    Stopped,
}

/// `status.json`: what the supervisor knows of its task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Status {
    pub(crate) format: u32,
    /// The supervisor.
    pub(crate) supervisor: ProcessId,
    pub(crate) status: Phase,
    /// Every change so far, in order.
    pub(crate) events: Vec<Event>,
}

impl Status {
    /// A supervisor's first status: nothing has happened yet.
    pub(crate) fn new(supervisor: ProcessId) -> Self {
        Status { format: FORMAT, supervisor, status: Phase::Pending, events: Vec::new() }
    }

    /// Adds an event (and the phase it leads to).
    pub(crate) fn push(&mut self, e: Event) {
        self.status = match &e {
            Event::Running { .. } => Phase::Running,
            Event::Stopping { .. } => Phase::Stopping,
            Event::FailedToStart { .. } | Event::Stopped { .. } => Phase::Stopped,
            _ => self.status,
        };
        self.events.push(e);
    }

    /// True once the task's last event is recorded.
    pub(crate) fn is_final(&self) -> bool {
        self.events.last().is_some_and(Event::is_final)
    }

    /// The task `initial` (as RunTask returned it) after every event; an event that does not fit the
    /// task is an error naming it (`events[3]: …`).
    pub(crate) fn describe(&self, initial: &EcsTask) -> Result<EcsTask, String> {
        let mut task = initial.clone();
        for (i, e) in self.events.iter().enumerate() {
            e.apply(&mut task).map_err(|m| format!("events[{i}]: {m}"))?;
        }
        Ok(task)
    }
}

/// A file of a task directory that cannot be used: which file, and what is wrong with it (its JSON
/// location when it does not parse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub(crate) struct TaskDirError {
    pub(crate) path: PathBuf,
    pub(crate) message: String,
}

impl TaskDirError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> Self {
        TaskDirError { path: path.to_owned(), message: message.into() }
    }
}

/// Reads and checks one JSON file of the protocol; `Ok(None)` when it does not exist.
fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    format: impl Fn(&T) -> u32,
) -> Result<Option<T>, TaskDirError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TaskDirError::new(path, format!("cannot be read: {e}"))),
    };
    if bytes.is_empty() {
        return Err(TaskDirError::new(path, format!("is empty (a {what} was expected)")));
    }
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        let at = if at == "." { String::new() } else { format!(" at {at}") };
        TaskDirError::new(path, format!("is not a {what}{at}: {inner}"))
    })?;
    let v = format(&value);
    if v != FORMAT {
        return Err(TaskDirError::new(
            path,
            format!("is a {what} of format {v}; this sfn reads format {FORMAT}"),
        ));
    }
    Ok(Some(value))
}

/// `dir/task.json`.
pub(crate) fn read_record(dir: &Path) -> Result<Option<TaskRecord>, TaskDirError> {
    let path = dir.join(TASK_FILE);
    let record: Option<TaskRecord> = read_json(&path, "task record", |r: &TaskRecord| r.format)?;
    if let Some(r) = &record
        && r.containers.len() != r.task.containers.len()
    {
        return Err(TaskDirError::new(
            &path,
            format!(
                "names {} containers to run for a task of {}",
                r.containers.len(),
                r.task.containers.len()
            ),
        ));
    }
    Ok(record)
}

/// `dir/status.json`.
pub(crate) fn read_status(dir: &Path) -> Result<Option<Status>, TaskDirError> {
    read_json(&dir.join(STATUS_FILE), "task status", |s: &Status| s.format)
}

/// A temporary name beside `path`, unique to this process.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

/// Writes `bytes` to `path` whole or not at all (a temporary file renamed over it).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_beside(path);
    write_private(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Writes `bytes` to `path` whole, only if `path` does not exist: false when it does (someone else
/// published it first).
pub(crate) fn publish_new(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let tmp = temp_beside(path);
    write_private(&tmp, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// JSON bytes of a protocol value (never fails for these types; an empty object if it did).
pub(crate) fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"{}".to_vec())
}

/// Where a `ClientToken`'s tasks are listed.
pub(crate) fn token_file(tasks_dir: &Path, token: &str) -> PathBuf {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    tasks_dir.join("tokens").join(hex)
}

/// The task ids a `ClientToken` started, if it started any.
pub(crate) fn read_token(tasks_dir: &Path, token: &str) -> Result<Option<Vec<String>>, TaskDirError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TokenFile {
        format: u32,
        token: String,
        tasks: Vec<String>,
    }
    let path = token_file(tasks_dir, token);
    let Some(f) = read_json(&path, "token record", |f: &TokenFile| f.format)? else { return Ok(None) };
    if f.token != token {
        return Err(TaskDirError::new(&path, "is the record of another token"));
    }
    if let Some(bad) = f.tasks.iter().find(|t| !is_task_id(t)) {
        return Err(TaskDirError::new(&path, format!("names {bad:?}, which is not a task id")));
    }
    Ok(Some(f.tasks))
}

/// Records the task ids a `ClientToken` started.
pub(crate) fn write_token(tasks_dir: &Path, token: &str, tasks: &[String]) -> std::io::Result<()> {
    let path = token_file(tasks_dir, token);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    write_atomic(&path, &to_json(&serde_json::json!({"format": FORMAT, "token": token, "tasks": tasks})))
}

/// One line of a container's output file.
#[derive(Debug, Serialize, Deserialize)]
struct LogLine {
    t: i64,
    s: LogStreamName,
    l: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogStreamName {
    Stdout,
    Stderr,
}

/// A line of output as the output file holds it (with its newline).
pub(crate) fn encode_line(line: &OutputLine) -> Vec<u8> {
    let s = match line.stream {
        OutputStream::Stdout => LogStreamName::Stdout,
        OutputStream::Stderr => LogStreamName::Stderr,
    };
    let mut out =
        serde_json::to_vec(&LogLine { t: line.timestamp, s, l: line.text.clone() }).unwrap_or_default();
    out.push(b'\n');
    out
}

fn decode_line(bytes: &[u8]) -> Option<OutputLine> {
    let l: LogLine = serde_json::from_slice(bytes).ok()?;
    let stream = match l.s {
        LogStreamName::Stdout => OutputStream::Stdout,
        LogStreamName::Stderr => OutputStream::Stderr,
    };
    Some(OutputLine { stream, text: l.l, timestamp: l.t })
}

/// Follows a container's output file: each [`Tail::poll`] hands on the complete lines added since.
#[derive(Debug)]
pub(crate) struct Tail {
    path: PathBuf,
    /// Open once the file exists; read on from where the last poll stopped.
    file: Option<std::fs::File>,
    partial: Vec<u8>,
    /// Lines that were not output lines (damage), skipped.
    pub(crate) skipped: u64,
}

impl Tail {
    pub(crate) fn new(path: PathBuf) -> Self {
        Tail { path, file: None, partial: Vec::new(), skipped: 0 }
    }

    /// Reads what was appended since the last poll; a line not yet ended by its newline waits for it.
    pub(crate) fn poll(&mut self, mut f: impl FnMut(OutputLine)) {
        if self.file.is_none() {
            self.file = std::fs::File::open(&self.path).ok();
        }
        let Some(file) = &mut self.file else { return };
        let mut buf = Vec::new();
        if file.read_to_end(&mut buf).is_err() {
            return;
        }
        let mut rest = &buf[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            match decode_line(&self.partial) {
                Some(line) => f(line),
                None => self.skipped += 1,
            }
            self.partial.clear();
        }
        self.partial.extend_from_slice(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::LastStatus;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sfn-taskdir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn task(containers: usize) -> EcsTask {
        let td: crate::taskdef::TaskDefinition = serde_json::from_value(serde_json::json!({
            "family": "job",
            "containerDefinitions": (0..containers).map(|i| serde_json::json!({"name": format!("c{i}")}))
                .collect::<Vec<_>>(),
        }))
        .unwrap();
        let req = crate::RunTaskRequest {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            ..Default::default()
        };
        EcsTask::provisioning(crate::lifecycle::NewTask {
            req: &req,
            td: &td,
            task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/job:1".into(),
            cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/default",
            task_id: "0123456789abcdef0123456789abcdef",
            created_at: 1,
        })
    }

    fn record(containers: usize) -> TaskRecord {
        TaskRecord {
            format: FORMAT,
            task: task(containers),
            client_token: Some("tok".into()),
            state_name: Some("Run".into()),
            execution_arn: None,
            stop_grace_ms: 2000,
            usage: Usage("default".into(), 256, 512),
            containers: (0..containers)
                .map(|i| ContainerRun {
                    name: format!("c{i}"),
                    argv: vec!["true".into()],
                    env: vec![("A".into(), "b".into())],
                    working_directory: None,
                    essential: true,
                    log_stream: None,
                })
                .collect(),
        }
    }

    /// The life cycle read back from a status gives what the in-process backend reports: the same
    /// transitions in the same order, the real exit code, the stop code and reason.
    #[test]
    fn a_status_describes_the_task_through_the_life_cycle() {
        let mut s = Status::new(ProcessId { pid: 10, start: 20 });
        for e in [
            Event::Pending { at: 2 },
            Event::ContainerStarted { container: 0, pid: Some(42) },
            Event::Running { at: 3 },
            Event::ContainerExited { container: 0, exit_code: Some(3), at: 4 },
            Event::Stopping { at: 4 },
        ] {
            s.push(e);
        }
        assert_eq!(s.status, Phase::Stopping);
        assert!(!s.is_final());
        s.push(Event::Stopped {
            stop_code: StopCode::EssentialContainerExited,
            reason: "Essential container in task exited".into(),
            at: 5,
        });
        assert!(s.is_final());
        assert_eq!(s.status, Phase::Stopped);
        let t = s.describe(&task(1)).unwrap();
        assert_eq!(t.last_status, LastStatus::Stopped);
        assert_eq!(t.containers[0].exit_code, Some(3));
        assert_eq!(t.containers[0].runtime_id.as_deref(), Some("42"));
        assert_eq!((t.started_at, t.stopping_at, t.stopped_at), (Some(3), Some(4), Some(5)));
        assert_eq!(t.stop_code, Some(StopCode::EssentialContainerExited));
        assert_eq!(t.version, 5, "a STOPPED task has Version 5, as ECS records");
    }

    #[test]
    fn status_and_record_round_trip_through_their_files() {
        let dir = temp_dir("roundtrip");
        let r = record(2);
        write_atomic(&dir.join(TASK_FILE), &to_json(&r)).unwrap();
        assert_eq!(read_record(&dir).unwrap(), Some(r));
        assert_eq!(read_status(&dir).unwrap(), None, "no status yet is not an error");
        let mut s = Status::new(ProcessId { pid: 1, start: 2 });
        s.push(Event::ContainerExited { container: 1, exit_code: None, at: 9 });
        write_atomic(&dir.join(STATUS_FILE), &to_json(&s)).unwrap();
        assert_eq!(read_status(&dir).unwrap(), Some(s));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Only the first supervisor publishes a status; the others see it exists.
    #[test]
    fn the_first_status_is_published_once() {
        let dir = temp_dir("publish");
        let path = dir.join(STATUS_FILE);
        let first = Status::new(ProcessId { pid: 1, start: 1 });
        let second = Status::new(ProcessId { pid: 2, start: 2 });
        assert!(publish_new(&path, &to_json(&first)).unwrap());
        assert!(!publish_new(&path, &to_json(&second)).unwrap());
        assert_eq!(read_status(&dir).unwrap().unwrap().supervisor.pid, 1);
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(leftovers, [std::ffi::OsString::from(STATUS_FILE)], "no temporary file is left");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Damage is an error that names the file and where in it, never a panic or a guess.
    #[test]
    fn a_truncated_or_corrupt_status_is_a_located_error() {
        let dir = temp_dir("corrupt");
        let path = dir.join(STATUS_FILE);
        let mut s = Status::new(ProcessId { pid: 1, start: 2 });
        s.push(Event::ContainerExited { container: 0, exit_code: Some(3), at: 9 });
        let whole = to_json(&s);
        std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
        let e = read_status(&dir).unwrap_err();
        assert_eq!(e.path, path);
        assert!(e.message.starts_with("is not a task status at events: EOF while parsing"), "{e}");
        assert!(e.to_string().starts_with(&path.display().to_string()), "{e}");

        std::fs::write(&path, "").unwrap();
        assert_eq!(read_status(&dir).unwrap_err().message, "is empty (a task status was expected)");

        let wrong_type =
            String::from_utf8(whole.clone()).unwrap().replace("\"exitCode\": 3", "\"exitCode\": \"3\"");
        std::fs::write(&path, wrong_type).unwrap();
        let e = read_status(&dir).unwrap_err();
        assert!(
            e.message.starts_with("is not a task status at events[0]: invalid type: string \"3\""),
            "{e}"
        );

        let future = String::from_utf8(whole).unwrap().replace("\"format\": 1", "\"format\": 7");
        std::fs::write(&path, future).unwrap();
        assert_eq!(
            read_status(&dir).unwrap_err().message,
            "is a task status of format 7; this sfn reads format 1"
        );

        // An event for a container the task does not have.
        let mut s = Status::new(ProcessId { pid: 1, start: 2 });
        s.push(Event::ContainerStarted { container: 4, pid: None });
        assert_eq!(
            s.describe(&task(1)).unwrap_err(),
            "events[0]: container 4 does not exist (the task has 1)"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_record_whose_containers_do_not_match_its_task_is_refused() {
        let dir = temp_dir("record");
        let mut r = record(2);
        r.containers.pop();
        write_atomic(&dir.join(TASK_FILE), &to_json(&r)).unwrap();
        let e = read_record(&dir).unwrap_err();
        assert_eq!(e.message, "names 1 containers to run for a task of 2");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn tokens_name_their_tasks() {
        let dir = temp_dir("tokens");
        let ids = vec!["0123456789abcdef0123456789abcdef".to_owned()];
        assert_eq!(read_token(&dir, "sfn-1-2-0").unwrap(), None);
        write_token(&dir, "sfn-1-2-0", &ids).unwrap();
        assert_eq!(read_token(&dir, "sfn-1-2-0").unwrap(), Some(ids));
        assert_eq!(read_token(&dir, "other").unwrap(), None);
        // A record naming a path instead of a task id is refused.
        write_atomic(&token_file(&dir, "t"), br#"{"format": 1, "token": "t", "tasks": ["../../etc"]}"#)
            .unwrap();
        assert!(read_token(&dir, "t").unwrap_err().message.contains("not a task id"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn task_ids_are_32_hex_digits() {
        assert!(is_task_id("0123456789abcdef0123456789abcdef"));
        for bad in ["", "../0123456789abcdef0123456789ab", "0123456789ABCDEF0123456789ABCDEF", "abc"] {
            assert!(!is_task_id(bad), "{bad}");
        }
    }

    /// The server sees complete lines only, in order, a line cut short waiting for its end; a damaged
    /// line is skipped and counted.
    #[test]
    fn a_tail_hands_on_complete_lines_as_they_are_appended() {
        use std::io::Write as _;
        let dir = temp_dir("tail");
        let path = output_file(&dir, 0);
        let mut tail = Tail::new(path.clone());
        let mut got = Vec::new();
        tail.poll(|l| got.push(l)); // no file yet
        let line = |s, text: &str| OutputLine { stream: s, text: text.into(), timestamp: 7 };
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
        f.write_all(&encode_line(&line(OutputStream::Stdout, "one"))).unwrap();
        let two = encode_line(&line(OutputStream::Stderr, "two\u{fffd}"));
        f.write_all(&two[..5]).unwrap();
        tail.poll(|l| got.push(l));
        assert_eq!(got, [line(OutputStream::Stdout, "one")]);
        f.write_all(&two[5..]).unwrap();
        f.write_all(b"not json\n").unwrap();
        tail.poll(|l| got.push(l));
        assert_eq!(got, [line(OutputStream::Stdout, "one"), line(OutputStream::Stderr, "two\u{fffd}")]);
        assert_eq!(tail.skipped, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
