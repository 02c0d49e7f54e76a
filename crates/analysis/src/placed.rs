//! Policy rules of which the compiled rules hold no line: their packets
//! pass no chain their rule set is entered from (`from self` in a rule set
//! entered only from INPUT, traffic through a firewall with `forward off`).

use std::collections::BTreeSet;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::Ruleset;
use rampart_model::{Action, Firewall};

use crate::diagnostics as d;

/// W0490 for each rule of a rule set in use (the entry rule set, or one a
/// rule branches to) that `rs`, the firewall compiled, has no line of.
#[must_use]
pub fn check_placed(fw: &Firewall, rs: &Ruleset) -> Vec<Diagnostic> {
    let placed: BTreeSet<(u32, Span)> = rs
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .filter_map(|r| r.origin.and_then(|o| Some((o.rule, o.span?))))
        .collect();
    let branched: BTreeSet<&str> = fw
        .rulesets
        .iter()
        .flat_map(|s| &s.rules)
        .filter_map(|r| match &r.action {
            Action::Branch(to) => Some(to.as_str()),
            _ => None,
        })
        .collect();
    fw.rulesets
        .iter()
        .filter(|s| s.name == fw.options.entry || branched.contains(s.name.as_str()))
        .flat_map(|s| s.rules.iter().map(move |r| (s, r)))
        .filter(|(_, r)| !placed.contains(&(r.number, r.span)))
        .map(|(s, r)| d::unplaced(r.number, r.span, &s.name, s.name == fw.options.entry))
        .collect()
}
