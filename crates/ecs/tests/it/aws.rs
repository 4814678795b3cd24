//! The aws backend against recorded and scripted HTTP (no AWS account): the exact RunTask request for a
//! full parameter set, a `.sync` run through `EcsIntegration`, the Failures rule, and the fault matrix of
//! README's "Fault injection" table — each fault gives a defined error name and cause Retry/Catch match —
//! and, when moto is at hand, end to end against `moto_server`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::future;
use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::config::timeout::TimeoutConfig;
use aws_sdk_ecs::config::{
    BehaviorVersion, Credentials, HttpClient, ProvideCredentials, Region, SharedHttpClient,
};
use aws_smithy_http_client::test_util::{NeverClient, ReplayEvent, StaticReplayClient, infallible_client_fn};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};
use sfn_ecs::params::RunTaskParams;
use sfn_ecs::{AwsBackend, EcsBackend, EcsIntegration, PollIntervals, RunTaskRequest};
use sfn_engine::{Engine, ExecutionStatus};

use crate::support::{cause_json, machine, run};

const SYNC: &str = "arn:aws:states:::ecs:runTask.sync";
const REQUEST_RESPONSE: &str = "arn:aws:states:::ecs:runTask";
const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/jobs";
const TASK_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task/jobs/0123456789abcdef0123456789abcdef";
const ENDPOINT: &str = "https://ecs.us-east-1.amazonaws.com/";

/// The SDK retry policy of the backend, with millisecond back-off so the tests run fast.
fn fast_retries() -> RetryConfig {
    AwsBackend::retry_config()
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5))
}

fn conf(http: impl HttpClient + 'static) -> aws_sdk_ecs::config::Builder {
    aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDSFNTEST", "secret", None, None, "test"))
        .http_client(http)
        .retry_config(fast_retries())
        .timeout_config(AwsBackend::timeout_config())
}

fn backend(http: impl HttpClient + 'static) -> Arc<AwsBackend> {
    Arc::new(AwsBackend::from_conf(conf(http).build()))
}

fn engine(backend: Arc<AwsBackend>) -> Engine {
    let intervals = PollIntervals { initial: Duration::from_millis(20), cap: Duration::from_millis(100) };
    Engine::builder().integration(Arc::new(EcsIntegration::with_intervals(backend, intervals))).build()
}

fn request(params: Value) -> RunTaskRequest {
    let params = RunTaskParams::parse(&params).unwrap();
    RunTaskRequest {
        client_token: params.client_token.clone().or_else(|| Some("tok-1".to_owned())),
        params,
        region: "us-east-1".into(),
        account: "123456789012".into(),
        ..RunTaskRequest::default()
    }
}

/// An ECS JSON response.
fn response(status: u16, body: &Value) -> http::Response<SdkBody> {
    let text = if body.is_null() { String::new() } else { body.to_string() };
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", format!("req-{status}"))
        .body(SdkBody::from(text))
        .unwrap()
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"__type": code, "message": message})
}

/// A replayed exchange (the expected request is only for the record: tests check the actual one).
fn event(status: u16, body: Value) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder().uri(ENDPOINT).body(SdkBody::empty()).unwrap(),
        response(status, &body),
    )
}

/// The operation (`RunTask`, …) and JSON body of a request the SDK sent, from its `X-Amz-Target` and body.
fn sent(target: Option<&str>, body: Option<&[u8]>) -> (String, Value) {
    let op = target.unwrap_or_default().rsplit('.').next().unwrap_or_default().to_owned();
    (op, serde_json::from_slice(body.unwrap_or_default()).unwrap_or(Value::Null))
}

/// Every request a replay client was sent.
fn replayed(replay: &StaticReplayClient) -> Vec<(String, Value)> {
    replay.actual_requests().map(|r| sent(r.headers().get("x-amz-target"), r.body().bytes())).collect()
}

/// A task in ECS's wire form (camelCase, epoch-second timestamps).
fn wire_task(arn: &str, last_status: &str, exit_code: Option<i32>) -> Value {
    let stopped = last_status == "STOPPED";
    let mut container = json!({
        "containerArn": format!("{CLUSTER_ARN}/container/app"), "taskArn": arn, "name": "app",
        "image": "public.ecr.aws/docker/library/busybox:latest", "lastStatus": last_status, "cpu": "0",
        "networkInterfaces": [{"attachmentId": "att-1", "privateIpv4Address": "10.0.1.5"}],
        "networkBindings": [], "managedAgents": [], "gpuIds": []
    });
    if let Some(code) = exit_code {
        container["exitCode"] = json!(code);
        container["runtimeId"] = json!("runtime-1");
    }
    let mut task = json!({
        "taskArn": arn, "clusterArn": CLUSTER_ARN,
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/job:3",
        "lastStatus": last_status, "desiredStatus": if stopped { "STOPPED" } else { "RUNNING" },
        "launchType": "FARGATE", "platformVersion": "1.4.0", "platformFamily": "Linux",
        "cpu": "256", "memory": "512", "startedBy": "AWS Step Functions", "group": "family:job",
        "createdAt": 1_700_000_000.125, "version": if stopped { 5 } else { 1 },
        "enableExecuteCommand": false, "availabilityZone": "us-east-1b",
        "attachments": [{"id": "att-1", "type": "ElasticNetworkInterface", "status": "ATTACHED",
            "details": [{"name": "subnetId", "value": "subnet-1"}]}],
        "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
        "ephemeralStorage": {"sizeInGiB": 20},
        "overrides": {"containerOverrides": [{"name": "app"}], "inferenceAcceleratorOverrides": []},
        "containers": [container], "tags": []
    });
    if stopped {
        task["stopCode"] = json!("EssentialContainerExited");
        task["stoppedReason"] = json!("Essential container in task exited");
        task["stoppedAt"] = json!(1_700_000_060.5);
        task["stoppingAt"] = json!(1_700_000_059);
        task["executionStoppedAt"] = json!(1_700_000_058);
        task["startedAt"] = json!(1_700_000_010);
    }
    task
}

/// A scripted ECS: answers each call with `handler(operation, body, n)` (n = calls of that operation so
/// far), and records every call.
type Calls = Arc<Mutex<Vec<(String, Value)>>>;

fn scripted(
    handler: impl Fn(&str, &Value, usize) -> (u16, Value) + Send + Sync + 'static,
) -> (SharedHttpClient, Calls) {
    let calls: Calls = Arc::default();
    let log = calls.clone();
    let client = infallible_client_fn(move |req: http::Request<SdkBody>| {
        let (op, body) =
            sent(req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()), req.body().bytes());
        let n = {
            let mut log = log.lock().unwrap();
            let n = log.iter().filter(|(o, _)| *o == op).count();
            log.push((op.clone(), body.clone()));
            n
        };
        let (status, body) = handler(&op, &body, n);
        response(status, &body)
    });
    (client, calls)
}

fn count(calls: &Calls, op: &str) -> usize {
    calls.lock().unwrap().iter().filter(|(o, _)| o == op).count()
}

// ---- requests and responses ---------------------------------------------------------------------------

#[tokio::test]
async fn run_task_sends_every_parameter_in_ecs_wire_form() {
    let replay = StaticReplayClient::new(vec![
        event(200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
        event(200, json!({"tasks": [], "failures": []})),
    ]);
    let b = backend(replay.clone());
    let full = json!({
        "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 2, "Base": 1}],
        "ClientToken": "sfn-0123456789abcdef-3-1",
        "Cluster": "jobs",
        "Count": 2,
        "EnableECSManagedTags": true,
        "EnableExecuteCommand": false,
        "Group": "batch",
        "NetworkConfiguration": {"AwsvpcConfiguration": {
            "Subnets": ["subnet-1", "subnet-2"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}},
        "Overrides": {
            "ContainerOverrides": [{"Name": "app", "Command": ["run", "--fast", "; rm -rf /"],
                "Environment": [{"Name": "A", "Value": "1"}],
                "EnvironmentFiles": [{"Value": "arn:aws:s3:::bucket/app.env", "Type": "s3"}],
                "Cpu": 128, "Memory": 256, "MemoryReservation": 128,
                "ResourceRequirements": [{"Value": "1", "Type": "GPU"}]}],
            "Cpu": "512", "Memory": "1024", "EphemeralStorage": {"SizeInGiB": 30},
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "TaskRoleArn": "arn:aws:iam::123456789012:role/task",
            "InferenceAcceleratorOverrides": [{"DeviceName": "d1", "DeviceType": "eia2.medium"}]},
        "PlacementConstraints": [{"Type": "memberOf", "Expression": "attribute:ecs.instance-type =~ t3.*"}],
        "PlacementStrategy": [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}],
        "PlatformVersion": "1.4.0",
        "PropagateTags": "TASK_DEFINITION",
        "ReferenceId": "ref-1",
        "StartedBy": "AWS Step Functions",
        "Tags": [{"Key": "team", "Value": "data"}],
        "TaskDefinition": "job:3",
        "VolumeConfigurations": [{"Name": "scratch", "ManagedEBSVolume": {
            "Encrypted": true, "KmsKeyId": "alias/ebs", "VolumeType": "gp3", "SizeInGiB": 50,
            "SnapshotId": "snap-1", "VolumeInitializationRate": 100, "Iops": 3000, "Throughput": 125,
            "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}], "PropagateTags": "NONE"}],
            "RoleArn": "arn:aws:iam::123456789012:role/ebs",
            "TerminationPolicy": {"DeleteOnTermination": true}, "FilesystemType": "xfs"}}]
    });
    let out = b.run_task(&request(full)).await.unwrap();
    b.run_task(&request(json!({"TaskDefinition": "job", "LaunchType": "FARGATE"}))).await.unwrap();

    let requests = replayed(&replay);
    assert_eq!(requests[0].0, "RunTask");
    assert_eq!(
        requests[0].1,
        json!({
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 2, "base": 1}],
            "clientToken": "sfn-0123456789abcdef-3-1",
            "cluster": "jobs",
            "count": 2,
            "enableECSManagedTags": true,
            "enableExecuteCommand": false,
            "group": "batch",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
            "overrides": {
                "containerOverrides": [{"name": "app", "command": ["run", "--fast", "; rm -rf /"],
                    "environment": [{"name": "A", "value": "1"}],
                    "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
                    "cpu": 128, "memory": 256, "memoryReservation": 128,
                    "resourceRequirements": [{"value": "1", "type": "GPU"}]}],
                "cpu": "512", "memory": "1024", "ephemeralStorage": {"sizeInGiB": 30},
                "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
                "taskRoleArn": "arn:aws:iam::123456789012:role/task",
                "inferenceAcceleratorOverrides": [{"deviceName": "d1", "deviceType": "eia2.medium"}]},
            "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "platformVersion": "1.4.0",
            "propagateTags": "TASK_DEFINITION",
            "referenceId": "ref-1",
            "startedBy": "AWS Step Functions",
            "tags": [{"key": "team", "value": "data"}],
            "taskDefinition": "job:3",
            "volumeConfigurations": [{"name": "scratch", "managedEBSVolume": {
                "encrypted": true, "kmsKeyId": "alias/ebs", "volumeType": "gp3", "sizeInGiB": 50,
                "snapshotId": "snap-1", "volumeInitializationRate": 100, "iops": 3000, "throughput": 125,
                "tagSpecifications": [{"resourceType": "volume", "tags": [{"key": "a", "value": "b"}], "propagateTags": "NONE"}],
                "roleArn": "arn:aws:iam::123456789012:role/ebs",
                "terminationPolicy": {"deleteOnTermination": true}, "filesystemType": "xfs"}}]
        })
    );
    // Without a ClientToken parameter, the integration's idempotency key is sent.
    assert_eq!(
        requests[1].1,
        json!({"clientToken": "tok-1", "launchType": "FARGATE", "taskDefinition": "job"})
    );

    // The response, mapped back into Step Functions' PascalCase shape.
    assert_eq!(out.request_id.as_deref(), Some("req-200"));
    let t = out.tasks[0].to_json();
    assert_eq!(t["TaskArn"], TASK_ARN);
    assert_eq!(t["LastStatus"], "PROVISIONING");
    assert_eq!(t["CreatedAt"], 1_700_000_000_125_i64, "epoch milliseconds");
    assert_eq!(t["AvailabilityZone"], "us-east-1b");
    assert_eq!(t["PlatformFamily"], "Linux");
    assert_eq!(t["EphemeralStorage"], json!({"SizeInGiB": 20}));
    assert_eq!(
        t["Attachments"],
        json!([{"Details": [{"Name": "subnetId", "Value": "subnet-1"}], "Id": "att-1", "Status": "ATTACHED",
            "Type": "ElasticNetworkInterface"}])
    );
    assert_eq!(
        t["Overrides"],
        json!({"ContainerOverrides": [{"Command": [], "Environment": [], "EnvironmentFiles": [], "Name": "app",
            "ResourceRequirements": []}], "InferenceAcceleratorOverrides": []})
    );
    assert_eq!(
        t["Containers"][0]["NetworkInterfaces"],
        json!([{"AttachmentId": "att-1", "PrivateIpv4Address": "10.0.1.5"}])
    );
    assert!(t["Containers"][0].get("ExitCode").is_none());
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "keys in alphabetical order, as Step Functions renders them");
}

#[tokio::test]
async fn sync_run_polls_describe_tasks_by_arn_until_stopped() {
    let (http, calls) = scripted(|op, _, n| match (op, n) {
        ("RunTask", _) => {
            (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []}))
        }
        ("DescribeTasks", 0) => {
            (200, json!({"tasks": [wire_task(TASK_ARN, "RUNNING", None)], "failures": []}))
        }
        ("DescribeTasks", _) => {
            (200, json!({"tasks": [wire_task(TASK_ARN, "STOPPED", Some(0))], "failures": []}))
        }
        _ => (400, error_body("ClientException", "unexpected")),
    });
    let engine = engine(backend(http));
    let (o, h) = run(
        &engine,
        machine(
            SYNC,
            json!({"Cluster": "jobs", "TaskDefinition": "job:3", "LaunchType": "FARGATE"}),
            json!({}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let t = o.output.unwrap();
    assert_eq!(t["LastStatus"], "STOPPED");
    assert_eq!(t["StopCode"], "EssentialContainerExited");
    assert_eq!(t["StoppedAt"], 1_700_000_060_500_i64);
    assert_eq!(t["Containers"][0]["ExitCode"], 0);
    assert_eq!(t["Containers"][0]["RuntimeId"], "runtime-1");
    assert_eq!(t["Version"], 5);

    let calls = calls.lock().unwrap().clone();
    let ops: Vec<&str> = calls.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(ops, ["RunTask", "DescribeTasks", "DescribeTasks"]);
    let run_task = &calls[0].1;
    assert_eq!(run_task["startedBy"], "AWS Step Functions");
    let token = run_task["clientToken"].as_str().unwrap();
    assert!(token.starts_with("sfn-") && token.len() <= 64, "{token}");
    assert_eq!(calls[1].1, json!({"cluster": CLUSTER_ARN, "tasks": [TASK_ARN]}));
    // The RunTask response went into TaskSubmitted with ECS's own request id.
    let submitted = h.events().iter().find(|e| e.event_type() == "TaskSubmitted").map(|e| format!("{e:?}"));
    assert!(submitted.is_some_and(|s| s.contains("req-200")));
}

#[tokio::test]
async fn describe_tasks_sends_at_most_100_arns_per_call() {
    let next = Arc::new(AtomicUsize::new(0));
    let max_arns = Arc::new(AtomicUsize::new(0));
    let (n2, m2) = (next.clone(), max_arns.clone());
    let (http, calls) = scripted(move |op, body, _| match op {
        "RunTask" => {
            let arn = format!("{TASK_ARN}{:06}", n2.fetch_add(1, Ordering::Relaxed));
            (200, json!({"tasks": [wire_task(&arn, "PROVISIONING", None)], "failures": []}))
        }
        "DescribeTasks" => {
            let arns: Vec<&str> =
                body["tasks"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            m2.fetch_max(arns.len(), Ordering::Relaxed);
            let tasks: Vec<Value> = arns.iter().map(|a| wire_task(a, "STOPPED", Some(0))).collect();
            (200, json!({"tasks": tasks, "failures": []}))
        }
        _ => (400, error_body("ClientException", "unexpected")),
    });
    let engine = engine(backend(http));
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {"StartAt": "Run",
        "States": {"Run": {"Type": "Task", "Resource": SYNC, "Parameters": {"Cluster": "jobs", "TaskDefinition": "job"},
            "ResultSelector": {"arn.$": "$.TaskArn"}, "End": true}}}}}});
    let (o, _) = run(&engine, def, json!((0..250).collect::<Vec<_>>())).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(count(&calls, "RunTask"), 250);
    assert!(max_arns.load(Ordering::Relaxed) <= 100);
    assert!(count(&calls, "DescribeTasks") >= 3, "250 tasks need at least 3 DescribeTasks calls");
}

#[tokio::test]
async fn run_task_failures_follow_the_failures_rule() {
    let failures = json!({"tasks": [], "failures": [{"arn": CLUSTER_ARN, "reason": "RESOURCE:MEMORY"}]});
    let replay = StaticReplayClient::new(vec![event(200, failures.clone()), event(200, failures)]);
    let engine = engine(backend(replay));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("AmazonECS.Unknown"));
    assert!(o.cause.unwrap().contains("RESOURCE:MEMORY"));
    let (o, _) =
        run(&engine, machine(REQUEST_RESPONSE, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded);
    let out = o.output.unwrap();
    assert_eq!(out["Failures"], json!([{"Arn": CLUSTER_ARN, "Reason": "RESOURCE:MEMORY"}]));
    assert_eq!(out["SdkResponseMetadata"]["RequestId"], "req-200");
}

// ---- fault matrix --------------------------------------------------------------------------------------

#[tokio::test]
async fn throttling_exception_is_retried_with_the_same_client_token() {
    let replay = StaticReplayClient::new(vec![
        event(400, error_body("ThrottlingException", "Rate exceeded")),
        event(200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
    ]);
    let out = backend(replay.clone()).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap();
    assert_eq!(out.tasks.len(), 1);
    let tokens: Vec<Value> = replayed(&replay).into_iter().map(|(_, b)| b["clientToken"].clone()).collect();
    assert_eq!(tokens, [json!("tok-1"), json!("tok-1")], "a retried RunTask never starts a second task");
}

#[tokio::test]
async fn throttling_beyond_the_sdk_retries_surfaces_as_ecs_throttling_exception() {
    let (http, calls) = scripted(|_, _, _| (400, error_body("ThrottlingException", "Rate exceeded")));
    let e = backend(http).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.ThrottlingException");
    assert_eq!(count(&calls, "RunTask"), AwsBackend::MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn http_500_is_retried_then_surfaces_as_ecs_server_exception() {
    let (http, calls) = scripted(|_, _, _| (500, error_body("ServerException", "Service error")));
    let engine = engine(backend(http));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("ECS.ServerException"));
    let cause = o.cause.unwrap();
    assert!(
        cause.starts_with("Service error (Service: AmazonECS; Status Code: 500; Error Code: ServerException"),
        "{cause}"
    );
    assert_eq!(count(&calls, "RunTask"), AwsBackend::MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn http_503_is_retried_then_surfaces_as_ecs_amazon_ecs_exception() {
    let (http, calls) = scripted(|_, _, _| (503, Value::Null));
    let e = backend(http).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.AmazonECSException", "{e}");
    assert!(e.message.contains("Status Code: 503"), "{e}");
    assert_eq!(count(&calls, "RunTask"), AwsBackend::MAX_ATTEMPTS as usize);

    // A 503 that clears before the attempts run out is invisible to the state.
    let (http, calls) = scripted(|_, _, n| {
        if n < 2 {
            (503, Value::Null)
        } else {
            (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []}))
        }
    });
    backend(http).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap();
    assert_eq!(count(&calls, "RunTask"), 3);
}

#[tokio::test]
async fn service_errors_are_not_retried_and_catch_matches_their_name() {
    let (http, calls) = scripted(|_, _, _| {
        (
            400,
            error_body(
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/sfn/x is not authorized to perform: ecs:RunTask",
            ),
        )
    });
    let engine = engine(backend(http));
    let def = json!({"StartAt": "Run", "States": {
        "Run": {"Type": "Task", "Resource": SYNC, "Parameters": {"TaskDefinition": "job"},
            "Catch": [{"ErrorEquals": ["ECS.AccessDeniedException"], "ResultPath": "$.error", "Next": "Denied"}], "End": true},
        "Denied": {"Type": "Pass", "End": true}}});
    let (o, _) = run(&engine, def, json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let err = &o.output.unwrap()["error"];
    assert_eq!(err["Error"], "ECS.AccessDeniedException");
    assert_eq!(
        err["Cause"],
        "User: arn:aws:sts::123456789012:assumed-role/sfn/x is not authorized to perform: ecs:RunTask \
         (Service: AmazonECS; Status Code: 400; Error Code: AccessDeniedException; Request ID: req-400)"
    );
    assert_eq!(count(&calls, "RunTask"), 1, "client errors are not retried");

    let (http, _) = scripted(|_, _, _| (400, error_body("ClusterNotFoundException", "Cluster not found.")));
    let e = backend(http).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.ClusterNotFoundException");
}

#[tokio::test]
async fn unreadable_response_surfaces_as_ecs_sdk_client_exception() {
    // A number where ECS sends a string (what moto before 5.2.5 answers).
    let bad =
        json!({"tasks": [{"taskArn": TASK_ARN, "containers": [{"name": "app", "cpu": 64}]}], "failures": []});
    let (http, calls) = scripted(move |_, _, _| (200, bad.clone()));
    let e = backend(http).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.SdkClientException", "{e}");
    assert!(e.message.starts_with("Unable to unmarshall the response of Amazon ECS (RunTask)"), "{e}");
    assert_eq!(count(&calls, "RunTask"), 1, "not retried: the same answer would come back");
}

#[tokio::test]
async fn describe_tasks_missing_fails_sync_with_states_task_failed() {
    let (http, _) = scripted(|op, _, _| match op {
        "RunTask" => (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
        _ => (200, json!({"tasks": [], "failures": [{"arn": TASK_ARN, "reason": "MISSING"}]})),
    });
    let engine = engine(backend(http));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("States.TaskFailed"));
    assert_eq!(cause_json(&o), json!({"Arn": TASK_ARN, "Reason": "MISSING"}));
}

#[tokio::test]
async fn describe_tasks_throttled_beyond_the_sdk_retries_keeps_polling() {
    let (http, calls) = scripted(|op, _, n| match op {
        "RunTask" => (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
        _ if n < AwsBackend::MAX_ATTEMPTS as usize => {
            (400, error_body("ThrottlingException", "Rate exceeded"))
        }
        _ => (200, json!({"tasks": [wire_task(TASK_ARN, "STOPPED", Some(0))], "failures": []})),
    });
    let engine = engine(backend(http));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    assert_eq!(count(&calls, "DescribeTasks"), AwsBackend::MAX_ATTEMPTS as usize + 1);
}

#[tokio::test]
async fn describe_tasks_server_error_beyond_the_sdk_retries_fails_the_state_and_stops_the_task() {
    let (http, calls) = scripted(|op, _, _| match op {
        "RunTask" => (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
        "DescribeTasks" => (500, error_body("ServerException", "Service error")),
        _ => (200, json!({"task": wire_task(TASK_ARN, "STOPPED", Some(143))})),
    });
    let engine = engine(backend(http));
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("ECS.ServerException"));
    assert_eq!(count(&calls, "DescribeTasks"), AwsBackend::MAX_ATTEMPTS as usize);
    // The task it can no longer track is not left running.
    let stops: Vec<Value> =
        calls.lock().unwrap().iter().filter(|(op, _)| op == "StopTask").map(|(_, b)| b.clone()).collect();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0]["task"], TASK_ARN);
    assert_eq!(stops[0]["reason"], "Step Functions could not track the task (ECS.ServerException)");
}

#[tokio::test]
async fn stop_task_failing_on_timeout_still_ends_in_states_timeout() {
    let (http, calls) = scripted(|op, _, _| match op {
        "RunTask" => (200, json!({"tasks": [wire_task(TASK_ARN, "PROVISIONING", None)], "failures": []})),
        "DescribeTasks" => (200, json!({"tasks": [wire_task(TASK_ARN, "RUNNING", None)], "failures": []})),
        _ => (500, error_body("ServerException", "Service error")),
    });
    let b = backend(http);
    let engine = engine(b.clone());
    let (o, _) = run(
        &engine,
        machine(SYNC, json!({"Cluster": "jobs", "TaskDefinition": "job"}), json!({"TimeoutSeconds": 1})),
        json!({}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("States.Timeout"));
    // StopTask was asked (and retried) for the task the execution started.
    let stops: Vec<Value> =
        calls.lock().unwrap().iter().filter(|(op, _)| op == "StopTask").map(|(_, b)| b.clone()).collect();
    assert_eq!(stops.len(), AwsBackend::MAX_ATTEMPTS as usize);
    assert_eq!(stops[0]["task"], TASK_ARN);
    assert_eq!(stops[0]["cluster"], CLUSTER_ARN);
    assert!(stops[0]["reason"].as_str().is_some_and(|r| !r.is_empty() && r.len() <= 255));
    let e = b.stop_task(CLUSTER_ARN, TASK_ARN, "again").await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.ServerException");
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        // What the default chain gives when no provider has credentials.
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        )))
    }
}

#[tokio::test]
async fn missing_credentials_fail_with_ecs_sdk_client_exception() {
    let replay = StaticReplayClient::new(vec![]);
    let b = Arc::new(AwsBackend::from_conf(conf(replay.clone()).credentials_provider(NoCredentials).build()));
    let engine = engine(b);
    let (o, _) = run(&engine, machine(SYNC, json!({"TaskDefinition": "job"}), json!({})), json!({})).await;
    assert_eq!(o.error.as_deref(), Some("ECS.SdkClientException"));
    let cause = o.cause.unwrap();
    assert!(cause.starts_with("Unable to load AWS credentials for ECS RunTask"), "{cause}");
    assert!(cause.contains("no providers in chain provided credentials"), "{cause}");
    assert_eq!(replay.actual_requests().count(), 0, "nothing unsigned is sent");
}

#[tokio::test]
async fn request_timeout_is_retried_then_surfaces_as_ecs_client_execution_timeout_exception() {
    let never = NeverClient::new();
    let timeouts = TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(50)).build();
    let b = AwsBackend::from_conf(conf(never.clone()).timeout_config(timeouts).build());
    let e = b.run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.ClientExecutionTimeoutException", "{e}");
    assert_eq!(never.num_calls(), AwsBackend::MAX_ATTEMPTS as usize);
}

/// A real HTTP client pointed at loopback (plain HTTP).
fn loopback(port: u16) -> AwsBackend {
    AwsBackend::from_conf(
        conf(aws_smithy_http_client::Builder::new().build_http())
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .build(),
    )
}

#[tokio::test]
async fn connection_refused_is_retried_then_surfaces_as_ecs_sdk_client_exception() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = loopback(port).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    assert_eq!(e.error_name(), "ECS.SdkClientException", "{e}");
    assert!(e.message.starts_with("Unable to execute HTTP request to Amazon ECS (RunTask)"), "{e}");
}

#[tokio::test]
async fn connection_reset_is_retried_then_surfaces_as_ecs_sdk_client_exception() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let a2 = accepted.clone();
    let server = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            a2.fetch_add(1, Ordering::Relaxed);
            // Close at once, with a reset (linger 0), before any response.
            let _ = sock.set_zero_linger();
            drop(sock);
        }
    });
    let e = loopback(port).run_task(&request(json!({"TaskDefinition": "job"}))).await.unwrap_err();
    server.abort();
    assert_eq!(e.error_name(), "ECS.SdkClientException", "{e}");
    assert_eq!(accepted.load(Ordering::Relaxed), AwsBackend::MAX_ATTEMPTS as usize, "{e}");
}

// ---- end to end against moto_server ---------------------------------------------------------------

/// Python with moto (`SFN_TEST_PYTHON`, else the workspace's `.venv`, else `python3`), when it can import
/// `moto.server`. `cargo xtask ci` installs `moto[server]` and `.ci/run` sets `SFN_REQUIRE_MOTO=1`, so CI fails loudly
/// instead of skipping.
fn moto_python() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("SFN_TEST_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| {
        let venv = root.join(".venv/bin/python");
        if venv.exists() { venv } else { "python3".into() }
    });
    // moto before 5.2.5 sends container `cpu`/`memory` as numbers where ECS sends strings.
    let probe = "import moto, moto.server\n\
                 v = tuple(int(x) for x in moto.__version__.split('.')[:3] if x.isdigit())\n\
                 raise SystemExit(0 if v >= (5, 2, 5) else 3)";
    let ok =
        std::process::Command::new(&python).args(["-c", probe]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(python);
    }
    assert!(
        std::env::var("SFN_REQUIRE_MOTO").as_deref() != Ok("1"),
        "{} cannot import moto.server >= 5.2.5: `pip install 'moto[server]>=5.2.5'` (cargo xtask ci installs it in .venv)",
        python.display()
    );
    eprintln!("moto_server_end_to_end: SKIPPED ({} has no moto.server >= 5.2.5)", python.display());
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_server_end_to_end() {
    use aws_sdk_ecs::types::{ContainerDefinition, NetworkMode};
    let Some(python) = moto_python() else { return };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _moto = tokio::process::Command::new(python)
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let b = Arc::new(loopback(port));
    b.client().create_cluster().cluster_name("jobs").send().await.unwrap();
    // moto needs memory/cpu on every container, and bridge networking (see ../shared/peers/README.md).
    let app = ContainerDefinition::builder()
        .name("app")
        .image("busybox")
        .memory(128)
        .cpu(64)
        .essential(true)
        .build();
    b.client()
        .register_task_definition()
        .family("job")
        .network_mode(NetworkMode::Bridge)
        .container_definitions(app)
        .send()
        .await
        .unwrap();
    let engine = engine(b.clone());
    let params = json!({"Cluster": "jobs", "TaskDefinition": "job", "LaunchType": "FARGATE",
        "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.cmd"}]}});

    // .sync: RunTask, then DescribeTasks until moto reports STOPPED.
    let (o, _) = run(&engine, machine(SYNC, params.clone(), json!({})), json!({"cmd": ["echo", "hi"]})).await;
    assert_eq!(o.status, ExecutionStatus::Succeeded, "{o:?}");
    let t = o.output.unwrap();
    assert_eq!(t["LastStatus"], "STOPPED");
    assert_eq!(t["StartedBy"], "AWS Step Functions");
    assert_eq!(t["ClusterArn"], "arn:aws:ecs:us-east-1:123456789012:cluster/jobs");
    assert_eq!(t["Containers"][0]["Name"], "app");
    assert_eq!(t["Containers"][0]["ExitCode"], 0);

    // Request-response returns at once; StopTask stops the task.
    let (o, _) =
        run(&engine, machine(REQUEST_RESPONSE, params, json!({})), json!({"cmd": ["sleep", "60"]})).await;
    let out = o.output.unwrap();
    assert_eq!(out["Failures"], json!([]));
    let arn = out["Tasks"][0]["TaskArn"].as_str().unwrap().to_owned();
    assert_ne!(out["Tasks"][0]["LastStatus"], "STOPPED");
    b.stop_task("jobs", &arn, "done testing").await.unwrap();
    let d = b.describe_tasks("jobs", std::slice::from_ref(&arn)).await.unwrap();
    assert_eq!(d.tasks[0].last_status, "STOPPED");
    assert_eq!(d.tasks[0].stopped_reason.as_deref(), Some("done testing"));

    // An ECS error from the real API surface.
    let (o, _) = run(
        &engine,
        machine(
            SYNC,
            json!({"Cluster": "nope", "TaskDefinition": "job", "LaunchType": "FARGATE"}),
            json!({}),
        ),
        json!({}),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("ECS.ClusterNotFoundException"), "{o:?}");
}
