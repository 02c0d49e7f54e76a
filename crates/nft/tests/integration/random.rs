//! Randomly generated rich-form policies, compared in the kernel like the
//! shipped examples: iptables pass + iptables-restore against nft.
//!
//! Seeded and deterministic, so a failure names a seed to replay with
//! `RAMPART_NFT_SEEDS=first..last`.

use rampart_ir::{
    AddrSet, Chain, ChainId, CtStates, Family, Hook, IdRange, IfaceMatch, Log, Match, OwnerMatch,
    Policy, PortMatch, PortSet, Proto, RejectWith, Rule, Ruleset, Target,
};

use crate::equiv::{Case, FwIface, compare};
use crate::fixtures::{item, rule};

const ADDRS: [&str; 8] = [
    "10.1.0.5",
    "10.1.0.6",
    "10.1.0.8/29",
    "10.2.0.10",
    "10.2.0.20~10.2.0.30",
    "10.2.0.40/30",
    "198.18.0.10",
    "198.18.1.10",
];
const PORTS: [(u16, u16); 6] =
    [(22, 22), (53, 53), (80, 80), (443, 443), (2000, 2010), (8080, 8080)];

/// IPv6 members, mixed into the groups of dual-stack policies.
const ADDRS6: [&str; 4] =
    ["2001:db8:1::5", "2001:db8:1::10/126", "2001:db8:2::10", "2001:db8:2::20~2001:db8:2::30"];

fn addrs(rng: &mut fastrand::Rng, g: usize, dual: bool) -> AddrSet {
    let n = 1 + rng.usize(..3);
    let pick = |rng: &mut fastrand::Rng| {
        if dual && rng.u64(..100) < 40 {
            item(ADDRS6[rng.usize(..ADDRS6.len())])
        } else {
            item(ADDRS[rng.usize(..ADDRS.len())])
        }
    };
    let mut items: Vec<_> = (0..n).map(|_| pick(rng)).collect();
    items.sort();
    items.dedup();
    let name = (rng.u64(..100) < 50).then(|| format!("grp{g}"));
    AddrSet { name, items }
}

fn target(rng: &mut fastrand::Rng, tcp: bool, user_chain: bool) -> Target {
    match rng.usize(..10) {
        0..=3 => Target::Accept,
        4 | 5 => Target::Drop,
        6 if tcp => Target::Reject(RejectWith::TcpReset),
        6 | 7 => Target::Reject(
            *rng.choice(&[
                RejectWith::PortUnreachable,
                RejectWith::HostUnreachable,
                RejectWith::AdminProhibited,
                RejectWith::NetProhibited,
            ])
            .unwrap(),
        ),
        8 if user_chain => Target::Return,
        _ if !user_chain => Target::Jump(ChainId(3)), // Sub
        _ => Target::Accept,
    }
}

/// `hook`: the built-in chain's, `None` for the user chain.
fn random_rule(rng: &mut fastrand::Rng, n: u32, hook: Option<Hook>, dual: bool) -> Rule {
    let mut m = Vec::new();
    let g = usize::try_from(n).unwrap();
    if rng.u64(..100) < 50 {
        m.push(Match::Src(rampart_ir::AddrMatch {
            neg: rng.u64(..100) < 25,
            set: addrs(rng, 2 * g, dual).into(),
        }));
    }
    if rng.u64(..100) < 40 {
        m.push(Match::Dst(rampart_ir::AddrMatch {
            neg: rng.u64(..100) < 25,
            set: addrs(rng, 2 * g + 1, dual).into(),
        }));
    }
    if hook != Some(Hook::Output) && rng.u64(..100) < 25 {
        let names = vec![(*rng.choice(&["eth0", "eth1", "eth+"]).unwrap()).to_owned()];
        m.push(Match::InIface(IfaceMatch { neg: rng.u64(..100) < 30, names: names.into() }.into()));
    }
    let mut tcp = false;
    if rng.u64(..100) < 70 {
        let proto = *rng.choice(&[Proto::Tcp, Proto::Udp]).unwrap();
        tcp = proto == Proto::Tcp;
        m.push(Match::Proto { neg: false, proto });
        if rng.u64(..100) < 80 {
            let k = 1 + rng.usize(..3);
            let mut ranges: Vec<_> = (0..k).map(|_| PORTS[rng.usize(..PORTS.len())]).collect();
            ranges.sort_unstable();
            ranges.dedup();
            let name = (rng.u64(..100) < 40).then(|| format!("svc{g}"));
            m.push(Match::Dport(PortMatch {
                neg: rng.u64(..100) < 15,
                set: PortSet { name, ranges }.into(),
            }));
        }
    }
    if hook == Some(Hook::Output) && rng.u64(..100) < 40 {
        let uid = *rng.choice(&[1021, 1022]).unwrap();
        let id = IdRange { neg: rng.u64(..100) < 20, first: uid, last: uid };
        m.push(Match::Owner(OwnerMatch { uid: Some(id), gid: None }.into()));
    }
    if rng.u64(..100) < 30 {
        m.push(Match::State { neg: false, states: CtStates(CtStates::NEW) });
    }
    let mut r = rule(n, m, target(rng, tcp, hook.is_none()));
    if r.target.is_verdict() && rng.u64(..100) < 30 {
        r.log = Some(Log { prefix: format!("RULE {n} -- X "), level: 6 }.into());
    }
    r
}

pub(crate) fn random_policy(seed: u64) -> Ruleset {
    random_policy_with(seed, false)
}

/// `dual`: groups may hold IPv6 members too.
pub(crate) fn random_policy_with(seed: u64, dual: bool) -> Ruleset {
    random_policy_sized(seed, dual, 3..9)
}

/// `rules`: how many random rules each chain gets.
pub(crate) fn random_policy_sized(seed: u64, dual: bool, rules: std::ops::Range<usize>) -> Ruleset {
    let mut rng = fastrand::Rng::with_seed(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut n = 0;
    let mut chains = Vec::new();
    for hook in [Some(Hook::Input), Some(Hook::Forward), Some(Hook::Output), None] {
        let mut c = match hook {
            Some(h) => Chain::builtin(h, Policy::Drop),
            None => Chain::user("Sub"),
        };
        if hook.is_some() {
            c.rules.push(crate::fixtures::established());
        }
        // Neighbour discovery, without which no IPv6 packet gets anywhere.
        if dual && matches!(hook, Some(Hook::Input | Hook::Output)) {
            c.rules.push(Rule::new(
                vec![Match::Proto { neg: false, proto: Proto::Icmpv6 }],
                Target::Accept,
            ));
        }
        for _ in 0..rng.usize(rules.clone()) {
            n += 1;
            c.rules.push(random_rule(&mut rng, n, hook, dual));
        }
        chains.push(c);
    }
    Ruleset { chains }
}

/// Whether a rule returns or goes to a chain unless a value is in a list of
/// several: the iptables pass splits its chain for it (`Pass::split` in
/// `rampart-lower`); the comparisons count such policies to show they are
/// covered.
pub(crate) fn returns_unless_listed(rs: &Ruleset) -> bool {
    let multi = |m: &Match| match m {
        Match::Src(a) | Match::Dst(a) => {
            a.neg
                && [Family::V4, Family::V6]
                    .iter()
                    .any(|f| a.set.items.iter().filter(|i| i.family() == *f).count() > 1)
        }
        Match::InIface(i) | Match::OutIface(i) => i.neg && i.names.len() > 1,
        _ => false,
    };
    rs.chains.iter().flat_map(|c| &c.rules).any(|r| {
        matches!(r.target, Target::Return | Target::Goto(_)) && r.matches.iter().any(multi)
    })
}

/// An IPv4 random policy between eth0 (10.1.0.0/24) and eth1 (10.2.0.0/24),
/// compared as `name`.
fn v4_case<'a>(name: &'a str, rich: &'a Ruleset) -> Case<'a> {
    let v4 = rampart_lower::iptables(rich, Family::V4);
    Case {
        name,
        ifaces: vec![
            FwIface { name: "eth0".into(), addrs: vec!["10.1.0.1/24".parse().unwrap()] },
            FwIface { name: "eth1".into(), addrs: vec!["10.2.0.1/24".parse().unwrap()] },
        ],
        rich,
        iptables_v4: rampart_emit::iptables_restore(&v4, Family::V4, name, None),
        iptables_v6: None,
    }
}

#[test]
#[expect(clippy::print_stderr, reason = "the probe counts are the test's report")]
fn random_policies_same_in_kernel() {
    let seeds = std::env::var("RAMPART_NFT_SEEDS").unwrap_or_else(|_| "5..10".into());
    let (a, b) = seeds.split_once("..").expect("RAMPART_NFT_SEEDS=first..last");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let mut total = 0;
    let mut failures = Vec::new();
    let mut split = 0;
    for seed in a..=b {
        let rich = random_policy(seed);
        split += usize::from(returns_unless_listed(&rich));
        let name = format!("random seed {seed}");
        match compare(&v4_case(&name, &rich)) {
            Ok(report) => {
                eprintln!("{name}: {} probes, same outcome: {:?}", report.probes, report.outcomes);
                total += report.probes;
            }
            Err(e) => {
                failures.push(format!("{e}\n{}", rampart_nft::emit(&rampart_nft::classify(&rich))))
            }
        }
    }
    eprintln!(
        "random policies {a}..={b} ({split} with a return unless listed): \
         {total} probes with the same outcome in both backends"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Dual-stack policies: rules split into `ip` and `ip6` variants in nft,
/// an iptables and an ip6tables document on the other side.
#[test]
#[expect(clippy::print_stderr, reason = "the probe counts are the test's report")]
fn dual_stack_policies_same_in_kernel() {
    let seeds = std::env::var("RAMPART_NFT_DUAL_SEEDS").unwrap_or_else(|_| "1..3".into());
    let (a, b) = seeds.split_once("..").expect("RAMPART_NFT_DUAL_SEEDS=first..last");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    let mut total = 0;
    let mut split = 0;
    let mut failures = Vec::new();
    for seed in a..=b {
        let rich = random_policy_with(seed, true);
        split += usize::from(returns_unless_listed(&rich));
        let name = format!("dual-stack seed {seed}");
        let doc =
            |f| rampart_emit::iptables_restore(&rampart_lower::iptables(&rich, f), f, &name, None);
        let case = Case {
            name: &name,
            ifaces: vec![
                FwIface {
                    name: "eth0".into(),
                    addrs: vec![
                        "10.1.0.1/24".parse().unwrap(),
                        "2001:db8:1::1/64".parse().unwrap(),
                    ],
                },
                FwIface {
                    name: "eth1".into(),
                    addrs: vec![
                        "10.2.0.1/24".parse().unwrap(),
                        "2001:db8:2::1/64".parse().unwrap(),
                    ],
                },
            ],
            rich: &rich,
            iptables_v4: doc(Family::V4),
            iptables_v6: Some(doc(Family::V6)),
        };
        match compare(&case) {
            Ok(report) => {
                eprintln!(
                    "{name}: {} probes, same outcome: {:?}; IPv6 among them: {:?}",
                    report.probes, report.outcomes, report.v6
                );
                assert!(report.v6.contains_key("open"), "{name}: no IPv6 probe got through");
                total += report.probes;
            }
            Err(e) => {
                failures.push(format!("{e}\n{}", rampart_nft::emit(&rampart_nft::classify(&rich))))
            }
        }
    }
    eprintln!(
        "dual-stack policies {a}..={b} ({split} with a return unless listed): {total} probes with the same outcome"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Long chains of overlapping rules, the hard case for the classifier form
/// (rules copied into several branches, jumps left out where they cannot
/// match): the same outcome as the iptables pass, probe by probe.
#[test]
#[expect(clippy::print_stderr, reason = "the probe counts are the test's report")]
fn long_overlapping_policies_same_in_kernel() {
    let mut failures = Vec::new();
    let mut cut = 0;
    for seed in 1..=4 {
        let rich = random_policy_sized(seed, false, 20..30);
        let classified = rampart_nft::classify(&rich);
        cut += usize::from(classified.chains.len() > rich.chains.len());
        let name = format!("long random seed {seed}");
        match compare(&v4_case(&name, &rich)) {
            Ok(report) => {
                eprintln!("{name}: {} probes, same outcome: {:?}", report.probes, report.outcomes);
            }
            Err(e) => failures.push(format!("{e}\n{}", rampart_nft::emit(&classified))),
        }
    }
    assert!(cut >= 1, "none of the 4 policies was cut");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
