//! Integration tests of `sfn-path` (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod fuzz;
mod fuzz_runner;
mod realworld;
