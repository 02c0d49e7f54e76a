//! `limit` in a real kernel, with both backends: a rule under a limit
//! matches only while packets come under the rate, and what comes faster
//! meets the next rule (here a reject, with a TCP reset: the kernel rate-limits
//! ICMP errors itself). One bucket for every
//! source, or one per source with `per source`.
//!
//! Topology (inside namespaces this test creates): two clients,
//! 10.79.1.2 and 10.79.2.2, each on its own link to the firewall (10.79.1.1,
//! 10.79.2.1), which listens on 22 and 80 itself.

mod common;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, connects_as, require_tools, veth};

const POLICY: &str = "firewall fw {\n  interface c1 10.79.1.1/24\n  interface c2 10.79.2.1/24\n  \
default reject\n  ruleset main {\n    \
accept service ssh limit 1/minute burst 3 per source\n    \
accept service http limit 1/minute burst 3\n    reject with tcp-reset\n  }\n}\n";

/// Five connections one after another from each client in turn, for a port.
fn attempts(a: &Netns, b: &Netns, port: u16) -> Vec<bool> {
    let mut got = Vec::new();
    for (ns, addr) in [(a, "10.79.1.1"), (b, "10.79.2.1")] {
        got.extend((0..5).map(|_| connects_as(ns, 0, addr, port)));
    }
    got
}

#[test]
fn a_limit_drops_what_comes_faster_in_the_kernel_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(POLICY));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "limits", None);
    let nft = rampart_nft::emit(&c.rich);

    // trace takes packets as coming under the rate unless told otherwise
    let mut p = rampart_trace::Packet::new(rampart_ir::Hook::Input);
    p.in_iface = Some("c1".into());
    (p.src, p.dst) = (Some("10.79.1.2".parse().unwrap()), Some("10.79.1.1".parse().unwrap()));
    (p.proto, p.sport, p.dport, p.tcp_flags) = (Some(6), Some(40000), Some(22), Some(0x02));
    for rs in [&c.rich, &*c.v4] {
        let t = rampart_trace::trace(rs, &p);
        assert_eq!(t.verdict, rampart_trace::Verdict::Accept, "{t:#?}");
        assert!(t.forks.is_empty(), "{t:#?}");
        let mut over = p.clone();
        over.given.over_limit = true;
        let t = rampart_trace::trace(rs, &over);
        assert!(matches!(t.verdict, rampart_trace::Verdict::Reject(_)), "{t:#?}");
    }

    let (fw, a, b) = (Netns::new().unwrap(), Netns::new().unwrap(), Netns::new().unwrap());
    veth(&a, "eth0", &fw, "c1").unwrap();
    veth(&b, "eth0", &fw, "c2").unwrap();
    a.addr("eth0", "10.79.1.2/24").unwrap();
    b.addr("eth0", "10.79.2.2/24").unwrap();
    fw.addr("c1", "10.79.1.1/24").unwrap();
    fw.addr("c2", "10.79.2.1/24").unwrap();
    let _listeners = fw.tcp_listeners(&[22, 80]).unwrap();
    let up = rampart_lab::wait_until(std::time::Duration::from_secs(5), || {
        connects_as(&a, 0, "10.79.1.1", 80) && connects_as(&b, 0, "10.79.2.1", 80)
    });
    assert!(up, "without the firewall, both clients must reach it");

    // A burst of three, then nothing for a minute: per source, each client
    // gets its three; with one bucket, the first client takes them all.
    let per_source = [true, true, true, false, false, true, true, true, false, false];
    let shared = [true, true, true, false, false, false, false, false, false, false];
    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        // A fresh start: the old rules and their buckets go.
        common::load_fresh(&fw, backend, &iptables, &nft);
        let ssh = attempts(&a, &b, 22);
        if ssh != per_source {
            wrong.push(format!("{backend}: ssh, limited per source, connected: {ssh:?}"));
        }
        let http = attempts(&a, &b, 80);
        if http != shared {
            wrong.push(format!("{backend}: http, one limit for all, connected: {http:?}"));
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
