//! Shared builders: definitions, options, the corpus every property test runs over, and the snapshot view.

use serde_json::{Value, json};
use sfn_iam::{Options, Policy, TaskDefinitionRoles};

pub(crate) const REGION: &str = "eu-west-1";
pub(crate) const ACCOUNT: &str = "111122223333";

/// The three ECS patterns: (short name, resource suffix).
pub(crate) const PATTERNS: [(&str, &str); 3] =
    [("rr", ""), ("sync", ".sync"), ("callback", ".waitForTaskToken")];

pub(crate) fn machine(def: &Value) -> sfn_asl::StateMachine {
    sfn_asl::parse(def.to_string().as_bytes()).unwrap_or_else(|d| panic!("invalid definition {def}: {d:?}"))
}

/// An ECS RunTask state with these parameters (a callback state gets the task token in its environment).
pub(crate) fn ecs_task(suffix: &str, mut params: Value) -> Value {
    if suffix == ".waitForTaskToken" {
        params["Overrides"]["ContainerOverrides"] =
            json!([{"Name": "app", "Environment": [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]);
    }
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::ecs:runTask{suffix}"), "Parameters": params, "End": true})
}

/// A machine running `task` at the top, in a Map processor or in the second branch of a Parallel state.
pub(crate) fn nest(task: Value, nesting: &str) -> Value {
    match nesting {
        "top" => json!({"StartAt": "Run", "States": {"Run": task}}),
        "map" => json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Run", "States": {"Run": task}}}}}),
        "parallel" => {
            json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "Idle", "States": {"Idle": {"Type": "Pass", "End": true}}},
            {"StartAt": "Run", "States": {"Run": task}}]}}})
        }
        other => panic!("nesting {other}"),
    }
}

/// A machine of several top-level states, chained in order.
pub(crate) fn chain(states: Vec<(&str, Value)>) -> Value {
    let names: Vec<String> = states.iter().map(|(n, _)| (*n).to_owned()).collect();
    let mut map = serde_json::Map::new();
    for (i, (name, mut state)) in states.into_iter().enumerate() {
        if let Some(next) = names.get(i + 1) {
            state.as_object_mut().unwrap().remove("End");
            state["Next"] = json!(next);
        }
        map.insert(name.to_owned(), state);
    }
    json!({"StartAt": names[0], "States": map})
}

pub(crate) fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub(crate) fn task_definitions() -> Vec<TaskDefinitionRoles> {
    let td = |family: &str, task: Option<&str>, source: &str| TaskDefinitionRoles {
        family: family.to_owned(),
        revision: None,
        task_role_arn: task.map(role),
        execution_role_arn: Some(role("ecsTaskExecutionRole")),
        source: Some(source.to_owned()),
    };
    vec![
        td("report-job", Some("report-job-task"), "report-job.json"),
        td("callback-worker", Some("callback-worker-task"), "callback-worker.json"),
        td("cleanup", None, "cleanup.json"),
    ]
}

pub(crate) fn options(with_tds: bool) -> Options {
    let o = Options::new("aws", REGION, ACCOUNT);
    if with_tds { o.with_task_definitions(task_definitions()) } else { o }
}

/// The parameters of the matrix states: cluster `jobs`, a static or dynamic task definition.
pub(crate) fn matrix_params(dynamic_td: bool) -> Value {
    let mut p = json!({"Cluster": "jobs", "LaunchType": "FARGATE",
        "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.commands"}]}});
    if dynamic_td {
        p["TaskDefinition.$"] = json!("$.taskDefinition");
    } else {
        p["TaskDefinition"] = json!("report-job");
    }
    p
}

pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) definition: Value,
    pub(crate) options: Options,
}

fn case(name: &str, definition: Value, options: Options) -> Case {
    Case { name: name.to_owned(), definition, options }
}

/// Every pattern × static/dynamic TaskDefinition × with/without task definitions × top/Map/Parallel.
pub(crate) fn matrix() -> Vec<Case> {
    let mut out = Vec::new();
    for (p, suffix) in PATTERNS {
        for dynamic in [false, true] {
            for tds in [false, true] {
                for nesting in ["top", "map", "parallel"] {
                    let name = format!(
                        "{p}-{}-{}-{nesting}",
                        if dynamic { "dynamic" } else { "static" },
                        if tds { "tds" } else { "no-tds" }
                    );
                    out.push(case(
                        &name,
                        nest(ecs_task(suffix, matrix_params(dynamic)), nesting),
                        options(tds),
                    ));
                }
            }
        }
    }
    out
}

/// Particular situations: tagging, overrides, cluster and task definition forms, merging, JSONata,
/// other services and findings.
pub(crate) fn specials() -> Vec<Case> {
    let sync = |params: Value| nest(ecs_task(".sync", params), "top");
    let rr = |params: Value| nest(ecs_task("", params), "top");
    vec![
        case(
            "tags",
            sync(json!({"Cluster": "jobs", "TaskDefinition": "report-job",
            "Tags": [{"Key": "team", "Value": "data"}]})),
            options(true),
        ),
        case(
            "propagate-and-managed-tags",
            rr(json!({"TaskDefinition": "report-job",
            "PropagateTags": "TASK_DEFINITION", "EnableECSManagedTags": true})),
            options(true),
        ),
        case(
            "tags-off",
            rr(json!({"Cluster": "jobs", "TaskDefinition": "report-job", "Tags": [],
            "PropagateTags": "NONE", "EnableECSManagedTags": false})),
            options(true),
        ),
        case(
            "tags-dynamic-cluster",
            rr(json!({"Cluster.$": "$.cluster", "TaskDefinition": "report-job",
            "Tags.$": "$.tags"})),
            options(true),
        ),
        case(
            "overrides-static",
            sync(json!({"Cluster": "jobs", "TaskDefinition": "report-job",
            "Overrides": {"TaskRoleArn": role("override-task"), "ExecutionRoleArn": "override-execution"}})),
            options(true),
        ),
        case(
            "overrides-dynamic",
            sync(json!({"Cluster": "jobs", "TaskDefinition": "report-job",
            "Overrides": {"TaskRoleArn.$": "$.role"}})),
            options(true),
        ),
        case(
            "overrides-dynamic-wildcard",
            sync(json!({"Cluster": "jobs", "TaskDefinition": "report-job",
            "Overrides.$": "$.overrides"})),
            options(true).with_wildcard_passrole(true),
        ),
        case("revision", rr(json!({"Cluster": "jobs", "TaskDefinition": "report-job:12"})), options(true)),
        case(
            "task-definition-arn",
            rr(json!({"Cluster": "jobs",
            "TaskDefinition": "arn:aws:ecs:us-east-2:444455556666:task-definition/report-job:3"})),
            options(true),
        ),
        case(
            "task-definition-bare-arn",
            rr(json!({"Cluster": "jobs",
            "TaskDefinition": "arn:aws:ecs:eu-west-1:111122223333:task-definition/report-job"})),
            options(true),
        ),
        case("cluster-absent", sync(json!({"TaskDefinition": "report-job"})), options(true)),
        case(
            "cluster-arn",
            sync(json!({"TaskDefinition": "report-job",
            "Cluster": "arn:aws:ecs:us-east-2:444455556666:cluster/batch-jobs"})),
            options(true),
        ),
        case(
            "cluster-dynamic",
            sync(json!({"TaskDefinition": "report-job", "Cluster.$": "$.cluster"})),
            options(true),
        ),
        case(
            "jsonata",
            json!({"QueryLanguage": "JSONata", "StartAt": "Run", "States": {"Run": {"Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true, "Arguments": {"Cluster": "jobs",
            "TaskDefinition": "{% $states.input.family %}", "Overrides": {"TaskRoleArn": "{% $states.input.role %}"},
            "Tags": [{"Key": "run", "Value": "{% $states.context.Execution.Name %}"}]}}}}),
            options(true),
        ),
        case(
            "jsonata-static",
            json!({"QueryLanguage": "JSONata", "StartAt": "Run", "States": {"Run": {"Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask", "End": true, "Arguments": {"Cluster": "jobs",
            "TaskDefinition": "report-job", "Overrides": {"ContainerOverrides": [{"Name": "app",
            "Command": "{% $states.input.commands %}"}]}}}}}),
            options(true),
        ),
        case(
            "two-clusters",
            chain(vec![
                ("Extract", ecs_task(".sync", json!({"Cluster": "etl", "TaskDefinition": "report-job"}))),
                ("Load", ecs_task(".sync", json!({"Cluster": "warehouse", "TaskDefinition": "cleanup"}))),
            ]),
            options(true),
        ),
        case(
            "one-cluster-many-states",
            chain(vec![
                ("Start", ecs_task("", json!({"Cluster": "jobs", "TaskDefinition": "cleanup"}))),
                ("Work", ecs_task(".sync", json!({"Cluster": "jobs", "TaskDefinition": "report-job:4"}))),
                (
                    "Wait for worker",
                    ecs_task(
                        ".waitForTaskToken",
                        json!({"Cluster": "jobs", "TaskDefinition": "callback-worker"}),
                    ),
                ),
            ]),
            options(true),
        ),
        case(
            "any-cluster-absorbs-named",
            chain(vec![
                ("Named", ecs_task(".sync", json!({"Cluster": "jobs", "TaskDefinition": "report-job"}))),
                (
                    "Dynamic",
                    ecs_task(".sync", json!({"Cluster.$": "$.cluster", "TaskDefinition": "report-job"})),
                ),
            ]),
            options(true),
        ),
        case(
            "cluster-names-collide",
            chain(vec![
                ("A", ecs_task("", json!({"Cluster": "my-jobs", "TaskDefinition": "report-job"}))),
                ("B", ecs_task("", json!({"Cluster": "my_jobs", "TaskDefinition": "report-job"}))),
            ]),
            options(false),
        ),
        case(
            "other-services",
            chain(vec![
                (
                    "Invoke",
                    json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters":
                {"FunctionName": "f", "Payload.$": "$"}, "End": true}),
                ),
                (
                    "Invoke again",
                    json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters":
                {"FunctionName": "g"}, "End": true}),
                ),
                (
                    "Describe",
                    json!({"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ecs:describeTasks",
                "Parameters": {"Tasks": ["t"]}, "End": true}),
                ),
                ("Run", ecs_task("", json!({"Cluster": "jobs", "TaskDefinition": "report-job"}))),
            ]),
            options(true),
        ),
        case(
            "credentials",
            json!({"StartAt": "Run", "States": {"Run": {"Type": "Task",
            "Resource": "arn:aws:states:::ecs:runTask", "Credentials": {"RoleArn": "arn:aws:iam::444455556666:role/cross"},
            "Parameters": {"Cluster": "jobs", "TaskDefinition": "report-job"}, "End": true}}}),
            options(true),
        ),
        case(
            "distributed-map",
            json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Run", "States": {"Run": ecs_task(".sync", json!({"Cluster": "jobs", "TaskDefinition": "report-job"}))}}}}}),
            options(true),
        ),
        case(
            "distributed-map-s3",
            json!({"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true,
            "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket": "images", "Prefix": "raw/"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "results", "Prefix": "runs"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Each file", "States": {"Each file": {"Type": "Map", "End": true,
                "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV"},
                    "Parameters": {"Bucket": "images", "Key.$": "$.Key"}},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Run", "States": {"Run": ecs_task(".sync", json!({"Cluster": "jobs", "TaskDefinition": "report-job"}))}}}}}}}}),
            options(true),
        ),
        case(
            "map-in-parallel",
            json!({"StartAt": "Both", "States": {"Both": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "Each", "States": {"Each": {"Type": "Map", "End": true, "ItemProcessor": {
                "StartAt": "Run", "States": {"Run": ecs_task(".sync", json!({"Cluster": "jobs", "TaskDefinition": "report-job"}))}}}}},
                {"StartAt": "Ping", "States": {"Ping": ecs_task("", json!({"Cluster": "jobs", "TaskDefinition": "cleanup"}))}}]}}}),
            options(true),
        ),
        case(
            "invalid-values",
            chain(vec![
                (
                    "Bad cluster",
                    ecs_task(
                        "",
                        json!({"Cluster": "arn:aws:ecs:eu-west-1:111122223333:service/jobs/x", "TaskDefinition": "report-job"}),
                    ),
                ),
                (
                    "Bad revision",
                    ecs_task("", json!({"Cluster": "jobs", "TaskDefinition": "report-job:latest"})),
                ),
                (
                    "Bad role",
                    ecs_task(
                        "",
                        json!({"Cluster": "jobs", "TaskDefinition": "report-job", "Overrides": {"TaskRoleArn": "arn:aws:iam::111122223333:user/me"}}),
                    ),
                ),
                ("No task definition", ecs_task("", json!({"Cluster": "jobs"}))),
            ]),
            options(true),
        ),
        case("unknown-family", rr(json!({"Cluster": "jobs", "TaskDefinition": "not-there"})), options(true)),
        case(
            "gov-cloud",
            sync(json!({"Cluster": "jobs", "TaskDefinition": "report-job"})),
            Options::new("aws-us-gov", "us-gov-west-1", ACCOUNT),
        ),
    ]
}

pub(crate) fn corpus() -> Vec<Case> {
    let mut all = matrix();
    all.extend(specials());
    all
}

/// What snapshots show: the document, the states behind each statement, and the warnings.
pub(crate) fn summary(policy: &Policy) -> Value {
    let needed_by: serde_json::Map<String, Value> = policy
        .explanations()
        .map(|(sid, e)| {
            (sid.to_owned(), e.needed_by.iter().map(|n| format!("{}: {}", n.state, n.reason)).collect())
        })
        .collect();
    let warnings: Vec<String> = policy
        .warnings()
        .iter()
        .map(|w| format!("{:?} [{}] {}", w.kind, w.states.join(", "), w.message))
        .collect();
    json!({"document": policy.document(), "needed_by": needed_by, "warnings": warnings})
}

/// A JSON string or list of strings as a list.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

/// Every (action, resource) pair a document allows.
pub(crate) fn grants(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in doc["Statement"].as_array().unwrap() {
        for a in strings(&s["Action"]) {
            for r in strings(&s["Resource"]) {
                out.push((a.clone(), r));
            }
        }
    }
    out
}
