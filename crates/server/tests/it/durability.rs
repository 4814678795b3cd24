//! The journal (`--state-dir`) across a graceful restart and across kill -9: state machines, finished
//! executions and their histories come back from the store; names stay taken.
//!
//! The server process of the kill -9 test is this test binary itself, re-run as `child_server` with
//! `SFN_IT_CHILD_DIR` set: it serves on an ephemeral port, prints `LISTENING <addr>` and waits to be killed.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::{ROLE, TestServer, call, ok, pass_machine, temp_dir, wait_machine};

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

fn spawn_child(dir: &std::path::Path) -> (Child, SocketAddr) {
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

fn kill_9(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix: no shutdown code runs.
    child.wait().unwrap();
}

async fn wait_done(addr: SocketAddr, arn: &str) -> Value {
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
    // The execution that was waiting is still RUNNING with what it had recorded (resuming it is the
    // engine's part); StopExecution ends it and the end is journaled too.
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
