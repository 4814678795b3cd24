//! `sfn bench DEF --input FILE [--runs N] [--ecs sim]` (hidden): in-process throughput for `cargo xtask bench`.
//! Prints one JSON object: transitions (StateEntered events), median wall ms, transitions/s, what the
//! resident set grew by per history event while the timed runs' histories are kept, and for ECS runs
//! the DescribeTasks counters and peak RSS.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use sfn::ecs::{EcsIntegration, SimBackend, SimScript};
use sfn::engine::{Engine, EngineConfig, EventDetails, ExecutionStatus, History, StartRequest};

/// Arguments of `sfn bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The state machine definition.
    pub(crate) definition: PathBuf,
    /// Its input.
    #[arg(long)]
    pub(crate) input: PathBuf,
    /// Timed runs after one warm-up run.
    #[arg(long, default_value_t = 5)]
    pub(crate) runs: usize,
    /// Seconds each simulated ECS task runs (virtual time).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) sim_run_seconds: f64,
}

/// A figure of `/proc/self/status` in KiB (`VmHWM:` the peak resident set, `VmRSS:` the current one).
fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .unwrap_or(0.0)
}

fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

/// Runs the benchmark; exit 1 when an execution does not succeed.
pub(crate) fn run(args: &BenchArgs) -> anyhow::Result<i32> {
    let machine = match crate::load_definition(&args.definition, crate::Load::default()) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let input = crate::run::read_input(Some(&format!("file://{}", args.input.display())))?;
    // Benchmarks measure the interpreter, not AWS's quotas: no history or payload limit.
    let config =
        EngineConfig { max_history_events: None, max_payload_bytes: usize::MAX, ..EngineConfig::default() };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(std::env::var_os("SFN_BENCH_REALTIME").is_none())
        .build()?;
    let mut times = Vec::new();
    let mut transitions = 0usize;
    let mut describe_calls = 0u64;
    let mut rounds = 0u64;
    let mut max_arns = 0u64;
    let mut tasks = 0u64;
    // Every timed run's history is kept to the end: what the resident set grew by over them, per event,
    // is what a history holds per event (each run's transient memory is reused by the next).
    let mut kept = Vec::with_capacity(args.runs);
    let mut rss_after_warm_up = 0.0;
    for i in 0..=args.runs {
        let sim = Arc::new(SimBackend::new(SimScript {
            run_seconds: Some(args.sim_run_seconds),
            ..Default::default()
        }));
        let ecs = Arc::new(EcsIntegration::new(sim.clone()));
        let engine = Engine::builder().config(config.clone()).integration(ecs.clone()).build();
        let machine = machine.clone();
        let input = input.clone();
        let t0 = Instant::now();
        let (outcome, history) = rt.block_on(async {
            let prepared = engine.prepare(machine, "bench").map_err(|e| anyhow::anyhow!(e))?;
            let req = StartRequest {
                execution_name: format!("bench-{i}"),
                input,
                role_arn: None,
                input_text: None,
            };
            anyhow::Ok(engine.run(&prepared, req).await)
        })?;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        if outcome.status != ExecutionStatus::Succeeded {
            eprintln!(
                "sfn bench: the execution ended {}: {:?} {:?}",
                outcome.status.as_str(),
                outcome.error,
                outcome.cause
            );
            return Ok(1);
        }
        // Counted event by event: a copy of the whole history, freed just before the resident set is
        // read, would count as history memory.
        transitions = 0;
        history
            .for_each(|e| transitions += usize::from(matches!(e.details, EventDetails::StateEntered { .. })));
        describe_calls = sim.counters.describe_tasks.load(Ordering::Relaxed);
        max_arns = sim.counters.max_arns_per_call.load(Ordering::Relaxed);
        tasks = sim.counters.run_task.load(Ordering::Relaxed);
        rounds = ecs.poll_rounds();
        if i > 0 {
            times.push(ms);
            kept.push(history);
        } else {
            drop(history);
            rss_after_warm_up = status_kib("VmRSS:");
        }
    }
    let kept_events: usize = kept.iter().map(|h| h.len()).sum();
    let grown = (status_kib("VmRSS:") - rss_after_warm_up).max(0.0) * 1024.0;
    let bytes_per_event = if kept_events > 0 { grown / kept_events as f64 } else { 0.0 };
    let heap: usize = kept.iter().map(History::heap_bytes).sum();
    let heap_per_event = if kept_events > 0 { heap as f64 / kept_events as f64 } else { 0.0 };
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    outln!(
        "{}",
        json!({
            "transitions": transitions,
            "min_ms": times.first().copied().unwrap_or_default(),
            "median_ms": median,
            "max_ms": times.last().copied().unwrap_or_default(),
            "transitions_per_s": if median > 0.0 { transitions as f64 / (median / 1000.0) } else { 0.0 },
            "tasks": tasks,
            "describe_calls": describe_calls,
            "max_arns_per_call": max_arns,
            "rounds": rounds,
            "peak_rss_mib": peak_rss_mib(),
            "history_events": kept_events,
            "history_bytes_per_event": bytes_per_event,
            "history_heap_bytes_per_event": heap_per_event,
        })
    );
    Ok(0)
}
