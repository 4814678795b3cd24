//! Helpers: build engines over a backend, run definitions, read outcomes — and the orphan check that
//! runs after every execution of these tests.

use std::any::Any;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sfn_ecs::{EcsBackend, EcsIntegration, SimBackend, TaskDefinition, TaskDefinitions};
use sfn_engine::{Engine, History, Outcome, StartRequest};

/// A backend as the engine uses it, and as `Any` (to recognise the simulator).
type Backend = (Arc<dyn EcsBackend>, Arc<dyn Any + Send + Sync>);

thread_local! {
    /// The backend of the last engine built on this test's thread (tokio tests run there), for the
    /// orphan check in [`run`].
    static BACKEND: RefCell<Option<Backend>> = const { RefCell::new(None) };
}

pub(crate) fn engine<B: EcsBackend + 'static>(backend: Arc<B>) -> (Engine, Arc<EcsIntegration>) {
    BACKEND.with(|b| *b.borrow_mut() = Some((backend.clone(), backend.clone())));
    let ecs = Arc::new(EcsIntegration::new(backend));
    (Engine::builder().integration(ecs.clone()).build(), ecs)
}

/// Runs a definition to its end, then checks that it left no `.sync` task running ([`assert_no_orphans`]).
pub(crate) async fn run(engine: &Engine, def: Value, input: Value) -> (Outcome, History) {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!("e{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let (outcome, history) = engine
        .run(&prepared, StartRequest { execution_name: name, input, role_arn: None, input_text: None })
        .await;
    match BACKEND.with(|b| b.borrow().clone()) {
        // The simulator answers without a DescribeTasks call, so the tests' call counts stay exact.
        Some((_, any)) if any.is::<SimBackend>() => {
            let sim = any.downcast::<SimBackend>().unwrap();
            let running = sim.running_tasks();
            let orphans: Vec<_> =
                sync_tasks(&history).into_iter().filter(|(_, a)| running.contains(a)).collect();
            assert!(orphans.is_empty(), "orphaned tasks: {orphans:?}");
        }
        Some((backend, _)) => assert_no_orphans(backend.as_ref(), &history).await,
        None => {}
    }
    (outcome, history)
}

/// `(cluster, task ARN)` of every task a `.sync` state of this history started (the execution owns those:
/// it follows them to their end or stops them; request-response and callback tasks are, as on AWS, left
/// to run their course).
pub(crate) fn sync_tasks(history: &History) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in history.events() {
        let v = e.to_json();
        let d = &v["taskSubmittedEventDetails"];
        if d["resourceType"] != "ecs" || !d["resource"].as_str().is_some_and(|r| r.ends_with(".sync")) {
            continue;
        }
        let submitted: Value =
            serde_json::from_str(d["output"].as_str().unwrap_or("null")).unwrap_or_default();
        for t in submitted["Tasks"].as_array().into_iter().flatten() {
            if let (Some(c), Some(a)) = (t["ClusterArn"].as_str(), t["TaskArn"].as_str()) {
                out.push((c.to_owned(), a.to_owned()));
            }
        }
    }
    out
}

/// The orphan check: every `.sync` task of the execution is STOPPED (within 5 s of its end: a stopped
/// local task gets its grace period) and, on the local backend, its containers' process groups are gone
/// and (Linux) no process carries the task's marker (`SFN_ECS_TASK_ARN`, inherited by everything its
/// containers start: background children, `setsid` and double-forked ones).
pub(crate) async fn assert_no_orphans(backend: &dyn EcsBackend, history: &History) {
    for (cluster, arn) in sync_tasks(history) {
        let mut last = None;
        for _ in 0..50 {
            let d = backend.describe_tasks(&cluster, std::slice::from_ref(&arn)).await.unwrap();
            let Some(task) = d.tasks.into_iter().next() else { break };
            let groups_gone =
                task.containers.iter().all(|c| c.runtime_id.as_deref().is_none_or(process_group_gone));
            if task.is_stopped() && groups_gone {
                let left = processes_of(&arn);
                assert!(left.is_empty(), "processes of the STOPPED task {arn} are left: {left:?}");
                last = None;
                break;
            }
            last = Some(task);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(task) = last {
            panic!("orphaned task {arn}: {}", task.to_json());
        }
    }
}

/// Pids of the processes (Linux; zombies have no environment left) whose environment marks them as
/// the task `arn`'s.
pub(crate) fn processes_of(arn: &str) -> Vec<i32> {
    let marker = format!("SFN_ECS_TASK_ARN={arn}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        if let Ok(env) = std::fs::read(e.path().join("environ"))
            && env.split(|b| *b == 0).any(|v| v == marker.as_bytes())
        {
            out.push(pid);
        }
    }
    out
}

/// True when no process of the group led by `pid` is left (`kill(-pid, 0)` fails with ESRCH).
pub(crate) fn process_group_gone(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<i32>() else { return true };
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH)
}

/// A one-state machine running `resource` with `params` (and extra state fields).
pub(crate) fn machine(resource: &str, params: Value, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true});
    if let (Value::Object(s), Value::Object(e)) = (&mut state, extra) {
        s.extend(e);
    }
    json!({"StartAt": "Run", "States": {"Run": state}})
}

/// Task definitions from JSON values (register-task-definition form).
pub(crate) fn tds(defs: &[Value]) -> TaskDefinitions {
    let mut out = TaskDefinitions::new();
    for d in defs {
        out.register(serde_json::from_value::<TaskDefinition>(d.clone()).unwrap());
    }
    out
}

pub(crate) fn cause_json(o: &Outcome) -> Value {
    serde_json::from_str(o.cause.as_deref().unwrap_or("null")).unwrap_or(Value::Null)
}

/// Field names (and kinds) of a DescribeTasks task, recursively; arrays by their first element.
fn shape(v: &serde_json::Value, path: &str, out: &mut std::collections::BTreeSet<String>) {
    use serde_json::Value;
    let kind = match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    };
    // The recording masks timestamps as the string "time"; the API gives epoch numbers.
    let kind = if path.ends_with("At") { "time" } else { kind };
    out.insert(format!("{path}: {kind}"));
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| shape(x, &format!("{path}/{k}"), out)),
        Value::Array(a) => a.iter().take(1).for_each(|x| shape(x, &format!("{path}/0"), out)),
        _ => {}
    }
}

/// The `.sync` output AWS recorded for a FARGATE task in awsvpc mode
/// (`../shared/recorded/ecs_task_service.history.json`, `test_run_task_sync`, read in place); `None`, with
/// a message, when the folder is absent.
pub(crate) fn recorded_fargate_task() -> Option<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/recorded/ecs_task_service.history.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        #[allow(clippy::print_stderr, reason = "says why the comparison was skipped")]
        {
            eprintln!("skipped: {} is absent", path.display());
        }
        return None;
    };
    let recorded: Value = serde_json::from_str(&text).unwrap();
    let (_, entry) =
        recorded.as_object().unwrap().iter().find(|(k, _)| k.ends_with("::test_run_task_sync")).unwrap();
    let events = entry["recorded-content"]["get_execution_history"]["events"].as_array().unwrap();
    let done = events.iter().find(|e| e["type"] == "TaskSucceeded").unwrap();
    Some(done["taskSucceededEventDetails"]["output"].clone())
}

/// `ours` has exactly the recorded task's fields, of the same kinds (the container overrides aside: they
/// follow the request).
pub(crate) fn assert_described_as(aws: &Value, ours: &Value) {
    let (mut want, mut got) = (Default::default(), Default::default());
    shape(aws, "", &mut want);
    shape(ours, "", &mut got);
    let own = |s: &String| s.starts_with("/Overrides/ContainerOverrides/0/");
    let want: std::collections::BTreeSet<_> = want.into_iter().filter(|s| !own(s)).collect();
    let got: std::collections::BTreeSet<_> = got.into_iter().filter(|s| !own(s)).collect();
    assert_eq!(want.difference(&got).collect::<Vec<_>>(), Vec::<&String>::new(), "missing");
    assert_eq!(got.difference(&want).collect::<Vec<_>>(), Vec::<&String>::new(), "extra");
}
