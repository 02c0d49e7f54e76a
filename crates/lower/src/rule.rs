//! One policy rule in one hook: its matches, target and log.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, ChainId, CtStates, Hook, IdRange, IfaceMatch, Log, Match, Origin,
    OwnerMatch, PortMatch, PortSet, Proto, RejectWith, Rule as IrRule, RulesetBuilder, Target,
};
use rampart_model::{Action, AddrColumn, Firewall, Rule, ServiceAtom, rule_log_prefix};

use crate::hooks::{chain_name, through};
use crate::log_limit;
use crate::negate::Negated;

/// Lower `rule` for `hook` and append it to chain `chain`;
/// returns the chain that takes the rule set's next rules (another one
/// after a `return` that negates a service, see [`Negated::split`]).
pub(crate) fn lower(
    rule: &Rule,
    hook: Hook,
    mut chain: ChainId,
    ruleset: &str,
    fw: &Firewall,
    reached: &BTreeMap<String, BTreeSet<Hook>>,
    rs: &mut RulesetBuilder,
) -> ChainId {
    let (src, dst) = if let Action::Antispoof(iface) = &rule.action {
        // `from` chooses the sources; else they are derived
        let src = if rule.src.is_any() && !rule.src.neg {
            Some(Some(AddrMatch { neg: false, set: rs.addrs(&antispoof_sources(fw, iface)) }))
        } else {
            addr(&rule.src, false, fw, rs)
        };
        (src, Some(None))
    } else if hook == Hook::Forward {
        let (Some(src), Some(dst)) = (through(&rule.src, rule, fw), through(&rule.dst, rule, fw))
        else {
            return chain;
        };
        (addr(&src, false, fw, rs), addr(&dst, false, fw, rs))
    } else {
        (
            addr(&rule.src, hook == Hook::Output, fw, rs),
            addr(&rule.dst, hook == Hook::Input, fw, rs),
        )
    };
    // A column that can match nothing in this hook drops the rule here.
    let (Some(src), Some(dst)) = (src, dst) else { return chain };

    let mut head = Vec::new();
    head.extend(src.map(Match::Src));
    head.extend(dst.map(Match::Dst));
    head.extend(crate::sets::matches(rule));

    let (target, log) = target(rule, hook, ruleset, fw, reached, rs);
    let state = (rule.action == Action::Accept && !rule.stateless)
        .then_some(Match::State { neg: false, states: CtStates(CtStates::NEW) });
    let owners: Vec<Option<Match>> = if rule.users.is_empty() {
        vec![None]
    } else {
        rule.users
            .iter()
            .map(|u| {
                let id = IdRange { neg: false, first: u.uid, last: u.uid };
                Some(Match::Owner(OwnerMatch { uid: Some(id), gid: None }.into()))
            })
            .collect()
    };
    let mut atoms = merge_atoms(&rule.service.atoms);
    if atoms.is_empty() && rule.tcp_flags.is_some() {
        // flags are TCP's: a rule of any service matches TCP only
        atoms.push(ServiceAtom {
            name: None,
            proto: Some(Proto::Tcp),
            sports: vec![],
            dports: vec![],
            icmp: None,
        });
    }
    let mut rules = Vec::new();
    for iface in ifaces(rule, hook, fw) {
        for owner in &owners {
            let mut base = head.clone();
            base.extend(iface.clone());
            let tail: Vec<Match> = owner
                .iter()
                .cloned()
                .chain(state.clone())
                .chain(rule.time.map(Match::Time))
                .chain(rule.tcp_flags.map(|(mask, comp)| Match::TcpFlags {
                    neg: false,
                    mask,
                    comp,
                }))
                .chain(rule.marked.map(|(value, mask)| Match::Mark { neg: false, value, mask }))
                // last: a limit spends a token on each packet it sees
                .chain(rule.conn_limit.clone().map(Match::ConnLimit))
                .chain(rule.limit.clone().map(Match::Limit))
                .collect();
            if rule.service.neg {
                // NOT service: leave for each service, then act.
                let mut jump = base.clone();
                jump.extend(tail);
                let acts =
                    any_protocol(&target).into_iter().map(|(m, t)| ir(rule, m, t, log.clone()));
                let not = Negated {
                    number: rule.number,
                    template: ir(rule, vec![], Target::None, None),
                    values: atoms.iter().map(|a| service_matches(a, rs)).collect(),
                    acts: log_limit::apply(
                        acts.collect(),
                        rule.log_limit.as_deref(),
                        rule.number,
                        rs,
                    ),
                };
                if target == Target::Return {
                    chain = not.split(vec![jump], chain, rs);
                } else {
                    let line = not.line(jump, Target::None);
                    rules.push(IrRule { target: Target::Jump(not.chain(rs)), ..line });
                }
            } else if atoms.is_empty() {
                for (proto, t) in any_protocol(&target) {
                    let m = joined(&base, proto, &tail);
                    rules.push(ir(rule, m, t, log.clone()));
                }
            } else {
                for a in &atoms {
                    let m = joined(&base, service_matches(a, rs), &tail);
                    let t = match (&target, a.proto) {
                        // a TCP reset only exists for TCP
                        (Target::Reject(RejectWith::TcpReset), p) if p != Some(Proto::Tcp) => {
                            Target::Reject(RejectWith::PortUnreachable)
                        }
                        (t, _) => t.clone(),
                    };
                    rules.push(ir(rule, m, t, log.clone()));
                }
            }
        }
    }
    let rules = log_limit::apply(rules, rule.log_limit.as_deref(), rule.number, rs);
    rs.at_mut(chain).rules.extend(rules);
    chain
}

/// A rule's matches, allocated once at their length: a rule lives
/// until the document is written, and growing the list would leave it
/// up to twice as long.
fn joined(base: &[Match], middle: Vec<Match>, tail: &[Match]) -> Vec<Match> {
    base.iter().cloned().chain(middle).chain(tail.iter().cloned()).collect()
}

/// A target for packets of any protocol. A TCP reset exists only for TCP,
/// so `reject with tcp-reset` resets TCP and answers the rest with ICMP
/// port unreachable.
fn any_protocol(target: &Target) -> Vec<(Vec<Match>, Target)> {
    if *target == Target::Reject(RejectWith::TcpReset) {
        vec![
            (vec![Match::Proto { neg: false, proto: Proto::Tcp }], target.clone()),
            (vec![], Target::Reject(RejectWith::PortUnreachable)),
        ]
    } else {
        vec![(vec![], target.clone())]
    }
}

fn ir(rule: &Rule, matches: Vec<Match>, target: Target, log: Option<Log>) -> IrRule {
    let antispoof = match &rule.action {
        Action::Antispoof(i) => Some(format!("antispoof {i}")),
        _ => None,
    };
    let comment =
        rampart_ir::origin::comment(rule.number, rule.comment.as_deref().or(antispoof.as_deref()));
    IrRule {
        matches,
        log: log.map(Box::new),
        target,
        comment: Some(comment.into()),
        origin: Some(Origin { rule: rule.number, span: Some(rule.span) }),
        counters: None,
    }
}

/// The address match of a column in a hook. `None`: the rule cannot match
/// here; `Some(None)`: no match needed. The set is shared with every rule
/// whose column is the same.
pub(crate) fn addr(
    col: &AddrColumn,
    firewall_is_implied: bool,
    fw: &Firewall,
    rs: &mut RulesetBuilder,
) -> Option<Option<AddrMatch>> {
    // A run-time set is matched by `sets::matches`.
    if col.dynamic.is_some() {
        return Some(None);
    }
    if col.is_any() {
        return if col.neg { None } else { Some(None) };
    }
    // In OUTPUT every packet comes from the firewall, in INPUT every packet
    // goes to it: a column that includes the firewall always matches there.
    if col.firewall && !col.neg && firewall_is_implied {
        return Some(None);
    }
    if !col.firewall {
        if col.set.items.is_empty() {
            return if col.neg { Some(None) } else { None };
        }
        return Some(Some(AddrMatch { neg: col.neg, set: rs.addrs(&col.set) }));
    }
    let mut items = col.set.items.clone();
    items.extend(fw.own_addresses());
    items.sort();
    items.dedup();
    if items.is_empty() {
        return if col.neg { Some(None) } else { None };
    }
    Some(Some(AddrMatch { neg: col.neg, set: rs.addrs(&AddrSet { name: None, items }) }))
}

/// Interface matches per variant of the rule in this hook.
fn ifaces(rule: &Rule, hook: Hook, fw: &Firewall) -> Vec<Vec<Match>> {
    if let Action::Antispoof(i) = &rule.action {
        return vec![vec![Match::InIface(IfaceMatch::one(i).into())]];
    }
    if rule.iface.names.is_empty() {
        return vec![vec![]];
    }
    crate::ports::variants(rule, hook, fw)
}

fn target(
    rule: &Rule,
    hook: Hook,
    ruleset: &str,
    fw: &Firewall,
    reached: &BTreeMap<String, BTreeSet<Hook>>,
    rs: &mut RulesetBuilder,
) -> (Target, Option<Log>) {
    let target = match &rule.action {
        Action::Accept => Target::Accept,
        Action::Deny | Action::Antispoof(_) => Target::Drop,
        Action::Reject(w) => Target::Reject(*w),
        Action::Branch(to) => Target::Jump(rs.id(&chain_name(to, hook, fw, reached))),
        Action::Continue => Target::None,
        Action::Return => Target::Return,
        Action::Mark(m) => Target::Mark(*m),
    };
    let logged = rule.log || matches!(rule.action, Action::Antispoof(_));
    let log = logged.then(|| Log {
        prefix: rule_log_prefix(&fw.options, rule, ruleset),
        level: fw.options.log_level,
    });
    (target, log)
}

/// Sources that cannot arrive on `iface`: the firewall's own addresses,
/// loopback, and the networks of its other interfaces.
fn antispoof_sources(fw: &Firewall, iface: &str) -> AddrSet {
    let here: Vec<IpNet> =
        fw.interface(iface).map(|i| i.addrs.iter().map(IpNet::trunc).collect()).unwrap_or_default();
    let mut items = fw.own_addresses();
    items.push(AddrItem::Net("127.0.0.0/8".parse().expect("valid network")));
    for other in fw.interfaces.iter().filter(|i| i.name != iface && !i.dynamic && !i.loopback) {
        for net in other.addrs.iter().map(IpNet::trunc) {
            if !here.contains(&net) {
                items.push(AddrItem::Net(net));
            }
        }
    }
    items.sort();
    items.dedup();
    AddrSet { name: None, items }
}

/// Merge atoms of one protocol so that `tcp 53` and `tcp 80` become one
/// rule with a port set (multiport in iptables, a set in nftables).
pub(crate) fn merge_atoms(atoms: &[ServiceAtom]) -> Vec<ServiceAtom> {
    let mut out: Vec<ServiceAtom> = Vec::new();
    for a in atoms {
        let mergeable = |b: &ServiceAtom| {
            b.proto == a.proto
                && b.sports == a.sports
                && b.icmp.is_none()
                && a.icmp.is_none()
                && matches!(a.proto, Some(Proto::Tcp | Proto::Udp))
                && !a.dports.is_empty()
                && !b.dports.is_empty()
        };
        if let Some(b) = out.iter_mut().find(|b| mergeable(b)) {
            if b.name != a.name {
                b.name = None;
            }
            b.dports.extend(a.dports.iter().copied());
            b.dports.sort_unstable();
            b.dports.dedup();
        } else if !out.contains(a) {
            out.push(a.clone());
        }
    }
    out
}

pub(crate) fn service_matches(a: &ServiceAtom, rs: &mut RulesetBuilder) -> Vec<Match> {
    let Some(proto) = a.proto else { return vec![] };
    let mut m = vec![Match::Proto { neg: false, proto }];
    let suffix = match proto {
        Proto::Tcp => "tcp",
        _ => "udp",
    };
    let mut set = |ranges: &[(u16, u16)], what: &str| {
        rs.ports(&PortSet {
            name: a.name.as_ref().map(|n| format!("{n}_{suffix}{what}")),
            ranges: ranges.to_vec(),
        })
    };
    if !a.sports.is_empty() {
        m.push(Match::Sport(PortMatch { neg: false, set: set(&a.sports, "_sport") }));
    }
    if !a.dports.is_empty() {
        m.push(Match::Dport(PortMatch { neg: false, set: set(&a.dports, "") }));
    }
    if let Some(icmp) = a.icmp {
        m.push(Match::Icmp { neg: false, v6: proto == Proto::Icmpv6, icmp });
    }
    m
}
