//! Forms that nest chains deeper than the kernel follows, refused before
//! anything loads.

use rampart_diag::Diagnostic;
use rampart_ir::Ruleset;
use rampart_ir::depth::{MAX_JUMPS, deepest};

use crate::diagnostics as d;

/// E0276 for the forms (`name`, ruleset) nesting deeper than the kernel
/// follows, once per policy rule blamed.
#[must_use]
pub fn check_depth(forms: &[(&str, &Ruleset)]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    let mut blamed = Vec::new();
    for (name, rs) in forms {
        let (depth, at) = deepest(rs);
        if depth > MAX_JUMPS && !blamed.contains(&at) {
            blamed.push(at);
            out.push(d::too_deep(name, depth, MAX_JUMPS, at));
        }
    }
    out
}
