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
mod graph;
mod integrations;
mod journal;
mod mock;
mod policy;
mod run;
mod serve;
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check definitions like ValidateStateMachineDefinition, plus ECS lints.
    Validate(validate::ValidateArgs),
    /// Run a state machine locally (ECS tasks as local processes by default).
    Run(run::RunArgs),
    /// Least-privilege IAM policy for the state machine's role (or, with --task-role, the container's).
    Policy(policy::PolicyArgs),
    /// Run one state once, like the TestState API (with --inspect: the data after each step).
    TestState(test_state::TestStateArgs),
    /// Serve the Step Functions API (boto3, the AWS CLI, every AWS SDK) on loopback.
    Serve(serve::ServeArgs),
    /// Draw the state machine (Mermaid or Graphviz DOT).
    Graph(graph::GraphArgs),
    /// Mock configuration files (Step Functions Local's MockConfigFile format): `sfn mock init DEF`.
    Mock(mock::MockArgs),
    /// Run every test case of the mock files found against their machines: pass/fail, JUnit, coverage.
    Test(test::TestArgs),
    /// Check a `--state-dir` journal, or salvage the intact records of a damaged one.
    Journal(journal::JournalArgs),
    /// In-process throughput of a definition on the simulated ECS backend (for `cargo xtask bench`).
    #[command(hide = true)]
    Bench(bench::BenchArgs),
}

/// Log lines (the server's failed journal commits, a StopTask that failed, …) go to stderr: warnings and errors
/// by default, more with `SFN_LOG` (`SFN_LOG=info`, `SFN_LOG=sfn_server=debug`, the `tracing` filter syntax).
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SFN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn main() {
    install_logging();
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Run(args) => run::run(args),
        Command::TestState(args) => test_state::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Journal(args) => journal::run(args),
        Command::Mock(args) => mock::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
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
    let v = match validate::check(path, sfn::asl::MachineType::Standard, load.task_definitions, load.mocked) {
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
