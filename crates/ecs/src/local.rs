//! `local`: ECS on the host. Each container is a host process — argv = entryPoint + command (a `Command`
//! override replaces the command), never through a shell — in its own process group, with the task's
//! environment. The ECS life cycle, exit codes, stop codes and container reasons follow ECS; each
//! cluster has a finite EC2-style capacity, so an EC2 task that does not fit gets a real RunTask `Failures`
//! entry. FARGATE tasks (`LaunchType: FARGATE`, or a `FARGATE`/`FARGATE_SPOT` capacity provider) take no
//! cluster capacity, as on ECS, where Fargate is limited only by an account-wide quota.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

use crate::backend::{EcsBackend, RunTaskRequest, cluster_arn, cluster_name, millis};
use crate::error::EcsError;
use crate::model::{DescribeOutput, EcsContainer, EcsFailure, EcsTask, RunTaskOutput, render_overrides};
use crate::params::RunTaskParams;
use crate::taskdef::{ContainerDefinition, TaskDefinition, TaskDefinitions};

/// Lines of output kept per container.
const LOG_LINES: usize = 1000;
/// Host variables a container process inherits (everything else comes from the task).
const HOST_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TZ"];

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

/// A container's captured output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLog {
    /// Container name.
    pub container: String,
    /// The last lines of stdout and stderr, in arrival order.
    pub lines: VecDeque<String>,
}

struct LocalTask {
    task: Mutex<EcsTask>,
    stop: watch::Sender<Option<String>>,
    logs: Mutex<Vec<ContainerLog>>,
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
    stop_grace: Duration,
    state: Arc<Mutex<State>>,
    next: AtomicU64,
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
            stop_grace: Duration::from_secs(2),
            state: Arc::default(),
            next: AtomicU64::new(1),
        }
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

    /// How long stopped containers get between SIGTERM and SIGKILL (ECS: `stopTimeout`, default 30 s).
    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The captured output of a task's containers.
    pub fn logs(&self, task_arn: &str) -> Vec<ContainerLog> {
        let t = self.lock().tasks.get(task_arn).cloned();
        t.map(|t| t.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()).unwrap_or_default()
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

fn signal_group(child: &Child, signal: nix::sys::signal::Signal) {
    if let Some(pid) = child.id()
        && let Ok(pid) = i32::try_from(pid)
    {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), signal);
    }
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
        let p = &req.params;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let task_id = format!("{:08x}{:024x}", std::process::id(), n);
        let task_arn =
            format!("arn:aws:ecs:{}:{}:task/{}/{task_id}", req.region, req.account, cluster_name(cluster));
        let (cpu, mem) = td.requirements();
        let task = EcsTask {
            task_arn: task_arn.clone(),
            cluster_arn: cluster.to_owned(),
            task_definition_arn: td_arn.to_owned(),
            last_status: "PROVISIONING".into(),
            desired_status: "RUNNING".into(),
            launch_type: p.launch_type.clone(),
            capacity_provider_name: p
                .capacity_provider_strategy
                .as_ref()
                .and_then(|s| s.first())
                .map(|s| s.capacity_provider.clone()),
            platform_version: p.platform_version.clone(),
            cpu: cpu.to_string(),
            memory: mem.to_string(),
            started_by: p.started_by.clone(),
            group: p.group.clone().unwrap_or_else(|| format!("family:{}", td.family)),
            created_at: now_ms(),
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            execution_stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            containers: td
                .container_definitions
                .iter()
                .map(|c| EcsContainer {
                    container_arn: format!(
                        "arn:aws:ecs:{}:{}:container/{}/{task_id}/{}",
                        req.region,
                        req.account,
                        cluster_name(cluster),
                        c.name
                    ),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    last_status: "PENDING".into(),
                    exit_code: None,
                    reason: None,
                    essential: c.is_essential(),
                    runtime_id: None,
                    extra: serde_json::Map::new(),
                })
                .collect(),
            overrides: render_overrides(td, p),
            tags: p.tags.iter().flatten().map(|t| json!({"Key": t.key, "Value": t.value})).collect(),
            enable_execute_command: p.enable_execute_command.unwrap_or(false),
            version: 1,
            extra: serde_json::Map::new(),
        };
        let (stop, _) = watch::channel(None);
        let local = Arc::new(LocalTask { task: Mutex::new(task.clone()), stop, logs: Mutex::default() });
        (task, local)
    }
}

/// Drives one task from PENDING to STOPPED.
async fn drive(
    local: Arc<LocalTask>,
    td: TaskDefinition,
    params: RunTaskParams,
    envs: Vec<Vec<(String, String)>>,
    grace: Duration,
    state: Arc<Mutex<State>>,
    usage: (String, i64, i64),
) {
    let update = |f: &mut dyn FnMut(&mut EcsTask)| {
        let mut t = local.task.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut t);
        t.version += 1;
    };
    update(&mut |t| {
        t.last_status = "PENDING".into();
        t.pull_started_at = Some(now_ms());
        t.pull_stopped_at = Some(now_ms());
    });
    let mut stop_rx = local.stop.subscribe();

    // Start every container; any that cannot start fails the task to start.
    let mut children: Vec<Option<Child>> = Vec::new();
    let mut failed: Option<String> = None;
    for (i, c) in td.container_definitions.iter().enumerate() {
        let args = argv(c, &params);
        let spawned = match args.split_first() {
            None => {
                Err(format!("CannotStartContainerError: container {} has no entryPoint or command", c.name))
            }
            Some((prog, rest)) => {
                let mut cmd = Command::new(prog);
                cmd.args(rest)
                    .env_clear()
                    .envs(envs[i].iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
        };
        match spawned {
            Ok(mut child) => {
                capture(&local, &c.name, &mut child);
                let pid = child.id().map(|p| p.to_string());
                update(&mut |t| {
                    t.containers[i].runtime_id = pid.clone();
                });
                children.push(Some(child));
            }
            Err(reason) => {
                update(&mut |t| {
                    t.containers[i].reason = Some(reason.clone());
                });
                failed = Some(reason);
                children.push(None);
                break;
            }
        }
    }
    if let Some(reason) = failed {
        for child in children.iter_mut().flatten() {
            signal_group(child, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait().await;
        }
        update(&mut |t| {
            for c in &mut t.containers {
                c.last_status = "STOPPED".into();
            }
            t.last_status = "STOPPED".into();
            t.desired_status = "STOPPED".into();
            t.stop_code = Some("TaskFailedToStart".into());
            t.stopped_reason = Some(reason.clone());
            let now = now_ms();
            t.stopping_at = Some(now);
            t.stopped_at = Some(now);
        });
        release(&state, &usage);
        return;
    }
    update(&mut |t| {
        t.last_status = "RUNNING".into();
        t.started_at = Some(now_ms());
        for c in &mut t.containers {
            c.last_status = "RUNNING".into();
        }
    });

    // Wait until an essential container exits or the task is stopped.
    let mut waits = futures_util::stream::FuturesUnordered::new();
    for (i, child) in children.iter_mut().enumerate() {
        if let Some(ch) = child.take() {
            waits.push(async move {
                let mut ch = ch;
                let status = ch.wait().await;
                (i, status.map(exit_code).ok(), ch)
            });
        }
    }
    use futures_util::StreamExt as _;
    let mut running: HashMap<usize, ()> = (0..td.container_definitions.len()).map(|i| (i, ())).collect();
    let mut stop: Option<(String, String)> = None;
    let mut pids: HashMap<usize, u32> = HashMap::new();
    {
        let t = local.task.lock().unwrap_or_else(|e| e.into_inner());
        for (i, c) in t.containers.iter().enumerate() {
            if let Some(p) = c.runtime_id.as_deref().and_then(|p| p.parse().ok()) {
                pids.insert(i, p);
            }
        }
    }
    let kill_all =
        |pids: &HashMap<usize, u32>, running: &HashMap<usize, ()>, sig: nix::sys::signal::Signal| {
            for i in running.keys() {
                if let Some(pid) = pids.get(i).and_then(|p| i32::try_from(*p).ok()) {
                    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), sig);
                }
            }
        };
    let mut deadline: Option<tokio::time::Instant> = None;
    while !running.is_empty() {
        tokio::select! {
            Some((i, code, _child)) = waits.next() => {
                running.remove(&i);
                let essential = td.container_definitions[i].is_essential();
                update(&mut |t| {
                    t.containers[i].last_status = "STOPPED".into();
                    t.containers[i].exit_code = code;
                    if stop.is_some() && t.containers[i].reason.is_none() {
                        t.containers[i].reason = Some("Task stopped".into());
                    }
                });
                if essential && stop.is_none() {
                    stop = Some(("EssentialContainerExited".into(), "Essential container in task exited".into()));
                    kill_all(&pids, &running, nix::sys::signal::Signal::SIGTERM);
                    deadline = Some(tokio::time::Instant::now() + grace);
                    update(&mut |t| {
                        t.desired_status = "STOPPED".into();
                        t.last_status = "DEACTIVATING".into();
                        t.stopping_at = Some(now_ms());
                    });
                }
            }
            Ok(()) = stop_rx.changed(), if stop.is_none() => {
                let reason = stop_rx.borrow().clone().unwrap_or_else(|| "Task stopped by user".into());
                stop = Some(("UserInitiated".into(), reason));
                kill_all(&pids, &running, nix::sys::signal::Signal::SIGTERM);
                deadline = Some(tokio::time::Instant::now() + grace);
                update(&mut |t| {
                    t.desired_status = "STOPPED".into();
                    t.last_status = "DEACTIVATING".into();
                    t.stopping_at = Some(now_ms());
                });
            }
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => {
                kill_all(&pids, &running, nix::sys::signal::Signal::SIGKILL);
                deadline = None;
            }
        }
    }
    let (code, reason) = stop
        .unwrap_or_else(|| ("EssentialContainerExited".into(), "Essential container in task exited".into()));
    update(&mut |t| {
        let now = now_ms();
        t.last_status = "STOPPED".into();
        t.desired_status = "STOPPED".into();
        t.stop_code = Some(code.clone());
        t.stopped_reason = Some(reason.clone());
        t.stopping_at = t.stopping_at.or(Some(now));
        t.execution_stopped_at = Some(now);
        t.stopped_at = Some(now);
    });
    release(&state, &usage);
}

fn release(state: &Arc<Mutex<State>>, usage: &(String, i64, i64)) {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(u) = s.used.get_mut(&usage.0) {
        u.0 -= usage.1;
        u.1 -= usage.2;
    }
}

/// Keeps the last lines of a child's stdout and stderr as the container's log.
fn capture(local: &Arc<LocalTask>, container: &str, child: &mut Child) {
    let index = {
        let mut logs = local.logs.lock().unwrap_or_else(|e| e.into_inner());
        logs.push(ContainerLog { container: container.to_owned(), lines: VecDeque::new() });
        logs.len() - 1
    };
    let out = child.stdout.take();
    let err = child.stderr.take();
    let spawn_reader = |reader: Box<dyn tokio::io::AsyncRead + Send + Unpin>| {
        let local = local.clone();
        let name = container.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(container = %name, "{line}");
                let mut logs = local.logs.lock().unwrap_or_else(|e| e.into_inner());
                let l = &mut logs[index].lines;
                if l.len() == LOG_LINES {
                    l.pop_front();
                }
                l.push_back(line);
            }
        });
    };
    if let Some(o) = out {
        spawn_reader(Box::new(o));
    }
    if let Some(e) = err {
        spawn_reader(Box::new(e));
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
        let (cpu, mem) = if p.runs_on_fargate() { (0, 0) } else { td.requirements() };
        let mut out = RunTaskOutput::default();
        for _ in 0..p.count.unwrap_or(1).clamp(1, 10) {
            {
                let mut s = self.lock();
                let used = s.used.entry(cluster.clone()).or_default();
                let reason = if used.0 + cpu > self.capacity.cpu {
                    Some("RESOURCE:CPU")
                } else if used.1 + mem > self.capacity.memory_mib {
                    Some("RESOURCE:MEMORY")
                } else {
                    used.0 += cpu;
                    used.1 += mem;
                    None
                };
                if let Some(reason) = reason {
                    out.failures.push(EcsFailure {
                        arn: Some(format!(
                            "arn:aws:ecs:{}:{}:container-instance/{}/local",
                            req.region,
                            req.account,
                            cluster_name(&cluster)
                        )),
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
                (cluster.clone(), cpu, mem),
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
                None => out.failures.push(EcsFailure {
                    arn: Some(arn.clone()),
                    reason: "MISSING".into(),
                    detail: None,
                }),
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
