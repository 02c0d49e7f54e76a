use rampart_diag::Sources;
use rampart_trace::{Hook, Packet, Verdict, tcp, trace};

use crate::expect::{ExpectOutcome, Result, expectations};

/// The outcomes of the policy's `expect` lines; panics on other errors.
fn outcomes(text: &str) -> Vec<ExpectOutcome> {
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("t.rp", text, &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    let c = rampart_lower::compile(fw);
    expectations(fw, &c.v4, &c.v6)
}

fn codes(text: &str) -> Vec<&'static str> {
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("t.rp", text, &mut sources);
    loaded.diagnostics.iter().map(|d| d.code).collect()
}

const GW: &str = "network lan 10.1.0.0/24
host web 10.2.0.10
service ssh tcp 22
service alt tcp 8000-9000
service proxy tcp 8080
firewall gw {
  interface eth0 dynamic
  interface eth1 10.1.0.1/24
  interface eth2 10.2.0.1/24
  forward on
  ruleset main {
    deny from 10.1.0.77 to web service ssh
    deny to web service proxy
    accept from lan to web service ssh, alt
    accept from lan to self service ssh
  }
";

fn with(lines: &str) -> String {
    format!("{GW}{lines}\n}}\n")
}

fn fails(o: &ExpectOutcome) -> (&str, Option<u32>, usize) {
    match &o.result {
        Result::Fails { packet, rule, count, .. } => (packet.as_str(), *rule, *count),
        r => panic!("not a failure: {r:?}"),
    }
}

#[test]
fn an_expectation_that_holds() {
    let o = outcomes(&with(
        "  expect accept from 10.1.0.5 to web service ssh
  expect deny from not lan to self service ssh on eth0
  expect deny from any to self service ssh on eth0",
    ));
    assert!(o[0].holds(), "{o:?}");
    assert!(o[1].holds(), "{o:?}");
    assert!(o[1].packets > 1);
    // Without antispoof, the LAN's addresses are accepted on eth0 too.
    let (packet, rule, _) = fails(&o[2]);
    assert!(packet.contains("from 10.1.0.") && packet.contains("in on eth0"), "{packet}");
    assert_eq!(rule, Some(4));
}

/// One address inside the network and one port inside the range are
/// decided otherwise: the pieces of the rules find exactly them.
#[test]
fn every_hole_in_a_column_is_found() {
    let o = outcomes(&with(
        "  expect accept from lan to web service ssh\n  expect accept from lan to web service alt",
    ));
    let (packet, rule, count) = fails(&o[0]);
    assert!(packet.contains("from 10.1.0.77 ") && packet.contains("port 22"), "{packet}");
    assert_eq!((rule, count), (Some(1), 1));
    let (packet, rule, _) = fails(&o[1]);
    assert!(packet.contains("port 8080"), "{packet}");
    assert_eq!(rule, Some(2));
}

#[test]
fn deny_holds_for_drop_and_reject_and_negation_is_the_rest() {
    let o = outcomes(&with(
        "  expect deny from not lan to web service ssh\n  expect reject from not lan to web service ssh",
    ));
    assert!(o[0].holds(), "{o:?}");
    // The catch-all of `default deny` drops: not a reject.
    let (_, rule, _) = fails(&o[1]);
    assert_eq!(rule, Some(0));
}

#[test]
fn the_firewalls_own_packets_per_user() {
    let text = "user backup uid 34
host store 192.0.2.9
service rsync tcp 873
firewall gw {
  interface eth0 192.0.2.1/24
  ruleset main {
    accept out from self to store service rsync user backup
  }
  expect deny from self to store service rsync
  expect accept from self to store service rsync
}
";
    let o = outcomes(text);
    let (packet, rule, _) = fails(&o[0]);
    assert!(packet.contains("uid 34"), "{packet}");
    assert_eq!(rule, Some(1));
    let (packet, _, _) = fails(&o[1]);
    assert!(!packet.contains("uid 34"), "{packet}");
}

#[test]
fn a_time_window_leaves_the_verdict_undecided() {
    let text = "host a 192.0.2.9
firewall gw {
  interface eth0 192.0.2.1/24
  ruleset main {
    accept from a to self time 08:00-18:00
  }
  expect deny from a to self
}
";
    let o = outcomes(text);
    assert!(matches!(o[0].result, Result::Undecided { rule: Some(1), .. }), "{o:?}");
    assert_eq!(o[0].diagnostic().unwrap().code, "E0602");
}

#[test]
fn an_expectation_without_packets_is_an_error() {
    let o = outcomes(&with("  expect deny from 10.1.0.5 to 10.1.0.9"));
    assert!(matches!(o[0].result, Result::NoPacket), "{o:?}");
    assert_eq!(o[0].diagnostic().unwrap().code, "E0604");
}

#[test]
fn only_verdicts_and_the_packet_clauses() {
    assert_eq!(codes(&with("  expect branch main")), ["E0600"]);
    assert_eq!(codes(&with("  expect deny from lan log")), ["E0222"]);
    assert_eq!(codes(&with("  expect deny from lan in")), ["E0222"]);
    assert_eq!(codes(&with("  expect accept from lan limit 3/minute")), ["E0222"]);
    assert_eq!(codes(&with("  expect deny from nowhere")), ["E0201"]);
}

/// A group holding the firewall: its addresses stand for the firewall,
/// whose packets leave from OUTPUT. A packet crossing the firewall from
/// one of them is spoofed: no accept takes it in FORWARD, on either
/// backend, and the expectation does not describe it.
#[test]
fn the_firewalls_addresses_in_a_group_are_its_own_packets() {
    let text = "host a 10.1.0.5
host b 10.2.0.7
service web tcp 80
group mine { gw, b }
firewall gw {
  interface eth0 10.0.0.1/24
  interface eth1 10.1.0.1/24
  interface eth2 10.2.0.1/24
  forward on
  ruleset main {
    accept from mine to a service web
  }
  expect accept from mine to a service web
}
";
    let o = outcomes(text);
    assert!(o[0].holds(), "{o:?}");
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("t.rp", text, &mut sources);
    let c = rampart_lower::compile(&loaded.model.unwrap().firewalls[0]);
    let packet = |hook: Hook, src: &str, i: Option<&str>| {
        let mut p = Packet::new(hook);
        p.src = Some(src.parse().unwrap());
        p.dst = Some("10.1.0.5".parse().unwrap());
        p.in_iface = i.map(str::to_owned);
        p.out_iface = Some("eth1".to_owned());
        (p.proto, p.sport, p.dport, p.tcp_flags) = (Some(6), Some(40000), Some(80), Some(tcp::SYN));
        p
    };
    for rs in [&*c.v4, &c.rich] {
        for own in ["10.0.0.1", "10.1.0.1"] {
            let crossing = packet(Hook::Forward, own, Some("eth0"));
            assert_eq!(trace(rs, &crossing).verdict, Verdict::Drop, "{own}");
            assert_eq!(trace(rs, &packet(Hook::Output, own, None)).verdict, Verdict::Accept);
        }
        let from_b = packet(Hook::Forward, "10.2.0.7", Some("eth2"));
        assert_eq!(trace(rs, &from_b).verdict, Verdict::Accept);
    }
}
