//! Lowering: the firewall model into the Ruleset IR.
//!
//! [`lower`] turns one firewall of the model into the IR's rich form
//! (sets, log-then-verdict rules), placing each policy rule in the built-in
//! chains its direction, interface and addresses call for, as Firewall
//! Builder does. [`iptables`] then rewrites the rich form into one
//! iptables line per rule for one address family: negation through
//! temporary chains, logging through `RULE_N` chains, sets expanded.
//!
//! Start reading at `firewall.rs`; `hooks.rs` decides chains, `rule.rs`
//! builds a rule's matches, `implicit.rs` the rules Rampart adds itself.

mod bridge;
mod firewall;
mod hooks;
mod implicit;
mod iptables;
mod rule;

pub use firewall::lower;
pub use iptables::iptables;

use rampart_ir::{Family, Match, Ruleset};
use rampart_model::Firewall;

/// A firewall compiled for every backend.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The rich form, for nftables.
    pub rich: Ruleset,
    /// One iptables line per rule, for `iptables-restore`.
    pub v4: Ruleset,
    /// For `ip6tables-restore`; `None` when the firewall has no IPv6
    /// address and no rule names one, so IPv6 is left alone.
    pub v6: Option<Ruleset>,
}

/// Lower a firewall and run the iptables pass for each family it uses.
#[must_use]
pub fn compile(fw: &Firewall) -> Compiled {
    let rich = lower(fw);
    let v4 = iptables(&rich, Family::V4);
    let v6 = uses_ipv6(fw, &rich).then(|| iptables(&rich, Family::V6));
    Compiled { rich, v4, v6 }
}

fn uses_ipv6(fw: &Firewall, rs: &Ruleset) -> bool {
    fw.interfaces.iter().flat_map(|i| &i.addrs).any(|a| matches!(a, ipnet::IpNet::V6(_)))
        || rs
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            // rules Rampart adds for IPv6's sake do not make a policy IPv6
            .filter(|r| r.origin.is_none_or(|o| o.rule != 0))
            .flat_map(|r| &r.matches)
            .any(|m| match m {
                Match::Src(a) | Match::Dst(a) => {
                    a.set.items.iter().any(|i| i.family() == Family::V6)
                }
                Match::Icmp { v6: true, .. } => true,
                _ => false,
            })
}
