//! TestState: one state of a machine, run once with an input, with the data after each step of its
//! input/output pipeline (like the Step Functions TestState API at inspection level DEBUG).

use serde_json::{Map, Value};
use sfn_asl::{Catcher, Retrier, State, StateKind};
use sfn_patterns::AbortHandle;

use crate::engine::{Engine, StartRequest};
use crate::error::{Failure, Interrupt, TestStateError};
use crate::exec::{StateCtx, StateInfo, Step};
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

/// The data after each step (TestState `inspectionData`); a step that did not run is `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// The state's input.
    pub input: Value,
    /// After InputPath.
    pub after_input_path: Option<Value>,
    /// After Parameters.
    pub after_parameters: Option<Value>,
    /// The task's (or Pass's) result.
    pub result: Option<Value>,
    /// After ResultSelector.
    pub after_result_selector: Option<Value>,
    /// After ResultPath.
    pub after_result_path: Option<Value>,
    /// Variables after Assign.
    pub variables: Option<Map<String, Value>>,
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

impl Engine {
    /// Runs the state `state` of a prepared machine once with `input` (and `variables` visible), without
    /// following transitions or waiting in Wait states: TestState.
    pub async fn test_state(
        &self,
        prepared: &crate::Prepared,
        state: &str,
        input: Value,
        variables: Map<String, Value>,
    ) -> Result<TestStateOutcome, TestStateError> {
        let machine = prepared.machine_arc();
        let Some(st) = find_state(&machine.states, state) else {
            return Err(TestStateError::NoSuchState(state.to_owned()));
        };
        let (exec, _history) = self.exec_for(
            prepared,
            StartRequest {
                execution_name: "test-state".to_owned(),
                input: input.clone(),
                role_arn: None,
                input_text: None,
            },
        );
        let mut vars = Vars::default();
        for (k, v) in variables {
            vars.set(k, v);
        }
        let (_abort, signal) = AbortHandle::new();
        let mut prev = 0u64;
        let entered = 1;
        let info = StateInfo {
            name: &st.name,
            entered_event: entered,
            entered_time: exec.now(),
            retry_count: Some(0),
            token: None,
            map_item: None,
        };
        let ctx = StateCtx { exec: &exec, state: st, info, vars: &vars, abort: &signal };
        let mut insp = Inspection { input: input.clone(), ..Inspection::default() };
        let eff = ctx.input_path(&input).map_err(TestStateError::Failed)?.into_owned();
        insp.after_input_path = Some(eff.clone());

        let step: Result<Step, Interrupt> = match &st.kind {
            StateKind::Pass(p) => (|| {
                let params = match &p.parameters {
                    Some(params) => ctx.payload(params, &eff)?,
                    None => eff.clone(),
                };
                insp.after_parameters = Some(params.clone());
                let result = p.result.clone().unwrap_or(params);
                insp.result = Some(result.clone());
                let assign = ctx.assign(st.assign.as_ref(), &result)?;
                let after = ctx.apply_result_only(&p.result_path, input.clone(), result)?;
                insp.after_result_path = Some(after.clone());
                let out = ctx.output_path(after)?;
                Ok(Step { next: st.next.clone(), output: out, assign })
            })()
            .map_err(Interrupt::Fail),
            StateKind::Task(t) => {
                let params = match &t.parameters {
                    Some(params) => ctx.payload(params, &eff).map_err(TestStateError::Failed)?,
                    None => eff.clone(),
                };
                insp.after_parameters = Some(params);
                match crate::task::run(ctx, t, &input, &mut prev).await {
                    Ok(result) => (|| {
                        insp.result = Some(result.clone());
                        let selected = match &t.recovery.result_selector {
                            Some(sel) => ctx.payload(sel, &result)?,
                            None => result,
                        };
                        insp.after_result_selector = Some(selected.clone());
                        let assign = ctx.assign(st.assign.as_ref(), &selected)?;
                        let after =
                            ctx.apply_result_only(&t.recovery.result_path, input.clone(), selected)?;
                        insp.after_result_path = Some(after.clone());
                        let out = ctx.output_path(after)?;
                        Ok(Step { next: st.next.clone(), output: out, assign })
                    })()
                    .map_err(Interrupt::Fail),
                    Err(e) => Err(e),
                }
            }
            StateKind::Choice(c) => crate::choice::run(&ctx, c, input.clone()).map_err(Interrupt::Fail),
            StateKind::Wait(_) => ctx
                .output_path(eff.clone())
                .map(|out| Step { next: st.next.clone(), output: out, assign: None })
                .map_err(Interrupt::Fail),
            StateKind::Succeed => ctx
                .output_path(eff.clone())
                .map(|out| Step { next: None, output: out, assign: None })
                .map_err(Interrupt::Fail),
            StateKind::Fail(f) => {
                Err(Interrupt::Fail(crate::terminal::fail(&ctx, f, &input).await.unwrap_or_else(|e| e)))
            }
            StateKind::Parallel(_) | StateKind::Map(_) => {
                return Err(TestStateError::UnsupportedType(st.type_name()));
            }
        };
        match step {
            Ok(step) => {
                if let Some(a) = &step.assign {
                    let mut all = Map::new();
                    for (k, v) in a {
                        all.insert(k.clone(), v.clone());
                    }
                    insp.variables = Some(all);
                }
                Ok(TestStateOutcome {
                    status: TestStatus::Succeeded,
                    output: Some(step.output),
                    error: None,
                    cause: None,
                    next_state: step.next,
                    inspection: insp,
                })
            }
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => {
                let (retry, catch): (&[Retrier], &[Catcher]) = match &st.kind {
                    StateKind::Task(t) => (&t.recovery.retry, &t.recovery.catch),
                    _ => (&[], &[]),
                };
                if retry.iter().any(|r| r.max_attempts > 0 && f.matches(&r.error_equals)) {
                    return Ok(outcome(TestStatus::Retriable, None, f, None, insp));
                }
                if let Some(c) = catch.iter().find(|c| f.matches(&c.error_equals)) {
                    let mut err = Map::new();
                    err.insert("Error".into(), Value::String(f.error_name().to_owned()));
                    if let Some(cause) = &f.cause {
                        err.insert("Cause".into(), Value::String(cause.clone()));
                    }
                    let out = ctx
                        .apply_result_only(&c.result_path, input, Value::Object(err))
                        .map_err(TestStateError::Failed)?;
                    return Ok(outcome(TestStatus::CaughtError, Some(out), f, Some(c.next.clone()), insp));
                }
                Ok(outcome(TestStatus::Failed, None, f, None, insp))
            }
            Err(Interrupt::Abort) => Err(TestStateError::Aborted),
        }
    }
}

fn outcome(
    status: TestStatus,
    output: Option<Value>,
    f: Failure,
    next_state: Option<String>,
    inspection: Inspection,
) -> TestStateOutcome {
    TestStateOutcome {
        status,
        output,
        error: f.name.map(String::from),
        cause: f.cause,
        next_state,
        inspection,
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
