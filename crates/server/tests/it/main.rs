//! Integration tests of `sfn-server` with real clients over loopback HTTP: raw awsJson1_0 requests
//! (`wire`), the Rust SDK (`sdk`, and Step Functions Local's test cases: `mocks`), boto3 (`boto3`), a bounded load test (`load`) and the journal
//! across restarts and a kill -9 (`durability`) and on a full disk (`full_disk`).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected values")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "tests report what they skipped or measured")]

mod activities;
mod boto3;
mod concurrency;
mod durability;
mod full_disk;
mod fuzz;
mod load;
mod maprun;
mod mocks;
mod nested;
mod realworld;
mod redrive;
mod reliability;
mod sdk;
mod security;
mod test_state;
mod versions;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sfn_ecs::{EcsIntegration, PollIntervals, SimBackend, SimScript};
use sfn_server::{Server, ServerOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub(crate) const REGION: &str = "us-east-1";
pub(crate) const ACCOUNT: &str = "123456789012";
pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/StepFunctionsRole";

/// A server on an ephemeral loopback port, over a simulated ECS (`job` runs 0.3 s, `slow` 3 s; `worker`
/// never stops). With a state directory, the simulator keeps its tasks there too (`sim-tasks.jsonl`).
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) sim: Arc<SimBackend>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub(crate) async fn start() -> TestServer {
        Self::start_with(None).await
    }

    pub(crate) async fn start_with(state_dir: Option<PathBuf>) -> TestServer {
        Self::start_opts(
            ServerOptions { state_dir, ..ServerOptions::default() },
            sfn_engine::Unmocked::Refuse,
        )
        .await
    }

    /// A server with these options (e.g. Step Functions Local's test cases in `mocks`), Tasks without an
    /// integration or mock doing what `unmocked` says.
    pub(crate) async fn start_opts(options: ServerOptions, unmocked: sfn_engine::Unmocked) -> TestServer {
        let state_dir = options.state_dir.clone();
        let mut sim = SimBackend::new(SimScript { run_seconds: Some(0.3), ..SimScript::default() })
            .script("slow", SimScript { run_seconds: Some(3.0), ..SimScript::default() })
            .script("worker", SimScript { never_stops: true, ..SimScript::default() });
        if let Some(dir) = &state_dir {
            std::fs::create_dir_all(dir).unwrap();
            sim = sim.persist(&dir.join("sim-tasks.jsonl")).unwrap();
        }
        let sim = Arc::new(sim);
        let intervals = PollIntervals { initial: Duration::from_millis(50), cap: Duration::from_millis(200) };
        let ecs = EcsIntegration::with_intervals(sim.clone(), intervals);
        let builder = sfn_engine::Engine::builder().integration(Arc::new(ecs)).unmocked(unmocked);
        let server = Server::open(builder, options).unwrap();
        let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        TestServer { addr, sim, stop: Some(tx), task: Some(task) }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and flushes the journal.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    /// One awsJson1_0 call: (HTTP status, JSON body).
    pub(crate) async fn call(&self, op: &str, body: Value) -> (u16, Value) {
        call(self.addr, op, body).await
    }

    /// A call that must succeed.
    pub(crate) async fn ok(&self, op: &str, body: Value) -> Value {
        ok(self.addr, op, body).await
    }

    /// Creates a STANDARD state machine; returns its ARN.
    pub(crate) async fn create(&self, name: &str, definition: &Value) -> String {
        let v = self
            .ok(
                "CreateStateMachine",
                json!({"name": name, "definition": definition.to_string(), "roleArn": ROLE}),
            )
            .await;
        v["stateMachineArn"].as_str().unwrap().to_owned()
    }

    /// Polls DescribeExecution until it is not RUNNING.
    pub(crate) async fn wait(&self, execution_arn: &str) -> Value {
        for _ in 0..400 {
            let d = self.ok("DescribeExecution", json!({"executionArn": execution_arn})).await;
            if d["status"] != "RUNNING" {
                return d;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{execution_arn} still RUNNING");
    }

    /// The task token a callback task put in its container's environment (from the TaskScheduled event,
    /// once the task was submitted).
    pub(crate) async fn token(&self, execution_arn: &str) -> String {
        for _ in 0..400 {
            let h = self.ok("GetExecutionHistory", json!({"executionArn": execution_arn})).await;
            let events = h["events"].as_array().unwrap();
            if events.iter().any(|e| e["type"] == "TaskSubmitted") {
                let scheduled = events.iter().find(|e| e["type"] == "TaskScheduled").unwrap();
                let text = scheduled["taskScheduledEventDetails"]["parameters"].as_str().unwrap();
                let params: Value = serde_json::from_str(text).unwrap();
                let env = &params["Overrides"]["ContainerOverrides"][0]["Environment"][0];
                return env["Value"].as_str().unwrap().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{execution_arn} never submitted its task");
    }
}

/// One awsJson1_0 call to `addr`: (HTTP status, JSON body).
pub(crate) async fn call(addr: SocketAddr, op: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = raw(addr, Some(op), body.to_string().as_bytes()).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A call to `addr` that must succeed.
pub(crate) async fn ok(addr: SocketAddr, op: &str, body: Value) -> Value {
    let (status, v) = call(addr, op, body.clone()).await;
    assert_eq!(status, 200, "{op} {body} -> {v}");
    v
}

/// A raw HTTP/1.1 POST (`Connection: close`): (status, headers as lowercase text, body).
pub(crate) async fn raw(addr: SocketAddr, op: Option<&str>, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let target = op.map(|o| format!("X-Amz-Target: AWSStepFunctions.{o}\r\n")).unwrap_or_default();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\n{target}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) before reading a large body; a failed write is then expected.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let head = String::from_utf8_lossy(&out[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap();
    (status, head, out[split + 4..].to_vec())
}

/// `{"StartAt": "P", …}`: one Pass state returning `{"a": 1}`.
pub(crate) fn pass_machine() -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1}, "End": true}}})
}

/// Waits `seconds`, then passes its input on.
pub(crate) fn wait_machine(seconds: u64) -> Value {
    json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}
    }})
}

/// One `.waitForTaskToken` ECS task that hands its token to the container (family `worker`, which never
/// stops on its own).
pub(crate) fn callback_machine(timeout_seconds: u64) -> Value {
    json!({"StartAt": "Wait for worker", "States": {"Wait for worker": {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "Parameters": {
            "Cluster": "default",
            "TaskDefinition": "worker",
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]}
        },
        "TimeoutSeconds": timeout_seconds,
        "End": true
    }}})
}

/// One `.sync` ECS task (family `job`, 0.3 s on the simulator).
pub(crate) fn job_machine() -> Value {
    json!({"StartAt": "Run job", "States": {"Run job": {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"Cluster": "default", "TaskDefinition": "job"},
        "End": true
    }}})
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh temporary directory.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sfn-server-it-{tag}-{}", uuid_like()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{n}", std::process::id())
}
