//! The journal (`--state-dir`) across a graceful restart and across kill -9: state machines, finished
//! executions and their histories come back from the store; names stay taken; executions that were
//! running resume where they were (a `.sync` task is polled again, never run twice; a callback token stays
//! valid; a Wait waits only for what is left).
//!
//! The server process of the kill -9 test is this test binary itself, re-run as `child_server` with
//! `SFN_IT_CHILD_DIR` set: it serves on an ephemeral port, prints `LISTENING <addr>` and waits to be killed.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{ROLE, TestServer, call, callback_machine, ok, pass_machine, temp_dir, wait_machine};

const CHILD_ENV: &str = "SFN_IT_CHILD_DIR";

/// The server process of `kill_9_and_restart` (a no-op unless `SFN_IT_CHILD_DIR` is set).
#[test]
fn child_server() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else { return };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let s = TestServer::start_with(Some(dir.into())).await;
        println!("LISTENING {}", s.addr);
        std::future::pending::<()>().await;
    });
}

pub(crate) fn spawn_child(dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["durability::child_server", "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("the child printed its address").unwrap();
        // libtest prints `test durability::child_server ... ` before the test's own output.
        if let Some((_, a)) = line.split_once("LISTENING ") {
            break a.trim().parse().unwrap();
        }
    };
    // Keep draining the child's stdout so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

pub(crate) fn kill_9(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix: no shutdown code runs.
    child.wait().unwrap();
}

pub(crate) async fn wait_done(addr: SocketAddr, arn: &str) -> Value {
    for _ in 0..400 {
        let d = ok(addr, "DescribeExecution", json!({"executionArn": arn})).await;
        if d["status"] != "RUNNING" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{arn} still RUNNING");
}

async fn create(addr: SocketAddr, name: &str, def: &Value) -> String {
    let v =
        ok(addr, "CreateStateMachine", json!({"name": name, "definition": def.to_string(), "roleArn": ROLE}))
            .await;
    v["stateMachineArn"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart() {
    let dir = temp_dir("kill9");
    let (child, addr) = spawn_child(&dir);
    let pass = create(addr, "pass", &pass_machine()).await;
    let slow = create(addr, "slow", &wait_machine(30)).await;
    ok(addr, "TagResource", json!({"resourceArn": pass, "tags": [{"key": "k", "value": "v"}]})).await;
    let done =
        ok(addr, "StartExecution", json!({"stateMachineArn": pass, "name": "done", "input": "{\"n\": 1}"}))
            .await;
    let done_arn = done["executionArn"].as_str().unwrap().to_owned();
    let before = wait_done(addr, &done_arn).await;
    let history_before = ok(addr, "GetExecutionHistory", json!({"executionArn": done_arn})).await;
    let running = ok(addr, "StartExecution", json!({"stateMachineArn": slow, "name": "w"})).await;
    let running_arn = running["executionArn"].as_str().unwrap().to_owned();
    // StartExecution answers once the execution's record is journaled; its events follow through the
    // engine's sink, so wait until they are visible before killing.
    for _ in 0..400 {
        let h = ok(addr, "GetExecutionHistory", json!({"executionArn": running_arn})).await;
        if h["events"].as_array().is_some_and(|e| e.len() >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Visible in memory; the journal's writer commits them within one group commit (milliseconds).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    kill_9(child);

    let (child, addr) = spawn_child(&dir);
    let machines = ok(addr, "ListStateMachines", json!({})).await;
    assert_eq!(machines["stateMachines"].as_array().unwrap().len(), 2);
    assert_eq!(
        ok(addr, "ListTagsForResource", json!({"resourceArn": pass})).await["tags"],
        json!([{"key": "k", "value": "v"}])
    );
    let after = ok(addr, "DescribeExecution", json!({"executionArn": done_arn})).await;
    assert_eq!(after, before, "a finished execution is described as before");
    let history_after = ok(addr, "GetExecutionHistory", json!({"executionArn": done_arn})).await;
    assert_eq!(history_after, history_before, "its history is served from the journal");
    let for_exec = ok(addr, "DescribeStateMachineForExecution", json!({"executionArn": done_arn})).await;
    assert_eq!(for_exec["definition"], pass_machine().to_string());
    let (_, v) =
        call(addr, "StartExecution", json!({"stateMachineArn": pass, "name": "done", "input": "{\"n\": 1}"}))
            .await;
    assert!(v["__type"].as_str().unwrap().ends_with("#ExecutionAlreadyExists"), "{v}");
    // The execution that was waiting is resumed: still RUNNING (its 30 s are not over) with what it had
    // recorded; StopExecution ends it and the end is journaled too.
    let w = ok(addr, "DescribeExecution", json!({"executionArn": running_arn})).await;
    assert_eq!(w["status"], "RUNNING");
    let h = ok(addr, "GetExecutionHistory", json!({"executionArn": running_arn})).await;
    let types: Vec<&str> =
        h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ExecutionStarted", "WaitStateEntered"]);
    ok(addr, "StopExecution", json!({"executionArn": running_arn, "cause": "after a crash"})).await;
    // New executions work and are listed newest first, after the old ones.
    let e = ok(addr, "StartExecution", json!({"stateMachineArn": pass, "name": "later"})).await;
    wait_done(addr, e["executionArn"].as_str().unwrap()).await;
    kill_9(child);

    let (child, addr) = spawn_child(&dir);
    let w = ok(addr, "DescribeExecution", json!({"executionArn": running_arn})).await;
    assert_eq!((w["status"].as_str(), w["cause"].as_str()), (Some("ABORTED"), Some("after a crash")));
    let h = ok(addr, "GetExecutionHistory", json!({"executionArn": running_arn, "reverseOrder": true})).await;
    assert_eq!(h["events"][0]["type"], "ExecutionAborted");
    assert_eq!(h["events"][0]["id"], 3);
    let listed = ok(addr, "ListExecutions", json!({"stateMachineArn": pass})).await;
    let names: Vec<&str> =
        listed["executions"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["later", "done"]);
    kill_9(child);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_keeps_machines_and_executions() {
    let dir = temp_dir("graceful");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let arn = s.create("kept", &pass_machine()).await;
    s.ok("UpdateStateMachine", json!({"stateMachineArn": arn, "definition": wait_machine(0).to_string()}))
        .await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "e"})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let d = s.wait(&exec).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    let m = s.ok("DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(m["definition"], wait_machine(0).to_string());
    assert!(m["revisionId"].is_string());
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": exec})).await, d);
    s.ok("DeleteStateMachine", json!({"stateMachineArn": arn})).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    let (_, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert!(v["__type"].as_str().unwrap().ends_with("#StateMachineDoesNotExist"));
    // Executions of a deleted machine can still be described.
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": exec})).await["status"], "SUCCEEDED");
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The events of an execution (GetExecutionHistory).
async fn history(addr: SocketAddr, arn: &str) -> Vec<Value> {
    let h = ok(addr, "GetExecutionHistory", json!({"executionArn": arn, "maxResults": 1000})).await;
    h["events"].as_array().unwrap().clone()
}

/// Polls the history until an event of this type appears.
async fn wait_event(addr: SocketAddr, arn: &str, kind: &str) -> Vec<Value> {
    for _ in 0..400 {
        let events = history(addr, arn).await;
        if events.iter().any(|e| e["type"] == kind) {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("{arn} never recorded {kind}");
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// Ids `1..=n`, each after the event it follows.
fn check_ids(events: &[Value]) {
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["id"], i as u64 + 1, "{events:?}");
        assert!(e["previousEventId"].as_u64().unwrap() < e["id"].as_u64().unwrap());
    }
}

fn details<'a>(events: &'a [Value], kind: &str, key: &str) -> &'a Value {
    &events.iter().find(|e| e["type"] == kind).unwrap_or_else(|| panic!("no {kind}"))[key]
}

/// RunTask calls the simulator received, over every process that used this state directory.
fn run_task_calls(dir: &std::path::Path) -> usize {
    let log = std::fs::read_to_string(dir.join("sim-tasks.jsonl")).unwrap();
    log.lines().filter(|l| l.contains(r#""op":"runTask""#)).count()
}

/// The journal commits in the background: give it a moment before the kill so that the test knows which
/// events are on disk (the outcome must not depend on it; the RunTask count shows which path ran).
async fn let_the_journal_commit() {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_sync_task_resumes_it_with_one_run_task() {
    let dir = temp_dir("kill9-sync");
    let (child, addr) = spawn_child(&dir);
    let def = json!({"StartAt": "Run", "States": {"Run": {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": "default", "TaskDefinition": "slow"},
        "TimeoutSeconds": 60,
        "End": true
    }}});
    let machine = create(addr, "sync", &def).await;
    let e = ok(addr, "StartExecution", json!({"stateMachineArn": machine, "name": "job"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    let before = wait_event(addr, &arn, "TaskSubmitted").await;
    let submitted: Value = serde_json::from_str(
        details(&before, "TaskSubmitted", "taskSubmittedEventDetails")["output"].as_str().unwrap(),
    )
    .unwrap();
    let task_arn = submitted["Tasks"][0]["TaskArn"].as_str().unwrap().to_owned();
    let_the_journal_commit().await;
    assert_eq!(ok(addr, "DescribeExecution", json!({"executionArn": arn})).await["status"], "RUNNING");
    kill_9(child);

    let (child, addr) = spawn_child(&dir);
    let d = wait_done(addr, &arn).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["TaskArn"], task_arn, "the task submitted before the kill is the one that ended");
    assert_eq!(output["LastStatus"], "STOPPED");
    assert_eq!(output["StoppedAt"].as_i64().unwrap() - output["CreatedAt"].as_i64().unwrap(), 3000);
    assert_eq!(run_task_calls(&dir), 1, "exactly one RunTask in total");
    let events = history(addr, &arn).await;
    check_ids(&events);
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(&events[..before.len()], &before[..], "what was recorded before the kill is kept as it was");
    kill_9(child);

    // The end was journaled: a third process serves it without running anything.
    let (child, addr) = spawn_child(&dir);
    assert_eq!(ok(addr, "DescribeExecution", json!({"executionArn": arn})).await, d);
    assert_eq!(history(addr, &arn).await, events);
    assert_eq!(run_task_calls(&dir), 1);
    kill_9(child);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_waiting_for_a_callback_keeps_its_token_valid() {
    let dir = temp_dir("kill9-callback");
    let (child, addr) = spawn_child(&dir);
    let machine = create(addr, "callback", &callback_machine(60)).await;
    let e = ok(addr, "StartExecution", json!({"stateMachineArn": machine, "name": "cb"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    let before = wait_event(addr, &arn, "TaskSubmitted").await;
    let params: Value = serde_json::from_str(
        details(&before, "TaskScheduled", "taskScheduledEventDetails")["parameters"].as_str().unwrap(),
    )
    .unwrap();
    let token =
        params["Overrides"]["ContainerOverrides"][0]["Environment"][0]["Value"].as_str().unwrap().to_owned();
    let_the_journal_commit().await;
    kill_9(child);

    let (child, addr) = spawn_child(&dir);
    assert_eq!(ok(addr, "DescribeExecution", json!({"executionArn": arn})).await["status"], "RUNNING");
    let (status, v) =
        call(addr, "SendTaskSuccess", json!({"taskToken": "AQ-not-a-live-token", "output": "{}"})).await;
    assert_eq!(status, 400);
    assert!(v["__type"].as_str().unwrap().ends_with("#TaskDoesNotExist"), "{v}");
    ok(addr, "SendTaskSuccess", json!({"taskToken": token, "output": r#"{"done": true}"#})).await;
    let d = wait_done(addr, &arn).await;
    assert_eq!(
        (d["status"].as_str(), d["output"].as_str()),
        (Some("SUCCEEDED"), Some(r#"{"done":true}"#)),
        "{d}"
    );
    let (status, v) = call(addr, "SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert_eq!(status, 400, "a token is single use: {v}");
    assert_eq!(run_task_calls(&dir), 1, "the worker was started once");
    let events = history(addr, &arn).await;
    check_ids(&events);
    assert_eq!(types(&events).iter().filter(|t| **t == "TaskSubmitted").count(), 1);
    kill_9(child);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_wait_resumes_with_the_remaining_time() {
    let dir = temp_dir("kill9-wait");
    let (child, addr) = spawn_child(&dir);
    let machine = create(addr, "wait4", &wait_machine(4)).await;
    let e = ok(addr, "StartExecution", json!({"stateMachineArn": machine, "name": "w"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    wait_event(addr, &arn, "WaitStateEntered").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    kill_9(child);

    let restarted = std::time::SystemTime::now();
    let (child, addr) = spawn_child(&dir);
    let d = wait_done(addr, &arn).await;
    assert_eq!(d["status"], "SUCCEEDED");
    let events = history(addr, &arn).await;
    check_ids(&events);
    let at = |kind: &str| events.iter().find(|e| e["type"] == kind).unwrap()["timestamp"].as_f64().unwrap();
    let waited = at("WaitStateExited") - at("WaitStateEntered");
    assert!((4.0..4.8).contains(&waited), "waited {waited} s in all, not 4 s");
    let restart = restarted.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(
        at("WaitStateExited") < restart + 3.5,
        "the wait did not start over after the restart ({} s after it)",
        at("WaitStateExited") - restart
    );
    kill_9(child);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_restart_in_process_resumes_running_executions() {
    let dir = temp_dir("graceful-resume");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let machine = s.create("callback", &callback_machine(60)).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "cb"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&arn).await;
    s.stop().await;

    // The old execution was abandoned with its server: only the resumed one waits on the token.
    let s = TestServer::start_with(Some(dir.clone())).await;
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": arn})).await["status"], "RUNNING");
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "[1]"})).await;
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["output"].as_str()), (Some("SUCCEEDED"), Some("[1]")));
    let events = history(s.addr, &arn).await;
    check_ids(&events);
    assert_eq!(
        types(&events),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(run_task_calls(&dir), 1);
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Every page of GetExecutionHistory, `maxResults` at a time, forward or in reverse.
async fn paged_history(s: &TestServer, arn: &str, max: u64, reverse: bool) -> Vec<Value> {
    let mut all = Vec::new();
    let mut body = json!({"executionArn": arn, "maxResults": max, "reverseOrder": reverse});
    loop {
        let page = s.ok("GetExecutionHistory", body.clone()).await;
        let events = page["events"].as_array().unwrap();
        assert!(events.len() as u64 <= max);
        all.extend(events.iter().cloned());
        match page.get("nextToken") {
            Some(t) => body["nextToken"] = t.clone(),
            None => return all,
        }
    }
}

/// A page is read (from memory, or from the journal once the execution is only on record) without the
/// rest of the history; the pages, forward and in reverse, are the whole history in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_are_the_whole_history_in_memory_and_from_the_journal() {
    let items: Vec<u64> = (0..20).collect();
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let dir = temp_dir("pages");
    for state_dir in [None, Some(dir.clone())] {
        let s = TestServer::start_with(state_dir.clone()).await;
        let arn = s.create("pages", &def).await;
        let e = s
            .ok(
                "StartExecution",
                json!({"stateMachineArn": arn, "input": json!({"items": items}).to_string()}),
            )
            .await;
        let exec = e["executionArn"].as_str().unwrap().to_owned();
        s.wait(&exec).await;
        let mut servers = vec![s];
        if state_dir.is_some() {
            // Again from the journal alone, after a restart.
            servers.pop().unwrap().stop().await;
            servers.push(TestServer::start_with(state_dir.clone()).await);
        }
        let s = &servers[0];
        let whole = history(s.addr, &exec).await;
        assert!(whole.len() > 80, "{}", whole.len());
        let ids: Vec<u64> = whole.iter().map(|e| e["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, (1..=whole.len() as u64).collect::<Vec<_>>());
        for max in [1, 7, 100] {
            assert_eq!(paged_history(s, &exec, max, false).await, whole, "maxResults {max}");
            let mut reversed = paged_history(s, &exec, max, true).await;
            reversed.reverse();
            assert_eq!(reversed, whole, "maxResults {max}, reverseOrder");
        }
        servers.pop().unwrap().stop().await;
    }
    let _ = std::fs::remove_dir_all(dir);
}
