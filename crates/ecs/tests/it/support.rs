//! Helpers: build engines over a backend, run definitions, read outcomes.

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_ecs::{EcsBackend, EcsIntegration, TaskDefinition, TaskDefinitions};
use sfn_engine::{Engine, History, Outcome, StartRequest};

pub(crate) fn engine(backend: Arc<dyn EcsBackend>) -> (Engine, Arc<EcsIntegration>) {
    let ecs = Arc::new(EcsIntegration::new(backend));
    (Engine::builder().integration(ecs.clone()).build(), ecs)
}

pub(crate) async fn run(engine: &Engine, def: Value, input: Value) -> (Outcome, History) {
    let machine = sfn_asl::parse(&serde_json::to_vec(&def).unwrap()).unwrap();
    let prepared = engine.prepare(machine, "m").unwrap();
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!("e{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    engine.run(&prepared, StartRequest { execution_name: name, input, role_arn: None }).await
}

/// A one-state machine running `resource` with `params` (and extra state fields).
pub(crate) fn machine(resource: &str, params: Value, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource, "Parameters": params, "End": true});
    if let (Value::Object(s), Value::Object(e)) = (&mut state, extra) {
        s.extend(e);
    }
    json!({"StartAt": "Run", "States": {"Run": state}})
}

/// Task definitions from JSON values (register-task-definition form).
pub(crate) fn tds(defs: &[Value]) -> TaskDefinitions {
    let mut out = TaskDefinitions::new();
    for d in defs {
        out.register(serde_json::from_value::<TaskDefinition>(d.clone()).unwrap());
    }
    out
}

pub(crate) fn cause_json(o: &Outcome) -> Value {
    serde_json::from_str(o.cause.as_deref().unwrap_or("null")).unwrap_or(Value::Null)
}
