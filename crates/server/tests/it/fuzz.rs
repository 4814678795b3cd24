//! Fuzz targets for request decoding (`cargo xtask fuzz`; see `fuzz_runner.rs`): `body_json` and
//! `operation` on arbitrary bytes and headers, and whole requests with arbitrary targets and bodies
//! through `Server::router()` in process (tower's `oneshot`), against one server whose state grows as
//! the requests create machines, start executions, tag and stop them.
//!
//! Properties, besides never panicking: a body is accepted exactly when it is whitespace or a JSON
//! object, and then decodes to that object; the operation is the target's suffix; every response is 200,
//! 400 or 413 (never a 5xx: request data is never our failure), JSON with AWS's content type and a
//! request id, and every error has a `__type` and a `message`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sfn_ecs::{EcsIntegration, SimBackend, SimScript};
use sfn_server::{Server, ServerOptions, body_json, operation};
use tower::ServiceExt as _;

use crate::{ACCOUNT, REGION, ROLE, callback_machine, job_machine, pass_machine, wait_machine};

#[path = "../../../path/tests/it/fuzz_runner.rs"]
mod fuzz_runner;
use fuzz_runner::fuzz;

const OPERATIONS: &[&str] = &[
    "CreateStateMachine",
    "DescribeStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "ListStateMachines",
    "ValidateStateMachineDefinition",
    "StartExecution",
    "StartSyncExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "StopExecution",
    "DescribeStateMachineForExecution",
    "SendTaskSuccess",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "TestState",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "DescribeMapRun",
    "PublishStateMachineVersion",
    "ListStateMachineVersions",
    "DeleteStateMachineVersion",
    "CreateStateMachineAlias",
    "DescribeStateMachineAlias",
    "UpdateStateMachineAlias",
    "DeleteStateMachineAlias",
    "ListStateMachineAliases",
    "RedriveExecution",
    "CreateActivity",
    "DescribeActivity",
    "ListActivities",
    "DeleteActivity",
    // Not GetActivityTask: on an activity that exists it holds the request for 60 s.
    "",
];

#[test]
fn body_and_operation_decoding() {
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        "[ \\t\\r\\n]{0,4}".prop_map(String::into_bytes),
        any_json().prop_map(|v| serde_json::to_vec(&v).expect("serializable")),
    ];
    let target = prop_oneof![
        prop::sample::select(OPERATIONS).prop_map(|o| format!("AWSStepFunctions.{o}")),
        "\\PC{0,24}",
        prop::collection::vec(any::<u8>(), 0..24).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    fuzz("server-decode", (body, target), 400, |(body, target)| {
        match body_json(body) {
            Ok(v) => {
                let whitespace = body.iter().all(u8::is_ascii_whitespace);
                let parsed = serde_json::from_slice::<Value>(body).ok();
                assert!(whitespace || parsed.as_ref() == Some(&v), "{v} is not the body");
                assert!(v.is_object());
            }
            Err(e) => {
                assert_eq!((e.status, e.code.as_str()), (400, "SerializationException"));
                assert!(!serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_object()));
            }
        }
        let mut headers = HeaderMap::new();
        if let Ok(h) = HeaderValue::from_str(target) {
            headers.insert("x-amz-target", h);
        }
        match operation(&headers) {
            Ok(op) => assert_eq!(Some(op.as_str()), target.strip_prefix("AWSStepFunctions.")),
            Err(e) => assert_eq!((e.status, e.code.as_str()), (400, "UnknownOperationException")),
        }
    });
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1e300)),
        Just(json!(-0.5)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,10}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

/// Request members with values that often mean something to the server.
fn member() -> impl Strategy<Value = (String, Value)> {
    let definitions = prop::sample::select(vec![
        pass_machine().to_string(),
        wait_machine(1).to_string(),
        job_machine().to_string(),
        callback_machine(5).to_string(),
        r#"{"StartAt": "X", "States": {}}"#.to_owned(),
        "{% not json".to_owned(),
        json!({"StartAt": "J", "States": {"J": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.a.b %}", "End": true}}}).to_string(),
    ]);
    let arns = prop::sample::select(vec![
        machine_arn("fz-pass"),
        machine_arn("fz-job"),
        machine_arn("fz-callback"),
        machine_arn("fz-pass:1"),
        machine_arn("fz-pass:live"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:activity:fz"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:fz-pass:e1"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:fz-job:e1"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:fz-callback:e1"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:express:fz-pass:e1:x"),
        format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:"),
        "arn:aws:states:eu-west-1:1:stateMachine:x".to_owned(),
        "arn:".to_owned(),
        String::new(),
    ]);
    let text = prop_oneof![
        "[a-zA-Z0-9_-]{0,12}",
        "\\PC{0,16}",
        Just("{\"a\": {\"b\": 1}}".to_owned()),
        Just("AQAAAA".to_owned()),
        Just("STANDARD".to_owned()),
        Just("EXPRESS".to_owned()),
    ];
    let value = prop_oneof![
        3 => text.prop_map(Value::String),
        2 => arns.prop_map(Value::String),
        2 => definitions.prop_map(Value::String),
        1 => (-5i64..2000).prop_map(|n| json!(n)),
        1 => any_json(),
        1 => prop::collection::vec(("[a-z]{1,3}", "[a-z]{0,3}"), 0..3)
            .prop_map(|kv| json!(kv.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>())),
    ];
    let key = prop::sample::select(vec![
        "name",
        "definition",
        "roleArn",
        "type",
        "stateMachineArn",
        "executionArn",
        "resourceArn",
        "input",
        "output",
        "error",
        "cause",
        "taskToken",
        "maxResults",
        "nextToken",
        "statusFilter",
        "reverseOrder",
        "includeExecutionData",
        "tags",
        "tagKeys",
        "publish",
        "versionDescription",
        "loggingConfiguration",
        "tracingConfiguration",
        "inspectionLevel",
        "revealSecrets",
        "stateName",
        "variables",
        "mapRunArn",
        "stateMachineVersionArn",
        "stateMachineAliasArn",
        "routingConfiguration",
        "revisionId",
        "description",
        "activityArn",
    ]);
    (key.prop_map(str::to_owned), value)
}

fn request_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => prop::collection::vec(member(), 0..6)
            .prop_map(|m| serde_json::to_vec(&Value::Object(m.into_iter().collect::<Map<_, _>>())).expect("json")),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).expect("json")),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

#[test]
fn requests_through_the_router() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let server = rt.block_on(async {
        let sim = Arc::new(
            SimBackend::new(SimScript { run_seconds: Some(0.05), ..SimScript::default() })
                .script("worker", SimScript { never_stops: true, ..SimScript::default() }),
        );
        let builder = sfn_engine::Engine::builder().integration(Arc::new(EcsIntegration::new(sim)));
        Server::open(builder, ServerOptions::default()).expect("server")
    });
    let router = server.router();
    let call = |op: &str, body: &[u8]| -> (u16, Value) {
        let mut req = Request::post("/").header("content-type", "application/x-amz-json-1.0");
        if !op.is_empty() {
            req = req.header("x-amz-target", op);
        }
        let req = req.body(Body::from(body.to_vec())).expect("request");
        rt.block_on(async {
            let resp = router.clone().oneshot(req).await.expect("infallible");
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
            assert_eq!(
                headers.get("content-type").and_then(|v| v.to_str().ok()),
                Some("application/x-amz-json-1.0")
            );
            assert!(headers.contains_key("x-amzn-requestid"), "no request id");
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!("{op}: the response is not JSON ({e}): {}", String::from_utf8_lossy(&bytes))
            });
            (status, v)
        })
    };
    // A few machines and executions for the requests to find.
    for (name, def) in
        [("fz-pass", pass_machine()), ("fz-job", job_machine()), ("fz-callback", callback_machine(5))]
    {
        let body = json!({"name": name, "definition": def.to_string(), "roleArn": ROLE});
        assert_eq!(call("AWSStepFunctions.CreateStateMachine", body.to_string().as_bytes()).0, 200);
        let body = json!({"stateMachineArn": machine_arn(name), "name": "e1"});
        assert_eq!(call("AWSStepFunctions.StartExecution", body.to_string().as_bytes()).0, 200);
    }
    let target = prop_oneof![
        9 => prop::sample::select(OPERATIONS).prop_map(|o| format!("AWSStepFunctions.{o}")),
        1 => "[ -~]{0,20}",
    ];
    let succeeded = std::sync::atomic::AtomicUsize::new(0);
    fuzz("server-requests", (target, request_body()), 500, |(op, body)| {
        let (status, v) = call(op, body);
        if status == 200 {
            succeeded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        assert!(matches!(status, 200 | 400 | 413), "{op}: HTTP {status}: {v}");
        if status != 200 {
            assert!(v["__type"].as_str().is_some_and(|t| t.contains('#')), "{op}: no __type in {v}");
            assert!(v["message"].is_string() || v["Message"].is_string(), "{op}: no message in {v}");
        }
    });
    // The generator reaches past request validation.
    assert!(succeeded.into_inner() > 10, "too few requests succeeded");
    drop(router);
    drop(server);
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
}
