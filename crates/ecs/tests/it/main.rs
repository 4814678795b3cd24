//! Integration tests of `sfn-ecs`: through the engine, on real processes (`local`) and the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "tests report what they skipped or measured")]

#[cfg(feature = "aws")]
mod aws;
mod faults;
mod fuzz;
mod local;
mod output;
#[cfg(target_os = "linux")]
mod procs;
mod security;
mod sim;
#[cfg(target_os = "linux")]
mod supervised;
mod support;
