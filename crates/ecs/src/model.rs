//! ECS tasks as the backends track them, rendered in Step Functions' PascalCase shape (recorded:
//! `../shared/recorded/ecs_task_service.history.json`). Timestamps are epoch milliseconds.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::lifecycle::{DesiredStatus, Fargate, LastStatus, NameValue, StopCode};
use crate::params::{RunTaskParams, TaskOverride};
use crate::taskdef::TaskDefinition;

/// A container of a task.
///
/// serde: the local backend's task records (`taskdir.rs`) in its own camelCase form; the wire shape is
/// [`EcsContainer::to_json`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsContainer {
    /// `ContainerArn`.
    pub container_arn: String,
    /// `Name`.
    pub name: String,
    /// `Image`.
    pub image: String,
    /// `LastStatus`: PENDING, RUNNING, STOPPED.
    pub last_status: LastStatus,
    /// `ExitCode`, once it exited.
    pub exit_code: Option<i32>,
    /// `Reason` (`CannotStartContainerError: …`, or why it was stopped).
    pub reason: Option<String>,
    /// Essential container?
    pub essential: bool,
    /// `RuntimeId` (the local process id, for the local backend).
    pub runtime_id: Option<String>,
    /// Further fields in Step Functions' PascalCase shape, as the backend reports them (the aws backend:
    /// `Cpu`, `GpuIds`, `ImageDigest`, `NetworkInterfaces`, …); they replace the defaults of
    /// [`EcsContainer::to_json`]. The local and sim backends add what ECS reports for a FARGATE task's
    /// container (`ImageDigest`, `NetworkInterfaces`; `lifecycle.rs`) when the task is rendered.
    pub extra: Map<String, Value>,
}

/// A task as DescribeTasks describes it.
///
/// serde: the local backend's task records (`taskdir.rs`) in its own camelCase form; the wire shape is
/// [`EcsTask::to_json`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsTask {
    /// `TaskArn`.
    pub task_arn: String,
    /// `ClusterArn`.
    pub cluster_arn: String,
    /// `TaskDefinitionArn`.
    pub task_definition_arn: String,
    /// PROVISIONING, PENDING, RUNNING, DEACTIVATING, STOPPED (the life cycle: `lifecycle.rs`).
    pub last_status: LastStatus,
    /// RUNNING or STOPPED.
    pub desired_status: DesiredStatus,
    /// `LaunchType`.
    pub launch_type: Option<String>,
    /// `CapacityProviderName`.
    pub capacity_provider_name: Option<String>,
    /// `PlatformVersion`.
    pub platform_version: Option<String>,
    /// Task CPU units.
    pub cpu: String,
    /// Task memory (MiB).
    pub memory: String,
    /// `StartedBy`.
    pub started_by: Option<String>,
    /// `Group` (`family:<family>` by default).
    pub group: String,
    /// Timestamps (epoch ms).
    pub created_at: i64,
    /// `PullStartedAt`.
    pub pull_started_at: Option<i64>,
    /// `PullStoppedAt`.
    pub pull_stopped_at: Option<i64>,
    /// `StartedAt`.
    pub started_at: Option<i64>,
    /// `StoppingAt`.
    pub stopping_at: Option<i64>,
    /// `StoppedAt`.
    pub stopped_at: Option<i64>,
    /// `ExecutionStoppedAt`.
    pub execution_stopped_at: Option<i64>,
    /// `StopCode`: EssentialContainerExited, TaskFailedToStart, UserInitiated, …
    pub stop_code: Option<StopCode>,
    /// `StoppedReason`.
    pub stopped_reason: Option<String>,
    /// Containers.
    pub containers: Vec<EcsContainer>,
    /// `Overrides` as requested (PascalCase, every container listed as ECS does); shared by the copies of
    /// the task (each DescribeTasks answer is one).
    pub overrides: Overrides,
    /// `Tags`.
    pub tags: Vec<Value>,
    /// `EnableExecuteCommand`.
    pub enable_execute_command: bool,
    /// `Version`: increases at each change.
    pub version: i64,
    /// Further fields in Step Functions' PascalCase shape, as the backend reports them (the aws backend:
    /// `Attachments`, `Attributes`, `AvailabilityZone`, `EphemeralStorage`, …); they replace the defaults of
    /// [`EcsTask::to_json`]. The local and sim backends add what ECS reports for a FARGATE task
    /// (`Attachments`, `AvailabilityZone`, `Connectivity`, `EphemeralStorage`, …; `lifecycle.rs`), kept
    /// in [`EcsTask`]'s own form until it is rendered.
    pub extra: Map<String, Value>,
    /// What the local and sim backends report for a FARGATE task (`lifecycle.rs`), rendered by
    /// [`EcsTask::to_json`].
    pub(crate) fargate: Option<Fargate>,
}

/// A task's `Overrides`, kept as compact JSON text (a tenth of what the value costs in memory: ten
/// thousand waiting tasks hold one each) and shared by the copies of the task; [`Overrides::to_value`]
/// gives the value back, members in the same order. Task records (`taskdir.rs`) hold it as the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overrides(Arc<str>);

impl Overrides {
    /// The overrides `v`.
    pub fn new(v: &Value) -> Self {
        Overrides(Arc::from(serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned())))
    }

    /// The value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(&self.0).unwrap_or_else(|_| json!({}))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Overrides {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Overrides {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(|v| Overrides::new(&v))
    }
}

/// The `Reason` of a DescribeTasks failure for an unknown task.
pub(crate) const MISSING: &str = "MISSING";

/// A RunTask `Failures` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsFailure {
    /// `Arn` (the container instance or task ARN).
    pub arn: Option<String>,
    /// `Reason` (`RESOURCE:MEMORY`, `RESOURCE:CPU`, `MISSING`, …).
    pub reason: String,
    /// `Detail`.
    pub detail: Option<String>,
}

impl EcsFailure {
    /// DescribeTasks' answer for a task it does not know: `{Arn, Reason: "MISSING"}`.
    pub fn missing(arn: &str) -> Self {
        EcsFailure { arn: Some(arn.to_owned()), reason: MISSING.into(), detail: None }
    }

    /// Step Functions' PascalCase shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(a) = &self.arn {
            m.insert("Arn".into(), json!(a));
        }
        if let Some(d) = &self.detail {
            m.insert("Detail".into(), json!(d));
        }
        m.insert("Reason".into(), json!(self.reason));
        Value::Object(m)
    }
}

/// What RunTask returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunTaskOutput {
    /// Tasks started.
    pub tasks: Vec<EcsTask>,
    /// Tasks that could not be started.
    pub failures: Vec<EcsFailure>,
    /// The request id ECS gave (`SdkResponseMetadata.RequestId`), when a real ECS answered.
    pub request_id: Option<String>,
}

/// What DescribeTasks returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeOutput {
    /// Tasks found.
    pub tasks: Vec<EcsTask>,
    /// ARNs not found (`MISSING`).
    pub failures: Vec<EcsFailure>,
}

/// Inserts `v` under `k`, when there is one.
fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v);
    }
}

/// Adds a backend's further fields (replacing defaults), keeping the keys in alphabetical order as AWS does.
fn merge_extra(m: &mut Map<String, Value>, extra: &Map<String, Value>) {
    for (k, v) in extra {
        m.insert(k.clone(), v.clone());
    }
    m.sort_keys();
}

/// The most members [`EcsContainer::to_json`] writes before a backend's further fields.
const CONTAINER_MEMBERS: usize = 14;
/// The most members [`EcsTask::to_json`] writes before a backend's further fields.
const TASK_MEMBERS: usize = 33;

/// Where a task's or container's members are written, one by one, in their order: into a value
/// ([`EcsTask::to_json`]) or straight to text (`write_task`). The members are listed once
/// (`task_members`, `container_members`).
trait Members {
    fn str(&mut self, k: &'static str, v: &str);
    fn int(&mut self, k: &'static str, v: i64);
    fn bool(&mut self, k: &'static str, v: bool);
    /// `[]`.
    fn empty(&mut self, k: &'static str);
    fn ser<T: Serialize>(&mut self, k: &'static str, v: &T);
    fn overrides(&mut self, k: &'static str, v: &Overrides);
    fn tags(&mut self, k: &'static str, v: &[Value]);
    fn containers(&mut self, k: &'static str, t: &EcsTask);

    fn opt_str(&mut self, k: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    fn opt_int(&mut self, k: &'static str, v: Option<i64>) {
        if let Some(v) = v {
            self.int(k, v);
        }
    }
}

/// A container's members; with what a FARGATE task's container `i` reports (`lifecycle.rs`); `pulled`:
/// whether the task's images were pulled (no `ImageDigest` otherwise).
fn container_members<M: Members>(m: &mut M, c: &ContainerOf<'_>) {
    let ContainerOf { c, task_arn, fargate, pulled } = *c;
    m.str("ContainerArn", &c.container_arn);
    m.str("Cpu", "0");
    m.opt_int("ExitCode", c.exit_code.map(i64::from));
    m.empty("GpuIds");
    m.str("Image", &c.image);
    // A FARGATE task's fields go in their alphabetical places: no sorting afterwards.
    m.opt_str("ImageDigest", fargate.filter(|_| pulled).and_then(|(f, i)| f.image_digest(i)));
    m.str("LastStatus", c.last_status.as_str());
    m.empty("ManagedAgents");
    m.str("Name", &c.name);
    m.empty("NetworkBindings");
    match fargate {
        Some((f, _)) => match f.network_interfaces() {
            Some(n) => m.ser("NetworkInterfaces", &n),
            None => m.empty("NetworkInterfaces"),
        },
        None => m.empty("NetworkInterfaces"),
    }
    m.opt_str("Reason", c.reason.as_deref());
    m.opt_str("RuntimeId", c.runtime_id.as_deref());
    m.str("TaskArn", task_arn);
}

/// A task's members, before a backend's further fields.
fn task_members<M: Members>(m: &mut M, t: &EcsTask) {
    // A FARGATE task's fields go in their alphabetical places: no sorting afterwards.
    let fargate = t.fargate.as_ref();
    if let Some(f) = fargate {
        m.ser("Attachments", &f.attachments());
    }
    m.ser("Attributes", &[NameValue { name: "ecs.cpu-architecture", value: std::env::consts::ARCH }]);
    m.opt_str("AvailabilityZone", fargate.map(Fargate::availability_zone));
    m.opt_str("CapacityProviderName", t.capacity_provider_name.as_deref());
    m.str("ClusterArn", &t.cluster_arn);
    if let Some(at) = fargate.and_then(Fargate::connectivity_at) {
        m.str("Connectivity", "CONNECTED");
        m.int("ConnectivityAt", at);
    }
    m.containers("Containers", t);
    m.str("Cpu", &t.cpu);
    m.int("CreatedAt", t.created_at);
    m.str("DesiredStatus", t.desired_status.as_str());
    m.bool("EnableExecuteCommand", t.enable_execute_command);
    if let Some(f) = fargate {
        m.ser("EphemeralStorage", &f.ephemeral_storage());
    }
    m.opt_int("ExecutionStoppedAt", t.execution_stopped_at);
    m.str("Group", &t.group);
    m.empty("InferenceAccelerators");
    m.str("LastStatus", t.last_status.as_str());
    m.opt_str("LaunchType", t.launch_type.as_deref());
    m.str("Memory", &t.memory);
    m.overrides("Overrides", &t.overrides);
    m.opt_str("PlatformFamily", fargate.and_then(Fargate::platform_family));
    m.opt_str("PlatformVersion", t.platform_version.as_deref());
    m.opt_int("PullStartedAt", t.pull_started_at);
    m.opt_int("PullStoppedAt", t.pull_stopped_at);
    m.opt_int("StartedAt", t.started_at);
    m.opt_str("StartedBy", t.started_by.as_deref());
    m.opt_str("StopCode", t.stop_code.as_ref().map(StopCode::as_str));
    m.opt_int("StoppedAt", t.stopped_at);
    m.opt_str("StoppedReason", t.stopped_reason.as_deref());
    m.opt_int("StoppingAt", t.stopping_at);
    m.tags("Tags", &t.tags);
    m.str("TaskArn", &t.task_arn);
    m.str("TaskDefinitionArn", &t.task_definition_arn);
    m.int("Version", t.version);
}

/// A container with what its rendering needs of its task.
#[derive(Clone, Copy)]
struct ContainerOf<'a> {
    c: &'a EcsContainer,
    task_arn: &'a str,
    fargate: Option<(&'a Fargate, usize)>,
    pulled: bool,
}

/// A task's containers, each with what it needs of the task.
fn containers_of(t: &EcsTask) -> impl Iterator<Item = ContainerOf<'_>> {
    let pulled = t.pull_stopped_at.is_some();
    t.containers.iter().enumerate().map(move |(i, c)| ContainerOf {
        c,
        task_arn: &t.task_arn,
        fargate: t.fargate.as_ref().map(|f| (f, i)),
        pulled,
    })
}

/// Members into a value.
struct IntoValue(Map<String, Value>);

impl IntoValue {
    fn value(&mut self, k: &'static str, v: Value) {
        self.0.insert(k.to_owned(), v);
    }
}

impl Members for IntoValue {
    fn str(&mut self, k: &'static str, v: &str) {
        self.value(k, Value::String(v.to_owned()))
    }
    fn int(&mut self, k: &'static str, v: i64) {
        self.value(k, Value::from(v))
    }
    fn bool(&mut self, k: &'static str, v: bool) {
        self.value(k, Value::Bool(v))
    }
    fn empty(&mut self, k: &'static str) {
        self.value(k, Value::Array(Vec::new()))
    }
    fn ser<T: Serialize>(&mut self, k: &'static str, v: &T) {
        // Only plain structures of strings and numbers are written here: always a value.
        self.value(k, serde_json::to_value(v).unwrap_or(Value::Null))
    }
    fn overrides(&mut self, k: &'static str, v: &Overrides) {
        self.value(k, v.to_value())
    }
    fn tags(&mut self, k: &'static str, v: &[Value]) {
        self.value(k, Value::Array(v.to_vec()))
    }
    fn containers(&mut self, k: &'static str, t: &EcsTask) {
        self.value(k, Value::Array(containers_of(t).map(|c| container_value(&c)).collect()))
    }
}

fn container_value(c: &ContainerOf<'_>) -> Value {
    // Sized for every member at once: no rehashing as it fills.
    let mut m = IntoValue(Map::with_capacity(CONTAINER_MEMBERS + c.c.extra.len()));
    container_members(&mut m, c);
    if !c.c.extra.is_empty() {
        merge_extra(&mut m.0, &c.c.extra);
    }
    Value::Object(m.0)
}

/// Members straight to compact JSON text, as `serde_json` writes the value (`Overrides` is kept as
/// that text already and goes in as it is).
struct IntoText<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> IntoText<'a> {
    /// An object's members, after its `{`: [`IntoText::end`] writes the `}`.
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        IntoText { out, first: true }
    }

    fn end(self) {
        self.out.push(b'}');
    }

    /// `"k":` (the keys are plain ASCII names: nothing to escape).
    fn key(&mut self, k: &'static str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn write<T: Serialize + ?Sized>(&mut self, k: &'static str, v: &T) {
        self.key(k);
        // Writing into a `Vec` fails only for a value that is no JSON (a map with non-string keys):
        // none is written here.
        let _ = serde_json::to_writer(&mut *self.out, v);
    }
}

impl Members for IntoText<'_> {
    fn str(&mut self, k: &'static str, v: &str) {
        self.write(k, v);
    }
    fn int(&mut self, k: &'static str, v: i64) {
        self.write(k, &v);
    }
    fn bool(&mut self, k: &'static str, v: bool) {
        self.write(k, &v);
    }
    fn empty(&mut self, k: &'static str) {
        self.key(k);
        self.out.extend_from_slice(b"[]");
    }
    fn ser<T: Serialize>(&mut self, k: &'static str, v: &T) {
        self.write(k, v);
    }
    fn overrides(&mut self, k: &'static str, v: &Overrides) {
        self.key(k);
        self.out.extend_from_slice(v.as_str().as_bytes());
    }
    fn tags(&mut self, k: &'static str, v: &[Value]) {
        self.write(k, v);
    }
    fn containers(&mut self, k: &'static str, t: &EcsTask) {
        self.key(k);
        self.out.push(b'[');
        for (i, c) in containers_of(t).enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            if c.c.extra.is_empty() {
                let mut m = IntoText::open(self.out);
                container_members(&mut m, &c);
                m.end();
            } else {
                let _ = serde_json::to_writer(&mut *self.out, &container_value(&c));
            }
        }
        self.out.push(b']');
    }
}

/// A task's compact JSON text, as `serde_json` writes [`EcsTask::to_json`], without building the value.
fn write_task(out: &mut Vec<u8>, t: &EcsTask) {
    if !t.extra.is_empty() {
        let _ = serde_json::to_writer(&mut *out, &t.to_json());
        return;
    }
    let mut m = IntoText::open(out);
    task_members(&mut m, t);
    m.end();
}

impl EcsContainer {
    /// Step Functions' PascalCase shape.
    pub fn to_json(&self, task_arn: &str) -> Value {
        container_value(&ContainerOf { c: self, task_arn, fargate: None, pulled: false })
    }
}

impl EcsTask {
    /// Step Functions' PascalCase shape (the `.sync` output, and each entry of RunTask's `Tasks`).
    pub fn to_json(&self) -> Value {
        let mut m = IntoValue(Map::with_capacity(TASK_MEMBERS + self.extra.len()));
        task_members(&mut m, self);
        if !self.extra.is_empty() {
            merge_extra(&mut m.0, &self.extra);
        }
        Value::Object(m.0)
    }

    /// True once ECS reports the task STOPPED.
    pub fn is_stopped(&self) -> bool {
        self.last_status == LastStatus::Stopped
    }
}

/// [`write_task`] as a string.
#[cfg(test)]
pub(crate) fn task_text(t: &EcsTask) -> String {
    let mut out = Vec::new();
    write_task(&mut out, t);
    String::from_utf8(out).unwrap_or_default()
}

/// The RunTask response as Step Functions returns it: `Failures`, `Tasks` and the SDK's HTTP metadata.
pub fn run_task_response(out: &RunTaskOutput, request_id: &str, date_ms: i64) -> Value {
    serde_json::from_str(&run_task_response_text(out, request_id, date_ms)).unwrap_or(Value::Null)
}

/// [`run_task_response`] as its compact JSON text, written from the tasks without building their values
/// (what a `.sync` or callback task's `TaskSubmitted` records).
pub(crate) fn run_task_response_text(out: &RunTaskOutput, request_id: &str, date_ms: i64) -> String {
    let failures: Vec<Value> = out.failures.iter().map(EcsFailure::to_json).collect();
    let failures_text = serde_json::to_string(&failures).unwrap_or_default();
    let mut tasks = Vec::with_capacity(2048 * out.tasks.len() + 2);
    tasks.push(b'[');
    for (i, t) in out.tasks.iter().enumerate() {
        if i > 0 {
            tasks.push(b',');
        }
        write_task(&mut tasks, t);
    }
    tasks.push(b']');
    // Only strings of UTF-8 went in.
    let tasks = String::from_utf8(tasks).unwrap_or_default();
    // The length of the ECS body `{"failures":[…],"tasks":[…]}`.
    let body_len = r#"{"failures":,"tasks":}"#.len() + failures_text.len() + tasks.len();
    let mut m = Map::new();
    m.insert("Failures".into(), Value::Array(failures));
    let http = sfn_patterns::SdkHttp {
        request_id,
        date_ms,
        content_type: "application/x-amz-json-1.1",
        content_length: body_len,
        keep_alive: false,
    };
    sfn_patterns::insert_sdk_metadata(&mut m, &http);
    let mut text = serde_json::to_string(&Value::Object(m)).unwrap_or_default();
    // `Tasks` is the last member: the tasks' text goes in before the closing brace.
    text.pop();
    text.reserve(tasks.len() + 10);
    text.push_str(r#","Tasks":"#);
    text.push_str(&tasks);
    text.push('}');
    text
}

/// `Overrides` as ECS reports it: every container of the definition, with empty lists where nothing is
/// overridden (recorded).
pub fn render_overrides(td: &TaskDefinition, params: &RunTaskParams) -> Value {
    let requested = params.overrides.clone().unwrap_or_default();
    let containers: Vec<Value> = td
        .container_definitions
        .iter()
        .map(|c| {
            let o = requested
                .container_overrides
                .iter()
                .flatten()
                .find(|o| o.name.as_deref() == Some(c.name.as_str()))
                .cloned()
                .unwrap_or_default();
            let mut m = Map::new();
            m.insert("Command".into(), json!(o.command.unwrap_or_default()));
            put_opt(&mut m, "Cpu", o.cpu.map(|x| json!(x)));
            m.insert(
                "Environment".into(),
                Value::Array(
                    o.environment
                        .unwrap_or_default()
                        .iter()
                        .map(|e| json!({"Name": e.name, "Value": e.value}))
                        .collect(),
                ),
            );
            m.insert(
                "EnvironmentFiles".into(),
                serde_json::to_value(o.environment_files.unwrap_or_default()).unwrap_or_default(),
            );
            put_opt(&mut m, "Memory", o.memory.map(|x| json!(x)));
            put_opt(&mut m, "MemoryReservation", o.memory_reservation.map(|x| json!(x)));
            m.insert("Name".into(), json!(c.name));
            m.insert(
                "ResourceRequirements".into(),
                serde_json::to_value(o.resource_requirements.unwrap_or_default()).unwrap_or_default(),
            );
            Value::Object(m)
        })
        .collect();
    let TaskOverride { cpu, memory, execution_role_arn, task_role_arn, ephemeral_storage, .. } = requested;
    let mut m = Map::new();
    m.insert("ContainerOverrides".into(), Value::Array(containers));
    put_opt(&mut m, "Cpu", cpu.map(Value::String));
    put_opt(&mut m, "EphemeralStorage", ephemeral_storage);
    put_opt(&mut m, "ExecutionRoleArn", execution_role_arn.map(Value::String));
    m.insert("InferenceAcceleratorOverrides".into(), json!([]));
    put_opt(&mut m, "Memory", memory.map(Value::String));
    put_opt(&mut m, "TaskRoleArn", task_role_arn.map(Value::String));
    Value::Object(m)
}

/// A member's type in the RunTask response model, as TestState's `fieldValidationMode` checks it.
enum Shape {
    Str,
    Num,
    List(&'static Shape),
    /// A structure: its members the model names (others are accepted, as AWS does).
    Struct(&'static [(&'static str, Shape)]),
}

const TAG: Shape = Shape::Struct(&[("Key", Shape::Str), ("Value", Shape::Str)]);
const CONTAINER: Shape = Shape::Struct(&[
    ("ContainerArn", Shape::Str),
    ("TaskArn", Shape::Str),
    ("Name", Shape::Str),
    ("Image", Shape::Str),
    ("ImageDigest", Shape::Str),
    ("RuntimeId", Shape::Str),
    ("LastStatus", Shape::Str),
    ("ExitCode", Shape::Num),
    ("Reason", Shape::Str),
    ("HealthStatus", Shape::Str),
    ("Cpu", Shape::Str),
    ("Memory", Shape::Str),
    ("MemoryReservation", Shape::Str),
    ("GpuIds", Shape::List(&Shape::Str)),
]);
const TASK: Shape = Shape::Struct(&[
    ("TaskArn", Shape::Str),
    ("ClusterArn", Shape::Str),
    ("TaskDefinitionArn", Shape::Str),
    ("ContainerInstanceArn", Shape::Str),
    ("CapacityProviderName", Shape::Str),
    ("AvailabilityZone", Shape::Str),
    ("LastStatus", Shape::Str),
    ("DesiredStatus", Shape::Str),
    ("HealthStatus", Shape::Str),
    ("Connectivity", Shape::Str),
    ("Cpu", Shape::Str),
    ("Memory", Shape::Str),
    ("Group", Shape::Str),
    ("StartedBy", Shape::Str),
    ("LaunchType", Shape::Str),
    ("PlatformVersion", Shape::Str),
    ("PlatformFamily", Shape::Str),
    ("StopCode", Shape::Str),
    ("StoppedReason", Shape::Str),
    ("Version", Shape::Num),
    ("Containers", Shape::List(&CONTAINER)),
    ("Tags", Shape::List(&TAG)),
]);
const FAILURE: Shape = Shape::Struct(&[("Arn", Shape::Str), ("Reason", Shape::Str), ("Detail", Shape::Str)]);
/// RunTask's response (ECS API reference, RunTask "Response Syntax"; no member is required), in Step
/// Functions' PascalCase. Timestamps are left out: Step Functions shows ECS's as epoch numbers.
const RUN_TASK_RESPONSE: Shape =
    Shape::Struct(&[("Tasks", Shape::List(&TASK)), ("Failures", Shape::List(&FAILURE))]);

/// Checks a mocked RunTask result against the response model (no member of it is required, so
/// `STRICT` and `PRESENT` check the same).
pub(crate) fn check_run_task_result(result: &Value) -> Result<(), sfn_patterns::MockResultError> {
    if !result.is_object() {
        return Err(sfn_patterns::MockResultError::not_an_object());
    }
    fits(result, &RUN_TASK_RESPONSE, "")
}

fn fits(v: &Value, shape: &Shape, field: &str) -> Result<(), sfn_patterns::MockResultError> {
    let wrong = |expected| Err(sfn_patterns::MockResultError::wrong_type(field, expected));
    match shape {
        Shape::Str if !v.is_string() => wrong("a string"),
        Shape::Num if !v.is_number() => wrong("a number"),
        Shape::Str | Shape::Num => Ok(()),
        Shape::List(item) => match v.as_array() {
            None => wrong("an array"),
            Some(items) => items.iter().try_for_each(|x| fits(x, item, field)),
        },
        Shape::Struct(members) => match v.as_object() {
            None => wrong("an object"),
            Some(m) => members.iter().try_for_each(|(name, s)| match m.get(*name) {
                Some(x) => fits(x, s, name),
                None => Ok(()),
            }),
        },
    }
}

#[cfg(test)]
mod shape_tests {
    use serde_json::json;

    use super::check_run_task_result;

    #[test]
    fn the_run_task_response_counts_the_length_of_the_body_it_describes() {
        let out = super::RunTaskOutput {
            failures: vec![super::EcsFailure::missing("arn:aws:ecs:us-east-1:1:task/c/x\"é")],
            ..Default::default()
        };
        let r = super::run_task_response(&out, "rid", 0);
        let body = serde_json::to_string(&json!({"failures": r["Failures"], "tasks": r["Tasks"]})).unwrap();
        assert_eq!(r["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"], body.len().to_string());
        assert_eq!(r["SdkHttpMetadata"]["AllHttpHeaders"]["Content-Length"], json!([body.len().to_string()]));
        assert_eq!(r["Failures"][0]["Reason"], "MISSING");
    }

    #[test]
    fn mocked_run_task_results_are_checked_against_the_response_model() {
        assert!(
            check_run_task_result(
                &json!({"Tasks": [{"TaskArn": "a", "Containers": [{"ExitCode": 0}]}], "Other": 1})
            )
            .is_ok()
        );
        let e = |v| check_run_task_result(&v).unwrap_err().to_string();
        assert_eq!(
            e(json!({"Tasks": {}})),
            "Mock result schema validation error: Field 'Tasks' must be an array"
        );
        assert_eq!(
            e(json!({"Tasks": [{"Containers": [{"ExitCode": "0"}]}]})),
            "Mock result schema validation error: Field 'ExitCode' must be a number"
        );
        assert_eq!(
            e(json!({"Failures": [{"Reason": 1}]})),
            "Mock result schema validation error: Field 'Reason' must be a string"
        );
        assert!(check_run_task_result(&json!([1])).is_err());
    }
}
