//! Choice states: the first matching rule (`rules` in JSONPath, a `Condition` in JSONata) or the
//! Default picks the next state; `States.NoChoiceMatched` otherwise.

use serde_json::Value;
use sfn_asl::{Choice, ChoiceRule, Condition, IoPath};
use sfn_path::{ErrorName, Scope};

use crate::error::Failure;
use crate::exec::{StateCtx, Step};
use crate::jsonata::AtaScope;
use crate::rules;

/// A JSONPath Choice state.
pub(crate) fn run<'a>(ctx: &StateCtx<'a>, c: &'a Choice, input: Value) -> Result<Step<'a>, Failure> {
    let state = ctx.state;
    // Without InputPath the effective input is the input itself (moved, not copied).
    let eff = match &state.input_path {
        IoPath::Whole => {
            ctx.input_path(&input)?;
            input
        }
        _ => ctx.input_path(&input)?.into_owned(),
    };
    let view = ctx.view();
    let scope = Scope { input: &eff, context: &view, variables: ctx.vars };
    let mut matched = None;
    for rule in &c.choices {
        if rules::eval(&rule.condition, &scope).map_err(|m| ctx.runtime(&m))? {
            matched = Some(rule);
            break;
        }
    }
    let (next, assign) = match matched {
        Some(rule) => (rule.next.as_str(), rule.assign.as_ref()),
        None => match &c.default {
            Some(d) => (d.as_str(), state.assign.as_ref()),
            None => return Err(no_match(ctx)),
        },
    };
    let assign = ctx.assign(assign, &eff)?;
    let out = ctx.output_path(eff)?;
    Ok(Step { next: Some(next), output: out, assign })
}

/// A JSONata Choice state: the matched rule's (or the state's, for the Default) Assign and Output.
pub(crate) async fn run_jsonata<'a>(
    ctx: &StateCtx<'a>,
    c: &'a Choice,
    input: &Value,
) -> Result<Step<'a>, Failure> {
    let state = ctx.state;
    let sc = AtaScope::input(input);
    let matched = first_match(ctx, &c.choices, sc).await?;
    let (next, output, assign) = match (matched, &c.default) {
        (Some(rule), _) => (Some(rule.next.as_str()), rule.output.as_ref(), rule.assign.as_ref()),
        (None, Some(d)) => (Some(d.as_str()), state.output.as_ref(), state.assign.as_ref()),
        (None, None) => return Err(no_match(ctx)),
    };
    ctx.ata_exit(next, output, assign, input).await
}

async fn first_match<'r>(
    ctx: &StateCtx<'_>,
    choices: &'r [ChoiceRule],
    sc: AtaScope<'_>,
) -> Result<Option<&'r ChoiceRule>, Failure> {
    for rule in choices {
        let hit = match &rule.condition {
            Condition::Jsonata(e) => ctx.ata_condition(e, sc).await?,
            _ => return Err(ctx.runtime("A JSONata Choice rule needs a Condition.")),
        };
        if hit {
            return Ok(Some(rule));
        }
    }
    Ok(None)
}

fn no_match(ctx: &StateCtx<'_>) -> Failure {
    Failure::new(
        ErrorName::NoChoiceMatched,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). No Choice Rule matched and no Default is set.",
            ctx.info.name, ctx.info.entered_event
        ),
    )
}
