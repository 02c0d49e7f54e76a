//! The anomalies of a firewall's compiled ruleset as diagnostics on its
//! policy rules: each IR rule's origin names the policy rule and span.

use std::collections::BTreeSet;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::Ruleset;

use crate::anomaly::{Anomaly, Kind, anomalies};
use crate::diagnostics as d;

/// Diagnostics for the anomalies between different policy rules, once
/// per pair of policy rules (a rule compiles to several IR rules, in
/// several chains). Anomalies of rules without a source span (rules read
/// from the kernel) or with an implicit rule are left to [`anomalies`].
#[must_use]
pub fn check(rs: &Ruleset) -> Vec<Diagnostic> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in anomalies(rs) {
        let Some(chain) = rs.chain(&a.chain) else { continue };
        let origin = |i: usize| chain.rules[i].origin.map(|o| (o.rule, o.span));
        let Some((number, Some(span))) = origin(a.rule) else { continue };
        if number == 0 {
            continue;
        }
        let mut others: Vec<(u32, Option<Span>)> =
            a.others.iter().filter_map(|&i| origin(i)).collect();
        others.dedup_by_key(|o| o.0);
        // Implicit rules (number 0) are the design, not the author's choice.
        if others.iter().any(|o| o.0 == number || o.0 == 0) || others.is_empty() {
            continue;
        }
        let key: (Kind, u32, Vec<u32>) = (a.kind, number, others.iter().map(|o| o.0).collect());
        if !seen.insert(key) {
            continue;
        }
        out.push(diagnostic(&a, number, span, &others));
    }
    out
}

fn diagnostic(a: &Anomaly, number: u32, span: Span, others: &[(u32, Option<Span>)]) -> Diagnostic {
    match a.kind {
        Kind::Shadowed => d::shadowed(number, span, others),
        Kind::Redundant => d::redundant(number, span, others),
        Kind::Correlation => d::correlated(number, span, others[0]),
        // Reported on the general (later) rule.
        Kind::Generalization => match others[0] {
            (n, Some(s)) => d::generalizes(n, s, (number, Some(span))),
            (n, None) => d::generalizes(n, span, (number, None)),
        },
    }
}
