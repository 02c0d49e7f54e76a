//! The nft JSON reader on `nft -j list ruleset` output taken from the
//! kernel (`fixtures/nft-list-ruleset.nft` loaded with `nft -f`).

use rampart_diag::FileId;
use rampart_ir::read::nft;
use rampart_ir::{Family, Hook, Match, Target, format_rule};

const JSON: &str = include_str!("fixtures/nft-list-ruleset.json");

#[test]
fn base_chains_in_kernel_order_with_their_rules() {
    let rs = nft::parse(JSON, FileId(0));
    assert!(!rs.has_errors(), "{:?}", rs.diagnostics);
    let input: Vec<_> = rs.at(Hook::Input).map(|b| (b.table.as_str(), b.priority)).collect();
    assert_eq!(input, vec![("other", -10), ("fw", 0)]);
    let fw = rs.at(Hook::Input).nth(1).unwrap();
    let lines: Vec<String> = fw.ruleset.chains[0]
        .rules
        .iter()
        .map(|r| format_rule(&fw.ruleset, r, Family::V4))
        .collect();
    assert_eq!(lines[0], "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
    // the named set's elements, the anonymous port set with a range
    assert_eq!(
        lines[2],
        "-s 10.0.0.0/24,192.168.1.5/32 -p tcp -m multiport --dports 22,80:90 -j ACCEPT"
    );
    assert_eq!(lines[5], "-p tcp -m tcp --dport 8080 -j web");
    // the verdict map, one rule per key
    assert_eq!(lines[8], "-p tcp -m tcp --dport 25 -j DROP");
    assert_eq!(lines[9], "-p tcp -m tcp --dport 26 -j ACCEPT");
    // log and reject in one rule; the counter read back
    let dns = &fw.ruleset.chains[0].rules[6];
    assert_eq!(dns.log.as_ref().unwrap().prefix, "DNS ");
    assert!(matches!(dns.target, Target::Reject(_)));
    assert!(fw.ruleset.chains[0].rules[4].counters.is_some());
    // a rate limit is undecided, never skipped
    let limit = &fw.ruleset.chains[0].rules[10];
    assert!(matches!(&limit.matches[0], Match::Unknown(_)), "{limit:?}");
}

#[test]
fn detected_positively_and_errors_located() {
    assert!(nft::is_json(JSON));
    assert!(!nft::is_json("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"));
    assert!(!nft::is_json("{\"other\": 1}"));
    let bad = nft::parse("{\"nftables\": [", FileId(0));
    assert!(bad.has_errors());
    assert_eq!(bad.diagnostics[0].code, "E0810");
}

#[test]
fn counters_by_chain_position_with_the_rule_comment() {
    let json = r#"{"nftables": [
      {"metainfo": {"json_schema_version": 1}},
      {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 4,
        "comment": "R7: web", "expr": [{"counter": {"packets": 3, "bytes": 180}}, {"accept": null}]}},
      {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 5,
        "expr": [{"accept": null}]}},
      {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 6,
        "comment": "R9: one of several", "expr": [{"vmap": {"key": {"meta": {"key": "l4proto"}},
          "data": "@m"}}, {"counter": {"packets": 2, "bytes": 80}}]}},
      {"rule": {"family": "inet", "table": "t", "chain": "forward", "handle": 7,
        "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}}
    ]}"#;
    let c = nft::counters(json).unwrap();
    let got: Vec<_> =
        c.iter().map(|c| (c.chain.as_str(), c.index, c.packets, c.comment.as_deref())).collect();
    // A verdict map's one counter names no single policy rule.
    assert_eq!(
        got,
        vec![("input", 1, 3, Some("R7: web")), ("input", 3, 2, None), ("forward", 1, 0, None)]
    );
    assert!(nft::counters("{\"nftables\": [").is_err());
}

/// `fixtures/nft-nat.nft` as the kernel lists it.
const NAT: &str = include_str!("fixtures/nft-nat.json");

#[test]
fn nat_statements_are_typed_nat_targets() {
    use rampart_ir::{NatTo, Table};
    let rs = nft::parse(NAT, FileId(0));
    assert!(!rs.has_errors(), "{:?}", rs.diagnostics);
    // nat chains are read, not skipped with a warning
    assert!(rs.diagnostics.is_empty(), "{:?}", rs.diagnostics);
    let pre = rs.bases.iter().find(|b| b.hook == Hook::Prerouting).unwrap();
    assert_eq!((pre.kind, pre.ruleset.chains[0].table), (Table::Nat, Table::Nat));
    // a nat chain is no filter chain of its hook
    assert_eq!(rs.at(Hook::Prerouting).count(), 0);
    let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let targets: Vec<&Target> = pre.ruleset.chains[0].rules.iter().map(|r| &r.target).collect();
    assert_eq!(
        targets[0],
        &Target::Dnat(NatTo { addrs: Some((a("10.2.0.10"), a("10.2.0.10"))), ports: None })
    );
    assert_eq!(
        targets[1],
        &Target::Dnat(NatTo {
            addrs: Some((a("10.2.0.10"), a("10.2.0.10"))),
            ports: Some((8080, 8080))
        })
    );
    assert_eq!(
        targets[2],
        &Target::Dnat(NatTo {
            addrs: Some((a("10.2.0.10"), a("10.2.0.20"))),
            ports: Some((8080, 8090))
        })
    );
    assert_eq!(targets[4], &Target::Redirect(Some((8084, 8084))));
    assert_eq!(targets[5], &Target::Redirect(None));
    // `persistent` picks another address than the first: not modelled
    assert!(matches!(targets[6], Target::Other { .. }), "{:?}", targets[6]);
    // `dnat ip to` in an inet table translates IPv4 packets only
    let line = |r| format_rule(&pre.ruleset, r, Family::V4);
    let first = line(&pre.ruleset.chains[0].rules[0]);
    assert!(first.contains("-s 0.0.0.0/0 "), "{first}");
    let v6 = line(&pre.ruleset.chains[0].rules[3]);
    assert!(v6.contains("-s ::/0 "), "{v6}");
    let post = rs.bases.iter().find(|b| b.hook == Hook::Postrouting).unwrap();
    let targets: Vec<&Target> = post.ruleset.chains[0].rules.iter().map(|r| &r.target).collect();
    assert_eq!(targets[0], &Target::Masquerade(None));
    assert!(matches!(targets[1], Target::Other { .. }), "random: {:?}", targets[1]);
    assert_eq!(
        targets[2],
        &Target::Snat(NatTo { addrs: Some((a("192.0.2.4"), a("192.0.2.4"))), ports: None })
    );
    assert_eq!(
        targets[3],
        &Target::Snat(NatTo {
            addrs: Some((a("192.0.2.4"), a("192.0.2.8"))),
            ports: Some((100, 200))
        })
    );
    // one ruleset across the hooks: nat and filter chains of both tables
    let joined = rs.joined(false);
    assert!(joined.base(Table::Nat, Hook::Prerouting).is_some());
    assert!(joined.base(Table::Filter, Hook::Forward).is_some());
}

/// Every base chain of a family joins the walk across the hooks, in the
/// kernel's order: filter chains by priority, the nat chains together
/// where the kernel's NAT hook sits (-100 at prerouting), whatever their
/// own priorities.
#[test]
fn base_chains_are_joined_in_the_kernels_order() {
    let chain = |name: &str, kind: &str, prio: i64| {
        format!(
            r#"{{"chain": {{"family": "ip", "table": "f", "name": "{name}", "type": "{kind}", "hook": "prerouting", "prio": {prio}, "policy": "drop"}}}}, "#
        )
    };
    let more =
        [chain("late", "filter", -50), chain("nat2", "nat", 50), chain("early", "filter", -150)]
            .concat();
    let head = r#"{"table": {"family": "ip", "name": "f""#;
    let text = NAT.replacen(head, &format!("{more}{head}"), 1);
    assert_ne!(text, NAT);
    let rs = nft::parse(&text, FileId(0));
    let names = |v6| {
        let joined = rs.joined(v6);
        joined
            .chains
            .iter()
            .filter(|c| c.hook() == Some(Hook::Prerouting))
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let inet = rs.bases.iter().find(|b| b.family == "inet" && b.hook == Hook::Prerouting);
    let inet = inet.map(|b| b.chain.clone()).unwrap();
    assert_eq!(names(false), ["early", inet.as_str(), "nat2", "late"]);
    // IPv6 packets meet only the inet table's
    assert_eq!(names(true), [inet.as_str()]);
    let tied = |rs: &nft::NftRuleset| {
        rs.diagnostics.iter().any(|d| d.message.contains("ip f tie has priority -100"))
    };
    assert!(!tied(&rs), "{:?}", rs.diagnostics);
    // A filter chain at the nat chains' own place: their order is not known.
    let tie = chain("tie", "filter", -100);
    let rs = nft::parse(&text.replacen(head, &format!("{tie}{head}"), 1), FileId(0));
    assert!(tied(&rs), "{:?}", rs.diagnostics);
    assert!(!rs.has_errors());
}

/// Anonymous sets of protocols and ICMP types (as firewalld writes them),
/// listed by `nft -j list ruleset`: one rule per element; a negated set
/// is none of them; `ct status` stays undecided.
#[test]
fn anonymous_sets_of_protocols_and_icmp_types() {
    let rule = |handle: u32, expr: &str| {
        format!(
            r#"{{"rule": {{"family": "inet", "table": "t", "chain": "c", "handle": {handle}, "expr": {expr}}}}}"#
        )
    };
    let set = |left: &str, op: &str, items: &str| {
        format!(r#"{{"match": {{"op": "{op}", "left": {left}, "right": {{"set": [{items}]}}}}}}"#)
    };
    let l4 = r#"{"meta": {"key": "l4proto"}}"#;
    let rules = [
        rule(3, &format!(r#"[{}, {{"accept": null}}]"#, set(l4, "==", r#""icmp", "ipv6-icmp""#))),
        rule(
            5,
            &format!(
                r#"[{}, {{"accept": null}}]"#,
                set(
                    r#"{"payload": {"protocol": "icmpv6", "field": "type"}}"#,
                    "==",
                    r#""echo-request", "nd-neighbor-solicit""#
                )
            ),
        ),
        rule(
            7,
            &format!(
                r#"[{}, {{"match": {{"op": "==", "left": {{"meta": {{"key": "iifname"}}}}, "right": "a"}}}}, {{"drop": null}}]"#,
                set(
                    r#"{"payload": {"protocol": "icmp", "field": "type"}}"#,
                    "==",
                    r#""destination-unreachable", "echo-request""#
                )
            ),
        ),
        rule(
            9,
            &format!(
                r#"[{}, {{"accept": null}}]"#,
                set(
                    r#"{"payload": {"protocol": "ip", "field": "protocol"}}"#,
                    "==",
                    r#""tcp", "udp""#
                )
            ),
        ),
        rule(11, &format!(r#"[{}, {{"drop": null}}]"#, set(l4, "!=", r#""tcp", "udp""#))),
        rule(
            12,
            r#"[{"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}}, {"accept": null}]"#,
        ),
    ];
    let json = format!(
        r#"{{"nftables": [{{"table": {{"family": "inet", "name": "t", "handle": 1}}}}, {{"chain": {{"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}}}, {}]}}"#,
        rules.join(", ")
    );
    let rs = nft::parse(&json, FileId(0));
    assert!(rs.diagnostics.is_empty(), "{:?}", rs.diagnostics);
    let base = rs.at(Hook::Input).next().unwrap();
    let lines = |family| -> Vec<String> {
        base.ruleset.chains[0]
            .rules
            .iter()
            .map(|r| format_rule(&base.ruleset, r, family))
            .filter(|l| !l.is_empty())
            .collect()
    };
    let v4 = lines(Family::V4);
    let v6 = lines(Family::V6);
    assert!(v4.contains(&"-p icmp -j ACCEPT".to_owned()), "{v4:#?}");
    assert!(v6.contains(&"-p ipv6-icmp -j ACCEPT".to_owned()), "{v6:#?}");
    assert!(v6.iter().any(|l| l.contains("--icmpv6-type 128")), "{v6:#?}");
    assert!(v6.iter().any(|l| l.contains("--icmpv6-type 135")), "{v6:#?}");
    assert!(v4.iter().any(|l| l.contains("--icmp-type 3 -i a -j DROP")), "{v4:#?}");
    assert!(v4.iter().any(|l| l.contains("--icmp-type 8 -i a -j DROP")), "{v4:#?}");
    assert!(v4.iter().any(|l| l.ends_with("-p tcp -j ACCEPT")), "{v4:#?}");
    assert!(v4.iter().any(|l| l.ends_with("-p udp -j ACCEPT")), "{v4:#?}");
    assert!(v4.iter().any(|l| l.contains("! -p tcp ! -p udp -j DROP")), "{v4:#?}");
    let rules = &base.ruleset.chains[0].rules;
    let unknown = |r: &rampart_ir::Rule| r.matches.iter().any(|m| matches!(m, Match::Unknown(_)));
    // Only `ct status dnat` is undecided.
    assert_eq!(rules.iter().filter(|r| unknown(r)).count(), 1, "{rules:#?}");
    assert!(unknown(rules.last().unwrap()));
}
