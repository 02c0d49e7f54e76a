//! `examples/kvm-bridges.rp` in the kernel with each backend: the same five
//! ARP-spoofing men in the middle as the lab's iptables test (forged
//! neighbour entries), and the same honest pings. Each attack must fail and
//! each honest ping pass, with iptables-restore and with nft alike.

use std::collections::BTreeMap;
use std::path::Path;

use rampart_ir::Family;

use crate::equiv::helper;
use crate::protocol::MARK;
use crate::sys::{self, Netns};

const GUESTS: [(&str, &str, &str); 4] = [
    ("kali2", "vk42", "192.168.50.12"),
    ("kali3", "vk63", "192.168.50.13"),
    ("kali4", "vk64", "192.168.50.14"),
    ("kali5", "vk65", "192.168.50.15"),
];
const HOST: &str = "192.168.50.1";

fn sysctl(ns: &Netns, kv: &str) {
    assert!(sys::run(ns, &["sysctl", "-qw", kv]).status.success(), "sysctl {kv}");
}

struct Lab {
    hv: Netns,
    guests: BTreeMap<&'static str, Netns>,
    _web: Netns,
}

fn build() -> Lab {
    let hv = Netns::new().unwrap();
    sys::ip(&hv, &["link", "set", "lo", "up"]);
    let mut guests = BTreeMap::new();
    for (name, port, addr) in GUESTS {
        let g = Netns::new().unwrap();
        sys::ip(
            &hv,
            &["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", g.name()],
        );
        sys::ip(&g, &["link", "set", "lo", "up"]);
        sys::ip(&g, &["addr", "add", &format!("{addr}/24"), "dev", "eth0"]);
        sys::ip(&g, &["link", "set", "eth0", "up"]);
        sys::ip(&g, &["route", "add", "default", "via", HOST]);
        sysctl(&g, "net.ipv4.ip_forward=1");
        guests.insert(name, g);
    }
    sys::ip(&hv, &["link", "add", "vethb2", "type", "veth", "peer", "name", "vethb1"]);
    sys::ip(&hv, &["link", "add", "vmh1", "type", "veth", "peer", "name", "vmh2"]);
    for (br, ports) in [
        ("virbr6", &["vk63", "vk64", "vk65", "vethb2"][..]),
        ("virbr4", &["vk42", "vethb1", "vmh1"][..]),
    ] {
        sys::ip(&hv, &["link", "add", br, "type", "bridge"]);
        for p in ports {
            sys::ip(&hv, &["link", "set", p, "master", br, "up"]);
        }
        sys::ip(&hv, &["link", "set", br, "up"]);
    }
    sys::ip(&hv, &["addr", "add", &format!("{HOST}/24"), "dev", "vmh2"]);
    sys::ip(&hv, &["link", "set", "vmh2", "up"]);
    let web = Netns::new().unwrap();
    sys::ip(
        &hv,
        &["link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", web.name()],
    );
    sys::ip(&hv, &["addr", "add", "192.168.0.1/24", "dev", "uplink"]);
    sys::ip(&hv, &["link", "set", "uplink", "up"]);
    sys::ip(&web, &["addr", "add", "192.168.0.37/24", "dev", "eth0"]);
    sys::ip(&web, &["link", "set", "eth0", "up"]);
    sys::ip(&web, &["route", "add", "default", "via", "192.168.0.1"]);
    sysctl(&hv, "net.ipv4.ip_forward=1");
    sysctl(&hv, "net.bridge.bridge-nf-call-iptables=1");
    Lab { hv, guests, _web: web }
}

/// Three tries: a fresh topology may lose the first echo to neighbour
/// resolution. An attack counts as stopped only when all three fail.
fn pings(ns: &Netns, to: &str) -> bool {
    (0..3).any(|_| ping_once(ns, to))
}

fn ping_once(ns: &Netns, to: &str) -> bool {
    let out = helper(ns.name(), 0)
        .env("RAMPART_NFT_HELPER", "ping")
        .env("RAMPART_NFT_PING", to)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().any(|l| l.contains(&format!("{MARK}reply")))
}

fn mac(ns: &Netns, iface: &str) -> String {
    let out = sys::run(ns, &["cat", &format!("/sys/class/net/{iface}/address")]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn compiled() -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kvm-bridges.rp");
    let mut sources = rampart_diag::Sources::new();
    let model =
        rampart_model::load(&path, &mut sources).unwrap().model.expect("example checks clean");
    let c = rampart_lower::compile(&model.firewalls[0]);
    let ipt = rampart_emit::iptables_restore(&c.v4, Family::V4, "kvm", None);
    (ipt, rampart_nft::emit(&c.rich))
}

/// An attack: what, the forged neighbour entries (victim, device, address,
/// MAC), and the ping that must not get through.
type Attack<'a> = (&'a str, Vec<(&'a Netns, &'a str, &'a str, &'a str)>, (&'a Netns, &'a str));

/// Honest pings and attack outcomes, one line each. `load`: `None` for no
/// ruleset, `Some(true)` for nft, `Some(false)` for iptables-restore.
fn run(load: Option<bool>) -> Vec<String> {
    let lab = build();
    let (ipt, nft_text) = compiled();
    if load.is_none() {
        // The baseline: which attacks work in this topology at all.
    } else if load == Some(true) {
        sys::ok(&sys::nft(Some(lab.hv.name()), &["-f", "-"], &nft_text), "nft -f kvm-bridges");
    } else {
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", lab.hv.name(), "iptables-restore"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), ipt.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "iptables-restore kvm-bridges");
    }
    let g = |n: &str| &lab.guests[n];
    let mut out = Vec::new();
    for (from, to, what) in [
        (g("kali3"), "192.168.50.14", "kali3 -> kali4"),
        (g("kali3"), HOST, "kali3 -> host"),
        (&lab.hv, "192.168.50.14", "host -> kali4"),
        (g("kali2"), HOST, "kali2 -> host"),
        (g("kali3"), "192.168.50.12", "kali3 -> kali2"),
    ] {
        out.push(format!("honest {what}: {}", if pings(from, to) { "passes" } else { "blocked" }));
    }
    let kali2 = mac(g("kali2"), "eth0");
    let kali3 = mac(g("kali3"), "eth0");
    let host = mac(&lab.hv, "vmh2");
    let attacks: Vec<Attack<'_>> = vec![
        (
            "1 kali2 spoofs kali3 and kali4",
            vec![
                (g("kali3"), "eth0", "192.168.50.14", &kali2),
                (g("kali4"), "eth0", "192.168.50.13", &kali2),
            ],
            (g("kali3"), "192.168.50.14"),
        ),
        (
            "2 kali2 spoofs kali3 and the host",
            vec![(g("kali3"), "eth0", HOST, &kali2), (&lab.hv, "vmh2", "192.168.50.13", &kali2)],
            (g("kali3"), HOST),
        ),
        (
            "3 kali3 spoofs the host and kali4",
            vec![(&lab.hv, "vmh2", "192.168.50.14", &kali3), (g("kali4"), "eth0", HOST, &kali3)],
            (&lab.hv, "192.168.50.14"),
        ),
        (
            "4a kali3 spoofs kali2 and the host",
            vec![(g("kali2"), "eth0", HOST, &kali3), (&lab.hv, "vmh2", "192.168.50.12", &kali3)],
            (g("kali2"), HOST),
        ),
        (
            "4b the same, the host's side",
            vec![(g("kali2"), "eth0", HOST, &kali3), (&lab.hv, "vmh2", "192.168.50.12", &kali3)],
            (&lab.hv, "192.168.50.12"),
        ),
        (
            "5 the host between kali3 and kali2",
            vec![
                (g("kali3"), "eth0", "192.168.50.12", &host),
                (g("kali2"), "eth0", "192.168.50.13", &host),
            ],
            (g("kali3"), "192.168.50.12"),
        ),
    ];
    for (what, forged, (from, to)) in attacks {
        for (victim, iface, addr, mac) in &forged {
            sys::ip(
                victim,
                &["neigh", "replace", addr, "lladdr", mac, "dev", iface, "nud", "permanent"],
            );
        }
        out.push(format!(
            "attack {what}: {}",
            if pings(from, to) { "GOT THROUGH" } else { "stopped" }
        ));
        for (victim, iface, ..) in &forged {
            sys::ip(victim, &["neigh", "flush", "dev", iface]);
        }
    }
    out
}

#[test]
fn kvm_bridges_attacks_stopped_by_both_backends() {
    let open = run(None);
    let working: Vec<&String> = open.iter().filter(|l| l.ends_with("GOT THROUGH")).collect();
    // Without rules at least some attacks succeed, or the test proves nothing.
    assert!(!working.is_empty(), "no attack works without rules:\n{open:#?}");
    let ipt = run(Some(false));
    let nft = run(Some(true));
    assert_eq!(ipt, nft, "iptables (left) and nft (right) differ");
    for line in &ipt {
        let ok = if line.starts_with("honest") {
            line.ends_with("passes")
        } else {
            line.ends_with("stopped")
        };
        assert!(ok, "{line}\n{ipt:#?}");
    }
}
