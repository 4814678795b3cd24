//! The `sfn` command line: validate, run, policy, serve, graph and test Step Functions state machines
//! that run Amazon ECS / Fargate tasks.
//!
//! Only this crate prints, parses argv or installs a tracing subscriber; the libraries return values.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod run;
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
}

fn main() {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Run(args) => run::run(args),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sfn: {e:#}");
            std::process::exit(2);
        }
    }
}
