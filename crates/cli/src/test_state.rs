//! `sfn test-state DEF --state NAME [--input JSON|FILE|file://FILE|-] [--variables JSON|FILE] [--inspect]
//! [--format json] [--mock-config FILE ...] [--quiet] [--log-dir DIR]`

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use crate::run::{MockArgs, RunFormat};

/// Arguments of `sfn test-state`.
#[derive(Debug, Args)]
pub(crate) struct TestStateArgs {
    /// The state machine definition.
    pub(crate) definition: PathBuf,
    /// The state to run.
    #[arg(long)]
    pub(crate) state: String,
    /// The state's input: inline JSON, a file, file://FILE, or `-` for stdin (default `{}`).
    #[arg(long, value_name = "JSON|FILE")]
    pub(crate) input: Option<String>,
    /// Variables visible to the state: a JSON object (inline, a file or file://FILE).
    #[arg(long, value_name = "JSON|FILE")]
    pub(crate) variables: Option<String>,
    /// Show the data after each step (InputPath, Parameters, result, ResultSelector, ResultPath).
    #[arg(long)]
    pub(crate) inspect: bool,
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
        let prepared = match crate::prepare(&engine, machine, &name, &args.definition) {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let o = match engine.test_state(&prepared, &args.state, input, variables).await {
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
        if args.inspect {
            let i = &o.inspection;
            let mut d = Map::new();
            d.insert("input".into(), i.input.clone());
            for (k, v) in [
                ("afterInputPath", &i.after_input_path),
                ("afterParameters", &i.after_parameters),
                ("result", &i.result),
                ("afterResultSelector", &i.after_result_selector),
                ("afterResultPath", &i.after_result_path),
            ] {
                if let Some(v) = v {
                    d.insert(k.into(), v.clone());
                }
            }
            if let Some(vars) = &i.variables {
                d.insert("variables".into(), Value::Object(vars.clone()));
            }
            out.insert("inspectionData".into(), Value::Object(d));
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
