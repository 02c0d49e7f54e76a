//! The bridge recipe: DENY rules derived from the topology, so that traffic
//! a guest pulls to itself by ARP spoofing never reaches it.
//!
//! - Guest port P with addresses A: nothing leaves through P unless it is
//!   for A; nothing leaves through P from A; nothing enters through P
//!   unless it is from A (to the host too).
//! - Border port B: what leaves through B comes from this side and goes to
//!   the far side; what enters comes from the far side and goes to this side.
//! - The host's own link interface H: only the bridges' addresses go out
//!   through H and come in through it.
//! - A plain port: nothing, as nothing is known beyond it.
//!
//! Every rule logs, with a number after the policy's own rules, and says in
//! its comment which port and clause it implements.

use rampart_ir::{
    AddrMatch, AddrSet, Hook, IfaceMatch, Log, Match, Origin, PhysdevMatch, Rule, RulesetBuilder,
    Table, Target,
};
use rampart_model::{Firewall, PortKind, log_prefix};

struct Guards<'a> {
    fw: &'a Firewall,
    next: u32,
    rs: &'a mut RulesetBuilder,
}

impl Guards<'_> {
    /// A logged DENY in `hooks`, numbered, with `what` as its comment.
    fn deny(&mut self, hooks: &[Hook], matches: Vec<Match>, what: String) {
        let number = self.next;
        self.next += 1;
        let o = &self.fw.options;
        let log =
            Log { prefix: log_prefix(o, number, "DENY", "bridges", "any"), level: o.log_level };
        for hook in hooks {
            let rule = Rule {
                matches: matches.clone(),
                log: Some(log.clone().into()),
                target: Target::Drop,
                comment: Some(rampart_ir::origin::comment(number, Some(&what)).into()),
                origin: Some(Origin { rule: number, span: None }),
                counters: None,
            };
            if let Some(c) = self.rs.builtin_mut(Table::Filter, *hook) {
                c.rules.push(rule);
            }
        }
    }
}

fn port_in(port: &str) -> Match {
    Match::Physdev(
        PhysdevMatch { physdev_in: Some((false, port.to_owned())), ..PhysdevMatch::default() }
            .into(),
    )
}

/// `--physdev-out` only works for bridged traffic, so say so.
fn port_out(port: &str) -> Match {
    Match::Physdev(
        PhysdevMatch {
            physdev_out: Some((false, port.to_owned())),
            is_bridged: Some(false),
            ..PhysdevMatch::default()
        }
        .into(),
    )
}

fn not_src(set: &AddrSet) -> Match {
    Match::Src(AddrMatch { neg: true, set: set.clone().into() })
}

fn not_dst(set: &AddrSet) -> Match {
    Match::Dst(AddrMatch { neg: true, set: set.clone().into() })
}

fn src(set: &AddrSet) -> Match {
    Match::Src(AddrMatch { neg: false, set: set.clone().into() })
}

/// Append the recipe for every bridge port to the built-in chains. The
/// guards are numbered on after the highest number of a filter or NAT rule,
/// in the order bridges and ports are written.
pub(crate) fn guards(fw: &Firewall, rs: &mut RulesetBuilder) {
    let filter = fw.rulesets.iter().flat_map(|r| &r.rules).map(|r| r.number);
    let last = filter.chain(fw.nat.iter().map(|r| r.number)).max().unwrap_or(0);
    let mut g = Guards { fw, next: last + 1, rs };
    let fwd = [Hook::Forward];
    for bridge in &fw.bridges {
        for port in &bridge.ports {
            let p = &port.name;
            match &port.kind {
                PortKind::Guest { addrs, .. } => {
                    g.deny(
                        &fwd,
                        vec![port_out(p), not_dst(addrs)],
                        format!("guest port {p}: out only to its guest"),
                    );
                    g.deny(
                        &fwd,
                        vec![port_out(p), src(addrs)],
                        format!("guest port {p}: never out from its guest"),
                    );
                    g.deny(
                        &[Hook::Input, Hook::Forward],
                        vec![port_in(p), not_src(addrs)],
                        format!("guest port {p}: in only from its guest"),
                    );
                }
                PortKind::Border { .. } | PortKind::HostLink { .. } => {
                    let far = fw.far_side(port);
                    let here = fw.this_side(bridge, port);
                    g.deny(
                        &fwd,
                        vec![port_out(p), not_src(&here)],
                        format!("border port {p}: out only from this side"),
                    );
                    g.deny(
                        &fwd,
                        vec![port_out(p), not_dst(&far)],
                        format!("border port {p}: out only to the far side"),
                    );
                    g.deny(
                        &fwd,
                        vec![port_in(p), not_src(&far)],
                        format!("border port {p}: in only from the far side"),
                    );
                    g.deny(
                        &fwd,
                        vec![port_in(p), not_dst(&here)],
                        format!("border port {p}: in only to this side"),
                    );
                    if let PortKind::HostLink { iface, .. } = &port.kind {
                        let i = IfaceMatch::one(iface);
                        g.deny(
                            &[Hook::Input, Hook::Forward],
                            vec![Match::InIface(i.clone().into()), not_src(&here)],
                            format!("host link {iface}: in only from the bridges"),
                        );
                        g.deny(
                            &[Hook::Output, Hook::Forward],
                            vec![Match::OutIface(i.into()), not_dst(&here)],
                            format!("host link {iface}: out only to the bridges"),
                        );
                    }
                }
                PortKind::Plain => {}
            }
        }
    }
}
