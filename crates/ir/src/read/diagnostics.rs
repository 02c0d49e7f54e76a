//! The readers' diagnostics, one constructor per code.

use rampart_diag::{Diagnostic, Span};

/// E0801: a line or word of an imported ruleset that cannot be read.
pub(crate) fn unreadable(span: Span, message: impl Into<String>, label: &str) -> Diagnostic {
    Diagnostic::error("E0801", message).with_label(span, label)
}

/// W0801: something read but suspicious (it is kept as written).
pub(crate) fn doubtful(span: Span, message: impl Into<String>, label: &str) -> Diagnostic {
    Diagnostic::warning("W0801", message).with_label(span, label)
}

/// E0802: the file is not a ruleset of any format the readers know. Its
/// content is not shown: a mistyped path must not print a secret.
pub(crate) fn not_a_ruleset(name: &str, what: super::Unrecognised) -> Diagnostic {
    Diagnostic::error("E0802", format!("`{name}` is not an iptables ruleset: it looks like {what}"))
        .with_help(
            "give iptables-save output or a script of $IPTABLES commands \
             (`--format save|script` forces one)",
        )
}

/// E0810: `trace --rules` was given nft JSON that does not parse.
pub(crate) fn nft_not_json(span: Span, err: &serde_json::Error) -> Diagnostic {
    Diagnostic::error("E0810", format!("not an nft JSON ruleset: {err}"))
        .with_label(span, "expected `nft -j list ruleset` output")
}

/// E0811: an object of nft JSON not in the shape libnftables-json gives.
pub(crate) fn nft_bad_object(span: Span, key: &str, err: &serde_json::Error) -> Diagnostic {
    Diagnostic::error("E0811", format!("nft ruleset: a `{key}` object: {err}"))
        .with_label(span, "not in the shape libnftables-json describes")
}

/// E0812: a `*table` line inside a table not yet committed.
pub(crate) fn table_in_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0812", "table started before the previous one was committed")
        .with_label(span, "add COMMIT before this line")
}

/// E0813: a `*table` line of a table netfilter does not have.
pub(crate) fn unknown_table(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0813", format!("unknown table `{name}`"))
        .with_label(span, "tables are filter, nat, mangle, raw and security")
}

/// E0814: `COMMIT` with no table open.
pub(crate) fn commit_outside_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0814", "COMMIT outside a table")
        .with_label(span, "no `*table` line before it")
}

/// E0815: a chain or rule line before any `*table` line.
pub(crate) fn line_outside_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0815", "line outside a table")
        .with_label(span, "expected `*filter` (or another table) first")
}

/// E0816: a `:` line with no chain name.
pub(crate) fn chain_without_name(span: Span) -> Diagnostic {
    Diagnostic::error("E0816", "chain line without a name")
        .with_label(span, "expected `:NAME POLICY [0:0]`")
}

/// E0817: `[PACKETS:BYTES]` counters that are not two numbers.
pub(crate) fn bad_counters(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0817", format!("bad counters `{text}`"))
        .with_label(span, "expected `[PACKETS:BYTES]`")
}

/// E0818: a table whose `COMMIT` never comes: iptables-restore would load
/// none of it.
pub(crate) fn never_committed(span: Span) -> Diagnostic {
    Diagnostic::error("E0818", "table is never committed")
        .with_label(span, "add COMMIT at the end of the table")
}
