//! Run-time sets (`set NAME ipv4`) in a real kernel: `apply` creates the
//! ipset before the rules that match it, its elements decide, and they
//! are kept across a reload without `status` calling them drift.

use rampart_lab::{Netns, Tool, require_tools, veth};

use crate::deploy::{rampart, tools};
use crate::util::{tempdir, text};

fn pings(from: &Netns, to: &str) -> bool {
    from.run(["ping", "-c1", "-W1", to]).is_ok()
}

#[test]
fn a_blocklist_set_is_created_fills_at_run_time_and_survives_a_reload() {
    tools();
    require_tools(&[Tool { name: "ipset", package: "ipset" }]).unwrap();
    let fw = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    veth(&fw, "eth0", &peer, "eth0").unwrap();
    fw.addr("eth0", "10.78.0.1/24").unwrap();
    peer.addr("eth0", "10.78.0.2/24").unwrap();
    let dir = tempdir("sets");
    for (name, extra) in [("a", ""), ("b", "accept service web")] {
        std::fs::write(
            dir.join(format!("{name}.rp")),
            format!(
                "set blocklist ipv4 timeout 1h size 1024\nservice ping icmp echo-request\n\
                 service web tcp 80\nfirewall fw {{\n interface eth0 10.78.0.1/24\n \
                 ruleset main {{\n  deny from blocklist log\n  accept service ping\n  {extra}\n }}\n}}\n"
            ),
        )
        .unwrap();
    }
    let state = dir.join("state");
    let apply = |policy: &str| {
        let p = dir.join(policy);
        let out = rampart(&fw, &state, &["apply", p.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    apply("a.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("Type: hash:ip") && list.contains("timeout 3600"), "{list}");
    assert!(list.contains("maxelem 1024"), "{list}");
    assert!(pings(&peer, "10.78.0.1"), "not in the set yet");

    fw.run(["ipset", "add", "blocklist", "10.78.0.2"]).unwrap();
    assert!(!pings(&peer, "10.78.0.1"), "in the set: dropped");

    // A reload keeps the element, and status sees no drift.
    apply("b.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("10.78.0.2 timeout"), "{list}");
    assert!(!pings(&peer, "10.78.0.1"), "still in the set after the reload");
    let out = rampart(&fw, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    fw.run(["ipset", "del", "blocklist", "10.78.0.2"]).unwrap();
    assert!(pings(&peer, "10.78.0.1"), "out of the set again");
}

/// With nft the document replaces the table: the live elements are added
/// back in the same transaction.
#[test]
fn the_nft_backend_keeps_a_sets_elements_across_a_reload() {
    tools();
    require_tools(&[Tool { name: "nft", package: "nftables" }]).unwrap();
    let fw = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    veth(&fw, "eth0", &peer, "eth0").unwrap();
    fw.addr("eth0", "10.79.0.1/24").unwrap();
    peer.addr("eth0", "10.79.0.2/24").unwrap();
    let dir = tempdir("sets-nft");
    for (name, extra) in [("a", ""), ("b", "accept service web")] {
        std::fs::write(
            dir.join(format!("{name}.rp")),
            format!(
                "set blocklist ipv4 timeout 1h\nservice ping icmp echo-request\n\
                 service web tcp 80\nfirewall fw {{\n interface eth0 10.79.0.1/24\n \
                 ruleset main {{\n  deny from blocklist log\n  accept service ping\n  {extra}\n }}\n}}\n"
            ),
        )
        .unwrap();
    }
    let state = dir.join("state");
    let apply = |policy: &str| {
        let p = dir.join(policy);
        let out = rampart(&fw, &state, &["apply", p.to_str().unwrap(), "--backend", "nft"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    apply("a.rp");
    assert!(pings(&peer, "10.79.0.1"));
    fw.run(["nft", "add", "element", "inet", "rampart", "blocklist", "{ 10.79.0.2 }"]).unwrap();
    assert!(!pings(&peer, "10.79.0.1"), "in the set: dropped");
    apply("b.rp");
    let list = fw.stdout(["nft", "list", "set", "inet", "rampart", "blocklist"]).unwrap();
    assert!(list.contains("10.79.0.2"), "{list}");
    assert!(!pings(&peer, "10.79.0.1"), "still in the set after the reload");
    let out = rampart(&fw, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}
