//! CloudWatch Logs on `sfn serve`'s port: a `.sync` task whose container has an `awslogs` configuration
//! writes to `prefix/container/task-id` in its group, and the AWS CLI reads it with `aws logs
//! get-log-events --endpoint-url …` (awscli v1 as `python -m awscli`; Python from `SFN_TEST_PYTHON`, else
//! the workspace's `.venv`, else `python3`; `SFN_SKIP_BOTO3=1` skips it as it skips the boto3 test), and
//! `sfn logs EXECUTION_ARN|TASK_ARN` prints it.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{root, unique};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("SFN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    if venv.exists() { venv } else { PathBuf::from("python3") }
}

#[test]
fn aws_logs_get_log_events_reads_a_served_tasks_container_output() {
    if std::env::var("SFN_SKIP_BOTO3").is_ok_and(|v| v == "1") {
        eprintln!("aws_logs_get_log_events: SKIPPED because SFN_SKIP_BOTO3=1");
        return;
    }
    let python = python();
    let probe = Command::new(&python).args(["-c", "import awscli"]).output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "{} cannot import awscli (`cargo xtask ci` installs it; set SFN_TEST_PYTHON or SFN_SKIP_BOTO3=1)",
        python.display()
    );
    let dir = std::env::temp_dir().join(format!("sfn-cli-logs-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(dir.join("task-definitions")).unwrap();
    let td = serde_json::json!({"family": "job", "cpu": "256", "memory": "512", "containerDefinitions": [{
        "name": "app", "image": "busybox", "entryPoint": ["sh", "-c"],
        "command": ["echo LOG-MARKER-1; echo LOG-MARKER-2 >&2"],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/job",
            "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]});
    std::fs::write(dir.join("task-definitions/job.json"), td.to_string()).unwrap();
    let def = serde_json::json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync", "Parameters": {"TaskDefinition": "job"}, "End": true}}});
    std::fs::write(dir.join("job.asl.json"), def.to_string()).unwrap();

    let mut serve = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(["serve", "--listen", "127.0.0.1:0", "--task-definitions"])
        .arg(dir.join("task-definitions"))
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(serve.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    let endpoint = first.trim().rsplit_once(' ').unwrap().1.to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{first}");
    // Keep reading the server's stderr so that it never blocks on a full pipe.
    let drain = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());

    let aws = |args: &[&str]| -> Value {
        let o = Command::new(&python)
            .args(["-m", "awscli", "--endpoint-url", &endpoint, "--output", "json"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert!(o.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap_or(Value::Null)
    };
    let definition = format!("file://{}", dir.join("job.asl.json").display());
    let machine = aws(&[
        "stepfunctions",
        "create-state-machine",
        "--name",
        "job",
        "--definition",
        &definition,
        "--role-arn",
        "arn:aws:iam::123456789012:role/sfn",
    ]);
    let arn = machine["stateMachineArn"].as_str().unwrap().to_owned();
    let started = aws(&["stepfunctions", "start-execution", "--state-machine-arn", &arn]);
    let execution = started["executionArn"].as_str().unwrap().to_owned();
    let mut described = Value::Null;
    for _ in 0..150 {
        described = aws(&["stepfunctions", "describe-execution", "--execution-arn", &execution]);
        if described["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap()).unwrap();
    let task_id = output["TaskArn"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let stream = format!("ecs/app/{task_id}");

    let streams = aws(&["logs", "describe-log-streams", "--log-group-name", "/ecs/job"]);
    assert_eq!(streams["logStreams"][0]["logStreamName"], stream.as_str(), "{streams}");
    let events =
        aws(&["logs", "get-log-events", "--log-group-name", "/ecs/job", "--log-stream-name", &stream]);
    let mut messages: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    messages.sort_unstable();
    assert_eq!(messages, ["LOG-MARKER-1", "LOG-MARKER-2"], "{events}");
    let filtered =
        aws(&["logs", "filter-log-events", "--log-group-name", "/ecs/job", "--filter-pattern", "MARKER-2"]);
    assert_eq!(filtered["events"][0]["message"], "LOG-MARKER-2", "{filtered}");

    // `sfn logs` of the execution and of its task.
    for arn in [execution.as_str(), output["TaskArn"].as_str().unwrap()] {
        let o = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .args(["logs", arn, "--endpoint-url", &endpoint])
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            printed.contains("[app] LOG-MARKER-1\n") && printed.contains("[app] LOG-MARKER-2\n"),
            "{printed}"
        );
    }

    let _ = Command::new("kill").args(["-TERM", &serve.id().to_string()]).status();
    let _ = serve.wait();
    // `RUST_LOG=debug sfn serve`: the start-up lines, every request, and each finished execution.
    let logged = drain.join().unwrap();
    assert!(logged.contains("sfn serve: task definitions from ") && logged.contains("job:1"), "{logged}");
    assert!(
        logged.contains("request answered") && logged.contains("operation=CreateStateMachine"),
        "{logged}"
    );
    assert!(logged.contains("execution finished") && logged.contains("status=\"SUCCEEDED\""), "{logged}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's `sfn serve` example, as written from the repository root (the port made free: `8083` →
/// an ephemeral one, `.sfn` → a temporary directory): the seed machine is created and its execution,
/// whose task definition the example names, succeeds.
#[test]
fn readme_serve_example_runs_as_written() {
    if std::env::var("SFN_SKIP_BOTO3").is_ok_and(|v| v == "1") {
        eprintln!("readme_serve_example: SKIPPED because SFN_SKIP_BOTO3=1");
        return;
    }
    let python = python();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split_once("## Serve the Step Functions API").unwrap().1;
    let block = section.split_once("```\n").unwrap().1.split_once("```").unwrap().0.replace("\\\n", " ");
    let lines: Vec<&str> = block.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let serve = lines[0].strip_prefix("sfn ").unwrap().strip_suffix(" &").unwrap();
    let state = std::env::temp_dir().join(format!("sfn-readme-serve-{}-{}", std::process::id(), unique()));
    let serve = serve.replace(".sfn", &state.display().to_string());
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn"))
        .args(serve.split_whitespace())
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(root())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    let endpoint = first.trim().rsplit_once(' ').unwrap().1.to_owned();
    let drain = std::thread::spawn(move || std::io::read_to_string(err).unwrap_or_default());
    let mut execution = String::new();
    for l in &lines[1..] {
        let l = l.replace("http://127.0.0.1:8083", &endpoint);
        let args: Vec<&str> = l.strip_prefix("aws ").unwrap().split_whitespace().collect();
        let o = Command::new(&python)
            .args(["-m", "awscli", "--output", "json"])
            .args(&args)
            .current_dir(root())
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{l}: {}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        if let Some(a) = v["executionArn"].as_str() {
            execution = a.to_owned();
        }
    }
    let mut status = Value::Null;
    for _ in 0..150 {
        let o = Command::new(&python)
            .args([
                "-m",
                "awscli",
                "--output",
                "json",
                "--endpoint-url",
                &endpoint,
                "stepfunctions",
                "describe-execution",
                "--execution-arn",
                &execution,
            ])
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "x")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .unwrap();
        status = serde_json::from_slice::<Value>(&o.stdout).unwrap()["status"].clone();
        if status != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let logged = drain.join().unwrap();
    assert_eq!(status, "SUCCEEDED", "{logged}");
    assert!(logged.contains("task definitions from fixtures/seed/task-definitions"), "{logged}");
    let _ = std::fs::remove_dir_all(&state);
}
