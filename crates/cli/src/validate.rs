//! `sfn validate DEF... [--format json] [--strict]`, and the verdict every command shares.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ValidateFormat {
    /// `file:pointer: severity[code] message`, one finding per line.
    Human,
    /// One JSON object per file: `{"valid", "diagnostics": [...]}`.
    Json,
}

/// Arguments of `sfn validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// Definitions to check.
    #[arg(required = true)]
    pub(crate) definitions: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: ValidateFormat,
    /// Workflow type (EXPRESS forbids `.sync` and `.waitForTaskToken`).
    #[arg(long = "type", default_value = "STANDARD", value_parser = ["STANDARD", "EXPRESS"])]
    pub(crate) machine_type: String,
    /// Directory of task definitions, for the ECS checks (default as for `sfn run`; without one, task
    /// definitions are not checked).
    #[arg(long)]
    pub(crate) task_definitions: Option<PathBuf>,
    /// Fail (exit 1) on warnings too, as `clippy -D warnings` does.
    #[arg(long)]
    pub(crate) strict: bool,
}

/// The one verdict every command gives a definition file: AWS's ([`sfn::patterns::validate_definition`]),
/// with the ECS lints against the task definitions when there are any (`--task-definitions`, else
/// `./task-definitions`, else one next to the definition). `mocked`: mocks answer the Task states.
pub(crate) fn check(
    path: &Path,
    machine_type: sfn::asl::MachineType,
    task_definitions: Option<&PathBuf>,
    mocked: bool,
) -> anyhow::Result<sfn::asl::Validation> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let integrations =
        crate::integrations::for_validation(crate::integrations::task_definitions(task_definitions, path)?);
    let options = sfn::asl::ValidateOptions { machine_type };
    Ok(sfn::patterns::validate_definition(&text, options, &integrations, &|_| mocked))
}

/// Runs the command: exit 0 when every file is valid (AWS's verdict; warnings allowed unless `--strict`),
/// 1 when one is not, 2 when one cannot be read.
pub(crate) fn run(args: &ValidateArgs) -> anyhow::Result<i32> {
    let machine_type = if args.machine_type == "EXPRESS" {
        sfn::asl::MachineType::Express
    } else {
        sfn::asl::MachineType::Standard
    };
    let color = args.format == ValidateFormat::Human && std::io::stdout().is_terminal();
    let mut code = 0;
    for path in &args.definitions {
        // Validation runs nothing: whether a state can run here without a mock (NO_LOCAL_INTEGRATION) is
        // for `sfn run` to say, not a finding about the definition.
        let v = match check(path, machine_type, args.task_definitions.as_ref(), true) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("sfn: {e:#}");
                code = 2;
                continue;
            }
        };
        let valid = v.is_valid();
        let warned = v.diagnostics.iter().any(|d| !d.is_error());
        if (!valid || (args.strict && warned)) && code == 0 {
            code = 1;
        }
        match args.format {
            ValidateFormat::Json => {
                let diags: Vec<Value> = v
                    .diagnostics
                    .iter()
                    .map(|d| {
                        json!({"severity": d.severity.as_str(), "code": d.code, "pointer": d.pointer, "message": d.message})
                    })
                    .collect();
                outln!("{}", json!({"valid": valid, "diagnostics": diags}));
            }
            ValidateFormat::Human => {
                for d in &v.diagnostics {
                    let sev = match (color, d.severity) {
                        (true, sfn::asl::Severity::Error) => "\x1b[1;31merror\x1b[0m".to_owned(),
                        (true, sfn::asl::Severity::Warning) => "\x1b[1;33mwarning\x1b[0m".to_owned(),
                        (false, s) => s.as_str().to_owned(),
                    };
                    outln!("{}:{}: {sev}[{}] {}", path.display(), d.pointer, d.code, d.message);
                }
                if valid {
                    outln!("{}: valid", path.display());
                }
            }
        }
    }
    Ok(code)
}
