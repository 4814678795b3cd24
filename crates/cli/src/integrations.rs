//! The service integrations the CLI offers: ECS on the local, sim or aws backend, task definitions,
//! the callback endpoint for `.waitForTaskToken` containers, and mocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use sfn_ecs::{EcsIntegration, LocalBackend, SimBackend, SimScript, TaskDefinitions};
use sfn_engine::{Engine, EngineBuilder};
use sfn_patterns::{Integrations, TokenRegistry};

use crate::run::{EcsArgs, EcsBackendKind, MockArgs};

/// The task-definition directory: `--task-definitions`, else `./task-definitions`, else a
/// `task-definitions` directory next to the definition file.
pub(crate) fn task_definitions_dir(flag: Option<&PathBuf>, definition: &Path) -> Option<PathBuf> {
    if let Some(d) = flag {
        return Some(d.clone());
    }
    let cwd = PathBuf::from("task-definitions");
    if cwd.is_dir() {
        return Some(cwd);
    }
    let sibling = definition.parent().map(|p| p.join("task-definitions"))?;
    sibling.is_dir().then_some(sibling)
}

/// Loads the task definitions (none when there is no directory).
pub(crate) fn task_definitions(flag: Option<&PathBuf>, definition: &Path) -> anyhow::Result<TaskDefinitions> {
    match task_definitions_dir(flag, definition) {
        Some(dir) => {
            sfn_ecs::load_task_definitions(&dir).map_err(|e| anyhow::anyhow!("task definitions: {e}"))
        }
        None => Ok(TaskDefinitions::new()),
    }
}

/// Integrations for static checks (`sfn validate`): ECS with the task definitions, no process started.
pub(crate) fn for_validation(tds: TaskDefinitions) -> Integrations {
    let mut i = Integrations::new();
    i.register(Arc::new(EcsIntegration::new(Arc::new(LocalBackend::new(tds)))));
    i
}

/// True when the machine has a `.waitForTaskToken` task (anywhere).
fn has_callbacks(definition_text: &str) -> bool {
    definition_text.contains(".waitForTaskToken")
}

/// Builds the engine's integrations for running, and says which region the run is in (`AWS_REGION`, or
/// for `--ecs aws` the region of the AWS configuration, profiles included). On the local backend with
/// callbacks, serves SendTask* on an ephemeral loopback port and gives containers `AWS_ENDPOINT_URL_SFN`.
pub(crate) async fn engine_builder(
    ecs: &EcsArgs,
    mocks: &MockArgs,
    definition: &Path,
    machine_name: &str,
) -> anyhow::Result<(EngineBuilder, String)> {
    let tokens = TokenRegistry::new();
    let mut builder = Engine::builder().tokens(tokens.clone());
    let tds = task_definitions(ecs.task_definitions.as_ref(), definition)?;
    #[allow(unused_mut, reason = "only the aws backend changes it")]
    let mut region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let integration = match ecs.ecs {
        EcsBackendKind::Local => {
            let mut env = Vec::new();
            let text = std::fs::read_to_string(definition).unwrap_or_default();
            if has_callbacks(&text) {
                let (addr, _handle) = sfn_server::serve_callbacks(([127, 0, 0, 1], 0).into(), tokens.clone())
                    .await
                    .context("cannot start the callback endpoint")?;
                env.push(("AWS_ENDPOINT_URL_SFN".to_owned(), format!("http://{addr}")));
                env.push(("AWS_REGION".to_owned(), region.clone()));
                env.push(("AWS_DEFAULT_REGION".to_owned(), region.clone()));
                // Placeholder credentials: the endpoint does not check signatures; the token is the credential.
                env.push(("AWS_ACCESS_KEY_ID".to_owned(), "sfn-local".to_owned()));
                env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "sfn-local".to_owned()));
            }
            EcsIntegration::new(Arc::new(LocalBackend::new(tds).with_extra_env(env)))
        }
        EcsBackendKind::Sim => {
            let sim = match &ecs.sim_config {
                Some(p) => {
                    let v: serde_json::Value = serde_json::from_slice(
                        &std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
                    )
                    .with_context(|| format!("{} is not JSON", p.display()))?;
                    SimBackend::from_json(&v).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                }
                None => SimBackend::new(SimScript::default()),
            };
            EcsIntegration::new(Arc::new(sim.with_task_definitions(tds)))
        }
        // Amazon ECS with the aws-config default chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_ECS, …).
        #[cfg(feature = "aws")]
        EcsBackendKind::Aws => {
            let backend = sfn_ecs::AwsBackend::from_env().await;
            if let Some(r) = backend.region() {
                region = r.to_owned();
            }
            EcsIntegration::new(Arc::new(backend))
        }
        #[cfg(not(feature = "aws"))]
        EcsBackendKind::Aws => anyhow::bail!("this build of sfn has no aws backend (sfn-cli feature `aws`)"),
    };
    builder = builder.integration(Arc::new(integration));
    if let Some(path) = &mocks.mock_config {
        let cfg = sfn::mocks::MockConfig::from_file(path).map_err(|e| anyhow::anyhow!(e))?;
        let machine = mocks.state_machine.as_deref().unwrap_or(machine_name);
        let Some(case) = &mocks.test_case else {
            anyhow::bail!("--mock-config needs --test-case");
        };
        let case = cfg.test_case(machine, case).map_err(|e| anyhow::anyhow!(e))?;
        builder = builder.mocks(Arc::new(case));
    }
    Ok((builder, region))
}
