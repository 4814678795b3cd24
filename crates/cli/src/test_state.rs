//! `sfn test-state DEF --state-name NAME [--input JSON|FILE|file://FILE|-] [--variables JSON|FILE] [--mock JSON]
//! [--context JSON] [--state-configuration JSON] [--inspection-level INFO|DEBUG|TRACE] [--format json]
//! [--mock-config FILE ...] [--quiet] [--log-dir DIR]`: the TestState API on the command line, with the AWS
//! CLI's option names. A local extension: unmocked Activity-free `.sync`, `.waitForTaskToken`, Parallel and
//! Map states run for real (the API refuses them without a mock).

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use sfn::engine::{TestMock, TestStateRequest};

use crate::run::{MockArgs, RunFormat};

/// Arguments of `sfn test-state`.
#[derive(Debug, Args)]
pub(crate) struct TestStateArgs {
    /// The state machine definition.
    pub(crate) definition: PathBuf,
    /// The state to run (`--state-name`, as the AWS CLI names it).
    #[arg(long = "state-name", visible_alias = "state")]
    pub(crate) state: String,
    /// The state's input: inline JSON, a file, file://FILE, or `-` for stdin (default `{}`).
    #[arg(long, value_name = "JSON|FILE")]
    pub(crate) input: Option<String>,
    /// Variables visible to the state: a JSON object (inline, a file or file://FILE).
    #[arg(long, value_name = "JSON|FILE")]
    pub(crate) variables: Option<String>,
    /// Show the data after each step (InputPath, Parameters, result, ResultSelector, ResultPath):
    /// `--inspection-level DEBUG`.
    #[arg(long)]
    pub(crate) inspect: bool,
    /// INFO (the outcome), DEBUG (and the data after each step) or TRACE (as DEBUG: no HTTP Task runs here).
    #[arg(long = "inspection-level", value_parser = ["INFO", "DEBUG", "TRACE"])]
    pub(crate) inspection_level: Option<String>,
    /// The TestState mock, as the AWS CLI takes it: `{"result": "<JSON text>"}` or
    /// `{"errorOutput": {"error": "…", "cause": "…"}}` (JSON text, or `file://PATH`).
    #[arg(long)]
    pub(crate) mock: Option<String>,
    /// A context object whose members replace the execution's in `$$` (JSON text, or `file://PATH`).
    #[arg(long)]
    pub(crate) context: Option<String>,
    /// `{"retrierRetryCount": N, "mapIterationFailureCount": N}` (JSON text, or `file://PATH`).
    #[arg(long = "state-configuration")]
    pub(crate) state_configuration: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub(crate) format: RunFormat,
    #[command(flatten)]
    pub(crate) mocks: MockArgs,
    /// ECS backend and task definitions, as for `sfn run`.
    #[command(flatten)]
    pub(crate) ecs: crate::run::EcsArgs,
    #[command(flatten)]
    pub(crate) output: crate::console::OutputArgs,
}

/// A JSON option's value: its text, or the file `file://PATH` names (as the AWS CLI reads them).
fn json_arg(flag: &str, text: &str) -> anyhow::Result<Value> {
    crate::run::read_input(Some(text)).map_err(|e| anyhow::anyhow!("--{flag}: {e:#}"))
}

/// `--mock`: exactly one of `result` (JSON text, or a JSON value) and `errorOutput`.
fn mock_arg(v: &Value) -> anyhow::Result<TestMock> {
    let Value::Object(m) = v else { anyhow::bail!("--mock must be a JSON object") };
    if let Some(k) =
        m.keys().find(|k| !["result", "errorOutput", "fieldValidationMode"].contains(&k.as_str()))
    {
        anyhow::bail!("--mock: unknown member '{k}' (result, errorOutput, fieldValidationMode)");
    }
    match (m.get("result"), m.get("errorOutput")) {
        (Some(_), Some(_)) => {
            anyhow::bail!("A test mock should have only one of the following fields: [result, errorOutput].")
        }
        (Some(Value::String(text)), None) => Ok(TestMock::Result(
            serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("--mock: result is not JSON text: {e}"))?,
        )),
        (Some(v), None) => Ok(TestMock::Result(v.clone())),
        (None, Some(e)) => Ok(TestMock::Error {
            error: e.get("error").and_then(Value::as_str).unwrap_or_default().to_owned().into(),
            cause: e.get("cause").and_then(Value::as_str).map(str::to_owned),
        }),
        (None, None) => anyhow::bail!("--mock needs result or errorOutput"),
    }
}

/// The request the options describe.
fn request(
    args: &TestStateArgs,
    input: Value,
    variables: Map<String, Value>,
) -> anyhow::Result<TestStateRequest> {
    let mut req =
        TestStateRequest { state: args.state.clone(), input, variables, ..TestStateRequest::default() };
    if let Some(m) = &args.mock {
        req.mock = Some(mock_arg(&json_arg("mock", m)?)?);
    }
    if let Some(c) = &args.context {
        match json_arg("context", c)? {
            Value::Object(m) => req.context = Some(m),
            _ => anyhow::bail!("--context must be a JSON object"),
        }
    }
    if let Some(c) = &args.state_configuration {
        let c = json_arg("state-configuration", c)?;
        let Value::Object(c) = c else { anyhow::bail!("--state-configuration must be a JSON object") };
        for (k, v) in &c {
            let n =
                v.as_u64().ok_or_else(|| anyhow::anyhow!("--state-configuration: {k} must be a number"))?;
            match k.as_str() {
                "retrierRetryCount" => req.retrier_retry_count = u32::try_from(n).unwrap_or(u32::MAX),
                "mapIterationFailureCount" => req.map_iteration_failure_count = Some(n),
                other => anyhow::bail!(
                    "--state-configuration: '{other}' is not supported here (retrierRetryCount, mapIterationFailureCount)"
                ),
            }
        }
    }
    Ok(req)
}

/// Runs the command: exit 0 when the state succeeded (or its error was caught), 1 otherwise.
pub(crate) fn run(args: &TestStateArgs) -> anyhow::Result<i32> {
    let machine =
        match crate::load_definition(&args.definition, crate::Load::for_running(&args.ecs, &args.mocks)) {
            Ok(m) => m,
            Err(code) => return Ok(code),
        };
    let input = match crate::run::read_input(args.input.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("sfn: {e:#}");
            return Ok(2);
        }
    };
    let variables = match &args.variables {
        None => Map::new(),
        Some(p) => match crate::run::read_input(Some(p.as_str())) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                eprintln!("sfn: --variables must be a JSON object");
                return Ok(2);
            }
            Err(e) => {
                eprintln!("sfn: {e:#}");
                return Ok(2);
            }
        },
    };
    let req = match request(args, input, variables) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sfn: {e:#}");
            return Ok(2);
        }
    };
    let name = crate::run::state_machine_name(&args.definition);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let console = std::sync::Arc::new(crate::console::Console::new(&args.output));
    runtime.block_on(async {
        let builder = match crate::integrations::engine_builder(
            &args.ecs,
            &args.mocks,
            &args.definition,
            &machine,
            &name,
            Some(console.clone()),
        )
        .await
        {
            Ok((b, _region)) => b,
            Err(e) => {
                eprintln!("sfn: {e:#}");
                return Ok(2);
            }
        };
        let engine = builder.build();
        let prepared = match engine.prepare_for_test(machine, &name, &req) {
            Ok(p) => p,
            Err(errors) => {
                for e in errors {
                    eprintln!("sfn: {}: {e}", args.definition.display());
                }
                return Ok(2);
            }
        };
        let o = match engine.test_state(&prepared, req).await {
            Ok(o) => o,
            Err(e) => {
                eprintln!("sfn: {e}");
                return Ok(2);
            }
        };
        let mut out = Map::new();
        out.insert("status".into(), json!(o.status.as_str()));
        for (k, v) in [
            ("output", o.output.clone()),
            ("error", o.error.clone().map(Value::String)),
            ("cause", o.cause.clone().map(Value::String)),
            ("nextState", o.next_state.clone().map(Value::String)),
        ] {
            if let Some(v) = v {
                out.insert(k.into(), v);
            }
        }
        let level = args.inspection_level.as_deref().unwrap_or(if args.inspect { "DEBUG" } else { "INFO" });
        if level != "INFO" {
            out.insert("inspectionData".into(), Value::Object(o.inspection.members()));
        }
        match args.format {
            RunFormat::Json => outln!("{}", Value::Object(out)),
            RunFormat::Human => {
                for (k, v) in &out {
                    match v {
                        Value::String(s) => outln!("{k}: {}", crate::summary::short(s, 400)),
                        // Each step once, as what changed since the step before.
                        Value::Object(d) if k == "inspectionData" => {
                            outln!("inspection:");
                            for line in crate::summary::inspect_lines(d) {
                                outln!("  {line}");
                            }
                        }
                        other => outln!("{k}: {}", crate::summary::short(&other.to_string(), 400)),
                    }
                }
            }
        }
        Ok(match o.status {
            sfn::engine::TestStatus::Succeeded | sfn::engine::TestStatus::CaughtError => 0,
            _ => 1,
        })
    })
}
