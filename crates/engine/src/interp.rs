//! The interpreter: runs a scope state by state ([`run_scope`], installed in every [`Exec`] as
//! [`Exec::scopes`]); for each state the `…StateEntered` event, the state's module (Task, Parallel and
//! Map through their [`Recovery`]: attempts, Retry back-off, Catch), the payload limit, Assign and the
//! `…StateExited` event. The top of the state layer: the only module that matches on the state type.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sfn_asl::{IoPath, QueryLanguage, Recovery, ResultPath, State, StateKind, States};
use sfn_path::ErrorName;
use sfn_patterns::AbortSignal;

use crate::error::{Failure, Interrupt};
use crate::exec::{BoxFuture, Exec, Flow, StateCtx, StateInfo, Step, Texts};
use crate::history::{EventDetails, JsonText};
use crate::recovery::{self, Retries};
use crate::vars::Vars;
use crate::{choice, map, parallel, pass, task, terminal, wait};

/// Runs a scope (the machine, a branch or an iteration) from `start_at` to its end; beside its output,
/// the text the last state exited with (`None` when a resumed execution went on with a recorded output).
#[allow(clippy::too_many_arguments, reason = "the scope, its input and the input's text, its cursor")]
pub(crate) fn run_scope<'a>(
    exec: &'a Arc<Exec>,
    start_at: &'a str,
    states: &'a States,
    input: Value,
    input_text: Option<JsonText>,
    vars: &'a mut Vars,
    prev: &'a mut u64,
    abort: &'a AbortSignal,
) -> BoxFuture<'a, Result<(Value, Option<JsonText>), Interrupt>> {
    Box::pin(async move {
        let Some(mut state) = states.get(start_at) else {
            return Err(Interrupt::Fail(Failure::new(
                ErrorName::Runtime,
                format!("The state '{start_at}' does not exist"),
            )));
        };
        let mut input = input;
        // The history text of `input` when the previous state's exited event (or, for the first state,
        // whoever runs the scope) already made it.
        let mut input_text = input_text;
        // When the previous state exited: the time this one is entered (nothing waits in between).
        let mut at = None;
        // The events' `Arc` of the last few state names, made once per state (a loop enters the same
        // few states again and again); kept inline, so a one-state iteration allocates nothing more.
        let mut names: [Option<(&State, Arc<str>)>; 4] = Default::default();
        let mut made = 0usize;
        loop {
            // A transition: where a stop, or a termination (`Execution::terminate`), takes effect.
            if abort.is_aborted() || exec.terminating.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Interrupt::Abort);
            }
            let name = match names.iter().flatten().find(|(s, _)| std::ptr::eq(*s, state)) {
                Some((_, name)) => name.clone(),
                None => {
                    let name: Arc<str> = Arc::from(state.name.as_str());
                    names[made % names.len()] = Some((state, name.clone()));
                    made = made.wrapping_add(1);
                    name
                }
            };
            let (flow, output_text, exited_at) =
                run_state(exec, states, state, name, (input, input_text, at), vars, prev, abort).await?;
            at = Some(exited_at);
            match flow.next {
                Some(s) => {
                    state = s;
                    input = flow.output;
                    input_text = output_text;
                }
                None => return Ok((flow.output, output_text)),
            }
        }
    })
}

/// True when the state's output is its input, whatever happens in it: JSONPath Choice, Wait and Succeed
/// states and Pass states without `Result` and `Parameters` (or with `ResultPath: null`), without
/// InputPath or OutputPath; JSONata Wait, Succeed and Pass states without `Output` (and `Result`). Its
/// exited event shows the text its entered event showed: AWS keeps the text of a value passed on
/// unchanged (`PassStateExited` in `scenarios/test_base_scenarios__test_parallel_state_nested`).
fn passes_input_through(state: &State) -> bool {
    if state.query_language == QueryLanguage::Jsonata {
        return state.output.is_none()
            && match &state.kind {
                StateKind::Wait(_) | StateKind::Succeed => true,
                StateKind::Pass(p) => p.result.is_none(),
                _ => false,
            };
    }
    let whole = matches!(state.input_path, IoPath::Whole) && matches!(state.output_path, IoPath::Whole);
    whole
        && match &state.kind {
            StateKind::Choice(_) | StateKind::Wait(_) | StateKind::Succeed => true,
            StateKind::Pass(p) => match p.result_path {
                ResultPath::Discard => true,
                ResultPath::Whole => p.result.is_none() && p.parameters.is_none(),
                ResultPath::Path(_) => false,
            },
            _ => false,
        }
}

/// True when the state's output is its module's result as it made it: a Parallel without
/// ResultSelector, ResultPath, OutputPath (JSONPath) or `Output` (JSONata). Its exited event shows the
/// result's text ([`Texts::result`]).
fn outputs_result(state: &State) -> bool {
    let StateKind::Parallel(p) = &state.kind else { return false };
    match state.query_language {
        QueryLanguage::Jsonata => state.output.is_none(),
        QueryLanguage::JsonPath => {
            matches!(state.output_path, IoPath::Whole)
                && p.recovery.result_selector.is_none()
                && matches!(p.recovery.result_path, ResultPath::Whole)
        }
    }
}

/// One state: entered, run, exited; the flow, the history text of its output and when it exited
/// (`name`: the state's name as its events hold it; `input_text`: the text of `input` when the state
/// before made it; `at`: when the state before exited).
#[allow(
    clippy::too_many_arguments,
    reason = "the scope, the state, its input and the input's text, its cursor"
)]
async fn run_state<'s>(
    exec: &Arc<Exec>,
    states: &'s States,
    state: &State,
    name: Arc<str>,
    (input, input_text, at): (Value, Option<JsonText>, Option<DateTime<Utc>>),
    vars: &mut Vars,
    prev: &mut u64,
    abort: &AbortSignal,
) -> Result<(Flow<'s>, Option<JsonText>, DateTime<Utc>), Interrupt> {
    let st = state.state_type();
    // One clock read per transition: the state is entered when the one before exited.
    let entered_time = at.unwrap_or_else(|| exec.now());
    // Only an execution's first state follows the root (0): its input is the execution input, as the
    // caller wrote it (AWS keeps a non-object input's text verbatim, e.g. `"[\"Hello\", \"World\"]"` in
    // `scenarios/test_base_scenarios__test_map_state_legacy_config_inline` — see `StartRequest::input_text`).
    let input_text = match input_text {
        Some(text) => text,
        None if *prev == 0 => exec.input_text(),
        None => JsonText::new(&input),
    };
    let texts = Texts { input: input_text.clone(), result: std::sync::OnceLock::new() };
    // Serialized once for both events when the output is the input.
    let unchanged = passes_input_through(state).then(|| input_text.clone());
    let entered = exec.event_at(
        prev,
        EventDetails::StateEntered { state_type: st, name: name.clone(), input: input_text },
        entered_time,
    )?;
    let entered_time = exec.replay.as_ref().and_then(|r| r.timestamp(entered)).unwrap_or(entered_time);
    let info = StateInfo {
        name: &state.name,
        entered_event: entered,
        entered_time,
        retry_count: None,
        token: None,
        map_item: None,
    };
    let ctx = StateCtx { exec, state, info, vars: &*vars, abort, texts: Some(&texts) };
    let step = match step(ctx, input, prev).await {
        // A failure while the execution is being stopped (a JSONata evaluation it did not wait for)
        // is the stop.
        Err(Interrupt::Fail(_)) if abort.is_aborted() => {
            if ctx.vars.is_nested() {
                aborted(&ctx, prev, true)?;
            }
            return Err(Interrupt::Abort);
        }
        Ok(step) => {
            if state.query_language == QueryLanguage::Jsonata {
                take_evaluation_failure(&ctx);
            }
            step
        }
        Err(Interrupt::Terminal(f)) => return Err(Interrupt::Terminal(f)),
        Err(e) => {
            if let Interrupt::Fail(f) = &e {
                evaluation_failed(&ctx, prev, f)?;
            }
            if ctx.vars.is_nested() {
                aborted(&ctx, prev, matches!(e, Interrupt::Abort))?;
            }
            return Err(e);
        }
    };
    // The next state, looked up once per transition in the scope the state belongs to (a name that is
    // not there fails the execution once the state has exited); the step's borrows end here.
    let Step { next, output, assign } = step;
    let next = next.map(|n| states.get(n).ok_or_else(|| n.to_owned())).transpose();
    // The output is serialized once: for the history, to check the payload limit, and for the next
    // state's entered event.
    let made = || outputs_result(state).then(|| texts.result.get().cloned()).flatten();
    let output_text = unchanged.or_else(made).unwrap_or_else(|| JsonText::new(&output));
    if output_text.len() > exec.engine.config.max_payload_bytes {
        return Err(Interrupt::Fail(Failure::new(
            ErrorName::DataLimitExceeded,
            format!(
                "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                state.name
            ),
        )));
    }
    // `Assign: {}` assigns nothing, and AWS then writes no `assignedVariables` (recorded in
    // `assign/test_assign_base__test_base_cases__BASE_EMPTY`).
    let assigned = assign.filter(|a| !a.is_empty()).map(|a| {
        let mut list = Vec::with_capacity(a.len());
        for (k, v) in a {
            list.push((k.clone(), JsonText::new(&v)));
            vars.set(k, v);
        }
        list
    });
    let exited_at = exec.now();
    let exited = exec.event_at(
        prev,
        EventDetails::StateExited { state_type: st, name, output: output_text.clone(), assigned },
        exited_at,
    )?;
    let next = next.map_err(|missing| {
        Interrupt::Fail(Failure::new(ErrorName::Runtime, format!("The state '{missing}' does not exist")))
    })?;
    let (output, output_text) = match &exec.replay {
        // A resumed execution may go on with the recorded output: its next state renders its own text.
        Some(r) => (r.exited(exited, vars).unwrap_or(output), None),
        None => (output, Some(output_text)),
    };
    Ok((Flow { next, output }, output_text, exited_at))
}

/// What the state's module makes of its input.
pub(crate) async fn step<'a>(ctx: StateCtx<'a>, input: Value, prev: &mut u64) -> Result<Step<'a>, Interrupt> {
    let jsonata = ctx.state.query_language == QueryLanguage::Jsonata;
    Ok(match &ctx.state.kind {
        // The JSONata arms and Fail are boxed: the future of every state (a scope holds the one that
        // runs, a waiting Task's too) is no larger than a JSONPath Pass's or a Wait's.
        StateKind::Fail(f) => return Err(Box::pin(terminal::fail(&ctx, f, &input)).await?.into()),
        StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
            // Boxed: keeps the future of every other state small (Map iterations move it around).
            Box::pin(with_recovery(ctx, input, prev)).await?
        }
        StateKind::Pass(p) if jsonata => Box::pin(pass::run_jsonata(&ctx, p, &input)).await?,
        StateKind::Pass(p) => pass::run(&ctx, p, input).await?,
        StateKind::Choice(c) if jsonata => Box::pin(choice::run_jsonata(&ctx, c, &input)).await?,
        StateKind::Choice(c) => choice::run(&ctx, c, input)?,
        StateKind::Wait(w) if jsonata => Box::pin(wait::run_jsonata(ctx, w, input)).await?,
        StateKind::Wait(w) => wait::run(ctx, w, input).await?,
        StateKind::Succeed if jsonata => Box::pin(terminal::succeed_jsonata(&ctx, &input)).await?,
        StateKind::Succeed => terminal::succeed(&ctx, &input)?,
    })
}

/// A Task, Parallel or Map: attempts until one succeeds, no retrier retries, or a Catch handles it.
async fn with_recovery<'a>(ctx: StateCtx<'a>, input: Value, prev: &mut u64) -> Result<Step<'a>, Interrupt> {
    static NO_RECOVERY: std::sync::LazyLock<Recovery> = std::sync::LazyLock::new(Recovery::default);
    let recovery = ctx.state.recovery().unwrap_or(&NO_RECOVERY);
    let mut retries = Retries::new(&recovery.retry);
    // Whether a Map or Parallel attempt got as far as its `…StateStarted` (the cursor is left there).
    let mut opened = false;
    loop {
        let ctx = ctx.attempt(retries.count);
        let before = *prev;
        let failure = match attempt(ctx, &input, prev).await {
            // Boxed, like the Catch below: the future of an attempt that waits stays small.
            Ok(result) => return Ok(Box::pin(recovery::succeeded(&ctx, recovery, input, result)).await?),
            Err(Interrupt::Fail(_)) if ctx.abort.is_aborted() => return Err(Interrupt::Abort),
            Err(Interrupt::Fail(f)) => f,
            Err(other) => return Err(other),
        };
        opened |= *prev != before;
        if let Some(delay) = retries.next_delay(&failure) {
            let delay = match &ctx.exec.replay {
                Some(replay) => replay.delay_left(*prev, ctx.exec.history.link(*prev), delay, ctx.now()),
                None => delay,
            };
            // Boxed: the timer is not carried by the attempts' future.
            let backed_off = Box::pin(async {
                tokio::select! {
                    () = tokio::time::sleep(delay) => true,
                    () = ctx.abort.aborted() => false,
                }
            });
            if !backed_off.await {
                return Err(Interrupt::Abort);
            }
            continue;
        }
        // A Map whose evaluation failed before it started is closed too (AWS: `MapStateEntered`,
        // `EvaluationFailed`, `MapStateFailed` in `jsonata/scenarios/test_base_scenarios__test_map_state_items_input_types__null`);
        // one that failed with a terminal error (`States.Runtime`) is not: the execution just fails
        // (`scenarios/test_base_scenarios__test_map_state_tolerated_failure_count_path__NoNumber`).
        let terminal = failure.name.as_ref().is_some_and(ErrorName::is_terminal);
        if evaluation_failed(&ctx, prev, &failure)? || (opened && !terminal) {
            close_failed(&ctx, prev)?;
        }
        return match Box::pin(recovery::caught(&ctx, recovery, input, &failure)).await? {
            Some(step) => Ok(step),
            None => Err(Interrupt::Fail(failure)),
        };
    }
}

/// How a TestState run of one state ends.
pub(crate) enum TestEnd<'a> {
    /// The state's step (SUCCEEDED).
    Done(Step<'a>),
    /// Nothing handles the failure (FAILED).
    Failed(Failure),
    /// A retrier would retry it (RETRIABLE).
    Retriable(Failure),
    /// A Catch handles it (CAUGHT_ERROR): the catcher's step.
    Caught(Failure, Step<'a>),
}

/// TestState: the state run once through the same modules as [`step`] — one attempt of a Task,
/// Parallel or Map (its `retried` retries so far are `$$.State.RetryCount` and count against the
/// matching retrier), then the Retry and Catch decision without waiting or attempting again.
pub(crate) async fn test_step<'a>(
    ctx: StateCtx<'a>,
    input: Value,
    prev: &mut u64,
    retried: u32,
) -> Result<TestEnd<'a>, Interrupt> {
    let Some(recovery) = ctx.state.recovery() else {
        return match step(ctx, input, prev).await {
            Ok(step) => Ok(TestEnd::Done(step)),
            Err(Interrupt::Fail(f) | Interrupt::Terminal(f)) => Ok(TestEnd::Failed(f)),
            Err(Interrupt::Abort) => Err(Interrupt::Abort),
        };
    };
    let ctx = ctx.attempt(retried);
    let failure = match Box::pin(attempt(ctx, &input, prev)).await {
        Ok(result) => {
            return Ok(match recovery::succeeded(&ctx, recovery, input, result).await {
                Ok(step) => TestEnd::Done(step),
                Err(f) => TestEnd::Failed(f),
            });
        }
        Err(Interrupt::Fail(f)) => f,
        Err(Interrupt::Terminal(f)) => return Ok(TestEnd::Failed(f)),
        Err(Interrupt::Abort) => return Err(Interrupt::Abort),
    };
    if let Some((index, delay)) = recovery::retrier_for(&recovery.retry, &failure, |_| u64::from(retried)) {
        ctx.inspect(|i| {
            let d = i.error_details.get_or_insert_with(Default::default);
            d.retry_index = Some(index);
            d.retry_backoff_interval_seconds = Some(delay.as_secs_f64());
        });
        return Ok(TestEnd::Retriable(failure));
    }
    Ok(match recovery::caught(&ctx, recovery, input, &failure).await? {
        Some(step) => TestEnd::Caught(failure, step),
        None => TestEnd::Failed(failure),
    })
}

/// A Task state that a branch or iteration ends with, failed or aborted, or a Wait state it ends with
/// when aborted (`abort`), without exiting: its `…StateAborted` (AWS, `recorded/callback.history.json`,
/// `test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_PARALLEL_WAIT_FOR_TASK_TOKEN]`: the branch's
/// `TaskFailed`, then `TaskStateAborted`, then `ParallelStateFailed`; a Fail state gets none,
/// `scenarios/test_base_scenarios__test_parallel_state_fail`).
fn aborted(ctx: &StateCtx<'_>, prev: &mut u64, abort: bool) -> Result<(), Interrupt> {
    let details = match &ctx.state.kind {
        StateKind::Task(_) => EventDetails::TaskStateAborted,
        StateKind::Wait(_) if abort => {
            EventDetails::WaitStateAborted { name: Arc::from(ctx.state.name.as_str()) }
        }
        _ => return Ok(()),
    };
    ctx.event(prev, details)?;
    Ok(())
}

/// The evaluation failure recorded for this state, if any (see [`StateCtx::query_error_at`]).
fn take_evaluation_failure(ctx: &StateCtx<'_>) -> Option<(Option<String>, String)> {
    let mut pending = ctx.exec.evaluation_failures.lock().unwrap_or_else(|e| e.into_inner());
    if pending.is_empty() {
        return None;
    }
    pending.remove(&ctx.info.entered_event)
}

/// When `failure` fails the state and is a JSONata evaluation failure, AWS's `EvaluationFailed` event
/// (error, cause, the field as `location`, the state), linked beside the state's entered event
/// (`jsonata/assign/test_assign_reference_variables__test_undefined_reference__BASE_UNDEFINED_OUTPUT_MULTIPLE_STATES`:
/// `6 PassStateEntered ← 5`, `7 EvaluationFailed ← 5`); true when it was written.
fn evaluation_failed(ctx: &StateCtx<'_>, prev: &mut u64, failure: &Failure) -> Result<bool, Interrupt> {
    if failure.name != Some(ErrorName::QueryEvaluationError) {
        return Ok(false);
    }
    let Some((location, cause)) = take_evaluation_failure(ctx) else { return Ok(false) };
    if failure.cause.as_deref() != Some(cause.as_str()) {
        return Ok(false);
    }
    let details = EventDetails::EvaluationFailed {
        error: ErrorName::QueryEvaluationError.as_str().to_owned(),
        cause,
        location,
        state: Arc::from(ctx.state.name.as_str()),
    };
    ctx.exec.event_beside(prev, ctx.info.entered_event, details)?;
    Ok(true)
}

/// After the last failed attempt of a Map or Parallel that started (`*prev` is its `…StateStarted`), its
/// `…StateFailed`: AWS writes it once, not after every attempt
/// (`scenarios/test_base_scenarios__test_map_state_retry`: three `MapStateStarted`, one `MapStateFailed`;
/// `…__test_parallel_state_retry` likewise).
fn close_failed(ctx: &StateCtx<'_>, prev: &mut u64) -> Result<(), Interrupt> {
    let started = *prev;
    let closing = match &ctx.state.kind {
        StateKind::Map(_) => EventDetails::MapStateFailed { started },
        StateKind::Parallel(_) => EventDetails::ParallelStateFailed { started },
        _ => return Ok(()),
    };
    ctx.event(prev, closing)?;
    Ok(())
}

/// One attempt of a Task, Parallel or Map; each kind is boxed so a waiting task does not carry the
/// (large) Map and Parallel futures.
async fn attempt(ctx: StateCtx<'_>, input: &Value, prev: &mut u64) -> Result<Value, Interrupt> {
    match &ctx.state.kind {
        StateKind::Task(t) => Box::pin(task::run(ctx, t, input, prev)).await,
        StateKind::Parallel(p) => Box::pin(parallel::run(ctx, p, input, prev)).await,
        StateKind::Map(m) => Box::pin(map::run(ctx, m, input, prev)).await,
        _ => Err(ctx.runtime("internal error: not a retryable state").into()),
    }
}
