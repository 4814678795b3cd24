//! Choice rules: every operator with the type rules AWS applies (a comparison between different JSON
//! types is false, not an error; a missing Variable is an error except for IsPresent).

use std::cmp::Ordering;

use serde_json::Value;
use sfn_asl::{CompareKind, CompareOp, Condition, Operand, Test, TypeTest, parse_timestamp};
use sfn_path::Scope;

/// Evaluates a condition; `Err` carries the cause text of a `States.Runtime` failure.
pub(crate) fn eval(c: &Condition, scope: &Scope<'_>) -> Result<bool, String> {
    match c {
        Condition::And(cs) => {
            for c in cs {
                if !eval(c, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Condition::Or(cs) => {
            for c in cs {
                if eval(c, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Condition::Not(c) => Ok(!eval(c, scope)?),
        Condition::Test { variable, test } => {
            let value = variable.eval(scope);
            if let Test::Type(TypeTest::IsPresent, expected) = test {
                return Ok(value.is_ok() == *expected);
            }
            let value = value.map_err(|e| e.message().to_owned())?;
            test_value(value.as_ref(), test, scope)
        }
        Condition::Jsonata(_) => Err("JSONata conditions are not supported by this engine yet.".to_owned()),
    }
}

fn test_value(v: &Value, test: &Test, scope: &Scope<'_>) -> Result<bool, String> {
    match test {
        Test::Type(t, expected) => {
            let is = match t {
                TypeTest::IsNull => v.is_null(),
                TypeTest::IsPresent => true,
                TypeTest::IsNumeric => v.is_number(),
                TypeTest::IsString => v.is_string(),
                TypeTest::IsBoolean => v.is_boolean(),
                TypeTest::IsTimestamp => v.as_str().is_some_and(|s| parse_timestamp(s).is_some()),
            };
            Ok(is == *expected)
        }
        Test::StringMatches(pattern) => Ok(v.as_str().is_some_and(|s| wildcard_match(pattern, s))),
        Test::Compare { kind, op, operand } => {
            let other = match operand {
                Operand::Value(x) => std::borrow::Cow::Borrowed(x),
                Operand::Path(p) => p.eval(scope).map_err(|e| e.message().to_owned())?,
            };
            Ok(compare(*kind, *op, v, other.as_ref()))
        }
    }
}

fn compare(kind: CompareKind, op: CompareOp, a: &Value, b: &Value) -> bool {
    let ord = match kind {
        CompareKind::String => match (a, b) {
            (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
            _ => None,
        },
        CompareKind::Numeric => match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
                (Some(i), Some(j)) => Some(i.cmp(&j)),
                _ => x.as_f64().zip(y.as_f64()).and_then(|(f, g)| f.partial_cmp(&g)),
            },
            _ => None,
        },
        CompareKind::Boolean => match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
            _ => None,
        },
        CompareKind::Timestamp => {
            match (a.as_str().and_then(parse_timestamp), b.as_str().and_then(parse_timestamp)) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => None,
            }
        }
    };
    let Some(ord) = ord else { return false };
    match op {
        CompareOp::Equals => ord == Ordering::Equal,
        CompareOp::LessThan => ord == Ordering::Less,
        CompareOp::LessThanEquals => ord != Ordering::Greater,
        CompareOp::GreaterThan => ord == Ordering::Greater,
        CompareOp::GreaterThanEquals => ord != Ordering::Less,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
/// Reads the pattern and the text in place (no allocation per comparison).
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    /// The token at byte `p` of the pattern and the offset after it.
    fn token(pattern: &str, p: usize) -> Option<(Tok, usize)> {
        let c = pattern.get(p..)?.chars().next()?;
        let end = p + c.len_utf8();
        Some(match c {
            '\\' => match pattern.get(end..).and_then(|r| r.chars().next()) {
                Some(n) => (Tok::Char(n), end + n.len_utf8()),
                None => (Tok::Char('\\'), end),
            },
            '*' => (Tok::Star, end),
            c => (Tok::Char(c), end),
        })
    }
    let char_at = |t: usize| text.get(t..).and_then(|r| r.chars().next());
    // Iterative glob matching with backtracking to the last star: linear in practice, no recursion.
    // `p` and `t` are byte offsets; `star` is the offset after the last star, `mark` where it started.
    let (mut p, mut t) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while let Some(c) = char_at(t) {
        match token(pattern, p) {
            Some((Tok::Char(pc), next)) if pc == c => {
                p = next;
                t += c.len_utf8();
            }
            Some((Tok::Star, next)) => {
                star = Some(next);
                mark = t;
                p = next;
            }
            _ => match star {
                Some(after) => {
                    p = after;
                    mark += char_at(mark).map_or(1, char::len_utf8);
                    t = mark;
                }
                None => return false,
            },
        }
    }
    while let Some((Tok::Star, next)) = token(pattern, p) {
        p = next;
    }
    p == pattern.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("log-*.txt", "log-2024.txt"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b", "ac"));
        assert!(wildcard_match("a\\*b", "a*b"));
        assert!(!wildcard_match("a\\*b", "aXb"));
        assert!(wildcard_match("a\\\\b", "a\\b"));
        assert!(wildcard_match("é*ü", "éaäöü"));
        assert!(!wildcard_match("é*ü", "éaäö"));
        assert!(wildcard_match("*.log", "a.b.log"));
        assert!(wildcard_match("a*", "a"));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("", ""));
        assert!(wildcard_match("trailing\\", "trailing\\"));
    }
}
