//! Property: any policy that checks clean compiles to a ruleset that the
//! kernel accepts — loaded for real with `iptables-restore` into a namespace,
//! since `--test` only parses and misses what the kernel refuses (such as a
//! TCP reset in a rule that does not match TCP) — and compiling twice gives
//! the same bytes. Policies are generated as text, so the parser is
//! exercised too. Bounded: 60 cases, one load each.

use proptest::prelude::*;
use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_lab::{Netns, Tool, require_tools};

const HOSTS: [&str; 5] = ["10.0.0.1", "172.16.0.5", "2001:db8::1", "10.2.3.4", "192.168.7.7"];
const ADDRS: [&str; 6] =
    ["10.0.0.1", "10.1.0.0/16", "192.168.7.0/24", "10.9.0.1-10.9.0.9", "172.16.0.5", "2001:db8::1"];
const SERVICES: [&str; 5] = ["ssh", "web", "dns", "ping", "gre"];
const ACTIONS: [&str; 7] =
    ["accept", "deny", "reject", "reject with tcp-reset", "continue", "return", "branch sub"];

fn rule() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&ACTIONS[..]),
        prop::option::of((
            any::<bool>(),
            prop::sample::subsequence(&["h1", "n1", "g1", "r1", "self"][..], 1..3),
        )),
        prop::option::of((
            any::<bool>(),
            prop::sample::subsequence(&["h2", "g1", "self"][..], 1..2),
        )),
        prop::option::of((any::<bool>(), prop::sample::subsequence(&SERVICES[..], 1..3))),
        prop::option::of((any::<bool>(), prop::sample::select(&["eth0", "eth1", "lo"][..]))),
        prop::sample::select(&["", " in", " out"][..]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(action, from, to, svc, on, dir, log, stateless)| {
            let col = |kw: &str, c: Option<(bool, Vec<&str>)>| match c {
                Some((neg, items)) => {
                    format!(" {kw} {}{}", if neg { "not " } else { "" }, items.join(", "))
                }
                None => String::new(),
            };
            format!(
                "{action}{}{}{}{}{dir}{}{}",
                col("from", from),
                col("to", to),
                col("service", svc),
                col("on", on.map(|(n, i)| (n, vec![i]))),
                if log { " log" } else { "" },
                if stateless { " stateless" } else { "" },
            )
        })
}

fn policy() -> impl Strategy<Value = String> {
    (
        prop::sample::subsequence(&HOSTS[..], 2..3),
        prop::sample::select(&ADDRS[..]),
        prop::collection::vec(rule(), 1..8),
        prop::collection::vec(rule().prop_filter("no self-branch", |r| !r.starts_with("branch")), 0..3),
        any::<bool>(),
    )
        .prop_map(|(addrs, literal, main, sub, forward)| {
            let mut p = String::new();
            p.push_str(&format!("host h1 {}\nhost h2 {}\n", addrs[0], addrs[1]));
            p.push_str("network n1 10.1.0.0/16\nrange r1 10.9.0.1 - 10.9.0.9\n");
            p.push_str(&format!("group g1 {{ h1, n1, {literal} }}\n"));
            p.push_str("service ssh tcp 22\nservice web tcp 80, 443, 8000-8100\nservice dns tcp 53, udp 53\n");
            p.push_str("service ping icmp echo-request, icmpv6 echo-request\nservice gre proto 47\n");
            p.push_str("firewall fw {\n  interface eth0 10.0.0.254/24\n  interface eth1 dynamic\n  interface lo loopback\n");
            if forward {
                p.push_str("  forward on\n");
            }
            p.push_str("  ruleset main {\n");
            for r in &main {
                p.push_str(&format!("    {r}\n"));
            }
            p.push_str("  }\n  ruleset sub {\n");
            for r in &sub {
                p.push_str(&format!("    {r}\n"));
            }
            p.push_str("  }\n}\n");
            p
        })
}

fn restore_test(ns: &Netns, cmd: &str, doc: &str) -> Result<(), String> {
    ns.run_with_input(&[cmd, "-w"], doc).map(drop).map_err(|e| format!("{e}\n{doc}"))
}

#[test]
fn clean_policies_load_into_the_kernel() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool { name: "ip6tables-restore", package: "iptables" },
    ])
    .unwrap();
    let ns = Netns::new().unwrap();
    let checked = std::cell::Cell::new(0);
    // policies whose chains the iptables pass split for a `return` unless listed
    let split = std::cell::Cell::new(0);
    let config =
        ProptestConfig { cases: 60, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(text in policy())| {
        let mut sources = Sources::new();
        let loaded = rampart_model::load_str("gen.rp", &text, &mut sources);
        if let Some(model) = loaded.model {
            let fw = model.firewall("fw").unwrap();
            let c = rampart_lower::compile(fw);
            let v4 = rampart_emit::iptables_restore(&c.v4, Family::V4, "gen", None);
            prop_assert_eq!(&v4, &rampart_emit::iptables_restore(&rampart_lower::compile(fw).v4, Family::V4, "gen", None));
            prop_assert!(restore_test(&ns, "iptables-restore", &v4).is_ok(), "{}", restore_test(&ns, "iptables-restore", &v4).unwrap_err());
            let doc = rampart_emit::iptables_restore(&c.v6, Family::V6, "gen", None);
            prop_assert!(restore_test(&ns, "ip6tables-restore", &doc).is_ok(), "{}", restore_test(&ns, "ip6tables-restore", &doc).unwrap_err());
            checked.set(checked.get() + 1);
            split.set(split.get() + usize::from(v4.contains("_rest\n") || doc.contains("_rest\n")));
        }
    });
    // Most generated policies are valid; a generator that only made
    // invalid ones would prove nothing.
    let checked = checked.get();
    assert!(checked >= 30, "only {checked} of 60 generated policies checked clean");
    let split = split.get();
    assert!(split >= 3, "only {split} generated policies return unless listed");
}
