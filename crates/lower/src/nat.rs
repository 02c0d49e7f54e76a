//! The firewall's `nat` section into the nat table: dnat and redirect in
//! PREROUTING, masquerade and snat in POSTROUTING, no-nat in both (an
//! accept there ends NAT processing for the connection). Like the filter
//! table's built-in chains, a deploy moves these rules into Rampart's own
//! chains hooked into the built-in ones, so that other software's NAT rules
//! (Docker's, libvirt's) stay.

use rampart_ir::{
    Chain, Hook, IfaceMatch, Match, Origin, Policy, Rule as IrRule, RulesetBuilder, Table, Target,
};
use rampart_model::{Firewall, NatAction, NatRule};

use crate::rule::{addr, merge_atoms, service_matches};

/// Adds the nat table's chains, when the firewall has NAT rules.
pub(crate) fn lower(fw: &Firewall, rs: &mut RulesetBuilder) {
    if fw.nat.is_empty() {
        return;
    }
    for hook in [Hook::Prerouting, Hook::Postrouting] {
        let mut chain = Chain::base(Table::Nat, hook, Policy::Accept);
        for n in &fw.nat {
            chain.rules.extend(lower_rule(n, hook, fw, rs));
        }
        rs.push(chain);
    }
}

/// The nat table's rules for one NAT rule in one hook (none when it does
/// not act there).
fn lower_rule(n: &NatRule, hook: Hook, fw: &Firewall, rs: &mut RulesetBuilder) -> Vec<IrRule> {
    let target = match (&n.action, hook) {
        (NatAction::Dnat(to), Hook::Prerouting) => Target::Dnat(*to),
        (NatAction::Redirect(p), Hook::Prerouting) => Target::Redirect(Some(*p)),
        (NatAction::Snat(to), Hook::Postrouting) => Target::Snat(*to),
        (NatAction::Masquerade, Hook::Postrouting) => Target::Masquerade(None),
        (NatAction::NoNat, _) => Target::Accept,
        _ => return vec![],
    };
    let (Some(src), Some(dst)) = (addr(&n.src, false, fw, rs), addr(&n.dst, false, fw, rs)) else {
        return vec![];
    };
    let mut head: Vec<Match> = src.map(Match::Src).into_iter().chain(dst.map(Match::Dst)).collect();
    if !n.iface.names.is_empty() {
        let i = IfaceMatch { neg: n.iface.neg, names: n.iface.names.clone().into() };
        head.push(if hook == Hook::Prerouting {
            Match::InIface(i.into())
        } else {
            Match::OutIface(i.into())
        });
    }
    let atoms = merge_atoms(&n.service.atoms);
    let services: Vec<Vec<Match>> = if atoms.is_empty() {
        vec![vec![]]
    } else {
        atoms.iter().map(|a| service_matches(a, rs)).collect()
    };
    let comment = rampart_ir::origin::comment(n.number, n.comment.as_deref());
    services
        .into_iter()
        .map(|s| IrRule {
            matches: head.iter().cloned().chain(s).collect(),
            log: None,
            target: target.clone(),
            comment: Some(comment.clone().into()),
            origin: Some(Origin { rule: n.number, span: Some(n.span) }),
            counters: None,
        })
        .collect()
}
