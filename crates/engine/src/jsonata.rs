//! States in the JSONata query language: `$states` (input, result, errorOutput, context), `{% %}`
//! templates for Arguments/Output/Assign/ItemSelector, expression-valued fields (Condition, Items,
//! Seconds, Timestamp, MaxConcurrency, TimeoutSeconds, …) and AWS's `States.QueryEvaluationError`s.
//!
//! Semantics (AWS "Transforming data with JSONata in Step Functions"): a JSONata state has no
//! InputPath/Parameters/ResultSelector/ResultPath/OutputPath; `$states.input` is the state's raw input;
//! `$states.result` is the Task/Parallel/Map result; `$states.errorOutput` is `{Error, Cause}` in a Catch;
//! `Output` defaults to the result (Task, Parallel, Map), the error output (Catch) or the input (others);
//! `Assign` and `Output` both see the variables as they were before the state.

use std::sync::Arc;

use serde_json::{Map as JsonMap, Value};
use sfn_asl::{Condition, Dynamic, JsonataExpr, JsonataTemplate, Payload, State, StateKind};
use sfn_path::jsonata::JsonataError;
use sfn_path::{ErrorName, Variables as _, type_name};
use sfn_patterns::AbortSignal;

use crate::error::{Failure, Interrupt, runtime};
use crate::exec::{Exec, StateInfo, Step};
use crate::vars::Vars;

/// What `$states` holds for one evaluation (besides `context`, built only when an expression uses it).
#[derive(Clone, Copy)]
pub(crate) struct AtaScope<'v> {
    pub(crate) input: &'v Value,
    pub(crate) result: Option<&'v Value>,
    pub(crate) error_output: Option<&'v Value>,
}

impl<'v> AtaScope<'v> {
    pub(crate) fn input(input: &'v Value) -> Self {
        AtaScope { input, result: None, error_output: None }
    }
}

/// A `States.QueryEvaluationError` with AWS's prefix: the error every JSONata evaluation problem
/// raises (catchable, unlike `States.Runtime`).
pub(crate) fn query_error(info: &StateInfo<'_>, message: &str) -> Failure {
    Failure::new(
        ErrorName::QueryEvaluationError,
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
            info.name, info.entered_event
        ),
    )
}

/// AWS's message for an expression whose value has the wrong type for its field.
fn unexpected_type(info: &StateInfo<'_>, source: &str, field: &str, expected: &str, v: &Value) -> Failure {
    query_error(
        info,
        &format!(
            "The JSONata expression '{source}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {v}",
            type_name(v)
        ),
    )
}

impl Exec {
    /// Pass, Choice, Wait and Succeed in JSONata (Fail, Task, Parallel and Map share the JSONPath code
    /// paths, which branch on the query language where they differ).
    pub(crate) async fn ata_simple_state(
        self: &Arc<Self>,
        state: &State,
        input: Value,
        vars: &Vars,
        info: &StateInfo<'_>,
        abort: &AbortSignal,
    ) -> Result<Step, Interrupt> {
        let sc = AtaScope::input(&input);
        let (next, output, assign) = match &state.kind {
            StateKind::Choice(c) => {
                let mut matched = None;
                for rule in &c.choices {
                    let hit = match &rule.condition {
                        Condition::Jsonata(e) => self.ata_condition(e, sc, vars, info)?,
                        _ => {
                            return Err(runtime(
                                info.name,
                                info.entered_event,
                                "A JSONata Choice rule needs a Condition.",
                            )
                            .into());
                        }
                    };
                    if hit {
                        matched = Some(rule);
                        break;
                    }
                }
                match (matched, &c.default) {
                    (Some(rule), _) => (Some(rule.next.clone()), rule.output.as_ref(), rule.assign.as_ref()),
                    (None, Some(d)) => (Some(d.clone()), state.output.as_ref(), state.assign.as_ref()),
                    (None, None) => {
                        return Err(Failure::new(
                            ErrorName::NoChoiceMatched,
                            format!(
                                "An error occurred while executing the state '{}' (entered at the event id #{}). No Choice Rule matched and no Default is set.",
                                info.name, info.entered_event
                            ),
                        )
                        .into());
                    }
                }
            }
            StateKind::Wait(w) => {
                self.wait_state(w, &input, vars, info, abort).await?;
                (state.next.clone(), state.output.as_ref(), state.assign.as_ref())
            }
            StateKind::Pass(p) => {
                // A JSONata Pass has no Parameters/ResultPath; a `Result` (if any) is its default output.
                let assign = self.ata_assign(state.assign.as_ref(), sc, vars, info)?;
                let output = match (&state.output, &p.result) {
                    (Some(o), _) => self.ata_payload(o, "Output", sc, vars, info)?,
                    (None, Some(r)) => r.clone(),
                    (None, None) => input.clone(),
                };
                return Ok(Step { next: state.next.clone(), output, assign });
            }
            _ => (state.next.clone(), state.output.as_ref(), state.assign.as_ref()),
        };
        let assign = self.ata_assign(assign, sc, vars, info)?;
        let output = match output {
            Some(o) => self.ata_payload(o, "Output", sc, vars, info)?,
            None => input.clone(),
        };
        Ok(Step { next, output, assign })
    }

    /// Evaluates one expression written for `field`; `undefined` is an error. What `$states` and the
    /// variables hold is bound from what the expression reads, found when it was parsed.
    pub(crate) fn ata_expr(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        let e = expr.expression();
        // The context object is built only for expressions that may read it.
        let context = e.uses_context().then(|| self.context_value(info, true));
        let mut states: Vec<(&str, &Value)> = Vec::with_capacity(4);
        if e.uses_states() {
            states.push(("input", sc.input));
            if let Some(ctx) = &context {
                states.push(("context", ctx));
            }
            if let Some(r) = sc.result {
                states.push(("result", r));
            }
            if let Some(e) = sc.error_output {
                states.push(("errorOutput", e));
            }
        }
        let bindings: Vec<(&str, &Value)> =
            e.variables().filter_map(|name| vars.get(name).map(|v| (name, v))).collect();
        let fail = |what: &str| {
            query_error(
                info,
                &format!(
                    "The JSONata expression '{}' specified for the field '{field}' {what}",
                    expr.source()
                ),
            )
        };
        match e.evaluate(&states, &bindings) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(fail("returned nothing (undefined).")),
            Err(JsonataError::Unsupported) => Err(fail("returned an unsupported result type.")),
            Err(JsonataError::Threw(m) | JsonataError::Syntax(m)) => {
                Err(fail(&format!("threw an error during evaluation. {m}")))
            }
        }
    }

    /// Evaluates a template: every expression is replaced by its value, literal subtrees are copied;
    /// `field` names the place in error messages (`Output/result`).
    pub(crate) fn ata_template(
        &self,
        t: &JsonataTemplate,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match t {
            JsonataTemplate::Literal(v) => Ok(v.clone()),
            JsonataTemplate::Expr(e) => self.ata_expr(e, field, sc, vars, info),
            JsonataTemplate::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    out.push(self.ata_template(x, &format!("{field}/{i}"), sc, vars, info)?);
                }
                Ok(Value::Array(out))
            }
            JsonataTemplate::Object(members) => {
                let mut out = JsonMap::with_capacity(members.len());
                for (k, x) in members {
                    out.insert(k.to_string(), self.ata_template(x, &format!("{field}/{k}"), sc, vars, info)?);
                }
                Ok(Value::Object(out))
            }
        }
    }

    /// A template-valued field (`Arguments`, `Output`, `ItemSelector`, …) in either form.
    pub(crate) fn ata_payload(
        &self,
        payload: &Payload,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match payload {
            Payload::Jsonata(p) => self.ata_template(p.template(), field, sc, vars, info),
            // A JSONPath template in a JSONata state cannot pass validation; evaluate it as JSONPath.
            Payload::JsonPath(t) => self.template(t, sc.input, vars, info),
        }
    }

    /// `Assign` of a JSONata state: an object whose values may be expressions.
    pub(crate) fn ata_assign(
        &self,
        assign: Option<&Payload>,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Option<JsonMap<String, Value>>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        match self.ata_payload(a, "Assign", sc, vars, info)? {
            Value::Object(m) => Ok(Some(m)),
            other => Err(query_error(
                info,
                &format!("The field 'Assign' must evaluate to an object, but was '{}'.", type_name(&other)),
            )),
        }
    }

    /// A Boolean expression (Choice `Condition`).
    pub(crate) fn ata_condition(
        &self,
        expr: &JsonataExpr,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<bool, Failure> {
        match self.ata_expr(expr, "Condition", sc, vars, info)? {
            Value::Bool(b) => Ok(b),
            other => Err(unexpected_type(info, expr.source(), "Condition", "boolean", &other)),
        }
    }

    /// An array-valued expression (Map `Items`).
    pub(crate) fn ata_items(
        &self,
        items: Option<&Payload>,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        let Some(items) = items else {
            return match sc.input {
                Value::Array(_) => Ok(sc.input.clone()),
                other => {
                    Err(query_error(info, &format!("Map state input must be an array but was: {other}")))
                }
            };
        };
        let v = self.ata_payload(items, "Items", sc, vars, info)?;
        match v {
            Value::Array(_) => Ok(v),
            other => {
                let source = match items {
                    Payload::Jsonata(p) => match (p.template(), p.value()) {
                        (JsonataTemplate::Expr(e), _) => e.source().to_owned(),
                        (_, Value::String(s)) => s.clone(),
                        (_, v) => v.to_string(),
                    },
                    Payload::JsonPath(_) => String::new(),
                };
                Err(unexpected_type(info, &source, "Items", "array", &other))
            }
        }
    }

    /// A non-negative integer field given as a JSONata expression (Seconds, MaxConcurrency, …).
    pub(crate) fn ata_integer(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<u64, Failure> {
        let v = self.ata_expr(expr, field, sc, vars, info)?;
        let n = match &v {
            Value::Number(n) => {
                n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
            }
            _ => None,
        };
        n.ok_or_else(|| unexpected_type(info, expr.source(), field, "integer", &v))
    }

    /// A number-valued [`Dynamic`] field of a JSONata state.
    pub(crate) fn ata_dynamic_value(
        &self,
        d: &Dynamic<Value>,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<Value, Failure> {
        match d {
            Dynamic::Jsonata(e) => self.ata_expr(e, field, sc, vars, info),
            Dynamic::Value(v) => Ok(v.clone()),
            Dynamic::Path(_) => {
                Err(query_error(info, &format!("The field '{field}Path' is not allowed in JSONata.")))
            }
        }
    }

    /// A string-valued field (`Error`, `Cause`, `Timestamp`) given as a JSONata expression.
    pub(crate) fn ata_string(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
        vars: &Vars,
        info: &StateInfo<'_>,
    ) -> Result<String, Failure> {
        match self.ata_expr(expr, field, sc, vars, info)? {
            Value::String(s) => Ok(s),
            other => Err(unexpected_type(info, expr.source(), field, "string", &other)),
        }
    }
}
