//! `rampart fmt`: the canonical layout, as a command and as a property of
//! random valid policies written untidily.

use proptest::prelude::*;
use rampart_diag::FileId;
use rampart_ir::Family;

use crate::util::{rampart, tempdir, text};

#[test]
fn fmt_rewrites_in_place_and_check_names_what_is_not_formatted() {
    let dir = tempdir("fmt");
    let messy = dir.join("messy.rp");
    std::fs::write(&messy, "host  a 10.0.0.1   # the first\n\n\nhost b 10.0.0.2;host c 10.0.0.3\n")
        .unwrap();
    let out = rampart(&["fmt", "--check", messy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("messy.rp: not formatted"), "{}", text(&out.stderr));
    let out = rampart(&["fmt", messy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&messy).unwrap(),
        "host a 10.0.0.1  # the first\n\nhost b 10.0.0.2\nhost c 10.0.0.3\n"
    );
    let out = rampart(&["fmt", "--check", messy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn fmt_leaves_a_file_with_errors_as_it_is() {
    let dir = tempdir("fmt-errors");
    let bad = dir.join("bad.rp");
    std::fs::write(&bad, "host   a\n").unwrap();
    let out = rampart(&["fmt", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("E0003"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "host   a\n");
}

#[test]
fn the_shipped_policies_are_formatted() {
    let out = rampart(&[
        "fmt",
        "--check",
        "examples/spice-client.rp",
        "examples/office-gateway.rp",
        "examples/kvm-bridges.rp",
        "tasks/package/policy.rp",
        "crates/lab/tests/fixtures/plain-ports.rp",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

const ACTIONS: [&str; 6] =
    ["accept", "deny", "reject", "reject with tcp-reset", "continue", "branch sub"];

/// One rule of `main`, as tidy text.
fn rule() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&ACTIONS[..]),
        prop::option::of(prop::sample::subsequence(&["h1", "n1", "g1", "10.7.0.0/16"][..], 1..3)),
        prop::option::of(prop::sample::subsequence(&["h2", "self", "g1"][..], 1..2)),
        prop::option::of(prop::sample::subsequence(&["ssh", "web", "dns"][..], 1..3)),
        prop::sample::select(&["", " on eth0", " on eth1 in", " out"][..]),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["why", "a # in text", "x;y"][..])),
    )
        .prop_map(|(action, from, to, svc, on, log, note)| {
            let col = |kw: &str, c: Option<Vec<&str>>| {
                c.map_or(String::new(), |items| format!(" {kw} {}", items.join(", ")))
            };
            format!(
                "{action}{}{}{}{on}{}{}",
                col("from", from),
                col("to", to),
                col("service", svc),
                if log { " log" } else { "" },
                note.map_or(String::new(), |n| format!(" comment \"{n}\"")),
            )
        })
}

/// A valid policy, one statement per line.
fn policy() -> impl Strategy<Value = Vec<String>> {
    (prop::collection::vec(rule(), 1..7), any::<bool>()).prop_map(|(rules, block_group)| {
        let mut lines: Vec<String> = [
            "host h1 10.0.0.1, 2001:db8::1",
            "host h2 10.0.0.2",
            "network n1 10.1.0.0/16",
            "service ssh tcp 22",
            "service web tcp 80, 443, 8000-8100",
            "service dns tcp 53, udp 53",
        ]
        .map(str::to_owned)
        .to_vec();
        if block_group {
            lines.extend(["group g1 {", "h1,", "n1", "}"].map(str::to_owned));
        } else {
            lines.push("group g1 { h1, n1 }".to_owned());
        }
        lines.extend(
            [
                "firewall fw {",
                "interface eth0 10.0.0.254/24",
                "interface eth1 dynamic",
                "log-prefix \"R %N %A \"",
                "ruleset main {",
            ]
            .map(str::to_owned),
        );
        lines.extend(rules);
        lines.extend(["}", "ruleset sub {", "deny service ssh", "}", "}"].map(str::to_owned));
        lines
    })
}

/// The same policy written untidily: spaces and tabs between words, any
/// indentation, blank lines, comments at line ends and on their own,
/// statements joined by `;`, lists broken after a comma.
fn untidy(lines: &[String], seed: u64) -> String {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&" \t".repeat(rng.usize(0..3)));
        let mut in_string = false;
        for c in line.chars() {
            match c {
                '"' => in_string = !in_string,
                ' ' if !in_string => {
                    out.push_str(["  ", "\t", " \t "][rng.usize(0..3)]);
                    continue;
                }
                ',' if !in_string && rng.u8(0..4) == 0 => {
                    out.push_str(",  \n   ");
                    continue;
                }
                _ => {}
            }
            out.push(c);
        }
        let next_is_object = lines.get(i + 1).is_some_and(|l| l.starts_with("host "));
        match rng.u8(0..6) {
            0 => out.push_str(&format!("   # note {i}\n")),
            1 => out.push_str(&format!("\n\n  # own line {i}\n\n")),
            2 if line.starts_with("host ") && next_is_object => out.push_str(" ; "),
            _ => out.push('\n'),
        }
    }
    out
}

fn fmt(text: &str) -> String {
    let f = rampart_syntax::format(text, FileId(0));
    f.ast.unwrap_or_else(|| panic!("{:?}\n{text}", f.diagnostics))
}

/// The rulesets `fw` compiles to: iptables-restore for both families, nft.
fn compiled(text: &str) -> [String; 3] {
    let c = rampart_lower::compile(rampart_testing::model(text).firewall("fw").unwrap());
    [
        rampart_emit::iptables_restore(&c.v4, Family::V4, "gen", None),
        rampart_emit::iptables_restore(&c.v6, Family::V6, "gen", None),
        rampart_nft::emit(&c.rich),
    ]
}

/// The comments `untidy` wrote, in order (strings may hold a `#` too).
fn comments(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.find("# note ").or_else(|| l.find("# own line ")).map(|i| l[i..].trim()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formatting_is_idempotent_and_changes_no_rule(lines in policy(), seed in any::<u64>()) {
        let messy = untidy(&lines, seed);
        let once = fmt(&messy);
        prop_assert_eq!(&fmt(&once), &once, "a second pass changed the layout");
        prop_assert_eq!(compiled(&messy), compiled(&once));
        prop_assert_eq!(comments(&messy), comments(&once), "comments lost or reordered");
    }
}
