use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, Family, Hook, IfaceMatch, Match, Policy,
    PortMatch, PortSet, Proto, RejectWith, Rule, Ruleset, Target,
};
use rampart_trace::{Packet, Verdict};

use crate::service::{Service, ServiceMatrix, service_matrix};

const SSH: Service = Service { proto: 6, sport: Some(10000), dport: Some(22) };

/// The class holding `a`, from the matrix's own text.
fn class_of(m: &ServiceMatrix, a: Ipv4Addr) -> String {
    let v = a.to_bits();
    let inside = |r: &str| {
        let (lo, hi) = r.split_once('-').unwrap_or((r, r));
        let (lo, hi): (Ipv4Addr, Ipv4Addr) = (lo.parse().unwrap(), hi.parse().unwrap());
        lo.to_bits() <= v && v <= hi.to_bits()
    };
    let found: Vec<&str> = m
        .classes
        .iter()
        .filter(|c| c.ranges.iter().any(|r| inside(r)))
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(found.len(), 1, "{a} in {found:?}");
    found[0].to_owned()
}

fn allowed(m: &ServiceMatrix, s: Ipv4Addr, d: Ipv4Addr) -> bool {
    let pair = (class_of(m, s), class_of(m, d));
    m.allowed.contains(&pair)
}

fn addr(neg: bool, net: &str) -> AddrMatch {
    AddrMatch { neg, set: AddrSet::one(AddrItem::Net(net.parse().unwrap())).into() }
}

fn input(rules: Vec<Rule>, user: Vec<Rule>, policy: Policy) -> Ruleset {
    let mut c = Chain::builtin(Hook::Input, policy);
    c.rules = rules;
    let mut u = Chain::user("u");
    u.rules = user;
    Ruleset { chains: vec![c, u] }
}

fn packet(s: Ipv4Addr, d: Ipv4Addr) -> Packet {
    let mut p = Packet::new(Hook::Input);
    p.src = Some(IpAddr::V4(s));
    p.dst = Some(IpAddr::V4(d));
    p.proto = Some(6);
    p.sport = SSH.sport;
    p.dport = SSH.dport;
    p
}

#[test]
fn classes_and_pairs_of_a_chain_with_a_return() {
    let rs = input(
        vec![
            Rule::new(vec![Match::Src(addr(false, "10.0.0.0/8"))], Target::Jump(ChainId(1))),
            Rule::new(
                vec![
                    Match::Src(addr(false, "192.0.2.7/32")),
                    Match::Dst(addr(false, "198.51.100.1/32")),
                ],
                Target::Accept,
            ),
        ],
        vec![
            Rule::new(vec![Match::Src(addr(false, "10.0.0.66/32"))], Target::Return),
            Rule::new(vec![Match::Dst(addr(false, "10.1.0.0/16"))], Target::Accept),
        ],
        Policy::Drop,
    );
    let m = service_matrix(&rs, Family::V4, "INPUT", SSH).unwrap();
    let ranges: Vec<(String, Vec<String>)> =
        m.classes.iter().map(|c| (c.name.clone(), c.ranges.clone())).collect();
    let r = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        ranges,
        [
            (
                "a".into(),
                r(&[
                    "0.0.0.0-9.255.255.255",
                    "10.0.0.66",
                    "11.0.0.0-192.0.2.6",
                    "192.0.2.8-198.51.100.0",
                    "198.51.100.2-255.255.255.255"
                ])
            ),
            (
                "b".into(),
                r(&["10.0.0.0-10.0.0.65", "10.0.0.67-10.0.255.255", "10.2.0.0-10.255.255.255"])
            ),
            ("c".into(), r(&["10.1.0.0-10.1.255.255"])),
            ("d".into(), r(&["192.0.2.7"])),
            ("e".into(), r(&["198.51.100.1"])),
        ]
    );
    let pairs: Vec<(&str, &str)> =
        m.allowed.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(pairs, [("b", "c"), ("c", "c"), ("d", "e")]);
    assert!(m.approximated.is_empty());
}

#[test]
fn an_undecided_match_is_taken_both_ways_and_named() {
    let eth1 = Match::InIface(IfaceMatch { neg: false, names: vec!["eth1".into()].into() }.into());
    let rs = input(
        vec![
            Rule::new(vec![eth1.clone(), Match::Src(addr(false, "10.0.0.0/8"))], Target::Drop),
            Rule::new(vec![Match::Src(addr(false, "10.0.0.0/8"))], Target::Accept),
        ],
        vec![],
        Policy::Drop,
    );
    let m = service_matrix(&rs, Family::V4, "INPUT", SSH).unwrap();
    // The drop may not match: 10/8 may be accepted.
    assert!(allowed(&m, Ipv4Addr::new(10, 1, 2, 3), Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(m.approximated.len(), 1);
    assert_eq!((m.approximated[0].rule, m.approximated[0].text.as_str()), (1, "-i eth1"));
    // A user chain is refused, as is a chain that is not there.
    assert!(service_matrix(&rs, Family::V4, "u", SSH).is_err());
    assert!(service_matrix(&rs, Family::V4, "FORWARD", SSH).is_err());
}

/// A random rule over a few networks of 10.0.0.0/24.
fn rule(user: bool) -> impl Strategy<Value = Rule> {
    let net = (0u32..256, 24u8..=32).prop_map(|(a, len)| {
        let base = (0x0a00_0000 | a) & (u32::MAX << (32 - u32::from(len)));
        format!("{}/{len}", Ipv4Addr::from(base))
    });
    let col = proptest::option::of((any::<bool>(), net));
    let target = if user { 0u8..5 } else { 0u8..6 };
    (col.clone(), col, proptest::option::of(prop_oneof![Just(22u16), Just(80)]), 0u8..8, target)
        .prop_map(|(s, d, port, iface, t)| {
            let mut m = Vec::new();
            m.extend(s.map(|(neg, n)| Match::Src(addr(neg, &n))));
            m.extend(d.map(|(neg, n)| Match::Dst(addr(neg, &n))));
            if let Some(p) = port {
                m.push(Match::Proto { neg: false, proto: Proto::Tcp });
                m.push(Match::Dport(PortMatch {
                    neg: false,
                    set: PortSet { name: None, ranges: vec![(p, p)] }.into(),
                }));
            }
            if iface == 0 {
                m.push(Match::InIface(
                    IfaceMatch { neg: false, names: vec!["eth1".into()].into() }.into(),
                ));
            }
            let target = match t {
                0 => Target::Accept,
                1 => Target::Drop,
                2 => Target::Reject(RejectWith::TcpReset),
                3 => Target::Return,
                4 => Target::None,
                _ => Target::Jump(ChainId(1)),
            };
            Rule::new(m, target)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Trace agrees on random packets: the pair of an accepted packet is
    /// allowed, and without undecided matches, only those.
    #[test]
    fn agrees_with_trace(
        main in proptest::collection::vec(rule(false), 0..12),
        user in proptest::collection::vec(rule(true), 0..6),
        accept in any::<bool>(),
        packets in proptest::collection::vec((0u32..300, 0u32..300), 40),
    ) {
        let policy = if accept { Policy::Accept } else { Policy::Drop };
        let rs = input(main, user, policy);
        let m = service_matrix(&rs, Family::V4, "INPUT", SSH).unwrap();
        let exact = m.approximated.is_empty();
        for (s, d) in packets {
            // Past 255: outside 10.0.0.0/24, in 10.1.0.0/24.
            let a = |v: u32| Ipv4Addr::from(if v < 256 { 0x0a00_0000 + v } else { 0x0a01_0000 + v });
            let (s, d) = (a(s), a(d));
            let t = rampart_trace::trace(&rs, &packet(s, d));
            let v = t.verdict;
            // Accepted on the main path or on a fork's.
            let may = std::iter::once(&t.main.verdict)
                .chain(t.forks.iter().map(|f| &f.if_match.verdict))
                .any(|v| *v == Verdict::Accept);
            let ok = allowed(&m, s, d);
            if exact {
                prop_assert_eq!(v == Verdict::Accept, ok, "{} -> {}: {:?}", s, d, v);
            } else {
                prop_assert!(!may || ok, "{} -> {}: {:?}", s, d, v);
            }
        }
    }
}
