//! Wait states: `Seconds`/`Timestamp` (literal, `…Path` or JSONata), waited on tokio's timer (only what
//! is left of it when resuming), cut short by an abort.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use sfn_asl::{Dynamic, Wait};

use crate::error::{Failure, Interrupt};
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;

/// A JSONPath Wait state.
pub(crate) async fn run(ctx: StateCtx<'_>, w: &Wait, input: Value) -> Result<Step, Interrupt> {
    let eff = ctx.input_path(&input)?.into_owned();
    wait(&ctx, w, &eff).await?;
    let assign = ctx.assign(ctx.state.assign.as_ref(), &eff)?;
    let out = ctx.output_path(eff)?;
    Ok(Step { next: ctx.state.next.clone(), output: out, assign })
}

/// A JSONata Wait state.
pub(crate) async fn run_jsonata(ctx: StateCtx<'_>, w: &Wait, input: Value) -> Result<Step, Interrupt> {
    wait(&ctx, w, &input).await?;
    let state = ctx.state;
    Ok(ctx.ata_exit(state.next.clone(), state.output.as_ref(), state.assign.as_ref(), &input).await?)
}

/// Waits as long as the state says (what is left of it when resuming).
async fn wait(ctx: &StateCtx<'_>, w: &Wait, eff: &Value) -> Result<(), Interrupt> {
    let duration = duration(ctx, w, eff).await?;
    let duration = match &ctx.exec.replay {
        Some(r) => {
            let relative = matches!(w, Wait::Seconds(_));
            r.wait_left(ctx.info.entered_event, ctx.info.entered_time, duration, relative, ctx.now())
        }
        None => duration,
    };
    if duration.is_zero() {
        return Ok(());
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        () = ctx.abort.aborted() => Err(Interrupt::Abort),
    }
}

/// How long the state waits, from now.
async fn duration(ctx: &StateCtx<'_>, w: &Wait, eff: &Value) -> Result<Duration, Failure> {
    Ok(match w {
        Wait::Seconds(Dynamic::Value(s)) => Duration::from_secs(*s),
        Wait::Seconds(Dynamic::Path(p)) => Duration::from_secs(ctx.number_at(p, eff, "SecondsPath")?),
        Wait::Seconds(Dynamic::Jsonata(e)) => {
            Duration::from_secs(ctx.ata_integer(e, "Seconds", AtaScope::input(eff)).await?)
        }
        Wait::Timestamp(d) => {
            let text = match d {
                Dynamic::Value(t) => t.clone(),
                Dynamic::Path(p) => match ctx.eval_path(p, eff)?.as_ref() {
                    Value::String(s) => s.clone(),
                    other => {
                        return Err(ctx.runtime(&format!(
                            "The TimestampPath field refers to value {other} which is not a valid timestamp"
                        )));
                    }
                },
                Dynamic::Jsonata(e) => ctx.ata_string(e, "Timestamp", AtaScope::input(eff)).await?,
            };
            let Some(at) = sfn_asl::parse_timestamp(&text) else {
                return Err(ctx.runtime(&format!("The timestamp '{text}' is not a valid RFC 3339 timestamp")));
            };
            let delta = at.with_timezone(&Utc) - ctx.now();
            delta.to_std().unwrap_or(Duration::ZERO)
        }
    })
}
