//! Marks: set in the mangle table's PREROUTING chain, before routing, so
//! that policy routing (`ip rule fwmark`) sees them. Every rule of the entry
//! rule set that sets a mark (`mark N`, or `mark N` beside another action)
//! marks there, in the order written, every packet its addresses, services
//! and interfaces match — of any state, since each packet of a connection
//! is routed.

use std::collections::{BTreeMap, BTreeSet};

use rampart_ir::{Chain, Hook, Policy, RulesetBuilder, Table};
use rampart_model::{Action, Firewall, Rule};

/// Adds the mangle table's PREROUTING chain when a rule sets a mark.
pub(crate) fn lower(
    fw: &Firewall,
    reached: &BTreeMap<String, BTreeSet<Hook>>,
    rs: &mut RulesetBuilder,
) {
    let Some(entry) = fw.ruleset(&fw.options.entry) else { return };
    let marking: Vec<Rule> = entry
        .rules
        .iter()
        .filter_map(|r| {
            let set = match r.action {
                Action::Mark(m) => m,
                _ => r.mark?,
            };
            // only the mark: the rule's verdict, log and limits act in filter
            Some(Rule {
                action: Action::Mark(set),
                mark: None,
                log: false,
                limit: None,
                conn_limit: None,
                stateless: true,
                ..r.clone()
            })
        })
        .collect();
    if marking.is_empty() {
        return;
    }
    let mut chain = rs.push(Chain::base(Table::Mangle, Hook::Prerouting, Policy::Accept));
    for r in &marking {
        chain = crate::rule::lower(r, Hook::Prerouting, chain, &entry.name, fw, reached, rs);
    }
}
