//! The bridge recipe of `examples/kvm-bridges.rp` in a real kernel: five
//! ARP-spoofing men in the middle, simulated with forged neighbour entries,
//! each stopped by the DENY rule of the right port, while the same traffic
//! without an attack passes.
//!
//! Everything lives in namespaces this test creates: `hv` is the
//! virtualization host (bridges virbr6 and virbr4, the veth link
//! vethb2~vethb1, the host link vmh1~vmh2, an uplink), each guest and the
//! web server have their own.

use std::collections::BTreeMap;
use std::path::Path;

use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_lab::{Netns, Tool, bridge, require_tools, veth};

struct Lab {
    hv: Netns,
    guests: BTreeMap<&'static str, Netns>,
    _web: Netns,
}

const GUESTS: [(&str, &str, &str); 4] = [
    ("kali2", "vk42", "192.168.50.12"),
    ("kali3", "vk63", "192.168.50.13"),
    ("kali4", "vk64", "192.168.50.14"),
    ("kali5", "vk65", "192.168.50.15"),
];
const HOST: &str = "192.168.50.1";

fn firewall() -> rampart_model::Firewall {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-bridges.rp");
    let mut sources = Sources::new();
    let model =
        rampart_model::load(&path, &mut sources).unwrap().model.expect("example checks clean");
    model.firewalls[0].clone()
}

fn compile() -> String {
    let c = rampart_lower::compile(&firewall());
    rampart_emit::iptables_restore(&c.v4, Family::V4, "kvm-bridges test", None)
}

/// The ARP guard of the example, as `rampart compile --target nft-arp` writes it.
fn arp_guard() -> String {
    rampart_nft::arp_guard(&firewall().arp_guards()).expect("the example guards its guest ports")
}

fn build() -> Lab {
    let hv = Netns::new().unwrap();
    let mut guests = BTreeMap::new();
    for (name, port, addr) in GUESTS {
        let g = Netns::new().unwrap();
        veth(&g, "eth0", &hv, port).unwrap();
        g.addr("eth0", &format!("{addr}/24")).unwrap();
        g.route("default", HOST).unwrap();
        guests.insert(name, g);
    }
    hv.run(["ip", "link", "add", "vethb2", "type", "veth", "peer", "name", "vethb1"]).unwrap();
    hv.run(["ip", "link", "add", "vmh1", "type", "veth", "peer", "name", "vmh2"]).unwrap();
    bridge(&hv, "virbr6", &["vk63", "vk64", "vk65", "vethb2"]).unwrap();
    bridge(&hv, "virbr4", &["vk42", "vethb1", "vmh1"]).unwrap();
    hv.addr("vmh2", &format!("{HOST}/24")).unwrap();
    let web = Netns::new().unwrap();
    veth(&hv, "uplink", &web, "eth0").unwrap();
    hv.addr("uplink", "192.168.0.1/24").unwrap();
    web.addr("eth0", "192.168.0.37/24").unwrap();
    web.route("default", "192.168.0.1").unwrap();
    hv.sysctl("net.ipv4.ip_forward", "1").unwrap();
    hv.sysctl("net.bridge.bridge-nf-call-iptables", "1").unwrap();
    Lab { hv, guests, _web: web }
}

fn mac(ns: &Netns, iface: &str) -> String {
    ns.stdout(["cat", &format!("/sys/class/net/{iface}/address")]).unwrap().trim().to_owned()
}

fn pings(ns: &Netns, to: &str) -> bool {
    ns.run(["ping", "-n", "-q", "-c", "1", "-W", "1", to]).is_ok()
}

/// Point `victim`'s neighbour entry for `addr` at `mac` (the effect of ARP
/// spoofing, made deterministic).
fn forge(victim: &Netns, iface: &str, addr: &str, mac: &str) {
    victim
        .run(["ip", "neigh", "replace", addr, "lladdr", mac, "dev", iface, "nud", "permanent"])
        .unwrap();
}

fn heal(ns: &Netns, iface: &str) {
    ns.run(["ip", "neigh", "flush", "dev", iface]).unwrap();
}

/// Packets dropped by the LOG+DROP chain of rule `n` since the counters
/// were zeroed.
fn drops(hv: &Netns, n: u32) -> u64 {
    let saved = hv.stdout(["iptables-save", "-c", "-t", "filter"]).unwrap();
    let chain = format!("-A RULE_{n} ");
    saved
        .lines()
        .filter(|l| l.contains(&chain) && l.ends_with("-j DROP"))
        .filter_map(|l| l.strip_prefix('[')?.split(':').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn five_men_in_the_middle_are_stopped_at_the_right_port() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool { name: "ping", package: "iputils-ping" },
    ])
    .unwrap();
    let lab = build();
    let g = |n: &str| &lab.guests[n];
    lab.hv.run_with_input(&["iptables-restore", "-w"], &compile()).unwrap();
    for ns in lab.guests.values() {
        ns.sysctl("net.ipv4.ip_forward", "1").unwrap();
    }

    // Without an attack the traffic passes.
    assert!(pings(g("kali3"), "192.168.50.14"), "kali3 -> kali4");
    assert!(pings(g("kali3"), HOST), "kali3 -> host");
    assert!(pings(&lab.hv, "192.168.50.14"), "host -> kali4");
    assert!(pings(g("kali2"), HOST), "kali2 -> host");
    assert!(pings(g("kali3"), "192.168.50.12"), "kali3 -> kali2");

    let kali2 = mac(g("kali2"), "eth0");
    let kali3 = mac(g("kali3"), "eth0");
    let host = mac(&lab.hv, "vmh2");
    // (attack, victim and the forged entries, probe, the rule that must stop it)
    type Attack<'a> =
        (&'a str, Vec<(&'a Netns, &'a str, &'a str, &'a str)>, (&'a Netns, &'a str), u32);
    let attacks: Vec<Attack<'_>> = vec![
        (
            "1: kali2 spoofs kali3 and kali4; stopped leaving virbr6 at border vethb2",
            vec![
                (g("kali3"), "eth0", "192.168.50.14", &kali2),
                (g("kali4"), "eth0", "192.168.50.13", &kali2),
            ],
            (g("kali3"), "192.168.50.14"),
            15,
        ),
        (
            "2: kali2 spoofs kali3 and the host; stopped at kali2's guest port vk42",
            vec![(g("kali3"), "eth0", HOST, &kali2), (&lab.hv, "vmh2", "192.168.50.13", &kali2)],
            (g("kali3"), HOST),
            18,
        ),
        (
            "3: kali3 spoofs the host and kali4; stopped at kali3's guest port vk63",
            vec![(&lab.hv, "vmh2", "192.168.50.14", &kali3), (g("kali4"), "eth0", HOST, &kali3)],
            (&lab.hv, "192.168.50.14"),
            5,
        ),
        (
            "4a: kali3 spoofs kali2 and the host; kali2's side stopped at border vethb1",
            vec![(g("kali2"), "eth0", HOST, &kali3), (&lab.hv, "vmh2", "192.168.50.12", &kali3)],
            (g("kali2"), HOST),
            22,
        ),
        (
            "4b: the same attack, the host's side also stopped at border vethb1",
            vec![(g("kali2"), "eth0", HOST, &kali3), (&lab.hv, "vmh2", "192.168.50.12", &kali3)],
            (&lab.hv, "192.168.50.12"),
            22,
        ),
        (
            "5: the host plays man in the middle between kali3 and kali2; stopped at its bridge port vmh1",
            vec![
                (g("kali3"), "eth0", "192.168.50.12", &host),
                (g("kali2"), "eth0", "192.168.50.13", &host),
            ],
            (g("kali3"), "192.168.50.12"),
            26,
        ),
    ];
    for (what, forged, (from, to), rule) in attacks {
        lab.hv.run(["iptables", "-w", "-Z"]).unwrap();
        for (victim, iface, addr, mac) in &forged {
            forge(victim, iface, addr, mac);
        }
        let passed = pings(from, to);
        let stopped_by = drops(&lab.hv, rule);
        for (victim, iface, ..) in &forged {
            heal(victim, iface);
        }
        assert!(!passed, "attack {what}: the redirected ping got through");
        assert!(stopped_by > 0, "attack {what}: rule {rule} did not drop it");
    }
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
    let (kali2, kali3) = (&lab.guests["kali2"], &lab.guests["kali3"]);
    let attacker = mac(kali2, "eth0");

    // Without the guard the spoofing works: kali3 believes the host is kali2.
    assert!(pings(kali3, HOST));
    let spoofed = neighbour_during_arpspoof(kali2, kali3, "192.168.50.13", HOST);
    assert!(
        spoofed.contains(&attacker),
        "arpspoof did not work without the guard, so the test proves nothing: {spoofed}"
    );

    heal(kali3, "eth0");
    lab.hv.run_with_input(&["nft", "-f", "-"], &arp_guard()).unwrap();
    assert!(pings(kali3, HOST));
    let entry = neighbour_during_arpspoof(kali2, kali3, "192.168.50.13", HOST);
    assert!(!entry.contains(&attacker), "the guard let the forged ARP through: {entry}");
    assert!(entry.contains(&mac(&lab.hv, "vmh2")), "kali3 lost the host's real address: {entry}");
    let table = lab.hv.stdout(["nft", "list", "table", "bridge", "rampart_arp"]).unwrap();
    assert!(table.contains("iifname \"vk42\""), "{table}");
}
