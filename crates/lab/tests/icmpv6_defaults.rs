//! The ICMPv6 a host must not filter (RFC 4890, 4.4.1) passes a policy
//! that says nothing about it, with both backends: here the multicast
//! listener reports (MLDv2, type 143) the firewall sends when it gains an
//! address, which the catch-all would otherwise drop.
//!
//! Topology (inside namespaces this test creates): the firewall and a
//! neighbour on one link, IPv6 only.

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, require_tools, veth, wait_until};

const POLICY: &str = "firewall fw {\n  interface c0 2001:db8:82::1/64\n  ruleset main {\n    \
accept from 2001:db8:82::2\n  }\n}\n";

/// Packets the OUTPUT rule for MLDv2 reports has counted.
fn reports(fw: &Netns, backend: &str) -> u64 {
    if backend == "iptables" {
        let out = fw.stdout(["ip6tables", "-w", "-L", "OUTPUT", "-v", "-x", "-n"]).unwrap();
        out.lines()
            .filter(|l| l.contains("ipv6-icmptype 143"))
            .filter_map(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    } else {
        let out = fw.stdout(["nft", "list", "chain", "inet", "rampart", "output"]).unwrap();
        out.lines()
            .filter(|l| l.contains("icmpv6 type 143") || l.contains("mld2-listener-report"))
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.iter()
                    .position(|x| *x == "packets")
                    .and_then(|i| w.get(i + 1)?.parse::<u64>().ok())
            })
            .sum()
    }
}

#[test]
fn mld_reports_pass_a_policy_that_does_not_mention_them_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(POLICY));
    let ip6tables = rampart_emit::iptables_restore(&c.v6, Family::V6, "icmpv6", None);
    let nft = rampart_nft::emit(&c.rich);
    let (fw, peer) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&peer, "eth0", &fw, "c0").unwrap();
    let open =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    let mut wrong = Vec::new();
    for (i, backend) in ["iptables", "nft"].into_iter().enumerate() {
        fw.run_with_input(&["ip6tables-restore", "-w"], open).unwrap();
        fw.run(["nft", "flush", "ruleset"]).unwrap();
        if backend == "iptables" {
            fw.run_with_input(&["ip6tables-restore", "-w"], &ip6tables).unwrap();
        } else {
            fw.run_with_input(&["nft", "-f", "-"], &nft).unwrap();
        }
        // a new address: the kernel joins its solicited-node group and says so
        fw.run([
            "ip",
            "-6",
            "addr",
            "add",
            &format!("2001:db8:82::{}/64", i + 10),
            "dev",
            "c0",
            "nodad",
        ])
        .unwrap();
        if !wait_until(Duration::from_secs(5), || reports(&fw, backend) > 0) {
            wrong.push(format!("{backend}: no MLD report counted by its rule"));
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{ip6tables}\n{nft}");
}
