//! `sfn run DEF [--input JSON|FILE|file://FILE|-] [--ecs local|sim|aws] [--task-definitions DIR] [--history]
//! [--format json] [--quiet] [--log-dir DIR] [--open [--console-port PORT]]`
//!
//! `--open` shows the finished run in the console (`sfn-console` over that one run, its containers' log
//! lines kept as `sfn serve` keeps them): it prints `console: URL` on stderr, opens a browser (`xdg-open`,
//! `open`; not when `SFN_NO_BROWSER=1`) and serves on loopback until Ctrl-C.

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::sync::Arc;
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
    /// With `--state-dir` on `--ecs local`: the bytes each container's output may take on disk (default
    /// 8 MiB, at least 256 KiB); past it the oldest output is dropped, as a log rotation does.
    #[arg(long, value_name = "BYTES")]
    pub(crate) task_output_cap: Option<u64>,
    /// On `--ecs local`: how long a STOPPED task stays described, with its logs and its directory
    /// (default 3600, an hour, as ECS keeps stopped tasks); then DescribeTasks says `MISSING`.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) stopped_task_retention: Option<u64>,
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
    /// Execution input: inline JSON ('{"a":1}'), a file, file://FILE, or `-` for stdin (default `{}`).
    #[arg(long, value_name = "JSON|FILE")]
    pub(crate) input: Option<String>,
    #[command(flatten)]
    pub(crate) ecs: EcsArgs,
    #[command(flatten)]
    pub(crate) mocks: MockArgs,
    #[command(flatten)]
    pub(crate) output: crate::console::OutputArgs,
    #[command(flatten)]
    pub(crate) modes: crate::mock::RunModes,
    /// Include the execution history (GetExecutionHistory events; a table in the human format).
    #[arg(long)]
    pub(crate) history: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: RunFormat,
    /// Execution name, checked with AWS's rules (default: a random UUID).
    #[arg(long, value_parser = execution_name)]
    pub(crate) name: Option<String>,
    /// History events allowed before the execution fails (AWS: 25000; 0 = no limit).
    #[arg(long, default_value_t = 25_000)]
    pub(crate) max_history_events: usize,
    /// Lift AWS's quotas (history events, 256 KiB payloads): for benchmarks and experiments.
    #[arg(long)]
    pub(crate) no_quotas: bool,
    /// A state machine that `states:startExecution` Tasks may start, as
    /// `arn:aws:states:REGION:ACCOUNT:stateMachine:NAME` (repeatable).
    #[arg(long = "machine", value_name = "NAME=FILE", value_parser = crate::nested::machine_arg)]
    pub(crate) machines: Vec<crate::nested::MachineArg>,
    /// The type of a `--machine` state machine (default STANDARD; repeatable). An EXPRESS child is
    /// validated as AWS validates one (no `.sync` or `.waitForTaskToken` Task) and its executions are
    /// `arn:aws:states:REGION:ACCOUNT:express:NAME:EXECUTION:UUID`.
    #[arg(long = "machine-type", value_name = "NAME=STANDARD|EXPRESS", value_parser = crate::nested::machine_type_arg)]
    pub(crate) machine_types: Vec<crate::nested::MachineTypeArg>,
    /// Serve a Distributed Map's S3 items and results (`ItemReader`, `ResultWriter`) from this folder:
    /// `s3://BUCKET/KEY` is `DIR/BUCKET/KEY`. `aws`: real Amazon S3 through the AWS SDK's default chain
    /// (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for MinIO, LocalStack or moto);
    /// a folder named `aws` is `./aws`.
    #[arg(long, value_name = "DIR|aws")]
    pub(crate) s3: Option<PathBuf>,
    /// After the run, show it in the console: serve it on 127.0.0.1, print `console: URL` on stderr, open
    /// a browser (not when SFN_NO_BROWSER=1) and serve until Ctrl-C.
    #[arg(long)]
    pub(crate) open: bool,
    /// The console's port for --open (default: any free port).
    #[arg(long, value_name = "PORT", requires = "open")]
    pub(crate) console_port: Option<u16>,
}

/// Every line to each of the sinks (`--open`: the terminal and the console's log store).
#[derive(Debug)]
struct Tee(Vec<Arc<dyn sfn::ecs::OutputSink>>);

impl sfn::ecs::OutputSink for Tee {
    fn line(&self, source: &sfn::ecs::OutputSource, line: &sfn::ecs::OutputLine) {
        for sink in &self.0 {
            sink.line(source, line);
        }
    }
}

/// `--open`: serves the finished run's console until Ctrl-C, on a runtime of its own (real time, whatever
/// clock the run had), after printing its URL and asking the desktop to open it.
fn open_console(finished: sfn_console::Finished, arn: &str, port: Option<u16>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let shutdown = crate::serve::shutdown_signal();
        let (listener, addr) = crate::serve::bind_console(port.unwrap_or(0)).await?;
        let url = sfn_console::execution_url(&format!("http://{addr}"), arn);
        eprintln!("console: {url}");
        eprintln!("sfn run: serving the console until Ctrl-C");
        if std::env::var("SFN_NO_BROWSER").is_ok_and(|v| v == "1") {
            // Tests and scripts: the URL is enough.
        } else if let Some(opener) = ["xdg-open", "open"].into_iter().find(|o| on_path(o)) {
            let spawned = std::process::Command::new(opener)
                .arg(&url)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
            if let Err(e) = spawned {
                eprintln!("sfn run: cannot start {opener}: {e}; open {url} yourself");
            }
        }
        let console = sfn_console::Console::new(Arc::new(finished));
        console.serve(listener, sfn_server::HostPolicy::loopback(), shutdown).await?;
        Ok(())
    })
}

/// Whether `program` is an executable file in a `PATH` directory.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The object store `--s3 DIR` names (a folder that must exist), or Amazon S3 for the literal `aws`.
pub(crate) async fn s3_store(
    dir: Option<&std::path::Path>,
) -> anyhow::Result<Option<Arc<dyn sfn::engine::ObjectStore>>> {
    let Some(dir) = dir else { return Ok(None) };
    if dir.as_os_str() == "aws" {
        #[cfg(feature = "aws")]
        return Ok(Some(Arc::new(sfn::s3::AwsS3::from_env().await)));
        #[cfg(not(feature = "aws"))]
        anyhow::bail!(
            "--s3 aws: this build of sfn has no aws support (feature `aws`); a folder named aws is ./aws"
        );
    }
    if !dir.is_dir() {
        anyhow::bail!("--s3 {}: not a directory (its subdirectories are the buckets)", dir.display());
    }
    Ok(Some(Arc::new(sfn::s3::LocalDir::new(dir))))
}

/// Runs the command; returns the process exit code.
pub(crate) fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let load = crate::Load::for_running(&args.ecs, &args.mocks);
    let load = crate::Load { mocked: load.mocked || args.modes.unmocked.is_some(), ..load };
    let machine = match crate::load_definition(&args.definition, load) {
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
    // The simulator and mocks run on a virtual clock: simulated tasks, Wait states and back-off take no
    // real time, and timestamps advance as they would on AWS.
    let mocked = mocked_states(&args.mocks, &args.definition);
    let sim = args.ecs.ecs == EcsBackendKind::Sim;
    let virtual_time = match crate::mock::virtual_time(&args.modes, sim, &machine, &|s| mocked.contains(s)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("sfn: {e}");
            return Ok(2);
        }
    };
    // Real S3 (`--s3 aws`) runs on the real clock: a paused clock jumps past the SDK's timeouts while
    // a request waits on the network.
    let virtual_time = virtual_time && args.s3.as_deref().is_none_or(|s| s.as_os_str() != "aws");
    let runtime = if virtual_time {
        tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    }
    .context("cannot start the async runtime")?;
    let mut finished = None;
    let code = runtime.block_on(execute(args, machine, input, &mut finished))?;
    drop(runtime);
    if let Some((finished, arn)) = finished {
        open_console(finished, &arn, args.console_port)?;
    }
    Ok(code)
}

/// `--name`: StartExecution's rules — 1 to 80 characters, no white space, no `< > { } [ ]`, no `? *`,
/// none of `" # % \ ^ | ~ ` $ & , ; : /`, no control characters (the StartExecution API reference).
pub(crate) fn execution_name(name: &str) -> Result<String, String> {
    let n = name.chars().count();
    if !(1..=80).contains(&n) {
        return Err(format!("an execution name has 1 to 80 characters; this one has {n}"));
    }
    if !sfn_server::valid_name(name) {
        return Err(format!(
            "Invalid Name: '{name}' (a name has no white space, brackets < > {{ }} [ ], wildcards ? *, \
             special characters \" # % \\ ^ | ~ ` $ & , ; : / or control characters)"
        ));
    }
    Ok(name.to_owned())
}

/// The states the chosen test case mocks (none when there is no usable one: the run reports why).
fn mocked_states(mocks: &MockArgs, definition: &std::path::Path) -> std::collections::BTreeSet<String> {
    let (Some(path), Some(case)) = (&mocks.mock_config, &mocks.test_case) else { return Default::default() };
    let name = mocks.state_machine.clone().unwrap_or_else(|| state_machine_name(definition));
    sfn::mocks::MockConfig::from_file(path)
        .and_then(|c| c.test_case(&name, case))
        .map(|tc| tc.states().map(str::to_owned).collect())
        .unwrap_or_default()
}

pub(crate) fn read_input(arg: Option<&str>) -> anyhow::Result<Value> {
    read_input_text(arg).map(|(v, _)| v)
}

/// The input and the caller's text of it (kept verbatim in the history, as AWS keeps StartExecution's).
/// As the AWS CLI takes parameters: `file://PATH`, `-` (stdin), inline JSON, or (ours) a file's path.
pub(crate) fn read_input_text(arg: Option<&str>) -> anyhow::Result<(Value, Option<String>)> {
    let text = match arg {
        None => return Ok((json!({}), None)),
        Some("-") => {
            let mut s = Vec::new();
            std::io::stdin().read_to_end(&mut s).context("cannot read the input from stdin")?;
            s
        }
        Some(a) => match a.strip_prefix("file://") {
            Some(p) => std::fs::read(p).with_context(|| format!("cannot read the input file {p}"))?,
            None if looks_inline(a) => a.as_bytes().to_vec(),
            None => std::fs::read(a).with_context(|| {
                format!("cannot read the input file {a} (inline JSON starts with {{, [ or \")")
            })?,
        },
    };
    let value = serde_json::from_slice(&text).context("the input is not valid JSON")?;
    let text = String::from_utf8(text).ok().map(|t| t.trim().to_owned());
    Ok((value, text))
}

/// Inline JSON rather than a path: an object, an array, a string, a number, `true`, `false` or `null`
/// that is not also the name of a file.
fn looks_inline(a: &str) -> bool {
    let t = a.trim_start();
    let json_like = t.starts_with(['{', '[', '"']) || serde_json::from_str::<Value>(a).is_ok();
    json_like && !std::path::Path::new(a).is_file()
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
    opened: &mut Option<(sfn_console::Finished, String)>,
) -> anyhow::Result<i32> {
    let name = state_machine_name(&args.definition);
    let console = Arc::new(crate::console::Console::new(&args.output));
    let mut sink: Arc<dyn sfn::ecs::OutputSink> = console.clone();
    // `--open`: the containers' awslogs streams kept as `sfn serve` keeps them, for the console's panel.
    let logs = Arc::new(sfn_server::LogStore::new("us-east-1", "123456789012"));
    if args.open {
        sink = Arc::new(Tee(vec![sink, Arc::new(crate::serve::LogSink(logs.clone()))]));
    }
    let (builder, region) = match crate::integrations::engine_builder(
        &args.ecs,
        &args.mocks,
        &args.definition,
        &machine,
        &name,
        Some(sink),
    )
    .await
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("sfn: {e:#}");
            return Ok(2);
        }
    };
    let children = Arc::new(crate::nested::LocalExecutions::default());
    let builder = builder.integration(Arc::new(sfn::patterns::StatesIntegration::new(children.clone())));
    let builder = match s3_store(args.s3.as_deref()).await {
        Ok(Some(store)) => builder.object_store(store),
        Ok(None) => builder,
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
    let engine =
        builder.config(config).unmocked(crate::mock::UnmockedArg::engine(args.modes.unmocked)).build();
    let prepared = match crate::prepare(&engine, machine, &name, &args.definition) {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    let load = crate::Load::for_running(&args.ecs, &args.mocks);
    let types = match crate::nested::machine_types(&args.machines, &args.machine_types) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sfn: {e}");
            return Ok(2);
        }
    };
    let mut machines = Vec::with_capacity(args.machines.len());
    for m in &args.machines {
        let machine_type = types.get(&m.name).copied().unwrap_or(sfn::asl::MachineType::Standard);
        let child = match crate::load_definition_as(&m.file, machine_type, load) {
            Ok(c) => c,
            Err(code) => return Ok(code),
        };
        match crate::prepare(&engine, child, &m.name, &m.file) {
            Ok(p) => machines.push((p, machine_type == sfn::asl::MachineType::Express)),
            Err(code) => return Ok(code),
        }
    }
    children.install(engine.clone(), machines);
    let execution_name = args.name.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let shown_input = input_text.clone().unwrap_or_else(|| input.to_string());
    let execution = engine.start(
        &prepared,
        StartRequest { execution_name: execution_name.clone(), input, role_arn: None, input_text },
    );
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
    // Rendered only when shown: a long history costs more to render than to run.
    let events =
        || -> Vec<Value> { execution.history().events().iter().map(sfn::engine::Event::to_json).collect() };
    match args.format {
        RunFormat::Json => {
            if args.history {
                out.insert("history".into(), Value::Array(events()));
            }
            outln!("{}", Value::Object(out));
        }
        RunFormat::Human => {
            let color = std::io::stdout().is_terminal();
            let events = events();
            for line in crate::summary::run_summary(&out, &events, Some(&console), color) {
                outln!("{line}");
            }
            if args.history {
                outln!("history:");
                for row in crate::summary::history_table(&events) {
                    outln!("  {row}");
                }
            }
        }
    }
    if args.open {
        let seconds = |ms: i64| json!(ms as f64 / 1000.0);
        let machine_arn = execution.arn.replacen(":execution:", ":stateMachine:", 1);
        let machine_arn = machine_arn.rsplit_once(':').map_or(machine_arn.as_str(), |(m, _)| m).to_owned();
        let mut describe = json!({
            "executionArn": execution.arn, "stateMachineArn": machine_arn, "name": execution_name,
            "status": outcome.status.as_str(), "startDate": seconds(execution.start_date.timestamp_millis()),
            "stopDate": seconds(outcome.stop_date.timestamp_millis()), "input": shown_input,
        });
        if let Some(o) = &outcome.output {
            describe["output"] = json!(o.to_string());
        }
        for (key, v) in [("error", &outcome.error), ("cause", &outcome.cause)] {
            if let Some(v) = v {
                describe[key] = json!(v);
            }
        }
        let definition = std::fs::read_to_string(&args.definition).unwrap_or_default();
        let finished = sfn_console::Finished::new(describe, &definition, events(), logs);
        *opened = Some((finished, execution.arn.clone()));
    }
    Ok(if outcome.status == ExecutionStatus::Succeeded { 0 } else { 1 })
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
