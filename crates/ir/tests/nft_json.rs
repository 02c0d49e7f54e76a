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
    assert!(matches!(&limit.matches[0], Match::Unknown { .. }), "{limit:?}");
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
