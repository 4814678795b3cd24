//! `sfn policy DEF... [--task-definitions DIR] [--region R] [--account A] [--partition P]
//! [--format json|cloudformation|cloudformation-yaml|terraform|terraform-jsonencode] [--explain]
//! [--allow-wildcard-passrole] [--task-role] [--name NAME] [--state-machine-name NAME]`: least-privilege IAM
//! policies from `sfn-iam`.
//!
//! stdout carries only the policy (one document for one definition); warnings and `--explain` go to
//! stderr, so `sfn policy run-job.asl.json --explain > policy.json` keeps both.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::{Map, Value};
use sfn::iam::{CloudFormationFormat, Options, Policy, TerraformStyle};

/// Output format of `sfn policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PolicyFormat {
    /// The IAM policy document (`{"Version": "2012-10-17", "Statement": [...]}`).
    Json,
    /// A CloudFormation template (JSON) with an `AWS::IAM::ManagedPolicy`.
    Cloudformation,
    /// The same template in YAML.
    CloudformationYaml,
    /// Terraform: an `aws_iam_policy_document` data source and an `aws_iam_policy` using it.
    Terraform,
    /// Terraform: an `aws_iam_policy` with `policy = jsonencode(...)`.
    TerraformJsonencode,
}

/// Arguments of `sfn policy`.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    /// State machine definitions (one policy each).
    #[arg(required = true, value_name = "DEF")]
    pub(crate) definitions: Vec<PathBuf>,
    /// Task definitions (JSON, `register-task-definition` form), for iam:PassRole on their task and execution
    /// roles [default: ./task-definitions, else task-definitions/ next to the definition, when it exists].
    #[arg(long, value_name = "DIR")]
    pub(crate) task_definitions: Option<PathBuf>,
    /// Region of the state machine [default: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1 with a warning].
    #[arg(long, value_name = "R")]
    pub(crate) region: Option<String>,
    /// Account id [default: the placeholder 123456789012, with a warning].
    #[arg(long, value_name = "A")]
    pub(crate) account: Option<String>,
    /// ARN partition [default: the region's: aws, aws-cn for cn-*, aws-us-gov for us-gov-*].
    #[arg(long, value_name = "P")]
    pub(crate) partition: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub(crate) format: PolicyFormat,
    /// Explain each statement on stderr: what it allows, why, and the states that need it.
    #[arg(long)]
    pub(crate) explain: bool,
    /// Grant iam:PassRole on "*" (to ECS tasks only) when a role override comes from the input.
    #[arg(long)]
    pub(crate) allow_wildcard_passrole: bool,
    /// Print the ECS task role's policy for `.waitForTaskToken` containers (SendTaskSuccess/Failure/Heartbeat)
    /// instead of the execution role's.
    #[arg(long)]
    pub(crate) task_role: bool,
    /// Name for the CloudFormation/Terraform resources [default: the definition's file name].
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// The state machine's name, for a Distributed Map's grants on its own child executions
    /// (states:StartExecution on it, DescribeExecution/StopExecution on execution:NAME/*); one definition only.
    #[arg(long, value_name = "NAME")]
    pub(crate) state_machine_name: Option<String>,
}

/// True unless the file is a JSON object with neither `StartAt` nor `States` (an input, a task definition).
fn looks_like_definition(path: &Path) -> bool {
    let Ok(text) = std::fs::read(path) else { return true };
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(m)) => m.contains_key("StartAt") || m.contains_key("States"),
        _ => true,
    }
}

/// `run-job.asl.json` → `run-job`.
fn machine_name(path: &Path) -> String {
    let stem = path.file_name().and_then(|s| s.to_str()).unwrap_or("state-machine");
    let stem = stem.trim_end_matches(".json").trim_end_matches(".asl");
    let cleaned: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    if cleaned.is_empty() { "state-machine".to_owned() } else { cleaned.chars().take(64).collect() }
}

fn base_options(args: &PolicyArgs) -> anyhow::Result<Options> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let region = match args.region.clone().or_else(|| env("AWS_REGION")).or_else(|| env("AWS_DEFAULT_REGION"))
    {
        Some(r) => r,
        None => {
            eprintln!("sfn: warning: no --region and no AWS_REGION: using us-east-1");
            "us-east-1".to_owned()
        }
    };
    let account = match &args.account {
        Some(a) => a.clone(),
        None => {
            eprintln!(
                "sfn: warning: no --account: ARNs use the placeholder account {}; replace it before use",
                sfn::iam::PLACEHOLDER_ACCOUNT
            );
            sfn::iam::PLACEHOLDER_ACCOUNT.to_owned()
        }
    };
    let partition = args.partition.clone().unwrap_or_else(|| Options::partition_of(&region).to_owned());
    let options =
        Options::new(partition, region, account).with_wildcard_passrole(args.allow_wildcard_passrole);
    options.validate()?;
    Ok(options)
}

fn render(policy: &Policy, format: PolicyFormat, name: &str) -> (String, Value) {
    match format {
        PolicyFormat::Json => (policy.to_json(), policy.document()),
        PolicyFormat::Cloudformation => {
            let text = policy.to_cloudformation(name, CloudFormationFormat::Json);
            let value = serde_json::from_str(&text).unwrap_or(Value::Null);
            (text, value)
        }
        PolicyFormat::CloudformationYaml => {
            (policy.to_cloudformation(name, CloudFormationFormat::Yaml), Value::Null)
        }
        PolicyFormat::Terraform => (policy.to_terraform(name, TerraformStyle::PolicyDocument), Value::Null),
        PolicyFormat::TerraformJsonencode => {
            (policy.to_terraform(name, TerraformStyle::JsonEncode), Value::Null)
        }
    }
}

/// Prints the policies; exit 0, or 2 when a definition or the task definitions cannot be read, or an option
/// would make malformed ARNs.
pub(crate) fn run(args: &PolicyArgs) -> anyhow::Result<i32> {
    let base = match base_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("sfn: {e}");
            return Ok(2);
        }
    };
    let many = args.definitions.len() > 1;
    if many && args.state_machine_name.is_some() {
        eprintln!("sfn: --state-machine-name names one state machine: give one definition");
        return Ok(2);
    }
    let mut documents = Map::new();
    let mut texts = Vec::new();
    for path in &args.definitions {
        if many && !looks_like_definition(path) {
            // `sfn policy fixtures/*.json` also matches inputs and task definitions: skip what is no state machine.
            eprintln!(
                "sfn: warning: {}: not a state machine definition (no StartAt/States), skipped",
                path.display()
            );
            continue;
        }
        let Ok(machine) = crate::load_definition(
            path,
            crate::Load { task_definitions: args.task_definitions.as_ref(), ..crate::Load::default() },
        ) else {
            return Ok(2);
        };
        let task_definitions =
            match crate::integrations::task_definitions_dir(args.task_definitions.as_ref(), path) {
                Some(dir) => sfn::iam::load_task_definitions(&dir)
                    .with_context(|| format!("task definitions in {}", dir.display()))?,
                None => Vec::new(),
            };
        let mut options = base.clone().with_task_definitions(task_definitions);
        if let Some(n) = &args.state_machine_name {
            options = options.with_state_machine(n.clone());
        }
        let policy = if args.task_role {
            sfn::iam::task_role_policy(&machine, &options)
        } else {
            sfn::iam::generate(&machine, &options)
        };
        let label = if many { format!("{}: ", path.display()) } else { String::new() };
        if args.explain {
            for line in policy.explain().lines() {
                eprintln!("{label}{line}");
            }
        } else {
            for w in policy.warnings() {
                // The placeholder account was reported once already.
                if w.kind == sfn::iam::WarningKind::PlaceholderAccount {
                    continue;
                }
                let states =
                    if w.states.is_empty() { String::new() } else { format!("{}: ", w.states.join(", ")) };
                eprintln!("sfn: warning: {label}{states}{}", w.message);
            }
        }
        if policy.is_empty() {
            eprintln!("sfn: warning: {label}the policy has no statement (IAM refuses an empty policy)");
        }
        let name = match (&args.name, many) {
            (Some(n), false) => n.clone(),
            (Some(n), true) => format!("{n}-{}", machine_name(path)),
            (None, _) => machine_name(path),
        };
        let (text, value) = render(&policy, args.format, &name);
        documents.insert(path.display().to_string(), value);
        texts.push(text);
    }
    match args.format {
        // Several JSON documents: one object keyed by definition path (a valid JSON value, not a policy).
        PolicyFormat::Json | PolicyFormat::Cloudformation if many => {
            outln!("{}", serde_json::to_string_pretty(&Value::Object(documents))?);
        }
        _ => out!("{}", texts.join("\n")),
    }
    Ok(0)
}
