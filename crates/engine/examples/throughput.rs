//! Measures in-process throughput: `cargo run --release -p sfn-engine --example throughput -- DEF INPUT [RUNS]`.
//! Prints `transitions=<n> median_ms=<ms> transitions_per_s=<rate>` (state transitions = StateEntered events).
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

use sfn_engine::{Engine, EngineConfig, EventDetails, StartRequest};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let def = std::fs::read(&args[0]).expect("definition");
    let input: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&args[1]).expect("input")).expect("json");
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config =
        EngineConfig { max_history_events: None, max_payload_bytes: usize::MAX, ..EngineConfig::default() };
    let engine = Engine::builder().config(config).build();
    let mut times = Vec::new();
    let mut transitions = 0;
    for i in 0..=runs {
        let machine = sfn_asl::parse(&def).expect("valid definition");
        let t0 = Instant::now();
        let prepared = engine.prepare(machine, "bench").unwrap();
        let (outcome, history) = rt.block_on(engine.run(
            &prepared,
            StartRequest {
                execution_name: format!("r{i}"),
                input: input.clone(),
                role_arn: None,
                input_text: None,
            },
        ));
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(outcome.status, sfn_engine::ExecutionStatus::Succeeded, "{outcome:?}");
        transitions = history
            .events()
            .iter()
            .filter(|e| matches!(e.details, EventDetails::StateEntered { .. }))
            .count();
        if i > 0 {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "transitions={transitions} median_ms={median:.2} transitions_per_s={:.0}",
        transitions as f64 / (median / 1000.0)
    );
}
