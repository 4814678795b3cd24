//! boto3 against the server (`boto3_client.py`). Python comes from `SFN_TEST_PYTHON` (`cargo xtask ci` exports the
//! venv's), else `<workspace>/.venv/bin/python`, else `python3`. Without boto3 the test fails loudly;
//! `SFN_SKIP_BOTO3=1` skips it on purpose.

use std::path::PathBuf;
use std::process::Command;

use crate::{TestServer, root};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SFN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_client() {
    if std::env::var("SFN_SKIP_BOTO3").is_ok_and(|v| v == "1") {
        eprintln!("boto3_client: SKIPPED because SFN_SKIP_BOTO3=1");
        return;
    }
    let python = python();
    let probe = Command::new(&python).args(["-c", "import boto3"]).output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "{} cannot import boto3 ({}): run cargo xtask ci, or `python3 -m venv .venv && .venv/bin/pip install boto3`, or set SFN_SKIP_BOTO3=1",
            python.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("cannot run {}: {e} (set SFN_TEST_PYTHON or SFN_SKIP_BOTO3=1)", python.display()),
    }
    let s = TestServer::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/boto3_client.py");
    let url = s.url();
    let out = tokio::task::spawn_blocking(move || Command::new(&python).arg(script).arg(url).output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "boto3_client.py failed:\n{stdout}\n{stderr}");
    eprintln!("{}", stdout.trim());
    s.stop().await;
}
