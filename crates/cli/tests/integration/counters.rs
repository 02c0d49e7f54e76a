//! `rampart status --counters` and `rampart metrics`: known traffic sent
//! through a firewall in a namespace, and the counts per policy rule equal
//! what was sent, on both backends.

use std::path::Path;

use rampart_lab::{Netns, Tool, connects_as, require_tools, veth};

use crate::deploy::{rampart, tools};
use crate::util::{tempdir, text};
use rampart_testing::TempDir;

const POLICY: &str = "host client 10.77.0.2\nservice ssh tcp 22\nservice web tcp 80\n\
    service ping icmp echo-request\nservice imap tcp 143\nfirewall fw {\n  interface eth0 10.77.0.1/24\n  \
    ruleset main {\n    accept from client service ssh comment \"ssh in\"\n    \
    reject with tcp-reset from client service web comment \"no web\"\n    \
    deny from client service ping comment \"no ping\"\n    \
    accept from client service imap comment \"never used\"\n  }\n}\n";

/// Send the known traffic: 4 connections to ssh (closed port: one SYN
/// each, answered by a reset), 3 to web (reset by the firewall), 5 pings
/// (dropped).
fn traffic(client: &Netns) {
    for port in [22, 22, 22, 22, 80, 80, 80] {
        assert!(!connects_as(client, 0, "10.77.0.1", port), "nothing listens on {port}");
    }
    let out = client.run(["ping", "-c", "5", "-i", "0.2", "-W", "1", "10.77.0.1"]);
    assert!(out.is_err(), "pings are dropped");
}

/// The firewall and client namespaces, `text_` applied on the firewall
/// with `backend`, and the directory of its policy `fw.rp` and state
/// `state`.
fn applied(backend: &str, name: &str, text_: &str) -> (Netns, Netns, TempDir) {
    tools();
    require_tools(&[Tool::NFT, Tool { name: "ping", package: "iputils-ping" }]).unwrap();
    let (fw, client) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&fw, "eth0", &client, "eth0").unwrap();
    fw.addr("eth0", "10.77.0.1/24").unwrap();
    client.addr("eth0", "10.77.0.2/24").unwrap();
    let dir = tempdir(&format!("{name}-{backend}"));
    let policy = dir.join("fw.rp");
    std::fs::write(&policy, text_).unwrap();
    let state = dir.join("state");
    let out = rampart(&fw, &state, &["apply", policy.to_str().unwrap(), "--backend", backend], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (fw, client, dir)
}

/// `rampart status --counters --json`, which must succeed.
fn status_counters(fw: &Netns, state: &Path) -> serde_json::Value {
    let out = rampart(fw, state, &["status", "--counters", "--json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

/// Policy rule `n` of a `status --counters --json` answer, which must list it.
fn rule(v: &serde_json::Value, n: u64) -> &serde_json::Value {
    let rules = v["rules"].as_array().unwrap();
    rules.iter().find(|r| r["rule"] == n).unwrap_or_else(|| panic!("R{n}: {v:#}"))
}

fn counted(backend: &str) {
    let (fw, client, dir) = applied(backend, "counters", POLICY);
    let (state, policy) = (dir.join("state"), dir.join("fw.rp"));
    traffic(&client);

    let v = status_counters(&fw, &state);
    let of = |n: u64| rule(&v, n);
    for (n, packets, line) in [(1, 4, 9), (2, 3, 10), (3, 5, 11), (4, 0, 12)] {
        assert_eq!(of(n)["packets"], packets, "R{n} ({backend}): {v:#}");
        assert_eq!(of(n)["at"], format!("{}:{line}", policy.display()), "{v:#}");
        assert_eq!(of(n)["ruleset"], "main");
    }
    assert_eq!(of(2)["comment"], "no web");
    assert_eq!(v["never_hit"], serde_json::json!([4]), "{v:#}");
    // Busiest first.
    let order: Vec<u64> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["rule"].as_u64())
        .filter(|n| *n > 0)
        .collect();
    assert_eq!(order, [3, 1, 2, 4], "{v:#}");

    let out = rampart(&fw, &state, &["status", "--counters"], &[]);
    let t = text(&out.stdout);
    assert!(t.contains("never hit since load: R4 ("), "{t}");
    assert!(
        t.lines().any(|l| l.starts_with("R3 ") && l.contains(" 5 ") && l.ends_with("no ping")),
        "{t}"
    );

    // The exposition, read by a Prometheus text-format parser: every
    // sample line parses, and the counts are the kernel's.
    let log = dir.join("firewall.log");
    std::fs::write(
        &log,
        "2026-12-03T10:00:00Z gw kernel: RULE 3 -- DENY IN=eth0\n\
         2026-12-03T10:00:01Z gw rampart-logs: lost 7 kernel records (ring overrun), 7 so far\n\
         {\"time\":\"2026-12-03T10:00:02Z\",\"lost\":2,\"lost_total\":9}\n",
    )
    .unwrap();
    let prom = dir.join("rampart.prom");
    let out = rampart(
        &fw,
        &state,
        &["metrics", "-o", prom.to_str().unwrap(), "--log", log.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    metrics(&prom, backend);
}

fn metrics(prom: &Path, backend: &str) {
    let body = std::fs::read_to_string(prom).unwrap();
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let samples = body.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
    assert_eq!(scrape.samples.len(), samples, "every line parses: {body}");
    let value = |metric: &str, rule: Option<&str>| {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && rule.is_none_or(|r| s.labels.get("rule") == Some(r)))
            .unwrap_or_else(|| panic!("{metric} {rule:?} missing ({backend}): {body}"));
        match s.value {
            prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("{metric} is not a counter: {other:?}"),
        }
    };
    assert_eq!(value("rampart_rule_packets_total", Some("3")), 5.0, "{body}");
    assert_eq!(value("rampart_rule_packets_total", Some("1")), 4.0, "{body}");
    assert!(value("rampart_rule_bytes_total", Some("3")) >= 5.0 * 84.0, "{body}");
    assert_eq!(value("rampart_log_records_lost_total", None), 9.0, "{body}");
    let r2 = scrape.samples.iter().find(|s| s.labels.get("rule") == Some("2")).unwrap();
    assert_eq!(
        (r2.labels.get("ruleset"), r2.labels.get("comment")),
        (Some("main"), Some("no web"))
    );
}

#[test]
fn counters_per_policy_rule_equal_the_packets_sent_with_iptables() {
    counted("iptables");
}

#[test]
fn counters_per_policy_rule_equal_the_packets_sent_with_nft() {
    counted("nft");
}

/// In the classifier form, a rule shadowed by an earlier one is left out
/// and rules that decide inside a verdict map share its counter: every
/// policy rule is still listed, with 0 and why.
#[test]
fn every_policy_rule_is_listed_with_nft() {
    // R1 and R4 decide inside the port map; R5 repeats R1, so no packet
    // reaches it; R6-R45 make the chain long enough to be cut.
    let ports: String = (0..40).map(|i| format!("service p{i} tcp {}\n", 1000 + i)).collect();
    let rules: String =
        (0..40).map(|i| format!("    accept from client service p{i} log\n")).collect();
    let policy = POLICY.replace("firewall fw", &format!("{ports}firewall fw")).replace(
        "  }\n}\n",
        &format!("    accept from client service ssh comment \"again\"\n{rules}  }}\n}}\n"),
    );
    let (fw, client, dir) = applied("nft", "listed", &policy);
    let (state, path) = (dir.join("state"), dir.join("fw.rp"));
    traffic(&client);
    let v = status_counters(&fw, &state);
    let of = |n: u64| rule(&v, n);
    for n in 1..=45 {
        of(n);
    }
    let not_loaded = "not in the ruleset: no packet can reach it";
    assert_eq!(of(5)["packets"], 0, "{v:#}");
    assert_eq!(of(5)["uncounted"], not_loaded, "{v:#}");
    assert_eq!(of(5)["at"], format!("{}:{}", path.display(), 53), "{v:#}");
    for n in [1, 4] {
        let merged = of(n)["uncounted"].as_str().unwrap_or_default();
        assert!(merged.starts_with("decides inside a merged nft lookup"), "R{n}: {v:#}");
    }
    for (n, packets) in [(2, 3), (3, 5)] {
        assert_eq!(of(n)["packets"], packets, "R{n}: {v:#}");
        assert_eq!(of(n)["uncounted"], serde_json::Value::Null, "R{n}: {v:#}");
    }
    let never = v["never_hit"].as_array().unwrap();
    assert!(!never.iter().any(|n| [1, 4, 5].contains(&n.as_u64().unwrap())), "{v:#}");

    let out = rampart(&fw, &state, &["status", "--counters"], &[]);
    let t = text(&out.stdout);
    assert!(t.contains(&format!("{not_loaded}: R5 (")), "{t}");
    let out = rampart(&fw, &state, &["metrics", "--log", "none"], &[]);
    let body = text(&out.stdout);
    let r5 = body
        .lines()
        .find(|l| l.starts_with("rampart_rule_packets_total{") && l.contains("rule=\"5\""));
    assert!(r5.is_some_and(|l| l.ends_with(" 0") && l.contains(not_loaded)), "{body}");
}
