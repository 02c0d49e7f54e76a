//! ## What it does
//! Finds rules that can never match because an earlier rule of the same rule
//! set decides every packet they would match.
//!
//! ## Why is this bad?
//! The author expected the rule to act; the firewall ignores it.
//!
//! ## Example
//! ```text
//! accept from lan service ssh
//! deny   from lan.admin service ssh   # W0301: rule 2 can never match
//! ```
//!
//! The check is conservative: it reports only what it can prove, comparing
//! each rule with one earlier rule at a time and skipping negated columns.

use std::net::IpAddr;

use rampart_diag::Diagnostic;
use rampart_ir::{AddrItem, PortRange};

use crate::{Action, AddrColumn, Direction, Firewall, Rule, ServiceAtom, diagnostics};

pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    for rs in &fw.rulesets {
        for (i, later) in rs.rules.iter().enumerate() {
            if let Some(earlier) = rs.rules[..i].iter().find(|e| covers(e, later)) {
                diags.push(diagnostics::shadowed(
                    later.number,
                    earlier.number,
                    later.span,
                    earlier.span,
                ));
            }
        }
    }
}

/// Does `a` (earlier, final) decide every packet `b` matches?
pub(crate) fn covers(a: &Rule, b: &Rule) -> bool {
    let final_action = matches!(a.action, Action::Accept | Action::Deny | Action::Reject(_));
    let negated = |r: &Rule| r.src.neg || r.dst.neg || r.service.neg || r.iface.neg;
    if !final_action || matches!(b.action, Action::Antispoof(_)) || negated(a) || negated(b) {
        return false;
    }
    // A stateful accept sees only new connections; a stateless rule sees all.
    let new_only = |r: &Rule| r.action == Action::Accept && !r.stateless;
    if new_only(a) && !new_only(b) {
        return false;
    }
    addr_covers(&a.src, &b.src)
        && addr_covers(&a.dst, &b.dst)
        && (a.service.atoms.is_empty()
            || (!b.service.atoms.is_empty()
                && b.service
                    .atoms
                    .iter()
                    .all(|y| a.service.atoms.iter().any(|x| atom_covers(x, y)))))
        && (a.iface.names.is_empty()
            || (!b.iface.names.is_empty()
                && b.iface.names.iter().all(|n| a.iface.names.contains(n))))
        && (a.direction == Direction::Both || a.direction == b.direction)
        && (a.users.is_empty()
            || (!b.users.is_empty() && b.users.iter().all(|u| a.users.contains(u))))
}

fn addr_covers(a: &AddrColumn, b: &AddrColumn) -> bool {
    if a.is_any() {
        return true;
    }
    if b.is_any() || (b.firewall && !a.firewall) {
        return false;
    }
    b.set.items.iter().all(|y| a.set.items.iter().any(|x| item_covers(*x, *y)))
}

fn bounds(i: AddrItem) -> (bool, u128, u128) {
    let bits = |a: IpAddr| match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    match i {
        AddrItem::Net(n) => (n.addr().is_ipv4(), bits(n.network()), bits(n.broadcast())),
        AddrItem::Range(a, b) => (a.is_ipv4(), bits(a), bits(b)),
    }
}

fn item_covers(x: AddrItem, y: AddrItem) -> bool {
    let (fx, x0, x1) = bounds(x);
    let (fy, y0, y1) = bounds(y);
    fx == fy && x0 <= y0 && y1 <= x1
}

fn ports_cover(x: &[PortRange], y: &[PortRange]) -> bool {
    x.is_empty()
        || (!y.is_empty()
            && y.iter().all(|&(b0, b1)| x.iter().any(|&(a0, a1)| a0 <= b0 && b1 <= a1)))
}

fn atom_covers(x: &ServiceAtom, y: &ServiceAtom) -> bool {
    match (x.proto, y.proto) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(q)) => {
            p == q
                && ports_cover(&x.sports, &y.sports)
                && ports_cover(&x.dports, &y.dports)
                && (x.icmp.is_none() || x.icmp == y.icmp)
        }
    }
}
