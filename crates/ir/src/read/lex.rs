//! Splits one line into shell words, keeping each word's byte span.
//!
//! This follows POSIX shell quoting as `shlex` does (double quotes allow `\"`,
//! `\\`, `\$`; single quotes are literal; an unquoted backslash escapes the
//! next character). We split by hand rather than with `shlex::split` because
//! diagnostics must point at the offending word; a property test checks that
//! both agree on the words.

use super::diagnostics::{self as d, Make, Unreadable};

/// One word of a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    /// Byte offsets in the file.
    pub start: usize,
    pub end: usize,
    /// Whether any part was single-quoted (no `$` expansion there).
    pub literal: bool,
}

/// The two quoting dialects this reader meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quoting {
    /// A shell script: an unquoted `#` at the start of a word ends the line;
    /// in double quotes only `\"`, `\\`, `\$` and `` \` `` are escapes.
    Shell,
    /// iptables-restore input: a backslash escapes any character, also in
    /// double quotes (iptables-save writes `\'` in comments).
    Restore,
}

/// Splits `line` (starting at byte `offset` of its file). An error spans
/// from where the line stops making sense to its end.
pub(crate) fn split(line: &str, offset: usize, quoting: Quoting) -> Result<Vec<Word>, Unreadable> {
    let rest = |i: usize, text: &str, make: Make| Unreadable {
        start: offset + i,
        end: offset + line.len(),
        text: text.to_owned(),
        make,
    };
    let comments = quoting == Quoting::Shell;
    let mut words = Vec::new();
    let mut chars = line.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, first)) = chars.peek() else { break };
        if comments && first == '#' {
            break;
        }
        let mut text = String::new();
        let mut literal = false;
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            chars.next();
            end = i + c.len_utf8();
            match c {
                '"' => loop {
                    match chars.next() {
                        Some((j, '"')) => {
                            end = j + 1;
                            break;
                        }
                        Some((_, '\\')) => match chars.next() {
                            Some((_, e @ ('"' | '\\' | '$' | '`'))) => text.push(e),
                            Some((_, e)) if quoting == Quoting::Restore => text.push(e),
                            Some((_, '\n')) => {}
                            Some((_, e)) => {
                                text.push('\\');
                                text.push(e);
                            }
                            None => return Err(rest(i, "\"", d::unterminated_quote)),
                        },
                        Some((_, e)) => text.push(e),
                        None => return Err(rest(i, "\"", d::unterminated_quote)),
                    }
                },
                '\'' => {
                    literal = true;
                    loop {
                        match chars.next() {
                            Some((j, '\'')) => {
                                end = j + 1;
                                break;
                            }
                            Some((_, e)) => text.push(e),
                            None => return Err(rest(i, "'", d::unterminated_quote)),
                        }
                    }
                }
                '\\' => match chars.next() {
                    Some((j, e)) => {
                        end = j + e.len_utf8();
                        text.push(e);
                    }
                    None => return Err(rest(i, "\\", d::trailing_backslash)),
                },
                c => text.push(c),
            }
        }
        words.push(Word { text, start: offset + start, end: offset + end, literal });
    }
    Ok(words)
}

/// The first control character of `line` (which starts at byte `offset`
/// of its file), as an error like [`split`]'s. Tabs separate words; any
/// other control character, a NUL above all, would cut the line it is
/// written back on and drop the rule's target.
pub(crate) fn control_char(line: &str, offset: usize) -> Result<(), Unreadable> {
    match line.char_indices().find(|&(_, c)| c.is_control() && c != '\t') {
        Some((i, c)) => Err(Unreadable {
            start: offset + i,
            end: offset + line.len(),
            text: c.escape_unicode().to_string(),
            make: d::control_character,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(line: &str) -> Vec<String> {
        split(line, 0, Quoting::Shell).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn quotes_and_spans() {
        let w = split(r#"-A X --comment "a \"b\" c" -j 'LOG x'"#, 10, Quoting::Restore).unwrap();
        assert_eq!(w[3].text, r#"a "b" c"#);
        assert_eq!((w[3].start, w[3].end), (25, 36));
        assert_eq!(w[5].text, "LOG x");
        assert!(w[5].literal);
        assert_eq!(texts("echo a # b"), ["echo", "a"]);
        assert!(split("a \"b", 0, Quoting::Restore).is_err());
        let w = split(r#"--comment "it\'s""#, 0, Quoting::Restore).unwrap();
        assert_eq!(w[1].text, "it's");
        let w = split(r#"echo "it\'s""#, 0, Quoting::Shell).unwrap();
        assert_eq!(w[1].text, r"it\'s");
    }

    proptest! {
        // Our splitter agrees with shlex on what iptables-save writes.
        #[test]
        fn agrees_with_shlex(parts in prop::collection::vec("[ -~]{0,12}", 1..5)) {
            let line: Vec<String> = parts.iter().map(|p| crate::iptables::quote(p)).collect();
            let line = line.join(" ");
            let ours: Vec<String> = split(&line, 0, Quoting::Shell).unwrap().into_iter().map(|w| w.text).collect();
            prop_assert_eq!(Some(ours), shlex::split(&line));
        }
    }
}
