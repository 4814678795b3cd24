//! Wait states: `Seconds`/`Timestamp` (literal, `…Path` or JSONata), waited on tokio's timer (only what
//! is left of it when resuming), cut short by an abort.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use sfn_asl::{Dynamic, Wait};

use crate::error::{Failure, Interrupt};
use crate::exec::{StateCtx, Step, display_value};
use crate::jsonata::AtaScope;

/// A JSONPath Wait state.
pub(crate) async fn run<'a>(ctx: StateCtx<'a>, w: &Wait, input: Value) -> Result<Step<'a>, Interrupt> {
    let eff = ctx.input_path(&input)?.into_owned();
    wait(&ctx, w, &eff).await?;
    let assign = ctx.assign(ctx.state.assign.as_ref(), &eff)?;
    let out = ctx.output_path(eff)?;
    Ok(Step { next: ctx.state.next.as_deref(), output: out, assign })
}

/// A JSONata Wait state.
pub(crate) async fn run_jsonata<'a>(
    ctx: StateCtx<'a>,
    w: &Wait,
    input: Value,
) -> Result<Step<'a>, Interrupt> {
    wait(&ctx, w, &input).await?;
    let state = ctx.state;
    Ok(ctx.ata_exit(state.next.as_deref(), state.output.as_ref(), state.assign.as_ref(), &input).await?)
}

/// Waits as long as the state says (what is left of it when resuming).
async fn wait(ctx: &StateCtx<'_>, w: &Wait, eff: &Value) -> Result<(), Interrupt> {
    let duration = duration(ctx, w, eff).await?;
    // TestState evaluates the wait but does not wait.
    if ctx.exec.test.is_some() {
        return Ok(());
    }
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

/// The longest delay AWS accepts: 2^31 − 1 seconds from now (a signed 32-bit count of seconds).
/// LocalStack's AWS-validated `base/test_wait.py::test_timestamp_too_far_in_future_boundary` found a
/// TimestampPath 24,855 days ahead accepted and 24,856 days ahead failed; its older recording
/// `test_timestamp_too_far_in_future_fails` (800 days ahead) shows the execution still waiting after
/// `WaitStateEntered`. A delay past a STANDARD execution's one-year life is waited like any other.
const MAX_WAIT: Duration = Duration::from_secs(i32::MAX as u64);

/// How long the state waits, from now.
async fn duration(ctx: &StateCtx<'_>, w: &Wait, eff: &Value) -> Result<Duration, Failure> {
    let d = match w {
        Wait::Seconds(Dynamic::Value(s)) => Duration::from_secs(*s),
        Wait::Seconds(Dynamic::Path(p)) => Duration::from_secs(seconds_at(ctx, p, eff)?),
        Wait::Seconds(Dynamic::Jsonata(e)) => {
            Duration::from_secs(ctx.ata_integer(e, "Seconds", AtaScope::input(eff)).await?)
        }
        Wait::Timestamp(d) => {
            let (text, path) = match d {
                Dynamic::Value(t) => (t.clone(), None),
                Dynamic::Path(p) => (display_value(ctx.eval_path(p, eff)?.as_ref()), Some(p)),
                Dynamic::Jsonata(e) => (ctx.ata_string(e, "Timestamp", AtaScope::input(eff)).await?, None),
            };
            let at = sfn_asl::parse_timestamp(&text);
            let at = match (at, path, d) {
                (Some(at), _, _) => at,
                // LocalStack's wording for AWS's TimestampPath failure (`state_wait/wait_function/timestamp_path.py`).
                (None, Some(p), _) => {
                    return Err(ctx.runtime(&format!(
                        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {text}",
                        p.source()
                    )));
                }
                // A JSONata field's problems are `States.QueryEvaluationError`s (issue 15's unseen AWS cases).
                (None, None, Dynamic::Jsonata(e)) => {
                    return Err(ctx.query_error_at(
                        Some("Timestamp"),
                        &format!(
                            "The JSONata expression '{}' specified for the field 'Timestamp' returned an invalid timestamp: {text}",
                            e.source()
                        ),
                    ));
                }
                (None, None, _) => {
                    return Err(
                        ctx.runtime(&format!("The timestamp '{text}' is not a valid RFC 3339 timestamp"))
                    );
                }
            };
            let delta = at.with_timezone(&Utc) - ctx.now();
            delta.to_std().unwrap_or(Duration::ZERO)
        }
    };
    if d > MAX_WAIT {
        return Err(ctx.runtime("Wait state delay is too long"));
    }
    Ok(d)
}

/// `SecondsPath`: a non-negative integer (a numeric string too, as Jackson coerces it), with LocalStack's
/// wording for AWS's failures (`state_wait/wait_function/seconds_path.py`).
fn seconds_at(ctx: &StateCtx<'_>, p: &sfn_path::Path, eff: &Value) -> Result<u64, Failure> {
    let v = ctx.eval_path(p, eff)?;
    let n = match v.as_ref() {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    let shown = display_value(v.as_ref());
    match n {
        Some(n) if n >= 0 => Ok(n.unsigned_abs()),
        Some(_) => Err(ctx.runtime(&format!(
            "The SecondsPath parameter references a negative value: {} == {shown}",
            p.source()
        ))),
        None => Err(ctx.runtime(&format!(
            "The SecondsPath parameter cannot be parsed as a long value: {} == {shown}",
            p.source()
        ))),
    }
}
