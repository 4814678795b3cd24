//! A JSONata tokenizer that splits a source as jsonata-rs 0.3.4's does, and the analysis built on it:
//! what an expression reads (`$states` and which of its members, variables), found once when the
//! expression is parsed so evaluation never scans the source.
//!
//! It follows jsonata-rs's tokenizer (`parser/tokenizer.rs`) rule for rule where that changes where a
//! token ends: its white space, `/* */` comments, string escapes, backtick names, numbers, the words
//! that end at white space or an operator character, and its regex rule (a `/` starts a regular
//! expression only after `(start)`, `~>`, `{`, `(`, `[`, `,`, `:=`, `and`, `or`, `=`, `!=`, `<`, `>`,
//! `<=` and `>=`; the pattern ends at the first `/` not preceded by a backslash). So on a source
//! jsonata-rs accepts, every `$name` this finds is one jsonata-rs looks up, and none is missed. It
//! never fails: text jsonata-rs would refuse (an unknown character, an unterminated string) becomes
//! [`Tok::Unknown`] or runs to the end, and the scan stays linear and allocation-free.

/// One token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Tok<'a> {
    End,
    /// A name, bare or in backticks (without them).
    Name(&'a str),
    /// `$name` without the `$`: `$` is `Var("")` and `$$` is `Var("$")`.
    Var(&'a str),
    /// A string, number, regex, `true`, `false` or `null`.
    Literal,
    /// An operator or punctuation; `and`, `or` and `in` are operators too.
    Op(&'static str),
    /// A character jsonata-rs refuses.
    Unknown,
}

/// Two-character operators, tried before the one-character ones (as jsonata-rs's tokenizer does).
const OPS2: [&str; 7] = ["..", ":=", "!=", ">=", "<=", "**", "~>"];

/// The one-character operator `c` (jsonata-rs's `is_operator`); these also end a name.
fn op1(c: char) -> Option<&'static str> {
    Some(match c {
        '.' => ".",
        '[' => "[",
        ']' => "]",
        '{' => "{",
        '}' => "}",
        '(' => "(",
        ')' => ")",
        ',' => ",",
        '@' => "@",
        '#' => "#",
        ';' => ";",
        ':' => ":",
        '?' => "?",
        '+' => "+",
        '-' => "-",
        '*' => "*",
        '/' => "/",
        '%' => "%",
        '|' => "|",
        '=' => "=",
        '<' => "<",
        '>' => ">",
        '^' => "^",
        '&' => "&",
        '!' => "!",
        '~' => "~",
        _ => return None,
    })
}

/// jsonata-rs's white space.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// True when a `/` after `t` starts a regular expression (jsonata-rs's `can_precede_regex`).
fn precedes_regex(t: Tok<'_>) -> bool {
    matches!(
        t,
        Tok::Op("~>" | "{" | "(" | "[" | "," | ":=" | "and" | "or" | "=" | "!=" | "<" | ">" | "<=" | ">=")
    )
}

#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    /// The token before, for the regex rule; `None` at the start.
    prev: Option<Tok<'a>>,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0, prev: None }
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or_default()
    }

    /// The next token.
    pub(crate) fn next(&mut self) -> Tok<'a> {
        let t = self.token();
        self.prev = Some(t);
        t
    }

    fn token(&mut self) -> Tok<'a> {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start_matches(is_space);
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("/*") {
                self.pos += comment_length(trimmed);
                continue;
            }
            break;
        }
        let rest = self.rest();
        let Some(c) = rest.chars().next() else { return Tok::End };
        if c == '/' && self.prev.is_none_or(precedes_regex) {
            self.pos += regex_length(rest);
            return Tok::Literal;
        }
        if let Some(op) = OPS2.iter().copied().find(|o| rest.starts_with(o)) {
            self.pos += op.len();
            return Tok::Op(op);
        }
        if let Some(op) = op1(c) {
            self.pos += 1;
            return Tok::Op(op);
        }
        match c {
            '"' | '\'' => {
                self.pos += string_length(rest, c);
                return Tok::Literal;
            }
            '`' => {
                let body = &rest[1..];
                let end = body.find('`').unwrap_or(body.len());
                self.pos += 1 + end + usize::from(end < body.len());
                return Tok::Name(&body[..end]);
            }
            '0'..='9' => {
                self.pos += number_length(rest);
                return Tok::Literal;
            }
            _ if c.is_alphabetic() || c == '$' => {}
            _ => {
                self.pos += c.len_utf8();
                return Tok::Unknown;
            }
        }
        let end = rest.find(|d: char| is_space(d) || op1(d).is_some()).unwrap_or(rest.len());
        let word = &rest[..end];
        self.pos += end;
        if let Some(var) = word.strip_prefix('$') {
            return Tok::Var(var);
        }
        match word {
            "and" => Tok::Op("and"),
            "or" => Tok::Op("or"),
            "in" => Tok::Op("in"),
            "true" | "false" | "null" => Tok::Literal,
            _ => Tok::Name(word),
        }
    }
}

/// Length of a comment at the start of `s`. As in jsonata-rs, the character after each `*` is consumed
/// whatever it is, so `/* **/` does not end at `**/` (JSONata's own parser would end it there).
fn comment_length(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 2;
    loop {
        let Some(star) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'*')) else { return s.len() };
        i += star + 1;
        match b.get(i) {
            None => return s.len(),
            Some(b'/') => return i + 1,
            Some(_) => i += 1,
        }
    }
}

/// Length of a string literal opened by `quote` at the start of `s`, quotes included (an escape skips
/// the character after the backslash; a `\u` escape's digits are ordinary characters).
fn string_length(s: &str, quote: char) -> usize {
    let mut chars = s.char_indices().skip(1);
    while let Some((i, d)) = chars.next() {
        if d == '\\' {
            chars.next();
        } else if d == quote {
            return i + 1;
        }
    }
    s.len()
}

/// Length of a number at the start of `s` (jsonata-rs's `scan_number`: digits, `.` unless `..` follows,
/// and `e`/`E` with an optional sign, in any order).
fn number_length(s: &str) -> usize {
    let b = s.as_bytes();
    let mut n = 1;
    while let Some(&c) = b.get(n) {
        match c {
            b'.' if b.get(n + 1) == Some(&b'.') => break,
            b'.' | b'0'..=b'9' => n += 1,
            b'e' | b'E' => n += 1 + usize::from(matches!(b.get(n + 1), Some(b'+' | b'-'))),
            _ => break,
        }
    }
    n.min(s.len())
}

/// Length of a regular expression at the start of `s` (the opening `/`, the pattern, the closing `/`
/// and the flags `i` and `m`, each at most once). As in jsonata-rs, the pattern ends at the first `/`
/// not right after a backslash.
fn regex_length(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 1;
    let mut escaped = false;
    while let Some(&c) = b.get(i) {
        i += 1;
        match c {
            b'\\' => escaped = true,
            b'/' if !escaped => {
                let (mut case, mut multi) = (false, false);
                loop {
                    match b.get(i) {
                        Some(b'i') if !case => case = true,
                        Some(b'm') if !multi => multi = true,
                        _ => return i,
                    }
                    i += 1;
                }
            }
            _ => escaped = false,
        }
    }
    s.len()
}

/// A member of `$states`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatesMember {
    /// `$states.input`.
    Input,
    /// `$states.result`.
    Result,
    /// `$states.errorOutput`.
    ErrorOutput,
    /// `$states.context`, the context object.
    Context,
}

impl StatesMember {
    /// Every member.
    pub const ALL: [StatesMember; 4] =
        [StatesMember::Input, StatesMember::Result, StatesMember::ErrorOutput, StatesMember::Context];

    /// The member's name in `$states`.
    pub fn name(self) -> &'static str {
        match self {
            StatesMember::Input => "input",
            StatesMember::Result => "result",
            StatesMember::ErrorOutput => "errorOutput",
            StatesMember::Context => "context",
        }
    }

    /// The member named `name`, if there is one.
    pub fn named(name: &str) -> Option<StatesMember> {
        StatesMember::ALL.into_iter().find(|m| m.name() == name)
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// What an expression reads, found by [`reads`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reads {
    /// `$states` appears.
    pub(crate) states: bool,
    /// The members of `$states` it may read (all of them when `$states` is used other than as
    /// `$states.name`, e.g. `$keys($states)`).
    pub(crate) members: u8,
    /// Every other `$name`, distinct, in writing order (function names such as `sum` included: a
    /// variable may be read under any name, and a builtin wins over a variable of its name anyway).
    pub(crate) variables: Vec<Box<str>>,
}

impl Reads {
    pub(crate) fn member(&self, m: StatesMember) -> bool {
        self.members & m.bit() != 0
    }

    /// `$states` is used whole (`$keys($states)`), so it may read any member.
    pub(crate) fn whole(&self) -> bool {
        self.members == u8::MAX
    }
}

/// What `source` reads: `$states` and its members, and the variables it names. Strings, regular
/// expressions, comments and backtick names are not read from.
pub(crate) fn reads(source: &str) -> Reads {
    let mut out = Reads::default();
    let mut lex = Lexer::new(source);
    loop {
        match lex.next() {
            Tok::End => return out,
            Tok::Var("states") => {
                out.states = true;
                // `$states.name` reads one member; anything else may read any.
                let mut ahead = lex.clone();
                let member = match (ahead.next(), ahead.next()) {
                    // A focus or index binding on the step (`$states.input@$v`, `…#$i`) makes jsonata-rs
                    // yield from `$states` itself (found by the `jsonata-reads` fuzz target).
                    (Tok::Op("."), Tok::Name(_)) if matches!(ahead.clone().next(), Tok::Op("@" | "#")) => {
                        None
                    }
                    (Tok::Op("."), Tok::Name(n)) => Some(StatesMember::named(n)),
                    _ => None,
                };
                match member {
                    Some(m) => {
                        out.members |= m.map_or(0, StatesMember::bit);
                        lex = ahead;
                    }
                    None => out.members = u8::MAX,
                }
            }
            // `$` is the context item and `$$` the root, not variables.
            Tok::Var("" | "$") => {}
            Tok::Var(name) if !out.variables.iter().any(|v| &**v == name) => {
                out.variables.push(name.into());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<Tok<'_>> {
        let mut lex = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            match lex.next() {
                Tok::End => return out,
                t => out.push(t),
            }
        }
    }

    fn vars(src: &str) -> Vec<String> {
        reads(src).variables.iter().map(|v| v.to_string()).collect()
    }

    fn members(src: &str) -> Vec<&'static str> {
        let r = reads(src);
        StatesMember::ALL.into_iter().filter(|m| r.member(*m)).map(StatesMember::name).collect()
    }

    #[test]
    fn splits_as_jsonata_rs_does() {
        use Tok::*;
        assert_eq!(
            tokens("$a.`b c`[0] != 'x' and $$"),
            [
                Var("a"),
                Op("."),
                Name("b c"),
                Op("["),
                Literal,
                Op("]"),
                Op("!="),
                Literal,
                Op("and"),
                Var("$")
            ]
        );
        assert_eq!(tokens("1..2"), [Literal, Op(".."), Literal]);
        assert_eq!(tokens("1.5e-3+2E3"), [Literal, Op("+"), Literal]);
        assert_eq!(tokens("a/b"), [Name("a"), Op("/"), Name("b")]);
        assert_eq!(tokens("(/a$x/i)"), [Op("("), Literal, Op(")")]);
        assert_eq!(tokens("$f(/a\\/$x/, $y)"), [Var("f"), Op("("), Literal, Op(","), Var("y"), Op(")")]);
        assert_eq!(tokens("a.* / 2"), [Name("a"), Op("."), Op("*"), Op("/"), Literal]);
        assert_eq!(tokens("\u{c}$x/*$y*/'$z\\''"), [Var("x"), Literal]);
        assert_eq!(tokens("_"), [Unknown]);
        assert_eq!(tokens("'open"), [Literal]);
        assert_eq!(tokens("/* a **/ $x /* b */ $y"), [Var("y")]);
    }

    #[test]
    fn variables_read() {
        assert_eq!(vars("$a + $b.c + $a"), ["a", "b"]);
        assert_eq!(vars("$sum($states.input.x) & $v"), ["sum", "v"]);
        assert_eq!(vars("'$quoted' & \"$too\" & `$name` & $real /* $comment */"), ["real"]);
        assert_eq!(vars("$match($s, /[$x]/) ~> $f"), ["match", "s", "f"]);
        assert_eq!(vars("$ + $$.x"), Vec::<String>::new());
        assert_eq!(vars("$states.input"), Vec::<String>::new());
        assert_eq!(vars("$states.$x"), ["x"]);
    }

    #[test]
    fn states_members() {
        assert_eq!(members("1"), Vec::<&str>::new());
        assert!(!reads("'$states.input'").states);
        assert_eq!(members("$states.input.a + $states.input.b"), ["input"]);
        assert_eq!(members("$states.result ? $states.`errorOutput` : 1"), ["result", "errorOutput"]);
        assert_eq!(members("$states.context.Execution.Id"), ["context"]);
        assert_eq!(members("$states . /* c */ input"), ["input"]);
        assert_eq!(members("$states.other"), Vec::<&str>::new());
        assert!(reads("$states.other").states);
        for whole in [
            "$states",
            "$keys($states)",
            "$states[0]",
            "$states.$x",
            "$states.'input'",
            "$states.*",
            "$states.input@$v",
            "$states.input#$i",
        ] {
            assert_eq!(members(whole), ["input", "result", "errorOutput", "context"], "{whole}");
        }
    }

    proptest::proptest! {
        /// Never panics, ends, and finds a variable only where the source has its `$name`.
        #[test]
        fn never_panics(src in "\\PC{0,64}") {
            for v in reads(&src).variables {
                let written = format!("${v}");
                proptest::prop_assert!(src.contains(&written));
            }
        }
    }
}
