//! Splits text into words, strings, braces, commas and line ends: the one
//! lexer of Rampart's languages (the policy language and lab files).
//!
//! Addresses, networks and port ranges are all single words here
//! (`2001:db8::/32`, `80:90`, `20001-20010`); the parser and the model give
//! them meaning by context.

use rampart_diag::{Diagnostic, FileId, Span, reorders};

use crate::diagnostics;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Word,
    /// A double-quoted string; its span includes the quotes.
    Str,
    LBrace,
    RBrace,
    Comma,
    Newline,
    Eof,
}

#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub kind: Kind,
    pub span: Span,
}

impl Token {
    /// The token's text in `src`, the text it was lexed from.
    #[must_use]
    pub fn text(self, src: &str) -> &str {
        &src[self.span.start as usize..self.span.end as usize]
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/' | b'+' | b'*' | b'%')
}

/// The tokens of `src`, ending with [`Kind::Eof`]; lexical errors go to
/// `diags` (and the text in error is skipped).
pub fn lex(src: &str, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    lex_with_comments(src, file, diags, &mut Vec::new())
}

/// [`lex`], keeping the span of every `#` comment in `comments` (the
/// formatter's trivia; the parser never sees comments).
pub(crate) fn lex_with_comments(
    src: &str,
    file: FileId,
    diags: &mut Vec<Diagnostic>,
    comments: &mut Vec<Span>,
) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let tok = |kind, start, end| Token { kind, span: Span::new(file, start, end) };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                let start = i;
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += control_check(src, i, false, file, diags);
                }
                comments.push(Span::new(file, start, i));
            }
            b'\n' | b';' => {
                tokens.push(tok(Kind::Newline, i, i + 1));
                i += 1;
            }
            b'{' => {
                tokens.push(tok(Kind::LBrace, i, i + 1));
                i += 1;
            }
            b'}' => {
                tokens.push(tok(Kind::RBrace, i, i + 1));
                i += 1;
            }
            b',' => {
                tokens.push(tok(Kind::Comma, i, i + 1));
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                        if i == bytes.len() || bytes[i] == b'\n' {
                            break;
                        }
                    }
                    i += control_check(src, i, true, file, diags);
                }
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                    tokens.push(tok(Kind::Str, start, i));
                } else {
                    i = i.min(bytes.len());
                    diags.push(diagnostics::unterminated_string(Span::new(file, start, i)));
                }
            }
            b if is_word_byte(b) => {
                let start = i;
                while i < bytes.len() && is_word_byte(bytes[i]) {
                    i += 1;
                }
                tokens.push(tok(Kind::Word, start, i));
            }
            _ if src[i..].starts_with(|c: char| c.is_control() || reorders(c)) => {
                i += control_check(src, i, false, file, diags);
            }
            _ => {
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                diags.push(diagnostics::unexpected_char(Span::new(file, i, i + len)));
                i += len;
            }
        }
    }
    tokens.push(tok(Kind::Eof, bytes.len(), bytes.len()));
    tokens
}

/// Reports a control character or a bidirectional mark at byte `i`;
/// returns the length of the character there. Tabs and carriage returns
/// pass only in `#` comments (`in_string` false): a NUL or a line break
/// inside a string would cut the generated line it lands on, dropping its
/// verdict. A bidirectional mark can make a rule read other than it does.
fn control_check(
    src: &str,
    i: usize,
    in_string: bool,
    file: FileId,
    diags: &mut Vec<Diagnostic>,
) -> usize {
    let c = src[i..].chars().next().unwrap_or(' ');
    if reorders(c) {
        diags.push(diagnostics::bidi_char(c, Span::new(file, i, i + c.len_utf8())));
    } else if c.is_control() && (in_string || !matches!(c, '\t' | '\r')) {
        diags.push(diagnostics::control_char(c, Span::new(file, i, i + c.len_utf8())));
    }
    c.len_utf8()
}

/// The value of a string token: quotes removed, `\"` and `\\` unescaped.
#[must_use]
pub fn unquote(text: &str) -> String {
    let inner = &text[1..text.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        let mut d = vec![];
        lex(src, FileId(0), &mut d).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn words_keep_addresses_whole() {
        use Kind::*;
        assert_eq!(
            kinds("host a 2001:db8::1/64, 10.0.0.1 # c\n}"),
            vec![Word, Word, Word, Comma, Word, Newline, RBrace, Eof]
        );
    }

    #[test]
    fn strings_and_errors() {
        let mut d = vec![];
        let t = lex("comment \"a \\\"b\\\"\" \"open", FileId(0), &mut d);
        assert_eq!(t[1].kind, Kind::Str);
        assert_eq!(unquote("\"a \\\"b\\\"\""), "a \"b\"");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, "E0002");
    }

    #[test]
    fn control_characters_are_refused_everywhere() {
        for src in [
            "comment \"x\0\"",
            "comment \"x\\\0\"",
            "comment \"a\tb\"",
            "log-prefix \"\u{1b}[31m\"",
            "deny # note \0\n",
            "deny \u{7}",
            "comment \"\u{85}\"",
        ] {
            let mut d = vec![];
            lex(src, FileId(0), &mut d);
            assert_eq!(d.len(), 1, "{src:?}: {d:?}");
            assert_eq!(d[0].code, "E0008", "{src:?}");
        }
        let mut d = vec![];
        lex("deny\t# a\tb\r\n", FileId(0), &mut d);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn bidirectional_marks_are_refused_everywhere() {
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}']
        {
            for src in [
                format!("comment \"admin{c}\""),
                format!("comment \"a\\{c}\""),
                format!("deny # note {c} x\n"),
                format!("host a{c}b 10.0.0.1"),
            ] {
                let mut d = vec![];
                lex(&src, FileId(0), &mut d);
                assert_eq!(d.len(), 1, "{src:?}: {d:?}");
                assert_eq!(d[0].code, "E0740", "{src:?}");
            }
        }
        let mut d = vec![];
        lex("comment \"אב\" # שלום\n", FileId(0), &mut d);
        assert!(d.is_empty(), "{d:?}");
    }
}
