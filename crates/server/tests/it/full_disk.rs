//! The journal on a full disk: a small tmpfs holds the state directory, a filler file takes its last byte.
//! Writes that cannot be committed fail (HTTP 503) instead of answering 200; reads answer; a Task does not
//! call its service while its `TaskScheduled` cannot be committed; once space is back the journal's kept
//! writes go through, and after a kill -9 every execution that was answered 200 is there with its history.
//!
//! The tmpfs needs root (as in CI); without it the tests say so and pass.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use sfn_patterns::{ServiceIntegration, ServiceResource, TaskContext, TaskFailure};
use sfn_server::{Server, ServerOptions};

use crate::durability::{kill_9, spawn_child};
use crate::{ROLE, TestServer, call, ok, pass_machine, temp_dir};

/// A tmpfs of 8 MiB, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (after saying why) where a tmpfs cannot be mounted.
    fn mount(tag: &str) -> Option<Tmpfs> {
        let dir = temp_dir(tag);
        let out = Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&dir).output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir)),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs on {} ({}); the full-disk tests need root",
                    dir.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount ({e}); the full-disk tests need root");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Fills the file system holding `dir` to its last byte; returns the filler.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 16, 4096, 512, 1] {
        let bytes = vec![0xa5u8; chunk];
        loop {
            match f.write_all(&bytes) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
    }
    let _ = f.sync_all();
    path
}

fn is_503(status: u16, body: &Value) -> bool {
    status == 503 && body["__type"].as_str().is_some_and(|t| t.ends_with("#ServiceUnavailable"))
}

/// An input of about 100 KB: each start then needs new pages in the journal (its record and its events
/// each hold it), which a full disk cannot give.
fn big_input(i: usize) -> String {
    json!({"i": i, "pad": "p".repeat(100_000)}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_with_503_until_space_is_back_and_loses_nothing_answered_200() {
    let Some(fs) = Tmpfs::mount("full-disk") else { return };
    let dir = fs.path().join("state");
    let (child, addr) = spawn_child(&dir);
    let created = ok(
        addr,
        "CreateStateMachine",
        json!({"name": "pass", "definition": pass_machine().to_string(), "roleArn": ROLE}),
    )
    .await;
    let machine = created["stateMachineArn"].as_str().unwrap().to_owned();
    let mut answered_200 = Vec::new();
    for i in 0..2 {
        let v = ok(
            addr,
            "StartExecution",
            json!({"stateMachineArn": machine, "name": format!("before-{i}"), "input": big_input(i)}),
        )
        .await;
        answered_200.push(v["executionArn"].as_str().unwrap().to_owned());
    }

    for arn in &answered_200 {
        crate::durability::wait_done(addr, arn).await;
    }
    // A new server: the histories of these executions are now read from the journal.
    kill_9(child);
    let (child, addr) = spawn_child(&dir);
    let filler = fill(fs.path());
    // Pages the journal file freed earlier can still take a commit or two: those are on disk, and answered
    // 200. Once they are used up, every start is refused.
    let mut slack = 0;
    let mut refused = Vec::new();
    for i in 0.. {
        let input = big_input(100 + i);
        let name = format!("full-{i}");
        let (status, body) =
            call(addr, "StartExecution", json!({"stateMachineArn": machine, "name": name, "input": input}))
                .await;
        if status == 200 && refused.is_empty() {
            slack += 1;
            assert!(slack < 10, "the full disk took {slack} starts");
            answered_200.push(body["executionArn"].as_str().unwrap().to_owned());
            continue;
        }
        assert!(is_503(status, &body), "StartExecution on a full disk: {status} {body}");
        assert!(body["message"].as_str().unwrap().contains("cannot be written"), "{body}");
        refused.push((name, input));
        if refused.len() == 8 {
            break;
        }
    }
    eprintln!("the full disk took {slack} start(s) before refusing");
    let (status, body) = call(
        addr,
        "CreateStateMachine",
        json!({"name": "other", "definition": pass_machine().to_string(), "roleArn": ROLE}),
    )
    .await;
    assert!(is_503(status, &body), "CreateStateMachine on a full disk: {status} {body}");
    // Reads answer meanwhile.
    let d = ok(addr, "DescribeExecution", json!({"executionArn": answered_200[0]})).await;
    assert_eq!(d["status"], "SUCCEEDED");
    let l = ok(addr, "ListStateMachines", json!({})).await;
    assert!(l["stateMachines"].as_array().unwrap().iter().any(|m| m["name"] == "pass"));
    let h = ok(addr, "GetExecutionHistory", json!({"executionArn": answered_200[1]})).await;
    assert_eq!(h["events"].as_array().unwrap().len(), 4, "read from the journal: {h}");

    std::fs::remove_file(&filler).unwrap();
    // The journal tries again with back-off (at most 5 s apart): writes succeed again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let (status, body) = call(
            addr,
            "StartExecution",
            json!({"stateMachineArn": machine, "name": "after", "input": big_input(200)}),
        )
        .await;
        if status == 200 {
            break body["executionArn"].as_str().unwrap().to_owned();
        }
        assert!(is_503(status, &body) && Instant::now() < deadline, "after the filler went: {status} {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    answered_200.push(after);
    // A 503 leaves the outcome open, as on AWS: the refused starts were kept, ran, and are on disk now
    // (they were queued before `after`, which is committed).
    let kept: Vec<String> = refused
        .iter()
        .map(|(name, _)| format!("arn:aws:states:us-east-1:123456789012:execution:pass:{name}"))
        .collect();
    for arn in answered_200.iter().chain(&kept) {
        assert_eq!(crate::durability::wait_done(addr, arn).await["status"], "SUCCEEDED");
    }
    let (name, input) = &refused[0];
    let (status, body) =
        call(addr, "StartExecution", json!({"stateMachineArn": machine, "name": name, "input": input})).await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("com.amazonaws.swf.service.v2.model#ExecutionAlreadyExists"))
    );
    kill_9(child);

    let s = TestServer::start_with(Some(dir.clone())).await;
    for arn in answered_200.iter().chain(&kept) {
        let d = s.ok("DescribeExecution", json!({"executionArn": arn})).await;
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let h = s.ok("GetExecutionHistory", json!({"executionArn": arn})).await;
        let types: Vec<&str> =
            h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types.first(), Some(&"ExecutionStarted"), "{arn}: {types:?}");
        assert_eq!(types.last(), Some(&"ExecutionSucceeded"), "{arn}: {types:?}");
    }
    s.stop().await;
}

/// A service that counts its calls and answers at once.
#[derive(Default)]
struct Counting {
    submits: AtomicUsize,
}

#[async_trait]
impl ServiceIntegration for Counting {
    fn service(&self) -> &str {
        "ecs"
    }

    fn check(&self, _resource: &ServiceResource) -> Result<(), sfn_patterns::CheckError> {
        Ok(())
    }

    async fn submit(&self, _ctx: &TaskContext, parameters: Value) -> Result<Value, TaskFailure> {
        self.submits.fetch_add(1, Ordering::SeqCst);
        Ok(json!({"Echo": parameters}))
    }
}

/// A server over `jobs` journaling in `dir`, called in process through its router.
fn open(dir: &Path, jobs: &Arc<Counting>) -> Server {
    let builder = sfn_engine::Engine::builder().integration(jobs.clone());
    Server::open(builder, ServerOptions { state_dir: Some(dir.to_owned()), ..ServerOptions::default() })
        .unwrap()
}

/// Closes the server's journal as a graceful shutdown does.
async fn close(server: Server) {
    let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    server.serve(listener, async {}).await.unwrap();
}

async fn api(server: &Server, op: &str, body: Value) -> (u16, Value) {
    use tower::ServiceExt as _;
    let request = axum::http::Request::post("/")
        .header("host", "localhost")
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AWSStepFunctions.{op}"))
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = server.router().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn api_ok(server: &Server, op: &str, body: Value) -> Value {
    let (status, v) = api(server, op, body.clone()).await;
    assert_eq!(status, 200, "{op} {body} -> {v}");
    v
}

fn types(history: &Value) -> Vec<String> {
    history["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_does_not_call_its_service_while_its_task_scheduled_cannot_be_committed() {
    let Some(fs) = Tmpfs::mount("full-disk-task") else { return };
    let dir = fs.path().join("state");
    let jobs = Arc::new(Counting::default());
    let server = open(&dir, &jobs);
    let definition = json!({"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 1, "Next": "Run"},
        "Run": {
            "Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask",
            "Parameters": {"Cluster": "default", "TaskDefinition": "job", "Pad": "p".repeat(100_000)},
            "End": true
        }
    }});
    let created = api_ok(
        &server,
        "CreateStateMachine",
        json!({"name": "task", "definition": definition.to_string(), "roleArn": ROLE}),
    )
    .await;
    let started = api_ok(
        &server,
        "StartExecution",
        json!({"stateMachineArn": created["stateMachineArn"], "name": "e", "input": "{}"}),
    )
    .await;
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    // The execution is on disk; its Wait ends after the disk is full.
    let filler = fill(fs.path());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = api_ok(&server, "GetExecutionHistory", json!({"executionArn": arn})).await;
        if types(&h).iter().any(|t| t == "TaskScheduled") {
            break;
        }
        assert!(Instant::now() < deadline, "no TaskScheduled: {:?}", types(&h));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // TaskScheduled is in the history, but not on disk: the call waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        jobs.submits.load(Ordering::SeqCst),
        0,
        "the task called its service before its TaskScheduled was committed"
    );
    let d = api_ok(&server, "DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(d["status"], "RUNNING");

    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = api_ok(&server, "DescribeExecution", json!({"executionArn": arn})).await;
        if d["status"] != "RUNNING" {
            assert_eq!(d["status"], "SUCCEEDED", "{d}");
            break;
        }
        assert!(Instant::now() < deadline, "still RUNNING after the disk had space again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 1);
    close(server).await;

    // Reopened: the execution and its history are there, and nothing is called again.
    let server = open(&dir, &jobs);
    let h = api_ok(&server, "GetExecutionHistory", json!({"executionArn": arn})).await;
    let t = types(&h);
    let scheduled = t.iter().position(|t| t == "TaskScheduled").unwrap();
    let succeeded = t.iter().position(|t| t == "TaskSucceeded").unwrap();
    assert!(scheduled < succeeded, "{t:?}");
    assert_eq!(t.last().map(String::as_str), Some("ExecutionSucceeded"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(jobs.submits.load(Ordering::SeqCst), 1);
    close(server).await;
}
