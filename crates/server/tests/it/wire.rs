//! The wire protocol and every operation, with raw awsJson1_0 requests: status codes, `__type`, messages
//! and response shapes as AWS sends them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{ACCOUNT, REGION, TestServer, callback_machine, job_machine, pass_machine, raw, wait_machine};

const NS: &str = "com.amazonaws.swf.service.v2.model";
const VALIDATE: &str = "com.amazon.coral.validate#ValidationException";

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

fn err(code: &str, message: &str) -> Value {
    json!({"__type": format!("{NS}#{code}"), "message": message})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_request_ids_and_body_limit() {
    let s = TestServer::start().await;
    let (status, head, body) = raw(s.addr, Some("NoSuchThing"), b"{}").await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["__type"], "com.amazon.coral.service#UnknownOperationException");
    assert!(head.contains("content-type: application/x-amz-json-1.0"), "{head}");
    assert!(head.contains("x-amzn-requestid: "), "{head}");

    let (status, _, body) = raw(s.addr, None, b"{}").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );

    let (status, _, body) = raw(s.addr, Some("ListStateMachines"), b"{not json").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["__type"],
        "com.amazon.coral.service#SerializationException"
    );

    // An empty body is an empty request.
    let (status, _, body) = raw(s.addr, Some("ListStateMachines"), b"").await;
    assert_eq!(
        (status, serde_json::from_slice::<Value>(&body).unwrap()),
        (200, json!({"stateMachines": []}))
    );

    let big = vec![b' '; sfn_server::MAX_BODY_BYTES + 1];
    let (status, _, _) = raw(s.addr, Some("ListStateMachines"), &big).await;
    assert_eq!(status, 413);
    // Just under the limit is read (and then judged on its content).
    let mut fits = b"{\"definition\": \"".to_vec();
    fits.extend(std::iter::repeat_n(b'x', sfn_server::MAX_BODY_BYTES - 100));
    fits.extend(b"\"}");
    let (status, _, body) = raw(s.addr, Some("ValidateStateMachineDefinition"), &fits).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_update_delete_state_machines() {
    let s = TestServer::start().await;
    let def = pass_machine().to_string();
    let create = |name: &str, definition: &str| json!({"name": name, "definition": definition, "roleArn": crate::ROLE});
    let created = s.ok("CreateStateMachine", create("hello", &def)).await;
    assert_eq!(created["stateMachineArn"], machine_arn("hello"));
    assert!(created["creationDate"].is_f64());
    // Identical: idempotent. Same JSON, other formatting: already exists.
    assert_eq!(s.ok("CreateStateMachine", create("hello", &def)).await, created);
    let pretty = serde_json::to_string_pretty(&pass_machine()).unwrap();
    let (status, v) = s.call("CreateStateMachine", create("hello", &pretty)).await;
    assert_eq!(status, 400);
    assert_eq!(
        v,
        err(
            "StateMachineAlreadyExists",
            &format!("State Machine Already Exists: '{}'", machine_arn("hello"))
        )
    );

    let cases = [
        (create("a b", &def), err("InvalidName", "Invalid Name: 'a b'")),
        (
            create(&"n".repeat(81), &def),
            json!({"__type": VALIDATE, "message": format!("1 validation error detected: Value '{}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80", "n".repeat(81))}),
        ),
        (
            create("bad", r#"{"StartAt": "A"}"#),
            err(
                "InvalidDefinition",
                "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'",
            ),
        ),
        (
            json!({"name": "x", "definition": def}),
            json!({"__type": VALIDATE, "message": "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"}),
        ),
        (
            json!({"name": "x", "definition": def, "roleArn": crate::ROLE, "type": "BATCH"}),
            json!({"__type": VALIDATE, "message": "1 validation error detected: Value 'BATCH' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"}),
        ),
    ];
    for (req, want) in cases {
        let (status, got) = s.call("CreateStateMachine", req.clone()).await;
        assert_eq!((status, got), (400, want), "{req}");
    }
    // EXPRESS machines cannot run .sync tasks (AWS's own message).
    let express_sync = json!({"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "Parameters": {"TaskDefinition": "job"}, "End": true}}});
    let (status, v) = s
        .call(
            "CreateStateMachine",
            json!({"name": "ex", "definition": express_sync.to_string(), "roleArn": crate::ROLE, "type": "EXPRESS"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        v["message"],
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service integration at /States/S/Resource'"
    );

    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await;
    assert_eq!(d["definition"], def);
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["type"], "STANDARD");
    assert_eq!(d["roleArn"], crate::ROLE);
    assert_eq!(d["loggingConfiguration"], json!({"level": "OFF", "includeExecutionData": false}));
    assert_eq!(d["tracingConfiguration"], json!({"enabled": false}));
    assert!(d.get("revisionId").is_none());

    let (status, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": "not_a_valid_arn"})).await;
    assert_eq!((status, v), (400, err("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'")));
    let missing = machine_arn("missing");
    let (_, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": missing})).await;
    assert_eq!(v, err("StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{missing}'")));
    let exec_arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:hello:e");
    let (_, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": exec_arn})).await;
    assert_eq!(v, err("InvalidArn", "Invalid Arn: 'Resource type not valid in this context: execution'"));

    let (status, v) = s.call("UpdateStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await;
    assert_eq!(status, 400);
    assert_eq!(v["__type"], format!("{NS}#MissingRequiredParameter"));
    let u1 = s.ok("UpdateStateMachine", json!({"stateMachineArn": machine_arn("hello"), "roleArn": "arn:aws:iam::123456789012:role/other"})).await;
    let rev = u1["revisionId"].as_str().unwrap().to_owned();
    let u2 = s.ok("UpdateStateMachine", json!({"stateMachineArn": machine_arn("hello"), "roleArn": "arn:aws:iam::123456789012:role/other"})).await;
    assert_eq!(u2["revisionId"], rev.as_str(), "same parameters, same revision");
    let (_, v) = s
        .call("UpdateStateMachine", json!({"stateMachineArn": machine_arn("hello"), "definition": "{}"}))
        .await;
    assert_eq!(v["__type"], format!("{NS}#InvalidDefinition"));
    let d = s.ok("DescribeStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await;
    assert_eq!(d["revisionId"], rev.as_str());
    assert_eq!(d["roleArn"], "arn:aws:iam::123456789012:role/other");

    assert_eq!(s.ok("DeleteStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await, json!({}));
    assert_eq!(s.ok("DeleteStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await, json!({}));
    let (_, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": machine_arn("hello")})).await;
    assert_eq!(v["__type"], format!("{NS}#StateMachineDoesNotExist"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_state_machines_in_name_order_with_pages() {
    let s = TestServer::start().await;
    for i in 0..13 {
        s.create(&format!("m{i}"), &pass_machine()).await;
    }
    let p1 = s.ok("ListStateMachines", json!({"maxResults": 10})).await;
    let names = |v: &Value| {
        v["stateMachines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&p1), ["m0", "m1", "m10", "m11", "m12", "m2", "m3", "m4", "m5", "m6"]);
    let p2 = s.ok("ListStateMachines", json!({"maxResults": 10, "nextToken": p1["nextToken"]})).await;
    assert_eq!(names(&p2), ["m7", "m8", "m9"]);
    assert!(p2.get("nextToken").is_none());
    assert_eq!(
        p1["stateMachines"][0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["stateMachineArn", "name", "type", "creationDate"]
    );
    let (_, v) = s.call("ListStateMachines", json!({"maxResults": 1001})).await;
    assert_eq!(
        v,
        json!({"__type": VALIDATE, "message": "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"})
    );
    let (_, v) = s.call("ListStateMachines", json!({"nextToken": "garbage"})).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidToken"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_execution_checks_in_aws_order() {
    let s = TestServer::start().await;
    let arn = s.create("example", &pass_machine()).await;
    let missing = machine_arn("missing");
    let long = "a".repeat(81);
    let large = format!("\"{}\"", "a".repeat(262_144));
    let start =
        |arn: &str, name: &str, input: &str| json!({"stateMachineArn": arn, "name": name, "input": input});
    let cases = [
        (start("not-an-arn", "n", "{}"), err("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: not-an-arn'")),
        (
            start(&arn, &long, "{}"),
            json!({"__type": VALIDATE, "message": format!("1 validation error detected: Value '{long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80")}),
        ),
        (
            start(&arn, "n", &large),
            json!({"__type": VALIDATE, "message": "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding"}),
        ),
        (
            start(&missing, &long, "{}"),
            json!({"__type": VALIDATE, "message": format!("1 validation error detected: Value '{long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80")}),
        ),
        (
            start(&missing, "a b", "{"),
            err("StateMachineDoesNotExist", &format!("State Machine Does Not Exist: '{missing}'")),
        ),
        (start(&arn, "a b", "{}"), err("InvalidName", "Invalid Name: 'a b'")),
        (
            start(&arn, "n", ""),
            err("InvalidExecutionInput", "Invalid State Machine Execution Input: 'Invalid execution input.'"),
        ),
        (
            json!({"name": "n"}),
            json!({"__type": VALIDATE, "message": "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null"}),
        ),
    ];
    for (request, expected) in cases {
        let (status, got) = s.call("StartExecution", request.clone()).await;
        assert_eq!((status, got), (400, expected), "{request}");
    }
    let (_, v) = s.call("StartExecution", start(&arn, "n", "{")).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidExecutionInput"));
    assert!(v["message"].as_str().unwrap().starts_with("Invalid State Machine Execution Input: '"));

    // Name and input are optional: a UUID name and `{}`.
    let started = s.ok("StartExecution", json!({"stateMachineArn": arn})).await;
    let d = s.wait(started["executionArn"].as_str().unwrap()).await;
    assert_eq!(d["name"].as_str().unwrap().len(), 36);
    assert_eq!(d["input"], "{}");
    // Scalars are JSON too.
    for input in ["1", "\"s\"", "null"] {
        s.ok("StartExecution", json!({"stateMachineArn": arn, "input": input})).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_start_describe_and_history() {
    let s = TestServer::start().await;
    let arn = s.create("slow", &wait_machine(1)).await;
    let first =
        s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "same", "input": "{\"a\": 1}"})).await;
    let exec = first["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(exec, format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:slow:same"));
    // Running, same name and input: the same execution.
    let again =
        s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "same", "input": "{\"a\": 1}"})).await;
    assert_eq!(again, first);
    let (_, v) =
        s.call("StartExecution", json!({"stateMachineArn": arn, "name": "same", "input": "{}"})).await;
    assert_eq!(v, err("ExecutionAlreadyExists", &format!("Execution Already Exists: '{exec}'")));

    let running = s.ok("DescribeExecution", json!({"executionArn": exec})).await;
    assert_eq!(running["status"], "RUNNING");
    for key in ["stopDate", "output", "error", "cause"] {
        assert!(running.get(key).is_none(), "{key}");
    }
    assert_eq!(running["input"], "{\"a\": 1}", "the input text as given");
    let d = s.wait(&exec).await;
    assert_eq!(d["status"], "SUCCEEDED");
    assert_eq!(d["output"], "{\"a\":1}");
    assert_eq!(d["startDate"], first["startDate"]);
    assert!(d["stopDate"].as_f64().unwrap() >= d["startDate"].as_f64().unwrap() + 1.0);
    assert_eq!(d["redriveStatus"], "NOT_REDRIVABLE");
    // Closed: the name is taken, whatever the input.
    let (_, v) = s
        .call("StartExecution", json!({"stateMachineArn": arn, "name": "same", "input": "{\"a\": 1}"}))
        .await;
    assert_eq!(v["__type"], format!("{NS}#ExecutionAlreadyExists"));

    let h = s.ok("GetExecutionHistory", json!({"executionArn": exec})).await;
    let types: Vec<&str> =
        h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(h["events"][0]["executionStartedEventDetails"]["roleArn"], crate::ROLE);
    let rev = s.ok("GetExecutionHistory", json!({"executionArn": exec, "reverseOrder": true})).await;
    assert_eq!(rev["events"][0]["type"], "ExecutionSucceeded");
    assert_eq!(rev["events"][5]["type"], "ExecutionStarted");
    let bare =
        s.ok("GetExecutionHistory", json!({"executionArn": exec, "includeExecutionData": false})).await;
    assert!(bare["events"][0]["executionStartedEventDetails"].get("input").is_none());
    assert!(bare["events"][0]["executionStartedEventDetails"].get("roleArn").is_some());
    assert!(bare["events"][5]["executionSucceededEventDetails"].get("output").is_none());
    // Pages of 4 then 2.
    let p1 = s.ok("GetExecutionHistory", json!({"executionArn": exec, "maxResults": 4})).await;
    assert_eq!(p1["events"].as_array().unwrap().len(), 4);
    let p2 = s
        .ok(
            "GetExecutionHistory",
            json!({"executionArn": exec, "maxResults": 4, "nextToken": p1["nextToken"]}),
        )
        .await;
    assert_eq!(
        p2["events"].as_array().unwrap().iter().map(|e| e["id"].as_u64().unwrap()).collect::<Vec<_>>(),
        [5, 6]
    );
    assert!(p2.get("nextToken").is_none());
    // Tokens are bound to their listing and to positions handed out: a forged position past the end
    // (it once wrapped around) or another execution's token is InvalidToken.
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("h:18446744073709551615");
    let other = s.ok("StartExecution", json!({"stateMachineArn": arn, "input": "{}"})).await;
    let other = other["executionArn"].as_str().unwrap();
    for (token, on) in [(json!(forged), exec.as_str()), (p1["nextToken"].clone(), other)] {
        let (status, v) = s
            .call("GetExecutionHistory", json!({"executionArn": on, "maxResults": 4, "nextToken": token}))
            .await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["__type"].as_str().unwrap().rsplit('#').next(), Some("InvalidToken"), "{v}");
    }

    let missing = format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:slow:missing");
    let (_, v) = s.call("DescribeExecution", json!({"executionArn": missing})).await;
    assert_eq!(v, err("ExecutionDoesNotExist", &format!("Execution Does Not Exist: '{missing}'")));
    let (_, v) = s.call("GetExecutionHistory", json!({"executionArn": "invalid_execution_arn"})).await;
    assert_eq!(v, err("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: invalid_execution_arn'"));
    let (_, v) = s.call("DescribeExecution", json!({"executionArn": arn})).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidArn"));

    let for_exec = s.ok("DescribeStateMachineForExecution", json!({"executionArn": exec})).await;
    assert_eq!(for_exec["definition"], wait_machine(1).to_string());
    assert_eq!(for_exec["stateMachineArn"], arn);
    assert!(for_exec["updateDate"].is_f64());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_executions_newest_first_with_filters_and_pages() {
    let s = TestServer::start().await;
    let arn = s.create("many", &pass_machine()).await;
    let slow = s.create("slow", &wait_machine(30)).await;
    for i in 0..13 {
        let e = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": format!("e{i:02}")})).await;
        s.wait(e["executionArn"].as_str().unwrap()).await;
    }
    let p1 = s.ok("ListExecutions", json!({"stateMachineArn": arn, "maxResults": 10})).await;
    let names = |v: &Value| {
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&p1), ["e12", "e11", "e10", "e09", "e08", "e07", "e06", "e05", "e04", "e03"]);
    let p2 = s
        .ok("ListExecutions", json!({"stateMachineArn": arn, "maxResults": 10, "nextToken": p1["nextToken"]}))
        .await;
    assert_eq!(names(&p2), ["e02", "e01", "e00"]);
    assert!(p2.get("nextToken").is_none());
    let item = p1["executions"][0].as_object().unwrap();
    assert_eq!(item["status"], "SUCCEEDED");
    assert!(item["stopDate"].is_f64());
    assert_eq!(item["redriveCount"], 0);

    let none = s.ok("ListExecutions", json!({"stateMachineArn": arn, "statusFilter": "RUNNING"})).await;
    assert_eq!(none, json!({"executions": []}));
    let e = s.ok("StartExecution", json!({"stateMachineArn": slow, "name": "r"})).await;
    let running = s.ok("ListExecutions", json!({"stateMachineArn": slow, "statusFilter": "RUNNING"})).await;
    assert_eq!(names(&running), ["r"]);
    assert!(running["executions"][0].get("stopDate").is_none());
    let (_, v) = s.call("ListExecutions", json!({"stateMachineArn": arn, "statusFilter": "succeeded"})).await;
    assert_eq!(
        v,
        json!({"__type": VALIDATE, "message": "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]"})
    );
    let (_, v) = s.call("ListExecutions", json!({"stateMachineArn": machine_arn("nope")})).await;
    assert_eq!(v["__type"], format!("{NS}#StateMachineDoesNotExist"));

    // StopExecution: ABORTED with the error and cause in ExecutionAborted.
    let exec = e["executionArn"].as_str().unwrap();
    let stopped =
        s.ok("StopExecution", json!({"executionArn": exec, "error": "Halt", "cause": "by test"})).await;
    assert!(stopped["stopDate"].is_f64());
    let d = s.ok("DescribeExecution", json!({"executionArn": exec})).await;
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str(), d["cause"].as_str()),
        (Some("ABORTED"), Some("Halt"), Some("by test"))
    );
    let h = s.ok("GetExecutionHistory", json!({"executionArn": exec, "reverseOrder": true})).await;
    assert_eq!(h["events"][0]["type"], "ExecutionAborted");
    assert_eq!(h["events"][0]["executionAbortedEventDetails"], json!({"error": "Halt", "cause": "by test"}));
    let aborted = s.ok("ListExecutions", json!({"stateMachineArn": slow, "statusFilter": "ABORTED"})).await;
    assert_eq!(names(&aborted), ["r"]);
    // Stopping again answers the same stop date.
    assert_eq!(s.ok("StopExecution", json!({"executionArn": exec})).await, stopped);
    let (_, v) = s.call("StopExecution", json!({"executionArn": exec, "error": "e".repeat(257)})).await;
    assert_eq!(v["__type"], VALIDATE);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_machines_sync_and_async() {
    let s = TestServer::start().await;
    let standard = s.create("standard", &pass_machine()).await;
    let (status, v) = s.call("StartSyncExecution", json!({"stateMachineArn": standard})).await;
    assert_eq!(
        (status, v),
        (
            400,
            err(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine"
            )
        )
    );

    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "in.$": "$"}, "End": true}}});
    let created = s
        .ok(
            "CreateStateMachine",
            json!({"name": "fast", "definition": def.to_string(), "roleArn": crate::ROLE, "type": "EXPRESS"}),
        )
        .await;
    let arn = created["stateMachineArn"].as_str().unwrap();
    let r =
        s.ok("StartSyncExecution", json!({"stateMachineArn": arn, "name": "x", "input": "{\"k\": 2}"})).await;
    assert_eq!(r["status"], "SUCCEEDED");
    let exec = r["executionArn"].as_str().unwrap();
    assert!(exec.starts_with(&format!("arn:aws:states:{REGION}:{ACCOUNT}:express:fast:x:")), "{exec}");
    let out: Value = serde_json::from_str(r["output"].as_str().unwrap()).unwrap();
    assert_eq!(out, json!({"id": exec, "in": {"k": 2}}));
    assert_eq!(r["input"], "{\"k\": 2}");
    assert_eq!(r["billingDetails"]["billedMemoryUsedInMB"], 64);
    assert!(r["billingDetails"]["billedDurationInMilliseconds"].as_i64().unwrap() >= 100);
    for key in ["inputDetails", "outputDetails", "startDate", "stopDate", "stateMachineArn", "name"] {
        assert!(r.get(key).is_some(), "{key}");
    }
    let failing =
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "SomeFailure", "Cause": "why"}}});
    let f = s
        .ok("CreateStateMachine", json!({"name": "failing", "definition": failing.to_string(), "roleArn": crate::ROLE, "type": "EXPRESS"}))
        .await;
    let r = s.ok("StartSyncExecution", json!({"stateMachineArn": f["stateMachineArn"]})).await;
    assert_eq!(
        (r["status"].as_str(), r["error"].as_str(), r["cause"].as_str()),
        (Some("FAILED"), Some("SomeFailure"), Some("why"))
    );
    assert!(r.get("output").is_none());

    // Asynchronous EXPRESS executions get express ARNs and are neither listed nor described.
    let a = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "x"})).await;
    let a_arn = a["executionArn"].as_str().unwrap();
    assert!(a_arn.contains(":express:fast:x:"));
    let again = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "x"})).await;
    assert_ne!(again["executionArn"], a["executionArn"], "EXPRESS names may repeat");
    let (_, v) = s.call("ListExecutions", json!({"stateMachineArn": arn})).await;
    assert_eq!(v["__type"], format!("{NS}#StateMachineTypeNotSupported"));
    let (_, v) = s.call("DescribeExecution", json!({"executionArn": a_arn})).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidArn"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_valid_invalid_and_expired_tokens() {
    let s = TestServer::start().await;
    let arn = s.create("callback", &callback_machine(60)).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "ok"})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&exec).await;
    assert_eq!(s.ok("SendTaskHeartbeat", json!({"taskToken": token})).await, json!({}));
    let (_, v) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{not json"})).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidOutput"));
    assert_eq!(
        s.ok("SendTaskSuccess", json!({"taskToken": token, "output": "{\"done\": true}"})).await,
        json!({})
    );
    let d = s.wait(&exec).await;
    assert_eq!((d["status"].as_str(), d["output"].as_str()), (Some("SUCCEEDED"), Some("{\"done\":true}")));
    // Single use.
    let (_, v) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert_eq!(v, err("TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist anymore'"));

    let (status, v) = s.call("SendTaskSuccess", json!({"taskToken": "not a token", "output": "{}"})).await;
    assert_eq!(status, 400);
    assert_eq!(v["__type"], format!("{NS}#InvalidToken"));
    let (_, v) = s.call("SendTaskHeartbeat", json!({})).await;
    assert_eq!(
        v,
        json!({"__type": VALIDATE, "message": "1 validation error detected: Value null at 'taskToken' failed to satisfy constraint: Member must not be null"})
    );

    // SendTaskFailure: the execution fails with that error and cause.
    let e = s.ok("StartExecution", json!({"stateMachineArn": arn, "name": "fails"})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&exec).await;
    s.ok("SendTaskFailure", json!({"taskToken": token, "error": "Worker.Broke", "cause": "disk full"})).await;
    let d = s.wait(&exec).await;
    assert_eq!(
        (d["status"].as_str(), d["error"].as_str(), d["cause"].as_str()),
        (Some("FAILED"), Some("Worker.Broke"), Some("disk full"))
    );

    // Expired: TimeoutSeconds 1 passes before the callback.
    let expiring = s.create("expiring", &callback_machine(1)).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": expiring, "name": "late"})).await;
    let exec = e["executionArn"].as_str().unwrap().to_owned();
    let token = s.token(&exec).await;
    let d = s.wait(&exec).await;
    assert_eq!((d["status"].as_str(), d["error"].as_str()), (Some("FAILED"), Some("States.Timeout")));
    let (_, v) = s.call("SendTaskSuccess", json!({"taskToken": token, "output": "{}"})).await;
    assert_eq!(v, err("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_job_runs_one_task() {
    let s = TestServer::start().await;
    let arn = s.create("job", &job_machine()).await;
    let e = s.ok("StartExecution", json!({"stateMachineArn": arn})).await;
    let d = s.wait(e["executionArn"].as_str().unwrap()).await;
    assert_eq!(d["status"], "SUCCEEDED", "{d}");
    let out: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
    assert_eq!(out["LastStatus"], "STOPPED");
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_state_validate_and_tags() {
    let s = TestServer::start().await;
    let pass = json!({"Type": "Pass", "InputPath": "$.in", "Parameters": {"v.$": "$.x"}, "ResultPath": "$.r", "Next": "After"});
    let r = s
        .ok("TestState", json!({"definition": pass.to_string(), "input": "{\"in\": {\"x\": 5}}", "inspectionLevel": "DEBUG"}))
        .await;
    assert_eq!(r["status"], "SUCCEEDED");
    assert_eq!(r["nextState"], "After");
    assert_eq!(
        serde_json::from_str::<Value>(r["output"].as_str().unwrap()).unwrap(),
        json!({"in": {"x": 5}, "r": {"v": 5}})
    );
    let i = &r["inspectionData"];
    assert_eq!(i["afterInputPath"], "{\"x\":5}");
    assert_eq!(i["afterParameters"], "{\"v\":5}");
    assert_eq!(i["afterResultPath"], "{\"in\":{\"x\":5},\"r\":{\"v\":5}}");
    let info =
        s.ok("TestState", json!({"definition": pass.to_string(), "input": "{\"in\": {\"x\": 5}}"})).await;
    assert!(info.get("inspectionData").is_none());
    let choice = json!({"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"});
    let r = s.ok("TestState", json!({"definition": choice.to_string(), "input": "{\"n\": 3}"})).await;
    assert_eq!(r["nextState"], "Big");
    let fail = json!({"Type": "Fail", "Error": "E", "Cause": "C"});
    let r = s.ok("TestState", json!({"definition": fail.to_string()})).await;
    assert_eq!((r["status"].as_str(), r["error"].as_str()), (Some("FAILED"), Some("E")));
    let (_, v) =
        s.call("TestState", json!({"definition": "{\"Type\": \"Pass\", \"Bogus\": 1, \"End\": true}"})).await;
    assert_eq!(v["__type"], format!("{NS}#InvalidDefinition"));

    let ok = s.ok("ValidateStateMachineDefinition", json!({"definition": pass_machine().to_string()})).await;
    assert_eq!(ok, json!({"result": "OK", "diagnostics": [], "truncated": false}));
    let bad = s
        .ok("ValidateStateMachineDefinition", json!({"definition": "{\"StartAt\": \"A\", \"States\": {}}"}))
        .await;
    assert_eq!(bad["result"], "FAIL");
    assert_eq!(bad["diagnostics"][0]["severity"], "ERROR");

    let arn = s.create("tagged", &pass_machine()).await;
    s.ok(
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "team", "value": "a"}, {"key": "env", "value": "dev"}]}),
    )
    .await;
    s.ok("TagResource", json!({"resourceArn": arn, "tags": [{"key": "team", "value": "b"}]})).await;
    s.ok("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env"]})).await;
    let t = s.ok("ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(t, json!({"tags": [{"key": "team", "value": "b"}]}));
    let (_, v) = s.call("ListTagsForResource", json!({"resourceArn": machine_arn("nope")})).await;
    assert_eq!(v["__type"], format!("{NS}#ResourceNotFound"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_endpoint_answers_send_task_only() {
    let tokens = sfn_patterns::TokenRegistry::new();
    let rx = tokens.mint(sfn_patterns::TokenOwner { execution_arn: "e".into(), state_name: "s".into() });
    let (addr, task) =
        sfn_server::serve_callbacks("127.0.0.1:0".parse().unwrap(), tokens.clone()).await.unwrap();
    let body = json!({"taskToken": rx.token()}).to_string();
    let (status, _, _) = raw(addr, Some("SendTaskHeartbeat"), body.as_bytes()).await;
    assert_eq!(status, 200);
    let (status, _, out) = raw(addr, Some("ListStateMachines"), b"{}").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap()["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    task.abort();
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// DeleteStateMachine with an execution running (AWS API reference, DeleteStateMachine: "It sets the state
/// machine's status to DELETING … A state machine is deleted only when all its executions are completed.
/// On the next state transition, the state machine's executions are terminated."): DELETING while it runs,
/// no new execution (`StateMachineDeleting`), the running one finishes its state and ends ABORTED without
/// entering the next one, then the machine is gone and its execution still describable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_state_machine_with_running_executions() {
    let s = TestServer::start().await;
    let arn = s.create("deleting", &wait_machine(1)).await;
    let exec = s.ok("StartExecution", json!({"stateMachineArn": arn})).await["executionArn"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(s.ok("DeleteStateMachine", json!({"stateMachineArn": arn})).await, json!({}));
    assert_eq!(s.ok("DescribeStateMachine", json!({"stateMachineArn": arn})).await["status"], "DELETING");
    let (status, v) = s.call("StartExecution", json!({"stateMachineArn": arn})).await;
    assert_eq!((status, v["__type"].clone()), (400, json!(format!("{NS}#StateMachineDeleting"))));
    let (status, v) = s
        .call(
            "CreateStateMachine",
            json!({"name": "deleting", "definition": wait_machine(1).to_string(), "roleArn": crate::ROLE}),
        )
        .await;
    assert_eq!((status, v["__type"].clone()), (400, json!(format!("{NS}#StateMachineDeleting"))));

    let d = s.wait(&exec).await;
    assert_eq!(d["status"], "ABORTED");
    let h = s.ok("GetExecutionHistory", json!({"executionArn": exec})).await;
    let types: Vec<_> =
        h["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect();
    assert!(types.contains(&"WaitStateExited".to_owned()), "the Wait state ran to its end: {types:?}");
    assert!(!types.contains(&"PassStateEntered".to_owned()), "no state entered after the delete: {types:?}");
    assert_eq!(types.last().map(String::as_str), Some("ExecutionAborted"));

    let (_, v) = s.call("DescribeStateMachine", json!({"stateMachineArn": arn})).await;
    assert_eq!(v["__type"], format!("{NS}#StateMachineDoesNotExist"));
    assert_eq!(s.ok("ListStateMachines", json!({})).await, json!({"stateMachines": []}));
    assert_eq!(s.ok("DescribeExecution", json!({"executionArn": exec})).await["status"], "ABORTED");
    // The name is free again.
    s.create("deleting", &wait_machine(0)).await;
}
