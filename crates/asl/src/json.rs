//! Reading definition text: JSON syntax errors with line and column, size and depth limits, and
//! duplicate keys (which plain JSON parsers silently collapse).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, codes};

/// Largest definition accepted, in bytes (AWS: 1 MB).
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

/// Parses definition text into JSON, reporting syntax problems and duplicate keys as diagnostics.
pub(crate) fn read(text: &[u8]) -> (Option<Value>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if text.is_empty() {
        diags.push(Diagnostic::error(codes::MISSING_DESCRIPTION, "/", "The definition is empty"));
        return (None, diags);
    }
    if text.len() > MAX_DEFINITION_BYTES {
        diags.push(Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            "/",
            format!("The definition is {} bytes; at most {MAX_DEFINITION_BYTES} are allowed", text.len()),
        ));
        return (None, diags);
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        diags.push(Diagnostic::error(
            codes::SCHEMA_VALIDATION_FAILED,
            "/",
            "Definition must be a valid JSON object",
        ));
        return (None, diags);
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let mut dups = Vec::new();
    let seed = Seed { pointer: String::new(), dups: &mut dups };
    let value = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match value {
        Ok(v) => {
            for p in dups {
                let name = crate::pointer::unescape(p.rsplit('/').next().unwrap_or_default());
                let code =
                    if p.starts_with("/States/") && p.matches("/States/").count() >= 1 && is_state_key(&p) {
                        codes::DUPLICATE_STATE_NAME
                    } else {
                        codes::SCHEMA_VALIDATION_FAILED
                    };
                // A state key twice is a state name twice: AWS's DUPLICATE_STATE_NAME wording (see
                // `validate::unique_names`).
                let message = if code == codes::DUPLICATE_STATE_NAME {
                    format!("Duplicate State name: {name}")
                } else {
                    format!("Duplicate key '{name}'")
                };
                diags.push(Diagnostic::error(code, &p, message));
            }
            (Some(v), diags)
        }
        Err(e) => {
            diags.push(Diagnostic::error(
                codes::INVALID_JSON_DESCRIPTION,
                format!("line {} column {}", e.line(), e.column()),
                format!("{e}"),
            ));
            (None, diags)
        }
    }
}

/// True when the pointer names a member of a `States` object (a state name).
fn is_state_key(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    parts.len() >= 3 && parts[parts.len() - 2] == "States"
}

struct Seed<'a> {
    pointer: String,
    dups: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let pointer = format!("{}/{}", self.pointer, out.len());
            match seq.next_element_seed(Seed { pointer, dups: self.dups })? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let pointer = format!("{}/{}", self.pointer, crate::pointer::escape(&key));
            if out.contains_key(&key) {
                self.dups.push(pointer.clone());
            }
            let v = map.next_value_seed(Seed { pointer, dups: self.dups })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}
