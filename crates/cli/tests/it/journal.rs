//! `sfn journal check` and `sfn journal salvage` on journals the server wrote, damaged and not.

use std::path::{Path, PathBuf};

use crate::sfn;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "sfn-cli-journal-{tag}-{}-{}",
        std::process::id(),
        crate::unique()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A journal as `sfn serve --state-dir` leaves it: one state machine, one finished execution.
fn served_journal() -> PathBuf {
    let dir = temp_dir("served");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let options = sfn_server::ServerOptions { state_dir: Some(dir.clone()), ..Default::default() };
        let server = sfn_server::Server::open(sfn::engine::Engine::builder(), options).unwrap();
        let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async {
            let _ = stopped.await;
        }));
        let def = r#"{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"#;
        let role = "arn:aws:iam::123456789012:role/R";
        post(
            addr,
            "CreateStateMachine",
            &format!(r#"{{"name":"m","definition":"{def}","roleArn":"{role}"}}"#),
        )
        .await;
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        post(addr, "StartExecution", &format!(r#"{{"stateMachineArn":"{arn}","name":"e"}}"#)).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    });
    dir
}

async fn post(addr: std::net::SocketAddr, op: &str, body: &str) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{op}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{op}: {out}");
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn flip(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn check_says_intact_or_damaged_and_salvage_copies_what_is_intact() {
    let dir = served_journal();
    let d = dir.to_str().unwrap();
    let o = sfn(&["journal", "check", d]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(
        stdout(&o)
            .contains("intact (format 2): 1 state machine(s), 1 version(s), 1 execution(s), 4 event(s)")
    );

    // A flipped byte of the magic number: redb cannot open it; check says so, salvage reads the raw bytes.
    flip(&dir.join("sfn.redb"), 0);
    let o = sfn(&["journal", "check", d]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("damaged") && stdout(&o).contains("sfn journal salvage"), "{}", stdout(&o));
    let out = temp_dir("salvaged");
    std::fs::remove_dir(&out).unwrap();
    let o = sfn(&["journal", "salvage", d, out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout(&o).contains("1 state machine(s), 1 version(s), 1 execution(s), 4 event(s)"),
        "{}",
        stdout(&o)
    );
    let o = sfn(&["journal", "check", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    // A 0-byte journal is damaged; a directory without one is a usage error.
    std::fs::write(dir.join("sfn.redb"), b"").unwrap();
    let o = sfn(&["journal", "check", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("empty (0 bytes)"), "{}", stdout(&o));
    let empty = temp_dir("none");
    let o = sfn(&["journal", "check", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("there is no journal"), "{:?}", o);
    for p in [dir, out, empty] {
        let _ = std::fs::remove_dir_all(p);
    }
}
