//! `self` in a branched rule set means what it means in the entry rule set:
//! the same rules written in `main` and moved into a rule set that `main`
//! branches to decide every packet alike (trace, both IR forms), and the
//! branched form holds in a real kernel with both backends.
//!
//! Topology (inside namespaces this test creates): the firewall (10.76.1.1
//! on c1, 10.76.2.1 on c2) and a peer (10.76.1.2) on c1.

mod common;

use std::net::IpAddr;

use rampart_ir::{Family, Hook, Ruleset};
use rampart_lab::{Netns, Tool, connects_many, require_tools, veth};
use rampart_trace::{Packet, Verdict};

const RULES: &str = "    reject with tcp-reset from self service http\n    \
accept from self\n    accept from 10.76.0.0/16 to self service ssh\n    \
deny to not self service ssh\n    accept from not self to not self\n";

/// The firewall with `RULES` in `main`, or in `B` behind `branch B`.
fn policy(branched: bool) -> String {
    let head = "service ssh tcp 22\nservice http tcp 80\nfirewall fw {\n  \
                interface c1 10.76.1.1/24\n  interface c2 10.76.2.1/24\n  forward on\n";
    if branched {
        format!("{head}  ruleset main {{\n    branch B\n  }}\n  ruleset B {{\n{RULES}  }}\n}}\n")
    } else {
        format!("{head}  ruleset main {{\n{RULES}  }}\n}}\n")
    }
}

/// The verdict and the policy rule that decided, counted from the first
/// of `RULES` (the branched form has the branch before them).
fn decide(rs: &Ruleset, p: &Packet, first: u32) -> (Verdict, Option<u32>) {
    let t = rampart_trace::trace(rs, p);
    let rule = t.main.decided_by.and_then(|at| at.origin(rs)).map(|o| o.rule);
    (t.verdict, rule.filter(|&n| n > 0).map(|n| n - first))
}

/// TCP packets through every hook, between the firewall's addresses and
/// others, to the ports the rules name and one they do not.
fn packets() -> Vec<Packet> {
    let own: [IpAddr; 2] = ["10.76.1.1".parse().unwrap(), "10.76.2.1".parse().unwrap()];
    let others: [IpAddr; 3] =
        ["10.76.1.2".parse().unwrap(), "10.76.2.9".parse().unwrap(), "192.0.2.7".parse().unwrap()];
    let mut out = Vec::new();
    for port in [22, 80, 443] {
        let tcp = |hook, src, dst, i: Option<&str>, o: Option<&str>| {
            let mut p = Packet::new(hook);
            (p.src, p.dst, p.proto, p.sport, p.dport) =
                (Some(src), Some(dst), Some(6), Some(40000), Some(port));
            (p.in_iface, p.out_iface, p.tcp_flags) =
                (i.map(Into::into), o.map(Into::into), Some(2));
            p
        };
        for &o in &others {
            for &s in &own {
                out.push(tcp(Hook::Input, o, s, Some("c1"), None));
                out.push(tcp(Hook::Output, s, o, None, Some("c1")));
            }
            for &o2 in &others {
                out.push(tcp(Hook::Forward, o, o2, Some("c1"), Some("c2")));
            }
        }
    }
    out
}

#[test]
fn self_in_a_branched_rule_set_is_the_firewall_as_in_main() {
    let flat = rampart_lower::compile(&rampart_testing::firewall(&policy(false)));
    let branched = rampart_lower::compile(&rampart_testing::firewall(&policy(true)));
    let mut differ = Vec::new();
    for p in packets() {
        for (a, b) in [(&flat.rich, &branched.rich), (&*flat.v4, &*branched.v4)] {
            let (want, got) = (decide(a, &p, 0), decide(b, &p, 1));
            if want != got {
                differ.push(format!("{p:?}: main {want:?}, branched {got:?}"));
            }
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn self_in_a_branched_rule_set_holds_in_the_kernel_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(&policy(true)));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "self", None);
    let nft = rampart_nft::emit(&c.rich);

    let (fw, peer) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&peer, "eth0", &fw, "c1").unwrap();
    peer.addr("eth0", "10.76.1.2/24").unwrap();
    fw.addr("c1", "10.76.1.1/24").unwrap();
    let _fw_listens = fw.tcp_listeners(&[22, 80]).unwrap();
    let _peer_listens = peer.tcp_listeners(&[22, 80]).unwrap();
    // (from, to, port, connects): out from self but not to http; in to self on ssh only
    let probes = [
        (&fw, "10.76.1.2", 22, true),
        (&fw, "10.76.1.2", 80, false),
        (&peer, "10.76.1.1", 22, true),
        (&peer, "10.76.1.1", 80, false),
    ];
    let up = rampart_lab::wait_until(std::time::Duration::from_secs(5), || {
        probes.iter().all(|&(ns, to, port, _)| connects_many(ns, to, &[(0, port)]) == [true])
    });
    assert!(up, "without the firewall, every probe must connect");
    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        for &(ns, to, port, want) in &probes {
            let got = connects_many(ns, to, &[(0, port)]) == [true];
            if got != want {
                wrong.push(format!("{backend}: {} to {to}:{port}: {got}", ns.name()));
            }
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
