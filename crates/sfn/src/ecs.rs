//! Amazon ECS for `ecs:runTask` states (feature `ecs`): everything of [`sfn_ecs`], re-exported, plus the one
//! way to set an ECS integration up from a few choices ([`EcsConfig`] → [`EcsSetup`]), used by `sfn run`,
//! `sfn test-state` and `sfn serve` alike.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use sfn::ecs::{Backend, EcsConfig};
//!
//! let setup = EcsConfig { backend: Backend::Sim, ..EcsConfig::default() }.build().await.unwrap();
//! assert_eq!(setup.region, "us-east-1");
//! let engine = sfn::engine::Engine::builder().integration(Arc::new(setup.integration)).build();
//! # let _ = engine;
//! # });
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use sfn_ecs::*;

use sfn_asl::{StateKind, StateMachine, States};
use sfn_patterns::Resource;

/// Which backend runs the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Each container a host process ([`LocalBackend`]; no Docker).
    #[default]
    Local,
    /// In memory, scripted per family ([`SimBackend`]).
    Sim,
    /// Amazon ECS through aws-sdk-ecs and the aws-config default chain (`AwsBackend`, feature `aws`).
    Aws,
}

/// How to set an ECS integration up; [`EcsConfig::build`] makes it.
#[derive(Debug, Clone)]
pub struct EcsConfig {
    /// The backend.
    pub backend: Backend,
    /// A directory of task definitions (`aws ecs register-task-definition --cli-input-json` files) for the
    /// local and sim backends; none: no task definitions.
    pub task_definitions: Option<PathBuf>,
    /// The sim backend's scripts (a JSON file, [`SimBackend::from_json`]); none: the default script.
    pub sim_config: Option<PathBuf>,
    /// The Step Functions endpoint (`http://127.0.0.1:8083`) the local backend's containers call back
    /// (SendTaskSuccess/Failure/Heartbeat): they get `AWS_ENDPOINT_URL_SFN`, the region and placeholder
    /// credentials (the endpoint checks no signature; the token is the credential).
    pub callback_endpoint: Option<String>,
    /// More environment for the local backend's containers (after the callback variables).
    pub extra_env: Vec<(String, String)>,
    /// The region of ARNs and events (and of the callback variables), unless the aws backend's
    /// configuration names one.
    pub region: String,
    /// With the sim backend, keep the simulated tasks in `sim-tasks.jsonl` here, so they outlive the
    /// process like the executions that wait for them; with the local backend and a
    /// [`EcsConfig::supervisor`], run each task under a supervisor that keeps its status and output in
    /// `tasks/<task-id>/` here ([`LocalBackend::with_state_dir`]).
    pub state_dir: Option<PathBuf>,
    /// The program a local task's supervisor is (the CLI: the `sfn` binary, `sfn __supervise DIR`); used
    /// with a [`EcsConfig::state_dir`] only. None: local tasks run inside this process.
    pub supervisor: Option<SupervisorCommand>,
    /// Where the local backend's containers' output goes, line by line, as it is read (`sfn run` prints
    /// it); it is kept per task either way ([`LocalBackend::logs`]).
    pub output_sink: Option<Arc<dyn OutputSink>>,
    /// The local backend's EC2-style capacity per cluster name (`--cluster NAME=cpu:…,memory:…`); other
    /// clusters have the default ([`Capacity::default`]).
    pub clusters: Vec<(String, Capacity)>,
    /// The local backend's Fargate On-Demand vCPU quota (`--fargate-vcpu-quota`); none: not enforced, as
    /// AWS's account-wide quota is no concern of a local run.
    pub fargate_vcpu_quota: Option<u32>,
    /// The bytes each local container's output may take in the state directory
    /// ([`LocalBackend::with_stored_output_cap`]); none: [`crate::ecs::STORED_OUTPUT_BYTES`].
    pub stored_output_cap: Option<u64>,
    /// How long the local backend keeps a STOPPED task ([`LocalBackend::with_stopped_task_retention`]);
    /// none: [`crate::ecs::STOPPED_TASK_RETENTION`].
    pub stopped_task_retention: Option<std::time::Duration>,
}

impl Default for EcsConfig {
    fn default() -> Self {
        EcsConfig {
            backend: Backend::Local,
            task_definitions: None,
            sim_config: None,
            callback_endpoint: None,
            extra_env: Vec::new(),
            region: "us-east-1".to_owned(),
            state_dir: None,
            supervisor: None,
            output_sink: None,
            clusters: Vec::new(),
            fargate_vcpu_quota: None,
            stored_output_cap: None,
            stopped_task_retention: None,
        }
    }
}

/// A ready ECS integration and the region it runs in.
#[derive(Debug)]
pub struct EcsSetup {
    /// The integration, to register with the engine (`EngineBuilder::integration`).
    pub integration: EcsIntegration,
    /// [`EcsConfig::region`], or the region of the AWS configuration for the aws backend.
    pub region: String,
}

/// Why an ECS integration cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A task-definition file is unusable.
    #[error("task definitions: {0}")]
    TaskDefinitions(TaskDefinitionError),
    /// A file cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sim configuration is not JSON.
    #[error("{path} is not JSON")]
    NotJson {
        /// The file.
        path: String,
        /// Where and why.
        #[source]
        source: serde_json::Error,
    },
    /// The sim configuration is not one.
    #[error("{path}: {message}")]
    SimConfig {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The state directory cannot be created.
    #[error("cannot create {path}")]
    StateDir {
        /// The directory.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The sim backend's task file cannot be used.
    #[error("cannot use {path}")]
    Persist {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The aws backend was asked for in a build without it.
    #[error("this build of sfn has no aws backend (feature `aws`)")]
    NoAwsBackend,
}

impl EcsConfig {
    /// A configuration for this backend, everything else default.
    pub fn new(backend: Backend) -> Self {
        EcsConfig { backend, ..EcsConfig::default() }
    }

    /// Builds the integration: loads the task definitions and the sim scripts, gives the local backend's
    /// containers the callback environment, opens the sim backend's task file, or reads the AWS
    /// configuration (profiles, environment, `AWS_ENDPOINT_URL_ECS`).
    pub async fn build(&self) -> Result<EcsSetup, SetupError> {
        let tds = match &self.task_definitions {
            Some(dir) => load_task_definitions(dir).map_err(SetupError::TaskDefinitions)?,
            None => TaskDefinitions::new(),
        };
        let integration = match self.backend {
            Backend::Local => {
                let mut env = Vec::new();
                if let Some(endpoint) = &self.callback_endpoint {
                    env.push(("AWS_ENDPOINT_URL_SFN".to_owned(), endpoint.clone()));
                    env.push(("AWS_REGION".to_owned(), self.region.clone()));
                    env.push(("AWS_DEFAULT_REGION".to_owned(), self.region.clone()));
                    env.push(("AWS_ACCESS_KEY_ID".to_owned(), "sfn-local".to_owned()));
                    env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "sfn-local".to_owned()));
                }
                env.extend(self.extra_env.iter().cloned());
                let mut local = LocalBackend::new(tds).with_extra_env(env);
                if let Some(sink) = &self.output_sink {
                    local = local.with_output_sink(sink.clone());
                }

                for (name, capacity) in &self.clusters {
                    local = local.with_cluster_capacity(name, *capacity);
                }
                if let Some(quota) = self.fargate_vcpu_quota {
                    local = local.with_fargate_vcpu_quota(quota);
                }
                if let Some(bytes) = self.stored_output_cap {
                    local = local.with_stored_output_cap(bytes);
                }
                if let Some(retention) = self.stopped_task_retention {
                    local = local.with_stopped_task_retention(retention);
                }
                if let (Some(dir), Some(command)) = (&self.state_dir, &self.supervisor) {
                    local = local
                        .with_state_dir(dir, command.clone())
                        .map_err(|source| SetupError::StateDir { path: dir.display().to_string(), source })?;
                }
                EcsIntegration::new(Arc::new(local))
            }
            Backend::Sim => {
                let sim = match &self.sim_config {
                    Some(p) => sim_from_file(p)?,
                    None => SimBackend::new(SimScript::default()),
                };
                let mut sim = sim.with_task_definitions(tds);
                if let Some(dir) = &self.state_dir {
                    std::fs::create_dir_all(dir)
                        .map_err(|source| SetupError::StateDir { path: dir.display().to_string(), source })?;
                    let path = dir.join("sim-tasks.jsonl");
                    sim = sim
                        .persist(&path)
                        .map_err(|source| SetupError::Persist { path: path.display().to_string(), source })?;
                }
                EcsIntegration::new(Arc::new(sim))
            }
            #[cfg(feature = "aws")]
            Backend::Aws => {
                let backend = AwsBackend::from_env().await;
                let region = backend.region().map_or_else(|| self.region.clone(), str::to_owned);
                return Ok(EcsSetup { integration: EcsIntegration::new(Arc::new(backend)), region });
            }
            #[cfg(not(feature = "aws"))]
            Backend::Aws => return Err(SetupError::NoAwsBackend),
        };
        Ok(EcsSetup { integration, region: self.region.clone() })
    }
}

fn sim_from_file(p: &Path) -> Result<SimBackend, SetupError> {
    let path = || p.display().to_string();
    let bytes = std::fs::read(p).map_err(|source| SetupError::Read { path: path(), source })?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| SetupError::NotJson { path: path(), source })?;
    SimBackend::from_json(&v).map_err(|e| SetupError::SimConfig { path: path(), message: e.to_string() })
}

/// True when a Task state of the machine, nested ones included, uses the `.waitForTaskToken` pattern, or
/// is a `.sync` one whose parameters pass its task token (`$$.Task.Token`; SendTaskSuccess/Failure with it
/// ends the task before its job): its containers need a Step Functions endpoint to call back
/// ([`EcsConfig::callback_endpoint`]).
///
/// ```
/// let machine = sfn::asl::validate_value(&serde_json::json!({"StartAt": "P", "States": {"P": {
///     "Type": "Parallel", "End": true, "Branches": [{"StartAt": "T", "States": {"T": {"Type": "Task",
///     "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken", "End": true,
///     "Parameters": {"TaskDefinition": "job", "Overrides": {"ContainerOverrides": [{"Name": "job",
///         "Environment": [{"Name": "TOKEN", "Value.$": "$$.Task.Token"}]}]}}}}}]}}}), Default::default())
///     .into_result()
///     .unwrap();
/// assert!(sfn::ecs::has_callbacks(&machine));
/// ```
pub fn has_callbacks(machine: &StateMachine) -> bool {
    fn any(states: &States) -> bool {
        states.iter().any(|s| match &s.kind {
            StateKind::Task(t) => match Resource::parse(&t.resource) {
                // A `.sync` task that passes its token too: a container may use it to end the task early.
                Ok(Resource::Service(r)) => r.pattern.has_task_token(t.parameters.as_ref()),
                _ => false,
            },
            StateKind::Parallel(p) => p.branches.iter().any(|b| any(&b.states)),
            StateKind::Map(m) => any(&m.processor.states),
            _ => false,
        })
    }
    any(&machine.states)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn machine(resource: &str) -> StateMachine {
        let task = json!({"Type": "Task", "Resource": resource, "End": true,
            "Parameters": {"TaskDefinition": "job"}});
        let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "T", "States": {"T": task}}}}});
        sfn_asl::validate_value(&def, Default::default()).into_result().unwrap()
    }

    #[test]
    fn callbacks_are_tasks_that_wait_for_a_token() {
        assert!(has_callbacks(&machine("arn:aws:states:::ecs:runTask.waitForTaskToken")));
        assert!(!has_callbacks(&machine("arn:aws:states:::ecs:runTask.sync")));
        // A `.sync` task that hands its token to its containers, which may end it with SendTaskSuccess.
        // Or the whole context object, which holds the token; not another member of it.
        for (language, token, passes) in [
            ("JSONPath", json!({"Value.$": "$$.Task.Token"}), true),
            ("JSONPath", json!({"Value.$": "States.JsonToString($$)"}), true),
            ("JSONPath", json!({"Value.$": "$$.Execution.Id"}), false),
            ("JSONata", json!({"Value": "{% $states.context.Task.Token %}"}), true),
            ("JSONata", json!({"Value": "{% $string($states.context) %}"}), true),
            ("JSONata", json!({"Value": "{% $states.context.Execution.Id %}"}), false),
        ] {
            let mut env = json!({"Name": "T"});
            env.as_object_mut().unwrap().extend(token.as_object().unwrap().clone());
            let field = if language == "JSONata" { "Arguments" } else { "Parameters" };
            let def = json!({"StartAt": "T", "QueryLanguage": language, "States": {"T": {"Type": "Task",
                "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true,
                field: {"TaskDefinition": "job", "Overrides": {"ContainerOverrides": [{"Name": "job",
                    "Environment": [env]}]}}}}});
            let m = sfn_asl::validate_value(&def, Default::default()).into_result().unwrap();
            assert_eq!(has_callbacks(&m), passes, "{language} {token}");
        }
        // The pattern, not the text: a Comment or a Pass result that mentions it is not a callback.
        let def = json!({"StartAt": "P", "Comment": ".waitForTaskToken", "States": {"P": {"Type": "Pass",
            "Result": "arn:aws:states:::ecs:runTask.waitForTaskToken", "End": true}}});
        assert!(!has_callbacks(&sfn_asl::validate_value(&def, Default::default()).into_result().unwrap()));
    }

    #[tokio::test]
    async fn setup_errors_name_the_file() {
        let config = EcsConfig {
            backend: Backend::Sim,
            sim_config: Some("/nonexistent/sim.json".into()),
            ..EcsConfig::default()
        };
        let e = config.build().await.unwrap_err();
        assert!(matches!(e, SetupError::Read { .. }), "{e:?}");
        assert_eq!(e.to_string(), "cannot read /nonexistent/sim.json");
    }

    #[tokio::test]
    async fn the_sim_keeps_its_tasks_in_the_state_dir() {
        let dir = std::env::temp_dir().join(format!("sfn-ecs-setup-{}", std::process::id()));
        let config =
            EcsConfig { backend: Backend::Sim, state_dir: Some(dir.clone()), ..EcsConfig::default() };
        let setup = config.build().await.unwrap();
        assert_eq!(setup.region, "us-east-1");
        drop(setup);
        assert!(dir.join("sim-tasks.jsonl").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
