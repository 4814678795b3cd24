//! `cargo xtask fuzz [--seconds N] [--profile dev|release] [--threads T]`: every fuzz target of the
//! workspace for N seconds each (default 60, release build, two at a time).
//!
//! The targets are proptest generators run without shrinking for a time budget (cargo-fuzz would need
//! a nightly toolchain and a C++ libFuzzer build on every machine that runs CI): the `fuzz` module of
//! each crate's `it` test binary — `sfn-path` (JsonPath, intrinsics, templates, JSONata), `sfn-asl`
//! (loading and validation), `sfn-ecs` (the RunTask mapping) and `sfn-server` (request decoding and
//! whole requests through the router). Each prints `fuzz <target>: <cases> cases in <s> s (<rate>/s),
//! no failure` (`crates/path/tests/it/fuzz_runner.rs`); this command streams the run and ends with a
//! table of them. A failing target prints its input and fails the command.

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Targets expected (a target missing from the run fails it: a renamed test must not drop out silently).
const TARGETS: &[&str] = &[
    "path",
    "intrinsics",
    "intrinsic-oracles",
    "templates",
    "jsonata",
    "jsonata-arithmetic",
    "jsonata-reads",
    "asl-bytes",
    "asl-mutated",
    "asl-text",
    "ecs-params",
    "ecs-params-json",
    "server-decode",
    "server-requests",
];

/// Options of one run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Budget per target.
    pub(crate) seconds: f64,
    /// Cargo profile (`dev` reuses the build of `cargo test`).
    pub(crate) profile: String,
    /// Test threads (targets run at once).
    pub(crate) threads: usize,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Options> {
        let mut o = Options { seconds: 60.0, profile: "release".into(), threads: 2 };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--seconds" => o.seconds = value()?.parse().context("--seconds")?,
                "--profile" => o.profile = value()?.clone(),
                "--threads" => o.threads = value()?.parse().context("--threads")?,
                other => {
                    bail!("unknown fuzz option {other} (--seconds N, --profile dev|release, --threads T)")
                }
            }
        }
        Ok(o)
    }
}

/// One target's figures.
struct Figure {
    target: String,
    cases: u64,
    seconds: f64,
}

fn parse_line(line: &str) -> Option<Figure> {
    // fuzz <target>: <cases> cases in <secs> s (<rate>/s), no failure — after `test <name> ... ` when the
    // tests run one at a time (`--threads 1`), since libtest prints the name before the test's own output.
    let rest = &line[line.rfind("fuzz ")? + "fuzz ".len()..];
    let (target, rest) = rest.split_once(": ")?;
    let mut words = rest.split_whitespace();
    let cases = words.next()?.parse().ok()?;
    let seconds = words.nth(2)?.parse().ok()?;
    Some(Figure { target: target.to_owned(), cases, seconds })
}

pub(crate) fn run(o: &Options) -> Result<()> {
    let started = Instant::now();
    let threads = o.threads.to_string();
    let args = [
        "test",
        "--profile",
        &o.profile,
        "--workspace",
        "--test",
        "it",
        "fuzz::",
        "--",
        "--nocapture",
        "--test-threads",
        &threads,
    ];
    println!("$ SFN_FUZZ_SECONDS={} cargo {}", o.seconds, args.join(" "));
    let mut child = super::cargo_command()
        .args(args)
        .env("SFN_FUZZ_SECONDS", o.seconds.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start cargo test")?;
    let mut figures = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            figures.extend(parse_line(&line));
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!(
            "cargo test failed ({status}): a build error, or a fuzz target failed with its input printed above"
        );
    }
    println!("\n| target | cases | seconds | cases/s |\n|---|---|---|---|");
    for f in &figures {
        println!(
            "| {} | {} | {:.0} | {:.0} |",
            f.target,
            f.cases,
            f.seconds,
            f.cases as f64 / f.seconds.max(1e-9)
        );
    }
    let missing: Vec<&str> =
        TARGETS.iter().copied().filter(|t| !figures.iter().any(|f| f.target == *t)).collect();
    if !missing.is_empty() {
        bail!("fuzz targets that did not run: {}", missing.join(", "));
    }
    let cases: u64 = figures.iter().map(|f| f.cases).sum();
    println!(
        "fuzz: {} targets, {cases} cases, no failure ({:.0} s, profile {})",
        figures.len(),
        started.elapsed().as_secs_f64(),
        o.profile
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn figure_lines_alone_or_after_the_test_name() {
        for line in [
            "fuzz asl-bytes: 29350 cases in 40.0 s (734/s), no failure",
            "test fuzz::arbitrary_bytes ... fuzz asl-bytes: 29350 cases in 40.0 s (734/s), no failure",
        ] {
            let f = parse_line(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!((f.target.as_str(), f.cases, f.seconds), ("asl-bytes", 29350, 40.0));
        }
        assert!(parse_line("test fuzz::arbitrary_bytes ... ok").is_none());
    }
}
