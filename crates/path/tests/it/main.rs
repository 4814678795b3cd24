//! Integration tests of `sfn-path` (one binary; topics in modules).
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "tests report what they skipped or measured")]

mod fuzz;
mod fuzz_runner;
mod jsonata_js;
mod realworld;
