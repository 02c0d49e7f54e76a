use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use proptest::prelude::*;
use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_model::Firewall;
use rampart_trace::{Hook, Interfaces, Packet, Tracer, Verdict, tcp};

use crate::matrix::{Matrix, matrix};
use crate::packets::interfaces;

fn gateway() -> (Firewall, rampart_ir::Ruleset) {
    let mut sources = Sources::new();
    let text = include_str!("../../../examples/office-gateway.rp");
    let loaded = rampart_model::load_str("office-gateway.rp", text, &mut sources);
    let fw = loaded.model.unwrap().firewalls.remove(0);
    let rs = rampart_lower::compile(&fw).v4.into_ruleset();
    (fw, rs)
}

/// The gateway, its rules and its matrix, made once for every case.
static GATEWAY: LazyLock<(Firewall, rampart_ir::Ruleset, Matrix)> = LazyLock::new(|| {
    let (fw, rs) = gateway();
    let m = matrix(&fw, &rs, Family::V4).unwrap();
    (fw, rs, m)
});

fn zone(ifaces: &Interfaces, a: IpAddr) -> String {
    if ifaces.own(a) { "self".into() } else { ifaces.via(a)[0].to_owned() }
}

#[test]
fn the_gateways_matrix() {
    let (fw, rs) = gateway();
    let m = matrix(&fw, &rs, Family::V4).unwrap();
    let cell = |from: &str, to: &str| -> Vec<String> {
        let c = m.cells.iter().find(|c| c.from == from && c.to == to).unwrap();
        c.allowed.iter().map(crate::matrix::Allowed::label).collect()
    };
    assert_eq!(
        cell("eth1", "self"),
        [
            "ping (icmp 8)*",
            "ssh (tcp 22)*",
            "dns (tcp 53)*",
            "web-ports (tcp 80)*",
            "web-ports (tcp 443)*",
            "dns (udp 53)*"
        ]
    );
    assert_eq!(
        cell("eth0", "eth2"),
        ["smtp (tcp 25)*", "web-ports (tcp 80)*", "web-ports (tcp 443)*"]
    );
    assert_eq!(cell("eth2", "eth1"), Vec::<String>::new());
    // Only the admin's address opens ssh to the firewall, by backup-ssh
    // (rule 0) before rule 3.
    let c = m.cells.iter().find(|c| c.from == "eth1" && c.to == "self").unwrap();
    let ssh = c.allowed.iter().find(|a| a.service == "tcp 22").unwrap();
    assert_eq!(ssh.rules, [0]);
    assert!(ssh.accepted > 0 && ssh.accepted < ssh.packets, "{ssh:?}");
    // antispoof eth0: eth0 accepts no other zone's sources; eth1 does.
    let spoofed: Vec<(&str, &str)> =
        m.spoofing.iter().map(|s| (s.interface.as_str(), s.claims.as_str())).collect();
    assert!(!spoofed.iter().any(|s| s.0 == "eth0"), "{spoofed:?}");
    assert!(spoofed.contains(&("eth1", "eth2")), "{spoofed:?}");
    assert_eq!(m.spoofing[0].diagnostic().code, "W0340");
}

/// Addresses near the policy's own, and anywhere.
fn address() -> impl Strategy<Value = Ipv4Addr> {
    let near = [
        "10.1.0.5",
        "10.1.0.200",
        "10.1.0.220",
        "10.1.0.1",
        "10.2.0.10",
        "10.2.0.25",
        "10.2.0.1",
        "203.0.113.9",
        "198.51.100.7",
        "10.1.0.255",
    ];
    prop_oneof![
        (prop::sample::select(near.to_vec()), 0u32..4)
            .prop_map(|(a, d)| Ipv4Addr::from_bits(a.parse::<Ipv4Addr>().unwrap().to_bits() ^ d)),
        any::<u32>().prop_map(Ipv4Addr::from_bits),
    ]
}

fn lookup(
    m: &Matrix,
    from: &str,
    to: &str,
    proto: u8,
    key: Option<u128>,
) -> Option<(usize, usize)> {
    let c = m.cells.iter().find(|c| c.from == from && c.to == to)?;
    c.allowed
        .iter()
        .find(|a| {
            a.protocols.0 <= proto
                && proto <= a.protocols.1
                && match (a.piece, key) {
                    (Some((lo, hi)), Some(k)) => lo <= k && k <= hi,
                    (None, _) => true,
                    (Some(_), None) => false,
                }
        })
        .map(|a| (a.packets, a.accepted))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any packet trace accepts is in its cell; any packet of a service
    /// the cell accepts for every address is accepted by trace.
    #[test]
    fn the_matrix_agrees_with_trace(
        src in address(),
        dst in address(),
        proto in prop::sample::select(vec![6u8, 17, 1, 47]),
        port in prop_oneof![
            prop::sample::select(vec![21u16, 22, 23, 24, 25, 26, 53, 79, 80, 81, 442, 443, 444, 631]),
            any::<u16>(),
        ],
        sport in 1024u16..,
        icmp in (prop_oneof![Just(8u8), 0u8..20], 0u8..3),
    ) {
        let (fw, rs, m) = &*GATEWAY;
        let ifaces = interfaces(fw);
        let (s, d) = (IpAddr::V4(src), IpAddr::V4(dst));
        let (from, to) = (zone(&ifaces, s), zone(&ifaces, d));
        prop_assume!(from != "self" && from != to);
        let hook = if to == "self" { Hook::Input } else { Hook::Forward };
        let mut p = Packet::new(hook);
        p.src = Some(s);
        p.dst = Some(d);
        p.in_iface = Some(from.clone());
        p.out_iface = (to != "self").then(|| to.clone());
        p.proto = Some(proto);
        let key = match proto {
            6 | 17 => {
                p.sport = Some(sport);
                p.dport = Some(port);
                p.tcp_flags = (proto == 6).then_some(tcp::SYN);
                Some(u128::from(port))
            }
            1 => {
                p.icmp = Some((icmp.0, Some(icmp.1)));
                Some((u128::from(icmp.0) << 8) | u128::from(icmp.1))
            }
            _ => None,
        };
        let verdict = Tracer::new(rs).trace(&p).verdict;
        match lookup(m, &from, &to, proto, key) {
            None => prop_assert_ne!(verdict, Verdict::Accept, "{:?} missing from {} -> {}", p, from, to),
            Some((all, accepted)) if all == accepted => {
                prop_assert_eq!(verdict, Verdict::Accept, "{:?} said accepted in {} -> {}", p, from, to);
            }
            Some(_) => {}
        }
    }
}

fn kvm() -> (Firewall, rampart_ir::Ruleset) {
    let mut sources = Sources::new();
    let text = include_str!("../../../examples/kvm-bridges.rp");
    let loaded = rampart_model::load_str("kvm-bridges.rp", text, &mut sources);
    let fw = loaded.model.unwrap().firewalls.remove(0);
    let rs = rampart_lower::compile(&fw).v4.into_ruleset();
    (fw, rs)
}

static KVM: LazyLock<(Firewall, rampart_ir::Ruleset, Matrix)> = LazyLock::new(|| {
    let (fw, rs) = kvm();
    let m = matrix(&fw, &rs, Family::V4).unwrap();
    (fw, rs, m)
});

#[test]
fn the_bridges_ports_are_classes_of_their_own() {
    let (_, _, m) = &*KVM;
    let ports: Vec<(&str, Vec<&str>)> = m
        .bridges
        .iter()
        .map(|b| (b.bridge.as_str(), b.ports.iter().map(|p| p.name.as_str()).collect()))
        .collect();
    assert_eq!(
        ports,
        [
            ("virbr6", vec!["vk63", "vk64", "vk65", "vethb2"]),
            ("virbr4", vec!["vk42", "vethb1", "vmh1"])
        ]
    );
    let cell = |b: usize, from: &str, to: &str| -> Vec<String> {
        let c = m.bridges[b].cells.iter().find(|c| c.from == from && c.to == to).unwrap();
        c.allowed.iter().map(crate::matrix::Allowed::label).collect()
    };
    // Guests ping each other across the bridge; kali4 reaches the web
    // server through the border, kali3 does not.
    assert!(
        cell(0, "vk63", "vk64").iter().any(|s| s.starts_with("ping")),
        "{:?}",
        cell(0, "vk63", "vk64")
    );
    assert!(
        cell(0, "vk64", "vethb2").iter().any(|s| s.starts_with("web")),
        "{:?}",
        cell(0, "vk64", "vethb2")
    );
    assert!(
        !cell(0, "vk63", "vethb2").iter().any(|s| s.starts_with("web")),
        "{:?}",
        cell(0, "vk63", "vethb2")
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Bridged packets: any packet trace accepts from one port to another
    /// is in their cell; one of a service the cell accepts for every
    /// address is accepted by trace.
    #[test]
    fn the_bridged_cells_agree_with_trace(
        b in 0usize..2,
        i in 0usize..4,
        j in 0usize..4,
        pick in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        proto in prop::sample::select(vec![6u8, 17, 1]),
        port in prop::sample::select(vec![22u16, 53, 80, 443, 8080]),
        icmp in prop::sample::select(vec![0u8, 8]),
    ) {
        let (fw, rs, m) = &*KVM;
        let bridge = &fw.bridges[b];
        let n = bridge.ports.len();
        let (p, q) = (&bridge.ports[i % n], &bridge.ports[j % n]);
        prop_assume!(p.name != q.name);
        let hosts = |port| -> Vec<IpAddr> {
            fw.far_side(port)
                .items
                .iter()
                .filter_map(|a| match a {
                    rampart_ir::AddrItem::Net(n) if n.addr().is_ipv4() => Some(n.addr()),
                    _ => None,
                })
                .collect()
        };
        let (ss, ds) = (hosts(p), hosts(q));
        prop_assume!(!ss.is_empty() && !ds.is_empty());
        let mut pk = Packet::new(Hook::Forward);
        pk.src = Some(*pick.0.get(&ss));
        pk.dst = Some(*pick.1.get(&ds));
        pk.in_iface = Some(bridge.name.clone());
        pk.out_iface = Some(bridge.name.clone());
        pk.physdev_in = Some(p.name.clone());
        pk.physdev_out = Some(q.name.clone());
        pk.bridged = true;
        pk.proto = Some(proto);
        let key = if proto == 1 {
            pk.icmp = Some((icmp, Some(0)));
            Some(u128::from(icmp) << 8)
        } else {
            pk.sport = Some(40000);
            pk.dport = Some(port);
            pk.tcp_flags = (proto == 6).then_some(tcp::SYN);
            Some(u128::from(port))
        };
        let verdict = Tracer::new(rs).trace(&pk).verdict;
        let bm = Matrix { cells: m.bridges[b].cells.clone(), ..m.clone() };
        match lookup(&bm, &p.name, &q.name, proto, key) {
            None => prop_assert_ne!(verdict, Verdict::Accept, "{:?} missing", pk),
            Some((all, accepted)) if all == accepted => {
                prop_assert_eq!(verdict, Verdict::Accept, "{:?} said accepted", pk);
            }
            Some(_) => {}
        }
    }
}
