//! Run-time sets (`set NAME ipv4`) in a real kernel: `apply` creates the
//! ipset before the rules that match it, its elements decide, and they
//! are kept across a reload without `status` calling them drift.

use rampart_lab::{Netns, Tool, require_tools};

use crate::deploy::{TwoPolicies, rampart, tools};
use crate::util::text;

fn pings(from: &Netns, to: &str) -> bool {
    from.run(["ping", "-c1", "-W1", to]).is_ok()
}

#[test]
fn a_blocklist_set_is_created_fills_at_run_time_and_survives_a_reload() {
    tools();
    require_tools(&[Tool { name: "ipset", package: "ipset" }]).unwrap();
    let t = TwoPolicies::new(
        78,
        "sets",
        "set blocklist ipv4 timeout 1h size 1024\nservice ping icmp echo-request\n\
         service web tcp 80\nfirewall fw {\n interface eth0 10.78.0.1/24\n \
         ruleset main {\n  deny from blocklist log\n  accept service ping\n  {extra}\n }\n}\n",
        ["", "accept service web"],
    );
    let (fw, peer) = (&t.fw, &t.peer);
    let apply = |policy: &str| t.apply(policy, &[]);
    apply("a.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("Type: hash:ip") && list.contains("timeout 3600"), "{list}");
    assert!(list.contains("maxelem 1024"), "{list}");
    assert!(pings(peer, "10.78.0.1"), "not in the set yet");

    fw.run(["ipset", "add", "blocklist", "10.78.0.2"]).unwrap();
    assert!(!pings(peer, "10.78.0.1"), "in the set: dropped");

    // A reload keeps the element, and status sees no drift.
    apply("b.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("10.78.0.2 timeout"), "{list}");
    assert!(!pings(peer, "10.78.0.1"), "still in the set after the reload");
    let out = rampart(fw, &t.state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    fw.run(["ipset", "del", "blocklist", "10.78.0.2"]).unwrap();
    assert!(pings(peer, "10.78.0.1"), "out of the set again");
}

/// With nft the document replaces the table: the live elements are added
/// back in the same transaction.
#[test]
fn the_nft_backend_keeps_a_sets_elements_across_a_reload() {
    tools();
    require_tools(&[Tool { name: "nft", package: "nftables" }]).unwrap();
    let t = TwoPolicies::new(
        79,
        "sets-nft",
        "set blocklist ipv4 timeout 1h\nservice ping icmp echo-request\n\
         service web tcp 80\nfirewall fw {\n interface eth0 10.79.0.1/24\n \
         ruleset main {\n  deny from blocklist log\n  accept service ping\n  {extra}\n }\n}\n",
        ["", "accept service web"],
    );
    let (fw, peer) = (&t.fw, &t.peer);
    let apply = |policy: &str| t.apply(policy, &["--backend", "nft"]);
    apply("a.rp");
    assert!(pings(peer, "10.79.0.1"));
    fw.run(["nft", "add", "element", "inet", "rampart", "blocklist", "{ 10.79.0.2 }"]).unwrap();
    assert!(!pings(peer, "10.79.0.1"), "in the set: dropped");
    apply("b.rp");
    let list = fw.stdout(["nft", "list", "set", "inet", "rampart", "blocklist"]).unwrap();
    assert!(list.contains("10.79.0.2"), "{list}");
    assert!(!pings(peer, "10.79.0.1"), "still in the set after the reload");
    let out = rampart(fw, &t.state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}
