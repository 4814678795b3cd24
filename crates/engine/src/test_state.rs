//! TestState: one state of a machine, run once with an input through the interpreter's own modules
//! (`interp::test_step`), with the data after each step of its pipeline (the TestState API's
//! `inspectionData`), its `status` and `nextState`.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use sfn_asl::{State, StateKind};
use sfn_patterns::AbortHandle;

use crate::engine::{Engine, StartRequest};
use crate::error::{Failure, Interrupt, TestStateError};
use crate::exec::{StateCtx, StateInfo};
use crate::inspect::{Inspection, TestHooks, TestMock};
use crate::interp::TestEnd;
use crate::vars::Vars;

/// How the tested state ended (TestState's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// The state produced output.
    Succeeded,
    /// The state failed and nothing catches it.
    Failed,
    /// The state failed and a Retry rule would retry it.
    Retriable,
    /// The state failed and a Catch rule handles it (output is the catcher's).
    CaughtError,
}

impl TestStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

/// The outcome of testing one state.
#[derive(Debug, Clone, PartialEq)]
pub struct TestStateOutcome {
    /// How it ended.
    pub status: TestStatus,
    /// The state's output (SUCCEEDED, CAUGHT_ERROR).
    pub output: Option<Value>,
    /// The error (FAILED, RETRIABLE, CAUGHT_ERROR).
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// The state that would run next.
    pub next_state: Option<String>,
    /// Intermediate data.
    pub inspection: Inspection,
}

/// What to test: a state of a prepared machine, its input and what TestState lets a caller set.
#[derive(Debug, Clone, Default)]
pub struct TestStateRequest {
    /// The state to run (anywhere in the machine, nested branches and processors included).
    pub state: String,
    /// The state's input.
    pub input: Value,
    /// Variables visible to the state.
    pub variables: Map<String, Value>,
    /// The answer of the state's work (Task, Parallel, Map) instead of running it.
    pub mock: Option<TestMock>,
    /// A context object (`$$`): its members replace the execution's.
    pub context: Option<Map<String, Value>>,
    /// `stateConfiguration.retrierRetryCount`: retries so far (`$$.State.RetryCount`, and counted
    /// against the retrier that matches the error).
    pub retrier_retry_count: u32,
    /// `stateConfiguration.mapIterationFailureCount`: failed iterations of a mocked Map.
    pub map_iteration_failure_count: Option<u64>,
    /// The execution's name (`$$.Execution.Name`, and what idempotency tokens derive from); every
    /// run needs its own. `None`: a fresh UUID.
    pub execution_name: Option<String>,
    /// The execution's role (`$$.Execution.RoleArn`).
    pub role_arn: Option<String>,
}

impl Engine {
    /// Runs one state of a prepared machine once (TestState): through the interpreter's own modules
    /// (the same code as an execution), with no transition followed, no Wait waited, no retry
    /// attempted — a failure is RETRIABLE when a retrier would retry it, CAUGHT_ERROR when a Catch
    /// handles it. Every call is a fresh execution (its own name), so two calls never share a task.
    pub async fn test_state(
        &self,
        prepared: &crate::Prepared,
        req: TestStateRequest,
    ) -> Result<TestStateOutcome, TestStateError> {
        let machine = prepared.machine_arc();
        let Some(st) = find_state(&machine.states, &req.state) else {
            return Err(TestStateError::NoSuchState(req.state));
        };
        // Only a state's work (a Task's call, a Parallel's branches, a Map's iterations) can be mocked.
        if req.mock.is_some() && st.recovery().is_none() {
            return Err(TestStateError::MockNotSupported(st.type_name()));
        }
        let hooks = Arc::new(TestHooks {
            state: st.name.clone(),
            mock: req.mock,
            context: req.context,
            map_failures: req.map_iteration_failure_count,
            inspection: Mutex::new(Inspection { input: req.input.clone(), ..Inspection::default() }),
        });
        let name = req.execution_name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let start = StartRequest {
            execution_name: name,
            input: req.input.clone(),
            role_arn: req.role_arn,
            input_text: None,
        };
        let exec = self.exec_for(prepared, start, hooks.clone());
        let mut vars = Vars::default();
        for (k, v) in req.variables {
            vars.set(k, v);
        }
        let (_abort, signal) = AbortHandle::new();
        let info = StateInfo {
            name: &st.name,
            entered_event: 1,
            entered_time: exec.now(),
            retry_count: None,
            token: None,
            map_item: None,
        };
        let ctx = StateCtx { exec: &exec, state: st, info, vars: &vars, abort: &signal, texts: None };
        let mut prev = 0u64;
        let end = crate::interp::test_step(ctx, req.input, &mut prev, req.retrier_retry_count).await;
        let mut inspection = hooks.take();
        let outcome = |status, output, f: Option<Failure>, next_state, inspection| {
            let (error, cause) = f.map_or((None, None), |f| (f.name.map(String::from), f.cause));
            TestStateOutcome { status, output, error, cause, next_state, inspection }
        };
        Ok(match end {
            Ok(TestEnd::Done(step)) => {
                inspection.variables = step.assign.clone();
                outcome(
                    TestStatus::Succeeded,
                    Some(step.output),
                    None,
                    step.next.map(str::to_owned),
                    inspection,
                )
            }
            Ok(TestEnd::Caught(f, step)) => {
                inspection.variables = step.assign.clone();
                outcome(
                    TestStatus::CaughtError,
                    Some(step.output),
                    Some(f),
                    step.next.map(str::to_owned),
                    inspection,
                )
            }
            Ok(TestEnd::Retriable(f)) => outcome(TestStatus::Retriable, None, Some(f), None, inspection),
            Ok(TestEnd::Failed(f)) => outcome(TestStatus::Failed, None, Some(f), None, inspection),
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => {
                outcome(TestStatus::Failed, None, Some(f), None, inspection)
            }
            Err(Interrupt::Abort) => return Err(TestStateError::Aborted),
        })
    }
}

/// Finds a state by name anywhere in the machine (nested branches and processors included).
fn find_state<'a>(states: &'a sfn_asl::States, name: &str) -> Option<&'a State> {
    if let Some(s) = states.get(name) {
        return Some(s);
    }
    states.iter().find_map(|s| match &s.kind {
        StateKind::Parallel(p) => p.branches.iter().find_map(|b| find_state(&b.states, name)),
        StateKind::Map(m) => find_state(&m.processor.states, name),
        _ => None,
    })
}
