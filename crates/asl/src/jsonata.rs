//! JSONata-valued fields, held in their parsed form.

use serde_json::Value;

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
    pub fn parse(text: &str) -> Option<Result<JsonataExpr, String>> {
        let source = Self::delimited(text)?;
        if source.is_empty() {
            return Some(Err("the JSONata expression is empty".to_owned()));
        }
        if let Err(e) = sfn_path::jsonata::check(source) {
            // `CODE: message` from the parser; AWS reports the message under its own code.
            let text = e.to_string();
            let message = text.split_once(": ").map_or(text.as_str(), |(_, m)| m);
            return Some(Err(format!("{}: {message}", crate::diagnostic::codes::INVALID_JSONATA_EXPRESSION)));
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
    pub fn parse(value: &Value) -> Result<JsonataPayload, (String, String)> {
        fn walk(v: &Value, ptr: &mut String) -> Result<(), (String, String)> {
            match v {
                Value::String(s) => match JsonataExpr::parse(s) {
                    Some(Err(e)) => Err((ptr.clone(), e)),
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
