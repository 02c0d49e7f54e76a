//! Splits policy text into words, strings, braces, commas and line ends.
//!
//! Addresses, networks and port ranges are all single words here
//! (`2001:db8::/32`, `80:90`, `20001-20010`); the parser and the model give
//! them meaning by context.

use rampart_diag::{Diagnostic, FileId, Span};

use crate::diagnostics;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
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
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) span: Span,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/' | b'+' | b'*' | b'%')
}

pub(crate) fn lex(src: &str, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let tok = |kind, start, end| Token { kind, span: Span::new(file, start, end) };
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\r' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
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
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
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

/// The value of a string token: quotes removed, `\"` and `\\` unescaped.
pub(crate) fn unquote(text: &str) -> String {
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
}
