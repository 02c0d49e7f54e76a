//! Which built-in chains (hooks) a policy rule belongs in.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use rampart_ir::{AddrItem, Hook, Table};
use rampart_model::{Action, AddrColumn, Direction, Firewall, Rule};

/// The hooks filter rules go in: the filter table's.
pub(crate) fn filter() -> &'static [Hook] {
    Table::Filter.hooks()
}

/// The suffix of a rule set's chain per hook, when it has several.
fn suffix(hook: Hook) -> &'static str {
    match hook {
        Hook::Prerouting => "pre",
        Hook::Input => "in",
        Hook::Forward => "fwd",
        Hook::Output => "out",
        Hook::Postrouting => "post",
    }
}

/// Only the firewall itself, not negated.
fn only_firewall(c: &AddrColumn) -> bool {
    c.firewall && c.set.items.is_empty() && !c.neg
}

/// Could this column hold the firewall's own address? Negated columns and
/// `any` could, and so could a group or host that lists one of the
/// firewall's addresses (or its name); a list of other hosts could not.
/// A network around the firewall's address does not count (it names the
/// hosts behind an interface) unless `self-in-networks` is on, as in
/// Firewall Builder.
fn may_be_firewall(c: &AddrColumn, fw: &Firewall) -> bool {
    let own = |a: &IpNet| {
        c.set.items.contains(&AddrItem::Net(IpNet::from(a.addr())))
            || (fw.options.self_in_networks && c.set.contains(a.addr()))
    };
    c.neg
        || c.is_any()
        || c.firewall
        || c.dynamic.is_some()
        || fw.interfaces.iter().flat_map(|i| &i.addrs).any(own)
}

/// A column as FORWARD sees it. No packet crossing the firewall comes from
/// or goes to one of its own addresses but a spoofed one: the firewall's
/// packets are OUTPUT's, those to it INPUT's. So there a column that lists
/// the firewall, by name or by address, lists only the rest; `None` when
/// nothing is left (the rule has no line in FORWARD). The column stays as
/// written where dropping the firewall would let more through: negated
/// (`not` would take the spoofed packets in), in a deny or reject (which
/// would stop dropping them), and on a host with bridges, whose own
/// packets cross FORWARD.
pub(crate) fn through<'a>(
    col: &'a AddrColumn,
    rule: &Rule,
    fw: &Firewall,
) -> Option<Cow<'a, AddrColumn>> {
    let own = |a: &AddrItem| {
        fw.interfaces.iter().flat_map(|i| &i.addrs).any(|n| *a == AddrItem::Net(n.addr().into()))
    };
    let keep = col.neg
        || !fw.bridges.is_empty()
        || matches!(rule.action, Action::Deny | Action::Reject(_))
        || !(col.firewall || col.set.items.iter().any(own));
    if keep {
        return Some(Cow::Borrowed(col));
    }
    let mut rest = col.clone();
    rest.firewall = false;
    let set = std::sync::Arc::make_mut(&mut rest.set);
    set.name = None;
    set.items.retain(|a| !own(a));
    (!rest.set.items.is_empty()).then_some(Cow::Owned(rest))
}

/// The hooks a rule applies in, as Firewall Builder places rules: INPUT for
/// traffic to the firewall, OUTPUT for traffic from it, FORWARD for traffic
/// through it (only when forwarding is on).
pub(crate) fn hooks(rule: &Rule, fw: &Firewall) -> Vec<Hook> {
    if let Action::Antispoof(_) = rule.action {
        return if fw.options.forward {
            vec![Hook::Input, Hook::Forward]
        } else {
            vec![Hook::Input]
        };
    }
    let users = !rule.users.is_empty();
    let mut out = Vec::new();
    if rule.direction != Direction::Out
        && !users
        && !only_firewall(&rule.src)
        && may_be_firewall(&rule.dst, fw)
    {
        out.push(Hook::Input);
    }
    // Nothing is routed through the loopback interface.
    let loopback_only = !rule.iface.neg
        && !rule.iface.names.is_empty()
        && rule.iface.names.iter().all(|n| fw.interface(n).is_some_and(|i| i.loopback));
    // On a host with bridges its own packets cross a bridge too, and bridged
    // packets pass FORWARD: there, rules about the firewall apply as well.
    let bridged = !fw.bridges.is_empty();
    if fw.options.forward
        && !users
        && !loopback_only
        && (bridged
            || (!only_firewall(&rule.src)
                && !only_firewall(&rule.dst)
                && through(&rule.src, rule, fw).is_some()
                && through(&rule.dst, rule, fw).is_some()))
    {
        out.push(Hook::Forward);
    }
    if rule.direction != Direction::In
        && !only_firewall(&rule.dst)
        && may_be_firewall(&rule.src, fw)
    {
        out.push(Hook::Output);
    }
    out
}

/// For every rule set, the hooks it is entered from, following branches.
pub(crate) fn reach(fw: &Firewall) -> BTreeMap<String, BTreeSet<Hook>> {
    let mut reached: BTreeMap<String, BTreeSet<Hook>> = BTreeMap::new();
    reached.insert(fw.options.entry.clone(), filter().iter().copied().collect());
    // Branches form a DAG (the model rejects loops), so this settles.
    loop {
        let mut changed = false;
        for rs in &fw.rulesets {
            let Some(from) = reached.get(&rs.name).cloned() else { continue };
            for rule in &rs.rules {
                let Action::Branch(target) = &rule.action else { continue };
                let entry = reached.entry(target.clone()).or_default();
                for h in hooks(rule, fw) {
                    if from.contains(&h) {
                        changed |= entry.insert(h);
                    }
                }
            }
        }
        if !changed {
            return reached;
        }
    }
}

/// The chain of a rule set in one hook: its own name when it is entered from
/// one hook only, else one chain per hook (`Name_in`, `Name_out`), because a
/// rule lowered for OUTPUT drops matches that INPUT would need.
pub(crate) fn chain_name(
    ruleset: &str,
    hook: Hook,
    fw: &Firewall,
    reached: &BTreeMap<String, BTreeSet<Hook>>,
) -> String {
    if ruleset == fw.options.entry {
        return hook.chain().to_owned();
    }
    match reached.get(ruleset) {
        Some(h) if h.len() > 1 => format!("{ruleset}_{}", suffix(hook)),
        _ => ruleset.to_owned(),
    }
}
