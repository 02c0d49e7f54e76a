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
