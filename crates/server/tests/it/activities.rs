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

/// A machine with one Task on the activity `name` (as LocalStack's AWS-validated `BASE_ACTIVITY_TASK`,
/// plus `extra` fields on the Task).
fn activity_machine(name: &str, extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:{name}"), "End": true});
    if let (Some(t), Some(e)) = (task.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    json!({"StartAt": "ActivityTask", "States": {"ActivityTask": task}})
}

async fn events(s: &TestServer, arn: &str) -> Vec<Value> {
    let h = s.ok("GetExecutionHistory", json!({"executionArn": arn})).await;
    h["events"].as_array().unwrap().clone()
}

/// (type, id, previousEventId) of each event.
fn shape(events: &[Value]) -> Vec<(String, u64, u64)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["id"].as_u64().unwrap(),
                e["previousEventId"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Polls the history until an event of this type appears.
async fn wait_event(s: &TestServer, arn: &str, kind: &str) -> Vec<Value> {
    for _ in 0..400 {
        let ev = events(s, arn).await;
        if ev.iter().any(|e| e["type"] == kind) {
            return ev;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{arn} never recorded {kind}");
}

fn owned(v: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    v.iter().map(|(t, i, p)| ((*t).to_owned(), *i, *p)).collect()
}

// AWS: LocalStack's AWS-validated `activities/test_activities.snapshot.json` (`test_activity_task`): the
// worker gets the state's input, its output is the state's, and the events link one to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_takes_the_task_and_its_output_is_the_states() {
    let s = TestServer::start().await;
    let activity = s.ok("CreateActivity", json!({"name": "resize"})).await["activityArn"].clone();
    let machine = s
        .create("act", &activity_machine("resize", json!({"Parameters": {"size.$": "$.size", "fixed": 1}})))
        .await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine, "input": r#"{"size": 7}"#})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let task = s.ok("GetActivityTask", json!({"activityArn": activity, "workerName": "w1"})).await;
    let token = task["taskToken"].as_str().unwrap().to_owned();
    assert_eq!(
        serde_json::from_str::<Value>(task["input"].as_str().unwrap()).unwrap(),
        json!({"size": 7, "fixed": 1})
    );
    // GetActivityTask answers once the execution has recorded the take.
    assert_eq!(events(&s, &exec).await.last().unwrap()["type"], "ActivityStarted");
    s.ok("SendTaskHeartbeat", json!({"taskToken": token})).await;
    s.ok("SendTaskSuccess", json!({"taskToken": token, "output": r#"{"resized": true}"#})).await;
    let d = s.wait(&exec).await;
    assert_eq!(
        (d["status"].as_str(), d["output"].as_str()),
        (Some("SUCCEEDED"), Some(r#"{"resized":true}"#))
    );
    let ev = events(&s, &exec).await;
    assert_eq!(
        shape(&ev),
        owned(&[
            ("ExecutionStarted", 1, 0),
            ("TaskStateEntered", 2, 0),
            ("ActivityScheduled", 3, 2),
            ("ActivityStarted", 4, 3),
            ("ActivitySucceeded", 5, 4),
            ("TaskStateExited", 6, 5),
            ("ExecutionSucceeded", 7, 6),
        ])
    );
    assert_eq!(
        ev[2]["activityScheduledEventDetails"],
        // AWS builds Parameters with the fields without `.$` first (sfn-path's java_order).
        json!({"resource": activity, "input": r#"{"fixed":1,"size":7}"#, "inputDetails": {"truncated": false}})
    );
    assert_eq!(ev[3]["activityStartedEventDetails"], json!({"workerName": "w1"}));
    assert_eq!(
        ev[4]["activitySucceededEventDetails"],
        json!({"output": r#"{"resized":true}"#, "outputDetails": {"truncated": false}})
    );
    // The token is single use.
    let (status, err) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert_eq!((status, code(&err)), (400, "TaskDoesNotExist"));
    s.stop().await;
}

// AWS: `test_activity_task_on_deleted`: nothing is scheduled, the execution fails with States.Runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_on_an_activity_that_does_not_exist_fails_with_states_runtime() {
    let s = TestServer::start().await;
    let machine = s.create("missing", &activity_machine("nope", json!({}))).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let d = s.wait(&exec).await;
    let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:nope");
    assert_eq!(d["error"], "States.Runtime");
    assert_eq!(
        d["cause"],
        format!(
            "An error occurred while executing the state 'ActivityTask' (entered at the event id #2). The activity {arn} does not exist."
        )
    );
    let ev = events(&s, &exec).await;
    assert_eq!(
        shape(&ev),
        owned(&[("ExecutionStarted", 1, 0), ("TaskStateEntered", 2, 0), ("ExecutionFailed", 3, 2)])
    );
    s.stop().await;
}

// AWS: `test_activity_task_start_timeout` (`ActivityTimedOut` with `States.Timeout`, no cause) — here no
// worker takes the task at all, and it is not handed out once timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_no_worker_takes_times_out_and_is_withdrawn() {
    let s = TestServer::start().await;
    let activity = s.ok("CreateActivity", json!({"name": "idle"})).await["activityArn"].clone();
    let machine = s.create("idle", &activity_machine("idle", json!({"TimeoutSeconds": 1}))).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": machine})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let d = s.wait(&exec).await;
    assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("FAILED"), Some("States.Timeout")));
    let ev = events(&s, &exec).await;
    assert_eq!(
        shape(&ev),
        owned(&[
            ("ExecutionStarted", 1, 0),
            ("TaskStateEntered", 2, 0),
            ("ActivityScheduled", 3, 2),
            ("ActivityTimedOut", 4, 3),
            ("ExecutionFailed", 5, 4),
        ])
    );
    assert_eq!(ev[2]["activityScheduledEventDetails"]["timeoutInSeconds"], 1);
    assert_eq!(ev[3]["activityTimedOutEventDetails"], json!({"error": "States.Timeout"}));
    // The timed-out task is not handed out: a poll waits until the activity is deleted, then ends empty.
    let addr = s.addr;
    let body = json!({"activityArn": activity});
    let poll = tokio::spawn(async move { crate::call(addr, "GetActivityTask", body).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    s.ok("DeleteActivity", json!({"activityArn": activity})).await;
    let (status, answer) = tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
    assert_eq!((status, answer), (200, json!({})));
    s.stop().await;
}

// StopExecution ends the waiting activity task: its token is gone, and no worker gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_execution_ends_its_activity_task() {
    let s = TestServer::start().await;
    let activity = s.ok("CreateActivity", json!({"name": "stopped"})).await["activityArn"].clone();
    let machine = s.create("stopped", &activity_machine("stopped", json!({}))).await;
    let first = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "first"})).await;
    let first = first["executionArn"].as_str().unwrap().to_owned();
    let taken = s.ok("GetActivityTask", json!({"activityArn": activity})).await;
    let taken = taken["taskToken"].as_str().unwrap().to_owned();
    let second = s.ok("StartExecution", json!({"stateMachineArn": machine, "name": "second"})).await;
    let second = second["executionArn"].as_str().unwrap().to_owned();
    wait_event(&s, &second, "ActivityScheduled").await;
    s.ok("StopExecution", json!({"executionArn": second})).await;
    s.ok("StopExecution", json!({"executionArn": first})).await;
    assert_eq!(s.wait(&first).await["status"], "ABORTED");
    assert_eq!(s.wait(&second).await["status"], "ABORTED");
    let (status, err) = s.call("SendTaskSuccess", json!({"taskToken": taken, "output": "{}"})).await;
    assert_eq!((status, code(&err)), (400, "TaskDoesNotExist"));
    let ev = events(&s, &first).await;
    assert_eq!(ev.iter().filter(|e| e["type"] == "ActivityStarted").count(), 1);
    assert_eq!(ev.last().unwrap()["type"], "ExecutionAborted");
    // The second execution's task was withdrawn.
    let addr = s.addr;
    let body = json!({"activityArn": activity});
    let poll = tokio::spawn(async move { crate::call(addr, "GetActivityTask", body).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    s.ok("DeleteActivity", json!({"activityArn": activity})).await;
    let (_, answer) = tokio::time::timeout(Duration::from_secs(10), poll).await.unwrap().unwrap();
    assert_eq!(answer, json!({}));
    s.stop().await;
}

// A restart keeps the activities, a task no worker took (offered again, same token) and a task a worker
// holds (its token still completes it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_and_their_tasks_survive_a_restart() {
    let dir = crate::temp_dir("activities");
    let s = TestServer::start_with(Some(dir.clone())).await;
    let created = s.ok("CreateActivity", json!({"name": "durable"})).await;
    let activity = created["activityArn"].clone();
    s.ok("CreateActivity", json!({"name": "gone"})).await;
    s.ok(
        "DeleteActivity",
        json!({"activityArn": format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:gone")}),
    )
    .await;
    let machine = s.create("durable", &activity_machine("durable", json!({"TimeoutSeconds": 600}))).await;
    let held = s
        .ok("StartExecution", json!({"stateMachineArn": machine, "name": "held", "input": r#"{"n":1}"#}))
        .await;
    let held = held["executionArn"].as_str().unwrap().to_owned();
    let task = s.ok("GetActivityTask", json!({"activityArn": activity, "workerName": "before"})).await;
    assert_eq!(task["input"], r#"{"n":1}"#);
    let held_token = task["taskToken"].as_str().unwrap().to_owned();
    // Answered once the take is committed: the restart keeps it.
    assert_eq!(events(&s, &held).await.last().unwrap()["type"], "ActivityStarted");
    let queued = s
        .ok("StartExecution", json!({"stateMachineArn": machine, "name": "queued", "input": r#"{"n":2}"#}))
        .await;
    let queued = queued["executionArn"].as_str().unwrap().to_owned();
    wait_event(&s, &queued, "ActivityScheduled").await;
    s.stop().await;

    let s = TestServer::start_with(Some(dir.clone())).await;
    let d = s.ok("DescribeActivity", json!({"activityArn": activity})).await;
    assert_eq!(d["creationDate"], created["creationDate"]);
    let listed = s.ok("ListActivities", json!({})).await;
    assert_eq!(listed["activities"].as_array().unwrap().len(), 1, "{listed}");
    // The task no worker took is handed out again.
    let task = s.ok("GetActivityTask", json!({"activityArn": activity, "workerName": "after"})).await;
    assert_eq!(task["input"], r#"{"n":2}"#);
    s.ok("SendTaskSuccess", json!({"taskToken": task["taskToken"], "output": r#""second""#})).await;
    s.ok("SendTaskSuccess", json!({"taskToken": held_token, "output": r#""first""#})).await;
    assert_eq!(s.wait(&held).await["output"], r#""first""#);
    assert_eq!(s.wait(&queued).await["output"], r#""second""#);
    for (exec, worker) in [(&held, "before"), (&queued, "after")] {
        let ev = events(&s, exec).await;
        let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ExecutionStarted",
                "TaskStateEntered",
                "ActivityScheduled",
                "ActivityStarted",
                "ActivitySucceeded",
                "TaskStateExited",
                "ExecutionSucceeded"
            ]
        );
        assert_eq!(ev[3]["activityStartedEventDetails"]["workerName"], worker);
        assert!(ev.iter().all(|e| e.get("sfnResume").is_none()), "private members are not served");
    }
    s.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
