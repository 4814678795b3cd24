//! The interpreter: runs a scope state by state ([`run_scope`], installed in every [`Exec`] as
//! [`Exec::scopes`]); for each state the `…StateEntered` event, the state's module (Task, Parallel and
//! Map through their [`Recovery`]: attempts, Retry back-off, Catch), the payload limit, Assign and the
//! `…StateExited` event. The top of the state layer: the only module that matches on the state type.

use std::sync::Arc;

use serde_json::Value;
use sfn_asl::{QueryLanguage, Recovery, State, StateKind, States};
use sfn_path::ErrorName;
use sfn_patterns::AbortSignal;

use crate::error::{Failure, Interrupt};
use crate::exec::{BoxFuture, Exec, Flow, StateCtx, StateInfo, Step};
use crate::history::{EventDetails, JsonText};
use crate::recovery::{self, Retries};
use crate::vars::Vars;
use crate::{choice, map, parallel, pass, task, terminal, wait};

/// Runs a scope (the machine, a branch or an iteration) from `start_at` to its end.
pub(crate) fn run_scope<'a>(
    exec: &'a Arc<Exec>,
    start_at: &'a str,
    states: &'a States,
    input: Value,
    vars: &'a mut Vars,
    prev: &'a mut u64,
    abort: &'a AbortSignal,
) -> BoxFuture<'a, Result<Value, Interrupt>> {
    Box::pin(async move {
        let mut current = start_at;
        let mut input = input;
        loop {
            // A transition: where a stop, or a termination (`Execution::terminate`), takes effect.
            if abort.is_aborted() || exec.terminating.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Interrupt::Abort);
            }
            let Some(state) = states.get(current) else {
                return Err(Interrupt::Fail(Failure::new(
                    ErrorName::Runtime,
                    format!("The state '{current}' does not exist"),
                )));
            };
            let flow = run_state(exec, state, input, vars, prev, abort).await?;
            match flow.next {
                Some(next) => {
                    current = states.get(&next).map(|s| s.name.as_str()).unwrap_or_default();
                    if current.is_empty() {
                        return Err(Interrupt::Fail(Failure::new(
                            ErrorName::Runtime,
                            format!("The state '{next}' does not exist"),
                        )));
                    }
                    input = flow.output;
                }
                None => return Ok(flow.output),
            }
        }
    })
}

/// One state: entered, run, exited.
async fn run_state(
    exec: &Arc<Exec>,
    state: &State,
    input: Value,
    vars: &mut Vars,
    prev: &mut u64,
    abort: &AbortSignal,
) -> Result<Flow, Interrupt> {
    let st = state.state_type();
    let name: Arc<str> = Arc::from(state.name.as_str());
    let entered_time = exec.now();
    // Only the machine's first state follows the root (0): its input is the execution input, as the
    // caller wrote it (AWS keeps a non-object input's text verbatim, e.g. `"[\"Hello\", \"World\"]"` in
    // `scenarios/test_base_scenarios__test_map_state_legacy_config_inline` — see `StartRequest::input_text`).
    let input_text = if *prev == 0 { exec.input_text() } else { JsonText::new(&input) };
    let entered = exec
        .event(prev, EventDetails::StateEntered { state_type: st, name: name.clone(), input: input_text })?;
    let entered_time = exec.replay.as_ref().and_then(|r| r.timestamp(entered)).unwrap_or(entered_time);
    let info = StateInfo {
        name: &state.name,
        entered_event: entered,
        entered_time,
        retry_count: None,
        token: None,
        map_item: None,
    };
    let ctx = StateCtx { exec, state, info, vars: &*vars, abort };
    let step = match step(ctx, input, prev).await {
        // A failure while the execution is being stopped (a JSONata evaluation it did not wait for)
        // is the stop.
        Err(Interrupt::Fail(_)) if abort.is_aborted() => return Err(Interrupt::Abort),
        step => step?,
    };
    // The output is serialized once: for the history, and to check the payload limit.
    let output_text = JsonText::new(&step.output);
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
    let assigned = step.assign.filter(|a| !a.is_empty()).map(|a| {
        let mut list = Vec::with_capacity(a.len());
        for (k, v) in a {
            list.push((k.clone(), JsonText::new(&v)));
            vars.set(k, v);
        }
        list
    });
    let exited =
        exec.event(prev, EventDetails::StateExited { state_type: st, name, output: output_text, assigned })?;
    let output = match &exec.replay {
        Some(r) => r.exited(exited, vars).unwrap_or(step.output),
        None => step.output,
    };
    Ok(Flow { next: step.next, output })
}

/// What the state's module makes of its input.
async fn step(ctx: StateCtx<'_>, input: Value, prev: &mut u64) -> Result<Step, Interrupt> {
    let jsonata = ctx.state.query_language == QueryLanguage::Jsonata;
    Ok(match &ctx.state.kind {
        StateKind::Fail(f) => return Err(terminal::fail(&ctx, f, &input).await?.into()),
        StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
            // Boxed: keeps the future of every other state small (Map iterations move it around).
            Box::pin(with_recovery(ctx, input, prev)).await?
        }
        StateKind::Pass(p) if jsonata => pass::run_jsonata(&ctx, p, &input).await?,
        StateKind::Pass(p) => pass::run(&ctx, p, input)?,
        StateKind::Choice(c) if jsonata => choice::run_jsonata(&ctx, c, &input).await?,
        StateKind::Choice(c) => choice::run(&ctx, c, input)?,
        StateKind::Wait(w) if jsonata => Box::pin(wait::run_jsonata(ctx, w, input)).await?,
        StateKind::Wait(w) => wait::run(ctx, w, input).await?,
        StateKind::Succeed if jsonata => terminal::succeed_jsonata(&ctx, &input).await?,
        StateKind::Succeed => terminal::succeed(&ctx, &input)?,
    })
}

/// A Task, Parallel or Map: attempts until one succeeds, no retrier retries, or a Catch handles it.
async fn with_recovery(ctx: StateCtx<'_>, input: Value, prev: &mut u64) -> Result<Step, Interrupt> {
    let no_recovery = Recovery::default();
    let recovery = ctx.state.recovery().unwrap_or(&no_recovery);
    let mut retries = Retries::new(&recovery.retry);
    loop {
        let ctx = ctx.attempt(retries.count);
        let failure = match attempt(ctx, &input, prev).await {
            Ok(result) => return Ok(recovery::succeeded(&ctx, recovery, input, result).await?),
            Err(Interrupt::Fail(_)) if ctx.abort.is_aborted() => return Err(Interrupt::Abort),
            Err(Interrupt::Fail(f)) => f,
            Err(other) => return Err(other),
        };
        if let Some(delay) = retries.next_delay(&failure) {
            let delay = match &ctx.exec.replay {
                Some(replay) => replay.delay_left(*prev, delay, ctx.now()),
                None => delay,
            };
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctx.abort.aborted() => return Err(Interrupt::Abort),
            }
            continue;
        }
        return match recovery::caught(&ctx, recovery, input, &failure).await? {
            Some(step) => Ok(step),
            None => Err(Interrupt::Fail(failure)),
        };
    }
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
