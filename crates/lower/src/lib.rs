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
mod log_limit;
mod mark;
mod nat;
mod negate;
mod ports;
mod rule;
mod sets;

pub use firewall::lower;
pub use iptables::iptables;

use rampart_ir::{Family, Restricted, Ruleset};
use rampart_model::Firewall;

/// A firewall compiled for every backend.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The rich form, for nftables.
    pub rich: Ruleset,
    /// One iptables line per rule, for `iptables-restore`.
    pub v4: Restricted,
    /// For `ip6tables-restore`. Always there: a policy without IPv6
    /// addresses still filters IPv6 (its default applies, as in the nft
    /// inet table), so neither backend leaves a second door open.
    pub v6: Restricted,
}

/// Lower a firewall and run the iptables pass for each family it uses.
#[must_use]
pub fn compile(fw: &Firewall) -> Compiled {
    let rich = lower(fw);
    let v4 = iptables(&rich, Family::V4);
    let v6 = iptables(&rich, Family::V6);
    Compiled { rich, v4, v6 }
}
