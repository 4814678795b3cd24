//! Integration tests of `sfn-iam`, one binary (topics in modules): snapshots of every pattern ×
//! static/dynamic task definition × with/without task definitions × nesting, comparison with AWS's
//! documented templates (never wider), policy grammar, determinism, renderers and the seed fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on unexpected input")]

mod common;

mod aws_templates;
mod cases;
mod determinism;
mod grammar;
mod matrix;
mod nested;
mod renderers;
mod seed;
mod task_role;
