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
    /// Backtracking matching (the pattern needs it), within [`BACKTRACKING_STEPS`].
    Backtracking(regress::Regex),
}

/// A search on the backtracking engine took more than [`BACKTRACKING_STEPS`] steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetExceeded;

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

/// The matches of a search, in order; an `Err` (the last item) when the budget ran out first.
pub enum Matches<'r, 't> {
    /// ECMAScript's global iteration (`RegExp.prototype[Symbol.matchAll]`): each search starts where the
    /// last match ended, one character further after an empty one. regex-lite's own iterator refuses an
    /// empty match right after a match, so `/(a|ab)*/` on "a!" would miss the empty match after "a".
    Linear { re: &'r regex_lite::Regex, text: &'t str, at: Option<usize> },
    Backtracking { matches: regress::Matches<'r, 't>, done: bool },
}

impl Iterator for Matches<'_, '_> {
    type Item = Result<Match, BudgetExceeded>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Matches::Linear { re, text, at } => {
                let c = re.captures_at(text, (*at)?)?;
                let whole = c.get(0)?.range();
                *at = if whole.is_empty() {
                    text[whole.end..].chars().next().map(|ch| whole.end + ch.len_utf8())
                } else {
                    Some(whole.end)
                };
                Some(Ok(Match { groups: (0..c.len()).map(|i| c.get(i).map(|m| m.range())).collect() }))
            }
            Matches::Backtracking { matches, done } => {
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
        let linear = linear.and_then(|p| {
            regex_lite::RegexBuilder::new(&p).case_insensitive(case_insensitive).build().ok()
        });
        Ok(match linear {
            Some(r) => Regex::Linear(r),
            None => Regex::Backtracking(backtracking),
        })
    }

    /// True when matching takes time linear in the subject.
    pub fn is_linear(&self) -> bool {
        matches!(self, Regex::Linear(_))
    }

    /// Every match in `text`, within the budget.
    pub fn find_iter<'r, 't>(&'r self, text: &'t str) -> Matches<'r, 't> {
        match self {
            Regex::Linear(re) => Matches::Linear { re, text, at: Some(0) },
            Regex::Backtracking(r) => Matches::Backtracking {
                matches: r.find_iter(text).with_step_budget(BACKTRACKING_STEPS),
                done: false,
            },
        }
    }

    /// True when `text` has a match (`Err` when the budget ran out before one was found).
    pub fn is_match(&self, text: &str) -> Result<bool, BudgetExceeded> {
        self.find_iter(text).next().transpose().map(|m| m.is_some())
    }
}

/// True when `pattern` (no flags) matches on the linear-time engine.
pub fn is_linear(pattern: &str) -> bool {
    Regex::with_flags(pattern, "").is_ok_and(|r| r.is_linear())
}

/// The pattern in regex-lite's syntax with ECMAScript's meaning, or `None` when that cannot be promised
/// (the pattern then stays on the backtracking engine).
fn translate(pattern: &str, case_insensitive: bool) -> Option<String> {
    if case_insensitive && !pattern.is_ascii() {
        // regex-lite folds case for ASCII only.
        return None;
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
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
                out.push('(');
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
    (!in_class).then_some(out)
}

