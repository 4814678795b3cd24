//! Integration tests of `sfn-ecs`: through the engine, on real processes (`local`) and the simulator.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

#[cfg(feature = "aws")]
mod aws;
mod faults;
mod fuzz;
mod local;
mod security;
mod sim;
mod support;
