//! `sfn run DEF [--input FILE|-] [--ecs local|sim|aws] [--task-definitions DIR] [--history] [--format json]`

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use sfn::engine::{EngineConfig, ExecutionStatus, StartRequest};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RunFormat {
    /// Status, output, error and cause for people.
    Human,
    /// One JSON object (the CLI contract).
    Json,
}

/// Which ECS backend runs `ecs:runTask` states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EcsBackendKind {
    /// Containers as host processes (no Docker).
    Local,
    /// In-memory, scripted.
    Sim,
    /// Real Amazon ECS through the AWS SDK.
    Aws,
}

/// Where ECS tasks run.
#[derive(Debug, Args)]
pub(crate) struct EcsArgs {
    /// ECS backend for `arn:aws:states:::ecs:runTask*` states (`sim` runs on a virtual clock).
    #[arg(long, value_enum, default_value = "local")]
    pub(crate) ecs: EcsBackendKind,
    /// Directory of task definitions (`aws ecs register-task-definition --cli-input-json` files);
    /// default `./task-definitions`, else a `task-definitions` directory next to the definition.
    #[arg(long)]
    pub(crate) task_definitions: Option<PathBuf>,
    /// Scripts for `--ecs sim` (`{"default": {...}, "families": {"name": {"runSeconds", "exitCodes", ...}}}`).
    #[arg(long)]
    pub(crate) sim_config: Option<PathBuf>,
    /// EC2-style capacity of a local cluster, `NAME=cpu:UNITS,memory:MIB` (repeatable; others have 4096
    /// CPU units and 8192 MiB); an EC2 task that does not fit gets RunTask's `RESOURCE:CPU`/`RESOURCE:MEMORY`.
    #[arg(long = "cluster", value_name = "NAME=cpu:UNITS,memory:MIB", value_parser = parse_cluster)]
    pub(crate) clusters: Vec<(String, sfn::ecs::Capacity)>,
    /// Enforce a Fargate On-Demand vCPU quota on `--ecs local` (AWS's is account-wide and not enforced
    /// locally unless set): a FARGATE task past it gets RunTask's quota failure.
    #[arg(long, value_name = "VCPUS")]
    pub(crate) fargate_vcpu_quota: Option<u32>,
}

/// `NAME=cpu:UNITS,memory:MIB` (either part may be left out: it keeps the default).
fn parse_cluster(text: &str) -> Result<(String, sfn::ecs::Capacity), String> {
    let (name, spec) = text.split_once('=').ok_or("expected NAME=cpu:UNITS,memory:MIB")?;
    if name.is_empty() {
        return Err("the cluster name is empty".to_owned());
    }
    let mut capacity = sfn::ecs::Capacity::default();
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| format!("expected KEY:VALUE, got '{part}'"))?;
        let value: i64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v| *v >= 0)
            .ok_or_else(|| format!("'{value}' is not a non-negative integer"))?;
        match key.trim() {
            "cpu" => capacity.cpu = value,
            "memory" => capacity.memory_mib = value,
            other => return Err(format!("unknown capacity '{other}' (expected cpu or memory)")),
        }
    }
    Ok((name.to_owned(), capacity))
}

/// Mocked task responses (AWS Step Functions Local's mock configuration file).
#[derive(Debug, Args)]
pub(crate) struct MockArgs {
    /// Mock configuration file (`MockConfigFile.json` format).
    #[arg(long)]
    pub(crate) mock_config: Option<PathBuf>,
    /// The `StateMachines` entry to use (default: the definition file's stem).
    #[arg(long, requires = "mock_config")]
    pub(crate) state_machine: Option<String>,
    /// The test case to use.
    #[arg(long, requires = "mock_config")]
    pub(crate) test_case: Option<String>,
}

/// Arguments of `sfn run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The state machine definition (ASL JSON).
    pub(crate) definition: PathBuf,
    /// Execution input: a JSON file, or `-` for stdin (default `{}`).
    #[arg(long)]
    pub(crate) input: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) ecs: EcsArgs,
    #[command(flatten)]
    pub(crate) mocks: MockArgs,
    /// Include the execution history (GetExecutionHistory events).
    #[arg(long)]
    pub(crate) history: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: RunFormat,
    /// Execution name (default: a random UUID).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// History events allowed before the execution fails (AWS: 25000; 0 = no limit).
    #[arg(long, default_value_t = 25_000)]
    pub(crate) max_history_events: usize,
    /// Lift AWS's quotas (history events, 256 KiB payloads): for benchmarks and experiments.
    #[arg(long)]
    pub(crate) no_quotas: bool,
}

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let machine =
        match crate::load_definition(&args.definition, crate::Load::for_running(&args.ecs, &args.mocks)) {
            Ok(m) => m,
            Err(code) => return Ok(code),
        };
    let input = match read_input_text(args.input.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("sfn: {e:#}");
            return Ok(2);
        }
    };
    // The simulator runs on a virtual clock: simulated tasks, Wait states and back-off take no real time.
    let runtime = if args.ecs.ecs == EcsBackendKind::Sim {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(execute(args, machine, input))
}

pub(crate) fn read_input(path: Option<&std::path::Path>) -> anyhow::Result<Value> {
    read_input_text(path).map(|(v, _)| v)
}

/// The input and the caller's text of it (kept verbatim in the history, as AWS keeps StartExecution's).
pub(crate) fn read_input_text(path: Option<&std::path::Path>) -> anyhow::Result<(Value, Option<String>)> {
    let text = match path {
        None => return Ok((json!({}), None)),
        Some(p) if p.as_os_str() == "-" => {
            let mut s = Vec::new();
            std::io::stdin().read_to_end(&mut s).context("cannot read the input from stdin")?;
            s
        }
        Some(p) => std::fs::read(p).with_context(|| format!("cannot read the input file {}", p.display()))?,
    };
    let value = serde_json::from_slice(&text).context("the input is not valid JSON")?;
    let text = String::from_utf8(text).ok().map(|t| t.trim().to_owned());
    Ok((value, text))
}

pub(crate) fn state_machine_name(path: &std::path::Path) -> String {
    let stem = path.file_name().and_then(|s| s.to_str()).unwrap_or("state-machine");
    let stem = stem.trim_end_matches(".json").trim_end_matches(".asl");
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    if cleaned.is_empty() { "state-machine".to_owned() } else { cleaned.chars().take(80).collect() }
}

async fn execute(
    args: &RunArgs,
    machine: sfn::asl::StateMachine,
    (input, input_text): (Value, Option<String>),
) -> anyhow::Result<i32> {
    let name = state_machine_name(&args.definition);
    let (builder, region) =
        match crate::integrations::engine_builder(&args.ecs, &args.mocks, &args.definition, &machine, &name)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                eprintln!("sfn: {e:#}");
                return Ok(2);
            }
        };
    let config = EngineConfig {
        region,
        max_history_events: (args.max_history_events > 0 && !args.no_quotas)
            .then_some(args.max_history_events),
        max_payload_bytes: if args.no_quotas { usize::MAX } else { sfn::engine::MAX_PAYLOAD_BYTES },
        ..EngineConfig::default()
    };
    let engine = builder.config(config).build();
    let prepared = match crate::prepare(&engine, machine, &name, &args.definition) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let execution_name = args.name.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let execution =
        engine.start(&prepared, StartRequest { execution_name, input, role_arn: None, input_text });
    let progress = args.format == RunFormat::Human && std::io::stderr().is_terminal();
    let outcome = if progress { with_progress(&execution).await } else { execution.wait().await };

    let mut out = Map::new();
    out.insert("status".into(), Value::String(outcome.status.as_str().to_owned()));
    if let Some(o) = &outcome.output {
        out.insert("output".into(), o.clone());
    }
    if let Some(e) = &outcome.error {
        out.insert("error".into(), Value::String(e.clone()));
    }
    if let Some(c) = &outcome.cause {
        out.insert("cause".into(), Value::String(c.clone()));
    }
    if args.history {
        let events: Vec<Value> =
            execution.history().events().iter().map(sfn::engine::Event::to_json).collect();
        out.insert("history".into(), Value::Array(events));
    }
    match args.format {
        RunFormat::Json => outln!("{}", Value::Object(out)),
        RunFormat::Human => print_human(&out),
    }
    Ok(if outcome.status == ExecutionStatus::Succeeded { 0 } else { 1 })
}

fn print_human(out: &Map<String, Value>) {
    let color = std::io::stdout().is_terminal();
    let status = out.get("status").and_then(Value::as_str).unwrap_or_default();
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_owned() };
    outln!("{}", if status == "SUCCEEDED" { paint("1;32", status) } else { paint("1;31", status) });
    if let Some(o) = out.get("output") {
        outln!("output: {}", serde_json::to_string_pretty(o).unwrap_or_default());
    }
    if let Some(e) = out.get("error").and_then(Value::as_str) {
        outln!("error:  {e}");
    }
    if let Some(c) = out.get("cause").and_then(Value::as_str) {
        // Causes are often JSON (an ECS task): show them pretty when they are.
        match serde_json::from_str::<Value>(c) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => {
                outln!("cause:  {}", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
            _ => outln!("cause:  {c}"),
        }
    }
    if let Some(Value::Array(events)) = out.get("history") {
        outln!("history:");
        for e in events {
            outln!("  {}", e);
        }
    }
}

/// Waits for the end, showing a progress line with the running states once it takes over a second.
async fn with_progress(execution: &sfn::engine::Execution) -> sfn::engine::Outcome {
    let wait = execution.wait();
    tokio::pin!(wait);
    tokio::select! {
        o = &mut wait => return o,
        () = tokio::time::sleep(Duration::from_secs(1)) => {}
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    loop {
        let events = execution.history().len();
        let current = execution
            .history()
            .events_since(events.saturating_sub(50))
            .iter()
            .rev()
            .find_map(|e| match &e.details {
                sfn::engine::EventDetails::StateEntered { name, state_type, .. } => {
                    Some(format!("{} ({})", name, state_type.as_str()))
                }
                _ => None,
            })
            .unwrap_or_default();
        bar.set_message(format!("running {current} — {events} events"));
        tokio::select! {
            o = &mut wait => {
                bar.finish_and_clear();
                return o;
            }
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_cluster;
    use sfn::ecs::Capacity;

    #[test]
    fn cluster_capacities_parse_with_located_errors() {
        assert_eq!(
            parse_cluster("jobs=cpu:8192,memory:16384"),
            Ok(("jobs".to_owned(), Capacity { cpu: 8192, memory_mib: 16384 }))
        );
        assert_eq!(
            parse_cluster("jobs=cpu:1024"),
            Ok(("jobs".to_owned(), Capacity { cpu: 1024, memory_mib: 8192 }))
        );
        assert_eq!(parse_cluster("jobs"), Err("expected NAME=cpu:UNITS,memory:MIB".to_owned()));
        assert_eq!(parse_cluster("=cpu:1"), Err("the cluster name is empty".to_owned()));
        assert_eq!(
            parse_cluster("j=gpu:1"),
            Err("unknown capacity 'gpu' (expected cpu or memory)".to_owned())
        );
        assert_eq!(parse_cluster("j=cpu:-1"), Err("'-1' is not a non-negative integer".to_owned()));
        assert_eq!(parse_cluster("j=cpu"), Err("expected KEY:VALUE, got 'cpu'".to_owned()));
    }
}
