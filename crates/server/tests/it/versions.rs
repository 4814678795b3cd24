//! Versions and aliases over raw awsJson1_0 (API reference: PublishStateMachineVersion,
//! CreateStateMachineAlias, …; "Maintain versions and aliases" in the Step Functions developer guide).

use serde_json::{Value, json};

use crate::{ACCOUNT, REGION, TestServer};

fn pass(result: i64) -> Value {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": result, "End": true}}})
}

fn code(v: &Value) -> &str {
    v["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_list_describe_start_and_delete_versions() {
    let s = TestServer::start().await;
    let base = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:versioned");
    // publish: true on create answers the first version.
    let created = s
        .ok(
            "CreateStateMachine",
            json!({"name": "versioned", "definition": pass(1).to_string(), "roleArn": crate::ROLE,
                   "publish": true, "versionDescription": "first"}),
        )
        .await;
    assert_eq!(created["stateMachineVersionArn"], format!("{base}:1"));
    // Publishing the same revision again is idempotent: version 1 again.
    let again = s.ok("PublishStateMachineVersion", json!({"stateMachineArn": base})).await;
    assert_eq!(again["stateMachineVersionArn"], format!("{base}:1"));
    assert_eq!(
        again["creationDate"],
        s.ok("DescribeStateMachine", json!({"stateMachineArn": format!("{base}:1")})).await["creationDate"]
    );

    let updated =
        s.ok("UpdateStateMachine", json!({"stateMachineArn": base, "definition": pass(2).to_string()})).await;
    let revision = updated["revisionId"].as_str().unwrap().to_owned();
    // A stale revisionId is a ConflictException.
    let (status, e) =
        s.call("PublishStateMachineVersion", json!({"stateMachineArn": base, "revisionId": "stale"})).await;
    assert_eq!((status, code(&e)), (400, "ConflictException"), "{e}");
    let v2 = s
        .ok(
            "PublishStateMachineVersion",
            json!({"stateMachineArn": base, "revisionId": revision, "description": "second"}),
        )
        .await;
    assert_eq!(v2["stateMachineVersionArn"], format!("{base}:2"));

    let list = s.ok("ListStateMachineVersions", json!({"stateMachineArn": base})).await;
    let arns: Vec<&str> = list["stateMachineVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["stateMachineVersionArn"].as_str().unwrap())
        .collect();
    assert_eq!(arns, [format!("{base}:2"), format!("{base}:1")], "newest first");
    let page = s.ok("ListStateMachineVersions", json!({"stateMachineArn": base, "maxResults": 1})).await;
    assert_eq!(page["stateMachineVersions"].as_array().unwrap().len(), 1);
    let rest = s
        .ok("ListStateMachineVersions", json!({"stateMachineArn": base, "nextToken": page["nextToken"]}))
        .await;
    assert_eq!(rest["stateMachineVersions"][0]["stateMachineVersionArn"], format!("{base}:1"));

    // A version keeps its definition after the machine changes.
    let d1 = s.ok("DescribeStateMachine", json!({"stateMachineArn": format!("{base}:1")})).await;
    assert_eq!(d1["stateMachineArn"], format!("{base}:1"));
    assert_eq!(d1["description"], "first");
    assert_eq!(serde_json::from_str::<Value>(d1["definition"].as_str().unwrap()).unwrap(), pass(1));
    let (status, e) = s.call("DescribeStateMachine", json!({"stateMachineArn": format!("{base}:9")})).await;
    assert_eq!((status, code(&e)), (400, "StateMachineDoesNotExist"));

    // StartExecution on version 1 runs version 1, and DescribeExecution names it.
    let started =
        s.ok("StartExecution", json!({"stateMachineArn": format!("{base}:1"), "name": "on-v1"})).await;
    let arn = started["executionArn"].as_str().unwrap();
    assert_eq!(arn, format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:versioned:on-v1"));
    let d = s.wait(arn).await;
    assert_eq!((d["status"].as_str(), d["output"].as_str()), (Some("SUCCEEDED"), Some("1")));
    assert_eq!(d["stateMachineArn"], base);
    assert_eq!(d["stateMachineVersionArn"], format!("{base}:1"));
    assert!(d.get("stateMachineAliasArn").is_none());
    let (status, e) = s.call("StartExecution", json!({"stateMachineArn": format!("{base}:7")})).await;
    assert_eq!((status, code(&e)), (400, "ResourceNotFound"), "{e}");

    // Deleting a version: gone from the list, its number never given again.
    s.ok("DeleteStateMachineVersion", json!({"stateMachineVersionArn": format!("{base}:2")})).await;
    s.ok("DeleteStateMachineVersion", json!({"stateMachineVersionArn": format!("{base}:2")})).await;
    let v3 = s.ok("PublishStateMachineVersion", json!({"stateMachineArn": base})).await;
    assert_eq!(v3["stateMachineVersionArn"], format!("{base}:3"));
    let (status, e) = s.call("DeleteStateMachineVersion", json!({"stateMachineVersionArn": base})).await;
    assert_eq!((status, code(&e)), (400, "InvalidArn"), "{e}");
    // versionDescription needs publish.
    let (status, e) = s
        .call(
            "UpdateStateMachine",
            json!({"stateMachineArn": base, "definition": pass(4).to_string(), "versionDescription": "x"}),
        )
        .await;
    assert_eq!((status, code(&e)), (400, "ValidationException"), "{e}");
    let published = s
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": base, "definition": pass(4).to_string(), "publish": true}),
        )
        .await;
    assert_eq!(published["stateMachineVersionArn"], format!("{base}:4"));
}
