//! Patched (see PATCHED.md): regular expressions on a linear-time engine where the pattern allows.
//!
//! regress, the ECMAScript engine upstream uses, backtracks without a step budget, so a pattern such as
//! `(a+)+$` or `\w*\w*\w*x` can take exponential or high polynomial time on a long subject, and a match
//! cannot be interrupted. A pattern is compiled by regress (which checks its ECMAScript syntax and keeps
//! the errors upstream reports) and, when it means the same there, by regex-lite, whose matching takes
//! time linear in the subject; regex-lite then matches. Patterns that need backtracking (back-references,
//! lookaround, named groups) or whose meaning could differ stay on regress.

pub type Range = core::ops::Range<usize>;

/// JavaScript's `\s` (WhiteSpace and LineTerminator), as a class body for regex-lite.
const JS_SPACE: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

#[derive(Debug, Clone)]
pub enum Regex {
    /// Linear-time matching.
    Linear(regex_lite::Regex),
    /// Backtracking matching (the pattern needs it).
    Backtracking(regress::Regex),
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

    pub fn find_iter<'r, 't>(&'r self, text: &'t str) -> Box<dyn Iterator<Item = Match> + 'r>
    where
        't: 'r,
    {
        match self {
            Regex::Linear(r) => Box::new(r.captures_iter(text).map(|c| Match {
                groups: (0..c.len()).map(|i| c.get(i).map(|m| m.range())).collect(),
            })),
            Regex::Backtracking(r) => Box::new(r.find_iter(text).map(|m| Match { groups: m.groups().collect() })),
        }
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
