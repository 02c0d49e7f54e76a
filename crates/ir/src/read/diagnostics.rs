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
