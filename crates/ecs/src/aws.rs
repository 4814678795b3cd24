//! `aws`: Amazon ECS itself, through aws-sdk-ecs (feature `aws`).
//!
//! The PascalCase RunTask parameters are mapped field by field onto the SDK's builders (the SDK sends
//! ECS's camelCase wire form), and the SDK's tasks, containers and failures are mapped back into the
//! same model types the local and sim backends return — so a state's output has the same shape
//! whichever backend ran it, plus the fields only a real ECS reports (`Attachments`,
//! `AvailabilityZone`, each container's `NetworkInterfaces`, …).
//!
//! Every RunTask carries a `ClientToken` (the integration derives it from execution, state and
//! attempt), so a RunTask the SDK retries never starts a task twice.
//!
//! ## Errors
//! Step Functions names ECS errors `ECS.<ErrorCode>` with the `Exception` suffix (the "AWS SDK
//! integrations" page: "the resulting Error field will be composed of the service name and the error
//! name … Always include the Exception suffix",
//! <https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html>), and its
//! cause is the Java SDK's message, e.g. `User: … is not authorized to perform: iam:PassRole … (Service:
//! AmazonECS; Status Code: 400; Error Code: AccessDeniedException; Request ID: …)` (a `.sync` run
//! reported in serverless-operations/serverless-step-functions#189). So:
//!
//! | SDK outcome | error name | cause |
//! |---|---|---|
//! | service error with a code | `ECS.<Code>` (`ECS.ClusterNotFoundException`, `ECS.AccessDeniedException`, …) | message + `(Service: AmazonECS; Status Code; Error Code; Request ID)` |
//! | service error without a code (an HTTP 5xx with no body) | `ECS.AmazonECSException` (the generic ECS exception, cdklabs/construct-hub#415) | the HTTP status |
//! | no response in time | `ECS.ClientExecutionTimeoutException` | what timed out |
//! | connection refused/reset, DNS, TLS, no credentials, a 2xx response the SDK cannot read | `ECS.SdkClientException` | what failed (`Unable to load AWS credentials for ECS RunTask: …`) |
//!
//! The last two follow the names Step Functions documents for the transient client-side errors of its
//! optimized integrations (`Lambda.SdkClientException`, `Lambda.ClientExecutionTimeoutException`,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>), with the
//! `ECS.` prefix. Throttling, HTTP 5xx, timeouts and connection errors are first retried by the SDK
//! ([`AwsBackend::retry_config`]: standard mode, [`AwsBackend::MAX_ATTEMPTS`] attempts, exponential
//! back-off with jitter); only what is left when those retries are exhausted reaches the state, where
//! Retry/Catch match the names above.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::config::timeout::TimeoutConfig;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::operation::RequestId;
use aws_sdk_ecs::types as ecs;
use serde_json::{Map, Value, json};

use crate::backend::{EcsBackend, RunTaskRequest};
use crate::error::EcsError;
use crate::lifecycle::{DesiredStatus, LastStatus, StopCode};
use crate::model::{DescribeOutput, EcsContainer, EcsFailure, EcsTask, RunTaskOutput};
use crate::params::{ContainerOverride, RunTaskParams, TaskOverride};

/// The backend on Amazon ECS.
#[derive(Debug, Clone)]
pub struct AwsBackend {
    client: Client,
    region: Option<String>,
}

impl AwsBackend {
    /// Attempts per ECS call (the first one included) before an error reaches the state.
    pub const MAX_ATTEMPTS: u32 = 5;

    /// The SDK retry policy of [`AwsBackend::from_env`]: standard mode (throttling, HTTP 5xx, timeouts
    /// and connection errors are retried; other client errors are not), [`AwsBackend::MAX_ATTEMPTS`]
    /// attempts, back-off with jitter from 1 s up to 20 s.
    pub fn retry_config() -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(Self::MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_secs(1))
            .with_max_backoff(Duration::from_secs(20))
    }

    /// The SDK timeouts of [`AwsBackend::from_env`]: connect within 5 s, each attempt within 30 s, a whole
    /// call (retries included) within 3 minutes.
    pub fn timeout_config() -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .operation_timeout(Duration::from_secs(180))
            .build()
    }

    /// The backend from the aws-config default chain (`BehaviorVersion::latest()`): region from
    /// `AWS_REGION` or the profile, credentials from the environment, `AWS_PROFILE` (SSO and
    /// `credential_process` included), web identity, ECS or EC2 instance metadata; endpoint from
    /// `AWS_ENDPOINT_URL_ECS` (moto, LocalStack) or `AWS_ENDPOINT_URL`. Retries and timeouts are
    /// [`AwsBackend::retry_config`] and [`AwsBackend::timeout_config`].
    ///
    /// Nothing is checked here: missing credentials surface on the first call, as
    /// `ECS.SdkClientException`.
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(Self::retry_config())
            .timeout_config(Self::timeout_config())
            .load()
            .await;
        Self::from_sdk_config(&config)
    }

    /// The backend on a loaded AWS configuration, used as given (its retry and timeout settings too).
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        Self::from_conf(aws_sdk_ecs::Config::from(config))
    }

    /// The backend on an ECS client configuration, used as given (tests pass a replaying HTTP client).
    pub fn from_conf(conf: aws_sdk_ecs::Config) -> Self {
        let region = conf.region().map(|r| r.as_ref().to_owned());
        AwsBackend { client: Client::from_conf(conf), region }
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The region of the configuration, when one is set.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

#[async_trait]
impl EcsBackend for AwsBackend {
    fn name(&self) -> &'static str {
        "aws"
    }

    async fn run_task(&self, req: &RunTaskRequest) -> Result<RunTaskOutput, EcsError> {
        let p = &req.params;
        // Always a ClientToken: the SDK's retries of this call, and RunTask calls repeated with the same
        // token, then start the task once.
        let token = req
            .client_token
            .clone()
            .or_else(|| p.client_token.clone())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let call = self
            .client
            .run_task()
            .client_token(token)
            .set_capacity_provider_strategy(capacity_provider_strategy(p)?)
            .set_cluster(p.cluster.clone())
            .set_count(p.count.map(|c| int(c, "/Count")).transpose()?)
            .set_enable_ecs_managed_tags(p.enable_ecs_managed_tags)
            .set_enable_execute_command(p.enable_execute_command)
            .set_group(p.group.clone())
            .set_launch_type(p.launch_type.as_deref().map(ecs::LaunchType::from))
            .set_network_configuration(
                p.network_configuration.as_ref().map(network_configuration).transpose()?,
            )
            .set_overrides(p.overrides.as_ref().map(task_override).transpose()?)
            .set_placement_constraints(p.placement_constraints.as_ref().map(|v| {
                v.iter()
                    .map(|c| {
                        ecs::PlacementConstraint::builder()
                            .set_type(text(c, "Type").map(|t| ecs::PlacementConstraintType::from(t.as_str())))
                            .set_expression(text(c, "Expression"))
                            .build()
                    })
                    .collect()
            }))
            .set_placement_strategy(p.placement_strategy.as_ref().map(|v| {
                v.iter()
                    .map(|s| {
                        ecs::PlacementStrategy::builder()
                            .set_type(text(s, "Type").map(|t| ecs::PlacementStrategyType::from(t.as_str())))
                            .set_field(text(s, "Field"))
                            .build()
                    })
                    .collect()
            }))
            .set_platform_version(p.platform_version.clone())
            .set_propagate_tags(p.propagate_tags.as_deref().map(ecs::PropagateTags::from))
            .set_reference_id(p.reference_id.clone())
            .set_started_by(p.started_by.clone())
            .set_tags(p.tags.as_ref().map(|tags| {
                tags.iter()
                    .map(|t| ecs::Tag::builder().set_key(t.key.clone()).set_value(t.value.clone()).build())
                    .collect()
            }))
            .task_definition(p.task_definition.clone())
            .set_volume_configurations(volume_configurations(p)?);
        let out = call.send().await.map_err(|e| sdk_error("RunTask", e))?;
        Ok(RunTaskOutput {
            tasks: out.tasks().iter().map(task).collect(),
            failures: out.failures().iter().map(failure).collect(),
            request_id: out.request_id().map(str::to_owned),
        })
    }

    async fn describe_tasks(&self, cluster: &str, arns: &[String]) -> Result<DescribeOutput, EcsError> {
        if arns.len() > crate::poller::DESCRIBE_BATCH {
            return Err(EcsError::invalid_parameter("Tasks cannot contain more than 100 elements"));
        }
        let out = self
            .client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("DescribeTasks", e))?;
        Ok(DescribeOutput {
            tasks: out.tasks().iter().map(task).collect(),
            failures: out.failures().iter().map(failure).collect(),
        })
    }

    async fn stop_task(&self, cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        // ECS takes a reason of up to 255 characters.
        let reason: String = reason.chars().take(255).collect();
        self.client
            .stop_task()
            .cluster(cluster)
            .task(arn)
            .reason(reason)
            .send()
            .await
            .map_err(|e| sdk_error("StopTask", e))?;
        Ok(())
    }
}

// ---- PascalCase parameters → SDK builders -------------------------------------------------------

/// An integer of the request as the SDK's `i32`.
fn int(v: i64, at: &str) -> Result<i32, EcsError> {
    i32::try_from(v).map_err(|_| EcsError::invalid_parameter(format!("{at}: {v} is out of range")))
}

/// A string field of a (schema-checked) object.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// An integer field of a (schema-checked) object.
fn integer(v: &Value, key: &str, at: &str) -> Result<Option<i32>, EcsError> {
    v.get(key).and_then(Value::as_i64).map(|n| int(n, &format!("{at}/{key}"))).transpose()
}

/// A list of strings of a (schema-checked) object.
fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
}

/// A list of objects of a (schema-checked) object.
fn objects<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn built<T>(r: Result<T, aws_sdk_ecs::error::BuildError>, at: &str) -> Result<T, EcsError> {
    r.map_err(|e| EcsError::invalid_parameter(format!("{at}: {e}")))
}

fn capacity_provider_strategy(
    p: &RunTaskParams,
) -> Result<Option<Vec<ecs::CapacityProviderStrategyItem>>, EcsError> {
    let Some(items) = &p.capacity_provider_strategy else { return Ok(None) };
    let mut out = Vec::with_capacity(items.len());
    for (i, s) in items.iter().enumerate() {
        let at = format!("/CapacityProviderStrategy/{i}");
        let item = ecs::CapacityProviderStrategyItem::builder()
            .capacity_provider(s.capacity_provider.clone())
            .set_weight(s.weight.map(|w| int(w, &format!("{at}/Weight"))).transpose()?)
            .set_base(s.base.map(|b| int(b, &format!("{at}/Base"))).transpose()?)
            .build();
        out.push(built(item, &at)?);
    }
    Ok(Some(out))
}

fn network_configuration(v: &Value) -> Result<ecs::NetworkConfiguration, EcsError> {
    let Some(vpc) = v.get("AwsvpcConfiguration") else {
        return Ok(ecs::NetworkConfiguration::builder().build());
    };
    let awsvpc = ecs::AwsVpcConfiguration::builder()
        .set_subnets(strings(vpc, "Subnets"))
        .set_security_groups(strings(vpc, "SecurityGroups"))
        .set_assign_public_ip(text(vpc, "AssignPublicIp").map(|a| ecs::AssignPublicIp::from(a.as_str())))
        .build();
    let awsvpc = built(awsvpc, "/NetworkConfiguration/AwsvpcConfiguration")?;
    Ok(ecs::NetworkConfiguration::builder().awsvpc_configuration(awsvpc).build())
}

fn container_override(o: &ContainerOverride, at: &str) -> Result<ecs::ContainerOverride, EcsError> {
    let mut files = Vec::new();
    for (i, f) in o.environment_files.iter().flatten().enumerate() {
        let file = ecs::EnvironmentFile::builder()
            .set_value(f.value.clone())
            .set_type(f.kind.as_deref().map(ecs::EnvironmentFileType::from))
            .build();
        files.push(built(file, &format!("{at}/EnvironmentFiles/{i}"))?);
    }
    let mut requirements = Vec::new();
    for (i, r) in o.resource_requirements.iter().flatten().enumerate() {
        let req = ecs::ResourceRequirement::builder()
            .set_value(r.value.clone())
            .set_type(r.kind.as_deref().map(ecs::ResourceType::from))
            .build();
        requirements.push(built(req, &format!("{at}/ResourceRequirements/{i}"))?);
    }
    Ok(ecs::ContainerOverride::builder()
        .set_name(o.name.clone())
        .set_command(o.command.clone())
        .set_environment(o.environment.as_ref().map(|env| {
            env.iter()
                .map(|kv| {
                    ecs::KeyValuePair::builder().set_name(kv.name.clone()).set_value(kv.value.clone()).build()
                })
                .collect()
        }))
        .set_environment_files(o.environment_files.as_ref().map(|_| files))
        .set_cpu(o.cpu.map(|c| int(c, &format!("{at}/Cpu"))).transpose()?)
        .set_memory(o.memory.map(|m| int(m, &format!("{at}/Memory"))).transpose()?)
        .set_memory_reservation(
            o.memory_reservation.map(|m| int(m, &format!("{at}/MemoryReservation"))).transpose()?,
        )
        .set_resource_requirements(o.resource_requirements.as_ref().map(|_| requirements))
        .build())
}

fn task_override(o: &TaskOverride) -> Result<ecs::TaskOverride, EcsError> {
    let containers = match &o.container_overrides {
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(i, c)| container_override(c, &format!("/Overrides/ContainerOverrides/{i}")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let ephemeral = match &o.ephemeral_storage {
        Some(e) => Some(
            ecs::EphemeralStorage::builder()
                .set_size_in_gib(integer(e, "SizeInGiB", "/Overrides/EphemeralStorage")?)
                .build(),
        ),
        None => None,
    };
    Ok(ecs::TaskOverride::builder()
        .set_container_overrides(containers)
        .set_cpu(o.cpu.clone())
        .set_memory(o.memory.clone())
        .set_ephemeral_storage(ephemeral)
        .set_execution_role_arn(o.execution_role_arn.clone())
        .set_task_role_arn(o.task_role_arn.clone())
        .set_inference_accelerator_overrides(o.inference_accelerator_overrides.as_ref().map(|v| {
            v.iter()
                .map(|a| {
                    ecs::InferenceAcceleratorOverride::builder()
                        .set_device_name(text(a, "DeviceName"))
                        .set_device_type(text(a, "DeviceType"))
                        .build()
                })
                .collect()
        }))
        .build())
}

fn volume_configurations(p: &RunTaskParams) -> Result<Option<Vec<ecs::TaskVolumeConfiguration>>, EcsError> {
    let Some(volumes) = &p.volume_configurations else { return Ok(None) };
    let mut out = Vec::with_capacity(volumes.len());
    for (i, v) in volumes.iter().enumerate() {
        let at = format!("/VolumeConfigurations/{i}");
        let ebs = match v.get("ManagedEBSVolume") {
            Some(e) => Some(managed_ebs_volume(e, &format!("{at}/ManagedEBSVolume"))?),
            None => None,
        };
        let volume = ecs::TaskVolumeConfiguration::builder()
            .set_name(text(v, "Name"))
            .set_managed_ebs_volume(ebs)
            .build();
        out.push(built(volume, &at)?);
    }
    Ok(Some(out))
}

fn managed_ebs_volume(e: &Value, at: &str) -> Result<ecs::TaskManagedEbsVolumeConfiguration, EcsError> {
    let mut specs = Vec::new();
    for (i, s) in objects(e, "TagSpecifications").enumerate() {
        let spec = ecs::EbsTagSpecification::builder()
            .set_resource_type(text(s, "ResourceType").map(|r| ecs::EbsResourceType::from(r.as_str())))
            .set_tags(s.get("Tags").and_then(Value::as_array).map(|tags| {
                tags.iter()
                    .map(|t| ecs::Tag::builder().set_key(text(t, "Key")).set_value(text(t, "Value")).build())
                    .collect()
            }))
            .set_propagate_tags(text(s, "PropagateTags").map(|p| ecs::PropagateTags::from(p.as_str())))
            .build();
        specs.push(built(spec, &format!("{at}/TagSpecifications/{i}"))?);
    }
    let termination = match e.get("TerminationPolicy") {
        Some(t) => Some(built(
            ecs::TaskManagedEbsVolumeTerminationPolicy::builder()
                .set_delete_on_termination(t.get("DeleteOnTermination").and_then(Value::as_bool))
                .build(),
            &format!("{at}/TerminationPolicy"),
        )?),
        None => None,
    };
    let volume = ecs::TaskManagedEbsVolumeConfiguration::builder()
        .set_encrypted(e.get("Encrypted").and_then(Value::as_bool))
        .set_kms_key_id(text(e, "KmsKeyId"))
        .set_volume_type(text(e, "VolumeType"))
        .set_size_in_gib(integer(e, "SizeInGiB", at)?)
        .set_snapshot_id(text(e, "SnapshotId"))
        .set_volume_initialization_rate(integer(e, "VolumeInitializationRate", at)?)
        .set_iops(integer(e, "Iops", at)?)
        .set_throughput(integer(e, "Throughput", at)?)
        .set_tag_specifications(e.get("TagSpecifications").map(|_| specs))
        .set_role_arn(text(e, "RoleArn"))
        .set_termination_policy(termination)
        .set_filesystem_type(text(e, "FilesystemType").map(|f| ecs::TaskFilesystemType::from(f.as_str())))
        .build();
    built(volume, at)
}

// ---- SDK responses → the model (Step Functions' PascalCase) -----------------------------------------

/// Epoch milliseconds of an SDK timestamp.
fn millis(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<i64> {
    t.and_then(|t| t.to_millis().ok())
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
}

fn put_str(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    put(m, key, v.map(|s| Value::String(s.to_owned())));
}

fn key_value(kv: &ecs::KeyValuePair) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "Name", kv.name());
    put_str(&mut m, "Value", kv.value());
    Value::Object(m)
}

fn tag(t: &ecs::Tag) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "Key", t.key());
    put_str(&mut m, "Value", t.value());
    Value::Object(m)
}

fn failure(f: &ecs::Failure) -> EcsFailure {
    EcsFailure {
        arn: f.arn().map(str::to_owned),
        reason: f.reason().unwrap_or_default().to_owned(),
        detail: f.detail().map(str::to_owned),
    }
}

/// `Overrides` as Step Functions renders them (lists always present, as the Java SDK renders them).
fn overrides(o: &ecs::TaskOverride) -> Value {
    let containers: Vec<Value> = o
        .container_overrides()
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("Command".into(), json!(c.command()));
            put(&mut m, "Cpu", c.cpu().map(|x| json!(x)));
            m.insert("Environment".into(), Value::Array(c.environment().iter().map(key_value).collect()));
            m.insert(
                "EnvironmentFiles".into(),
                Value::Array(
                    c.environment_files()
                        .iter()
                        .map(|f| json!({"Type": f.r#type().as_str(), "Value": f.value()}))
                        .collect(),
                ),
            );
            put(&mut m, "Memory", c.memory().map(|x| json!(x)));
            put(&mut m, "MemoryReservation", c.memory_reservation().map(|x| json!(x)));
            put_str(&mut m, "Name", c.name());
            m.insert(
                "ResourceRequirements".into(),
                Value::Array(
                    c.resource_requirements()
                        .iter()
                        .map(|r| json!({"Type": r.r#type().as_str(), "Value": r.value()}))
                        .collect(),
                ),
            );
            Value::Object(m)
        })
        .collect();
    let mut m = Map::new();
    m.insert("ContainerOverrides".into(), Value::Array(containers));
    put_str(&mut m, "Cpu", o.cpu());
    put(&mut m, "EphemeralStorage", o.ephemeral_storage().map(|e| json!({"SizeInGiB": e.size_in_gib()})));
    put_str(&mut m, "ExecutionRoleArn", o.execution_role_arn());
    m.insert(
        "InferenceAcceleratorOverrides".into(),
        Value::Array(
            o.inference_accelerator_overrides()
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    put_str(&mut m, "DeviceName", a.device_name());
                    put_str(&mut m, "DeviceType", a.device_type());
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    put_str(&mut m, "Memory", o.memory());
    put_str(&mut m, "TaskRoleArn", o.task_role_arn());
    Value::Object(m)
}

fn container(c: &ecs::Container) -> EcsContainer {
    let mut extra = Map::new();
    put_str(&mut extra, "Cpu", c.cpu());
    extra.insert("GpuIds".into(), json!(c.gpu_ids()));
    put_str(&mut extra, "HealthStatus", c.health_status().map(ecs::HealthStatus::as_str));
    put_str(&mut extra, "ImageDigest", c.image_digest());
    extra.insert(
        "ManagedAgents".into(),
        Value::Array(
            c.managed_agents()
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    put(&mut m, "LastStartedAt", millis(a.last_started_at()).map(|t| json!(t)));
                    put_str(&mut m, "LastStatus", a.last_status());
                    put_str(&mut m, "Name", a.name().map(ecs::ManagedAgentName::as_str));
                    put_str(&mut m, "Reason", a.reason());
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    put_str(&mut extra, "Memory", c.memory());
    put_str(&mut extra, "MemoryReservation", c.memory_reservation());
    extra.insert(
        "NetworkBindings".into(),
        Value::Array(
            c.network_bindings()
                .iter()
                .map(|b| {
                    let mut m = Map::new();
                    put_str(&mut m, "BindIP", b.bind_ip());
                    put(&mut m, "ContainerPort", b.container_port().map(|p| json!(p)));
                    put_str(&mut m, "ContainerPortRange", b.container_port_range());
                    put(&mut m, "HostPort", b.host_port().map(|p| json!(p)));
                    put_str(&mut m, "HostPortRange", b.host_port_range());
                    put_str(&mut m, "Protocol", b.protocol().map(ecs::TransportProtocol::as_str));
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    extra.insert(
        "NetworkInterfaces".into(),
        Value::Array(
            c.network_interfaces()
                .iter()
                .map(|n| {
                    let mut m = Map::new();
                    put_str(&mut m, "AttachmentId", n.attachment_id());
                    put_str(&mut m, "Ipv6Address", n.ipv6_address());
                    put_str(&mut m, "PrivateIpv4Address", n.private_ipv4_address());
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    EcsContainer {
        container_arn: c.container_arn().unwrap_or_default().to_owned(),
        name: c.name().unwrap_or_default().to_owned(),
        image: c.image().unwrap_or_default().to_owned(),
        last_status: LastStatus::from(c.last_status().unwrap_or_default()),
        exit_code: c.exit_code(),
        reason: c.reason().map(str::to_owned),
        // DescribeTasks does not say; the task definition does.
        essential: true,
        runtime_id: c.runtime_id().map(str::to_owned),
        extra,
    }
}

fn task(t: &ecs::Task) -> EcsTask {
    let mut extra = Map::new();
    extra.insert(
        "Attachments".into(),
        Value::Array(
            t.attachments()
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    m.insert("Details".into(), Value::Array(a.details().iter().map(key_value).collect()));
                    put_str(&mut m, "Id", a.id());
                    put_str(&mut m, "Status", a.status());
                    put_str(&mut m, "Type", a.r#type());
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    extra.insert(
        "Attributes".into(),
        Value::Array(
            t.attributes()
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    m.insert("Name".into(), json!(a.name()));
                    put_str(&mut m, "TargetId", a.target_id());
                    put_str(&mut m, "TargetType", a.target_type().map(ecs::TargetType::as_str));
                    put_str(&mut m, "Value", a.value());
                    Value::Object(m)
                })
                .collect(),
        ),
    );
    put_str(&mut extra, "AvailabilityZone", t.availability_zone());
    put_str(&mut extra, "Connectivity", t.connectivity().map(ecs::Connectivity::as_str));
    put(&mut extra, "ConnectivityAt", millis(t.connectivity_at()).map(|x| json!(x)));
    put_str(&mut extra, "ContainerInstanceArn", t.container_instance_arn());
    put(&mut extra, "EphemeralStorage", t.ephemeral_storage().map(|e| json!({"SizeInGiB": e.size_in_gib()})));
    put(
        &mut extra,
        "FargateEphemeralStorage",
        t.fargate_ephemeral_storage().map(|e| {
            let mut m = Map::new();
            put_str(&mut m, "KmsKeyId", e.kms_key_id());
            m.insert("SizeInGiB".into(), json!(e.size_in_gib()));
            Value::Object(m)
        }),
    );
    put_str(&mut extra, "HealthStatus", t.health_status().map(ecs::HealthStatus::as_str));
    extra.insert(
        "InferenceAccelerators".into(),
        Value::Array(
            t.inference_accelerators()
                .iter()
                .map(|a| json!({"DeviceName": a.device_name(), "DeviceType": a.device_type()}))
                .collect(),
        ),
    );
    put_str(&mut extra, "PlatformFamily", t.platform_family());
    EcsTask {
        task_arn: t.task_arn().unwrap_or_default().to_owned(),
        cluster_arn: t.cluster_arn().unwrap_or_default().to_owned(),
        task_definition_arn: t.task_definition_arn().unwrap_or_default().to_owned(),
        last_status: LastStatus::from(t.last_status().unwrap_or_default()),
        desired_status: DesiredStatus::from(t.desired_status().unwrap_or_default()),
        launch_type: t.launch_type().map(|l| l.as_str().to_owned()),
        capacity_provider_name: t.capacity_provider_name().map(str::to_owned),
        platform_version: t.platform_version().map(str::to_owned),
        cpu: t.cpu().unwrap_or_default().to_owned(),
        memory: t.memory().unwrap_or_default().to_owned(),
        started_by: t.started_by().map(str::to_owned),
        group: t.group().unwrap_or_default().to_owned(),
        created_at: millis(t.created_at()).unwrap_or_default(),
        pull_started_at: millis(t.pull_started_at()),
        pull_stopped_at: millis(t.pull_stopped_at()),
        started_at: millis(t.started_at()),
        stopping_at: millis(t.stopping_at()),
        stopped_at: millis(t.stopped_at()),
        execution_stopped_at: millis(t.execution_stopped_at()),
        stop_code: t.stop_code().map(|c| StopCode::from(c.as_str())),
        stopped_reason: t.stopped_reason().map(str::to_owned),
        containers: t.containers().iter().map(container).collect(),
        overrides: crate::model::Overrides::new(
            &t.overrides()
                .map(overrides)
                .unwrap_or_else(|| json!({"ContainerOverrides": [], "InferenceAcceleratorOverrides": []})),
        ),
        tags: t.tags().iter().map(tag).collect(),
        enable_execute_command: t.enable_execute_command(),
        version: t.version(),
        extra,
        fargate: None,
    }
}

// ---- SDK errors → Step Functions error names --------------------------------------------------------

/// `Code` with the `Exception` suffix Step Functions always puts on service error names.
fn exception_name(code: &str) -> String {
    if code.ends_with("Exception") { code.to_owned() } else { format!("{code}Exception") }
}

/// The credentials provider's error in the chain of `err`, when there is one.
fn credentials_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    let mut e = Some(err);
    while let Some(x) = e {
        if x.is::<aws_credential_types::provider::error::CredentialsError>() {
            return Some(x);
        }
        e = x.source();
    }
    None
}

/// `err` and its sources, `: `-separated (a layer that repeats its source's text is not repeated).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut e = Some(err);
    while let Some(x) = e {
        let text = x.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        e = x.source();
    }
    parts.join(": ")
}

/// The Step Functions error for an SDK error of `operation` (see the module doc).
pub(crate) fn sdk_error<E>(operation: &str, err: SdkError<E>) -> EcsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = err.request_id().unwrap_or("null").to_owned();
    match &err {
        // A 2xx answer the SDK could not read (e.g. a number where ECS sends a string).
        SdkError::ServiceError(ctx) if ctx.raw().status().is_success() => EcsError::new(
            "SdkClientException",
            format!("Unable to unmarshall the response of Amazon ECS ({operation}): {}", chain(ctx.err())),
        ),
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code();
            let name = code.map_or_else(|| "AmazonECSException".to_owned(), exception_name);
            let message = ctx
                .err()
                .message()
                .map_or_else(|| format!("{operation} failed with HTTP status {status}"), str::to_owned);
            EcsError::new(
                &name,
                format!(
                    "{message} (Service: AmazonECS; Status Code: {status}; Error Code: {}; Request ID: {request_id})",
                    code.unwrap_or("null")
                ),
            )
        }
        SdkError::TimeoutError(_) => timeout(operation, &err),
        SdkError::DispatchFailure(d) if d.is_timeout() => timeout(operation, &err),
        _ => match credentials_error(&err) {
            Some(c) => EcsError::new(
                "SdkClientException",
                format!("Unable to load AWS credentials for ECS {operation}: {}", chain(c)),
            ),
            None if matches!(err, SdkError::DispatchFailure(_)) => EcsError::new(
                "SdkClientException",
                format!("Unable to execute HTTP request to Amazon ECS ({operation}): {}", chain(&err)),
            ),
            None => EcsError::new("SdkClientException", format!("ECS {operation}: {}", chain(&err))),
        },
    }
}

fn timeout(operation: &str, err: &(dyn std::error::Error + 'static)) -> EcsError {
    EcsError::new(
        "ClientExecutionTimeoutException",
        format!("Amazon ECS did not answer {operation} in time: {}", chain(err)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_suffix() {
        assert_eq!(exception_name("ClusterNotFoundException"), "ClusterNotFoundException");
        assert_eq!(exception_name("IncompleteSignature"), "IncompleteSignatureException");
    }
}
