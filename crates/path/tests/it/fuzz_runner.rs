//! The fuzz runner shared by the workspace's fuzz targets (included by path from `sfn-asl`, `sfn-ecs` and
//! `sfn-server` tests too): proptest strategies as input generators, without shrinking.
//!
//! `cargo test` runs a fixed number of cases per target from a deterministic seed. With
//! `SFN_FUZZ_SECONDS=N` (what `cargo xtask fuzz --seconds N` sets) every target runs for N seconds from a
//! random seed and prints one line `fuzz <target>: <cases> cases in <secs> s (<rate>/s), no failure`,
//! which xtask collects. A case fails when the check panics: a crash, or a property's `assert!`; the input
//! is printed so it can become a regression test. A stack overflow aborts the whole test binary, which
//! fails the run too.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree as _};
use proptest::test_runner::TestRunner;

/// The budget from `SFN_FUZZ_SECONDS`, if any.
pub(crate) fn budget() -> Option<Duration> {
    std::env::var("SFN_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).map(Duration::from_secs_f64)
}

/// Runs `check` on values drawn from `strategy` for the fuzz budget, or `cases` cases without one.
pub(crate) fn fuzz<S: Strategy>(name: &str, strategy: S, cases: usize, check: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    let budget = budget();
    let start = Instant::now();
    let mut runner = if budget.is_some() { TestRunner::default() } else { TestRunner::deterministic() };
    let mut n = 0usize;
    loop {
        match budget {
            Some(b) if start.elapsed() >= b => break,
            None if n >= cases => break,
            _ => {}
        }
        let value = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(e) => panic!("fuzz target {name}: the strategy gave up: {e}"),
        };
        if catch_unwind(AssertUnwindSafe(|| check(&value))).is_err() {
            panic!("fuzz target {name} failed (case {n}) on input {value:?}");
        }
        n += 1;
    }
    if budget.is_some() {
        let secs = start.elapsed().as_secs_f64();
        let rate = n as f64 / secs.max(1e-9);
        println!("fuzz {name}: {n} cases in {secs:.1} s ({rate:.0}/s), no failure");
    }
}
