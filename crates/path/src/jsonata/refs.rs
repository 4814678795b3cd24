//! What a JSONata expression reads from the top-level context, which Step Functions does not provide.
//!
//! A Step Functions expression is evaluated with no context item: the input is `$states.input` and a
//! variable is `$name`. AWS refuses, when the definition is created, an expression that reads the
//! context item anyway: `UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not
//! supported.` for `{% phone %}`, `… to '$' …` for `{% $.phone %}`, and `Reference to '$$' is not
//! supported.` for `{% $$ %}` (floci-io/floci#2670, #2745; the cases below were measured there with
//! `aws stepfunctions validate-state-machine-definition`, floci's `JsonataTopLevelReferencesTest`).
//!
//! Only what is evaluated against the top-level context counts: the first step of a path, the operands
//! of operators, function arguments, the keys and values of an object constructor, the items of an array
//! constructor, block expressions, conditions, the right side of `:=`, and lambda bodies (which keep the
//! context of the expression defining them). A name in a later step (`$states.input.phone`), a
//! predicate (`$states.input.items[phone > 3]`), a sort term, a group-by object or a transform is
//! evaluated against the value before it and is fine.
//!
//! The expression has already been accepted by the JSONata parser; this is a second, small Pratt parser
//! over the tokens of [`super::scan`] (split as jsonata-rs splits them) that keeps only what the check
//! needs (jsonata-rs does not expose its syntax tree). It runs once, when the expression is parsed. It
//! gives up (reports nothing) on anything it does not follow, so it can only miss a refusal, never
//! invent one, and its recursion is bounded.

use super::scan::{Lexer, Tok};

/// One reference to the top-level context (which Step Functions refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopLevel {
    /// A bare name (`phone`).
    Name(String),
    /// `$`, the context item itself.
    ContextItem,
    /// `$$`, the root of the context.
    Root,
}

/// The distinct top-level references of an expression (the text between `{%` and `%}`), in writing
/// order; empty when there are none or the expression is beyond this parser.
pub(crate) fn top_level_references(source: &str) -> Vec<TopLevel> {
    let mut p = Parser { lex: Lexer::new(source), tok: Tok::End, depth: 0 };
    let Some(tree) = p.bump().and_then(|()| p.expression(0)) else { return Vec::new() };
    if p.tok != Tok::End {
        return Vec::new();
    }
    let mut out = Vec::new();
    collect(&tree, &mut out);
    out
}

/// Deepest nesting of sub-expressions followed (JSONata sources nest brackets at most 64 deep already).
const MAX_DEPTH: usize = 128;

fn collect(node: &Node<'_>, out: &mut Vec<TopLevel>) {
    let found = match node {
        Node::Name(n) => TopLevel::Name((*n).to_owned()),
        Node::Var("") => TopLevel::ContextItem,
        Node::Var("$") => TopLevel::Root,
        Node::Var(_) | Node::Opaque => return,
        Node::Walk(children) => {
            for c in children {
                collect(c, out);
            }
            return;
        }
    };
    if !out.contains(&found) {
        out.push(found);
    }
}

/// What the check keeps of a parsed expression.
#[derive(Debug)]
enum Node<'a> {
    /// A name read from the context.
    Name(&'a str),
    /// `$name`; `$` is `Var("")` and `$$` is `Var("$")`.
    Var(&'a str),
    /// Evaluated without reading the top-level context (literals, regexes, `*`, `**`, `%`, transforms).
    Opaque,
    /// Sub-expressions all evaluated against the top-level context.
    Walk(Vec<Node<'a>>),
}

impl<'a> Node<'a> {
    /// `self` and `other` both evaluated at the top level (flattened, so long operator chains stay flat).
    fn and(self, other: Node<'a>) -> Node<'a> {
        match self {
            Node::Walk(mut v) => {
                v.push(other);
                Node::Walk(v)
            }
            first => Node::Walk(vec![first, other]),
        }
    }
}

/// Binding power of a token in infix position (JSONata's operator table; 0 ends an expression).
fn lbp(t: Tok<'_>) -> u8 {
    match t {
        Tok::Op("[" | "(" | "@" | "#") => 80,
        Tok::Op(".") => 75,
        Tok::Op("{") => 70,
        Tok::Op("*" | "/" | "%") => 60,
        Tok::Op("+" | "-" | "&") => 50,
        Tok::Op("=" | "!=" | "<" | "<=" | ">" | ">=" | "~>" | "in" | "^") => 40,
        Tok::Op("and") => 30,
        Tok::Op("or") => 25,
        Tok::Op("?") => 20,
        Tok::Op(":=") => 10,
        _ => 0,
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok<'a>,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// Moves to the next token.
    fn bump(&mut self) -> Option<()> {
        self.tok = self.lex.next();
        Some(())
    }

    fn expect(&mut self, op: &'static str) -> Option<()> {
        if self.tok == Tok::Op(op) { self.bump() } else { None }
    }

    fn expression(&mut self, rbp: u8) -> Option<Node<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let t = self.tok;
        self.bump()?;
        let mut left = self.nud(t)?;
        while rbp < lbp(self.tok) {
            let t = self.tok;
            self.bump()?;
            left = self.led(t, left)?;
        }
        self.depth -= 1;
        Some(left)
    }

    fn nud(&mut self, t: Tok<'a>) -> Option<Node<'a>> {
        Some(match t {
            Tok::Name(n) => Node::Name(n),
            Tok::Var(v) => Node::Var(v),
            Tok::Literal => Node::Opaque,
            // JSONata reads these operator words as names where an operand is expected.
            Tok::Op(w @ ("and" | "or" | "in")) => Node::Name(w),
            Tok::Op("-") => self.expression(70)?,
            // Wildcard, descendants, parent.
            Tok::Op("*" | "**" | "%") => Node::Opaque,
            Tok::Op("(") => {
                let mut items = Vec::new();
                while self.tok != Tok::Op(")") {
                    items.push(self.expression(0)?);
                    if self.tok != Tok::Op(";") {
                        break;
                    }
                    self.bump()?;
                }
                self.expect(")")?;
                Node::Walk(items)
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                if self.tok != Tok::Op("]") {
                    loop {
                        let mut item = self.expression(0)?;
                        if self.tok == Tok::Op("..") {
                            self.bump()?;
                            item = item.and(self.expression(0)?);
                        }
                        items.push(item);
                        if self.tok != Tok::Op(",") {
                            break;
                        }
                        self.bump()?;
                    }
                }
                self.expect("]")?;
                Node::Walk(items)
            }
            Tok::Op("{") => Node::Walk(self.pairs()?),
            Tok::Op("|") => {
                // A transform: its pattern and updates run against the value piped into it.
                self.expression(0)?;
                self.expect("|")?;
                self.expression(0)?;
                if self.tok == Tok::Op(",") {
                    self.bump()?;
                    self.expression(0)?;
                }
                self.expect("|")?;
                Node::Opaque
            }
            _ => return None,
        })
    }

    /// `key: value, …}` of an object constructor or group-by, keys and values in writing order.
    fn pairs(&mut self) -> Option<Vec<Node<'a>>> {
        let mut items = Vec::new();
        if self.tok != Tok::Op("}") {
            loop {
                items.push(self.expression(0)?);
                self.expect(":")?;
                items.push(self.expression(0)?);
                if self.tok != Tok::Op(",") {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect("}")?;
        Some(items)
    }

    fn led(&mut self, t: Tok<'a>, left: Node<'a>) -> Option<Node<'a>> {
        let Tok::Op(op) = t else { return None };
        Some(match op {
            // A later path step is evaluated against the step before it.
            "." => {
                self.expression(75)?;
                left
            }
            // A predicate (or `[]`) filters what the left side gave.
            "[" => {
                if self.tok != Tok::Op("]") {
                    self.expression(0)?;
                }
                self.expect("]")?;
                left
            }
            // Group-by.
            "{" => {
                self.pairs()?;
                left
            }
            // Sort terms.
            "^" => {
                self.expect("(")?;
                loop {
                    if matches!(self.tok, Tok::Op("<" | ">")) {
                        self.bump()?;
                    }
                    self.expression(0)?;
                    if self.tok != Tok::Op(",") {
                        break;
                    }
                    self.bump()?;
                }
                self.expect(")")?;
                left
            }
            // Focus and index variable bindings.
            "@" | "#" => {
                self.expression(80)?;
                left
            }
            "(" => self.call(left)?,
            "?" => {
                let mut node = left.and(self.expression(0)?);
                if self.tok == Tok::Op(":") {
                    self.bump()?;
                    node = node.and(self.expression(0)?);
                }
                node
            }
            // `$x := value`: only the value is evaluated.
            ":=" => self.expression(9)?,
            _ if lbp(t) > 0 => left.and(self.expression(lbp(t))?),
            _ => return None,
        })
    }

    /// A call `f(args)`, a partial application `f(?, x)`, or a lambda `function($x){ body }`.
    fn call(&mut self, procedure: Node<'a>) -> Option<Node<'a>> {
        let mut node = procedure;
        let lambda = matches!(node, Node::Name("function" | "\u{3bb}"));
        if self.tok != Tok::Op(")") {
            loop {
                if self.tok == Tok::Op("?") {
                    self.bump()?;
                } else {
                    node = node.and(self.expression(0)?);
                }
                if self.tok != Tok::Op(",") {
                    break;
                }
                self.bump()?;
            }
        }
        self.expect(")")?;
        if !lambda {
            return Some(node);
        }
        // A signature `<n-n:n>` is skipped token by token, as JSONata reads it.
        if self.tok == Tok::Op("<") {
            let mut depth = 1usize;
            while depth > 0 && self.tok != Tok::Op("{") && self.tok != Tok::End {
                self.bump()?;
                match self.tok {
                    Tok::Op(">") => depth -= 1,
                    Tok::Op("<") => depth += 1,
                    _ => {}
                }
            }
            self.expect(">")?;
        }
        // The parameters are variables; the body keeps the defining expression's context.
        self.expect("{")?;
        let body = self.expression(0)?;
        self.expect("}")?;
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        top_level_references(src)
            .into_iter()
            .map(|r| match r {
                TopLevel::Name(n) => n,
                TopLevel::ContextItem => "$".to_owned(),
                TopLevel::Root => "$$".to_owned(),
            })
            .collect()
    }

    /// Every expression here was measured on AWS (floci-io/floci, `JsonataTopLevelReferencesTest`).
    #[test]
    fn names_the_identifier_read_at_the_top_level() {
        for src in [
            "phone",
            "phone[0].number",
            "phone.number.street",
            "-phone",
            "phone ? 1 : 2",
            "$states.input.a ? phone : 2",
            "phone & 'x'",
            "phone in $states.input.b",
            "$sum(phone)",
            "phone(1)",
            "phone ~> $string()",
            "[1..phone]",
            "(phone)",
            "(phone).other",
            "[phone].other",
            "[phone, 1]",
            "{phone: 1}",
            "($x := phone; $x)",
            "$map($states.input.a, function($y){ phone })",
            "$count(phone[inner])",
            "phone.**.deeper",
        ] {
            assert_eq!(names(src), ["phone"], "{src}");
        }
    }

    #[test]
    fn accepts_names_not_read_from_the_top_level() {
        for src in [
            "$states.input.phone",
            "$states.input.a.phone",
            "$states.input.a[0].phone",
            "$states.input.a.phone[0]",
            "$states.input.items[phone > 3]",
            "$states.input.a^(phone)",
            "$states.input.a{'k': phone}",
            "$states.input.a.(phone)",
            "$states.input.a.$phone",
            "$phone",
            "$states.input.a ~> $string()",
            "$states.input ~> |phone|{'b': 1}|",
            "**.phone",
            "{'k': 1}.phone",
            "$states.input.a[0][phone]",
            "$states.input.a[$ > 1]",
            "function($x){ $x.phone }",
            "$map($states.input.a, function($x){ $x.phone })",
            "'phone'",
            "1 + 1",
            "$now()",
        ] {
            assert_eq!(names(src), Vec::<String>::new(), "{src}");
        }
    }

    #[test]
    fn the_context_item_and_the_root() {
        for src in ["$", "$.phone", "$[0]", "$string($)", "$map($states.input.a, function($x){ $ })"] {
            assert_eq!(names(src), ["$"], "{src}");
        }
        for src in ["$$", "$$.phone"] {
            assert_eq!(names(src), ["$$"], "{src}");
        }
    }

    #[test]
    fn each_distinct_name_once_in_writing_order() {
        assert_eq!(names("aaa + bbb"), ["aaa", "bbb"]);
        assert_eq!(names("[bbb, aaa]"), ["bbb", "aaa"]);
        assert_eq!(names("aaa + aaa"), ["aaa"]);
        assert_eq!(names("(aaa; bbb)"), ["aaa", "bbb"]);
        assert_eq!(names("$number(aaa) + $number(bbb)"), ["aaa", "bbb"]);
    }

    #[test]
    fn tokens_jsonata_has() {
        // jsonata-rs ends a regex at the first unescaped `/` (JSONata's own parser skips one in brackets,
        // but jsonata-rs refuses `/ab[/]c/` as an unbalanced bracket before this scan sees it).
        assert_eq!(names("$match($states.input.s, /ab\\/c/i) and x"), ["x"]);
        assert_eq!(names("$states.input.a / b"), ["b"]);
        assert_eq!(names("/* phone */ $states.input.a"), Vec::<String>::new());
        assert_eq!(names("`phone number` & \"x\\\"y\" & 1.5e3"), ["phone number"]);
        assert_eq!(names("function($x)<n:n>{ $x + y }(1)"), ["y"]);
        assert_eq!(names("($f := function($a, $b) { $a + $b }; $f(1, ?))"), Vec::<String>::new());
        assert_eq!(names("$states.input ? : z"), Vec::<String>::new(), "not followed: nothing reported");
    }

    proptest::proptest! {
        /// Never panics, on any text and on text made of JSONata's own pieces.
        #[test]
        fn never_panics(src in ".{0,64}", pieces in proptest::collection::vec(proptest::sample::select(vec![
            "a", "$", "$$", "$x", "(", ")", "[", "]", "{", "}", ".", "..", ",", ";", ":", "?", "?:", ":=",
            "+", "-", "*", "**", "/", "%", "|", "=", "<", ">", "^", "&", "~>", "@", "#", "'s'", "`n m`",
            "1", "/r/i", "/*c*/", "function", "and", "in", " ", "\u{3bb}", "é",
        ]), 0..40)) {
            let _ = top_level_references(&src);
            let _ = top_level_references(&pieces.concat());
        }
    }

    #[test]
    fn bounded() {
        let deep = format!("{}phone", "-".repeat(5000));
        assert_eq!(names(&deep), Vec::<String>::new());
        let long = format!("phone{}", ".a".repeat(5000));
        assert_eq!(names(&long), ["phone"]);
        let chain = format!("phone{}", " + 1".repeat(5000));
        assert_eq!(names(&chain), ["phone"]);
    }
}
