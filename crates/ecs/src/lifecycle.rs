//! The life cycle of an ECS task, written once for the `local` and `sim` backends: the statuses and stop
//! codes ECS reports (typed, read and written as ECS's strings), and the transitions a task goes through —
//! PROVISIONING → PENDING → RUNNING → DEACTIVATING → STOPPED, or PENDING → DEACTIVATING → STOPPED when it
//! fails to start (`TaskFailedToStart`; an image that cannot be pulled is not pulled: no
//! `PullStartedAt`/`PullStoppedAt`/`ImageDigest`) — each setting the timestamps ECS sets at that step
//! (`PullStartedAt`/`PullStoppedAt`, `StartedAt`, `StoppingAt`, `StoppedAt`, `ExecutionStoppedAt`) and
//! bumping `Version` once per status (a STOPPED task has `Version` 5, one that failed to start 4, as
//! recorded in `test_run_task_sync` and `test_run_task_sync_raise_failure`; container changes do not
//! count). A FARGATE task gets what ECS reports for
//! one (recorded: `../shared/recorded/ecs_task_service.history.json`, `test_run_task_sync`): its ENI
//! attachment derived from `NetworkConfiguration` (PRECREATED → ATTACHED → DELETED), `AvailabilityZone`,
//! `Connectivity`/`ConnectivityAt`, `EphemeralStorage`, `PlatformVersion` 1.4.0 for LATEST, and each
//! container's `ImageDigest` and `NetworkInterfaces` (before the ENI exists — the RunTask response — an
//! `ElasticNetworkInterface` attachment with only its subnet, no container interfaces or digests, and
//! `PlatformFamily`, as recorded in `test_run_task`); its ARNs, the task definition's too, name the cluster
//! ARN's region and account.
//! The aws backend only reads the statuses Amazon ECS reports, so it uses the types and none of the
//! transitions.

use std::hash::{Hash as _, Hasher as _};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::backend::{RunTaskRequest, cluster_name};
use crate::model::{EcsContainer, EcsTask, Overrides, render_overrides};
use crate::taskdef::TaskDefinition;

/// `StoppedReason` of a task whose essential container exited.
pub(crate) const ESSENTIAL_CONTAINER_EXITED: &str = "Essential container in task exited";
/// `StoppedReason` of a task StopTask stopped without a reason.
pub(crate) const STOPPED_BY_USER: &str = "Task stopped by user";
/// `Reason` of a container that exited after its task was told to stop.
const CONTAINER_TASK_STOPPED: &str = "Task stopped";

/// A closed set of ECS's strings, with a fallback for any other string ECS may report.
macro_rules! ecs_strings {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        ///
        /// Read and written as ECS's strings (serde, [`Self::as_str`], [`From<&str>`]); a string outside the
        /// known set is kept as [`Self::Other`], so what ECS reports always comes back byte for byte. It
        /// dereferences to its string and compares equal to it.
        #[derive(Debug, Clone)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// Any other string.
            Other(String),
        }

        impl $name {
            /// ECS's string.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl Eq for $name {}

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok($name::from(s.as_ref()))
            }
        }
    };
}

ecs_strings! {
    /// `LastStatus` of a task or a container.
    LastStatus {
        /// `PROVISIONING`: resources (the network interface) are being set up.
        Provisioning => "PROVISIONING",
        /// `PENDING`: images are being pulled.
        Pending => "PENDING",
        /// `ACTIVATING`.
        Activating => "ACTIVATING",
        /// `RUNNING`.
        Running => "RUNNING",
        /// `DEACTIVATING`: told to stop, containers are being stopped.
        Deactivating => "DEACTIVATING",
        /// `STOPPING`.
        Stopping => "STOPPING",
        /// `DEPROVISIONING`.
        Deprovisioning => "DEPROVISIONING",
        /// `STOPPED`.
        Stopped => "STOPPED",
        /// `DELETED`.
        Deleted => "DELETED",
    }
}

ecs_strings! {
    /// `DesiredStatus` of a task.
    DesiredStatus {
        /// `RUNNING`.
        Running => "RUNNING",
        /// `PENDING`.
        Pending => "PENDING",
        /// `STOPPED`.
        Stopped => "STOPPED",
    }
}

ecs_strings! {
    /// `StopCode` of a stopped task.
    StopCode {
        /// `TaskFailedToStart`.
        TaskFailedToStart => "TaskFailedToStart",
        /// `EssentialContainerExited`.
        EssentialContainerExited => "EssentialContainerExited",
        /// `UserInitiated` (StopTask).
        UserInitiated => "UserInitiated",
        /// `ServiceSchedulerInitiated`.
        ServiceSchedulerInitiated => "ServiceSchedulerInitiated",
        /// `SpotInterruption`.
        SpotInterruption => "SpotInterruption",
        /// `TerminationNotice`.
        TerminationNotice => "TerminationNotice",
        /// `InfrastructureHealth` (in the SDKs' `TaskStopCode` enum, e.g. boto3's): the task was stopped
        /// because of its infrastructure — locally, a supervised task whose supervisor died without
        /// recording its end, or whose files are damaged.
        InfrastructureHealth => "InfrastructureHealth",
    }
}

/// What a backend decides about a task it starts; the rest follows from the request and the definition.
pub(crate) struct NewTask<'a> {
    /// The RunTask call.
    pub(crate) req: &'a RunTaskRequest,
    /// The task definition it runs.
    pub(crate) td: &'a TaskDefinition,
    /// `TaskDefinitionArn`.
    pub(crate) task_definition_arn: String,
    /// `ClusterArn`.
    pub(crate) cluster_arn: &'a str,
    /// The task id (the last part of its ARN).
    pub(crate) task_id: &'a str,
    /// `CreatedAt` (epoch ms).
    pub(crate) created_at: i64,
}

impl EcsContainer {
    /// The container's process ended with `exit_code` (no `Version` of its own: its task's changes).
    pub(crate) fn exited(&mut self, exit_code: Option<i32>) {
        self.last_status = LastStatus::Stopped;
        self.exit_code = exit_code;
    }
}

impl EcsTask {
    /// A task RunTask just created: PROVISIONING, desired RUNNING, every container PENDING, `Version` 1.
    pub(crate) fn provisioning(new: NewTask<'_>) -> EcsTask {
        let NewTask { req, td, task_definition_arn, cluster_arn, task_id, created_at } = new;
        let p = &req.params;
        let cluster = cluster_name(cluster_arn);
        let (cpu, memory) = td.requirements();
        // A cluster ARN names the region and account its tasks live in.
        let (region, account) = match cluster_arn.split(':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "ecs", region, account, rest] if rest.starts_with("cluster/") => {
                ((*region).to_owned(), (*account).to_owned())
            }
            _ => (req.region.clone(), req.account.clone()),
        };
        // So does its task definition's (a task runs a task definition of its own region).
        let task_definition_arn = match task_definition_arn.split_once(":task-definition/") {
            Some((_, rest)) => format!("arn:aws:ecs:{region}:{account}:task-definition/{rest}"),
            None => task_definition_arn,
        };
        let mut task = EcsTask {
            task_arn: format!("arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}"),
            cluster_arn: cluster_arn.to_owned(),
            task_definition_arn,
            last_status: LastStatus::Provisioning,
            desired_status: DesiredStatus::Running,
            launch_type: p.launch_type.clone(),
            capacity_provider_name: p
                .capacity_provider_strategy
                .as_ref()
                .and_then(|s| s.first())
                .map(|s| s.capacity_provider.clone()),
            platform_version: p.platform_version.clone(),
            cpu: cpu.to_string(),
            memory: memory.to_string(),
            started_by: p.started_by.clone(),
            group: p.group.clone().unwrap_or_else(|| format!("family:{}", td.family)),
            created_at,
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            execution_stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            containers: td
                .container_definitions
                .iter()
                .map(|c| EcsContainer {
                    container_arn: format!(
                        "arn:aws:ecs:{region}:{account}:container/{cluster}/{task_id}/{}",
                        c.name
                    ),
                    name: c.name.clone(),
                    image: c.image.clone(),
                    last_status: LastStatus::Pending,
                    exit_code: None,
                    reason: None,
                    essential: c.is_essential(),
                    runtime_id: None,
                    extra: serde_json::Map::new(),
                })
                .collect(),
            overrides: Overrides::new(&render_overrides(td, p)),
            tags: p.tags.iter().flatten().map(|t| json!({"Key": t.key, "Value": t.value})).collect(),
            enable_execute_command: p.enable_execute_command.unwrap_or(false),
            version: 1,
            extra: serde_json::Map::new(),
            fargate: None,
        };
        if is_fargate(p) {
            fargate(&mut task, p, &region, task_id);
        }
        task
    }

    /// PENDING: the images are pulled (`PullStartedAt`, `PullStoppedAt`).
    pub(crate) fn pending(&mut self, now: i64) {
        self.pull_started_at = Some(now);
        self.pull_stopped_at = Some(now);
        self.pending_unpulled(now);
    }

    /// PENDING, its images not pulled (yet, or ever: an image that cannot be pulled): a FARGATE task's
    /// ENI is connected (`Connectivity`, `ConnectivityAt`), no `PullStartedAt`/`PullStoppedAt` and no
    /// container `ImageDigest` (recorded: `test_run_task_sync_raise_failure`, whose image does not exist).
    pub(crate) fn pending_unpulled(&mut self, now: i64) {
        self.last_status = LastStatus::Pending;
        if let Some(f) = &mut self.fargate {
            f.connectivity_at = Some(now);
        }
        self.version += 1;
    }

    /// Container `i` started as the process `runtime_id`.
    pub(crate) fn container_started(&mut self, i: usize, runtime_id: Option<String>) {
        self.containers[i].runtime_id = runtime_id;
    }

    /// Container `i` could not start (`reason`: `CannotStartContainerError: …`).
    pub(crate) fn container_failed_to_start(&mut self, i: usize, reason: &str) {
        self.containers[i].reason = Some(reason.to_owned());
    }

    /// STOPPED before it ran (`TaskFailedToStart`): every container STOPPED (no exit code), the task
    /// through DEACTIVATING (`StoppingAt`, unless it was stopping already) to STOPPED (`StoppedAt`,
    /// `ExecutionStoppedAt`), one `Version` for each — as ECS reports a task whose image cannot be pulled
    /// (recorded: `../shared/recorded/ecs_task_service.history.json`, `test_run_task_sync_raise_failure`:
    /// PROVISIONING, PENDING, DEACTIVATING, STOPPED, `Version` 4).
    pub(crate) fn failed_to_start(&mut self, reason: &str, now: i64) {
        for c in &mut self.containers {
            c.last_status = LastStatus::Stopped;
        }
        self.stopped(StopCode::TaskFailedToStart, reason, now);
    }

    /// RUNNING (`StartedAt`), every container RUNNING.
    pub(crate) fn running(&mut self, now: i64) {
        self.last_status = LastStatus::Running;
        self.started_at = Some(now);
        for c in &mut self.containers {
            c.last_status = LastStatus::Running;
        }
        self.attachment_status("ATTACHED");
        self.version += 1;
    }

    /// Container `i` exited with `exit_code`; once the task was told to stop, its `Reason` says so
    /// (unless it already has one).
    pub(crate) fn container_exited(&mut self, i: usize, exit_code: Option<i32>) {
        let stopping = self.desired_status == DesiredStatus::Stopped;
        let c = &mut self.containers[i];
        c.exited(exit_code);
        if stopping && c.reason.is_none() {
            c.reason = Some(CONTAINER_TASK_STOPPED.to_owned());
        }
    }

    /// Told to stop: desired STOPPED, DEACTIVATING while its containers are stopped (`StoppingAt`).
    pub(crate) fn stopping(&mut self, now: i64) {
        self.desired_status = DesiredStatus::Stopped;
        self.last_status = LastStatus::Deactivating;
        self.stopping_at = Some(now);
        self.version += 1;
    }

    /// STOPPED with `code` and `reason` (`StoppedAt`, `ExecutionStoppedAt`, and `StoppingAt` unless it was
    /// stopping already). The containers' exits are recorded before ([`EcsTask::container_exited`],
    /// [`EcsContainer::exited`]).
    pub(crate) fn stopped(&mut self, code: StopCode, reason: &str, now: i64) {
        self.last_status = LastStatus::Stopped;
        self.desired_status = DesiredStatus::Stopped;
        self.stop_code = Some(code);
        self.stopped_reason = Some(reason.to_owned());
        if self.stopping_at.is_none() {
            // It went through DEACTIVATING on the way (ECS counts that status too).
            self.stopping_at = Some(now);
            self.version += 1;
        }
        self.execution_stopped_at = Some(now);
        self.stopped_at = Some(now);
        self.attachment_status("DELETED");
        self.version += 1;
    }

    /// STOPPED because what ran it is gone or cannot be read (`InfrastructureHealth`, `reason` says
    /// which and why): containers that had not exited are STOPPED with that reason and no exit code.
    pub(crate) fn lost(&mut self, reason: &str, now: i64) {
        for c in &mut self.containers {
            if c.last_status != LastStatus::Stopped {
                c.last_status = LastStatus::Stopped;
                c.reason.get_or_insert_with(|| reason.to_owned());
            }
        }
        self.stopped(StopCode::InfrastructureHealth, reason, now);
    }

    /// A task known only by its ARN (its record is damaged): no container, created now.
    pub(crate) fn damaged(task_arn: &str, cluster_arn: &str) -> EcsTask {
        EcsTask {
            task_arn: task_arn.to_owned(),
            cluster_arn: cluster_arn.to_owned(),
            task_definition_arn: String::new(),
            last_status: LastStatus::Provisioning,
            desired_status: DesiredStatus::Running,
            launch_type: None,
            capacity_provider_name: None,
            platform_version: None,
            cpu: String::new(),
            memory: String::new(),
            started_by: None,
            group: String::new(),
            created_at: 0,
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            execution_stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            containers: Vec::new(),
            overrides: Overrides::new(&json!({})),
            tags: Vec::new(),
            enable_execute_command: false,
            version: 1,
            extra: serde_json::Map::new(),
            fargate: None,
        }
    }

    /// The ENI attachment's `Status`, for a task that has one.
    fn attachment_status(&mut self, status: &'static str) {
        if let Some(f) = &mut self.fargate {
            f.status = status;
        }
    }
}

/// A FARGATE task (launch type or capacity provider).
fn is_fargate(p: &crate::params::RunTaskParams) -> bool {
    p.launch_type.as_deref() == Some("FARGATE")
        || p.capacity_provider_strategy.iter().flatten().any(|s| s.capacity_provider.starts_with("FARGATE"))
}

/// Hex digits derived from the task id and a label: stable for a task across restarts (a re-adopted
/// task describes itself as before).
fn hex(task_id: &str, label: &str, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    let mut n = 0u64;
    while out.len() < len {
        let mut h = std::hash::DefaultHasher::new();
        (task_id, label, n).hash(&mut h);
        // `{:016x}` of the hash, written in place.
        let x = h.finish();
        out.extend((0..16).rev().map(|i| char::from(b"0123456789abcdef"[((x >> (i * 4)) & 0xf) as usize])));
        n += 1;
    }
    out.truncate(len);
    out
}

/// What ECS reports for a FARGATE task of the `local` and `sim` backends besides the common fields (see
/// the module doc): derived once from the task id and the request, shared by every copy of the task (a
/// DescribeTasks answer clones it for each poll), and rendered as JSON only by [`EcsTask::to_json`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FargateParts {
    subnet: String,
    eni: String,
    mac: String,
    ip: String,
    private_dns: String,
    attachment_id: String,
    availability_zone: String,
    ephemeral_gib: u64,
    /// Each container's `ImageDigest`, by position.
    digests: Vec<String>,
}

/// A FARGATE task's parts and what changes over its life: the ENI attachment's `Status` and
/// `ConnectivityAt` (set once it is PENDING).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Fargate {
    parts: std::sync::Arc<FargateParts>,
    status: &'static str,
    connectivity_at: Option<i64>,
}

/// [`Fargate`] as a task record (a supervised task's `task.json`) holds it.
#[derive(Deserialize)]
struct FargateRecord {
    parts: std::sync::Arc<FargateParts>,
    status: String,
    connectivity_at: Option<i64>,
}

impl<'de> Deserialize<'de> for Fargate {
    /// The attachment's `Status` is one of those this module sets.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fargate, D::Error> {
        let r = FargateRecord::deserialize(d)?;
        let status = ["PRECREATED", "ATTACHED", "DELETED"]
            .into_iter()
            .find(|k| *k == r.status)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown attachment status {:?}", r.status)))?;
        Ok(Fargate { parts: r.parts, status, connectivity_at: r.connectivity_at })
    }
}

impl Fargate {
    /// Whether the ENI is not created yet (the task RunTask answers with). ECS then reports less
    /// (recorded: every RunTask response of `ecs_task_service.history.json`, `TaskSubmitted` of
    /// `test_run_task_sync` and `TaskSucceeded` of `test_run_task`): an `ElasticNetworkInterface`
    /// attachment with only its `subnetId`, containers with no `NetworkInterfaces` and no `ImageDigest`,
    /// and `PlatformFamily` — which the described task no longer has.
    fn precreated(&self) -> bool {
        self.status == "PRECREATED"
    }

    /// `PlatformFamily` (`Linux`), which ECS reports only while the ENI is not created.
    pub(crate) fn platform_family(&self) -> Option<&'static str> {
        self.precreated().then_some("Linux")
    }

    /// `Attachments`: the ENI attachment.
    pub(crate) fn attachments(&self) -> [Attachment<'_>; 1] {
        let p = &*self.parts;
        fn detail<'a>(name: &'static str, value: &'a str) -> NameValue<'a> {
            NameValue { name, value }
        }
        let (details, kind) = if self.precreated() {
            (vec![detail("subnetId", &p.subnet)], "ElasticNetworkInterface")
        } else {
            let details = vec![
                detail("subnetId", &p.subnet),
                detail("networkInterfaceId", &p.eni),
                detail("macAddress", &p.mac),
                detail("privateDnsName", &p.private_dns),
                detail("privateIPv4Address", &p.ip),
            ];
            (details, "eni")
        };
        [Attachment { details, id: &p.attachment_id, status: self.status, kind }]
    }

    /// `AvailabilityZone`.
    pub(crate) fn availability_zone(&self) -> &str {
        &self.parts.availability_zone
    }

    /// `ConnectivityAt` (and `Connectivity: CONNECTED`), once the task is PENDING.
    pub(crate) fn connectivity_at(&self) -> Option<i64> {
        self.connectivity_at
    }

    /// `EphemeralStorage`.
    pub(crate) fn ephemeral_storage(&self) -> EphemeralStorage {
        EphemeralStorage { size_in_gib: self.parts.ephemeral_gib }
    }

    /// Container `i`'s `ImageDigest`.
    pub(crate) fn image_digest(&self, i: usize) -> Option<&str> {
        if self.precreated() {
            return None;
        }
        self.parts.digests.get(i).map(String::as_str)
    }

    /// A container's `NetworkInterfaces` (none before the ENI is created).
    pub(crate) fn network_interfaces(&self) -> Option<[NetworkInterface<'_>; 1]> {
        (!self.precreated())
            .then(|| [NetworkInterface { attachment_id: &self.parts.attachment_id, ip: &self.parts.ip }])
    }
}

/// `{"Name": …, "Value": …}` (an attachment's details, a task's attributes).
#[derive(Serialize)]
pub(crate) struct NameValue<'a> {
    #[serde(rename = "Name")]
    pub(crate) name: &'static str,
    #[serde(rename = "Value")]
    pub(crate) value: &'a str,
}

/// An entry of `Attachments`, borrowed from the task's [`FargateParts`].
#[derive(Serialize)]
pub(crate) struct Attachment<'a> {
    #[serde(rename = "Details")]
    details: Vec<NameValue<'a>>,
    #[serde(rename = "Id")]
    id: &'a str,
    #[serde(rename = "Status")]
    status: &'static str,
    #[serde(rename = "Type")]
    kind: &'static str,
}

/// `EphemeralStorage`.
#[derive(Serialize)]
pub(crate) struct EphemeralStorage {
    #[serde(rename = "SizeInGiB")]
    size_in_gib: u64,
}

/// An entry of a container's `NetworkInterfaces`.
#[derive(Serialize)]
pub(crate) struct NetworkInterface<'a> {
    #[serde(rename = "AttachmentId")]
    attachment_id: &'a str,
    #[serde(rename = "PrivateIpv4Address")]
    ip: &'a str,
}

/// What ECS reports for a FARGATE task besides the common fields (see the module doc).
fn fargate(task: &mut EcsTask, p: &crate::params::RunTaskParams, region: &str, task_id: &str) {
    let subnet = p
        .network_configuration
        .as_ref()
        .and_then(|n| n["AwsvpcConfiguration"]["Subnets"].get(0))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let b = u8::from_str_radix(&hex(task_id, "ip", 2), 16).unwrap_or(1);
    let c = u8::from_str_radix(&hex(task_id, "ip2", 2), 16).unwrap_or(1).max(1);
    let ip = format!("10.0.{b}.{c}");
    let attachment_id = {
        let h = hex(task_id, "attachment", 32);
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    };
    let mac = {
        let h = hex(task_id, "mac", 10);
        format!("0a:{}:{}:{}:{}:{}", &h[..2], &h[2..4], &h[4..6], &h[6..8], &h[8..10])
    };
    let ephemeral_gib = p
        .overrides
        .as_ref()
        .and_then(|o| o.ephemeral_storage.as_ref())
        .and_then(|e| e["SizeInGiB"].as_u64())
        .unwrap_or(20);
    let parts = FargateParts {
        subnet,
        eni: format!("eni-{}", hex(task_id, "eni", 17)),
        mac,
        private_dns: format!("ip-{}.{region}.compute.internal", ip.replace('.', "-")),
        ip,
        attachment_id,
        availability_zone: format!("{region}a"),
        ephemeral_gib,
        digests: task.containers.iter().map(|c| image_digest(&c.image)).collect(),
    };
    task.fargate =
        Some(Fargate { parts: std::sync::Arc::new(parts), status: "PRECREATED", connectivity_at: None });
    if task.platform_version.as_deref().is_none_or(|v| v == "LATEST") {
        task.platform_version = Some("1.4.0".to_owned());
    }
}

/// A container's `ImageDigest`: the digest its image reference names (`repository@sha256:…`), else one
/// derived from the reference (its SHA-256), since the `local` and `sim` backends pull from no registry.
/// A digest names an image's content, not a task: every task that pulls an image reports the same one
/// (ECS's `ContainerImage`: "Amazon ECS resolves container image names and any image tags … to container
/// image digests" and starts every task of a service from that digest).
fn image_digest(image: &str) -> String {
    if let Some((_, d)) = image.rsplit_once('@')
        && let Some(hex) = d.strip_prefix("sha256:")
        && hex.len() == 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return d.to_owned();
    }
    format!("sha256:{}", crate::taskdir::sha256_hex(image))
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;

    #[test]
    fn an_image_has_one_digest_whichever_task_pulls_it() {
        let busybox = image_digest("public.ecr.aws/docker/library/busybox:latest");
        assert_eq!(busybox, image_digest("public.ecr.aws/docker/library/busybox:latest"));
        assert_ne!(busybox, image_digest("public.ecr.aws/docker/library/busybox:1.36"));
        assert!(busybox.starts_with("sha256:") && busybox.len() == 71);
        assert!(busybox[7..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // An image named by its digest reports that digest.
        let pinned = format!("busybox@sha256:{}", "ab".repeat(32));
        assert_eq!(image_digest(&pinned), format!("sha256:{}", "ab".repeat(32)));
        // Not a digest (too short): one is derived from the reference.
        assert_eq!(image_digest("busybox@sha256:abc").len(), 71);
        assert_ne!(image_digest("busybox@sha256:abc"), "sha256:abc");
    }
    use crate::backend::EcsBackend as _;

    #[test]
    fn hex_ids_are_the_hashes_in_lower_case_hex() {
        use std::hash::{Hash as _, Hasher as _};
        let old = |task_id: &str, label: &str, len: usize| {
            let mut out = String::new();
            let mut n = 0u64;
            while out.len() < len {
                let mut h = std::hash::DefaultHasher::new();
                (task_id, label, n).hash(&mut h);
                out.push_str(&format!("{:016x}", h.finish()));
                n += 1;
            }
            out.truncate(len);
            out
        };
        for (id, label, len) in
            [("0001", "ip", 2), ("abc", "attachment", 32), ("x", "image0", 64), ("", "", 17)]
        {
            assert_eq!(hex(id, label, len), old(id, label, len));
        }
    }

    #[test]
    fn a_fargate_task_shares_its_parts_with_its_copies_and_renders_its_status() {
        let sim = crate::sim::SimBackend::new(crate::sim::SimScript {
            run_seconds: Some(0.0),
            ..Default::default()
        });
        let params = crate::params::RunTaskParams::parse(&json!({
            "LaunchType": "FARGATE",
            "Cluster": "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
            "TaskDefinition": "fam",
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"]}},
        }))
        .unwrap();
        let req =
            RunTaskRequest { params, region: "us-east-1".into(), account: "1".into(), ..Default::default() };
        let started = sim.run_task(&req).now_or_never().unwrap().unwrap().tasks.remove(0);
        let described = sim
            .describe_tasks("c", std::slice::from_ref(&started.task_arn))
            .now_or_never()
            .unwrap()
            .unwrap()
            .tasks
            .remove(0);
        // One derivation, shared by the task RunTask answered with and the one DescribeTasks answered with.
        let (a, b) = (started.fargate.as_ref().unwrap(), described.fargate.as_ref().unwrap());
        assert!(std::sync::Arc::ptr_eq(&a.parts, &b.parts));
        assert_eq!(a.status, "PRECREATED");
        assert_eq!(b.status, "DELETED");
        let (first, last) = (started.to_json(), described.to_json());
        assert_eq!(first["Attachments"][0]["Status"], "PRECREATED");
        assert_eq!(last["Attachments"][0]["Status"], "DELETED");
        // Before the ENI exists (the RunTask response, as recorded in `test_run_task`): its subnet only,
        // no container interfaces or digests, and PlatformFamily; the described task: the ENI in full.
        assert_eq!(
            first["Attachments"],
            json!([{"Details": [{"Name": "subnetId", "Value": "subnet-1"}], "Id": last["Attachments"][0]["Id"],
                "Status": "PRECREATED", "Type": "ElasticNetworkInterface"}])
        );
        assert_eq!(last["Attachments"][0]["Type"], "eni");
        assert_eq!(last["Attachments"][0]["Details"][0], json!({"Name": "subnetId", "Value": "subnet-1"}));
        assert_eq!(first["Containers"][0]["NetworkInterfaces"], json!([]));
        assert!(first["Containers"][0].get("ImageDigest").is_none());
        assert_eq!((&first["PlatformFamily"], last.get("PlatformFamily")), (&json!("Linux"), None));
        assert!(first.get("Connectivity").is_none());
        assert_eq!(last["Connectivity"], "CONNECTED");
        assert_eq!(last["ConnectivityAt"], last["PullStartedAt"]);
        assert_eq!(last["AvailabilityZone"], "eu-west-1a");
        // The task definition's ARN names the cluster's region and account, as the task's does (recorded
        // `test_run_task`: both the cluster's).
        assert_eq!(last["TaskDefinitionArn"], "arn:aws:ecs:eu-west-1:111122223333:task-definition/fam:1");
        assert!(last["TaskArn"].as_str().unwrap().starts_with("arn:aws:ecs:eu-west-1:111122223333:task/c/"));
        assert_eq!(last["EphemeralStorage"], json!({"SizeInGiB": 20}));
        let container = &last["Containers"][0];
        assert!(container["ImageDigest"].as_str().is_some_and(|d| d.starts_with("sha256:") && d.len() == 71));
        assert_eq!(
            container["ImageDigest"].as_str(),
            Some(image_digest(container["Image"].as_str().unwrap()).as_str())
        );
        assert_eq!(
            container["NetworkInterfaces"],
            json!([{"AttachmentId": last["Attachments"][0]["Id"], "PrivateIpv4Address": last["Attachments"][0]["Details"][4]["Value"]}])
        );
        // A supervised task's record (`task.json`) keeps the FARGATE parts: read back, it renders the same.
        let record = serde_json::to_string(&described).unwrap();
        let back: EcsTask = serde_json::from_str(&record).unwrap();
        assert_eq!(back.to_json(), last);
        let bad = record.replace("\"DELETED\"", "\"LOST\"");
        let err = serde_json::from_str::<EcsTask>(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown attachment status \"LOST\""), "{err}");
        // Keys in alphabetical order, as AWS shows them.
        let keys: Vec<&String> = last.as_object().unwrap().keys().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        let keys: Vec<&String> = container.as_object().unwrap().keys().collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        // The text written without the value is the value's text, at every stage and with a backend's
        // further fields (which replace defaults and go in their alphabetical places).
        let mut with_extra = described.clone();
        with_extra.extra.insert("Cpu".into(), json!("1024"));
        with_extra.extra.insert("HealthStatus".into(), json!("UNKNOWN"));
        with_extra.containers[0].extra.insert("Memory".into(), json!("512"));
        with_extra.overrides =
            crate::model::Overrides::new(&json!({"ContainerOverrides": [{"Command": ["a\"b"]}], "Cpu": 1.5}));
        for t in [&started, &described, &with_extra] {
            assert_eq!(crate::model::task_text(t), serde_json::to_string(&t.to_json()).unwrap());
        }
        assert_eq!(with_extra.to_json()["Cpu"], "1024");
        assert_eq!(with_extra.to_json()["Containers"][0]["Memory"], "512");
        let out = crate::model::RunTaskOutput {
            tasks: vec![started.clone(), with_extra],
            failures: vec![crate::model::EcsFailure::missing("arn:x")],
            request_id: None,
        };
        let text = crate::model::run_task_response_text(&out, "rid", 1_733_011_200_000);
        let value = crate::model::run_task_response(&out, "rid", 1_733_011_200_000);
        assert_eq!(text, serde_json::to_string(&value).unwrap());
        assert_eq!(value["Tasks"][0], started.to_json());
    }

    #[test]
    fn strings_round_trip() {
        for s in ["PROVISIONING", "PENDING", "RUNNING", "DEACTIVATING", "STOPPED", "", "SOMETHING_NEW"] {
            let status = LastStatus::from(s);
            assert_eq!(status.as_str(), s);
            assert_eq!(serde_json::to_value(&status).unwrap(), json!(s));
            assert_eq!(serde_json::from_value::<LastStatus>(json!(s)).unwrap(), status);
        }
        assert_eq!(LastStatus::from("STOPPED"), LastStatus::Stopped);
        assert_eq!(LastStatus::Other("STOPPED".into()), LastStatus::Stopped);
        assert_eq!(StopCode::from("UserInitiated"), StopCode::UserInitiated);
        assert_eq!(DesiredStatus::Stopped, "STOPPED");
    }
}
