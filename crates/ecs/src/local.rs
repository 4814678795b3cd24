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
//! to the task's end.)

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::backend::{EcsBackend, RunTaskRequest, cluster_arn, cluster_name, millis};
use crate::error::EcsError;
use crate::lifecycle::{ESSENTIAL_CONTAINER_EXITED, NewTask, STOPPED_BY_USER, StopCode};
use crate::model::{DescribeOutput, EcsFailure, EcsTask, RunTaskOutput};
use crate::output::{self, ContainerLog, LogStream, OutputSink, OutputSource, Readers, TaskOutput};
use crate::params::RunTaskParams;
use crate::procs::{self, TASK_ARN_VAR, TaskProcs};
use crate::taskdef::{ContainerDefinition, TaskDefinition, TaskDefinitions};

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

struct LocalTask {
    task: Mutex<EcsTask>,
    stop: watch::Sender<Option<String>>,
    /// Its containers' output (`output.rs`), and who asked for the task (to label it).
    output: Arc<TaskOutput>,
    asked_by: (Option<String>, Option<String>),
    sink: Option<Arc<dyn OutputSink>>,
}

#[derive(Default)]
struct State {
    used: HashMap<String, (i64, i64)>,
    tasks: HashMap<String, Arc<LocalTask>>,
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
    state: Arc<Mutex<State>>,
    sink: Option<Arc<dyn OutputSink>>,
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
            state: Arc::default(),
            sink: None,
        }
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

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(9))
}

fn now_ms() -> i64 {
    millis(chrono::Utc::now())
}

impl LocalBackend {
    fn start(
        &self,
        req: &RunTaskRequest,
        td: &TaskDefinition,
        td_arn: &str,
        cluster: &str,
    ) -> (EcsTask, Arc<LocalTask>) {
        // Process-wide: two backends in one process never give two tasks one ARN (nor one marker).
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let task_id = format!("{:08x}{:024x}", std::process::id(), n);
        let task = EcsTask::provisioning(NewTask {
            req,
            td,
            task_definition_arn: td_arn.to_owned(),
            cluster_arn: cluster,
            task_id: &task_id,
            created_at: now_ms(),
        });
        let (stop, _) = watch::channel(None);
        let local = Arc::new(LocalTask {
            task: Mutex::new(task.clone()),
            stop,
            output: Arc::default(),
            asked_by: (req.state_name.clone(), req.execution_arn.clone()),
            sink: self.sink.clone(),
        });
        (task, local)
    }
}

impl LocalTask {
    /// One change of the task as DescribeTasks reports it (a transition of its life cycle).
    fn update(&self, f: impl FnOnce(&mut EcsTask)) {
        f(&mut self.task.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// What a task's containers are, once they were started.
enum Started {
    /// Every container runs (by index in the task definition).
    All(Vec<Child>),
    /// A container could not start (the reason); those started before it.
    Failed(String, Vec<Child>),
}

/// Drives one task from PENDING to STOPPED: pull, start the containers, run until an essential container
/// exits or StopTask, stop every process of the task; then the task's capacity is released.
async fn drive(
    local: Arc<LocalTask>,
    td: TaskDefinition,
    params: RunTaskParams,
    envs: Vec<Vec<(String, String)>>,
    grace: Duration,
    state: Arc<Mutex<State>>,
    usage: (String, i64, i64),
) {
    local.update(|t| t.pending(now_ms()));
    let arn = local.task.lock().unwrap_or_else(|e| e.into_inner()).task_arn.clone();
    let mut procs = TaskProcs::new(&arn);
    let stop_rx = local.stop.subscribe();
    let mut readers = Readers::default();
    match start_containers(&local, &td, &params, &envs, &arn, &mut procs, &mut readers) {
        Started::Failed(reason, children) => fail_to_start(&local, children, &mut procs, &reason).await,
        Started::All(children) => {
            local.update(|t| t.running(now_ms()));
            let (code, reason) = run_until_stopped(&local, &td, children, &mut procs, grace, stop_rx).await;
            // The output is complete before the task is STOPPED (its processes are gone, so are the pipes).
            readers.finish(KILL_WAIT).await;
            local.update(|t| t.stopped(code, &reason, now_ms()));
        }
    }
    release(&state, &usage);
}

/// Starts every container in order; the first that cannot start fails the task to start. Each container
/// gets the task's marker ([`TASK_ARN_VAR`]), which neither the task definition nor an override can change.
fn start_containers(
    local: &Arc<LocalTask>,
    td: &TaskDefinition,
    params: &RunTaskParams,
    envs: &[Vec<(String, String)>],
    arn: &str,
    procs: &mut TaskProcs,
    readers: &mut Readers,
) -> Started {
    procs::become_subreaper();
    let mut children = Vec::new();
    for (i, c) in td.container_definitions.iter().enumerate() {
        let mut env: Vec<(String, String)> =
            envs[i].iter().filter(|(k, _)| k != TASK_ARN_VAR).cloned().collect();
        env.push((TASK_ARN_VAR.to_owned(), arn.to_owned()));
        match spawn(c, params, &env) {
            Ok(mut child) => {
                let task_id = arn.rsplit('/').next().unwrap_or(arn);
                let source = OutputSource {
                    task_arn: arn.to_owned(),
                    state_name: local.asked_by.0.clone(),
                    execution_arn: local.asked_by.1.clone(),
                    container: c.name.clone(),
                    log_stream: LogStream::for_container(c, task_id),
                };
                readers.extend(output::capture(&local.output, source, local.sink.clone(), &mut child));
                if let Some(pid) = child.id() {
                    procs.add_container(pid);
                }
                let pid = child.id().map(|p| p.to_string());
                local.update(|t| t.container_started(i, pid));
                children.push(child);
            }
            Err(reason) => {
                local.update(|t| t.container_failed_to_start(i, &reason));
                return Started::Failed(reason, children);
            }
        }
    }
    Started::All(children)
}

/// One container's process (argv, never a shell), in its own process group; `Err` is the container's
/// `CannotStartContainerError` reason.
fn spawn(c: &ContainerDefinition, params: &RunTaskParams, env: &[(String, String)]) -> Result<Child, String> {
    let args = argv(c, params);
    let Some((prog, rest)) = args.split_first() else {
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
async fn fail_to_start(
    local: &Arc<LocalTask>,
    mut children: Vec<Child>,
    procs: &mut TaskProcs,
    reason: &str,
) {
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
    local.update(|t| {
        let now = now_ms();
        t.failed_to_start(reason, now, Some(now));
    });
}

/// How long processes still there after SIGKILL are waited for before the task is reported STOPPED anyway
/// (a process in uninterruptible sleep; logged).
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Waits until an essential container exits or the task is stopped (StopTask), recording the task's
/// processes meanwhile; then every process of the task gets SIGTERM (those that appear while it stops
/// too), and SIGKILL after `grace`. Returns, once none is left, the task's stop code and reason.
async fn run_until_stopped(
    local: &Arc<LocalTask>,
    td: &TaskDefinition,
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
    let mut running: HashSet<usize> = (0..td.container_definitions.len()).collect();
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
        local.update(|t| t.stopping(now_ms()));
        tokio::time::Instant::now() + grace
    };
    loop {
        if stop.is_some() && running.is_empty() {
            procs.scan();
            if procs.is_empty() {
                break;
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d + KILL_WAIT) {
                tracing::warn!(task = %local.task.lock().unwrap_or_else(|e| e.into_inner()).task_arn,
                    left = procs.left(), "processes of a stopped local task survived SIGKILL");
                break;
            }
        }
        tokio::select! {
            Some((i, code, _child)) = waits.next() => {
                running.remove(&i);
                local.update(|t| t.container_exited(i, code));
                if stop.is_none() && (td.container_definitions[i].is_essential() || running.is_empty()) {
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

fn release(state: &Arc<Mutex<State>>, usage: &(String, i64, i64)) {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(u) = s.used.get_mut(&usage.0) {
        u.0 -= usage.1;
        u.1 -= usage.2;
    }
}

#[async_trait]
impl EcsBackend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn run_task(&self, req: &RunTaskRequest) -> Result<RunTaskOutput, EcsError> {
        if let Some(token) = &req.client_token
            && let Some(out) = self.lock().tokens.get(token)
        {
            return Ok(out.clone());
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
        let capacity = match self.fargate_quota {
            _ if !fargate => *self.clusters.get(cluster_name(&cluster)).unwrap_or(&self.capacity),
            Some(quota) => Capacity { cpu: quota, memory_mib: i64::MAX },
            None => Capacity { cpu: i64::MAX, memory_mib: i64::MAX },
        };
        let mut out = RunTaskOutput::default();
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
            let (task, local) = self.start(req, &td, &td_arn, &cluster);
            self.lock().tasks.insert(task.task_arn.clone(), local.clone());
            let envs: Vec<_> = td.container_definitions.iter().map(|c| self.env_for(c, p)).collect();
            tokio::spawn(drive(
                local,
                td.clone(),
                p.clone(),
                envs,
                self.stop_grace,
                self.state.clone(),
                (key.clone(), cpu, mem),
            ));
            out.tasks.push(task);
        }
        if let Some(token) = &req.client_token {
            self.lock().tokens.insert(token.clone(), out.clone());
        }
        Ok(out)
    }

    async fn describe_tasks(&self, _cluster: &str, arns: &[String]) -> Result<DescribeOutput, EcsError> {
        if arns.len() > 100 {
            return Err(EcsError::invalid_parameter("Tasks cannot contain more than 100 elements"));
        }
        let s = self.lock();
        let mut out = DescribeOutput::default();
        for arn in arns {
            match s.tasks.get(arn) {
                Some(t) => out.tasks.push(t.task.lock().unwrap_or_else(|e| e.into_inner()).clone()),
                None => out.failures.push(EcsFailure::missing(arn)),
            }
        }
        Ok(out)
    }

    async fn stop_task(&self, _cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        let t = self.lock().tasks.get(arn).cloned();
        let Some(t) = t else {
            return Err(EcsError::invalid_parameter(format!("The referenced task was not found: {arn}")));
        };
        t.stop.send_replace(Some(reason.to_owned()));
        Ok(())
    }

    fn task_definitions(&self) -> Option<&TaskDefinitions> {
        (!self.task_definitions.is_empty()).then_some(&self.task_definitions)
    }
}
