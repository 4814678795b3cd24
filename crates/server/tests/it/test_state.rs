//! TestState (issue 17, "TestState complete"): every request field, AWS's validation, `status`,
//! `nextState` and `inspectionData`, and a fresh execution per call. Raw awsJson1_0 for the fields the
//! Rust SDK in the lock (aws-sdk-sfn 1.78) does not have yet (`mock`, `context`, `stateConfiguration`,
//! `stateName`); the SDK where it has them.

use std::sync::atomic::Ordering;

use aws_sdk_sfn::types::{InspectionLevel, TestExecutionStatus};
use serde_json::{Value, json};

use crate::{ROLE, TestServer};

const NS: &str = "com.amazonaws.swf.service.v2.model";

fn run_task(pattern: &str, command: &[&str]) -> Value {
    json!({"Type": "Task", "Resource": format!("arn:aws:states:::ecs:runTask{pattern}"),
        "Parameters": {"TaskDefinition": "job", "Overrides": {"ContainerOverrides": [{"Name": "app", "Command": command}]}},
        "Next": "After"})
}

fn parsed(v: &Value) -> Value {
    serde_json::from_str(v.as_str().unwrap_or("null")).unwrap()
}

/// issue 17, "Done when": three TestState calls on a request-response runTask with different commands
/// start three tasks (each call is its own execution, so RunTask's idempotency token differs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_calls_on_a_run_task_state_start_three_tasks() {
    let s = TestServer::start().await;
    let c = crate::sdk::client(&s.url());
    let mut arns = Vec::new();
    for cmd in ["one", "two", "three"] {
        let r = c
            .test_state()
            .definition(run_task("", &["echo", cmd]).to_string())
            .role_arn(ROLE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), Some(&TestExecutionStatus::Succeeded), "{r:?}");
        assert_eq!(r.next_state(), Some("After"));
        let out = parsed(&json!(r.output().unwrap()));
        let task = &out["Tasks"][0];
        assert_eq!(task["Overrides"]["ContainerOverrides"][0]["Command"], json!(["echo", cmd]), "{out}");
        arns.push(task["TaskArn"].as_str().unwrap().to_owned());
    }
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 3, "{arns:?}");
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), 3);
    s.stop().await;
}

/// The same on the local backend: three calls with different commands start three host processes (each
/// writes its own file) under three task ARNs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_calls_start_three_local_containers() {
    use sfn_ecs::{ContainerDefinition, EcsIntegration, LocalBackend, TaskDefinition, TaskDefinitions};
    let mut tds = TaskDefinitions::new();
    tds.register(TaskDefinition {
        family: "job".into(),
        container_definitions: vec![ContainerDefinition { name: "app".into(), ..Default::default() }],
        ..Default::default()
    });
    let ecs = EcsIntegration::new(std::sync::Arc::new(LocalBackend::new(tds)));
    let builder = sfn_engine::Engine::builder().integration(std::sync::Arc::new(ecs));
    let server = sfn_server::Server::open(builder, sfn_server::ServerOptions::default()).unwrap();
    let listener = sfn_server::bind("127.0.0.1:0".parse().unwrap(), false).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = rx.await;
    }));
    let dir = std::env::temp_dir().join(format!("sfn-test-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut arns = Vec::new();
    for n in 1..=3 {
        let file = dir.join(format!("ran-{n}"));
        let _ = std::fs::remove_file(&file);
        let state = run_task("", &["touch", file.to_str().unwrap()]);
        let (status, v) = crate::call(addr, "TestState", json!({"definition": state.to_string()})).await;
        assert_eq!((status, v["status"].as_str()), (200, Some("SUCCEEDED")), "{v}");
        arns.push(parsed(&v["output"])["Tasks"][0]["TaskArn"].as_str().unwrap().to_owned());
    }
    for n in 1..=3 {
        let file = dir.join(format!("ran-{n}"));
        for _ in 0..200 {
            if file.exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(file.exists(), "call {n}'s container did not run");
    }
    arns.dedup();
    assert_eq!(arns.len(), 3, "{arns:?}");
    let _ = tx.send(());
    serving.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// AWS's TestState runs `.sync`, `.waitForTaskToken`, Activity, Map and Parallel states only with a mock
/// (API reference: "TestState only supports the following when a mock is specified"); Map and Parallel
/// are `InvalidDefinition` with the message recorded against AWS (LocalStack's
/// `test_state_mock_validation.snapshot.json`, `test_state_type_requires_mock`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmocked_sync_callback_activity_map_and_parallel_are_refused() {
    let s = TestServer::start().await;
    let c = crate::sdk::client(&s.url());
    let e = c.test_state().definition(run_task(".sync", &["true"]).to_string()).send().await.unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_validation_exception(), "{e:?}");
    assert!(e.to_string().contains("only supports the following when a mock is specified"), "{e}");
    let activity =
        json!({"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true});
    for state in [run_task(".waitForTaskToken", &["true"]), activity] {
        let (status, v) = s.call("TestState", json!({"definition": state.to_string()})).await;
        assert_eq!(
            (status, v["__type"].as_str()),
            (400, Some("com.amazon.coral.validate#ValidationException")),
            "{v}"
        );
    }
    let map = json!({"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true});
    let parallel = json!({"Type": "Parallel", "Branches": [{"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}], "End": true});
    for state in [map, parallel] {
        let (status, v) = s.call("TestState", json!({"definition": state.to_string()})).await;
        assert_eq!(status, 400);
        assert_eq!(v["__type"], format!("{NS}#InvalidDefinition"));
        assert_eq!(
            v["message"],
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
        );
    }
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), 0, "nothing ran");

    // Mocked, the .sync state runs its pipeline on the mock and calls nothing.
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {"TaskDefinition": "job", "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.cmd"}]}},
        "ResultSelector": {"code.$": "$.Containers[0].ExitCode"}, "ResultPath": "$.job", "End": true});
    let mock = json!({"LastStatus": "STOPPED", "Containers": [{"Name": "app", "ExitCode": 0}]});
    let r = s
        .ok(
            "TestState",
            json!({"definition": state.to_string(), "input": "{\"cmd\": [\"true\"]}",
            "inspectionLevel": "DEBUG", "mock": {"result": mock.to_string()}}),
        )
        .await;
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    assert_eq!(parsed(&r["output"]), json!({"cmd": ["true"], "job": {"code": 0}}));
    let i = &r["inspectionData"];
    assert_eq!(
        parsed(&i["afterParameters"])["Overrides"]["ContainerOverrides"][0]["Command"],
        json!(["true"])
    );
    assert_eq!(parsed(&i["result"]), mock);
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), 0, "a mocked state calls nothing");
    s.stop().await;
}

/// `mock.errorOutput` fails the state with that error; a Retry makes it RETRIABLE (with `errorDetails`)
/// until `stateConfiguration.retrierRetryCount` spends the retrier, then the Catch makes it CAUGHT_ERROR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_error_output_fails_retries_and_is_caught() {
    let s = TestServer::start().await;
    let plain = run_task(".sync", &["false"]);
    let error = json!({"errorOutput": {"error": "States.TaskFailed", "cause": "exit 1"}});
    let r = s.ok("TestState", json!({"definition": plain.to_string(), "mock": error})).await;
    assert_eq!(r, json!({"status": "FAILED", "error": "States.TaskFailed", "cause": "exit 1"}));

    let mut state = plain.clone();
    state["Retry"] = json!([{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 2, "IntervalSeconds": 2}]);
    state["Catch"] = json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}]);
    let body = |retried: u32| {
        json!({"definition": state.to_string(), "input": "{\"id\": 1}", "inspectionLevel": "DEBUG", "mock": error,
            "stateConfiguration": {"retrierRetryCount": retried}})
    };
    let r = s.ok("TestState", body(1)).await;
    assert_eq!(
        (r["status"].as_str(), r["error"].as_str()),
        (Some("RETRIABLE"), Some("States.TaskFailed")),
        "{r}"
    );
    assert_eq!(
        r["inspectionData"]["errorDetails"],
        json!({"retryIndex": 0, "retryBackoffIntervalSeconds": 4})
    );
    let r = s.ok("TestState", body(2)).await;
    assert_eq!(r["status"], "CAUGHT_ERROR", "{r}");
    assert_eq!(r["nextState"], "Handle");
    assert_eq!(
        parsed(&r["output"]),
        json!({"id": 1, "error": {"Error": "States.TaskFailed", "Cause": "exit 1"}})
    );
    assert_eq!(r["inspectionData"]["errorDetails"], json!({"catchIndex": 0}));
    assert_eq!(s.sim.counters.run_task.load(Ordering::Relaxed), 0);
    s.stop().await;
}

/// `context` is the `$$` the state sees; a JSONata Pass's `Output` is evaluated (issue 17: it returned
/// `{}`); `stateName` picks a state of a whole machine; `variables` are visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_jsonata_state_name_and_variables() {
    let s = TestServer::start().await;
    let pass = json!({"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "retry.$": "$$.State.RetryCount"}, "End": true});
    let r = s
        .ok("TestState", json!({"definition": pass.to_string(),
            "context": "{\"Execution\": {\"Id\": \"arn:aws:states:us-east-1:123456789012:execution:m:given\"}, \"State\": {\"RetryCount\": 3}}"}))
        .await;
    assert_eq!(
        parsed(&r["output"]),
        json!({"id": "arn:aws:states:us-east-1:123456789012:execution:m:given", "retry": 3})
    );

    let jsonata = json!({"Type": "Pass", "QueryLanguage": "JSONata", "Output": {"a": "{% 1+1 %}", "b": "{% $k & $states.input.s %}"}, "End": true});
    let r = s
        .ok("TestState", json!({"definition": jsonata.to_string(), "input": "{\"s\": \"!\"}", "variables": "{\"k\": \"hi\"}"}))
        .await;
    assert_eq!(
        (r["status"].as_str(), parsed(&r["output"])),
        (Some("SUCCEEDED"), json!({"a": 2, "b": "hi!"}))
    );

    let machine = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Result": {"from": "B"}, "ResultPath": "$.r", "Next": "C"}, "C": {"Type": "Succeed"}}});
    let r =
        s.ok("TestState", json!({"definition": machine.to_string(), "stateName": "B", "input": "{}"})).await;
    assert_eq!((parsed(&r["output"]), r["nextState"].as_str()), (json!({"r": {"from": "B"}}), Some("C")));
    let (status, v) =
        s.call("TestState", json!({"definition": machine.to_string(), "stateName": "Nope"})).await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("com.amazon.coral.validate#ValidationException")),
        "{v}"
    );

    // The SDK reads the same answer (DEBUG inspection data).
    let c = crate::sdk::client(&s.url());
    let r = c
        .test_state()
        .definition(jsonata.to_string())
        .input("{\"s\": \"?\"}")
        .variables("{\"k\": \"yo\"}")
        .inspection_level(InspectionLevel::Debug)
        .send()
        .await
        .unwrap();
    assert_eq!(parsed(&json!(r.output().unwrap())), json!({"a": 2, "b": "yo?"}));
    assert_eq!(r.inspection_data().and_then(|i| i.input()), Some("{\"s\":\"?\"}"));
    s.stop().await;
}

/// What the API refuses, with AWS's messages where they are on record (LocalStack's AWS-validated
/// `test_state_mock_validation.snapshot.json`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_validation_exceptions() {
    let s = TestServer::start().await;
    let task = run_task(".sync", &["true"]).to_string();
    let pass = json!({"Type": "Pass", "End": true}).to_string();
    let parallel = json!({"Type": "Parallel", "Branches": [{"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}], "End": true}).to_string();
    // A mocked Distributed Map: an exporting ResultWriter makes its output an object, a WriterConfig
    // alone (AWS: "ResultWriter (Map)", "Only WriterConfig") leaves it an array.
    let dmap = |writer: Value| {
        json!({"Type": "Map", "End": true, "ResultWriter": writer,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}})
        .to_string()
    };
    let exporting = dmap(json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}}));
    let shaping = dmap(json!({"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}}));
    let cases = [
        (
            json!({"definition": exporting, "mock": {"result": "[]"}}),
            Some("Mocked result must be a JSON object."),
        ),
        (json!({"definition": shaping, "mock": {"result": "{}"}}), Some("Mocked result must be an array.")),
        (json!({"definition": pass, "bogus": 1}), None),
        (json!({"definition": task, "mock": {"result": "{}", "extra": 1}}), None),
        (
            json!({"definition": task, "mock": {"result": "{}", "errorOutput": {"error": "E"}}}),
            Some("A test mock should have only one of the following fields: [result, errorOutput]."),
        ),
        (
            json!({"definition": pass, "mock": {"result": "{}"}}),
            Some("State type 'Pass' is not supported when a mock is specified"),
        ),
        (
            json!({"definition": task, "revealSecrets": true, "mock": {"result": "{}"}}),
            Some("TestState does not support RevealSecrets when a mock is specified."),
        ),
        (json!({"definition": parallel, "mock": {"result": "{}"}}), Some("Mocked result must be an array.")),
        (
            json!({"definition": parallel, "mock": {"result": "[1, 2]"}}),
            Some("Mocked result must contain the same number of items as number of Parallel branches."),
        ),
        (json!({"definition": task, "mock": {"result": "{}", "fieldValidationMode": "LOOSE"}}), None),
        // The ECS integration checks a mocked result against RunTask's response model (AWS's wording,
        // LocalStack's AWS-validated test_field_validation_mode.snapshot.json).
        (
            json!({"definition": task, "mock": {"result": "{\"Tasks\": {}}"}}),
            Some("Mock result schema validation error: Field 'Tasks' must be an array"),
        ),
        (
            json!({"definition": task, "mock": {"result": "{\"Failures\": [{\"Reason\": 1}]}", "fieldValidationMode": "PRESENT"}}),
            Some("Mock result schema validation error: Field 'Reason' must be a string"),
        ),
        (
            json!({"definition": task, "mock": {"result": "{}"}, "stateConfiguration": {"mapIterationFailureCount": 1}}),
            None,
        ),
        (
            json!({"definition": task, "mock": {"result": "{}"}, "stateConfiguration": {"retrierRetryCount": 1}}),
            None,
        ),
        (json!({"definition": pass, "context": "[1]"}), None),
    ];
    // NONE checks nothing.
    let r = s
        .ok(
            "TestState",
            json!({"definition": task, "mock": {"result": "{\"Tasks\": {}}", "fieldValidationMode": "NONE"}}),
        )
        .await;
    assert_eq!(r["status"], "SUCCEEDED", "{r}");
    for (body, message) in cases {
        let (status, v) = s.call("TestState", body.clone()).await;
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["__type"], "com.amazon.coral.validate#ValidationException", "{body}: {v}");
        if let Some(m) = message {
            assert_eq!(v["message"], m, "{body}");
        }
    }
    s.stop().await;
}
