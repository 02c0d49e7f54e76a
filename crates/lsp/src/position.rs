//! Byte offsets in a document and the editor's positions (line, and
//! column in UTF-16 code units, the protocol's default).

use lsp_types::{Position, Range};
use rampart_diag::Span;

pub(crate) fn position(text: &str, offset: usize) -> Position {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[start..].encode_utf16().count();
    Position::new(to_u32(line), to_u32(character))
}

pub(crate) fn range(text: &str, span: Span) -> Range {
    Range::new(position(text, span.start as usize), position(text, span.end as usize))
}

pub(crate) fn offset(text: &str, at: Position) -> usize {
    let mut start = 0;
    for _ in 0..at.line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line = text[start..].split('\n').next().unwrap_or_default();
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units >= at.character as usize {
            return start + i;
        }
        units += c.len_utf16();
    }
    start + line.len()
}

/// The word (a name, an address) that `offset` is in or just after.
pub(crate) fn word_at(text: &str, offset: usize) -> Option<&str> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b"_-.:/+*%".contains(&b);
    let bytes = text.as_bytes();
    let mut start = offset.min(bytes.len());
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset.min(bytes.len());
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then(|| &text[start..end])
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_and_round_trip() {
        let text = "host a 10.0.0.1 # é\u{1F600}x\nhost b";
        let x = text.find('x').unwrap();
        assert_eq!(position(text, x), Position::new(0, 21));
        assert_eq!(offset(text, Position::new(0, 21)), x);
        assert_eq!(offset(text, Position::new(1, 5)), text.rfind('b').unwrap());
        assert_eq!(word_at(text, text.rfind('b').unwrap() + 1), Some("b"));
        assert_eq!(word_at(text, 8), Some("10.0.0.1"));
    }
}
