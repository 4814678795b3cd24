//! The directory of a supervised local task (`STATE_DIR/tasks/<task-id>/`), the protocol between the
//! server and the task's supervisor (`supervisor.rs`), which survives the server:
//!
//! - `task.json` ([`TaskRecord`]), written by the server before it starts the supervisor: the task as
//!   RunTask returned it, its `ClientToken`, who asked, its capacity, the cap of its stored output and
//!   each container's argv, environment and working directory (mode 0600: the environment may hold
//!   secrets).
//! - `status.json` ([`Status`]), written by the supervisor only: its pid and start time, the task's phase
//!   (`PENDING`, `RUNNING`, `STOPPING`, `STOPPED`) and every change of the task's life cycle with its time
//!   ([`Event`]: container pids, exit codes, the stop code and reason). The first one is published with
//!   `link(2)`, which fails when the file exists: the supervisor that publishes it is the only one that
//!   starts the task's containers (one start per task, however many supervisors race); each later one
//!   replaces it with `rename(2)`. Every write is durable and atomic ([`write_atomic`]): a temporary
//!   file is written and fsynced, then linked or renamed into place and the directory fsynced, so after
//!   a crash or a power loss a reader sees a whole status — the last one written, or the one before —
//!   never half of one, and never no status for a task that ran; the task's directory itself is fsynced
//!   into `tasks/` when it is made. A status that does not parse is damage, reported with its file and
//!   JSON location ([`TaskDirError`]).
//! - `container-<i>.log`: container `i`'s output as JSON lines (`{"t": epoch-ms, "s": "stdout"|"stderr",
//!   "l": text}`), appended by the supervisor as it reads the pipes and tailed by the server ([`Tail`]),
//!   complete (and fsynced) before the status says STOPPED. It is capped ([`OutputWriter`]: at most
//!   [`STORED_OUTPUT_BYTES`] per container by default, `LocalBackend::with_stored_output_cap`): each
//!   file is a segment that opens with a line saying how much output came before it; when one holds half
//!   the cap it becomes `container-<i>.log.1` (dropping the one before) and a new segment starts. A
//!   reader that finds a gap (it started late, or fell behind) hands on a line saying how many lines and
//!   bytes were dropped. The exit codes are in the status, never in the capped files.
//! - `stop`: the reason of a StopTask, written by the server; the supervisor looks for it at every scan.
//! - `supervisor.log`: the supervisor's own standard error (why it could not run, if it could not).
//! - `recorded`: written by the server (empty) once the `.sync` state that followed the task has its end on
//!   record (`EcsBackend::release`); without it, a finished task's outcome may exist only here.
//!
//! A RunTask `ClientToken` is kept as `tokens/<sha-256 of the token>` (the task ids it started), written
//! after the task records and before any supervisor starts, so a restarted server answers a repeated
//! RunTask with the tasks that exist instead of starting new ones.
//!
//! A STOPPED task's directory (and its token record, once none of its tasks is left) is deleted by the
//! server when its retention is over (`local.rs`: an hour after it was last reported STOPPED by
//! default, and never before an hour after it stopped unless it is `recorded`); a directory is renamed to `.gone-<task-id>` before it is removed, so it is never seen half
//! deleted.

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
pub(crate) const RECORDED_FILE: &str = "recorded";

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
    /// The bytes each container's stored output may take ([`STORED_OUTPUT_BYTES`] when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) output_cap: Option<u64>,
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
            Event::FailedToStart { reason, at } => task.failed_to_start(reason, *at),
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

/// Creates a task's directory under `tasks_dir` durably (the new name fsynced in `tasks_dir`): after a
/// power loss, a task RunTask returned still has its directory.
pub(crate) fn create_task_dir(tasks_dir: &Path, task_id: &str) -> std::io::Result<PathBuf> {
    let dir = tasks_dir.join(task_id);
    std::fs::create_dir(&dir)?;
    sync_dir(tasks_dir)?;
    Ok(dir)
}

/// A temporary name beside `path`, unique to this process.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The file-system calls a durable write makes, so a test can see them in order (the real ones are
/// [`Disk`]).
pub(crate) trait Fs {
    /// Creates (or truncates) `path` with mode 0600 and writes `bytes` to it.
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()>;
    /// `fsync(2)` of the file at `path`: its data and size are on the disk.
    fn sync_file(&self, path: &Path) -> std::io::Result<()>;
    /// `rename(2)`.
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    /// `link(2)`: fails with `AlreadyExists` when `to` exists.
    fn link(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    /// `unlink(2)`.
    fn remove(&self, path: &Path) -> std::io::Result<()>;
    /// `fsync(2)` of a directory: the names created, renamed or removed in it are on the disk.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
}

/// The real file system.
pub(crate) struct Disk;

impl Fs for Disk {
    fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
        f.write_all(bytes)
    }

    fn sync_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    fn link(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        sync_dir(dir)
    }
}

/// `fsync(2)` of a directory (opened read-only, as Linux allows).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The directory `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` whole or not at all, durably: a temporary file beside it is written and
/// fsynced, renamed over `path`, and the directory fsynced — so after a power loss `path` holds these
/// bytes or what it held before, never a torn or empty file, and a write that returned is not lost.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_on(&Disk, path, bytes)
}

pub(crate) fn write_atomic_on(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_beside(path);
    let written =
        fs.write_new(&tmp, bytes).and_then(|()| fs.sync_file(&tmp)).and_then(|()| fs.rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs.remove(&tmp);
        return Err(e);
    }
    fs.sync_dir(parent_of(path))
}

/// Writes `bytes` to `path` whole and durably (as [`write_atomic`]), only if `path` does not exist:
/// false when it does (someone else published it first).
pub(crate) fn publish_new(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    publish_new_on(&Disk, path, bytes)
}

pub(crate) fn publish_new_on(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    let tmp = temp_beside(path);
    let linked =
        fs.write_new(&tmp, bytes).and_then(|()| fs.sync_file(&tmp)).and_then(|()| fs.link(&tmp, path));
    let _ = fs.remove(&tmp);
    match linked {
        Ok(()) => fs.sync_dir(parent_of(path)).map(|()| true),
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
    tasks_dir.join("tokens").join(sha256_hex(token))
}

/// The SHA-256 of `s`, in lowercase hex (a token's file name, a derived `ImageDigest`).
pub(crate) fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
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
    if let Some(parent) = path.parent()
        && !parent.is_dir()
    {
        std::fs::create_dir_all(parent)?;
        sync_dir(tasks_dir)?;
    }
    write_atomic(&path, &to_json(&serde_json::json!({"format": FORMAT, "token": token, "tasks": tasks})))
}

/// Bytes a container's stored output may take on disk by default (both its files, [`output_file`] and
/// [`previous_output_file`]): the newest output is kept, the oldest dropped, as a log rotation does.
pub const STORED_OUTPUT_BYTES: u64 = 8 << 20;

/// The smallest cap: two segments, each holding at least one line of [`crate::MAX_LINE_BYTES`] however
/// its text is escaped in JSON (6 bytes for a control character).
pub const MIN_STORED_OUTPUT_BYTES: u64 = 256 << 10;

/// Where container `i`'s output went before the last rotation.
pub(crate) fn previous_output_file(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("container-{i}.log.1"))
}

/// One line of a container's output file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogLine {
    t: i64,
    s: LogStreamName,
    l: String,
}

/// The first line of each output file (a segment): its number and how much output came before it, so a
/// reader that finds a gap knows what was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Segment {
    segment: u64,
    /// Lines written to the segments before this one.
    lines_before: u64,
    /// Their text's bytes.
    bytes_before: u64,
    /// The cap the writer keeps to.
    cap: u64,
    /// When the segment was started (epoch ms).
    t: i64,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileLine {
    Line(LogLine),
    Segment(Segment),
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogStreamName {
    Stdout,
    Stderr,
}

fn json_line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// A line of output as the output file holds it (with its newline).
pub(crate) fn encode_line(line: &OutputLine) -> Vec<u8> {
    let s = match line.stream {
        OutputStream::Stdout => LogStreamName::Stdout,
        OutputStream::Stderr => LogStreamName::Stderr,
    };
    json_line(&LogLine { t: line.timestamp, s, l: line.text.clone() })
}

fn decode_line(bytes: &[u8]) -> Option<FileLine> {
    serde_json::from_slice(bytes).ok()
}

fn to_output(l: LogLine) -> OutputLine {
    let stream = match l.s {
        LogStreamName::Stdout => OutputStream::Stdout,
        LogStreamName::Stderr => OutputStream::Stderr,
    };
    OutputLine { stream, text: l.l, timestamp: l.t }
}

/// The line a reader hands on where output was dropped (it is not something the container printed).
pub(crate) fn dropped_marker(lines: u64, bytes: u64, cap: u64, timestamp: i64) -> OutputLine {
    OutputLine {
        stream: OutputStream::Stderr,
        text: format!(
            "[sfn: {lines} lines ({bytes} bytes) of this container's output were dropped here: its stored \
             output is capped at {cap} bytes, the newest kept]"
        ),
        timestamp,
    }
}

/// Writes one container's output to its files within a cap on disk ([`STORED_OUTPUT_BYTES`] by
/// default): lines are appended to [`output_file`] until it holds half the cap; then it becomes
/// [`previous_output_file`] (the one before is dropped) and a new segment starts. Each segment opens
/// with a [`Segment`] line saying how much output came before it. Both files never hold more than the
/// cap; the newest output, between half the cap and the cap, is always kept.
pub(crate) struct OutputWriter {
    dir: PathBuf,
    index: usize,
    cap: u64,
    file: Option<std::fs::File>,
    segment: u64,
    /// Bytes and lines in the current segment.
    size: u64,
    in_segment: u64,
    /// Lines and their text's bytes written so far.
    lines: u64,
    bytes: u64,
}

impl OutputWriter {
    /// The writer of container `index`'s files in `dir` (created, empty but for its first segment line).
    pub(crate) fn create(dir: &Path, index: usize, cap: u64) -> std::io::Result<Self> {
        let mut w = OutputWriter {
            dir: dir.to_owned(),
            index,
            cap: cap.max(MIN_STORED_OUTPUT_BYTES),
            file: None,
            segment: 0,
            size: 0,
            in_segment: 0,
            lines: 0,
            bytes: 0,
        };
        w.start_segment()?;
        Ok(w)
    }

    fn start_segment(&mut self) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = output_file(&self.dir, self.index);
        // Private, like the task's record: what a container prints may be secret.
        let mut f =
            std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&path)?;
        let header = json_line(&Segment {
            segment: self.segment,
            lines_before: self.lines,
            bytes_before: self.bytes,
            cap: self.cap,
            t: crate::containers::now_ms(),
        });
        f.write_all(&header)?;
        self.size = header.len() as u64;
        self.in_segment = 0;
        self.file = Some(f);
        Ok(())
    }

    /// Appends one line (one write, so a reader never sees two lines interleaved), rotating first when
    /// it would take the current segment past half the cap.
    pub(crate) fn write(&mut self, line: &OutputLine) -> std::io::Result<()> {
        use std::io::Write as _;
        let bytes = encode_line(line);
        if self.size + bytes.len() as u64 > self.cap / 2 && self.in_segment > 0 {
            self.file = None;
            std::fs::rename(output_file(&self.dir, self.index), previous_output_file(&self.dir, self.index))?;
            self.segment += 1;
            self.start_segment()?;
        }
        self.lines += 1;
        self.bytes += line.text.len() as u64;
        let Some(f) = self.file.as_mut() else { return Ok(()) };
        f.write_all(&bytes)?;
        self.size += bytes.len() as u64;
        self.in_segment += 1;
        Ok(())
    }

    /// Makes what was written durable (before the task's last status says its output is complete).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        match &self.file {
            Some(f) => f.sync_all(),
            None => Ok(()),
        }
    }
}

/// Follows a container's output files: each [`Tail::poll`] hands on the complete lines added since —
/// across rotations (`OutputWriter`), with a marker line where output was dropped before it was read.
#[derive(Debug)]
pub(crate) struct Tail {
    dir: PathBuf,
    index: usize,
    /// Open once a file exists; read on from where the last poll stopped.
    file: Option<std::fs::File>,
    partial: Vec<u8>,
    /// Lines and bytes of output read so far (counting those a marker said were dropped).
    lines: u64,
    bytes: u64,
    /// Lines that were not output lines (damage), skipped.
    pub(crate) skipped: u64,
}

/// The inode of an open file or of a path.
fn inode(m: std::io::Result<std::fs::Metadata>) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    m.ok().map(|m| (m.dev(), m.ino()))
}

impl Tail {
    /// The tail of container `index`'s output in `dir`.
    pub(crate) fn new(dir: &Path, index: usize) -> Self {
        Tail { dir: dir.to_owned(), index, file: None, partial: Vec::new(), lines: 0, bytes: 0, skipped: 0 }
    }

    /// Reads what was appended since the last poll; a line not yet ended by its newline waits for it.
    pub(crate) fn poll(&mut self, mut f: impl FnMut(OutputLine)) {
        let current = output_file(&self.dir, self.index);
        if self.file.is_none() {
            // A reader that starts late (a restarted server) begins with the previous segment.
            let previous = previous_output_file(&self.dir, self.index);
            self.file = std::fs::File::open(&previous).or_else(|_| std::fs::File::open(&current)).ok();
        }
        // At most a few files per poll: the open one, then the current one if it was rotated away.
        for _ in 0..4 {
            if self.file.is_none() {
                return;
            }
            self.read_open(&mut f);
            let open = self.file.as_ref().and_then(|file| inode(file.metadata()));
            if open.is_some() && inode(std::fs::metadata(&current)) == open {
                return;
            }
            // The open file is no longer the current one: the writer has moved on, so it is complete once
            // read to its end again; then the current one is followed.
            self.read_open(&mut f);
            if !self.partial.is_empty() {
                self.partial.clear();
                self.skipped += 1;
            }
            match std::fs::File::open(&current) {
                Ok(next) => self.file = Some(next),
                Err(_) => return,
            }
        }
    }

    fn read_open(&mut self, f: &mut impl FnMut(OutputLine)) {
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
                Some(FileLine::Line(line)) => {
                    self.lines += 1;
                    self.bytes += line.l.len() as u64;
                    f(to_output(line));
                }
                Some(FileLine::Segment(s)) => {
                    if s.lines_before > self.lines {
                        let bytes = s.bytes_before.saturating_sub(self.bytes);
                        f(dropped_marker(s.lines_before - self.lines, bytes, s.cap, s.t));
                        self.lines = s.lines_before;
                        self.bytes = s.bytes_before;
                    }
                }
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
    use std::sync::Mutex;

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
            output_cap: None,
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
        let mut tail = Tail::new(&dir, 0);
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

    /// What a durable write does, in order, on a file system that records its calls.
    #[derive(Default)]
    struct Recording {
        calls: Mutex<Vec<String>>,
        /// A call (by its name) that fails.
        fail: Option<&'static str>,
    }

    impl Recording {
        fn note(&self, call: &'static str, path: &Path) -> std::io::Result<()> {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let name = if name.ends_with(".tmp") { "TMP".to_owned() } else { name };
            self.calls.lock().unwrap().push(format!("{call} {name}"));
            if self.fail == Some(call) { Err(std::io::Error::other("injected")) } else { Ok(()) }
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl Fs for Recording {
        fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
            self.note("write", path)?;
            Disk.write_new(path, bytes)
        }
        fn sync_file(&self, path: &Path) -> std::io::Result<()> {
            self.note("fsync", path)?;
            Disk.sync_file(path)
        }
        fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
            self.note("rename-to", to)?;
            Disk.rename(from, to)
        }
        fn link(&self, from: &Path, to: &Path) -> std::io::Result<()> {
            self.note("link-to", to)?;
            Disk.link(from, to)
        }
        fn remove(&self, path: &Path) -> std::io::Result<()> {
            self.note("unlink", path)?;
            Disk.remove(path)
        }
        fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
            self.note("fsync-dir", dir)?;
            Disk.sync_dir(dir)
        }
    }

    /// A status is written to a temporary file, fsynced, renamed over the old one and its directory
    /// fsynced (a power loss leaves the old status or the new one, on disk); the first one is linked, so
    /// only one supervisor publishes it, and made durable the same way.
    #[test]
    fn status_writes_are_fsynced_before_and_after_their_rename() {
        let dir = temp_dir("durable");
        let path = dir.join(STATUS_FILE);
        let dir_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let fs = Recording::default();
        assert!(publish_new_on(&fs, &path, b"{}").unwrap());
        let mut expected = vec![
            "write TMP".to_owned(),
            "fsync TMP".to_owned(),
            "link-to status.json".to_owned(),
            "unlink TMP".to_owned(),
            format!("fsync-dir {dir_name}"),
        ];
        assert_eq!(fs.calls(), expected);
        write_atomic_on(&fs, &path, b"{\"a\": 1}").unwrap();
        expected.extend([
            "write TMP".to_owned(),
            "fsync TMP".to_owned(),
            "rename-to status.json".to_owned(),
            format!("fsync-dir {dir_name}"),
        ]);
        assert_eq!(fs.calls(), expected);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 1}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A write that cannot be made durable fails, leaves the last status as it was and no temporary file.
    #[test]
    fn a_failed_fsync_fails_the_write_and_keeps_the_old_status() {
        let dir = temp_dir("durable-fail");
        let path = dir.join(STATUS_FILE);
        write_atomic(&path, b"old").unwrap();
        let fs = Recording { fail: Some("fsync"), ..Recording::default() };
        assert!(write_atomic_on(&fs, &path, b"new").is_err());
        assert!(fs.calls().iter().all(|c| !c.starts_with("rename")), "{:?}", fs.calls());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from(STATUS_FILE)]);
        let fs = Recording { fail: Some("fsync"), ..Recording::default() };
        assert!(publish_new_on(&fs, &dir.join("other.json"), b"x").is_err());
        assert!(!dir.join("other.json").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn disk_bytes(dir: &Path) -> u64 {
        [output_file(dir, 0), previous_output_file(dir, 0)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// 50 MB of output in 16 KiB lines: never more than the cap on disk, and a reader that keeps up
    /// sees every line, in order, and no marker.
    #[test]
    fn stored_output_stays_within_its_cap_and_a_reader_that_keeps_up_misses_nothing() {
        let dir = temp_dir("cap");
        let cap = MIN_STORED_OUTPUT_BYTES;
        let mut w = OutputWriter::create(&dir, 0, cap).unwrap();
        let mut tail = Tail::new(&dir, 0);
        let mut got = 0u64;
        let mut in_order = true;
        let text = "x".repeat(16 * 1024 - 10);
        let lines = 50_000_000 / (text.len() as u64 + 10);
        for i in 0..lines {
            let line =
                OutputLine { stream: OutputStream::Stdout, text: format!("{i:010}{text}"), timestamp: 1 };
            w.write(&line).unwrap();
            assert!(disk_bytes(&dir) <= cap, "line {i}: {} bytes on disk", disk_bytes(&dir));
            if i % 3 == 0 {
                tail.poll(|l| {
                    in_order &= l.text[..10].parse::<u64>().ok() == Some(got);
                    got += 1;
                });
            }
        }
        tail.poll(|l| {
            in_order &= l.text[..10].parse::<u64>().ok() == Some(got);
            got += 1;
        });
        assert!(in_order);
        assert_eq!(got, lines);
        assert_eq!(tail.skipped, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A reader that starts late (a restarted server) gets a line saying what was dropped, then the
    /// newest output, up to the last line.
    #[test]
    fn a_late_reader_is_told_what_was_dropped_and_gets_the_newest_output() {
        let dir = temp_dir("cap-late");
        let cap = MIN_STORED_OUTPUT_BYTES;
        let mut w = OutputWriter::create(&dir, 0, cap).unwrap();
        for i in 0..100_000u64 {
            w.write(&OutputLine { stream: OutputStream::Stderr, text: format!("line {i}"), timestamp: 2 })
                .unwrap();
        }
        w.sync().unwrap();
        assert!(disk_bytes(&dir) <= cap);
        let mut got = Vec::new();
        Tail::new(&dir, 0).poll(|l| got.push(l.text));
        let first_kept: u64 = got[1].strip_prefix("line ").unwrap().parse().unwrap();
        let dropped_bytes: u64 = (0..first_kept).map(|i| format!("line {i}").len() as u64).sum();
        assert_eq!(
            got[0],
            dropped_marker(first_kept, dropped_bytes, cap, 0).text,
            "the marker counts the lines and bytes before the first kept line"
        );
        assert_eq!(got.last().unwrap(), "line 99999");
        assert_eq!(got.len() as u64 - 1, 100_000 - first_kept, "every line after the gap is kept");
        assert!(first_kept > 0 && 100_000 - first_kept > 1000, "{first_kept}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
