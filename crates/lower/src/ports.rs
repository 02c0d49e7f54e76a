//! Bridge ports in a rule's `on` column, as `-m physdev` matches: a packet
//! that came in through port P has `--physdev-in P` in INPUT and FORWARD;
//! one bridged out through P has `--physdev-out P --physdev-is-bridged` in
//! FORWARD. OUTPUT sees only the bridge (the model warns, W0420).

use rampart_ir::{Hook, IfaceMatch, Match, PhysdevMatch};
use rampart_model::{Direction, Firewall, Rule};

/// The interface matches of each variant of `rule` in `hook`: one variant
/// per direction and kind of name, or one holding every negated name.
pub(crate) fn variants(rule: &Rule, hook: Hook, fw: &Firewall) -> Vec<Vec<Match>> {
    let (ports, names): (Vec<&String>, Vec<&String>) =
        rule.iface.names.iter().partition(|n| fw.port_of(n).is_some());
    let names: Vec<String> = names.into_iter().cloned().collect();
    let iface = |inbound: bool| {
        let m = IfaceMatch { neg: rule.iface.neg, names: names.clone().into() };
        if inbound { Match::InIface(m.into()) } else { Match::OutIface(m.into()) }
    };
    let dirs: &[bool] = match (hook, rule.direction) {
        (Hook::Prerouting | Hook::Input, _) | (Hook::Forward, Direction::In) => &[true],
        (Hook::Output | Hook::Postrouting, _) | (Hook::Forward, Direction::Out) => &[false],
        (Hook::Forward, Direction::Both) => &[true, false],
    };
    // Only bridged packets have an outgoing port.
    let port_dir = |inbound: bool| inbound || hook == Hook::Forward;
    if rule.iface.neg {
        // Every name negated in one rule; the model allows negated ports
        // only inbound, where `! --physdev-in` also holds for routed packets.
        return dirs
            .iter()
            .map(|&inbound| {
                let mut v: Vec<Match> = Vec::new();
                if !names.is_empty() {
                    v.push(iface(inbound));
                }
                v.extend(ports.iter().map(|p| physdev(p, true, true)));
                v
            })
            .collect();
    }
    let mut out = Vec::new();
    for &inbound in dirs {
        if !names.is_empty() {
            out.push(vec![iface(inbound)]);
        }
        if port_dir(inbound) {
            out.extend(ports.iter().map(|p| vec![physdev(p, inbound, false)]));
        }
    }
    out
}

fn physdev(port: &str, inbound: bool, neg: bool) -> Match {
    let name = Some((neg, port.to_owned()));
    Match::Physdev(if inbound {
        PhysdevMatch { physdev_in: name, ..PhysdevMatch::default() }.into()
    } else {
        PhysdevMatch { physdev_out: name, is_bridged: Some(false), ..PhysdevMatch::default() }
            .into()
    })
}
