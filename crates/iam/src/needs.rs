//! What each Task state needs, read from the typed definition: only values written in the definition
//! count as known; a value from a path (`X.$`), an intrinsic or a JSONata expression (`{% … %}`) is
//! dynamic and cannot narrow a grant.

use serde_json::Value;
use sfn_asl::{JsonataExpr, Payload, ProcessorMode, StateKind, StateMachine, States};
use sfn_path::Template;
use sfn_patterns::{Pattern, Resource};

/// A RunTask parameter as far as static analysis can tell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// Not given (or `null`).
    Absent,
    /// Written in the definition.
    Static(Value),
    /// From a path, an intrinsic or a JSONata expression.
    Dynamic,
}

/// One `arn:…:states:::ecs:runTask[.sync|.waitForTaskToken]` Task state.
#[derive(Debug, Clone)]
pub(crate) struct EcsTask {
    /// The state's path: `Outer > branch 0 > Run`.
    pub(crate) state: String,
    pub(crate) pattern: Pattern,
    pub(crate) task_definition: Field,
    pub(crate) cluster: Field,
    pub(crate) task_role_override: Field,
    pub(crate) execution_role_override: Field,
    /// The parameters that make ECS tag the task at launch (`Tags`, `PropagateTags`, `EnableECSManagedTags`).
    pub(crate) tagging: Vec<&'static str>,
    /// The state sets `Credentials` (Step Functions assumes another role for the call).
    pub(crate) credentials: bool,
    /// The parameters pass the task token (`$$.Task.Token`, `$states.context.Task.Token`) to the task.
    pub(crate) passes_token: bool,
}

/// One `arn:…:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]` Task state.
#[derive(Debug, Clone)]
pub(crate) struct NestedTask {
    /// The state's path.
    pub(crate) state: String,
    pub(crate) pattern: Pattern,
    /// `StateMachineArn`.
    pub(crate) machine: Field,
}

/// Everything the machine's states need.
#[derive(Debug, Default)]
pub(crate) struct Needs {
    pub(crate) ecs: Vec<EcsTask>,
    /// Nested executions (`states:startExecution`).
    pub(crate) nested: Vec<NestedTask>,
    /// Task states of other services or actions: (resource, state).
    pub(crate) other: Vec<(String, String)>,
    /// Map states in DISTRIBUTED mode.
    pub(crate) distributed_maps: Vec<String>,
    /// Their map runs' labels (the Map's `Label`, else its state name), as their child executions are
    /// named (`execution:MACHINE/LABEL:ID`; a Distributed Map inside another's children
    /// `MACHINE/OUTER/INNER`), in the same order.
    pub(crate) map_run_labels: Vec<String>,
    /// Their `ProcessorConfig.ExecutionType` is `EXPRESS`, in the same order.
    pub(crate) map_run_express: Vec<bool>,
    /// Distributed Maps whose ItemReader reads an Athena manifest (`ManifestType: ATHENA_DATA`): the
    /// data files it lists are read too, from URIs known only at run time.
    pub(crate) athena_manifests: Vec<String>,
    /// While walking: the labels of the Distributed Maps whose children are walked.
    map_run_prefix: Vec<String>,
    /// What Distributed Maps read from and write to S3 (`ItemReader`, `ResultWriter`).
    pub(crate) s3: Vec<S3Access>,
}

/// What an `ItemReader` or `ResultWriter` does in S3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum S3Op {
    /// `s3:getObject`: read `Key`.
    Read,
    /// `s3:listObjectsV2`: list `Prefix`.
    List,
    /// `ResultWriter` (`s3:putObject`): write under `Prefix`.
    Write,
}

/// One S3 access of a Distributed Map.
#[derive(Debug, Clone)]
pub(crate) struct S3Access {
    pub(crate) state: String,
    pub(crate) op: S3Op,
    pub(crate) bucket: Field,
    /// `Key` (Read) or `Prefix` (List, Write).
    pub(crate) path: Field,
}

fn is_jsonata(s: &str) -> bool {
    JsonataExpr::parse(s).is_some()
}

/// True when a JSONata value holds an expression anywhere.
fn has_jsonata(v: &Value) -> bool {
    match v {
        Value::String(s) => is_jsonata(s),
        Value::Array(a) => a.iter().any(has_jsonata),
        Value::Object(m) => m.values().any(has_jsonata),
        _ => false,
    }
}

fn known(v: &Value) -> Field {
    if v.is_null() { Field::Absent } else { Field::Static(v.clone()) }
}

/// A member of a JSONPath payload template, by key path.
fn in_template(t: &Template, path: &[&str]) -> Field {
    match (t, path.split_first()) {
        (Template::Literal(v), _) => in_value(v, path, false),
        (Template::Expr { .. }, _) => Field::Dynamic,
        (Template::Object(_) | Template::Array(_), None) => Field::Dynamic,
        (Template::Array(_), Some(_)) => Field::Absent,
        (Template::Object(members), Some((first, rest))) => {
            let mut found = None;
            for (k, m) in members {
                if k.as_ref() == *first {
                    if matches!(m, Template::Expr { .. }) {
                        return Field::Dynamic;
                    }
                    found = Some(m);
                }
            }
            found.map_or(Field::Absent, |m| in_template(m, rest))
        }
    }
}

/// A member of a literal JSON value (JSONPath) or a JSONata template, by key path.
fn in_value(v: &Value, path: &[&str], jsonata: bool) -> Field {
    let mut cur = v;
    for key in path {
        if jsonata && matches!(cur, Value::String(s) if is_jsonata(s)) {
            return Field::Dynamic;
        }
        match cur.get(*key) {
            Some(x) => cur = x,
            None => return Field::Absent,
        }
    }
    if jsonata && has_jsonata(cur) { Field::Dynamic } else { known(cur) }
}

fn lookup(payload: Option<&Payload>, path: &[&str]) -> Field {
    match payload {
        None => Field::Absent,
        Some(Payload::JsonPath(t)) => in_template(t, path),
        Some(Payload::Jsonata(j)) => in_value(j.value(), path, true),
    }
}

/// Which tagging parameters are set so that ECS tags the task at launch: `Tags` not empty,
/// `PropagateTags` other than `NONE`, `EnableECSManagedTags` not `false` (a dynamic value may tag).
fn tagging(payload: Option<&Payload>) -> Vec<&'static str> {
    let mut out = Vec::new();
    let tags = lookup(payload, &["Tags"]);
    if !matches!(&tags, Field::Absent) && !matches!(&tags, Field::Static(Value::Array(a)) if a.is_empty()) {
        out.push("Tags");
    }
    let propagate = lookup(payload, &["PropagateTags"]);
    if !matches!(&propagate, Field::Absent)
        && !matches!(&propagate, Field::Static(Value::String(s)) if s == "NONE")
    {
        out.push("PropagateTags");
    }
    let managed = lookup(payload, &["EnableECSManagedTags"]);
    if !matches!(&managed, Field::Absent | Field::Static(Value::Bool(false))) {
        out.push("EnableECSManagedTags");
    }
    out
}

/// True when the parameters hand the task token to the task (JSONPath `$$.Task…`, JSONata
/// `$states.context.Task…`).
fn passes_token(payload: Option<&Payload>) -> bool {
    payload.is_some_and(Payload::passes_task_token)
}

fn walk(states: &States, prefix: &str, out: &mut Needs) {
    for s in states {
        let path = if prefix.is_empty() { s.name.clone() } else { format!("{prefix} > {}", s.name) };
        match &s.kind {
            StateKind::Task(t) => match Resource::parse(&t.resource) {
                Ok(Resource::Service(r)) if r.service == "ecs" && !r.sdk && r.action == "runTask" => {
                    let p = t.parameters.as_ref();
                    out.ecs.push(EcsTask {
                        pattern: r.pattern,
                        task_definition: lookup(p, &["TaskDefinition"]),
                        cluster: lookup(p, &["Cluster"]),
                        task_role_override: lookup(p, &["Overrides", "TaskRoleArn"]),
                        execution_role_override: lookup(p, &["Overrides", "ExecutionRoleArn"]),
                        tagging: tagging(p),
                        credentials: t.credentials.is_some(),
                        passes_token: passes_token(p),
                        state: path,
                    });
                }
                Ok(Resource::Service(r))
                    if r.service == "states" && !r.sdk && r.action == "startExecution" =>
                {
                    let machine = lookup(t.parameters.as_ref(), &["StateMachineArn"]);
                    out.nested.push(NestedTask { state: path, pattern: r.pattern, machine });
                }
                // AWS's policy for a machine with only Activity tasks denies everything ("Activity or no
                // tasks", Step Functions Developer Guide): the execution role needs nothing for them (the
                // workers call GetActivityTask and SendTask* with their own credentials).
                Ok(Resource::Activity(_)) => {}
                _ => out.other.push((t.resource.clone(), path)),
            },
            StateKind::Parallel(p) => {
                for (i, b) in p.branches.iter().enumerate() {
                    walk(&b.states, &format!("{path} > branch {i}"), out);
                }
            }
            StateKind::Map(m) => {
                let distributed = m.mode == ProcessorMode::Distributed;
                if distributed {
                    out.distributed_maps.push(path.clone());
                    let label = m.label.clone().unwrap_or_else(|| s.name.clone());
                    out.map_run_prefix.push(label);
                    out.map_run_labels.push(out.map_run_prefix.join("/"));
                    out.map_run_express.push(m.execution_type.as_deref() == Some("EXPRESS"));
                }
                if let Some(r) = &m.reader {
                    let p = r.parameters.as_ref();
                    let (op, field) = match r.resource.rsplit(':').next() {
                        Some("listObjectsV2") => (S3Op::List, "Prefix"),
                        _ => (S3Op::Read, "Key"),
                    };
                    let key = lookup(p, &[field]);
                    if r.manifest_type.as_deref() == Some("ATHENA_DATA") {
                        out.athena_manifests.push(path.clone());
                    }
                    // An S3 Inventory (`InputType: MANIFEST`) also reads the data files its manifest lists:
                    // S3 Inventory writes them to `PREFIX/SOURCE/CONFIG/data/` beside the
                    // `PREFIX/SOURCE/CONFIG/TIMESTAMP/manifest.json` (Amazon S3 User Guide, "Locating your
                    // inventory list"); a manifest key of another shape reads the bucket's objects.
                    if op == S3Op::Read && r.input_type.as_deref() == Some("MANIFEST") {
                        let data = match &key {
                            Field::Static(Value::String(k)) => match k.rsplitn(3, '/').nth(2) {
                                Some(base) if !base.is_empty() => {
                                    Field::Static(Value::String(format!("{base}/data/*")))
                                }
                                _ => Field::Dynamic,
                            },
                            _ => Field::Dynamic,
                        };
                        out.s3.push(S3Access {
                            state: path.clone(),
                            op,
                            bucket: lookup(p, &["Bucket"]),
                            path: data,
                        });
                    }
                    out.s3.push(S3Access {
                        state: path.clone(),
                        op,
                        bucket: lookup(p, &["Bucket"]),
                        path: key,
                    });
                }
                if let Some(w) = m.writer.as_ref().filter(|w| w.resource.is_some()) {
                    let p = w.parameters.as_ref();
                    out.s3.push(S3Access {
                        state: path.clone(),
                        op: S3Op::Write,
                        bucket: lookup(p, &["Bucket"]),
                        path: lookup(p, &["Prefix"]),
                    });
                }
                walk(&m.processor.states, &path, out);
                if distributed {
                    out.map_run_prefix.pop();
                }
            }
            StateKind::Pass(_)
            | StateKind::Choice(_)
            | StateKind::Wait(_)
            | StateKind::Succeed
            | StateKind::Fail(_) => {}
        }
    }
}

/// Collects the needs of every Task state, those in Parallel branches and Map processors included.
pub(crate) fn collect(machine: &StateMachine) -> Needs {
    let mut out = Needs::default();
    walk(&machine.states, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn task(def: Value) -> EcsTask {
        let m = json!({"StartAt": "T", "States": {"T": def}});
        let machine = sfn_asl::parse(m.to_string().as_bytes()).unwrap();
        collect(&machine).ecs.remove(0)
    }

    #[test]
    fn static_dynamic_and_absent_jsonpath_fields() {
        let t = task(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "End": true,
            "Parameters": {"TaskDefinition": "td", "Cluster.$": "$.c", "Overrides": {"TaskRoleArn": "r",
                "ContainerOverrides": [{"Name": "x", "Command.$": "$.cmd"}]}}}));
        assert_eq!(t.task_definition, Field::Static(json!("td")));
        assert_eq!(t.cluster, Field::Dynamic);
        assert_eq!(t.task_role_override, Field::Static(json!("r")));
        assert_eq!(t.execution_role_override, Field::Absent);
        assert!(t.tagging.is_empty());
        assert!(!t.passes_token);
    }

    #[test]
    fn the_task_token_is_found_in_both_languages() {
        let t = task(
            json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken", "End": true,
            "Parameters": {"TaskDefinition": "td", "Overrides": {"ContainerOverrides": [{"Name": "x",
                "Environment": [{"Name": "T", "Value.$": "$$.Task.Token"}]}]}}}),
        );
        assert!(t.passes_token);
        let t = task(
            json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "End": true, "Arguments": {"TaskDefinition": "td", "Overrides": {"ContainerOverrides": [{"Name": "x",
                "Environment": [{"Name": "T", "Value": "{% $states.context.Task.Token %}"}]}]}}}),
        );
        assert!(t.passes_token);
    }

    #[test]
    fn a_dynamic_parent_makes_its_members_dynamic() {
        let t = task(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "End": true,
            "Parameters": {"TaskDefinition": "td", "Overrides.$": "$.o"}}));
        assert_eq!(t.task_role_override, Field::Dynamic);
        assert_eq!(t.execution_role_override, Field::Dynamic);
    }

    #[test]
    fn jsonata_expressions_are_dynamic() {
        let t = task(
            json!({"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::ecs:runTask.sync",
            "End": true, "Arguments": {"TaskDefinition": "{% $states.input.td %}", "Cluster": "jobs",
                "Overrides": "{% $states.input.o %}", "Tags": [{"Key": "k", "Value": "{% $v %}"}]}}),
        );
        assert_eq!(t.task_definition, Field::Dynamic);
        assert_eq!(t.cluster, Field::Static(json!("jobs")));
        assert_eq!(t.task_role_override, Field::Dynamic);
        assert_eq!(t.tagging, vec!["Tags"]);
    }

    #[test]
    fn tagging_needs_a_value_that_tags() {
        let none = task(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "End": true,
            "Parameters": {"TaskDefinition": "td", "Tags": [], "PropagateTags": "NONE", "EnableECSManagedTags": false}}));
        assert!(none.tagging.is_empty());
        let all = task(json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask", "End": true,
            "Parameters": {"TaskDefinition": "td", "Tags": [{"Key": "a", "Value": "b"}], "PropagateTags": "TASK_DEFINITION",
                "EnableECSManagedTags.$": "$.managed"}}));
        assert_eq!(all.tagging, vec!["Tags", "PropagateTags", "EnableECSManagedTags"]);
    }
}
