//! `rampart report`: every shipped example rendered, then loaded in
//! headless Chromium; assertions on the DOM the browser built, and a
//! screenshot of each kept under the target directory.

use std::path::Path;
use std::process::Command;

use rampart_lab::{Tool, require_tools};

use crate::util::{rampart, root, tempdir, text};

const CHROMIUM: Tool = Tool { name: "chromium", package: "chromium" };

/// Chromium's run on `page`: its DOM, and its own messages.
fn chromium(page: &Path, extra: &[&str]) -> (String, String) {
    require_tools(&[CHROMIUM]).expect("chromium");
    let url = format!("file://{}", page.display());
    let out = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .args(extra)
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

/// The number of rules `check` counts in a one-firewall policy.
fn rule_count(policy: &str) -> usize {
    let out = rampart(&["check", policy]);
    let err = text(&out.stderr);
    let n = err.split(" rule(s)").next().and_then(|s| s.rsplit(' ').next()).expect("rule count");
    n.parse().unwrap_or_else(|_| panic!("no rule count in {err}"))
}

#[test]
fn every_example_renders_in_a_browser_with_every_rule_and_the_matrix() {
    let dir = tempdir("report");
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for ex in ["spice-client", "office-gateway", "kvm-bridges"] {
        let policy = format!("examples/{ex}.rp");
        let page = dir.join(format!("{ex}.html"));
        let out = rampart(&["report", &policy, "-o", page.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let html = std::fs::read_to_string(&page).unwrap();
        // Self-contained: nothing fetched from elsewhere.
        for outside in ["http://", "https://", "<script src", "<link"] {
            assert!(!html.contains(outside), "{ex}: {outside} in the page");
        }
        let (dom, log) = chromium(&page, &["--dump-dom"]);
        assert!(!log.contains("Uncaught") && !log.contains(":CONSOLE("), "{ex}: {log}");
        assert!(dom.contains("<title>firewall "), "{ex}: {dom}");
        let rules = rule_count(&policy);
        assert_eq!(dom.matches("<tr id=\"r").count(), rules, "{ex}: one row per rule");
        // the client's refused consoles keep their old number, 16
        let numbers: Vec<usize> = match ex {
            "spice-client" => (1..=6).chain(16..=18).collect(),
            _ => (1..=rules).collect(),
        };
        assert_eq!(numbers.len(), rules, "{ex}");
        for n in numbers {
            assert!(dom.contains(&format!("<tr id=\"r{n}\"")), "{ex}: no row for rule {n}");
        }
        assert!(dom.contains("<table class=\"matrix\">"), "{ex}");
        let shot = shots.join(format!("{ex}.png"));
        chromium(&page, &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2000"]);
        assert!(
            std::fs::metadata(&shot).map(|m| m.len() > 10_000).unwrap_or(false),
            "{ex}: no screenshot"
        );
        // The topology drawing: every interface, bridge and port.
        let svg = dom.split("<svg id=\"topology\"").nth(1).and_then(|s| s.split("</svg>").next());
        let svg = svg.unwrap_or_else(|| panic!("{ex}: no topology drawing"));
        if ex == "kvm-bridges" {
            for port in ["vk63", "vk64", "vk65", "vethb2", "vk42", "vethb1", "vmh1"] {
                assert!(
                    dom.contains(&format!("<td class=\"mono\">{port}</td>")),
                    "no port {port}: {dom}"
                );
                assert!(svg.contains(&format!(">{port}</text>")), "no port {port} drawn: {svg}");
            }
            for name in ["virbr6", "virbr4", "vmh2", "uplink", "beyond: 192.168.0.37"] {
                assert!(svg.contains(name), "{name} not drawn: {svg}");
            }
            // The bridged matrix: a grid per bridge, its ports as rows and columns.
            for b in ["virbr6", "virbr4"] {
                assert!(dom.contains(&format!("<h3>IPv4, bridged by {b}</h3>")), "{b}: {dom}");
            }
            assert!(dom.contains("<th>vk63 192.168.50.13</th>"), "{dom}");
        }
        if ex == "office-gateway" {
            // The matrix cell eth0 -> eth2 and the rule 8 row as the browser sees them.
            assert!(dom.contains("<th>eth2 10.2.0.0/24</th>"), "{dom}");
            assert!(dom.contains("title=\"tcp 25: "), "{dom}");
            assert!(dom.contains(">smtp (tcp 25)*</span>"), "{dom}");
            assert!(dom.contains("<span class=\"not\">not</span>internal"), "{dom}");
            assert!(dom.contains("out to the Internet"), "{dom}");
            assert!(dom.contains("W0340"), "{dom}");
            assert!(dom.contains("expect accept from admin-pc to self service ssh"), "{dom}");
        }
    }
}

#[test]
fn the_lab_counters_and_logs_sections_when_their_files_are_given() {
    let dir = tempdir("report-extras");
    let page = dir.join("gw.html");
    let counters = "crates/cli/tests/fixtures/gw-counters.json";
    let out = rampart(&[
        "report",
        "examples/office-gateway.rp",
        "-o",
        page.to_str().unwrap(),
        "--lab",
        "examples/office-gateway.lab",
        "--counters",
        counters,
        "--logs",
        "crates/cli/tests/fixtures/gw-kern.log",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (dom, log) = chromium(&page, &["--dump-dom"]);
    assert!(!log.contains("Uncaught") && !log.contains(":CONSOLE("), "{log}");
    // Every probe of the lab, each as expected offline.
    let lab = std::fs::read_to_string(root().join("examples/office-gateway.lab")).unwrap();
    let probes = lab.lines().filter(|l| l.trim_start().starts_with("probe ")).count();
    assert_eq!(dom.matches("<tr class=\"probe\">").count(), probes, "{dom}");
    assert!(dom.contains(&format!("{probes} of {probes} probe(s) as expected")), "{dom}");
    // Rule 3 never hit, linked to its row; rule 6 the busiest policy rule.
    assert!(dom.contains("<a class=\"never\" href=\"#r3\">3</a>"), "{dom}");
    assert!(dom.contains("<a href=\"#r6\">6</a></td><td class=\"num\">912</td>"), "{dom}");
    // The rule that logs most first, tied to its row; every line counted.
    let logged = dom.split("<section id=\"logs\">").nth(1).expect("a logs section");
    let first = logged.split("<tr class=\"logged\">").nth(1).expect("a logging rule");
    assert!(first.contains("<a href=\"#r2\">2</a>") && first.contains(">3</td>"), "{first}");
    assert!(logged.contains("7 lines, 6 of them firewall lines"), "{logged}");
    // Without the files, no such sections.
    let plain = dir.join("plain.html");
    let out = rampart(&["report", "examples/office-gateway.rp", "-o", plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&plain).unwrap();
    for id in ["lab", "counters", "logs"] {
        assert!(!html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // Another firewall's counters are refused.
    let out = rampart(&[
        "report",
        "examples/kvm-bridges.rp",
        "-o",
        plain.to_str().unwrap(),
        "--counters",
        counters,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("counts firewall gw, not vmhost"), "{}", text(&out.stderr));
}

/// Plain bridge ports are drawn and listed, with nothing known beyond them.
#[test]
fn plain_ports_are_drawn_with_any_address_beyond() {
    let dir = tempdir("report-plain");
    let page = dir.join("plain-ports.html");
    let policy = "crates/lab/tests/fixtures/plain-ports.rp";
    let out = rampart(&["report", policy, "-o", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&page).unwrap();
    for port in ["p1", "p2", "p3", "vmh1"] {
        assert!(html.contains(&format!(">{port}</text>")), "no port {port} drawn");
        assert!(html.contains(&format!("<td class=\"mono\">{port}</td>")), "no port {port}");
    }
    assert_eq!(html.matches("<td>port</td><td class=\"mono\">any address</td>").count(), 4);
}
