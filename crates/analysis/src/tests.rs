use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, Hook, Match, Origin, Policy, PortMatch, PortSet, Proto,
    RejectWith, Rule, Ruleset, Target,
};

use crate::{Anomaly, Kind, anomalies};

fn net(s: &str) -> AddrMatch {
    AddrMatch { neg: false, set: AddrSet::one(AddrItem::Net(s.parse().unwrap())).into() }
}

fn tcp(port: u16) -> Vec<Match> {
    vec![
        Match::Proto { neg: false, proto: Proto::Tcp },
        Match::Dport(PortMatch {
            neg: false,
            set: PortSet { name: None, ranges: vec![(port, port)] }.into(),
        }),
    ]
}

/// `number: from SRC to DST tcp PORT -> target` (any column `None`).
fn rule(n: u32, src: Option<&str>, dst: Option<&str>, port: Option<u16>, t: Target) -> Rule {
    let mut matches = Vec::new();
    matches.extend(src.map(|s| Match::Src(net(s))));
    matches.extend(dst.map(|s| Match::Dst(net(s))));
    matches.extend(port.map(tcp).unwrap_or_default());
    Rule {
        matches,
        log: None,
        target: t,
        comment: None,
        origin: Some(Origin { rule: n, span: None }),
        counters: None,
    }
}

fn input(rules: Vec<Rule>) -> Ruleset {
    let mut c = Chain::builtin(Hook::Input, Policy::Drop);
    c.rules = rules;
    Ruleset { chains: vec![c] }
}

fn found(rs: &Ruleset) -> Vec<(Kind, usize, Vec<usize>)> {
    anomalies(rs)
        .into_iter()
        .map(|Anomaly { kind, rule, others, .. }| (kind, rule, others))
        .collect()
}

const A: Target = Target::Accept;
const D: Target = Target::Drop;

#[test]
fn shadowed_by_one_earlier_rule_with_another_verdict() {
    let rs = input(vec![
        rule(1, Some("10.1.0.0/24"), None, Some(22), D),
        rule(2, Some("10.1.0.5/32"), None, Some(22), A),
    ]);
    assert_eq!(found(&rs), [(Kind::Shadowed, 1, vec![0])]);
}

#[test]
fn union_cover_two_halves_shadow_the_whole() {
    let rs = input(vec![
        rule(1, Some("10.1.0.0/25"), None, Some(22), D),
        rule(2, Some("10.1.0.128/25"), None, Some(22), A),
        rule(3, Some("10.1.0.0/24"), None, Some(22), Target::Reject(RejectWith::TcpReset)),
    ]);
    assert_eq!(found(&rs), [(Kind::Shadowed, 2, vec![0, 1])]);
    // One half alone does not cover it: the whole generalizes the half.
    let rs = input(vec![
        rule(1, Some("10.1.0.0/25"), None, Some(22), D),
        rule(3, Some("10.1.0.0/24"), None, Some(22), A),
    ]);
    assert_eq!(found(&rs), [(Kind::Generalization, 0, vec![1])]);
}

#[test]
fn redundant_both_ways() {
    // Covered by an earlier rule with the same verdict.
    let rs = input(vec![
        rule(1, Some("10.1.0.0/24"), None, None, A),
        rule(2, Some("10.1.0.9/32"), None, Some(80), A),
    ]);
    assert_eq!(found(&rs), [(Kind::Redundant, 1, vec![0])]);
    // An earlier rule a later one with the same verdict covers, nothing
    // deciding its packets otherwise between them.
    let rs = input(vec![
        rule(1, Some("10.1.0.9/32"), None, Some(80), A),
        rule(2, Some("10.2.0.0/24"), None, None, D),
        rule(3, Some("10.1.0.0/24"), None, None, A),
    ]);
    assert_eq!(found(&rs), [(Kind::Redundant, 0, vec![2])]);
    // Not when a rule between decides part of its packets otherwise.
    let rs = input(vec![
        rule(1, Some("10.1.0.9/32"), None, Some(80), A),
        rule(2, None, None, Some(80), D),
        rule(3, Some("10.1.0.0/24"), None, None, A),
    ]);
    assert!(!found(&rs).iter().any(|f| f.0 == Kind::Redundant), "{:?}", found(&rs));
}

#[test]
fn correlation_is_a_partial_overlap_with_another_verdict() {
    let rs =
        input(vec![rule(1, Some("10.1.0.0/24"), None, None, A), rule(2, None, None, Some(22), D)]);
    assert_eq!(found(&rs), [(Kind::Correlation, 1, vec![0])]);
}

#[test]
fn unmodelled_matches_never_cover_but_can_be_covered() {
    let mut limited = rule(1, Some("10.1.0.0/24"), None, None, D);
    limited.matches.push(Match::unknown("limit".into(), vec!["5/s".into()]));
    let plain = rule(2, Some("10.1.0.7/32"), None, None, A);
    // The limit may let packets through: rule 2 is not shadowed.
    let f = found(&input(vec![limited.clone(), plain]));
    assert!(!f.iter().any(|x| x.0 == Kind::Shadowed), "{f:?}");
    // Behind a plain rule, the limited one is.
    let mut narrow = limited;
    narrow.matches[0] = Match::Src(net("10.1.0.7/32"));
    let f = found(&input(vec![rule(1, Some("10.1.0.0/24"), None, None, D), narrow]));
    assert_eq!(f, [(Kind::Redundant, 1, vec![0])]);
}

#[test]
fn families_are_analysed_apart_and_disjoint_rules_are_silent() {
    let rs = input(vec![
        rule(1, Some("10.1.0.0/24"), None, None, D),
        rule(2, Some("2001:db8::/64"), None, None, A),
        rule(3, Some("10.2.0.0/24"), None, None, A),
    ]);
    assert_eq!(found(&rs), []);
}

#[test]
fn the_index_finds_overlaps_among_many_rules() {
    // Hosts of 10.0/16, each with its own port; a /16 deny at the end
    // generalizes them (only PER_RULE are kept); a host with another
    // port after it is shadowed by the deny, one with its own port again
    // is redundant behind its first rule.
    let mut rules: Vec<Rule> = (0..300u32)
        .map(|i| {
            let a = format!("10.0.{}.{}/32", i / 200, i % 200);
            rule(i + 1, Some(&a), Some("192.0.2.0/24"), Some(1000 + i as u16), A)
        })
        .collect();
    rules.push(rule(301, Some("10.0.0.0/16"), None, None, D));
    rules.push(rule(302, Some("10.0.1.7/32"), Some("192.0.2.1/32"), Some(1999), A));
    rules.push(rule(303, Some("10.0.1.7/32"), Some("192.0.2.1/32"), Some(1207), A));
    let f = found(&input(rules));
    assert_eq!(f.iter().filter(|x| x.0 == Kind::Generalization).count(), 8);
    assert_eq!(f.len(), 10, "{f:?}");
    assert!(f.contains(&(Kind::Shadowed, 301, vec![300])), "{f:?}");
    assert!(f.contains(&(Kind::Redundant, 302, vec![207])), "{f:?}");
}

/// Ports 22 and 80 and port 50: the boxes around them overlap, the rules
/// do not. The comparisons by box are only taken where the box is the
/// rule's space; a rule within the box of another is not within it.
#[test]
fn rules_between_the_parts_of_a_set_do_not_overlap() {
    let mut two = rule(1, Some("10.1.0.0/24"), None, None, A);
    two.matches.push(Match::Proto { neg: false, proto: Proto::Tcp });
    two.matches.push(Match::Dport(PortMatch {
        neg: false,
        set: PortSet { name: None, ranges: vec![(22, 22), (80, 80)] }.into(),
    }));
    let rs = input(vec![two.clone(), rule(2, Some("10.1.0.0/24"), None, Some(50), D)]);
    assert_eq!(found(&rs), []);
    let rs = input(vec![rule(2, Some("10.1.0.0/24"), None, Some(50), D), two]);
    assert_eq!(found(&rs), []);
}

#[test]
fn a_jump_between_keeps_an_earlier_rule_from_being_redundant() {
    let jump = Target::Jump(rampart_ir::ChainId(1));
    let rs = input(vec![
        rule(1, Some("10.1.0.9/32"), None, Some(80), A),
        rule(2, Some("10.1.0.0/16"), None, None, jump),
        rule(3, Some("10.1.0.0/24"), None, None, A),
    ]);
    assert!(!found(&rs).iter().any(|f| f.0 == Kind::Redundant), "{:?}", found(&rs));
    // Without the jump it is.
    let rs = input(vec![
        rule(1, Some("10.1.0.9/32"), None, Some(80), A),
        rule(3, Some("10.1.0.0/24"), None, None, A),
    ]);
    assert_eq!(found(&rs), [(Kind::Redundant, 0, vec![1])]);
}

/// `check`'s W0301 and W0320 (code and message) on the first firewall of
/// `text`: the rules it calls useless.
fn warnings(text: &str) -> Vec<String> {
    let mut sources = rampart_diag::Sources::new();
    let loaded = rampart_model::load_str("t.rp", text, &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let c = rampart_lower::compile(&loaded.model.unwrap().firewalls[0]);
    crate::check(&c.rich)
        .iter()
        .filter(|d| matches!(d.code, "W0301" | "W0320"))
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

#[test]
fn a_rule_is_redundant_only_where_every_chain_it_is_in_says_so() {
    let fw = |rules: &str| {
        format!(
            "firewall fw {{\n interface eth0 10.0.0.1/24\n interface eth1 10.1.0.1/24\n \
             forward on\n ruleset main {{\n{rules} }}\n}}\nservice ssh tcp 22\n"
        )
    };
    // Rule 2 is redundant in INPUT (rule 1 accepts the firewall's ssh), but
    // in FORWARD it alone lets 10.0.0.5 reach ssh on other hosts.
    let w = warnings(&fw("  accept to self service ssh\n  accept from 10.0.0.5 service ssh\n"));
    assert!(w.is_empty(), "{w:?}");
    // Where every chain agrees, the warning names the rule that covers it.
    let w = warnings(&fw("  accept service ssh\n  accept from 10.0.0.5 service ssh\n"));
    assert_eq!(w, ["W0320 rule 2 is redundant"]);
}
