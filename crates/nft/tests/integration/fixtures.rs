//! Rich-form rulesets built by hand: what `rampart-lower` produces.

use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, CtStates, Hook, IcmpMatch, IdRange, IfaceMatch,
    Log, Match, Nflog, Origin, OwnerMatch, PhysdevMatch, Policy, PortMatch, PortSet, Proto,
    RejectWith, Rule, Ruleset, Target, TimeMatch,
};

/// The shipped example policies (`examples/*.rp`), in name order.
pub(crate) fn example_paths() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rp"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no examples in {}", dir.display());
    paths
}

/// Every fixture by name, for the tests that run them all.
pub(crate) fn all() -> Vec<(&'static str, Ruleset)> {
    vec![
        ("spice_client", spice_client()),
        ("groups", groups()),
        ("matches", matches()),
        ("bridge", bridge()),
        ("unsupported", unsupported()),
        ("runs", runs()),
    ]
}

/// Rules that differ only in single values: merged into a set or a map.
pub(crate) fn runs() -> Ruleset {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules.push(established());
    for i in 1..=6u16 {
        let host = format!("10.0.0.{i}");
        let m = vec![
            src(false, set(None, &[&host])),
            proto(Proto::Tcp),
            dport(None, &[(1000 + i, 1000 + i)]),
        ];
        input.rules.push(rule(u32::from(i), m, Target::Accept));
    }
    // Different verdicts, a repeated key (the first wins) and a jump.
    let ports: [(u16, Target); 6] = [
        (22, Target::Accept),
        (23, Target::Drop),
        (22, Target::Drop),
        (25, Target::Jump(ChainId(3))), // Mail
        (80, Target::Accept),
        (81, Target::Return),
    ];
    for (i, (p, t)) in ports.into_iter().enumerate() {
        let n = 7 + u32::try_from(i).unwrap();
        let m = vec![
            Match::InIface(IfaceMatch::one("eth0").into()),
            proto(Proto::Tcp),
            dport(None, &[(p, p)]),
        ];
        input.rules.push(rule(n, m, t));
    }
    // Three rules: too short a run, left as rules.
    for i in 0..3u16 {
        input.rules.push(rule(
            20,
            vec![proto(Proto::Udp), dport(None, &[(5000 + i, 5000 + i)])],
            Target::Accept,
        ));
    }
    let mut mail = Chain::user("Mail");
    mail.rules = vec![rule(30, vec![], Target::Accept)];
    Ruleset {
        chains: vec![
            input,
            Chain::builtin(Hook::Forward, Policy::Drop),
            Chain::builtin(Hook::Output, Policy::Accept),
            mail,
        ],
    }
}

/// `10.0.0.1`, `10.0.0.0/8`, or a range `10.0.0.1~10.0.0.9`.
pub(crate) fn item(s: &str) -> AddrItem {
    match s.split_once('~') {
        Some((a, b)) => AddrItem::Range(a.parse().unwrap(), b.parse().unwrap()),
        None if s.contains('/') => AddrItem::Net(s.parse().unwrap()),
        None => AddrItem::Net(s.parse::<std::net::IpAddr>().unwrap().into()),
    }
}

pub(crate) fn set(name: Option<&str>, items: &[&str]) -> AddrSet {
    AddrSet { name: name.map(str::to_owned), items: items.iter().map(|s| item(s)).collect() }
}

pub(crate) fn src(neg: bool, set: AddrSet) -> Match {
    Match::Src(AddrMatch { neg, set: set.into() })
}

pub(crate) fn dst(neg: bool, set: AddrSet) -> Match {
    Match::Dst(AddrMatch { neg, set: set.into() })
}

pub(crate) fn proto(p: Proto) -> Match {
    Match::Proto { neg: false, proto: p }
}

pub(crate) fn ports(name: Option<&str>, ranges: &[(u16, u16)]) -> PortMatch {
    PortMatch {
        neg: false,
        set: PortSet { name: name.map(str::to_owned), ranges: ranges.to_vec() }.into(),
    }
}

pub(crate) fn dport(name: Option<&str>, ranges: &[(u16, u16)]) -> Match {
    Match::Dport(ports(name, ranges))
}

pub(crate) fn state(bits: u8) -> Match {
    Match::State { neg: false, states: CtStates(bits) }
}

pub(crate) fn established() -> Rule {
    Rule::new(vec![state(CtStates::ESTABLISHED | CtStates::RELATED)], Target::Accept)
}

pub(crate) fn uid(n: u32) -> Match {
    Match::Owner(
        OwnerMatch { uid: Some(IdRange { neg: false, first: n, last: n }), gid: None }.into(),
    )
}

/// A policy rule: numbered, commented like the lowering does.
pub(crate) fn rule(n: u32, matches: Vec<Match>, target: Target) -> Rule {
    Rule { origin: Some(Origin { rule: n, span: None }), ..Rule::new(matches, target) }
}

pub(crate) fn logged(mut r: Rule, action: &str) -> Rule {
    let n = r.origin.map_or(0, |o| o.rule);
    r.log = Some(Log { prefix: format!("RULE {n} -- {action} "), level: 6 }.into());
    r
}

/// A per-user console client: only `myself` (1021) may reach the VM server's TLS
/// port 20002 and `mybro` (1022) 20004; everyone else is denied 20001-20010.
pub(crate) fn spice_client() -> Ruleset {
    let server = || set(Some("vm_server"), &["192.168.2.2"]);
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![
        established(),
        rule(1, vec![Match::InIface(IfaceMatch::one("lo").into())], Target::Accept),
        logged(rule(9, vec![], Target::Drop), "DENY"),
    ];
    let forward = Chain::builtin(Hook::Forward, Policy::Drop);
    let mut output = Chain::builtin(Hook::Output, Policy::Drop);
    output.rules = vec![
        established(),
        rule(2, vec![Match::OutIface(IfaceMatch::one("lo").into())], Target::Accept),
        rule(3, vec![uid(1021)], Target::Jump(ChainId(3))),
        rule(4, vec![uid(1022)], Target::Jump(ChainId(4))),
        logged(
            rule(
                5,
                vec![dst(false, server()), proto(Proto::Tcp), dport(None, &[(20001, 20010)])],
                Target::Reject(RejectWith::AdminProhibited),
            ),
            "DENY",
        ),
        rule(6, vec![state(CtStates::NEW)], Target::Accept),
    ];
    let vm = |name: &str, n: u32, service: &str, port: u16| {
        let mut c = Chain::user(name);
        c.rules = vec![logged(
            rule(
                n,
                vec![
                    dst(false, server()),
                    proto(Proto::Tcp),
                    dport(Some(service), &[(port, port)]),
                    state(CtStates::NEW),
                ],
                Target::Accept,
            ),
            "ACCEPT",
        )];
        c
    };
    Ruleset {
        chains: vec![
            input,
            forward,
            output,
            vm("Spice_VM_1", 7, "spice_vm1", 20002),
            vm("Spice_VM_2", 8, "spice_vm2", 20004),
        ],
    }
}

/// Groups as named sets: mixed families, negation, repeated and long lists.
pub(crate) fn groups() -> Ruleset {
    let lan = || set(Some("lan"), &["10.0.0.0/8", "192.168.1.10~192.168.1.20", "2001:db8::/32"]);
    let admins = || set(Some("admins"), &["10.0.0.5", "10.0.0.7", "10.0.0.9"]);
    let web = || dport(Some("web"), &[(80, 80), (443, 443), (8000, 8080)]);
    let mail = || dport(None, &[(25, 25), (465, 465), (587, 587)]);
    let many: Vec<(u16, u16)> = (0..12).map(|i| (5000 + 2 * i, 5000 + 2 * i)).collect();
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![
        established(),
        rule(
            1,
            vec![src(false, admins()), proto(Proto::Tcp), dport(None, &[(22, 22)])],
            Target::Accept,
        ),
        rule(2, vec![src(false, lan()), proto(Proto::Tcp), web()], Target::Accept),
        rule(
            3,
            vec![src(true, lan()), proto(Proto::Tcp), web()],
            Target::Reject(RejectWith::TcpReset),
        ),
        rule(4, vec![src(false, lan()), proto(Proto::Tcp), mail()], Target::Accept),
        rule(
            5,
            vec![src(false, set(None, &["203.0.113.0/24"])), proto(Proto::Tcp), mail()],
            Target::Accept,
        ),
        rule(6, vec![proto(Proto::Udp), dport(None, &many)], Target::Accept),
        rule(
            7,
            vec![
                dst(true, set(Some("v4only"), &["198.51.100.1"])),
                proto(Proto::Udp),
                dport(None, &[(53, 53)]),
            ],
            Target::Accept,
        ),
        rule(
            8,
            vec![src(false, set(Some("v6hosts"), &["2001:db8::1", "2001:db8::2"]))],
            Target::Accept,
        ),
        rule(9, vec![src(false, set(Some("nothing"), &[]))], Target::Accept),
        logged(rule(10, vec![], Target::Reject(RejectWith::HostProhibited)), "DENY"),
    ];
    let mut forward = Chain::builtin(Hook::Forward, Policy::Drop);
    forward.rules = vec![
        established(),
        rule(
            11,
            vec![src(false, lan()), dst(false, admins())],
            Target::Jump(ChainId(3)), // Admin_access
        ),
    ];
    let output = Chain::builtin(Hook::Output, Policy::Accept);
    let mut admin = Chain::user("Admin_access");
    admin.rules = vec![
        rule(12, vec![proto(Proto::Tcp), web()], Target::Accept),
        rule(13, vec![], Target::Return),
    ];
    Ruleset { chains: vec![input, forward, output, admin] }
}

/// One rule per remaining match and target kind.
pub(crate) fn matches() -> Ruleset {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![
        rule(
            1,
            vec![Match::Icmp { neg: false, v6: false, icmp: IcmpMatch::Type(8) }],
            Target::Accept,
        ),
        rule(
            2,
            vec![Match::Icmp { neg: false, v6: true, icmp: IcmpMatch::Type(128) }],
            Target::Accept,
        ),
        rule(
            3,
            vec![Match::Icmp { neg: false, v6: false, icmp: IcmpMatch::TypeCode(3, 4) }],
            Target::Accept,
        ),
        rule(
            4,
            vec![Match::Icmp { neg: true, v6: false, icmp: IcmpMatch::TypeCode(3, 3) }],
            Target::Drop,
        ),
        rule(5, vec![proto(Proto::Icmpv6)], Target::Accept),
        rule(
            6,
            vec![Match::State { neg: true, states: CtStates(CtStates::NEW | CtStates::INVALID) }],
            Target::Drop,
        ),
        rule(7, vec![Match::Mark { neg: false, value: 1, mask: 0xff }], Target::Accept),
        rule(8, vec![Match::Mark { neg: true, value: 2, mask: u32::MAX }], Target::Accept),
        rule(
            9,
            vec![Match::Time(TimeMatch {
                start: Some(8 * 60),
                stop: Some(17 * 60 + 59),
                weekdays: 0b001_1111,
            })],
            Target::Accept,
        ),
        rule(
            10,
            vec![proto(Proto::Tcp), Match::TcpFlags { neg: false, mask: 0x17, comp: 0x02 }],
            Target::Accept,
        ),
        rule(
            11,
            vec![proto(Proto::Tcp), Match::AnyPort(ports(None, &[(6000, 6063)]))],
            Target::Drop,
        ),
        rule(
            12,
            vec![
                proto(Proto::Udp),
                Match::AnyPort(PortMatch { neg: true, ..ports(None, &[(53, 53)]) }),
            ],
            Target::Drop,
        ),
        rule(
            13,
            vec![Match::InIface(
                IfaceMatch { neg: true, names: vec!["eth+".into(), "wlan0".into()].into() }.into(),
            )],
            Target::Drop,
        ),
        rule(14, vec![proto(Proto::Other(47))], Target::Accept),
        rule(
            15,
            vec![
                Match::Proto { neg: true, proto: Proto::Udp },
                src(false, set(None, &["2001:db8::/48"])),
            ],
            Target::Accept,
        ),
        logged(rule(16, vec![proto(Proto::Tcp), dport(None, &[(23, 23)])], Target::None), "COUNT"),
        rule(17, vec![], Target::Log(Log { prefix: "RULE 17 -- \"LOG\" ".into(), level: 4 })),
        rule(
            18,
            vec![],
            Target::Nflog(Nflog { group: 5, prefix: Some("RULE 18 -- DENY ".into()) }),
        ),
        rule(
            19,
            vec![proto(Proto::Udp), dport(None, &[(137, 139)])],
            Target::Reject(RejectWith::ProtoUnreachable),
        ),
        rule(20, vec![], Target::Reject(RejectWith::NetUnreachable)),
        Rule { comment: Some("a comment \"quoted\"".into()), ..rule(21, vec![], Target::Drop) },
    ];
    let mut output = Chain::builtin(Hook::Output, Policy::Accept);
    output.rules = vec![rule(
        22,
        vec![Match::Owner(
            OwnerMatch {
                uid: Some(IdRange { neg: true, first: 1000, last: 1999 }),
                gid: Some(IdRange { neg: false, first: 100, last: 100 }),
            }
            .into(),
        )],
        Target::Goto(ChainId(3)), // the user chain `input`
    )];
    let mut kw = Chain::user("input");
    kw.rules = vec![rule(23, vec![], Target::Accept)];
    Ruleset { chains: vec![input, Chain::builtin(Hook::Forward, Policy::Drop), output, kw] }
}

/// A virtualization host where guests are bound to their address on their port.
pub(crate) fn bridge() -> Ruleset {
    let port_in = |name: &str| PhysdevMatch {
        physdev_in: Some((false, name.into())),
        ..PhysdevMatch::default()
    };
    let mut forward = Chain::builtin(Hook::Forward, Policy::Drop);
    forward.rules = vec![
        logged(
            rule(
                1,
                vec![
                    Match::Physdev(port_in("vnet0").into()),
                    src(true, set(Some("guest1"), &["10.0.0.5"])),
                ],
                Target::Drop,
            ),
            "DENY",
        ),
        logged(
            rule(
                2,
                vec![
                    Match::Physdev(port_in("vnet1").into()),
                    src(true, set(Some("guest2"), &["10.0.0.6", "2001:db8::6"])),
                ],
                Target::Drop,
            ),
            "DENY",
        ),
        rule(
            3,
            vec![
                Match::InIface(IfaceMatch::one("br0").into()),
                Match::Physdev(
                    PhysdevMatch {
                        physdev_out: Some((false, "eth1".into())),
                        is_bridged: Some(false),
                        ..PhysdevMatch::default()
                    }
                    .into(),
                ),
                src(false, set(Some("guests"), &["10.0.0.5", "10.0.0.6"])),
            ],
            Target::Accept,
        ),
        rule(
            4,
            vec![Match::Physdev(
                PhysdevMatch { is_bridged: Some(true), ..PhysdevMatch::default() }.into(),
            )],
            Target::Accept,
        ),
        established(),
        rule(
            5,
            vec![
                src(false, set(Some("guests"), &["10.0.0.5", "10.0.0.6"])),
                proto(Proto::Tcp),
                dport(None, &[(443, 443)]),
            ],
            Target::Accept,
        ),
    ];
    Ruleset {
        chains: vec![
            Chain::builtin(Hook::Input, Policy::Drop),
            forward,
            Chain::builtin(Hook::Output, Policy::Accept),
        ],
    }
}

/// Imports can carry what nft cannot say; those rules become `#` lines.
pub(crate) fn unsupported() -> Ruleset {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![
        rule(1, vec![Match::unknown("recent".into(), vec!["--rcheck".into()])], Target::Drop),
        rule(2, vec![], Target::Other { name: "TARPIT".into(), args: vec![] }),
        rule(3, vec![], Target::Accept),
    ];
    Ruleset { chains: vec![input] }
}
