//! JSON Pointer (RFC 6901) reference tokens: the one escaping every crate uses when it names where a
//! problem is (`/States/a~1b/Parameters`), and its inverse.
//!
//! A token escapes `~` as `~0` and `/` as `~1` (in that order, so `~1` in a name stays `~01`).
//!
//! ```
//! use sfn_asl::pointer;
//! assert_eq!(pointer::escape("a/b~c"), "a~1b~0c");
//! assert_eq!(pointer::unescape("a~1b~0c"), "a/b~c");
//! let mut ptr = String::from("/States");
//! pointer::push(&mut ptr, "Run/Task");
//! assert_eq!(ptr, "/States/Run~1Task");
//! ```
//!
//! (`sfn-path` keeps a private copy for its template pointers: it depends on nothing of ours.)

use std::borrow::Cow;

/// A name as a pointer token: `~` → `~0`, then `/` → `~1`. Borrows when there is nothing to escape.
pub fn escape(name: &str) -> Cow<'_, str> {
    if name.contains(['~', '/']) {
        Cow::Owned(name.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(name)
    }
}

/// A pointer token as the name it stands for: `~1` → `/`, then `~0` → `~` (the inverse of [`escape`]).
pub fn unescape(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Appends `/` and the escaped `name` to a pointer.
pub fn push(pointer: &mut String, name: &str) {
    pointer.push('/');
    pointer.push_str(&escape(name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for name in ["", "plain", "a/b", "~", "~1", "~0/", "a~/b//~~"] {
            assert_eq!(unescape(&escape(name)), name, "{name}");
        }
        assert_eq!(escape("~1"), "~01");
        assert_eq!(unescape("~01"), "~1");
    }
}
