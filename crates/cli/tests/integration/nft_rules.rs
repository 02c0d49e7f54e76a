//! nftables rulesets as `nft -j list ruleset` prints them: `trace --rules`
//! walks every base chain of the hook in priority order, `import nft`
//! prints what was understood.

use crate::util::{rampart, text};

const JSON: &str = "crates/ir/tests/fixtures/nft-list-ruleset.json";

fn trace(args: &[&str]) -> String {
    let mut all =
        vec!["trace", "--rules", JSON, "--hook", "input", "--in", "eth0", "--dst", "10.0.0.1"];
    all.extend_from_slice(args);
    let out = rampart(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn an_accept_in_one_table_goes_on_to_the_next_by_priority() {
    // table ip other (priority -10) drops 9.9.9.9 before table inet fw runs
    let out = trace(&["--src", "9.9.9.9", "--proto", "tcp", "--dport", "85"]);
    assert!(out.contains("table ip other chain in2 (hook input, priority -10)"), "{out}");
    assert!(!out.contains("table inet fw"), "{out}");
    assert!(out.ends_with("final verdict: DROP\n"), "{out}");
    // anyone else passes it (policy accept) and meets the named set in fw
    let out = trace(&["--src", "10.0.0.5", "--proto", "tcp", "--dport", "85", "--state", "new"]);
    assert!(out.contains("table inet fw chain input (hook input, priority 0)"), "{out}");
    assert!(out.ends_with("final verdict: ACCEPT\n"), "{out}");
    // a verdict map key, and a rate limit left undecided
    assert!(trace(&["--src", "1.1.1.1", "--proto", "tcp", "--dport", "25"]).ends_with("DROP\n"));
    let limited = trace(&["--src", "1.1.1.1", "--proto", "tcp", "--dport", "7"]);
    assert!(limited.ends_with("final verdict: UNKNOWN\n"), "{limited}");
}

#[test]
fn import_nft_prints_the_base_chains_in_order() {
    let out = rampart(&["import", "nft", JSON]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    let other = t.find("# table ip other chain in2: hook input priority -10").unwrap();
    let fw = t.find("# table inet fw chain input: hook input priority 0").unwrap();
    assert!(other < fw, "{t}");
    assert!(t.contains("-A web -s 1.2.3.4/32 -j RETURN"), "{t}");
}
