//! Load the output into a namespace's kernel and read it back as JSON.

use serde_json::Value;

use crate::{fixtures, sys};

/// Chains, sets (name and element count) and rules per chain of one table.
#[derive(Debug, Default, PartialEq, Eq)]
struct Listed {
    chains: Vec<String>,
    sets: Vec<(String, usize)>,
    rules: Vec<(String, usize)>,
}

fn list(ns: &sys::Netns, family: &str) -> Listed {
    let out = sys::run(ns, &["nft", "-j", "list", "table", family, "rampart"]);
    let json: Value = serde_json::from_slice(&sys::ok_output(&out)).unwrap();
    let mut listed = Listed::default();
    for obj in json["nftables"].as_array().unwrap() {
        if let Some(c) = obj.get("chain") {
            let name = c["name"].as_str().unwrap().to_owned();
            listed.rules.push((name.clone(), 0));
            listed.chains.push(name);
        } else if let Some(s) = obj.get("set") {
            let n = s.get("elem").and_then(Value::as_array).map_or(0, Vec::len);
            listed.sets.push((s["name"].as_str().unwrap().to_owned(), n));
        } else if let Some(r) = obj.get("rule") {
            let chain = r["chain"].as_str().unwrap();
            listed.rules.iter_mut().find(|(c, _)| c == chain).unwrap().1 += 1;
        }
    }
    listed.sets.sort();
    listed
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn loads_and_lists_back() {
    let ns = sys::Netns::new().unwrap();
    // Someone else's table, which a reload must leave alone.
    sys::ok(
        &sys::nft(Some(ns.name()), &["-f", "-"], "table inet other {\n\tchain c {\n\t}\n}\n"),
        "nft -f other",
    );

    let text = rampart_nft::emit(&fixtures::spice_client());
    for _ in 0..2 {
        // Twice: the second load replaces the first in one transaction.
        sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &text), "nft -f spice_client");
    }
    let got = list(&ns, "inet");
    assert_eq!(got.chains, strs(&["input", "forward", "output", "Spice_VM_1", "Spice_VM_2"]));
    assert_eq!(
        got.sets,
        [("spice_vm1".to_owned(), 1), ("spice_vm2".to_owned(), 1), ("vm_server".to_owned(), 1)]
    );
    let rules: Vec<usize> = got.rules.iter().map(|r| r.1).collect();
    assert_eq!(rules, [3, 0, 6, 1, 1]);

    let text = rampart_nft::emit(&fixtures::groups());
    sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &text), "nft -f groups");
    let got = list(&ns, "inet");
    assert_eq!(got.chains, strs(&["input", "forward", "output", "Admin_access"]));
    let set_names: Vec<&str> = got.sets.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        set_names,
        ["admins", "lan_v4", "lan_v6", "ports_1", "ports_2", "v4only", "v6hosts", "web"]
    );
    let out = sys::run(&ns, &["nft", "list", "tables"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("table inet other"),
        "foreign table removed"
    );
}

#[test]
fn a_bad_document_changes_nothing() {
    let ns = sys::Netns::new().unwrap();
    let good = rampart_nft::emit(&fixtures::spice_client());
    sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &good), "nft -f");
    let before = list(&ns, "inet");
    let bad = good.replace("policy drop;", "policy dro;");
    assert!(!sys::nft(Some(ns.name()), &["-f", "-"], &bad).status.success());
    assert_eq!(list(&ns, "inet"), before);
}
