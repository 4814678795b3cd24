//! Nested executions: `arn:aws:states:::states:startExecution` (request-response, `.sync`, `.sync:2`,
//! `.waitForTaskToken`) over an [`Executions`] seam that whoever owns the state machines implements (the
//! server over its machines, the CLI over `--machine NAME=FILE`).
//!
//! Shapes, as AWS documents them ("Start a new AWS Step Functions state machine execution", Step Functions
//! developer guide) and as LocalStack's recorded `test_start_execution*` tests show: the parameters are
//! StartExecution's (`StateMachineArn`, `Input`, `Name`); a JSON `Input` that is not a string is sent as its
//! compact JSON text, a missing one as `{}`. Request-response answers StartExecution's response
//! (`ExecutionArn`, `StartDate`); `.sync` ends with DescribeExecution's response in PascalCase, `Input` and
//! `Output` as JSON strings; `.sync:2` the same with `Input` and `Output` parsed. A child that does not
//! succeed fails the Task with `States.TaskFailed` and that DescribeExecution response as the cause. An API
//! error is `StepFunctions.<Code>Exception` with the SDK's cause wording.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use sfn_path::ErrorName;

use crate::error::{CheckError, Failure};
use crate::integration::{ServiceIntegration, TaskContext};
use crate::resource::{Pattern, ServiceResource};

/// StartExecution as a Task asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartChild {
    /// The child's state machine ARN.
    pub state_machine_arn: String,
    /// The execution name (a random one when `None`).
    pub name: Option<String>,
    /// The child's input, as JSON text.
    pub input: String,
    /// The parent execution's ARN.
    pub parent_execution_arn: String,
}

/// A child execution as DescribeExecution reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildExecution {
    /// Its ARN.
    pub execution_arn: String,
    /// Its state machine's ARN.
    pub state_machine_arn: String,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// Its input, as JSON text.
    pub input: String,
    /// Its output, as JSON text, once SUCCEEDED.
    pub output: Option<String>,
    /// The error it ended with.
    pub error: Option<String>,
    /// The cause it ended with.
    pub cause: Option<String>,
    /// When it started, in milliseconds since the Unix epoch.
    pub start_date_ms: i64,
    /// When it ended, in milliseconds since the Unix epoch.
    pub stop_date_ms: Option<i64>,
}

impl ChildExecution {
    /// A child that has just started: RUNNING, with no output, error or end yet.
    pub fn running(
        execution_arn: &str,
        state_machine_arn: &str,
        name: &str,
        input: &str,
        start_date_ms: i64,
    ) -> Self {
        ChildExecution {
            execution_arn: execution_arn.to_owned(),
            state_machine_arn: state_machine_arn.to_owned(),
            name: name.to_owned(),
            status: "RUNNING".to_owned(),
            input: input.to_owned(),
            output: None,
            error: None,
            cause: None,
            start_date_ms,
            stop_date_ms: None,
        }
    }
}

/// A Step Functions API error answered to a child's StartExecution (its code without `Exception`, e.g.
/// `StateMachineDoesNotExist`, and the API's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The API's error code without the `Exception` suffix (`StateMachineDoesNotExist`,
    /// `ExecutionAlreadyExists`, `InvalidArn`, `ValidationException` is kept whole).
    pub code: String,
    /// The API's message.
    pub message: String,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }

    /// `StateMachineDoesNotExist` as the API words it.
    pub fn no_machine(arn: &str) -> Self {
        Self::new("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'"))
    }

    /// The Task failure this error becomes: `StepFunctions.<Code>Exception` and the SDK's cause wording
    /// (`message (Service: AWSStepFunctions; Status Code: 400; Error Code: …; Request ID: …; Proxy: null)`).
    pub fn to_failure(&self, request_id: &str) -> Failure {
        let exception = if self.code.ends_with("Exception") {
            self.code.clone()
        } else {
            format!("{}Exception", self.code)
        };
        Failure::new(
            format!("StepFunctions.{exception}"),
            format!(
                "{} (Service: AWSStepFunctions; Status Code: 400; Error Code: {}; Request ID: {request_id}; Proxy: null)",
                self.message, self.code
            ),
        )
    }
}

/// The state machines a nested execution may start: implemented by whoever runs them (the server over
/// its machines, the CLI over `--machine` definitions), on the same engine as the parent.
#[async_trait]
pub trait Executions: Send + Sync {
    /// Starts a child execution (StartExecution).
    async fn start(&self, request: StartChild) -> Result<ChildExecution, ApiError>;

    /// Waits until the execution ends and describes it (DescribeExecution).
    async fn wait(&self, execution_arn: &str) -> Result<ChildExecution, ApiError>;

    /// Stops the execution (StopExecution); best effort.
    async fn stop(&self, execution_arn: &str, error: Option<String>, cause: Option<String>);
}

/// The `states` service integration (`startExecution` with every pattern).
#[derive(Clone)]
pub struct StatesIntegration {
    executions: Arc<dyn Executions>,
}

impl std::fmt::Debug for StatesIntegration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatesIntegration").finish_non_exhaustive()
    }
}

impl StatesIntegration {
    /// The integration over these executions.
    pub fn new(executions: Arc<dyn Executions>) -> Self {
        Self { executions }
    }
}

/// The child's StartExecution request from the Task's evaluated parameters.
fn start_request(ctx: &TaskContext, parameters: &Value) -> Result<StartChild, Failure> {
    let validation = |member: &str, what: &str| {
        ApiError::new(
            "ValidationException",
            format!("1 validation error detected: Value at '{member}' failed to satisfy constraint: {what}"),
        )
        .to_failure(&ctx.idempotency_key())
    };
    let Some(params) = parameters.as_object() else {
        return Err(validation("parameters", "Member must be an object"));
    };
    let state_machine_arn = match params.get("StateMachineArn") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(validation("stateMachineArn", "Member must not be null and must be a string")),
    };
    let name = match params.get("Name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(validation("name", "Member must be a string")),
    };
    let input = match params.get("Input") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => serde_json::to_string(v).unwrap_or_else(|_| "{}".to_owned()),
    };
    // No Name: one derived from the invocation (as RunTask's client token is), so that a parent resumed
    // after a crash that lost its `TaskSubmitted` starts the same child again — which StartExecution
    // answers idempotently while it runs — instead of a second one.
    let name = Some(name.unwrap_or_else(|| derived_name(&ctx.idempotency_key())));
    Ok(StartChild { state_machine_arn, name, input, parent_execution_arn: ctx.execution_arn.clone() })
}

/// The ARN of the execution `request` names (`…:stateMachine:NAME[:QUALIFIER]` → `…:execution:NAME:CHILD`).
fn execution_arn(request: &StartChild) -> Option<String> {
    let parts: Vec<&str> = request.state_machine_arn.split(':').collect();
    let (head, machine) = (parts.get(..5)?, parts.get(6)?);
    (parts.get(5) == Some(&"stateMachine")).then(|| {
        format!("{}:execution:{machine}:{}", head.join(":"), request.name.as_deref().unwrap_or_default())
    })
}

/// A UUID-shaped execution name (AWS names an unnamed child with a UUID) that depends only on `key`.
fn derived_name(key: &str) -> String {
    let fnv = |basis: u64| key.bytes().fold(basis, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let (a, b) = (fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// DescribeExecution's response as the `.sync` patterns give it (`parsed`: `.sync:2`, Input and Output
/// as JSON).
pub fn describe_output(child: &ChildExecution, parsed: bool) -> Value {
    let text = |s: &str| {
        if parsed {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned()))
        } else {
            Value::String(s.to_owned())
        }
    };
    let mut m = Map::new();
    if let Some(c) = &child.cause {
        m.insert("Cause".into(), Value::String(c.clone()));
    }
    if let Some(e) = &child.error {
        m.insert("Error".into(), Value::String(e.clone()));
    }
    m.insert("ExecutionArn".into(), Value::String(child.execution_arn.clone()));
    m.insert("Input".into(), text(&child.input));
    m.insert("InputDetails".into(), json!({"Included": true}));
    m.insert("Name".into(), Value::String(child.name.clone()));
    if let Some(o) = &child.output {
        m.insert("Output".into(), text(o));
        m.insert("OutputDetails".into(), json!({"Included": true}));
    }
    m.insert("StartDate".into(), json!(child.start_date_ms));
    m.insert("StateMachineArn".into(), Value::String(child.state_machine_arn.clone()));
    m.insert("Status".into(), Value::String(child.status.clone()));
    if let Some(s) = child.stop_date_ms {
        m.insert("StopDate".into(), json!(s));
    }
    Value::Object(m)
}

#[async_trait]
impl ServiceIntegration for StatesIntegration {
    fn service(&self) -> &str {
        "states"
    }

    fn check(&self, resource: &ServiceResource) -> Result<(), CheckError> {
        if resource.action == "startExecution" {
            Ok(())
        } else {
            Err(CheckError::unsupported(format!(
                "the states integration supports startExecution, not '{}'",
                resource.action
            )))
        }
    }

    async fn submit(&self, ctx: &TaskContext, parameters: Value) -> Result<Value, Failure> {
        let request = start_request(ctx, &parameters)?;
        let derived = parameters.get("Name").is_none_or(Value::is_null);
        let existing = derived.then(|| execution_arn(&request)).flatten();
        match self.executions.start(request).await {
            Ok(started) => Ok(start_execution_response(&started.execution_arn, started.start_date_ms)),
            // This invocation's own child, started before a crash and ended since: it is the one to follow.
            Err(e) if e.code == "ExecutionAlreadyExists" && existing.is_some() => Ok(json!({
                "ExecutionArn": existing,
                "StartDate": std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            })),
            Err(e) => Err(e.to_failure(&ctx.idempotency_key())),
        }
    }

    fn handle(&self, submitted: &Value) -> Value {
        json!({"ExecutionArn": submitted["ExecutionArn"]})
    }

    async fn wait(&self, ctx: &TaskContext, submitted: &Value) -> Result<Value, Failure> {
        let Some(arn) = submitted["ExecutionArn"].as_str() else {
            return Err(Failure::new(ErrorName::Runtime, "the submission has no ExecutionArn"));
        };
        let child = self.executions.wait(arn).await.map_err(|e| e.to_failure(&ctx.idempotency_key()))?;
        let output = describe_output(&child, ctx.resource.pattern == Pattern::Sync2);
        if child.status == "SUCCEEDED" {
            Ok(output)
        } else {
            Err(Failure::new(ErrorName::TaskFailed, serde_json::to_string(&output).unwrap_or_default()))
        }
    }

    async fn stop(&self, _ctx: &TaskContext, submitted: &Value, _reason: &str) {
        if let Some(arn) = submitted["ExecutionArn"].as_str() {
            self.executions.stop(arn, None, None).await;
        }
    }
}

/// The StartExecution response as Step Functions returns it to a Task: `ExecutionArn`, `StartDate` and
/// the SDK metadata of the HTTP response (AWS: `test_start_execution_sync`'s `TaskSubmitted`).
fn start_execution_response(execution_arn: &str, start_date_ms: i64) -> Value {
    // The body the service sent: `{"executionArn":"…","startDate":…}` (epoch seconds).
    #[allow(clippy::cast_precision_loss, reason = "a date in milliseconds is far below 2^53")]
    let seconds = start_date_ms as f64 / 1000.0;
    let body = format!("{{\"executionArn\":{},\"startDate\":{seconds}}}", Value::from(execution_arn));
    let mut m = serde_json::Map::new();
    m.insert("ExecutionArn".into(), json!(execution_arn));
    let request_id = crate::sdk::request_id();
    let http = crate::sdk::SdkHttp {
        request_id: &request_id,
        date_ms: start_date_ms,
        content_type: "application/x-amz-json-1.0",
        content_length: body.len(),
        keep_alive: true,
    };
    crate::sdk::insert_sdk_metadata(&mut m, &http);
    m.insert("StartDate".into(), json!(start_date_ms));
    Value::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::resource::Resource;

    /// One machine (`child`), whose executions end as `end` says; records what it was asked.
    struct Fake {
        end: (&'static str, Option<&'static str>),
        started: Mutex<Vec<StartChild>>,
        stopped: Mutex<Vec<String>>,
    }

    const CHILD: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:child";

    #[async_trait]
    impl Executions for Fake {
        async fn start(&self, request: StartChild) -> Result<ChildExecution, ApiError> {
            if request.state_machine_arn != CHILD {
                return Err(ApiError::no_machine(&request.state_machine_arn));
            }
            self.started.lock().unwrap().push(request.clone());
            Ok(ChildExecution {
                execution_arn: "arn:aws:states:us-east-1:123456789012:execution:child:e1".into(),
                state_machine_arn: request.state_machine_arn,
                name: request.name.unwrap_or_else(|| "e1".into()),
                status: "RUNNING".into(),
                input: request.input,
                output: None,
                error: None,
                cause: None,
                start_date_ms: 1_000,
                stop_date_ms: None,
            })
        }
        async fn wait(&self, execution_arn: &str) -> Result<ChildExecution, ApiError> {
            let input = self.started.lock().unwrap()[0].input.clone();
            let (status, output) = self.end;
            Ok(ChildExecution {
                execution_arn: execution_arn.into(),
                state_machine_arn: CHILD.into(),
                name: "e1".into(),
                status: status.into(),
                input,
                output: output.map(str::to_owned),
                error: (status == "FAILED").then(|| "Boom".to_owned()),
                cause: (status == "FAILED").then(|| "it broke".to_owned()),
                start_date_ms: 1_000,
                stop_date_ms: Some(2_000),
            })
        }
        async fn stop(&self, execution_arn: &str, _error: Option<String>, _cause: Option<String>) {
            self.stopped.lock().unwrap().push(execution_arn.into());
        }
    }

    fn fake(end: (&'static str, Option<&'static str>)) -> Arc<Fake> {
        Arc::new(Fake { end, started: Mutex::default(), stopped: Mutex::default() })
    }

    fn ctx(resource: &str) -> TaskContext {
        let Ok(Resource::Service(resource)) = Resource::parse(resource) else { panic!("{resource}") };
        TaskContext {
            resource,
            execution_arn: "arn:aws:states:us-east-1:123456789012:execution:parent:p".into(),
            state_name: "Nested".into(),
            scheduled_event_id: 3,
            attempt: 0,
            region: "us-east-1".into(),
            account: "123456789012".into(),
            token: None,
        }
    }

    /// A child without `Name` is named after its invocation: the same invocation (a parent resumed after a
    /// crash) starts the same child, another attempt another one.
    #[tokio::test]
    async fn an_unnamed_child_is_named_after_its_invocation() {
        let f = fake(("SUCCEEDED", Some("{}")));
        let i = StatesIntegration::new(f.clone());
        let mut c = ctx("arn:aws:states:::states:startExecution.sync:2");
        i.submit(&c, json!({"StateMachineArn": CHILD})).await.unwrap();
        i.submit(&c, json!({"StateMachineArn": CHILD})).await.unwrap();
        c.attempt = 1;
        i.submit(&c, json!({"StateMachineArn": CHILD})).await.unwrap();
        i.submit(&c, json!({"StateMachineArn": CHILD, "Name": "mine"})).await.unwrap();
        let names: Vec<String> = f.started.lock().unwrap().iter().map(|r| r.name.clone().unwrap()).collect();
        assert_eq!(names[0], names[1]);
        assert_ne!(names[0], names[2]);
        assert_eq!(names[3], "mine");
        let shape: Vec<usize> = names[0].split('-').map(str::len).collect();
        assert_eq!(shape, [8, 4, 4, 4, 12], "{}", names[0]);
    }

    #[tokio::test]
    async fn request_response_answers_start_execution() {
        let f = fake(("SUCCEEDED", Some("{}")));
        let i = StatesIntegration::new(f.clone());
        let c = ctx("arn:aws:states:::states:startExecution");
        let out = i.submit(&c, json!({"StateMachineArn": CHILD, "Input": {"a": 1}})).await.unwrap();
        assert_eq!(out["ExecutionArn"], "arn:aws:states:us-east-1:123456789012:execution:child:e1");
        assert_eq!(out["StartDate"], 1000);
        // The SDK's HTTP metadata, as AWS returns it (`test_start_execution_sync`'s TaskSubmitted): the
        // body `{"executionArn":"…","startDate":1.0}` is 89 bytes.
        let headers = &out["SdkHttpMetadata"]["HttpHeaders"];
        assert_eq!(
            (&headers["Content-Length"], &headers["connection"]),
            (&json!("89"), &json!("keep-alive"))
        );
        assert_eq!(out["SdkResponseMetadata"]["RequestId"], headers["x-amzn-RequestId"]);
        // A JSON Input is sent as its compact text (LocalStack's StartExecution normalisation).
        assert_eq!(f.started.lock().unwrap()[0].input, r#"{"a":1}"#);
        assert_eq!(f.started.lock().unwrap()[0].parent_execution_arn, c.execution_arn);
    }

    #[tokio::test]
    async fn missing_input_is_empty_object() {
        let f = fake(("SUCCEEDED", Some("{}")));
        let i = StatesIntegration::new(f.clone());
        i.submit(&ctx("arn:aws:states:::states:startExecution"), json!({"StateMachineArn": CHILD}))
            .await
            .unwrap();
        assert_eq!(f.started.lock().unwrap()[0].input, "{}");
    }

    #[tokio::test]
    async fn sync_output_is_a_string_and_sync2_json() {
        for (resource, output) in [
            ("arn:aws:states:::states:startExecution.sync", json!(r#"{"r":2}"#)),
            ("arn:aws:states:::states:startExecution.sync:2", json!({"r": 2})),
        ] {
            let f = fake(("SUCCEEDED", Some(r#"{"r":2}"#)));
            let i = StatesIntegration::new(f.clone());
            let c = ctx(resource);
            let sub = i.submit(&c, json!({"StateMachineArn": CHILD, "Input": "{\"a\":1}"})).await.unwrap();
            let out = i.wait(&c, &i.handle(&sub)).await.unwrap();
            assert_eq!(out["Output"], output, "{resource}");
            assert_eq!(out["Status"], "SUCCEEDED");
            assert_eq!(out["StopDate"], 2000);
            assert_eq!(out["OutputDetails"], json!({"Included": true}));
        }
    }

    #[tokio::test]
    async fn failed_child_is_task_failed_with_its_description() {
        let f = fake(("FAILED", None));
        let i = StatesIntegration::new(f.clone());
        let c = ctx("arn:aws:states:::states:startExecution.sync:2");
        let sub = i.submit(&c, json!({"StateMachineArn": CHILD})).await.unwrap();
        let err = i.wait(&c, &sub).await.unwrap_err();
        assert_eq!(err.name, Some(ErrorName::TaskFailed));
        let cause: Value = serde_json::from_str(err.cause.as_deref().unwrap()).unwrap();
        assert_eq!(cause["Error"], "Boom");
        assert_eq!(cause["Cause"], "it broke");
        assert_eq!(cause["Status"], "FAILED");
        assert!(cause.get("Output").is_none());
    }

    #[tokio::test]
    async fn unknown_machine_is_the_api_exception() {
        let i = StatesIntegration::new(fake(("SUCCEEDED", None)));
        let c = ctx("arn:aws:states:::states:startExecution.sync");
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
        let err = i.submit(&c, json!({"StateMachineArn": arn})).await.unwrap_err();
        assert_eq!(
            err.name.as_ref().map(ToString::to_string).as_deref(),
            Some("StepFunctions.StateMachineDoesNotExistException")
        );
        let cause = err.cause.unwrap();
        assert!(cause.starts_with(&format!("State Machine Does Not Exist: '{arn}' (Service: AWSStepFunctions; Status Code: 400; Error Code: StateMachineDoesNotExist;")), "{cause}");
    }

    #[tokio::test]
    async fn bad_parameters_fail_located() {
        let i = StatesIntegration::new(fake(("SUCCEEDED", None)));
        let c = ctx("arn:aws:states:::states:startExecution");
        let err = i.submit(&c, json!({"Input": {}})).await.unwrap_err();
        assert!(err.cause.unwrap().contains("'stateMachineArn'"));
        let err = i.submit(&c, json!({"StateMachineArn": CHILD, "Name": 3})).await.unwrap_err();
        assert!(err.cause.unwrap().contains("'name'"));
    }

    #[tokio::test]
    async fn stop_stops_the_child() {
        let f = fake(("SUCCEEDED", None));
        let i = StatesIntegration::new(f.clone());
        let c = ctx("arn:aws:states:::states:startExecution.sync");
        let sub = i.submit(&c, json!({"StateMachineArn": CHILD})).await.unwrap();
        i.stop(&c, &i.handle(&sub), "stopped").await;
        assert_eq!(f.stopped.lock().unwrap().as_slice(), [sub["ExecutionArn"].as_str().unwrap().to_owned()]);
    }

    #[test]
    fn only_start_execution() {
        let i = StatesIntegration::new(fake(("SUCCEEDED", None)));
        assert!(i.check(&ctx("arn:aws:states:::states:startExecution.waitForTaskToken").resource).is_ok());
        assert!(i.check(&ctx("arn:aws:states:::states:startSyncExecution").resource).is_err());
    }
}
