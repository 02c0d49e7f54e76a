//! What changed, chain by chain, in words a person reads before trusting it.

use std::collections::BTreeMap;

use rampart_diag::FileId;
use rampart_ir::read::{self, Format};

/// Rules per chain of the filter table, normalised (counters and layout
/// removed), from iptables-save or iptables-restore text.
#[must_use]
pub fn rules_by_chain(text: &str) -> BTreeMap<String, Vec<String>> {
    let imported = read::parse(text, FileId(0), Format::Save);
    let mut out = BTreeMap::new();
    if let Some(t) = imported.filter() {
        for c in &t.ruleset.chains {
            let rules =
                c.rules.iter().map(|r| rampart_ir::format_rule(&t.ruleset, r, t.family)).collect();
            out.insert(c.name.clone(), rules);
        }
    }
    out
}

/// Rules added to and removed from one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainDiff {
    pub chain: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Same rules, other order.
    pub reordered: bool,
}

/// Compare two tables on the chains in `chains` (all chains when empty).
#[must_use]
pub fn diff(
    old: &BTreeMap<String, Vec<String>>,
    new: &BTreeMap<String, Vec<String>>,
    chains: &[String],
) -> Vec<ChainDiff> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    let empty = Vec::new();
    names
        .into_iter()
        .filter(|n| chains.is_empty() || chains.contains(n))
        .filter_map(|name| {
            let a = old.get(name).unwrap_or(&empty);
            let b = new.get(name).unwrap_or(&empty);
            let added = minus(b, a);
            let removed = minus(a, b);
            let reordered = added.is_empty() && removed.is_empty() && a != b;
            (!added.is_empty() || !removed.is_empty() || reordered).then(|| ChainDiff {
                chain: name.clone(),
                added,
                removed,
                reordered,
            })
        })
        .collect()
}

/// Items of `a` not matched by an item of `b` (as multisets).
fn minus(a: &[String], b: &[String]) -> Vec<String> {
    let mut left: Vec<&String> = b.iter().collect();
    a.iter()
        .filter(|x| match left.iter().position(|y| y == x) {
            Some(i) => {
                left.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

/// `+`/`-` lines under a header per chain.
#[must_use]
pub fn render(diffs: &[ChainDiff]) -> String {
    if diffs.is_empty() {
        return "no change\n".into();
    }
    let mut out = String::new();
    for d in diffs {
        // iptables chains are bare names; nft blocks name their table and kind
        let what =
            if d.chain.contains(' ') { d.chain.clone() } else { format!("chain {}", d.chain) };
        out.push_str(&format!(
            "{what}: {} added, {} removed{}\n",
            d.added.len(),
            d.removed.len(),
            if d.reordered { ", order changed" } else { "" }
        ));
        for r in &d.removed {
            out.push_str(&format!("  - {r}\n"));
        }
        for r in &d.added {
            out.push_str(&format!("  + {r}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_removed_and_reordered() {
        let old = rules_by_chain(
            "*filter\n:INPUT DROP [1:2]\n:X - [0:0]\n[3:4] -A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A X -j DROP\n-A X -j ACCEPT\nCOMMIT\n",
        );
        let new = rules_by_chain(
            "*filter\n:INPUT DROP [0:0]\n:X - [0:0]\n-A INPUT -s 10.0.0.2/32 -j ACCEPT\n-A X -j ACCEPT\n-A X -j DROP\nCOMMIT\n",
        );
        let d = diff(&old, &new, &[]);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].added, vec!["-s 10.0.0.2/32 -j ACCEPT"]);
        assert_eq!(d[0].removed, vec!["-s 10.0.0.1/32 -j ACCEPT"]);
        assert!(d[1].reordered);
        assert!(render(&d).contains("chain INPUT: 1 added, 1 removed"));
        assert!(diff(&old, &old, &[]).is_empty());
    }
}
