//! A local task's supervisor: the process that runs one task's containers when the local backend has a
//! state directory (`LocalBackend::with_state_dir`), as container runtimes run each container under a
//! shim, so the task outlives the server that started it — kill -9 included — and a restarted server
//! finds it running, or finds its outcome.
//!
//! The program is whatever the backend is told to run ([`crate::SupervisorCommand`]; the CLI: the `sfn`
//! binary itself in a hidden mode), with the task's directory as its last argument; it calls
//! [`supervise`]. The supervisor
//! - leaves the server's session and process group (`setsid`), so signals meant for the server (a
//!   terminal's Ctrl-C, a kill of its group) do not reach the task, and its standard streams are not the
//!   server's;
//! - publishes its first status (`taskdir.rs`: one supervisor per task, the one whose status is
//!   published), becomes the child subreaper of the task's processes and runs them (`containers.rs`, as
//!   the in-process backend does: every descendant, `setsid` ones included, goes when the task stops);
//! - writes every change of the task to `status.json` (durably: `taskdir::write_atomic`) and the
//!   containers' output to their files, within a cap (`taskdir::OutputWriter`);
//! - stops the task when `stop` appears (StopTask, StopExecution, a state's timeout) or when it gets
//!   SIGTERM, SIGINT or SIGHUP;
//! - exits once the task is STOPPED and that status is written.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::watch;

use crate::containers::{self, TaskHost};
use crate::lifecycle::STOPPED_BY_USER;
use crate::output::{self, OutputLine, Readers};
use crate::procs;
use crate::taskdir::{self, Event, OutputWriter, ProcessId, Status, TaskRecord};

/// Why a supervisor could not run its task (it writes this to its standard error, `supervisor.log`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuperviseError {
    /// The task's record cannot be used.
    #[error("{0}")]
    Record(String),
    /// A file of the task's directory cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No runtime could be started.
    #[error("cannot start a runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// What [`supervise`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Supervised {
    /// It ran the task to its end.
    Ran,
    /// Another supervisor has this task (its status was published first); nothing was started.
    AlreadySupervised,
}

/// Runs the task of `dir` (a task directory the local backend wrote) to its end; see the module doc.
/// Call it in a process of its own, at its start: it changes the process's session and makes it a child
/// subreaper.
pub fn supervise(dir: &Path) -> Result<Supervised, SuperviseError> {
    // Detached from the server: its own session (fails only if already a group leader: then it stays).
    let _ = nix::unistd::setsid();
    let record = match taskdir::read_record(dir) {
        Ok(Some(r)) => r,
        Ok(None) => return Err(SuperviseError::Record(format!("{}: no task record", dir.display()))),
        Err(e) => return Err(SuperviseError::Record(e.to_string())),
    };
    let me = procs::me();
    let Some(start) = procs::start_time(me) else {
        return Err(SuperviseError::Record("cannot read this process's start time from /proc".into()));
    };
    let status = Status::new(ProcessId { pid: me, start });
    let path = dir.join(taskdir::STATUS_FILE);
    let published = taskdir::publish_new(&path, &taskdir::to_json(&status))
        .map_err(|source| SuperviseError::Write { path: path.clone(), source })?;
    if !published {
        return Ok(Supervised::AlreadySupervised);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SuperviseError::Runtime)?;
    runtime.block_on(run(dir, record, status));
    Ok(Supervised::Ran)
}

/// The task's directory as the place its changes and output go.
struct FileHost {
    dir: PathBuf,
    status: Mutex<Status>,
    /// Each container's output files (`None`: they cannot be written; logged).
    outputs: Vec<Arc<Mutex<Option<OutputWriter>>>>,
}

impl TaskHost for FileHost {
    fn record(&self, event: Event) {
        if event.is_final() {
            // The output is complete before the status says so, on disk too.
            for o in &self.outputs {
                if let Some(w) = o.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
                    && let Err(e) = w.sync()
                {
                    tracing::error!("cannot sync the output of {}: {e}", self.dir.display());
                }
            }
        }
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        status.push(event);
        let path = self.dir.join(taskdir::STATUS_FILE);
        if let Err(e) = taskdir::write_atomic(&path, &taskdir::to_json(&*status)) {
            tracing::error!("cannot write {}: {e}", path.display());
        }
    }

    fn capture(&self, i: usize, child: &mut Child) -> Readers {
        let file = self.outputs.get(i).cloned().unwrap_or_default();
        output::capture_with(child, move |line: OutputLine| {
            let mut w = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(writer) = w.as_mut()
                && let Err(e) = writer.write(&line)
            {
                // The output stops being stored; the task and its status go on.
                tracing::error!("cannot store a container's output: {e}");
                *w = None;
            }
        })
    }
}

async fn run(dir: &Path, record: TaskRecord, status: Status) {
    let cap = record.output_cap.unwrap_or(taskdir::STORED_OUTPUT_BYTES);
    let outputs = (0..record.containers.len())
        .map(|i| {
            let writer = OutputWriter::create(dir, i, cap);
            if let Err(e) = &writer {
                tracing::error!("cannot write {}: {e}", taskdir::output_file(dir, i).display());
            }
            Arc::new(Mutex::new(writer.ok()))
        })
        .collect();
    let host = FileHost { dir: dir.to_owned(), status: Mutex::new(status), outputs };
    let (stop_tx, stop_rx) = watch::channel(None);
    let watcher = tokio::spawn(watch_for_stop(dir.join(taskdir::STOP_FILE), stop_tx));
    let grace = Duration::from_millis(record.stop_grace_ms);
    containers::drive(&host, &record.task.task_arn, &record.containers, grace, stop_rx).await;
    watcher.abort();
}

/// Says when the task is to stop: the `stop` file appears (its text is the reason), or the supervisor
/// gets SIGTERM, SIGINT or SIGHUP (reason: "Task stopped by user").
async fn watch_for_stop(path: PathBuf, stop: watch::Sender<Option<String>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut signals: Vec<_> = [SignalKind::terminate(), SignalKind::interrupt(), SignalKind::hangup()]
        .into_iter()
        .filter_map(|k| signal(k).ok())
        .collect();
    let signalled = async {
        if signals.is_empty() {
            std::future::pending::<()>().await;
        }
        let any = signals.iter_mut().map(|s| Box::pin(s.recv()));
        futures_util::future::select_all(any).await;
    };
    tokio::pin!(signalled);
    let mut tick = tokio::time::interval(procs::SCAN_EVERY);
    loop {
        tokio::select! {
            () = &mut signalled => {
                stop.send_replace(Some(STOPPED_BY_USER.to_owned()));
                return;
            }
            _ = tick.tick() => {
                if let Ok(reason) = std::fs::read_to_string(&path) {
                    let reason = if reason.is_empty() { STOPPED_BY_USER.to_owned() } else { reason };
                    stop.send_replace(Some(reason));
                    return;
                }
            }
        }
    }
}
