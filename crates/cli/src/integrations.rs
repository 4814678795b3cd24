//! The service integrations the CLI offers: ECS on the local, sim or aws backend (set up by the facade's
//! [`sfn::ecs::EcsConfig`]), task definitions, the callback endpoint for `.waitForTaskToken` containers,
//! mocks, and `states:startExecution` (`nested.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use sfn::ecs::{EcsConfig, EcsIntegration, LocalBackend, TaskDefinitions};
use sfn::engine::{Engine, EngineBuilder};
use sfn::patterns::{Integrations, TokenRegistry};

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
            sfn::ecs::load_task_definitions(&dir).map_err(|e| anyhow::anyhow!("task definitions: {e}"))
        }
        None => Ok(TaskDefinitions::new()),
    }
}

/// Integrations for static checks (`sfn validate`): ECS with the task definitions, no process started.
pub(crate) fn for_validation(tds: TaskDefinitions) -> Integrations {
    let mut i = Integrations::new();
    i.register(Arc::new(EcsIntegration::new(Arc::new(LocalBackend::new(tds)))));
    i.register(Arc::new(sfn::patterns::StatesIntegration::new(Arc::new(
        crate::nested::LocalExecutions::default(),
    ))));
    i
}

/// The facade's ECS configuration for these flags (`definition`: where a `task-definitions` directory may
/// be; a server has none).
pub(crate) fn ecs_config(ecs: &EcsArgs, definition: &Path, region: &str) -> EcsConfig {
    let backend = match ecs.ecs {
        EcsBackendKind::Local => sfn::ecs::Backend::Local,
        EcsBackendKind::Sim => sfn::ecs::Backend::Sim,
        EcsBackendKind::Aws => sfn::ecs::Backend::Aws,
    };
    EcsConfig {
        backend,
        task_definitions: task_definitions_dir(ecs.task_definitions.as_ref(), definition),
        sim_config: ecs.sim_config.clone(),
        region: region.to_owned(),
        clusters: ecs.clusters.clone(),
        fargate_vcpu_quota: ecs.fargate_vcpu_quota,
        stored_output_cap: ecs.task_output_cap,
        stopped_task_retention: ecs.stopped_task_retention.map(std::time::Duration::from_secs),
        ..EcsConfig::default()
    }
}

/// Builds the engine's integrations for running `machine`, and says which region the run is in
/// (`AWS_REGION`, or for `--ecs aws` the region of the AWS configuration, profiles included). On the local
/// backend, when a Task waits for a task token, serves SendTask* on an ephemeral loopback port and gives
/// containers `AWS_ENDPOINT_URL_SFN`. `output` receives the local containers' output.
pub(crate) async fn engine_builder(
    ecs: &EcsArgs,
    mocks: &MockArgs,
    definition: &Path,
    machine: &sfn::asl::StateMachine,
    machine_name: &str,
    output: Option<Arc<dyn sfn::ecs::OutputSink>>,
) -> anyhow::Result<(EngineBuilder, String)> {
    let tokens = TokenRegistry::new();
    let mut builder = Engine::builder().tokens(tokens.clone());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let mut config = ecs_config(ecs, definition, &region);
    config.output_sink = output;
    if ecs.ecs == EcsBackendKind::Local && sfn::ecs::has_callbacks(machine) {
        let (addr, _handle) = sfn_server::serve_callbacks(([127, 0, 0, 1], 0).into(), tokens.clone())
            .await
            .context("cannot start the callback endpoint")?;
        config.callback_endpoint = Some(format!("http://{addr}"));
    }
    let setup = config.build().await?;
    builder = builder.integration(Arc::new(setup.integration));
    if let Some(path) = &mocks.mock_config {
        let cfg = sfn::mocks::MockConfig::from_file(path).map_err(|e| anyhow::anyhow!(e))?;
        let name = mocks.state_machine.as_deref().unwrap_or(machine_name);
        let Some(case) = &mocks.test_case else {
            anyhow::bail!("--mock-config needs --test-case");
        };
        let case = cfg.test_case_for(name, case, machine).map_err(|e| anyhow::anyhow!(e))?;
        builder = builder.mocks(Arc::new(case));
    }
    Ok((builder, setup.region))
}
