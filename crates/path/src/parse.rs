//! Parsers: JsonPath, reference paths, intrinsic calls and `.$` expressions.
//!
//! Hand-written because the dialect is Step Functions' own: Jayway-style JsonPath with `$$` (context) and
//! `$name` (variables) roots, and the `States.*` intrinsic call syntax with its `\'`, `\{`, `\}`, `\\` escapes.
//!
//! Jayway forms that deployed definitions use are accepted as Jayway reads them: a bracket after a dot
//! (`$.[0]`, `$.a.[1]`, `$.[?(…)]`, `$..[0]`) is the bracket alone, and an unquoted word on the right of a
//! filter comparison (`[?(@.s==Failure)]`) parses into [`Operand::BareWord`] with the error Jayway's
//! `FilterCompiler` raises recorded in [`Path::compile_error`]: evaluating the path fails (`States.Runtime`),
//! as Jayway fails to compile it.
//!
//! Filters take every operator of Jayway's `RelationalOperator` ([`CompareOp`]), with its operands as
//! `FilterCompiler` reads them: `@…` and `$…` paths, quoted strings, numbers, `true`/`false`/`null`, JSON
//! array and object literals (`in ['a','b']`, read leniently as json-smart does) and regular expressions
//! (`=~ /ab.*/i`, compiled here once). A path function (`$.a.length()`, `@.b.sum()`) is read as the member
//! name that Step Functions evaluates it as (see `Parser::dot_name`). Refused, with a message: an
//! unknown operator, a word operator not followed by a space (Jayway reads it up to the next space), a
//! regular expression that does not compile or a JSON literal that does not parse (Jayway would fail
//! when the filter runs).

use serde_json::{Number, Value};

use crate::ast::{
    Arg, Call, CompareOp, Expr, Filter, Function, Operand, Path, ReferencePath, Root, Segment, Selector,
    StrLit,
};
use crate::error::ParseError;

/// Deepest nesting of intrinsic calls or filter parentheses accepted (guards the recursive parser's stack).
const MAX_DEPTH: usize = 64;
/// Longest path or expression accepted, in bytes.
const MAX_LEN: usize = 64 * 1024;

/// Where a path ends: at the end of the text, or also at delimiters of an enclosing syntax.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// The whole string is the path.
    Whole,
    /// Inside an intrinsic call's arguments: `,`, `)` and whitespace end it.
    Arg,
    /// Inside a filter: whitespace, `)` and operators end it.
    Filter,
}

/// A filter operand that Jayway's `FilterCompiler` refuses, found while parsing (kept in source order).
struct Refused {
    /// Byte offset of the offending operand.
    at: usize,
    /// Jayway's message; `None` until the enclosing `[?(…)]` is complete, because the message quotes it.
    message: Option<String>,
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    /// Every refused filter operand so far; a path's [`Path::compile_error`] is the first inside it.
    refused: Vec<Refused>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser { src, pos: 0, depth: 0, refused: Vec::new() }
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.src, self.pos, msg)
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat(s) { Ok(()) } else { Err(self.err(format!("expected '{s}'"))) }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    // ---- paths ----------------------------------------------------------------------------------------

    fn path(&mut self, ctx: Ctx) -> Result<Path, ParseError> {
        let start = self.pos;
        let mark = self.refused.len();
        if !self.eat("$") {
            return Err(self.err("a path must start with '$'"));
        }
        let root = if self.eat("$") {
            Root::Context
        } else if matches!(self.peek(), Some(c) if c.is_alphabetic() || c == '_') {
            let begin = self.pos;
            while matches!(self.peek(), Some(c) if c.is_alphanumeric() || c == '_') {
                self.bump();
            }
            Root::Variable(self.src[begin..self.pos].into())
        } else {
            Root::Input
        };
        let segments = self.segments(ctx)?;
        // Jayway compiles left to right and stops at the first refusal: the first one inside this path.
        let compile_error = self.refused.get(mark).and_then(|r| r.message.as_deref()).map(Into::into);
        let definite = Path::all_definite(&segments);
        Ok(Path { source: self.src[start..self.pos].into(), root, segments, compile_error, definite })
    }

    fn segments(&mut self, ctx: Ctx) -> Result<Vec<Segment>, ParseError> {
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.rest().starts_with("..") => {
                    self.pos += 2;
                    let sel = if self.peek() == Some('[') {
                        self.bracket()?
                    } else if self.eat("*") {
                        Selector::Wildcard
                    } else {
                        Selector::Name(self.dot_name(ctx)?.into())
                    };
                    segments.push(Segment::Descendant(sel));
                }
                Some('.') => {
                    self.pos += 1;
                    // Jayway's PathCompiler.readDotToken skips the '.' and reads the next token with
                    // readNextToken, which takes a '[' as a bracket token: `$.[0]` is `$[0]`, `$.['a']` is
                    // `$['a']`, `$.[?(…)]` is `$[?(…)]` (json-path/JsonPath, internal/path/PathCompiler.java).
                    if self.peek() == Some('[') {
                        segments.push(Segment::Child(self.bracket()?));
                    } else if self.eat("*") {
                        segments.push(Segment::Child(Selector::Wildcard));
                    } else {
                        segments.push(Segment::Child(Selector::Name(self.dot_name(ctx)?.into())));
                    }
                }
                Some('[') => segments.push(Segment::Child(self.bracket()?)),
                None => break,
                Some(c) => {
                    let ends = match ctx {
                        Ctx::Whole => false,
                        Ctx::Arg => c == ',' || c == ')' || c.is_whitespace(),
                        Ctx::Filter => c == ')' || c.is_whitespace() || "=!<>~&|".contains(c),
                    };
                    if ends {
                        break;
                    }
                    return Err(self.err(format!("unexpected character '{c}' in path")));
                }
            }
        }
        Ok(segments)
    }

    /// A member name after `.`. A name followed by parentheses (`length()`, `sum()`, `concat('x', $.y)`)
    /// is one of Jayway's path functions; Step Functions accepts such paths when a state machine is
    /// created but evaluates the call as a member of that name, which is missing: `Invalid path
    /// '$.list.length()' : Property ['length()'] not found in path $['list']` on an InputPath
    /// (awsdocs/aws-step-functions-developer-guide#5, 2018), and `The JSONPath '$.Jobs.sum()' specified
    /// for the field 'Jobs.$' could not be found in the input` on a Parameters field (re:Post question
    /// QUYiQKP0XfThWEc_ahsMnLOA, "AWS StepFunctions: sum() function returns error about not finding
    /// path"); AWS's documentation says functions such as `length()` are not supported. So the whole
    /// call, parentheses and arguments as written, is the member name, in filters too (`@.b.length()`).
    fn dot_name(&mut self, ctx: Ctx) -> Result<&'a str, ParseError> {
        let begin = self.pos;
        while let Some(c) = self.peek() {
            if c == '(' && self.pos > begin {
                match self.call_end() {
                    Some(end) => {
                        let name = &self.src[begin..self.pos];
                        if name.contains(['\'', '"', ']', ')', '*']) {
                            return Err(ParseError::new(
                                self.src,
                                begin,
                                format!("invalid member name '{name}'"),
                            ));
                        }
                        self.pos = end;
                        return Ok(&self.src[begin..end]);
                    }
                    None if ctx != Ctx::Whole => {
                        return Err(self.err("the arguments of a path function are not closed with ')'"));
                    }
                    None => {}
                }
            }
            let stop = match ctx {
                Ctx::Whole => c == '.' || c == '[',
                Ctx::Arg => c == '.' || c == '[' || c == ',' || c == ')' || c.is_whitespace(),
                Ctx::Filter => c == '.' || c == '[' || c == ')' || c.is_whitespace() || "=!<>~&|".contains(c),
            };
            if stop {
                break;
            }
            self.bump();
        }
        if self.pos == begin {
            return Err(self.err("expected a member name after '.'"));
        }
        let name = &self.src[begin..self.pos];
        if name.contains(['\'', '"', ']', '(', ')', '*']) && ctx != Ctx::Whole || name.contains([']', '\'']) {
            return Err(ParseError::new(self.src, begin, format!("invalid member name '{name}'")));
        }
        Ok(name)
    }

    /// The offset after the `)` that closes the `(` at the current position, skipping quoted strings.
    fn call_end(&self) -> Option<usize> {
        self.matching_end('(', ')')
    }

    /// The offset after the `close` that matches the `open` at the current position, skipping quoted
    /// strings (either quote, backslash escapes inside them).
    fn matching_end(&self, open: char, close: char) -> Option<usize> {
        let mut depth = 0usize;
        let mut quote = None;
        let mut escaped = false;
        for (i, c) in self.rest().char_indices() {
            match quote {
                Some(_) if escaped => escaped = false,
                Some(_) if c == '\\' => escaped = true,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '\'' || c == '"' => quote = Some(c),
                None if c == open => depth += 1,
                None if c == close => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(self.pos + i + 1);
                    }
                }
                None => {}
            }
        }
        None
    }

    fn bracket(&mut self) -> Result<Selector, ParseError> {
        let open = self.pos;
        let mark = self.refused.len();
        self.expect("[")?;
        self.skip_ws();
        let sel = match self.peek() {
            Some('*') => {
                self.pos += 1;
                Selector::Wildcard
            }
            Some('?') => {
                self.pos += 1;
                self.skip_ws();
                self.expect("(")?;
                let f = self.filter_or()?;
                self.skip_ws();
                self.expect(")")?;
                Selector::Filter(Box::new(f))
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted(true)?.into_boxed_str()];
                self.skip_ws();
                while self.eat(",") {
                    self.skip_ws();
                    names.push(self.quoted(true)?.into_boxed_str());
                    self.skip_ws();
                }
                if names.len() == 1 { Selector::Name(names.remove(0)) } else { Selector::Names(names) }
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => self.index_or_slice()?,
            Some(c) => return Err(self.err(format!("unexpected '{c}' after '['"))),
            None => return Err(self.err("unterminated '['")),
        };
        self.skip_ws();
        self.expect("]")?;
        if matches!(sel, Selector::Filter(_)) {
            // Jayway's PathCompiler.readFilterToken hands FilterCompiler the text from '[' to ']'.
            let criteria = &self.src[open..self.pos];
            for r in self.refused.iter_mut().skip(mark).filter(|r| r.message.is_none()) {
                r.message = Some(failed_to_parse_filter(criteria, r.at.saturating_sub(open)));
            }
        }
        Ok(sel)
    }

    fn int(&mut self) -> Result<Option<i64>, ParseError> {
        self.skip_ws();
        let begin = self.pos;
        self.eat("-");
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = &self.src[begin..self.pos];
        self.skip_ws();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| ParseError::new(self.src, begin, format!("invalid array index '{text}'")))
    }

    fn index_or_slice(&mut self) -> Result<Selector, ParseError> {
        let first = self.int()?;
        if self.eat(":") {
            let end = self.int()?;
            let step = if self.eat(":") { self.int()? } else { None };
            if step == Some(0) {
                return Err(self.err("slice step cannot be 0"));
            }
            return Ok(Selector::Slice { start: first, end, step });
        }
        let Some(first) = first else { return Err(self.err("expected an array index")) };
        if self.peek() == Some(',') {
            let mut all = vec![first];
            while self.eat(",") {
                all.push(self.int()?.ok_or_else(|| self.err("expected an array index after ','"))?);
            }
            return Ok(Selector::Indexes(all));
        }
        Ok(Selector::Index(first))
    }

    /// `'name'` or `"name"`: a backslash keeps the next character from ending the name, and both stay
    /// in it, as Jayway reads a bracket property (AWS keeps the backslash: `$['Test\""Name"']` selects
    /// the key `Test\""Name"`, issue 15's unseen AWS cases); a filter's string literal
    /// (`keep_escapes` false) drops the backslash.
    fn quoted(&mut self, keep_escapes: bool) -> Result<String, ParseError> {
        let start = self.pos;
        let Some(q) = self.bump() else { return Err(self.err("expected a quoted name")) };
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(ParseError::new(self.src, start, "unterminated quoted name")),
                Some(c) if c == q => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c) => {
                        if keep_escapes {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    None => return Err(ParseError::new(self.src, start, "unterminated quoted name")),
                },
                Some(c) => out.push(c),
            }
        }
    }

    // ---- filters --------------------------------------------------------------------------------------

    fn filter_or(&mut self) -> Result<Filter, ParseError> {
        self.enter()?;
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.eat("||") {
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    fn filter_and(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_ws();
            if self.eat("&&") {
                let right = self.filter_unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn filter_unary(&mut self) -> Result<Filter, ParseError> {
        self.skip_ws();
        if self.rest().starts_with('!') && !self.rest().starts_with("!=") {
            self.pos += 1;
            self.enter()?;
            let inner = self.filter_unary()?;
            self.depth -= 1;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.eat("(") {
            let inner = self.filter_or()?;
            self.skip_ws();
            self.expect(")")?;
            return Ok(inner);
        }
        let left = self.operand(false)?;
        self.skip_ws();
        match self.relational_operator()? {
            Some(op) => {
                self.skip_ws();
                let (at, mark) = (self.pos, self.refused.len());
                let right = self.operand(true)?;
                self.refuse_right(&left, &right, at, mark);
                Ok(Filter::Compare(left, op, right))
            }
            None => match left {
                Operand::Literal(_) | Operand::Json { .. } | Operand::Regex(_) => {
                    Err(self.err("expected a comparison operator"))
                }
                other => Ok(Filter::Exists(other)),
            },
        }
    }

    /// A relational operator, read as Jayway's `FilterCompiler.readRelationalOperator` reads one: the run
    /// of the characters `<>=~!` (`==`, `!=`, `<`, `<=`, `>`, `>=`, `===`, `!==`, `=~`), or else a word
    /// up to the next space, looked up in any case (`in`, `nin`, `subsetof`, `anyof`, `noneof`, `size`,
    /// `empty`, `contains`, `all`, `exists`, `type`, `matches`).
    fn relational_operator(&mut self) -> Result<Option<CompareOp>, ParseError> {
        let rest = self.rest();
        let symbols = rest.find(|c| !"<>=~!".contains(c)).unwrap_or(rest.len());
        if symbols > 0 {
            let sym = &rest[..symbols];
            return match CompareOp::from_name(sym) {
                Some(op) => {
                    self.pos += symbols;
                    Ok(Some(op))
                }
                None => Err(self.err(format!("unsupported filter operator '{sym}'"))),
            };
        }
        let word = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let Some(op) = CompareOp::from_name(&rest[..word]).filter(|_| word > 0) else { return Ok(None) };
        if !rest[word..].starts_with(' ') {
            return Err(self.err(format!(
                "expected a space after the filter operator '{}' (Jayway reads an operator up to the next space)",
                &rest[..word]
            )));
        }
        self.pos += word;
        Ok(Some(op))
    }

    /// A filter operand; `bare` admits an unquoted word (only on the right of a comparison).
    fn operand(&mut self, bare: bool) -> Result<Operand, ParseError> {
        self.skip_ws();
        let expected = "expected '@', a path or a literal in the filter";
        match self.peek() {
            Some('@') => {
                self.pos += 1;
                Ok(Operand::Current(self.segments(Ctx::Filter)?))
            }
            Some('$') => Ok(Operand::Path(self.path(Ctx::Filter)?)),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted(false)?))),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Operand::Literal(Value::Number(self.number()?))),
            Some('[' | '{') => self.json_literal(),
            Some('/') => self.regex_literal(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let begin = self.pos;
                while matches!(self.peek(), Some(c) if !c.is_whitespace() && !"()[]'\",$@=!<>&|~".contains(c))
                {
                    self.bump();
                }
                match &self.src[begin..self.pos] {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    word if bare => Ok(Operand::BareWord(word.into())),
                    _ => Err(ParseError::new(self.src, begin, expected)),
                }
            }
            _ => Err(self.err(expected)),
        }
    }

    /// `[…]` or `{…}`: up to the matching bracket outside quoted strings (Jayway's `readJsonLiteral`),
    /// parsed as json-smart's permissive mode reads it. Jayway parses the text only when the filter runs
    /// and fails the evaluation if it is not JSON; it is refused here.
    fn json_literal(&mut self) -> Result<Operand, ParseError> {
        let begin = self.pos;
        let (open, close) = if self.peek() == Some('[') { ('[', ']') } else { ('{', '}') };
        let end = self.matching_end(open, close);
        let Some(end) = end else { return Err(self.err(format!("unclosed '{open}' in the filter"))) };
        let source = &self.src[begin..end];
        let value = crate::filter::parse_lenient_json(source)
            .map_err(|e| ParseError::new(self.src, begin, format!("invalid JSON literal {source}: {e}")))?;
        self.pos = end;
        Ok(Operand::Json { source: source.into(), value })
    }

    /// `/pattern/flags` (Jayway's `readPattern`): up to the next `/` not escaped by a backslash, then the
    /// `PatternFlag` letters that follow. The pattern is compiled here, once; an invalid one is refused.
    fn regex_literal(&mut self) -> Result<Operand, ParseError> {
        let begin = self.pos;
        self.pos += 1;
        let mut escaped = false;
        let close = self.rest().char_indices().find_map(|(i, c)| {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '/' {
                return Some(self.pos + i);
            }
            None
        });
        let Some(close) = close else {
            return Err(ParseError::new(self.src, begin, "unclosed regular expression: expected '/'"));
        };
        let pattern = &self.src[self.pos..close];
        let flags_len = self.src[close + 1..]
            .find(|c| !crate::filter::PATTERN_FLAGS.contains(c))
            .unwrap_or(self.src.len() - close - 1);
        let flags = &self.src[close + 1..close + 1 + flags_len];
        let re = crate::ast::Regex::new(pattern, flags).map_err(|e| {
            ParseError::new(self.src, begin, format!("invalid regular expression /{pattern}/{flags}: {e}"))
        })?;
        self.pos = close + 1 + flags_len;
        Ok(Operand::Regex(re))
    }

    /// Records what Jayway's FilterCompiler (json-path/JsonPath, internal/filter/FilterCompiler.java)
    /// makes of the right operand `right` of a comparison starting at byte `at`, when it refuses it.
    ///
    /// `readExpression` reads the operator and the right value inside a `try` that catches
    /// `InvalidPathException` and falls back to an existence check of the left operand. A word starting
    /// with `t`, `f` or `n` goes to `readBooleanLiteral`/`readNullLiteral`, which throw that exception (or
    /// succeed on a `true`/`false`/`null` prefix); so does a right-hand path whose own compilation fails.
    /// After the fallback the parser is at the operator, and `readSignificantChar(')')` throws
    /// `Expected character: )`; unless the left operand is a literal, whose `asPathNode()` throws
    /// `Expected path node` first. Any other word goes to `readNumberLiteral`, where `new BigDecimal`
    /// throws a `NumberFormatException`, which `compile()` reports as `Failed to parse filter: …`
    /// (completed in [`Parser::bracket`], which knows the filter's text).
    fn refuse_right(&mut self, left: &Operand, right: &Operand, at: usize, mark: usize) {
        let fallback = || {
            if matches!(left, Operand::Literal(_)) { "Expected path node" } else { "Expected character: )" }
        };
        let message = match right {
            Operand::BareWord(w) if ["true", "false", "null"].iter().any(|p| w.starts_with(p)) => {
                Some("Expected character: )".to_owned())
            }
            Operand::BareWord(w) if w.starts_with(['t', 'f', 'n']) => Some(fallback().to_owned()),
            Operand::BareWord(_) => None,
            Operand::Path(_) | Operand::Current(_) if self.refused.len() > mark => {
                self.refused.truncate(mark);
                Some(fallback().to_owned())
            }
            _ => return,
        };
        self.refused.push(Refused { at, message });
    }

    fn number(&mut self) -> Result<Number, ParseError> {
        let begin = self.pos;
        self.eat("-");
        while matches!(self.peek(), Some(c) if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+')
        {
            // a '-' or '+' is part of the number only right after an exponent marker
            if matches!(self.peek(), Some('+')) && !self.src[..self.pos].ends_with(['e', 'E']) {
                break;
            }
            self.pos += 1;
        }
        if self.rest().starts_with('-') && self.src[..self.pos].ends_with(['e', 'E']) {
            self.pos += 1;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let text = &self.src[begin..self.pos];
        let bad = || ParseError::new(self.src, begin, format!("invalid number '{text}'"));
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Number(n)) => Ok(n),
            _ => Err(bad()),
        }
    }

    // ---- intrinsic calls ------------------------------------------------------------------------------

    fn call(&mut self) -> Result<Call, ParseError> {
        self.enter()?;
        let begin = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '.') {
            self.pos += 1;
        }
        let name = &self.src[begin..self.pos];
        let function = Function::from_name(name).ok_or_else(|| {
            ParseError::new(self.src, begin, format!("unknown intrinsic function '{name}'"))
        })?;
        self.skip_ws();
        self.expect("(")?;
        let mut args = Vec::new();
        self.skip_ws();
        if !self.eat(")") {
            loop {
                self.skip_ws();
                args.push(self.arg(function, args.is_empty())?);
                self.skip_ws();
                if self.eat(")") {
                    break;
                }
                if !self.eat(",") {
                    return Err(
                        self.err(format!("expected ',' or ')' in the arguments of {}", function.name()))
                    );
                }
            }
        }
        self.depth -= 1;
        Ok(Call { function, args })
    }

    fn arg(&mut self, function: Function, first: bool) -> Result<Arg, ParseError> {
        match self.peek() {
            Some('\'') => Ok(Arg::Str(self.string_literal(function == Function::Format && first)?)),
            Some('$') => Ok(Arg::Path(self.path(Ctx::Arg)?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Arg::Literal(Value::Number(self.number()?))),
            _ if self.rest().starts_with(crate::STATES_PREFIX) => Ok(Arg::Call(self.call()?)),
            _ => {
                for (word, v) in
                    [("true", Value::Bool(true)), ("false", Value::Bool(false)), ("null", Value::Null)]
                {
                    if self.rest().starts_with(word) {
                        let after = self.rest()[word.len()..].chars().next();
                        if !matches!(after, Some(c) if c.is_alphanumeric() || c == '_') {
                            self.pos += word.len();
                            return Ok(Arg::Literal(v));
                        }
                    }
                }
                Err(self.err(
                    "expected an argument: a 'string', a number, true, false, null, a path or an intrinsic call",
                ))
            }
        }
    }

    /// `'…'` with the escapes `\'`, `\{`, `\}`, `\\` (any other backslash sequence is an error, as on AWS).
    fn string_literal(&mut self, format_template: bool) -> Result<StrLit, ParseError> {
        let start = self.pos;
        self.expect("'")?;
        let mut value = String::new();
        let mut parts = vec![String::new()];
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(ParseError::new(self.src, start, "unterminated string literal")),
                Some('\'') => break,
                Some('\\') => match self.bump() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        value.push(c);
                        if let Some(p) = parts.last_mut() {
                            p.push(c);
                        }
                    }
                    Some(c) => {
                        return Err(ParseError::new(
                            self.src,
                            at,
                            format!(
                                "illegal escape sequence '\\{c}' (only \\', \\{{, \\}} and \\\\ are allowed)"
                            ),
                        ));
                    }
                    None => return Err(ParseError::new(self.src, start, "unterminated string literal")),
                },
                Some('{') if format_template && self.rest().starts_with('}') => {
                    self.pos += 1;
                    value.push_str("{}");
                    parts.push(String::new());
                }
                Some(c) => {
                    value.push(c);
                    if let Some(p) = parts.last_mut() {
                        p.push(c);
                    }
                }
            }
        }
        Ok(StrLit { json: Value::String(value), format_parts: parts })
    }
}

/// Jayway's `Failed to parse filter` message for a number literal that does not parse, at byte `word` of
/// the filter text `criteria`: `readNumberLiteral` consumes the characters `CharacterIndex.isNumberCharacter`
/// accepts (digits, `-`, `.`, `E`, `e`) and the message reports the position (in UTF-16 units) and the
/// character after them.
fn failed_to_parse_filter(criteria: &str, word: usize) -> String {
    let rest = criteria.get(word..).unwrap_or_default();
    let digits = rest.find(|c: char| !(c.is_ascii_digit() || "-.Ee".contains(c))).unwrap_or(rest.len());
    let at = word + digits;
    let position = criteria.get(..at).unwrap_or_default().encode_utf16().count();
    let c = criteria.get(at..).and_then(|r| r.chars().next()).unwrap_or(' ');
    format!("Failed to parse filter: {criteria}, error on position: {position}, char: {c}")
}

fn check_len(src: &str) -> Result<(), ParseError> {
    if src.len() > MAX_LEN {
        return Err(ParseError::new(src, 0, format!("longer than {MAX_LEN} bytes")));
    }
    Ok(())
}

fn finish<T>(p: &Parser<'_>, v: T) -> Result<T, ParseError> {
    if p.pos < p.src.len() {
        return Err(p.err(format!("unexpected '{}'", p.rest().chars().next().unwrap_or(' '))));
    }
    Ok(v)
}

impl Path {
    /// Parses a JsonPath (`$…`, `$$…` or `$variable…`).
    ///
    /// ```
    /// let p = sfn_path::Path::parse("$.items[0].name").unwrap();
    /// assert!(p.is_definite());
    /// assert_eq!(p.normalized(), "$['items'][0]['name']");
    /// assert!(sfn_path::Path::parse("$.items[").is_err());
    /// ```
    pub fn parse(src: &str) -> Result<Path, ParseError> {
        check_len(src)?;
        let mut p = Parser::new(src);
        let path = p.path(Ctx::Whole)?;
        finish(&p, path)
    }
}

impl ReferencePath {
    /// Parses a reference path: a definite path on the input (`$`, `$.a`, `$['a'][0]`).
    ///
    /// ```
    /// assert!(sfn_path::ReferencePath::parse("$.result").is_ok());
    /// assert!(sfn_path::ReferencePath::parse("$.items[*]").is_err());
    /// assert!(sfn_path::ReferencePath::parse("$$.Execution.Id").is_err());
    /// ```
    pub fn parse(src: &str) -> Result<ReferencePath, ParseError> {
        let path = Path::parse(src)?;
        if path.root != Root::Input {
            return Err(ParseError::new(src, 0, "a reference path must start with '$.' or be '$'"));
        }
        if !path.is_definite() {
            return Err(ParseError::new(
                src,
                0,
                "a reference path can only select a single node (no wildcards, slices, filters or '..')",
            ));
        }
        Ok(ReferencePath(path))
    }
}

impl Call {
    /// Parses an intrinsic function call such as `States.Format('{}', $.a)`.
    pub fn parse(src: &str) -> Result<Call, ParseError> {
        check_len(src)?;
        let mut p = Parser::new(src);
        let call = p.call()?;
        finish(&p, call)
    }
}

impl Expr {
    /// Parses the value of a `.$` field: a path or an intrinsic call.
    ///
    /// ```
    /// use sfn_path::Expr;
    /// assert!(matches!(Expr::parse("$.a").unwrap(), Expr::Path(_)));
    /// assert!(matches!(Expr::parse("States.UUID()").unwrap(), Expr::Call(_)));
    /// assert!(Expr::parse("hello").is_err());
    /// ```
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        if src.starts_with('$') {
            Path::parse(src).map(Expr::Path)
        } else if src.starts_with(crate::STATES_PREFIX) {
            Call::parse(src).map(Expr::Call)
        } else {
            Err(ParseError::new(
                src,
                0,
                "expected a JSONPath (starting with '$') or an intrinsic function call",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Path {
        Path::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn roots() {
        assert_eq!(p("$").root, Root::Input);
        assert_eq!(p("$$").root, Root::Context);
        assert_eq!(p("$$.Execution.Id").segments.len(), 2);
        assert_eq!(p("$myVar.x").root, Root::Variable("myVar".into()));
        assert_eq!(p("$my_var2").root, Root::Variable("my_var2".into()));
    }

    #[test]
    fn segments() {
        assert_eq!(p("$.a.b").normalized(), "$['a']['b']");
        assert_eq!(p("$['a b']['c']").normalized(), "$['a b']['c']");
        assert_eq!(p("$[\"x\"]").normalized(), "$['x']");
        // A backslash stays in a bracket name (as Jayway, and AWS, read it).
        let quoted = p(r#"$['Test\""Name"']"#);
        assert!(
            matches!(&quoted.segments[0], Segment::Child(Selector::Name(n)) if &**n == r#"Test\""Name""#)
        );
        assert_eq!(p("$.a[-1]").normalized(), "$['a'][-1]");
        assert_eq!(p("$.a[0,2]").normalized(), "$['a'][0,2]");
        assert_eq!(p("$.a[1:5]").normalized(), "$['a'][1:5]");
        assert_eq!(p("$.a[:1]").normalized(), "$['a'][:1]");
        assert_eq!(p("$.a[::2]").normalized(), "$['a'][::2]");
        assert_eq!(p("$.a.*").normalized(), "$['a'][*]");
        assert_eq!(p("$..a").normalized(), "$..['a']");
        assert_eq!(p("$.delivery-partner").normalized(), "$['delivery-partner']");
        assert!(p("$.a[*].b").segments.len() == 3);
        assert!(!p("$..a").is_definite());
        assert!(p("$.a[0].b").is_definite());
    }

    #[test]
    fn filters() {
        let f = p("$.items[?(@.price < 10 && @.tag == 'x' || !@.gone)]");
        assert!(matches!(f.segments[1], Segment::Child(Selector::Filter(_))));
        assert!(Path::parse("$.a[?(@.x ==)]").is_err());
    }

    #[test]
    fn bad_paths_are_located() {
        let e = Path::parse("$.a[").unwrap_err();
        assert_eq!(e.offset(), 4);
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.").is_err());
        assert!(Path::parse("$.a[0").is_err());
        assert!(Path::parse("$.a['b").is_err());
        assert!(Path::parse("$.a[0:1:0]").is_err());
        assert!(Path::parse("$.a]").is_err());
    }

    #[test]
    fn bracket_after_a_dot() {
        // Jayway's readDotToken reads a '[' after '.' as a bracket token: the same path as without the dot.
        for (dotted, plain) in [
            ("$.[0]", "$[0]"),
            ("$.a.[1].b", "$.a[1].b"),
            ("$.[?(@.x > 1)]", "$[?(@.x > 1)]"),
            ("$.[*].['a','b']", "$[*]['a','b']"),
            ("$.['a']", "$['a']"),
            ("$.[0:2]", "$[0:2]"),
            ("$.[-1]", "$[-1]"),
            ("$.[0,1]", "$[0,1]"),
            ("$..[0]", "$..[0]"),
            ("$$.[0]", "$$[0]"),
            ("$v.[0]", "$v[0]"),
        ] {
            assert_eq!(p(dotted).segments, p(plain).segments, "{dotted}");
            assert_eq!(p(dotted).normalized(), p(plain).normalized(), "{dotted}");
            assert_eq!(p(dotted).source(), dotted);
        }
        assert!(p("$.[0]").is_definite());
        assert!(ReferencePath::parse("$.a.[0]").is_ok());
        let f = p("$.a[?(@.[0] == 1)]");
        assert!(matches!(f.segments[1], Segment::Child(Selector::Filter(_))));
        let Arg::Path(arg) = &Call::parse("States.StringToJson($.[0].body)").unwrap().args[0] else {
            panic!()
        };
        assert_eq!(arg.normalized(), "$[0]['body']");
        for bad in ["$.[", "$.[0", "$.[]", "$.[0]]", "$..", "$.a.", "$.[x]"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bare_words_in_filters() {
        let path = p("$..QualityResults[?(@.constraint_status==Failure)]");
        let Segment::Child(Selector::Filter(f)) = &path.segments[1] else { panic!() };
        let Filter::Compare(_, CompareOp::Eq, Operand::BareWord(w)) = f.as_ref() else { panic!("{f:?}") };
        assert_eq!(w.as_ref(), "Failure");
        assert_eq!(
            path.compile_error(),
            Some("Failed to parse filter: [?(@.constraint_status==Failure)], error on position: 24, char: F")
        );
        // readNumberLiteral consumes the number characters (digits, '-', '.', 'E', 'e') before failing.
        assert_eq!(
            p("$[?(@.TargetLanguageCode==es)].TranslatedText").compile_error(),
            Some("Failed to parse filter: [?(@.TargetLanguageCode==es)], error on position: 26, char: s")
        );
        assert_eq!(
            p("$$.x.attributes[?(@.name==ecs.availability-zone)].value").compile_error(),
            Some(
                "Failed to parse filter: [?(@.name==ecs.availability-zone)], error on position: 12, char: c"
            )
        );
        assert_eq!(
            p("$.a[ ?( @.n == Receipt ) ]").compile_error(),
            Some("Failed to parse filter: [ ?( @.n == Receipt ) ], error on position: 12, char: R")
        );
        // Words starting with t, f or n go to the boolean/null readers, whose failure ends at the ')'.
        assert_eq!(p("$[?(@.Code==fr)]").compile_error(), Some("Expected character: )"));
        assert_eq!(p("$[?(@.a == 1 && @.b == trueish)]").compile_error(), Some("Expected character: )"));
        assert_eq!(p("$[?(1 == nope)]").compile_error(), Some("Expected path node"));
        assert_eq!(p("$[?(1 == nullable)]").compile_error(), Some("Expected character: )"));
        // The first refusal in source order wins; one inside a right-hand path falls back as above.
        assert_eq!(
            p("$[?(@.a == X || @.b == Y)]").compile_error(),
            Some("Failed to parse filter: [?(@.a == X || @.b == Y)], error on position: 10, char: X")
        );
        assert_eq!(
            p("$[?(@.a[?(@.b==Z)])]").compile_error(),
            Some("Failed to parse filter: [?(@.b==Z)], error on position: 8, char: Z")
        );
        assert_eq!(p("$[?(@.a == $.b[?(@.c==Z)])]").compile_error(), Some("Expected character: )"));
        // Non-ASCII text: Java counts UTF-16 units.
        assert_eq!(
            p("$[?(@.é😀==Ünïcode)]").compile_error(),
            Some("Failed to parse filter: [?(@.é😀==Ünïcode)], error on position: 10, char: Ü")
        );
        // Literals stay literals; a word on the left or alone is still an error.
        assert_eq!(p("$[?(@.a == true && @.b != null)]").compile_error(), None);
        assert_eq!(p("$[?(@.a == 'Failure')]").compile_error(), None);
        assert!(Path::parse("$[?(Failure == @.a)]").is_err());
        assert!(Path::parse("$[?(Failure)]").is_err());
        assert!(Path::parse("$[?(@.a == Fail ure)]").is_err());
        let Arg::Path(arg) = &Call::parse("States.ArrayLength($.a[?(@.s==Done)])").unwrap().args[0] else {
            panic!()
        };
        assert!(arg.compile_error().is_some_and(|e| e.starts_with("Failed to parse filter: [?(@.s==Done)]")));
    }

    #[test]
    fn calls() {
        let c = Call::parse("States.Format('Hello {}, \\{\\} {}!', $.name, States.UUID())").unwrap();
        assert_eq!(c.function, Function::Format);
        assert_eq!(c.args.len(), 3);
        let Arg::Str(s) = &c.args[0] else { panic!() };
        assert_eq!(s.format_parts, vec!["Hello ", ", {} ", "!"]);
        assert_eq!(s.value(), "Hello {}, {} {}!");
        let c = Call::parse("States.MathAdd($.i, -1)").unwrap();
        assert_eq!(c.args[1], Arg::Literal(serde_json::json!(-1)));
        let c = Call::parse("States.Array( 'a' ,1.5,true, null , $$.Map.Item.Value )").unwrap();
        assert_eq!(c.args.len(), 5);
        let c = Call::parse("States.Array()").unwrap();
        assert!(c.args.is_empty());
        let c = Call::parse("States.StringSplit('Hello\nWorld', '\n')").unwrap();
        assert_eq!(c.args.len(), 2);
    }

    #[test]
    fn call_errors() {
        assert!(Call::parse("States.Nope()").is_err());
        assert!(Call::parse("States.Format('a'").is_err());
        assert!(Call::parse("States.Format('a' 'b')").is_err());
        assert!(Call::parse("States.StringToJson('{\"t\":\"An \\\"q\\\"\"}')").is_err());
        assert!(Call::parse("States.Format('x') trailing").is_err());
        let deep = "States.Array(".repeat(200) + &")".repeat(200);
        assert!(Call::parse(&deep).is_err());
    }
}
