//! The firewall's `nat` section into the nat table.
//!
//! The built-in chains only jump to Rampart's own chains (`RAMPART_PRE` in
//! PREROUTING for dnat and redirect, `RAMPART_POST` in POSTROUTING for
//! masquerade and snat), so that a deploy replaces those and leaves other
//! software's NAT rules (Docker's, libvirt's) where they are. A no-nat rule
//! accepts in both, which ends NAT processing for the connection.

use rampart_ir::{
    Chain, ChainId, Hook, IfaceMatch, Match, Origin, Policy, Rule as IrRule, RulesetBuilder, Table,
    Target,
};
use rampart_model::{Firewall, NatAction, NatRule};

use crate::rule::{addr, merge_atoms, service_matches};

/// Rampart's chain for the NAT rules of each hook.
const CHAINS: [(Hook, &str); 2] =
    [(Hook::Prerouting, "RAMPART_PRE"), (Hook::Postrouting, "RAMPART_POST")];

/// Adds the nat table's chains, when the firewall has NAT rules.
pub(crate) fn lower(fw: &Firewall, rs: &mut RulesetBuilder) {
    if fw.nat.is_empty() {
        return;
    }
    let mut ours: Vec<(Hook, ChainId)> = Vec::new();
    for (hook, name) in CHAINS {
        let mut base = Chain::base(Table::Nat, hook, Policy::Accept);
        let id = rs.id(name);
        base.rules.push(IrRule::new(vec![], Target::Jump(id)));
        rs.push(base);
    }
    for (hook, name) in CHAINS {
        ours.push((hook, rs.push(Chain::user_in(Table::Nat, name))));
    }
    for n in &fw.nat {
        for &(hook, id) in &ours {
            let rules = lower_rule(n, hook, fw);
            rs.at_mut(id).rules.extend(rules);
        }
    }
}

/// The nat table's rules for one NAT rule in one hook (none when it does
/// not act there).
fn lower_rule(n: &NatRule, hook: Hook, fw: &Firewall) -> Vec<IrRule> {
    let target = match (&n.action, hook) {
        (NatAction::Dnat(to), Hook::Prerouting) => Target::Dnat(*to),
        (NatAction::Redirect(p), Hook::Prerouting) => Target::Redirect(Some(*p)),
        (NatAction::Snat(to), Hook::Postrouting) => Target::Snat(*to),
        (NatAction::Masquerade, Hook::Postrouting) => Target::Masquerade(None),
        (NatAction::NoNat, _) => Target::Accept,
        _ => return vec![],
    };
    let (Some(src), Some(dst)) = (addr(&n.src, false, fw), addr(&n.dst, false, fw)) else {
        return vec![];
    };
    let mut head: Vec<Match> = src.map(Match::Src).into_iter().chain(dst.map(Match::Dst)).collect();
    if !n.iface.names.is_empty() {
        let i = IfaceMatch { neg: n.iface.neg, names: n.iface.names.clone() };
        head.push(if hook == Hook::Prerouting { Match::InIface(i) } else { Match::OutIface(i) });
    }
    let atoms = merge_atoms(&n.service.atoms);
    let services: Vec<Vec<Match>> =
        if atoms.is_empty() { vec![vec![]] } else { atoms.iter().map(service_matches).collect() };
    let comment = match &n.comment {
        Some(c) => format!("R{}: {c}", n.number),
        None => format!("R{}", n.number),
    };
    services
        .into_iter()
        .map(|s| IrRule {
            matches: head.iter().cloned().chain(s).collect(),
            log: None,
            target: target.clone(),
            comment: Some(comment.clone()),
            origin: Some(Origin { rule: n.number, span: Some(n.span) }),
            counters: None,
        })
        .collect()
}
