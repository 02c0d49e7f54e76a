//! The ARP guard of `examples/kvm-bridges.rp` against a real `arpspoof`,
//! on the network of `examples/kvm-bridges.lab` (the lab itself replays
//! the five men in the middle with both backends: `labs.rs`).

use std::path::{Path, PathBuf};

use rampart_diag::Sources;
use rampart_lab::{Netns, Tool, require_tools, topology};

const HOST: &str = "192.168.50.1";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ARP guard of the example, as `rampart compile --target nft-arp` writes it.
fn arp_guard() -> String {
    let path = root().join("examples/kvm-bridges.rp");
    let mut sources = Sources::new();
    let model =
        rampart_model::load(&path, &mut sources).unwrap().model.expect("example checks clean");
    rampart_nft::arp_guard(&model.firewalls[0].arp_guards())
        .expect("the example guards its guest ports")
}

/// The lab's network, no ruleset loaded; gone when dropped.
fn build() -> topology::Topology {
    let path = root().join("examples/kvm-bridges.lab");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text.clone());
    let lab = rampart_lab::parse(&path, &text, file).lab.expect("the example lab parses");
    topology::build(&lab, &rampart_lab::netns::run_id()).unwrap()
}

fn mac(ns: &Netns, iface: &str) -> String {
    ns.stdout(["cat", &format!("/sys/class/net/{iface}/address")]).unwrap().trim().to_owned()
}

fn pings(ns: &Netns, to: &str) -> bool {
    ns.run(["ping", "-n", "-q", "-c", "1", "-W", "1", to]).is_ok()
}

fn heal(ns: &Netns, iface: &str) {
    ns.run(["ip", "neigh", "flush", "dev", iface]).unwrap();
}

fn neighbour(ns: &Netns, addr: &str) -> String {
    ns.stdout(["ip", "neigh", "show", addr]).unwrap()
}

/// What `victim` believes `addr`'s MAC is while the real `arpspoof` runs in
/// `attacker`, telling it that `addr` is at the attacker's MAC. Read while
/// it runs: on a normal exit arpspoof re-arps the true address.
fn neighbour_during_arpspoof(
    attacker: &Netns,
    victim_ns: &Netns,
    victim: &str,
    addr: &str,
) -> String {
    let mut spoof = attacker.spawn(&["arpspoof", "-i", "eth0", "-t", victim, addr]).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let entry = neighbour(victim_ns, addr);
    let _ = spoof.kill();
    let _ = spoof.wait();
    entry
}

#[test]
fn the_arp_guard_makes_arpspoof_fail() {
    require_tools(&[
        Tool::IP,
        Tool::NFT,
        Tool { name: "arpspoof", package: "dsniff" },
        Tool { name: "ping", package: "iputils-ping" },
    ])
    .unwrap();
    let lab = build();
    let (kali2, kali3, hv) = (lab.ns("kali2"), lab.ns("kali3"), lab.fw());
    let attacker = mac(kali2, "eth0");

    // Without the guard the spoofing works: kali3 believes the host is kali2.
    assert!(pings(kali3, HOST));
    let spoofed = neighbour_during_arpspoof(kali2, kali3, "192.168.50.13", HOST);
    assert!(
        spoofed.contains(&attacker),
        "arpspoof did not work without the guard, so the test proves nothing: {spoofed}"
    );

    heal(kali3, "eth0");
    hv.run_with_input(&["nft", "-f", "-"], &arp_guard()).unwrap();
    assert!(pings(kali3, HOST));
    let entry = neighbour_during_arpspoof(kali2, kali3, "192.168.50.13", HOST);
    assert!(!entry.contains(&attacker), "the guard let the forged ARP through: {entry}");
    assert!(entry.contains(&mac(hv, "vmh2")), "kali3 lost the host's real address: {entry}");
    let table = hv.stdout(["nft", "list", "table", "bridge", "rampart_arp"]).unwrap();
    assert!(table.contains("iifname \"vk42\""), "{table}");
}
