//! `sfn logs EXECUTION_ARN|TASK_ARN [--endpoint-url URL]`: the container output of a task, or of every
//! ECS task of an execution, from a running `sfn serve` (its CloudWatch Logs streams, read with
//! DescribeLogGroups, DescribeLogStreams and GetLogEvents as the AWS CLI would), each line `[container] …`.

use clap::Args;
use serde_json::{Value, json};

/// Arguments of `sfn logs`.
#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// An execution ARN (every ECS task it ran) or an ECS task ARN.
    pub(crate) arn: String,
    /// The `sfn serve` endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8083")]
    pub(crate) endpoint_url: String,
}

/// Every `TaskArn` in a JSON value (a RunTask response, a stopped task, a cause that is one).
fn task_arns(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(a)) = m.get("TaskArn")
                && !out.contains(a)
            {
                out.push(a.clone());
            }
            m.values().for_each(|x| task_arns(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| task_arns(x, out)),
        Value::String(s) if s.contains("TaskArn") => {
            if let Ok(inner) = serde_json::from_str::<Value>(s) {
                task_arns(&inner, out);
            }
        }
        _ => {}
    }
}

async fn tasks_of_execution(endpoint: &str, arn: &str) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = sfn_server::call_endpoint(endpoint, "AWSStepFunctions.GetExecutionHistory", &body).await?;
        for e in page["events"].as_array().into_iter().flatten() {
            if e["type"].as_str().is_some_and(|t| t.starts_with("Task")) {
                task_arns(e, &mut out);
            }
        }
        match page.get("nextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(out),
        }
    }
}

/// Prints every line of the streams of `task_arn` (`…/<task-id>` in any group).
async fn print_task(endpoint: &str, task_arn: &str) -> anyhow::Result<usize> {
    let call = |target: &'static str, body: Value| async move {
        sfn_server::call_endpoint(endpoint, &format!("Logs_20140328.{target}"), &body).await
    };
    let task_id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    let mut printed = 0;
    let groups = call("DescribeLogGroups", json!({})).await?;
    for g in groups["logGroups"].as_array().into_iter().flatten() {
        let Some(group) = g["logGroupName"].as_str() else { continue };
        let streams = call("DescribeLogStreams", json!({"logGroupName": group})).await?;
        for s in streams["logStreams"].as_array().into_iter().flatten() {
            let Some(stream) = s["logStreamName"].as_str().filter(|n| n.ends_with(&format!("/{task_id}")))
            else {
                continue;
            };
            // `prefix/container/task-id` (or `container/task-id`).
            let container = stream.rsplit('/').nth(1).unwrap_or(stream);
            let mut body = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true});
            loop {
                let page = call("GetLogEvents", body.clone()).await?;
                let events = page["events"].as_array().cloned().unwrap_or_default();
                for e in &events {
                    outln!("[{container}] {}", e["message"].as_str().unwrap_or_default());
                    printed += 1;
                }
                let next = page["nextForwardToken"].clone();
                if events.is_empty() || next == body["nextToken"] {
                    break;
                }
                body["nextToken"] = next;
            }
        }
    }
    Ok(printed)
}

/// Runs the command: exit 0 when lines were found, 1 when none, 2 when the server cannot answer.
pub(crate) fn run(args: &LogsArgs) -> anyhow::Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let tasks = if args.arn.contains(":execution:") {
            tasks_of_execution(&args.endpoint_url, &args.arn).await?
        } else {
            vec![args.arn.clone()]
        };
        let mut printed = 0;
        for t in &tasks {
            printed += print_task(&args.endpoint_url, t).await?;
        }
        if printed == 0 {
            eprintln!(
                "sfn logs: no log lines for {} ({} ECS task(s); only containers with an awslogs logConfiguration \
                 have a log stream)",
                args.arn,
                tasks.len()
            );
            return Ok(1);
        }
        Ok(0)
    })
}
