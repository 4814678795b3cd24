//! The policy grammar: every document is a valid IAM identity policy — `Version` 2012-10-17, `Allow`
//! statements with unique alphanumeric `Sid`s, `service:Action` actions, `*` or well-formed ARNs
//! (`arn:partition:service:region:account:resource`), well-formed conditions — and fits IAM's size limit.

use serde_json::Value;

use crate::common::{corpus, machine, strings};

fn lower_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().unwrap().chars().all(|c| c.is_ascii_digit())
}

/// `arn:partition:service:region:account:resource`; IAM is global (empty region).
fn well_formed_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, reg, account, resource] = parts.as_slice() else {
        return Err(format!("{arn}: not six fields"));
    };
    let checks = [
        (*prefix == "arn", "prefix"),
        (*partition == "aws" || partition.strip_prefix("aws-").is_some_and(lower_word), "partition"),
        (lower_word(service), "service"),
        (if *service == "iam" || *service == "s3" { reg.is_empty() } else { region(reg) }, "region"),
        // S3 bucket and object ARNs name no account.
        (
            (*service == "s3" && account.is_empty())
                || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())),
            "account",
        ),
        (!resource.is_empty() && !resource.contains(char::is_whitespace), "resource"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        Some((_, what)) => Err(format!("{arn}: bad {what}")),
        None => Ok(()),
    }
}

fn action(a: &str) -> bool {
    a.split_once(':').is_some_and(|(svc, name)| {
        lower_word(svc)
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

pub(crate) fn check_document(doc: &Value) -> Result<(), String> {
    let obj = doc.as_object().ok_or("not an object")?;
    if obj.keys().collect::<Vec<_>>() != ["Version", "Statement"] {
        return Err(format!("top-level keys {:?}", obj.keys().collect::<Vec<_>>()));
    }
    if doc["Version"] != "2012-10-17" {
        return Err("Version".into());
    }
    let mut sids = std::collections::BTreeSet::new();
    for s in doc["Statement"].as_array().ok_or("Statement is not a list")? {
        let keys: Vec<&String> = s.as_object().ok_or("statement")?.keys().collect();
        if !keys.iter().all(|k| ["Sid", "Effect", "Action", "Resource", "Condition"].contains(&k.as_str())) {
            return Err(format!("statement keys {keys:?}"));
        }
        let sid = s["Sid"].as_str().ok_or("Sid")?;
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) || !sids.insert(sid.to_owned()) {
            return Err(format!("Sid {sid:?}: IAM wants unique [A-Za-z0-9]+"));
        }
        if s["Effect"] != "Allow" {
            return Err(format!("{sid}: Effect"));
        }
        let actions = strings(&s["Action"]);
        if actions.is_empty() || !actions.iter().all(|a| action(a)) {
            return Err(format!("{sid}: actions {actions:?}"));
        }
        let resources = strings(&s["Resource"]);
        if resources.is_empty() {
            return Err(format!("{sid}: no resource"));
        }
        for r in resources.iter().filter(|r| *r != "*") {
            well_formed_arn(r).map_err(|e| format!("{sid}: {e}"))?;
        }
        if let Some(cond) = s.get("Condition") {
            for (op, keys) in cond.as_object().ok_or("Condition")? {
                if !["ArnEquals", "ArnLike", "StringEquals", "StringLike"].contains(&op.as_str()) {
                    return Err(format!("{sid}: operator {op}"));
                }
                for (key, values) in keys.as_object().ok_or("condition keys")? {
                    if !key.split_once(':').is_some_and(|(svc, k)| lower_word(svc) && !k.is_empty()) {
                        return Err(format!("{sid}: condition key {key}"));
                    }
                    let values = strings(values);
                    if op.starts_with("Arn") {
                        for v in &values {
                            well_formed_arn(v).map_err(|e| format!("{sid}: {e}"))?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[test]
fn the_checker_rejects_what_iam_rejects() {
    assert!(well_formed_arn("arn:aws:ecs:eu-west-1:111122223333:cluster/jobs").is_ok());
    assert!(well_formed_arn("arn:aws:iam::111122223333:role/r").is_ok());
    assert!(well_formed_arn("arn:aws:ecs::111122223333:cluster/jobs").is_err());
    assert!(well_formed_arn("arn:aws:ecs:eu-west-1:1111:cluster/jobs").is_err());
    assert!(well_formed_arn("arn:aws:ecs:eu-west-1:111122223333:").is_err());
    assert!(!action("ecs:runTask") && !action("RunTask") && action("ecs:RunTask"));
    let bad_sid = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "Run-Tasks", "Effect": "Allow",
        "Action": ["ecs:RunTask"], "Resource": ["*"]}]});
    assert!(check_document(&bad_sid).is_err());
}

#[test]
fn every_generated_document_is_a_valid_iam_policy() {
    for c in corpus() {
        let m = machine(&c.definition);
        for policy in [sfn_iam::generate(&m, &c.options), sfn_iam::task_role_policy(&m, &c.options)] {
            let doc = policy.document();
            check_document(&doc).unwrap_or_else(|e| panic!("{}: {e}\n{doc:#}", c.name));
            // IAM's limit for a managed policy: 6,144 characters, whitespace not counted.
            let size = policy.to_json().chars().filter(|c| !c.is_whitespace()).count();
            assert!(size <= 6144, "{}: {size} characters", c.name);
        }
    }
}

#[test]
fn the_cloudformation_template_holds_the_same_document() {
    for c in corpus() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        let text = policy.to_cloudformation(&c.name, sfn_iam::CloudFormationFormat::Json);
        let template: Value = serde_json::from_str(&text).unwrap();
        let resources = template["Resources"].as_object().unwrap();
        assert_eq!(resources.len(), 1);
        let (logical, resource) = resources.iter().next().unwrap();
        assert!(logical.chars().all(|c| c.is_ascii_alphanumeric()), "{logical}");
        assert_eq!(resource["Type"], "AWS::IAM::ManagedPolicy");
        assert_eq!(resource["Properties"]["PolicyDocument"], policy.document());
    }
}
