//! `sfn serve [--listen 127.0.0.1:8083] [--ecs local|sim|aws] [--task-definitions DIR] [--state-dir DIR]
//! [--hostname NAME]... [--allow-remote [--allow-remote-commands]] [--console-port PORT | --no-console]`:
//! the Step Functions API for boto3, the AWS CLI and every AWS SDK, and the console (`sfn-console`) on
//! its own loopback port, reading the same service in process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use sfn::engine::{Engine, EngineBuilder, EngineConfig};

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
    /// Serve a Distributed Map's S3 items and results from this folder (`s3://BUCKET/KEY` is
    /// `DIR/BUCKET/KEY`), or from Amazon S3 with `aws` (a folder named `aws` is `./aws`), as for `sfn run`.
    #[arg(long, value_name = "DIR|aws")]
    pub(crate) s3: Option<PathBuf>,
    /// Step Functions Local's mock configuration file (default: `SFN_MOCK_CONFIG`): StartExecution on
    /// `…:stateMachine:NAME#TestCase` runs that test case's mocked responses.
    #[arg(long)]
    pub(crate) mock_config: Option<PathBuf>,
    /// The console's port, on 127.0.0.1 (default: the API's port + 1, 8084; 0 when the API's is 0).
    #[arg(long, value_name = "PORT", conflicts_with = "no_console")]
    pub(crate) console_port: Option<u16>,
    /// Do not serve the console.
    #[arg(long)]
    pub(crate) no_console: bool,
    /// What a Task with no integration and no mock does (default with a mock configuration: `fail`;
    /// without one, such a machine cannot run here).
    #[arg(long, value_enum)]
    pub(crate) unmocked: Option<crate::mock::UnmockedArg>,
}

/// The region of ARNs: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
fn region() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .ok()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The engine's integrations for the server at `endpoint`: ECS on the chosen backend, with the task
/// definitions of `--task-definitions`, else `./task-definitions` when it exists (a server has no
/// definition file to look beside). Containers of the local backend get `AWS_ENDPOINT_URL_SFN` = this
/// server, so their SDK calls SendTask* here. With a state directory, the simulator keeps its tasks there
/// too (`sim-tasks.jsonl`), and each local task runs under a supervisor (this binary, `sfn __supervise`)
/// that keeps its status and output in `DIR/tasks/<task-id>/`, so it outlives the server. For `--ecs aws`, the region of ARNs and TaskScheduled events is the one ECS is
/// called in.
pub(crate) async fn engine_builder(
    args: &EcsArgs,
    endpoint: SocketAddr,
    region: &str,
    state_dir: Option<&std::path::Path>,
    logs: Arc<sfn_server::LogStore>,
) -> anyhow::Result<EngineBuilder> {
    let mut config = crate::integrations::ecs_config(args, std::path::Path::new(""), region);
    config.callback_endpoint = Some(format!("http://{endpoint}"));
    config.output_sink = Some(Arc::new(LogSink(logs)));
    config.state_dir = state_dir.map(std::path::Path::to_path_buf);
    if state_dir.is_some() && args.ecs == EcsBackendKind::Local {
        // Each local task under a supervisor: this binary in its hidden mode (`sfn __supervise DIR`).
        let program = std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("cannot find this sfn binary to supervise local tasks: {e}"))?;
        config.supervisor = Some(sfn::ecs::SupervisorCommand { program, args: vec![SUPERVISE.into()] });
    }
    let setup = config.build().await?;
    let config = EngineConfig { region: setup.region, ..EngineConfig::default() };
    Ok(Engine::builder().config(config).integration(Arc::new(setup.integration)))
}

/// The hidden subcommand of a local task's supervisor.
const SUPERVISE: &str = "__supervise";

/// Arguments of `sfn __supervise`.
#[derive(Debug, Args)]
pub(crate) struct SuperviseArgs {
    /// The task's directory (`STATE_DIR/tasks/<task-id>`).
    pub(crate) dir: PathBuf,
}

/// Runs `sfn __supervise DIR`: one local task to its end (`sfn::ecs::supervise`); its stderr is the task's
/// `supervisor.log`.
pub(crate) fn supervise(args: &SuperviseArgs) -> anyhow::Result<i32> {
    match sfn::ecs::supervise(&args.dir) {
        Ok(sfn::ecs::Supervised::AlreadySupervised) => {
            eprintln!("sfn __supervise: {} has a supervisor already", args.dir.display());
            Ok(0)
        }
        Ok(_) => Ok(0),
        Err(e) => {
            eprintln!("sfn __supervise: {e}");
            Ok(1)
        }
    }
}

fn backend_name(kind: EcsBackendKind) -> &'static str {
    match kind {
        EcsBackendKind::Local => "local (containers as host processes)",
        EcsBackendKind::Sim => "sim (in memory)",
        EcsBackendKind::Aws => "aws (Amazon ECS through the AWS SDK)",
    }
}

/// Says which task definitions the server loaded (`family:revision`), or warns that there are none: a
/// RunTask then fails with `ECS.ClientException: Unable to describe task definition.`
fn announce_task_definitions(ecs: &EcsArgs) {
    let dir =
        crate::integrations::task_definitions_dir(ecs.task_definitions.as_ref(), std::path::Path::new(""));
    let Some(dir) = dir else {
        eprintln!(
            "sfn serve: warning: no task definitions (no --task-definitions and no ./task-definitions): every \
             RunTask will fail with `Unable to describe task definition.`; from the repository root, try \
             --task-definitions fixtures/seed/task-definitions"
        );
        return;
    };
    match sfn::ecs::load_task_definitions(&dir) {
        Ok(tds) if tds.is_empty() => {
            eprintln!("sfn serve: warning: no task definitions in {}", dir.display());
        }
        Ok(tds) => {
            let names: Vec<String> = tds
                .families()
                .flat_map(|f| tds.revisions(f).into_iter().map(move |r| format!("{f}:{r}")))
                .collect();
            eprintln!("sfn serve: task definitions from {}: {}", dir.display(), names.join(", "));
        }
        // The same error stopped the start-up already; nothing more to say.
        Err(_) => {}
    }
}

/// The local containers' output into the server's CloudWatch Logs store: each line of a container with an
/// `awslogs` configuration to its stream (`prefix/container/task-id` in its group).
#[derive(Debug)]
pub(crate) struct LogSink(pub(crate) Arc<sfn_server::LogStore>);

impl sfn::ecs::OutputSink for LogSink {
    fn line(&self, source: &sfn::ecs::OutputSource, line: &sfn::ecs::OutputLine) {
        if let Some(s) = &source.log_stream {
            self.0.append(&s.group, &s.stream, line.timestamp, &line.text);
        }
    }
}

/// The console's port for an API on `api_port`: `--console-port`, else the next port (0 stays 0: both
/// ephemeral).
fn console_port(args: &ServeArgs) -> u16 {
    args.console_port.unwrap_or(match args.listen.port() {
        0 => 0,
        p => p.checked_add(1).unwrap_or(0),
    })
}

/// Binds the console on loopback (whatever the API's address: it shows inputs, outputs and logs, and its
/// Stop button stops executions). Its `Host` names: loopback ones and `--hostname`s.
pub(crate) async fn bind_console(port: u16) -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = sfn_server::bind(addr, false).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal sent as soon as start-up is announced is not lost (it was: a SIGTERM right
/// after `sfn serve` printed its last start-up line could arrive before the server polled this, and the
/// process served on). Call it within the runtime.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let (term, int) = (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok());
        async move {
            let wait = |s: Option<Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {}
                () = wait(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
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
        let shutdown = shutdown_signal();
        let listener = sfn_server::bind(args.listen, args.allow_remote).await?;
        let addr = listener.local_addr()?;
        let logs = Arc::new(sfn_server::LogStore::new(&region(), "123456789012"));
        let builder =
            engine_builder(&args.ecs, addr, &region(), args.state_dir.as_deref(), logs.clone()).await?;
        let cases = crate::mock::server_cases(args.mock_config.as_ref())?;
        let unmocked = args.unmocked.or(cases.is_some().then_some(crate::mock::UnmockedArg::Fail));
        let builder = builder.unmocked(crate::mock::UnmockedArg::engine(unmocked));
        let builder = match crate::run::s3_store(args.s3.as_deref()).await? {
            Some(store) => builder.object_store(store),
            None => builder,
        };
        let hosts = args.hostnames.iter().fold(sfn_server::HostPolicy::for_listen(addr), |p, h| p.allow_host(h));
        let mocks = cases.map(|c| Arc::new(c) as Arc<dyn sfn_server::MockCases>);
        let options = sfn_server::ServerOptions { state_dir: args.state_dir.clone(), hosts, mocks };
        let server = sfn_server::Server::open(builder, options)?.with_logs(logs);
        eprintln!("sfn serve: listening on http://{addr}");
        let (stop_console, console_stopped) = tokio::sync::watch::channel(false);
        let console = if args.no_console {
            None
        } else {
            let (listener, console_addr) = bind_console(console_port(args)).await?;
            let hosts = args.hostnames.iter().fold(sfn_server::HostPolicy::loopback(), |p, h| p.allow_host(h));
            let console = sfn_console::Console::new(Arc::new(server.api()));
            let mut stopped = console_stopped;
            let stop = async move {
                let _ = stopped.changed().await;
            };
            eprintln!("sfn serve: console on http://{console_addr}/");
            Some(tokio::spawn(console.serve(listener, hosts, stop)))
        };
        eprintln!("sfn serve: ECS backend {}", backend_name(args.ecs.ecs));
        if args.ecs.ecs != EcsBackendKind::Aws {
            announce_task_definitions(&args.ecs);
        }
        if host_commands {
            eprintln!(
                "sfn serve: --ecs local: ECS tasks run as processes of this user on this host, for every caller \
                 that reaches {addr}"
            );
        }
        server.serve(listener, shutdown).await?;
        let _ = stop_console.send(true);
        if let Some(task) = console {
            // A page's live update may be waiting: it is not worth waiting for.
            task.abort();
        }
        eprintln!("sfn serve: stopped");
        Ok(0)
    })
}
