//! Fuzzing of the three parsers of outside text, bounded so that it runs in
//! every `cargo test`: the policy language (through every backend), the
//! iptables readers (through the trace and back out) and LOG lines
//! (through the summary). Inputs are real files mutated at random: bytes
//! inserted (control characters, quotes, braces, keywords), spans deleted,
//! lines repeated. A panic anywhere is a failure, shrunk by proptest; what
//! the iptables readers accept they must read again once written back.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rampart_diag::{FileId, Sources};
use rampart_ir::Family;

use crate::util::root;

/// Runs `check` on `cases` inputs from `strategy` and reports how many ran.
fn fuzz<S: Strategy>(name: &str, cases: u32, strategy: S, check: impl Fn(S::Value)) {
    // A fixed seed: the same inputs every run, so a failure reproduces.
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let runs = AtomicUsize::new(0);
    let result = runner.run(&strategy, |input| {
        runs.fetch_add(1, Ordering::Relaxed);
        check(input);
        Ok(())
    });
    let n = runs.load(Ordering::Relaxed);
    let _ = writeln!(std::io::stderr(), "fuzz {name}: {n} executions, 0 crashes");
    if let Err(e) = result {
        panic!("fuzz {name}: crash after {n} executions: {e}");
    }
}

/// Text pieces a mutation inserts.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\x00-\\x1f\\x7f\"'{},;#\\\\ ]{1,3}",
        "\\PC{1,6}",
        prop::sample::select(vec![
            "{",
            "}",
            "\"",
            "\n",
            "\0",
            "\u{1b}[2J",
            "-j",
            "-A INPUT",
            "*filter",
            "COMMIT",
            "ruleset",
            "group",
            "include",
            "10.0.0.0/8",
            "::1",
            "65536",
            "-1",
            "4294967296",
            "log",
            "comment",
            "user",
            "branch",
            "IN=",
            "SRC=",
            "PROTO=TCP",
            "kernel:",
        ])
        .prop_map(str::to_owned),
    ]
}

/// One of `seeds`, mutated up to eight times.
fn mutated(seeds: Vec<String>) -> impl Strategy<Value = String> {
    let edits = prop::collection::vec((0.0..1.0f64, 0..4u8, piece()), 0..8);
    (prop::sample::select(seeds), edits).prop_map(|(seed, edits)| {
        let mut s = seed.into_bytes();
        for (at, kind, text) in edits {
            let i = ((s.len() as f64) * at) as usize;
            match kind {
                0 | 1 => {
                    s.splice(i..i, text.bytes());
                }
                2 => {
                    let end = (i + text.len() * 4).min(s.len());
                    s.drain(i..end);
                }
                _ => {
                    // Repeat the line around `i`.
                    let start = s[..i].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                    let end =
                        s[i..].iter().position(|&b| b == b'\n').map_or(s.len(), |p| i + p + 1);
                    let line = s[start..end].to_vec();
                    s.splice(end..end, line);
                }
            }
        }
        String::from_utf8_lossy(&s).into_owned()
    })
}

fn examples() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rp") {
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
    out.sort();
    out
}

/// Every backend's output for every firewall of a policy that loads.
fn compile_all(name: &str, text: &str) -> Vec<String> {
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str(name, text, &mut sources);
    let Some(model) = loaded.model else { return vec![] };
    let mut out = Vec::new();
    for fw in &model.firewalls {
        let c = rampart_lower::compile(fw);
        out.push(rampart_emit::iptables_restore(&c.v4, Family::V4, "fuzz", Some(&sources)));
        out.push(rampart_emit::iptables_restore(&c.v6, Family::V6, "fuzz", Some(&sources)));
        out.push(rampart_emit::shell_script("fuzz", &c.v4, &c.v6, &sources));
        out.push(rampart_nft::emit(&c.rich));
    }
    out
}

#[test]
fn fuzz_policy_language() {
    fuzz("policy", 600, mutated(examples()), |text| {
        for doc in compile_all("fuzz.rp", &text) {
            assert!(!doc.contains(|c: char| c.is_control() && c != '\n' && c != '\t'), "{doc}");
        }
    });
}

#[test]
fn fuzz_iptables_readers() {
    let mut seeds: Vec<String> = examples()
        .iter()
        .flat_map(|e| compile_all("seed.rp", e))
        .filter(|d| !d.contains("table inet"))
        .collect();
    seeds.push(
        "IPTABLES=/sbin/iptables\n$IPTABLES -P INPUT DROP\n$IPTABLES -N web\n\
         $IPTABLES -A INPUT -p tcp --dport 80 -j web\n$IPTABLES -A web -s 10.0.0.0/8 -j ACCEPT\n"
            .into(),
    );
    let packet = rampart_trace::Packet {
        src: Some("10.0.0.1".parse().unwrap()),
        dst: Some("10.0.0.2".parse().unwrap()),
        proto: Some(6),
        sport: Some(40000),
        dport: Some(22),
        ..rampart_trace::Packet::new(rampart_trace::Hook::Input)
    };
    fuzz("iptables", 1500, mutated(seeds), |text| {
        let Ok(format) = rampart_ir::read::detect(&text) else { return };
        let im = rampart_ir::read::parse(&text, FileId(0), format);
        if let Some(f) = im.filter() {
            let _ = rampart_trace::Tracer::new(&f.ruleset).trace(&packet);
        }
        if !im.has_errors() {
            // What was read is written back, and reads again.
            let again = rampart_ir::read::write_restore(&im.tables);
            let re = rampart_ir::read::parse(&again, FileId(0), rampart_ir::read::Format::Save);
            assert!(!re.has_errors(), "{:?}\n{again}", re.diagnostics);
        }
    });
}

#[test]
fn fuzz_log_lines() {
    let dir = root().join("crates/logs/tests/fixtures");
    let seeds: Vec<String> = ["mixed.log", "tricky.log"]
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            text.lines().collect::<Vec<_>>().chunks(4).map(|c| c.join("\n")).collect::<Vec<_>>()
        })
        .collect();
    let attributor = rampart_logs::attribute::Attributor::default();
    fuzz("log lines", 2000, mutated(seeds), |text| {
        for line in text.lines() {
            let env = rampart_logs::envelope::strip(line.as_bytes());
            let _ = rampart_logs::line::parse(&env.message);
        }
        let t = rampart_logs::summary::Tally::read(std::io::Cursor::new(text.into_bytes()), 1);
        let options = rampart_logs::summary::SummaryOptions {
            top: 5,
            attributor: &attributor,
            rules: None,
            show_partial: true,
        };
        let _ = t.unwrap().finish(&options).to_text();
    });
}
