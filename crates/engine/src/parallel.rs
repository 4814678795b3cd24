//! Parallel states: Parameters (Arguments), then every branch as a scope of its own, concurrently, with
//! the variables frozen as they were; the first failure aborts the siblings.

use serde_json::Value;
use sfn_asl::{IoPath, Parallel};

use crate::error::Interrupt;
use crate::exec::{Closing, StateCtx};
use crate::history::{EventDetails, JsonText};
use crate::vars::Vars;

/// One attempt of a Parallel state: its result is the array of the branches' outputs.
pub(crate) async fn run(
    ctx: StateCtx<'_>,
    p: &Parallel,
    input: &Value,
    prev: &mut u64,
) -> Result<Value, Interrupt> {
    let eff = ctx.input_path(input)?;
    let branch_input = ctx.parameters(p.parameters.as_ref(), eff).await?;
    if let Some(mock) = ctx.test_mock() {
        // TestState's mock stands in for the branches.
        return Ok(mock.answer()?);
    }
    // The branches' input is the state's, text and all, when nothing selects or builds it.
    let unchanged = p.parameters.is_none() && matches!(ctx.state.input_path, IoPath::Whole);
    let input_text = ctx.texts.filter(|_| unchanged).map(|t| t.input.clone());
    let started = ctx.event(prev, EventDetails::ParallelStateStarted)?;
    let outcome = branches(ctx, p, branch_input, input_text, started).await.map(|(outputs, texts)| {
        // The result's text is the array of the branches' texts, as AWS writes it (see `Texts`).
        if let (Some(slot), Some(texts)) = (ctx.texts, texts) {
            let mut text = String::from("[");
            for (i, t) in texts.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(t.as_str());
            }
            text.push(']');
            let _ = slot.result.set(JsonText::from_text(&text));
        }
        Value::Array(outputs)
    });
    ctx.exec.close(prev, outcome, |how| match how {
        Closing::Succeeded => EventDetails::ParallelStateSucceeded { started },
        Closing::Aborted => EventDetails::ParallelStateAborted { started },
    })
}

/// Runs the branches; their outputs in order (and their texts, when every branch has one), or the first
/// failure (an abort only when nothing failed).
async fn branches(
    ctx: StateCtx<'_>,
    p: &Parallel,
    branch_input: Value,
    input_text: Option<JsonText>,
    started: u64,
) -> Result<(Vec<Value>, Option<Vec<JsonText>>), Interrupt> {
    let exec = ctx.exec;
    let (branch_abort, branch_signal) = ctx.abort.child();
    let frozen = std::sync::Arc::new(ctx.vars.clone());
    let futures = p.branches.iter().map(|b| {
        let input = branch_input.clone();
        let input_text = input_text.clone();
        let frozen = frozen.clone();
        let signal = branch_signal.clone();
        let abort_siblings = branch_abort.clone();
        async move {
            let mut vars = Vars::child_of(&frozen);
            let mut cursor = started;
            let r = exec
                .run_scope_text(&b.start_at, &b.states, input, input_text, &mut vars, &mut cursor, &signal)
                .await;
            if r.is_err() {
                abort_siblings.abort();
            }
            (r, cursor)
        }
    });
    let results = futures_util::future::join_all(futures).await;
    let mut outputs = Vec::with_capacity(results.len());
    let mut texts = Some(Vec::with_capacity(results.len()));
    let mut first_error: Option<Interrupt> = None;
    for (r, last) in results {
        match r {
            Ok((v, text)) => {
                outputs.push(v);
                match (&mut texts, text) {
                    (Some(all), Some(t)) => all.push(t),
                    _ => texts = None,
                }
            }
            Err(Interrupt::Abort) if first_error.is_some() => {}
            Err(e) => {
                if first_error.is_none() || matches!(first_error, Some(Interrupt::Abort)) {
                    if !matches!(e, Interrupt::Abort) {
                        // What follows `ParallelStateStarted` (a retry, `ParallelStateFailed`) links to
                        // the failed branch's last event.
                        exec.relink(started, last);
                    }
                    first_error = Some(e);
                }
            }
        }
    }
    match first_error {
        None => Ok((outputs, texts)),
        Some(e) => Err(e),
    }
}
