//! The service: state machines, executions and the dispatch of every operation.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Map, Value, json};
use sfn_engine::{
    Engine, Event, Execution, ExecutionStatus, MapRun, MapRunCounts, MapRunState, MapRunStatus, Outcome,
    Prepared, PriorChild, ResumeRequest,
};
use sfn_patterns::{ActivityQueue, ActivityTask};

use crate::error::ApiError;
use crate::journal::{
    ActivityRecord, AliasRecord, ExecutionRecord, Journal, MachineRecord, MapRunRecord, PublishedRecord,
    Snapshot, VersionRecord,
};
use crate::protocol::date;

/// ListExecutions' `statusFilter` values.
pub(crate) const STATUSES: [&str; 6] =
    ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];

/// How long a closing in-memory server waits for its running executions to stop (their tasks included).
pub(crate) const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// One version of a state machine: what executions started from it run.
pub(crate) struct Version {
    pub(crate) record: VersionRecord,
    /// The machine ready to run, or why it cannot run here.
    pub(crate) prepared: Result<Prepared, String>,
    pub(crate) update_date: DateTime<Utc>,
}

impl Version {
    pub(crate) fn express(&self) -> bool {
        self.record.kind == "EXPRESS"
    }
}

/// A state machine.
pub(crate) struct Machine {
    pub(crate) arn: String,
    pub(crate) creation: DateTime<Utc>,
    pub(crate) version: Arc<Version>,
    pub(crate) tags: Vec<(String, String)>,
    /// DeleteStateMachine was called while executions ran: DELETING until the last one ends (AWS
    /// "A state machine is deleted only when all its executions are completed"), then gone.
    pub(crate) deleting: bool,
    /// Its published versions and its aliases.
    pub(crate) published: Published,
}

/// A published version (`…:stateMachine:NAME:N`): an immutable snapshot of a revision.
pub(crate) struct PublishedVersion {
    pub(crate) version: Arc<Version>,
    pub(crate) description: Option<String>,
    pub(crate) creation: DateTime<Utc>,
}

/// An alias (`…:stateMachine:NAME:ALIAS`): one or two versions, each with its weight (they sum to 100).
#[derive(Clone)]
pub(crate) struct Alias {
    pub(crate) description: Option<String>,
    pub(crate) routing: Vec<(u64, u64)>,
    pub(crate) creation: DateTime<Utc>,
    pub(crate) update: DateTime<Utc>,
}

/// A machine's versions and aliases. Version numbers are never reused: `last` is the highest given.
#[derive(Default)]
pub(crate) struct Published {
    pub(crate) versions: BTreeMap<u64, PublishedVersion>,
    pub(crate) last: u64,
    pub(crate) aliases: BTreeMap<String, Alias>,
}

/// What a state machine ARN, a version ARN or an alias ARN starts: the version, and the qualified ARNs
/// DescribeExecution reports.
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) version: Arc<Version>,
    pub(crate) version_arn: Option<String>,
    pub(crate) alias_arn: Option<String>,
}

/// At most this many versions per state machine (AWS's quota: 1000).
const MAX_VERSIONS: usize = 1000;

/// Publishes `m`'s current revision: its number and creation date (the latest version's when that is
/// already this revision).
pub(crate) fn publish(
    m: &mut Machine,
    description: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(u64, DateTime<Utc>), ApiError> {
    let p = &mut m.published;
    if let Some((n, latest)) = p.versions.iter().next_back()
        && Arc::ptr_eq(&latest.version, &m.version)
    {
        return Ok((*n, latest.creation));
    }
    if p.versions.len() >= MAX_VERSIONS {
        return Err(ApiError::client(
            "ServiceQuotaExceededException",
            format!("The maximum number of versions ({MAX_VERSIONS}) of '{}' is reached", m.arn),
        ));
    }
    p.last = p.last.saturating_add(1);
    let version = PublishedVersion {
        version: m.version.clone(),
        description: description.map(str::to_owned),
        creation: now,
    };
    p.versions.insert(p.last, version);
    Ok((p.last, now))
}

/// Picks a version of an alias's routing by weight (`roll` in 0..100).
pub(crate) fn route(routing: &[(u64, u64)], roll: u64) -> Option<u64> {
    let mut acc = 0;
    for (number, weight) in routing {
        acc += weight;
        if roll < acc {
            return Some(*number);
        }
    }
    routing.iter().rev().find(|(_, w)| *w > 0).or(routing.last()).map(|(n, _)| *n)
}

impl Machine {
    pub(crate) fn record(&self) -> MachineRecord {
        MachineRecord {
            name: self.version.record.machine.clone(),
            version: self.version.record.id.clone(),
            creation_ms: self.creation.timestamp_millis(),
            tags: self.tags.clone(),
            published: self
                .published
                .versions
                .iter()
                .map(|(n, p)| PublishedRecord {
                    number: *n,
                    version: p.version.record.id.clone(),
                    description: p.description.clone(),
                    creation_ms: p.creation.timestamp_millis(),
                })
                .collect(),
            last_version: self.published.last,
            aliases: self
                .published
                .aliases
                .iter()
                .map(|(name, a)| AliasRecord {
                    name: name.clone(),
                    description: a.description.clone(),
                    routing: a.routing.clone(),
                    creation_ms: a.creation.timestamp_millis(),
                    update_ms: a.update.timestamp_millis(),
                })
                .collect(),
        }
    }
}

/// How an execution ended.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub(crate) status: String,
    pub(crate) stop_date: DateTime<Utc>,
    /// Output as JSON text (SUCCEEDED).
    pub(crate) output: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

impl Ended {
    /// As the engine's [`Outcome`] (a map run's prior child).
    pub(crate) fn to_outcome(&self) -> Outcome {
        let status = match self.status.as_str() {
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => ExecutionStatus::Running,
        };
        Outcome {
            status,
            output: self.output.as_deref().and_then(|o| serde_json::from_str(o).ok()),
            error: self.error.clone(),
            cause: self.cause.clone(),
            stop_date: self.stop_date,
        }
    }

    pub(crate) fn from_outcome(o: &Outcome) -> Ended {
        Ended {
            status: o.status.as_str().to_owned(),
            stop_date: o.stop_date,
            output: o.output.as_ref().map(Value::to_string),
            error: o.error.clone(),
            cause: o.cause.clone(),
        }
    }
}

/// Where an execution runs (or ran).
pub(crate) enum Run {
    /// Started (or resumed) by this process: the engine holds its history.
    Live { execution: Arc<Execution>, ended: Option<Ended> },
    /// Loaded from the journal: its history is there. `ended: None` is a RUNNING execution this process
    /// could not resume (its version cannot run here, or its events could not be read).
    Stored { ended: Option<Ended> },
}

/// An execution of a STANDARD state machine.
pub(crate) struct ExecEntry {
    pub(crate) seq: u64,
    pub(crate) arn: String,
    pub(crate) name: String,
    pub(crate) machine_arn: String,
    pub(crate) version: Arc<Version>,
    pub(crate) input: String,
    pub(crate) start_date: DateTime<Utc>,
    pub(crate) run: Mutex<Run>,
    /// The Step Functions Local test case it runs, if any.
    pub(crate) test_case: Option<String>,
    /// Started on a version ARN (or an alias, which names a version): that version's ARN.
    pub(crate) version_arn: Option<String>,
    /// Started on an alias ARN: the alias's ARN.
    pub(crate) alias_arn: Option<String>,
    /// Its redrives (RedriveExecution).
    pub(crate) redrive: Mutex<Redrive>,
    /// A child execution of a map run: the map run's ARN.
    pub(crate) map_run_arn: Option<String>,
    /// A child execution of a map run: the index of its item (or batch).
    pub(crate) map_index: Option<usize>,
    /// The map runs its Distributed Maps started, in start order.
    pub(crate) map_runs: Mutex<Vec<Arc<MapRun>>>,
}

/// What RedriveExecution did to an execution: how often, and when last (its history holds every run:
/// each redrive's events follow its `ExecutionRedriven`).
#[derive(Default)]
pub(crate) struct Redrive {
    pub(crate) count: u64,
    pub(crate) date: Option<DateTime<Utc>>,
}

/// The children of map runs that run again under their ARNs (a resumed or redriven execution's), handed
/// to the engine when it asks ([`sfn_engine::MapRunObserver::prior_children`]): filled by the service
/// before it resumes or redrives the execution, taken by the map run.
#[derive(Default)]
pub(crate) struct PriorChildren {
    by_run: Mutex<HashMap<String, Vec<PriorChild>>>,
}

impl PriorChildren {
    pub(crate) fn put(&self, map_run_arn: &str, children: Vec<PriorChild>) {
        self.by_run.lock().unwrap_or_else(|e| e.into_inner()).insert(map_run_arn.to_owned(), children);
    }

    pub(crate) fn take(&self, map_run_arn: &str) -> Vec<PriorChild> {
        self.by_run.lock().unwrap_or_else(|e| e.into_inner()).remove(map_run_arn).unwrap_or_default()
    }
}

impl ExecEntry {
    /// `None` while running, else how it ended.
    pub(crate) fn ended(&self) -> Option<Ended> {
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *run {
            Run::Live { execution, ended } => {
                if ended.is_none() {
                    *ended = execution.outcome().as_ref().map(Ended::from_outcome);
                }
                ended.clone()
            }
            Run::Stored { ended } => ended.clone(),
        }
    }

    /// How often it was redriven, and when last.
    pub(crate) fn redrive_counts(&self) -> (u64, Option<DateTime<Utc>>) {
        let r = self.redrive.lock().unwrap_or_else(|e| e.into_inner());
        (r.count, r.date)
    }

    pub(crate) fn live(&self) -> Option<Arc<Execution>> {
        match &*self.run.lock().unwrap_or_else(|e| e.into_inner()) {
            Run::Live { execution, .. } => Some(execution.clone()),
            Run::Stored { .. } => None,
        }
    }

    pub(crate) fn record(&self) -> ExecutionRecord {
        let (count, date) = self.redrive_counts();
        self.record_at(count, date)
    }

    /// Its record (RUNNING) after `count` redrives, the last at `date`.
    pub(crate) fn record_at(&self, count: u64, date: Option<DateTime<Utc>>) -> ExecutionRecord {
        ExecutionRecord {
            arn: self.arn.clone(),
            name: self.name.clone(),
            machine: self.version.record.machine.clone(),
            version: self.version.record.id.clone(),
            input: self.input.clone(),
            role_arn: Some(self.version.record.role_arn.clone()),
            start_ms: self.start_date.timestamp_millis(),
            seq: self.seq,
            status: "RUNNING".to_owned(),
            stop_ms: None,
            output: None,
            error: None,
            cause: None,
            test_case: self.test_case.clone(),
            version_arn: self.version_arn.clone(),
            alias_arn: self.alias_arn.clone(),
            redrive_count: count,
            redrive_ms: date.map(|d| d.timestamp_millis()),
            map_run_arn: self.map_run_arn.clone(),
            map_index: self.map_index.map(|i| i as u64),
            map_runs: self
                .map_runs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|r| map_run_record(r))
                .collect(),
        }
    }
}

fn counts(c: &MapRunCounts) -> [u64; 8] {
    [c.pending, c.running, c.succeeded, c.failed, c.timed_out, c.aborted, c.total, c.results_written]
}

fn from_counts(c: [u64; 8]) -> MapRunCounts {
    let [pending, running, succeeded, failed, timed_out, aborted, total, results_written] = c;
    MapRunCounts {
        pending,
        running,
        succeeded,
        failed,
        timed_out,
        aborted,
        total,
        results_written,
        pending_redrive: 0,
    }
}

/// A map run as the journal keeps it.
pub(crate) fn map_run_record(r: &MapRun) -> MapRunRecord {
    let s = r.state();
    MapRunRecord {
        arn: r.arn.clone(),
        state_machine_arn: r.state_machine_arn.clone(),
        label: r.label.clone(),
        express: r.express,
        start_ms: r.start_date.timestamp_millis(),
        status: s.status.as_str().to_owned(),
        stop_ms: s.stop_date.map(|d| d.timestamp_millis()),
        max_concurrency: s.max_concurrency,
        tolerated_failure_count: s.tolerated_failure_count,
        tolerated_failure_percentage: s.tolerated_failure_percentage,
        items: counts(&s.items),
        executions: counts(&s.executions),
        redrive_count: s.redrive_count,
        redrive_ms: s.redrive_date.map(|d| d.timestamp_millis()),
    }
}

/// A map run from its journal record. One that was RUNNING when the server stopped shows ABORTED until
/// its execution, resumed, runs it again under the same ARN (with new children).
fn restore_map_run(execution_arn: &str, rec: &MapRunRecord, now: DateTime<Utc>) -> MapRun {
    let status = MapRunStatus::parse(&rec.status).unwrap_or(MapRunStatus::Aborted);
    let (status, stop_date) = match status {
        MapRunStatus::Running => (MapRunStatus::Aborted, Some(now)),
        s => (s, rec.stop_ms.map(from_ms)),
    };
    MapRun::new(
        rec.arn.clone(),
        execution_arn.to_owned(),
        rec.state_machine_arn.clone(),
        rec.label.clone(),
        rec.express,
        from_ms(rec.start_ms),
        MapRunState {
            status,
            stop_date,
            max_concurrency: rec.max_concurrency,
            tolerated_failure_count: rec.tolerated_failure_count,
            tolerated_failure_percentage: rec.tolerated_failure_percentage,
            items: from_counts(rec.items),
            executions: from_counts(rec.executions),
            redrive_count: rec.redrive_count,
            redrive_date: rec.redrive_ms.map(from_ms),
        },
    )
}

/// `…:stateMachine:MACHINE/LABEL` and the name of a map run's child `…:execution:MACHINE/LABEL:NAME`
/// (EXPRESS: `…:express:MACHINE/LABEL:NAME:ID`).
pub(crate) fn child_names(child: &str) -> (String, String) {
    let parts: Vec<&str> = child.split(':').collect();
    match parts.as_slice() {
        [head @ .., _kind, machine, name] if head.len() == 5 => {
            (format!("{}:stateMachine:{machine}", head.join(":")), (*name).to_owned())
        }
        [head @ .., _kind, machine, name, _id] if head.len() == 5 => {
            (format!("{}:stateMachine:{machine}", head.join(":")), (*name).to_owned())
        }
        _ => (child.to_owned(), child.to_owned()),
    }
}

/// An activity (`…:activity:NAME`): workers poll it with GetActivityTask.
pub(crate) struct Activity {
    pub(crate) arn: String,
    pub(crate) creation: DateTime<Utc>,
    /// The tasks Task states scheduled on it that no worker has taken yet, oldest first.
    pub(crate) tasks: VecDeque<ActivityTask>,
    /// Wakes the workers polling it (a task for them, or the activity deleted).
    pub(crate) wake: Arc<tokio::sync::Notify>,
}

impl Activity {
    pub(crate) fn record(&self, name: &str) -> ActivityRecord {
        ActivityRecord { name: name.to_owned(), creation_ms: self.creation.timestamp_millis() }
    }
}

/// The activities by name (ListActivities is in name order), shared with the engine as its
/// [`ActivityQueue`]: a Task state on an activity ARN leaves its task here for GetActivityTask. Made
/// before the engine (which holds it), so it is not part of the [`Registry`].
#[derive(Default)]
pub(crate) struct Activities {
    by_name: Mutex<BTreeMap<String, Activity>>,
}

impl Activities {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Activity>> {
        self.by_name.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The activity named by `arn` in `map` (its name is the ARN's last part; the ARN must be its own).
fn by_arn<'a>(map: &'a mut BTreeMap<String, Activity>, arn: &str) -> Option<&'a mut Activity> {
    let name = arn.rsplit(':').next()?;
    map.get_mut(name).filter(|a| a.arn == arn)
}

impl ActivityQueue for Activities {
    fn exists(&self, activity_arn: &str) -> bool {
        by_arn(&mut self.lock(), activity_arn).is_some()
    }

    fn offer(&self, task: ActivityTask) -> bool {
        let mut map = self.lock();
        let Some(a) = by_arn(&mut map, &task.activity_arn) else { return false };
        a.tasks.push_back(task);
        // One worker per task (a permit is kept when none waits: the next poll finds the task anyway).
        a.wake.notify_one();
        true
    }

    fn withdraw(&self, activity_arn: &str, token: &str) {
        if let Some(a) = by_arn(&mut self.lock(), activity_arn) {
            a.tasks.retain(|t| t.token != token);
        }
    }
}

/// Every state machine and execution.
#[derive(Default)]
pub(crate) struct Registry {
    /// By name (ListStateMachines is in name order).
    pub(crate) machines: BTreeMap<String, Machine>,
    /// By ARN.
    pub(crate) executions: HashMap<String, Arc<ExecEntry>>,
    /// Machine name → executions in start order.
    pub(crate) by_machine: HashMap<String, Vec<Arc<ExecEntry>>>,
    /// Map runs by ARN.
    pub(crate) map_runs: HashMap<String, Arc<MapRun>>,
    /// Map run ARN → its child executions in start order.
    pub(crate) by_map_run: HashMap<String, Vec<Arc<ExecEntry>>>,
    pub(crate) next_seq: u64,
}

impl Registry {
    /// True while an execution of the machine `name` runs.
    pub(crate) fn running(&self, name: &str) -> bool {
        self.by_machine.get(name).is_some_and(|list| list.iter().any(|e| e.ended().is_none()))
    }

    /// The machine `name`, unless it is gone: deleted, and its last execution ended.
    pub(crate) fn machine(&self, name: &str) -> Option<&Machine> {
        self.machines.get(name).filter(|m| !m.deleting || self.running(name))
    }

    /// Removes the machine `name` if it is gone (see [`Registry::machine`]); its executions stay
    /// describable, as those of a machine deleted with none running do.
    pub(crate) fn sweep(&mut self, name: &str) {
        if self.machines.contains_key(name) && self.machine(name).is_none() {
            self.machines.remove(name);
            self.by_machine.remove(name);
        }
    }
}

/// The Step Functions service behind the HTTP endpoint.
pub(crate) struct Service {
    pub(crate) engine: Engine,
    pub(crate) region: String,
    pub(crate) account: String,
    reg: RwLock<Registry>,
    pub(crate) journal: Option<Journal>,
    /// Step Functions Local's test cases (`…:stateMachine:NAME#TestCase`).
    pub(crate) mocks: Option<Arc<dyn crate::mocking::MockCases>>,
    /// The activities (the engine's activity queue).
    pub(crate) activities: Arc<Activities>,
    /// The children of map runs about to run again (shared with the map runs' observer).
    pub(crate) priors: Arc<PriorChildren>,
}

pub(crate) fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Parses, validates and prepares a definition for the engine.
pub(crate) fn prepare(engine: &Engine, record: &VersionRecord) -> Result<Prepared, String> {
    let v = crate::definition::verdict(engine.integrations(), &record.definition, &record.kind);
    let machine = v.into_result().map_err(|diags| {
        diags
            .iter()
            .map(|d| format!("{}: {} at {}", d.code, d.message, d.pointer))
            .collect::<Vec<_>>()
            .join(", ")
    })?;
    engine.prepare(machine, &record.machine).map_err(|errors| errors.to_string())
}

/// Hands the map runs of the executions about to resume their children: the finished ones keep their
/// results, the running ones (their events read from the journal) are resumed with the map run. A
/// redriven execution's map runs also get the events of every child that did not succeed: the engine
/// tells from them which children this redrive redrove already (they keep how they ended, or resume)
/// and which it has yet to redrive.
fn prior_children(executions: &[ExecutionRecord], journal: Option<&Journal>, priors: &PriorChildren) {
    // Map run ARN → whether its execution was redriven.
    let resumed: HashMap<&str, bool> = executions
        .iter()
        .filter(|r| r.status == "RUNNING" && r.map_run_arn.is_none())
        .flat_map(|r| r.map_runs.iter().map(move |m| (m.arn.as_str(), r.redrive_count > 0)))
        .collect();
    let mut by_run: HashMap<&str, Vec<PriorChild>> = HashMap::new();
    for rec in executions {
        let (Some(run), Some(index)) = (rec.map_run_arn.as_deref(), rec.map_index) else { continue };
        let Some(&redriven) = resumed.get(run) else { continue };
        let Ok(index) = usize::try_from(index) else { continue };
        let outcome = (rec.status != "RUNNING").then(|| {
            Ended {
                status: rec.status.clone(),
                stop_date: from_ms(rec.stop_ms.unwrap_or(rec.start_ms)),
                output: rec.output.clone(),
                error: rec.error.clone(),
                cause: rec.cause.clone(),
            }
            .to_outcome()
        });
        let again = outcome.is_none() || (redriven && rec.status != "SUCCEEDED");
        let events: Vec<Event> = match (again, journal) {
            (true, Some(j)) => j.recorded(&rec.arn).unwrap_or_else(|why| {
                tracing::warn!("the history of {} cannot be read ({why}); it runs again", rec.arn);
                Vec::new()
            }),
            _ => Vec::new(),
        };
        let child =
            PriorChild { index, arn: rec.arn.clone(), start_date: from_ms(rec.start_ms), outcome, events };
        by_run.entry(run).or_default().push(child);
    }
    for (run, children) in by_run {
        priors.put(run, children);
    }
}

/// Continues a RUNNING execution of the journal from its recorded events.
fn resume(
    engine: &Engine,
    journal: Option<&Journal>,
    version: &Version,
    rec: &ExecutionRecord,
    mocks: Option<&Arc<dyn crate::mocking::MockCases>>,
) -> Result<Execution, String> {
    let prepared =
        version.prepared.as_ref().map_err(|why| format!("its state machine cannot run here: {why}"))?;
    let events = match journal {
        Some(j) => j.recorded(&rec.arn).map_err(|e| format!("its history cannot be read: {e}"))?,
        None => Vec::new(),
    };
    let input = serde_json::from_str(&rec.input).map_err(|e| format!("its input is not JSON: {e}"))?;
    let req = ResumeRequest {
        execution_arn: rec.arn.clone(),
        execution_name: rec.name.clone(),
        input,
        role_arn: rec.role_arn.clone(),
        start_time: from_ms(rec.start_ms),
        events,
    };
    // A test case resumes with its mocks (never with real calls in their place); without them it stays
    // RUNNING until StopExecution.
    match &rec.test_case {
        None => Ok(engine.resume(prepared, req)),
        Some(case) => {
            let cases = mocks.ok_or_else(|| {
                format!("it runs the test case '{case}' and no mock configuration is loaded")
            })?;
            let m = cases.test_case(&rec.machine, case, prepared.machine())?;
            Ok(engine.resume_mocked(prepared, req, m))
        }
    }
}

impl Service {
    /// A service over `engine` (whose activity queue is `activities`), with the journal's snapshot
    /// loaded: its activities first, then its machines; executions that were RUNNING are resumed from
    /// their recorded events ([`Engine::resume`]) and tracked like live ones (an activity task they had
    /// scheduled is offered to the workers again).
    pub(crate) fn new(
        engine: Engine,
        journal: Option<Journal>,
        snapshot: Snapshot,
        mocks: Option<Arc<dyn crate::mocking::MockCases>>,
        activities: Arc<Activities>,
        priors: Arc<PriorChildren>,
    ) -> Service {
        let cfg = engine.config();
        let (region, account) = (cfg.region.clone(), cfg.account.clone());
        {
            let mut map = activities.lock();
            for a in snapshot.activities {
                let arn = format!("arn:aws:states:{region}:{account}:activity:{}", a.name);
                let activity = Activity {
                    arn,
                    creation: from_ms(a.creation_ms),
                    tasks: VecDeque::new(),
                    wake: Arc::default(),
                };
                map.insert(a.name, activity);
            }
        }
        let mut reg = Registry { next_seq: 1, ..Registry::default() };
        let mut versions: HashMap<String, Arc<Version>> = HashMap::new();
        for record in snapshot.versions {
            let prepared = prepare(&engine, &record);
            let update_date = from_ms(record.update_ms);
            versions.insert(record.id.clone(), Arc::new(Version { record, prepared, update_date }));
        }
        for m in snapshot.machines {
            let Some(version) = versions.get(&m.version) else {
                tracing::warn!("state machine {} refers to a missing version; skipped", m.name);
                continue;
            };
            if let Ok(p) = &version.prepared {
                crate::mocking::report(mocks.as_ref(), &m.name, p.machine());
            }
            let arn = crate::arn::machine_arn(&region, &account, &m.name);
            reg.machines.insert(
                m.name.clone(),
                Machine {
                    arn,
                    creation: from_ms(m.creation_ms),
                    version: version.clone(),
                    tags: m.tags,
                    deleting: false,
                    published: Published {
                        versions: m
                            .published
                            .iter()
                            .filter_map(|p| match versions.get(&p.version) {
                                Some(v) => Some((
                                    p.number,
                                    PublishedVersion {
                                        version: v.clone(),
                                        description: p.description.clone(),
                                        creation: from_ms(p.creation_ms),
                                    },
                                )),
                                None => {
                                    tracing::warn!("version {} of {} is missing; skipped", p.number, m.name);
                                    None
                                }
                            })
                            .collect(),
                        last: m.last_version,
                        aliases: m
                            .aliases
                            .into_iter()
                            .map(|a| {
                                let alias = Alias {
                                    description: a.description,
                                    routing: a.routing,
                                    creation: from_ms(a.creation_ms),
                                    update: from_ms(a.update_ms),
                                };
                                (a.name, alias)
                            })
                            .collect(),
                    },
                },
            );
        }
        prior_children(&snapshot.executions, journal.as_ref(), &priors);
        let mut unresumed = 0usize;
        for rec in snapshot.executions {
            let Some(version) = versions.get(&rec.version) else {
                tracing::warn!("execution {} refers to a missing version; skipped", rec.arn);
                continue;
            };
            let ended = (rec.status != "RUNNING").then(|| Ended {
                status: rec.status.clone(),
                stop_date: from_ms(rec.stop_ms.unwrap_or(rec.start_ms)),
                output: rec.output.clone(),
                error: rec.error.clone(),
                cause: rec.cause.clone(),
            });
            let run = match ended {
                Some(ended) => Run::Stored { ended: Some(ended) },
                // A map run's child is not resumed on its own: its parent, resumed, runs the map run again.
                None if rec.map_run_arn.is_some() => Run::Stored {
                    ended: Some(Ended {
                        status: "ABORTED".to_owned(),
                        stop_date: engine.clock().now(),
                        output: None,
                        error: None,
                        cause: Some(
                            "The server stopped while the map run ran; its execution runs it again"
                                .to_owned(),
                        ),
                    }),
                },
                // A redriven execution resumes with its last redrive (the engine replays it as it ran,
                // its map runs with the children `prior_children` handed them).
                None => match resume(&engine, journal.as_ref(), version, &rec, mocks.as_ref()) {
                    Ok(execution) => Run::Live { execution: Arc::new(execution), ended: None },
                    Err(why) => {
                        tracing::warn!("execution {} cannot be resumed: {why}", rec.arn);
                        unresumed += 1;
                        Run::Stored { ended: None }
                    }
                },
            };
            reg.next_seq = reg.next_seq.max(rec.seq.saturating_add(1));
            let map_runs: Vec<Arc<MapRun>> = rec
                .map_runs
                .iter()
                .map(|m| Arc::new(restore_map_run(&rec.arn, m, engine.clock().now())))
                .collect();
            for m in &map_runs {
                reg.map_runs.insert(m.arn.clone(), m.clone());
            }
            let machine_arn = match &rec.map_run_arn {
                Some(_) => child_names(&rec.arn).0,
                None => crate::arn::machine_arn(&region, &account, &rec.machine),
            };
            let entry = Arc::new(ExecEntry {
                seq: rec.seq,
                arn: rec.arn.clone(),
                name: rec.name.clone(),
                machine_arn,
                version: version.clone(),
                input: rec.input.clone(),
                start_date: from_ms(rec.start_ms),
                run: Mutex::new(run),
                test_case: rec.test_case.clone(),
                version_arn: rec.version_arn.clone(),
                alias_arn: rec.alias_arn.clone(),
                redrive: Mutex::new(Redrive { count: rec.redrive_count, date: rec.redrive_ms.map(from_ms) }),
                map_run_arn: rec.map_run_arn.clone(),
                map_index: rec.map_index.and_then(|i| usize::try_from(i).ok()),
                map_runs: Mutex::new(map_runs),
            });
            reg.executions.insert(rec.arn.clone(), entry.clone());
            if let Some(m) = &rec.map_run_arn {
                reg.by_map_run.entry(m.clone()).or_default().push(entry);
            } else if reg.machines.contains_key(&rec.machine) {
                reg.by_machine.entry(rec.machine.clone()).or_default().push(entry);
            }
        }
        if unresumed > 0 {
            tracing::warn!(
                "{unresumed} execution(s) were RUNNING when the server stopped and cannot be resumed; they stay RUNNING until StopExecution"
            );
        }
        Service { engine, region, account, reg: RwLock::new(reg), journal, mocks, activities, priors }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.reg.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.reg.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until every journal write enqueued so far is committed (no-op in memory); fails with HTTP 503
    /// `ServiceUnavailable` when that commit failed. The writes stay queued and the journal tries them
    /// again, so a call that fails here may still take effect (as on AWS, a 5xx leaves the outcome open;
    /// StartExecution with the same name and input is idempotent while the execution runs).
    pub(crate) async fn durable(&self) -> Result<(), ApiError> {
        match &self.journal {
            Some(j) => j.barrier().await.map_err(|e| {
                ApiError::unavailable(format!(
                    "{e}; the request is not on disk (the journal keeps it and tries again, so it may still take effect); retry it"
                ))
            }),
            None => Ok(()),
        }
    }

    /// Commits every journal write enqueued so far and releases the journal's files. Executions still
    /// running are abandoned where they stand, as if the process had died: they stay RUNNING in the
    /// journal and resume when it is opened again (in this process or another), rather than go on
    /// unjournaled next to their resumed selves. In memory nothing could resume them, so they are
    /// stopped as StopExecution stops them — their `.sync` tasks are stopped, not orphaned — and
    /// waited for (at most [`CLOSE_GRACE`]).
    pub(crate) async fn close(&self) {
        let running: Vec<Arc<Execution>> = self
            .read()
            .executions
            .values()
            .filter_map(|e| match (e.live(), e.ended()) {
                (Some(execution), None) => Some(execution),
                _ => None,
            })
            .collect();
        if let Some(j) = &self.journal {
            for execution in running {
                execution.abandon();
            }
            j.close().await;
        } else {
            for execution in &running {
                execution.stop_with(None, Some("The endpoint shut down".to_owned()));
            }
            let all = async {
                for execution in &running {
                    execution.wait().await;
                }
            };
            if tokio::time::timeout(CLOSE_GRACE, all).await.is_err() {
                tracing::warn!("executions still stopping after {CLOSE_GRACE:?} at shutdown");
            }
        }
    }

    /// The name of one of our state machines from its ARN, or `StateMachineDoesNotExist`.
    pub(crate) fn machine_name<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        crate::arn::machine_name(arn, &self.region, &self.account)?
            .ok_or_else(|| ApiError::machine_not_found(arn))
    }

    /// What `arn` starts: a state machine ARN its current version; `…:NAME:N` version N; `…:NAME:ALIAS`
    /// a version of the alias's routing, picked by weight. `StateMachineDoesNotExist` for a machine that
    /// does not exist, `ResourceNotFound` for a version or alias that does not.
    pub(crate) fn resolve(&self, arn: &str) -> Result<Target, ApiError> {
        let a = crate::arn::parse(arn)?;
        let crate::arn::Named::StateMachine { name, qualifier } = a.named else {
            return Err(ApiError::invalid_arn(format_args!(
                "Resource type not valid in this context: {arn}"
            )));
        };
        if a.region != self.region || a.account != self.account {
            return Err(ApiError::machine_not_found(arn));
        }
        let reg = self.read();
        let base = crate::arn::machine_arn(&self.region, &self.account, name);
        let m = reg.machine(name).ok_or_else(|| ApiError::machine_not_found(&base))?;
        if m.deleting {
            return Err(ApiError::machine_deleting(&base));
        }
        let target = |version: Arc<Version>, version_arn, alias_arn| Target {
            name: name.to_owned(),
            version,
            version_arn,
            alias_arn,
        };
        let Some(q) = qualifier else { return Ok(target(m.version.clone(), None, None)) };
        let published = |n: u64| {
            m.published
                .versions
                .get(&n)
                .map(|p| (p.version.clone(), format!("{base}:{n}")))
                .ok_or_else(|| not_found(&format!("{base}:{n}")))
        };
        if let Ok(n) = q.parse::<u64>() {
            let (v, varn) = published(n)?;
            return Ok(target(v, Some(varn), None));
        }
        let alias = m.published.aliases.get(q).ok_or_else(|| not_found(arn))?;
        let roll = (uuid::Uuid::new_v4().as_u128() % 100) as u64;
        let n = route(&alias.routing, roll).ok_or_else(|| not_found(arn))?;
        let (v, varn) = published(n)?;
        Ok(target(v, Some(varn), Some(arn.to_owned())))
    }

    /// The machine name of a version or alias ARN that exists (ListExecutions on it); `ResourceNotFound`
    /// for a version or alias that does not, `StateMachineDoesNotExist` for a machine that does not.
    pub(crate) fn resolve_listed<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        let a = crate::arn::parse(arn)?;
        let crate::arn::Named::StateMachine { name, qualifier: Some(q) } = a.named else {
            return Err(ApiError::machine_not_found(arn));
        };
        if a.region != self.region || a.account != self.account {
            return Err(ApiError::machine_not_found(arn));
        }
        let reg = self.read();
        let m = reg.machine(name).ok_or_else(|| ApiError::machine_not_found(arn))?;
        let exists = match q.parse::<u64>() {
            Ok(n) => m.published.versions.contains_key(&n),
            Err(_) => m.published.aliases.contains_key(q),
        };
        if exists { Ok(name) } else { Err(not_found(arn)) }
    }

    /// The execution with this ARN, or an EXPRESS child of a map run (AWS, DescribeExecution: "Executions
    /// of an EXPRESS state machine aren't supported by DescribeExecution unless a Map Run dispatched them").
    pub(crate) fn described(&self, arn: &str) -> Result<Arc<ExecEntry>, ApiError> {
        if crate::arn::execution_kind(arn)?
            && let Some(e) = self.read().executions.get(arn).filter(|e| e.map_run_arn.is_some())
        {
            return Ok(e.clone());
        }
        self.execution(arn)
    }

    /// The execution with this ARN.
    pub(crate) fn execution(&self, arn: &str) -> Result<Arc<ExecEntry>, ApiError> {
        if crate::arn::execution_kind(arn)? {
            return Err(ApiError::invalid_arn("Resource type not valid in this context: express"));
        }
        self.read().executions.get(arn).cloned().ok_or_else(|| ApiError::execution_not_found(arn))
    }

    pub(crate) fn describe_version_json(&self, machine_arn: &str, v: &Version) -> Value {
        let r = &v.record;
        let mut out = Map::new();
        out.insert("stateMachineArn".into(), json!(machine_arn));
        out.insert("name".into(), json!(r.machine));
        out.insert("definition".into(), json!(r.definition));
        out.insert("roleArn".into(), json!(r.role_arn));
        out.insert("updateDate".into(), date(v.update_date));
        out.insert("loggingConfiguration".into(), r.logging.clone());
        out.insert("tracingConfiguration".into(), r.tracing.clone());
        if let Some(rev) = &r.revision_id {
            out.insert("revisionId".into(), json!(rev));
        }
        Value::Object(out)
    }
}

/// `ResourceNotFound: Resource not found: '<arn>'`.
pub(crate) fn not_found(arn: &str) -> ApiError {
    ApiError::client("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

/// `{"level": "OFF", "includeExecutionData": false}` unless given.
pub(crate) fn logging_or_default(v: Option<&serde_json::Map<String, Value>>) -> Value {
    v.map_or_else(|| json!({"level": "OFF", "includeExecutionData": false}), |m| Value::Object(m.clone()))
}

/// `{"enabled": false}` unless given.
pub(crate) fn tracing_or_default(v: Option<&serde_json::Map<String, Value>>) -> Value {
    v.map_or_else(|| json!({"enabled": false}), |m| Value::Object(m.clone()))
}

/// Opaque pagination tokens: `base64url(<kind>:<scope tag>:<position>)`. The scope tag (the first 8 bytes of
/// the SHA-256 of the resource the listing is of: an execution for its history, a state machine for its
/// executions) binds a token to its listing: another execution's token, or one edited by hand, is
/// `InvalidToken`, as AWS answers.
pub(crate) mod token {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::Digest as _;

    use crate::error::ApiError;

    fn tag(scope: &str) -> String {
        sha2::Sha256::digest(scope.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn encode(kind: &str, scope: &str, position: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{kind}:{}:{position}", tag(scope)))
    }

    /// The position of a token made by [`encode`] with the same kind and scope.
    pub(crate) fn decode(kind: &str, scope: &str, token: &str) -> Result<String, ApiError> {
        let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid(token))?;
        let text = String::from_utf8(raw).map_err(|_| invalid(token))?;
        let rest = text.strip_prefix(kind).and_then(|r| r.strip_prefix(':')).ok_or_else(|| invalid(token))?;
        let (t, position) = rest.split_once(':').ok_or_else(|| invalid(token))?;
        if t != tag(scope) {
            return Err(invalid(token));
        }
        Ok(position.to_owned())
    }

    /// A numeric position no larger than `max`.
    pub(crate) fn decode_index(kind: &str, scope: &str, token: &str, max: u64) -> Result<u64, ApiError> {
        decode(kind, scope, token)?.parse::<u64>().ok().filter(|p| *p <= max).ok_or_else(|| invalid(token))
    }

    /// Where a page of a listing of `len` items starts: 0 without a token, else the position a token of
    /// this kind and scope holds (a position past the end was never handed out: `InvalidToken`).
    pub(crate) fn offset(
        kind: &str,
        scope: &str,
        token: Option<&str>,
        len: usize,
    ) -> Result<usize, ApiError> {
        match token {
            Some(t) => usize::try_from(decode_index(kind, scope, t, len as u64)?).map_err(|_| invalid(t)),
            None => Ok(0),
        }
    }

    /// Adds `nextToken` to a page that started at `from` and took `max` of `len` items, when items remain.
    pub(crate) fn add_next(
        out: &mut serde_json::Value,
        kind: &str,
        scope: &str,
        from: usize,
        max: usize,
        len: usize,
    ) {
        let next = from.saturating_add(max);
        if next < len
            && let Some(o) = out.as_object_mut()
        {
            o.insert("nextToken".into(), serde_json::json!(encode(kind, scope, &next.to_string())));
        }
    }

    /// `InvalidToken: Invalid Token: '<token>'`.
    pub(crate) fn invalid(token: &str) -> ApiError {
        ApiError::client("InvalidToken", format!("Invalid Token: '{token}'"))
    }
}
