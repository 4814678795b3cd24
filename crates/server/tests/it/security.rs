//! Who may call the server: a web page cannot drive it (DNS rebinding sends a foreign `Host`, a
//! cross-origin request an `Origin`), so a TestState that would run a host command through `--ecs local`
//! is refused with HTTP 403 and runs nothing; the same request from a client (loopback `Host`, no
//! `Origin`) runs — which shows the refusal is what stopped it.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use sfn_ecs::{ContainerDefinition, EcsIntegration, LocalBackend, TaskDefinition, TaskDefinitions};
use sfn_server::{Server, ServerOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A request with the given `Host` (and `Origin`): (status, body).
async fn request(addr: SocketAddr, host: &str, origin: Option<&str>, op: &str, body: &Value) -> (u16, Value) {
    let body = body.to_string();
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\n{origin}Content-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&out[..split]).split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_slice(&out[split + 4..]).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_cannot_run_host_commands_through_test_state() {
    let mut tds = TaskDefinitions::new();
    tds.register(TaskDefinition {
        family: "job".into(),
        container_definitions: vec![ContainerDefinition { name: "app".into(), ..Default::default() }],
        ..Default::default()
    });
    let ecs = EcsIntegration::new(Arc::new(LocalBackend::new(tds)));
    let server =
        Server::open(sfn_engine::Engine::builder().integration(Arc::new(ecs)), ServerOptions::default())
            .unwrap();
    let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = rx.await;
    }));

    let dir = std::env::temp_dir().join(format!("sfn-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("pwned");
    let _ = std::fs::remove_file(&marker);
    // Request-response: TestState refuses an unmocked `.sync` (as AWS does); the task still starts.
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "TimeoutSeconds": 30,
        "Parameters": {"TaskDefinition": "job", "Overrides": {"ContainerOverrides": [
            {"Name": "app", "Command": ["touch", marker.to_str().unwrap()]}]}}, "End": true});
    let body = json!({"definition": state.to_string(), "input": "{}"});

    for (host, origin) in [
        ("attacker.example", None), // DNS rebinding
        ("attacker.example:8083", None),
        ("127.0.0.1", Some("https://attacker.example")), // cross-origin page
        ("localhost", Some("null")),                     // sandboxed page
    ] {
        let (status, v) = request(addr, host, origin, "TestState", &body).await;
        assert_eq!(status, 403, "{host} {origin:?}: {v}");
        assert_eq!(v["__type"].as_str().unwrap().rsplit('#').next(), Some("AccessDeniedException"), "{v}");
        assert!(!marker.exists(), "{host} {origin:?} ran a host command");
    }

    let (status, v) = request(addr, &addr.to_string(), None, "TestState", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "SUCCEEDED", "{v}");
    // The task was started; its process runs on after the answer.
    for _ in 0..200 {
        if marker.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(marker.exists(), "a client's request runs the command");
    let (status, _) =
        request(addr, &format!("localhost:{}", addr.port()), None, "ListStateMachines", &json!({})).await;
    assert_eq!(status, 200);

    let _ = tx.send(());
    serving.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client that opens a connection and trickles a request head, or sends nothing, cannot hold it: the
/// server closes it once `HEADER_READ_TIMEOUT` has passed without a complete head (it once waited forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_disconnected() {
    let server = crate::TestServer::start().await;
    let started = std::time::Instant::now();
    let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut trickling = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    trickling.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    let limit = sfn_server::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(10);
    for (name, stream) in [("silent", &mut silent), ("trickling", &mut trickling)] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(limit, stream.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "the {name} connection was still open after {limit:?}");
    }
    assert!(started.elapsed() >= sfn_server::HEADER_READ_TIMEOUT, "closed before the timeout");
    // The server still answers.
    let (status, _) = server.call("ListStateMachines", json!({})).await;
    assert_eq!(status, 200);
    server.stop().await;
}
