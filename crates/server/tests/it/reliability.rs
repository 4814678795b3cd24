//! Reliability and security checks of the endpoint: no task is orphaned when the server shuts down;
//! only loopback is bound unless asked; task tokens are unguessable, single-use and bound to their
//! execution.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{TestServer, callback_machine, temp_dir};

/// A `.sync` task on the `worker` family, which never stops on its own.
fn endless_job() -> Value {
    json!({"StartAt": "Run", "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": "default", "TaskDefinition": "worker"}, "End": true}}})
}

async fn wait_running(sim: &sfn_ecs::SimBackend, n: usize) {
    for _ in 0..400 {
        if sim.running_tasks().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} tasks never started: {:?}", sim.running_tasks());
}

/// Orphan check at server shutdown, in memory: nothing could resume the running executions, so they are
/// stopped and their `.sync` tasks with them before `serve` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_in_memory_stops_running_executions_and_their_tasks() {
    let s = TestServer::start().await;
    let sim = s.sim.clone();
    let machine = s.create("endless", &endless_job()).await;
    for i in 0..3 {
        s.ok("StartExecution", json!({"stateMachineArn": machine, "name": format!("e{i}")})).await;
    }
    wait_running(&sim, 3).await;
    s.stop().await;
    assert!(sim.running_tasks().is_empty(), "orphaned tasks: {:?}", sim.running_tasks());
    assert_eq!(sim.counters.stop_task.load(std::sync::atomic::Ordering::Relaxed), 3);
}

/// Orphan check at server shutdown with a state directory: the task is left to the execution, which
/// resumes when the directory is opened again and still owns it — StopExecution then stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_a_state_dir_hands_tasks_to_the_resumed_execution() {
    let dir = temp_dir("shutdown-orphans");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let machine = s.create("endless", &endless_job()).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "e"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    wait_running(&s.sim, 1).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    assert_eq!(s.sim.running_tasks().len(), 1, "the task runs on, tracked by the journal");
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": arn})).await["status"], "RUNNING");
    s.ok("StopExecution", json!({"executionArn": arn})).await;
    assert_eq!(s.wait(&arn).await["status"], "ABORTED");
    let sim = s.sim.clone();
    for _ in 0..100 {
        if sim.running_tasks().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(sim.running_tasks().is_empty(), "orphaned tasks: {:?}", sim.running_tasks());
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn non_loopback_binds_are_refused_without_allow_remote() {
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:8083", "10.0.0.1:8083"] {
        let addr = addr.parse().unwrap();
        let e = sfn_server::check_listen(addr, false).unwrap_err();
        assert!(e.to_string().contains("--allow-remote"), "{e}");
        assert!(sfn_server::bind(addr, false).await.is_err(), "{addr} was bound");
        assert!(sfn_server::check_listen(addr, true).is_ok());
    }
    for addr in ["127.0.0.1:0", "127.0.0.2:0", "[::1]:0"] {
        assert!(sfn_server::check_listen(addr.parse().unwrap(), false).is_ok(), "{addr}");
    }
    let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    assert!(listener.local_addr().unwrap().ip().is_loopback());
}

/// 2,000 tokens: all distinct, 256 random bits each (base64url after `AQ`), spread over the alphabet.
#[test]
fn task_tokens_are_unguessable() {
    use base64::Engine as _;
    let registry = sfn_patterns::TokenRegistry::new();
    let owner = sfn_patterns::TokenOwner { execution_arn: "arn:e".into(), state_name: "S".into() };
    let receivers: Vec<_> = (0..2000).map(|_| registry.mint(owner.clone())).collect();
    let tokens: HashSet<&str> = receivers.iter().map(|r| r.token()).collect();
    assert_eq!(tokens.len(), 2000, "a token repeated");
    let mut ones = 0u64;
    for t in &tokens {
        let bytes =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t.strip_prefix("AQ").unwrap()).unwrap();
        assert!(bytes.len() * 8 >= 128, "{} bits", bytes.len() * 8);
        ones += bytes.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    }
    // Random bits: about half are ones (2000 × 256 bits; 5 standard deviations is under 0.5 %).
    let share = ones as f64 / (2000.0 * 256.0);
    assert!((share - 0.5).abs() < 0.005, "{share}");
}

/// A token completes its task once: a second SendTaskSuccess answers TaskDoesNotExist, as on AWS (and
/// TaskTimedOut once the task timed out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_tokens_are_single_use() {
    let s = TestServer::start().await;
    let machine = s.create("callback", &callback_machine(60)).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "once"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&arn).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{\"n\": 1}"})).await;
    let (status, v) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{\"n\": 2}"})).await;
    assert_eq!(status, 400);
    assert!(v["__type"].as_str().unwrap().ends_with("#TaskDoesNotExist"), "{v}");
    let (_, v) = s.call("SendTaskFailure", json!({"taskToken": token, "error": "Late"})).await;
    assert!(v["__type"].as_str().unwrap().ends_with("#TaskDoesNotExist"), "{v}");
    let d = s.wait(&arn).await;
    assert_eq!((d["status"].as_str(), d["output"].as_str()), (Some("SUCCEEDED"), Some("{\"n\":1}")));

    // After a timeout the token answers TaskTimedOut.
    let machine = s.create("short", &callback_machine(1)).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "late"})).await;
    let arn = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&arn).await;
    assert_eq!(s.wait(&arn).await["status"], "FAILED");
    let (_, v) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert!(v["__type"].as_str().unwrap().ends_with("#TaskTimedOut"), "{v}");
    s.stop().await;
}

/// A token completes the task it was minted for, whichever execution it is sent about: one execution's
/// token cannot complete another, and a made-up token completes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_completes_only_its_own_execution() {
    let s = TestServer::start().await;
    let machine = s.create("callback", &callback_machine(60)).await;
    let mut arns = Vec::new();
    for name in ["a", "b"] {
        let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": name})).await;
        arns.push(e["executionArn"].as_str().unwrap().to_owned());
    }
    let (token_a, token_b) = (s.token(&arns[0]).await, s.token(&arns[1]).await);
    assert_ne!(token_a, token_b);
    // A forged token of the right shape, and token b with one character changed.
    let mut forged = token_b.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(forged).unwrap(), format!("AQ{}", "A".repeat(43))] {
        let (status, v) = s.call("SendTaskSuccess", json!({"taskToken": bad, "output": "{}"})).await;
        assert_eq!(status, 400, "{v}");
    }
    s.ok("SendTaskSuccess", json!({"taskToken": token_a, "output": "\"a\""})).await;
    assert_eq!(s.wait(&arns[0]).await["output"], "\"a\"");
    let b = s.ok("DescribeExecution", json!({"executionArn": arns[1]})).await;
    assert_eq!(b["status"], "RUNNING", "b was completed by a's token");
    s.ok("SendTaskFailure", json!({"taskToken": token_b, "error": "B"})).await;
    let b = s.wait(&arns[1]).await;
    assert_eq!((b["status"].as_str(), b["error"].as_str()), (Some("FAILED"), Some("B")));
    s.stop().await;
}
