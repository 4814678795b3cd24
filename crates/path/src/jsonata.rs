//! JSONata expressions (`{% … %}`) as Step Functions evaluates them.
//!
//! The JSONata language itself comes from [`jsonata_rs`] (a maintained Rust implementation); this module
//! adds what is specific to Step Functions: its extra functions (`$partition`, `$range`, `$hash`, `$parse`;
//! `$random` and `$uuid` are JSONata's own), variables bound from JSON values (`$states` and the
//! state machine's variables), JSON results with Step Functions' number rendering (integral values as
//! integers), `undefined` kept apart from `null`, and AWS's error wording (`T1006: Attempted to invoke a
//! non-function`). It also bounds what an expression may cost: nesting and tokens of the source (the
//! recursive parser runs on a stack sized for the expression), evaluation depth, evaluation time and the
//! bytes an evaluation holds ([`MAX_EVALUATION_BYTES`]), lets another thread cancel an evaluation
//! ([`Expression::evaluate_cancellable`]; the last two through a patch of jsonata-rs, see
//! `vendor/jsonata-rs/PATCHED.md`), and turns a panic inside jsonata-rs into an error, so a definition can
//! never crash or hang the process.
//! Built-ins that can build huge strings (`$pad`, `$join`, `$replace`) are replaced by bounded versions
//! that check their arguments first ([`MAX_STRING_BYTES`]). Regular expressions are bounded by the
//! jsonata-rs patch: they match on a linear-time engine (regex-lite) whenever the pattern means the
//! same there, and the others (back-references, lookaround, …) on regress with a step budget (a patched
//! regress, `vendor/regress/PATCHED.md`), so a search that backtracks too much ends with a `D3137` error
//! saying it "exceeded its backtracking budget" (`States.QueryEvaluationError`), whatever the pattern.
//!
//! [`Expression::parse`] checks an expression once and keeps what it reads (`$states` and which members,
//! variables, top-level references), found by one scan that splits the source as jsonata-rs does
//! (`scan.rs`, `refs.rs`), so evaluation binds only that and never scans the source.
//!
//! What jsonata-rs lacks (and so this module lacks): `$formatNumber`, `$formatBase`, `$formatInteger`,
//! `$parseInteger`, `$type`, `$sift`, `$spread`, `$shuffle` and the date picture strings of `$fromMillis`
//! beyond ISO 8601. Objects keep their members in insertion order, as jsonata-js and AWS do (patched into
//! jsonata-rs: vendor/jsonata-rs/PATCHED.md). Numbers are IEEE doubles, as in JSONata.
//!
//! ```
//! use serde_json::json;
//! use sfn_path::jsonata;
//! let states = json!({"input": {"values": [1, 2, 3]}});
//! let out = jsonata::evaluate("$sum($states.input.values) + $bonus", &[("states", &states), ("bonus", &json!(4))]);
//! assert_eq!(out, Ok(Some(json!(10))));
//! assert_eq!(jsonata::evaluate("$range(0, 10, 5)", &[]), Ok(Some(json!([0, 5, 10]))));
//! assert_eq!(jsonata::evaluate("$nothing", &[]), Ok(None));
//! ```

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Limits, Value as JValue};
use serde_json::{Map, Number, Value};

mod refs;
mod scan;

pub use refs::TopLevel;
pub use scan::StatesMember;

/// An expression checked once, with what it reads found once: whether it uses `$states` and which
/// members, the variables it names, what it reads from the top-level context (which Step Functions
/// refuses), and the stack its evaluation needs. [`Expression::evaluate`] binds only what it reads.
///
/// jsonata-rs's parsed form cannot be kept (its `JsonAta` borrows the arena each evaluation allocates in
/// and holds an `Rc<RefCell<…>>` variable frame that `:=` writes into, so it is neither `Send` nor
/// reusable, and its syntax tree has no public type or evaluator): each evaluation parses the source
/// again, and nothing else.
///
/// ```
/// use serde_json::json;
/// use sfn_path::jsonata::{Expression, StatesMember};
/// let e = Expression::parse("$states.input.n * $factor").unwrap();
/// assert!(e.uses_states_member(StatesMember::Input) && !e.uses_context());
/// assert_eq!(e.variables().collect::<Vec<_>>(), ["factor"]);
/// let input = json!({"n": 2});
/// assert_eq!(e.evaluate(&[("input", &input)], &[("factor", &json!(3))]), Ok(Some(json!(6))));
/// assert!(Expression::parse("1 +").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    source: Box<str>,
    reads: scan::Reads,
    top_level: Vec<TopLevel>,
    /// Stack for parsing and evaluating it (see [`stack_for`]).
    stack: usize,
}

impl Expression {
    /// Parses an expression (the text between `{%` and `%}`), checking its syntax, nesting and length.
    pub fn parse(source: &str) -> Result<Expression, JsonataError> {
        check_nesting(source)?;
        let stack = stack_for(source)?;
        stacker::maybe_grow(stack, stack, || {
            let arena = Bump::new();
            parse(source, &arena).map(|_| ())
        })?;
        Ok(Expression {
            source: source.into(),
            reads: scan::reads(source),
            top_level: refs::top_level_references(source),
            stack,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when it mentions `$states`.
    pub fn uses_states(&self) -> bool {
        self.reads.states
    }

    /// True when it may read `$states.<member>`: it names that member, or uses `$states` otherwise
    /// than as `$states.name` (`$keys($states)`), which may read every member.
    pub fn uses_states_member(&self, member: StatesMember) -> bool {
        self.reads.member(member)
    }

    /// True when it may read the context object (`$states.context`), so callers build one only then.
    pub fn uses_context(&self) -> bool {
        self.uses_states_member(StatesMember::Context)
    }

    /// The variables it names (`$name`, not `$states`), each once, in writing order; names in strings,
    /// regular expressions and comments are not among them.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.reads.variables.iter().map(|v| &**v)
    }

    /// What it reads from the top-level context, which Step Functions does not provide (`phone`, `$`,
    /// `$$`), each once, in writing order.
    pub fn top_level_references(&self) -> &[TopLevel] {
        &self.top_level
    }

    /// Evaluates it with `bindings` as variables and `$states` built from `states` (`("input", …)`,
    /// `("result", …)`, …) without copying those values into one JSON object first; only the members it
    /// may read are converted, and `$states` is bound only when it uses it. `Ok(None)` when the result
    /// is undefined.
    pub fn evaluate(
        &self,
        states: &[(&str, &Value)],
        bindings: &[(&str, &Value)],
    ) -> Result<Option<Value>, JsonataError> {
        self.evaluate_cancellable(states, bindings, None)
    }

    /// [`Expression::evaluate`] that ends, with [`JsonataError::Cancelled`], at its next evaluation step
    /// once `cancel` is set (from another thread: the evaluation runs where it was called).
    pub fn evaluate_cancellable(
        &self,
        states: &[(&str, &Value)],
        bindings: &[(&str, &Value)],
        cancel: Option<&Arc<AtomicBool>>,
    ) -> Result<Option<Value>, JsonataError> {
        let read = |name: &str| match StatesMember::named(name) {
            Some(m) => self.uses_states_member(m),
            None => self.reads.whole(),
        };
        let states: Vec<_> = if self.uses_states() {
            states.iter().copied().filter(|(name, _)| read(name)).collect()
        } else {
            Vec::new()
        };
        stacker::maybe_grow(self.stack, self.stack, || {
            evaluate_here(&self.source, self.uses_states().then_some(&states[..]), bindings, cancel)
        })
    }
}

/// Deepest bracket nesting accepted in an expression's source.
pub const MAX_NESTING: usize = 64;
/// Deepest evaluation (function calls and sub-expressions) before the expression fails.
pub const MAX_DEPTH: usize = 100;
/// Longest evaluation, in milliseconds, before the expression fails.
pub const MAX_MILLIS: usize = 10_000;
/// Most tokens accepted in an expression's source (counted generously: every punctuation character is
/// one). jsonata-rs's parser recurses once per operator, so a long chain (`- - - … 1`, `a ? b : c ? …`)
/// needs stack in proportion; the bound keeps that finite.
pub const MAX_TOKENS: usize = 10_000;
/// Most bytes one evaluation may build (its bound inputs not counted): every value it makes (strings made by `&`
/// or `$string`, arrays made by `$append` or a range `[1..n]`, objects, the values of a recursion's
/// frames). jsonata-rs frees nothing during an evaluation, so this bounds its memory; checked at every
/// evaluation step, so one step may pass it by what that step builds (a concatenation at most doubles it).
pub const MAX_EVALUATION_BYTES: usize = 128 << 20;
/// Most items `$range` may produce (as `States.ArrayRange`).
pub const MAX_RANGE_ITEMS: usize = 1000;
/// Longest string (in bytes) `$pad`, `$join` and `$replace` may build in one call; Step Functions'
/// payloads are at most 256 KiB, so this only refuses runaway expressions (`$pad('', 1e9)`).
pub const MAX_STRING_BYTES: usize = 1 << 20;

/// Why an expression gave no JSON value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonataError {
    /// The expression does not parse (`S0201: …`).
    #[error("{0}")]
    Syntax(String),
    /// Evaluation raised a JSONata error, in JSONata's `CODE: message` form.
    #[error("{0}")]
    Threw(String),
    /// The result is a function (or another value JSON cannot hold).
    #[error("the result is not a JSON value")]
    Unsupported,
    /// The evaluation was cancelled ([`Expression::evaluate_cancellable`]).
    #[error("the evaluation was cancelled")]
    Cancelled,
}

/// Checks an expression's syntax (and nesting) without evaluating it ([`Expression::parse`] keeps
/// what it finds).
pub fn check(source: &str) -> Result<(), JsonataError> {
    Expression::parse(source).map(|_| ())
}

/// jsonata-rs's parser, with a panic in it (it has `unreachable!()`s that odd input reaches, e.g.
/// `$substring(a/$substring($$'t'a>…`) reported as a syntax error.
fn parse<'a>(source: &str, arena: &'a Bump) -> Result<JsonAta<'a>, JsonataError> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| JsonAta::new(source, arena))) {
        Ok(parsed) => parsed.map_err(|e| JsonataError::Syntax(describe(&e))),
        Err(panic) => Err(JsonataError::Syntax(format!("S0201: Syntax error ({})", panic_message(&panic)))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned());
    format!("jsonata-rs failed: {}", text.unwrap_or_else(|| "no message".to_owned()))
}

/// Evaluates `source` with `bindings` as variables (`("states", …)` is `$states`); `Ok(None)` when the
/// result is undefined.
pub fn evaluate(source: &str, bindings: &[(&str, &Value)]) -> Result<Option<Value>, JsonataError> {
    evaluate_with_states(source, &[], bindings)
}

/// Like [`evaluate`], with `$states` built from `states` (`("input", …)`, `("result", …)`, …) without
/// copying those values into one JSON object first. With an empty `states`, `$states` is not bound
/// (unless `bindings` binds it).
pub fn evaluate_with_states(
    source: &str,
    states: &[(&str, &Value)],
    bindings: &[(&str, &Value)],
) -> Result<Option<Value>, JsonataError> {
    check_nesting(source)?;
    let stack = stack_for(source)?;
    stacker::maybe_grow(stack, stack, || {
        // The source alone must parse: evaluation parses it inside a block (`wrap`), which accepts more
        // (an empty source, `a; b`).
        parse(source, &Bump::new())?;
        evaluate_here(source, (!states.is_empty()).then_some(states), bindings, None)
    })
}

/// Parses `source` (jsonata-rs keeps no parsed form between evaluations, see [`Expression`]) and
/// evaluates it; `states`, when given, is bound as `$states`.
fn evaluate_here(
    source: &str,
    states: Option<&[(&str, &Value)]>,
    bindings: &[(&str, &Value)],
    cancel: Option<&Arc<AtomicBool>>,
) -> Result<Option<Value>, JsonataError> {
    let arena = Bump::new();
    let wrapped = wrap(source);
    let expr = parse(&wrapped, &arena)?;
    if let Some(states) = states {
        let object = JValue::object_with_capacity(&arena, states.len());
        for (name, value) in states {
            object.insert(name, to_jsonata(&arena, value, 0));
        }
        expr.assign_var("states", object);
    }
    for (name, value) in bindings {
        expr.assign_var(name, to_jsonata(&arena, value, 0));
    }
    expr.register_function("partition", 2, fn_partition);
    expr.register_function("range", 3, fn_range);
    expr.register_function("hash", 2, fn_hash);
    expr.register_function("parse", 1, fn_parse);
    for (name, arity, bounded) in BOUNDED {
        expr.assign_var(&format!("sfnBounded{name}"), JValue::nativefn(&arena, name, *arity, *bounded));
    }
    // The arena already holds the bound values; the bound is on what the evaluation adds.
    let limits = Limits { cancel: cancel.cloned(), max_arena_bytes: Some(MAX_EVALUATION_BYTES) };
    let evaluated = std::panic::catch_unwind(AssertUnwindSafe(|| {
        expr.evaluate_with_limits(None, Some(MAX_DEPTH), Some(MAX_MILLIS), limits)
    }));
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(JsonataError::Cancelled);
    }
    let result = match evaluated {
        Ok(r) => r.map_err(|e| JsonataError::Threw(describe(&e)))?,
        Err(panic) => return Err(JsonataError::Threw(panic_message(&panic))),
    };
    to_json(result)
}

type Native =
    for<'a, 'e> fn(FunctionContext<'a, 'e>, &[&'a JValue<'a>]) -> jsonata_rs::Result<&'a JValue<'a>>;

/// jsonata-rs's built-ins that can build huge strings, replaced (for the expression, by [`wrap`]) with
/// versions that check their arguments and then call the built-in.
const BOUNDED: &[(&str, usize, Native)] =
    &[("pad", 2, bounded_pad), ("join", 2, bounded_join), ("replace", 4, bounded_replace)];

/// jsonata-rs binds its built-ins after the caller's variables, so they cannot be replaced by binding
/// the same names: the expression runs in a block that keeps each built-in as `$sfnBuiltin<name>` and
/// binds `$<name>` to the bounded version (`$sfnBounded<name>`, bound by the caller).
fn wrap(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 300);
    out.push('(');
    for (name, ..) in BOUNDED {
        out.push_str(&format!("$sfnBuiltin{name} := ${name}; ${name} := $sfnBounded{name}; "));
    }
    out.push_str("(\n");
    out.push_str(source);
    out.push_str("\n))");
    out
}

/// Calls the built-in `name` that [`wrap`] kept.
fn builtin<'a>(
    ctx: &FunctionContext<'a, '_>,
    name: &str,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    match ctx.frame.lookup(&format!("sfnBuiltin{name}")) {
        Some(f) => ctx.evaluate_function(f, args),
        None => Err(jsonata_rs::Error::D3137Error(format!("${name}: the built-in function is missing"))),
    }
}

fn too_long<'a>(name: &str, bytes: f64) -> jsonata_rs::Result<&'a JValue<'a>> {
    fail(
        name,
        format!("the result would hold {bytes} bytes; at most {MAX_STRING_BYTES} are allowed in one string"),
    )
}

fn bounded_pad<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let width = arg(args, 1);
    if width.is_number() {
        let pad = arg(args, 2);
        let per_char = if pad.is_string() { pad.as_str().len().max(1) } else { 1 };
        let bytes = width.as_f64().abs() * per_char as f64;
        if bytes > MAX_STRING_BYTES as f64 {
            return too_long("pad", bytes);
        }
    }
    builtin(&ctx, "pad", args)
}

fn bounded_join<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (strings, separator) = (arg(args, 0), arg(args, 1));
    if strings.is_array() {
        let sep = if separator.is_string() { separator.as_str().len() } else { 0 };
        let mut bytes = 0usize;
        for s in strings.members() {
            if s.is_string() {
                bytes = bytes.saturating_add(s.as_str().len()).saturating_add(sep);
            }
        }
        if bytes > MAX_STRING_BYTES {
            return too_long("join", bytes as f64);
        }
    }
    builtin(&ctx, "join", args)
}

fn bounded_replace<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (subject, replacement) = (arg(args, 0), arg(args, 2));
    if subject.is_string() && replacement.is_string() {
        // At most one replacement per character boundary.
        let n = subject.as_str().chars().count() + 1;
        let bytes = subject.as_str().len() as f64 + n as f64 * replacement.as_str().len() as f64;
        if bytes > MAX_STRING_BYTES as f64 {
            return too_long("replace", bytes);
        }
    }
    builtin(&ctx, "replace", args)
}

/// `CODE: message`, without jsonata-rs's character position.
fn describe(e: &jsonata_rs::Error) -> String {
    let text = e.to_string();
    // jsonata-rs prefixes a position: `12: message` or `T1006 @ 12: message`.
    let message = match text.split_once(": ") {
        Some((pos, rest))
            if !pos.is_empty() && (pos.bytes().all(|b| b.is_ascii_digit()) || pos.starts_with(e.code())) =>
        {
            rest.to_owned()
        }
        _ => text,
    };
    format!("{}: {message}", e.code())
}

/// Stack for evaluation at [`MAX_DEPTH`] (measured: under 1 MiB unoptimized, far less optimized).
const EVAL_STACK: usize = if cfg!(debug_assertions) { 1 << 20 } else { 256 << 10 };
/// Stack per source token while parsing (measured worst, a `?:` chain: about 27 KiB unoptimized and
/// 3 KiB optimized per token; these leave a margin).
const TOKEN_STACK: usize = if cfg!(debug_assertions) { 48 << 10 } else { 8 << 10 };

/// The stack a parse and evaluation of `source` need; a caller runs them with
/// `stacker::maybe_grow(stack, stack, …)`, on the current stack when it has room (short expressions, the
/// usual case), else on a fresh stack of the size needed. Refuses sources over [`MAX_TOKENS`].
fn stack_for(source: &str) -> Result<usize, JsonataError> {
    let tokens = count_tokens(source);
    if tokens > MAX_TOKENS {
        return Err(JsonataError::Syntax(format!("S0201: The expression has more than {MAX_TOKENS} tokens")));
    }
    // The block that binds the bounded built-ins (`wrap`) adds about 80 tokens.
    Ok(EVAL_STACK + (tokens + 100) * TOKEN_STACK)
}

/// An upper bound on the number of tokens of `source`: a run of name or digit characters is one, a
/// string literal is one, every other character that is not white space is one.
fn count_tokens(source: &str) -> usize {
    let mut n = 0;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        n += 1;
        if c.is_alphanumeric() || c == '_' {
            while chars.next_if(|c| c.is_alphanumeric() || *c == '_').is_some() {}
        } else if matches!(c, '"' | '\'' | '`') {
            while let Some(d) = chars.next() {
                if d == '\\' {
                    chars.next();
                } else if d == c {
                    break;
                }
            }
        }
    }
    n
}

fn check_nesting(source: &str) -> Result<(), JsonataError> {
    let mut depth = 0usize;
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(JsonataError::Syntax(format!(
                        "S0201: The expression nests brackets more than {MAX_NESTING} deep"
                    )));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Deepest JSON nesting converted (deeper values are cut at `null`; the engine's inputs are limited to
/// 256 KiB and serde_json's parser to 128 levels, so this is never reached by real input).
const MAX_VALUE_DEPTH: usize = 512;

fn to_jsonata<'a>(arena: &'a Bump, v: &Value, depth: usize) -> &'a JValue<'a> {
    if depth > MAX_VALUE_DEPTH {
        return JValue::null(arena);
    }
    match v {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(items) => {
            let out = JValue::array_with_capacity(arena, items.len(), ArrayFlags::empty());
            for x in items {
                out.push(to_jsonata(arena, x, depth + 1));
            }
            out
        }
        Value::Object(m) => {
            let out = JValue::object_with_capacity(arena, m.len());
            for (k, x) in m {
                out.insert(k, to_jsonata(arena, x, depth + 1));
            }
            out
        }
    }
}

/// A JSON number for `f`: integral values within ±2^53 as integers (JSONata's `1` prints as `1`, not `1.0`).
fn number(f: f64) -> Result<Value, JsonataError> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if f.fract() == 0.0 && f.abs() <= EXACT {
        #[allow(clippy::cast_possible_truncation, reason = "integral and within ±2^53")]
        return Ok(Value::from(f as i64));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| JsonataError::Threw(format!("D1001: Number out of range: {f}")))
}

fn to_json<'a>(v: &'a JValue<'a>) -> Result<Option<Value>, JsonataError> {
    if v.is_undefined() {
        return Ok(None);
    }
    if v.is_function() {
        return Err(JsonataError::Unsupported);
    }
    Ok(Some(match v {
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n)?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(..) | JValue::Range(..) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v.members() {
                if let Some(j) = to_json(x)? {
                    out.push(j);
                }
            }
            Value::Array(out)
        }
        JValue::Object(m) => {
            // In the members' order (vendor/jsonata-rs/PATCHED.md: insertion order, as AWS records it).
            let mut out = Map::with_capacity(m.len());
            for (k, x) in m.iter() {
                if let Some(j) = to_json(x)? {
                    out.insert(k.to_string(), j);
                }
            }
            Value::Object(out)
        }
        _ => return Err(JsonataError::Unsupported),
    }))
}

fn arg<'a>(args: &[&'a JValue<'a>], i: usize) -> &'a JValue<'a> {
    args.get(i).copied().unwrap_or_else(JValue::undefined)
}

fn fail<'a>(name: &str, message: impl std::fmt::Display) -> jsonata_rs::Result<&'a JValue<'a>> {
    Err(jsonata_rs::Error::D3137Error(format!("${name}: {message}")))
}

fn integer(v: &JValue<'_>) -> Option<i64> {
    #[allow(clippy::cast_possible_truncation, reason = "checked integral and in range")]
    (v.is_number() && v.as_f64().fract() == 0.0 && v.as_f64().abs() < 9.0e15).then(|| v.as_f64() as i64)
}

/// `$partition(array, size)`: the array in chunks of `size` (the last may be shorter).
fn fn_partition<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (array, size) = (arg(args, 0), arg(args, 1));
    if !array.is_array() {
        return fail("partition", "the first argument must be an array");
    }
    let Some(size) = integer(size).filter(|s| *s > 0) else {
        return fail("partition", "the second argument must be a positive integer");
    };
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let items: Vec<_> = array.members().collect();
    let out = JValue::array_with_capacity(ctx.arena, items.len().div_ceil(size), ArrayFlags::empty());
    for chunk in items.chunks(size) {
        let part = JValue::array_with_capacity(ctx.arena, chunk.len(), ArrayFlags::empty());
        for x in chunk {
            part.push(x);
        }
        out.push(part);
    }
    Ok(out)
}

/// `$range(start, end, step)`: integers from `start` to `end` inclusive (as `States.ArrayRange`).
fn fn_range<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (Some(start), Some(end), Some(step)) =
        (integer(arg(args, 0)), integer(arg(args, 1)), integer(arg(args, 2)))
    else {
        return fail("range", "start, end and step must be integers");
    };
    if step == 0 {
        return fail("range", "step must not be 0");
    }
    let count =
        if (step > 0 && start > end) || (step < 0 && start < end) { 0 } else { (end - start) / step + 1 };
    if count > MAX_RANGE_ITEMS as i64 {
        return fail(
            "range",
            format!("the range would hold {count} items; at most {MAX_RANGE_ITEMS} are allowed"),
        );
    }
    // A one-item result is a singleton sequence, which JSONata unwraps (AWS: `$range(1, 1, 1)` is `1`).
    if count == 1 {
        return Ok(JValue::number(ctx.arena, start as f64));
    }
    let out =
        JValue::array_with_capacity(ctx.arena, usize::try_from(count).unwrap_or(0), ArrayFlags::empty());
    let mut x = start;
    for _ in 0..count {
        out.push(JValue::number(ctx.arena, x as f64));
        x += step;
    }
    Ok(out)
}

/// `$hash(value, algorithm)`: the hex digest (MD5, SHA-1, SHA-256, SHA-384, SHA-512) of a string.
fn fn_hash<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (data, algorithm) = (arg(args, 0), arg(args, 1));
    if !data.is_string() || !algorithm.is_string() {
        return fail("hash", "the value and the algorithm must be strings");
    }
    match crate::intrinsics::hash(&algorithm.as_str(), data.as_str().as_bytes()) {
        Some(hex) => Ok(JValue::string(ctx.arena, &hex)),
        None => fail(
            "hash",
            format!(
                "the algorithm '{}' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512",
                algorithm.as_str()
            ),
        ),
    }
}

/// `$parse(text)`: the JSON value a string holds.
fn fn_parse<'a>(ctx: FunctionContext<'a, '_>, args: &[&'a JValue<'a>]) -> jsonata_rs::Result<&'a JValue<'a>> {
    let text = arg(args, 0);
    if !text.is_string() {
        return fail("parse", "the argument must be a string");
    }
    match serde_json::from_str::<Value>(&text.as_str()) {
        Ok(v) => Ok(to_jsonata(ctx.arena, &v, 0)),
        Err(e) => fail("parse", format!("the string is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(src: &str) -> Result<Option<Value>, JsonataError> {
        evaluate(src, &[("states", &json!({"input": {"a": 1, "s": "x", "l": [1, 2]}}))])
    }

    #[test]
    fn values_and_numbers() {
        assert_eq!(eval("$states.input.a + 1"), Ok(Some(json!(2))));
        assert_eq!(eval("0.1"), Ok(Some(json!(0.1))));
        assert_eq!(eval("[1, 'two', 3]"), Ok(Some(json!([1, "two", 3]))));
        assert_eq!(eval("null"), Ok(Some(Value::Null)));
        assert_eq!(eval("{'b': 1, 'a': [$states.input.s]}"), Ok(Some(json!({"a": ["x"], "b": 1}))));
        assert_eq!(eval("$states.input.missing"), Ok(None));
        assert_eq!(eval("$number('2')"), Ok(Some(json!(2))));
        assert_eq!(eval("$states.input.l"), Ok(Some(json!([1, 2]))));
        assert_eq!(eval("[]"), Ok(Some(json!([]))));
    }

    /// The keys of an object value, in its order.
    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    #[test]
    fn objects_keep_their_members_in_insertion_order_as_aws_records_them() {
        // AWS: `$merge([{"hello": "world"}, {"foo": "bar"}])` is `{"hello":"world","foo":"bar"}`
        // (`test_base_evaluate_expressions__test_merge_with_dynamic_args`, fixtures/conformance-jsonata).
        let input = json!({"zeta": 1, "alpha": {"b": 1, "a": 2}, "mid": [{"y": 1, "x": 2}]});
        let states = json!({"input": input});
        let ata = |src: &str| evaluate(src, &[("states", &states)]).unwrap().unwrap();
        let out = ata("$merge([{'hello': 'world'}, {'foo': 'bar'}])");
        assert_eq!(keys(&out), ["hello", "foo"]);
        // A value handed on keeps the input's order, nested members too.
        let out = ata("$states.input");
        assert_eq!(keys(&out), ["zeta", "alpha", "mid"]);
        assert_eq!(keys(&out["alpha"]), ["b", "a"]);
        assert_eq!(keys(&out["mid"][0]), ["y", "x"]);
        assert_eq!(ata("$keys($states.input)"), json!(["zeta", "alpha", "mid"]));
        assert_eq!(keys(&ata("{'b': 1, 'a': 2, 'c': 3}")), ["b", "a", "c"]);
        // A key assigned again keeps its place; a removed one leaves the others in theirs.
        let out = ata("$merge([{'a': 1, 'b': 2, 'c': 3}, {'a': 9}])");
        assert_eq!(keys(&out), ["a", "b", "c"]);
        assert_eq!(out["a"], json!(9));
        let out = ata("$states.input ~> |$|{'new': 1}, ['alpha']|");
        assert_eq!(keys(&out), ["zeta", "mid", "new"]);
        assert_eq!(ata("$string({'b': 1, 'a': 2})"), json!(r#"{"b":1,"a":2}"#));
        // Equality does not depend on the order.
        assert_eq!(ata("{'x': 1, 'y': [1]} = {'y': [1], 'x': 1}"), json!(true));
        assert_eq!(ata("{'x': 1} = {'x': 2}"), json!(false));
        // Grouping keeps the groups in the order they first appear.
        let items = json!({"input": {"items": [{"k": "q", "v": 1}, {"k": "p", "v": 2}, {"k": "q", "v": 3}]}});
        let out = evaluate("$states.input.items{k: $sum(v)}", &[("states", &items)]).unwrap().unwrap();
        assert_eq!(keys(&out), ["q", "p"]);
        assert_eq!(out, json!({"q": 4, "p": 2}));
    }

    #[test]
    fn parser_inputs_that_panicked_upstream_are_a_call_and_a_syntax_error() {
        // Found by the `jsonata_binds_what_it_reads` fuzz target (vendor/jsonata-rs/PATCHED.md): calling an
        // expression that is not a name (jsonata-js calls it) and the parent operator `%`.
        assert_eq!(eval("(function($x){$x + 1})(1)"), Ok(Some(json!(2))));
        assert_eq!(eval("($f := function($x){$x * 2}; ($f)(4))"), Ok(Some(json!(8))));
        match eval("$states.input.l.%") {
            Err(JsonataError::Syntax(m)) => {
                assert!(m.contains("parent operator") && !m.contains("jsonata-rs failed"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn step_functions_functions() {
        assert_eq!(eval("$partition([0, 1, 2], 2)"), Ok(Some(json!([[0, 1], [2]]))));
        assert_eq!(eval("$range(0, 10, 3)"), Ok(Some(json!([0, 3, 6, 9]))));
        assert_eq!(eval("$range(5, 1, -2)"), Ok(Some(json!([5, 3, 1]))));
        assert_eq!(eval("$parse('{\"k\": [1.5]}')"), Ok(Some(json!({"k": [1.5]}))));
        assert_eq!(
            eval("$hash('input data', 'SHA-1')"),
            Ok(Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7")))
        );
        assert!(
            matches!(eval("$range(0, 5000, 1)"), Err(JsonataError::Threw(m)) if m.contains("at most 1000"))
        );
        assert!(eval("$uuid()").unwrap().unwrap().as_str().is_some_and(|u| u.len() == 36));
    }

    #[test]
    fn errors_in_awss_words() {
        assert_eq!(
            eval("$randomSeeded(1)"),
            Err(JsonataError::Threw("T1006: Attempted to invoke a non-function".into()))
        );
        assert_eq!(eval("$fn := function($x){$x}"), Err(JsonataError::Unsupported));
        assert!(matches!(eval("1 +"), Err(JsonataError::Syntax(_))));
        assert!(check("$states.input").is_ok());
        assert!(check(&"(".repeat(100)).is_err());
    }

    fn fails_fast(src: &str, needle: &str) {
        let start = std::time::Instant::now();
        let r = eval(src);
        assert!(matches!(&r, Err(JsonataError::Threw(m)) if m.contains(needle)), "{src}: {r:?}");
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "{src}: {:?}", start.elapsed());
    }

    #[test]
    fn catastrophic_patterns_match_in_linear_time() {
        // Exponential (`(a+)+$`, issue 16's freeze) and polynomial (`\w*…\w*x`) backtracking shapes run on
        // the linear-time engine: they answer, on long subjects, without the subject check.
        let subject = format!("{}!", "a".repeat(5000));
        let input = json!({"s": subject});
        let eval_s = |src: &str| evaluate(src, &[("states", &json!({"input": input}))]);
        assert_eq!(eval_s("$match($states.input.s, /(a+)+$/)"), Ok(None));
        assert_eq!(eval_s("$match($states.input.s, '(a+)+$')"), Ok(None));
        assert_eq!(eval_s("$contains($states.input.s, /\\w*\\w*\\w*\\w*\\w*\\w*x/)"), Ok(Some(json!(false))));
        assert_eq!(eval_s("$contains($states.input.s, /(a|aa)*$/)"), Ok(Some(json!(true))));
        assert_eq!(eval_s("$count($split($states.input.s, /(a*)*b/))"), Ok(Some(json!(1))));
        assert_eq!(eval_s("$length($replace($states.input.s, /(a+)+!/, 'x'))"), Ok(Some(json!(1))));
        // The same answers as the backtracking engine gave, groups and replacement references included.
        assert_eq!(
            eval("$match('ab-abb', /a(b+)/)"),
            Ok(Some(
                json!([{"match": "ab", "index": 0, "groups": ["b"]}, {"match": "abb", "index": 3, "groups": ["bb"]}])
            ))
        );
        assert_eq!(
            eval("$replace('John Smith', /(\\w+)\\s(\\w+)/, '$2, $1')"),
            Ok(Some(json!("Smith, John")))
        );
        assert_eq!(eval("$contains('A\u{a0}B', /A\\sB/)"), Ok(Some(json!(true))));
        assert_eq!(eval("$match('x\ry', /x.y/)"), Ok(None));
        assert_eq!(eval("$contains('HeLLo', /hello/i)"), Ok(Some(json!(true))));
    }

    #[test]
    fn patterns_go_to_the_linear_engine_when_they_mean_the_same_there() {
        for (p, linear) in [
            ("(a+)+$", true),
            ("\\w*\\w*\\w*x", true),
            ("^[a-z]+@[a-z]+\\.com$", true),
            ("[\\s\\d-]+", true),
            ("(a)\\1", false),
            ("(?=a)", false),
            ("(?<n>a)", false),
            ("[^]", false),
            ("a[]b", false),
            ("\\u0041", false),
        ] {
            assert_eq!(jsonata_rs::regex_is_linear(p), linear, "{p}");
        }
    }

    /// `src` (a call of a built-in) ends with the budget error, naming that built-in.
    fn budget_error(src: &str, input: &Value) {
        let r = evaluate(src, &[("states", &json!({"input": input}))]);
        let function = &src[..src.find('(').unwrap()];
        let expected = format!("D3137: {function}: the regular expression /");
        assert!(
            matches!(&r, Err(JsonataError::Threw(m))
                if m.starts_with(&expected) && m.contains("/ exceeded its backtracking budget of 10000000 steps")),
            "{src}: {r:?}"
        );
    }

    #[test]
    fn backtracking_patterns_end_with_the_budget_error_on_long_subjects() {
        // Issue 16's freeze, on the engine that backtracks (back-references, lookaround): exponential
        // (`(a+)+\1$`, `(a|a)*…`) and polynomial (`(\w*)*\1x`) shapes on 30,000 characters end with the
        // budget error, in every built-in that matches, a regex literal or `$match`'s string pattern.
        let a = "a".repeat(30_000);
        let bang = json!({"s": format!("{a}!")});
        let plain = json!({"s": a});
        budget_error("$match($states.input.s, /(a+)+\\1$/)", &bang);
        budget_error("$match($states.input.s, '(a+)+\\\\1$')", &bang);
        budget_error("$match($states.input.s, /(\\w*)*\\1x/)", &plain);
        budget_error("$contains($states.input.s, /(a|a)*b(?=c)/)", &plain);
        budget_error("$split($states.input.s, /(?<n>a|a)*\\k<n>b/)", &plain);
        budget_error("$replace($states.input.s, /(a|a)*(?<!c)b/, 'x')", &plain);
        // Without a back-reference or lookaround the same shapes run on the linear-time engine: they answer.
        let eval_s = |src: &str, input: &Value| evaluate(src, &[("states", &json!({"input": input}))]);
        assert_eq!(eval_s("$match($states.input.s, /(a+)+$/)", &bang), Ok(None));
        assert_eq!(eval_s("$contains($states.input.s, /(a|a)*b/)", &plain), Ok(Some(json!(false))));
        // Long subjects within the budget answer on the backtracking engine too.
        let words = json!({"s": "abc abc ".repeat(3750)});
        assert_eq!(eval_s("$count($match($states.input.s, /(\\w+)\\s\\1/))", &words), Ok(Some(json!(3750))));
        assert_eq!(
            eval_s("$length($replace($states.input.s, /a(?=a)/, 'b'))", &bang),
            Ok(Some(json!(30_001)))
        );
    }

    #[test]
    fn backtracking_patterns_give_ecmascript_answers() {
        // Back-references (an unset group matches empty, as in ECMAScript), lookahead, lookbehind, named
        // groups, the `m` flag: what jsonata-rs gave with regress before the budget.
        let m = |src: &str| eval(src).unwrap().unwrap();
        assert_eq!(m("$match('xaay', /(a)\\1/)"), json!({"match": "aa", "index": 1, "groups": ["a"]}));
        assert_eq!(m("$match('b', /(a)?b\\1/)"), json!({"match": "b", "index": 0, "groups": [null]}));
        assert_eq!(m("$match('10USD 20EUR', /\\d+(?=EUR)/).match"), json!("20"));
        assert_eq!(m("$match('$5 6', /(?<=\\$)\\d/).match"), json!("5"));
        assert_eq!(m("$match('2024-05', /(?<y>\\d{4})-(?<m>\\d{2})/).groups"), json!(["2024", "05"]));
        assert_eq!(m("$replace('abab', /(?<x>ab)\\k<x>/, '[$1]')"), json!("[ab]"));
        assert_eq!(m("$split('a1b2c', /(?<=[a-z])\\d/)"), json!(["a", "b", "c"]));
        assert_eq!(m("$contains('x\\ry', /^y/m)"), json!(true));
        assert_eq!(m("$count($match('a\\nb\\nc', /^\\w$/m))"), json!(3));
        assert!(!jsonata_rs::regex_is_linear("(a)\\1") && jsonata_rs::regex_is_linear("(a+)+$"));
    }

    #[test]
    fn huge_strings_are_refused_before_they_are_built() {
        fails_fast("$pad('', 1e9)", "at most 1048576");
        fails_fast("$pad('x', -1e9, 'ab')", "at most 1048576");
        fails_fast("$join([1..5000].$pad('', 1000), ',')", "at most 1048576");
        fails_fast("$replace($pad('', 2000, 'a'), 'a', $pad('', 1000))", "at most 1048576");
        assert_eq!(eval("$pad('x', 3, '-')"), Ok(Some(json!("x--"))));
        assert_eq!(eval("$join(['a', 'b'], ',')"), Ok(Some(json!("a,b"))));
        assert_eq!(eval("$join($states.input.s)"), Ok(Some(json!("x"))));
    }

    #[test]
    fn runaway_memory_ends_with_an_error() {
        // A tail-recursive function (jsonata-rs does not grow its depth for it) held 6 GB before its
        // time bound; strings doubled by `&` and arrays by `$append` the same.
        for src in [
            "($f := function($x){ $x > 1e12 ? $x : $f($x + 1) }; $f(0))",
            "($f := function($s){ $f($s & $s) }; $f('ab'))",
            "($f := function($a){ $f($append($a, $a)) }; $f([1, 2]))",
            "$count([1..9999999].{'k': $string($)})",
        ] {
            fails_fast(src, "at most 134217728 are allowed");
        }
        assert_eq!(eval("($f := function($x){ $x > 100 ? $x : $f($x + 1) }; $f(0))"), Ok(Some(json!(101))));
    }

    fn spinner() -> Expression {
        Expression::parse("$count($filter([1..1000000], function($v) { $v < 0 }))").unwrap()
    }

    #[test]
    fn a_cancelled_evaluation_ends_at_its_next_step() {
        let cancel = Arc::new(AtomicBool::new(true));
        assert_eq!(spinner().evaluate_cancellable(&[], &[], Some(&cancel)), Err(JsonataError::Cancelled));
        // From another thread, while it runs: without the check it would end at its memory bound (D3137),
        // not as cancelled.
        let cancel = Arc::new(AtomicBool::new(false));
        let running = std::thread::spawn({
            let cancel = cancel.clone();
            move || spinner().evaluate_cancellable(&[], &[], Some(&cancel))
        });
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(running.join().unwrap(), Err(JsonataError::Cancelled));
        let unset = Arc::new(AtomicBool::new(false));
        assert_eq!(
            Expression::parse("1 + 1").unwrap().evaluate_cancellable(&[], &[], Some(&unset)),
            Ok(Some(json!(2)))
        );
    }

    #[test]
    fn runaway_expressions_end_with_an_error() {
        let r = eval("($f := function($x){ 1 + $f($x + 1) }; $f(0))");
        assert!(matches!(r, Err(JsonataError::Threw(_))), "{r:?}");
    }
}
