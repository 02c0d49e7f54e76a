//! Rules Rampart adds itself (origin rule 0): backup SSH, the early
//! ESTABLISHED,RELATED accept, and the final catch-all.

use std::collections::BTreeMap;

use rampart_ir::{
    AddrMatch, ChainId, CtStates, Hook, IcmpMatch, IfaceMatch, Log, Match, PortMatch, PortSet,
    Proto, RejectWith, Rule, RulesetBuilder, Table, Target,
};
use rampart_model::{DefaultAction, Firewall, log_prefix};

use crate::hooks;

fn implicit(matches: Vec<Match>, target: Target, comment: &str) -> Rule {
    let mut r = Rule::new(matches, target);
    r.comment = Some(rampart_ir::origin::comment(0, Some(comment)).into());
    r.origin = Some(rampart_ir::Origin { rule: 0, span: None });
    r
}

fn push(rs: &mut RulesetBuilder, hook: Hook, rule: Rule) {
    if let Some(c) = rs.builtin_mut(Table::Filter, hook) {
        c.rules.push(rule);
    }
}

fn ssh(dport: bool) -> Vec<Match> {
    let set = PortSet { name: None, ranges: vec![(22, 22)] };
    let port = PortMatch { neg: false, set: set.into() };
    vec![
        Match::Proto { neg: false, proto: Proto::Tcp },
        if dport { Match::Dport(port) } else { Match::Sport(port) },
    ]
}

/// Backup SSH first, so no rule can lock the admin out.
pub(crate) fn backup_ssh(fw: &Firewall, rs: &mut RulesetBuilder) {
    let o = &fw.options;
    if let Some(admin) = &o.backup_ssh {
        // With a management interface, backup SSH is only accepted there.
        let mgmt =
            fw.interfaces.iter().find(|i| i.management).map(|i| Box::new(IfaceMatch::one(&i.name)));
        let mut m = vec![Match::Src(AddrMatch { neg: false, set: admin.clone().into() })];
        m.extend(mgmt.clone().map(Match::InIface));
        m.extend(ssh(true));
        push(rs, Hook::Input, implicit(m, Target::Accept, "backup ssh from the admin host"));
        let mut m = vec![Match::Dst(AddrMatch { neg: false, set: admin.clone().into() })];
        m.extend(mgmt.map(Match::OutIface));
        m.extend(ssh(false));
        m.push(Match::State { neg: false, states: CtStates(CtStates::ESTABLISHED) });
        push(rs, Hook::Output, implicit(m, Target::Accept, "backup ssh replies"));
    }
}

/// The early accept of established and related packets.
pub(crate) fn established(fw: &Firewall, rs: &mut RulesetBuilder) {
    let o = &fw.options;
    if o.accept_established {
        let states = CtStates(CtStates::ESTABLISHED | CtStates::RELATED);
        for &hook in hooks::filter() {
            if hook == Hook::Forward && !o.forward {
                continue;
            }
            let m = vec![Match::State { neg: false, states }];
            push(rs, hook, implicit(m, Target::Accept, "established and related"));
        }
    }
    neighbour_discovery(rs);
}

/// ICMPv6 that a host must not filter (RFC 4890, section 4.4.1): the
/// errors that keep connections working (destination unreachable, packet
/// too big, time exceeded, parameter problem), neighbour and router
/// discovery, inverse discovery, multicast listener discovery (MLD), SEND
/// certificate paths and multicast router discovery. Conntrack tracks
/// none of these as a connection; accept them to and from this host.
/// (ICMPv6 matches make these rules IPv6-only, so an IPv4 ruleset never
/// sees them.) Echo is left to the policy.
fn neighbour_discovery(rs: &mut RulesetBuilder) {
    // Time exceeded and parameter problem of every code: RFC 4890 names
    // some codes a host must not drop and leaves the others to policy;
    // conntrack lets the rest through as RELATED anyway.
    let types =
        [1, 2, 3, 4, 130, 131, 132, 133, 134, 135, 136, 141, 142, 143, 148, 149, 151, 152, 153]
            .map(IcmpMatch::Type);
    for hook in [Hook::Input, Hook::Output] {
        for icmp in types {
            let m = vec![
                Match::Proto { neg: false, proto: Proto::Icmpv6 },
                Match::Icmp { neg: false, v6: true, icmp },
            ];
            push(rs, hook, implicit(m, Target::Accept, "ICMPv6 a host must not filter (RFC 4890)"));
        }
    }
}

/// The last rule of each built-in chain, per the `default` option; `tails`
/// holds, per hook, the chain main's rules ended in when a `return` split
/// the built-in chain.
pub(crate) fn catch_all(fw: &Firewall, tails: &BTreeMap<Hook, ChainId>, rs: &mut RulesetBuilder) {
    let o = &fw.options;
    let (target, word, logged) = match o.default {
        DefaultAction::Deny => (Target::Drop, "DENY", true),
        DefaultAction::DenyQuiet => (Target::Drop, "DENY", false),
        DefaultAction::Reject => (Target::Reject(RejectWith::PortUnreachable), "REJECT", true),
        DefaultAction::None => return,
    };
    for &hook in hooks::filter() {
        let mut r = implicit(vec![], target.clone(), "default deny");
        if logged {
            r.log = Some(
                Log { prefix: log_prefix(o, 0, word, &o.entry, "any"), level: o.log_level }.into(),
            );
        }
        for r in crate::log_limit::apply(vec![r], o.log_limit.as_ref(), 0, rs) {
            match tails.get(&hook) {
                Some(&i) => rs.at_mut(i).rules.push(r),
                None => push(rs, hook, r),
            }
        }
    }
}
