//! `local`: ECS on the host. Each container is a host process — argv = entryPoint + command (a `Command`
//! override replaces the command), never through a shell — in its own process group, with the task's
//! environment plus `SFN_ECS_TASK_ARN` (the task's ARN). The ECS life cycle, exit codes, stop codes and
//! container reasons follow ECS; each cluster has a finite EC2-style capacity, so an EC2 task that does
//! not fit gets a real RunTask `Failures` entry. FARGATE tasks (`LaunchType: FARGATE`, or a
//! `FARGATE`/`FARGATE_SPOT` capacity provider) take no cluster capacity, as on ECS, where Fargate is
//! limited only by an account-wide quota — enforced here only when set (`with_fargate_vcpu_quota`, RunTask's
//! failure [`FARGATE_QUOTA_REASON`]); a cluster's capacity can be set by name (`with_cluster_capacity`).
//!
//! A task's processes are one unit, as its containers' PID namespaces are on ECS (`procs.rs`: sfn is a
//! child subreaper and records every descendant from `/proc`): when an essential container exits or the
//! task is stopped (StopTask, a state's timeout, StopExecution), every process of the task — background
//! children, double-forked ones, `setsid` daemons — gets SIGTERM, then SIGKILL after the stop grace, and
//! the task is STOPPED only once none is left. (A non-essential container that exits leaves its children
//! to the task's end.) That is `containers.rs`, run in this process — or, with a state directory
//! ([`LocalBackend::with_state_dir`]), in a supervisor process per task (`supervisor.rs`) that outlives
//! this one: the server then follows each task through its directory (`taskdir.rs`: status, exit codes,
//! output, a stop file), and a restarted server adopts the tasks it finds there — a running one is
//! followed again, a finished one reports its recorded outcome, one never started (the server died
//! first) is started once, and a `ClientToken` finds the tasks it started. A task whose directory exists
//! is never MISSING: if its supervisor died without recording the end, or its files are damaged, it is
//! STOPPED (`InfrastructureHealth`) with the cause, naming the file.
//!
//! Nothing is kept for ever: a STOPPED task is kept for [`STOPPED_TASK_RETENTION`] (an hour, as ECS
//! keeps stopped tasks in DescribeTasks; `with_stopped_task_retention`) after a DescribeTasks last
//! reported it STOPPED (one never described: since it stopped, and at least a minute, longer than any
//! `.sync` poll interval) and then forgotten — a supervised one not before the `.sync` state that
//! followed it has its end on record ([`EcsBackend::release`]; else an hour after it stopped), since its
//! directory holds the outcome a resumed execution would read: out of memory (its output
//! buffers with it) and, supervised, its directory off the disk. Its outcome is then in the engine's
//! history (a `.sync` state journals the task's end when DescribeTasks reports it), and its log lines in
//! whatever the [`OutputSink`] fed (the server's CloudWatch Logs store, the CLI's console). Each
//! supervised container's stored output is capped on disk (`taskdir.rs`), so disk use is bounded by the
//! running tasks and those stopped within the retention. A backend that opens a state directory adopts
//! the running tasks at once; directories earlier servers left that nobody asks for (a finished task
//! whose execution has its outcome, a task recorded but never started) are deleted once they are older
//! than the retention, one retention after the backend opened — a resumed execution asks for its task
//! long before.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::backend::{EcsBackend, RunTaskRequest, cluster_arn, cluster_name};
use crate::containers::{self, TaskHost, now_ms};
use crate::error::EcsError;
use crate::lifecycle::NewTask;
use crate::model::{DescribeOutput, EcsFailure, EcsTask, RunTaskOutput};
use crate::output::{
    self, ContainerLog, LogStream, OutputLine, OutputSink, OutputSource, Readers, TaskOutput,
};
use crate::params::RunTaskParams;
use crate::procs;
use crate::taskdef::{ContainerDefinition, TaskDefinition, TaskDefinitions};
use crate::taskdir::{self, ContainerRun, Event, Status, Tail, TaskDirError, TaskRecord, Usage};

/// Host variables a container process inherits (everything else comes from the task).
const HOST_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TZ"];

/// Where FARGATE tasks' vCPUs are counted (no cluster has this name).
const FARGATE_KEY: &str = "\0fargate";

/// RunTask's failure reason for a FARGATE task past the account's vCPU quota: the wording of ECS's
/// "unable to place a task" events (AWS blog "Migrating Fargate service quotas to vCPU-based quotas";
/// re:Post "You've reached the limit on the number of vCPUs you can run concurrently"). That RunTask
/// reports it as a `failures` entry rather than an exception is not recorded anywhere we found.
pub const FARGATE_QUOTA_REASON: &str =
    "You've reached the limit on the number of vCPUs you can run concurrently";

/// EC2-style capacity of every local cluster (FARGATE tasks do not use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// CPU units (1024 = one vCPU).
    pub cpu: i64,
    /// Memory in MiB.
    pub memory_mib: i64,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity { cpu: 4096, memory_mib: 8192 }
    }
}

/// The program a supervised task runs under, with its first arguments; the task's directory is added
/// as the last one, and the program calls [`crate::supervise`] with it (the CLI: the `sfn` binary,
/// `std::env::current_exe()`, with `__supervise`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments before the task's directory.
    pub args: Vec<OsString>,
}

struct Supervised {
    /// `STATE_DIR/tasks`.
    tasks_dir: PathBuf,
    command: SupervisorCommand,
}

struct LocalTask {
    task: Mutex<EcsTask>,
    /// In process: StopTask's reason, to its driver.
    stop: watch::Sender<Option<String>>,
    /// Its containers' output (`output.rs`), and whose output each container's is (to label it).
    output: Arc<TaskOutput>,
    sources: Vec<Arc<OutputSource>>,
    sink: Option<Arc<dyn OutputSink>>,
    /// Supervised: its directory.
    dir: Option<PathBuf>,
    /// The RunTask `ClientToken` that started it.
    client_token: Option<String>,
    /// Once it is STOPPED: when it was last reported (seen STOPPED, or described); it is forgotten, and
    /// its directory deleted, [`STOPPED_TASK_RETENTION`] after that.
    reported: Mutex<Option<tokio::time::Instant>>,
    /// The `.sync` state that followed it has its end on record ([`EcsBackend::release`]): a supervised
    /// task's directory, which a resumed execution would read the outcome from, is needed no longer.
    released: AtomicBool,
}

#[derive(Default)]
struct State {
    used: HashMap<String, (i64, i64)>,
    tasks: HashMap<String, Arc<LocalTask>>,
    /// Supervised tasks by id.
    by_id: HashMap<String, Arc<LocalTask>>,
    tokens: HashMap<String, RunTaskOutput>,
}

/// The local backend.
pub struct LocalBackend {
    task_definitions: TaskDefinitions,
    extra_env: Vec<(String, String)>,
    capacity: Capacity,
    /// Capacities of named clusters (others have `capacity`).
    clusters: HashMap<String, Capacity>,
    /// The account's Fargate On-Demand vCPU quota in CPU units, when enforced.
    fargate_quota: Option<i64>,
    stop_grace: Duration,
    /// The bytes a supervised container's stored output may take on disk.
    output_cap: u64,
    /// How long a STOPPED task is kept after it was last reported.
    retention: Duration,
    state: Arc<Mutex<State>>,
    sink: Option<Arc<dyn OutputSink>>,
    supervised: Option<Supervised>,
    /// The state directory's running tasks were adopted.
    adopted: AtomicBool,
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl LocalBackend {
    /// A backend running these task definitions.
    pub fn new(task_definitions: TaskDefinitions) -> Self {
        LocalBackend {
            task_definitions,
            extra_env: Vec::new(),
            capacity: Capacity::default(),
            clusters: HashMap::new(),
            fargate_quota: None,
            stop_grace: Duration::from_secs(2),
            output_cap: taskdir::STORED_OUTPUT_BYTES,
            retention: STOPPED_TASK_RETENTION,
            state: Arc::default(),
            sink: None,
            supervised: None,
            adopted: AtomicBool::new(false),
        }
    }

    /// Runs every task under a supervisor process (`command`) that keeps the task's status, exit codes
    /// and output in `STATE_DIR/tasks/<task-id>/`, so tasks outlive this process (kill -9 included); a
    /// backend opened later on the same directory adopts them (see the module doc). Tasks running when
    /// the last backend stopped are adopted at the first call (or now, inside a Tokio runtime).
    pub fn with_state_dir(mut self, state_dir: &Path, command: SupervisorCommand) -> std::io::Result<Self> {
        let tasks_dir = state_dir.join("tasks");
        std::fs::create_dir_all(&tasks_dir)?;
        self.supervised = Some(Supervised { tasks_dir, command });
        if tokio::runtime::Handle::try_current().is_ok() {
            self.adopt_running();
        }
        Ok(self)
    }

    /// Hands every line the containers print to `sink` as it is read (`sfn run` prints them).
    pub fn with_output_sink(mut self, sink: Arc<dyn OutputSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Variables given to every container unless its task definition or overrides set them (e.g.
    /// `AWS_ENDPOINT_URL_SFN` for callbacks, a region and placeholder credentials).
    pub fn with_extra_env(mut self, env: Vec<(String, String)>) -> Self {
        self.extra_env = env;
        self
    }

    /// Sets every cluster's capacity.
    pub fn with_capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets one cluster's capacity (by name, as in `arn:aws:ecs:…:cluster/NAME`); the others keep theirs.
    pub fn with_cluster_capacity(mut self, cluster: &str, capacity: Capacity) -> Self {
        self.clusters.insert(cluster_name(cluster).to_owned(), capacity);
        self
    }

    /// Enforces a Fargate On-Demand vCPU quota (AWS: an account-wide service quota, not enforced
    /// locally unless set): a FARGATE task that would take the running tasks' vCPUs past it is not
    /// started and RunTask reports a failure for it (see [`FARGATE_QUOTA_REASON`]).
    pub fn with_fargate_vcpu_quota(mut self, vcpus: u32) -> Self {
        self.fargate_quota = Some(i64::from(vcpus) * 1024);
        self
    }

    /// How long stopped containers get between SIGTERM and SIGKILL (ECS: `stopTimeout`, default 30 s).
    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// With a state directory: the bytes each container's output may take on disk (default
    /// [`crate::STORED_OUTPUT_BYTES`], at least [`crate::MIN_STORED_OUTPUT_BYTES`]). Past it the oldest
    /// output is dropped, as a log rotation does, and a reader that missed it gets a line saying how much
    /// was dropped; the task's status and exit codes are kept apart and never dropped.
    pub fn with_stored_output_cap(mut self, bytes: u64) -> Self {
        self.output_cap = bytes.max(taskdir::MIN_STORED_OUTPUT_BYTES);
        self
    }

    /// How long a STOPPED task stays (described, its logs kept, its directory on disk) after it was last
    /// reported STOPPED (default [`STOPPED_TASK_RETENTION`]); then it is forgotten (DescribeTasks says
    /// `MISSING`) and its directory deleted.
    pub fn with_stopped_task_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The captured output of a task's containers (the last [`crate::OUTPUT_BUFFER_BYTES`] of each).
    pub fn logs(&self, task_arn: &str) -> Vec<ContainerLog> {
        let t = self.lock().tasks.get(task_arn).cloned();
        t.map(|t| t.output.snapshot()).unwrap_or_default()
    }

    /// Tasks that are not STOPPED yet (orphan checks).
    pub fn running_tasks(&self) -> Vec<String> {
        self.lock()
            .tasks
            .iter()
            .filter(|(_, t)| !t.task.lock().unwrap_or_else(|e| e.into_inner()).is_stopped())
            .map(|(arn, _)| arn.clone())
            .collect()
    }

    fn env_for(&self, c: &ContainerDefinition, params: &RunTaskParams) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: &str| {
            if let Some(e) = env.iter_mut().find(|(n, _)| n == k) {
                e.1 = v.to_owned();
            } else {
                env.push((k.to_owned(), v.to_owned()));
            }
        };
        for k in HOST_ENV {
            if let Ok(v) = std::env::var(k) {
                set(k, &v);
            }
        }
        let defined: Vec<&str> = c.environment.iter().map(|e| e.name.as_str()).collect();
        for (k, v) in &self.extra_env {
            if !defined.contains(&k.as_str()) {
                set(k, v);
            }
        }
        for e in &c.environment {
            set(&e.name, &e.value);
        }
        for o in params.overrides.iter().flat_map(|o| o.container_overrides.iter().flatten()) {
            if o.name.as_deref() == Some(c.name.as_str()) {
                for e in o.environment.iter().flatten() {
                    if let Some(name) = &e.name {
                        set(name, e.value.as_deref().unwrap_or_default());
                    }
                }
            }
        }
        env
    }
}

fn argv(c: &ContainerDefinition, params: &RunTaskParams) -> Vec<String> {
    let command = params
        .overrides
        .iter()
        .flat_map(|o| o.container_overrides.iter().flatten())
        .find(|o| o.name.as_deref() == Some(c.name.as_str()))
        .and_then(|o| o.command.clone())
        .or_else(|| c.command.clone())
        .unwrap_or_default();
    let mut argv = c.entry_point.clone().unwrap_or_default();
    argv.extend(command);
    argv
}

impl LocalBackend {
    /// A new task of `td`: the task as RunTask returns it, and whose output each container's is.
    fn new_task(
        &self,
        req: &RunTaskRequest,
        td: &TaskDefinition,
        td_arn: &str,
        cluster: &str,
    ) -> (EcsTask, Vec<OutputSource>) {
        // Process-wide: two backends in one process never give two tasks one ARN (nor one marker). With a
        // state directory, ids are random: a restarted server must not give a new task an old task's id.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let task_id = if self.supervised.is_some() {
            uuid::Uuid::new_v4().simple().to_string()
        } else {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            format!("{:08x}{:024x}", std::process::id(), n)
        };
        let task = EcsTask::provisioning(NewTask {
            req,
            td,
            task_definition_arn: td_arn.to_owned(),
            cluster_arn: cluster,
            task_id: &task_id,
            created_at: now_ms(),
        });
        let sources = td
            .container_definitions
            .iter()
            .map(|c| OutputSource {
                task_arn: task.task_arn.clone(),
                state_name: req.state_name.clone(),
                execution_arn: req.execution_arn.clone(),
                container: c.name.clone(),
                log_stream: LogStream::for_container(c, &task_id),
            })
            .collect();
        (task, sources)
    }

    /// The containers of a task of `td` as they are started.
    fn container_runs(
        &self,
        td: &TaskDefinition,
        params: &RunTaskParams,
        task_id: &str,
    ) -> Vec<ContainerRun> {
        td.container_definitions
            .iter()
            .map(|c| ContainerRun {
                name: c.name.clone(),
                argv: argv(c, params),
                env: self.env_for(c, params),
                working_directory: c.working_directory.clone(),
                essential: c.is_essential(),
                log_stream: LogStream::for_container(c, task_id),
            })
            .collect()
    }
}

impl LocalTask {
    fn new(
        task: EcsTask,
        sources: Vec<OutputSource>,
        sink: Option<Arc<dyn OutputSink>>,
        dir: Option<PathBuf>,
        client_token: Option<String>,
    ) -> Arc<LocalTask> {
        let (stop, _) = watch::channel(None);
        Arc::new(LocalTask {
            task: Mutex::new(task),
            stop,
            output: Arc::default(),
            sources: sources.into_iter().map(Arc::new).collect(),
            sink,
            client_token,
            reported: Mutex::new(None),
            // An earlier server may have released it (and died before its retention was over).
            released: AtomicBool::new(dir.as_ref().is_some_and(|d| d.join(taskdir::RECORDED_FILE).exists())),
            dir,
        })
    }

    /// A STOPPED task was reported (DescribeTasks): its retention starts again.
    fn reported(&self, task: &EcsTask) {
        if task.is_stopped() {
            *self.reported.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokio::time::Instant::now());
        }
    }

    /// One change of the task as DescribeTasks reports it (a transition of its life cycle).
    fn update(&self, f: impl FnOnce(&mut EcsTask)) {
        f(&mut self.task.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn snapshot(&self) -> EcsTask {
        self.task.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What to do with each line of container `i` (an output buffer is made for it now).
    fn deliver(&self, i: usize) -> impl Fn(OutputLine) + Send + Sync + 'static {
        let index = self.output.add_container(&self.sources[i].container);
        output::deliver(self.output.clone(), self.sources[i].clone(), self.sink.clone(), index)
    }
}

/// In process: the task DescribeTasks reports and its output buffers.
impl TaskHost for LocalTask {
    fn record(&self, event: Event) {
        self.update(|t| {
            if let Err(e) = event.apply(t) {
                tracing::error!(task = %t.task_arn, "{e}");
            }
        });
    }

    fn capture(&self, i: usize, child: &mut tokio::process::Child) -> Readers {
        output::capture_with(child, self.deliver(i))
    }
}

/// Runs one task in this process from PENDING to STOPPED; then its capacity is released.
async fn drive(
    local: Arc<LocalTask>,
    containers: Vec<ContainerRun>,
    grace: Duration,
    reaper: Reaper,
    usage: Usage,
) {
    let arn = local.snapshot().task_arn;
    let stop = local.stop.subscribe();
    containers::drive(&*local, &arn, &containers, grace, stop).await;
    release(&reaper.state, &usage);
    reaper.reap(local).await;
}

fn release(state: &Arc<Mutex<State>>, usage: &Usage) {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(u) = s.used.get_mut(&usage.0) {
        u.0 -= usage.1;
        u.1 -= usage.2;
    }
}

fn reserve(state: &Arc<Mutex<State>>, usage: &Usage) {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let u = s.used.entry(usage.0.clone()).or_default();
    u.0 += usage.1;
    u.1 += usage.2;
}

/// How long a STOPPED task is kept after a DescribeTasks last reported it STOPPED: an hour, as ECS keeps stopped tasks in DescribeTasks' results for at least an hour (AWS
/// Knowledge Center, "How do I troubleshoot Amazon ECS tasks stopping or failing to start": "You can see
/// stopped tasks in the returned results for at least one hour"). By then the engine has its outcome on
/// record (it journals a `.sync` task's end as soon as DescribeTasks reports it), so nothing needs it.
pub const STOPPED_TASK_RETENTION: Duration = Duration::from_secs(3600);

/// How long a STOPPED task that no DescribeTasks reported yet is kept at least (whatever the retention):
/// longer than any poll interval of a `.sync` state (`EcsIntegration`: at most 10 s).
const UNREPORTED_RETENTION: Duration = Duration::from_secs(60);

/// Forgets STOPPED tasks once their retention is over: out of memory and, supervised, their directory
/// (and their `ClientToken`'s record once none of its tasks is left) off the disk.
#[derive(Clone)]
struct Reaper {
    state: Arc<Mutex<State>>,
    tasks_dir: Option<PathBuf>,
    retention: Duration,
}

impl Reaper {
    /// Waits until `local` (STOPPED) was last reported [`Reaper::retention`] ago (described STOPPED;
    /// never described: since it stopped, and at least [`UNREPORTED_RETENTION`]), then forgets it.
    async fn reap(self, local: Arc<LocalTask>) {
        let task = local.snapshot();
        if !task.is_stopped() {
            return;
        }
        // Not described STOPPED yet: a `.sync` state's poller may not have asked since the task stopped,
        // so it is kept at least [`UNREPORTED_RETENTION`] for that.
        let stopped = tokio::time::Instant::now();
        // Supervised, its directory holds the outcome a resumed execution reads after a crash: until the
        // `.sync` state's end is on record (released), it is kept for ECS's hour at least, whatever the
        // retention.
        let outcome_on_disk = local.dir.is_some() && self.tasks_dir.is_some();
        loop {
            let now = tokio::time::Instant::now();
            let last = *local.reported.lock().unwrap_or_else(|e| e.into_inner());
            let mut due = match last {
                Some(at) => at + self.retention,
                None => stopped + self.retention.max(UNREPORTED_RETENTION),
            };
            if outcome_on_disk && !local.released.load(Ordering::Acquire) {
                due = due.max(stopped + STOPPED_TASK_RETENTION);
            }
            if now >= due {
                break;
            }
            // A report meanwhile moves the end: look again after at most one retention.
            tokio::time::sleep_until(due.min(now + self.retention.max(FOLLOW_EVERY))).await;
        }
        self.forget(&local, &task.task_arn);
    }

    fn forget(&self, local: &LocalTask, arn: &str) {
        {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.tasks.remove(arn);
            if let Some(token) = &local.client_token {
                s.tokens.remove(token);
            }
            if let Some(dir) = &local.dir
                && let Some(id) = dir.file_name().and_then(|n| n.to_str())
            {
                s.by_id.remove(id);
            }
        }
        if let (Some(dir), Some(tasks_dir)) = (&local.dir, &self.tasks_dir) {
            remove_task_dir(tasks_dir, dir);
            if let Some(token) = &local.client_token {
                forget_token(tasks_dir, token);
            }
        }
    }

    /// Once, [`Reaper::retention`] after a backend opened its state directory: deletes the directories
    /// earlier servers left that nobody asked for meanwhile — finished tasks, and tasks recorded but never
    /// started — older than the retention, and the `ClientToken` records whose tasks are all gone.
    async fn sweep_later(self) {
        tokio::time::sleep(self.retention).await;
        let Some(tasks_dir) = &self.tasks_dir else { return };
        let Ok(entries) = std::fs::read_dir(tasks_dir) else { return };
        let older = |p: &Path, than: Duration| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= than)
        };
        let old = |p: &Path| older(p, self.retention);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if name.starts_with(GONE_PREFIX) {
                // A deletion a crash interrupted.
                let _ = std::fs::remove_dir_all(&path);
                continue;
            }
            if !taskdir::is_task_id(&name) {
                continue;
            }
            let known = self.state.lock().unwrap_or_else(|e| e.into_inner()).by_id.contains_key(&name);
            let ended = match taskdir::read_status(&path) {
                Ok(Some(s)) => s.is_final(),
                Ok(None) => true,
                // Damage stays for people to look at (the task is STOPPED with it as reason when asked for).
                Err(_) => false,
            };
            // One whose end is not on record in its execution's history (the server died between
            // DescribeTasks and the journal's commit) holds the outcome a resumed execution reads: it
            // stays for ECS's hour whatever the retention.
            let recorded = path.join(taskdir::RECORDED_FILE).exists();
            let task_file = path.join(taskdir::TASK_FILE);
            if !known && ended && old(&task_file) && (recorded || older(&task_file, STOPPED_TASK_RETENTION)) {
                remove_task_dir(tasks_dir, &path);
            }
        }
        let Ok(tokens) = std::fs::read_dir(tasks_dir.join("tokens")) else { return };
        for entry in tokens.flatten() {
            if old(&entry.path()) && token_tasks_gone(tasks_dir, &entry.path()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// What a task's directory is renamed to before it is deleted, so it is gone at once for readers (no
/// half-deleted task is ever adopted), and a crash mid-way leaves a name the next sweep deletes.
const GONE_PREFIX: &str = ".gone-";

fn remove_task_dir(tasks_dir: &Path, dir: &Path) {
    let Some(name) = dir.file_name() else { return };
    let gone = tasks_dir.join(format!("{GONE_PREFIX}{}", name.to_string_lossy()));
    if let Err(e) = std::fs::rename(dir, &gone) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot delete {}: {e}", dir.display());
        }
        return;
    }
    if let Err(e) = std::fs::remove_dir_all(&gone) {
        tracing::warn!("cannot delete {}: {e}", gone.display());
    }
}

/// True when none of the tasks a token record names has a directory any more.
fn token_tasks_gone(tasks_dir: &Path, token_file: &Path) -> bool {
    let Ok(bytes) = std::fs::read(token_file) else { return false };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    let Some(ids) = v["tasks"].as_array() else { return false };
    ids.iter()
        .filter_map(|i| i.as_str())
        .filter(|i| taskdir::is_task_id(i))
        .all(|i| !tasks_dir.join(i).exists())
}

/// Deletes a `ClientToken`'s record once none of its tasks is left.
fn forget_token(tasks_dir: &Path, token: &str) {
    let path = taskdir::token_file(tasks_dir, token);
    if token_tasks_gone(tasks_dir, &path) {
        let _ = std::fs::remove_file(path);
    }
}

/// How often a server looks at a supervised task's status and output files.
const FOLLOW_EVERY: Duration = Duration::from_millis(50);

/// The task ended without its supervisor saying how (it died, or its files are damaged): STOPPED with
/// `reason`, as ECS stops the tasks of a host it lost; containers that had not exited get the reason and
/// no exit code (so `.sync` fails the state with the task as cause).
fn lost(local: &LocalTask, reason: &str) {
    tracing::error!(task = %local.snapshot().task_arn, "{reason}");
    local.update(|t| {
        if !t.is_stopped() {
            t.lost(reason, now_ms());
        }
    });
}

/// The last lines of a supervisor's standard error, for a reason.
fn supervisor_said(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(taskdir::SUPERVISOR_LOG)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
    if tail.is_empty() { "it said nothing".to_owned() } else { format!("it said: {tail}") }
}

/// Where a container's lines go.
type Deliver = Box<dyn Fn(OutputLine) + Send + Sync>;

/// A supervised task as the server sees it: follows its status and output files until it is STOPPED
/// (then its capacity is released). `child` is the supervisor when this server started it.
struct Follower {
    local: Arc<LocalTask>,
    initial: EcsTask,
    dir: PathBuf,
    child: Option<tokio::process::Child>,
    /// Each container's output file, and where its lines go once it started.
    tails: Vec<(Tail, Option<Deliver>)>,
}

impl Follower {
    fn new(
        local: Arc<LocalTask>,
        initial: EcsTask,
        dir: PathBuf,
        child: Option<tokio::process::Child>,
    ) -> Self {
        let tails = (0..initial.containers.len()).map(|i| (Tail::new(&dir, i), None)).collect();
        Follower { local, initial, dir, child, tails }
    }

    /// Reads the output appended since the last time, for the containers that started.
    fn tail(&mut self, status: &Status) {
        for e in &status.events {
            if let Event::ContainerStarted { container, .. } = e
                && let Some((_, deliver @ None)) = self.tails.get_mut(*container)
            {
                *deliver = Some(Box::new(self.local.deliver(*container)));
            }
        }
        for (tail, deliver) in &mut self.tails {
            if let Some(deliver) = deliver {
                tail.poll(deliver);
            }
        }
    }

    /// True when the supervisor this server started has exited.
    fn child_exited(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// One look at the task's files; true once the task is STOPPED.
    fn step(&mut self) -> bool {
        let exited = self.child_exited();
        let status = match taskdir::read_status(&self.dir) {
            Ok(s) => s,
            Err(e) => {
                self.abandon(&format!("the task's status cannot be read: {e}"));
                return true;
            }
        };
        let Some(status) = status else {
            if !exited {
                return false;
            }
            // The supervisor ended before it published a status: it never started the task.
            if matches!(taskdir::read_status(&self.dir), Ok(None)) {
                let reason = format!(
                    "CannotStartContainerError: the task's supervisor exited before it started the task ({})",
                    supervisor_said(&self.dir)
                );
                self.local.update(|t| {
                    let now = now_ms();
                    t.failed_to_start(&reason, now);
                });
                return true;
            }
            return false;
        };
        let done = status.is_final();
        if !done && !procs::alive(status.supervisor.pid, status.supervisor.start) {
            // It may have written its last status and exited since: look again.
            match taskdir::read_status(&self.dir) {
                Ok(Some(again)) if again.is_final() => return false,
                _ => {
                    self.abandon(&format!(
                        "the task's supervisor (pid {}) ended without recording the task's end ({})",
                        status.supervisor.pid,
                        supervisor_said(&self.dir)
                    ));
                    return true;
                }
            }
        }
        // The output is complete before the task is STOPPED: a supervisor writes its last status once its
        // containers' output is all written, and the files are read after the status.
        self.tail(&status);
        match status.describe(&self.initial) {
            Ok(task) => *self.local.task.lock().unwrap_or_else(|e| e.into_inner()) = task,
            Err(e) => {
                let path = self.dir.join(taskdir::STATUS_FILE);
                self.abandon(&format!("the task's status cannot be read: {}: {e}", path.display()));
                return true;
            }
        }
        done
    }

    /// The task cannot be followed (its supervisor is gone, or its status is damaged): a supervisor still
    /// there is told to stop, whatever is left of the task is killed, and the task is STOPPED with
    /// `reason` ([`lost`]).
    fn abandon(&self, reason: &str) {
        let _ = taskdir::write_atomic(&self.dir.join(taskdir::STOP_FILE), reason.as_bytes());
        let killed = procs::kill_marked(&self.initial.task_arn);
        let left = if killed > 0 {
            format!("; {killed} processes of it were left and killed")
        } else {
            String::new()
        };
        lost(&self.local, &format!("{reason}{left}"));
    }

    async fn run(mut self, reaper: Reaper, usage: Usage) {
        while !self.step() {
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
        release(&reaper.state, &usage);
        // A supervisor of ours exits right after its last status: reap it.
        if let Some(mut child) = self.child.take() {
            let _ = tokio::time::timeout(containers::KILL_WAIT, child.wait()).await;
        }
        let local = self.local.clone();
        drop(self);
        reaper.reap(local).await;
    }
}

impl LocalBackend {
    fn tasks_dir(&self) -> Option<&Path> {
        self.supervised.as_ref().map(|s| s.tasks_dir.as_path())
    }

    /// Starts the supervisor of the task in `dir`.
    fn spawn_supervisor(&self, dir: &Path) -> Result<tokio::process::Child, String> {
        let Some(s) = &self.supervised else { return Err("no supervisor command".into()) };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(taskdir::SUPERVISOR_LOG))
            .map_err(|e| format!("cannot write {}: {e}", dir.join(taskdir::SUPERVISOR_LOG).display()))?;
        let mut cmd = tokio::process::Command::new(&s.command.program);
        cmd.args(&s.command.args)
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(false);
        cmd.spawn().map_err(|e| format!("cannot start {}: {e}", s.command.program.display()))
    }

    /// The supervised task `task_id`, from memory or its directory (adopted: followed from now on);
    /// `None` when it has no directory or no record (RunTask never returned it).
    fn adopt(&self, task_id: &str) -> Result<Option<Arc<LocalTask>>, TaskDirError> {
        let Some(tasks_dir) = self.tasks_dir() else { return Ok(None) };
        if !taskdir::is_task_id(task_id) {
            return Ok(None);
        }
        let dir = tasks_dir.join(task_id);
        let mut s = self.lock();
        if let Some(t) = s.by_id.get(task_id) {
            return Ok(Some(t.clone()));
        }
        let Some(record) = taskdir::read_record(&dir)? else { return Ok(None) };
        let sources = record
            .containers
            .iter()
            .map(|c| OutputSource {
                task_arn: record.task.task_arn.clone(),
                state_name: record.state_name.clone(),
                execution_arn: record.execution_arn.clone(),
                container: c.name.clone(),
                log_stream: c.log_stream.clone(),
            })
            .collect();
        let local = LocalTask::new(
            record.task.clone(),
            sources,
            self.sink.clone(),
            Some(dir.clone()),
            record.client_token.clone(),
        );
        s.tasks.insert(record.task.task_arn.clone(), local.clone());
        s.by_id.insert(task_id.to_owned(), local.clone());
        drop(s);
        let status = taskdir::read_status(&dir);
        let child = match &status {
            // Never started (the server that made it died first): start it now. If a supervisor of that
            // server is starting meanwhile, only one of them publishes a status and runs the task.
            Ok(None) => match self.spawn_supervisor(&dir) {
                Ok(child) => Some(child),
                Err(e) => {
                    local.update(|t| {
                        let now = now_ms();
                        t.failed_to_start(&format!("CannotStartContainerError: {e}"), now);
                    });
                    tokio::spawn(self.reaper().reap(local.clone()));
                    return Ok(Some(local));
                }
            },
            Ok(Some(_)) | Err(_) => None,
        };
        let mut follower = Follower::new(local.clone(), record.task.clone(), dir, child);
        if matches!(&status, Ok(Some(s)) if s.is_final()) || status.is_err() {
            // Finished while no server watched (or damaged): its outcome and output, once.
            follower.step();
            tokio::spawn(self.reaper().reap(local.clone()));
            return Ok(Some(local));
        }
        reserve(&self.state, &record.usage);
        tokio::spawn(follower.run(self.reaper(), record.usage));
        Ok(Some(local))
    }

    /// Adopts, once, every task of the state directory that was running when the last server stopped
    /// (those that finished meanwhile are read when asked for; those never started are started only when
    /// asked for, so a task no execution knows never runs).
    fn adopt_running(&self) {
        let Some(tasks_dir) = self.tasks_dir() else { return };
        if self.adopted.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(tasks_dir) else { return };
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if !taskdir::is_task_id(&id) {
                continue;
            }
            let running = matches!(taskdir::read_status(&entry.path()), Ok(Some(s)) if !s.is_final());
            if running && let Err(e) = self.adopt(&id) {
                tracing::error!("{e}");
            }
        }
        // What earlier servers left and nobody asks for within the retention goes then.
        tokio::spawn(self.reaper().sweep_later());
    }

    fn reaper(&self) -> Reaper {
        Reaper {
            state: self.state.clone(),
            tasks_dir: self.tasks_dir().map(Path::to_path_buf),
            retention: self.retention,
        }
    }

    /// A supervised task that cannot be adopted because its files are damaged: STOPPED, with the damage as
    /// its reason (never MISSING: it ran).
    fn damaged(&self, arn: &str, cluster: &str, e: &TaskDirError) -> EcsTask {
        let mut task = EcsTask::damaged(arn, cluster);
        task.lost(&format!("the task's record cannot be read: {e}"), now_ms());
        task
    }

    /// What a RunTask `ClientToken` started before this server (from the state directory).
    fn tasks_of_token(&self, token: &str) -> Result<Option<RunTaskOutput>, EcsError> {
        let Some(tasks_dir) = self.tasks_dir() else { return Ok(None) };
        let server = |e: TaskDirError| EcsError::new("ServerException", e.to_string());
        let Some(ids) = taskdir::read_token(tasks_dir, token).map_err(server)? else { return Ok(None) };
        let mut out = RunTaskOutput::default();
        for id in ids {
            let Some(local) = self.adopt(&id).map_err(server)? else { continue };
            let record = taskdir::read_record(&tasks_dir.join(&id)).map_err(server)?;
            out.tasks.push(record.map_or_else(|| local.snapshot(), |r| r.task));
        }
        Ok(Some(out))
    }
}

#[async_trait]
impl EcsBackend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn run_task(&self, req: &RunTaskRequest) -> Result<RunTaskOutput, EcsError> {
        self.adopt_running();
        if let Some(token) = &req.client_token {
            if let Some(out) = self.lock().tokens.get(token) {
                return Ok(out.clone());
            }
            if let Some(out) = self.tasks_of_token(token)? {
                self.lock().tokens.insert(token.clone(), out.clone());
                return Ok(out);
            }
        }
        let p = &req.params;
        let Some((family, rev, td)) = self.task_definitions.resolve(&p.task_definition) else {
            return Err(EcsError::client("Unable to describe task definition."));
        };
        let td = td.clone();
        let td_arn = format!("arn:aws:ecs:{}:{}:task-definition/{family}:{rev}", req.region, req.account);
        for o in p.overrides.iter().flat_map(|o| o.container_overrides.iter().flatten()) {
            if let Some(n) = &o.name
                && !td.container_definitions.iter().any(|c| &c.name == n)
            {
                return Err(EcsError::invalid_parameter(format!(
                    "Override for container named {n} is not a container in the TaskDefinition."
                )));
            }
        }
        let cluster = cluster_arn(p.cluster_ref(), &req.region, &req.account);
        // FARGATE tasks take no cluster capacity; their vCPUs count against the account's quota (kept
        // under its own key), EC2 tasks' CPU and memory against their cluster's.
        let fargate = p.runs_on_fargate();
        let (key, cpu, mem) = if fargate {
            (FARGATE_KEY.to_owned(), td.requirements().0, 0)
        } else {
            let (cpu, mem) = td.requirements();
            (cluster.clone(), cpu, mem)
        };
        let usage = Usage(key.clone(), cpu, mem);
        let capacity = match self.fargate_quota {
            _ if !fargate => *self.clusters.get(cluster_name(&cluster)).unwrap_or(&self.capacity),
            Some(quota) => Capacity { cpu: quota, memory_mib: i64::MAX },
            None => Capacity { cpu: i64::MAX, memory_mib: i64::MAX },
        };
        let mut out = RunTaskOutput::default();
        let mut started: Vec<(Arc<LocalTask>, Vec<ContainerRun>)> = Vec::new();
        for _ in 0..p.count.unwrap_or(1).clamp(1, 10) {
            {
                let mut s = self.lock();
                let used = s.used.entry(key.clone()).or_default();
                let reason = if used.0.saturating_add(cpu) > capacity.cpu {
                    Some(if fargate { FARGATE_QUOTA_REASON } else { "RESOURCE:CPU" })
                } else if used.1.saturating_add(mem) > capacity.memory_mib {
                    Some("RESOURCE:MEMORY")
                } else {
                    used.0 += cpu;
                    used.1 += mem;
                    None
                };
                if let Some(reason) = reason {
                    out.failures.push(EcsFailure {
                        arn: (!fargate).then(|| {
                            format!(
                                "arn:aws:ecs:{}:{}:container-instance/{}/local",
                                req.region,
                                req.account,
                                cluster_name(&cluster)
                            )
                        }),
                        reason: reason.to_owned(),
                        detail: None,
                    });
                    continue;
                }
            }
            let (task, sources) = self.new_task(req, &td, &td_arn, &cluster);
            let task_id = task.task_arn.rsplit('/').next().unwrap_or_default().to_owned();
            let runs = self.container_runs(&td, p, &task_id);
            let mut dir = None;
            if let Some(tasks_dir) = self.tasks_dir() {
                // The record is on disk before anyone hears of the task.
                let task_dir = tasks_dir.join(&task_id);
                let record = TaskRecord {
                    format: taskdir::FORMAT,
                    task: task.clone(),
                    client_token: req.client_token.clone(),
                    state_name: req.state_name.clone(),
                    execution_arn: req.execution_arn.clone(),
                    stop_grace_ms: u64::try_from(self.stop_grace.as_millis()).unwrap_or(u64::MAX),
                    usage: usage.clone(),
                    containers: runs.clone(),
                    output_cap: Some(self.output_cap),
                };
                let written = taskdir::create_task_dir(tasks_dir, &task_id).and_then(|dir| {
                    taskdir::write_atomic(&dir.join(taskdir::TASK_FILE), &taskdir::to_json(&record))
                });
                if let Err(e) = written {
                    release(&self.state, &usage);
                    for (t, _) in &started {
                        release(&self.state, &usage);
                        t.update(|t| {
                            let now = now_ms();
                            t.failed_to_start("the task was not started", now);
                        });
                    }
                    return Err(EcsError::new(
                        "ServerException",
                        format!("cannot record the task in {}: {e}", task_dir.display()),
                    ));
                }
                dir = Some(task_dir);
            }
            let local =
                LocalTask::new(task.clone(), sources, self.sink.clone(), dir, req.client_token.clone());
            let mut s = self.lock();
            if local.dir.is_some() {
                s.by_id.insert(task_id, local.clone());
            }
            s.tasks.insert(task.task_arn.clone(), local.clone());
            drop(s);
            started.push((local, runs));
            out.tasks.push(task);
        }
        if let Some(token) = &req.client_token {
            if let Some(tasks_dir) = self.tasks_dir() {
                let ids: Vec<String> = out
                    .tasks
                    .iter()
                    .filter_map(|t| t.task_arn.rsplit('/').next().map(str::to_owned))
                    .collect();
                if let Err(e) = taskdir::write_token(tasks_dir, token, &ids) {
                    tracing::error!("cannot record the ClientToken of tasks {ids:?}: {e}");
                }
            }
            self.lock().tokens.insert(token.clone(), out.clone());
        }
        for (local, runs) in started {
            match &local.dir {
                Some(dir) => match self.spawn_supervisor(dir) {
                    Ok(child) => {
                        let initial = local.snapshot();
                        let follower = Follower::new(local.clone(), initial, dir.clone(), Some(child));
                        tokio::spawn(follower.run(self.reaper(), usage.clone()));
                    }
                    Err(e) => {
                        release(&self.state, &usage);
                        local.update(|t| {
                            let now = now_ms();
                            t.failed_to_start(&format!("CannotStartContainerError: {e}"), now);
                        });
                        tokio::spawn(self.reaper().reap(local.clone()));
                    }
                },
                None => {
                    tokio::spawn(drive(local, runs, self.stop_grace, self.reaper(), usage.clone()));
                }
            }
        }
        Ok(out)
    }

    async fn describe_tasks(&self, cluster: &str, arns: &[String]) -> Result<DescribeOutput, EcsError> {
        if arns.len() > 100 {
            return Err(EcsError::invalid_parameter("Tasks cannot contain more than 100 elements"));
        }
        self.adopt_running();
        let mut out = DescribeOutput::default();
        for arn in arns {
            let known = self.lock().tasks.get(arn).cloned();
            let local = match known {
                Some(t) => Ok(Some(t)),
                None => self.adopt(arn.rsplit('/').next().unwrap_or_default()),
            };
            let task = match local {
                Ok(Some(t)) => {
                    let task = t.snapshot();
                    t.reported(&task);
                    Some(task)
                }
                Ok(None) => None,
                Err(e) => Some(self.damaged(arn, cluster, &e)),
            };
            match task {
                Some(t) => out.tasks.push(t),
                None => out.failures.push(EcsFailure::missing(arn)),
            }
        }
        Ok(out)
    }

    async fn stop_task(&self, _cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        self.adopt_running();
        let known = self.lock().tasks.get(arn).cloned();
        let t = match known {
            Some(t) => Some(t),
            None => self.adopt(arn.rsplit('/').next().unwrap_or_default()).ok().flatten(),
        };
        let Some(t) = t else {
            return Err(EcsError::invalid_parameter(format!("The referenced task was not found: {arn}")));
        };
        match &t.dir {
            // Its supervisor looks for the stop file at every scan.
            Some(dir) if !t.snapshot().is_stopped() => {
                let path = dir.join(taskdir::STOP_FILE);
                taskdir::write_atomic(&path, reason.as_bytes()).map_err(|e| {
                    EcsError::new("ServerException", format!("cannot write {}: {e}", path.display()))
                })?;
            }
            Some(_) => {}
            None => {
                t.stop.send_replace(Some(reason.to_owned()));
            }
        }
        Ok(())
    }

    fn release(&self, arn: &str) {
        let Some(task) = self.lock().tasks.get(arn).cloned() else { return };
        // On disk too: a server that dies before the retention is over leaves a directory the next one
        // may sweep at once.
        if let Some(dir) = &task.dir
            && let Err(e) = std::fs::write(dir.join(taskdir::RECORDED_FILE), b"")
        {
            tracing::warn!("cannot write {}: {e}", dir.join(taskdir::RECORDED_FILE).display());
        }
        task.released.store(true, Ordering::Release);
    }

    fn task_definitions(&self) -> Option<&TaskDefinitions> {
        (!self.task_definitions.is_empty()).then_some(&self.task_definitions)
    }
}
