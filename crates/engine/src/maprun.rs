//! A Distributed Map's map run as the API shows it (`DescribeMapRun`, `ListMapRuns`, `UpdateMapRun`):
//! [`MapRun`], the run's identity, settings and item/execution counts, shared between the engine (which
//! counts) and whoever watches it ([`MapRunObserver`], the server), which may change its settings while
//! it runs. Shapes from AWS's API reference (`DescribeMapRun`, `MapRunItemCounts`,
//! `MapRunExecutionCounts`) and LocalStack's AWS-validated `test_sfn_api_map_run` snapshot.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// How a map run stands (`DescribeMapRun.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRunStatus {
    /// Its child executions run.
    Running,
    /// Every item was processed within the tolerated failures.
    Succeeded,
    /// It failed (the tolerated failure threshold was passed, or the ResultWriter failed).
    Failed,
    /// Its execution was stopped.
    Aborted,
}

impl MapRunStatus {
    /// The API name (`RUNNING`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MapRunStatus::Running => "RUNNING",
            MapRunStatus::Succeeded => "SUCCEEDED",
            MapRunStatus::Failed => "FAILED",
            MapRunStatus::Aborted => "ABORTED",
        }
    }

    /// The status an API name names.
    pub fn parse(s: &str) -> Option<MapRunStatus> {
        Some(match s {
            "RUNNING" => MapRunStatus::Running,
            "SUCCEEDED" => MapRunStatus::Succeeded,
            "FAILED" => MapRunStatus::Failed,
            "ABORTED" => MapRunStatus::Aborted,
            _ => return None,
        })
    }
}

/// Items or child executions by status (`MapRunItemCounts` / `MapRunExecutionCounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MapRunCounts {
    /// Not started yet.
    pub pending: u64,
    /// In a running child execution.
    pub running: u64,
    /// In a child execution that succeeded.
    pub succeeded: u64,
    /// In a child execution that failed.
    pub failed: u64,
    /// In a child execution that timed out.
    pub timed_out: u64,
    /// In a child execution that was stopped (by the user, or because the map run failed).
    pub aborted: u64,
    /// All of them.
    pub total: u64,
    /// Those whose results were written (the ResultWriter's files, or the Map's output).
    pub results_written: u64,
    /// Unsuccessful ones of a redriven map run that wait to be redriven (`pendingRedrive`; back to 0
    /// when the map run ends, as AWS's "Redriving Map Runs" says).
    pub pending_redrive: u64,
}

/// What a map run shows and what `UpdateMapRun` changes.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunState {
    /// Its status.
    pub status: MapRunStatus,
    /// When it ended.
    pub stop_date: Option<DateTime<Utc>>,
    /// Most child executions at once (0: as many as possible).
    pub max_concurrency: u64,
    /// `ToleratedFailureCount` (none given: 0).
    pub tolerated_failure_count: Option<f64>,
    /// `ToleratedFailurePercentage` (none given: 0).
    pub tolerated_failure_percentage: Option<f64>,
    /// The items by status.
    pub items: MapRunCounts,
    /// The child executions by status.
    pub executions: MapRunCounts,
    /// How often its execution's redrives redrove it (`DescribeMapRun.redriveCount`).
    pub redrive_count: u64,
    /// When it was last redriven.
    pub redrive_date: Option<DateTime<Utc>>,
}

/// One map run: its names, when it started, and its [`MapRunState`].
#[derive(Debug)]
pub struct MapRun {
    /// `arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:UUID`.
    pub arn: String,
    /// The execution whose Distributed Map started it.
    pub execution_arn: String,
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:MACHINE/LABEL`, the machine its children run.
    pub state_machine_arn: String,
    /// The Map's `Label`, or its state name.
    pub label: String,
    /// Its children are EXPRESS executions (`ProcessorConfig.ExecutionType`).
    pub express: bool,
    /// When it started.
    pub start_date: DateTime<Utc>,
    state: Mutex<MapRunState>,
    /// Wakes the map run when its settings change (a higher MaxConcurrency starts more children).
    pub(crate) changed: tokio::sync::Notify,
}

impl MapRun {
    /// A map run in `state` (the engine makes the live ones; a server restores recorded ones with it).
    pub fn new(
        arn: String,
        execution_arn: String,
        state_machine_arn: String,
        label: String,
        express: bool,
        start_date: DateTime<Utc>,
        state: MapRunState,
    ) -> MapRun {
        MapRun {
            arn,
            execution_arn,
            state_machine_arn,
            label,
            express,
            start_date,
            state: Mutex::new(state),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Its state now.
    pub fn state(&self) -> MapRunState {
        self.lock().clone()
    }

    /// `UpdateMapRun`: a new MaxConcurrency and failure thresholds (the ones given), used from the next
    /// child execution on.
    pub fn update(&self, max_concurrency: Option<u64>, count: Option<f64>, percentage: Option<f64>) {
        let mut s = self.lock();
        if let Some(n) = max_concurrency {
            s.max_concurrency = n;
        }
        if let Some(c) = count {
            s.tolerated_failure_count = Some(c);
        }
        if let Some(p) = percentage {
            s.tolerated_failure_percentage = Some(p);
        }
        drop(s);
        self.changed.notify_waiters();
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut MapRunState) -> T) -> T {
        f(&mut self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MapRunState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A child execution a map run already had, handed to the engine again by whoever keeps them
/// ([`MapRunObserver::prior_children`]): a resumed execution's map run keeps the children that had
/// finished (their results are reused, nothing runs twice) and resumes the ones that ran; a redriven
/// one keeps its succeeded children and redrives the others — a STANDARD child under its ARN from the
/// state it failed in (its history goes on with `ExecutionRedriven`), an EXPRESS one started again
/// from the first state (AWS, "Redriving Map Runs": "Child workflow execution redrive behavior").
#[derive(Debug, Clone)]
pub struct PriorChild {
    /// The index of its item (or batch) in the map run.
    pub index: usize,
    /// Its ARN.
    pub arn: String,
    /// When it started.
    pub start_date: DateTime<Utc>,
    /// How it ended; `None` while it ran.
    pub outcome: Option<crate::Outcome>,
    /// Its recorded events (ids `1..=n`), when it is to run again (resumed or redriven); may be empty
    /// for one whose result is kept.
    pub events: Vec<crate::Event>,
}

/// Told of every map run and child execution the engine starts (e.g. a server, which lists and
/// describes them). Called from the execution's task: keep it quick.
pub trait MapRunObserver: Send + Sync + 'static {
    /// A map run started (its counts change as it runs; read them with [`MapRun::state`]).
    fn map_run_started(&self, run: &Arc<MapRun>);

    /// A child execution of `run` starts with `input` (JSON text) for the item (or batch) at `index`;
    /// its history and outcome are in `child` as for any execution. Called before its first new event
    /// (a resumed or redriven child has the ARN of a [`PriorChild`], its recorded events already in
    /// its history).
    fn child_started(&self, run: &Arc<MapRun>, child: crate::Execution, input: &str, index: usize);

    /// The children the map run `map_run_arn` had, when a resumed or redriven execution runs it again
    /// under its ARN (none: they all run again).
    fn prior_children(&self, map_run_arn: &str) -> Vec<PriorChild> {
        let _ = map_run_arn;
        Vec::new()
    }

    /// The map run ended (its state says how).
    fn map_run_ended(&self, run: &Arc<MapRun>);
}

/// The name of a map run's child from its ARN: `…:execution:MACHINE/LABEL:NAME`, or (EXPRESS)
/// `…:express:MACHINE/LABEL:NAME:ID`.
pub(crate) fn child_name(arn: &str) -> &str {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [.., "express", _machine, name, _id] => name,
        [.., name] => name,
        [] => arn,
    }
}

/// A map run child's `RedriveStatus` and `RedriveStatusReason` for its status: an unsuccessful child is
/// redriven with its map run, `REDRIVABLE_BY_MAP_RUN` (the API's ExecutionRedriveStatus; DescribeExecution's
/// redriveStatus "for a Distributed Map that includes child workflows …: whether or not the Map Run can
/// redrive child workflow executions"), any other reads as an execution's that cannot be redriven. Used by
/// DescribeExecution and by the `ResultWriter`'s execution records.
pub fn map_run_child_redrive_status(status: &str) -> (&'static str, Option<String>) {
    match status {
        "FAILED" | "TIMED_OUT" | "ABORTED" => ("REDRIVABLE_BY_MAP_RUN", None),
        other => ("NOT_REDRIVABLE", Some(format!("Execution is {other} and cannot be redriven"))),
    }
}
