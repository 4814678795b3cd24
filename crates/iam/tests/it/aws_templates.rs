//! Never wider than AWS: every (action, resource) granted is granted by AWS's documented template for the
//! state's pattern (Step Functions Developer Guide, "IAM policies for Amazon ECS/AWS Fargate", as recorded in
//! FACTS.md), except what that template is known to miss — `ecs:TagResource` when tagging and
//! `iam:PassRole` — each checked by its own test below with its source. `ecs:StopTask` and
//! `ecs:DescribeTasks` never appear without `.sync`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Case, corpus, grants, machine, strings};

/// One ECS state as read from the raw JSON (independently of the crate): pattern suffix and the
/// `TaskDefinition` when written statically.
struct RawEcsState {
    suffix: String,
    task_definition: Option<String>,
    tags: bool,
}

fn is_jsonata(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim().starts_with("{%") && s.trim().ends_with("%}"))
}

fn raw_states(states: &Value, out: &mut Vec<RawEcsState>) {
    for state in states.as_object().unwrap().values() {
        if let Some(branches) = state["Branches"].as_array() {
            for b in branches {
                raw_states(&b["States"], out);
            }
        }
        for processor in ["ItemProcessor", "Iterator"] {
            if state[processor].is_object() {
                raw_states(&state[processor]["States"], out);
            }
        }
        let Some(resource) = state["Resource"].as_str() else { continue };
        let Some(suffix) = resource.strip_prefix("arn:aws:states:::ecs:runTask") else { continue };
        let params = if state["Parameters"].is_object() { &state["Parameters"] } else { &state["Arguments"] };
        let td = &params["TaskDefinition"];
        let tags = [
            "Tags",
            "PropagateTags",
            "EnableECSManagedTags",
            "Tags.$",
            "PropagateTags.$",
            "EnableECSManagedTags.$",
        ]
        .iter()
        .any(|k| !params[*k].is_null());
        out.push(RawEcsState {
            suffix: suffix.to_owned(),
            task_definition: td.as_str().filter(|_| !is_jsonata(td)).map(str::to_owned),
            tags,
        });
    }
}

/// AWS's template for the machine: the union of the templates of its ECS states. Static resources:
/// `ecs:RunTask` on `arn:aws:ecs:[[region]]:[[accountId]]:task-definition/[[taskDefinition]]:[[revisionNumber]]`
/// (a revision not written means any: `:*`; an ARN stands as written); dynamic: `ecs:RunTask` on `*`.
/// `.sync` adds `ecs:StopTask`, `ecs:DescribeTasks` on `*` and `events:PutTargets`, `events:PutRule`,
/// `events:DescribeRule` on `rule/StepFunctionsGetEventsForECSTaskRule`.
fn aws_template(c: &Case) -> BTreeSet<(String, String)> {
    let o = &c.options;
    let mut states = Vec::new();
    raw_states(&c.definition["States"], &mut states);
    let mut t = BTreeSet::new();
    s3_templates(&c.definition["States"], &mut t);
    for s in states {
        let run = match &s.task_definition {
            Some(td) if td.starts_with("arn:") => {
                if td.rsplit('/').next().unwrap().contains(':') {
                    td.clone()
                } else {
                    format!("{td}:*")
                }
            }
            Some(td) => format!(
                "arn:{}:ecs:{}:{}:task-definition/{td}{}",
                o.partition,
                o.region,
                o.account,
                if td.contains(':') { "" } else { ":*" }
            ),
            None => "*".to_owned(),
        };
        t.insert(("ecs:RunTask".to_owned(), run));
        if s.suffix == ".sync" {
            t.insert(("ecs:StopTask".to_owned(), "*".to_owned()));
            t.insert(("ecs:DescribeTasks".to_owned(), "*".to_owned()));
            let rule = format!(
                "arn:{}:events:{}:{}:rule/StepFunctionsGetEventsForECSTaskRule",
                o.partition, o.region, o.account
            );
            for a in ["events:PutTargets", "events:PutRule", "events:DescribeRule"] {
                t.insert((a.to_owned(), rule.clone()));
            }
        }
    }
    t
}

/// AWS's S3 templates for Distributed Maps ("ItemReader (Map)" and "ResultWriter (Map)", IAM policies):
/// `s3:GetObject` on `arn:aws:s3:::BUCKET/KEY` (a key from the input: `BUCKET/*`), `s3:ListBucket` on
/// `arn:aws:s3:::BUCKET`, and `s3:PutObject`, `s3:GetObject`, `s3:ListMultipartUploadParts`,
/// `s3:AbortMultipartUpload` on `arn:aws:s3:::BUCKET/PREFIX/*`.
fn s3_templates(states: &Value, t: &mut BTreeSet<(String, String)>) {
    for state in states.as_object().unwrap().values() {
        if let Some(branches) = state["Branches"].as_array() {
            for b in branches {
                s3_templates(&b["States"], t);
            }
        }
        if state["ItemProcessor"].is_object() {
            s3_templates(&state["ItemProcessor"]["States"], t);
        }
        let params = |o: &Value| {
            if o["Parameters"].is_object() { o["Parameters"].clone() } else { o["Arguments"].clone() }
        };
        let reader = &state["ItemReader"];
        if let Some(resource) = reader["Resource"].as_str() {
            let p = params(reader);
            let Some(bucket) = p["Bucket"].as_str() else { continue };
            if resource.ends_with("listObjectsV2") {
                t.insert(("s3:ListBucket".to_owned(), format!("arn:aws:s3:::{bucket}")));
            } else {
                let key =
                    p["Key"].as_str().filter(|k| !is_jsonata(&p["Key"]) && !k.is_empty()).unwrap_or("*");
                t.insert(("s3:GetObject".to_owned(), format!("arn:aws:s3:::{bucket}/{key}")));
            }
        }
        let writer = &state["ResultWriter"];
        if writer["Resource"].is_string() {
            let p = params(writer);
            let Some(bucket) = p["Bucket"].as_str() else { continue };
            let under = match p["Prefix"].as_str().map(|x| x.trim_end_matches('/')) {
                Some(x) if !x.is_empty() && !is_jsonata(&p["Prefix"]) => {
                    format!("arn:aws:s3:::{bucket}/{x}/*")
                }
                _ => format!("arn:aws:s3:::{bucket}/*"),
            };
            for a in
                ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
            {
                t.insert((a.to_owned(), under.clone()));
            }
        }
    }
}

/// True when the IAM pattern `wide` matches every resource `narrow` matches (`*` in `narrow` must be met by
/// a `*` in `wide`).
fn covers(wide: &str, narrow: &str) -> bool {
    let (w, n): (Vec<char>, Vec<char>) = (wide.chars().collect(), narrow.chars().collect());
    // dp[i][j]: wide[..i] covers narrow[..j].
    let mut dp = vec![vec![false; n.len() + 1]; w.len() + 1];
    dp[0][0] = true;
    for i in 1..=w.len() {
        dp[i][0] = dp[i - 1][0] && w[i - 1] == '*';
        for j in 1..=n.len() {
            dp[i][j] = if w[i - 1] == '*' {
                dp[i - 1][j] || dp[i][j - 1]
            } else {
                dp[i - 1][j - 1] && w[i - 1] == n[j - 1] && n[j - 1] != '*'
            };
        }
    }
    dp[w.len()][n.len()]
}

#[test]
fn covers_is_iam_wildcard_containment() {
    assert!(covers("*", "arn:aws:ecs:r:a:task-definition/x:*"));
    assert!(covers("arn:aws:ecs:r:a:task-definition/x:*", "arn:aws:ecs:r:a:task-definition/x:3"));
    assert!(covers("arn:aws:ecs:r:a:task-definition/x:*", "arn:aws:ecs:r:a:task-definition/x:*"));
    assert!(!covers("arn:aws:ecs:r:a:task-definition/x:3", "arn:aws:ecs:r:a:task-definition/x:*"));
    assert!(!covers("arn:aws:ecs:r:a:task-definition/x:*", "*"));
    assert!(!covers("arn:aws:ecs:r:a:task-definition/x:*", "arn:aws:ecs:r:a:task-definition/y:1"));
}

const KNOWN_MISSES: [&str; 2] = ["ecs:TagResource", "iam:PassRole"];

#[test]
fn never_wider_than_the_aws_template_for_the_pattern() {
    for c in corpus() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        let template = aws_template(&c);
        for (action, resource) in grants(&policy.document()) {
            if KNOWN_MISSES.contains(&action.as_str()) {
                continue;
            }
            let ok = template.iter().any(|(a, r)| *a == action && covers(r, &resource));
            assert!(ok, "{}: {action} on {resource} is not in AWS's template {template:#?}", c.name);
        }
    }
}

#[test]
fn known_miss_ecs_tag_resource_when_tagging_serverless_step_functions_656() {
    // serverless-operations/serverless-step-functions#656: RunTask with Tags/PropagateTags/EnableECSManagedTags
    // fails with AccessDenied on ecs:TagResource, which AWS's template does not grant.
    let mut seen = 0;
    for c in corpus() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        let mut states = Vec::new();
        raw_states(&c.definition["States"], &mut states);
        let tag: Vec<_> = policy
            .statements()
            .iter()
            .filter(|s| s.actions.contains(&"ecs:TagResource".to_owned()))
            .collect();
        let tagging_states = states.iter().any(|s| s.tags);
        if !tagging_states {
            assert!(tag.is_empty(), "{}: ecs:TagResource without tagging", c.name);
        }
        for s in tag {
            seen += 1;
            assert_eq!(s.actions, ["ecs:TagResource"], "{}", c.name);
            let conditions: Vec<(&str, &str, &[String])> = s
                .conditions
                .iter()
                .map(|c| (c.operator.as_str(), c.key.as_str(), c.values.as_slice()))
                .collect();
            assert_eq!(
                conditions,
                [("StringEquals", "ecs:CreateAction", ["RunTask".to_owned()].as_slice())],
                "{}",
                c.name
            );
            for r in &s.resources {
                assert!(
                    r.starts_with("arn:") && r.contains(":task/") && r.ends_with("/*"),
                    "{}: {r}",
                    c.name
                );
            }
        }
    }
    assert!(seen >= 3);
}

#[test]
fn known_miss_iam_pass_role_step_functions_developer_guide_ecs_iam() {
    // Step Functions Developer Guide, "IAM policies for Amazon ECS/AWS Fargate": the templates omit
    // iam:PassRole, the text asks for it on each task execution role, task role and task role override.
    for c in corpus() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        for s in policy.statements().iter().filter(|s| s.actions.contains(&"iam:PassRole".to_owned())) {
            assert_eq!(s.actions, ["iam:PassRole"], "{}", c.name);
            assert_eq!(s.conditions.len(), 1, "{}", c.name);
            assert_eq!(
                (s.conditions[0].key.as_str(), s.conditions[0].values.as_slice()),
                ("iam:PassedToService", ["ecs-tasks.amazonaws.com".to_owned()].as_slice()),
                "{}",
                c.name
            );
            for r in &s.resources {
                if r == "*" {
                    assert!(
                        c.options.allow_wildcard_passrole,
                        "{}: PassRole on * without the option",
                        c.name
                    );
                } else {
                    assert!(r.contains(":iam::") && r.contains(":role/"), "{}: {r}", c.name);
                }
            }
        }
    }
}

#[test]
fn stop_task_and_describe_tasks_only_for_sync() {
    for c in corpus() {
        let policy = sfn_iam::generate(&machine(&c.definition), &c.options);
        let mut states = Vec::new();
        raw_states(&c.definition["States"], &mut states);
        let any_sync = states.iter().any(|s| s.suffix == ".sync");
        for s in policy.statements() {
            let sync_only = s
                .actions
                .iter()
                .any(|a| a == "ecs:StopTask" || a == "ecs:DescribeTasks" || a.starts_with("events:"));
            if sync_only {
                assert!(any_sync, "{}: {} without .sync", c.name, s.sid);
                assert!(s.explanation.needed_by.iter().all(|n| n.reason.starts_with(".sync")), "{}", c.name);
            }
        }
    }
}

#[test]
fn conditions_only_narrow() {
    for c in corpus() {
        let doc = sfn_iam::generate(&machine(&c.definition), &c.options).document();
        for s in doc["Statement"].as_array().unwrap() {
            if let Some(cond) = s.get("Condition") {
                for (op, keys) in cond.as_object().unwrap() {
                    // Positive equality operators: a request must match to be allowed (no IfExists, no Not*);
                    // `StringLike` only on `s3:prefix`, as AWS's ItemReader template narrows ListBucket.
                    if op == "StringLike" {
                        assert_eq!(
                            keys.as_object().unwrap().keys().collect::<Vec<_>>(),
                            ["s3:prefix"],
                            "{}",
                            c.name
                        );
                        continue;
                    }
                    assert!(["ArnEquals", "StringEquals"].contains(&op.as_str()), "{}: {op}", c.name);
                    for v in keys.as_object().unwrap().values() {
                        assert!(
                            !strings(v).is_empty() && strings(v).iter().all(|x| !x.contains('*')),
                            "{}",
                            c.name
                        );
                    }
                }
            }
        }
    }
}
