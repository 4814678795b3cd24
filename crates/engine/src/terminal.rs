//! The states that end a scope: Succeed (its output is the scope's) and Fail (its `Error`/`Cause`,
//! literal, by path or intrinsic, or JSONata, become the scope's failure).

use serde_json::Value;
use sfn_asl::{Fail, Text};
use sfn_path::{ErrorName, Scope};

use crate::error::Failure;
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;

/// A JSONPath Succeed state.
pub(crate) fn succeed<'a>(ctx: &StateCtx<'a>, input: &Value) -> Result<Step<'a>, Failure> {
    let eff = ctx.input_path(input)?;
    let out = ctx.output_path(eff.into_owned())?;
    Ok(Step { next: None, output: out, assign: None })
}

/// A JSONata Succeed state.
pub(crate) async fn succeed_jsonata<'a>(ctx: &StateCtx<'a>, input: &Value) -> Result<Step<'a>, Failure> {
    let state = ctx.state;
    ctx.ata_exit(state.next.as_deref(), state.output.as_ref(), state.assign.as_ref(), input).await
}

/// A Fail state: the failure it ends its scope with (or the error evaluating it).
pub(crate) async fn fail(ctx: &StateCtx<'_>, f: &Fail, input: &Value) -> Result<Failure, Failure> {
    let name = text(ctx, f, &f.error, input).await?.map(ErrorName::from);
    let cause = text(ctx, f, &f.cause, input).await?;
    Ok(Failure { name, cause })
}

/// `Error` or `Cause` of a Fail state.
async fn text(
    ctx: &StateCtx<'_>,
    f: &Fail,
    t: &Option<Text>,
    input: &Value,
) -> Result<Option<String>, Failure> {
    match t {
        None => Ok(None),
        Some(Text::Value(s)) => Ok(Some(s.clone())),
        Some(Text::Expr(e)) => {
            let view = ctx.view();
            let field = if std::ptr::eq(t, &f.error) { "ErrorPath" } else { "CausePath" };
            let v = e.eval(&Scope { input, context: &view, variables: ctx.vars }).map_err(|err| match e {
                // AWS: `scenarios/test_base_scenarios__test_invalid_jsonpath__INVALID_JSONPATH_IN_ERRORPATH`.
                sfn_path::Expr::Path(p) if p.compile_error().is_none() => ctx.runtime(&format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    p.source(),
                    serde_json::to_string(input).unwrap_or_default()
                )),
                _ => ctx.runtime(err.message()),
            })?;
            match v.as_ref() {
                Value::String(s) => Ok(Some(s.clone())),
                other => Err(ctx.runtime(&format!(
                    "The value of the path or intrinsic function must be a string, got {other}"
                ))),
            }
        }
        Some(Text::Jsonata(e)) => {
            let field = if std::ptr::eq(t, &f.error) { "Error" } else { "Cause" };
            ctx.ata_string(e, field, AtaScope::input(input)).await.map(Some)
        }
    }
}
