//! Snapshot tests of the summary on the shipped fixture.

use std::path::Path;

use rampart_logs::attribute::Attributor;
use rampart_logs::scans::{Detector, ScanOptions};
use rampart_logs::source::file;
use rampart_logs::summary::{SummaryOptions, Tally};
use rampart_logs::{envelope, line};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn summary(threads: usize) -> rampart_logs::summary::Summary {
    let a = Attributor::default();
    let mut t = Tally::read(file::open(&fixture("mixed.log")).unwrap(), threads).unwrap();
    t.set_file("mixed.log");
    t.finish(&SummaryOptions { top: 5, attributor: &a, rules: None, show_partial: true })
}

#[test]
fn summary_text() {
    insta::assert_snapshot!(summary(1).to_text());
}

#[test]
fn summary_json() {
    let s = summary(1);
    insta::assert_json_snapshot!(s);
}

#[test]
fn summary_json_required_keys() {
    let v = serde_json::to_value(summary(2)).unwrap();
    for key in [
        "total_lines",
        "firewall_lines",
        "unparsed_lines",
        "partial_lines",
        "cut_lines",
        "unparsed_fields",
        "lost_lines",
        "by_prefix",
        "top_sources",
        "top_ports",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["total_lines"], 30);
    assert_eq!(v["firewall_lines"], 27);
    assert_eq!(v["unparsed_lines"], 3);
    assert_eq!(v["partial_lines"], 1);
    assert_eq!(v["by_prefix"]["RULE 16 -- DENY"], 14);
    assert_eq!(v["by_prefix"]["[UFW BLOCK]"], 2);
    assert_eq!(v["top_sources"][0], serde_json::json!({"addr": "203.0.113.7", "count": 13}));
    assert_eq!(v["top_ports"][0], serde_json::json!({"proto": "tcp", "port": 443, "count": 4}));
}

#[test]
fn gzip_gives_the_same_summary() {
    use std::io::Write;
    let plain = std::fs::read(fixture("mixed.log")).unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&plain).unwrap();
    let gz = e.finish().unwrap();
    let a = Attributor::default();
    let opts = SummaryOptions { top: 5, attributor: &a, rules: None, show_partial: false };
    let from_gz = Tally::read(file::maybe_gzip(Box::new(std::io::Cursor::new(gz))).unwrap(), 1)
        .unwrap()
        .finish(&opts);
    let from_plain = Tally::read(&plain[..], 1).unwrap().finish(&opts);
    assert_eq!(
        serde_json::to_string(&from_gz).unwrap(),
        serde_json::to_string(&from_plain).unwrap()
    );
}

#[test]
fn fixture_scan() {
    let mut d = Detector::new(ScanOptions { window_secs: 60, min_ports: 10, min_hosts: 10 });
    let r = file::open(&fixture("mixed.log")).unwrap();
    file::for_each_line(r, |raw| {
        let env = envelope::strip(raw);
        if let Some(l) = line::parse(&env.message) {
            d.add(&l, env.stamp);
        }
    })
    .unwrap();
    let scans = d.finish();
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].src.to_string(), "203.0.113.7");
    assert_eq!(scans[0].ports, 12);
}

/// The summary of log lines written by someone hostile.
fn summary_of(text: &str) -> String {
    let a = Attributor::default();
    let t = Tally::read(std::io::Cursor::new(text.to_owned().into_bytes()), 1).unwrap();
    t.finish(&SummaryOptions { top: 5, attributor: &a, rules: None, show_partial: true }).to_text()
}

const FIELDS: &str = "IN=eth0 OUT= MAC=00 SRC=1.2.3.4 DST=5.6.7.8 LEN=60 TOS=0x00 PREC=0x00 \
                      TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0";

#[test]
fn hostile_prefixes_are_printed_escaped_and_never_panic() {
    let huge = "A".repeat(70_000);
    let text = summary_of(&format!("Dec  3 10:00:00 h kernel: [1.0] {huge}{FIELDS}\n"));
    assert!(text.contains("AAAA"), "{text}");
    let text = summary_of(&format!(
        "Dec  3 10:00:00 h kernel: [1.0] RULE 1 -- DENY \u{1b}[2J\u{1b}]0;x\u{7}{FIELDS}\n"
    ));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
    assert!(text.contains(r"RULE 1 -- DENY \u{1b}[2J"), "{text}");
}

/// A shared log with its destinations redacted, and a line cut by the
/// shipper: every line counts under its prefix, source, protocol and
/// port, and what was not read is reported by field.
#[test]
fn redacted_and_cut_lines_still_count() {
    let text = "\
Dec  3 10:00:00 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=xx SRC=45.55.2.201 DST=xxx LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT=40788 DPT=3306 WINDOW=65535 RES=0x00 SYN URGP=0
Dec  3 10:00:01 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=xx SRC=45.55.2.201 DST=xxx LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54322 PROTO=TCP SPT=40789 DPT=3306 WIN
";
    let a = Attributor::default();
    let s = Tally::read(text.as_bytes(), 1).unwrap().finish(&SummaryOptions {
        top: 5,
        attributor: &a,
        rules: None,
        show_partial: true,
    });
    assert_eq!((s.firewall_lines, s.partial_lines, s.cut_lines), (2, 2, 1));
    assert_eq!(s.by_prefix["[UFW BLOCK]"], 2);
    assert_eq!(s.by_action["DENY"], 2);
    assert_eq!(s.top_sources[0].addr.to_string(), "45.55.2.201");
    assert_eq!(s.top_sources[0].count, 2);
    assert_eq!((s.top_ports[0].port, s.top_ports[0].count), (3306, 2));
    assert_eq!(s.unparsed_fields, std::collections::BTreeMap::from([("DST".to_owned(), 2)]));
    assert_eq!(s.partial[1].what, "DST= did not parse; cut short");
    let text = s.to_text();
    assert!(
        text.starts_with(
            "lines: 2 total, 2 firewall (2 read in part), 0 other, 0 lost\n\
             read in part: 1 cut short; fields not read: DST 2\n"
        ),
        "{text}"
    );
}
