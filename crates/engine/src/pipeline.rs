//! The JSONPath input/output pipeline of a state (InputPath → Parameters → ResultPath → OutputPath),
//! payloads in either query language, and `Assign`: [`StateCtx`] methods every state module uses.
//! Above the core (`exec`) and JSONata (`jsonata`); it knows no state type.

use std::borrow::Cow;

use serde_json::{Map as JsonMap, Value};
use sfn_asl::{IoPath, Payload, QueryLanguage, ResultPath};
use sfn_path::{ErrorName, Path, Root, Scope, Template};

use crate::error::Failure;
use crate::exec::{StateCtx, display_value};
use crate::jsonata::AtaScope;

impl<'a> StateCtx<'a> {
    pub(crate) fn input_path<'v>(&self, input: &'v Value) -> Result<Cow<'v, Value>, Failure>
    where
        'a: 'v,
    {
        let eff = match &self.state.input_path {
            IoPath::Whole => Cow::Borrowed(input),
            IoPath::Null => Cow::Owned(Value::Object(JsonMap::new())),
            IoPath::Path(p) => self.eval_path(p, input)?,
        };
        if self.state.query_language == QueryLanguage::JsonPath {
            self.inspect(|i| i.after_input_path = Some(eff.as_ref().clone()));
        }
        Ok(eff)
    }

    /// InputPath on an input the state gives up (a Pass state whose ResultPath is `$`): a definite `$`
    /// path moves the node it selects instead of copying it.
    pub(crate) fn input_path_owned(&self, input: Value) -> Result<Value, Failure> {
        let eff = match &self.state.input_path {
            IoPath::Whole => input,
            IoPath::Null => Value::Object(JsonMap::new()),
            IoPath::Path(p) if *p.root() == Root::Input => p
                .take(input, &Scope { input: &Value::Null, context: &Value::Null, variables: self.vars })
                .map_err(|e| self.runtime(e.message()))?,
            IoPath::Path(p) => self.eval_path(p, &input)?.into_owned(),
        };
        if self.state.query_language == QueryLanguage::JsonPath {
            self.inspect(|i| i.after_input_path = Some(eff.clone()));
        }
        Ok(eff)
    }

    pub(crate) fn output_path(&self, output: Value) -> Result<Value, Failure> {
        match &self.state.output_path {
            IoPath::Whole => Ok(output),
            IoPath::Null => Ok(Value::Object(JsonMap::new())),
            IoPath::Path(p) if *p.root() == Root::Input => p
                .take(output, &Scope { input: &Value::Null, context: &Value::Null, variables: self.vars })
                .map_err(|e| self.runtime(e.message())),
            IoPath::Path(p) => Ok(self.eval_path(p, &output)?.into_owned()),
        }
    }

    /// The state's `Parameters` (JSONPath) or `Arguments` (JSONata, evaluated off the async workers)
    /// against `input`; none is the input itself.
    pub(crate) async fn parameters(
        &self,
        parameters: Option<&Payload>,
        input: Cow<'_, Value>,
    ) -> Result<Value, Failure> {
        let Some(p) = parameters else {
            return Ok(input.into_owned());
        };
        let v = self.arguments(p, &input).await?;
        match p {
            Payload::JsonPath(_) => self.inspect(|i| i.after_parameters = Some(v.clone())),
            Payload::Jsonata(_) => self.inspect(|i| i.after_arguments = Some(v.clone())),
        }
        Ok(v)
    }

    /// [`StateCtx::parameters`] on an input the state gives up: the template moves the nodes its `$`
    /// paths select out of it ([`sfn_path::Template::eval_owned`]).
    pub(crate) async fn parameters_owned(
        &self,
        parameters: Option<&Payload>,
        input: Value,
    ) -> Result<Value, Failure> {
        let v = match parameters {
            None => return Ok(input),
            Some(Payload::JsonPath(t)) => self.template_owned(t, input)?,
            Some(p @ Payload::Jsonata(_)) => self.arguments(p, &input).await?,
        };
        match parameters {
            Some(Payload::JsonPath(_)) => self.inspect(|i| i.after_parameters = Some(v.clone())),
            _ => self.inspect(|i| i.after_arguments = Some(v.clone())),
        }
        Ok(v)
    }

    /// [`StateCtx::payload`] on an input the caller gives up (a ResultSelector's result): JSONPath
    /// templates move what they select instead of copying it.
    pub(crate) fn payload_owned(&self, payload: &Payload, input: Value) -> Result<Value, Failure> {
        match payload {
            Payload::JsonPath(t) => self.template_owned(t, input),
            Payload::Jsonata(_) => self.payload(payload, &input),
        }
    }

    /// [`StateCtx::template`] on an input the caller gives up ([`Template::eval_owned`]).
    pub(crate) fn template_owned(&self, t: &Template, input: Value) -> Result<Value, Failure> {
        if let Template::Literal(v) = t {
            return Ok(v.clone());
        }
        let view = self.view();
        t.eval_owned(input, &Scope { input: &Value::Null, context: &view, variables: self.vars })
            .map_err(|e| self.runtime(e.message()))
    }

    /// Evaluates a payload template against `input` (JSONata: `Arguments` with `$states.input`, evaluated
    /// in place: [`StateCtx::arguments`] is the form that evaluates off the async workers).
    pub(crate) fn payload(&self, payload: &Payload, input: &Value) -> Result<Value, Failure> {
        match payload {
            Payload::JsonPath(t) => self.template(t, input),
            Payload::Jsonata(p) => {
                self.ata_template_in_place(p.template(), "Arguments", AtaScope::input(input))
            }
        }
    }

    /// A Task's or Parallel's `Parameters` (JSONata: `Arguments`, with `$states.input`).
    pub(crate) async fn arguments(&self, payload: &Payload, input: &Value) -> Result<Value, Failure> {
        match payload {
            Payload::JsonPath(t) => self.template(t, input),
            // Boxed: every state that evaluates Parameters (a waiting Task's future among them) would
            // otherwise carry the JSONata evaluation's size.
            Payload::Jsonata(p) => {
                Box::pin(self.ata_template(p.template(), "Arguments", AtaScope::input(input))).await
            }
        }
    }

    /// ResultPath alone: the result placed into the raw input.
    pub(crate) fn apply_result_only(
        &self,
        result_path: &ResultPath,
        raw_input: Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match result_path {
            ResultPath::Whole => Ok(result),
            ResultPath::Discard => Ok(raw_input),
            ResultPath::Path(rp) => rp.set(raw_input, result).map_err(|e| {
                if *e.error_name() == ErrorName::Runtime {
                    self.runtime(e.message())
                } else {
                    Failure::new(e.error_name(), e.message())
                }
            }),
        }
    }

    /// ResultPath then OutputPath.
    pub(crate) fn apply_result(
        &self,
        result_path: &ResultPath,
        raw_input: Value,
        result: Value,
    ) -> Result<Value, Failure> {
        let merged = self.apply_result_only(result_path, raw_input, result)?;
        self.inspect(|i| i.after_result_path = Some(merged.clone()));
        self.output_path(merged)
    }

    /// Evaluates an `Assign` block; `$` is the state's result.
    pub(crate) fn assign(
        &self,
        assign: Option<&Payload>,
        result: &Value,
    ) -> Result<Option<JsonMap<String, Value>>, Failure> {
        let Some(a) = assign else { return Ok(None) };
        match self.payload(a, result)? {
            Value::Object(m) => Ok(Some(m)),
            _ => Err(self.runtime("Assign must evaluate to a JSON object.")),
        }
    }

    /// A non-negative integer read with a `…Path` field.
    pub(crate) fn number_at(&self, p: &Path, input: &Value, field: &str) -> Result<u64, Failure> {
        let v = self.eval_path(p, input)?;
        // Like Jackson's coercion, a numeric string ("1") is accepted (recorded: MaxConcurrencyPath "1").
        let n = match v.as_ref() {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) => Ok(n),
            None => Err(self.runtime(&format!(
                "The {field} field refers to value \"{}\" which is not a valid integer: {}",
                display_value(v.as_ref()),
                p.source()
            ))),
        }
    }
}
