//! What Task, Parallel and Map share around their work ([`Recovery`]): on success, ResultSelector and
//! ResultPath (JSONata: Output) with Assign; on failure, the Retry back-off and the Catch that
//! handles it. Above the pipeline and JSONata; it knows no state type (the interpreter runs the
//! attempts).

use std::time::Duration;

use serde_json::{Map as JsonMap, Value};
use sfn_asl::{Catcher, QueryLanguage, Recovery, ResultPath, Retrier};

use crate::error::Failure;
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;

/// How often each retrier has retried so far.
pub(crate) struct Retries<'r> {
    retry: &'r [Retrier],
    attempts: Vec<u64>,
    /// Retries so far, all retriers together (`$$.State.RetryCount`).
    pub(crate) count: u32,
}

impl<'r> Retries<'r> {
    pub(crate) fn new(retry: &'r [Retrier]) -> Self {
        Retries { retry, attempts: vec![0; retry.len()], count: 0 }
    }

    /// The back-off before the next attempt, when the first retrier matching `failure` has attempts
    /// left (and counts this one).
    pub(crate) fn next_delay(&mut self, failure: &Failure) -> Option<Duration> {
        let attempts = &self.attempts;
        let (i, delay) = retrier_for(self.retry, failure, |i| attempts[i])?;
        self.attempts[i] += 1;
        self.count += 1;
        Some(delay)
    }
}

/// The first retrier matching `failure`, with its index and the back-off before its next retry, when it
/// has attempts left after `done(index)` retries.
pub(crate) fn retrier_for(
    retry: &[Retrier],
    failure: &Failure,
    done: impl Fn(usize) -> u64,
) -> Option<(usize, Duration)> {
    let i = retry.iter().position(|r| failure.matches(&r.error_equals))?;
    let (r, done) = (&retry[i], done(i));
    (done < r.max_attempts).then(|| (i, backoff(r, done)))
}

/// The step after a successful attempt: ResultSelector, Assign, ResultPath and OutputPath (JSONata:
/// Assign and Output, which default to the result).
pub(crate) async fn succeeded<'a>(
    ctx: &StateCtx<'a>,
    recovery: &Recovery,
    input: Value,
    result: Value,
) -> Result<Step<'a>, Failure> {
    let state = ctx.state;
    ctx.inspect(|i| i.result = Some(result.clone()));
    if state.query_language == QueryLanguage::Jsonata {
        let sc = AtaScope { input: &input, result: Some(&result), error_output: None };
        let assign = ctx.ata_assign(state.assign.as_ref(), sc).await?;
        let output = match &state.output {
            Some(p) => ctx.ata_payload(p, "Output", sc).await?,
            None => result,
        };
        return Ok(Step { next: state.next.as_deref(), output, assign });
    }
    let result = match &recovery.result_selector {
        Some(sel) => ctx.payload_owned(sel, result)?,
        None => result,
    };
    ctx.inspect(|i| i.after_result_selector = Some(result.clone()));
    let assign = ctx.assign(state.assign.as_ref(), &result)?;
    let output = ctx.apply_result(&recovery.result_path, input, result)?;
    Ok(Step { next: state.next.as_deref(), output, assign })
}

/// The step after a failure no retrier retries: the first matching Catch, if any.
pub(crate) async fn caught<'a>(
    ctx: &StateCtx<'a>,
    recovery: &'a Recovery,
    input: Value,
    failure: &Failure,
) -> Result<Option<Step<'a>>, Failure> {
    let Some(index) = recovery.catch.iter().position(|c| failure.matches(&c.error_equals)) else {
        return Ok(None);
    };
    ctx.inspect(|i| {
        i.error_details.get_or_insert_with(Default::default).catch_index = Some(index);
    });
    catch(ctx, &recovery.catch[index], input, failure).await.map(Some)
}

/// The step a Catcher leads to: the error output `{Error, Cause}` placed by ResultPath (JSONata: Output).
async fn catch<'a>(
    ctx: &StateCtx<'a>,
    c: &'a Catcher,
    input: Value,
    failure: &Failure,
) -> Result<Step<'a>, Failure> {
    let mut err = JsonMap::new();
    match &failure.name {
        Some(name) => {
            err.insert("Error".into(), Value::String(name.shown().to_owned()));
            if let Some(cause) = &failure.cause {
                err.insert("Cause".into(), Value::String(cause.clone()));
            }
        }
        // A failure without an error name (SendTaskFailure with neither `error` nor `cause`) is caught
        // as `{"Error": null, "Cause": null}` (AWS, `recorded/callback.history.json`:
        // `test_sqs_failure_in_wait_for_task_tok_no_error_field[SQS_WAIT_FOR_TASK_TOKEN_CATCH]`).
        None => {
            err.insert("Error".into(), Value::Null);
            err.insert("Cause".into(), failure.cause.clone().map_or(Value::Null, Value::String));
        }
    }
    let err = Value::Object(err);
    if ctx.state.query_language == QueryLanguage::Jsonata {
        let sc = AtaScope { input: &input, result: None, error_output: Some(&err) };
        let assign = ctx.ata_assign(c.assign.as_ref(), sc).await?;
        let output = match &c.output {
            Some(p) => ctx.ata_payload(p, "Output", sc).await?,
            None => err,
        };
        return Ok(Step { next: Some(c.next.as_str()), output, assign });
    }
    let assign = ctx.assign(c.assign.as_ref(), &err)?;
    let output = match &c.result_path {
        ResultPath::Whole => err,
        ResultPath::Discard => input,
        ResultPath::Path(rp) => rp.set(input, err).map_err(|e| Failure::new(e.error_name(), e.message()))?,
    };
    Ok(Step { next: Some(c.next.as_str()), output, assign })
}

/// The delay before retry number `attempt` (0-based) of a retrier.
pub(crate) fn backoff(r: &Retrier, attempt: u64) -> Duration {
    let exp = i32::try_from(attempt).unwrap_or(i32::MAX);
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(exp);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    secs = secs.min(31_536_000.0);
    if r.jitter == sfn_asl::Jitter::Full {
        secs *= rand::random::<f64>();
    }
    Duration::from_secs_f64(secs.max(0.0))
}
