//! Every problem the .fwb importer reports, one constructor each.

use rampart_diag::{Diagnostic, Span};

/// Something of the file Rampart cannot express: left out of the policy
/// and written in its place as a comment.
pub(crate) fn left_out(place: &str, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E1101", format!("{place}: {what} has no Rampart equivalent"))
        .with_label(span, "left out; a comment in the output stands in its place")
        .with_help("rewrite this part by hand after reading the comment in the imported policy")
}

/// The XML is not a Firewall Builder object database.
pub(crate) fn not_fwb(why: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E1103", format!("not a Firewall Builder file: {why}"))
        .with_label(span, "expected <FWObjectDatabase> (an .fwb file)")
}
