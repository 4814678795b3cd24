//! Container output on the local backend (`output.rs`): streamed to a sink line by line, labelled with the
//! state and container, kept in a bounded buffer, never broken by bytes that are not UTF-8.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sfn_ecs::{LocalBackend, OUTPUT_BUFFER_BYTES, OutputLine, OutputSink, OutputSource, OutputStream};
use sfn_engine::ExecutionStatus;

use crate::support::{engine, machine, run, sync_tasks, tds};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";

/// One line the sink was given: (state, container, stream, text, `group:stream`).
type Seen = (Option<String>, String, OutputStream, String, Option<String>);

/// Every line the sink was given.
#[derive(Debug, Default)]
struct Lines(Mutex<Vec<Seen>>);

impl OutputSink for Lines {
    fn line(&self, source: &OutputSource, line: &OutputLine) {
        let stream = source.log_stream.as_ref().map(|s| format!("{}:{}", s.group, s.stream));
        self.0.lock().unwrap().push((
            source.state_name.clone(),
            source.container.clone(),
            line.stream,
            line.text.clone(),
            stream,
        ));
    }
}

fn backend(sink: Arc<Lines>) -> Arc<LocalBackend> {
    let sh = |family: &str, script: &str| {
        json!({"family": family, "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app",
            "image": "busybox", "entryPoint": ["sh", "-c"], "command": [script],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/jobs",
                "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]})
    };
    Arc::new(
        LocalBackend::new(tds(&[
            sh("markers", "echo out-marker; echo err-marker >&2; exit 3"),
            sh("binary", r"printf '\377\376'; echo ok"),
            // 20 MB on one line without a newline, then 200,000 short lines.
            sh("flood", "head -c 20000000 /dev/zero | tr '\\0' x; seq 1 200000"),
        ]))
        .with_stop_grace(Duration::from_millis(300))
        .with_output_sink(sink),
    )
}

/// A failing container's stdout and stderr both reach the sink, labelled with the Task state, the
/// container and the awslogs stream ECS would write (`prefix/container/task-id`), and stay in the task's log.
#[tokio::test]
async fn stdout_and_stderr_reach_the_sink_labelled_with_state_and_container() {
    let sink = Arc::new(Lines::default());
    let b = backend(sink.clone());
    let (engine_, _) = engine(b.clone());
    let (o, h) =
        run(&engine_, machine(SYNC, json!({"TaskDefinition": "markers"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"), "{o:?}");
    let (_, arn) = sync_tasks(&h).pop().unwrap();
    let task_id = arn.rsplit('/').next().unwrap();
    let lines = sink.0.lock().unwrap().clone();
    let stream = Some(format!("/ecs/jobs:ecs/app/{task_id}"));
    for (text, pipe) in [("out-marker", OutputStream::Stdout), ("err-marker", OutputStream::Stderr)] {
        assert!(
            lines.contains(&(Some("Run".into()), "app".into(), pipe, text.into(), stream.clone())),
            "{text} not streamed: {lines:?}"
        );
    }
    // The output is complete once the task is STOPPED.
    let kept: Vec<String> = b.logs(&arn).into_iter().flat_map(|l| l.lines).collect();
    assert!(kept.contains(&"out-marker".to_owned()) && kept.contains(&"err-marker".to_owned()), "{kept:?}");
}

/// `printf '\377\376'; echo ok`: the container is not killed by SIGPIPE (it used to exit 141); its bytes
/// are shown lossily.
#[tokio::test]
async fn output_that_is_not_utf8_never_breaks_the_pipe() {
    let sink = Arc::new(Lines::default());
    let b = backend(sink.clone());
    let (engine_, _) = engine(b.clone());
    let (o, h) =
        run(&engine_, machine(SYNC, json!({"TaskDefinition": "binary"}), json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(o.output.unwrap()["Containers"][0]["ExitCode"], 0);
    let (_, arn) = sync_tasks(&h).pop().unwrap();
    let kept: Vec<String> = b.logs(&arn).into_iter().flat_map(|l| l.lines).collect();
    assert_eq!(kept, ["\u{fffd}\u{fffd}ok"]);
}

/// A 20 MB line without a newline and 200,000 lines after it: everything is read (the container ends
/// normally), the sink sees every piece, and the task keeps only the last [`OUTPUT_BUFFER_BYTES`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_output_is_kept_within_the_bounded_buffer() {
    let sink = Arc::new(Lines::default());
    let b = backend(sink.clone());
    let (engine_, _) = engine(b.clone());
    let (o, h) = run(&engine_, machine(SYNC, json!({"TaskDefinition": "flood"}), json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let (_, arn) = sync_tasks(&h).pop().unwrap();
    let log = b.logs(&arn).pop().unwrap();
    assert!(log.output.retained_bytes() <= OUTPUT_BUFFER_BYTES, "{}", log.output.retained_bytes());
    assert_eq!(log.lines.back().map(String::as_str), Some("200000"));
    assert!(log.output.dropped() > 0);
    let lines = sink.0.lock().unwrap();
    let streamed: usize = lines.iter().map(|l| l.3.len()).sum();
    // 20,000,000 x's (the last piece runs into "1") and the digits of 1..=200000.
    let digits: usize = (1..=200_000u32).map(|i| i.to_string().len()).sum();
    assert_eq!(streamed, 20_000_000 + digits);
    assert!(lines.iter().all(|l| l.3.len() <= sfn_ecs::MAX_LINE_BYTES));
}
