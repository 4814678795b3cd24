//! `sfn serve [--listen 127.0.0.1:8083] [--ecs local|sim|aws] [--task-definitions DIR] [--state-dir DIR]
//! [--hostname NAME]... [--allow-remote [--allow-remote-commands]]`: the Step Functions API for boto3, the
//! AWS CLI and every AWS SDK.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use sfn_ecs::{EcsIntegration, LocalBackend, SimBackend, SimScript, TaskDefinitions};
use sfn_engine::{Engine, EngineBuilder, EngineConfig};

use crate::run::{EcsArgs, EcsBackendKind};

/// Arguments of `sfn serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; a non-loopback address also needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1:8083")]
    pub(crate) listen: SocketAddr,
    /// Allow a non-loopback --listen address (the endpoint checks no credentials).
    #[arg(long)]
    pub(crate) allow_remote: bool,
    /// With --allow-remote and --ecs local: let remote callers run commands on this host (a container's
    /// command is a host process). Without it that combination is refused.
    #[arg(long, requires = "allow_remote")]
    pub(crate) allow_remote_commands: bool,
    /// Also answer requests whose `Host` is NAME (loopback names always are); repeatable.
    #[arg(long = "hostname", value_name = "NAME")]
    pub(crate) hostnames: Vec<String>,
    /// Journal state machines, executions and histories here; without it everything is in memory.
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// ECS backend and task definitions, as for `sfn run`.
    #[command(flatten)]
    pub(crate) ecs: EcsArgs,
}

/// The region of ARNs: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
fn region() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// Task definitions from `--task-definitions`, else `./task-definitions` when it exists (a server has no
/// definition file to look beside).
fn task_definitions(args: &EcsArgs) -> anyhow::Result<TaskDefinitions> {
    crate::integrations::task_definitions(args.task_definitions.as_ref(), std::path::Path::new(""))
}

/// The engine's integrations for the server at `endpoint`: ECS on the chosen backend. Containers of the
/// local backend get `AWS_ENDPOINT_URL_SFN` = this server, so their SDK calls SendTask* here. With a state
/// directory, the simulator keeps its tasks there too (`sim-tasks.jsonl`).
pub(crate) async fn engine_builder(
    args: &EcsArgs,
    endpoint: SocketAddr,
    region: &str,
    state_dir: Option<&std::path::Path>,
) -> anyhow::Result<EngineBuilder> {
    let tds = task_definitions(args)?;
    #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
    let mut region = region.to_owned();
    let ecs = match args.ecs {
        EcsBackendKind::Local => {
            let env = vec![
                ("AWS_ENDPOINT_URL_SFN".to_owned(), format!("http://{endpoint}")),
                ("AWS_REGION".to_owned(), region.to_owned()),
                ("AWS_DEFAULT_REGION".to_owned(), region.to_owned()),
                // Placeholder credentials: the endpoint checks no signature; the token is the credential.
                ("AWS_ACCESS_KEY_ID".to_owned(), "sfn-local".to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), "sfn-local".to_owned()),
            ];
            EcsIntegration::new(Arc::new(LocalBackend::new(tds).with_extra_env(env)))
        }
        EcsBackendKind::Sim => {
            let sim = match &args.sim_config {
                Some(p) => {
                    let v: serde_json::Value = serde_json::from_slice(
                        &std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
                    )
                    .with_context(|| format!("{} is not JSON", p.display()))?;
                    SimBackend::from_json(&v).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
                }
                None => SimBackend::new(SimScript::default()),
            };
            let mut sim = sim.with_task_definitions(tds);
            if let Some(dir) = state_dir {
                // The simulated tasks outlive the process, like the executions that wait for them.
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let path = dir.join("sim-tasks.jsonl");
                sim = sim.persist(&path).with_context(|| format!("cannot use {}", path.display()))?;
            }
            EcsIntegration::new(Arc::new(sim))
        }
        // Amazon ECS with the aws-config default chain (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_ECS, …);
        // the region of ARNs and TaskScheduled events is the one ECS is called in.
        #[cfg(feature = "aws")]
        EcsBackendKind::Aws => {
            let backend = sfn_ecs::AwsBackend::from_env().await;
            if let Some(r) = backend.region() {
                r.clone_into(&mut region);
            }
            EcsIntegration::new(Arc::new(backend))
        }
        #[cfg(not(feature = "aws"))]
        EcsBackendKind::Aws => anyhow::bail!("this build of sfn has no aws backend (sfn-cli feature `aws`)"),
    };
    let config = EngineConfig { region, ..EngineConfig::default() };
    Ok(Engine::builder().config(config).integration(Arc::new(ecs)))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Runs the command: serves until Ctrl-C or SIGTERM, then exits 0.
pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<i32> {
    sfn_server::check_listen(args.listen, args.allow_remote)?;
    let host_commands = args.ecs.ecs == EcsBackendKind::Local;
    if host_commands && !args.listen.ip().is_loopback() && !args.allow_remote_commands {
        anyhow::bail!(
            "--allow-remote with --ecs local would let anyone who reaches {} run commands on this host \
             (a container's command is a host process); add --allow-remote-commands to accept that, or use \
             --ecs sim or --ecs aws",
            args.listen
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = sfn_server::bind(args.listen, args.allow_remote).await?;
        let addr = listener.local_addr()?;
        let builder = engine_builder(&args.ecs, addr, &region(), args.state_dir.as_deref()).await?;
        let hosts = args.hostnames.iter().fold(sfn_server::HostPolicy::for_listen(addr), |p, h| p.allow_host(h));
        let options = sfn_server::ServerOptions { state_dir: args.state_dir.clone(), hosts };
        let server = sfn_server::Server::open(builder, options)?;
        eprintln!("sfn serve: listening on http://{addr}");
        if host_commands {
            eprintln!(
                "sfn serve: --ecs local: ECS tasks run as processes of this user on this host, for every caller \
                 that reaches {addr}"
            );
        }
        server.serve(listener, shutdown_signal()).await?;
        eprintln!("sfn serve: stopped");
        Ok(0)
    })
}
