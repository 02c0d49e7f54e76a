//! The evaluator's side of the proof: the rich form the nft output is
//! written from, and the iptables pass's restricted form, give every packet
//! the same verdict and the same log prefixes (`rampart-trace`). The kernel
//! tests (`equiv`, `random`) then hold the nft text to the rich form.

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use rampart_ir::{Family, Restricted, Ruleset};
use rampart_trace::{CtState, Hook, Packet};

use crate::equiv::{FwIface, ports, representatives, routable, strangers, uids};

/// Packets per policy, sampled evenly beyond.
const MAX_PACKETS: usize = 20_000;

/// Every direction, address, protocol, port, state and user the policy
/// names, on the interface each address is routed to.
pub(crate) fn packets(rs: &Ruleset, ifaces: &[FwIface]) -> Vec<Packet> {
    let families = BTreeSet::from([Family::V4]);
    let fw: Vec<IpAddr> = ifaces.iter().flat_map(|i| &i.addrs).map(IpNet::addr).collect();
    let mut hosts: Vec<(usize, IpAddr)> = strangers(ifaces.len(), &families);
    for a in representatives(rs) {
        if a.is_ipv4() && routable(a) && !fw.contains(&a) && !hosts.iter().any(|h| h.1 == a) {
            let i = ifaces.iter().position(|f| f.addrs.iter().any(|n| n.contains(&a))).unwrap_or(0);
            hosts.push((i, a));
        }
    }
    let (tcp, udp) = ports(rs);
    let l4: Vec<(u8, Option<u16>)> = tcp
        .iter()
        .map(|&p| (6, Some(p)))
        .chain(udp.iter().map(|&p| (17, Some(p))))
        .chain([(1, None)])
        .collect();
    let name = |i: usize| ifaces[i].name.clone();
    let mut out = Vec::new();
    let mut push =
        |hook, inif: Option<String>, outif: Option<String>, src, dst, uid: Option<u32>| {
            for &(proto, port) in &l4 {
                for state in [CtState::New, CtState::Established] {
                    let mut p = Packet::new(hook);
                    p.in_iface.clone_from(&inif);
                    p.out_iface.clone_from(&outif);
                    (p.src, p.dst, p.proto, p.state, p.uid) =
                        (Some(src), Some(dst), Some(proto), state, uid);
                    if proto == 1 {
                        p.icmp = Some((8, Some(0)));
                    } else {
                        (p.sport, p.dport) = (Some(40_000), port);
                    }
                    out.push(p);
                }
            }
        };
    for &(i, src) in &hosts {
        for &dst in fw.iter().filter(|d| d.is_ipv4()) {
            push(Hook::Input, Some(name(i)), None, src, dst, None);
        }
        for &(j, dst) in hosts.iter().filter(|h| h.0 != i) {
            push(Hook::Forward, Some(name(i)), Some(name(j)), src, dst, None);
        }
    }
    let src = fw.iter().copied().find(IpAddr::is_ipv4);
    for uid in uids(rs) {
        for &(j, dst) in &hosts {
            if let Some(src) = src {
                push(Hook::Output, None, Some(name(j)), src, dst, Some(uid));
            }
        }
    }
    let step = out.len().div_ceil(MAX_PACKETS).max(1);
    out.into_iter().step_by(step).collect()
}

/// Count of packets compared; `Err` names the first differences.
pub(crate) fn same_verdicts(
    name: &str,
    rich: &Ruleset,
    v4: &Ruleset,
    ifaces: &[FwIface],
) -> Result<usize, String> {
    let (a, b) = (rampart_trace::Tracer::new(rich), rampart_trace::Tracer::new(v4));
    let mut diffs = Vec::new();
    let packets = packets(rich, ifaces);
    for p in &packets {
        let (x, y) = (a.trace(p), b.trace(p));
        if x.verdict != y.verdict || x.logs != y.logs {
            diffs.push(format!(
                "  {}: rich {:?} {:?}, iptables {:?} {:?}",
                rampart_trace::explain::packet_line(p),
                x.verdict,
                x.logs,
                y.verdict,
                y.logs
            ));
        }
    }
    if diffs.is_empty() {
        Ok(packets.len())
    } else {
        diffs.truncate(20);
        Err(format!("{name}: packets differ:\n{}", diffs.join("\n")))
    }
}

/// Policies whose `return`s negate lists and services, in main (a built-in
/// chain, with the catch-all after them) and in a rule set, several in a row.
fn return_cases() -> Vec<(String, Ruleset, Restricted, Vec<FwIface>)> {
    let head = "host a 10.1.0.5\nhost b 10.2.0.7\nnetwork lan 10.1.0.0/24\nservice ssh tcp 22\n\
                service web tcp 80, 443\nservice dns udp 53, tcp 53\nfirewall fw {\n interface eth0 10.1.0.1/24\n \
                interface eth1 10.2.0.1/24\n forward on\n";
    let bodies = [
        " ruleset main {\n  return from not a, b log\n  accept service ssh\n  return service not web, dns\n  \
         deny from lan log\n  accept\n }\n",
        " default reject\n ruleset main {\n  branch x from not lan\n  accept to b service ssh\n }\n ruleset x {\n  \
         return to not a, b, self service web, ssh\n  reject to a service web\n  return service not dns log\n  \
         return from not b, 10.2.0.9 in\n  return from not a, b service not web\n  accept service dns\n  deny\n }\n",
    ];
    let ifaces = vec![
        FwIface { name: "eth0".into(), addrs: vec!["10.1.0.1/24".parse().unwrap()] },
        FwIface { name: "eth1".into(), addrs: vec!["10.2.0.1/24".parse().unwrap()] },
    ];
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let c =
                rampart_lower::compile(&rampart_testing::firewall(&format!("{head}{body}}}\n")));
            (format!("return policy {i}"), c.rich, c.v4, ifaces.clone())
        })
        .collect()
}

pub(crate) fn example_cases() -> Vec<(String, Ruleset, Restricted, Vec<FwIface>)> {
    let paths = crate::fixtures::example_paths();
    let mut out = Vec::new();
    for path in paths {
        let mut sources = rampart_diag::Sources::new();
        let model = rampart_model::load(&path, &mut sources).unwrap().model.unwrap();
        for fw in &model.firewalls {
            let c = rampart_lower::compile(fw);
            let ifaces = fw
                .interfaces
                .iter()
                .filter(|i| !i.loopback)
                .map(|i| FwIface { name: i.name.clone(), addrs: i.addrs.clone() })
                .collect();
            out.push((format!("{} ({})", path.display(), fw.name), c.rich, c.v4, ifaces));
        }
    }
    out
}

#[test]
#[expect(clippy::print_stderr, reason = "the packet counts are the test's report")]
fn examples_and_random_policies_same_in_the_evaluator() {
    let mut cases = example_cases();
    cases.extend(return_cases());
    let ifaces = vec![
        FwIface { name: "eth0".into(), addrs: vec!["10.1.0.1/24".parse().unwrap()] },
        FwIface { name: "eth1".into(), addrs: vec!["10.2.0.1/24".parse().unwrap()] },
    ];
    for seed in 1..=200 {
        let rich = crate::random::random_policy(seed);
        let v4 = rampart_lower::iptables(&rich, Family::V4);
        cases.push((format!("random seed {seed}"), rich, v4, ifaces.clone()));
    }
    let mut total = 0;
    let mut failures = Vec::new();
    let mut split = 0;
    for (name, rich, v4, ifaces) in &cases {
        split += usize::from(crate::random::returns_unless_listed(rich));
        match same_verdicts(name, rich, v4, ifaces) {
            Ok(n) => total += n,
            Err(e) => failures.push(e),
        }
    }
    eprintln!(
        "evaluator: {} policies ({split} with a return unless listed), \
         {total} packets with the same verdict and log prefixes",
        cases.len()
    );
    // the iptables pass splits a chain for these; enough of them to matter
    assert!(split >= 10, "only {split} policies return unless listed");
    assert!(
        failures.is_empty(),
        "{} of {} policies differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
