use std::fmt::Write;

use rampart_diag::Sources;
use rampart_ir::{Family, Restricted, chain_line, format_rule};

use crate::{comment, describe_origin};

/// An `iptables-restore` document for the `filter` table.
///
/// `header` becomes the first comment line. With `sources`, each group of
/// lines is preceded by a comment naming the policy rule it comes from.
#[must_use]
pub fn iptables_restore(
    rs: &Restricted,
    family: Family,
    header: &str,
    sources: Option<&Sources>,
) -> String {
    let mut out = String::new();
    out.push_str(&comment(header));
    out.push_str("*filter\n");
    for c in &rs.chains {
        let _ = writeln!(out, "{}", chain_line(c));
    }
    for c in &rs.chains {
        let mut last = None;
        for r in &c.rules {
            if let Some(sources) = sources
                && r.origin != last
            {
                out.push_str(&comment(&describe_origin(r.origin, sources)));
                last = r.origin;
            }
            let _ = writeln!(out, "-A {} {}", c.name, format_rule(rs, r, family));
        }
    }
    out.push_str("COMMIT\n");
    out
}
