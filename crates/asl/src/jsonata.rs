//! JSONata-valued fields, held in their parsed form: each `{% … %}` string is parsed once, at load
//! time, into an [`Expression`] that carries what it reads, and a payload is a tree of literals and
//! expressions, so evaluation never strips, checks or scans a string.

use serde_json::Value;
use sfn_path::jsonata::Expression;

/// Why a `{% … %}` string is not a JSONata expression. The lowering reports [`JsonataExprError::Empty`]
/// as `SCHEMA_VALIDATION_FAILED` and [`JsonataExprError::Syntax`] as `INVALID_JSONATA_EXPRESSION`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonataExprError {
    /// Nothing between `{%` and `%}`.
    #[error("the JSONata expression is empty")]
    Empty,
    /// The parser refused it: its message, without its code (AWS reports the message under its own
    /// code).
    #[error("{0}")]
    Syntax(String),
}

/// A JSONata expression written as `{% … %}`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataExpr {
    expr: Expression,
}

impl JsonataExpr {
    /// Parses `{% expr %}`; `None` when the string is not a JSONata expression. Like AWS, only a string
    /// that starts with `{%` and ends with `%}` is one: `" {% x %} "` is a plain string.
    pub fn parse(text: &str) -> Option<Result<JsonataExpr, JsonataExprError>> {
        let source = Self::delimited(text)?;
        if source.is_empty() {
            return Some(Err(JsonataExprError::Empty));
        }
        Some(match Expression::parse(source) {
            Ok(expr) => Ok(JsonataExpr { expr }),
            Err(e) => {
                // `CODE: message` from the parser.
                let text = e.to_string();
                let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
                Err(JsonataExprError::Syntax(message.to_owned()))
            }
        })
    }

    /// The trimmed text between `{%` and `%}` when `text` is written as an expression, without parsing
    /// it.
    pub fn delimited(text: &str) -> Option<&str> {
        Some(text.strip_prefix("{%")?.strip_suffix("%}")?.trim())
    }

    /// The expression without the `{% %}` delimiters.
    pub fn source(&self) -> &str {
        self.expr.source()
    }

    /// The parsed expression, with what it reads.
    pub fn expression(&self) -> &Expression {
        &self.expr
    }
}

/// A JSON value in which every string of the form `{% … %}` is a JSONata expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonataPayload {
    value: Value,
    template: JsonataTemplate,
}

/// A JSONata payload as evaluated: subtrees without an expression are kept as JSON, every
/// expression is parsed (as JSONPath's [`sfn_path::Template`] is).
#[derive(Debug, Clone, PartialEq)]
pub enum JsonataTemplate {
    /// A subtree without any expression: copied as is.
    Literal(Value),
    /// An object with at least one expression somewhere below, members in writing order.
    Object(Vec<(Box<str>, JsonataTemplate)>),
    /// An array with at least one expression somewhere below.
    Array(Vec<JsonataTemplate>),
    /// A `{% … %}` string.
    Expr(JsonataExpr),
}

impl JsonataPayload {
    /// Parses a template, parsing every embedded expression; the error is the first expression (in
    /// writing order) that does not parse, with its JSON pointer relative to `value`.
    pub fn parse(value: &Value) -> Result<JsonataPayload, JsonataPayloadError> {
        let template = build(value, &mut String::new())
            .map_err(|(pointer, error)| JsonataPayloadError { pointer, error })?
            .unwrap_or_else(|| JsonataTemplate::Literal(value.clone()));
        Ok(JsonataPayload { value: value.clone(), template })
    }

    /// The template as written.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The template as evaluated.
    pub fn template(&self) -> &JsonataTemplate {
        &self.template
    }
}

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

/// The template of `v`; `None` when it holds no expression (the caller keeps it as a literal, so a
/// literal subtree is cloned once, at its top).
fn build(v: &Value, ptr: &mut String) -> Result<Option<JsonataTemplate>, (String, JsonataExprError)> {
    match v {
        Value::String(s) => match JsonataExpr::parse(s) {
            Some(Ok(e)) => Ok(Some(JsonataTemplate::Expr(e))),
            Some(Err(e)) => Err((ptr.clone(), e)),
            None => Ok(None),
        },
        Value::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            for (i, x) in a.iter().enumerate() {
                let len = ptr.len();
                ptr.push_str(&format!("/{i}"));
                items.push(build(x, ptr)?);
                ptr.truncate(len);
            }
            if items.iter().all(Option::is_none) {
                return Ok(None);
            }
            let items = items
                .into_iter()
                .zip(a)
                .map(|(t, x)| t.unwrap_or_else(|| JsonataTemplate::Literal(x.clone())));
            Ok(Some(JsonataTemplate::Array(items.collect())))
        }
        Value::Object(m) => {
            let mut members = Vec::with_capacity(m.len());
            for (k, x) in m {
                let len = ptr.len();
                crate::pointer::push(ptr, k);
                members.push(build(x, ptr)?);
                ptr.truncate(len);
            }
            if members.iter().all(Option::is_none) {
                return Ok(None);
            }
            let members = members.into_iter().zip(m).map(|(t, (k, x))| {
                (k.as_str().into(), t.unwrap_or_else(|| JsonataTemplate::Literal(x.clone())))
            });
            Ok(Some(JsonataTemplate::Object(members.collect())))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_payload_is_a_tree_of_literals_and_expressions() {
        let p = JsonataPayload::parse(&json!({"a": {"b": [1, "x"]}, "c": ["{% $x %}", 2], "d": "{% 1 %}"}))
            .unwrap();
        let JsonataTemplate::Object(members) = p.template() else { panic!("{p:?}") };
        let keys: Vec<_> = members.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["a", "c", "d"]);
        assert_eq!(members[0].1, JsonataTemplate::Literal(json!({"b": [1, "x"]})));
        let JsonataTemplate::Array(items) = &members[1].1 else { panic!("{p:?}") };
        assert!(matches!(&items[0], JsonataTemplate::Expr(e) if e.source() == "$x"));
        assert_eq!(items[1], JsonataTemplate::Literal(json!(2)));
        assert!(matches!(&members[2].1, JsonataTemplate::Expr(e) if e.source() == "1"));
        let literal = JsonataPayload::parse(&json!({"k": ["{%", " {% 1 %}"]})).unwrap();
        assert_eq!(literal.template(), &JsonataTemplate::Literal(json!({"k": ["{%", " {% 1 %}"]})));
    }

    #[test]
    fn errors_are_typed_and_located() {
        assert_eq!(JsonataExpr::parse("{%  %}"), Some(Err(JsonataExprError::Empty)));
        assert!(matches!(JsonataExpr::parse("{% 1 + %}"), Some(Err(JsonataExprError::Syntax(_)))));
        assert_eq!(JsonataExpr::parse("plain"), None);
        let e = JsonataPayload::parse(&json!({"a/b": [0, "{% ( %}"], "z": "{% %}"})).unwrap_err();
        assert_eq!(e.pointer(), "/a~1b/1");
        assert!(matches!(e.error(), JsonataExprError::Syntax(_)));
    }
}
