//! The HTTP side, at the top of the crate's modules: the dispatch of every operation to the module that
//! answers it, the router, binding.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::Value;

use crate::error::{ApiError, ServerError};
use crate::logs::LogStore;
use crate::protocol::{body_json, operation, read_body, respond};
use crate::service::Service;

/// Runs one operation: the one place that knows which module answers which operation.
pub(crate) async fn call(service: &Service, op: &str, body: &Value) -> Result<Value, ApiError> {
    match op {
        "CreateStateMachine" => service.create_state_machine(body).await,
        "DescribeStateMachine" if Service::names_version(body) => {
            service.describe_version(body["stateMachineArn"].as_str().unwrap_or_default())
        }
        "DescribeStateMachine" => service.describe_state_machine(body),
        "PublishStateMachineVersion" => service.publish_state_machine_version(body).await,
        "ListStateMachineVersions" => service.list_state_machine_versions(body),
        "DeleteStateMachineVersion" => service.delete_state_machine_version(body).await,
        "CreateStateMachineAlias" => service.create_state_machine_alias(body).await,
        "DescribeStateMachineAlias" => service.describe_state_machine_alias(body),
        "UpdateStateMachineAlias" => service.update_state_machine_alias(body).await,
        "DeleteStateMachineAlias" => service.delete_state_machine_alias(body).await,
        "ListStateMachineAliases" => service.list_state_machine_aliases(body),
        "UpdateStateMachine" => service.update_state_machine(body).await,
        "DeleteStateMachine" => service.delete_state_machine(body).await,
        "ListStateMachines" => service.list_state_machines(body),
        "ValidateStateMachineDefinition" => {
            crate::machines::validate_definition(service.engine.integrations(), body)
        }
        "StartExecution" => service.start_execution(body).await,
        "StartSyncExecution" => service.start_sync_execution(body).await,
        "DescribeExecution" => service.describe_execution(body),
        "ListExecutions" if body.get("mapRunArn").is_some() && body.get("stateMachineArn").is_none() => {
            service.list_map_run_executions(body)
        }
        "ListExecutions" => service.list_executions(body),
        "DescribeMapRun" => service.describe_map_run(body),
        "ListMapRuns" => service.list_map_runs(body),
        "UpdateMapRun" => service.update_map_run(body).await,
        "GetExecutionHistory" => service.get_execution_history(body).await,
        "StopExecution" => service.stop_execution(body).await,
        "RedriveExecution" => service.redrive_execution(body).await,
        "DescribeStateMachineForExecution" => service.describe_state_machine_for_execution(body),
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => {
            crate::callback::send_task(service.engine.tokens(), op, body)
        }
        "TestState" => service.test_state(body).await,
        "CreateActivity" => service.create_activity(body).await,
        "DescribeActivity" => service.describe_activity(body),
        "ListActivities" => service.list_activities(body),
        "DeleteActivity" => service.delete_activity(body).await,
        "GetActivityTask" => service.get_activity_task(body).await,
        "TagResource" => service.tag_resource(body).await,
        "UntagResource" => service.untag_resource(body).await,
        "ListTagsForResource" => service.list_tags_for_resource(body),
        other => Err(ApiError::client(
            "UnknownOperationException",
            format!("The operation {other} is not supported by this endpoint"),
        )),
    }
}

async fn handle(
    State((service, logs)): State<(Arc<Service>, Arc<LogStore>)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    respond(async {
        let bytes = read_body(&headers, body).await?;
        // CloudWatch Logs (awsJson1_1) on the same port: the containers' output.
        let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if let Some(op) = target.strip_prefix(crate::logs::TARGET_PREFIX) {
            let input = body_json(&bytes)?;
            tracing::debug!(operation = %op, "logs request");
            return logs.call(op, &input);
        }
        let op = operation(&headers)?;
        let input = body_json(&bytes)?;
        let started = std::time::Instant::now();
        let answer = call(&service, &op, &input).await;
        // Every request at debug (`sfn serve -vv`, `RUST_LOG=debug`): the operation, its outcome, its time.
        match &answer {
            Ok(_) => tracing::debug!(operation = %op, elapsed = ?started.elapsed(), "request answered"),
            Err(e) => tracing::debug!(operation = %op, elapsed = ?started.elapsed(), error = %e.code, "request refused"),
        }
        answer
    })
    .await
}

pub(crate) fn router(
    service: Arc<Service>,
    logs: Arc<LogStore>,
    policy: Arc<crate::guard::HostPolicy>,
) -> Router {
    crate::guard::guarded(Router::new().route("/", post(handle)).with_state((service, logs)), policy)
}

/// Refuses a non-loopback `addr` unless `allow_remote`: the endpoint checks no credentials.
pub fn check_listen(addr: SocketAddr, allow_remote: bool) -> Result<(), ServerError> {
    if addr.ip().is_loopback() || allow_remote { Ok(()) } else { Err(ServerError::NotLoopback { addr }) }
}

/// Binds `addr` after [`check_listen`].
pub async fn bind(addr: SocketAddr, allow_remote: bool) -> Result<tokio::net::TcpListener, ServerError> {
    check_listen(addr, allow_remote)?;
    tokio::net::TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_unless_asked() {
        assert!(check_listen("127.0.0.1:8083".parse().unwrap(), false).is_ok());
        assert!(check_listen("[::1]:8083".parse().unwrap(), false).is_ok());
        let e = check_listen("0.0.0.0:8083".parse().unwrap(), false).unwrap_err();
        assert!(e.to_string().contains("--allow-remote"), "{e}");
        assert!(check_listen("0.0.0.0:8083".parse().unwrap(), true).is_ok());
    }
}
