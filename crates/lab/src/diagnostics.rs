//! Every lab-file diagnostic, one constructor each (codes E05xx).

use rampart_diag::{Diagnostic, Span};

pub(crate) fn expected(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error("E0503", format!("expected {what}")).with_label(span, "here")
}

pub(crate) fn unexpected(span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0504", "unexpected text").with_label(span, why)
}

pub(crate) fn unknown_statement(word: &str, span: Span, allowed: &str) -> Diagnostic {
    Diagnostic::error("E0505", format!("unknown word `{word}`"))
        .with_label(span, "not a statement or keyword here")
        .with_help(format!("expected one of: {allowed}"))
}

pub(crate) fn unclosed_block(open: Span) -> Diagnostic {
    Diagnostic::error("E0506", "block is not closed").with_label(open, "this block has no `}`")
}

pub(crate) fn bad_endpoint(w: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0507", format!("`{w}` is not NODE.INTERFACE"))
        .with_label(span, "expected a host, firewall or bridge name, a dot, an interface name")
        .with_help("interface names are at most 15 characters: letters, digits, `-`, `_`")
}

pub(crate) fn bad_address(span: Span) -> Diagnostic {
    Diagnostic::error("E0508", "not an address").with_label(
        span,
        "expected an address with a prefix length (10.0.0.1/24) or, for routes, an address",
    )
}

pub(crate) fn bad_number(span: Span, what: &str) -> Diagnostic {
    Diagnostic::error("E0509", format!("expected {what}"))
        .with_label(span, "not a valid number here")
}

pub(crate) fn second_firewall(span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0510", "a lab tests one firewall")
        .with_label(span, "second firewall")
        .with_label(first, "the firewall under test")
}

pub(crate) fn no_firewall(span: Span) -> Diagnostic {
    Diagnostic::error("E0511", "the lab names no firewall")
        .with_label(span, "expected a `firewall NAME { policy \"FILE\" ... }` block")
}

pub(crate) fn no_rules(span: Span) -> Diagnostic {
    Diagnostic::error("E0512", "the firewall has no ruleset")
        .with_label(span, "this firewall")
        .with_help(
            "add `policy \"FILE.rp\"` or `rules \"FILE\"` (iptables-save output or a script)",
        )
}

pub(crate) fn duplicate(what: &str, name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0513", format!("{what} `{name}` is defined twice"))
        .with_label(span, "defined again here")
        .with_label(first, "first defined here")
}

pub(crate) fn unknown_node(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0514", format!("unknown node `{name}`"))
        .with_label(span, "no host, firewall (or bridge) of this name")
}

pub(crate) fn unknown_interface(node: &str, iface: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0515", format!("`{node}` has no interface `{iface}`"))
        .with_label(span, "not declared")
        .with_help(format!("declare `interface {iface} ADDRESS/LEN` in `{node}`"))
}

pub(crate) fn endpoint_reused(span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0516", "an interface is one end of one link")
        .with_label(span, "linked again here")
        .with_label(first, "first linked here")
}

pub(crate) fn unknown_user(name: &str, span: Span, node: &str) -> Diagnostic {
    Diagnostic::error("E0517", format!("unknown user `{name}`"))
        .with_label(span, format!("not a `user` of `{node}`"))
        .with_help(format!("add `user {name} UID` to `{node}`, or write `uid N`"))
}

pub(crate) fn no_address(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0518", format!("`{name}` has no address to send to"))
        .with_label(span, "this node's interfaces have no address")
}

pub(crate) fn bad_mitm(span: Span) -> Diagnostic {
    Diagnostic::error("E0519", "the attacker must be another host or the firewall")
        .with_label(span, "the sender cannot be its own man in the middle")
}
