//! A group that holds the firewall (by name or by a host object on its
//! address) covers the firewall itself: the rule gets INPUT lines, so the
//! firewall answers what the policy accepts, with either backend.
//!
//! Topology (inside namespaces this test creates): a client (10.78.1.2) on
//! a link to the firewall (10.78.1.1), which listens on 22 and 80 itself.

mod common;

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, connects_as, require_tools, veth, wait_until};

const POLICY: &str = "host client 10.78.1.2\nhost fw-addr 10.78.1.1\ngroup servers { fw, 10.78.9.9 }\n\
firewall fw {\n  interface c0 10.78.1.1/24\n  forward on\n  default reject\n  ruleset main {\n    \
accept from client to servers service ssh\n    accept from client to fw-addr service http\n  }\n}\n";

#[test]
fn a_group_or_host_holding_the_firewall_reaches_the_firewall_itself() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(POLICY));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "firewall in a group", None);
    let nft = rampart_nft::emit(&c.rich);

    let (fw, client) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&client, "eth0", &fw, "c0").unwrap();
    client.addr("eth0", "10.78.1.2/24").unwrap();
    fw.addr("c0", "10.78.1.1/24").unwrap();
    let _listeners = fw.tcp_listeners(&[22, 80, 8080]).unwrap();
    let up = wait_until(Duration::from_secs(5), || connects_as(&client, 0, "10.78.1.1", 8080));
    assert!(up, "without the firewall, the client must reach it");

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        let got: Vec<bool> = std::thread::scope(|s| {
            let client = &client;
            let jobs: Vec<_> = [22, 80, 8080]
                .into_iter()
                .map(|port| s.spawn(move || connects_as(client, 0, "10.78.1.1", port)))
                .collect();
            jobs.into_iter().map(|j| j.join().unwrap()).collect()
        });
        if got != [true, true, false] {
            wrong.push(format!("{backend}: ports 22, 80, 8080 connected: {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
