//! What an engine runs with: its clock, its settings, and the parts of an [`crate::Engine`] every
//! execution shares (integrations, task tokens, activities, mocks, the event sink, the Task bindings made
//! when a machine is prepared). The bottom of the interpreter: it knows no execution and no state type.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sfn_asl::Task;
use sfn_patterns::{ActivityQueue, Integrations, ServiceIntegration, ServiceResource, TokenRegistry};

use crate::history::EventSink;
use crate::mocks::TaskMocks;

/// Largest state input/output, in bytes (AWS: 256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;

/// Wall-clock time for history timestamps and `$$` times. Waiting uses tokio's timer, so a test
/// runtime with paused time (`tokio::time::pause`, `start_paused`) makes Wait states, Retry back-off
/// and timeouts take no real time while timestamps still advance by the virtual amount.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_wall: DateTime<Utc>,
    base: tokio::time::Instant,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { base_wall: Utc::now(), base: tokio::time::Instant::now() }
    }

    /// A clock that reads `start` now and advances with tokio's (possibly virtual) time.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock { base_wall: start, base: tokio::time::Instant::now() }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.base);
        self.base_wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Region of the state machines (ARNs, `TaskScheduled.region`).
    pub region: String,
    /// Account id (ARNs).
    pub account: String,
    /// Default execution role ARN (`$$.Execution.RoleArn`).
    pub role_arn: String,
    /// History limit (AWS: 25,000); `None` for no limit.
    pub max_history_events: Option<usize>,
    /// Largest state payload in bytes (AWS: 256 KiB).
    pub max_payload_bytes: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            region: "us-east-1".to_owned(),
            account: "123456789012".to_owned(),
            role_arn: "arn:aws:iam::123456789012:role/StepFunctionsExecutionRole".to_owned(),
            max_history_events: Some(25_000),
            max_payload_bytes: MAX_PAYLOAD_BYTES,
        }
    }
}

/// A Task state's resource, resolved once when the machine is prepared.
pub(crate) struct Binding {
    pub(crate) resource: ServiceResource,
    pub(crate) integration: Arc<dyn ServiceIntegration>,
}

pub(crate) struct EngineInner {
    pub(crate) mocks: Option<Arc<dyn TaskMocks>>,
    pub(crate) unmocked: crate::mocks::Unmocked,
    pub(crate) sink: Option<Arc<dyn EventSink>>,
    pub(crate) integrations: Integrations,
    pub(crate) tokens: TokenRegistry,
    pub(crate) clock: Clock,
    pub(crate) config: EngineConfig,
    pub(crate) objects: Option<Arc<dyn crate::objects::ObjectStore>>,
    /// Where Task states on activity ARNs wait for workers (none: such a Task cannot run unmocked).
    pub(crate) activities: Option<Arc<dyn ActivityQueue>>,
    pub(crate) map_runs: Option<Arc<dyn crate::maprun::MapRunObserver>>,
    pub(crate) bindings: std::sync::RwLock<HashMap<usize, Arc<Binding>>>,
}

impl EngineInner {
    pub(crate) fn binding(&self, task: &Task) -> Option<Arc<Binding>> {
        let key = task as *const Task as usize;
        self.bindings.read().unwrap_or_else(|e| e.into_inner()).get(&key).cloned()
    }
}
