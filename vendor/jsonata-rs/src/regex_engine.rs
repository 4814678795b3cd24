//! Patched (see PATCHED.md): regular expressions bounded in time, whatever the pattern.
//!
//! regress, the ECMAScript engine upstream uses, backtracks: a pattern such as `(a+)+$`, `(a|a)*b` or
//! `(\w*)*\1x` can take exponential or high polynomial time on a long subject, and upstream cannot
//! interrupt a match. A pattern is compiled by regress (which checks its ECMAScript syntax and keeps the
//! errors upstream reports) and, when it means the same there, by regex-lite, whose matching takes time
//! linear in the subject; regex-lite then matches. The others (back-references, lookaround, named
//! groups, the `m` flag, …) match on regress with a step budget (the patched `vendor/regress`): every
//! instruction of its backtracking matcher is a step, a back-reference or a single-character loop one
//! per character, and one search (a built-in's whole iteration over the subject) may take at most
//! [`BACKTRACKING_STEPS`]; a search that needs more ends with [`BudgetExceeded`], which the built-ins
//! report as an error.
//!
//! Why not fancy-regex (whose `backtrack_limit` bounds backtracking): measured on a 30,001-character
//! subject, `(?=a)(a+)+$` takes 3.6 s within its default limit (the limit counts the backtracks of one
//! start position and delegates linear-time sub-matches, so a search may cost the limit times the
//! subject at every start position), and its semantics are Perl's, not ECMAScript's (a back-reference to
//! a group that did not take part fails instead of matching empty, captures are not reset at each
//! iteration of a quantifier, a lookbehind matches left to right): each would need translating or
//! refusing. regress with a budget keeps ECMAScript's semantics exactly and bounds the whole search.

pub type Range = core::ops::Range<usize>;

/// JavaScript's `\s` (WhiteSpace and LineTerminator), as a class body for regex-lite.
const JS_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

/// Steps one search on the backtracking engine may take (every built-in call that matches a pattern
/// is one search, over every match it finds): measured in an optimized build on the shared 2-core
/// machine, 20 million steps of `(a+)+\1$`, `(?=a)(a+)+$`, `(\w*)*\1x` or `(a|a)*b(?=c)` on 30,000
/// characters took 125–158 ms, so this is under 0.1 s; `(\w+)\s\1` over 30,000 characters of words
/// needs about a twentieth of it.
pub const BACKTRACKING_STEPS: u64 = 10_000_000;

#[derive(Debug, Clone)]
pub enum Regex {
    /// Linear-time matching.
    Linear(regex_lite::Regex),
    /// Linear-time matching for where the matches are; their groups from the backtracking engine (the
    /// pattern has a quantified group whose captures ECMAScript sets otherwise than regex-lite).
    LinearSpans(regex_lite::Regex, regress::Regex),
    /// Backtracking matching (the pattern needs it), within [`BACKTRACKING_STEPS`].
    Backtracking(regress::Regex),
}

/// A search on the backtracking engine took more than [`BACKTRACKING_STEPS`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetExceeded;

/// Why a built-in's iteration over the matches ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchError {
    /// The backtracking engine's budget ran out.
    Budget(BudgetExceeded),
    /// A match after the first one was empty (jsonata-js: `D1004`, "Regular expression matches zero
    /// length string": its iteration would never progress).
    ZeroLength,
}

impl core::fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "exceeded its backtracking budget of {BACKTRACKING_STEPS} steps (it backtracks exponentially or \
             polynomially on this subject)"
        )
    }
}

/// One match: its range and its groups (group 0 is the whole match).
#[derive(Debug, Clone)]
pub struct Match {
    groups: Vec<Option<Range>>,
}

impl Match {
    pub fn range(&self) -> Range {
        self.groups.first().cloned().flatten().unwrap_or(0..0)
    }

    pub fn start(&self) -> usize {
        self.range().start
    }

    pub fn end(&self) -> usize {
        self.range().end
    }

    pub fn groups(&self) -> impl Iterator<Item = Option<Range>> + '_ {
        self.groups.iter().cloned()
    }
}

/// The matches of a built-in's iteration as jsonata-js makes it (`evaluateRegex`'s `next`): each search
/// starts where the last match ended, none once that is the end of the subject, and a later match that is
/// empty ends it with [`SearchError::ZeroLength`] — an empty match not at the end, as another search from
/// the same place finds it again, ends it so (`$match("b", /a*/)` is `D1004`, `$match("", /a*/)` one empty
/// match). An `Err` is the last item.
pub struct Matches<'r, 't> {
    engine: Engine<'r, 't>,
    len: usize,
    first: bool,
    /// What the next call answers: search on, `Some(Err)`, or the end.
    after: After,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum After {
    Search,
    ZeroLength,
    End,
}

impl Iterator for Matches<'_, '_> {
    type Item = Result<Match, SearchError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.after {
            After::End => return None,
            After::ZeroLength => {
                self.after = After::End;
                return Some(Err(SearchError::ZeroLength));
            }
            After::Search => {}
        }
        let m = match self.engine.next() {
            None => {
                self.after = After::End;
                return None;
            }
            Some(Err(e)) => {
                self.after = After::End;
                return Some(Err(SearchError::Budget(e)));
            }
            Some(Ok(m)) => m,
        };
        let empty = m.range().is_empty();
        if empty && !self.first {
            self.after = After::End;
            return Some(Err(SearchError::ZeroLength));
        }
        self.first = false;
        self.after = if m.end() >= self.len {
            After::End
        } else if empty {
            After::ZeroLength
        } else {
            After::Search
        };
        Some(Ok(m))
    }
}

/// One engine's matches, each search from where the last match ended (one character further after an
/// empty one, which [`Matches`] never asks for).
enum Engine<'r, 't> {
    /// ECMAScript's global iteration (`RegExp.prototype[Symbol.matchAll]`): each search starts where the
    /// last match ended, one character further after an empty one. regex-lite's own iterator refuses an
    /// empty match right after a match, so `/(a|ab)*/` on "a!" would miss the empty match after "a".
    Linear { re: &'r regex_lite::Regex, text: &'t str, at: Option<usize> },
    Backtracking { matches: regress::Matches<'r, 't>, done: bool },
}

impl Iterator for Engine<'_, '_> {
    type Item = Result<Match, BudgetExceeded>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Engine::Linear { re, text, at } => {
                let c = re.captures_at(text, (*at)?)?;
                let whole = c.get(0)?.range();
                *at = if whole.is_empty() {
                    text[whole.end..].chars().next().map(|ch| whole.end + ch.len_utf8())
                } else {
                    Some(whole.end)
                };
                Some(Ok(Match { groups: (0..c.len()).map(|i| c.get(i).map(|m| m.range())).collect() }))
            }
            Engine::Backtracking { matches, done } => {
                if *done {
                    return None;
                }
                match matches.next() {
                    Some(m) => Some(Ok(Match { groups: m.groups().collect() })),
                    None => {
                        *done = true;
                        matches.step_budget_exceeded().then_some(Err(BudgetExceeded))
                    }
                }
            }
        }
    }
}

impl Regex {
    pub fn with_flags(pattern: &str, flags: &str) -> Result<Regex, regress::Error> {
        let backtracking = regress::Regex::with_flags(pattern, flags)?;
        let case_insensitive = flags.contains('i');
        // Multi-line `^`/`$` also stop at `\r`, U+2028 and U+2029 in JavaScript, only at `\n` in regex-lite.
        let linear = if flags.contains('m') { None } else { translate(pattern, case_insensitive) };
        let linear = linear.and_then(|(p, groups_differ)| {
            let r = regex_lite::RegexBuilder::new(&p).case_insensitive(case_insensitive).build().ok()?;
            Some((r, groups_differ))
        });
        Ok(match linear {
            Some((r, false)) => Regex::Linear(r),
            Some((r, true)) => Regex::LinearSpans(r, backtracking),
            None => Regex::Backtracking(backtracking),
        })
    }

    /// True when where the matches are is found in time linear in the subject.
    pub fn is_linear(&self) -> bool {
        !matches!(self, Regex::Backtracking(_))
    }

    /// True when the groups of the matches are found in linear time too.
    pub fn groups_are_linear(&self) -> bool {
        matches!(self, Regex::Linear(_))
    }

    /// Every match in `text` with its groups, within the budget.
    pub fn find_iter<'r, 't>(&'r self, text: &'t str) -> Matches<'r, 't> {
        match self {
            Regex::Linear(re) => Self::linear(re, text),
            Regex::LinearSpans(_, r) | Regex::Backtracking(r) => Self::backtracking(r, text),
        }
    }

    /// Every match in `text`, where it is (its groups may not be ECMAScript's), within the budget.
    pub fn find_spans<'r, 't>(&'r self, text: &'t str) -> Matches<'r, 't> {
        match self {
            Regex::Linear(re) | Regex::LinearSpans(re, _) => Self::linear(re, text),
            Regex::Backtracking(r) => Self::backtracking(r, text),
        }
    }

    fn linear<'r, 't>(re: &'r regex_lite::Regex, text: &'t str) -> Matches<'r, 't> {
        let engine = Engine::Linear { re, text, at: Some(0) };
        Matches { engine, len: text.len(), first: true, after: After::Search }
    }

    fn backtracking<'r, 't>(r: &'r regress::Regex, text: &'t str) -> Matches<'r, 't> {
        let engine = Engine::Backtracking {
            matches: r.find_iter(text).with_step_budget(BACKTRACKING_STEPS),
            done: false,
        };
        Matches { engine, len: text.len(), first: true, after: After::Search }
    }

    /// True when `text` has a match (`Err` when the budget ran out before one was found).
    pub fn is_match(&self, text: &str) -> Result<bool, BudgetExceeded> {
        match self.find_spans(text).next() {
            None => Ok(false),
            Some(Ok(_)) => Ok(true),
            Some(Err(SearchError::Budget(e))) => Err(e),
            // The first match is never refused.
            Some(Err(SearchError::ZeroLength)) => Ok(true),
        }
    }
}

/// True when `pattern` (no flags) matches on the linear-time engine.
pub fn is_linear(pattern: &str) -> bool {
    Regex::with_flags(pattern, "").is_ok_and(|r| r.is_linear())
}

/// The pattern in regex-lite's syntax with ECMAScript's meaning, and whether only where its matches are
/// means the same (not what its groups capture); `None` when not even that can be promised (the pattern
/// then stays on the backtracking engine).
fn translate(pattern: &str, case_insensitive: bool) -> Option<(String, bool)> {
    if case_insensitive && !pattern.is_ascii() {
        // regex-lite folds case for ASCII only.
        return None;
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    // The open groups, innermost last: (capturing, a capturing group is nested inside, where it opens in
    // `out`).
    let mut groups: Vec<(bool, bool, usize)> = Vec::new();
    let mut groups_differ = false;
    while let Some(c) = chars.next() {
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '\\' => {
                    let e = chars.next()?;
                    match e {
                        'd' | 'D' | 'w' | 'W' | 'n' | 'r' | 't' | 'f' => {
                            out.push('\\');
                            out.push(e);
                        }
                        's' => out.push_str(JS_SPACE),
                        'v' => out.push_str(r"\x0B"),
                        'b' => out.push_str(r"\x08"),
                        _ if e.is_ascii_punctuation() => {
                            out.push('\\');
                            out.push(e);
                        }
                        _ => return None,
                    }
                }
                // Literal in ECMAScript, nested classes or set operations in regex-lite.
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if chars.peek() == Some(&'-') => return None,
                _ => out.push(c),
            }
            continue;
        }
        match c {
            '\\' => {
                let e = chars.next()?;
                match e {
                    'd' | 'D' | 'w' | 'W' | 'b' | 'B' | 'n' | 'r' | 't' | 'f' => {
                        out.push('\\');
                        out.push(e);
                    }
                    's' => {
                        out.push('[');
                        out.push_str(JS_SPACE);
                        out.push(']');
                    }
                    'S' => {
                        out.push_str("[^");
                        out.push_str(JS_SPACE);
                        out.push(']');
                    }
                    'v' => out.push_str(r"\x0B"),
                    '/' => out.push('/'),
                    _ if e.is_ascii_punctuation() => {
                        out.push('\\');
                        out.push(e);
                    }
                    // Back-references, `\0`, `\cX`, `\xHH`, `\uHHHH`, `\p{…}` and the rest.
                    _ => return None,
                }
            }
            '.' => out.push_str(r"[^\n\r\x{2028}\x{2029}]"),
            '[' => {
                // `[]` matches nothing and `[^]` anything in ECMAScript; regex-lite reads them otherwise.
                let mut ahead = chars.clone();
                let first = match ahead.next() {
                    Some('^') => ahead.next(),
                    other => other,
                };
                if first == Some(']') {
                    return None;
                }
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            '(' if chars.peek() == Some(&'?') => {
                let mut ahead = chars.clone();
                ahead.next();
                if ahead.next() != Some(':') {
                    // Lookaround and named groups.
                    return None;
                }
                groups.push((false, false, out.len()));
                out.push('(');
            }
            '(' => {
                groups.push((true, false, out.len()));
                out.push('(');
            }
            ')' => {
                let (capturing, holds_capture, at) = groups.pop()?;
                if let Some(repeats) = quantifier(chars.clone()) {
                    // ECMAScript resets a quantified group's captures at each iteration (a capture that
                    // did not take part in the last one is undefined: `/(?:(a)|b)+/.exec("ab")` is
                    // `["ab", undefined]`), and refuses an optional iteration that matches empty
                    // (`/(\w*)*/.exec("")` is `["", undefined]`); regex-lite, like Perl, keeps the last
                    // capture taken and takes the empty iteration (`"a"`, `""`).
                    let body = &out[at + 1..];
                    let body = if capturing { body } else { body.strip_prefix("?:").unwrap_or(body) };
                    let nullable = matches_empty(body);
                    if nullable && may_prefer_empty(body) {
                        // Then even where the match ends differs: `/(?:|a)*/` matches "aa" of "aa" in
                        // ECMAScript (the empty iteration refused, the next alternative taken), "" in
                        // regex-lite.
                        return None;
                    }
                    // Else only captures differ: an empty iteration or a reset capture moves no match.
                    if (capturing || holds_capture) && ((repeats && holds_capture) || nullable) {
                        groups_differ = true;
                    }
                }
                if let Some(outer) = groups.last_mut() {
                    outer.1 |= capturing || holds_capture;
                }
                out.push(')');
            }
            // Literal outside classes in ECMAScript; `#` would start a comment only in verbose mode.
            '&' | '~' | '#' | '-' => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push_str(r"\x20"),
            _ => out.push(c),
        }
    }
    (!in_class && groups.is_empty()).then_some((out, groups_differ))
}

/// The quantifier at `ahead` (what follows a group), if there is one: whether it may repeat the group
/// (`*`, `+`, `{n}` with n > 1, `{n,}`, `{n,m}` with m > 1) or not (`?`, `{0,1}`, …). A `{` that opens no
/// quantifier is a literal in ECMAScript (`None`, when unsure: the caller then looks no further).
fn quantifier(mut ahead: core::iter::Peekable<core::str::Chars<'_>>) -> Option<bool> {
    match ahead.next()? {
        '*' | '+' => Some(true),
        '?' => Some(false),
        '{' => {
            let body: String = ahead.by_ref().take_while(|c| *c != '}').collect();
            let (min, max) = match body.split_once(',') {
                Some((min, max)) => (min, max),
                None => (body.as_str(), body.as_str()),
            };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(min) || !(max.is_empty() || digits(max)) {
                // Unsure whether it is a quantifier: say it repeats (the pattern then backtracks).
                return Some(true);
            }
            // `{n,}` repeats without bound; an overflowing bound is large.
            Some(max.is_empty() || max.parse::<u64>().map_or(true, |m| m > 1))
        }
        _ => None,
    }
}

/// True when `body` (regex-lite syntax) may prefer an empty match to a longer one: an empty alternative
/// or a lazy quantifier (or what looks like one: a class with `|` or `*?` in it says so too).
fn may_prefer_empty(body: &str) -> bool {
    body.starts_with('|')
        || body.ends_with('|')
        || ["(|", "||", "|)", "*?", "+?", "??", "}?"].iter().any(|p| body.contains(p))
}

/// True when `body` (regex-lite syntax, a group's inside) matches the empty string (or cannot be told).
fn matches_empty(body: &str) -> bool {
    regex_lite::Regex::new(&format!("^(?:{body})$")).map_or(true, |r| r.is_match(""))
}

