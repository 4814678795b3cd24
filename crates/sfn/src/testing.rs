//! Helpers for users' own test suites: stable execution snapshots (`assert_execution_snapshot!`) and
//! the mock configuration reader ([`MockConfig`], AWS Step Functions Local's format).

use serde_json::{Map, Value};

pub use crate::mocks::{MockConfig, TestCase};

/// Replaces what changes from run to run (ARNs' execution part, task tokens, UUIDs, timestamps) so
/// snapshots are stable; the shape and every other value stay.
pub fn redact(v: &Value) -> Value {
    fn text(s: &str) -> Value {
        if s.starts_with("AQ") && s.len() > 40 && !s.contains(' ') {
            return Value::String("[task-token]".into());
        }
        if is_uuid(s) {
            return Value::String("[uuid]".into());
        }
        // JSON text inside events (inputs/outputs) is redacted recursively.
        if (s.starts_with('{') || s.starts_with('['))
            && let Ok(inner) = serde_json::from_str::<Value>(s)
        {
            return Value::String(redact(&inner).to_string());
        }
        Value::String(s.to_owned())
    }
    match v {
        Value::String(s) => text(s),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let redacted = match k.as_str() {
                    "timestamp" | "StartTime" | "EnteredTime" | "CreatedAt" | "StartedAt" | "StoppedAt"
                    | "StoppingAt" | "PullStartedAt" | "PullStoppedAt" | "ExecutionStoppedAt" => {
                        Value::String("[timestamp]".into())
                    }
                    _ => redact(x),
                };
                out.insert(k.clone(), redacted);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The stable JSON of a run: outcome plus history, redacted (see [`redact`]).
pub fn snapshot(run: &crate::Run) -> Value {
    redact(&run.to_json())
}

/// Snapshots a [`crate::Run`] (outcome + history) with insta, redacted so it is stable across runs:
/// `sfn::assert_execution_snapshot!(run)` or `sfn::assert_execution_snapshot!("name", run)`.
#[macro_export]
macro_rules! assert_execution_snapshot {
    ($run:expr) => {
        $crate::testing::insta::assert_json_snapshot!($crate::testing::snapshot(&$run))
    };
    ($name:expr, $run:expr) => {
        $crate::testing::insta::assert_json_snapshot!($name, $crate::testing::snapshot(&$run))
    };
}

#[doc(hidden)]
pub use insta;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redaction_keeps_shape() {
        let v = json!({"timestamp": 1.5, "t": "AQ0123456789012345678901234567890123456789abc", "u": "0f8fad5b-d9cb-469f-a165-70867728950e",
                       "input": "{\"StartTime\": \"2024\", \"x\": 1}", "keep": "hello"});
        assert_eq!(
            redact(&v),
            json!({"timestamp": "[timestamp]", "t": "[task-token]", "u": "[uuid]", "input": "{\"StartTime\":\"[timestamp]\",\"x\":1}", "keep": "hello"})
        );
    }
}
