//! Pass states: `Result` or `Parameters`, then ResultPath and OutputPath (JSONata: `Output`, defaulting
//! to `Result`, else the input).

use serde_json::Value;
use sfn_asl::{IoPath, Pass, ResultPath};
use sfn_path::{Root, Segment, Selector};

use crate::error::Failure;
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;

/// A JSONPath Pass state.
pub(crate) async fn run<'a>(ctx: &StateCtx<'a>, p: &Pass, input: Value) -> Result<Step<'a>, Failure> {
    if p.result.is_none() && matches!(p.result_path, ResultPath::Whole) {
        // ResultPath `$`: the output is the result alone, so the input is given up to InputPath and
        // Parameters, which move what they select out of it instead of copying it.
        let eff = ctx.input_path_owned(input)?;
        let result = ctx.parameters_owned(p.parameters.as_ref(), eff).await?;
        ctx.inspect(|i| i.result = Some(result.clone()));
        let assign = ctx.assign(ctx.state.assign.as_ref(), &result)?;
        let out = ctx.apply_result(&ResultPath::Whole, Value::Null, result)?;
        return Ok(Step { next: ctx.state.next.as_deref(), output: out, assign });
    }
    if p.result.is_none() && ctx.exec.test.is_none() && result_is_output(ctx, p, &input) {
        // ResultPath `$.x` and OutputPath `$.x` on an object: the output is the result alone (what
        // the merge then the selection would give), so the input is not rebuilt around it. (Parameters
        // copy what they select: moving it out, `Template::eval_owned`, measured slower here.)
        let eff = ctx.input_path(&input)?;
        let result = ctx.parameters(p.parameters.as_ref(), eff).await?;
        let assign = ctx.assign(ctx.state.assign.as_ref(), &result)?;
        return Ok(Step { next: ctx.state.next.as_deref(), output: result, assign });
    }
    let eff = ctx.input_path(&input)?;
    let result = match &p.result {
        Some(r) => r.clone(),
        None => ctx.parameters(p.parameters.as_ref(), eff).await?,
    };
    ctx.inspect(|i| i.result = Some(result.clone()));
    let assign = ctx.assign(ctx.state.assign.as_ref(), &result)?;
    let out = ctx.apply_result(&p.result_path, input, result)?;
    Ok(Step { next: ctx.state.next.as_deref(), output: out, assign })
}

/// True when ResultPath and OutputPath name the same one member (`$.x`) of an input that is an object (or
/// null, which ResultPath makes an object): placing the result there cannot fail, and OutputPath selects
/// it back, so the state's output is its result.
fn result_is_output(ctx: &StateCtx<'_>, p: &Pass, input: &Value) -> bool {
    let (ResultPath::Path(rp), IoPath::Path(op)) = (&p.result_path, &ctx.state.output_path) else {
        return false;
    };
    let (rp, op) = (rp.path(), op);
    let one_name = |s: &[Segment]| matches!(s, [Segment::Child(Selector::Name(_))]);
    *op.root() == Root::Input
        && one_name(op.segments())
        && rp.segments() == op.segments()
        && matches!(input, Value::Object(_) | Value::Null)
}

/// A JSONata Pass state: no Parameters/ResultPath; a `Result` (if any) is its default output.
pub(crate) async fn run_jsonata<'a>(
    ctx: &StateCtx<'a>,
    p: &Pass,
    input: &Value,
) -> Result<Step<'a>, Failure> {
    let sc = AtaScope::input(input);
    let state = ctx.state;
    let assign = ctx.ata_assign(state.assign.as_ref(), sc).await?;
    let output = match (&state.output, &p.result) {
        (Some(o), _) => ctx.ata_payload(o, "Output", sc).await?,
        (None, Some(r)) => r.clone(),
        (None, None) => input.clone(),
    };
    Ok(Step { next: state.next.as_deref(), output, assign })
}
