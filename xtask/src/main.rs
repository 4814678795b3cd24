//! Project automation: `cargo xtask <command>`.
//!
//! - `ci`: what CI runs (fmt --check, clippy -D warnings, packaging, tests, docs); it makes the test clients
//!   (`.venv` with boto3/moto/awscli, `.node` with the JavaScript SDK, Chromium) when they are missing.
//! - `bench [N] [M]`: throughput against aws-local-stepfunctions, N concurrent `.sync` tasks on the simulator,
//!   and the memory `sfn serve` keeps for each of M finished executions (`serve_mem.rs`).
//! - `bench-serve [M]`: that last figure alone.
//! - `bench-cold`: the cold start of `sfn validate` alone (also the first line of `bench`).
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
        Some("bench-cold") => {
            cargo(&["build", "--release", "-p", "sfn-cli"])?;
            bench::cold_validate()
        }
        Some("bench-serve") => {
            cargo(&["build", "--release", "-p", "sfn-cli"])?;
            serve_mem::run(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4_000))
        }
        Some("fuzz") => fuzz::run(&fuzz::Options::parse(&args[1..])?),
        Some("package") => package(),
        _ => {
            println!(
                "usage: cargo xtask ci | conformance [DIR...] | bench [ECS_SCALE_TASKS] [SERVE_EXECUTIONS] | bench-cold | bench-serve [EXECUTIONS] | fuzz [--seconds N] [--profile dev|release] [--threads T] | package"
            );
            bail!("unknown or missing command")
        }
    }
}

/// Runs one cargo command and fails when it fails.
fn cargo(args: &[&str]) -> Result<()> {
    cargo_env(args, &[])
}

/// A `cargo` command (the one running xtask) without the variables cargo set for running xtask itself
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, …). Build scripts that watch them (ring's
/// `rerun-if-env-changed=CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, …) would otherwise see them change between
/// `cargo xtask …` and a plain `cargo build`, and rebuild ring and every crate above it each time one
/// follows the other (about five minutes of the release build here).
pub(crate) fn cargo_command() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(set_for_xtask) {
            c.env_remove(&k);
        }
    }
    c
}

/// True for a variable cargo sets for the crate it runs (the Cargo book's "Environment variables Cargo
/// sets for crates", less `CARGO`, the cargo to run).
fn set_for_xtask(k: &str) -> bool {
    k.starts_with("CARGO_PKG_")
        || k.starts_with("CARGO_MANIFEST_")
        || matches!(
            k,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
        )
}

/// [`cargo`] with variables added to its environment.
fn cargo_env(args: &[&str], env: &[(&str, PathBuf)]) -> Result<()> {
    println!("$ cargo {}", args.join(" "));
    let status = cargo_command()
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .status()
        .with_context(|| format!("cannot start cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Every crate that can be published packages on its own (about a second): `cargo package` for all of them
/// at once, so that their dependencies on each other, not on crates.io yet, resolve against the crates
/// being packaged (cargo >= 1.84); online: the patched crates (`[patch.crates-io]`, vendor/) are never in
/// the index cache a build fills, so `--offline` fails on a fresh machine (about 10 s); `--no-verify`: no
/// second build of each tarball (the tidy test checks that no source reaches outside its crate).
fn package() -> Result<()> {
    let out = cargo_command()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("cargo metadata: not JSON")?;
    let mut args = vec!["package", "--no-verify", "--allow-dirty"];
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

/// What the tests drive the server with, made once in the workspace when missing: `.venv` (boto3, moto's
/// server, the AWS CLI), `.node` (the JavaScript v3 SDK, `@aws-sdk/client-sfn`) and Chromium (a system package). Returns the variables
/// that point the tests at them; a variable the caller set wins.
fn test_clients() -> Result<Vec<(&'static str, PathBuf)>> {
    let mut env = Vec::new();
    if std::env::var_os("SFN_TEST_PYTHON").is_none() {
        let python = PathBuf::from(".venv/bin/python");
        let ready = |p: &PathBuf| {
            Command::new(p)
                .args(["-c", "import boto3, moto.server, awscli"])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !ready(&python) {
            run("python3", &["-m", "venv", ".venv"])?;
            run(".venv/bin/pip", &["install", "--quiet", "boto3", "moto[server]>=5.2.5", "awscli"])?;
        }
        env.push(("SFN_TEST_PYTHON", std::path::absolute(&python)?));
    }
    if std::env::var_os("SFN_TEST_NODE_MODULES").is_none() {
        let modules = PathBuf::from(".node/node_modules");
        if !modules.join("@aws-sdk/client-sfn").is_dir() {
            run(
                "npm",
                &[
                    "install",
                    "--prefix",
                    ".node",
                    "--no-audit",
                    "--no-fund",
                    "--silent",
                    "@aws-sdk/client-sfn@3.1164.0",
                ],
            )?;
        }
        env.push(("SFN_TEST_NODE_MODULES", std::path::absolute(&modules)?));
    }
    // The console's browser tests: Debian's `chromium` when no Chromium is found (as root, or through sudo).
    let found = |name: &str| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
    let skip = std::env::var("SFN_SKIP_CHROMIUM").is_ok_and(|v| v == "1");
    if !skip
        && std::env::var_os("SFN_TEST_CHROMIUM").is_none()
        && !found("chromium")
        && !found("chromium-browser")
    {
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let (program, pre): (&str, &[&str]) = if root { ("apt-get", &[]) } else { ("sudo", &["apt-get"]) };
        run(program, &[pre, &["update", "-qq"]].concat())?;
        run(program, &[pre, &["install", "-y", "-qq", "chromium"]].concat()).context(
            "cannot install chromium for the console's browser tests (or set SFN_SKIP_CHROMIUM=1)",
        )?;
    }
    Ok(env)
}

/// Runs one program and fails when it fails.
fn run(program: &str, args: &[&str]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .with_context(|| format!("cannot start {program}"))?;
    if !status.success() {
        bail!("{program} {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    package()?;
    let clients = test_clients()?;
    // Unit, integration and doc tests (each crate's front-page and README examples included).
    cargo_env(&["test", "--workspace"], &clients)?;
    // A short fuzz run on the test build just made: 10 s per target, two at a time (about 70 s).
    fuzz::run(&fuzz::Options { seconds: 10.0, profile: "dev".into(), threads: 2 })?;
    cargo(&["doc", "--workspace", "--no-deps"])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_cargo_set_for_xtask_is_left_out_of_nested_cargo_commands() {
        for k in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_CRATE_NAME",
        ] {
            assert!(set_for_xtask(k), "{k}");
        }
        // The user's own settings reach the nested cargo.
        for k in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_PROFILE_RELEASE_DEBUG",
            "CARGO_BUILD_JOBS",
            "RUSTFLAGS",
        ] {
            assert!(!set_for_xtask(k), "{k}");
        }
        let c = cargo_command();
        let removed: Vec<_> = c.get_envs().filter(|(_, v)| v.is_none()).map(|(k, _)| k.to_owned()).collect();
        assert!(removed.iter().all(|k| k.to_str().is_some_and(set_for_xtask)));
    }
}
