//! States in the JSONata query language: `$states` (input, result, errorOutput, context), `{% %}`
//! templates for Arguments/Output/Assign/ItemSelector, expression-valued fields (Condition, Items,
//! Seconds, Timestamp, MaxConcurrency, TimeoutSeconds, …) and AWS's `States.QueryEvaluationError`s.
//!
//! A layer above the core (`exec`): evaluations are [`StateCtx`] methods; it knows no state type (the
//! state modules branch on the query language and call these).
//!
//! Semantics (AWS "Transforming data with JSONata in Step Functions"): a JSONata state has no
//! InputPath/Parameters/ResultSelector/ResultPath/OutputPath; `$states.input` is the state's raw input;
//! `$states.result` is the Task/Parallel/Map result; `$states.errorOutput` is `{Error, Cause}` in a Catch;
//! `Output` defaults to the result (Task, Parallel, Map), the error output (Catch) or the input (others);
//! `Assign` and `Output` both see the variables as they were before the state.

use futures_util::FutureExt as _;
use serde_json::{Map as JsonMap, Value};
use sfn_asl::{Dynamic, JsonataExpr, JsonataTemplate, Payload};
use sfn_path::jsonata::JsonataError;
use sfn_path::{ErrorName, Variables as _, type_name};

use crate::ata_pool;
use crate::error::Failure;
use crate::exec::{StateCtx, Step};

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

impl StateCtx<'_> {
    /// A `States.QueryEvaluationError` with AWS's prefix: the error every JSONata evaluation problem
    /// raises (catchable, unlike `States.Runtime`).
    pub(crate) fn query_error(&self, message: &str) -> Failure {
        self.query_error_at(None, message)
    }

    /// The same, about `field` (`Output/result`, `Items`): kept as the failure's location, which the
    /// history's `EvaluationFailed` shows if this failure fails the state (see `interp`).
    pub(crate) fn query_error_at(&self, field: Option<&str>, message: &str) -> Failure {
        let cause = format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
            self.info.name, self.info.entered_event
        );
        let mut pending = self.exec.evaluation_failures.lock().unwrap_or_else(|e| e.into_inner());
        pending.insert(self.info.entered_event, (field.map(str::to_owned), cause.clone()));
        Failure::new(ErrorName::QueryEvaluationError, cause)
    }

    /// AWS's message for an expression whose value has the wrong type for its field.
    fn unexpected_type(&self, source: &str, field: &str, expected: &str, v: &Value) -> Failure {
        self.query_error_at(Some(field), &format!(
            "The JSONata expression '{source}' specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {v}",
            type_name(v)
        ))
    }

    /// Evaluates one expression written for `field`; `undefined` is an error. What `$states` and the
    /// variables hold is bound from what the expression reads, found when it was parsed.
    pub(crate) async fn ata_expr(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        let e = expr.expression();
        // The context object is built only for expressions that may read it.
        let context = e.uses_context().then(|| self.exec.context_value(&self.info, true));
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
            e.variables().filter_map(|name| self.vars.get(name).map(|v| (name, v))).collect();
        let fail = |what: &str| {
            self.query_error_at(
                Some(field),
                &format!(
                    "The JSONata expression '{}' specified for the field '{field}' {what}",
                    expr.source()
                ),
            )
        };
        let evaluated = if ata_pool::in_place() {
            e.evaluate(&states, &bindings)
        } else {
            // Boxed: every state's future would otherwise carry the pool's wait (Map iterations and
            // waiting tasks hold their futures for as long as they run).
            Box::pin(self.evaluate_off_worker(e, states, bindings)).await?
        };
        match evaluated {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(fail("returned nothing (undefined).")),
            Err(JsonataError::Unsupported) => Err(fail("returned an unsupported result type.")),
            Err(JsonataError::Cancelled) => {
                Err(self.query_error("The execution was stopped during a JSONata evaluation."))
            }
            Err(JsonataError::Threw(m) | JsonataError::Syntax(m)) => {
                Err(fail(&format!("threw an error during evaluation. {m}")))
            }
        }
    }

    /// Evaluates `e` on the pool (`ata_pool`), handing over what it reads as owned values; the error
    /// when the execution is stopped first (the interpreter then ends it as aborted).
    async fn evaluate_off_worker(
        &self,
        e: &sfn_path::jsonata::Expression,
        states: Vec<(&str, &Value)>,
        bindings: Vec<(&str, &Value)>,
    ) -> Result<Result<Option<Value>, JsonataError>, Failure> {
        let owned = |list: Vec<(&str, &Value)>| -> Vec<(String, Value)> {
            list.into_iter().map(|(k, v)| (k.to_owned(), v.clone())).collect()
        };
        let (states, bindings, e) = (owned(states), owned(bindings), e.clone());
        let evaluated = ata_pool::run(
            move |cancel| {
                let states: Vec<(&str, &Value)> = states.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let bindings: Vec<(&str, &Value)> = bindings.iter().map(|(k, v)| (k.as_str(), v)).collect();
                e.evaluate_cancellable(&states, &bindings, Some(cancel))
            },
            self.abort,
        )
        .await;
        evaluated.ok_or_else(|| self.query_error("The execution was stopped during a JSONata evaluation."))
    }

    /// Runs an evaluation to its end on this thread, never on the pool: for the few callers that cannot
    /// wait (a Task's TimeoutSeconds/HeartbeatSeconds, TestState's payloads).
    pub(crate) fn in_place<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        ata_pool::in_place_scope(|| fut.now_or_never()).unwrap_or_else(|| {
            Err(self.runtime("internal error: an in-place JSONata evaluation had to wait"))
        })
    }

    /// A template evaluated in place (see [`StateCtx::in_place`]).
    pub(crate) fn ata_template_in_place(
        &self,
        t: &JsonataTemplate,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        self.in_place(self.ata_template(t, field, sc))
    }

    /// Evaluates a template: every expression is replaced by its value, literal subtrees are copied;
    /// `field` names the place in error messages (`Output/result`).
    pub(crate) async fn ata_template(
        &self,
        t: &JsonataTemplate,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        match t {
            JsonataTemplate::Literal(v) => Ok(v.clone()),
            JsonataTemplate::Expr(e) => self.ata_expr(e, field, sc).await,
            JsonataTemplate::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, x) in items.iter().enumerate() {
                    out.push(Box::pin(self.ata_template(x, &format!("{field}/{i}"), sc)).await?);
                }
                Ok(Value::Array(out))
            }
            JsonataTemplate::Object(members) => {
                let mut out = JsonMap::with_capacity(members.len());
                for (k, x) in members {
                    out.insert(
                        k.to_string(),
                        Box::pin(self.ata_template(x, &format!("{field}/{k}"), sc)).await?,
                    );
                }
                Ok(Value::Object(out))
            }
        }
    }

    /// A template-valued field (`Arguments`, `Output`, `ItemSelector`, …) in either form.
    pub(crate) async fn ata_payload(
        &self,
        payload: &Payload,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        match payload {
            Payload::Jsonata(p) => self.ata_template(p.template(), field, sc).await,
            // A JSONPath template in a JSONata state cannot pass validation; evaluate it as JSONPath.
            Payload::JsonPath(t) => self.template(t, sc.input),
        }
    }

    /// `Assign` of a JSONata state: an object whose values may be expressions.
    pub(crate) async fn ata_assign(
        &self,
        assign: Option<&Payload>,
        sc: AtaScope<'_>,
    ) -> Result<Option<JsonMap<String, Value>>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        match self.ata_payload(a, "Assign", sc).await? {
            Value::Object(m) => Ok(Some(m)),
            other => Err(self.query_error_at(
                Some("Assign"),
                &format!("The field 'Assign' must evaluate to an object, but was '{}'.", type_name(&other)),
            )),
        }
    }

    /// A Boolean expression (Choice `Condition`).
    pub(crate) async fn ata_condition(&self, expr: &JsonataExpr, sc: AtaScope<'_>) -> Result<bool, Failure> {
        match self.ata_expr(expr, "Condition", sc).await? {
            Value::Bool(b) => Ok(b),
            other => Err(self.unexpected_type(expr.source(), "Condition", "boolean", &other)),
        }
    }

    /// An array-valued expression (Map `Items`).
    pub(crate) async fn ata_items(
        &self,
        items: Option<&Payload>,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        let Some(items) = items else {
            return match sc.input {
                Value::Array(_) => Ok(sc.input.clone()),
                other => Err(self.query_error(&format!("Map state input must be an array but was: {other}"))),
            };
        };
        let v = self.ata_payload(items, "Items", sc).await?;
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
                Err(self.unexpected_type(&source, "Items", "array", &other))
            }
        }
    }

    /// A non-negative integer field given as a JSONata expression (Seconds, MaxConcurrency, …).
    pub(crate) async fn ata_integer(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<u64, Failure> {
        let v = self.ata_expr(expr, field, sc).await?;
        let n = match &v {
            Value::Number(n) => {
                n.as_u64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u64))
            }
            _ => None,
        };
        n.ok_or_else(|| self.unexpected_type(expr.source(), field, "integer", &v))
    }

    /// A number-valued [`Dynamic`] field of a JSONata state.
    pub(crate) async fn ata_dynamic_value(
        &self,
        d: &Dynamic<Value>,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<Value, Failure> {
        match d {
            Dynamic::Jsonata(e) => self.ata_expr(e, field, sc).await,
            Dynamic::Value(v) => Ok(v.clone()),
            Dynamic::Path(_) => {
                let path = format!("{field}Path");
                Err(self
                    .query_error_at(Some(&path), &format!("The field '{path}' is not allowed in JSONata.")))
            }
        }
    }

    /// A string-valued field (`Error`, `Cause`, `Timestamp`) given as a JSONata expression.
    pub(crate) async fn ata_string(
        &self,
        expr: &JsonataExpr,
        field: &str,
        sc: AtaScope<'_>,
    ) -> Result<String, Failure> {
        match self.ata_expr(expr, field, sc).await? {
            Value::String(s) => Ok(s),
            other => Err(self.unexpected_type(expr.source(), field, "string", &other)),
        }
    }
}

impl<'a> StateCtx<'a> {
    /// How a JSONata state without a result ends: its `Assign`, then its `Output` (default: the input).
    pub(crate) async fn ata_exit(
        &self,
        next: Option<&'a str>,
        output: Option<&Payload>,
        assign: Option<&Payload>,
        input: &Value,
    ) -> Result<Step<'a>, Failure> {
        let sc = AtaScope::input(input);
        let assign = self.ata_assign(assign, sc).await?;
        let output = match output {
            Some(o) => self.ata_payload(o, "Output", sc).await?,
            None => input.clone(),
        };
        Ok(Step { next, output, assign })
    }
}
