//! How often each policy rule matched since its rules were loaded: the
//! kernel's counters of Rampart's rules (`iptables-save -c`, `nft -j list`),
//! summed per policy rule.
//!
//! One policy rule becomes several kernel rules: a jump into a chain of its
//! own (`RULE_7`: LOG, then DROP), RETURNs for its negated values, one rule
//! per value. A packet passes several of them, so only the rules that
//! decide for the policy rule are summed: its verdicts, jumps into other
//! rule sets, translations; not the jumps into its own chains, not the
//! RETURNs of those chains, not its LOG rules (unless logging is all it
//! does).

use std::collections::{BTreeMap, BTreeSet};

use rampart_diag::FileId;
use rampart_ir::origin::comment_rule;
use rampart_ir::read::{self, Format};
use rampart_ir::{Family, Table, Target};
use serde::{Deserialize, Serialize};

use crate::state::Applied;
use crate::{DeployError, iptables, nft};

/// What a kernel rule does, as far as counting goes (for both backends:
/// the nft reader's model).
pub use rampart_ir::read::nft::Kind;

/// One kernel rule with its counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Its chain, with table and family (`v4 filter RULE_7`, `inet rampart input`);
    /// empty for an element of an nft set or map.
    pub chain: String,
    pub comment: Option<String>,
    pub kind: Kind,
    pub packets: u64,
    pub bytes: u64,
}

/// The counts of one policy rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hits {
    pub rule: u32,
    /// The rule's comment as the kernel holds it (without `R<n>: `); none
    /// when its kernel rules differ (rule 0: the rules Rampart adds).
    pub comment: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    /// Its rule set, when the policy is at hand.
    pub ruleset: Option<String>,
    /// Where the policy writes it (`file:line`), when the policy is at hand.
    pub at: Option<String>,
    /// Why the loaded ruleset holds no counter of this rule (its counts
    /// are then 0) or of part of it (an element of a merged lookup); none
    /// when its counts are whole.
    #[serde(default)]
    pub uncounted: Option<String>,
}

/// Counts of kernel rules that stand for several policy rules at once
/// (nft merges runs of similar rules into one set lookup): never split
/// between them by guessing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub comment: String,
    pub packets: u64,
    pub bytes: u64,
}

/// Counts per policy rule, in rule order, and what cannot be split.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub rules: Vec<Hits>,
    pub shared: Vec<Shared>,
}

/// The comment of a merged nft rule: `R3: a .. R8: b`.
fn merged(comment: &str) -> bool {
    comment.split(" .. ").skip(1).any(|c| comment_rule(c).is_some())
}

/// Sum the counts per policy rule.
#[must_use]
pub fn tally(rules: &[Counted]) -> Tally {
    let number = |r: &Counted| r.comment.as_deref().filter(|c| !merged(c)).and_then(comment_rule);
    // A chain all of whose rules belong to one policy rule is that rule's
    // own (`RULE_7`, `R12_not`).
    let mut owner: BTreeMap<&str, Option<Option<u32>>> = BTreeMap::new();
    for r in rules {
        let n = number(r);
        owner
            .entry(r.chain.as_str())
            .and_modify(|o| {
                if *o != Some(n) {
                    *o = None;
                }
            })
            .or_insert(Some(n));
    }
    let own = |chain: &str, n: u32| owner.get(chain) == Some(&Some(Some(n)));
    let mut decides: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut logs: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
    let mut comments: BTreeMap<u32, Option<String>> = BTreeMap::new();
    let mut elements: BTreeSet<u32> = BTreeSet::new();
    let mut shared: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in rules {
        let Some(n) = number(r) else {
            if let Some(c) = r.comment.as_deref().filter(|c| merged(c)) {
                let s = shared.entry(c.to_owned()).or_default();
                *s = (s.0 + r.packets, s.1 + r.bytes);
            }
            continue;
        };
        let text = r.comment.as_deref().and_then(|c| c.split_once(": ")).map(|(_, t)| t.to_owned());
        // One text per rule; rule 0 (Rampart's own rules) has several.
        comments
            .entry(n)
            .and_modify(|c| {
                if *c != text {
                    *c = None
                }
            })
            .or_insert(text);
        let sum = match &r.kind {
            // An element of a lookup, or a lookup of one rule's elements.
            Kind::Dispatch => {
                elements.insert(n);
                continue;
            }
            Kind::Jump(to) if own(to, n) => continue,
            Kind::Return if own(&r.chain, n) => continue,
            Kind::Log => &mut logs,
            Kind::Decides | Kind::Return | Kind::Jump(_) => &mut decides,
        };
        let s = sum.entry(n).or_default();
        *s = (s.0 + r.packets, s.1 + r.bytes);
    }
    let rules = comments
        .into_iter()
        .map(|(rule, comment)| {
            let (packets, bytes) =
                decides.get(&rule).or_else(|| logs.get(&rule)).copied().unwrap_or_default();
            let uncounted = elements.contains(&rule).then(|| MERGED.to_owned());
            Hits { rule, comment, packets, bytes, ruleset: None, at: None, uncounted }
        })
        .collect();
    let shared = shared
        .into_iter()
        .map(|(comment, (packets, bytes))| Shared { comment, packets, bytes })
        .collect();
    Tally { rules, shared }
}

/// The counted rules of Rampart's chains, as `record` applied them.
pub fn read(record: &Applied) -> Result<Vec<Counted>, DeployError> {
    crate::preflight::capable("no counters were read")?;
    if record.backend == "nft" {
        return read_nft();
    }
    let mut out = Vec::new();
    for (family, table, chains) in [
        (Family::V4, Table::Filter, &record.chains),
        (Family::V6, Table::Filter, &record.chains6),
        (Family::V4, Table::Nat, &record.nat),
        (Family::V6, Table::Nat, &record.nat6),
        (Family::V4, Table::Mangle, &record.mangle),
        (Family::V6, Table::Mangle, &record.mangle6),
    ] {
        if chains.is_empty() {
            continue;
        }
        let text = iptables::save_counted(family, table)?;
        let imported = read::parse(&text, FileId(0), Format::Save);
        if let Some(d) = imported.diagnostics.iter().find(|d| d.is_error()) {
            return Err(DeployError::Unreadable(format!(
                "cannot read the counters `{}-save -c` printed: {}",
                if family == Family::V4 { "iptables" } else { "ip6tables" },
                d.message
            )));
        }
        let fam = if family == Family::V4 { "v4" } else { "v6" };
        for t in imported.tables.iter().filter(|t| t.table == table) {
            let rs = &t.ruleset;
            let name = |c: &str| format!("{fam} {} {c}", table.name());
            for c in rs.chains.iter().filter(|c| chains.contains(&c.name)) {
                for r in &c.rules {
                    let kind = match &r.target {
                        Target::Return => Kind::Return,
                        Target::Jump(id) | Target::Goto(id) => Kind::Jump(name(&rs[*id].name)),
                        Target::Log(_) | Target::Nflog(_) => Kind::Log,
                        _ => Kind::Decides,
                    };
                    let counts = r.counters.as_deref().copied().unwrap_or_default();
                    out.push(Counted {
                        chain: name(&c.name),
                        comment: r.comment.clone().map(Into::into),
                        kind,
                        packets: counts.packets,
                        bytes: counts.bytes,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The counted rules of Rampart's nft tables, read by the nft reader.
fn read_nft() -> Result<Vec<Counted>, DeployError> {
    let mut out = Vec::new();
    for t in nft::present()? {
        let (family, name) = t.split_once(' ').expect("family and name");
        let text = iptables::run("nft", &["-j", "list", "table", family, name], None)?;
        let counted = read::nft::counters(&text).map_err(|e| {
            DeployError::Unreadable(format!("cannot read the counters `nft -j` printed: {e}"))
        })?;
        out.extend(elements(&text).map_err(|e| {
            DeployError::Unreadable(format!("cannot read the sets `nft -j` printed: {e}"))
        })?);
        for r in counted {
            let chain = |c: &str| format!("{} {} {c}", r.family, r.table);
            let kind = match &r.kind {
                Kind::Jump(to) => Kind::Jump(chain(to)),
                k => k.clone(),
            };
            out.push(Counted {
                chain: chain(&r.chain),
                comment: r.comment,
                kind,
                packets: r.packets,
                bytes: r.bytes,
            });
        }
    }
    Ok(out)
}

/// Why a policy rule has no kernel rule: the classifier form leaves out
/// rules that earlier deciding rules shadow entirely.
pub const NOT_LOADED: &str = "not in the ruleset: no packet can reach it";

/// Why a policy rule's count is not whole: it is (also) an element of an
/// nft set, whose rule counts for all its elements, or of a verdict map,
/// whose rule's counter holds only the packets no element took.
pub const MERGED: &str = "decides inside a merged nft lookup: those packets are not counted \
     alone (a set's are under shared, a verdict map counts none)";

/// Add each rule of `numbers` (the applied policy's) that the kernel holds
/// no counter of, with 0 packets and why: every policy rule is listed.
pub fn complete(t: &mut Tally, numbers: impl IntoIterator<Item = u32>) {
    let counted: BTreeSet<u32> = t.rules.iter().map(|h| h.rule).collect();
    for rule in numbers.into_iter().filter(|n| !counted.contains(n)) {
        let uncounted = Some(NOT_LOADED.to_owned());
        let (packets, bytes, ruleset, at) = (0, 0, None, None);
        t.rules.push(Hits { rule, comment: None, packets, bytes, ruleset, at, uncounted });
    }
    t.rules.sort_by_key(|h| h.rule);
}

/// The comments of the set and map elements of an `nft -j` listing that
/// decide in the lookup itself (not by `jump` or `goto` to a chain whose
/// rules count): as element entries (no chain, no counts) for [`tally`].
fn elements(text: &str) -> Result<Vec<Counted>, serde_json::Error> {
    fn walk(v: &serde_json::Value, out: &mut Vec<Counted>) {
        match v {
            serde_json::Value::Array(items) => {
                // A map element and its verdict: `[{"elem": ..}, {"goto": ..}]`.
                let to_chain = |d: &serde_json::Value| d.get("jump").or(d.get("goto")).is_some();
                if let [key, data] = &items[..]
                    && to_chain(data)
                    && key.get("elem").is_some()
                {
                    return;
                }
                items.iter().for_each(|i| walk(i, out));
            }
            serde_json::Value::Object(o) => {
                let comment = o.get("elem").and_then(|e| e.get("comment")?.as_str());
                if let Some(c) = comment {
                    let (chain, kind, packets, bytes) = (String::new(), Kind::Dispatch, 0, 0);
                    out.push(Counted { chain, comment: Some(c.to_owned()), kind, packets, bytes });
                }
                o.values().for_each(|i| walk(i, out));
            }
            _ => {}
        }
    }
    let doc: serde_json::Value = serde_json::from_str(text)?;
    let mut out = Vec::new();
    walk(&doc, &mut out);
    Ok(out)
}

/// Policy rules the kernel counts that matched nothing since load.
#[must_use]
pub fn never_hit(t: &Tally) -> BTreeSet<u32> {
    t.rules.iter().filter(|h| h.packets == 0 && h.uncounted.is_none()).map(|h| h.rule).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(chain: &str, comment: &str, kind: Kind, packets: u64) -> Counted {
        let comment = (!comment.is_empty()).then(|| comment.to_owned());
        Counted { chain: chain.into(), comment, kind, packets, bytes: packets * 100 }
    }

    #[test]
    fn each_packet_counts_once_per_policy_rule() {
        let jump = |c: &str| Kind::Jump(c.into());
        let rules = [
            // R7: two values, each a jump into its LOG-and-DROP chain.
            r("in", "R7: consoles", jump("RULE_7"), 3),
            r("in", "R7: consoles", jump("RULE_7"), 2),
            r("RULE_7", "R7: consoles", Kind::Log, 5),
            r("RULE_7", "R7: consoles", Kind::Decides, 5),
            // R12: negated services, RETURNs in its own chain.
            r("in", "R12: dmz", jump("R12_not"), 9),
            r("R12_not", "R12: dmz", Kind::Return, 6),
            r("R12_not", "R12: dmz", Kind::Decides, 3),
            // R5: a branch into another rule set, counted.
            r("in", "R5", jump("web"), 4),
            r("web", "R6: http", Kind::Decides, 1),
            // R9: logs only.
            r("in", "R9: watch", Kind::Log, 8),
            // A dispatch map, and a merged lookup.
            r("in", "", Kind::Dispatch, 50),
            r("in", "R1: a .. R2: b", Kind::Decides, 11),
            r("in", "R3", Kind::Decides, 0),
        ];
        let t = tally(&rules);
        let got: Vec<(u32, u64)> = t.rules.iter().map(|h| (h.rule, h.packets)).collect();
        assert_eq!(got, [(3, 0), (5, 4), (6, 1), (7, 5), (9, 8), (12, 3)]);
        assert_eq!(t.rules[3].comment.as_deref(), Some("consoles"));
        assert_eq!(t.rules[3].bytes, 500);
        assert_eq!(
            t.shared,
            [Shared { comment: "R1: a .. R2: b".into(), packets: 11, bytes: 1100 }]
        );
        assert_eq!(never_hit(&t), BTreeSet::from([3]));
        // R4 is not loaded; R2 also decides as an element of a lookup.
        let mut rules = rules.to_vec();
        rules.push(r("", "R2: b", Kind::Dispatch, 0));
        rules.push(r("in", "R2: b", Kind::Decides, 6));
        let mut t = tally(&rules);
        complete(&mut t, [2, 3, 4, 5]);
        let got: Vec<(u32, u64, Option<&str>)> =
            t.rules.iter().map(|h| (h.rule, h.packets, h.uncounted.as_deref())).collect();
        assert_eq!(
            got[..4],
            [(2, 6, Some(MERGED)), (3, 0, None), (4, 0, Some(NOT_LOADED)), (5, 4, None)]
        );
        assert_eq!(never_hit(&t), BTreeSet::from([3]));
    }
}
