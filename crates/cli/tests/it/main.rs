//! Integration tests of the `sfn` binary through its CLI contract (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "tests report what they skipped or measured")]

mod console;
mod invalid;
mod journal;
mod logs;
mod mocks;
mod nested;
mod output;
mod realworld;
mod recorded;
mod run;
mod s3;
mod s3_aws;
mod supervisor;
mod test_state;
mod tools;
mod validate;
mod verdicts;

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the built `sfn` with arguments.
pub(crate) fn sfn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn")).args(args).output().expect("run sfn")
}

/// Writes a file into a fresh temporary directory and returns its path.
pub(crate) fn temp_file(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-cli-test-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, contents).unwrap();
    p
}

pub(crate) fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The workspace root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
