//! Snapshots of particular situations: tagging, role overrides, cluster and task definition forms, merging,
//! JSONata, other services, and the findings that cannot be narrowed.

use sfn_iam::WarningKind;

use crate::common::{machine, options, specials, summary};

#[test]
fn special_cases() {
    for c in specials() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        insta::assert_json_snapshot!(c.name.clone(), summary(&policy));
    }
}

fn generate(name: &str) -> sfn_iam::Policy {
    let c = specials().into_iter().find(|c| c.name == name).unwrap();
    sfn_iam::generate(&machine(&c.definition), &c.options)
}

fn warnings_of(policy: &sfn_iam::Policy, kind: WarningKind) -> Vec<&sfn_iam::Warning> {
    policy.warnings().iter().filter(|w| w.kind == kind).collect()
}

#[test]
fn other_services_get_one_warning_per_resource_and_no_statement() {
    let policy = generate("other-services");
    let other = warnings_of(&policy, WarningKind::OtherService);
    assert_eq!(other.len(), 2, "{other:#?}");
    assert_eq!(
        other.iter().find(|w| w.message.contains("lambda:invoke")).unwrap().states,
        ["Invoke", "Invoke again"]
    );
    // The SDK integration is not the optimized one: not treated as ECS RunTask.
    assert!(other.iter().any(|w| w.message.contains("aws-sdk:ecs:describeTasks")));
    let actions: Vec<&str> =
        policy.statements().iter().flat_map(|s| s.actions.iter().map(String::as_str)).collect();
    assert!(actions.iter().all(|a| a.starts_with("ecs:") || a.starts_with("iam:")), "{actions:?}");
}

#[test]
fn a_role_from_the_input_is_a_warning_unless_wildcard_passrole_is_allowed() {
    let strict = generate("overrides-dynamic");
    assert_eq!(warnings_of(&strict, WarningKind::DynamicRole).len(), 1);
    assert!(
        strict
            .statements()
            .iter()
            .all(|s| !s.resources.contains(&"*".to_owned()) || s.actions != ["iam:PassRole"])
    );
    let wildcard = generate("overrides-dynamic-wildcard");
    let pass = wildcard.statements().iter().find(|s| s.actions == ["iam:PassRole"]).unwrap();
    assert_eq!(pass.resources, ["*"]);
    assert_eq!(pass.conditions[0].values, ["ecs-tasks.amazonaws.com"]);
}

#[test]
fn a_static_override_replaces_the_task_definition_role() {
    let policy = generate("overrides-static");
    let pass = policy.statements().iter().find(|s| s.actions == ["iam:PassRole"]).unwrap();
    assert_eq!(
        pass.resources,
        ["arn:aws:iam::111122223333:role/override-execution", "arn:aws:iam::111122223333:role/override-task"]
    );
}

#[test]
fn tagging_needs_tag_resource_and_no_tagging_needs_none() {
    let has_tag = |p: &sfn_iam::Policy| p.statements().iter().any(|s| s.actions == ["ecs:TagResource"]);
    assert!(has_tag(&generate("tags")));
    assert!(has_tag(&generate("propagate-and-managed-tags")));
    assert!(has_tag(&generate("tags-dynamic-cluster")));
    assert!(!has_tag(&generate("tags-off")));
}

#[test]
fn conditions_are_never_unioned_across_clusters() {
    let policy = generate("two-clusters");
    let run: Vec<_> = policy.statements().iter().filter(|s| s.actions == ["ecs:RunTask"]).collect();
    assert_eq!(run.len(), 2);
    assert!(run.iter().all(|s| s.resources.len() == 1 && s.conditions.len() == 1));
}

#[test]
fn sids_are_unique_even_when_cluster_names_collide() {
    let policy = generate("cluster-names-collide");
    let sids: Vec<&str> = policy.statements().iter().map(|s| s.sid.as_str()).collect();
    assert_eq!(sids, ["RunEcsTasksInClusterMyJobs", "RunEcsTasksInClusterMyJobs2"]);
}

#[test]
fn invalid_values_grant_nothing_for_their_state() {
    let policy = generate("invalid-values");
    assert!(
        policy.is_empty()
            || policy.statements().iter().all(|s| s
                .explanation
                .needed_by
                .iter()
                .all(|n| n.state == "Bad role"))
    );
    assert_eq!(warnings_of(&policy, WarningKind::InvalidValue).len(), 3);
    assert_eq!(warnings_of(&policy, WarningKind::MissingTaskDefinition).len(), 1);
}

#[test]
fn the_placeholder_account_is_a_warning() {
    let m = machine(&crate::common::nest(
        crate::common::ecs_task("", crate::common::matrix_params(false)),
        "top",
    ));
    let p = sfn_iam::generate(&m, &sfn_iam::Options::default());
    assert_eq!(warnings_of(&p, WarningKind::PlaceholderAccount).len(), 1);
    assert!(warnings_of(&sfn_iam::generate(&m, &options(false)), WarningKind::PlaceholderAccount).is_empty());
}

#[test]
fn odd_values_never_panic_and_still_give_valid_policies() {
    use serde_json::{Value, json};
    let odd: Vec<Value> = vec![
        json!(1),
        json!(-1.5),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!(""),
        json!(" "),
        json!("arn:"),
        json!("arn:aws:ecs:::"),
        json!("arn:aws:ecs:eu-west-1:111122223333:task-definition/"),
        json!("arn:aws:iam::111122223333:role/"),
        json!("ü-cluster"),
        json!("a:b:c"),
        json!(":1"),
        json!("family:99999999999"),
        json!("x".repeat(300)),
        json!("{% $x %}"),
        json!([{"Key": "k"}]),
    ];
    let fields: [&[&str]; 7] = [
        &["TaskDefinition"],
        &["Cluster"],
        &["Overrides", "TaskRoleArn"],
        &["Overrides", "ExecutionRoleArn"],
        &["Tags"],
        &["PropagateTags"],
        &["EnableECSManagedTags"],
    ];
    for (_, suffix) in crate::common::PATTERNS {
        for field in fields {
            for v in &odd {
                let mut params = json!({"TaskDefinition": "report-job", "Cluster": "jobs", "Overrides": {}});
                let (last, parents) = field.split_last().unwrap();
                let mut target = &mut params;
                for p in parents {
                    target = &mut target[*p];
                }
                target[*last] = v.clone();
                let def = crate::common::nest(crate::common::ecs_task(suffix, params), "map");
                let m = machine(&def);
                for o in [options(true), options(false).with_wildcard_passrole(true)] {
                    for p in [sfn_iam::generate(&m, &o), sfn_iam::task_role_policy(&m, &o)] {
                        crate::grammar::check_document(&p.document())
                            .unwrap_or_else(|e| panic!("{field:?} = {v}: {e}"));
                        let _ = (p.explain(), p.to_cloudformation("m", sfn_iam::CloudFormationFormat::Yaml));
                        let _ = p.to_terraform("m", sfn_iam::TerraformStyle::JsonEncode);
                    }
                }
            }
        }
    }
}

/// A Distributed Map's ItemReader and ResultWriter get AWS's S3 templates ("ItemReader (Map)", "ResultWriter
/// (Map)": GetObject on the object, ListBucket with `s3:prefix`, PutObject and multipart on `PREFIX/*`); a
/// key from the input widens to the bucket's objects, never to other buckets.
#[test]
fn distributed_map_s3_grants_follow_the_aws_templates() {
    let policy = generate("distributed-map-s3");
    let by_sid =
        |sid: &str| policy.statements().iter().find(|s| s.sid == sid).unwrap_or_else(|| panic!("{sid}"));
    let list = by_sid("ListDistributedMapItems");
    assert_eq!(list.actions, ["s3:ListBucket"]);
    assert_eq!(list.resources, ["arn:aws:s3:::images"]);
    assert_eq!(list.conditions.len(), 1);
    assert_eq!(
        (list.conditions[0].key.as_str(), list.conditions[0].values.as_slice()),
        ("s3:prefix", &["raw/*".to_owned()][..])
    );
    let read = by_sid("ReadDistributedMapItems");
    assert_eq!(read.resources, ["arn:aws:s3:::images/*"]);
    let write = by_sid("WriteDistributedMapResults");
    assert_eq!(write.resources, ["arn:aws:s3:::results/runs/*"]);
    assert!(write.actions.contains(&"s3:PutObject".to_owned()));
}

// AWS: "Activity or no tasks" (Step Functions Developer Guide, IAM policies): a machine whose Tasks are
// activities needs no permission at all (its workers call GetActivityTask and SendTask* themselves).
#[test]
fn an_activity_task_needs_no_statement_and_no_warning() {
    let def = serde_json::json!({"StartAt": "Resize", "States": {"Resize": {"Type": "Task",
        "Resource": "arn:aws:states:us-east-1:123456789012:activity:resize", "Next": "Encode"},
        "Encode": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}});
    let policy = sfn_iam::generate(&machine(&def), &options(false));
    assert!(policy.statements().is_empty(), "{:?}", policy.statements());
    let other = warnings_of(&policy, WarningKind::OtherService);
    assert_eq!(other.len(), 1, "only the Lambda state: {other:#?}");
    assert!(other[0].message.contains("lambda:invoke"));
}

/// With the state machine's name, a Distributed Map gets AWS's template for running it ("IAM policies for
/// using Distributed Map states": StartExecution on the state machine, DescribeExecution and StopExecution
/// on its map runs' child executions, `execution:NAME/*`); without it, a warning says what is missing.
#[test]
fn distributed_map_child_executions_need_the_state_machine_name() {
    let c = specials().into_iter().find(|c| c.name == "distributed-map-s3").unwrap();
    let without = sfn_iam::generate(&machine(&c.definition), &c.options);
    assert!(without.statements().iter().all(|s| !s.actions.contains(&"states:StartExecution".to_owned())));
    assert!(
        without
            .warnings()
            .iter()
            .any(|w| w.kind == WarningKind::DistributedMap && w.message.contains("--state-machine-name"))
    );
    let named = sfn_iam::generate(&machine(&c.definition), &c.options.clone().with_state_machine("images"));
    let by_sid =
        |sid: &str| named.statements().iter().find(|s| s.sid == sid).unwrap_or_else(|| panic!("{sid}"));
    let start = by_sid("StartMapRunChildExecutions");
    assert_eq!(start.actions, ["states:StartExecution"]);
    assert_eq!(
        start.resources,
        [format!("arn:aws:states:{}:{}:stateMachine:images", crate::common::REGION, crate::common::ACCOUNT)]
    );
    let track = by_sid("DescribeAndStopMapRunChildExecutions");
    assert_eq!(track.actions, ["states:DescribeExecution", "states:StopExecution"]);
    assert_eq!(
        track.resources,
        [format!("arn:aws:states:{}:{}:execution:images/*", crate::common::REGION, crate::common::ACCOUNT)]
    );
    assert!(named.warnings().iter().all(|w| !w.message.contains("--state-machine-name")));
    // A redrive redrives the map run's unsuccessful children: AWS's "Redriving Map Runs" template,
    // RedriveExecution on execution:NAME/LABEL:* (the Map's Label, else its state name), nothing wider.
    let redrive = by_sid("RedriveMapRunChildExecutions");
    assert_eq!(redrive.actions, ["states:RedriveExecution"]);
    // Two Distributed Maps: `Each`, and `Each file` inside its children (whose machine is `images/Each`).
    let expected: Vec<String> = ["Each/Each file", "Each"]
        .iter()
        .map(|label| {
            format!(
                "arn:aws:states:{}:{}:execution:images/{label}:*",
                crate::common::REGION,
                crate::common::ACCOUNT
            )
        })
        .collect();
    let mut resources = redrive.resources.clone();
    resources.sort();
    assert_eq!(resources, expected);
}

/// An S3 Inventory reader (`InputType: MANIFEST`) reads its `manifest.json` and the data files S3 Inventory
/// writes beside it, under `PREFIX/SOURCE/CONFIG/data/` (Amazon S3 User Guide, "Locating your inventory
/// list"): both are granted, nothing wider.
#[test]
fn a_manifest_reader_reads_the_manifest_and_its_data_files() {
    let def = serde_json::json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
            "Parameters": {"Bucket": "inv", "Key": "reports/src/daily/2024-01-16T00-00Z/manifest.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let policy = sfn_iam::generate(&machine(&def), &options(false));
    let read = policy.statements().iter().find(|s| s.sid == "ReadDistributedMapItems").unwrap();
    let mut resources = read.resources.clone();
    resources.sort();
    assert_eq!(
        resources,
        [
            "arn:aws:s3:::inv/reports/src/daily/2024-01-16T00-00Z/manifest.json",
            "arn:aws:s3:::inv/reports/src/daily/data/*",
        ]
    );
}

/// AWS's "IAM policies for using Distributed Map states" and "Redriving Map Runs": a map run of EXPRESS
/// children follows and stops them on `express:NAME/LABEL:*` besides AWS's `execution:NAME/*`, and is
/// never granted RedriveExecution (only STANDARD children are redriven; EXPRESS ones are started again);
/// a STANDARD one keeps its redrive grant. An Athena manifest reader (`ManifestType: ATHENA_DATA`, "ItemReader
/// (Map)") gets GetObject on its manifest and a warning for the data files the manifest lists; the
/// ResultWriter gets AWS's "IAM policies for ResultWriter" actions (PutObject, GetObject and the multipart
/// upload ones) under its prefix only.
#[test]
fn distributed_map_express_children_athena_manifests_and_result_writer_grants() {
    let def = |execution_type: &str| {
        serde_json::json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Label": "Rows",
            "ItemReader": {"Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "PARQUET", "ManifestType": "ATHENA_DATA"},
                "Parameters": {"Bucket": "athena", "Key": "results/q1-manifest.csv"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "out", "Prefix": "runs"},
                "WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSONL"}},
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})
    };
    let arn =
        |rest: &str| format!("arn:aws:states:{}:{}:{rest}", crate::common::REGION, crate::common::ACCOUNT);
    let express = sfn_iam::generate(&machine(&def("EXPRESS")), &options(false).with_state_machine("rows"));
    let sid = |p: &sfn_iam::Policy, sid: &str| p.statements().iter().find(|s| s.sid == sid).cloned();
    let track = sid(&express, "DescribeAndStopMapRunChildExecutions").unwrap();
    let mut resources = track.resources.clone();
    resources.sort();
    assert_eq!(resources, [arn("execution:rows/*"), arn("express:rows/Rows:*")]);
    assert!(sid(&express, "RedriveMapRunChildExecutions").is_none());
    assert_eq!(sid(&express, "StartMapRunChildExecutions").unwrap().resources, [arn("stateMachine:rows")]);
    let standard = sfn_iam::generate(&machine(&def("STANDARD")), &options(false).with_state_machine("rows"));
    assert_eq!(
        sid(&standard, "DescribeAndStopMapRunChildExecutions").unwrap().resources,
        [arn("execution:rows/*")]
    );
    assert_eq!(
        sid(&standard, "RedriveMapRunChildExecutions").unwrap().resources,
        [arn("execution:rows/Rows:*")]
    );
    for p in [&express, &standard] {
        let read = sid(p, "ReadDistributedMapItems").unwrap();
        assert_eq!(read.actions, ["s3:GetObject"]);
        assert_eq!(read.resources, ["arn:aws:s3:::athena/results/q1-manifest.csv"]);
        let athena = warnings_of(p, WarningKind::DistributedMap);
        assert!(athena.iter().any(|w| w.message.contains("ATHENA_DATA") && w.states == ["M"]), "{athena:#?}");
        let write = sid(p, "WriteDistributedMapResults").unwrap();
        assert_eq!(
            write.actions,
            ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"]
        );
        assert_eq!(write.resources, ["arn:aws:s3:::out/runs/*"]);
    }
    // A WriterConfig alone writes nothing: no S3 grant for it.
    let mut inline = def("STANDARD");
    inline["States"]["M"]["ResultWriter"] =
        serde_json::json!({"WriterConfig": {"Transformation": "COMPACT", "OutputType": "JSON"}});
    let p = sfn_iam::generate(&machine(&inline), &options(false));
    assert!(sid(&p, "WriteDistributedMapResults").is_none());
}
