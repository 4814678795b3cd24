//! `states:startExecution` states: exactly AWS's templates ("IAM policies for AWS Step Functions",
//! synchronous and asynchronous, static and dynamic state machine ARNs).

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sfn_iam::WarningKind;

use crate::common::{ACCOUNT, REGION, machine, options};

const CHILD: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

fn policy(suffix: &str, arn: Value) -> sfn_iam::Policy {
    let mut params = json!({"Input": {"a": 1}});
    match arn {
        Value::String(s) if s.starts_with('$') => params["StateMachineArn.$"] = json!(s),
        other => params["StateMachineArn"] = other,
    }
    let def = json!({"StartAt": "Nested", "States": {"Nested": {"Type": "Task",
        "Resource": format!("arn:aws:states:::states:startExecution{suffix}"), "Parameters": params, "End": true}}});
    sfn_iam::generate(&machine(&def), &options(false))
}

/// (action, resource) pairs the policy grants.
fn grants(p: &sfn_iam::Policy) -> BTreeSet<(String, String)> {
    p.statements()
        .iter()
        .flat_map(|s| s.actions.iter().flat_map(|a| s.resources.iter().map(|r| (a.clone(), r.clone()))))
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(a, r)| ((*a).to_owned(), (*r).to_owned())).collect()
}

#[test]
fn request_response_and_callback_start_only() {
    for suffix in ["", ".waitForTaskToken"] {
        assert_eq!(
            grants(&policy(suffix, json!(CHILD))),
            set(&[("states:StartExecution", CHILD)]),
            "{suffix}"
        );
    }
}

#[test]
fn sync_follows_and_stops_the_child_and_manages_the_rule() {
    let executions = "arn:aws:states:us-east-1:123456789012:execution:child:*";
    // The rule is in the state machine's region and account (the options'), the child where its ARN says.
    let rule =
        format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule");
    let rule = rule.as_str();
    for suffix in [".sync", ".sync:2"] {
        assert_eq!(
            grants(&policy(suffix, json!(CHILD))),
            set(&[
                ("states:StartExecution", CHILD),
                ("states:DescribeExecution", executions),
                ("states:StopExecution", executions),
                ("events:DescribeRule", rule),
                ("events:PutRule", rule),
                ("events:PutTargets", rule),
            ]),
            "{suffix}"
        );
    }
}

#[test]
fn a_qualified_arn_grants_on_its_machine() {
    let g = grants(&policy(".sync", json!(format!("{CHILD}:prod"))));
    assert!(g.contains(&("states:StartExecution".to_owned(), CHILD.to_owned())), "{g:?}");
}

#[test]
fn dynamic_arn_is_the_accounts_machines_with_a_warning() {
    let p = policy(".sync:2", json!("$.child"));
    let g = grants(&p);
    assert!(g.contains(&(
        "states:StartExecution".to_owned(),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:*")
    )));
    assert!(g.contains(&(
        "states:DescribeExecution".to_owned(),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:*")
    )));
    assert!(
        p.warnings().iter().any(|w| w.kind == WarningKind::DynamicStateMachine && w.states == ["Nested"])
    );
    assert!(!p.warnings().iter().any(|w| w.kind == WarningKind::OtherService));
}

#[test]
fn a_bad_arn_is_a_warning_and_no_statement() {
    let p = policy(".sync", json!("not-an-arn"));
    assert!(p.statements().is_empty());
    assert!(p.warnings().iter().any(|w| w.kind == WarningKind::InvalidValue));
}
