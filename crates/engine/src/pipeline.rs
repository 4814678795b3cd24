//! The JSONPath input/output pipeline of a state (InputPath → Parameters → ResultPath → OutputPath),
//! payloads in either query language, and `Assign`: [`StateCtx`] methods every state module uses.
//! Above the core (`exec`) and JSONata (`jsonata`); it knows no state type.

use std::borrow::Cow;

use serde_json::{Map as JsonMap, Value};
use sfn_asl::{IoPath, Payload, ResultPath};
use sfn_path::{ErrorName, Path, Root, Scope};

use crate::error::Failure;
use crate::exec::{StateCtx, display_value};
use crate::jsonata::AtaScope;

impl<'a> StateCtx<'a> {
    pub(crate) fn input_path<'v>(&self, input: &'v Value) -> Result<Cow<'v, Value>, Failure>
    where
        'a: 'v,
    {
        match &self.state.input_path {
            IoPath::Whole => Ok(Cow::Borrowed(input)),
            IoPath::Null => Ok(Cow::Owned(Value::Object(JsonMap::new()))),
            IoPath::Path(p) => self.eval_path(p, input),
        }
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
            Payload::Jsonata(p) => self.ata_template(p.template(), "Arguments", AtaScope::input(input)).await,
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
