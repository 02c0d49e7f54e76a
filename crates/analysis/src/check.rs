//! The anomalies of a firewall's compiled ruleset as diagnostics on its
//! policy rules: each IR rule's origin names the policy rule and span.

use std::collections::{BTreeMap, BTreeSet};

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{Family, Ruleset};

use crate::anomaly::{Anomaly, Kind, per_family};
use crate::diagnostics as d;

/// A policy rule: its number and where it is written.
type PolicyRule = (u32, Option<Span>);

/// Diagnostics for the anomalies between different policy rules, once
/// per pair of policy rules (a rule compiles to several IR rules, in
/// several chains). Anomalies of rules without a source span (rules read
/// from the kernel) or with an implicit rule are left to [`crate::anomalies`].
///
/// A policy rule is shadowed or redundant only when every IR rule it
/// compiles to is, in every chain and family it decides packets in: a
/// rule redundant in OUTPUT may still decide what FORWARD sees.
#[must_use]
pub fn check(rs: &Ruleset) -> Vec<Diagnostic> {
    let found = per_family(rs);
    let origin_at = |c: usize, i: usize| rs.chains[c].rules[i].origin.map(|o| (o.rule, o.span));
    let mut deciding: BTreeMap<PolicyRule, usize> = BTreeMap::new();
    for &(c, i, _) in &found.deciding {
        *deciding.entry(origin_at(c, i).unwrap_or_default()).or_default() += 1;
    }
    let index: BTreeMap<&str, usize> =
        rs.chains.iter().enumerate().map(|(c, ch)| (ch.name.as_str(), c)).collect();
    // (chain, rule, family) of the lines found shadowed or redundant
    let mut void: BTreeMap<PolicyRule, BTreeSet<(usize, usize, Family)>> = BTreeMap::new();
    for (family, a) in &found.found {
        if matches!(a.kind, Kind::Shadowed | Kind::Redundant) {
            let c = index[a.chain.as_str()];
            let key = origin_at(c, a.rule).unwrap_or_default();
            void.entry(key).or_default().insert((c, a.rule, *family));
        }
    }
    let all_void = |key: PolicyRule| {
        void.get(&key).map_or(0, BTreeSet::len) == deciding.get(&key).copied().unwrap_or(0)
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in found.anomalies() {
        let Some(chain) = rs.chain(&a.chain) else { continue };
        let origin = |i: usize| chain.rules[i].origin.map(|o| (o.rule, o.span));
        let Some((number, Some(span))) = origin(a.rule) else { continue };
        if number == 0 {
            continue;
        }
        if matches!(a.kind, Kind::Shadowed | Kind::Redundant) && !all_void((number, Some(span))) {
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
