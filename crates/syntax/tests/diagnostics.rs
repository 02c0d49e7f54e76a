//! Syntax errors as the user reads them: `file:line:col`, the message, the
//! underlined text with its label, and the help.

use rampart_diag::{Sources, render};

/// Parse `text` as the file `bad.rp` and render what the parser reports.
fn rendered(text: &str) -> String {
    let mut sources = Sources::new();
    let file = sources.add("bad.rp", text);
    let parsed = rampart_syntax::parse(text, file);
    assert!(!parsed.diagnostics.is_empty(), "no diagnostics for {text:?}");
    render(&parsed.diagnostics, &sources, false)
}

#[test]
fn unexpected_character() {
    insta::assert_snapshot!(rendered("host web 10.0.0.1\nhost db 10.0.0.2 $\n"));
}

#[test]
fn unterminated_string() {
    insta::assert_snapshot!(rendered(
        "firewall fw {\n  ruleset main {\n    accept comment \"open\n  }\n}\n"
    ));
}

#[test]
fn expected_a_protocol_then_a_name() {
    insta::assert_snapshot!(rendered("service tcp 22\nhost { 10.0.0.1 }\n"));
}

#[test]
fn unknown_statement_with_a_suggestion() {
    insta::assert_snapshot!(rendered("firewall fw {\n  interfce eth0 10.0.0.1/24\n}\n"));
}

#[test]
fn unknown_rule_word_with_a_suggestion() {
    insta::assert_snapshot!(rendered(
        "firewall fw {\n  ruleset main {\n    accept form lan to web\n  }\n}\n"
    ));
}

#[test]
fn clause_given_twice() {
    insta::assert_snapshot!(rendered(
        "firewall fw {\n  ruleset main {\n    accept from a to b from c\n    deny in out\n  }\n}\n"
    ));
}

#[test]
fn block_never_closed() {
    insta::assert_snapshot!(rendered("firewall fw {\n  ruleset main {\n    accept\n  }\n"));
}

#[test]
fn control_character() {
    insta::assert_snapshot!(rendered("host web 10.0.0.1\u{7}\n"));
}

#[test]
fn bidirectional_mark() {
    // The override shows `deny` as if it were inside the comment string.
    insta::assert_snapshot!(rendered(
        "firewall fw {\n  ruleset main {\n    accept comment \"ok \u{202e} }; \u{2066}\"\n  }\n}\n"
    ));
}
