//! Runs of rules that differ only in single values become one rule over a
//! set (same verdict) or a verdict map (different verdicts).
//!
//! A long list of "this host, this port: accept" rules is what nft loads and
//! evaluates slowest, one rule at a time; as one set lookup it loads several
//! times faster and costs one hash lookup per packet. First-match order is
//! kept: the run is contiguous, a packet meets at most one element (keys
//! are exact values, or one interval each that overlaps no other), and a
//! repeated key keeps the first rule's verdict — only where that verdict
//! ends the rule list, so a repeated jump, log or counter ends the run.

use std::collections::{BTreeMap, BTreeSet};

use crate::expr::{Expr, Kind, NftRule};

/// Shorter runs stay rules: a set of two or three reads worse than rules.
const MIN_RUN: usize = 4;

/// A chain line before set names are known.
pub(crate) enum Line {
    Rule(NftRule),
    Merged(Merged),
    /// A `#` line (a rule left out).
    Note(String),
}

pub(crate) struct Merged {
    /// The run's first rule: its matches outside `keys` are the run's.
    pub(crate) first: NftRule,
    /// Positions in `first.matches` that become the lookup key.
    pub(crate) keys: Vec<usize>,
    pub(crate) kinds: Vec<Kind>,
    /// Per element: key parts, verdict (maps only), comment.
    pub(crate) elems: Vec<(Vec<String>, Option<String>, Option<String>)>,
    pub(crate) vmap: bool,
    /// Some key is an interval: the set needs `flags interval`.
    pub(crate) interval: bool,
    /// Comment of the whole rule: the run's first and last comments.
    pub(crate) comment: Option<String>,
}

/// Group a chain's lines.
pub(crate) fn lines(items: Vec<Line>) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Vec<NftRule> = Vec::new();
    for item in items {
        match item {
            Line::Rule(r) => pending.push(r),
            other => {
                flush(&mut pending, &mut out);
                out.push(other);
            }
        }
    }
    flush(&mut pending, &mut out);
    out
}

fn flush(rules: &mut Vec<NftRule>, out: &mut Vec<Line>) {
    let rules = std::mem::take(rules);
    let mut i = 0;
    while i < rules.len() {
        let run = run_at(&rules[i..]);
        if let Some((keys, len, vmap)) = run.filter(|r| r.1 >= MIN_RUN) {
            out.push(Line::Merged(merge(&rules[i..i + len], keys, vmap)));
            i += len;
        } else {
            out.push(Line::Rule(rules[i].clone()));
            i += 1;
        }
    }
}

/// A single value on the right (exact, or one interval when `interval`):
/// usable as a key part.
fn key_part(e: &Expr, interval: bool) -> Option<(&'static str, Kind, &str)> {
    match e {
        Expr::Cmp { lhs, neg: false, list }
            if list.elems.items.len() == 1
                && (interval || !list.elems.interval)
                && !list.elems.items[0].contains('*') =>
        {
            Some((lhs, list.kind, &list.elems.items[0]))
        }
        _ => None,
    }
}

/// The one interval of a key part, as numbers.
fn key_range(e: &Expr) -> Option<(u128, u128)> {
    match e {
        Expr::Cmp { list, .. } => list.elems.ranges.first().copied(),
        Expr::Raw(_) => None,
    }
}

/// Whether the rule list ends at this verdict, so that a second rule with
/// the same key could never be reached.
fn ends(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        ["accept", "drop", "return"].contains(&v)
            || v.starts_with("goto ")
            || v.starts_with("reject")
    })
}

fn can_vmap(r: &NftRule) -> bool {
    r.stmts.is_empty()
        && r.verdict.as_deref().is_some_and(|v| {
            ["accept", "drop", "return"].contains(&v)
                || v.starts_with("jump ")
                || v.starts_with("goto ")
        })
}

/// The longest run starting at `rules[0]`: key positions, length, and
/// whether it needs a verdict map.
fn run_at(rules: &[NftRule]) -> Option<(Vec<usize>, usize, bool)> {
    let [a, b, ..] = rules else { return None };
    if a.matches.len() != b.matches.len() || a.stateful || b.stateful {
        return None;
    }
    let keys: Vec<usize> = (0..a.matches.len()).filter(|&p| a.matches[p] != b.matches[p]).collect();
    if keys.is_empty() {
        return None;
    }
    // Intervals only as a key of one part, where overlaps are cheap to see.
    let interval = keys.len() == 1;
    let fits = |r: &NftRule| {
        !r.stateful
            && r.matches.len() == a.matches.len()
            && (0..a.matches.len()).all(|p| {
                if keys.contains(&p) {
                    match (key_part(&a.matches[p], interval), key_part(&r.matches[p], interval)) {
                        (Some((l1, k1, _)), Some((l2, k2, _))) => l1 == l2 && k1 == k2,
                        _ => false,
                    }
                } else {
                    a.matches[p] == r.matches[p]
                }
            })
    };
    let same = |r: &NftRule| r.stmts == a.stmts && r.verdict == a.verdict;
    let mut len = 0;
    let mut vmap = false;
    let mut seen: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut spans: BTreeMap<u128, u128> = BTreeMap::new();
    let mut all_end = true;
    for r in rules {
        if !fits(r) {
            break;
        }
        let parts: Vec<&str> =
            keys.iter().filter_map(|&p| key_part(&r.matches[p], interval).map(|k| k.2)).collect();
        if seen.contains(&parts) {
            // Only the first is reached in the map; in the chain, the later
            // one is reached too unless the first ended the list.
            if !all_end {
                break;
            }
        } else if let Some((lo, hi)) = interval.then(|| key_range(&r.matches[keys[0]])).flatten() {
            let below = spans.range(..=hi).next_back();
            if below.is_some_and(|(_, &end)| end >= lo) {
                break;
            }
            spans.insert(lo, hi);
        }
        seen.insert(parts);
        all_end &= r.stmts.is_empty() && ends(r.verdict.as_deref());
        if !same(r) {
            // Different verdicts: only a verdict map holds them, and every
            // rule so far must fit one.
            if !(can_vmap(r) && rules[..len].iter().all(can_vmap)) {
                break;
            }
            vmap = true;
        }
        len += 1;
    }
    Some((keys, len, vmap))
}

fn merge(run: &[NftRule], keys: Vec<usize>, vmap: bool) -> Merged {
    let first = run[0].clone();
    let interval = keys.len() == 1;
    let kinds =
        keys.iter().filter_map(|&p| key_part(&first.matches[p], interval).map(|k| k.1)).collect();
    let ranges = keys.len() == 1
        && run
            .iter()
            .any(|r| matches!(&r.matches[keys[0]], Expr::Cmp { list, .. } if list.elems.interval));
    let mut seen = BTreeSet::new();
    let mut elems = Vec::new();
    for r in run {
        let parts: Vec<String> = keys
            .iter()
            .filter_map(|&p| key_part(&r.matches[p], interval).map(|k| k.2.to_owned()))
            .collect();
        // A repeated key: the first rule wins, as in the chain.
        if seen.insert(parts.clone()) {
            elems.push((
                parts,
                vmap.then(|| r.verdict.clone().unwrap_or_default()),
                r.comment.clone(),
            ));
        }
    }
    let comment = match (&first.comment, &run[run.len() - 1].comment) {
        (Some(a), Some(b)) if a != b => Some(format!("{a} .. {b}")),
        (a, _) => a.clone(),
    };
    Merged { first, keys, kinds, elems, vmap, interval: ranges, comment }
}
