//! The Rust SDK (`aws-sdk-sfn`) against the server: it parses every response and typed error.

use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use serde_json::{Value, json};

use crate::{ROLE, TestServer, callback_machine, pass_machine, wait_machine};

/// StartSyncExecution's model prefixes the host with `sync-` (`sync-127.0.0.1`); against a local endpoint
/// the prefix has to go (boto3: `Config(inject_host_prefix=False)`).
#[derive(Debug)]
struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let uri = context.request().uri().replacen("://sync-", "://", 1);
        context.request_mut().set_uri(uri)?;
        Ok(())
    }
}

/// A client for `url` with placeholder credentials (signed requests are accepted unchecked).
pub(crate) fn client(url: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(crate::REGION))
        .credentials_provider(Credentials::new("AKIDLOCAL", "local-secret", None, None, "test"))
        .endpoint_url(url)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(NoHostPrefix)
        .build();
    Client::from_conf(config)
}

async fn wait(c: &Client, arn: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..400 {
        let d = c.describe_execution().execution_arn(arn).send().await.unwrap();
        if d.status() != &ExecutionStatus::Running {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{arn} still RUNNING");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_start_describe_history_list_stop() {
    let s = TestServer::start().await;
    let c = client(&s.url());
    let created = c
        .create_state_machine()
        .name("sdk")
        .definition(pass_machine().to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let arn = created.state_machine_arn().to_owned();
    assert!(created.creation_date().secs() > 1_600_000_000);
    let d = c.describe_state_machine().state_machine_arn(&arn).send().await.unwrap();
    assert_eq!(d.name(), "sdk");
    assert_eq!(d.r#type(), &StateMachineType::Standard);
    assert_eq!(d.definition(), pass_machine().to_string());

    let started =
        c.start_execution().state_machine_arn(&arn).name("one").input("{\"x\": 1}").send().await.unwrap();
    let done = wait(&c, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    assert_eq!(done.output(), Some("{\"a\":1}"));
    assert!(done.stop_date().is_some());
    let h = c.get_execution_history().execution_arn(started.execution_arn()).send().await.unwrap();
    let types: Vec<String> = h.events().iter().map(|e| e.r#type().as_str().to_owned()).collect();
    assert_eq!(types, ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]);
    let started_details = h.events()[0].execution_started_event_details().unwrap();
    assert_eq!(started_details.input(), Some("{\"x\":1}"));
    assert_eq!(h.events()[3].previous_event_id(), 3);

    // Pagination through the SDK's paginator.
    for i in 0..5 {
        let e = c.start_execution().state_machine_arn(&arn).name(format!("p{i}")).send().await.unwrap();
        wait(&c, e.execution_arn()).await;
    }
    let all: Vec<_> = c
        .list_executions()
        .state_machine_arn(&arn)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["p4", "p3", "p2", "p1", "p0", "one"]);

    let slow = c
        .create_state_machine()
        .name("slow")
        .definition(wait_machine(30).to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let e = c.start_execution().state_machine_arn(slow.state_machine_arn()).send().await.unwrap();
    let stopped =
        c.stop_execution().execution_arn(e.execution_arn()).error("E").cause("C").send().await.unwrap();
    assert!(stopped.stop_date().secs() > 0);
    let d = c.describe_execution().execution_arn(e.execution_arn()).send().await.unwrap();
    assert_eq!((d.status(), d.error(), d.cause()), (&ExecutionStatus::Aborted, Some("E"), Some("C")));
    let for_exec =
        c.describe_state_machine_for_execution().execution_arn(e.execution_arn()).send().await.unwrap();
    assert_eq!(for_exec.name(), "slow");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors() {
    let s = TestServer::start().await;
    let c = client(&s.url());
    let missing = "arn:aws:states:us-east-1:123456789012:execution:m:e";
    let e = c.describe_execution().execution_arn(missing).send().await.unwrap_err().into_service_error();
    assert!(e.is_execution_does_not_exist(), "{e:?}");
    let e = c.describe_execution().execution_arn("bogus").send().await.unwrap_err().into_service_error();
    assert!(e.is_invalid_arn(), "{e:?}");
    let e = c
        .create_state_machine()
        .name("bad")
        .definition("{\"StartAt\": \"A\"}")
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_definition(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
        )
    );
    let e = c
        .create_state_machine()
        .name("a b")
        .definition(pass_machine().to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_invalid_name(), "{e:?}");
    let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:none";
    let e = c.start_execution().state_machine_arn(arn).send().await.unwrap_err().into_service_error();
    assert!(e.is_state_machine_does_not_exist(), "{e:?}");
    let e = c.list_state_machines().max_results(1001).send().await.unwrap_err().into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_and_sync_express() {
    let s = TestServer::start().await;
    let c = client(&s.url());
    let m = c
        .create_state_machine()
        .name("cb")
        .definition(callback_machine(60).to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let e = c.start_execution().state_machine_arn(m.state_machine_arn()).send().await.unwrap();
    let token = s.token(e.execution_arn()).await;
    c.send_task_heartbeat().task_token(&token).send().await.unwrap();
    c.send_task_success().task_token(&token).output("{\"ok\": 1}").send().await.unwrap();
    let d = wait(&c, e.execution_arn()).await;
    assert_eq!(d.output(), Some("{\"ok\":1}"));
    let again =
        c.send_task_success().task_token(&token).output("{}").send().await.unwrap_err().into_service_error();
    assert!(again.is_task_does_not_exist(), "{again:?}");
    let invalid = c.send_task_failure().task_token("nope").send().await.unwrap_err().into_service_error();
    assert!(invalid.is_invalid_token(), "{invalid:?}");

    let expiring = c
        .create_state_machine()
        .name("expiring")
        .definition(callback_machine(1).to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let e = c.start_execution().state_machine_arn(expiring.state_machine_arn()).send().await.unwrap();
    let token = s.token(e.execution_arn()).await;
    let d = wait(&c, e.execution_arn()).await;
    assert_eq!(d.error(), Some("States.Timeout"));
    let late = c.send_task_heartbeat().task_token(&token).send().await.unwrap_err().into_service_error();
    assert!(late.is_task_timed_out(), "{late:?}");

    let express = c
        .create_state_machine()
        .name("express")
        .r#type(StateMachineType::Express)
        .definition(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string())
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    let r = c
        .start_sync_execution()
        .state_machine_arn(express.state_machine_arn())
        .input("{\"v\": [1, 2]}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), &aws_sdk_sfn::types::SyncExecutionStatus::Succeeded);
    assert_eq!(serde_json::from_str::<Value>(r.output().unwrap()).unwrap(), json!({"v": [1, 2]}));
    assert_eq!(r.billing_details().unwrap().billed_memory_used_in_mb(), 64);
    s.stop().await;
}
