//! Integration tests of the `sfn` facade (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "tests report what they skipped or measured")]

mod graph;
mod recorded;
mod s3;
mod snapshots;
mod svg;
