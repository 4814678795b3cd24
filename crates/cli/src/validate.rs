//! `sfn validate DEF... [--format json]`

use std::io::IsTerminal as _;
use std::path::PathBuf;

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
    /// Directory of task definitions, for the ECS checks (default as for `sfn run`).
    #[arg(long)]
    pub(crate) task_definitions: Option<PathBuf>,
}

/// Runs the command: exit 0 when every file is valid, 1 when one is not, 2 when one cannot be read.
pub(crate) fn run(args: &ValidateArgs) -> anyhow::Result<i32> {
    let options = sfn_asl::ValidateOptions {
        machine_type: if args.machine_type == "EXPRESS" {
            sfn_asl::MachineType::Express
        } else {
            sfn_asl::MachineType::Standard
        },
    };
    let color = args.format == ValidateFormat::Human && std::io::stdout().is_terminal();
    let mut code = 0;
    for path in &args.definitions {
        let text = match std::fs::read(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("sfn: cannot read {}: {e}", path.display());
                code = 2;
                continue;
            }
        };
        let mut v = sfn_asl::validate(&text, options);
        if let Some(machine) = &v.machine
            && let Ok(raw) = serde_json::from_slice::<Value>(&text)
        {
            let ecs = crate::run::EcsArgs {
                ecs: crate::run::EcsBackendKind::Local,
                task_definitions: args.task_definitions.clone(),
                sim_config: None,
            };
            let tds = match crate::integrations::task_definitions(&ecs, path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("sfn: {e:#}");
                    code = 2;
                    continue;
                }
            };
            let integrations = crate::integrations::for_validation(tds);
            v.diagnostics.extend(sfn_patterns::check_definition(
                machine,
                &raw,
                &integrations,
                options.machine_type,
                &|_| false,
            ));
        }
        let valid = v.machine.is_some() && !v.diagnostics.iter().any(sfn_asl::Diagnostic::is_error);
        if !valid && code == 0 {
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
                        (true, sfn_asl::Severity::Error) => "\x1b[1;31merror\x1b[0m".to_owned(),
                        (true, sfn_asl::Severity::Warning) => "\x1b[1;33mwarning\x1b[0m".to_owned(),
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
