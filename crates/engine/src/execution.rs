//! What an execution is to its caller: [`Execution`] (its history, stop, wait) and how it ended
//! ([`Outcome`], [`ExecutionStatus`]). A leaf: the engine makes executions, and a Distributed Map makes
//! one for each child execution of its map run.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sfn_path::ErrorName;
use sfn_patterns::AbortHandle;
use tokio::sync::watch;

use crate::history::History;

/// How an execution ended (or that it still runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Ended with output.
    Succeeded,
    /// Ended with an error.
    Failed,
    /// The state machine's TimeoutSeconds expired.
    TimedOut,
    /// Stopped (StopExecution).
    Aborted,
}

impl ExecutionStatus {
    /// The API name (`SUCCEEDED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// The end of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Final status.
    pub status: ExecutionStatus,
    /// Output when SUCCEEDED.
    pub output: Option<Value>,
    /// Error name when not SUCCEEDED (absent when none was given).
    pub error: Option<String>,
    /// Cause when not SUCCEEDED.
    pub cause: Option<String>,
    /// When it ended.
    pub stop_date: DateTime<Utc>,
}

/// Error and cause given to [`Execution::stop_with`] (StopExecution), reported by `ExecutionAborted`.
pub(crate) type StopReason = Arc<std::sync::Mutex<(Option<String>, Option<String>)>>;

/// A running (or finished) execution.
#[derive(Debug)]
pub struct Execution {
    /// The execution ARN.
    pub arn: String,
    /// When it started.
    pub start_date: DateTime<Utc>,
    pub(crate) history: History,
    pub(crate) abort: AbortHandle,
    pub(crate) stop_reason: StopReason,
    pub(crate) done: watch::Receiver<Option<Outcome>>,
    /// The task that runs it (none when it was resumed finished).
    pub(crate) task: Option<tokio::task::AbortHandle>,
    /// Shared with the running execution (see [`Execution::terminate`]).
    pub(crate) terminating: Arc<std::sync::atomic::AtomicBool>,
}

impl Execution {
    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Stops the execution: running tasks are stopped, the execution ends ABORTED.
    pub fn stop(&self) {
        self.abort.abort();
    }

    /// Stops the execution like StopExecution: `ExecutionAborted` carries this error and cause.
    pub fn stop_with(&self, error: Option<String>, cause: Option<String>) {
        *self.stop_reason.lock().unwrap_or_else(|e| e.into_inner()) = (error, cause);
        self.abort.abort();
    }

    /// Ends the execution at its next state transition, as AWS does with the running executions of a
    /// deleted state machine (DeleteStateMachine: "On the next state transition, the state machine's
    /// executions are terminated"): the state it is in runs to its end (a `.sync` task is waited for),
    /// then it ends ABORTED without entering the next state.
    pub fn terminate(&self) {
        self.terminating.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Drops the execution where it stands, as if its process had died: no further event, no task is
    /// stopped or told, [`Execution::outcome`] stays `None` ([`Execution::wait`] answers ABORTED with
    /// `States.Runtime`). A journaled execution stays RUNNING in its journal, ready for
    /// [`Engine::resume`] (e.g. when a server closes its journal).
    pub fn abandon(&self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }

    /// The outcome, once finished.
    pub fn outcome(&self) -> Option<Outcome> {
        self.done.borrow().clone()
    }

    /// Waits for the end.
    pub async fn wait(&self) -> Outcome {
        let mut rx = self.done.clone();
        loop {
            if let Some(o) = rx.borrow().clone() {
                return o;
            }
            if rx.changed().await.is_err() {
                return rx.borrow().clone().unwrap_or(Outcome {
                    status: ExecutionStatus::Aborted,
                    output: None,
                    error: Some(ErrorName::Runtime.to_string()),
                    cause: Some("the execution task ended unexpectedly".to_owned()),
                    stop_date: Utc::now(),
                });
            }
        }
    }
}
