//! `connlimit` in a real kernel, with both backends: while a client holds
//! as many connections open as the rule allows, its next one meets the
//! rule after (a reject with a TCP reset); another client, under its own
//! limit, connects; once one of the held connections closes, the first
//! client connects again.
//!
//! Topology (inside namespaces this test creates): two clients,
//! 10.78.1.2 and 10.78.2.2, each on its own link to the firewall (10.78.1.1,
//! 10.78.2.1), which listens on 22 itself.

mod common;

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Spawned, Tool, connects_as, require_tools, veth, wait_until};

const POLICY: &str = "firewall fw {\n  interface c1 10.78.1.1/24\n  interface c2 10.78.2.1/24\n  \
default reject\n  ruleset main {\n    \
accept service ssh connlimit 2 per source\n    reject with tcp-reset\n  }\n}\n";

/// Connections to the firewall's port 22 it holds established.
fn established(fw: &Netns) -> usize {
    let out = fw.stdout(["ss", "-Htn", "state", "established", "( sport = :22 )"]).unwrap();
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

/// A connection from `ns` to 10.78.1.1:22 kept open until dropped.
fn hold(ns: &Netns) -> Spawned {
    let script = "exec 3<>/dev/tcp/10.78.1.1/22 && sleep 60";
    Spawned(vec![ns.spawn(&["bash", "-c", script]).unwrap()])
}

#[test]
fn a_connection_limit_refuses_the_connection_over_it_in_the_kernel_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(POLICY));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "connlimit", None);
    let nft = rampart_nft::emit(&c.rich);

    let (fw, a, b) = (Netns::new().unwrap(), Netns::new().unwrap(), Netns::new().unwrap());
    veth(&a, "eth0", &fw, "c1").unwrap();
    veth(&b, "eth0", &fw, "c2").unwrap();
    a.addr("eth0", "10.78.1.2/24").unwrap();
    b.addr("eth0", "10.78.2.2/24").unwrap();
    fw.addr("c1", "10.78.1.1/24").unwrap();
    fw.addr("c2", "10.78.2.1/24").unwrap();
    b.route("10.78.1.0/24", "10.78.2.1").unwrap();
    let _listener = fw.tcp_listeners(&[22]).unwrap();
    let up = wait_until(Duration::from_secs(5), || connects_as(&a, 0, "10.78.1.1", 22));
    assert!(up, "without the firewall, the client must reach it");

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        assert!(wait_until(Duration::from_secs(5), || established(&fw) == 0), "{backend}");
        let first = hold(&a);
        let second = hold(&a);
        let held = wait_until(Duration::from_secs(5), || established(&fw) == 2);
        assert!(held, "{backend}: two connections under the limit must open");
        let seen = [
            ("a third from the same source", connects_as(&a, 0, "10.78.1.1", 22), false),
            ("one from another source", connects_as(&b, 0, "10.78.1.1", 22), true),
        ];
        drop(first);
        let again = wait_until(Duration::from_secs(5), || connects_as(&a, 0, "10.78.1.1", 22));
        drop(second);
        for (what, got, want) in seen.into_iter().chain([("again, one closed", again, true)]) {
            if got != want {
                wrong.push(format!("{backend}: {what}: connected {got}, expected {want}"));
            }
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
