//! Fuzz targets for the PascalCase → RunTask mapping (`cargo xtask fuzz`; see `fuzz_runner.rs`):
//! `lint_template` on `Parameters` templates and `RunTaskParams::parse` on evaluated parameters, then a
//! RunTask on the simulator.
//!
//! Properties, besides never panicking: every lint names a member of the template (or a member missing
//! from an object of it); on a template without `.$` keys or JSONata values the static lint and the
//! runtime parse agree; parsed parameters survive a serde round trip (the simulator's state file relies
//! on it); and the simulator starts `Count` tasks that carry the request's fields.

use futures_util::FutureExt as _;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_ecs::params::{RunTaskParams, lint_template};
use sfn_ecs::{EcsBackend as _, RunTaskRequest, SimBackend, SimScript};

#[path = "../../../path/tests/it/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz;

fn junk() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![Just(0i64), Just(1), Just(10), Just(11), Just(-1), any::<i64>()].prop_map(|n| json!(n)),
        Just(json!(1.5)),
        prop::sample::select(vec![
            "FARGATE", "EC2", "LAMBDA", "ENABLED", "s3", "GPU", "app", "$.x", "{% 1 %}", ""
        ])
        .prop_map(|s| json!(s)),
        "\\PC{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[A-Za-z]{1,8}", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// A value for a field: usually of the right shape, sometimes anything.
fn field(name: &'static str, good: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<(String, Value)> {
    let key = prop_oneof![
        8 => Just(name.to_owned()),
        1 => Just(format!("{name}.$")),
        1 => Just(name.to_lowercase()),
        1 => Just(name[..name.len() - 1].to_owned()),
    ];
    (key, prop_oneof![6 => good, 1 => junk()]).boxed()
}

fn object(fields: Vec<BoxedStrategy<(String, Value)>>) -> impl Strategy<Value = Value> {
    let n = fields.len();
    (prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n), fields).prop_map(|(keep, all)| {
        Value::Object(keep.into_iter().map(|i| all[i].clone()).collect::<Map<String, Value>>())
    })
}

fn strings() -> impl Strategy<Value = Value> {
    prop::collection::vec("[a-z ;|$]{0,6}", 0..4).prop_map(|v| json!(v))
}

fn container_override() -> impl Strategy<Value = Value> {
    let kv = object(vec![
        field("Name", "[A-Z_]{1,4}".prop_map(Value::String)),
        field("Value", "\\PC{0,6}".prop_map(Value::String)),
    ]);
    object(vec![
        field("Name", prop::sample::select(vec!["app", "sidecar", "nope"]).prop_map(|s| json!(s))),
        field("Command", strings()),
        field("Environment", prop::collection::vec(kv, 0..3).prop_map(Value::Array)),
        field("Cpu", (0i64..4096).prop_map(|n| json!(n))),
        field("Memory", (0i64..8192).prop_map(|n| json!(n))),
    ])
}

/// RunTask `Parameters`-shaped templates.
fn template() -> impl Strategy<Value = Value> {
    let overrides = object(vec![
        field("ContainerOverrides", prop::collection::vec(container_override(), 0..3).prop_map(Value::Array)),
        field("Cpu", Just(json!("256"))),
        field("Memory", Just(json!("512"))),
        field("TaskRoleArn", Just(json!("arn:aws:iam::123456789012:role/r"))),
    ]);
    let network = object(vec![field(
        "AwsvpcConfiguration",
        object(vec![
            field("Subnets", strings()),
            field(
                "AssignPublicIp",
                prop::sample::select(vec!["ENABLED", "DISABLED", "MAYBE"]).prop_map(|s| json!(s)),
            ),
        ]),
    )]);
    let tag = object(vec![
        field("Key", "[a-z]{1,3}".prop_map(Value::String)),
        field("Value", "[a-z]{0,3}".prop_map(Value::String)),
    ]);
    let strategy = object(vec![
        field("CapacityProvider", Just(json!("FARGATE_SPOT"))),
        field("Weight", (0i64..3).prop_map(|n| json!(n))),
    ]);
    prop_oneof![
        9 => object(vec![
            field("TaskDefinition", prop::sample::select(vec!["job", "job:3", "arn:aws:ecs:us-east-1:123456789012:task-definition/job:1"]).prop_map(|s| json!(s))),
            field("Cluster", prop::sample::select(vec!["default", "jobs", "arn:aws:ecs:us-east-1:123456789012:cluster/c"]).prop_map(|s| json!(s))),
            field("Count", (0i64..12).prop_map(|n| json!(n))),
            field("LaunchType", prop::sample::select(vec!["FARGATE", "EC2", "LAMBDA"]).prop_map(|s| json!(s))),
            field("CapacityProviderStrategy", prop::collection::vec(strategy, 0..2).prop_map(Value::Array)),
            field("Overrides", overrides),
            field("NetworkConfiguration", network),
            field("Tags", prop::collection::vec(tag, 0..3).prop_map(Value::Array)),
            field("Group", "[a-z:]{1,8}".prop_map(Value::String)),
            field("StartedBy", "[a-z ]{1,8}".prop_map(Value::String)),
            field("EnableExecuteCommand", any::<bool>().prop_map(Value::Bool)),
            field("PropagateTags", prop::sample::select(vec!["TASK_DEFINITION", "NONE", "ALL"]).prop_map(|s| json!(s))),
        ]),
        1 => junk(),
    ]
}

/// True when the template has no `.$` key and no `{% %}` value anywhere (its value is what runs).
fn is_static(v: &Value) -> bool {
    match v {
        Value::String(s) => !(s.starts_with("{%") && s.ends_with("%}")),
        Value::Array(a) => a.iter().all(is_static),
        Value::Object(m) => m.iter().all(|(k, x)| !k.ends_with(".$") && is_static(x)),
        _ => true,
    }
}

/// Checks made by `RunTaskParams::parse` and not by the template lint (they are `EcsIntegration::lint`'s).
fn beyond_the_template_lint(message: &str) -> bool {
    message.starts_with("Count must be between")
        || message.contains("launch type and capacity provider strategy")
}

fn sim() -> SimBackend {
    SimBackend::new(SimScript::default())
}

fn check(template: &Value) {
    let issues = lint_template(template);
    for i in &issues {
        if i.pointer.is_empty() || template.pointer(&i.pointer).is_some() {
            continue;
        }
        let parent = i.pointer.rsplit_once('/').map_or("", |(p, _)| p);
        assert!(
            template.pointer(parent).is_some_and(Value::is_object),
            "lint at {} names nothing: {}",
            i.pointer,
            i.message
        );
    }
    let parsed = RunTaskParams::parse(template);
    if is_static(template) {
        match &parsed {
            Ok(_) => assert!(issues.is_empty(), "parse accepts what the lint refuses: {issues:?}"),
            Err(e) if issues.is_empty() => {
                assert!(beyond_the_template_lint(&e.message), "the lint accepts what parse refuses: {e:?}")
            }
            Err(_) => {}
        }
    }
    let Ok(p) = parsed else { return };
    let again: RunTaskParams =
        serde_json::from_value(serde_json::to_value(&p).expect("serializable")).expect("round trip");
    assert_eq!(again, p);
    let req = RunTaskRequest {
        params: p.clone(),
        client_token: None,
        region: "us-east-1".into(),
        account: "123456789012".into(),
        ..RunTaskRequest::default()
    };
    let sim = sim();
    let out = sim.run_task(&req).now_or_never().expect("the simulator never waits").expect("RunTask");
    let count = usize::try_from(p.count.unwrap_or(1)).expect("1..=10");
    assert_eq!(out.tasks.len(), count);
    for t in &out.tasks {
        assert_eq!(t.started_by, p.started_by);
        assert_eq!(t.launch_type, p.launch_type);
        assert!(
            t.cluster_arn.ends_with(&format!("cluster/{}", sfn_ecs::cluster_name(p.cluster_ref()))),
            "{}",
            t.cluster_arn
        );
        if let Some(g) = &p.group {
            assert_eq!(&t.group, g);
        }
        let json = t.to_json();
        assert_eq!(json["TaskArn"], json!(t.task_arn));
        assert_eq!(json["Tags"].as_array().map(Vec::len), Some(p.tags.as_ref().map_or(0, Vec::len)));
    }
}

#[test]
fn run_task_parameters() {
    fuzz("ecs-params", template(), 400, check);
}

#[test]
fn arbitrary_json_parameters() {
    fuzz("ecs-params-json", junk(), 300, check);
}
