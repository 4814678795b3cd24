//! `EcsIntegration`: `arn:aws:states:::ecs:runTask` with its three patterns, through any backend.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sfn_patterns::{
    CheckError, ErrorName, Failure, Lint, Pattern, ServiceIntegration, ServiceResource, Submission,
    TaskContext, failures_rule,
};

use crate::backend::{EcsBackend, RunTaskRequest};
use crate::lifecycle::StopCode;
use crate::model::{EcsFailure, RunTaskOutput, run_task_response, run_task_response_text};
use crate::params::{RunTaskParams, is_jsonata, lint_template};
use crate::poller::{PollIntervals, Poller, Stopped};
use crate::taskdef::TaskDefinitions;

/// What `.sync` adds to the parameters (recorded in TaskScheduled).
pub const STARTED_BY: &str = "AWS Step Functions";

/// The ECS service integration.
pub struct EcsIntegration {
    backend: Arc<dyn EcsBackend>,
    poller: Arc<Poller>,
}

impl std::fmt::Debug for EcsIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcsIntegration").field("backend", &self.backend.name()).finish()
    }
}

impl EcsIntegration {
    /// The integration over a backend, polling `.sync` tasks at the backend's pace (local: from 200 ms,
    /// sim and aws: from 1 s, backing off to a few seconds).
    pub fn new(backend: Arc<dyn EcsBackend>) -> Self {
        let intervals = match backend.name() {
            "local" => PollIntervals { initial: Duration::from_millis(200), cap: Duration::from_secs(1) },
            "sim" => PollIntervals { initial: Duration::from_secs(1), cap: Duration::from_secs(5) },
            _ => PollIntervals { initial: Duration::from_secs(1), cap: Duration::from_secs(10) },
        };
        Self::with_intervals(backend, intervals)
    }

    /// The integration with explicit poll intervals.
    pub fn with_intervals(backend: Arc<dyn EcsBackend>, intervals: PollIntervals) -> Self {
        let poller = Poller::new(backend.clone(), intervals);
        EcsIntegration { backend, poller }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn EcsBackend> {
        &self.backend
    }

    /// DescribeTasks poll rounds so far (benchmarks).
    pub fn poll_rounds(&self) -> u64 {
        self.poller.rounds()
    }

    /// RunTask with the evaluated parameters: what ECS answered, the request id and the response's date.
    async fn run_task(
        &self,
        ctx: &TaskContext,
        parameters: Value,
    ) -> Result<(RunTaskOutput, String, i64), Failure> {
        let params =
            RunTaskParams::parse(&parameters).map_err(|e| Failure::new(e.error_name(), e.message))?;
        let client_token = params.client_token.clone().or_else(|| Some(ctx.idempotency_key()));
        let req = RunTaskRequest {
            params,
            client_token,
            region: ctx.region.clone(),
            account: ctx.account.clone(),
            state_name: Some(ctx.state_name.clone()),
            execution_arn: Some(ctx.execution_arn.clone()),
        };
        let out = self.backend.run_task(&req).await.map_err(|e| Failure::new(e.error_name(), e.message))?;
        let date_ms = chrono::Utc::now().timestamp_millis();
        // ECS's own request id when a real ECS answered (the aws backend), else a fresh one.
        let request_id = out.request_id.clone().unwrap_or_else(sfn_patterns::request_id);
        Ok((out, request_id, date_ms))
    }
}

/// What a `.sync` wait keeps of its tasks: `[cluster, task, …]`.
fn flat_handle<'a>(tasks: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let flat = tasks
        .into_iter()
        .flat_map(|(c, t)| [Value::String(c.to_owned()), Value::String(t.to_owned())])
        .collect();
    Value::Array(flat)
}

fn task_failed(task: &Value) -> Failure {
    Failure::new(ErrorName::TaskFailed, serde_json::to_string(task).unwrap_or_default())
}

/// Every `(ClusterArn, TaskArn)` of a RunTask response, or of the compact handle
/// ([`EcsIntegration`]'s `handle`: `[cluster, task, cluster, task, …]`), borrowed.
fn submitted_tasks(submitted: &Value) -> Vec<(&str, &str)> {
    if let Value::Array(flat) = submitted {
        return flat.chunks_exact(2).filter_map(|p| Some((p[0].as_str()?, p[1].as_str()?))).collect();
    }
    submitted["Tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["ClusterArn"].as_str()?, t["TaskArn"].as_str()?)))
        .collect()
}

/// A literal TaskDefinition that names no known family or revision, and container override `Name`s that
/// are not containers of the task definition: (pointer relative to the parameters, message naming the
/// known ones).
fn task_definition_lints(tds: &TaskDefinitions, td: &str, params: &Value) -> Vec<(String, String)> {
    let family = TaskDefinitions::family_of(td);
    let Some((_, rev, def)) = tds.resolve(td) else {
        let revisions = tds.revisions(family);
        let message = if revisions.is_empty() {
            format!(
                "task definition '{td}': family '{family}' is not among the task definitions given (families: {})",
                tds.families().collect::<Vec<_>>().join(", ")
            )
        } else {
            format!(
                "task definition '{td}': family '{family}' has no such revision among the task definitions given (revisions: {})",
                revisions.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            )
        };
        return vec![("/TaskDefinition".to_owned(), message)];
    };
    let names: Vec<&str> = def.container_definitions.iter().map(|c| c.name.as_str()).collect();
    let overrides = params.pointer("/Overrides/ContainerOverrides").and_then(Value::as_array);
    let mut out = Vec::new();
    for (i, o) in overrides.into_iter().flatten().enumerate() {
        if let Some(v @ Value::String(name)) = o.get("Name")
            && !is_jsonata(v)
            && !names.contains(&name.as_str())
        {
            out.push((
                format!("/Overrides/ContainerOverrides/{i}/Name"),
                format!(
                    "'{name}' is not a container of task definition {family}:{rev} (containers: {})",
                    names.join(", ")
                ),
            ));
        }
    }
    out
}

fn contains_token_path(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("$$.Task.Token") || s.contains("$states.context.Task.Token"),
        Value::Array(a) => a.iter().any(contains_token_path),
        Value::Object(m) => m.values().any(contains_token_path),
        _ => false,
    }
}

#[async_trait]
impl ServiceIntegration for EcsIntegration {
    fn service(&self) -> &str {
        "ecs"
    }

    /// Every pattern's mock is checked against RunTask's response model (the one action).
    fn check_result(
        &self,
        _resource: &ServiceResource,
        result: &Value,
        _strict: bool,
    ) -> Result<(), sfn_patterns::MockResultError> {
        crate::model::check_run_task_result(result)
    }

    fn check(&self, resource: &ServiceResource) -> Result<(), CheckError> {
        let arn = format!(
            "arn:{}:states:::ecs:{}{}",
            resource.partition,
            resource.action,
            resource.pattern.suffix()
        );
        if resource.action != "runTask" || resource.pattern == Pattern::Sync2 {
            return Err(CheckError::unsupported(format!(
                "The resource provided {arn} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
            )));
        }
        Ok(())
    }

    fn lint(&self, resource: &ServiceResource, state: &Value) -> Vec<Lint> {
        let mut out = Vec::new();
        let mut push = |code: &str, pointer: String, message: String| {
            out.push(Lint { code: code.to_owned(), pointer, message });
        };
        let (field, params) = match (state.get("Parameters"), state.get("Arguments")) {
            (Some(p), _) => ("Parameters", Some(p)),
            (None, Some(a)) => ("Arguments", Some(a)),
            _ => ("Parameters", None),
        };
        let pattern = resource.pattern;
        if let Some(p) = params {
            for i in lint_template(p) {
                let code = if i.message.starts_with("unknown field") {
                    "ECS_UNKNOWN_FIELD"
                } else {
                    "ECS_INVALID_PARAMETER"
                };
                push(code, format!("/{field}{}", i.pointer), i.message);
            }
            if pattern == Pattern::WaitForTaskToken && !contains_token_path(p) {
                push(
                    "ECS_TOKEN_NOT_PASSED",
                    format!("/{field}"),
                    "the task token ($$.Task.Token) is never passed to the task, so it can never call back and the state can only time out".to_owned(),
                );
            }
            if p.get("LaunchType").is_some() && p.get("CapacityProviderStrategy").is_some() {
                push(
                    "ECS_LAUNCH_TYPE_AND_CAPACITY_PROVIDER",
                    format!("/{field}/LaunchType"),
                    "LaunchType and CapacityProviderStrategy cannot be used together (ECS rejects the request)".to_owned(),
                );
            }
            if let Some(c) = p.get("Count").and_then(Value::as_i64)
                && !(1..=10).contains(&c)
            {
                push(
                    "ECS_COUNT_RANGE",
                    format!("/{field}/Count"),
                    format!("Count must be between 1 and 10, got {c}"),
                );
            }
            // Only with task definitions at hand, and only for a TaskDefinition written as a literal: one
            // from a path, an intrinsic or a JSONata expression is known only at run time.
            if let (Some(tds), Some(v @ Value::String(td))) =
                (self.backend.task_definitions(), p.get("TaskDefinition"))
                && !is_jsonata(v)
            {
                for (pointer, message) in task_definition_lints(tds, td, p) {
                    push(
                        if pointer.ends_with("/Name") {
                            "ECS_UNKNOWN_CONTAINER"
                        } else {
                            "ECS_UNKNOWN_TASK_DEFINITION"
                        },
                        format!("/{field}{pointer}"),
                        message,
                    );
                }
                if let Some((_, _, def)) = tds.resolve(td)
                    && pattern.is_sync()
                {
                    for c in def.container_definitions.iter().filter(|c| !c.is_essential()) {
                        push(
                            "ECS_NON_ESSENTIAL_SYNC",
                            format!("/{field}/TaskDefinition"),
                            format!(
                                "container '{}' is not essential: with .sync, a non-zero exit code of any container (sidecars included) fails the state",
                                c.name
                            ),
                        );
                    }
                }
            }
        }
        let has = |k: &str| state.get(k).is_some() || state.get(format!("{k}Path")).is_some();
        if pattern != Pattern::RequestResponse && !has("TimeoutSeconds") {
            push(
                "ECS_NO_TIMEOUT",
                String::new(),
                format!("{pattern} without TimeoutSeconds: Step Functions waits up to a year for the task"),
            );
        }
        if pattern == Pattern::WaitForTaskToken && !has("HeartbeatSeconds") {
            push(
                "ECS_NO_HEARTBEAT",
                String::new(),
                "callback without HeartbeatSeconds: a task that dies before calling back hangs the state until TimeoutSeconds (and the task is not stopped on timeout)".to_owned(),
            );
        }
        out
    }

    fn prepare(&self, resource: &ServiceResource, mut parameters: Value) -> Value {
        if resource.pattern.is_sync()
            && let Value::Object(m) = &mut parameters
        {
            m.insert("StartedBy".into(), Value::String(STARTED_BY.to_owned()));
        }
        parameters
    }

    /// What a `.sync` wait keeps of the RunTask response: its tasks' cluster and task ARNs, flat
    /// (`[cluster, task, …]`: two strings per task, where the response's shape would cost two maps).
    fn handle(&self, submitted: &Value) -> Value {
        flat_handle(submitted_tasks(submitted))
    }

    async fn submit(&self, ctx: &TaskContext, parameters: Value) -> Result<Value, Failure> {
        let (out, request_id, date_ms) = self.run_task(ctx, parameters).await?;
        let response = run_task_response(&out, &request_id, date_ms);
        failures_rule(ctx.resource.pattern, &response, "AmazonECS.Unknown")?;
        Ok(response)
    }

    /// The RunTask response's text, written from the tasks (no value built to be written out and
    /// dropped), and the handle taken from them.
    async fn submit_job(&self, ctx: &TaskContext, parameters: Value) -> Result<Submission, Failure> {
        let (out, request_id, date_ms) = self.run_task(ctx, parameters).await?;
        let failures = Value::Array(out.failures.iter().map(EcsFailure::to_json).collect());
        failures_rule(
            ctx.resource.pattern,
            &Value::Object([("Failures".to_owned(), failures)].into_iter().collect()),
            "AmazonECS.Unknown",
        )?;
        let handle = flat_handle(out.tasks.iter().map(|t| (t.cluster_arn.as_str(), t.task_arn.as_str())));
        Ok(Submission::Rendered { text: run_task_response_text(&out, &request_id, date_ms), handle })
    }

    async fn wait(&self, ctx: &TaskContext, submitted: &Value) -> Result<Value, Failure> {
        let tasks = submitted_tasks(submitted);
        if tasks.is_empty() {
            return Err(Failure::new(ErrorName::TaskFailed, "RunTask started no task"));
        }
        let mut first = None;
        for (cluster, arn) in tasks {
            let task = match self.poller.wait(cluster, arn).await {
                Stopped::Task(t) => *t,
                Stopped::Missing => {
                    return Err(Failure::new(
                        ErrorName::TaskFailed,
                        serde_json::json!({"Arn": arn, "Reason": "MISSING"}).to_string(),
                    ));
                }
                Stopped::Error(e) => {
                    // DescribeTasks failed beyond the SDK's retries: the state fails, and the tasks it can no
                    // longer track are stopped rather than left running (best effort).
                    let reason = format!("Step Functions could not track the task ({})", e.error_name());
                    self.stop(ctx, submitted, &reason).await;
                    return Err(Failure::new(e.error_name(), e.message));
                }
            };
            let json = task.to_json();
            // Any container that exited non-zero (essential or not) or never ran fails the state;
            // so does a task that failed to start.
            let bad = task.stop_code == Some(StopCode::TaskFailedToStart)
                || task.containers.iter().any(|c| c.exit_code != Some(0));
            if bad {
                return Err(task_failed(&json));
            }
            first.get_or_insert(json);
        }
        first.ok_or_else(|| Failure::new(ErrorName::TaskFailed, "RunTask started no task"))
    }

    async fn stop(&self, _ctx: &TaskContext, submitted: &Value, reason: &str) {
        for (cluster, arn) in submitted_tasks(submitted) {
            if let Err(e) = self.backend.stop_task(cluster, arn, reason).await {
                tracing::warn!(task = %arn, "StopTask failed: {e}");
            }
        }
    }

    fn release(&self, handle: &Value) {
        for (_, arn) in submitted_tasks(handle) {
            self.backend.release(arn);
        }
    }
}

/// Loads task definitions for the lints and the local backend (`None` when the directory is absent).
pub fn load_task_definitions(
    dir: &std::path::Path,
) -> Result<TaskDefinitions, crate::error::TaskDefinitionError> {
    TaskDefinitions::load_dir(dir)
}
