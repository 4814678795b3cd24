//! `--task-role`: the callback container's role may call SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat.
//! These actions support no resource-level permission (Service Authorization Reference, AWS Step
//! Functions), so the resource is `*` and the explanation says why.

use serde_json::json;
use sfn_iam::WarningKind;

use crate::common::{chain, ecs_task, machine, nest, options, role, summary};

#[test]
fn callback_task_roles() {
    let cases = [
        (
            "task_role_known",
            nest(
                ecs_task(
                    ".waitForTaskToken",
                    json!({"Cluster": "jobs", "TaskDefinition": "callback-worker"}),
                ),
                "map",
            ),
            true,
        ),
        (
            "task_role_unknown",
            nest(
                ecs_task(
                    ".waitForTaskToken",
                    json!({"Cluster": "jobs", "TaskDefinition": "callback-worker"}),
                ),
                "top",
            ),
            false,
        ),
        (
            "task_role_override",
            nest(
                ecs_task(
                    ".waitForTaskToken",
                    json!({"TaskDefinition": "callback-worker",
            "Overrides": {"TaskRoleArn": role("override")}}),
                ),
                "top",
            ),
            true,
        ),
        (
            "task_role_missing",
            nest(ecs_task(".waitForTaskToken", json!({"TaskDefinition": "cleanup"})), "parallel"),
            true,
        ),
        (
            "task_role_two_callbacks",
            chain(vec![
                ("First", ecs_task(".waitForTaskToken", json!({"TaskDefinition": "callback-worker"}))),
                ("Second", ecs_task(".waitForTaskToken", json!({"TaskDefinition.$": "$.td"}))),
                ("Job", ecs_task(".sync", json!({"TaskDefinition": "report-job"}))),
            ]),
            true,
        ),
    ];
    let sync_with_token = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": true,
        "Parameters": {"TaskDefinition": "report-job", "Overrides": {"ContainerOverrides": [{"Name": "app",
            "Environment": [{"Name": "TASK_TOKEN", "Value.$": "$$.Task.Token"}]}]}}});
    let callback_without_token = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken",
        "End": true, "Parameters": {"TaskDefinition": "callback-worker"}});
    let cases = cases.into_iter().chain([
        ("task_role_sync_heartbeat", nest(sync_with_token, "top"), true),
        ("task_role_callback_without_token", nest(callback_without_token, "top"), true),
    ]);
    for (name, def, tds) in cases {
        let p = sfn_iam::task_role_policy(&machine(&def), &options(tds));
        assert_eq!(p.statements().len(), 1, "{name}");
        assert_eq!(p.statements()[0].resources, ["*"], "{name}");
        assert!(p.statements()[0].explanation.purpose.contains("no resource-level permission"), "{name}");
        insta::assert_json_snapshot!(name, summary(&p));
    }
}

#[test]
fn a_callback_without_the_token_is_a_warning() {
    let def = nest(
        json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.waitForTaskToken", "End": true,
            "Parameters": {"TaskDefinition": "callback-worker"}}),
        "top",
    );
    let p = sfn_iam::task_role_policy(&machine(&def), &options(true));
    assert!(p.warnings().iter().any(|w| w.kind == WarningKind::NoTaskToken));
}

#[test]
fn no_callback_no_statement() {
    let def = nest(ecs_task(".sync", json!({"TaskDefinition": "report-job"})), "top");
    let p = sfn_iam::task_role_policy(&machine(&def), &options(true));
    assert!(p.is_empty());
    assert_eq!(p.warnings()[0].kind, WarningKind::NoCallback);
}
