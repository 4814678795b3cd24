//! No stray process on the local backend (README, "Fault injection"): a container leaves behind a
//! background child, a `setsid` child (a new session and process group), a double-forked grandchild and
//! a descendant that ignores SIGTERM; at every ending — the essential container exits, StopTask, a `.sync`
//! state's `TimeoutSeconds`, StopExecution — none of them is left once the task is STOPPED. Each process
//! is found by its marker argument (`sleep <n>.<test pid><k>`, unique to this run and this test).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sfn_ecs::{EcsBackend, LocalBackend};
use sfn_engine::{Engine, Execution, ExecutionStatus, StartRequest};

use crate::support::{assert_no_orphans, engine, machine, sync_tasks, tds};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";
const RUN: &str = "arn:aws:states:::ecs:runTask";

fn backend() -> Arc<LocalBackend> {
    Arc::new(
        LocalBackend::new(tds(&[json!({"family": "leaver", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["sh", "-c"]}]})]))
        .with_stop_grace(Duration::from_millis(300)),
    )
}

/// The processes a container leaves behind, each with its marker argument.
struct Leftovers {
    kinds: Vec<(&'static str, String)>,
}

impl Leftovers {
    /// Markers unique to this run (the test process's pid) and this call.
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let mut kinds = vec![("background child", format!("301.{pid}{n}"))];
        if has_setsid() {
            kinds.push(("setsid child", format!("302.{pid}{n}")));
        } else {
            eprintln!("skipped the setsid child: no `setsid` (util-linux) on PATH");
        }
        kinds.push(("double-forked child", format!("303.{pid}{n}")));
        kinds.push(("SIGTERM-ignoring descendant", format!("304.{pid}{n}")));
        Leftovers { kinds }
    }

    /// The container's script: start every leftover, then `main`.
    fn script(&self, main: &str) -> String {
        let mut s = String::new();
        for (kind, m) in &self.kinds {
            s.push_str(&match *kind {
                "background child" => format!("sleep {m} & "),
                "setsid child" => format!("setsid -f sleep {m}; "),
                "double-forked child" => format!("(sleep {m} &); "),
                _ => format!("sh -c 'trap \"\" TERM; sleep {m}' & "),
            });
        }
        s.push_str(main);
        s
    }

    /// Waits until every leftover runs (so the test does not pass by stopping the task too early).
    async fn started(&self) {
        for _ in 0..250 {
            if self.kinds.iter().all(|(_, m)| !living(m).is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let missing: Vec<_> = self.kinds.iter().filter(|(_, m)| living(m).is_empty()).collect();
        panic!("leftovers never started: {missing:?}");
    }

    /// None is left (checked at once: the task is STOPPED already).
    fn assert_gone(&self, ending: &str) {
        for (kind, m) in &self.kinds {
            let pids = living(m);
            assert!(pids.is_empty(), "{ending}: the {kind} (sleep {m}) survived its STOPPED task: {pids:?}");
        }
    }
}

fn has_setsid() -> bool {
    std::process::Command::new("setsid")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Pids of the processes (zombies have no arguments left) with `marker` as an argument.
fn living(marker: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            && cmdline.split(|b| *b == 0).any(|a| a == marker.as_bytes())
        {
            out.push(pid);
        }
    }
    out
}

fn start(engine: &Engine, def: &Value, input: Value) -> Execution {
    static N: AtomicU64 = AtomicU64::new(0);
    let machine = sfn_asl::parse(&serde_json::to_vec(def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    let execution_name = format!("procs{}", N.fetch_add(1, Ordering::Relaxed));
    engine.start(&prepared, StartRequest { execution_name, input, role_arn: None, input_text: None })
}

fn params() -> Value {
    json!({"Cluster": "c", "TaskDefinition": "leaver",
        "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.cmd"}]}})
}

/// Waits until the task is STOPPED and returns it.
async fn stopped(b: &LocalBackend, arn: &str) -> sfn_ecs::EcsTask {
    for _ in 0..100 {
        let t = b.describe_tasks("c", &[arn.to_owned()]).await.unwrap().tasks.remove(0);
        if t.is_stopped() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {arn} never stopped");
}

/// A `.sync` execution that ends as `end` makes it; then its task is STOPPED with nothing left.
async fn sync_ending(
    ending: &str,
    main: &str,
    extra: Value,
    end: impl FnOnce(&Execution),
    expect: (ExecutionStatus, Option<&str>),
    stop_code: &str,
) {
    let b = backend();
    let (engine_, _) = engine(b.clone());
    let left = Leftovers::new();
    let execution = start(&engine_, &machine(SYNC, params(), extra), json!({"cmd": [left.script(main)]}));
    left.started().await;
    end(&execution);
    let o = execution.wait().await;
    assert_eq!(o.status, expect.0, "{ending}: {o:?}");
    if expect.1.is_some() {
        assert_eq!(o.error.as_deref(), expect.1, "{ending}: {o:?}");
    }
    let (_, arn) = sync_tasks(execution.history()).pop().unwrap();
    let task = stopped(&b, &arn).await;
    left.assert_gone(ending);
    assert_eq!(task.stop_code.as_deref(), Some(stop_code), "{ending}");
    assert_no_orphans(b.as_ref() as &dyn EcsBackend, execution.history()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn essential_container_exit_leaves_no_process() {
    let ok = (ExecutionStatus::Succeeded, None);
    sync_ending("essential exit", "sleep 1; exit 0", json!({}), |_| {}, ok, "EssentialContainerExited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_task_leaves_no_process() {
    let b = backend();
    let (engine_, _) = engine(b.clone());
    let left = Leftovers::new();
    let execution =
        start(&engine_, &machine(RUN, params(), json!({})), json!({"cmd": [left.script("exec sleep 1000")]}));
    let o = execution.wait().await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let arn = o.output.unwrap()["Tasks"][0]["TaskArn"].as_str().unwrap().to_owned();
    left.started().await;
    b.stop_task("c", &arn, "done").await.unwrap();
    let task = stopped(&b, &arn).await;
    left.assert_gone("StopTask");
    assert!(crate::support::processes_of(&arn).is_empty(), "StopTask: processes of the task are left");
    assert_eq!(task.stop_code.as_deref(), Some("UserInitiated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_timeout_leaves_no_process() {
    let timeout = (ExecutionStatus::Failed, Some("States.Timeout"));
    let extra = json!({"TimeoutSeconds": 2});
    sync_ending("TimeoutSeconds", "exec sleep 1000", extra, |_| {}, timeout, "UserInitiated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_execution_leaves_no_process() {
    let aborted = (ExecutionStatus::Aborted, None);
    let stop = |e: &Execution| e.stop();
    sync_ending("StopExecution", "exec sleep 1000", json!({}), stop, aborted, "UserInitiated").await;
}
