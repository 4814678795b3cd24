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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_route_by_weight_and_protect_their_versions() {
    let s = TestServer::start().await;
    let base = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:aliased");
    let v1 = s
        .ok(
            "CreateStateMachine",
            json!({"name": "aliased", "definition": pass(1).to_string(), "roleArn": crate::ROLE, "publish": true}),
        )
        .await["stateMachineVersionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let v2 = s
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": base, "definition": pass(2).to_string(), "publish": true}),
        )
        .await["stateMachineVersionArn"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bad routing: weights not summing to 100, a version that does not exist, an all-digit name.
    let bad = [
        json!({"name": "live", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 50}]}),
        json!({"name": "live", "routingConfiguration": [{"stateMachineVersionArn": format!("{base}:9"), "weight": 100}]}),
        json!({"name": "123", "routingConfiguration": [{"stateMachineVersionArn": v1, "weight": 100}]}),
        json!({"name": "live", "routingConfiguration": []}),
    ];
    let codes: Vec<String> = {
        let mut out = Vec::new();
        for b in bad {
            let (status, e) = s.call("CreateStateMachineAlias", b).await;
            assert_eq!(status, 400);
            out.push(code(&e).to_owned());
        }
        out
    };
    assert_eq!(
        codes,
        ["ValidationException", "ResourceNotFound", "ValidationException", "ValidationException"]
    );

    let routing = json!([{"stateMachineVersionArn": v1, "weight": 100}]);
    let created = s
        .ok(
            "CreateStateMachineAlias",
            json!({"name": "live", "description": "prod", "routingConfiguration": routing}),
        )
        .await;
    let alias = format!("{base}:live");
    assert_eq!(created["stateMachineAliasArn"], alias);
    // The same request again is idempotent; another routing under the same name conflicts.
    let same = s
        .ok(
            "CreateStateMachineAlias",
            json!({"name": "live", "description": "prod", "routingConfiguration": routing}),
        )
        .await;
    assert_eq!(same["creationDate"], created["creationDate"]);
    let (status, e) = s
        .call(
            "CreateStateMachineAlias",
            json!({"name": "live", "routingConfiguration": [{"stateMachineVersionArn": v2, "weight": 100}]}),
        )
        .await;
    assert_eq!((status, code(&e)), (400, "ConflictException"));

    let d = s.ok("DescribeStateMachineAlias", json!({"stateMachineAliasArn": alias})).await;
    assert_eq!(d["name"], "live");
    assert_eq!(d["description"], "prod");
    assert_eq!(d["routingConfiguration"], routing);

    // Start on the alias: version 1 runs; DescribeExecution names the alias and the version.
    let e1 = s.ok("StartExecution", json!({"stateMachineArn": alias})).await;
    let d1 = s.wait(e1["executionArn"].as_str().unwrap()).await;
    assert_eq!(d1["output"], "1");
    assert_eq!(d1["stateMachineAliasArn"], alias);
    assert_eq!(d1["stateMachineVersionArn"], v1);

    // A version an alias routes to cannot be deleted.
    let (status, e) = s.call("DeleteStateMachineVersion", json!({"stateMachineVersionArn": v1})).await;
    assert_eq!((status, code(&e)), (400, "ConflictException"), "{e}");

    // Two versions, 50/50: both run over 40 starts (the chance that one never runs is 2^-39).
    s.ok(
        "UpdateStateMachineAlias",
        json!({"stateMachineAliasArn": alias, "routingConfiguration": [
            {"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 50}]}),
    )
    .await;
    let mut outputs = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let e = s.ok("StartExecution", json!({"stateMachineArn": alias})).await;
        let d = s.wait(e["executionArn"].as_str().unwrap()).await;
        assert!(d["stateMachineVersionArn"].as_str().unwrap().ends_with(d["output"].as_str().unwrap()));
        outputs.insert(d["output"].as_str().unwrap().to_owned());
    }
    assert_eq!(outputs.into_iter().collect::<Vec<_>>(), ["1", "2"]);

    // ListExecutions on the alias lists what started on it; on a version, what ran that version.
    let on_alias = s.ok("ListExecutions", json!({"stateMachineArn": alias})).await;
    assert_eq!(on_alias["executions"].as_array().unwrap().len(), 41);
    s.ok("StartExecution", json!({"stateMachineArn": base})).await;
    let on_machine = s.ok("ListExecutions", json!({"stateMachineArn": base})).await;
    assert_eq!(on_machine["executions"].as_array().unwrap().len(), 42);
    let on_v1 = s.ok("ListExecutions", json!({"stateMachineArn": v1})).await;
    let n1 = on_v1["executions"].as_array().unwrap().len();
    let on_v2 = s.ok("ListExecutions", json!({"stateMachineArn": v2})).await;
    assert_eq!(n1 + on_v2["executions"].as_array().unwrap().len(), 41);
    let (status, e) = s.call("ListExecutions", json!({"stateMachineArn": format!("{base}:nope")})).await;
    assert_eq!((status, code(&e)), (400, "ResourceNotFound"));

    // Listing: the machine's aliases, and those routing to a version.
    let list = s.ok("ListStateMachineAliases", json!({"stateMachineArn": base})).await;
    assert_eq!(list["stateMachineAliases"][0]["stateMachineAliasArn"], alias);
    let of_v2 = s.ok("ListStateMachineAliases", json!({"stateMachineArn": v2})).await;
    assert_eq!(of_v2["stateMachineAliases"].as_array().unwrap().len(), 1);

    let (status, e) = s.call("UpdateStateMachineAlias", json!({"stateMachineAliasArn": alias})).await;
    assert_eq!((status, code(&e)), (400, "ValidationException"));
    s.ok("DeleteStateMachineAlias", json!({"stateMachineAliasArn": alias})).await;
    let (status, e) = s.call("DescribeStateMachineAlias", json!({"stateMachineAliasArn": alias})).await;
    assert_eq!((status, code(&e)), (400, "ResourceNotFound"));
    let (status, e) = s.call("StartExecution", json!({"stateMachineArn": alias})).await;
    assert_eq!((status, code(&e)), (400, "ResourceNotFound"));
    // With the alias gone its versions can be deleted.
    s.ok("DeleteStateMachineVersion", json!({"stateMachineVersionArn": v1})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_and_aliases_survive_a_restart() {
    let dir = crate::temp_dir("versions");
    let base = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:kept");
    let s = TestServer::start_with(Some(dir.clone())).await;
    s.ok(
        "CreateStateMachine",
        json!({"name": "kept", "definition": pass(1).to_string(), "roleArn": crate::ROLE, "publish": true}),
    )
    .await;
    s.ok(
        "UpdateStateMachine",
        json!({"stateMachineArn": base, "definition": pass(2).to_string(), "publish": true}),
    )
    .await;
    s.ok("DeleteStateMachineVersion", json!({"stateMachineVersionArn": format!("{base}:2")})).await;
    s.ok(
        "CreateStateMachineAlias",
        json!({"name": "live", "description": "prod",
               "routingConfiguration": [{"stateMachineVersionArn": format!("{base}:1"), "weight": 100}]}),
    )
    .await;
    let before =
        s.ok("DescribeStateMachineAlias", json!({"stateMachineAliasArn": format!("{base}:live")})).await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir)).await;
    let after =
        s.ok("DescribeStateMachineAlias", json!({"stateMachineAliasArn": format!("{base}:live")})).await;
    assert_eq!(after, before);
    let list = s.ok("ListStateMachineVersions", json!({"stateMachineArn": base})).await;
    assert_eq!(list["stateMachineVersions"].as_array().unwrap().len(), 1);
    let e = s.ok("StartExecution", json!({"stateMachineArn": format!("{base}:live")})).await;
    let d = s.wait(e["executionArn"].as_str().unwrap()).await;
    assert_eq!(
        (d["output"].as_str(), d["stateMachineVersionArn"].as_str()),
        (Some("1"), Some(format!("{base}:1").as_str()))
    );
    // Number 2 was given once: the next version is 3.
    let v = s
        .ok(
            "UpdateStateMachine",
            json!({"stateMachineArn": base, "definition": pass(3).to_string(), "publish": true}),
        )
        .await;
    assert_eq!(v["stateMachineVersionArn"], format!("{base}:3"));
    s.stop().await;
}
