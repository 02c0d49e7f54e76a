//! Text from outside (policy file names, titles, log prefixes) on its way
//! into a generated file or onto a terminal.

use std::borrow::Cow;

/// `s` with every control character written as its escape (`\n`, `\t`,
/// `\u{0}`, `\u{1b}`): a line break can never start a new line of a
/// generated file, a NUL can never cut one, and an escape sequence never
/// reaches a terminal. So are the marks that reorder text written right to
/// left (`\u{202e}`), which would show a line other than it is.
#[must_use]
pub fn printable(s: &str) -> Cow<'_, str> {
    escape(s, |c, _| hidden(c))
}

/// `s` with every control character escaped but line breaks and tabs: text
/// of several lines (a message, a log, a listing) safe to write to a
/// terminal. A carriage return is kept only before a line break, where it
/// cannot send the cursor back over what was written.
#[must_use]
pub fn printable_lines(s: &str) -> Cow<'_, str> {
    escape(s, escaped_in_lines)
}

/// Whether [`printable_lines`] escapes `c` when `next` follows it.
pub(crate) fn escaped_in_lines(c: char, next: Option<char>) -> bool {
    hidden(c) && !matches!((c, next), ('\n' | '\t', _) | ('\r', Some('\n')))
}

/// A control character, or a mark that reorders text.
fn hidden(c: char) -> bool {
    c.is_control() || reorders(c)
}

/// Whether `c` changes the direction text is shown in: the bidirectional
/// embeddings, overrides and isolates, and the invisible direction marks.
/// Such a mark can make a line read other than it is.
#[must_use]
pub fn reorders(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with the characters `escaped(c, next)` picks written as their escape.
fn escape(s: &str, escaped: impl Fn(char, Option<char>) -> bool) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if escaped(c, chars.peek().map(|&(_, n)| n)) {
            out.get_or_insert_with(|| {
                let mut o = String::with_capacity(s.len() + 16);
                o.push_str(&s[..i]);
                o
            })
            .extend(c.escape_default());
        } else if let Some(o) = &mut out {
            o.push(c);
        }
    }
    out.map_or(Cow::Borrowed(s), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_only() {
        assert_eq!(printable("plain \\ \"text\" é"), "plain \\ \"text\" é");
        assert_eq!(printable("a\nb\0c\u{1b}[2J\t\u{85}"), "a\\nb\\u{0}c\\u{1b}[2J\\t\\u{85}");
        // Right-to-left text stays; the marks that reorder a line do not.
        assert_eq!(printable("אב \u{202e}cba\u{2066}x"), "אב \\u{202e}cba\\u{2066}x");
    }

    #[test]
    fn keeps_lines_and_tabs() {
        assert_eq!(printable_lines("a\tb\r\nc\n"), "a\tb\r\nc\n");
        assert_eq!(
            printable_lines("a\u{1b}[2J\rb\u{9b}31m\u{7f}\n"),
            "a\\u{1b}[2J\\rb\\u{9b}31m\\u{7f}\n"
        );
    }
}
