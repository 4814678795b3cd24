//! ECS tasks as the backends track them, rendered in Step Functions' PascalCase shape (recorded:
//! `../shared/recorded/ecs_task_service.history.json`). Timestamps are epoch milliseconds.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::lifecycle::{DesiredStatus, Fargate, LastStatus, StopCode};
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

/// The most members [`EcsContainer::to_json`] writes before a backend's further fields.
const CONTAINER_MEMBERS: usize = 14;
/// The most members [`EcsTask::to_json`] writes before a backend's further fields.
const TASK_MEMBERS: usize = 33;

fn put_opt(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), v);
    }
}

/// Adds a backend's further fields (replacing defaults), keeping the keys in alphabetical order as AWS does.
fn merge_extra(m: &mut Map<String, Value>, extra: &Map<String, Value>) {
    if extra.is_empty() {
        return;
    }
    for (k, v) in extra {
        m.insert(k.clone(), v.clone());
    }
    m.sort_keys();
}

impl EcsContainer {
    /// Step Functions' PascalCase shape.
    pub fn to_json(&self, task_arn: &str) -> Value {
        self.render(task_arn, None, false)
    }

    /// The same, with what a FARGATE task's container `i` reports (`lifecycle.rs`); `pulled`: whether
    /// the task's images were pulled (no `ImageDigest` otherwise).
    fn render(&self, task_arn: &str, fargate: Option<(&Fargate, usize)>, pulled: bool) -> Value {
        // Sized for every member at once: no rehashing as it fills.
        let mut m = Map::with_capacity(CONTAINER_MEMBERS + self.extra.len());
        m.insert("ContainerArn".into(), json!(self.container_arn));
        m.insert("Cpu".into(), json!("0"));
        put_opt(&mut m, "ExitCode", self.exit_code.map(|c| json!(c)));
        m.insert("GpuIds".into(), json!([]));
        m.insert("Image".into(), json!(self.image));
        // A FARGATE task's fields go in their alphabetical places: no sorting afterwards.
        put_opt(&mut m, "ImageDigest", fargate.filter(|_| pulled).and_then(|(f, i)| f.image_digest(i)));
        m.insert("LastStatus".into(), json!(self.last_status.as_str()));
        m.insert("ManagedAgents".into(), json!([]));
        m.insert("Name".into(), json!(self.name));
        m.insert("NetworkBindings".into(), json!([]));
        m.insert(
            "NetworkInterfaces".into(),
            fargate.map_or_else(|| json!([]), |(f, _)| f.network_interfaces()),
        );
        put_opt(&mut m, "Reason", self.reason.clone().map(Value::String));
        put_opt(&mut m, "RuntimeId", self.runtime_id.clone().map(Value::String));
        m.insert("TaskArn".into(), json!(task_arn));
        merge_extra(&mut m, &self.extra);
        Value::Object(m)
    }
}

impl EcsTask {
    /// Step Functions' PascalCase shape (the `.sync` output, and each entry of RunTask's `Tasks`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::with_capacity(TASK_MEMBERS + self.extra.len());
        // A FARGATE task's fields go in their alphabetical places: no sorting afterwards.
        let fargate = self.fargate.as_ref();
        put_opt(&mut m, "Attachments", fargate.map(Fargate::attachments));
        m.insert(
            "Attributes".into(),
            json!([{"Name": "ecs.cpu-architecture", "Value": std::env::consts::ARCH}]),
        );
        put_opt(&mut m, "AvailabilityZone", fargate.map(Fargate::availability_zone));
        put_opt(&mut m, "CapacityProviderName", self.capacity_provider_name.clone().map(Value::String));
        m.insert("ClusterArn".into(), json!(self.cluster_arn));
        if let Some(at) = fargate.and_then(Fargate::connectivity_at) {
            m.insert("Connectivity".into(), json!("CONNECTED"));
            m.insert("ConnectivityAt".into(), json!(at));
        }
        let containers = self.containers.iter().enumerate();
        let pulled = self.pull_stopped_at.is_some();
        m.insert(
            "Containers".into(),
            Value::Array(
                containers
                    .map(|(i, c)| c.render(&self.task_arn, self.fargate.as_ref().map(|f| (f, i)), pulled))
                    .collect(),
            ),
        );
        m.insert("Cpu".into(), json!(self.cpu));
        m.insert("CreatedAt".into(), json!(self.created_at));
        m.insert("DesiredStatus".into(), json!(self.desired_status.as_str()));
        m.insert("EnableExecuteCommand".into(), json!(self.enable_execute_command));
        put_opt(&mut m, "EphemeralStorage", fargate.map(Fargate::ephemeral_storage));
        put_opt(&mut m, "ExecutionStoppedAt", self.execution_stopped_at.map(|t| json!(t)));
        m.insert("Group".into(), json!(self.group));
        m.insert("InferenceAccelerators".into(), json!([]));
        m.insert("LastStatus".into(), json!(self.last_status.as_str()));
        put_opt(&mut m, "LaunchType", self.launch_type.clone().map(Value::String));
        m.insert("Memory".into(), json!(self.memory));
        m.insert("Overrides".into(), self.overrides.to_value());
        put_opt(&mut m, "PlatformFamily", fargate.and_then(Fargate::platform_family));
        put_opt(&mut m, "PlatformVersion", self.platform_version.clone().map(Value::String));
        put_opt(&mut m, "PullStartedAt", self.pull_started_at.map(|t| json!(t)));
        put_opt(&mut m, "PullStoppedAt", self.pull_stopped_at.map(|t| json!(t)));
        put_opt(&mut m, "StartedAt", self.started_at.map(|t| json!(t)));
        put_opt(&mut m, "StartedBy", self.started_by.clone().map(Value::String));
        put_opt(&mut m, "StopCode", self.stop_code.as_ref().map(|c| json!(c.as_str())));
        put_opt(&mut m, "StoppedAt", self.stopped_at.map(|t| json!(t)));
        put_opt(&mut m, "StoppedReason", self.stopped_reason.clone().map(Value::String));
        put_opt(&mut m, "StoppingAt", self.stopping_at.map(|t| json!(t)));
        m.insert("Tags".into(), Value::Array(self.tags.clone()));
        m.insert("TaskArn".into(), json!(self.task_arn));
        m.insert("TaskDefinitionArn".into(), json!(self.task_definition_arn));
        m.insert("Version".into(), json!(self.version));
        merge_extra(&mut m, &self.extra);
        Value::Object(m)
    }

    /// True once ECS reports the task STOPPED.
    pub fn is_stopped(&self) -> bool {
        self.last_status == LastStatus::Stopped
    }
}

/// The RunTask response as Step Functions returns it: `Failures`, `Tasks` and the SDK's HTTP metadata.
pub fn run_task_response(out: &RunTaskOutput, request_id: &str, date_ms: i64) -> Value {
    let tasks: Vec<Value> = out.tasks.iter().map(EcsTask::to_json).collect();
    let failures: Vec<Value> = out.failures.iter().map(EcsFailure::to_json).collect();
    // The length of `{"failures":[…],"tasks":[…]}`, counted without building it.
    let body_len = r#"{"failures":,"tasks":}"#.len() + json_len(&failures) + json_len(&tasks);
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
    m.insert("Tasks".into(), Value::Array(tasks));
    Value::Object(m)
}

/// The length of the compact JSON text of `items` as an array (`[a,b]`), as serde_json writes it: computed
/// from the values, nothing is written (a RunTask response's `Content-Length` counts its tasks' text, which
/// the history then serializes once more).
fn json_len(items: &[Value]) -> usize {
    2 + items.iter().map(value_len).sum::<usize>() + items.len().saturating_sub(1)
}

/// The length of the compact JSON text of `v` as serde_json writes it.
fn value_len(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        Value::Array(a) => json_len(a),
        Value::Object(m) => {
            2 + m.iter().map(|(k, v)| string_len(k) + 1 + value_len(v)).sum::<usize>()
                + m.len().saturating_sub(1)
        }
    }
}

/// Digits (and sign) of an integer; a float as serde_json formats it.
fn number_len(n: &serde_json::Number) -> usize {
    let digits = |mut u: u64| {
        let mut d = 1;
        while u >= 10 {
            u /= 10;
            d += 1;
        }
        d
    };
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => digits(u),
        (None, Some(i)) => 1 + digits(i.unsigned_abs()),
        _ => n.to_string().len(),
    }
}

/// A string with its quotes and serde_json's escapes: `\"`, `\\` and the short control escapes (`\n`, …)
/// take two bytes, other control characters six (`\u001f`); [`ESCAPED`] has what each byte adds.
fn string_len(s: &str) -> usize {
    s.len() + 2 + s.bytes().map(|b| usize::from(ESCAPED[usize::from(b)])).sum::<usize>()
}

/// The bytes serde_json's escape of each byte adds to its text.
const ESCAPED: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = 5;
        b += 1;
    }
    t[b'"' as usize] = 1;
    t[b'\\' as usize] = 1;
    t[b'\n' as usize] = 1;
    t[b'\r' as usize] = 1;
    t[b'\t' as usize] = 1;
    t[0x08] = 1;
    t[0x0c] = 1;
    t
};

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
    fn json_lengths_are_those_of_the_text_serde_json_writes() {
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(9),
            json!(10),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(-1),
            json!(1.5),
            json!(-0.000123),
            json!(1e300),
            json!(""),
            json!("plain"),
            json!("quote \" backslash \\ slash / é 漢 🦀"),
            json!("\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}"),
            json!([]),
            json!({}),
            json!([1, [2, []], {"a": {}}]),
            json!({"k\"ey": [null, "v\u{1}"], "n": -42, "o": {"x": 1.25, "y": [true, false]}}),
        ];
        for v in &values {
            assert_eq!(super::value_len(v), serde_json::to_string(v).unwrap().len(), "{v}");
        }
        assert_eq!(super::json_len(&values), serde_json::to_string(&values).unwrap().len());
        assert_eq!(super::json_len(&[]), 2);
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
