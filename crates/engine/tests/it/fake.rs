//! An in-test service integration (`fake:*`) that exercises the engine's seam without any real service.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use sfn_patterns::{CheckError, Pattern, ServiceIntegration, ServiceResource, TaskContext, TaskFailure};

/// Actions: `echo` (returns its parameters), `fail` (fails with `Parameters.Error`/`Cause`; no name for
/// `"Error": null`),
/// `sleep` (`.sync` job that runs `Parameters.Seconds`), `flaky` (fails `Parameters.Times` times first).
#[derive(Default)]
pub(crate) struct Fake {
    pub(crate) stops: AtomicUsize,
    pub(crate) submits: AtomicUsize,
}

#[async_trait]
impl ServiceIntegration for Fake {
    fn service(&self) -> &str {
        "fake"
    }

    fn check(&self, resource: &ServiceResource) -> Result<(), CheckError> {
        match (resource.action.as_str(), resource.pattern) {
            ("echo" | "fail" | "flaky", Pattern::RequestResponse | Pattern::WaitForTaskToken) => Ok(()),
            ("sleep", Pattern::Sync) => Ok(()),
            (a, p) => Err(format!("fake does not support {a} with {p}").into()),
        }
    }

    fn prepare(&self, resource: &ServiceResource, mut parameters: Value) -> Value {
        if resource.pattern == Pattern::Sync
            && let Value::Object(m) = &mut parameters
        {
            m.insert("StartedBy".into(), json!("AWS Step Functions"));
        }
        parameters
    }

    async fn submit(&self, ctx: &TaskContext, parameters: Value) -> Result<Value, TaskFailure> {
        let n = self.submits.fetch_add(1, Ordering::SeqCst);
        match ctx.resource.action.as_str() {
            // `"Error": null` fails without an error name (SendTaskFailure with no `error`).
            "fail" => Err(TaskFailure {
                name: match parameters.get("Error") {
                    Some(Value::Null) => None,
                    e => Some(e.and_then(Value::as_str).unwrap_or("Fake.Error").into()),
                },
                cause: parameters["Cause"].as_str().map(str::to_owned),
            }),
            "flaky" if (n as u64) < parameters["Times"].as_u64().unwrap_or(0) => {
                Err(TaskFailure::new("Fake.Flaky", format!("attempt {}", ctx.attempt)))
            }
            _ => Ok(json!({"Submitted": parameters, "Token": ctx.token, "Attempt": ctx.attempt})),
        }
    }

    async fn wait(&self, _ctx: &TaskContext, submitted: &Value) -> Result<Value, TaskFailure> {
        let secs = submitted["Submitted"]["Seconds"].as_u64().unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(secs)).await;
        Ok(json!({"Done": true, "Seconds": secs}))
    }

    async fn stop(&self, _ctx: &TaskContext, _submitted: &Value, _reason: &str) {
        self.stops.fetch_add(1, Ordering::SeqCst);
    }
}

pub(crate) fn engine_with(fake: Arc<Fake>) -> sfn_engine::Engine {
    let start =
        chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
    sfn_engine::Engine::builder().integration(fake).clock(sfn_engine::Clock::starting_at(start)).build()
}
