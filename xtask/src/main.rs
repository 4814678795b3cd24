//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: what CI runs (fmt --check, clippy -D warnings, packaging, tests, docs).
//! - `bench [N] [M]`: throughput against aws-local-stepfunctions, N concurrent `.sync` tasks on the simulator,
//!   and the memory `sfn serve` keeps for each of M finished executions (`serve_mem.rs`).
//! - `bench-serve [M]`: that last figure alone.
//! - `conformance [DIR...]`: AWS-recorded executions through the release `sfn run` (default `fixtures/conformance` and `fixtures/conformance-jsonata`).
//! - `fuzz [--seconds N] [--profile dev|release] [--threads T]`: every fuzz target for N seconds (`fuzz.rs`).
//! - `package`: every publishable crate packaged (`cargo package`, a step of `ci`).
#![allow(clippy::print_stdout, reason = "a command-line tool: it reports what it runs")]

mod bench;
mod conformance;
mod fuzz;
mod serve_mem;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("conformance") => {
            cargo(&["build", "--release", "-p", "sfn-cli"])?;
            let dirs: Vec<PathBuf> = if args.len() > 1 {
                args[1..].iter().map(PathBuf::from).collect()
            } else {
                vec![PathBuf::from("fixtures/conformance"), PathBuf::from("fixtures/conformance-jsonata")]
            };
            // The binary cargo just built, in CARGO_TARGET_DIR when one is set.
            conformance::run(&dirs, &bench::sfn())
        }
        Some("bench") => {
            cargo(&["build", "--release", "-p", "sfn-cli"])?;
            let tasks = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
            bench::run(tasks)?;
            serve_mem::run(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(4_000))
        }
        Some("bench-serve") => {
            cargo(&["build", "--release", "-p", "sfn-cli"])?;
            serve_mem::run(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4_000))
        }
        Some("fuzz") => fuzz::run(&fuzz::Options::parse(&args[1..])?),
        Some("package") => package(),
        _ => {
            println!(
                "usage: cargo xtask ci | conformance [DIR...] | bench [ECS_SCALE_TASKS] [SERVE_EXECUTIONS] | bench-serve [EXECUTIONS] | fuzz [--seconds N] [--profile dev|release] [--threads T] | package"
            );
            bail!("unknown or missing command")
        }
    }
}

/// Runs one cargo command and fails when it fails.
fn cargo(args: &[&str]) -> Result<()> {
    println!("$ cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .status()
        .with_context(|| format!("cannot start cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Every crate that can be published packages on its own (about a second): `cargo package` for all of them
/// at once, so that their dependencies on each other, not on crates.io yet, resolve against the crates
/// being packaged (cargo >= 1.84); `--offline`, from the index cache the builds filled; `--no-verify`: no
/// second build of each tarball (the tidy test checks that no source reaches outside its crate).
fn package() -> Result<()> {
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo_bin)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata: not JSON")?;
    let mut args = vec!["package", "--offline", "--no-verify", "--allow-dirty"];
    for p in metadata["packages"].as_array().into_iter().flatten() {
        // `publish = false` is `"publish": []`.
        if !p["publish"].as_array().is_some_and(Vec::is_empty)
            && let Some(name) = p["name"].as_str()
        {
            args.extend(["-p", name]);
        }
    }
    cargo(&args)
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    package()?;
    // Unit, integration and doc tests (each crate's front-page and README examples included).
    cargo(&["test", "--workspace"])?;
    // A short fuzz run on the test build just made: 10 s per target, two at a time (about 70 s).
    fuzz::run(&fuzz::Options { seconds: 10.0, profile: "dev".into(), threads: 2 })?;
    cargo(&["doc", "--workspace", "--no-deps"])?;
    Ok(())
}
