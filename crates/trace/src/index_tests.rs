//! The compiled evaluator's fast paths against the straightforward one:
//! long chains (so that they get an index), overlapping addresses, ranges,
//! sets mixing families, negations, and packets missing indexed fields.

use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, CtStates, Hook, IfaceMatch, Log, Match, Policy,
    PortMatch, PortSet, Proto, Rule, Ruleset, Target,
};

use crate::eval::Engine;
use crate::*;

fn v4_addr(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(v4_addr(last))
}

/// Mostly hosts, some networks and ranges that overlap them, and one IPv6
/// network.
fn arb_item() -> impl Strategy<Value = AddrItem> {
    prop_oneof![
        6 => (0u8..200).prop_map(|h| AddrItem::Net(ipnet::Ipv4Net::from(v4_addr(h)).into())),
        2 => (0u8..200, 26u8..=31).prop_map(|(h, len)| {
            let net = ipnet::Ipv4Net::new(v4_addr(h), len).unwrap().trunc();
            AddrItem::Net(net.into())
        }),
        1 => (0u8..200, 0u8..6).prop_map(|(a, w)| AddrItem::Range(v4(a), v4(a + w))),
        1 => Just(AddrItem::Net("2001:db8::/64".parse().unwrap())),
    ]
}

fn arb_addr(negated: f64) -> impl Strategy<Value = AddrMatch> {
    (prop::bool::weighted(negated), prop::collection::vec(arb_item(), 1..3))
        .prop_map(|(neg, items)| AddrMatch { neg, set: AddrSet { name: None, items }.into() })
}

fn arb_ports(negated: f64) -> impl Strategy<Value = PortMatch> {
    (
        prop::bool::weighted(negated),
        prop::collection::vec((20u16..60, prop_oneof![3 => Just(0u16), 1 => 1u16..4]), 1..3),
    )
        .prop_map(|(neg, r)| PortMatch {
            neg,
            set: PortSet { name: None, ranges: r.into_iter().map(|(a, w)| (a, a + w)).collect() }
                .into(),
        })
}

/// A match on a field the index uses, as most real rules have.
fn arb_head() -> impl Strategy<Value = Match> {
    prop_oneof![
        8 => arb_addr(0.0).prop_map(Match::Dst),
        1 => arb_addr(0.0).prop_map(Match::Src),
        1 => arb_ports(0.0).prop_map(Match::Dport),
        1 => prop::sample::select(vec![Proto::Tcp, Proto::Udp])
            .prop_map(|proto| Match::Proto { neg: false, proto }),
    ]
}

/// Any match, on the fields the index uses or not.
fn arb_match() -> impl Strategy<Value = Match> {
    prop_oneof![
        4 => arb_addr(0.15).prop_map(Match::Dst),
        3 => arb_addr(0.15).prop_map(Match::Src),
        3 => arb_ports(0.15).prop_map(Match::Dport),
        1 => arb_ports(0.15).prop_map(Match::Sport),
        3 => (
            prop::bool::weighted(0.15),
            prop::sample::select(vec![Proto::Tcp, Proto::Udp, Proto::Icmp]),
        )
            .prop_map(|(neg, proto)| Match::Proto { neg, proto }),
        1 => (any::<bool>(), prop::sample::select(vec!["eth0", "eth+", "lo", "br0"]))
            .prop_map(|(neg, n)| Match::InIface(IfaceMatch { neg, names: vec![n.into()].into() }.into())),
        1 => (any::<bool>(), 1u8..32)
            .prop_map(|(neg, s)| Match::State { neg, states: CtStates(s) }),
        1 => Just(Match::unknown("limit".into(), vec!["--limit".into(), "1/s".into()])),
    ]
}

/// Chain `i` jumps only to chains after it, so there are no loops.
fn arb_target(i: usize, chains: usize) -> impl Strategy<Value = Target> {
    let later = (i + 1..chains.max(i + 2)).prop_map(ChainId);
    prop_oneof![
        4 => Just(Target::Accept),
        3 => Just(Target::Drop),
        1 => Just(Target::Return),
        1 => "[a-z]{1,2}".prop_map(|prefix| Target::Log(Log { prefix, level: 4 })),
        1 => later.clone().prop_map(Target::Jump),
        1 => later.prop_map(Target::Goto),
    ]
}

fn arb_chain(i: usize, chains: usize) -> impl Strategy<Value = Vec<Rule>> {
    let rule = (
        prop::option::weighted(0.85, arb_head()),
        prop::collection::vec(arb_match(), 0..3),
        arb_target(i, chains),
    )
        .prop_map(|(head, rest, t)| Rule::new(head.into_iter().chain(rest).collect(), t));
    prop::collection::vec(rule, 16..150)
}

fn arb_ruleset() -> impl Strategy<Value = Ruleset> {
    (1usize..4).prop_flat_map(|n| {
        (0..n).map(|i| arb_chain(i, n)).collect::<Vec<_>>().prop_map(move |bodies| {
            let mut rs = Ruleset::default();
            for (i, mut rules) in bodies.into_iter().enumerate() {
                if i + 1 == n {
                    // The last chain has nowhere to jump.
                    for r in &mut rules {
                        if matches!(r.target, Target::Jump(_) | Target::Goto(_)) {
                            r.target = Target::Accept;
                        }
                    }
                }
                let mut c = if i == 0 {
                    Chain::builtin(Hook::Input, Policy::Drop)
                } else {
                    Chain::user(&format!("c{i}"))
                };
                c.rules = rules;
                rs.chains.push(c);
            }
            rs
        })
    })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let addr = prop_oneof![
        6 => (0u8..210).prop_map(|h| Some(v4(h))),
        1 => Just(Some("2001:db8::1".parse().unwrap())),
        1 => Just(None),
    ];
    (
        (addr.clone(), addr),
        prop::sample::select(vec![Some(6u8), Some(17), Some(1), None]),
        (prop::option::weighted(0.9, 18u16..64), prop::option::weighted(0.9, 18u16..64)),
        prop::sample::select(vec![Some("eth0"), Some("eth1"), Some("lo"), None]),
        prop::sample::select(vec![CtState::New, CtState::Established]),
    )
        .prop_map(|((src, dst), proto, (sport, dport), iface, state)| Packet {
            in_iface: iface.map(str::to_owned),
            src,
            dst,
            proto,
            sport,
            dport,
            icmp: (proto == Some(1)).then_some((8, Some(0))),
            tcp_flags: (proto == Some(6)).then_some(tcp::SYN),
            state,
            ..Packet::new(Hook::Input)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn indexed_chains_agree_with_linear(
        rs in arb_ruleset(),
        packets in prop::collection::vec(arb_packet(), 1..12),
    ) {
        let compiled = Tracer::new(&rs);
        for p in &packets {
            prop_assert_eq!(trace(&rs, p), compiled.trace(p), "packet {:?}", p);
        }
    }
}

/// The index is what makes a long chain fast: a packet looks at the rules
/// for its destination, not at all of them.
#[test]
fn a_packet_visits_only_its_candidates() {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    for i in 0..1000u32 {
        let net = ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap();
        let dst = AddrMatch { neg: false, set: AddrSet::one(AddrItem::Net(net.into())).into() };
        input.rules.push(Rule::new(vec![Match::Dst(dst)], Target::Accept));
    }
    input.rules.push(Rule::new(vec![], Target::Drop));
    let rs = Ruleset { chains: vec![input] };
    let compiled = Tracer::new(&rs);
    let p = Packet { dst: Some("10.0.1.244".parse().unwrap()), ..Packet::new(Hook::Input) };
    let visited: Vec<usize> = compiled.visit(0, &compiled.prepare(&p)).collect();
    assert_eq!(visited, [500, 1000]);
    assert_eq!(compiled.trace(&p), trace(&rs, &p));
}

/// More interface patterns than fit in one word take the slow way.
#[test]
fn many_interface_patterns_agree_with_linear() {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    for i in 0..70 {
        let name = if i % 10 == 0 { format!("v{i}+") } else { format!("v{i}") };
        let m = Match::InIface(IfaceMatch { neg: i == 68, names: vec![name].into() }.into());
        input
            .rules
            .push(Rule::new(vec![m], if i % 2 == 0 { Target::Accept } else { Target::Drop }));
    }
    let rs = Ruleset { chains: vec![input] };
    let compiled = Tracer::new(&rs);
    let mut decided = std::collections::BTreeSet::new();
    for name in ["v1", "v3", "v10", "v101", "v69", "v70", "eth0"] {
        let p = Packet { in_iface: Some(name.into()), ..Packet::new(Hook::Input) };
        let t = trace(&rs, &p);
        assert_eq!(compiled.trace(&p), t, "{name}");
        decided.insert(t.main.decided_by);
    }
    assert!(decided.len() > 3, "the packets should end at different rules: {decided:?}");
}

/// The property above is only as good as its rulesets: most of them must
/// get an index that leaves some rules out.
#[test]
fn generated_rulesets_are_mostly_indexed() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let p = Packet {
        in_iface: Some("eth0".into()),
        src: Some(v4(3)),
        dst: Some(v4(40)),
        proto: Some(6),
        sport: Some(30),
        dport: Some(25),
        tcp_flags: Some(tcp::SYN),
        ..Packet::new(Hook::Input)
    };
    let mut indexed = 0;
    for _ in 0..100 {
        let rs = arb_ruleset().new_tree(&mut runner).unwrap().current();
        let compiled = Tracer::new(&rs);
        if compiled.visit(0, &compiled.prepare(&p)).count() < rs.chains[0].rules.len() {
            indexed += 1;
        }
    }
    assert!(indexed >= 50, "only {indexed} of 100 rulesets were indexed");
}
