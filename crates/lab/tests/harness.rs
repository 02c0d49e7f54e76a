//! The harness itself: namespaces appear, talk over veth and a bridge, and
//! vanish on drop.

use rampart_lab::{Netns, Tool, bridge, require_tools, veth};

fn exists(name: &str) -> bool {
    let out = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn namespace_is_deleted_on_drop() {
    let ns = Netns::new().unwrap();
    let name = ns.name().to_owned();
    assert!(name.starts_with(&format!("rampart-t-{}-", std::process::id())));
    assert!(exists(&name));
    drop(ns);
    assert!(!exists(&name));
}

#[test]
fn veth_and_bridge_carry_traffic() {
    require_tools(&[Tool::IP]).unwrap();
    let a = Netns::new().unwrap();
    let hub = Netns::new().unwrap();
    let b = Netns::new().unwrap();
    veth(&a, "eth0", &hub, "pa").unwrap();
    veth(&b, "eth0", &hub, "pb").unwrap();
    bridge(&hub, "br0", &["pa", "pb"]).unwrap();
    a.addr("eth0", "10.250.0.1/24").unwrap();
    b.addr("eth0", "10.250.0.2/24").unwrap();
    // bash's /dev/udp sends one datagram without needing netcat.
    a.run(["bash", "-c", "echo hi > /dev/udp/10.250.0.2/9"]).unwrap();
    let rx = b.stdout(["cat", "/sys/class/net/eth0/statistics/rx_packets"]).unwrap();
    assert!(rx.trim().parse::<u64>().unwrap() > 0, "nothing reached b: {rx}");
}

#[test]
fn missing_tool_fails_with_hint() {
    let err = require_tools(&[Tool { name: "no-such-tool-rampart", package: "nothing" }])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "`no-such-tool-rampart` not found: install nothing (apt-get install nothing)");
}
