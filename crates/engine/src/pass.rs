//! Pass states: `Result` or `Parameters`, then ResultPath and OutputPath (JSONata: `Output`, defaulting
//! to `Result`, else the input).

use serde_json::Value;
use sfn_asl::{Pass, ResultPath};

use crate::error::Failure;
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;

/// A JSONPath Pass state.
pub(crate) async fn run(ctx: &StateCtx<'_>, p: &Pass, input: Value) -> Result<Step, Failure> {
    if p.result.is_none() && matches!(p.result_path, ResultPath::Whole) {
        // ResultPath `$`: the output is the result alone, so the input is given up to InputPath and
        // Parameters, which move what they select out of it instead of copying it.
        let eff = ctx.input_path_owned(input)?;
        let result = ctx.parameters_owned(p.parameters.as_ref(), eff).await?;
        ctx.inspect(|i| i.result = Some(result.clone()));
        let assign = ctx.assign(ctx.state.assign.as_ref(), &result)?;
        let out = ctx.apply_result(&ResultPath::Whole, Value::Null, result)?;
        return Ok(Step { next: ctx.state.next.clone(), output: out, assign });
    }
    let eff = ctx.input_path(&input)?;
    let result = match &p.result {
        Some(r) => r.clone(),
        None => ctx.parameters(p.parameters.as_ref(), eff).await?,
    };
    ctx.inspect(|i| i.result = Some(result.clone()));
    let assign = ctx.assign(ctx.state.assign.as_ref(), &result)?;
    let out = ctx.apply_result(&p.result_path, input, result)?;
    Ok(Step { next: ctx.state.next.clone(), output: out, assign })
}

/// A JSONata Pass state: no Parameters/ResultPath; a `Result` (if any) is its default output.
pub(crate) async fn run_jsonata(ctx: &StateCtx<'_>, p: &Pass, input: &Value) -> Result<Step, Failure> {
    let sc = AtaScope::input(input);
    let state = ctx.state;
    let assign = ctx.ata_assign(state.assign.as_ref(), sc).await?;
    let output = match (&state.output, &p.result) {
        (Some(o), _) => ctx.ata_payload(o, "Output", sc).await?,
        (None, Some(r)) => r.clone(),
        (None, None) => input.clone(),
    };
    Ok(Step { next: state.next.clone(), output, assign })
}
