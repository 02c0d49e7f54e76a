//! Text from outside (policy file names, titles, log prefixes) on its way
//! into a generated file or onto a terminal.

use std::borrow::Cow;

/// `s` with every control character written as its escape (`\n`, `\t`,
/// `\u{0}`, `\u{1b}`): a line break can never start a new line of a
/// generated file, a NUL can never cut one, and an escape sequence never
/// reaches a terminal.
#[must_use]
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.contains(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_only() {
        assert_eq!(printable("plain \\ \"text\" é"), "plain \\ \"text\" é");
        assert_eq!(printable("a\nb\0c\u{1b}[2J\t\u{85}"), "a\\nb\\u{0}c\\u{1b}[2J\\t\\u{85}");
    }
}
