//! Evaluation of paths against JSON, borrowing wherever the result is a single existing node.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;

use serde_json::Value;

use crate::ast::{Expr, Filter, Operand, Path, ReferencePath, Root, Segment, Selector, push_normalized};
use crate::error::EvalError;
use crate::filter::{Abort, Fault, Node, relate};

/// Workflow variables visible to a state (`$name` paths).
pub trait Variables {
    /// The value of a variable, if it is defined.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables.
impl Variables for () {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

impl<S: BuildHasher> Variables for HashMap<String, Value, S> {
    fn get(&self, name: &str) -> Option<&Value> {
        HashMap::get(self, name)
    }
}

impl Variables for serde_json::Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        serde_json::Map::get(self, name)
    }
}

/// The context object (`$$`), resolved path by path so a caller never has to build (or copy) all of it:
/// an engine can answer `$$.Execution.Input.x` by borrowing the execution input.
pub trait ContextObject: Sync {
    /// The value a `$$` path selects.
    fn resolve<'s>(&'s self, path: &Path) -> Result<Cow<'s, Value>, NotFound>;
}

/// A context object given as a whole JSON document.
impl ContextObject for Value {
    fn resolve<'s>(&'s self, path: &Path) -> Result<Cow<'s, Value>, NotFound> {
        path.select_from(0, self)
    }
}

/// What paths are evaluated against: the input (`$`), the context object (`$$`) and variables (`$name`).
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The value `$` refers to.
    pub input: &'a Value,
    /// The context object `$$` refers to.
    pub context: &'a dyn ContextObject,
    /// The variables `$name` refers to.
    pub variables: &'a dyn Variables,
}

impl<'a> Scope<'a> {
    /// A scope with only an input (context `null`, no variables).
    pub fn input(input: &'a Value) -> Scope<'a> {
        Scope { input, context: &Value::Null, variables: &() }
    }

    /// The value an input or variable root refers to (`None` for the context object, which resolves
    /// whole paths).
    pub(crate) fn root(&self, root: &Root) -> Result<Option<&'a Value>, EvalError> {
        match root {
            Root::Input => Ok(Some(self.input)),
            Root::Context => Ok(None),
            Root::Variable(name) => self
                .variables
                .get(name)
                .map(Some)
                .ok_or_else(|| EvalError::runtime(format!("The variable '${name}' is not defined"))),
        }
    }
}

/// Why a path selected nothing (Jayway JsonPath's wording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// e.g. `No results for path: $['a']` or `Missing property in path $['a']`.
    pub message: String,
}

impl Path {
    /// Evaluates the path in a scope. Definite paths return the selected node (borrowed, never cloned);
    /// indefinite paths return an array of every match (possibly empty).
    ///
    /// ```
    /// use serde_json::json;
    /// use sfn_path::{Path, Scope};
    /// let input = json!({"items": [{"n": 1}, {"n": 2}]});
    /// let scope = Scope::input(&input);
    /// assert_eq!(*Path::parse("$.items[1].n").unwrap().eval(&scope).unwrap(), json!(2));
    /// assert_eq!(*Path::parse("$.items[*].n").unwrap().eval(&scope).unwrap(), json!([1, 2]));
    /// assert!(Path::parse("$.nope").unwrap().eval(&scope).is_err());
    /// ```
    ///
    /// A path Jayway refuses to compile ([`Path::compile_error`]) fails whatever the input.
    pub fn eval<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, EvalError> {
        let invalid =
            |nf: NotFound| EvalError::runtime(format!("Invalid path '{}' : {}", self.source, nf.message));
        // The usual path (`$.a.b[0]`) first: it selects one node of the input, in place.
        if self.definite && matches!(self.root, Root::Input) && self.compile_error.is_none() {
            return select_definite(&self.segments, scope.input).map(Cow::Borrowed).map_err(invalid);
        }
        if let Some(why) = &self.compile_error {
            return Err(EvalError::runtime(format!("Invalid path '{}' : {why}", self.source)));
        }
        let found = match scope.root(&self.root)? {
            Some(root) => self.select_in(root, scope),
            None => scope.context.resolve(self),
        };
        found.map_err(invalid)
    }

    /// Applies the segments from index `skip` on to `value` (for [`ContextObject`] implementations,
    /// which resolve the first segments themselves). Filters see `value` as `$`.
    /// A path with a [`Path::compile_error`] selects nothing, with that error as the message.
    pub fn select_from<'v>(&self, skip: usize, value: &'v Value) -> Result<Cow<'v, Value>, NotFound> {
        self.check_compiles()?;
        let rest = self.segments.get(skip..).unwrap_or_default();
        if rest.iter().all(|s| matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(_)))) {
            let mut cur = value;
            for (i, seg) in rest.iter().enumerate() {
                match step(cur, seg) {
                    Some(v) => cur = v,
                    None => return Err(not_found(&self.segments, skip + i, cur)),
                }
            }
            Ok(Cow::Borrowed(cur))
        } else {
            let scope = Scope::input(value);
            let mut out = Vec::new();
            select_all(rest, value, &scope, &mut out).map_err(fault)?;
            Ok(Cow::Owned(Value::Array(out.into_iter().cloned().collect())))
        }
    }

    /// Applies the path's segments to `value` (ignoring the root kind). Filters that use `$` see `scope`.
    /// A path with a [`Path::compile_error`] selects nothing, with that error as the message.
    pub fn select_in<'v>(&self, value: &'v Value, scope: &Scope<'v>) -> Result<Cow<'v, Value>, NotFound> {
        self.check_compiles()?;
        if self.is_definite() {
            select_definite(&self.segments, value).map(Cow::Borrowed)
        } else {
            let mut out = Vec::new();
            select_all(&self.segments, value, scope, &mut out).map_err(fault)?;
            Ok(Cow::Owned(Value::Array(out.into_iter().cloned().collect())))
        }
    }
}

/// A failure inside a filter that Jayway does not catch fails the path with its message.
fn fault(f: Fault) -> NotFound {
    NotFound { message: f.0 }
}

impl Path {
    fn check_compiles(&self) -> Result<(), NotFound> {
        match &self.compile_error {
            Some(why) => Err(NotFound { message: why.to_string() }),
            None => Ok(()),
        }
    }
}

/// How many members an object may have for [`member`] to search them one by one: comparing a few short
/// keys costs less than hashing the name (serde_json's ordered map hashes with SipHash).
const SCAN_MEMBERS: usize = 8;

/// The member `name` of `m`: searched in order in a small object, through the hash index otherwise.
pub(crate) fn member<'v>(m: &'v serde_json::Map<String, Value>, name: &str) -> Option<&'v Value> {
    if m.len() <= SCAN_MEMBERS {
        return m.iter().find_map(|(k, v)| (k == name).then_some(v));
    }
    m.get(name)
}

pub(crate) fn step<'v>(cur: &'v Value, seg: &Segment) -> Option<&'v Value> {
    match seg {
        Segment::Child(Selector::Name(n)) => match cur {
            Value::Object(m) => member(m, n),
            _ => None,
        },
        Segment::Child(Selector::Index(ix)) => match cur {
            Value::Array(a) => resolve_index(*ix, a.len()).and_then(|k| a.get(k)),
            _ => None,
        },
        _ => None,
    }
}

fn select_definite<'v>(segments: &[Segment], root: &'v Value) -> Result<&'v Value, NotFound> {
    let mut cur = root;
    for (i, seg) in segments.iter().enumerate() {
        match step(cur, seg) {
            Some(v) => cur = v,
            None => return Err(not_found(segments, i, cur)),
        }
    }
    Ok(cur)
}

/// Jayway's message for a definite path that stops at segment `failed` (built only on failure).
fn not_found(segments: &[Segment], failed: usize, cur: &Value) -> NotFound {
    let mut trail = String::from("$");
    for seg in &segments[..failed] {
        push_normalized(&mut trail, seg);
    }
    let seg = &segments[failed];
    if let (Segment::Child(Selector::Name(n)), false) = (seg, cur.is_object()) {
        return NotFound {
            message: format!(
                "Expected to find an object with property ['{n}'] in path {trail} but found '{}'",
                java_type(cur)
            ),
        };
    }
    push_normalized(&mut trail, seg);
    if failed + 1 == segments.len() {
        NotFound { message: format!("No results for path: {trail}") }
    } else {
        NotFound { message: format!("Missing property in path {trail}") }
    }
}

fn java_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_f64() => "java.lang.Double",
        Value::Number(_) => "java.lang.Integer",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "java.util.ArrayList",
        Value::Object(_) => "java.util.LinkedHashMap",
    }
}

pub(crate) fn resolve_index(ix: i64, len: usize) -> Option<usize> {
    if ix >= 0 {
        usize::try_from(ix).ok().filter(|&k| k < len)
    } else {
        let back = usize::try_from(ix.unsigned_abs()).ok()?;
        len.checked_sub(back)
    }
}

fn select_all<'v>(
    segments: &[Segment],
    node: &'v Value,
    scope: &Scope<'v>,
    out: &mut Vec<&'v Value>,
) -> Result<(), Fault> {
    let Some((first, rest)) = segments.split_first() else {
        out.push(node);
        return Ok(());
    };
    match first {
        Segment::Child(sel) => {
            let mut hits = Vec::new();
            apply(sel, node, scope, &mut hits)?;
            for h in hits {
                select_all(rest, h, scope, out)?;
            }
        }
        Segment::Descendant(sel) => {
            let mut nodes = Vec::new();
            descendants(node, &mut nodes);
            for n in nodes {
                let mut hits = Vec::new();
                apply(sel, n, scope, &mut hits)?;
                for h in hits {
                    select_all(rest, h, scope, out)?;
                }
            }
        }
    }
    Ok(())
}

fn descendants<'v>(node: &'v Value, out: &mut Vec<&'v Value>) {
    // Iterative pre-order walk: deep documents cannot overflow the stack.
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        out.push(n);
        match n {
            Value::Object(m) => stack.extend(m.values().rev()),
            Value::Array(a) => stack.extend(a.iter().rev()),
            _ => {}
        }
    }
}

fn apply<'v>(
    sel: &Selector,
    node: &'v Value,
    scope: &Scope<'v>,
    out: &mut Vec<&'v Value>,
) -> Result<(), Fault> {
    match (sel, node) {
        (Selector::Name(n), Value::Object(m)) => out.extend(member(m, n)),
        (Selector::Names(ns), Value::Object(m)) => out.extend(ns.iter().filter_map(|n| m.get(n.as_ref()))),
        (Selector::Index(i), Value::Array(a)) => {
            out.extend(resolve_index(*i, a.len()).and_then(|k| a.get(k)))
        }
        (Selector::Indexes(is), Value::Array(a)) => {
            out.extend(is.iter().filter_map(|i| resolve_index(*i, a.len()).and_then(|k| a.get(k))));
        }
        (Selector::Slice { start, end, step }, Value::Array(a)) => slice(a, *start, *end, *step, out),
        (Selector::Wildcard, Value::Array(a)) => out.extend(a.iter()),
        (Selector::Wildcard, Value::Object(m)) => out.extend(m.values()),
        (Selector::Filter(f), Value::Array(a)) => {
            for e in a {
                if accept(f, e, scope)? {
                    out.push(e);
                }
            }
        }
        (Selector::Filter(f), v @ Value::Object(_)) if accept(f, v, scope)? => out.push(v),
        _ => {}
    }
    Ok(())
}

fn slice<'v>(
    a: &'v [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    out: &mut Vec<&'v Value>,
) {
    let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
    let norm = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let step = step.unwrap_or(1);
    if step > 0 {
        let (mut i, e) = (norm(start.unwrap_or(0)), norm(end.unwrap_or(len)));
        while i < e {
            out.extend(usize::try_from(i).ok().and_then(|k| a.get(k)));
            i += step;
        }
    } else {
        let s = start.map(|s| if s < 0 { len + s } else { s.min(len - 1) }).unwrap_or(len - 1);
        let e = end.map(|e| if e < 0 { (len + e).max(-1) } else { e }).unwrap_or(-1);
        let mut i = s;
        while i > e && i >= 0 {
            out.extend(usize::try_from(i).ok().and_then(|k| a.get(k)));
            i += step;
        }
    }
}

/// What `segments` select from `node`: the node for a definite path (`None` when missing), the array of
/// every match for an indefinite one (as Jayway's `PathNode.evaluate` returns them to a filter).
fn selected<'v>(
    segments: &[Segment],
    node: &'v Value,
    scope: &Scope<'v>,
) -> Result<Option<Cow<'v, Value>>, Fault> {
    if segments.iter().all(|s| matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(_)))) {
        return Ok(select_definite(segments, node).ok().map(Cow::Borrowed));
    }
    let mut out = Vec::new();
    select_all(segments, node, scope, &mut out)?;
    Ok(Some(Cow::Owned(Value::Array(out.into_iter().cloned().collect()))))
}

/// The value an absolute filter operand (`$…`, `$$…`, `$var…`) selects.
fn selected_path<'v>(p: &Path, scope: &Scope<'v>) -> Result<Option<Cow<'v, Value>>, Fault> {
    match &p.root {
        Root::Input => selected(&p.segments, scope.input, scope),
        Root::Variable(name) => match scope.variables.get(name) {
            Some(v) => selected(&p.segments, v, scope),
            None => Ok(None),
        },
        Root::Context => Ok(scope.context.resolve(p).ok()),
    }
}

/// A filter operand as Jayway's value node.
fn operand<'v>(op: &'v Operand, current: &'v Value, scope: &Scope<'v>) -> Result<Node<'v>, Fault> {
    let found = match op {
        Operand::Literal(v) => return Ok(Node::literal(v)),
        Operand::Json { source, value } => return Ok(Node::json_literal(source, value)),
        Operand::Regex(re) => return Ok(Node::Pattern(re)),
        // Unreachable in practice: a path holding one fails before any filter runs.
        Operand::BareWord(_) => return Ok(Node::Undefined),
        Operand::Current(segs) => selected(segs, current, scope)?,
        Operand::Path(p) => selected_path(p, scope)?,
    };
    Ok(found.map_or(Node::Undefined, Node::of))
}

/// `[?(@.x)]`: the operand selects something.
fn exists<'v>(op: &'v Operand, current: &'v Value, scope: &Scope<'v>) -> Result<bool, Fault> {
    match op {
        Operand::Current(segs) => match selected(segs, current, scope)? {
            Some(Cow::Owned(Value::Array(found))) if !segs.iter().all(definite) => Ok(!found.is_empty()),
            found => Ok(found.is_some()),
        },
        Operand::Path(p) => Ok(selected_path(p, scope)?.is_some()),
        Operand::BareWord(_) => Ok(false),
        Operand::Literal(_) | Operand::Json { .. } | Operand::Regex(_) => Ok(true),
    }
}

fn definite(s: &Segment) -> bool {
    matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(_)))
}

/// Whether a filter selects `current` (Jayway's `PredicatePathToken.accept`, which deselects the element
/// when an evaluator throws `InvalidPathException`).
fn accept<'v>(f: &'v Filter, current: &'v Value, scope: &Scope<'v>) -> Result<bool, Fault> {
    match holds(f, current, scope) {
        Ok(b) => Ok(b),
        Err(Abort::Invalid) => Ok(false),
        Err(Abort::Fault(f)) => Err(f),
    }
}

fn holds<'v>(f: &'v Filter, current: &'v Value, scope: &Scope<'v>) -> Result<bool, Abort> {
    Ok(match f {
        Filter::Or(a, b) => holds(a, current, scope)? || holds(b, current, scope)?,
        Filter::And(a, b) => holds(a, current, scope)? && holds(b, current, scope)?,
        Filter::Not(a) => !holds(a, current, scope)?,
        Filter::Exists(o) => exists(o, current, scope)?,
        Filter::Compare(l, op, r) => {
            let l = operand(l, current, scope)?;
            let r = operand(r, current, scope)?;
            relate(&l, *op, &r)?
        }
    })
}

/// JSON equality where numbers compare by value (`1 == 1.0`), as Step Functions compares.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

impl Path {
    /// Like [`Path::eval`] on an owned input, but moves the selected node out instead of cloning it
    /// (definite `$` paths only; other paths fall back to evaluation).
    pub fn take(&self, input: Value, scope: &Scope<'_>) -> Result<Value, EvalError> {
        if self.root != Root::Input || !self.is_definite() {
            return self.eval(&Scope { input: &input, ..*scope }).map(Cow::into_owned);
        }
        if let Err(nf) = select_definite(&self.segments, &input) {
            return Err(EvalError::runtime(format!("Invalid path '{}' : {}", self.source, nf.message)));
        }
        let mut input = input;
        let mut cur = &mut input;
        for seg in &self.segments {
            cur = match (seg, cur) {
                (Segment::Child(Selector::Name(n)), Value::Object(m)) => match m.get_mut(n.as_ref()) {
                    Some(v) => v,
                    None => return Ok(Value::Null),
                },
                (Segment::Child(Selector::Index(ix)), Value::Array(a)) => {
                    let len = a.len();
                    match resolve_index(*ix, len).and_then(|k| a.get_mut(k)) {
                        Some(v) => v,
                        None => return Ok(Value::Null),
                    }
                }
                _ => return Ok(Value::Null),
            };
        }
        Ok(std::mem::take(cur))
    }
}

impl ReferencePath {
    /// Reads the node the reference path names in `input`.
    pub fn get<'v>(&self, input: &'v Value) -> Result<&'v Value, EvalError> {
        select_definite(&self.0.segments, input)
            .map_err(|nf| EvalError::runtime(format!("Invalid path '{}' : {}", self.0.source, nf.message)))
    }

    /// Writes `value` at the reference path inside `target` (ResultPath semantics): `$` replaces the
    /// whole document; missing objects on the way are created; a non-object on the way is an error.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, EvalError> {
        let segs = &self.0.segments;
        if segs.is_empty() {
            return Ok(value);
        }
        let mut root = target;
        let mut cur = &mut root;
        for (i, seg) in segs.iter().enumerate() {
            let leaf = i + 1 == segs.len();
            let fail = |what: &str| {
                EvalError::named(
                    crate::ErrorName::ResultPathMatchFailure,
                    format!("Unable to apply ReferencePath {} to input: {what}", self.0.source),
                )
            };
            cur = match seg {
                Segment::Child(Selector::Name(n)) => {
                    if cur.is_null() {
                        *cur = Value::Object(serde_json::Map::new());
                    }
                    let Value::Object(m) = cur else {
                        return Err(fail(&format!("cannot set member '{n}' on a non-object")));
                    };
                    if leaf {
                        m.insert(String::from(n.as_ref()), value);
                        return Ok(root);
                    }
                    m.entry(String::from(n.as_ref())).or_insert(Value::Null)
                }
                Segment::Child(Selector::Index(ix)) => {
                    let Value::Array(a) = cur else {
                        return Err(fail(&format!("cannot set index {ix} on a non-array")));
                    };
                    let len = a.len();
                    let Some(k) = resolve_index(*ix, len) else {
                        return Err(fail(&format!("index {ix} is out of bounds")));
                    };
                    let slot = &mut a[k];
                    if leaf {
                        *slot = value;
                        return Ok(root);
                    }
                    slot
                }
                _ => return Err(fail("not a reference path")),
            };
        }
        Ok(root)
    }
}

impl Expr {
    /// Evaluates a path or an intrinsic call.
    pub fn eval<'a>(&self, scope: &Scope<'a>) -> Result<Cow<'a, Value>, EvalError> {
        match self {
            Expr::Path(p) => p.eval(scope),
            Expr::Call(c) => c.eval(scope).map(Cow::Owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(path: &str, input: &Value) -> Result<Value, String> {
        let p = Path::parse(path).map_err(|e| e.to_string())?;
        p.eval(&Scope::input(input)).map(Cow::into_owned).map_err(|e| e.message().to_owned())
    }

    /// A member is found the same way in an object searched one by one and in one looked up by hash.
    #[test]
    fn members_of_small_and_large_objects() {
        for n in [1, SCAN_MEMBERS, SCAN_MEMBERS + 1, 3 * SCAN_MEMBERS] {
            let doc: serde_json::Map<String, Value> = (0..n).map(|i| (format!("k{i}"), json!(i))).collect();
            let doc = Value::Object(doc);
            for i in 0..n {
                assert_eq!(eval(&format!("$.k{i}"), &doc), Ok(json!(i)), "{n} members");
            }
            let missing =
                |p: &str, n: &str| Err(format!("Invalid path '{p}' : No results for path: $['{n}']"));
            assert_eq!(eval("$.missing", &doc), missing("$.missing", "missing"));
            assert_eq!(eval("$.k", &doc), missing("$.k", "k"));
        }
    }

    #[test]
    fn definite_paths() {
        let doc = json!({"a": {"b": [10, 20, 30]}, "x-y": 1});
        assert_eq!(eval("$", &doc).unwrap(), doc);
        assert_eq!(eval("$.a.b[1]", &doc).unwrap(), json!(20));
        assert_eq!(eval("$.a.b[-1]", &doc).unwrap(), json!(30));
        assert_eq!(eval("$['x-y']", &doc).unwrap(), json!(1));
        assert_eq!(eval("$.x-y", &doc).unwrap(), json!(1));
    }

    #[test]
    fn missing_paths_have_jayway_messages() {
        let doc = json!({"int-literal": 0, "s": "text"});
        assert_eq!(
            eval("$.NoSuchOutputPath", &doc).unwrap_err(),
            "Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']"
        );
        assert_eq!(
            eval("$.a.b", &doc).unwrap_err(),
            "Invalid path '$.a.b' : Missing property in path $['a']"
        );
        assert!(eval("$.s.x", &doc).unwrap_err().contains("Expected to find an object with property ['x']"));
    }

    #[test]
    fn indefinite_paths_always_give_arrays() {
        let doc = json!({"items": [{"v": 1}, {"v": 2}, {"w": 3}, {"v": 4}]});
        assert_eq!(eval("$.items[*].v", &doc).unwrap(), json!([1, 2, 4]));
        assert_eq!(eval("$.items[1:3]", &doc).unwrap(), json!([{"v": 2}, {"w": 3}]));
        assert_eq!(eval("$.items[:1].v", &doc).unwrap(), json!([1]));
        assert_eq!(eval("$.items[-2:]", &doc).unwrap(), json!([{"w": 3}, {"v": 4}]));
        assert_eq!(eval("$.items[::2].v", &doc).unwrap(), json!([1]));
        assert_eq!(eval("$.items[0,3].v", &doc).unwrap(), json!([1, 4]));
        assert_eq!(eval("$..v", &doc).unwrap(), json!([1, 2, 4]));
        assert_eq!(eval("$.nothing[*]", &doc).unwrap(), json!([]));
        assert_eq!(eval("$[*]", &json!({})).unwrap(), json!([]));
    }

    #[test]
    fn filters() {
        let doc = json!({"books": [{"p": 5, "t": "a"}, {"p": 15, "t": "b"}, {"t": "c"}], "max": 10});
        assert_eq!(eval("$.books[?(@.p < 10)].t", &doc).unwrap(), json!(["a"]));
        assert_eq!(eval("$.books[?(@.p)].t", &doc).unwrap(), json!(["a", "b"]));
        assert_eq!(eval("$.books[?(!@.p)].t", &doc).unwrap(), json!(["c"]));
        assert_eq!(eval("$.books[?(@.p > $.max || @.t == 'c')].t", &doc).unwrap(), json!(["b", "c"]));
        assert_eq!(eval("$.books[?(@.p >= 5 && @.p <= 5)].t", &doc).unwrap(), json!(["a"]));
    }

    #[test]
    fn bracket_after_a_dot_evaluates_like_the_bracket() {
        let doc = json!([
            {"body": "{\"k\": 1}", "x": 0, "a": 1, "b": 2, "Payload": "p0"},
            {"x": 5, "a": 3, "Payload": "p1", "l": [7, [8, 9]]}
        ]);
        assert_eq!(eval("$.[0].x", &doc).unwrap(), json!(0));
        assert_eq!(eval("$.[-1].l.[1].[0]", &doc).unwrap(), json!(8));
        assert_eq!(eval("$.[*].Payload", &doc).unwrap(), json!(["p0", "p1"]));
        assert_eq!(eval("$.[?(@.x > 1)].a", &doc).unwrap(), json!([3]));
        assert_eq!(eval("$.[*].['a','b']", &doc).unwrap(), json!([1, 2, 3]));
        assert_eq!(eval("$.[1].['a']", &doc).unwrap(), json!(3));
        assert_eq!(
            eval("$..[0]", &doc).unwrap(),
            json!([{"body": "{\"k\": 1}", "x": 0, "a": 1, "b": 2, "Payload": "p0"}, 7, 8])
        );
        let obj = json!({"a": {"b": [10, 20]}, "c": "d"});
        assert_eq!(eval("$.['c']", &obj).unwrap(), json!("d"));
        assert_eq!(eval("$.a.b.[1]", &obj).unwrap(), json!(20));
        assert_eq!(eval("$.a.['b'].[0]", &obj).unwrap(), json!(10));
        assert_eq!(
            eval("$.a.b.[5]", &obj).unwrap_err(),
            "Invalid path '$.a.b.[5]' : No results for path: $['a']['b'][5]"
        );
        let call = crate::ast::Call::parse("States.StringToJson($.[0].body)").unwrap();
        assert_eq!(call.eval(&Scope::input(&doc)).unwrap(), json!({"k": 1}));
    }

    #[test]
    fn bare_words_fail_at_evaluation() {
        let doc =
            json!({"QualityResults": [{"constraint_status": "Failure"}, {"constraint_status": "Success"}]});
        let src = "$..QualityResults[?(@.constraint_status==Failure)]";
        let e = Path::parse(src).unwrap().eval(&Scope::input(&doc)).unwrap_err();
        assert_eq!(e.error_name(), "States.Runtime");
        assert_eq!(
            e.message(),
            "Invalid path '$..QualityResults[?(@.constraint_status==Failure)]' : Failed to parse filter: \
             [?(@.constraint_status==Failure)], error on position: 24, char: F"
        );
        // Whatever the input, and through every way of evaluating a path.
        let p = Path::parse(src).unwrap();
        assert!(p.eval(&Scope::input(&json!(null))).is_err());
        assert!(p.select_from(0, &doc).is_err_and(|nf| nf.message.starts_with("Failed to parse filter")));
        assert!(p.select_in(&doc, &Scope::input(&doc)).is_err());
        assert!(p.take(doc.clone(), &Scope::input(&doc)).is_err());
        let ctx = Path::parse("$$.Execution.Input[?(@.a==b)]").unwrap();
        let scope = Scope { input: &doc, context: &doc, variables: &() };
        assert_eq!(
            ctx.eval(&scope).unwrap_err().message(),
            "Invalid path '$$.Execution.Input[?(@.a==b)]' : Failed to parse filter: [?(@.a==b)], error on position: 8, char: b"
        );
        let call =
            crate::ast::Call::parse("States.ArrayLength($.QualityResults[?(@.constraint_status==Failure)])");
        let e = call.unwrap().eval(&Scope::input(&doc)).unwrap_err();
        assert_eq!(e.error_name(), "States.Runtime");
        assert!(e.message().contains("Failed to parse filter: [?(@.constraint_status==Failure)]"), "{e}");
        // The quoted form works.
        assert_eq!(
            eval("$..QualityResults[?(@.constraint_status=='Failure')]", &doc).unwrap(),
            json!([{"constraint_status": "Failure"}])
        );
    }

    #[test]
    fn context_and_variables() {
        let input = json!({});
        let ctx = json!({"Execution": {"Id": "arn"}});
        let mut vars = HashMap::new();
        vars.insert("x".to_owned(), json!({"y": [1, 2]}));
        let scope = Scope { input: &input, context: &ctx, variables: &vars };
        assert_eq!(*Path::parse("$$.Execution.Id").unwrap().eval(&scope).unwrap(), json!("arn"));
        assert_eq!(*Path::parse("$x.y[1]").unwrap().eval(&scope).unwrap(), json!(2));
        assert!(Path::parse("$nope").unwrap().eval(&scope).is_err());
    }

    #[test]
    fn reference_path_set() {
        let rp = ReferencePath::parse("$.a.b").unwrap();
        assert_eq!(rp.set(json!({"x": 1}), json!(2)).unwrap(), json!({"x": 1, "a": {"b": 2}}));
        assert_eq!(ReferencePath::parse("$").unwrap().set(json!({"x": 1}), json!(3)).unwrap(), json!(3));
        let e = rp.set(json!({"a": "str"}), json!(1)).unwrap_err();
        assert_eq!(e.error_name(), "States.ResultPathMatchFailure");
        let rp = ReferencePath::parse("$.l[1]").unwrap();
        assert_eq!(rp.set(json!({"l": [0, 0]}), json!(9)).unwrap(), json!({"l": [0, 9]}));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1]}), &json!({"a": [1.0]})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }
}
