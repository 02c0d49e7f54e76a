//! `return` unless a packet is in a list, in a real kernel: the iptables
//! pass splits the rule's chain (goto a chain per list, goto the rest), and
//! nft negates the set. Both backends are loaded in turn into the same
//! firewall namespace and must let through exactly what the policy says.
//!
//! Topology (all inside namespaces this test creates): clients `a`
//! (10.77.1.2), `b` (10.77.3.2) and `c` (10.77.4.2), each on its own link
//! to the firewall, which routes to `server` (10.77.2.2, listening on 22,
//! 80 and 8080).

mod common;

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, connects_as, require_tools, veth, wait_until};

const POLICY: &str = "host a 10.77.1.2\nhost b 10.77.3.2\nhost srv 10.77.2.2\n\
service ssh tcp 22\nservice web tcp 80\nservice alt tcp 8080\n\
firewall fw {\n  interface c0 10.77.1.1/24\n  interface c1 10.77.3.1/24\n  interface c2 10.77.4.1/24\n  \
interface s0 10.77.2.1/24\n  forward on\n  default reject\n  ruleset main {\n    \
return to not srv, 10.77.2.3\n    branch x to srv\n    accept from a service alt\n  }\n  ruleset x {\n    \
return from not a, b\n    accept service ssh\n    return service not web\n    accept from a service web\n    \
deny\n  }\n}\n";

/// (client, port, connects): what the policy says.
const CASES: [(&str, u16, bool); 9] = [
    // listed: x goes on to its later rules
    ("a", 22, true),
    ("b", 22, true),
    ("a", 80, true),
    // b is listed, so x goes on, past `accept from a service web`, to `deny`
    ("b", 80, false),
    // not web: x returns to main, whose next rule accepts a
    ("a", 8080, true),
    ("b", 8080, false),
    // not listed: x returns at once, and main's catch-all rejects
    ("c", 22, false),
    ("c", 80, false),
    ("c", 8080, false),
];

fn compiled() -> rampart_lower::Compiled {
    rampart_lower::compile(&rampart_testing::firewall(POLICY))
}

#[test]
fn a_listed_packet_goes_on_in_the_rule_set_and_any_other_returns() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV, Tool::SOCAT])
        .unwrap();
    let c = compiled();
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "return split", None);
    // both `return`s of x and the one of main (a built-in chain) are split
    for split in ["-g R1_rest", "-g R4_rest", "-g R6_rest"] {
        assert!(iptables.contains(split), "no `{split}` in\n{iptables}");
    }
    let nft = rampart_nft::emit(&c.rich);

    let (fw, server) = (Netns::new().unwrap(), Netns::new().unwrap());
    let clients: Vec<(&str, Netns)> =
        ["a", "b", "c"].into_iter().map(|n| (n, Netns::new().unwrap())).collect();
    for ((_, ns), (link, net)) in clients.iter().zip([("c0", 1), ("c1", 3), ("c2", 4)]) {
        veth(ns, "eth0", &fw, link).unwrap();
        ns.addr("eth0", &format!("10.77.{net}.2/24")).unwrap();
        fw.addr(link, &format!("10.77.{net}.1/24")).unwrap();
        ns.route("default", &format!("10.77.{net}.1")).unwrap();
    }
    veth(&server, "eth0", &fw, "s0").unwrap();
    server.addr("eth0", "10.77.2.2/24").unwrap();
    fw.addr("s0", "10.77.2.1/24").unwrap();
    server.route("default", "10.77.2.1").unwrap();
    fw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let _listeners = server.tcp_listeners(&[22, 80, 8080]).unwrap();
    let client = |name: &str| &clients.iter().find(|(n, _)| *n == name).unwrap().1;
    // Every case side by side: a dropped connect costs its whole timeout.
    let probe = || -> Vec<bool> {
        std::thread::scope(|s| {
            let jobs: Vec<_> = CASES
                .iter()
                .map(|&(name, port, _)| {
                    s.spawn(move || connects_as(client(name), 0, "10.77.2.2", port))
                })
                .collect();
            jobs.into_iter().map(|j| j.join().unwrap()).collect()
        })
    };
    // Before the firewall, every client reaches every port.
    let up = wait_until(Duration::from_secs(5), || connects_as(client("c"), 0, "10.77.2.2", 8080));
    assert!(up && probe().iter().all(|&c| c), "without the firewall, every case must connect");

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        for ((name, port, expected), got) in CASES.iter().zip(probe()) {
            if got != *expected {
                wrong.push(format!("{backend}: {name} to port {port} should connect: {expected}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
