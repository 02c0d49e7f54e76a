//! The classifier form against the linear one, by the evaluator: random
//! rule lists over a few overlapping networks and ports, random packets
//! aimed at their edges. Same verdict, same deciding rule, same log lines
//! and the same counting rules met, in order; the same count for every
//! deciding rule, and a rule the classifier leaves out never counts in
//! the linear form either.

use std::net::IpAddr;

use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, CtStates, Hook as IrHook, Log, Match, Origin,
    Policy, PortMatch, PortSet, Proto, Rule, Ruleset, Target,
};
use rampart_trace::{CtState, Hook, Packet, trace};

use super::classify;

const NETS: [&str; 16] = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.2.0/24",
    "10.1.2.3/32",
    "10.1.2.4/30",
    "10.2.0.0/16",
    "10.2.3.4/32",
    "192.168.1.0/24",
    "10.3.0.0/24",
    "10.3.1.0/24",
    "10.4.0.0/24",
    "10.4.1.7/32",
    "10.5.0.0/24",
    "10.6.0.0/24",
    "10.7.0.0/24",
    "2001:db8::/32",
];
const PORTS: [(u16, u16); 6] =
    [(22, 22), (80, 80), (1000, 1010), (1005, 1005), (1010, 2000), (53, 53)];
const USER_CHAINS: [&str; 3] = ["u1", "u2", "u3"];
/// After them, a chain that logs and drops every packet, as a rule's own
/// `log-limit` chain does.
const DECIDES: ChainId = ChainId(1 + USER_CHAINS.len());

fn addr(rng: &mut fastrand::Rng) -> AddrMatch {
    let n = 1 + usize::from(rng.u8(..10) == 0);
    // The /8 that holds most others is rarer, or nothing could be cut.
    let pick = |rng: &mut fastrand::Rng| {
        let from = usize::from(rng.u8(..4) > 0);
        NETS[rng.usize(from..NETS.len())]
    };
    let items: Vec<AddrItem> = (0..n).map(|_| AddrItem::Net(pick(rng).parse().unwrap())).collect();
    AddrMatch { neg: rng.u8(..16) == 0, set: AddrSet { name: None, items }.into() }
}

/// A random rule; `keyed`: mostly TCP or UDP to ports, as leaf maps take.
fn random_rule(rng: &mut fastrand::Rng, n: u32, chain: usize, keyed: bool) -> Rule {
    let mut m = Vec::new();
    if rng.bool() {
        m.push(Match::Src(addr(rng)));
    }
    if rng.u8(..10) > 0 {
        m.push(Match::Dst(addr(rng)));
    }
    match if keyed { rng.u8(..3) / 2 } else { rng.u8(..6) } {
        0 | 1 => {
            let proto = if rng.bool() { Proto::Tcp } else { Proto::Udp };
            m.push(Match::Proto { neg: false, proto });
            if keyed || rng.u8(..4) > 0 {
                let ranges = (0..1 + rng.usize(..2)).map(|_| PORTS[rng.usize(..PORTS.len())]);
                let set = PortSet { name: None, ranges: ranges.collect() };
                m.push(Match::Dport(PortMatch { neg: rng.u8(..8) == 0, set: set.into() }));
            }
        }
        2 => m.push(Match::Proto { neg: rng.u8(..4) == 0, proto: Proto::Icmp }),
        _ => {}
    }
    if rng.u8(..6) == 0 {
        m.push(Match::State { neg: false, states: CtStates(CtStates::NEW) });
    }
    // User chains (ids 1, 2, 3) only jump forward, so there are no loops.
    let callee =
        |rng: &mut fastrand::Rng| ChainId(1 + chain + rng.usize(..USER_CHAINS.len() - chain));
    let target = match rng.u8(..20) {
        0..=5 => Target::Accept,
        6..=9 => Target::Drop,
        10 => Target::Reject(rampart_ir::RejectWith::PortUnreachable),
        11..=13 if chain < USER_CHAINS.len() => Target::Jump(callee(rng)),
        14 if chain < USER_CHAINS.len() => Target::Goto(callee(rng)),
        15 if chain > 0 => Target::Return,
        16 => Target::Log(Log { prefix: format!("L{n} "), level: 4 }),
        17 => Target::None,
        18 => Target::Jump(DECIDES),
        _ => Target::Accept,
    };
    let mut r = Rule::new(m, target);
    if rng.u8(..5) == 0 {
        r.log = Some(Log { prefix: format!("RULE {n} "), level: 6 }.into());
    }
    r.origin = Some(Origin { rule: n, span: None });
    r
}

fn random_ruleset(rng: &mut fastrand::Rng, keyed: bool) -> Ruleset {
    let mut n = 0;
    let mut rule = |rng: &mut fastrand::Rng, chain| {
        n += 1;
        random_rule(rng, n, chain, keyed)
    };
    let policy = if rng.bool() { Policy::Accept } else { Policy::Drop };
    let mut fwd = Chain::builtin(IrHook::Forward, policy);
    fwd.rules = (0..rng.usize(17..100)).map(|_| rule(rng, 0)).collect();
    let mut chains = vec![fwd];
    for (i, name) in USER_CHAINS.iter().enumerate() {
        let mut c = Chain::user(name);
        let long = if keyed { 40 } else { 12 };
        c.rules = (0..rng.usize(0..long)).map(|_| rule(rng, i + 1)).collect();
        chains.push(c);
    }
    let mut decides = Chain::user("decides");
    decides.rules = vec![
        Rule::new(vec![], Target::Log(Log { prefix: "D ".into(), level: 4 })),
        Rule::new(vec![], Target::Drop),
    ];
    chains.push(decides);
    Ruleset { chains }
}

/// An address near the edge of a random network of the pool.
fn edge_addr(rng: &mut fastrand::Rng, v6: bool) -> IpAddr {
    if v6 {
        return format!("2001:db8::{:x}", rng.u16(..)).parse().unwrap();
    }
    let net: ipnet::IpNet = NETS[rng.usize(..NETS.len() - 1)].parse().unwrap();
    let base = match if rng.bool() { net.network() } else { net.broadcast() } {
        IpAddr::V4(a) => a.to_bits(),
        IpAddr::V6(_) => unreachable!(),
    };
    let x = base.wrapping_add(rng.u32(..3)).wrapping_sub(1);
    IpAddr::V4(std::net::Ipv4Addr::from_bits(if rng.u8(..10) == 0 { rng.u32(..) } else { x }))
}

fn random_packet(rng: &mut fastrand::Rng) -> Packet {
    let mut p = Packet::new(Hook::Forward);
    p.in_iface = Some("eth0".into());
    p.out_iface = Some("eth1".into());
    let v6 = rng.u8(..8) == 0;
    p.src = Some(edge_addr(rng, v6));
    p.dst = Some(edge_addr(rng, v6));
    p.state = if rng.bool() { CtState::New } else { CtState::Established };
    match rng.u8(..4) {
        0 => {
            p.proto = Some(1);
            p.icmp = Some((8, Some(0)));
        }
        1 => p.proto = Some(47),
        _ => {
            p.proto = Some(if rng.bool() { 6 } else { 17 });
            let (a, b) = PORTS[rng.usize(..PORTS.len())];
            let port = [a.wrapping_sub(1), a, b, b.wrapping_add(1)][rng.usize(..4)];
            (p.sport, p.dport) = (Some(40_000), Some(port));
            if p.proto == Some(6) {
                p.tcp_flags = Some(rampart_trace::tcp::SYN);
            }
        }
    }
    p
}

/// A rule as the policy knows it: its number, log and target (the
/// classifier form meets it with fewer matches, or as a map's element).
type PolicyRule = (Option<Origin>, Option<Box<Log>>, Target);

/// What a walk did that anyone outside can see.
fn seen(rs: &Ruleset, p: &Packet) -> (String, Option<PolicyRule>, Vec<String>, Vec<PolicyRule>) {
    let t = trace(rs, p);
    let at = |at: rampart_trace::RuleRef| &rs.chains[at.chain].rules[at.rule];
    let rule = |r: &Rule| (r.origin, r.log.clone(), r.target.clone());
    // Rules that count or log by themselves, in the order met.
    let effects = t
        .path
        .iter()
        .map(|s| at(s.at))
        .filter(|r| r.log.is_some() || matches!(r.target, Target::None | Target::Log(_)))
        .map(rule)
        .collect();
    assert!(t.forks.is_empty(), "packet {p:?} left a match undecided");
    (t.verdict.name().to_owned(), t.main.decided_by.map(|r| rule(at(r))), t.logs, effects)
}

/// Whether a rule decides or logs by itself: its counter is the packets
/// it decided or logged, the same in both forms. A jump or goto into the
/// policy's rule sets is not one (the classifier copies it only where its
/// rule set can decide); one into a chain that logs and drops is.
fn decides(r: &Rule) -> bool {
    match r.target {
        Target::Jump(c) | Target::Goto(c) => c == DECIDES || r.log.is_some(),
        Target::Return => false,
        _ => true,
    }
}

/// Per policy rule that decides or logs, the packets that met it.
type Counts = std::collections::BTreeMap<u32, u64>;

fn count(rs: &Ruleset, p: &Packet, counts: &mut Counts) {
    for s in trace(rs, p).path {
        let r = &rs.chains[s.at.chain].rules[s.at.rule];
        if let Some(o) = r.origin.filter(|_| decides(r)) {
            *counts.entry(o.rule).or_default() += 1;
        }
    }
}

/// The policy rules a ruleset holds.
fn origins(rs: &Ruleset) -> std::collections::BTreeSet<u32> {
    rs.chains.iter().flat_map(|c| &c.rules).filter_map(|r| r.origin.map(|o| o.rule)).collect()
}

#[test]
fn same_counters_as_the_linear_form() {
    let (mut left_out, mut counted) = (0, 0);
    for seed in 0..400 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let rs = random_ruleset(&mut rng, seed >= 200);
        let cl = classify(&rs);
        let (mut linear, mut classified) = (Counts::new(), Counts::new());
        for _ in 0..300 {
            let p = random_packet(&mut rng);
            count(&rs, &p, &mut linear);
            count(&cl, &p, &mut classified);
        }
        assert_eq!(linear, classified, "seed {seed}: deciding rules' counters differ");
        // A rule left out is one no packet reaches in the linear form.
        let kept = origins(&cl);
        for n in origins(&rs).difference(&kept) {
            left_out += 1;
            assert!(!linear.contains_key(n), "seed {seed}: R{n} left out but counts {linear:?}");
        }
        counted += linear.values().sum::<u64>();
    }
    assert!(left_out >= 50, "only {left_out} rules left out");
    assert!(counted >= 50_000, "only {counted} deciding counts");
}

#[test]
fn same_walk_as_the_linear_form() {
    let mut cut = 0;
    let mut boxed = 0;
    let mut hoisted = 0;
    let mut direct = 0;
    let mut shared = 0;
    // Then as many of mostly TCP and UDP port rules, the leaf maps' case.
    for seed in 0..600 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let rs = random_ruleset(&mut rng, seed >= 400);
        let cl = classify(&rs);
        if cl.chains.len() > rs.chains.len() {
            cut += 1;
        }
        boxed += usize::from(cl.chains.iter().flat_map(|c| &c.rules).any(is_box));
        hoisted += usize::from(cl.chains.iter().any(|c| has_hoisted(&c.rules)));
        shared += usize::from(has_shared(&cl));
        direct += usize::from(
            cl.chains
                .iter()
                .flat_map(|c| &c.rules)
                .any(|r| is_box(r) && r.target == Target::Jump(DECIDES)),
        );
        for _ in 0..300 {
            let p = random_packet(&mut rng);
            assert_eq!(seen(&rs, &p), seen(&cl, &p), "seed {seed}, packet {p:?}");
        }
    }
    // Many overlap too much for a cut to pay; enough are cut.
    assert!(cut >= 20, "only {cut} of 600 rule sets were cut");
    assert!(boxed >= 300, "only {boxed} of 600 rule sets have a leaf map");
    assert!(
        direct >= 50,
        "only {direct} of 600 rule sets have a box that jumps to a deciding chain"
    );
    assert!(shared >= 50, "only {shared} of 600 rule sets share a subtree");
    assert!(hoisted >= 50, "only {hoisted} of 600 rule sets have a node with its leaves' boxes");
}

/// A part's chain reached from the dispatch of two nodes: a subtree made
/// once.
fn has_shared(rs: &Ruleset) -> bool {
    let mut from: std::collections::HashMap<ChainId, usize> = std::collections::HashMap::new();
    for (i, c) in rs.chains.iter().enumerate() {
        for r in c.rules.iter().filter(|r| is_dispatch(r)) {
            if let Target::Goto(t) = r.target
                && *from.entry(t).or_insert(i) != i
            {
                return true;
            }
        }
    }
    false
}

fn is_dispatch(r: &Rule) -> bool {
    matches!(r.target, Target::Goto(_))
        && matches!(
            &r.matches[..],
            [Match::Src(_)] | [Match::Dst(_)] | [Match::Proto { .. }, Match::Dport(_)]
        )
}

/// Boxes before a dispatch: a node holding the boxes of its parts' leaves.
fn has_hoisted(rules: &[Rule]) -> bool {
    rules.iter().position(is_box).is_some_and(|b| rules[b..].iter().any(is_dispatch))
}

/// A leaf map's element: source, destination and port ranges.
fn is_box(r: &Rule) -> bool {
    let range = |a: &AddrMatch| matches!(a.set.items[..], [AddrItem::Range(..)]);
    matches!(&r.matches[..], [Match::Src(s), Match::Dst(d), Match::Proto { .. }, Match::Dport(_)]
        if range(s) && range(d))
}

#[test]
fn jumps_that_cannot_match_stay_out() {
    let net = |s: &str| AddrMatch {
        neg: false,
        set: AddrSet::one(AddrItem::Net(s.parse().unwrap())).into(),
    };
    let mut fwd = Chain::builtin(IrHook::Forward, Policy::Drop);
    for i in 0..9u8 {
        fwd.rules.push(Rule::new(vec![Match::Dst(net(&format!("10.{i}.0.0/16")))], Target::Accept));
        fwd.rules.push(Rule::new(
            vec![Match::Src(net(&format!("192.168.{i}.1/32")))],
            Target::Jump(ChainId(1)),
        ));
    }
    let mut b = Chain::user("b");
    b.rules.push(Rule::new(vec![Match::Dst(net("10.0.0.0/16"))], Target::Drop));
    let cl = classify(&Ruleset { chains: vec![fwd, b] });
    // Each jump is copied only where chain `b` can match (10.0.0.0/16),
    // not into the eight other destinations' chains.
    let jumps = cl.chains.iter().flat_map(|c| &c.rules);
    assert_eq!(jumps.filter(|r| matches!(r.target, Target::Jump(_))).count(), 9, "{cl:#?}");
    assert!(cl.chains.len() > 8);
}

#[test]
fn cuts_never_nest_deeper_than_the_kernel_follows() {
    let net = |s: &str| AddrMatch {
        neg: false,
        set: AddrSet::one(AddrItem::Net(s.parse().unwrap())).into(),
    };
    // INPUT and 15 chains, each jumping to the next after 40 rules that
    // cut well by destination: 15 jumps, as deep as the kernel loads.
    let mut chains = vec![Chain::builtin(IrHook::Input, Policy::Drop)];
    chains.extend((1..=15).map(|i| Chain::user(&format!("c{i}"))));
    for (i, c) in chains.iter_mut().enumerate() {
        for j in 0..40u8 {
            let dst = net(&format!("10.{i}.{j}.0/24"));
            c.rules.push(Rule::new(vec![Match::Dst(dst)], Target::Accept));
        }
        if i < 15 {
            c.rules.push(Rule::new(vec![], Target::Jump(ChainId(i + 1))));
        }
    }
    let rs = Ruleset { chains };
    assert_eq!(rampart_ir::depth::deepest(&rs).0, 15);
    let cl = classify(&rs);
    assert!(rampart_ir::depth::deepest(&cl).0 <= 15, "{}", rampart_ir::depth::deepest(&cl).0);
    // Alone, such a chain is cut.
    let mut input = rs.chains[0].clone();
    input.rules.pop();
    assert!(classify(&Ruleset { chains: vec![input] }).chains.len() > 1);
}
