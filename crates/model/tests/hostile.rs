//! Policies built to hurt the loader: deep nesting, huge groups.

use rampart_diag::Sources;
use rampart_model::load_str;

fn codes(src: &str) -> Vec<&'static str> {
    let mut sources = Sources::new();
    load_str("t.rp", src, &mut sources).diagnostics.iter().map(|d| d.code).collect()
}

const FW: &str = "service ssh tcp 22\nfirewall fw {\n interface eth0 192.168.0.1/24\n \
                  ruleset main {\n  accept from top service ssh\n }\n}\n";

#[test]
fn groups_nested_20000_deep_are_refused_not_a_crash() {
    let mut src = String::from("host h0 10.0.0.1\ngroup g1 h0\n");
    for i in 2..=20_000 {
        src.push_str(&format!("group g{i} g{}\n", i - 1));
    }
    src.push_str("group top g20000\n");
    let got = codes(&format!("{src}{FW}"));
    assert!(got.contains(&"E0251"), "{got:?}");
    // 64 levels are fine.
    let mut src = String::from("host h0 10.0.0.1\ngroup g1 h0\n");
    for i in 2..=63 {
        src.push_str(&format!("group g{i} g{}\n", i - 1));
    }
    src.push_str("group top g63\n");
    assert_eq!(codes(&format!("{src}{FW}")), Vec::<&str>::new());
}
