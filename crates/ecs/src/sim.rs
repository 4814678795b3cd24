//! `sim`: an in-memory ECS, scripted per task-definition family; deterministic, and on tokio's clock
//! (a paused test runtime makes minutes of task time take none). It counts API calls so tests and
//! benchmarks can check batching.
//!
//! With [`SimBackend::persist`] it keeps every RunTask and StopTask call in a file (JSON lines, written
//! before the call is answered) and replays them when opened again, so its tasks — ARNs, `ClientToken`s,
//! how long they have run — survive a restart of the process, kill -9 included (`sfn serve --ecs sim
//! --state-dir`: a resumed execution polls its `.sync` task by ARN, or gets it back by `ClientToken`).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt as _;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::backend::{EcsBackend, RunTaskRequest, cluster_arn};
use crate::error::{EcsError, SimConfigError};
use crate::lifecycle::{ESSENTIAL_CONTAINER_EXITED, LastStatus, NewTask, StopCode};
use crate::model::{DescribeOutput, EcsFailure, EcsTask, RunTaskOutput};
use crate::params::RunTaskParams;
use crate::taskdef::{ContainerDefinition, TaskDefinition, TaskDefinitions};

/// How tasks of one family behave in the simulator.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimScript {
    /// Seconds from RunTask to STOPPED (default 1).
    pub run_seconds: Option<f64>,
    /// Exit code per container name (default 0).
    #[serde(default)]
    pub exit_codes: BTreeMap<String, i32>,
    /// RunTask answers with this `Failures` reason instead of starting the task.
    pub failure: Option<String>,
    /// The task never stops on its own.
    #[serde(default)]
    pub never_stops: bool,
    /// DescribeTasks reports the task MISSING.
    #[serde(default)]
    pub missing: bool,
    /// The task fails to start, with this reason, as one whose image cannot be pulled does: PENDING
    /// (its ENI connected, nothing pulled), then STOPPED with `TaskFailedToStart` (recorded:
    /// `test_run_task_sync_raise_failure`, reason `CannotPullContainerError: …`).
    pub fail_to_start: Option<String>,
    /// The first N RunTask calls for the family answer `ThrottlingException` (as ECS does beyond the
    /// SDK's retries): the state fails with `ECS.ThrottlingException`, which Retry can match.
    #[serde(default)]
    pub run_task_throttled: u32,
    /// StopTask of the family's tasks answers this ECS error (e.g. `ServerException`), and the task
    /// keeps running.
    pub stop_task_error: Option<String>,
}

/// Counters of API calls.
#[derive(Debug, Default)]
pub struct SimCounters {
    /// RunTask calls.
    pub run_task: AtomicU64,
    /// DescribeTasks calls.
    pub describe_tasks: AtomicU64,
    /// ARNs asked about, over all DescribeTasks calls.
    pub described_arns: AtomicU64,
    /// Largest number of ARNs in one DescribeTasks call.
    pub max_arns_per_call: AtomicU64,
    /// StopTask calls.
    pub stop_task: AtomicU64,
}

/// What a RunTask `ClientToken` started: task ARNs and failures.
type TokenResult = (Vec<String>, Vec<EcsFailure>);

struct SimTask {
    task: EcsTask,
    started: Instant,
    /// Its family's script, shared with every task of the family.
    script: Arc<SimScript>,
    stopped_by_user: Option<String>,
}

/// A call kept in the state file of a persistent simulator.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", rename_all_fields = "camelCase")]
enum Logged {
    RunTask {
        params: Box<RunTaskParams>,
        client_token: Option<String>,
        region: String,
        account: String,
        at_ms: i64,
    },
    StopTask {
        arn: String,
        reason: String,
        at_ms: i64,
    },
}

/// The simulator.
pub struct SimBackend {
    scripts: HashMap<String, Arc<SimScript>>,
    default_script: Arc<SimScript>,
    task_definitions: TaskDefinitions,
    /// Boxed: a slot of the map costs a pointer, not a whole task (ten thousand tasks, and the table
    /// doubling while they are made).
    tasks: Mutex<HashMap<String, Box<SimTask>>>,
    tokens: Mutex<HashMap<String, TokenResult>>,
    next: AtomicU64,
    /// RunTask calls throttled so far, per family (`SimScript::run_task_throttled`).
    throttled: Mutex<HashMap<String, u32>>,
    /// The state file ([`SimBackend::persist`]).
    log: Option<Mutex<std::fs::File>>,
    /// API call counters (with [`SimBackend::persist`], the calls replayed from the state file included).
    pub counters: SimCounters,
}

impl std::fmt::Debug for SimBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBackend").field("scripts", &self.scripts.len()).finish_non_exhaustive()
    }
}

impl SimBackend {
    /// A simulator where every family follows `default_script` unless scripted otherwise.
    pub fn new(default_script: SimScript) -> Self {
        SimBackend {
            scripts: HashMap::new(),
            default_script: Arc::new(default_script),
            task_definitions: TaskDefinitions::new(),
            tasks: Mutex::default(),
            tokens: Mutex::default(),
            next: AtomicU64::new(1),
            throttled: Mutex::default(),
            log: None,
            counters: SimCounters::default(),
        }
    }

    /// Keeps every RunTask and StopTask call in `path` (JSON lines, appended before the call is answered)
    /// after replaying the calls it already holds: tasks come back with their ARNs, their `ClientToken`s,
    /// their stops and the time they have been running (by the wall clock). Use the same scripts as before.
    pub fn persist(mut self, path: &Path) -> std::io::Result<Self> {
        if path.exists() {
            let file = std::io::BufReader::new(std::fs::File::open(path)?);
            for line in file.lines() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                // A line cut short by a crash is the last one: it was never answered.
                let Ok(call) = serde_json::from_str::<Logged>(&line) else { break };
                self.replay(call);
            }
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        self.log = Some(Mutex::new(file));
        Ok(self)
    }

    fn replay(&self, call: Logged) {
        // The tokio instant that was `at_ms` on the wall clock.
        let instant_at = |at_ms: i64| {
            let ago = chrono::Utc::now().timestamp_millis().saturating_sub(at_ms).max(0);
            let now = Instant::now();
            now.checked_sub(Duration::from_millis(ago.unsigned_abs())).unwrap_or(now)
        };
        match call {
            Logged::RunTask { params, client_token, region, account, at_ms } => {
                let first = self.next.load(Ordering::Relaxed);
                let req = RunTaskRequest {
                    params: *params,
                    client_token,
                    region,
                    account,
                    ..RunTaskRequest::default()
                };
                // The simulator's RunTask never awaits.
                let Some(Ok(out)) = self.run_task(&req).now_or_never() else { return };
                let mut tasks = self.lock();
                for task in &out.tasks {
                    let id = task.task_arn.rsplit('/').next().and_then(|i| u64::from_str_radix(i, 16).ok());
                    if let (Some(t), true) = (tasks.get_mut(&task.task_arn), id.is_some_and(|i| i >= first)) {
                        t.task.created_at = at_ms;
                        t.started = instant_at(at_ms);
                    }
                }
            }
            Logged::StopTask { arn, reason, at_ms } => {
                self.counters.stop_task.fetch_add(1, Ordering::Relaxed);
                let _ = self.stop_at(&arn, &reason, instant_at(at_ms));
            }
        }
    }

    /// Appends a call to the state file, if there is one.
    fn record(&self, call: &Logged) {
        let Some(log) = &self.log else { return };
        let mut line = serde_json::to_string(call).unwrap_or_default();
        line.push('\n');
        let mut file = log.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::error!("the simulator's state file is no longer written: {e}");
        }
    }

    fn stop_at(&self, arn: &str, reason: &str, now: Instant) -> Result<(), EcsError> {
        let mut tasks = self.lock();
        let Some(t) = tasks.get_mut(arn) else {
            return Err(EcsError::invalid_parameter(format!("The referenced task was not found: {arn}")));
        };
        Self::advance(t, now);
        if !t.task.is_stopped() {
            t.stopped_by_user = Some(reason.to_owned());
            Self::advance(t, now);
        }
        Ok(())
    }

    /// Scripts a family.
    pub fn script(mut self, family: &str, script: SimScript) -> Self {
        self.scripts.insert(family.to_owned(), Arc::new(script));
        self
    }

    /// Uses these task definitions (their containers appear in described tasks).
    pub fn with_task_definitions(mut self, tds: TaskDefinitions) -> Self {
        self.task_definitions = tds;
        self
    }

    /// Reads scripts from JSON: `{"default": {...}, "families": {"name": {...}}}`.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, SimConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            default: SimScript,
            #[serde(default)]
            families: BTreeMap<String, SimScript>,
        }
        let f: File = serde_path_to_error::deserialize(v)
            .map_err(|e| SimConfigError { path: e.path().to_string(), message: e.inner().to_string() })?;
        let mut sim = SimBackend::new(f.default);
        for (k, s) in f.families {
            sim = sim.script(&k, s);
        }
        Ok(sim)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Box<SimTask>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tasks that are not STOPPED (for orphan checks).
    pub fn running_tasks(&self) -> Vec<String> {
        let now = Instant::now();
        let mut tasks = self.lock();
        tasks
            .iter_mut()
            .filter_map(|(arn, t)| {
                Self::advance(t, now);
                (!t.task.is_stopped()).then(|| arn.clone())
            })
            .collect()
    }

    fn advance(t: &mut SimTask, now: Instant) {
        if t.task.is_stopped() {
            return;
        }
        let stop_ms = t.task.created_at;
        let at = |d: Duration| stop_ms + i64::try_from(d.as_millis()).unwrap_or(0);
        if let Some(reason) = t.stopped_by_user.take() {
            finish(&mut t.task, at(now - t.started), StopCode::UserInitiated, &reason, |_| Some(143));
            return;
        }
        if let Some(reason) = &t.script.fail_to_start {
            // As a task whose image cannot be pulled: PENDING with its ENI and each container's runtime
            // id, nothing pulled, then STOPPED (recorded: `test_run_task_sync_raise_failure`).
            t.task.pending_unpulled(at(Duration::ZERO));
            let task_id = t.task.task_arn.rsplit('/').next().unwrap_or_default().to_owned();
            for i in 0..t.task.containers.len() {
                t.task.container_started(i, Some(format!("{task_id}-{i}")));
            }
            t.task.failed_to_start(reason, at(Duration::ZERO));
            return;
        }
        let run = Duration::from_secs_f64(t.script.run_seconds.unwrap_or(1.0).max(0.0));
        let elapsed = now - t.started;
        if t.task.last_status == LastStatus::Provisioning {
            // PENDING (images pulled, each container given a runtime id), then RUNNING, as ECS goes.
            t.task.pending(at(Duration::ZERO));
            let task_id = t.task.task_arn.rsplit('/').next().unwrap_or_default().to_owned();
            for i in 0..t.task.containers.len() {
                t.task.container_started(i, Some(format!("{task_id}-{i}")));
            }
            t.task.running(at(Duration::ZERO));
        }
        if !t.script.never_stops && elapsed >= run {
            let codes = t.script.exit_codes.clone();
            finish(
                &mut t.task,
                at(run),
                StopCode::EssentialContainerExited,
                ESSENTIAL_CONTAINER_EXITED,
                |name| Some(codes.get(name).copied().unwrap_or(0)),
            );
        }
    }
}

/// Every container exits (`exit` gives its code by name) and the task stops, at `at`.
fn finish(task: &mut EcsTask, at: i64, code: StopCode, reason: &str, exit: impl Fn(&str) -> Option<i32>) {
    for c in &mut task.containers {
        c.exited(exit(&c.name));
    }
    task.stopped(code, reason, at);
}

#[async_trait]
impl EcsBackend for SimBackend {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn run_task(&self, req: &RunTaskRequest) -> Result<RunTaskOutput, EcsError> {
        self.counters.run_task.fetch_add(1, Ordering::Relaxed);
        // One instant for the record and the tasks it creates, so a replayed task keeps its CreatedAt exactly.
        let now_ms = chrono::Utc::now().timestamp_millis();
        if self.log.is_some() {
            self.record(&Logged::RunTask {
                params: Box::new(req.params.clone()),
                client_token: req.client_token.clone(),
                region: req.region.clone(),
                account: req.account.clone(),
                at_ms: now_ms,
            });
        }
        if let Some(token) = &req.client_token
            && let Some((arns, failures)) =
                self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(token).cloned()
        {
            // Same token, same tasks (as they are now).
            let tasks = self.lock();
            let out = RunTaskOutput {
                tasks: arns.iter().filter_map(|a| tasks.get(a).map(|t| t.task.clone())).collect(),
                failures,
                request_id: None,
            };
            return Ok(out);
        }
        let p = &req.params;
        let family = TaskDefinitions::family_of(&p.task_definition).to_owned();
        let script = self.scripts.get(&family).cloned().unwrap_or_else(|| self.default_script.clone());
        if script.run_task_throttled > 0 {
            let mut throttled = self.throttled.lock().unwrap_or_else(|e| e.into_inner());
            let n = throttled.entry(family.clone()).or_default();
            if *n < script.run_task_throttled {
                *n += 1;
                return Err(EcsError::new("ThrottlingException", "Rate exceeded"));
            }
        }
        let cluster_arn = cluster_arn(p.cluster_ref(), &req.region, &req.account);
        let td = match self.task_definitions.resolve(&p.task_definition) {
            Some((_, _, td)) => td.clone(),
            None => TaskDefinition {
                family: family.clone(),
                revision: Some(1),
                container_definitions: vec![ContainerDefinition {
                    name: "app".into(),
                    image: "sim".into(),
                    ..Default::default()
                }],
                cpu: Some("256".into()),
                memory: Some("512".into()),
                ..Default::default()
            },
        };
        let mut out = RunTaskOutput::default();
        let count = p.count.unwrap_or(1).clamp(1, 10);
        for _ in 0..count {
            if let Some(reason) = &script.failure {
                out.failures.push(EcsFailure {
                    arn: Some(cluster_arn.clone()),
                    reason: reason.clone(),
                    detail: None,
                });
                continue;
            }
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let task_id = format!("{n:032x}");
            let task = EcsTask::provisioning(NewTask {
                req,
                td: &td,
                task_definition_arn: format!(
                    "arn:aws:ecs:{}:{}:task-definition/{}:{}",
                    req.region,
                    req.account,
                    td.family,
                    td.revision.unwrap_or(1)
                ),
                cluster_arn: &cluster_arn,
                task_id: &task_id,
                created_at: now_ms,
            });
            let task_arn = task.task_arn.clone();
            out.tasks.push(task.clone());
            self.lock().insert(
                task_arn,
                Box::new(SimTask {
                    task,
                    started: Instant::now(),
                    script: script.clone(),
                    stopped_by_user: None,
                }),
            );
        }
        if let Some(token) = &req.client_token {
            let arns = out.tasks.iter().map(|t| t.task_arn.clone()).collect();
            self.tokens
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone(), (arns, out.failures.clone()));
        }
        Ok(out)
    }

    async fn describe_tasks(&self, _cluster: &str, arns: &[String]) -> Result<DescribeOutput, EcsError> {
        if arns.len() > 100 {
            return Err(EcsError::invalid_parameter("Tasks cannot contain more than 100 elements"));
        }
        self.counters.describe_tasks.fetch_add(1, Ordering::Relaxed);
        self.counters.described_arns.fetch_add(arns.len() as u64, Ordering::Relaxed);
        self.counters.max_arns_per_call.fetch_max(arns.len() as u64, Ordering::Relaxed);
        let now = Instant::now();
        let mut tasks = self.lock();
        let mut out = DescribeOutput::default();
        for arn in arns {
            match tasks.get_mut(arn) {
                Some(t) if !t.script.missing => {
                    Self::advance(t, now);
                    out.tasks.push(t.task.clone());
                }
                _ => out.failures.push(EcsFailure::missing(arn)),
            }
        }
        Ok(out)
    }

    async fn stop_task(&self, _cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        self.counters.stop_task.fetch_add(1, Ordering::Relaxed);
        let error = self.lock().get(arn).and_then(|t| t.script.stop_task_error.clone());
        if let Some(exception) = error {
            return Err(EcsError::new(&exception, format!("StopTask failed for {arn} (simulated)")));
        }
        let at_ms = chrono::Utc::now().timestamp_millis();
        self.stop_at(arn, reason, Instant::now())?;
        self.record(&Logged::StopTask { arn: arn.to_owned(), reason: reason.to_owned(), at_ms });
        Ok(())
    }

    fn task_definitions(&self) -> Option<&TaskDefinitions> {
        (!self.task_definitions.is_empty()).then_some(&self.task_definitions)
    }
}
