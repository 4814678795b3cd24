//! Integration tests of `sfn-engine` (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on broken fixtures")]

mod activities;
mod conformance;
mod execution_input;
mod fake;
mod history;
mod history_diff;
mod jsonata;
mod jsonata_pool;
mod limits;
mod links;
mod nested;
mod resume;
mod s3_items;
mod seam;
mod test_state;

/// The workspace's `fixtures/` directory.
pub(crate) fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}
