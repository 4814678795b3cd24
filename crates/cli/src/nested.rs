//! Nested executions in `sfn run`: the child state machines are the `--machine NAME=FILE` definitions,
//! run on the parent's engine (`arn:aws:states:REGION:ACCOUNT:stateMachine:NAME`). A child named by
//! `--machine-type NAME=EXPRESS` is an EXPRESS machine: validated as AWS validates one (no `.sync` or
//! `.waitForTaskToken` Task), its executions named `arn:aws:states:REGION:ACCOUNT:express:NAME:EXEC:UUID`,
//! never `ExecutionAlreadyExists` (the ARN's UUID tells them apart), and a `.sync` / `.sync:2` parent
//! gets the same DescribeExecution shape as for a STANDARD child (as `sfn serve` gives it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use sfn::engine::{Engine, Execution, Prepared, StartRequest};
use sfn::patterns::{ApiError, ChildExecution, Executions, StartChild};

/// `--machine NAME=FILE`: a state machine that a `states:startExecution` Task may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MachineArg {
    /// The state machine's name (its ARN's last part).
    pub(crate) name: String,
    /// Its definition.
    pub(crate) file: PathBuf,
}

/// Parses `NAME=FILE`.
pub(crate) fn machine_arg(s: &str) -> Result<MachineArg, String> {
    let Some((name, file)) = s.split_once('=') else {
        return Err(format!("'{s}' is not NAME=FILE"));
    };
    if name.is_empty() || name.chars().count() > 80 || !sfn_server::valid_name(name) {
        return Err(format!("'{name}' is not a state machine name (1 to 80 characters, AWS's name rules)"));
    }
    if file.is_empty() {
        return Err(format!("'{s}' names no file"));
    }
    Ok(MachineArg { name: name.to_owned(), file: PathBuf::from(file) })
}

/// `--machine-type NAME=STANDARD|EXPRESS`: the type of a `--machine` state machine (default STANDARD).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MachineTypeArg {
    /// The `--machine` it names.
    pub(crate) name: String,
    /// Its type.
    pub(crate) machine_type: sfn::asl::MachineType,
}

/// Parses `NAME=STANDARD|EXPRESS`.
pub(crate) fn machine_type_arg(s: &str) -> Result<MachineTypeArg, String> {
    let Some((name, kind)) = s.split_once('=') else {
        return Err(format!("'{s}' is not NAME=STANDARD or NAME=EXPRESS"));
    };
    let machine_type = match kind {
        "STANDARD" => sfn::asl::MachineType::Standard,
        "EXPRESS" => sfn::asl::MachineType::Express,
        other => return Err(format!("'{other}' is not a state machine type (STANDARD or EXPRESS)")),
    };
    Ok(MachineTypeArg { name: name.to_owned(), machine_type })
}

/// The type `--machine-type` gives the `--machine` named `name`; an entry naming no `--machine` is an
/// error (its message).
pub(crate) fn machine_types(
    machines: &[MachineArg],
    types: &[MachineTypeArg],
) -> Result<BTreeMap<String, sfn::asl::MachineType>, String> {
    let mut out = BTreeMap::new();
    for t in types {
        if !machines.iter().any(|m| m.name == t.name) {
            return Err(format!("--machine-type {}: no --machine is named '{}'", t.name, t.name));
        }
        out.insert(t.name.clone(), t.machine_type);
    }
    Ok(out)
}

/// One child execution: its handle and what DescribeExecution reports that the handle does not keep.
struct Child {
    execution: Arc<Execution>,
    machine_arn: String,
    name: String,
    input: String,
}

/// The engine and its child machines, set once the engine that runs them is built.
struct Installed {
    engine: Engine,
    /// By state machine ARN: the machine and whether it is EXPRESS.
    machines: BTreeMap<String, (Prepared, bool)>,
}

/// The `--machine` state machines as [`Executions`] (also for `sfn validate`, with none installed:
/// every StartExecution answers `StateMachineDoesNotExist`).
#[derive(Default)]
pub(crate) struct LocalExecutions {
    installed: OnceLock<Installed>,
    /// By execution ARN.
    children: Mutex<BTreeMap<String, Child>>,
}

impl LocalExecutions {
    /// Installs the engine and its machines (each with whether it is EXPRESS); the first call wins.
    pub(crate) fn install(&self, engine: Engine, machines: Vec<(Prepared, bool)>) {
        let cfg = engine.config();
        let machines = machines
            .into_iter()
            .map(|(p, express)| {
                (
                    format!("arn:aws:states:{}:{}:stateMachine:{}", cfg.region, cfg.account, p.name()),
                    (p, express),
                )
            })
            .collect();
        let _ = self.installed.set(Installed { engine, machines });
    }

    fn child(&self, arn: &str) -> Result<(Arc<Execution>, String, String, String), ApiError> {
        let children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        children
            .get(arn)
            .map(|c| (c.execution.clone(), c.machine_arn.clone(), c.name.clone(), c.input.clone()))
            .ok_or_else(|| {
                ApiError::new("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'"))
            })
    }
}

#[async_trait]
impl Executions for LocalExecutions {
    async fn start(&self, request: StartChild) -> Result<ChildExecution, ApiError> {
        let Some(installed) = self.installed.get() else {
            return Err(ApiError::no_machine(&request.state_machine_arn));
        };
        let Some((prepared, express)) = installed.machines.get(&request.state_machine_arn) else {
            return Err(ApiError::no_machine(&request.state_machine_arn));
        };
        let input = serde_json::from_str(&request.input).map_err(|e| {
            ApiError::new("InvalidExecutionInput", format!("Invalid State Machine Execution Input: '{e}'"))
        })?;
        let name = request.name.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let cfg = installed.engine.config();
        let prepared_name = prepared.name();
        let (region, account) = (&cfg.region, &cfg.account);
        let arn = if *express {
            let id = uuid::Uuid::new_v4();
            format!("arn:aws:states:{region}:{account}:express:{prepared_name}:{name}:{id}")
        } else {
            format!("arn:aws:states:{region}:{account}:execution:{prepared_name}:{name}")
        };
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        if children.contains_key(&arn) {
            return Err(ApiError::new(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{arn}'"),
            ));
        }
        let start = StartRequest {
            execution_name: name.clone(),
            input,
            role_arn: None,
            input_text: Some(request.input.clone()),
        };
        let execution = if *express {
            installed.engine.start_with_arn(prepared, start, arn)
        } else {
            installed.engine.start(prepared, start)
        };
        let described = ChildExecution::running(
            &execution.arn,
            &request.state_machine_arn,
            &name,
            &request.input,
            execution.start_date.timestamp_millis(),
        );
        children.insert(
            execution.arn.clone(),
            Child {
                execution: Arc::new(execution),
                machine_arn: request.state_machine_arn,
                name,
                input: request.input,
            },
        );
        Ok(described)
    }

    async fn wait(&self, execution_arn: &str) -> Result<ChildExecution, ApiError> {
        let (execution, machine_arn, name, input) = self.child(execution_arn)?;
        let outcome = execution.wait().await;
        Ok(ChildExecution {
            execution_arn: execution.arn.clone(),
            state_machine_arn: machine_arn,
            name,
            status: outcome.status.as_str().to_owned(),
            input,
            output: outcome.output.as_ref().map(ToString::to_string),
            error: outcome.error,
            cause: outcome.cause,
            start_date_ms: execution.start_date.timestamp_millis(),
            stop_date_ms: Some(outcome.stop_date.timestamp_millis()),
        })
    }

    async fn stop(&self, execution_arn: &str, error: Option<String>, cause: Option<String>) {
        if let Ok((execution, ..)) = self.child(execution_arn) {
            execution.stop_with(error, cause);
            let _ = execution.wait().await;
        }
    }
}
