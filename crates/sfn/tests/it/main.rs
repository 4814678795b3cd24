//! Integration tests of the `sfn` facade (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod graph;
mod snapshots;
