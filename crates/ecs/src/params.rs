//! The RunTask request as Step Functions takes it (PascalCase), checked against the ECS API model
//! (RunTask request syntax; aws-sdk-ecs `RunTaskInput`).
//!
//! One schema serves two checks: the static lint of a Task state's `Parameters` template (keys may end
//! in `.$`, their values come from paths at run time) and the run-time check of the evaluated
//! parameters. Typed structs then carry the request to the backends.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sfn_asl::pointer::escape;
use sfn_asl::suggest::did_you_mean;

use crate::error::EcsError;

/// The shape of a value in the RunTask request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    Str,
    Int,
    Bool,
    Enum(&'static [&'static str]),
    Obj(&'static [(&'static str, Ty)]),
    List(&'static Ty),
}

const KEY_VALUE: Ty = Ty::Obj(&[("Name", Ty::Str), ("Value", Ty::Str)]);
const TAG: Ty = Ty::Obj(&[("Key", Ty::Str), ("Value", Ty::Str)]);
const STRINGS: Ty = Ty::List(&Ty::Str);

const CONTAINER_OVERRIDE: Ty = Ty::Obj(&[
    ("Name", Ty::Str),
    ("Command", STRINGS),
    ("Environment", Ty::List(&KEY_VALUE)),
    ("EnvironmentFiles", Ty::List(&Ty::Obj(&[("Value", Ty::Str), ("Type", Ty::Enum(&["s3"]))]))),
    ("Cpu", Ty::Int),
    ("Memory", Ty::Int),
    ("MemoryReservation", Ty::Int),
    (
        "ResourceRequirements",
        Ty::List(&Ty::Obj(&[("Value", Ty::Str), ("Type", Ty::Enum(&["GPU", "InferenceAccelerator"]))])),
    ),
]);

const TASK_OVERRIDE: Ty = Ty::Obj(&[
    ("ContainerOverrides", Ty::List(&CONTAINER_OVERRIDE)),
    ("Cpu", Ty::Str),
    ("Memory", Ty::Str),
    ("EphemeralStorage", Ty::Obj(&[("SizeInGiB", Ty::Int)])),
    ("ExecutionRoleArn", Ty::Str),
    ("TaskRoleArn", Ty::Str),
    (
        "InferenceAcceleratorOverrides",
        Ty::List(&Ty::Obj(&[("DeviceName", Ty::Str), ("DeviceType", Ty::Str)])),
    ),
]);

const MANAGED_EBS_VOLUME: Ty = Ty::Obj(&[
    ("Encrypted", Ty::Bool),
    ("KmsKeyId", Ty::Str),
    ("VolumeType", Ty::Str),
    ("SizeInGiB", Ty::Int),
    ("SnapshotId", Ty::Str),
    ("VolumeInitializationRate", Ty::Int),
    ("Iops", Ty::Int),
    ("Throughput", Ty::Int),
    (
        "TagSpecifications",
        Ty::List(&Ty::Obj(&[
            ("ResourceType", Ty::Enum(&["volume"])),
            ("Tags", Ty::List(&TAG)),
            ("PropagateTags", Ty::Enum(&["TASK_DEFINITION", "SERVICE", "NONE"])),
        ])),
    ),
    ("RoleArn", Ty::Str),
    ("TerminationPolicy", Ty::Obj(&[("DeleteOnTermination", Ty::Bool)])),
    ("FilesystemType", Ty::Enum(&["ext3", "ext4", "xfs", "ntfs"])),
]);

/// The RunTask request (PascalCase), every field ECS accepts.
pub(crate) const RUN_TASK: Ty = Ty::Obj(&[
    (
        "CapacityProviderStrategy",
        Ty::List(&Ty::Obj(&[("CapacityProvider", Ty::Str), ("Weight", Ty::Int), ("Base", Ty::Int)])),
    ),
    ("ClientToken", Ty::Str),
    ("Cluster", Ty::Str),
    ("Count", Ty::Int),
    ("EnableECSManagedTags", Ty::Bool),
    ("EnableExecuteCommand", Ty::Bool),
    ("Group", Ty::Str),
    ("LaunchType", Ty::Enum(&["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"])),
    (
        "NetworkConfiguration",
        Ty::Obj(&[(
            "AwsvpcConfiguration",
            Ty::Obj(&[
                ("Subnets", STRINGS),
                ("SecurityGroups", STRINGS),
                ("AssignPublicIp", Ty::Enum(&["ENABLED", "DISABLED"])),
            ]),
        )]),
    ),
    ("Overrides", TASK_OVERRIDE),
    (
        "PlacementConstraints",
        Ty::List(&Ty::Obj(&[("Type", Ty::Enum(&["distinctInstance", "memberOf"])), ("Expression", Ty::Str)])),
    ),
    (
        "PlacementStrategy",
        Ty::List(&Ty::Obj(&[("Type", Ty::Enum(&["random", "spread", "binpack"])), ("Field", Ty::Str)])),
    ),
    ("PlatformVersion", Ty::Str),
    ("PropagateTags", Ty::Enum(&["TASK_DEFINITION", "SERVICE", "NONE"])),
    ("ReferenceId", Ty::Str),
    ("StartedBy", Ty::Str),
    ("Tags", Ty::List(&TAG)),
    ("TaskDefinition", Ty::Str),
    (
        "VolumeConfigurations",
        Ty::List(&Ty::Obj(&[("Name", Ty::Str), ("ManagedEBSVolume", MANAGED_EBS_VOLUME)])),
    ),
]);

/// Fields the RunTask request must have.
const REQUIRED: &[&str] = &["TaskDefinition"];
/// Fields each `CapacityProviderStrategy` item must have.
const REQUIRED_IN_STRATEGY: &[&str] = &["CapacityProvider"];

/// A problem in RunTask parameters: JSON pointer (relative to `Parameters`) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamIssue {
    /// Where, relative to the parameters (`/Overrides/ContainerOverrides/0/Comand`).
    pub pointer: String,
    /// What.
    pub message: String,
}

fn type_name(ty: &Ty) -> String {
    match ty {
        Ty::Str => "a string".into(),
        Ty::Int => "an integer".into(),
        Ty::Bool => "a boolean".into(),
        Ty::Enum(vs) => format!("one of {}", vs.join(", ")),
        Ty::Obj(_) => "an object".into(),
        Ty::List(_) => "an array".into(),
    }
}

/// A whole `{% … %}` JSONata expression (its value is known only at run time).
pub(crate) fn is_jsonata(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.starts_with("{%") && s.ends_with("%}"))
}

/// Where a checked value is: its JSON pointer, written out only for an issue.
#[derive(Clone, Copy)]
pub(crate) enum At<'a> {
    /// The parameters themselves (`""`).
    Root,
    /// A member of the object at the first.
    Key(&'a At<'a>, &'a str),
    /// An element of the array at the first.
    Index(&'a At<'a>, usize),
}

impl At<'_> {
    fn pointer(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Key(up, k) => format!("{}/{}", up.pointer(), escape(k)),
            At::Index(up, i) => format!("{}/{i}", up.pointer()),
        }
    }
}

/// Checks a value against the schema. `template` allows `.$` keys and `{% %}` values (dynamic, not
/// type-checked).
/// `at`: where it is.
pub(crate) fn check(v: &Value, ty: &Ty, at: &At<'_>, template: bool, out: &mut Vec<ParamIssue>) {
    if template && is_jsonata(v) {
        return;
    }
    let mismatch = |out: &mut Vec<ParamIssue>| {
        out.push(ParamIssue {
            pointer: at.pointer(),
            message: format!("expected {}, got {v}", type_name(ty)),
        })
    };
    match (ty, v) {
        (Ty::Str, Value::String(_)) | (Ty::Bool, Value::Bool(_)) => {}
        (Ty::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => {}
        (Ty::Enum(vs), Value::String(s)) => {
            if !vs.contains(&s.as_str()) {
                out.push(ParamIssue {
                    pointer: at.pointer(),
                    message: format!("'{s}' is not one of {}", vs.join(", ")),
                });
            }
        }
        (Ty::List(inner), Value::Array(items)) => {
            for (i, x) in items.iter().enumerate() {
                check(x, inner, &At::Index(at, i), template, out);
            }
        }
        (Ty::Obj(fields), Value::Object(m)) => {
            for (k, x) in m {
                let (name, dynamic) = match k.strip_suffix(".$") {
                    Some(n) if template => (n, true),
                    _ => (k.as_str(), false),
                };
                let kat = At::Key(at, k);
                match fields.iter().find(|(f, _)| *f == name) {
                    Some((_, fty)) if !dynamic => check(x, fty, &kat, template, out),
                    Some(_) => {}
                    None => {
                        let message = match did_you_mean(name, fields.iter().map(|(f, _)| *f)) {
                            Some(s) => format!("unknown field {name}, did you mean {s}?"),
                            None => format!(
                                "unknown field {name}; expected one of {}",
                                fields.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                            ),
                        };
                        out.push(ParamIssue { pointer: kat.pointer(), message });
                    }
                }
            }
        }
        _ => mismatch(out),
    }
}

/// Lints a `Parameters` template of `ecs:runTask`: unknown fields (with did-you-mean), wrong literal
/// types, missing required fields.
pub fn lint_template(template: &Value) -> Vec<ParamIssue> {
    let mut out = Vec::new();
    check(template, &RUN_TASK, &At::Root, true, &mut out);
    let mut required = |m: &serde_json::Map<String, Value>, fields: &[&str], pointer: String| {
        for r in fields {
            if !m.contains_key(*r) && !m.contains_key(&format!("{r}.$")) {
                out.push(ParamIssue {
                    pointer: pointer.clone(),
                    message: format!("the field {r} is required"),
                });
            }
        }
    };
    if let Value::Object(m) = template {
        required(m, REQUIRED, String::new());
        if let Some(Value::Array(items)) = m.get("CapacityProviderStrategy") {
            for (i, item) in items.iter().enumerate() {
                if let Value::Object(item) = item {
                    required(item, REQUIRED_IN_STRATEGY, format!("/CapacityProviderStrategy/{i}"));
                }
            }
        }
    }
    out
}

/// `CapacityProviderStrategy` item.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: String,
    pub weight: Option<i64>,
    pub base: Option<i64>,
}

/// A `Name`/`Value` pair (environment variables).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValuePair {
    pub name: Option<String>,
    pub value: Option<String>,
}

/// A `Type`/`Value` pair (environment files, resource requirements).
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TypeValue {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub value: Option<String>,
}

/// A tag.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// `Overrides.ContainerOverrides[]`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerOverride {
    pub name: Option<String>,
    pub command: Option<Vec<String>>,
    pub environment: Option<Vec<KeyValuePair>>,
    pub environment_files: Option<Vec<TypeValue>>,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub resource_requirements: Option<Vec<TypeValue>>,
}

/// `Overrides`.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskOverride {
    pub container_overrides: Option<Vec<ContainerOverride>>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub ephemeral_storage: Option<Value>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub inference_accelerator_overrides: Option<Vec<Value>>,
}

/// The evaluated RunTask parameters.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunTaskParams {
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub client_token: Option<String>,
    pub cluster: Option<String>,
    pub count: Option<i64>,
    #[serde(rename = "EnableECSManagedTags")]
    pub enable_ecs_managed_tags: Option<bool>,
    pub enable_execute_command: Option<bool>,
    pub group: Option<String>,
    pub launch_type: Option<String>,
    pub network_configuration: Option<Value>,
    pub overrides: Option<TaskOverride>,
    pub placement_constraints: Option<Vec<Value>>,
    pub placement_strategy: Option<Vec<Value>>,
    pub platform_version: Option<String>,
    pub propagate_tags: Option<String>,
    pub reference_id: Option<String>,
    pub started_by: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub task_definition: String,
    pub volume_configurations: Option<Vec<Value>>,
}

impl RunTaskParams {
    /// Checks and reads evaluated parameters; errors are `ECS.InvalidParameterException` with the field.
    pub fn parse(v: &Value) -> Result<RunTaskParams, EcsError> {
        let mut issues = Vec::new();
        check(v, &RUN_TASK, &At::Root, false, &mut issues);
        if let Some(i) = issues.first() {
            return Err(EcsError::invalid_parameter(format!(
                "{}: {}",
                if i.pointer.is_empty() { "/" } else { &i.pointer },
                i.message
            )));
        }
        // Read without tracking the path; only a failure is read again to name where it failed.
        let p = match RunTaskParams::deserialize(v) {
            Ok(p) => p,
            Err(_) => serde_path_to_error::deserialize::<_, RunTaskParams>(v)
                .map_err(|e| EcsError::invalid_parameter(format!("{}: {}", e.path(), e.inner())))?,
        };
        if let Some(c) = p.count
            && !(1..=10).contains(&c)
        {
            return Err(EcsError::invalid_parameter(format!("Count must be between 1 and 10, got {c}")));
        }
        if p.launch_type.is_some() && p.capacity_provider_strategy.as_ref().is_some_and(|s| !s.is_empty()) {
            return Err(EcsError::invalid_parameter(
                "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.",
            ));
        }
        Ok(p)
    }

    /// True when the task runs on Fargate: `LaunchType: FARGATE`, or a capacity provider strategy whose
    /// providers are `FARGATE`/`FARGATE_SPOT` (without either, ECS uses the cluster's default strategy,
    /// which a local cluster does not have: EC2).
    pub fn runs_on_fargate(&self) -> bool {
        match (&self.launch_type, &self.capacity_provider_strategy) {
            (Some(t), _) => t == "FARGATE",
            (None, Some(s)) if !s.is_empty() => s.iter().all(|i| i.capacity_provider.starts_with("FARGATE")),
            _ => false,
        }
    }

    /// The cluster name or ARN (`default` when not given).
    pub fn cluster_ref(&self) -> &str {
        self.cluster.as_deref().unwrap_or("default")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lint_finds_typos_types_and_required() {
        let issues = lint_template(&json!({
            "Cluster": "c", "TaskDefinitio": "t",
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Comand": ["x"], "Command.$": "$.cmd", "Cpu": "1"}]},
            "LaunchType": "LAMBDA", "Count": "2"
        }));
        let got: Vec<(String, String)> = issues.into_iter().map(|i| (i.pointer, i.message)).collect();
        assert!(
            got.contains(&(
                "/TaskDefinitio".into(),
                "unknown field TaskDefinitio, did you mean TaskDefinition?".into()
            )),
            "{got:?}"
        );
        assert!(got.contains(&(
            "/Overrides/ContainerOverrides/0/Comand".into(),
            "unknown field Comand, did you mean Command?".into()
        )));
        assert!(got.iter().any(|(p, _)| p == "/Overrides/ContainerOverrides/0/Cpu"));
        assert!(got.iter().any(|(p, m)| p == "/LaunchType" && m.contains("not one of")));
        assert!(got.iter().any(|(p, _)| p == "/Count"));
        assert!(got.iter().any(|(_, m)| m == "the field TaskDefinition is required"));
    }

    /// Found by the ecs-params fuzz target: the lint accepted a strategy item that RunTask refuses.
    #[test]
    fn capacity_provider_is_required_in_each_strategy_item() {
        let t = json!({"TaskDefinition": "t", "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE"}, {"Weight": 1}]});
        let issues = lint_template(&t);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].pointer, "/CapacityProviderStrategy/1");
        assert_eq!(issues[0].message, "the field CapacityProvider is required");
        assert!(RunTaskParams::parse(&t).is_err());
    }

    #[test]
    fn jsonata_values_are_not_type_checked_but_names_are() {
        let t = json!({"Cluster": "c", "TaskDefinition": "{% $states.input.td %}",
            "Overrides": {"ContainerOverrides": [{"Name": "a", "Command": "{% $states.input.cmd %}", "Comand": "{% 1 %}"}]}});
        let issues = lint_template(&t);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].pointer, "/Overrides/ContainerOverrides/0/Comand");
        assert!(lint_template(&json!("{% $states.input.request %}")).is_empty());
    }

    #[test]
    fn dynamic_fields_are_not_type_checked_but_names_are() {
        let issues = lint_template(&json!({"TaskDefinition.$": "$.td", "Cluster.$": "$.c"}));
        assert!(issues.is_empty(), "{issues:?}");
        let issues = lint_template(&json!({"TaskDefinition": "t", "Clustr.$": "$.c"}));
        assert_eq!(issues[0].pointer, "/Clustr.$");
    }

    #[test]
    fn runtime_parse() {
        let p = RunTaskParams::parse(&json!({"TaskDefinition": "t", "Cluster": "c", "Count": 2,
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Command": ["echo", "hi"]}]}}))
        .unwrap();
        assert_eq!(p.count, Some(2));
        let e = RunTaskParams::parse(&json!({"TaskDefinition": "t", "Count": 11})).unwrap_err();
        assert_eq!(e.error_name(), "ECS.InvalidParameterException");
        let e = RunTaskParams::parse(&json!({"TaskDefinition": "t", "LaunchType": "FARGATE", "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT"}]})).unwrap_err();
        assert!(e.message.contains("capacity provider strategy"));
        let e = RunTaskParams::parse(
            &json!({"TaskDefinition": "t", "Overrides": {"ContainerOverrides": [{"Command": "echo"}]}}),
        )
        .unwrap_err();
        assert!(e.message.contains("/Overrides/ContainerOverrides/0/Command"), "{e}");
    }
}
