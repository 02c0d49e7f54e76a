//! Every syntax error, in one place.

use rampart_diag::{Diagnostic, Span};

pub(crate) fn unexpected_char(span: Span) -> Diagnostic {
    Diagnostic::error("E0001", "unexpected character")
        .with_label(span, "not part of the language")
        .with_help("names use letters, digits, `_`, `-` and `.`; text goes in double quotes")
}

pub(crate) fn unterminated_string(span: Span) -> Diagnostic {
    Diagnostic::error("E0002", "unterminated string")
        .with_label(span, "this string has no closing `\"` on its line")
}

pub(crate) fn expected(what: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0003", format!("expected {what}, found {found}"))
        .with_label(span, format!("{what} expected here"))
}

/// `known` lists the statements of the place; its keywords (lower-case
/// words of three letters or more) are the candidates of "did you mean".
pub(crate) fn unknown_statement(word: &str, span: Span, context: &str, known: &str) -> Diagnostic {
    let keywords = known
        .split(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .filter(|w| w.len() >= 3 && *w != "option");
    Diagnostic::error("E0004", format!("unknown statement `{word}` {context}"))
        .with_label(span, "not a statement here")
        .with_help(format!("expected one of: {known}"))
        .suggest(word, keywords)
}

pub(crate) fn unknown_rule_word(word: &str, span: Span) -> Diagnostic {
    const HELP: &str = "a rule is an action (accept, deny, reject, branch NAME, continue, return, \
                        antispoof IFACE, mark N) followed by clauses: from, to, service, on, in, \
                        out, user, days, time, tcp-flags, marked, mark, limit, connlimit, \
                        log [prefix \"...\"], log-limit, stateless, disabled, number, \
                        comment \"...\"";
    // The clauses listed in the help are the candidates of "did you mean".
    let clauses = HELP.rsplit(": ").next().unwrap_or("").split(", ");
    Diagnostic::error("E0005", format!("unexpected `{word}` in rule"))
        .with_label(span, "not a rule clause")
        .with_help(HELP)
        .suggest(word, clauses.filter_map(|c| c.split(' ').next()))
}

/// `comment_after_log`: the rule's first comment was a bare string right
/// after `log`, which reads like a log prefix but is not one.
pub(crate) fn duplicate_clause(word: &str, span: Span, comment_after_log: bool) -> Diagnostic {
    let (message, help) = if matches!(word, "in" | "out") {
        (
            "a rule has one direction, `in` or `out`".to_owned(),
            "leave out both `in` and `out` to match both directions",
        )
    } else if comment_after_log {
        (
            "a rule has one comment".to_owned(),
            "the string after `log` was read as the rule's comment; a log prefix of the \
             rule's own is `log prefix \"TEXT\"` (else the firewall's `log-prefix` applies); \
             drop that string or the second comment",
        )
    } else if word == "comment" || word.starts_with('"') {
        ("a rule has one comment".to_owned(), "join the two comments into one string")
    } else {
        (
            format!("`{word}` given twice in one rule"),
            "list several values with commas: `from a, b`",
        )
    };
    Diagnostic::error("E0006", message).with_label(span, "second time here").with_help(help)
}

pub(crate) fn unclosed_block(span: Span) -> Diagnostic {
    Diagnostic::error("E0007", "block is never closed")
        .with_label(span, "this `{` has no matching `}`")
}

pub(crate) fn control_char(c: char, span: Span) -> Diagnostic {
    Diagnostic::error("E0008", format!("control character {} in the text", c.escape_unicode()))
        .with_label(span, "not allowed here")
        .with_help("strings and comments hold printable text only; remove the character")
}

pub(crate) fn bidi_char(c: char, span: Span) -> Diagnostic {
    Diagnostic::error("E0740", format!("bidirectional mark {} in the text", c.escape_unicode()))
        .with_label(span, "reorders the text around it")
        .with_help("remove the character: it can make a line read other than it does")
}
