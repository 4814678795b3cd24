//! One verdict everywhere: CreateStateMachine, UpdateStateMachine and ValidateStateMachineDefinition give
//! AWS's verdict (`aws_verdict` of `../shared/realworld/SOURCES.tsv`) on every real-world definition — the
//! one `sfn validate` gives (`crates/cli/tests/it/realworld.rs`) — and on the seed's mistakes. The corpus
//! is read where it is (its files belong to their projects); without it the corpus test says so and passes.

use serde_json::json;

use crate::{ROLE, TestServer};

/// `(file, text, AWS accepts it)` of every real-world definition, or `None` when the corpus is absent.
fn corpus() -> Option<Vec<(String, String, bool)>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realworld");
    let Ok(sources) = std::fs::read_to_string(dir.join("SOURCES.tsv")) else {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    };
    let mut out = Vec::new();
    for line in sources.lines().skip(1) {
        let cols: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        let (Some(file), Some(verdict)) = (cols.first(), cols.last()) else { continue };
        let text = std::fs::read_to_string(dir.join("defs").join(file)).unwrap();
        out.push(((*file).to_owned(), text, *verdict == "valid"));
    }
    assert!(out.len() >= 200, "the corpus has {} definitions", out.len());
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_and_validate_give_aws_verdict_on_the_realworld_corpus() {
    let Some(corpus) = corpus() else { return };
    let server = TestServer::start().await;
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string();
    let mut wrong = Vec::new();
    for (i, (file, text, valid)) in corpus.iter().enumerate() {
        let name = format!("rw-{i}");
        let (status, body) = server
            .call("CreateStateMachine", json!({"name": name, "definition": text, "roleArn": ROLE}))
            .await;
        let created = status == 200;
        if created != *valid {
            wrong.push(format!("CreateStateMachine {file}: {status} {body}"));
        }
        if !created {
            assert_eq!(
                body["__type"], "com.amazonaws.swf.service.v2.model#InvalidDefinition",
                "{file}: {body}"
            );
        }
        let v = server.ok("ValidateStateMachineDefinition", json!({"definition": text})).await;
        if (v["result"] == "OK") != *valid {
            wrong.push(format!("ValidateStateMachineDefinition {file}: {v}"));
        }
        // UpdateStateMachine of a valid machine to this definition.
        let arn = server.create(&format!("up-{i}"), &serde_json::from_str(&pass).unwrap()).await;
        let (status, body) =
            server.call("UpdateStateMachine", json!({"stateMachineArn": arn, "definition": text})).await;
        if (status == 200) != *valid {
            wrong.push(format!("UpdateStateMachine {file}: {status} {body}"));
        }
    }
    server.stop().await;
    assert!(wrong.is_empty(), "{} verdicts differ from AWS's:\n{}", wrong.len(), wrong.join("\n"));
}

/// The seed's mistakes (a misspelt `Comand`, a lower-case `cluster`, a path in `"Value"` without `.$`) are
/// accepted by AWS at creation — it checks an optimized integration's parameters only when the task runs
/// (a `validate-state-machine-definition` that answered OK for a Lambda `TaskToken` sibling field, then a
/// run that failed with `The field "TaskToken" is not supported by Step Functions`) — so the server accepts
/// them and ValidateStateMachineDefinition lists them as WARNINGs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_mistakes_are_warnings_not_refusals() {
    let server = TestServer::start().await;
    let def = json!({"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "TimeoutSeconds": 60,
        "Parameters": {"TaskDefinition": "job", "cluster": "jobs", "Overrides": {"ContainerOverrides": [
            {"Name": "app", "Comand": ["echo"], "Environment": [{"Name": "X", "Value": "$.x"}]}]}},
        "End": true}}})
    .to_string();
    let (status, body) = server
        .call("CreateStateMachine", json!({"name": "mistakes", "definition": def, "roleArn": ROLE}))
        .await;
    assert_eq!(status, 200, "{body}");
    let v =
        server.ok("ValidateStateMachineDefinition", json!({"definition": def, "severity": "WARNING"})).await;
    assert_eq!(v["result"], "OK");
    let found: Vec<(String, String, String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_owned();
            (s("severity"), s("code"), s("location"))
        })
        .collect();
    for want in [
        ("WARNING", "ECS_UNKNOWN_FIELD", "/States/Run/Parameters/cluster"),
        ("WARNING", "ECS_UNKNOWN_FIELD", "/States/Run/Parameters/Overrides/ContainerOverrides/0/Comand"),
    ] {
        let want = (want.0.to_owned(), want.1.to_owned(), want.2.to_owned());
        assert!(found.contains(&want), "{want:?} missing in {found:?}");
    }
    server.stop().await;
}
