//! One firewall of the model into the IR's rich form.

use std::collections::BTreeMap;

use rampart_ir::{Chain, Policy, Ruleset, RulesetBuilder};
use rampart_model::{Action, Firewall};

use crate::hooks;
use crate::{bridge, implicit, mark, nat, rule};

/// Lower one firewall into the IR's rich form: built-in chains INPUT,
/// FORWARD and OUTPUT (policy DROP), then one chain per rule set and hook it
/// is entered from, then temporary chains, in the order they are made.
#[must_use]
pub fn lower(fw: &Firewall) -> Ruleset {
    let reached = hooks::reach(fw);
    let mut rs = RulesetBuilder::new(
        hooks::filter().iter().map(|&h| Chain::builtin(h, Policy::Drop)).collect(),
    );
    implicit::backup_ssh(fw, &mut rs);
    // Bridge guards come before any accept, the established one included:
    // a man in the middle sees packets of established connections too.
    bridge::guards(fw, &mut rs);
    implicit::established(fw, &mut rs);
    // The entry rule set first, so the catch-all lands after its rules and
    // before user chains.
    let entry = fw.options.entry.as_str();
    let order = fw
        .rulesets
        .iter()
        .filter(|r| r.name == entry)
        .chain(fw.rulesets.iter().filter(|r| r.name != entry));
    // Per hook, the chain holding the end of the entry set, where the catch-all goes.
    let mut tails = BTreeMap::new();
    for set in order {
        let Some(from) = reached.get(&set.name) else { continue };
        for &hook in from {
            let name = hooks::chain_name(&set.name, hook, fw, &reached);
            let mut chain = match rs.index(&name) {
                Some(i) => i,
                None => rs.push(Chain::user(&name)),
            };
            for r in &set.rules {
                // a mark is set in the mangle table, before routing
                if hooks::hooks(r, fw).contains(&hook) && !matches!(r.action, Action::Mark(_)) {
                    chain = rule::lower(r, hook, chain, &set.name, fw, &reached, &mut rs);
                }
            }
            if set.name == entry {
                tails.insert(hook, chain);
            }
        }
        if set.name == entry {
            implicit::catch_all(fw, &tails, &mut rs);
        }
    }
    nat::lower(fw, &mut rs);
    mark::lower(fw, &reached, &mut rs);
    rs.finish()
}
