//! Security checks of the local backend: container commands never go through a shell, and secrets
//! given to containers never reach the logs at info level or above.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfn_ecs::{LocalBackend, SimBackend, SimScript};
use sfn_engine::ExecutionStatus;

use crate::support::{engine, machine, run, sync_tasks, tds};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";

fn backend() -> Arc<LocalBackend> {
    Arc::new(
        LocalBackend::new(tds(&[
            json!({"family": "print", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "entryPoint": ["printf", "%s"]}]}),
            json!({"family": "env", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "busybox", "command": ["env"]}]}),
        ]))
        .with_stop_grace(Duration::from_millis(300)),
    )
}

/// `; rm -rf <file>` reaches the process as one argv element: `printf %s` prints it back verbatim, and
/// the file is still there.
#[tokio::test]
async fn container_commands_are_never_passed_to_a_shell() {
    let sentinel = std::env::temp_dir().join(format!("sfn-no-shell-{}", std::process::id()));
    std::fs::write(&sentinel, "still here").unwrap();
    let hostile = [
        format!("; rm -rf {}", sentinel.display()),
        format!("$(rm -rf {})", sentinel.display()),
        format!("`rm -rf {}` && echo pwned | cat", sentinel.display()),
    ];
    let b = backend();
    let (engine_, _) = engine(b.clone());
    for arg in &hostile {
        let params = json!({"TaskDefinition": "print", "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.args"}]}});
        let (o, h) = run(&engine_, machine(SYNC, params, json!({})), json!({"args": [arg]})).await;
        assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
        let (_, arn) = sync_tasks(&h).pop().unwrap();
        let mut printed = Vec::new();
        for _ in 0..50 {
            printed = b.logs(&arn).into_iter().flat_map(|l| l.lines).collect();
            if !printed.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(printed, std::slice::from_ref(arg), "the argument was not passed as one argv element");
        assert!(sentinel.exists(), "{arg} ran as shell syntax");
    }
    std::fs::remove_file(&sentinel).unwrap();
}

/// Everything the process logs, as text (`LEVEL target: message` per line).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Overrides `Environment` values (a password, a token) never appear in log lines at info level or above,
/// whatever happens to the task; the capture does see them at debug level, where the container's own
/// output (`env`) is logged, so it would see them at info too.
#[tokio::test]
async fn secrets_in_container_environments_never_reach_logs_at_info_level() {
    const SECRET: &str = "s3cr3t-7f2a9c4e-do-not-log";
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let secret_env =
        json!([{"Name": "DB_PASSWORD", "Value": SECRET}, {"Name": "API_TOKEN", "Value.$": "$.token"}]);
    let override_env = |family: &str| json!({"TaskDefinition": family, "Overrides": {"ContainerOverrides": [{"Name": "app", "Environment": secret_env.clone()}]}});
    let input = json!({"token": SECRET});
    // The local backend: the container prints its environment.
    let b = backend();
    let (engine_, _) = engine(b);
    let (o, _) = run(&engine_, machine(SYNC, override_env("env"), json!({})), input.clone()).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    // The simulator: a task that fails, one that times out while StopTask fails (a warning is logged).
    let sim = Arc::new(
        SimBackend::new(SimScript::default())
            .script("crash", SimScript { exit_codes: [("app".to_owned(), 1)].into(), ..Default::default() })
            .script(
                "stuck",
                SimScript {
                    never_stops: true,
                    stop_task_error: Some("ServerException".into()),
                    ..Default::default()
                },
            ),
    );
    let (engine_, _) = engine(sim.clone());
    let (o, _) = run(&engine_, machine(SYNC, override_env("crash"), json!({})), input.clone()).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    let def = machine(SYNC, override_env("stuck"), json!({"TimeoutSeconds": 1}));
    let prepared = engine_.prepare(sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap(), "m").unwrap();
    let req =
        sfn_engine::StartRequest { execution_name: "stuck".into(), input, role_arn: None, input_text: None };
    let (o, h) = engine_.run(&prepared, req).await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    let (_, stuck) = sync_tasks(&h).pop().unwrap();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let level = |line: &str| line.split_whitespace().next().unwrap_or("").to_owned();
    let loud: Vec<&str> =
        text.lines().filter(|l| matches!(level(l).as_str(), "INFO" | "WARN" | "ERROR")).collect();
    assert!(loud.iter().all(|l| !l.contains(SECRET)), "a secret reached the logs: {loud:#?}");
    assert!(
        loud.iter().any(|l| level(l) == "WARN" && l.contains("StopTask failed") && l.contains(&stuck)),
        "the failed StopTask is logged with its task: {loud:#?}"
    );
    assert!(
        text.lines().any(|l| level(l) == "DEBUG" && l.contains(&format!("DB_PASSWORD={SECRET}"))),
        "the capture did not see the container's output at debug level"
    );
}
