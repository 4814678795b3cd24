//! The `States.*` intrinsic functions (AWS: "Intrinsic functions for JSONPath states"), with AWS's
//! argument rules and limits. Hashing, base64 and UUIDs use maintained crates.

use std::borrow::Cow;

use base64::Engine as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Map, Number, Value};

use crate::ast::{Arg, Call, Function};
use crate::error::EvalError;
use crate::eval::{Scope, json_eq};

/// Longest string States.Base64Encode / Base64Decode / Hash accept (AWS limit).
pub const MAX_STRING_INPUT: usize = 10_000;
/// Most items States.ArrayRange may produce (AWS limit).
pub const MAX_RANGE_ITEMS: usize = 1_000;

fn fail(f: Function, msg: impl std::fmt::Display) -> EvalError {
    EvalError::runtime(format!("The function '{}' failed: {msg}", f.name()))
}

/// JSON's name for a value's type (`null`, `boolean`, `number`, `string`, `array`, `object`), as AWS's
/// messages use it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

struct Args<'s> {
    f: Function,
    values: &'s [Cow<'s, Value>],
    format_parts: Option<&'s [String]>,
}

impl<'s> Args<'s> {
    fn arity(&self, min: usize, max: usize) -> Result<(), EvalError> {
        let n = self.values.len();
        if n < min || n > max {
            let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
            return Err(fail(self.f, format!("expected {want} arguments but received {n}")));
        }
        Ok(())
    }

    fn get(&self, i: usize) -> &Value {
        self.values.get(i).map(|c| c.as_ref()).unwrap_or(&Value::Null)
    }

    fn string(&self, i: usize) -> Result<&str, EvalError> {
        match self.get(i) {
            Value::String(s) => Ok(s),
            other => {
                Err(fail(self.f, format!("argument {} must be a string, got {}", i + 1, type_name(other))))
            }
        }
    }

    fn array(&self, i: usize) -> Result<&Vec<Value>, EvalError> {
        match self.get(i) {
            Value::Array(a) => Ok(a),
            other => {
                Err(fail(self.f, format!("argument {} must be an array, got {}", i + 1, type_name(other))))
            }
        }
    }

    /// An integer argument; floats with a fractional part are rejected.
    fn int(&self, i: usize) -> Result<i64, EvalError> {
        let v = self.get(i);
        let n = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64)),
            _ => None,
        };
        n.ok_or_else(|| fail(self.f, format!("argument {} must be an integer, got {v}", i + 1)))
    }
}

impl Call {
    /// Evaluates the call. Arguments are evaluated first (paths, nested calls), then the function runs.
    ///
    /// ```
    /// use serde_json::json;
    /// use sfn_path::{Call, Scope};
    /// let input = json!({"name": "World"});
    /// let call = Call::parse("States.Format('Hello {}!', $.name)").unwrap();
    /// assert_eq!(call.eval(&Scope::input(&input)).unwrap(), json!("Hello World!"));
    /// ```
    pub fn eval(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        /// Calls with at most this many arguments (nearly all) evaluate them into an array on the stack
        /// instead of a `Vec`: no allocation per call.
        const INLINE: usize = 4;
        const UNSET: Cow<'static, Value> = Cow::Borrowed(&Value::Null);
        let format_parts = match self.args.first() {
            Some(Arg::Str(s)) => Some(s.format_parts.as_slice()),
            _ => None,
        };
        let n = self.args.len();
        if n <= INLINE {
            let mut values = [UNSET; INLINE];
            for (slot, a) in values.iter_mut().zip(&self.args) {
                *slot = a.value(scope)?;
            }
            return apply(&Args { f: self.function, values: &values[..n], format_parts });
        }
        let values = self.args.iter().map(|a| a.value(scope)).collect::<Result<Vec<_>, _>>()?;
        apply(&Args { f: self.function, values: &values, format_parts })
    }
}

impl Arg {
    /// The argument's value: a literal or string borrowed from the call, a path's node, a nested call's result.
    fn value<'s>(&'s self, scope: &Scope<'s>) -> Result<Cow<'s, Value>, EvalError> {
        Ok(match self {
            Arg::Str(s) => Cow::Borrowed(&s.json),
            Arg::Literal(v) => Cow::Borrowed(v),
            Arg::Path(p) => p.eval(scope)?,
            Arg::Call(c) => Cow::Owned(c.eval(scope)?),
        })
    }
}

/// One intrinsic function's implementation, given its evaluated arguments.
type Intrinsic = fn(&Args<'_>) -> Result<Value, EvalError>;

/// The dispatch table: each intrinsic function's implementation, in its family's module.
fn implementation(f: Function) -> Intrinsic {
    use Function as F;
    match f {
        F::Array => arrays::array,
        F::ArrayPartition => arrays::partition,
        F::ArrayContains => arrays::contains,
        F::ArrayRange => arrays::range,
        F::ArrayGetItem => arrays::get_item,
        F::ArrayLength => arrays::length,
        F::ArrayUnique => arrays::unique,
        F::Format => strings::format,
        F::StringSplit => strings::split,
        F::StringToJson => json::string_to_json,
        F::JsonToString => json::json_to_string,
        F::JsonMerge => json::merge,
        F::MathRandom => math::random,
        F::MathAdd => math::add,
        F::Base64Encode => encoding::base64_encode,
        F::Base64Decode => encoding::base64_decode,
        F::Hash => encoding::hash,
        F::Uuid => ids::uuid,
    }
}

fn apply(a: &Args<'_>) -> Result<Value, EvalError> {
    implementation(a.f)(a)
}

/// `States.Array…`: building, partitioning, searching, ranges, items, lengths, unique items.
mod arrays {
    use super::*;

    /// `States.Array`: its arguments as an array.
    pub(super) fn array(a: &Args<'_>) -> Result<Value, EvalError> {
        Ok(Value::Array(a.values.iter().map(|v| v.as_ref().clone()).collect()))
    }

    /// `States.ArrayPartition`: chunks of a positive size.
    pub(super) fn partition(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let arr = a.array(0)?;
        let size = a.int(1)?;
        let size = usize::try_from(size)
            .ok()
            .filter(|&s| s > 0)
            .ok_or_else(|| fail(a.f, format!("the chunk size must be a positive integer, got {size}")))?;
        Ok(Value::Array(arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect()))
    }

    /// `States.ArrayContains`: whether an item is in the array (JSON equality).
    pub(super) fn contains(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let arr = a.array(0)?;
        Ok(Value::Bool(arr.iter().any(|v| json_eq(v, a.get(1)))))
    }

    /// `States.ArrayRange`: start to end by a non-zero step, at most [`MAX_RANGE_ITEMS`] items.
    pub(super) fn range(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(3, 3)?;
        let (start, end, step) = (a.int(0)?, a.int(1)?, a.int(2)?);
        if step == 0 {
            return Err(fail(a.f, "the step cannot be 0"));
        }
        let count = if (step > 0 && start > end) || (step < 0 && start < end) {
            0
        } else {
            (i128::from(end) - i128::from(start)) / i128::from(step) + 1
        };
        if count > MAX_RANGE_ITEMS as i128 {
            return Err(fail(
                a.f,
                format!("the range would contain {count} items; at most {MAX_RANGE_ITEMS} are allowed"),
            ));
        }
        let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut x = start;
        for _ in 0..count {
            out.push(Value::Number(x.into()));
            x = x.saturating_add(step);
        }
        Ok(Value::Array(out))
    }

    /// `States.ArrayGetItem`: the item at an index.
    pub(super) fn get_item(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let arr = a.array(0)?;
        let ix = a.int(1)?;
        usize::try_from(ix).ok().and_then(|i| arr.get(i)).cloned().ok_or_else(|| {
            fail(a.f, format!("index {ix} is out of bounds for an array of {} items", arr.len()))
        })
    }

    /// `States.ArrayLength`.
    pub(super) fn length(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        Ok(Value::Number(a.array(0)?.len().into()))
    }

    /// `States.ArrayUnique`: the first of equal items (JSON equality), in order.
    pub(super) fn unique(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        let mut out: Vec<Value> = Vec::new();
        for v in a.array(0)? {
            if !out.iter().any(|o| json_eq(o, v)) {
                out.push(v.clone());
            }
        }
        Ok(Value::Array(out))
    }
}

/// `States.Format` and `States.StringSplit`.
mod strings {
    use super::*;

    /// `States.StringSplit`: split at any of the delimiter characters, empty parts dropped.
    pub(super) fn split(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let s = a.string(0)?;
        let delims = a.string(1)?;
        let parts = s
            .split(|c| delims.contains(c))
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(p.to_owned()))
            .collect();
        Ok(Value::Array(parts))
    }

    /// `States.Format`: the template's `{}` placeholders replaced by the arguments, as Java renders them.
    pub(super) fn format(a: &Args<'_>) -> Result<Value, EvalError> {
        if a.values.is_empty() {
            return Err(fail(a.f, "expected a format string"));
        }
        let owned;
        let parts: &[String] = match a.format_parts {
            Some(p) => p,
            None => {
                let template = a.string(0)?;
                owned = template.split("{}").map(str::to_owned).collect::<Vec<_>>();
                &owned
            }
        };
        let placeholders = parts.len() - 1;
        let given = a.values.len() - 1;
        if placeholders != given {
            return Err(fail(
                a.f,
                format!("the format string has {placeholders} placeholders but {given} arguments were given"),
            ));
        }
        // Sized for the text and the string arguments, so that it is allocated once in the usual case.
        let strings: usize = a.values.iter().skip(1).map(|v| v.as_str().map_or(0, str::len)).sum();
        let mut out = String::with_capacity(parts.iter().map(String::len).sum::<usize>() + strings);
        for (i, part) in parts.iter().enumerate() {
            out.push_str(part);
            if let Some(v) = a.values.get(i + 1) {
                java_to_string(v, &mut out);
            }
        }
        Ok(Value::String(out))
    }

    /// Renders a value as Java's `toString` does for the parsed JSON (strings raw, `{k=v, …}`, `[a, b]`).
    fn java_to_string(v: &Value, out: &mut String) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&number_text(n)),
            Value::String(s) => out.push_str(s),
            Value::Array(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    java_to_string(x, out);
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('{');
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    java_to_string(x, out);
                }
                out.push('}');
            }
        }
    }

    fn number_text(n: &Number) -> String {
        n.to_string()
    }
}

/// `States.StringToJson`, `States.JsonToString`, `States.JsonMerge`.
mod json {
    use super::*;

    /// `States.StringToJson`: blank text is `null`; `-0` reads as Jackson reads it.
    pub(super) fn string_to_json(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        let s = a.string(0)?;
        if s.trim().is_empty() {
            return Ok(Value::Null);
        }
        let mut v =
            serde_json::from_str(s).map_err(|e| fail(a.f, format!("the string is not valid JSON: {e}")))?;
        if has_integral_negative_zero(s) {
            integral_negative_zero(&mut v);
        }
        Ok(v)
    }

    /// `States.JsonToString`: compact JSON text.
    pub(super) fn json_to_string(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        Ok(Value::String(serde_json::to_string(a.get(0)).unwrap_or_default()))
    }

    /// `States.JsonMerge`: a shallow merge, the second object winning, in hash order.
    pub(super) fn merge(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(3, 3)?;
        let (Value::Object(x), Value::Object(y)) = (a.get(0), a.get(1)) else {
            return Err(fail(a.f, "the first two arguments must be JSON objects"));
        };
        match a.get(2) {
            Value::Bool(false) => {}
            Value::Bool(true) => {
                return Err(fail(a.f, "deep merge is not supported; the third argument must be false"));
            }
            other => {
                return Err(fail(
                    a.f,
                    format!("the third argument must be a boolean, got {}", type_name(other)),
                ));
            }
        }
        // AWS merges into a Java `HashMap` and lists the members in its order (`crate::java_order`;
        // `intrinsic_functions/test_json_manipulation__test_json_merge_escaped_argument`).
        let keys: Vec<&String> = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))).collect();
        let order = crate::java_order::hash_map_order(keys.iter().map(|k| k.as_str()));
        let mut out = Map::with_capacity(keys.len());
        for k in order.into_iter().map(|i| keys[i]) {
            let v = y.get(k).or_else(|| x.get(k)).cloned().unwrap_or(Value::Null);
            out.insert(k.clone(), v);
        }
        Ok(Value::Object(out))
    }

    /// True when `text` (JSON) has a number `-0` without a fraction or an exponent, outside strings (`-0.0`
    /// stays a float -0.0, as in Jackson).
    fn has_integral_negative_zero(text: &str) -> bool {
        let b = text.as_bytes();
        let mut in_string = false;
        let mut i = 0;
        while i < b.len() {
            match (in_string, b[i]) {
                (true, b'\\') => i += 1,
                (_, b'"') => in_string = !in_string,
                (false, b'-')
                    if b.get(i + 1) == Some(&b'0') && !matches!(b.get(i + 2), Some(b'.' | b'e' | b'E')) =>
                {
                    return true;
                }
                _ => {}
            }
            i += 1;
        }
        false
    }

    /// Jackson reads the literal `-0` as the integer 0 (serde_json reads a float -0.0): follow Jackson.
    fn integral_negative_zero(v: &mut Value) {
        match v {
            Value::Number(n)
                if n.as_f64() == Some(0.0) && n.is_f64() && n.as_f64().is_some_and(f64::is_sign_negative) =>
            {
                *v = Value::Number(0.into());
            }
            Value::Array(a) => a.iter_mut().for_each(integral_negative_zero),
            Value::Object(m) => m.values_mut().for_each(integral_negative_zero),
            _ => {}
        }
    }
}

/// `States.MathRandom`, `States.MathAdd`.
mod math {
    use super::*;

    /// `States.MathRandom`: start (inclusive) to end (exclusive), seeded when a seed is given. AWS
    /// accepts non-integer bounds (`States.MathRandom(12.5, 44.51)`, issue 15's unseen AWS cases); they
    /// are rounded as `States.MathAdd` rounds its arguments.
    pub(super) fn random(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 3)?;
        let (start, end) = (java_round(a, 0)?, java_round(a, 1)?);
        if start >= end {
            return Err(fail(a.f, format!("the start ({start}) must be less than the end ({end})")));
        }
        let n = if a.values.len() == 3 {
            let seed = a.int(2)?;
            rand::rngs::StdRng::seed_from_u64(seed as u64).random_range(start..end)
        } else {
            rand::rng().random_range(start..end)
        };
        Ok(Value::Number(n.into()))
    }

    /// `States.MathAdd`: the sum of two numbers rounded as Java rounds them.
    pub(super) fn add(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let x = java_round(a, 0)?;
        let y = java_round(a, 1)?;
        Ok(Value::Number((x + y).into()))
    }

    /// A number argument rounded like Java's `Math.round` (half up), within the 32-bit range AWS accepts.
    fn java_round(a: &Args<'_>, i: usize) -> Result<i64, EvalError> {
        let v = a.get(i);
        let Value::Number(n) = v else {
            return Err(fail(a.f, format!("argument {} must be a number, got {}", i + 1, type_name(v))));
        };
        let r = match n.as_i64() {
            Some(x) => x,
            None => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if !f.is_finite() || f.abs() > 1e15 {
                    return Err(fail(a.f, format!("argument {} is out of range: {n}", i + 1)));
                }
                (f + 0.5).floor() as i64
            }
        };
        if r < i64::from(i32::MIN) || r > i64::from(i32::MAX) {
            return Err(fail(
                a.f,
                format!("argument {} must be between {} and {}", i + 1, i32::MIN, i32::MAX),
            ));
        }
        Ok(r)
    }
}

/// `States.Base64Encode`, `States.Base64Decode`, `States.Hash`: at most [`MAX_STRING_INPUT`] characters.
mod encoding {
    use super::*;

    /// `States.Base64Encode`.
    pub(super) fn base64_encode(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        let s = limited(a, 0)?;
        Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())))
    }

    /// `States.Base64Decode`: the decoded bytes must be UTF-8 text.
    pub(super) fn base64_decode(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(1, 1)?;
        let s = limited(a, 0)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| fail(a.f, format!("the input is not valid base64: {e}")))?;
        String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| fail(a.f, "the decoded data is not valid UTF-8 text"))
    }

    /// `States.Hash`: the hex digest with one of its algorithms (a non-string input is hashed as JSON text).
    pub(super) fn hash(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(2, 2)?;
        let data = match a.get(0) {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(serde_json::to_string(other).unwrap_or_default()),
        };
        if data.chars().count() > MAX_STRING_INPUT {
            return Err(fail(a.f, format!("the input is longer than {MAX_STRING_INPUT} characters")));
        }
        let digest = super::hash(a.string(1)?, data.as_bytes())
            .ok_or_else(|| fail(a.f, "the algorithm must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"))?;
        Ok(Value::String(digest))
    }

    fn limited<'a>(a: &'a Args<'_>, i: usize) -> Result<&'a str, EvalError> {
        let s = a.string(i)?;
        if s.chars().count() > MAX_STRING_INPUT {
            return Err(fail(a.f, format!("the input is longer than {MAX_STRING_INPUT} characters")));
        }
        Ok(s)
    }
}

/// `States.UUID`.
mod ids {
    use super::*;

    /// `States.UUID`: a random (version 4) UUID.
    pub(super) fn uuid(a: &Args<'_>) -> Result<Value, EvalError> {
        a.arity(0, 0)?;
        Ok(Value::String(uuid::Uuid::new_v4().to_string()))
    }
}

/// The hex digest of `data` with one of States.Hash's algorithms (`MD5`, `SHA-1`, `SHA-256`, `SHA-384`,
/// `SHA-512`); `None` for any other name.
pub(crate) fn hash(algorithm: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    Some(match algorithm {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(expr: &str, input: Value) -> Result<Value, String> {
        let c = Call::parse(expr).map_err(|e| e.to_string())?;
        c.eval(&Scope::input(&input)).map_err(|e| e.message().to_owned())
    }

    /// A call's arguments are evaluated in order, however many there are: the first that fails names
    /// the call's error.
    #[test]
    fn many_arguments_and_the_first_failing_one() {
        let input = json!({"a": 1, "b": "two", "c": [3], "d": {"e": 4}, "f": null});
        assert_eq!(
            run("States.Format('{}|{}|{}|{}|{}|{}', $.a, $.b, $.c, $.d, $.f, 'lit')", input.clone()).unwrap(),
            json!("1|two|[3]|{e=4}|null|lit")
        );
        assert_eq!(
            run("States.Array($.a, $.b, $.c, $.d, $.f, 6, 'x')", input.clone()).unwrap(),
            json!([1, "two", [3], {"e": 4}, null, 6, "x"])
        );
        let first = run("States.Array($.a, $.nope1, $.b, $.nope2, $.c, $.nope3)", input.clone()).unwrap_err();
        assert!(first.contains("nope1"), "{first}");
        let first = run("States.Format('{}{}', $.missing, States.MathAdd($.b, 1))", input).unwrap_err();
        assert!(first.contains("missing"), "{first}");
    }

    #[test]
    fn format() {
        assert_eq!(
            run("States.Format('a {} b {}', $.x, $.y)", json!({"x": 1, "y": null})).unwrap(),
            json!("a 1 b null")
        );
        assert_eq!(
            run("States.Format('{}', $.o)", json!({"o": {"Arg1": 1, "Arg2": []}})).unwrap(),
            json!("{Arg1=1, Arg2=[]}")
        );
        assert_eq!(run("States.Format('\\{\\} {}', 'x')", json!({})).unwrap(), json!("{} x"));
        assert_eq!(run("States.Format($.t, 'x')", json!({"t": "<{}>"})).unwrap(), json!("<x>"));
        assert!(run("States.Format('{} {}', 'x')", json!({})).is_err());
    }

    #[test]
    fn json_functions() {
        assert_eq!(run("States.StringToJson($.s)", json!({"s": " "})).unwrap(), Value::Null);
        assert_eq!(run("States.StringToJson($.s)", json!({"s": "-0"})).unwrap(), json!(0));
        // Found by the fuzz target intrinsic-oracles: -0.0 survives JsonToString then StringToJson.
        assert_eq!(run("States.StringToJson($.s)", json!({"s": "[-0.0]"})).unwrap(), json!([-0.0]));
        assert!(
            run("States.StringToJson($.s)", json!({"s": "-0.0"}))
                .unwrap()
                .as_f64()
                .unwrap()
                .is_sign_negative()
        );
        assert_eq!(run("States.StringToJson($.s)", json!({"s": "{\"a\": [1]}"})).unwrap(), json!({"a": [1]}));
        assert!(run("States.StringToJson($.s)", json!({"s": "{"})).is_err());
        assert_eq!(
            run("States.JsonToString($.o)", json!({"o": {"A": 1, "B": []}})).unwrap(),
            json!("{\"A\":1,\"B\":[]}")
        );
        assert_eq!(
            run("States.JsonMerge($.a, $.b, false)", json!({"a": {"x": 1, "y": 1}, "b": {"y": 2}})).unwrap(),
            json!({"x": 1, "y": 2})
        );
        assert!(run("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).is_err());
    }

    #[test]
    fn arrays() {
        assert_eq!(run("States.Array(1, 'a', null)", json!({})).unwrap(), json!([1, "a", null]));
        assert_eq!(
            run("States.ArrayPartition($.a, 2)", json!({"a": [0, 1, 2]})).unwrap(),
            json!([[0, 1], [2]])
        );
        assert!(run("States.ArrayPartition($.a, 0)", json!({"a": [0]})).is_err());
        assert_eq!(
            run("States.ArrayContains($.a, $.v)", json!({"a": [[1, 2]], "v": [1, 2.0]})).unwrap(),
            json!(true)
        );
        assert_eq!(run("States.ArrayRange(0, 10, 3)", json!({})).unwrap(), json!([0, 3, 6, 9]));
        assert_eq!(run("States.ArrayRange(1, 9, 9)", json!({})).unwrap(), json!([1]));
        assert_eq!(run("States.ArrayRange(5, 1, -2)", json!({})).unwrap(), json!([5, 3, 1]));
        assert!(run("States.ArrayRange(0, 1000000000, 1)", json!({})).is_err());
        assert!(run("States.ArrayRange(0, 1, 0)", json!({})).is_err());
        assert_eq!(run("States.ArrayGetItem($.a, 1)", json!({"a": [5, 6]})).unwrap(), json!(6));
        assert!(run("States.ArrayGetItem($.a, 2)", json!({"a": [5, 6]})).is_err());
        assert_eq!(run("States.ArrayLength($.a)", json!({"a": [5, 6]})).unwrap(), json!(2));
        assert_eq!(
            run("States.ArrayUnique($.a)", json!({"a": [1, 1.0, "1", [], []]})).unwrap(),
            json!([1, "1", []])
        );
    }

    #[test]
    fn encoding_and_hashing() {
        assert_eq!(
            run("States.Base64Encode('Data to encode')", json!({})).unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(),
            json!("Data to encode")
        );
        assert!(run("States.Base64Decode('***')", json!({})).is_err());
        assert_eq!(
            run("States.Hash('input data', 'MD5')", json!({})).unwrap(),
            json!("812f45842bc6d66ee14572ce20db8e86")
        );
        assert_eq!(
            run("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert!(run("States.Hash('x', 'SHA-3')", json!({})).is_err());
        let long = "x".repeat(MAX_STRING_INPUT + 1);
        assert!(run("States.Base64Encode($.s)", json!({ "s": long })).is_err());
    }

    #[test]
    fn math() {
        let add = |a: Value, b: Value| run("States.MathAdd($.a, $.b)", json!({"a": a, "b": b})).unwrap();
        assert_eq!(add(json!(1.49), json!(1.5)), json!(3));
        assert_eq!(add(json!(-1.5), json!(0)), json!(-1));
        assert_eq!(add(json!(-2.5), json!(0)), json!(-2));
        assert_eq!(add(json!(-0.5), json!(0.5)), json!(1));
        assert_eq!(add(json!(-1.51), json!(0)), json!(-2));
        assert!(run("States.MathAdd($.a, 1)", json!({"a": 3_000_000_000_i64})).is_err());
        assert!(run("States.MathAdd($.a, 1)", json!({"a": "1"})).is_err());
        let r = run("States.MathRandom(1, 5)", json!({})).unwrap();
        assert!((1..5).contains(&r.as_i64().unwrap()));
        let s1 = run("States.MathRandom(0, 1000, 7)", json!({})).unwrap();
        let s2 = run("States.MathRandom(0, 1000, 7)", json!({})).unwrap();
        assert_eq!(s1, s2);
        assert!(run("States.MathRandom(5, 5)", json!({})).is_err());
        let r = run("States.MathRandom(12.5, 44.51)", json!({})).unwrap();
        assert!((13..45).contains(&r.as_i64().unwrap()), "{r}");
    }

    #[test]
    fn strings_and_uuid() {
        assert_eq!(run("States.StringSplit($.s, ',')", json!({"s": ", , ,"})).unwrap(), json!([" ", " "]));
        assert_eq!(
            run("States.StringSplit($.s, '.+,=')", json!({"s": "This.is+a,test=string"})).unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
        let u = run("States.UUID()", json!({})).unwrap();
        assert_eq!(u.as_str().map(str::len), Some(36));
        assert!(run("States.UUID(1)", json!({})).is_err());
    }

    #[test]
    fn nested_calls() {
        let ctx = json!({"StateMachine": {"Name": "a-b-c"}});
        let input = json!({});
        let scope = Scope { input: &input, context: &ctx, variables: &() };
        let c = Call::parse(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
        )
        .unwrap();
        assert_eq!(c.eval(&scope).unwrap(), json!("c"));
    }
}
