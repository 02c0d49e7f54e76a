//! Names that leave the policy: a firewall's name becomes a file name
//! (`compile --all -o DIR`), so it may not climb out of the directory.

use rampart_diag::Diagnostic;

use crate::{Firewall, diagnostics};

/// Letters, digits, `_`, `-` and `.`, not starting with `.` or `-`:
/// never a path, never `..`, never an option.
fn file_safe(name: &str) -> bool {
    name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    if !file_safe(&fw.name) {
        diags.push(diagnostics::bad_name(
            "firewall",
            &fw.name,
            fw.span,
            "it names the compiled files: up to 64 letters, digits, `_`, `-` and `.`, \
             starting with a letter, digit or `_`",
        ));
    }
}
