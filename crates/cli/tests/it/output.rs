//! What a user sees of a run (issue 18): container output on stderr prefixed `[State/container]` (also
//! without a TTY), `--quiet`, `--log-dir`, the human summary, the history table, AWS CLI habits for
//! `--input` and `--name`, examples in every `--help`, and the README's "More to try" commands as written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{root, sfn, unique};

/// A directory with `job.asl.json` (a `.sync` Task running `script`, caught into a Fail state) and its task
/// definition, with an awslogs configuration.
fn job(script: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-cli-output-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(dir.join("task-definitions")).unwrap();
    let td = serde_json::json!({"family": "job", "cpu": "256", "memory": "512", "containerDefinitions": [{
        "name": "app", "image": "busybox", "entryPoint": ["sh", "-c"], "command": [script],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/job",
            "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]});
    std::fs::write(dir.join("task-definitions/job.json"), td.to_string()).unwrap();
    let def = serde_json::json!({"StartAt": "Run job", "States": {
        "Run job": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 60,
            "Parameters": {"TaskDefinition": "job"},
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "End": true},
        "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "the job failed"}}});
    std::fs::write(dir.join("job.asl.json"), def.to_string()).unwrap();
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn"))
        .current_dir(dir)
        .args(["run", "job.asl.json"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const MARKERS: &str = "echo OUT-MARKER-7; echo ERR-MARKER-9 >&2; exit 3";

/// The done-when of issue 18: both markers on sfn's stderr, prefixed (stderr is a pipe here, no TTY);
/// the summary names the container and `ExitCode: 3` in at most 25 lines, and the error the Catch caught.
#[test]
fn a_failing_containers_output_is_on_stderr_and_the_summary_says_why() {
    let dir = job(MARKERS);
    let o = run_in(&dir, &[]);
    assert_eq!(o.status.code(), Some(1));
    let (out, err) = (text(&o.stdout), text(&o.stderr));
    assert!(err.contains("[Run job/app] OUT-MARKER-7"), "{err}");
    assert!(err.contains("[Run job/app] ERR-MARKER-9"), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() <= 25, "{out}");
    assert!(lines[0].starts_with("FAILED in "), "{out}");
    assert!(out.contains("error:  JobFailed"), "{out}");
    assert!(out.contains("container app: ExitCode: 3"), "{out}");
    assert!(out.contains("StopCode: EssentialContainerExited"), "{out}");
    assert!(out.contains("caught: States.TaskFailed in state \"Run job\""), "{out}");
    // The failing container's last lines.
    assert!(
        out.contains("last output of app:\n  OUT-MARKER-7\n") || out.contains("  ERR-MARKER-9\n"),
        "{out}"
    );
    // --quiet: nothing on stderr from the container.
    let q = run_in(&dir, &["--quiet"]);
    assert!(!text(&q.stderr).contains("MARKER"), "{}", text(&q.stderr));
}

/// `--format json` is the CLI contract, unchanged: one object, and the container output only on stderr.
#[test]
fn json_format_is_unchanged_by_container_output() {
    let dir = job(MARKERS);
    let o = run_in(&dir, &["--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"status": "FAILED", "error": "JobFailed", "cause": "the job failed"}));
    assert!(text(&o.stderr).contains("[Run job/app] OUT-MARKER-7"));
}

/// `printf '\377\376'; echo ok` in a container succeeds (before: SIGPIPE, exit 141).
#[test]
fn output_that_is_not_utf8_does_not_kill_the_container() {
    let dir = job(r"printf '\377\376'; echo ok");
    let o = run_in(&dir, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["output"]["Containers"][0]["ExitCode"], 0);
    assert!(text(&o.stderr).contains("[Run job/app] \u{fffd}\u{fffd}ok"), "{}", text(&o.stderr));
}

/// `--log-dir DIR`: each container's output in `DIR/<awslogs-group>/<prefix>/<container>/<task-id>`.
#[test]
fn log_dir_writes_each_awslogs_stream_as_a_file() {
    let dir = job(MARKERS);
    let o = run_in(&dir, &["--log-dir", "logs", "--quiet", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let streams = dir.join("logs/ecs/job/ecs/app");
    let files: Vec<PathBuf> = std::fs::read_dir(&streams).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let content = std::fs::read_to_string(&files[0]).unwrap();
    assert!(content.contains("OUT-MARKER-7\n") && content.contains("ERR-MARKER-9\n"), "{content}");
}

/// `--history` in the human format: a table with id, time since the start, type, state and a detail.
#[test]
fn history_is_a_table_for_people() {
    let dir = job(MARKERS);
    let o = run_in(&dir, &["--history", "--quiet"]);
    let out = text(&o.stdout);
    let table: Vec<&str> = out.lines().skip_while(|l| *l != "history:").skip(1).collect();
    assert!(table[0].split_whitespace().eq(["id", "+time", "type", "state", "detail"]), "{out}");
    let failed = table.iter().find(|l| l.contains("TaskFailed")).unwrap();
    assert!(failed.contains("Run job") && failed.contains("States.TaskFailed"), "{failed}");
    assert!(
        table.last().unwrap().contains("ExecutionFailed")
            && table.last().unwrap().contains("JobFailed: the job failed")
    );
}

/// `--input` as the AWS CLI takes it: inline JSON, `file://PATH`, a path, `-`; `--name` with
/// StartExecution's rules (the API reference: no white space, brackets, wildcards, special characters).
#[test]
fn input_and_name_follow_aws_cli_habits() {
    let dir = job("true");
    std::fs::write(
        dir.join("p.asl.json"),
        r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a","End":true}}}"#,
    )
    .unwrap();
    std::fs::write(dir.join("in.json"), r#"{"a": 2}"#).unwrap();
    let out = |input: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_sfn"))
            .current_dir(&dir)
            .args(["run", "p.asl.json", "--format", "json", "--input", input])
            .output()
            .unwrap();
        serde_json::from_slice::<Value>(&o.stdout).map(|v| v["output"].clone()).map_err(|_| text(&o.stderr))
    };
    assert_eq!(out(r#"{"a": 1}"#), Ok(serde_json::json!(1)));
    assert_eq!(out("file://in.json"), Ok(serde_json::json!(2)));
    assert_eq!(out("in.json"), Ok(serde_json::json!(2)));
    assert!(out("file://missing.json").unwrap_err().contains("cannot read the input file missing.json"));
    assert!(out("{not json").unwrap_err().contains("not valid JSON"));
    for bad in ["has space", "a/b", "x*", &"n".repeat(81)] {
        let o = sfn(&["run", "--name", bad, dir.join("p.asl.json").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(text(&o.stderr).contains("--name"), "{bad}: {}", text(&o.stderr));
    }
    let o = sfn(&[
        "run",
        "--name",
        "nightly-2026_12",
        "--input",
        r#"{"a":0}"#,
        "--format",
        "json",
        dir.join("p.asl.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// Every subcommand's `--help` ends with examples.
#[test]
fn every_help_ends_with_examples() {
    for cmd in ["validate", "run", "policy", "test-state", "serve", "graph", "journal", "logs"] {
        let o = sfn(&[cmd, "--help"]);
        let help = text(&o.stdout);
        let examples =
            help.rsplit_once("Examples:\n").map(|(_, e)| e).unwrap_or_else(|| panic!("{cmd}: {help}"));
        let n =
            examples.lines().filter(|l| l.trim_start().starts_with("sfn ") || l.contains(" sfn ")).count();
        assert!((2..=3).contains(&n), "{cmd}: {examples}");
    }
}

/// The README's "More to try" commands, as written, from the repository root (`sfn` = the built binary).
/// `sfn run my-job.asl.json --ecs aws` needs an AWS account and a definition of the reader's own: it is
/// checked to get as far as reading the definition. `sfn serve` runs until it says where it listens.
#[test]
fn readme_more_to_try_commands_run_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme.split_once("More to try:\n\n```\n").unwrap().1.split_once("```").unwrap().0;
    let joined = block.replace("\\\n", " ");
    // Each command with the exit code its comment promises (`# exit N: …`; 0 when it names none).
    let commands: Vec<(String, i32)> = joined
        .lines()
        .map(|l| {
            let (c, comment) = l.split_once("  #").unwrap_or((l, ""));
            let code = comment.trim().strip_prefix("exit ").and_then(|r| r.split(':').next()?.parse().ok());
            (c.trim().to_owned(), code.unwrap_or(0))
        })
        .filter(|(l, _)| !l.is_empty())
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    let bin = env!("CARGO_BIN_EXE_sfn");
    let state = std::env::temp_dir().join(format!("sfn-readme-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&state).unwrap();
    for (c, code) in &commands {
        let c = c.strip_prefix("sfn ").unwrap_or_else(|| panic!("not an sfn command: {c}"));
        // `.sfn` is the serve/journal state directory: kept out of the repository.
        let line = format!("{bin} {}", c.replace(".sfn", &state.join(".sfn").display().to_string()));
        if c.starts_with("serve") {
            let mut child = Command::new("sh")
                .args(["-c", &format!("exec {line} --listen 127.0.0.1:0")])
                .current_dir(root())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
            let mut first = String::new();
            std::io::BufRead::read_line(&mut err, &mut first).unwrap();
            assert!(first.contains("listening on http://127.0.0.1:"), "{c}: {first}");
            terminate(&mut child);
            continue;
        }
        let o =
            Command::new("sh").args(["-c", &line]).current_dir(root()).stdin(Stdio::null()).output().unwrap();
        if c.contains("my-job.asl.json") {
            assert!(text(&o.stderr).contains("my-job.asl.json"), "{c}: {}", text(&o.stderr));
            continue;
        }
        assert_eq!(o.status.code(), Some(*code), "{c}: {}{}", text(&o.stdout), text(&o.stderr));
    }
    let _ = std::fs::remove_dir_all(&state);
}

/// Ends a child with SIGTERM (serve's graceful shutdown) and waits for it.
fn terminate(child: &mut std::process::Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
