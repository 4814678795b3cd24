//! The seam between the ECS integration and where tasks actually run.

use async_trait::async_trait;

use crate::error::EcsError;
use crate::model::{DescribeOutput, RunTaskOutput};
use crate::params::RunTaskParams;
use crate::taskdef::TaskDefinitions;

/// One RunTask call.
#[derive(Debug, Clone, Default)]
pub struct RunTaskRequest {
    /// The checked parameters.
    pub params: RunTaskParams,
    /// Idempotency token (RunTask `ClientToken`): the same token returns the same tasks.
    pub client_token: Option<String>,
    /// Region (ARNs).
    pub region: String,
    /// Account (ARNs).
    pub account: String,
    /// The Task state that asks (the local backend labels its containers' output with it).
    pub state_name: Option<String>,
    /// The execution that asks.
    pub execution_arn: Option<String>,
}

/// Where ECS tasks run: the local host, a simulator, or Amazon ECS.
#[async_trait]
pub trait EcsBackend: Send + Sync {
    /// A short name (`local`, `sim`, `aws`).
    fn name(&self) -> &'static str;

    /// RunTask.
    async fn run_task(&self, req: &RunTaskRequest) -> Result<RunTaskOutput, EcsError>;

    /// DescribeTasks for at most 100 ARNs of one cluster.
    async fn describe_tasks(&self, cluster: &str, arns: &[String]) -> Result<DescribeOutput, EcsError>;

    /// StopTask.
    async fn stop_task(&self, cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError>;

    /// A `.sync` state's history has the end of task `arn` on record (not an ECS operation): the local
    /// backend may delete what it keeps for a resumed execution to ask (a supervised task's directory) at
    /// its retention, instead of an hour after the task stopped. The default does nothing.
    fn release(&self, _arn: &str) {}

    /// The task definitions the backend knows (for static checks), when it knows them locally.
    fn task_definitions(&self) -> Option<&TaskDefinitions> {
        None
    }
}

/// `arn:aws:ecs:<region>:<account>:cluster/<name>` for a cluster name (an ARN is kept as is).
pub fn cluster_arn(cluster: &str, region: &str, account: &str) -> String {
    if cluster.starts_with("arn:") {
        cluster.to_owned()
    } else {
        format!("arn:aws:ecs:{region}:{account}:cluster/{cluster}")
    }
}

/// The cluster name of a name or ARN.
pub fn cluster_name(cluster: &str) -> &str {
    cluster.rsplit_once("cluster/").map_or(cluster, |(_, n)| n)
}

/// Epoch milliseconds of a clock reading.
pub(crate) fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}
