//! Filter comparisons as Jayway JsonPath evaluates them: its value nodes, its `EvaluatorFactory` (one
//! evaluator per relational operator), its regular expressions and its lenient JSON literals.
//!
//! Step Functions evaluates paths with Jayway JsonPath (com.jayway.jsonpath), whose filters turn each
//! operand into a `ValueNode` (json-path/JsonPath, internal/filter/ValueNode.java and ValueNodes.java):
//! a `StringNode`, `NumberNode` (a `BigDecimal`), `BooleanNode`, `NullNode`, `JsonNode` (an array or
//! object, either parsed from the document or kept as the literal's text), `PatternNode`, or
//! `UndefinedNode` for a path that selects nothing. [`Node`] is that model, and [`relate`] applies the
//! evaluator of an operator to two nodes with Jayway's type rules (internal/filter/EvaluatorFactory.java):
//!
//! * equality (`==`, `!=`, `in`, `nin`, `subsetof`, `anyof`, `noneof`, `contains`) is `ValueNode.equals`:
//!   a string equals a number whose `BigDecimal` text it is (`'1' == 1`, `'200' == 200`), and a number
//!   equals a string that parses to the same `BigDecimal` (`1 == '1.0'`); `===` and `!==` also require
//!   the same node type; a missing value never equals anything;
//! * list operators need arrays (a JSON array literal or a path selecting an array): a JSON object, or a
//!   missing value on the left of `subsetof`, `anyof`, `noneof`, makes them false; a right side that is
//!   no JSON node at all (`in 'x'`, `in $.missing`) throws `InvalidPathException`, which deselects the
//!   element whatever `!`, `&&`, `||` surround the comparison ([`Abort::Invalid`]). Building Jayway's `ValueListNode` from an array that holds an array or
//!   an object throws `JsonPathException("Could not determine value type")`, which no filter catches:
//!   the whole path evaluation fails ([`Fault`]);
//! * `size` compares a string's length (UTF-16 units) or an array's size with an integer (an object's
//!   size is -1 for Jayway); `empty` takes `true` or `false` and holds on strings, arrays and objects;
//! * `=~` matches a whole string, number (its `BigDecimal` text) or boolean; any other value is matched
//!   as the empty string (so `@.missing =~ /.*/` holds); on an array it holds when any element matches;
//! * `all`, `type` and `matches` never hold in a path: their right side must be a value list, a Java
//!   class or a `Predicate`, which only Jayway's `Criteria` API can build, and the resulting
//!   `InvalidPathException` deselects the element (internal/path/PredicatePathToken.java, `accept`).
//!
//! Regular expressions are Java's `java.util.regex.Pattern` in Jayway; this crate translates their Java
//! syntax to ECMAScript and runs them with the `regress` engine (see [`Regex::new`]). Both engines
//! backtrack: a pattern such as `(a+)+$` on a long subject takes exponential time on AWS. Here one match
//! is bounded: past [`REGEX_STEPS`] steps of regress's matcher (vendor/regress, patched) the whole path
//! evaluation fails, naming the pattern, rather than hold the execution (and its thread) for ever.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::ast::{CompareOp, Regex};

/// The steps one `=~` match may take (regress's matcher; vendor/regress/PATCHED.md), as JSONata's
/// built-ins have: well under a second optimized.
pub(crate) const REGEX_STEPS: u64 = 10_000_000;

/// A failure that Jayway does not catch inside a filter: evaluating the whole path fails with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault(pub(crate) String);

/// Why a filter has no boolean value for an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Abort {
    /// An evaluator threw `InvalidPathException` (e.g. `empty 1`, `in 'x'`): Jayway's
    /// `PredicatePathToken.accept` catches it and does not select the element, whatever `!`, `&&` or `||`
    /// surround the comparison.
    Invalid,
    /// Anything else: the path evaluation fails.
    Fault(Fault),
}

impl From<Fault> for Abort {
    fn from(f: Fault) -> Abort {
        Abort::Fault(f)
    }
}

/// Jayway's message when an array element is itself an array or an object (`ValueNode.toValueNode`).
const NO_VALUE_TYPE: &str = "Could not determine value type";

/// A filter operand evaluated to Jayway's value node.
#[derive(Debug, Clone)]
pub(crate) enum Node<'a> {
    /// `UndefinedNode`: a path that selects nothing.
    Undefined,
    /// `NullNode`
    Null,
    /// `BooleanNode`
    Bool(bool),
    /// `NumberNode`
    Num(Cow<'a, Number>),
    /// `StringNode`
    Str(Cow<'a, str>),
    /// `JsonNode` holding a parsed array or object (from the document).
    Parsed(Cow<'a, Value>),
    /// `JsonNode` holding the text of a JSON literal (`value` is what it parses to).
    Text { text: Cow<'a, str>, value: Option<Cow<'a, Value>> },
    /// `PatternNode`
    Pattern(&'a Regex),
    /// `PathNode`: a string element of a list that Jayway reads as a path; equal to nothing.
    PathLike,
}

impl<'a> Node<'a> {
    /// The node of a value a path selected (Jayway's `PathNode.evaluate`).
    pub(crate) fn of(v: Cow<'a, Value>) -> Node<'a> {
        match v {
            Cow::Borrowed(v) => match v {
                Value::Null => Node::Null,
                Value::Bool(b) => Node::Bool(*b),
                Value::Number(n) => Node::Num(Cow::Borrowed(n)),
                Value::String(s) => Node::Str(Cow::Borrowed(s)),
                Value::Array(_) | Value::Object(_) => Node::Parsed(Cow::Borrowed(v)),
            },
            Cow::Owned(v) => match v {
                Value::Null => Node::Null,
                Value::Bool(b) => Node::Bool(b),
                Value::Number(n) => Node::Num(Cow::Owned(n)),
                Value::String(s) => Node::Str(Cow::Owned(s)),
                v @ (Value::Array(_) | Value::Object(_)) => Node::Parsed(Cow::Owned(v)),
            },
        }
    }

    /// The node of a literal of the filter text. A number literal keeps its value, not its spelling: Jayway's
    /// `BigDecimal` of `1.50` prints `1.50`, this one `1.5` (it matters only when a string is compared with
    /// a number literal written with trailing zeros or an exponent).
    pub(crate) fn literal(v: &'a Value) -> Node<'a> {
        match v {
            Value::Array(_) | Value::Object(_) => {
                Node::Text { text: Cow::Owned(v.to_string()), value: Some(Cow::Borrowed(v)) }
            }
            v => Node::of(Cow::Borrowed(v)),
        }
    }

    /// The node of a JSON literal (`['a','b']`), kept as its text.
    pub(crate) fn json_literal(text: &'a str, value: &'a Value) -> Node<'a> {
        Node::Text { text: Cow::Borrowed(text), value: Some(Cow::Borrowed(value)) }
    }

    /// Jayway's `ValueNode.toValueNode` on an element of an array: strings that read as a path become
    /// path nodes, strings that read as JSON become JSON nodes, other strings lose one pair of surrounding
    /// quotes and their escapes; arrays and objects have no value type.
    fn element(v: &'a Value) -> Result<Node<'a>, Fault> {
        Ok(match v {
            Value::Array(_) | Value::Object(_) => return Err(Fault(NO_VALUE_TYPE.to_owned())),
            Value::String(s) if is_path_like(s) => Node::PathLike,
            Value::String(s) if is_json_like(s) => Node::Text { text: Cow::Borrowed(s), value: None },
            Value::String(s) => Node::Str(unquote(s)),
            v => Node::of(Cow::Borrowed(v)),
        })
    }

    /// The elements of an array node (`JsonNode.asValueListNode`); `None` for anything else.
    fn list(&self) -> Result<Option<Vec<Node<'_>>>, Fault> {
        let items = match self {
            Node::Parsed(v) => v.as_array(),
            Node::Text { value: Some(v), .. } => v.as_array(),
            _ => None,
        };
        match items {
            Some(items) => items.iter().map(Node::element).collect::<Result<Vec<_>, _>>().map(Some),
            None => Ok(None),
        }
    }

    fn is_json(&self) -> bool {
        matches!(self, Node::Parsed(_) | Node::Text { .. })
    }

    /// The JSON value of a JSON node.
    fn json(&self) -> Option<&Value> {
        match self {
            Node::Parsed(v) => Some(v),
            Node::Text { value: Some(v), .. } => Some(v),
            _ => None,
        }
    }

    /// Jayway's node class, for `===`.
    fn kind(&self) -> u8 {
        match self {
            Node::Undefined => 0,
            Node::Null => 1,
            Node::Bool(_) => 2,
            Node::Num(_) => 3,
            Node::Str(_) => 4,
            Node::Parsed(_) | Node::Text { .. } => 5,
            Node::Pattern(_) => 6,
            Node::PathLike => 7,
        }
    }

    /// `ValueNode.equals(other)` with `self` as the receiver (Jayway's equality is not symmetric).
    fn equals(&self, other: &Node<'_>) -> bool {
        match (self, other) {
            (Node::Str(a), Node::Str(b)) => a == b,
            (Node::Str(a), Node::Num(n)) => **a == big_decimal_text(n),
            (Node::Num(a), Node::Num(b)) => numbers_equal(a, b),
            (Node::Num(a), Node::Str(s)) => parse_big_decimal(s).is_some_and(|b| decimal_cmp(a, &b).is_eq()),
            (Node::Bool(a), Node::Bool(b)) => a == b,
            (Node::Null, Node::Null) => true,
            // JsonNode.equals(Object) compares what the two nodes hold: parsed values, or literal texts.
            (Node::Parsed(a), Node::Parsed(b)) => java_equals(a, b),
            (Node::Text { text: a, .. }, Node::Text { text: b, .. }) => a == b,
            _ => false,
        }
    }

    /// What `=~` matches (`RegexpEvaluator.getInput`).
    fn regex_input(&self) -> Cow<'_, str> {
        match self {
            Node::Str(s) => Cow::Borrowed(s),
            Node::Num(n) => Cow::Owned(big_decimal_text(n)),
            Node::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            _ => Cow::Borrowed(""),
        }
    }
}

/// Jayway's evaluator for `op` on two evaluated operands.
pub(crate) fn relate(l: &Node<'_>, op: CompareOp, r: &Node<'_>) -> Result<bool, Abort> {
    Ok(match op {
        CompareOp::Eq => equal(l, r),
        CompareOp::Ne => !equal(l, r),
        CompareOp::StrictEq => l.kind() == r.kind() && equal(l, r),
        CompareOp::StrictNe => !(l.kind() == r.kind() && equal(l, r)),
        CompareOp::Lt => order(l, r) == Some(Ordering::Less),
        CompareOp::Le => matches!(order(l, r), Some(Ordering::Less | Ordering::Equal)),
        CompareOp::Gt => order(l, r) == Some(Ordering::Greater),
        CompareOp::Ge => matches!(order(l, r), Some(Ordering::Greater | Ordering::Equal)),
        CompareOp::Regex => regex(l, r)?,
        CompareOp::In => contains_node(r, l)?,
        CompareOp::Nin => !contains_node(r, l)?,
        CompareOp::SubsetOf => match lists(l, r)? {
            Some((ls, rs)) => ls.iter().all(|a| rs.iter().any(|b| a.equals(b))),
            None => false,
        },
        CompareOp::AnyOf => match lists(l, r)? {
            Some((ls, rs)) => ls.iter().any(|a| rs.iter().any(|b| a.equals(b))),
            None => false,
        },
        CompareOp::NoneOf => match lists(l, r)? {
            Some((ls, rs)) => !ls.iter().any(|a| rs.iter().any(|b| a.equals(b))),
            None => false,
        },
        CompareOp::Size => match r {
            Node::Num(n) => {
                let expected = java_int_value(n);
                match l {
                    Node::Str(s) => i64::try_from(s.encode_utf16().count()).ok() == Some(expected),
                    // JsonNode.length: the size of an array, -1 for an object.
                    l if l.is_json() => match l.json() {
                        Some(Value::Array(a)) => i64::try_from(a.len()).ok() == Some(expected),
                        _ => expected == -1,
                    },
                    _ => false,
                }
            }
            _ => false,
        },
        CompareOp::Empty => {
            let empty = match l {
                Node::Str(s) => s.is_empty(),
                l if l.is_json() => match l.json() {
                    Some(Value::Array(a)) => a.is_empty(),
                    Some(Value::Object(m)) => m.is_empty(),
                    Some(Value::String(s)) => s.is_empty(),
                    _ => true,
                },
                _ => return Ok(false),
            };
            // `right.asBooleanNode()` throws on anything but a boolean.
            match r {
                Node::Bool(b) => *b == empty,
                _ => return Err(Abort::Invalid),
            }
        }
        CompareOp::Contains => match (l, r) {
            (Node::Str(a), Node::Str(b)) => a.contains(b.as_ref()),
            (l, r) if l.is_json() => match l.list()? {
                Some(items) => items.iter().any(|e| r.equals(e)),
                None => false,
            },
            _ => false,
        },
        CompareOp::Exists => match (l, r) {
            (Node::Bool(a), Node::Bool(b)) => a == b,
            // `asBooleanNode()` of the other side throws.
            (Node::Bool(_), _) | (_, Node::Bool(_)) => return Err(Abort::Invalid),
            _ => return Err(Fault("Failed to evaluate exists expression".to_owned()).into()),
        },
        // `right.asValueListNode()`, `asClassNode()`, `asPredicateNode()` throw on any node a path holds.
        CompareOp::All | CompareOp::Type | CompareOp::Matches => return Err(Abort::Invalid),
    })
}

/// The elements of both sides of `subsetof`, `anyof`, `noneof` (`None`: a JSON node that is no array).
/// A side that is no JSON node at all throws `InvalidPathException` (`asValueListNode()`); the right
/// side is looked at first.
#[allow(clippy::type_complexity)]
fn lists<'n>(l: &'n Node<'_>, r: &'n Node<'_>) -> Result<Option<(Vec<Node<'n>>, Vec<Node<'n>>)>, Abort> {
    if !r.is_json() {
        return Err(Abort::Invalid);
    }
    let Some(rs) = r.list()? else { return Ok(None) };
    if !l.is_json() {
        return Err(Abort::Invalid);
    }
    let Some(ls) = l.list()? else { return Ok(None) };
    Ok(Some((ls, rs)))
}

/// `EqualsEvaluator`: two JSON nodes compare the left one's content with the right one's parsed value
/// (a JSON literal on the left holds its text, which equals no parsed value); otherwise `equals`.
fn equal(l: &Node<'_>, r: &Node<'_>) -> bool {
    match (l, r) {
        (Node::Parsed(a), r) if r.is_json() => r.json().is_some_and(|b| java_equals(a, b)),
        (Node::Text { .. }, r) if r.is_json() => false,
        _ => l.equals(r),
    }
}

/// `in`: `list` is an array whose elements include `x` (`x.equals(element)`); a `list` that is no JSON
/// node throws `InvalidPathException`.
fn contains_node(list: &Node<'_>, x: &Node<'_>) -> Result<bool, Abort> {
    if !list.is_json() {
        return Err(Abort::Invalid);
    }
    Ok(match list.list()? {
        Some(items) => items.iter().any(|e| x.equals(e)),
        None => false,
    })
}

/// `<`, `<=`, `>`, `>=`: numbers by value, strings by UTF-16 code units (Java's `String.compareTo`);
/// anything else is not ordered.
fn order(l: &Node<'_>, r: &Node<'_>) -> Option<Ordering> {
    match (l, r) {
        (Node::Num(a), Node::Num(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        (Node::Str(a), Node::Str(b)) => Some(a.encode_utf16().cmp(b.encode_utf16())),
        _ => None,
    }
}

/// `RegexpEvaluator`: exactly one side is a pattern; it must match the other side whole, or any element
/// of it when it is an array.
fn regex(l: &Node<'_>, r: &Node<'_>) -> Result<bool, Fault> {
    let (re, other) = match (l, r) {
        (Node::Pattern(re), other) | (other, Node::Pattern(re)) if !matches!(other, Node::Pattern(_)) => {
            (*re, other)
        }
        _ => return Ok(false),
    };
    if matches!(other.json(), Some(Value::Array(_))) {
        let items = other.list()?.unwrap_or_default();
        for e in items {
            if re.matches_within(&e.regex_input(), REGEX_STEPS)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    re.matches_within(&other.regex_input(), REGEX_STEPS)
}

/// Java's `Object.equals` on the values Jackson parses a document into (`ArrayList`, `LinkedHashMap`,
/// `Integer`/`Long`, `Double`, …): an integer never equals a floating-point number.
fn java_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (false, false) => x.as_i128() == y.as_i128(),
            (true, true) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| java_equals(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| java_equals(v, w)))
        }
        _ => a == b,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    match (a.as_i128(), b.as_i128()) {
        (Some(i), Some(j)) => i == j,
        _ => a.as_f64() == b.as_f64(),
    }
}

/// A `BigDecimal` read from a string (`new BigDecimal(s)`): an optional sign, digits with at most one
/// `.`, an optional exponent. Kept as an exact integer when it is one, else as a double.
enum Decimal {
    Int(i128),
    Float(f64),
}

fn parse_big_decimal(s: &str) -> Option<Decimal> {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let (mut digits, mut dot) = (0, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot => dot = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let mantissa_end = i;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += usize::from(matches!(b.get(i), Some(b'+' | b'-')));
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if !dot && mantissa_end == b.len() {
        if let Ok(n) = s.parse::<i128>() {
            return Some(Decimal::Int(n));
        }
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite()).map(Decimal::Float)
}

fn decimal_cmp(n: &Number, d: &Decimal) -> Ordering {
    match (n.as_i128(), d) {
        (Some(i), Decimal::Int(j)) => i.cmp(j),
        _ => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let y = match d {
                Decimal::Int(j) => *j as f64,
                Decimal::Float(f) => *f,
            };
            x.partial_cmp(&y).unwrap_or(Ordering::Less)
        }
    }
}

/// `BigDecimal.intValue()` of a number: truncated toward zero, then the low 32 bits.
fn java_int_value(n: &Number) -> i64 {
    let truncated = match n.as_i128() {
        Some(i) => i,
        None => n.as_f64().map(|f| f.trunc() as i128).unwrap_or(0),
    };
    i64::from(truncated as i32)
}

/// The text of a number's `BigDecimal` as Jayway builds it from the Java number Jackson parsed
/// (`new BigDecimal(number.toString()).toString()`): integers as they are, doubles through Java's
/// `Double.toString` (`100.0`, `1.0E-7`), which `BigDecimal` then prints as `100.0`, `1.0E-7`, `1.0E+10`.
pub(crate) fn big_decimal_text(n: &Number) -> String {
    if let Some(i) = n.as_i128() {
        return i.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        return "0.0".to_owned();
    }
    let (unscaled, scale) = java_double_decimal(f.abs());
    let text = decimal_to_string(&unscaled, scale);
    if f < 0.0 { format!("-{text}") } else { text }
}

/// The unscaled digits and scale of `new BigDecimal(Double.toString(f))` for a positive finite `f`.
fn java_double_decimal(f: f64) -> (String, i64) {
    // Shortest round-trip digits, as Java's Double.toString (JDK 19 and later) chooses them.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = i64::try_from(digits.len()).unwrap_or(1);
    if (-3..7).contains(&exp) {
        // Plain notation with at least one fractional digit: `100.0`, `0.001`, `1.5`.
        let int_digits = exp + 1;
        let frac = (n - int_digits).max(1);
        let mut unscaled = digits.clone();
        for _ in 0..(int_digits + frac - n).max(0) {
            unscaled.push('0');
        }
        (strip_leading_zeros(&unscaled), frac)
    } else {
        // Computerized scientific notation `d.dddE±n` with at least one digit after the point.
        let frac = (n - 1).max(1);
        let mut unscaled = digits;
        if n == 1 {
            unscaled.push('0');
        }
        (strip_leading_zeros(&unscaled), frac - exp)
    }
}

fn strip_leading_zeros(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0".to_owned() } else { t.to_owned() }
}

/// `BigDecimal.toString()` of unscaled digits and a scale.
fn decimal_to_string(unscaled: &str, scale: i64) -> String {
    let len = i64::try_from(unscaled.len()).unwrap_or(1);
    let adjusted = -scale + (len - 1);
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            return unscaled.to_owned();
        }
        if len > scale {
            let cut = usize::try_from(len - scale).unwrap_or(0);
            return format!("{}.{}", &unscaled[..cut], &unscaled[cut..]);
        }
        let zeros = usize::try_from(scale - len).unwrap_or(0);
        return format!("0.{}{unscaled}", "0".repeat(zeros));
    }
    let mut out = unscaled[..1].to_owned();
    if unscaled.len() > 1 {
        out.push('.');
        out.push_str(&unscaled[1..]);
    }
    out.push('E');
    if adjusted > 0 {
        out.push('+');
    }
    out.push_str(&adjusted.to_string());
    out
}

/// `ValueNode.isPath`: a string that starts with `$` or `@` and compiles as a path.
fn is_path_like(s: &str) -> bool {
    let t = s.trim();
    let Some(rest) = t.strip_prefix(['$', '@']) else { return false };
    (rest.is_empty() || rest.starts_with(['.', '['])) && crate::ast::Path::parse(&format!("${rest}")).is_ok()
}

/// `ValueNode.isJson`: a string that looks like a JSON array or object and parses as one.
fn is_json_like(s: &str) -> bool {
    let t = s.trim();
    t.len() > 1
        && (t.starts_with('[') && t.ends_with(']') || t.starts_with('{') && t.ends_with('}'))
        && parse_lenient_json(t).is_ok()
}

/// The character a backslash escape other than `\u` stands for: `\n`, `\t`, `\r`, `\b`, `\f` their control
/// characters, any other character itself.
fn escaped(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'b' => '\u{8}',
        'f' => '\u{c}',
        c => c,
    }
}

/// `new StringNode(s, true)`: one pair of surrounding quotes removed, then backslash escapes resolved.
fn unquote(s: &str) -> Cow<'_, str> {
    let inner = match s.as_bytes() {
        [b'\'', .., b'\''] | [b'"', .., b'"'] if s.len() > 1 => &s[1..s.len() - 1],
        _ => s,
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => {
                        out.push_str("\\u");
                        out.push_str(&hex);
                    }
                }
            }
            Some(c) => out.push(escaped(c)),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

// ---- lenient JSON --------------------------------------------------------------------------------------

/// Deepest nesting of a JSON literal.
const MAX_JSON_DEPTH: usize = 64;

/// Parses a JSON literal of a filter as json-smart's permissive mode (which Jayway's `JsonNode` uses)
/// reads it: strings in single or double quotes, and unquoted words, are strings; object keys may be
/// unquoted; `true`, `false`, `null` and JSON numbers are what they are.
pub(crate) fn parse_lenient_json(text: &str) -> Result<Value, String> {
    let mut p = Lenient { s: text, pos: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.pos < text.len() {
        return Err(format!(
            "unexpected '{}' at offset {} of the JSON literal",
            p.peek().unwrap_or(' '),
            p.pos
        ));
    }
    Ok(v)
}

struct Lenient<'a> {
    s: &'a str,
    pos: usize,
}

impl Lenient<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    /// After an item of an array or an object: a `,` (consumed) or the closing bracket `close` (left).
    fn separator(&mut self, close: char) -> Result<(), String> {
        self.ws();
        match self.peek() {
            Some(',') => self.pos += 1,
            Some(c) if c == close => {}
            _ => return Err(format!("expected ',' or '{close}' at offset {} of the JSON literal", self.pos)),
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_JSON_DEPTH {
            return Err(format!("a JSON literal nested deeper than {MAX_JSON_DEPTH} levels"));
        }
        self.ws();
        match self.peek() {
            Some('[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(']') {
                        self.pos += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value(depth + 1)?);
                    self.separator(']')?;
                }
            }
            Some('{') => {
                self.pos += 1;
                let mut m = serde_json::Map::new();
                loop {
                    self.ws();
                    if self.peek() == Some('}') {
                        self.pos += 1;
                        return Ok(Value::Object(m));
                    }
                    let key = match self.peek() {
                        Some(q @ ('\'' | '"')) => self.quoted(q)?,
                        _ => self.word(),
                    };
                    if key.is_empty() {
                        return Err(format!("expected a key at offset {} of the JSON literal", self.pos));
                    }
                    self.ws();
                    if self.peek() != Some(':') {
                        return Err(format!("expected ':' at offset {} of the JSON literal", self.pos));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(key, v);
                    self.separator('}')?;
                }
            }
            Some(q @ ('\'' | '"')) => self.quoted(q).map(Value::String),
            Some(_) => {
                let at = self.pos;
                let w = self.word();
                if w.is_empty() {
                    return Err(format!("expected a value at offset {at} of the JSON literal"));
                }
                Ok(match w.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    _ => match serde_json::from_str::<Value>(&w) {
                        Ok(n @ Value::Number(_)) => n,
                        _ => Value::String(w),
                    },
                })
            }
            None => Err("the JSON literal ends early".to_owned()),
        }
    }

    /// An unquoted word: up to a delimiter of the syntax.
    fn word(&mut self) -> String {
        let begin = self.pos;
        while matches!(self.peek(), Some(c) if !",:[]{}".contains(c)) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
        self.s[begin..self.pos].trim().to_owned()
    }

    fn quoted(&mut self, q: char) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == q {
                self.pos += i + 1;
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next().map(|(_, c)| c) {
                Some('u') => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                    let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                    out.push(c.ok_or_else(|| {
                        format!("invalid \\u escape in the JSON literal at offset {start}")
                    })?);
                }
                Some(c) => out.push(escaped(c)),
                None => break,
            }
        }
        Err(format!("unterminated string at offset {start} of the JSON literal"))
    }
}

// ---- regular expressions -----------------------------------------------------------------------------

/// Java's `PatternFlag` letters (json-path/JsonPath, internal/filter/PatternFlag.java): `d` UNIX_LINES,
/// `i` CASE_INSENSITIVE, `x` COMMENTS, `m` MULTILINE, `s` DOTALL, `u` UNICODE_CASE,
/// `U` UNICODE_CHARACTER_CLASS.
pub(crate) const PATTERN_FLAGS: &str = "dixmsuU";

#[derive(Default, Clone, Copy)]
struct JavaFlags {
    unix_lines: bool,
    icase: bool,
    comments: bool,
    multiline: bool,
    dot_all: bool,
    unicode_class: bool,
}

impl JavaFlags {
    fn set(&mut self, c: char) {
        match c {
            'd' => self.unix_lines = true,
            'i' => self.icase = true,
            'x' => self.comments = true,
            'm' => self.multiline = true,
            's' => self.dot_all = true,
            'U' => self.unicode_class = true,
            // `u` (UNICODE_CASE) is how regress folds case anyway; others are not flags.
            _ => {}
        }
    }
}

impl Regex {
    /// Compiles a Java regular expression (the text between the slashes of `/…/flags`) with Jayway's
    /// pattern flags, for a whole-string match as `Matcher.matches()` does.
    ///
    /// Java's syntax is translated to ECMAScript's (Unicode mode): an escaped punctuation character is
    /// that character (`\@`, `\-`, `\'`); `\Q…\E` quotes; `\A`, `\z`, `\Z` anchor at the text's ends;
    /// `\s` is ASCII whitespace (Unicode with `U`); `\e`, `\a`, `\x{…}` and octal `\0nn` are characters;
    /// a leading `(?flags)` group sets flags; flag `x` drops whitespace and `#` comments, `d` makes `.`
    /// exclude only `\n`; the POSIX classes `\p{Alpha}`, `\p{Digit}`, `\P{Punct}`… are ASCII (without `U`).
    /// What remains Java-only (possessive quantifiers, atomic groups, inline flags elsewhere, class
    /// intersections and unions, `\h`, `\R`) is refused, mostly with regress's message.
    /// Known differences: `i` without `u` folds only ASCII in Java, Unicode here; with `U`, `\w`, `\d`
    /// and `\b` stay ASCII here.
    ///
    /// ```
    /// let re = sfn_path::Regex::new("ab.*", "i").unwrap();
    /// assert!(re.is_match("ABC") && !re.is_match("xabc"));
    /// assert!(sfn_path::Regex::new("a(b", "").is_err());
    /// ```
    pub fn new(pattern: &str, flags: &str) -> Result<Regex, String> {
        let mut f = JavaFlags::default();
        flags.chars().for_each(|c| f.set(c));
        let mut body = pattern;
        // A leading inline flag group, `(?i)abc`.
        if let Some(rest) = body.strip_prefix("(?") {
            if let Some(end) = rest.find(')') {
                let letters = &rest[..end];
                if !letters.is_empty() && letters.chars().all(|c| PATTERN_FLAGS.contains(c)) {
                    letters.chars().for_each(|c| f.set(c));
                    body = &rest[end + 1..];
                }
            }
        }
        let translated = translate(body, f)?;
        let rflags = regress::Flags {
            icase: f.icase,
            multiline: f.multiline,
            dot_all: f.dot_all,
            unicode: true,
            ..regress::Flags::default()
        };
        // Compiled alone first, so the message is about the pattern as written and the groups are balanced.
        regress::Regex::with_flags(&translated, rflags).map_err(|e| e.text)?;
        let whole = format!("(?<![\\s\\S])(?:{translated})(?![\\s\\S])");
        let compiled = regress::Regex::with_flags(&whole, rflags).map_err(|e| e.text)?;
        Ok(Regex {
            source: format!("/{pattern}/{flags}").into(),
            pattern: pattern.into(),
            flags: flags.into(),
            compiled,
        })
    }

    /// True when the expression matches the whole of `text` (`Matcher.matches()`).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.find(text).is_some()
    }

    /// [`Regex::is_match`] within `steps` steps of the matcher; past them, a [`Fault`] naming the pattern.
    fn matches_within(&self, text: &str, steps: u64) -> Result<bool, Fault> {
        let mut matches = self.compiled.find_iter(text).with_step_budget(steps);
        let found = matches.next().is_some();
        if !found && matches.step_budget_exceeded() {
            return Err(Fault(format!(
                "The regular expression {} exceeded its backtracking budget of {steps} steps",
                self.source
            )));
        }
        Ok(found)
    }
}

/// Java regex syntax to ECMAScript (Unicode mode); see [`Regex::new`].
fn translate(java: &str, f: JavaFlags) -> Result<String, String> {
    let mut out = String::with_capacity(java.len() + 8);
    let mut chars = java.chars().peekable();
    let mut in_class = false;
    // The previous token was a quantifier (`*`, `+`, `?`, `{n,m}`).
    let mut quantifier = false;
    let java_space = " \\t\\n\\x0B\\f\\r";
    while let Some(c) = chars.next() {
        if f.comments {
            if " \t\n\u{b}\u{c}\r".contains(c) {
                continue;
            }
            if c == '#' {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                continue;
            }
        }
        // What Java has and ECMAScript does not, refused with a clear message rather than regress's.
        let after_quantifier = std::mem::take(&mut quantifier);
        if c == '+' && after_quantifier {
            return Err("possessive quantifiers (a*+, a++, a?+) are not supported".to_owned());
        }
        if c == '(' && !in_class && chars.peek() == Some(&'?') {
            let rest: String = chars.clone().skip(1).take(12).collect();
            if rest.starts_with('>') {
                return Err("atomic groups (?>…) are not supported".to_owned());
            }
            let letters = rest.find([')', ':']).map(|end| &rest[..end]);
            if letters
                .is_some_and(|l| !l.is_empty() && l.chars().all(|c| PATTERN_FLAGS.contains(c) || c == '-'))
            {
                return Err(
                    "inline flags such as (?i) are only supported at the start of the pattern".to_owned()
                );
            }
        }
        match c {
            '\\' => {
                let Some(e) = chars.next() else { return Err("a pattern cannot end with '\\'".to_owned()) };
                match e {
                    'Q' => {
                        let mut quoted = String::new();
                        while let Some(d) = chars.next() {
                            if d == '\\' && chars.peek() == Some(&'E') {
                                chars.next();
                                break;
                            }
                            quoted.push(d);
                        }
                        for q in quoted.chars() {
                            push_literal(&mut out, q, in_class);
                        }
                    }
                    'E' => {}
                    'A' if !in_class => out.push_str("(?<![\\s\\S])"),
                    'z' if !in_class => out.push_str("(?![\\s\\S])"),
                    'Z' if !in_class => {
                        out.push_str("(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?(?![\\s\\S]))")
                    }
                    's' if !f.unicode_class => {
                        if in_class {
                            out.push_str(java_space);
                        } else {
                            out.push('[');
                            out.push_str(java_space);
                            out.push(']');
                        }
                    }
                    'S' if !f.unicode_class && !in_class => {
                        out.push_str("[^");
                        out.push_str(java_space);
                        out.push(']');
                    }
                    'p' | 'P' if !f.unicode_class && chars.peek() == Some(&'{') => {
                        let name: String = chars.clone().skip(1).take_while(|&c| c != '}').collect();
                        match posix_class(&name) {
                            Some(set) if !(in_class && e == 'P') => {
                                chars.nth(name.chars().count() + 1);
                                let neg = if e == 'P' { "^" } else { "" };
                                if in_class {
                                    out.push_str(set);
                                } else {
                                    out.push_str(&format!("[{neg}{set}]"));
                                }
                            }
                            _ => {
                                out.push('\\');
                                out.push(e);
                                copy_braces(&mut chars, &mut out);
                            }
                        }
                    }
                    'e' => out.push_str("\\x1B"),
                    'a' => out.push_str("\\x07"),
                    'x' if chars.peek() == Some(&'{') => {
                        out.push_str("\\u");
                        copy_braces(&mut chars, &mut out);
                    }
                    '0' => {
                        let mut oct = String::new();
                        while oct.len() < 3 && matches!(chars.peek(), Some('0'..='7')) {
                            oct.extend(chars.next());
                        }
                        let code = u32::from_str_radix(&oct, 8).unwrap_or(0);
                        if oct.is_empty() || code > 0o377 {
                            return Err(
                                "an octal escape must be \\0n, \\0nn or \\0mnn (m at most 3)".to_owned()
                            );
                        }
                        out.push_str(&format!("\\u{{{code:x}}}"));
                    }
                    e if e.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(e);
                        if matches!(e, 'p' | 'P' | 'N') {
                            copy_braces(&mut chars, &mut out);
                        }
                    }
                    // Java: a backslash before any other character is that character.
                    e => push_literal(&mut out, e, in_class),
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.extend(chars.next());
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' => {
                return Err(
                    "a character class inside a character class (Java's union) is not supported".to_owned()
                );
            }
            '&' if in_class && chars.peek() == Some(&'&') => {
                return Err("'&&' in a character class (Java's intersection) is not supported".to_owned());
            }
            // A lone ']' or '}' is a literal in Java, a syntax error in ECMAScript's Unicode mode.
            ']' | '}' => push_literal(&mut out, c, in_class),
            '{' if !in_class => {
                // A quantifier {n}, {n,}, {n,m} is copied; Java refuses any other '{' too.
                out.push('{');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '}' {
                        break;
                    }
                }
                quantifier = true;
            }
            '.' if !in_class && f.unix_lines && !f.dot_all => out.push_str("[^\\n]"),
            c => {
                quantifier = !in_class && matches!(c, '*' | '+' | '?') && !after_quantifier;
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Copies a `{…}` that follows an escape (`\p{L}`, `\x{41}`): part of the escape, not a quantifier.
fn copy_braces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    if chars.peek() != Some(&'{') {
        return;
    }
    for d in chars.by_ref() {
        out.push(d);
        if d == '}' {
            break;
        }
    }
}

/// Java's POSIX character classes (US-ASCII only without flag `U`), as the content of a class.
fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => "\\x00-\\x7F",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => "!-\\/:-@\\[-`{-~",
        "Graph" => "!-~",
        "Print" => " -~",
        "Blank" => " \\t",
        "Cntrl" => "\\x00-\\x1F\\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => " \\t\\n\\x0B\\f\\r",
        _ => return None,
    })
}

/// Pushes `c` as a literal character of an ECMAScript Unicode-mode pattern.
fn push_literal(out: &mut String, c: char, in_class: bool) {
    if "^$\\.*+?()[]{}|/".contains(c) || in_class && c == '-' {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn big_decimal_texts() {
        let t = |v: Value| big_decimal_text(v.as_number().unwrap());
        assert_eq!(t(json!(200)), "200");
        assert_eq!(t(json!(-7)), "-7");
        assert_eq!(t(json!(1.5)), "1.5");
        assert_eq!(t(json!(100.0)), "100.0");
        assert_eq!(t(json!(0.001)), "0.001");
        assert_eq!(t(json!(0.0001)), "0.00010");
        assert_eq!(t(json!(1e7)), "1.0E+7");
        assert_eq!(t(json!(1.5e7)), "1.5E+7");
        assert_eq!(t(json!(1.234e-5)), "0.00001234");
        assert_eq!(t(json!(1e-7)), "1.0E-7");
        assert_eq!(t(json!(-0.0)), "0.0");
        assert_eq!(t(json!(1234567.0)), "1234567.0");
        assert_eq!(t(json!(12345678.9)), "12345678.9");
        assert_eq!(t(json!(1.5e300)), "1.5E+300");
    }

    #[test]
    fn big_decimal_strings() {
        for (s, ok) in [("1", true), ("-1.5", true), ("+2", true), (".5", true), ("5.", true), ("1e3", true)]
        {
            assert_eq!(parse_big_decimal(s).is_some(), ok, "{s}");
        }
        for s in ["", "-", ".", "1e", "1.2.3", "NaN", "Infinity", " 1", "0x10", "1_000"] {
            assert!(parse_big_decimal(s).is_none(), "{s}");
        }
    }

    #[test]
    fn lenient_json() {
        assert_eq!(
            parse_lenient_json("['a', \"b\", 1, 1.5, true, null]").unwrap(),
            json!(["a", "b", 1, 1.5, true, null])
        );
        assert_eq!(parse_lenient_json("[a, b c]").unwrap(), json!(["a", "b c"]));
        assert_eq!(parse_lenient_json("{k: 'v', 'n': [1]}").unwrap(), json!({"k": "v", "n": [1]}));
        assert_eq!(parse_lenient_json("[]").unwrap(), json!([]));
        assert_eq!(parse_lenient_json("['it\\'s']").unwrap(), json!(["it's"]));
        for bad in ["[", "['a'", "[1 2]x", "{k}", "[,]", "{'a' 1}"] {
            assert!(parse_lenient_json(bad).is_err(), "{bad}");
        }
        assert!(parse_lenient_json(&("[".repeat(100) + &"]".repeat(100))).is_err());
    }

    #[test]
    fn regex_translation() {
        let m =
            |p: &str, f: &str, s: &str| Regex::new(p, f).unwrap_or_else(|e| panic!("{p}: {e}")).is_match(s);
        assert!(m("ab.*", "", "abc") && !m("ab.*", "", "xabc") && !m("ab", "", "abc"));
        assert!(m("a|ab", "", "ab"), "whole-string match tries every alternative");
        assert!(m("AB.*", "i", "abc") && m("(?i)AB", "", "ab"));
        assert!(!m("a.b", "", "a\nb") && m("a.b", "s", "a\nb"));
        assert!(m("a.b", "d", "a\rb") && !m("a.b", "d", "a\nb"));
        assert!(m("^b$", "m", "b"));
        assert!(m("a b # comment\n c", "x", "abc"));
        assert!(m("\\@\\-\\'\\\"x", "", "@-'\"x"));
        assert!(m("\\Qa.b\\E", "", "a.b") && !m("\\Qa.b\\E", "", "axb"));
        assert!(m("\\Aab\\z", "", "ab") && m("ab\\Z", "", "ab"));
        assert!(m("a\\sb", "", "a b") && !m("a\\sb", "", "a\u{a0}b") && m("a\\sb", "U", "a\u{a0}b"));
        assert!(m("[\\s]x", "", "\tx") && m("a\\Sb", "", "axb"));
        assert!(m("\\x{41}\\0101\\e", "", "AA\u{1b}"));
        assert!(m("a]b}", "", "a]b}"));
        assert!(m("a{2,3}", "", "aaa") && !m("a{2,3}", "", "a"));
        assert!(m("\\p{L}+", "", "héllo") && m("\\d{3}", "", "123"));
        assert!(m("[a-z\\-]+", "", "a-b"));
        assert!(m("\\/x/", "", "/x/"));
        assert!(
            m("\\p{Alpha}+\\P{Digit}", "", "abc!")
                && !m("\\p{Alpha}", "", "é")
                && m("[\\p{Digit}x]+", "", "1x2")
        );
        assert!(m("\\p{Punct}\\p{Lu}", "", "!É"));
        for bad in ["a(b", "a++", "(?>a)", "a(?i)b", "\\", "\\0", "[a", "[a&&[b]]x]", "a{2}+", "(?i:a)"] {
            assert!(Regex::new(bad, "").is_err(), "{bad}");
        }
        assert!(m("\\x{41}+\\p{Lu}{2}", "", "AAÉÉ"));
        assert!(Regex::new("a++", "").unwrap_err().contains("possessive"));
        assert!(Regex::new("(?>a)", "").unwrap_err().contains("atomic"));
        assert!(Regex::new("a(?i)b", "").unwrap_err().contains("inline flags"));
        assert!(m("\\++", "", "++") && m("a+?b", "", "aab") && m("[+]+", "", "++") && m("(?:a)+", "", "aa"));
    }

    #[test]
    fn equality_is_jaywayish() {
        let s = |x: &str| Node::Str(Cow::Owned(x.to_owned()));
        let n = |v: Value| Node::Num(Cow::Owned(v.as_number().unwrap().clone()));
        assert!(s("1").equals(&n(json!(1))) && n(json!(1)).equals(&s("1")));
        assert!(n(json!(1)).equals(&s("1.0")) && !s("1").equals(&n(json!(1.0))));
        assert!(n(json!(1)).equals(&n(json!(1.0))));
        assert!(!Node::Undefined.equals(&Node::Undefined) && Node::Null.equals(&Node::Null));
        assert!(!s("x").equals(&Node::PathLike));
        assert!(matches!(Node::element(&json!("'q'")).unwrap(), Node::Str(q) if q == "q"));
        assert!(matches!(Node::element(&json!("$.a")).unwrap(), Node::PathLike));
        assert!(matches!(Node::element(&json!("$100")).unwrap(), Node::Str(_)));
        assert!(matches!(Node::element(&json!("[1]")).unwrap(), Node::Text { .. }));
        assert!(Node::element(&json!([1])).is_err());
    }
}

/// Each operator parsed in a path and evaluated on a document, with the selection Jayway makes.
#[cfg(test)]
mod operator_tests {
    use serde_json::{Value, json};

    use crate::{Path, Scope, Template};

    fn doc() -> Value {
        json!({
            "items": [
                {"n": "a", "b": "abc", "tags": ["x", "y"], "size": 2, "c": 5, "flag": true},
                {"n": "b", "b": "ABD", "tags": ["y"], "c": "5", "flag": false},
                {"n": "c", "b": "xab", "tags": [], "c": 5.0},
                {"n": "d", "b": "", "tags": ["z", "x", "y"]},
                {"n": "e", "b": 12, "tags": "x"}
            ],
            "allowed": ["x", "y"],
            "objects": [{"k": 1}]
        })
    }

    fn eval(path: &str) -> Result<Value, String> {
        let doc = doc();
        let p = Path::parse(path).map_err(|e| format!("parse: {e}"))?;
        p.eval(&Scope::input(&doc)).map(std::borrow::Cow::into_owned).map_err(|e| e.message().to_owned())
    }

    /// The names of the items the filter selects.
    fn names(filter: &str) -> Vec<String> {
        let path = format!("$.items[?({filter})].n");
        match eval(&path) {
            Ok(Value::Array(a)) => a.into_iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect(),
            other => panic!("{path}: {other:?}"),
        }
    }

    /// AWS's Jayway backtracks without a bound; here a catastrophic `=~` fails the path evaluation, naming
    /// the pattern, and an ordinary match on the same long subject still answers.
    #[test]
    fn a_catastrophic_regex_fails_the_path_within_its_budget() {
        let doc = json!({"items": [{"s": format!("{}!", "a".repeat(30_000))}]});
        let run = |path: &str| {
            let p = Path::parse(path).map_err(|e| format!("parse: {e}"))?;
            p.eval(&Scope::input(&doc)).map(std::borrow::Cow::into_owned).map_err(|e| e.message().to_owned())
        };
        let e = run("$.items[?(@.s =~ /(a+)+\\1$/)]").unwrap_err();
        assert!(e.contains("exceeded its backtracking budget of 10000000 steps"), "{e}");
        assert!(e.contains("(a+)+\\1$"), "{e}");
        assert_eq!(run("$.items[?(@.s =~ /a+!/)].s").unwrap(), json!([format!("{}!", "a".repeat(30_000))]));
    }

    #[test]
    fn regex() {
        assert_eq!(names("@.b =~ /ab.*/"), ["a"]);
        assert_eq!(names("@.b =~ /ab.*/i"), ["a", "b"]);
        assert_eq!(names("/ab.*/ =~ @.b"), ["a"], "the pattern may be on the left");
        assert_eq!(names("@.b =~ /b/"), Vec::<String>::new(), "the whole value must match");
        assert_eq!(names("@.b =~ /1\\d/"), ["e"], "a number matches as its text");
        // A missing member, null or an object is matched as the empty string.
        assert_eq!(names("@.missing =~ /.*/"), ["a", "b", "c", "d", "e"]);
        assert_eq!(names("@.missing =~ /.+/"), Vec::<String>::new());
        assert_eq!(names("@.flag =~ /true/"), ["a"]);
        // On an array: any element; a string is one value.
        assert_eq!(names("@.tags =~ /x/"), ["a", "d", "e"]);
        assert_eq!(names("@.tags[*] =~ /z/"), ["d"]);
        assert_eq!(names("/a/ =~ /a/"), Vec::<String>::new(), "two patterns never match");
        assert_eq!(names("@.b =~ /AB.*/i && @.n == 'b'"), ["b"], "flags end at the first non-flag letter");
        assert_eq!(names("@.b =~ /abc/ || @.b =~ /x.*/"), ["a", "c"]);
        assert_eq!(names("@.b=~/ab./"), ["a"]);
        // Jayway's InlineFilterTest: patterns_match_against_lists, escape_pattern.
        let stores = json!({"store": [
            {"name": "First", "book": [{"category": "reference"}, {"category": "fiction"}]},
            {"name": "Second", "book": [{"category": "fiction"}]}
        ]});
        let p = Path::parse("$.store[?(@.book[*].category =~ /Reference/i)].name").unwrap();
        assert_eq!(p.eval(&Scope::input(&stores)).unwrap().into_owned(), json!(["First"]));
        let p = Path::parse("$[?(@ =~ /\\/|x/)]").unwrap();
        assert_eq!(p.eval(&Scope::input(&json!(["x", "y", "/"]))).unwrap().into_owned(), json!(["x", "/"]));
    }

    #[test]
    fn in_and_nin() {
        assert_eq!(names("@.n in ['a','c']"), ["a", "c"]);
        assert_eq!(names("@.n IN [\"a\", \"c\"]"), ["a", "c"], "word operators in any case");
        assert_eq!(names("@.n in [a, c]"), ["a", "c"], "unquoted words are strings (json-smart permissive)");
        assert_eq!(names("@.n nin ['a','c']"), ["b", "d", "e"]);
        assert_eq!(names("@.tags[0] in $.allowed"), ["a", "b"]);
        // ValueNode.equals: a string equals a number whose BigDecimal text it is, and back.
        assert_eq!(names("@.c in [5]"), ["a", "b", "c"]);
        assert_eq!(names("@.c in ['5']"), ["a", "b", "c"]);
        assert_eq!(names("@.c in ['5.0']"), ["a", "c"]);
        // The right side must be a JSON node: otherwise the element is deselected, even under '!'.
        assert_eq!(names("@.n in 'a'"), Vec::<String>::new());
        assert_eq!(names("@.n nin 'a'"), Vec::<String>::new());
        assert_eq!(names("!(@.n in 'a')"), Vec::<String>::new());
        assert_eq!(names("@.n in $.missing || @.n == 'a'"), Vec::<String>::new());
        // A JSON object on the right is a JSON node but no list: `in` is false, `nin` true.
        assert_eq!(names("@.n in {a: 1}"), Vec::<String>::new());
        assert_eq!(names("@.n nin {a: 1}"), ["a", "b", "c", "d", "e"]);
        // An array holding objects has no Jayway value list: the path fails.
        let e = eval("$.items[?(@.n in $.objects)]").unwrap_err();
        assert_eq!(e, "Invalid path '$.items[?(@.n in $.objects)]' : Could not determine value type");
    }

    #[test]
    fn subsetof_anyof_noneof() {
        assert_eq!(names("@.tags subsetof ['x','y']"), ["a", "b", "c"]);
        assert_eq!(names("@.tags SubsetOf $.allowed"), ["a", "b", "c"]);
        assert_eq!(names("@.tags anyof ['x','q']"), ["a", "d"]);
        assert_eq!(names("@.tags noneof ['x']"), ["b", "c"]);
        assert_eq!(names("@.tags[*] anyof ['z']"), ["d"]);
        // A left side that is no JSON node (e's tags are a string) deselects the element.
        assert_eq!(names("!(@.tags noneof ['q'])"), Vec::<String>::new());
        assert_eq!(names("@.tags anyof 'x'"), Vec::<String>::new());
        // An object is a JSON node but no list: false, for noneof too.
        assert_eq!(names("@ noneof ['x']"), Vec::<String>::new());
        assert_eq!(names("@ anyof ['x']"), Vec::<String>::new());
        assert_eq!(names("['x'] subsetof @.tags"), ["a", "d"], "a list literal on the left");
    }

    #[test]
    fn size_and_empty() {
        assert_eq!(names("@.tags size 2"), ["a"]);
        assert_eq!(names("@.tags size 1"), ["b", "e"], "a string's length");
        assert_eq!(names("@.b size 3"), ["a", "b", "c"], "a number has no size");
        assert_eq!(names("@.tags size @.size"), ["a"]);
        assert_eq!(names("@.tags size '2'"), Vec::<String>::new(), "the size must be a number");
        assert_eq!(names("@ size -1"), ["a", "b", "c", "d", "e"], "JsonNode.length is -1 for an object");
        assert_eq!(names("@.tags size 2.9"), ["a"], "BigDecimal.intValue truncates");
        assert_eq!(names("@.tags empty true"), ["c"]);
        assert_eq!(names("@.b empty true"), ["d"]);
        assert_eq!(names("@.tags empty false"), ["a", "b", "d", "e"]);
        assert_eq!(names("@.c empty false"), ["b"], "only strings, arrays and objects");
        // `empty` needs a boolean: on a string or an array the element is deselected, even under '!'.
        assert_eq!(names("@.b empty 1"), Vec::<String>::new());
        assert_eq!(names("!(@.b empty 1)"), ["e"]);
        // Jayway's InlineFilterTest: filter_evaluation_does_not_break_path_evaluation.
        let d = json!([{"s": "fo", "expected_size": "m"}, {"s": "lo", "expected_size": 2}]);
        let p = Path::parse("$[?(@.s size @.expected_size)]").unwrap();
        assert_eq!(p.eval(&Scope::input(&d)).unwrap().into_owned(), json!([{"s": "lo", "expected_size": 2}]));
    }

    #[test]
    fn contains_and_equality() {
        assert_eq!(names("@.b contains 'b'"), ["a", "c"]);
        assert_eq!(names("@.tags contains 'y'"), ["a", "b", "d"]);
        assert_eq!(names("@.c == 5"), ["a", "b", "c"]);
        assert_eq!(names("@.c == '5'"), ["a", "b", "c"]);
        assert_eq!(names("'5.0' == @.c"), ["c"], "a string equals the number's BigDecimal text");
        assert_eq!(names("@.c === 5"), ["a", "c"], "=== wants the same node type");
        assert_eq!(names("@.c !== 5"), ["b", "d", "e"]);
        assert_eq!(names("@.c === '5'"), ["b"]);
        assert_eq!(names("@.tags == ['x', 'y']"), ["a"]);
        assert_eq!(
            names("['x', 'y'] == @.tags"),
            Vec::<String>::new(),
            "a JSON literal on the left is its text"
        );
        assert_eq!(names("@.missing == @.missing"), Vec::<String>::new(), "undefined equals nothing");
        assert_eq!(names("@.missing != 1"), ["a", "b", "c", "d", "e"]);
        // Jayway's InlineFilterTest: equality_check_does_not_break_evaluation.
        let cases = [
            (json!([{"value": "5"}]), "$[?(@.value=='5')]", 1),
            (json!([{"value": 5}]), "$[?(@.value==5)]", 1),
            (json!([{"value": "5.1.26"}]), "$[?(@.value=='5.1.26')]", 1),
            (json!([{"value": "5"}]), "$[?(@.value=='5.1.26')]", 0),
            (json!([{"value": 5}]), "$[?(@.value=='5.1.26')]", 0),
            (json!([{"value": 5.1}]), "$[?(@.value=='5.1.26')]", 0),
            (json!([{"value": "5.1.26"}]), "$[?(@.value==5)]", 0),
            (json!([{"value": "5.1.26"}]), "$[?(@.value==5.1)]", 0),
        ];
        for (d, path, n) in cases {
            let got = Path::parse(path).unwrap().eval(&Scope::input(&d)).unwrap().into_owned();
            assert_eq!(got.as_array().map(Vec::len), Some(n), "{path} on {d}");
        }
    }

    #[test]
    fn operators_that_never_hold_in_a_path() {
        for f in ["@.tags all ['x']", "@.n type 'string'", "@.n matches 'a'", "!(@.tags all ['x'])"] {
            assert_eq!(names(f), Vec::<String>::new(), "{f}");
        }
        assert_eq!(names("@.flag exists true"), ["a"]);
        assert_eq!(names("@.flag exists false"), ["b"]);
        assert_eq!(names("@.n exists true"), Vec::<String>::new());
        let e = eval("$.items[?(@.c exists 1)]").unwrap_err();
        assert!(e.ends_with(" : Failed to evaluate exists expression"), "{e}");
    }

    #[test]
    fn parse_errors_and_refusals() {
        let err = |p: &str| Path::parse(p).expect_err(p).to_string();
        assert!(err("$[?(@.n in['a'])]").contains("expected a space after the filter operator 'in'"));
        assert!(err("$[?(@.n ==~ 1)]").contains("unsupported filter operator '==~'"));
        assert!(err("$[?(@.b =~ /a(/)]").contains("invalid regular expression /a(/"));
        assert!(err("$[?(@.b =~ /abc)]").contains("unclosed regular expression"));
        assert!(err("$[?(@.n in [1, 2").contains("unclosed '['"));
        assert!(err("$[?(@.n in [{a}])]").contains("invalid JSON literal [{a}]"));
        assert!(err("$[?(/a/)]").contains("expected a comparison operator"));
        assert!(err("$[?(['a'])]").contains("expected a comparison operator"));
        // A bare word on the right is accepted and refused by Jayway when the path is evaluated.
        let p = Path::parse("$[?(@.n in Foo)]").unwrap();
        assert_eq!(
            p.compile_error(),
            Some("Failed to parse filter: [?(@.n in Foo)], error on position: 10, char: F")
        );
        let p = Path::parse("$[?(@.n size fix)]").unwrap();
        assert_eq!(p.compile_error(), Some("Expected character: )"));
    }

    #[test]
    fn path_functions_are_member_names() {
        let doc = doc();
        for src in ["$.items.length()", "$.allowed.sum()", "$.items.concat('x', $.allowed)", "$.items.keys()"]
        {
            let p = Path::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert!(p.is_definite(), "{src}");
            let e = p.eval(&Scope::input(&doc)).unwrap_err();
            // A member of an array, reported as Jayway reports any member name there.
            let (array, call) = src[2..].split_once('.').unwrap();
            assert_eq!(
                e.message(),
                format!(
                    "Invalid path '{src}' : Expected to find an object with property ['{call}'] in path \
                     $['{array}'] but found 'java.util.ArrayList'"
                )
            );
        }
        assert_eq!(Path::parse("$.list.length()").unwrap().normalized(), "$['list']['length()']");
        let t = Template::parse(&json!({"Jobs.$": "$.allowed.sum()"})).unwrap();
        let e = t.eval(&Scope::input(&doc)).unwrap_err();
        assert!(e.message().starts_with("The JSONPath '$.allowed.sum()' specified for the field 'Jobs.$' could not be found in the input"), "{e}");
        // A member of that name is what the path reads.
        let odd = json!({"a": {"length()": 3}});
        assert_eq!(*Path::parse("$.a.length()").unwrap().eval(&Scope::input(&odd)).unwrap(), json!(3));
        assert_eq!(names("@.tags.length() > 1"), Vec::<String>::new());
        assert!(Path::parse("$[?(@.a.length() > 1 && @.b.min() == 2)]").is_ok());
        assert!(Path::parse("$[?(@.a.concat(\"x\") == 'ax')]").is_ok());
        assert!(Path::parse("$[?(@.a.length( > 1)]").is_err());
        let call = crate::Call::parse("States.ArrayLength($.items.length())").unwrap();
        assert!(call.eval(&Scope::input(&doc)).is_err());
    }
}
