//! Nested executions: the server's machines as the `states:startExecution` integration's
//! [`Executions`], so a parent's children are ordinary executions of this server (StartExecution's rules
//! and errors, listed, described, journaled, stopped like any other).

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sfn_patterns::{ApiError as TaskApiError, ChildExecution, Executions, StartChild};

use crate::error::ApiError;
use crate::service::Service;

/// How often a child that this process could not resume is looked at again.
const STORED_POLL: Duration = Duration::from_secs(1);

/// The server's executions, bound to its [`Service`] once it exists (the engine that runs them is built
/// first, with this integration in it).
#[derive(Debug, Default)]
pub(crate) struct ServerExecutions {
    service: OnceLock<Weak<Service>>,
    /// The EXPRESS children started here, until they are waited for: the registry keeps no EXPRESS
    /// execution (no DescribeExecution), so a `.sync` parent waits on the engine's execution itself.
    express: Arc<std::sync::Mutex<std::collections::HashMap<String, Express>>>,
}

/// How long an EXPRESS child is kept after it ended when no `.sync` parent waited for it (a
/// request-response or callback start): an EXPRESS execution lasts at most five minutes.
const EXPRESS_KEPT: Duration = Duration::from_secs(300);

/// An EXPRESS child execution a parent started.
#[derive(Debug)]
struct Express {
    execution: Arc<sfn_engine::Execution>,
    state_machine_arn: String,
    name: String,
    input: String,
}

impl ServerExecutions {
    /// Binds the service (the first call wins).
    pub(crate) fn bind(&self, service: &Arc<Service>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    /// The service; executions resumed while the server opens may ask before it is bound.
    fn express(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Express>> {
        self.express.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn service(&self) -> Result<Arc<Service>, TaskApiError> {
        for _ in 0..100 {
            if let Some(s) = self.service.get() {
                return s.upgrade().ok_or_else(closed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(closed())
    }
}

fn closed() -> TaskApiError {
    TaskApiError::new("ServiceUnavailable", "the server is not running")
}

fn task_error(e: ApiError) -> TaskApiError {
    TaskApiError::new(e.code, e.message)
}

/// Seconds (DescribeExecution's dates) as milliseconds.
fn millis(v: &Value) -> Option<i64> {
    v.as_f64().map(|s| (s * 1000.0).round() as i64)
}

/// DescribeExecution's answer as a [`ChildExecution`].
fn child(d: &Value) -> ChildExecution {
    let s = |k: &str| d[k].as_str().map(str::to_owned);
    ChildExecution {
        execution_arn: s("executionArn").unwrap_or_default(),
        state_machine_arn: s("stateMachineArn").unwrap_or_default(),
        name: s("name").unwrap_or_default(),
        status: s("status").unwrap_or_default(),
        input: s("input").unwrap_or_default(),
        output: s("output"),
        error: s("error"),
        cause: s("cause"),
        start_date_ms: millis(&d["startDate"]).unwrap_or_default(),
        stop_date_ms: millis(&d["stopDate"]),
    }
}

#[async_trait]
impl Executions for ServerExecutions {
    async fn start(&self, request: StartChild) -> Result<ChildExecution, TaskApiError> {
        let service = self.service().await?;
        let mut body = json!({"stateMachineArn": request.state_machine_arn, "input": request.input});
        if let Some(n) = &request.name {
            body["name"] = json!(n);
        }
        let (started, express) = service.start_execution_with(&body).await.map_err(task_error)?;
        let arn = started["executionArn"].as_str().unwrap_or_default();
        if let Some(execution) = express {
            // `…:express:MACHINE:NAME:ID`.
            let name =
                request.name.clone().unwrap_or_else(|| arn.rsplit(':').nth(1).unwrap_or_default().to_owned());
            let child = ChildExecution::running(
                arn,
                &request.state_machine_arn,
                &name,
                &request.input,
                execution.start_date.timestamp_millis(),
            );
            let kept = Express {
                execution,
                state_machine_arn: request.state_machine_arn,
                name,
                input: request.input,
            };
            let ended = kept.execution.clone();
            self.express().insert(arn.to_owned(), kept);
            let (map, arn) = (self.express.clone(), arn.to_owned());
            tokio::spawn(async move {
                ended.wait().await;
                tokio::time::sleep(EXPRESS_KEPT).await;
                map.lock().unwrap_or_else(|e| e.into_inner()).remove(&arn);
            });
            return Ok(child);
        }
        match service.describe_execution(&json!({"executionArn": arn})) {
            Ok(d) => Ok(child(&d)),
            // An EXPRESS child is not recorded: what StartExecution answered is all there is.
            Err(_) => Ok(ChildExecution {
                execution_arn: arn.to_owned(),
                state_machine_arn: request.state_machine_arn,
                name: request.name.unwrap_or_default(),
                status: "RUNNING".to_owned(),
                input: request.input,
                output: None,
                error: None,
                cause: None,
                start_date_ms: millis(&started["startDate"]).unwrap_or_default(),
                stop_date_ms: None,
            }),
        }
    }

    async fn wait(&self, execution_arn: &str) -> Result<ChildExecution, TaskApiError> {
        let express = self.express().get(execution_arn).map(|e| e.execution.clone());
        if let Some(execution) = express {
            // An EXPRESS child: its outcome, in DescribeExecution's shape (as for a STANDARD child).
            let o = execution.wait().await;
            let Some(e) = self.express().remove(execution_arn) else {
                return Err(TaskApiError::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{execution_arn}'"),
                ));
            };
            return Ok(ChildExecution {
                execution_arn: execution_arn.to_owned(),
                state_machine_arn: e.state_machine_arn,
                name: e.name,
                status: o.status.as_str().to_owned(),
                input: e.input,
                output: o.output.as_ref().map(Value::to_string),
                error: o.error,
                cause: o.cause,
                start_date_ms: execution.start_date.timestamp_millis(),
                stop_date_ms: Some(o.stop_date.timestamp_millis()),
            });
        }
        let service = self.service().await?;
        let entry = service.execution(execution_arn).map_err(task_error)?;
        while entry.ended().is_none() {
            match entry.live() {
                Some(execution) => {
                    execution.wait().await;
                }
                None => tokio::time::sleep(STORED_POLL).await,
            }
        }
        service
            .describe_execution(&json!({"executionArn": execution_arn}))
            .map(|d| child(&d))
            .map_err(task_error)
    }

    async fn stop(&self, execution_arn: &str, error: Option<String>, cause: Option<String>) {
        let express = self.express().get(execution_arn).map(|e| e.execution.clone());
        if let Some(execution) = express {
            execution.stop_with(error, cause);
            return;
        }
        let Ok(service) = self.service().await else { return };
        let mut body = json!({"executionArn": execution_arn});
        if let Some(e) = error {
            body["error"] = json!(e);
        }
        if let Some(c) = cause {
            body["cause"] = json!(c);
        }
        if let Err(e) = service.stop_execution(&body).await {
            tracing::warn!(execution = execution_arn, error = %e.message, "cannot stop a child execution");
        }
    }
}
