//! Writing policy text from a program (importers): the one way to turn a
//! name into a word and a text into a string the lexer reads back as it was.

/// `text` as a double-quoted string, `"` and `\` escaped; `None` when it
/// holds a control character or a bidirectional mark, which a policy
/// string cannot carry.
#[must_use]
pub fn quote(text: &str) -> Option<String> {
    if text.chars().any(|c| c.is_control() || rampart_diag::reorders(c)) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Some(out)
}

/// `text` as a name: letters, digits, `_`, `-` and `.` kept, anything else
/// `_`; a leading `_` added when it would not start with a letter or `_`
/// (so it never reads as an address or a number) or is a reserved word.
#[must_use]
pub fn name(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' })
        .collect();
    let starts_well = out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
    if !starts_well || matches!(out.as_str(), "any" | "self") {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Item;

    #[test]
    fn quoted_text_reads_back() {
        for text in ["plain", "say \"hi\"", "back\\slash\\", "", "RULE %N -- %A "] {
            let src = format!("include {}\n", quote(text).unwrap());
            let p = crate::parse(&src, rampart_diag::FileId(0));
            assert!(p.diagnostics.is_empty(), "{src}");
            let Item::Include(t) = &p.ast.items[0] else { panic!() };
            assert_eq!(t.value, text);
        }
        assert_eq!(quote("two\nlines"), None);
        assert_eq!(quote("admin\u{202e}"), None);
    }

    #[test]
    fn names_are_words() {
        assert_eq!(name("fw template 3"), "fw_template_3");
        assert_eq!(name("10.0.0.1"), "_10.0.0.1");
        assert_eq!(name("any"), "_any");
        assert_eq!(name("Policy"), "Policy");
        assert_eq!(name("a/b:c"), "a_b_c");
    }
}
