//! Typed syntax trees for paths, intrinsic calls and payload templates.

use std::fmt;

use serde_json::Value;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Root {
    /// `$`: the state's (effective) input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable (set with `Assign`).
    Variable(Box<str>),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name`, `['name']`, `[0]`, `[*]`, … applied to the current node.
    Child(Selector),
    /// `..name`, `..*`, `..[0]`: applied to the current node and all its descendants.
    Descendant(Selector),
}

/// What a segment selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// An object member.
    Name(Box<str>),
    /// Several object members: `['a','b']`.
    Names(Vec<Box<str>>),
    /// An array element; negative counts from the end.
    Index(i64),
    /// Several array elements: `[0,2]`.
    Indexes(Vec<i64>),
    /// A slice `[start:end:step]`.
    Slice {
        /// First index (inclusive), default 0.
        start: Option<i64>,
        /// Last index (exclusive), default the length.
        end: Option<i64>,
        /// Step, default 1.
        step: Option<i64>,
    },
    /// `*`: every member or element.
    Wildcard,
    /// `[?(...)]`: the elements for which the filter holds.
    Filter(Box<Filter>),
}

/// A filter expression inside `[?( … )]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a || b`
    Or(Box<Filter>, Box<Filter>),
    /// `a && b`
    And(Box<Filter>, Box<Filter>),
    /// `!a`
    Not(Box<Filter>),
    /// `@.x` alone: the member exists.
    Exists(Operand),
    /// `@.x < 3`
    Compare(Operand, CompareOp, Operand),
}

/// A relational operator in a filter: every operator of Jayway JsonPath's `RelationalOperator`
/// (json-path/JsonPath, internal/filter/RelationalOperator.java); the word operators are
/// case-insensitive (`in`, `IN`, `SubsetOf`), as Jayway upper-cases them before looking them up.
///
/// What each one selects, type mismatches included, is Jayway's `EvaluatorFactory`
/// (see the `filter` module of this crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `===`: equal and of the same kind (`'1' === 1` is false, `'1' == 1` is true).
    StrictEq,
    /// `!==`
    StrictNe,
    /// `=~`: a regular expression (one side) matches the whole of the other side.
    Regex,
    /// `in`: the left value is an element of the array on the right.
    In,
    /// `nin`: not `in`.
    Nin,
    /// `subsetof`: every element of the left array is in the right array.
    SubsetOf,
    /// `anyof`: the two arrays share an element.
    AnyOf,
    /// `noneof`: the two arrays share no element.
    NoneOf,
    /// `size`: the string's length or the array's size is the number on the right.
    Size,
    /// `empty`: `empty true` / `empty false` on strings, arrays and objects.
    Empty,
    /// `contains`: a substring of a string, or an element of an array.
    Contains,
    /// `all`: never holds in a path (Jayway reads its right side only from its `Criteria` API).
    All,
    /// `exists`: `exists true` / `exists false`, comparing a boolean member (Jayway's `ExistsEvaluator`).
    Exists,
    /// `type`: never holds in a path (Jayway needs a Java class on the right).
    Type,
    /// `matches`: never holds in a path (Jayway needs a `Predicate` on the right).
    Matches,
}

impl CompareOp {
    /// Every operator.
    pub const ALL: [CompareOp; 21] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Lt,
        CompareOp::Le,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::StrictEq,
        CompareOp::StrictNe,
        CompareOp::Regex,
        CompareOp::In,
        CompareOp::Nin,
        CompareOp::SubsetOf,
        CompareOp::AnyOf,
        CompareOp::NoneOf,
        CompareOp::Size,
        CompareOp::Empty,
        CompareOp::Contains,
        CompareOp::All,
        CompareOp::Exists,
        CompareOp::Type,
        CompareOp::Matches,
    ];

    /// The operator as Jayway spells it (`==`, `=~`, `IN`, `SUBSETOF`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::StrictEq => "===",
            CompareOp::StrictNe => "!==",
            CompareOp::Regex => "=~",
            CompareOp::In => "IN",
            CompareOp::Nin => "NIN",
            CompareOp::SubsetOf => "SUBSETOF",
            CompareOp::AnyOf => "ANYOF",
            CompareOp::NoneOf => "NONEOF",
            CompareOp::Size => "SIZE",
            CompareOp::Empty => "EMPTY",
            CompareOp::Contains => "CONTAINS",
            CompareOp::All => "ALL",
            CompareOp::Exists => "EXISTS",
            CompareOp::Type => "TYPE",
            CompareOp::Matches => "MATCHES",
        }
    }

    /// Looks an operator up as Jayway's `RelationalOperator.fromString` does: symbols exactly, words
    /// in any case.
    pub fn from_name(name: &str) -> Option<CompareOp> {
        let upper = name.to_uppercase();
        CompareOp::ALL.into_iter().find(|op| op.as_str() == upper)
    }
}

/// A value in a filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `@…`: relative to the element being tested.
    Current(Vec<Segment>),
    /// `$…`: an absolute path.
    Path(Path),
    /// A scalar literal (`1`, `'a'`, `"a"`, `true`, `null`).
    Literal(Value),
    /// A JSON array or object literal (`['a','b']`, `{"k": 1}`), read as the lenient JSON that Jayway
    /// parses it with (json-smart's permissive mode: single quotes and unquoted words are strings).
    Json {
        /// The text as written.
        source: Box<str>,
        /// What it parses to.
        value: Value,
    },
    /// A regular expression literal `/…/flags`, for `=~`.
    Regex(Regex),
    /// An unquoted word on the right of a comparison, as in `[?(@.status==Failure)]`: the word as written.
    ///
    /// Step Functions accepts such a definition at creation, but Jayway's `FilterCompiler` (which compiles
    /// the path when it is evaluated) refuses it, so evaluating a path holding one fails with
    /// `States.Runtime` (see [`Path::compile_error`]). It never matches anything.
    BareWord(Box<str>),
}

/// A regular expression of a filter (`/ab.*/i`), compiled once when the path is parsed.
///
/// Jayway compiles it with `java.util.regex.Pattern` and the flags of its `PatternFlag` (`d i x m s u U`)
/// and tests it with `Matcher.matches()`, which must match the whole text. This crate translates the Java
/// syntax to ECMAScript and runs it with the `regress` engine: see [`Regex::new`] for what is translated
/// and where the two differ.
#[derive(Debug, Clone)]
pub struct Regex {
    pub(crate) source: Box<str>,
    pub(crate) pattern: Box<str>,
    pub(crate) flags: Box<str>,
    pub(crate) compiled: regress::Regex,
}

impl PartialEq for Regex {
    fn eq(&self, other: &Regex) -> bool {
        self.source == other.source
    }
}

impl Regex {
    /// The literal as written, slashes and flags included.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The Java pattern between the slashes.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The flags after the closing slash (only `PatternFlag` letters).
    pub fn flags(&self) -> &str {
        &self.flags
    }
}

/// A parsed JsonPath, e.g. `$.items[0].name`, `$$.Execution.Id` or `$myVar.field`.
///
/// Definite paths (names and indexes only) select at most one node; the others
/// (wildcards, slices, filters, unions, `..`) always produce an array, as in Jayway JsonPath,
/// the library Step Functions uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub(crate) source: Box<str>,
    pub(crate) root: Root,
    pub(crate) segments: Vec<Segment>,
    /// Jayway's message when it would refuse to compile the path (a bare word in a filter).
    pub(crate) compile_error: Option<Box<str>>,
    /// Names and indexes only (computed once, when parsed: evaluation asks at every step).
    pub(crate) definite: bool,
}

impl Path {
    /// The text as written in the definition.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Where the path starts.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The segments after the root.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Why Jayway JsonPath, which Step Functions evaluates paths with, refuses to compile this path
    /// although the definition is accepted: the first [`Operand::BareWord`] in a filter, e.g.
    /// `Failed to parse filter: [?(@.s==Failure)], error on position: 8, char: F`. Evaluating such a path
    /// always fails with `States.Runtime` and this text in the cause.
    ///
    /// ```
    /// let p = sfn_path::Path::parse("$.items[?(@.s==Failure)]").unwrap();
    /// assert_eq!(p.compile_error(), Some("Failed to parse filter: [?(@.s==Failure)], error on position: 8, char: F"));
    /// assert_eq!(sfn_path::Path::parse("$.items[?(@.s=='Failure')]").unwrap().compile_error(), None);
    /// ```
    pub fn compile_error(&self) -> Option<&str> {
        self.compile_error.as_deref()
    }

    /// True when the path can select at most one node.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Whether `segments` are names and indexes only.
    pub(crate) fn all_definite(segments: &[Segment]) -> bool {
        segments.iter().all(|s| matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(_))))
    }

    /// True for `$` alone.
    pub fn is_root_input(&self) -> bool {
        self.root == Root::Input && self.segments.is_empty()
    }

    /// Jayway's normalized form of the path (`$['a'][0]`), used in error messages.
    pub fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_owned(),
            Root::Context => "$$".to_owned(),
            Root::Variable(v) => format!("${v}"),
        };
        for s in &self.segments {
            push_normalized(&mut out, s);
        }
        out
    }
}

pub(crate) fn push_normalized(out: &mut String, segment: &Segment) {
    let sel = match segment {
        Segment::Child(s) => s,
        Segment::Descendant(s) => {
            out.push_str("..");
            s
        }
    };
    match sel {
        Selector::Name(n) => {
            out.push_str("['");
            out.push_str(n);
            out.push_str("']");
        }
        Selector::Names(ns) => {
            out.push('[');
            let parts: Vec<String> = ns.iter().map(|n| format!("'{n}'")).collect();
            out.push_str(&parts.join(","));
            out.push(']');
        }
        Selector::Index(i) => out.push_str(&format!("[{i}]")),
        Selector::Indexes(is) => {
            let parts: Vec<String> = is.iter().map(i64::to_string).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
        Selector::Slice { start, end, step } => {
            let f = |v: &Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
            out.push_str(&format!("[{}:{}", f(start), f(end)));
            if let Some(s) = step {
                out.push_str(&format!(":{s}"));
            }
            out.push(']');
        }
        Selector::Wildcard => out.push_str("[*]"),
        Selector::Filter(_) => out.push_str("[?]"),
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A reference path: a definite path on the input (`$`, `$.a.b`, `$.a[0]`), as ResultPath and ItemsPath need.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferencePath(pub(crate) Path);

impl ReferencePath {
    /// The underlying path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        self.0.source()
    }
}

impl fmt::Display for ReferencePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The intrinsic functions of the Amazon States Language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Function {
    /// Every intrinsic function.
    pub const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    /// The name as written, e.g. `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    /// Looks a function up by its full name (`States.Format`).
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A string literal in an intrinsic call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    /// The value with every escape resolved, as the JSON string a call is given (made once, when the
    /// call is parsed, not at every call).
    pub(crate) json: Value,
    /// For `States.Format` templates: the text split at unescaped `{}` placeholders.
    pub(crate) format_parts: Vec<String>,
}

impl StrLit {
    /// The value with every escape resolved.
    pub fn value(&self) -> &str {
        self.json.as_str().unwrap_or_default()
    }
}

/// One argument of an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// `'text'`
    Str(StrLit),
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A path (`$.a`, `$$.Execution.Id`, `$var`).
    Path(Path),
    /// A nested call.
    Call(Call),
}

/// An intrinsic function call such as `States.Format('{}', $.a)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Which function.
    pub function: Function,
    /// Its arguments.
    pub args: Vec<Arg>,
}

/// What a `.$` field (or ErrorPath/CausePath) holds: a path or an intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A JsonPath.
    Path(Path),
    /// An intrinsic function call.
    Call(Call),
}

/// The members of an object template, in the order AWS builds them when no key repeats (the fields
/// without `.$` first, then the `.$` fields in Java `HashMap` order: `java_order.rs`), in the template's
/// order otherwise (a key may come twice: `a` and `a.$`, the later one wins), with the object they build
/// as a prototype when no key repeats: cloning it copies the keys' hashes, where building the object
/// member by member hashes every key again (serde_json's ordered map hashes with SipHash).
#[derive(Debug, Clone)]
pub struct Members {
    list: Vec<(Box<str>, Template)>,
    /// Every key once, in order, with null values; `None` when a key repeats.
    prototype: Option<serde_json::Map<String, Value>>,
}

impl Members {
    /// The members of a template's object, put in the order AWS builds them unless a key repeats.
    pub fn new(list: Vec<(Box<str>, Template)>) -> Members {
        let order = crate::template::aws_member_order(&list);
        let mut prototype = serde_json::Map::with_capacity(list.len());
        for &k in &order {
            prototype.insert(String::from(list[k].0.as_ref()), Value::Null);
        }
        if prototype.len() < list.len() {
            return Members { list, prototype: None };
        }
        let mut slots: Vec<Option<_>> = list.into_iter().map(Some).collect();
        let list = order.into_iter().filter_map(|k| slots[k].take()).collect();
        Members { list, prototype: Some(prototype) }
    }

    /// The object with every key once (in the members' order) and null values, when no key repeats.
    pub(crate) fn prototype(&self) -> Option<&serde_json::Map<String, Value>> {
        self.prototype.as_ref()
    }
}

impl PartialEq for Members {
    fn eq(&self, other: &Members) -> bool {
        self.list == other.list
    }
}

impl std::ops::Deref for Members {
    type Target = [(Box<str>, Template)];

    fn deref(&self) -> &Self::Target {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Members {
    type Item = &'a (Box<str>, Template);
    type IntoIter = std::slice::Iter<'a, (Box<str>, Template)>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// A payload template (Parameters, ItemSelector, ResultSelector, Assign in JSONPath machines):
/// JSON in which every key ending in `.$` takes its value from a path or intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A subtree without any `.$` key: copied as is.
    Literal(Value),
    /// An object with at least one dynamic member somewhere below.
    Object(Members),
    /// An array with at least one dynamic member somewhere below.
    Array(Vec<Template>),
    /// A `.$` member's value.
    Expr {
        /// The key as written (with `.$`), for error messages.
        field: Box<str>,
        /// The path or call.
        expr: Expr,
    },
}
