//! What changed, chain by chain, in the order the kernel reads the rules:
//! rules added, removed, and moved (a moved rule decides before or after
//! other rules than it did, which can change verdicts even though no rule
//! was added or removed).

use std::collections::BTreeMap;

use rampart_diag::FileId;
use rampart_ir::origin::line_rule;
use rampart_ir::read::{self, Format};
use serde::{Deserialize, Serialize};
use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::DeployError;

/// Rules per chain of the filter table, normalised (counters and layout
/// removed), from a document Rampart wrote: every line must read, so no
/// rule it holds goes unchecked.
pub fn compiled_rules(text: &str) -> Result<Chains, DeployError> {
    let (rules, errors) = read(text, rampart_ir::Table::Filter);
    match errors.first() {
        Some((start, message)) => {
            Err(unreadable(text, *start, message, "the compiled filter table"))
        }
        None => Ok(rules),
    }
}

/// Rules per chain of the filter table as loaded, the lines the reader
/// cannot read left out: a rule lost so is one the caller looks for and
/// does not find (the access audit reports it missing), never one found.
#[must_use]
pub fn loaded_rules(text: &str) -> Chains {
    read(text, rampart_ir::Table::Filter).0
}

/// Rules per chain of one table, for comparing Rampart's chains (`ours`):
/// a line the reader cannot read is an error when it is a rule of one of
/// those chains or no rule at all, never an empty or shorter chain. Rules
/// of other software's chains are not compared, so what the reader does
/// not know there is let be.
pub fn rules_in(
    text: &str,
    table: rampart_ir::Table,
    ours: &[String],
) -> Result<Chains, DeployError> {
    let (rules, errors) = read(text, table);
    for (start, message) in errors {
        let (_, line) = line_at(text, start);
        let foreign = line
            .strip_prefix("-A ")
            .or_else(|| line.split_once("] -A ").map(|(_, r)| r))
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|chain| !ours.iter().any(|c| c == chain));
        if !foreign {
            let what = format!("the loaded {} table", table.name());
            return Err(unreadable(text, start, &message, &what));
        }
    }
    Ok(rules)
}

/// The line (number from 1, text) that holds byte `start` of `text`.
fn line_at(text: &str, start: usize) -> (usize, &str) {
    let n = text[..start.min(text.len())].matches('\n').count();
    (n + 1, text.lines().nth(n).unwrap_or_default())
}

/// The error for the line at byte `start` of `what`, which the reader refused.
fn unreadable(text: &str, start: usize, message: &str, what: &str) -> DeployError {
    let (n, line) = line_at(text, start);
    DeployError::Unreadable(format!(
        "cannot read line {n} of {what} (`{}`): {message}",
        line.trim()
    ))
}

/// Rules per chain, normalised.
pub type Chains = BTreeMap<String, Vec<String>>;

/// The rules per chain of one table, and the errors: offset and message.
fn read(text: &str, table: rampart_ir::Table) -> (Chains, Vec<(usize, String)>) {
    let imported = read::parse(text, FileId(0), Format::Save);
    let mut out = BTreeMap::new();
    for t in imported.tables.iter().filter(|t| t.table == table) {
        for c in &t.ruleset.chains {
            let rules =
                c.rules.iter().map(|r| rampart_ir::format_rule(&t.ruleset, r, t.family)).collect();
            out.insert(c.name.clone(), rules);
        }
    }
    let errors = imported
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.span().map_or(0, |s| s.start as usize), d.message.clone()))
        .collect();
    (out, errors)
}

/// How one rule changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Removed,
    /// In both, at another place relative to the rules around it.
    Moved,
}

/// One rule that changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub change: Change,
    /// The rule as the kernel lists it.
    pub rule: String,
    /// Its place in the chain before (from 1); none for an added rule.
    pub from: Option<usize>,
    /// Its place after; none for a removed rule.
    pub to: Option<usize>,
    /// The policy rule it comes from (its `R<n>` comment).
    pub policy_rule: Option<u32>,
    /// Where that policy rule is written (`file:line`), when the policy is
    /// at hand; a removed rule's number is that of the rules it replaces.
    pub at: Option<String>,
}

/// The changed rules of one chain, in chain order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainDiff {
    pub chain: String,
    pub edits: Vec<Edit>,
}

impl ChainDiff {
    /// How many rules changed in this way.
    #[must_use]
    pub fn count(&self, change: Change) -> usize {
        self.edits.iter().filter(|e| e.change == change).count()
    }
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
            let edits = chain(old.get(name).unwrap_or(&empty), new.get(name).unwrap_or(&empty));
            (!edits.is_empty()).then(|| ChainDiff { chain: name.clone(), edits })
        })
        .collect()
}

/// The edits from `old` to `new`: what is outside their longest common
/// subsequence was removed or added, and a rule removed at one place and
/// added at another was moved.
fn chain(old: &[String], new: &[String]) -> Vec<Edit> {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for op in capture_diff_slices(Algorithm::Myers, old, new) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { old_index, old_len, .. } => {
                removed.extend(old_index..old_index + old_len)
            }
            DiffOp::Insert { new_index, new_len, .. } => {
                added.extend(new_index..new_index + new_len)
            }
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                removed.extend(old_index..old_index + old_len);
                added.extend(new_index..new_index + new_len);
            }
        }
    }
    let mut edits = Vec::new();
    for to in added {
        let edit = |change, from: Option<usize>| Edit {
            change,
            rule: new[to].clone(),
            from: from.map(|f| f + 1),
            to: Some(to + 1),
            policy_rule: line_rule(&new[to]),
            at: None,
        };
        match removed.iter().position(|&f| old[f] == new[to]) {
            Some(i) => edits.push(edit(Change::Moved, Some(removed.remove(i)))),
            None => edits.push(edit(Change::Added, None)),
        }
    }
    edits.extend(removed.into_iter().map(|from| Edit {
        change: Change::Removed,
        rule: old[from].clone(),
        from: Some(from + 1),
        to: None,
        policy_rule: line_rule(&old[from]),
        at: None,
    }));
    // Chain order: a removed rule where it was (before what replaces it),
    // the others where they go.
    edits.sort_by_key(|e| (e.to.or(e.from), e.change != Change::Removed));
    edits
}

/// Fill in where each added or moved rule's policy rule is written.
pub fn locate(diffs: &mut [ChainDiff], at: &dyn Fn(u32) -> Option<String>) {
    for e in diffs.iter_mut().flat_map(|d| &mut d.edits) {
        if e.change != Change::Removed {
            e.at = e.policy_rule.and_then(at);
        }
    }
}

/// A header per chain, then one line per rule: `+` added, `-` removed,
/// `~` moved, with its place and its policy rule.
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
        let moved = match d.count(Change::Moved) {
            0 => String::new(),
            n => format!(", {n} moved"),
        };
        out.push_str(&format!(
            "{what}: {} added, {} removed{moved}\n",
            d.count(Change::Added),
            d.count(Change::Removed)
        ));
        for e in &d.edits {
            let at = |p: Option<usize>| p.map(|p| p.to_string()).unwrap_or_default();
            let (sign, place) = match e.change {
                Change::Moved => ('~', format!("{}→{}", at(e.from), at(e.to))),
                Change::Removed => ('-', at(e.from)),
                Change::Added => ('+', at(e.to)),
            };
            let origin = match (e.policy_rule, &e.at) {
                (Some(n), Some(at)) => format!("  (R{n} {at})"),
                (Some(n), None) => format!("  (R{n})"),
                (None, _) => String::new(),
            };
            out.push_str(&format!("  {sign} {place:>5}  {}{origin}\n", e.rule));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_removed_and_moved() {
        let old = compiled_rules(
            "*filter\n:INPUT DROP [1:2]\n:X - [0:0]\n[3:4] -A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A X -j DROP\n-A X -m comment --comment \"R4: web\" -j ACCEPT\nCOMMIT\n",
        )
        .unwrap();
        let new = compiled_rules(
            "*filter\n:INPUT DROP [0:0]\n:X - [0:0]\n-A INPUT -s 10.0.0.2/32 -j ACCEPT\n-A X -m comment --comment \"R4: web\" -j ACCEPT\n-A X -j DROP\nCOMMIT\n",
        )
        .unwrap();
        let mut d = diff(&old, &new, &[]);
        assert_eq!(d.len(), 2);
        let kinds = |d: &ChainDiff| d.edits.iter().map(|e| e.change).collect::<Vec<_>>();
        assert_eq!(kinds(&d[0]), [Change::Removed, Change::Added]);
        assert_eq!(d[0].edits[1].rule, "-s 10.0.0.2/32 -j ACCEPT");
        assert_eq!(d[0].edits[0].rule, "-s 10.0.0.1/32 -j ACCEPT");
        // A swap: one rule kept in place, the other moved across it.
        assert_eq!(kinds(&d[1]), [Change::Moved]);
        assert_eq!((d[1].edits[0].from, d[1].edits[0].to), (Some(2), Some(1)));
        assert_eq!(d[1].edits[0].policy_rule, Some(4));
        locate(&mut d, &|n| Some(format!("p.rp:{}", n + 10)));
        let text = render(&d);
        assert!(text.contains("chain INPUT: 1 added, 1 removed\n"), "{text}");
        assert!(text.contains("chain X: 0 added, 0 removed, 1 moved\n"), "{text}");
        assert!(
            text.contains("~   2→1  -m comment --comment \"R4: web\" -j ACCEPT  (R4 p.rp:14)"),
            "{text}"
        );
        assert!(diff(&old, &old, &[]).is_empty());
    }

    #[test]
    fn unreadable_lines_of_ours_are_errors_not_missing_rules() {
        let text = "*filter\n:INPUT DROP [0:0]\n:mine - [0:0]\n:theirs - [0:0]\n\
                    -A theirs --frobnicate 3 -j ACCEPT\n-A mine -j DROP\nCOMMIT\n";
        let ours = ["mine".to_owned()];
        let filter = rampart_ir::Table::Filter;
        assert_eq!(rules_in(text, filter, &ours).unwrap()["mine"], ["-j DROP"]);
        let bad = text.replace("-A mine -j DROP", "-A mine --frobnicate 3 -j DROP");
        let err = rules_in(&bad, filter, &ours).unwrap_err().to_string();
        assert!(err.contains("line 6 of the loaded filter table"), "{err}");
        assert!(rules_in("*filter\n:INPUT DROP [0:0]\n", filter, &ours).is_err());
    }

    #[test]
    fn a_compiled_document_reads_whole_or_not_at_all() {
        let text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -j DROP\n-A INPUT --frobnicate 3 -j ACCEPT\nCOMMIT\n";
        let err = compiled_rules(text).unwrap_err().to_string();
        assert!(err.contains("line 4 of the compiled filter table"), "{err}");
        assert!(compiled_rules("not iptables-save text at all\n").is_err());
        assert_eq!(loaded_rules(text)["INPUT"], ["-j DROP"]);
    }
}
