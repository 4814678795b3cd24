//! What a TestState run adds to an execution ([`TestHooks`]): the tested state's name, its mock
//! (`mock.result` / `mock.errorOutput`), the context object it is given, and the [`Inspection`] the
//! interpreter fills in as the state runs (the data after each step, TestState's `inspectionData`). A
//! leaf: the interpreter's modules record into it through `StateCtx::inspect`, only for the tested
//! state, and a normal execution has none (one `None` check per step).

use std::sync::Mutex;

use serde_json::{Map, Value};
use sfn_path::ErrorName;

/// The data after each step (TestState `inspectionData`); a step that did not run is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Inspection {
    /// The state's input.
    pub input: Value,
    /// After InputPath (JSONPath).
    pub after_input_path: Option<Value>,
    /// After Parameters (JSONPath).
    pub after_parameters: Option<Value>,
    /// After Arguments (JSONata).
    pub after_arguments: Option<Value>,
    /// The task's (or Pass's, or the mock's) result.
    pub result: Option<Value>,
    /// After ResultSelector (JSONPath).
    pub after_result_selector: Option<Value>,
    /// After ResultPath (JSONPath).
    pub after_result_path: Option<Value>,
    /// Variables after Assign.
    pub variables: Option<Map<String, Value>>,
    /// A Map's items after ItemsPath (JSONPath) or `Items` (JSONata).
    pub after_items_path: Option<Value>,
    /// A Map's MaxConcurrency, as evaluated.
    pub max_concurrency: Option<u64>,
    /// A Map's ToleratedFailureCount, as evaluated.
    pub tolerated_failure_count: Option<f64>,
    /// A Map's ToleratedFailurePercentage, as evaluated.
    pub tolerated_failure_percentage: Option<f64>,
    /// Which Retry or Catch rule handled the failure (`errorDetails`).
    pub error_details: Option<ErrorDetails>,
}

impl Inspection {
    /// The members of TestState's `inspectionData` (API reference, InspectionData) that ran, under
    /// AWS's names, as JSON values (the API sends each but `errorDetails` as JSON text).
    pub fn members(&self) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("input".into(), self.input.clone());
        for (k, v) in [
            ("afterInputPath", &self.after_input_path),
            ("afterParameters", &self.after_parameters),
            ("afterArguments", &self.after_arguments),
            ("result", &self.result),
            ("afterResultSelector", &self.after_result_selector),
            ("afterResultPath", &self.after_result_path),
            ("afterItemsPath", &self.after_items_path),
        ] {
            if let Some(v) = v {
                d.insert(k.into(), v.clone());
            }
        }
        if let Some(vars) = &self.variables {
            d.insert("variables".into(), Value::Object(vars.clone()));
        }
        if let Some(n) = self.max_concurrency {
            d.insert("maxConcurrency".into(), Value::from(n));
        }
        // The API's toleratedFailureCount is an integer, its percentage a float.
        if let Some(n) = self.tolerated_failure_count {
            d.insert("toleratedFailureCount".into(), Value::from(n as i64));
        }
        if let Some(p) = self.tolerated_failure_percentage {
            d.insert("toleratedFailurePercentage".into(), Value::from(p));
        }
        if let Some(e) = &self.error_details {
            let mut details = Map::new();
            if let Some(i) = e.catch_index {
                details.insert("catchIndex".into(), Value::from(i));
            }
            if let Some(i) = e.retry_index {
                details.insert("retryIndex".into(), Value::from(i));
            }
            // The API's `retryBackoffIntervalSeconds` is an integer.
            if let Some(s) = e.retry_backoff_interval_seconds {
                details.insert("retryBackoffIntervalSeconds".into(), Value::from(s.round() as i64));
            }
            d.insert("errorDetails".into(), Value::Object(details));
        }
        d
    }
}

/// TestState's `inspectionData.errorDetails`: the rule that handled a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct ErrorDetails {
    /// The index of the Catch rule that caught the error.
    pub catch_index: Option<usize>,
    /// The index of the Retry rule that would retry it.
    pub retry_index: Option<usize>,
    /// The back-off before that retry, in seconds.
    pub retry_backoff_interval_seconds: Option<f64>,
}

/// What a TestState mock answers instead of the state's work (Task, Parallel, Map).
#[derive(Debug, Clone, PartialEq)]
pub enum TestMock {
    /// `mock.result`: the state's result.
    Result(Value),
    /// `mock.errorOutput`: the state fails with this error and cause.
    Error {
        /// The error name.
        error: ErrorName,
        /// The cause.
        cause: Option<String>,
    },
}

impl TestMock {
    /// The state's result, or its failure.
    pub(crate) fn answer(&self) -> Result<Value, crate::error::Failure> {
        match self {
            TestMock::Result(v) => Ok(v.clone()),
            TestMock::Error { error, cause } => {
                Err(crate::error::Failure { name: Some(error.clone()), cause: cause.clone() })
            }
        }
    }
}

/// A TestState run's additions to its execution.
#[derive(Debug)]
pub(crate) struct TestHooks {
    /// The tested state (nested states of a Map or Parallel record nothing).
    pub(crate) state: String,
    pub(crate) mock: Option<TestMock>,
    /// A context object (`$$`) whose members replace the execution's.
    pub(crate) context: Option<Map<String, Value>>,
    /// `stateConfiguration.mapIterationFailureCount`: iterations of the mocked Map that failed.
    pub(crate) map_failures: Option<u64>,
    pub(crate) inspection: Mutex<Inspection>,
}

impl TestHooks {
    /// Records into the inspection.
    pub(crate) fn record(&self, f: impl FnOnce(&mut Inspection)) {
        f(&mut self.inspection.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// The inspection so far.
    pub(crate) fn take(&self) -> Inspection {
        std::mem::take(&mut *self.inspection.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `over`'s members replace `base`'s, objects merged member by member.
pub(crate) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}
