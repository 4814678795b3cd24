//! JSONata-valued fields, held in their parsed form.

use serde_json::Value;

use crate::diagnostic::codes;

mod refs;

pub(crate) use refs::top_level_references;

/// A JSONata expression written as `{% … %}`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataExpr {
    source: String,
}

impl JsonataExpr {
    /// Parses `{% expr %}`; `None` when the string is not a JSONata expression. Like AWS, only a string
    /// that starts with `{%` and ends with `%}` is one: `" {% x %} "` is a plain string.
    pub fn parse(text: &str) -> Option<Result<JsonataExpr, JsonataExprError>> {
        let source = Self::delimited(text)?;
        if source.is_empty() {
            return Some(Err(JsonataExprError {
                kind: JsonataExprErrorKind::Empty,
                message: "the JSONata expression is empty".to_owned(),
            }));
        }
        if let Err(e) = sfn_path::jsonata::check(source) {
            // `CODE: message` from the parser; AWS reports the message under its own code.
            let text = e.to_string();
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            return Some(Err(JsonataExprError {
                kind: JsonataExprErrorKind::Invalid,
                message: message.to_owned(),
            }));
        }
        Some(Ok(JsonataExpr { source: source.to_owned() }))
    }

    /// The trimmed text between `{%` and `%}` when `text` is written as an expression, without checking
    /// it: for values of a [`JsonataPayload`], whose expressions were checked when it was parsed.
    pub fn delimited(text: &str) -> Option<&str> {
        Some(text.strip_prefix("{%")?.strip_suffix("%}")?.trim())
    }

    /// The expression without the `{% %}` delimiters.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A JSON value in which every string of the form `{% … %}` is a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataPayload {
    value: Value,
}

impl JsonataPayload {
    /// Parses a template, checking every embedded expression.
    pub fn parse(value: &Value) -> Result<JsonataPayload, JsonataPayloadError> {
        fn walk(v: &Value, ptr: &mut String) -> Result<(), JsonataPayloadError> {
            match v {
                Value::String(s) => match JsonataExpr::parse(s) {
                    Some(Err(error)) => Err(JsonataPayloadError { pointer: ptr.clone(), error }),
                    _ => Ok(()),
                },
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        let len = ptr.len();
                        ptr.push_str(&format!("/{i}"));
                        walk(x, ptr)?;
                        ptr.truncate(len);
                    }
                    Ok(())
                }
                Value::Object(m) => {
                    for (k, x) in m {
                        let len = ptr.len();
                        crate::pointer::push(ptr, k);
                        walk(x, ptr)?;
                        ptr.truncate(len);
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        walk(value, &mut String::new())?;
        Ok(JsonataPayload { value: value.clone() })
    }

    /// The template as written.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

/// Why a `{% … %}` expression is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonataExprError {
    kind: JsonataExprErrorKind,
    message: String,
}

/// What kind of problem a [`JsonataExprError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonataExprErrorKind {
    /// `{% %}` with nothing inside.
    Empty,
    /// The expression does not parse (AWS's `INVALID_JSONATA_EXPRESSION`).
    Invalid,
}

impl JsonataExprError {
    /// What kind of problem this is.
    pub fn kind(&self) -> JsonataExprErrorKind {
        self.kind
    }

    /// The validation code AWS reports it under (`INVALID_JSONATA_EXPRESSION`,
    /// `SCHEMA_VALIDATION_FAILED`).
    pub fn code(&self) -> &'static str {
        match self.kind {
            JsonataExprErrorKind::Empty => codes::SCHEMA_VALIDATION_FAILED,
            JsonataExprErrorKind::Invalid => codes::INVALID_JSONATA_EXPRESSION,
        }
    }

    /// What is wrong, without the code.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// `INVALID_JSONATA_EXPRESSION: …` for a syntax error, the message alone otherwise.
impl std::fmt::Display for JsonataExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            JsonataExprErrorKind::Empty => f.write_str(&self.message),
            JsonataExprErrorKind::Invalid => {
                write!(f, "{}: {}", codes::INVALID_JSONATA_EXPRESSION, self.message)
            }
        }
    }
}

impl std::error::Error for JsonataExprError {}

/// A JSONata payload with an expression that is refused: where (a JSON pointer inside the payload) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {error}")]
pub struct JsonataPayloadError {
    pointer: String,
    error: JsonataExprError,
}

impl JsonataPayloadError {
    /// The JSON pointer of the refused expression, relative to the payload (`""` for the payload itself).
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// Why it is refused.
    pub fn error(&self) -> &JsonataExprError {
        &self.error
    }
}
