//! Unit tests per match kind and per control-flow rule, each run through
//! both evaluators; property tests that the compiled evaluator agrees with
//! the straightforward one.

use std::net::IpAddr;

use proptest::prelude::*;
use rampart_diag::FileId;
use rampart_ir::read::{Format, parse};
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, Connmark, CtStates, Family, Hook, IfaceMatch,
    Log, MarkSet, Match, Policy, PortMatch, PortSet, Proto, Rule, Ruleset, Target,
};

use crate::*;

fn rules(body: &str) -> Ruleset {
    let text = format!("*filter\n{body}\nCOMMIT\n");
    let im = parse(&text, FileId(0), Format::Save);
    assert!(im.diagnostics.is_empty(), "{:?}", im.diagnostics);
    im.filter().unwrap().ruleset.clone().into_ruleset()
}

fn tcp(src: &str, dst: &str, dport: u16) -> Packet {
    Packet {
        in_iface: Some("eth0".into()),
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        proto: Some(6),
        sport: Some(40000),
        dport: Some(dport),
        tcp_flags: Some(tcp::SYN),
        ..Packet::new(Hook::Input)
    }
}

/// Traces with both evaluators, checks they agree, returns the trace.
fn both(rs: &Ruleset, p: &Packet) -> Trace {
    assert!(check(rs).is_empty(), "{:?}", check(rs));
    let a = trace(rs, p);
    let b = Tracer::new(rs).trace(p);
    assert_eq!(a, b, "compiled and linear disagree");
    a
}

/// `(chain, index from 1)` of the deciding rule, or None for policy.
fn decided(rs: &Ruleset, p: &Packet) -> (String, Option<(String, usize)>) {
    let t = both(rs, p);
    let at = t.main.decided_by.map(|r| (rs.chains[r.chain].name.clone(), r.rule + 1));
    (t.verdict.name().to_owned(), at)
}

fn by(chain: &str, i: usize) -> Option<(String, usize)> {
    Some((chain.to_owned(), i))
}

#[test]
fn addresses_with_masks_and_negation() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -s 10.1.0.0/255.255.0.0 -j ACCEPT\n-A INPUT ! -d 192.168.0.1/32 -j REJECT\n-A INPUT -m iprange --src-range 172.16.0.5-172.16.0.9 -j ACCEPT",
    );
    assert_eq!(
        decided(&rs, &tcp("10.1.2.3", "192.168.0.1", 22)),
        ("ACCEPT".into(), by("INPUT", 1))
    );
    assert_eq!(
        decided(&rs, &tcp("10.2.2.3", "192.168.0.2", 22)),
        ("REJECT".into(), by("INPUT", 2))
    );
    assert_eq!(
        decided(&rs, &tcp("172.16.0.9", "192.168.0.1", 22)),
        ("ACCEPT".into(), by("INPUT", 3))
    );
    assert_eq!(decided(&rs, &tcp("172.16.0.10", "192.168.0.1", 22)), ("DROP".into(), None));
}

#[test]
fn interfaces_with_wildcards() {
    let rs = rules(":INPUT DROP [0:0]\n-A INPUT -i eth+ -j ACCEPT\n-A INPUT ! -i lo -j REJECT");
    assert_eq!(decided(&rs, &tcp("1.1.1.1", "2.2.2.2", 1)).1, by("INPUT", 1));
    let mut p = tcp("1.1.1.1", "2.2.2.2", 1);
    p.in_iface = Some("wlan0".into());
    assert_eq!(decided(&rs, &p).1, by("INPUT", 2));
    p.in_iface = Some("lo".into());
    assert_eq!(decided(&rs, &p).1, None);
    // On output there is no input interface: `-i eth+` fails, `! -i lo` holds.
    let mut out = tcp("1.1.1.1", "2.2.2.2", 1);
    out.hook = Hook::Output;
    out.in_iface = None;
    let rs = rules(":OUTPUT ACCEPT [0:0]\n-A OUTPUT -i eth+ -j DROP\n-A OUTPUT ! -i lo -j REJECT");
    assert_eq!(decided(&rs, &out).1, by("OUTPUT", 2));
}

#[test]
fn protocols_ports_and_multiport() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -p udp -m udp --dport 53 -j ACCEPT\n-A INPUT -p tcp -m multiport --dports 80,8000:8080 -j ACCEPT\n-A INPUT -p tcp -m tcp ! --sport 1024:65535 -j REJECT\n-A INPUT -p tcp -m multiport --ports 7 -j ACCEPT\n-A INPUT -p 132 -j ACCEPT",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 53);
    assert_eq!(decided(&rs, &p).1, None, "tcp is not udp");
    p.proto = Some(17);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 1));
    let p = tcp("1.1.1.1", "2.2.2.2", 8042);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 2));
    let mut p = tcp("1.1.1.1", "2.2.2.2", 9);
    p.sport = Some(80);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 3));
    p.sport = Some(7);
    p.dport = Some(8);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 3));
    p.sport = Some(2000);
    p.dport = Some(7);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 4));
    p.proto = Some(132);
    p.dport = Some(1);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 5));
}

#[test]
fn icmp_types() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -p icmp -m icmp --icmp-type echo-request -j ACCEPT\n-A INPUT -p icmp -m icmp --icmp-type 3/3 -j REJECT\n-A INPUT -p icmp -m icmp ! --icmp-type any -j ACCEPT\n-A INPUT -p icmp -j LOG --log-prefix other",
    );
    let mut p = Packet { proto: Some(1), icmp: Some((8, Some(0))), ..tcp("1.1.1.1", "2.2.2.2", 1) };
    p.sport = None;
    p.dport = None;
    assert_eq!(decided(&rs, &p).1, by("INPUT", 1));
    p.icmp = Some((3, Some(3)));
    assert_eq!(decided(&rs, &p).1, by("INPUT", 2));
    p.icmp = Some((3, Some(1)));
    let t = both(&rs, &p);
    assert_eq!(t.logs, ["other"]);
    assert_eq!(t.main.decided_by, None);
}

#[test]
fn conntrack_states_and_tcp_flags() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -m state --state NEW -j DROP\n-A INPUT -m state --state INVALID,UNTRACKED -j REJECT\n-A INPUT -p tcp -m tcp --syn -j ACCEPT",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 22);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 4));
    p.state = CtState::Established;
    assert_eq!(decided(&rs, &p).1, by("INPUT", 1));
    p.state = CtState::New;
    p.tcp_flags = Some(tcp::ACK);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 2));
    p.state = CtState::Untracked;
    assert_eq!(decided(&rs, &p).1, by("INPUT", 3));
}

#[test]
fn owner_matches_need_a_local_socket() {
    let rs = rules(
        ":OUTPUT DROP [0:0]\n-A OUTPUT -m owner --uid-owner 1021 -p tcp -m tcp --dport 20002 -j ACCEPT\n-A OUTPUT -m owner --uid-owner 1000-1999 -j REJECT\n-A OUTPUT -m owner ! --uid-owner 0 -j ACCEPT",
    );
    let mut p = Packet {
        hook: Hook::Output,
        out_iface: Some("eth0".into()),
        in_iface: None,
        ..tcp("10.0.0.1", "10.0.0.2", 20002)
    };
    p.uid = Some(1021);
    p.gid = Some(1021);
    assert_eq!(decided(&rs, &p).1, by("OUTPUT", 1));
    p.dport = Some(20004);
    assert_eq!(decided(&rs, &p).1, by("OUTPUT", 2));
    p.uid = Some(5);
    assert_eq!(decided(&rs, &p).1, by("OUTPUT", 3));
    // No socket: only all-negated owner matches hold.
    p.uid = None;
    p.gid = None;
    assert_eq!(decided(&rs, &p).1, by("OUTPUT", 3));
    // A gid match with a socket whose gid is not given is undecided.
    let rs = rules(":OUTPUT ACCEPT [0:0]\n-A OUTPUT -m owner --gid-owner 50 -j DROP");
    p.uid = Some(5);
    let t = both(&rs, &p);
    assert_eq!(t.verdict, Verdict::Unknown);
    assert_eq!(t.forks[0].undecided, Undecided::Match(0, Why::NoGid));
}

#[test]
fn physdev_follows_the_kernel() {
    let rs = rules(
        ":FORWARD DROP [0:0]\n-A FORWARD -m physdev --physdev-in vnet1 --physdev-out vnet2 -j ACCEPT\n-A FORWARD -m physdev --physdev-is-bridged ! --physdev-out vnet+ -j REJECT\n-A FORWARD -m physdev ! --physdev-is-bridged -j LOG --log-prefix routed\n-A FORWARD -m physdev --physdev-in vnet+ -j ACCEPT",
    );
    let mut p = Packet {
        hook: Hook::Forward,
        out_iface: Some("br0".into()),
        in_iface: Some("br0".into()),
        ..tcp("10.0.0.1", "10.0.0.2", 22)
    };
    p.physdev_in = Some("vnet1".into());
    p.physdev_out = Some("vnet2".into());
    p.bridged = true;
    assert_eq!(decided(&rs, &p).1, by("FORWARD", 1));
    p.physdev_out = Some("eth1".into());
    assert_eq!(decided(&rs, &p).1, by("FORWARD", 2));
    // Routed from a bridge port: not bridged, no output port.
    p.physdev_out = None;
    p.bridged = false;
    p.out_iface = Some("eth9".into());
    let t = both(&rs, &p);
    assert_eq!(t.logs, ["routed"]);
    assert_eq!(t.main.decided_by.map(|r| r.rule), Some(3));
    // Not via a bridge at all: only negated options hold.
    p.physdev_in = None;
    assert_eq!(decided(&rs, &p), ("DROP".into(), None));
}

#[test]
fn marks_and_mark_targets() {
    let rs = rules(
        ":INPUT ACCEPT [0:0]\n-A INPUT -m mark --mark 0x1/0xf -j DROP\n-A INPUT -j MARK --set-xmark 0x21/0xffffffff\n-A INPUT -m mark --mark 0x1/0xf -j REJECT",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 1);
    assert_eq!(decided(&rs, &p).1, by("INPUT", 3));
    p.mark = 0x11;
    assert_eq!(decided(&rs, &p).1, by("INPUT", 1));
}

#[test]
fn chains_jump_goto_return_and_policies() {
    let rs = rules(
        ":INPUT DROP [0:0]\n:a - [0:0]\n:b - [0:0]\n:c - [0:0]\n-A INPUT -j a\n-A INPUT -p tcp -j LOG --log-prefix \"after a \"\n-A INPUT -p tcp -m tcp --dport 22 -g b\n-A INPUT -j ACCEPT\n-A a -p tcp -m tcp --dport 80 -j RETURN\n-A a -p tcp -m tcp --dport 81 -j ACCEPT\n-A a -j NFLOG --nflog-prefix in-a --nflog-group 1\n-A b -j c\n-A b -j ACCEPT\n-A c -p tcp -m tcp --dport 22 -j RETURN",
    );
    let t = both(&rs, &tcp("1.1.1.1", "2.2.2.2", 80));
    let path: Vec<(usize, usize, Action)> =
        t.path.iter().map(|s| (s.at.chain, s.at.rule + 1, s.action)).collect();
    assert_eq!(
        path,
        [
            (0, 1, Action::Jump),
            (1, 1, Action::Return),
            (0, 2, Action::Log),
            (0, 4, Action::Verdict)
        ]
    );
    assert_eq!(t.logs, ["after a "]);
    let t = both(&rs, &tcp("1.1.1.1", "2.2.2.2", 81));
    assert_eq!(t.main.decided_by, Some(RuleRef { chain: 1, rule: 1 }));
    // Goto b, b calls c which returns, b accepts.
    let t = both(&rs, &tcp("1.1.1.1", "2.2.2.2", 22));
    assert_eq!(t.logs, ["in-a", "after a "]);
    assert_eq!(t.main.decided_by, Some(RuleRef { chain: 2, rule: 1 }));
    // The end of a chain reached by goto from a built-in chain applies the policy.
    let rs =
        rules(":INPUT DROP [0:0]\n:g - [0:0]\n-A INPUT -g g\n-A INPUT -j ACCEPT\n-A g -j RETURN");
    assert_eq!(decided(&rs, &tcp("1.1.1.1", "2.2.2.2", 1)), ("DROP".into(), None));
    // A hook without a chain accepts.
    assert_eq!(
        decided(&rules(":INPUT DROP [0:0]"), &Packet::new(Hook::Forward)),
        ("ACCEPT".into(), None)
    );
}

#[test]
fn unknown_matches_fork_both_ways() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -p tcp -m u32 --u32 0x0>>0x16&0x3c@0xc>>0x1a=0x5 -j ACCEPT\n-A INPUT -p udp -m recent --rcheck --name x -j ACCEPT\n-A INPUT -j LOG --log-prefix dropped",
    );
    let t = both(&rs, &tcp("1.1.1.1", "2.2.2.2", 1));
    assert_eq!(t.verdict, Verdict::Unknown);
    assert_eq!(t.forks.len(), 1, "the udp rule fails on its known match");
    assert_eq!(t.forks[0].if_match.verdict, Verdict::Accept);
    assert_eq!(t.main.verdict, Verdict::Drop);
    let json = explain::to_json(&rs, &t, Family::V4);
    assert_eq!(json["verdict"], "UNKNOWN");
    assert_eq!(json["unknown"][0]["match"], "-m u32 --u32 0x0>>0x16&0x3c@0xc>>0x1a=0x5");
    assert_eq!(json["unknown"][0]["if_no_match"]["policy"], true);
    // Same verdict either way: the verdict is certain.
    let rs = rules(":INPUT DROP [0:0]\n-A INPUT -m recent --rcheck --name y -j LOG --log-prefix x");
    let t = both(&rs, &tcp("1.1.1.1", "2.2.2.2", 1));
    assert_eq!(t.verdict, Verdict::Drop);
    assert_eq!(t.forks.len(), 1);
    // Missing packet fields are undecided too.
    let rs = rules(":INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --sport 80 -j ACCEPT");
    let mut p = tcp("1.1.1.1", "2.2.2.2", 1);
    p.sport = None;
    let t = both(&rs, &p);
    assert_eq!(t.forks[0].undecided, Undecided::Match(1, Why::NoSport));
}

#[test]
fn many_undecided_rules_that_agree_give_their_verdict() {
    let undecided = |n: usize, policy: &str, target: &str| {
        let body: String = (0..n)
            .map(|i| format!("-A INPUT -m recent --rcheck --name r{i} -j {target}\n"))
            .collect();
        rules(&format!(":INPUT {policy} [0:0]\n{body}"))
    };
    let p = tcp("1.1.1.1", "2.2.2.2", 1);
    let accepts = undecided(2000, "ACCEPT", "ACCEPT");
    let t = both(&accepts, &p);
    assert_eq!((&t.verdict, t.forks.len()), (&Verdict::Accept, 2000));
    assert!(t.forks.iter().all(|f| f.if_match.verdict == Verdict::Accept && !f.more));
    let text = explain::to_text(&accepts, &p, &t, Family::V4);
    assert!(text.contains("and 1980 more undecided rules; if one matches: 1980 ACCEPT"), "{text}");
    assert!(text.lines().count() < 100, "{text}");
    let t = both(&undecided(2000, "DROP", "LOG"), &p);
    assert_eq!(t.verdict, Verdict::Drop, "a LOG changes nothing either way");
    assert!(t.forks.iter().all(|f| f.if_match.verdict == Verdict::Drop));
    let t = both(&undecided(2000, "DROP", "ACCEPT"), &p);
    assert_eq!(t.verdict, Verdict::Unknown, "forks that disagree stay undecided");
    // Forks that need walks of their own are bounded, and say so.
    let t = both(&undecided(1000, "DROP", "MARK --set-mark 1"), &p);
    assert_eq!(t.verdict, Verdict::Unknown);
    assert!(t.forks[..256].iter().all(|f| f.if_match.verdict == Verdict::Drop));
    assert!(t.forks[256..].iter().all(|f| f.if_match.verdict == Verdict::Unknown));
}

#[test]
fn rich_form_sets_and_logs() {
    let v4: IpAddr = "10.0.0.1".parse().unwrap();
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    let set = AddrSet { name: Some("hosts".into()), items: vec![AddrItem::Net(v6.into())] };
    let mut deny = Rule::new(
        vec![
            Match::InIface(
                IfaceMatch { neg: false, names: vec!["eth0".into(), "wlan+".into()].into() }.into(),
            ),
            Match::Src(AddrMatch { neg: false, set: set.clone().into() }),
        ],
        Target::Drop,
    );
    deny.log = Some(Log { prefix: "RULE 1 -- DENY ".into(), level: 6 }.into());
    let mut allow = Rule::new(
        vec![
            Match::Src(AddrMatch { neg: true, set: set.into() }),
            Match::Proto { neg: false, proto: Proto::Tcp },
            Match::Dport(PortMatch {
                neg: false,
                set: PortSet { name: None, ranges: vec![(22, 22), (443, 443)] }.into(),
            }),
        ],
        Target::Accept,
    );
    allow.log = None;
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![deny, allow];
    let rs = Ruleset { chains: vec![input] };
    // A v4 packet never matches a v6-only set; its negation always does.
    let mut p = tcp(&v4.to_string(), "10.0.0.2", 443);
    p.in_iface = Some("wlan0".into());
    assert_eq!(decided(&rs, &p).1, by("INPUT", 2));
    let mut p6 = tcp(&v6.to_string(), "2001:db8::2", 443);
    p6.in_iface = Some("wlan0".into());
    let t = both(&rs, &p6);
    assert_eq!(t.logs, ["RULE 1 -- DENY "]);
    assert_eq!(t.verdict, Verdict::Drop);
}

#[test]
fn output_text_and_json() {
    let rs = rules(
        ":INPUT DROP [0:0]\n:ssh - [0:0]\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ssh\n-A ssh -s 10.0.0.0/8 -j LOG --log-prefix \"RULE 16 -- ACCEPT \" --log-level 6\n-A ssh -s 10.0.0.0/8 -j ACCEPT",
    );
    let p = tcp("10.0.0.5", "10.0.0.1", 22);
    let t = both(&rs, &p);
    let text = explain::to_text(&rs, &p, &t, Family::V4);
    assert_eq!(
        text,
        "packet: input tcp 10.0.0.5:40000 -> 10.0.0.1:22 in eth0 state NEW flags SYN\n  \
INPUT 2      -p tcp -m tcp --dport 22 -j ssh\n               -> jump to ssh\n  \
ssh 1        -s 10.0.0.0/8 -j LOG --log-prefix \"RULE 16 -- ACCEPT \" --log-level 6\n               -> log \"RULE 16 -- ACCEPT \"\n  \
ssh 2        -s 10.0.0.0/8 -j ACCEPT\n               -> verdict ACCEPT\n\
verdict: ACCEPT by ssh 2\n"
    );
    let json = explain::to_json(&rs, &t, Family::V4);
    assert_eq!(
        json.to_string(),
        r#"{"decided_by":{"chain":"ssh","index":2,"text":"-s 10.0.0.0/8 -j ACCEPT"},"logs":["RULE 16 -- ACCEPT "],"path":[{"action":"jump","chain":"INPUT","index":2,"text":"-p tcp -m tcp --dport 22 -j ssh"},{"action":"log","chain":"ssh","index":1,"text":"-s 10.0.0.0/8 -j LOG --log-prefix \"RULE 16 -- ACCEPT \" --log-level 6"},{"action":"verdict","chain":"ssh","index":2,"text":"-s 10.0.0.0/8 -j ACCEPT"}],"policy":false,"unknown":[],"verdict":"ACCEPT"}"#
    );
}

#[test]
fn check_finds_missing_chains_and_loops() {
    let mut rs = rules(":INPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n-A a -j b\n-A b -g a");
    let p = check(&rs);
    assert_eq!(p.len(), 1);
    assert!(p[0].message.contains("loop"));
    rs.chains[0].rules.push(Rule::new(vec![], Target::Jump(ChainId(99))));
    assert!(check(&rs).iter().any(|p| p.message.contains("does not exist")));
}

// ---- properties ----

fn arb_addr() -> impl Strategy<Value = AddrMatch> {
    (any::<bool>(), 0u32..4, 24u8..=32).prop_map(|(neg, host, len)| {
        let ip = std::net::Ipv4Addr::new(10, 0, 0, u8::try_from(host).unwrap_or(0));
        let net = ipnet::Ipv4Net::new(ip, len).unwrap().trunc();
        AddrMatch { neg, set: AddrSet::one(AddrItem::Net(net.into())).into() }
    })
}

fn arb_ports() -> impl Strategy<Value = PortMatch> {
    (any::<bool>(), prop::collection::vec((20u16..26, 0u16..3), 1..3)).prop_map(|(neg, r)| {
        PortMatch {
            neg,
            set: PortSet { name: None, ranges: r.into_iter().map(|(a, w)| (a, a + w)).collect() }
                .into(),
        }
    })
}

fn arb_match() -> impl Strategy<Value = Match> {
    prop_oneof![
        arb_addr().prop_map(Match::Src),
        arb_addr().prop_map(Match::Dst),
        (any::<bool>(), prop::sample::select(vec!["eth0", "eth+", "lo", "br0"])).prop_map(
            |(neg, n)| Match::InIface(IfaceMatch { neg, names: vec![n.into()].into() }.into())
        ),
        (any::<bool>(), prop::sample::select(vec![Proto::Tcp, Proto::Udp, Proto::Icmp]))
            .prop_map(|(neg, proto)| Match::Proto { neg, proto }),
        arb_ports().prop_map(Match::Dport),
        arb_ports().prop_map(Match::Sport),
        arb_ports().prop_map(Match::AnyPort),
        (any::<bool>(), 1u8..32).prop_map(|(neg, s)| Match::State { neg, states: CtStates(s) }),
        (any::<bool>(), 0u32..3, 0u32..3).prop_map(|(neg, value, mask)| Match::Mark {
            neg,
            value: value & mask,
            mask
        }),
        (any::<bool>(), 0u8..0x3f, 0u8..0x3f).prop_map(|(neg, mask, comp)| Match::TcpFlags {
            neg,
            mask,
            comp: comp & mask
        }),
        Just(Match::unknown("u32".into(), vec!["--u32".into(), "0x0=0x0".into()])),
        prop::sample::select(TOLD.to_vec()).prop_map(told),
    ]
}

/// Modules whose answer the trace is told.
const TOLD: [&str; 12] = [
    "-m limit --limit 3/min --limit-burst 10",
    "-m hashlimit --hashlimit-above 5/sec --hashlimit-name h",
    "-m recent --rcheck --seconds 60 --name a",
    "-m recent ! --update --name b",
    "-m recent --set --name a",
    "-m connmark --mark 0x1/0x1",
    "-m connmark ! --mark 0x2",
    "-m mac --mac-source 02:00:00:00:00:01",
    "-m length --length 30:40",
    "-p tcp -m tcpmss ! --mss 1:1000",
    "-m pkttype --pkt-type unicast",
    "-m pkttype ! --pkt-type multicast",
];

/// The matches of one rule written as iptables-save writes it.
fn told(text: &str) -> Match {
    let rs = rules(&format!(":INPUT ACCEPT [0:0]\n-A INPUT {text}"));
    rs.chains[0].rules[0].matches.last().unwrap().clone()
}

fn arb_target(chains: usize) -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::Accept),
        Just(Target::Drop),
        Just(Target::Return),
        Just(Target::None),
        "[a-z]{1,3}".prop_map(|prefix| Target::Log(Log { prefix, level: 4 })),
        (1..chains.max(2)).prop_map(|c| Target::Jump(ChainId(c))),
        (1..chains.max(2)).prop_map(|c| Target::Goto(ChainId(c))),
        (0u32..4, 0u32..4)
            .prop_map(|(mask, xor)| Target::Connmark(Connmark::Set(MarkSet { mask, xor }))),
        (0u32..4, 0u32..4)
            .prop_map(|(nfmask, ctmask)| Target::Connmark(Connmark::Save { nfmask, ctmask })),
        (0u32..4, 0u32..4)
            .prop_map(|(nfmask, ctmask)| Target::Connmark(Connmark::Restore { nfmask, ctmask })),
    ]
}

/// Chains c1..cN only jump forward (to higher numbers), so there are no loops.
fn arb_ruleset() -> impl Strategy<Value = Ruleset> {
    (2usize..5).prop_flat_map(|n| {
        prop::collection::vec(
            prop::collection::vec((prop::collection::vec(arb_match(), 0..4), arb_target(n)), 0..24),
            n,
        )
        .prop_map(move |chains| {
            let mut rs = Ruleset::default();
            for (i, rules) in chains.into_iter().enumerate() {
                let mut c = if i == 0 {
                    Chain::builtin(Hook::Input, Policy::Drop)
                } else {
                    Chain::user(&format!("c{i}"))
                };
                for (matches, mut target) in rules {
                    if let Target::Jump(t) | Target::Goto(t) = &target
                        && (t.0 <= i || t.0 >= n)
                    {
                        target = Target::Accept;
                    }
                    c.rules.push(Rule::new(matches, target));
                }
                rs.chains.push(c);
            }
            rs
        })
    })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    (
        (0u8..6, 0u8..6),
        prop::sample::select(vec![Some(6u8), Some(17), Some(1), None]),
        (prop::option::weighted(0.9, 19u16..28), prop::option::weighted(0.9, 19u16..28)),
        prop::sample::select(vec![
            CtState::New,
            CtState::Established,
            CtState::Related,
            CtState::Invalid,
            CtState::Untracked,
        ]),
        0u8..0x3f,
        0u32..4,
        prop::sample::select(vec![Some("eth0"), Some("eth1"), Some("lo"), None]),
        arb_given(),
    )
        .prop_map(|((s, d), proto, (sport, dport), state, flags, mark, iface, given)| Packet {
            in_iface: iface.map(str::to_owned),
            src: Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, s))),
            dst: Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, d))),
            proto,
            sport,
            dport,
            icmp: (proto == Some(1)).then_some((8, Some(0))),
            tcp_flags: Some(flags),
            state,
            mark,
            dst_type: Some(if d == 5 {
                rampart_ir::AddrTypes::BROADCAST
            } else {
                rampart_ir::AddrTypes::LOCAL
            }),
            given,
            ..Packet::new(Hook::Input)
        })
}

fn arb_given() -> impl Strategy<Value = Given> {
    let answer = prop::option::of(any::<bool>());
    (
        any::<bool>(),
        (answer.clone(), answer),
        prop::option::of(0u32..4),
        prop::option::of(prop::sample::select(vec![[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]])),
        prop::option::of(25u16..45),
        prop::option::of(prop::option::of(500u16..1500)),
    )
        .prop_map(|(over_limit, (a, b), connmark, mac_source, length, mss)| Given {
            over_limit,
            recent: [("a", a), ("b", b)]
                .into_iter()
                .filter_map(|(n, v)| Some((n.to_owned(), v?)))
                .collect(),
            connmark,
            mac_source,
            length,
            mss,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn compiled_agrees_with_linear(rs in arb_ruleset(), packets in prop::collection::vec(arb_packet(), 1..8)) {
        let compiled = Tracer::new(&rs);
        for p in &packets {
            prop_assert_eq!(trace(&rs, p), compiled.trace(p));
        }
    }

    #[test]
    fn trace_survives_iptables_save_round_trip(rs in arb_ruleset(), p in arb_packet()) {
        // iptables allows one -s and one -d per rule.
        let restricted = rs.chains.iter().flat_map(|c| &c.rules).all(|r| {
            r.matches.iter().filter(|m| matches!(m, Match::Src(_))).count() <= 1
                && r.matches.iter().filter(|m| matches!(m, Match::Dst(_))).count() <= 1
        });
        prop_assume!(restricted);
        let tables = vec![rampart_ir::read::Table { table: rampart_ir::Table::Filter, family: Family::V4, ruleset: rampart_ir::Restricted::new(rs.clone()).unwrap() }];
        let text = rampart_ir::read::write_restore(&tables);
        let im = parse(&text, FileId(0), Format::Save);
        prop_assert!(!im.has_errors(), "{:?}", im.diagnostics);
        let again = &im.filter().unwrap().ruleset;
        prop_assert_eq!(trace(&rs, &p).verdict, trace(again, &p).verdict);
    }
}

/// Long chains get an index; it must keep first-match order.
#[test]
fn indexed_chains_agree_with_linear() {
    let mut body = String::from(":INPUT DROP [0:0]\n");
    for i in 0..200u32 {
        let host = i % 50;
        let port = 20 + i % 7;
        let target = if i % 3 == 0 { "DROP" } else { "ACCEPT" };
        body.push_str(&format!(
            "-A INPUT -d 10.0.{}.{host}/32 -p tcp -m tcp --dport {port} -j {target}\n",
            i % 3
        ));
        if i % 40 == 0 {
            body.push_str("-A INPUT -p tcp -m tcp --dport 22 -j LOG --log-prefix x\n");
        }
        // Rules without a destination, indexed again on the next field.
        if i % 4 == 1 {
            body.push_str(&format!(
                "-A INPUT -p udp -m udp --dport {port} -j LOG --log-prefix u{i}\n"
            ));
        }
        if i % 9 == 2 {
            body.push_str(&format!("-A INPUT -s 192.168.{}.0/24 -p udp -j DROP\n", i % 5));
        }
    }
    let rs = rules(body.trim_end());
    let compiled = Tracer::new(&rs);
    for h in 0..55u8 {
        for port in 18..30u16 {
            for net in 0..4u8 {
                let mut p = tcp(&format!("192.168.{}.1", h % 6), &format!("10.0.{net}.{h}"), port);
                assert_eq!(trace(&rs, &p), compiled.trace(&p));
                p.proto = Some(17);
                assert_eq!(trace(&rs, &p), compiled.trace(&p));
            }
        }
    }
    let mut icmp = tcp("192.168.1.1", "10.0.0.1", 0);
    icmp.proto = Some(1);
    icmp.dport = None;
    assert_eq!(trace(&rs, &icmp), compiled.trace(&icmp));
}

#[test]
fn nat_translates_the_first_packet_and_the_filter_sees_the_result() {
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A FORWARD -d 10.2.0.10/32 -p tcp -m tcp --dport 8080 -j ACCEPT\nCOMMIT\n\
                *nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                -A PREROUTING -s 100.64.0.9/32 -j ACCEPT\n\
                -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -m comment --comment R14 \
                -j DNAT --to-destination 10.2.0.10:8080\n\
                -A POSTROUTING -s 10.1.0.0/24 -o eth0 -j MASQUERADE\nCOMMIT\n";
    let im = parse(text, FileId(0), Format::Save);
    assert!(im.diagnostics.is_empty(), "{:?}", im.diagnostics);
    let rs = im.joined().unwrap().into_ruleset();
    let mut p = tcp("198.51.100.7", "100.64.0.1", 80);
    p.hook = Hook::Prerouting;
    let n = nat::translate(&rs, &p, &Interfaces::unknown());
    let t = n.translation.expect("a DNAT");
    assert_eq!(t.text(&p), "DNAT 100.64.0.1:80 -> 10.2.0.10:8080 by R14");
    // The filter rules see the translated packet.
    let mut fwd = t.after.clone();
    fwd.hook = Hook::Forward;
    fwd.out_iface = Some("eth2".into());
    assert_eq!(trace(&rs, &fwd).verdict, Verdict::Accept);
    assert_eq!(trace(&rs, &Packet { hook: Hook::Forward, ..p.clone() }).verdict, Verdict::Drop);
    // The reply leaves with the address the client used.
    let reply = tcp("10.2.0.10", "198.51.100.7", 40000);
    let back = t.undo(&p, &Packet { sport: Some(8080), ..reply });
    assert_eq!((back.src, back.sport), (p.dst, p.dport));
    // no-nat: the exception decides first; nothing is translated.
    let mut q = tcp("100.64.0.9", "100.64.0.1", 80);
    q.hook = Hook::Prerouting;
    assert!(nat::translate(&rs, &q, &Interfaces::unknown()).translation.is_none());
    // Masquerade at POSTROUTING, for the LAN only.
    let mut out = tcp("10.1.0.50", "192.0.2.80", 443);
    (out.hook, out.in_iface, out.out_iface) = (Hook::Postrouting, None, Some("eth0".into()));
    let m = nat::translate(&rs, &out, &Interfaces::unknown()).translation.expect("a masquerade");
    assert_eq!(m.text(&out), "MASQUERADE 10.1.0.50:40000 -> the address of eth0:40000");
    // With the interfaces known, the address masquerade picks.
    let mut ifaces = Interfaces::unknown();
    ifaces.add("eth0", vec!["100.64.0.1/24".parse().unwrap()], false);
    let m = nat::translate(&rs, &out, &ifaces).translation.expect("a masquerade");
    assert_eq!(m.text(&out), "MASQUERADE 10.1.0.50:40000 -> 100.64.0.1:40000");
}

/// A gateway's filter and nat tables and its interfaces, for the routed
/// traces below.
fn gateway() -> (Ruleset, Interfaces) {
    let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                -A INPUT -i eth1 -p tcp -m tcp --dport 3128 -j ACCEPT\n\
                -A FORWARD -d 10.2.0.10/32 -p tcp -m tcp --dport 8080 -m comment --comment R3 -j ACCEPT\n\
                -A FORWARD -i eth1 -o eth0 -m comment --comment R4 -j ACCEPT\nCOMMIT\n\
                *nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                -A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -m comment --comment R14 \
                -j DNAT --to-destination 10.2.0.10:8080\n\
                -A PREROUTING -i eth1 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3128\n\
                -A POSTROUTING -s 10.1.0.0/24 -o eth0 -m comment --comment R15 -j MASQUERADE\nCOMMIT\n";
    let im = parse(text, FileId(0), Format::Save);
    assert!(im.diagnostics.is_empty(), "{:?}", im.diagnostics);
    let mut ifaces = Interfaces::unknown();
    ifaces.add("eth0", vec!["100.64.0.1/24".parse().unwrap()], false);
    ifaces.add("eth1", vec!["10.1.0.1/24".parse().unwrap()], false);
    ifaces.add("eth2", vec!["10.2.0.1/24".parse().unwrap()], false);
    (im.joined().unwrap().into_ruleset(), ifaces)
}

#[test]
fn a_port_forward_is_routed_to_the_server_and_its_reply_undone() {
    let (rs, ifaces) = gateway();
    let mut p = tcp("198.51.100.7", "100.64.0.1", 80);
    p.in_iface = Some("eth0".into());
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    assert_eq!(r.route, Some(Route::Forward { out: "eth2".into(), named: false }));
    assert_eq!(r.verdict, Verdict::Accept);
    let texts: Vec<String> = r.translations().map(|(b, t)| t.text(b)).collect();
    assert_eq!(texts, ["DNAT 100.64.0.1:80 -> 10.2.0.10:8080 by R14"]);
    let (arrives, leaves) = r.reply().unwrap();
    assert_eq!((arrives.src, arrives.sport), (Some("10.2.0.10".parse().unwrap()), Some(8080)));
    assert_eq!((leaves.src, leaves.sport), (p.dst, p.dport));
}

#[test]
fn a_lan_connection_is_masqueraded_with_the_outgoing_interfaces_address() {
    let (rs, ifaces) = gateway();
    let mut p = tcp("10.1.0.50", "192.0.2.80", 443);
    p.in_iface = Some("eth1".into());
    // No interface's network holds the Internet address: the route is named.
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    assert!(matches!(r.route, Some(Route::Unknown(_))), "{:?}", r.route);
    assert_eq!(r.verdict, Verdict::Unknown);
    p.out_iface = Some("eth0".into());
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    assert_eq!(r.verdict, Verdict::Accept);
    let texts: Vec<String> = r.translations().map(|(b, t)| t.text(b)).collect();
    assert_eq!(texts, ["MASQUERADE 10.1.0.50:40000 -> 100.64.0.1:40000 by R15"]);
    let (arrives, leaves) = r.reply().unwrap();
    assert_eq!(arrives.dst, Some("100.64.0.1".parse().unwrap()));
    assert_eq!(leaves.dst, p.src);
    let text = explain::routed_to_text(&rs, &r, Family::V4);
    assert!(text.contains("== forward (filter) =="), "{text}");
    let json = explain::routed_to_json(&rs, &r, Family::V4);
    assert_eq!(json["hooks"].as_array().map(Vec::len), Some(3), "{json}");
    assert_eq!(json["route"]["out"], "eth0");
}

#[test]
fn a_network_on_two_interfaces_routes_nowhere_until_named() {
    let (rs, mut ifaces) = gateway();
    // A second interface on eth2's network: the kernel's choice depends on
    // the routing table, which the interfaces do not say.
    ifaces.add("eth3", vec!["10.2.0.2/24".parse().unwrap()], false);
    let mut p = tcp("198.51.100.7", "100.64.0.1", 80);
    p.in_iface = Some("eth0".into());
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    let Some(Route::Unknown(why)) = &r.route else { panic!("{:?}", r.route) };
    assert!(why.contains("10.2.0.10 is on the networks of eth2 and eth3"), "{why}");
    assert_eq!(r.verdict, Verdict::Unknown);
    p.out_iface = Some("eth2".into());
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    assert_eq!(r.verdict, Verdict::Accept);
}

#[test]
fn the_loopback_holds_the_firewalls_addresses_and_no_route() {
    let mut ifaces = Interfaces::unknown();
    ifaces.add_loopback("lo", vec!["127.0.0.1/8".parse().unwrap(), "10.9.0.1/16".parse().unwrap()]);
    ifaces.add("eth0", vec!["100.64.0.1/24".parse().unwrap()], true);
    let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    assert!(ifaces.own(a("10.9.0.1")) && ifaces.local(a("127.0.0.5")));
    assert_eq!(ifaces.via(a("10.9.0.7")), ["eth0"]);
    assert_eq!(ifaces.via(a("100.64.0.9")), ["eth0"]);
    assert_eq!(ifaces.names().collect::<Vec<_>>(), ["eth0"]);
    assert_eq!(ifaces.source("eth1", false), Some(a("127.0.0.1")));
}

#[test]
fn a_redirect_delivers_to_the_incoming_interfaces_address() {
    let (rs, ifaces) = gateway();
    let mut p = tcp("10.1.0.50", "192.0.2.80", 80);
    p.in_iface = Some("eth1".into());
    let r =
        routed::routed(&rs, &p, &ifaces, &LocalTable::default(), &|c, p| trace_chain(&rs, c, p));
    assert_eq!(r.route, Some(Route::Local));
    assert_eq!(r.verdict, Verdict::Accept);
    let delivered = r.result().unwrap();
    assert_eq!((delivered.dst, delivered.dport), (Some("10.1.0.1".parse().unwrap()), Some(3128)));
    assert!(r.passages.iter().all(|s| s.packet.hook != Hook::Postrouting));
}

#[test]
fn rate_limits_are_within_the_rate_unless_told_otherwise() {
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -p tcp -m hashlimit --hashlimit-above 10/sec --hashlimit-name f -j DROP\n-A INPUT -p tcp -m limit --limit 3/min --limit-burst 10 -j ACCEPT",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 22);
    assert_eq!(decided(&rs, &p), ("ACCEPT".into(), by("INPUT", 2)));
    p.given.over_limit = true;
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 1)));
}

#[test]
fn recent_lists_are_undecided_until_told() {
    let rs = rules(
        ":INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m recent --set --name SSH --rsource\n-A INPUT -p tcp -m recent --update --seconds 60 --hitcount 4 --name SSH --rsource -j DROP",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 22);
    let t = both(&rs, &p);
    assert_eq!(t.verdict, Verdict::Unknown);
    assert_eq!(t.path.len(), 1, "--set always matches");
    assert_eq!(t.forks[0].undecided, Undecided::Match(1, Why::Recent));
    p.given.recent.insert("SSH".into(), false);
    assert_eq!(decided(&rs, &p), ("ACCEPT".into(), None));
    p.given.recent.insert("SSH".into(), true);
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 2)));
}

#[test]
fn connmark_is_given_or_set_on_the_way() {
    let rs = rules(":INPUT DROP [0:0]\n-A INPUT -m connmark ! --mark 0x1/0xff -j ACCEPT");
    let mut p = tcp("1.1.1.1", "2.2.2.2", 22);
    assert_eq!(both(&rs, &p).forks[0].undecided, Undecided::Match(0, Why::NoConnmark));
    p.given.connmark = Some(0x101);
    assert_eq!(decided(&rs, &p), ("DROP".into(), None));
    p.given.connmark = Some(0x100);
    assert_eq!(decided(&rs, &p), ("ACCEPT".into(), by("INPUT", 1)));
    // No connection, no mark: false even negated.
    p.state = CtState::Invalid;
    assert_eq!(decided(&rs, &p), ("DROP".into(), None));
    // A CONNMARK earlier in the walk sets what later rules see, given or not.
    let rs = rules(
        ":INPUT DROP [0:0]\n-A INPUT -j CONNMARK --set-xmark 0x1/0xffffffff\n-A INPUT -m connmark --mark 0x1 -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff\n-A INPUT -m mark --mark 0x1 -j ACCEPT",
    );
    let p = tcp("1.1.1.1", "2.2.2.2", 22);
    assert_eq!(decided(&rs, &p), ("ACCEPT".into(), by("INPUT", 3)));
}

#[test]
fn link_layer_and_length_matches_read_what_is_given() {
    let rs = rules(
        ":INPUT ACCEPT [0:0]\n-A INPUT -m mac --mac-source 02:00:00:00:00:01 -j DROP\n-A INPUT -m length --length 1000:65535 -j DROP\n-A INPUT -p tcp -m tcpmss ! --mss 536:1460 -j DROP\n-A INPUT -m pkttype --pkt-type broadcast -j DROP",
    );
    let mut p = tcp("1.1.1.1", "2.2.2.2", 22);
    let t = both(&rs, &p);
    let whys: Vec<_> = t.forks.iter().map(|f| f.undecided).collect();
    assert_eq!(
        whys,
        [
            Undecided::Match(0, Why::NoMac),
            Undecided::Match(0, Why::NoLength),
            Undecided::Match(1, Why::NoMss),
            Undecided::Match(0, Why::NoDstType),
        ]
    );
    p.given.mac_source = Some([2, 0, 0, 0, 0, 2]);
    p.given.length = Some(60);
    p.given.mss = Some(Some(1460));
    p.dst_type = Some(rampart_ir::AddrTypes::LOCAL);
    assert_eq!(decided(&rs, &p), ("ACCEPT".into(), None));
    // A SYN without the MSS option matches only a negated tcpmss.
    p.given.mss = Some(None);
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 3)));
    p.given.mss = Some(Some(1460));
    p.dst_type = Some(rampart_ir::AddrTypes::BROADCAST);
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 4)));
    p.given.length = Some(1500);
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 2)));
    p.given.mac_source = Some([2, 0, 0, 0, 0, 1]);
    assert_eq!(decided(&rs, &p), ("DROP".into(), by("INPUT", 1)));
    // What the host sends has no link-layer type here.
    let rs = rules(":OUTPUT ACCEPT [0:0]\n-A OUTPUT -m pkttype --pkt-type unicast -j DROP");
    let p = Packet { hook: Hook::Output, ..tcp("1.1.1.1", "2.2.2.2", 22) };
    assert_eq!(both(&rs, &p).forks[0].undecided, Undecided::Match(0, Why::PktTypeSent));
}
