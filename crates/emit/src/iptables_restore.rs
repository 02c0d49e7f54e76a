use std::fmt::Write;

use rampart_diag::Sources;
use rampart_ir::{Family, Restricted, chain_line, format_rule};

use crate::{comment, describe_origin};

/// An `iptables-restore` document: the `filter` table, then `nat` when the
/// ruleset has NAT rules.
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
    for table in rs.tables() {
        let _ = writeln!(out, "*{}", table.name());
        for c in rs.table(table) {
            let _ = writeln!(out, "{}", chain_line(c));
        }
        for c in rs.table(table) {
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
    }
    out
}
