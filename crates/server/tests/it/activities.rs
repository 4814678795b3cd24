//! Activities over raw awsJson1_0 (API reference: CreateActivity, DescribeActivity, ListActivities,
//! DeleteActivity, GetActivityTask).

use std::time::Duration;

use serde_json::{Value, json};

use crate::{ACCOUNT, REGION, TestServer};

fn code(v: &Value) -> &str {
    v["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_list_delete_and_poll_activities() {
    let s = TestServer::start().await;
    let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:resize");
    let created = s.ok("CreateActivity", json!({"name": "resize"})).await;
    assert_eq!(created["activityArn"], arn);
    // Idempotent on the name.
    let again = s.ok("CreateActivity", json!({"name": "resize"})).await;
    assert_eq!(again, created);
    s.ok("CreateActivity", json!({"name": "encode"})).await;
    let (status, e) = s.call("CreateActivity", json!({"name": "a b"})).await;
    assert_eq!((status, code(&e)), (400, "InvalidName"));

    let d = s.ok("DescribeActivity", json!({"activityArn": arn})).await;
    assert_eq!(d, json!({"activityArn": arn, "name": "resize", "creationDate": created["creationDate"]}));
    let page = s.ok("ListActivities", json!({"maxResults": 1})).await;
    assert_eq!(page["activities"][0]["name"], "encode", "in name order");
    let rest = s.ok("ListActivities", json!({"nextToken": page["nextToken"]})).await;
    assert_eq!(rest["activities"][0]["name"], "resize");
    assert!(rest.get("nextToken").is_none());

    // A poll waits; deleting the activity ends it, empty.
    let addr = s.addr;
    let body = json!({"activityArn": arn, "workerName": "w1"});
    let poll = tokio::spawn(async move { crate::call(addr, "GetActivityTask", body).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "GetActivityTask long-polls");
    s.ok("DeleteActivity", json!({"activityArn": arn})).await;
    let (status, answer) = tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
    assert_eq!((status, answer), (200, json!({})));

    let (status, e) = s.call("DescribeActivity", json!({"activityArn": arn})).await;
    assert_eq!((status, code(&e)), (400, "ActivityDoesNotExist"));
    let (status, e) = s.call("GetActivityTask", json!({"activityArn": arn})).await;
    assert_eq!((status, code(&e)), (400, "ActivityDoesNotExist"));
    let machine = format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:m");
    let (status, e) = s.call("DescribeActivity", json!({"activityArn": machine})).await;
    assert_eq!((status, code(&e)), (400, "InvalidArn"));
    // Deleting what does not exist succeeds.
    s.ok("DeleteActivity", json!({"activityArn": arn})).await;
}
