//! Every problem the .fwb importer reports, one constructor each.

use rampart_diag::{Diagnostic, Span};

/// Something of the file Rampart cannot express: left out of the policy
/// and written in its place as a comment.
pub(crate) fn left_out(place: &str, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E1101", format!("{place}: {what} has no Rampart equivalent"))
        .with_label(span, "left out; a comment in the output stands in its place")
        .with_help("rewrite this part by hand after reading the comment in the imported policy")
}

/// A part whose meaning Firewall Builder's own compiler does not keep:
/// left out, as carrying over either reading would change a firewall
/// silently.
pub(crate) fn miscompiled(place: &str, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E1104", format!("{place}: {what}"))
        .with_label(span, "left out; a comment in the output stands in its place")
        .with_help(
            "the rule says one thing and the firewall fwb_ipt compiled from it did another: \
             decide which was meant and write the rule by hand",
        )
}

/// The XML is not a Firewall Builder object database.
pub(crate) fn not_fwb(why: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E1103", format!("not a Firewall Builder file: {why}"))
        .with_label(span, "expected <FWObjectDatabase> (an .fwb file)")
}
