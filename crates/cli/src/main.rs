//! The `sfn` command line: validate, run, policy, serve, graph and test Step Functions state machines
//! that run Amazon ECS / Fargate tasks.
//!
//! Only this crate prints, parses argv or installs a tracing subscriber; the libraries return values.
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// Writes a line to stdout; a closed pipe (`sfn run … | head`) ends the process quietly instead of panicking.
macro_rules! outln {
    ($($t:tt)*) => { $crate::emit(&format!($($t)*), true) };
}

/// Writes to stdout without a newline (see `outln!`).
macro_rules! out {
    ($($t:tt)*) => { $crate::emit(&format!($($t)*), false) };
}

mod bench;
mod console;
mod graph;
mod integrations;
mod journal;
mod logs;
mod mock;
mod nested;
mod policy;
mod run;
mod serve;
mod summary;
mod test;
mod test_state;
mod validate;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Validate, run, test and secure AWS Step Functions state machines that run ECS tasks.
#[derive(Debug, Parser)]
#[command(name = "sfn", version, about)]
struct Cli {
    /// More log lines on stderr: -v info, -vv debug (every request of `sfn serve`), -vvv trace.
    /// `RUST_LOG` (or `SFN_LOG`), in tracing's filter syntax, overrides it; warnings are on by default.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check definitions like ValidateStateMachineDefinition, plus ECS lints.
    #[command(
        after_help = "Examples:\n  sfn validate fixtures/seed/*.asl.json\n  sfn validate fixtures/seed/run-job.asl.json --task-definitions fixtures/seed/task-definitions --strict\n  sfn validate my.asl.json --format json"
    )]
    Validate(validate::ValidateArgs),
    /// Run a state machine locally (ECS tasks as local processes by default).
    #[command(
        after_help = "Examples:\n  sfn run fixtures/seed/run-job.asl.json --input fixtures/seed/run-job.input.json\n  sfn run fixtures/seed/run-job.asl.json --input '{\"commands\": [\"echo\", \"hi\"]}' --history\n  sfn run fixtures/seed/run-job.asl.json --input file://fixtures/seed/run-job.input.json --ecs sim --format json"
    )]
    Run(run::RunArgs),
    /// Least-privilege IAM policy for the state machine's role (or, with --task-role, the container's).
    #[command(
        after_help = "Examples:\n  sfn policy fixtures/seed/run-job.asl.json --region us-east-1 --account 123456789012 --explain\n  sfn policy fixtures/seed/callback.asl.json --task-role\n  sfn policy fixtures/seed/*.asl.json --format terraform"
    )]
    Policy(policy::PolicyArgs),
    /// Run one state once, like the TestState API (with --inspect: the data after each step).
    #[command(
        after_help = "Examples:\n  sfn test-state fixtures/seed/run-job.asl.json --state \"Run an ECS Task and wait for it to complete\" \\\n      --input fixtures/seed/run-job.input.json --inspect\n  sfn test-state my.asl.json --state Choose --input '{\"n\": 3}' --format json"
    )]
    TestState(test_state::TestStateArgs),
    /// Serve the Step Functions API (boto3, the AWS CLI, every AWS SDK) on loopback.
    #[command(
        after_help = "Examples:\n  sfn serve --task-definitions fixtures/seed/task-definitions\n  sfn serve --state-dir .sfn --ecs sim\n  RUST_LOG=debug sfn serve     # every request on stderr"
    )]
    Serve(serve::ServeArgs),
    /// Draw the state machine (Mermaid, Graphviz DOT, or an SVG laid out as the console draws it).
    #[command(
        after_help = "Examples:\n  sfn graph fixtures/seed/run-job.asl.json\n  sfn graph fixtures/seed/run-job.asl.json --format svg > run-job.svg\n  sfn graph fixtures/seed/run-job.asl.json --format dot | dot -Tsvg > run-job.svg"
    )]
    Graph(graph::GraphArgs),
    /// Mock configuration files (Step Functions Local's MockConfigFile format): `sfn mock init DEF`.
    Mock(mock::MockArgs),
    /// Run every test case of the mock files found against their machines: pass/fail, JUnit, coverage.
    Test(test::TestArgs),
    /// Check a `--state-dir` journal, or salvage the intact records of a damaged one.
    #[command(after_help = "Examples:\n  sfn journal check .sfn\n  sfn journal salvage .sfn .sfn-salvaged")]
    Journal(journal::JournalArgs),
    /// Print the container output of an ECS task, or of every task of an execution, from `sfn serve`.
    #[command(
        after_help = "Examples:\n  sfn logs arn:aws:states:us-east-1:123456789012:execution:job:nightly\n  sfn logs arn:aws:ecs:us-east-1:123456789012:task/default/0123abcd --endpoint-url http://127.0.0.1:8083"
    )]
    Logs(logs::LogsArgs),
    /// In-process throughput of a definition on the simulated ECS backend (for `cargo xtask bench`).
    #[command(hide = true)]
    Bench(bench::BenchArgs),
    /// The supervisor of one local ECS task (`sfn serve --state-dir DIR --ecs local` starts one per task,
    /// as container runtimes start a shim per container); not for people.
    #[command(name = "__supervise", hide = true)]
    Supervise(serve::SuperviseArgs),
}

/// Log lines (the server's failed journal commits, a StopTask that failed, …) go to stderr: warnings and errors
/// by default, more with `-v` (info), `-vv` (debug), `-vvv` (trace); `RUST_LOG` or `SFN_LOG`
/// (`RUST_LOG=debug`, `RUST_LOG=sfn_server=debug`, the `tracing` filter syntax) decide when set.
fn install_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = ["RUST_LOG", "SFN_LOG"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()).map(|v| (var, v)))
        .map_or_else(
            || tracing_subscriber::EnvFilter::new(level),
            |(var, v)| {
                tracing_subscriber::EnvFilter::try_new(&v).unwrap_or_else(|e| {
                    eprintln!("sfn: {var}={v} is not a log filter ({e}); using {level}");
                    tracing_subscriber::EnvFilter::new(level)
                })
            },
        );
    // Colours only on a terminal: CI logs and files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

fn main() {
    let cli = Cli::parse();
    install_logging(cli.verbose);
    let code = match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Run(args) => run::run(args),
        Command::TestState(args) => test_state::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Mock(args) => mock::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Supervise(args) => serve::supervise(args),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sfn: {e:#}");
            std::process::exit(2);
        }
    }
}

/// How a command wants a definition loaded: where its task definitions are (for the ECS lints), whether
/// its warnings are printed, and whether mocks answer its Task states.
#[derive(Debug, Clone, Copy, Default)]
struct Load<'a> {
    task_definitions: Option<&'a std::path::PathBuf>,
    warnings: bool,
    mocked: bool,
}

impl<'a> Load<'a> {
    /// How `run` and `test-state` load: the ECS lints against their task definitions, warnings shown,
    /// mocks (when given) answering the Task states.
    fn for_running(ecs: &'a run::EcsArgs, mocks: &run::MockArgs) -> Self {
        Load {
            task_definitions: ecs.task_definitions.as_ref(),
            warnings: true,
            mocked: mocks.mock_config.is_some(),
        }
    }
}

/// Reads a definition and gives it the one verdict every command shares ([`validate::check`]); prints its
/// errors (and, when asked, its warnings) to stderr; an invalid definition is exit code 2.
fn load_definition(path: &std::path::Path, load: Load<'_>) -> Result<sfn::asl::StateMachine, i32> {
    load_definition_as(path, sfn::asl::MachineType::Standard, load)
}

/// [`load_definition`] for a machine of this type (an EXPRESS one has AWS's EXPRESS rules).
fn load_definition_as(
    path: &std::path::Path,
    machine_type: sfn::asl::MachineType,
    load: Load<'_>,
) -> Result<sfn::asl::StateMachine, i32> {
    let v = match validate::check(path, machine_type, load.task_definitions, load.mocked) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("sfn: {e:#}");
            return Err(2);
        }
    };
    for d in v.diagnostics.iter().filter(|d| d.is_error() || load.warnings) {
        eprintln!("{}:{}: {}[{}] {}", path.display(), d.pointer, d.severity.as_str(), d.code, d.message);
    }
    v.into_result().map_err(|_| 2)
}

/// Prepares a machine on `engine`, printing each state that cannot run here (exit code 2).
fn prepare(
    engine: &sfn::engine::Engine,
    machine: sfn::asl::StateMachine,
    name: &str,
    path: &std::path::Path,
) -> Result<sfn::engine::Prepared, i32> {
    engine.prepare(machine, name).map_err(|errors| {
        for e in errors {
            eprintln!("sfn: {}: {e}", path.display());
        }
        2
    })
}

/// Writes to stdout, exiting quietly when the reader has gone away.
fn emit(text: &str, newline: bool) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let r = if newline { writeln!(out, "{text}") } else { write!(out, "{text}") }.and_then(|()| out.flush());
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("sfn: cannot write the output: {e}");
        std::process::exit(2);
    }
}
