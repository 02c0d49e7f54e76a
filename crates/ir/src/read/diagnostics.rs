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

/// E0819: a rule added to, or jumping to, a chain the table does not have.
pub(crate) fn no_chain(span: Span, name: &str, table: &str, label: &str) -> Diagnostic {
    Diagnostic::error("E0819", format!("no chain `{name}` in table `{table}`"))
        .with_label(span, label.to_owned())
}

/// E0820: a chain policy other than ACCEPT or DROP.
pub(crate) fn bad_policy(span: Span, policy: &str) -> Diagnostic {
    Diagnostic::error("E0820", format!("unknown chain policy `{policy}`"))
        .with_label(span, "a built-in chain's policy is ACCEPT or DROP")
}

/// E0821: a policy given to a chain that is not built in.
pub(crate) fn policy_on_user_chain(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0821", format!("`{name}` is not a built-in chain of this table"))
        .with_label(span, "only built-in chains have a policy")
}

/// E0822: a command without the chain name or policy it needs.
pub(crate) fn missing_argument(span: Span, command: &str, what: &str) -> Diagnostic {
    Diagnostic::error("E0822", format!("`{command}` needs {what}")).with_label(span, "here")
}

/// E0823: `-I CHAIN N` past the end of the chain.
pub(crate) fn bad_position(span: Span, pos: usize, len: usize) -> Diagnostic {
    Diagnostic::error(
        "E0823",
        format!("cannot insert at position {pos}: the chain has {len} rules"),
    )
    .with_label(span, "here")
}

/// E0824: an iptables command the readers do not apply.
pub(crate) fn unsupported_command(span: Span, command: &str) -> Diagnostic {
    Diagnostic::error("E0824", format!("unsupported iptables command `{command}`"))
        .with_label(span, "expected -A, -I, -N, -P, -F or -X")
}

/// E0825: a shell function of the script that calls itself.
pub(crate) fn recursive_function(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0825", format!("function `{name}` calls itself")).with_label(span, "here")
}

/// E0826: iptables commands in a `case` whose branch is chosen at run time.
pub(crate) fn undecided_case(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0826",
        "iptables commands in a `case` without a `start` branch: which of them run is \
         decided when the script runs",
    )
    .with_label(span, "this case")
}

/// E0827: a variable the script never assigns.
pub(crate) fn undefined_variable(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0827", format!("undefined shell variable `${name}`"))
        .with_label(span, "not assigned earlier in this script")
}

/// E0828: an iptables command under shell logic (`if`, `&&`, a loop).
pub(crate) fn conditional_command(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0828",
        "an iptables command inside shell that decides whether or how it runs",
    )
    .with_label(span, "cannot be read without running the script")
}

/// E0829: an iptables command line with no command option.
pub(crate) fn no_command(span: Span) -> Diagnostic {
    Diagnostic::error("E0829", "iptables command without -A, -I, -N or -P").with_label(span, "here")
}
