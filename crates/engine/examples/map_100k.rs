//! A Map over 100,000 items with `MaxConcurrency: 0` (no limit) runs to its end in bounded memory:
//! `cargo run --release -p sfn-engine --example map_100k [ITEMS] [MAX_RSS_MIB]`.
//! Prints `map items=<n> status=<s> wall_s=<w> peak_rss_mib=<m>` (peak RSS: `VmHWM` in
//! `/proc/self/status`) and exits non-zero unless every item came back and the peak stayed under
//! `MAX_RSS_MIB` (default 1024). AWS's quotas are lifted as for benchmarks: 100,000 inline items are a
//! 600 KB input and 400,000 history events, which AWS runs only as a Distributed Map.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: it reports its measurements and fails loudly"
)]

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use serde_json::json;
use sfn_engine::{Engine, EngineConfig, ExecutionStatus, StartRequest};

/// Peak resident set size in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let items: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let max_rss: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024.0);
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 0, "End": true,
        "ItemSelector": {"n.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "Double", "States": {
            "Double": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, $.n)"}, "End": true}}}}}});
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).expect("valid definition");
    let config =
        EngineConfig { max_history_events: None, max_payload_bytes: usize::MAX, ..EngineConfig::default() };
    let engine = Engine::builder().config(config).build();
    let prepared = engine.prepare(machine, "map").unwrap();
    let input = json!((0..items).collect::<Vec<_>>());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let t0 = Instant::now();
    let (outcome, history) = rt.block_on(engine.run(
        &prepared,
        StartRequest { execution_name: "m".into(), input, role_arn: None, input_text: None },
    ));
    let wall = t0.elapsed().as_secs_f64();
    let rss = peak_rss_mib();
    let output = outcome.output.as_ref().and_then(|o| o.as_array());
    let complete = output.is_some_and(|o| {
        o.len() as u64 == items && o.iter().enumerate().all(|(i, v)| v["n"] == json!(2 * i as u64))
    });
    println!(
        "map items={items} status={} events={} wall_s={wall:.2} peak_rss_mib={rss:.0}",
        outcome.status.as_str(),
        history.len()
    );
    if outcome.status != ExecutionStatus::Succeeded || !complete {
        eprintln!("the Map did not complete: {:?} {:?}", outcome.error, outcome.cause);
        std::process::exit(1);
    }
    if rss > max_rss {
        eprintln!("peak RSS {rss:.0} MiB is over {max_rss} MiB");
        std::process::exit(1);
    }
}
