//! Runs of rules that differ only in single values become one rule over a
//! set (same verdict) or a verdict map (different verdicts).
//!
//! A long list of "this host, this port: accept" rules is what nft loads and
//! evaluates slowest, one rule at a time; as one set lookup it loads several
//! times faster and costs one hash lookup per packet. First-match order is
//! kept: the run is contiguous, a packet meets at most one element (keys
//! are exact values, or intervals and boxes of intervals that overlap no
//! other), and a
//! repeated key keeps the first rule's verdict — only where that verdict
//! ends the rule list, so a repeated jump, log or counter ends the run.

use std::collections::{BTreeMap, BTreeSet};

use crate::expr::{Expr, Kind, NftRule};

/// Shorter runs stay rules: a set of two or three reads worse than rules.
const MIN_RUN: usize = 4;
/// Keys of several parts with intervals are checked element against
/// element: such runs stay this short.
const BOX_RUN_MAX: usize = 1024;

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

/// A single value on the right (exact or one interval): usable as a key
/// part.
fn key_part(e: &Expr) -> Option<(&'static str, Kind, &str)> {
    match e {
        Expr::Cmp { lhs, neg: false, list }
            if list.elems.items.len() == 1
                && list.elems.ranges.len() <= 1
                && !list.elems.items[0].contains('*') =>
        {
            Some((lhs, list.kind, &list.elems.items[0]))
        }
        _ => None,
    }
}

/// A key part as an element of a set: conntrack states, a bit mask in a
/// rule, are one value or a range of values there (in nft's order of
/// states, a packet has exactly one).
fn elem(e: &Expr) -> Option<String> {
    let (_, kind, text) = key_part(e)?;
    match (kind, key_range(e)) {
        (Kind::CtState, Some((lo, hi))) if lo != hi => {
            let value = |i: u128| [1u32, 2, 4, 8, 64].get(i as usize).copied().unwrap_or(64);
            Some(format!("0x{:08x}-0x{:08x}", value(lo), value(hi)))
        }
        _ => Some(text.to_owned()),
    }
}

fn is_interval(e: &Expr) -> bool {
    matches!(e, Expr::Cmp { list, .. } if list.elems.interval)
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

/// The longest run starting at `rules[0]`: key positions (every position
/// where its rules differ), length, and whether it needs a verdict map.
fn run_at(rules: &[NftRule]) -> Option<(Vec<usize>, usize, bool)> {
    let [a, b, ..] = rules else { return None };
    let width = a.matches.len();
    if b.matches.len() != width || a.matches == b.matches || a.stateful || b.stateful {
        return None;
    }
    let kind = |e: &Expr| key_part(e).map(|k| (k.0, k.1));
    // The rules of the same shape: equal but for key parts of one kind,
    // and verdicts one set or one verdict map can give.
    let mut is_key = vec![false; width];
    let mut len = 0;
    let mut all_vmap = true;
    for r in rules {
        let differ = !r.stateful
            && r.matches.len() == width
            && (0..width).all(|p| {
                r.matches[p] == a.matches[p]
                    || kind(&a.matches[p]).is_some_and(|k| kind(&r.matches[p]) == Some(k))
            });
        if !differ || !(same_verdict(a, r) || (all_vmap && can_vmap(r))) {
            break;
        }
        all_vmap &= can_vmap(r);
        for (p, k) in is_key.iter_mut().enumerate() {
            *k |= r.matches[p] != a.matches[p];
        }
        len += 1;
    }
    let keys: Vec<usize> = (0..width).filter(|&p| is_key[p]).collect();
    // Then no element may shadow another unseen: the same key again only
    // after rules that all end the list, intervals never overlapping.
    let boxes = keys.len() > 1
        && rules[..len].iter().any(|r| keys.iter().any(|&p| is_interval(&r.matches[p])));
    let mut seen: BTreeSet<Vec<&str>> = BTreeSet::new();
    let mut spans: BTreeMap<u128, u128> = BTreeMap::new();
    let mut placed: Vec<Vec<(u128, u128)>> = Vec::new();
    let mut all_end = true;
    let mut vmap = false;
    for (n, r) in rules[..len].iter().enumerate() {
        let parts: Vec<&str> =
            keys.iter().filter_map(|&p| key_part(&r.matches[p]).map(|k| k.2)).collect();
        if seen.contains(&parts) {
            // Only the first is reached in the map; in the chain, the later
            // one is reached too unless the first ended the list.
            if !all_end {
                return Some((keys, n, vmap));
            }
        } else if keys.len() == 1 {
            let Some((lo, hi)) = key_range(&r.matches[keys[0]]) else {
                return Some((keys, n, vmap));
            };
            let below = spans.range(..=hi).next_back();
            if below.is_some_and(|(_, &end)| end >= lo) {
                return Some((keys, n, vmap));
            }
            spans.insert(lo, hi);
        } else if boxes {
            let b: Vec<(u128, u128)> =
                keys.iter().filter_map(|&p| key_range(&r.matches[p])).collect();
            let overlap =
                |x: &Vec<(u128, u128)>| x.iter().zip(&b).all(|(x, y)| x.0 <= y.1 && y.0 <= x.1);
            if n == BOX_RUN_MAX || b.len() != keys.len() || placed.iter().any(overlap) {
                return Some((keys, n, vmap));
            }
            placed.push(b);
        }
        seen.insert(parts);
        all_end &= r.stmts.is_empty() && ends(r.verdict.as_deref());
        vmap |= !same_verdict(a, r);
    }
    Some((keys, len, vmap))
}

fn same_verdict(a: &NftRule, r: &NftRule) -> bool {
    r.stmts == a.stmts && r.verdict == a.verdict
}

fn merge(run: &[NftRule], keys: Vec<usize>, vmap: bool) -> Merged {
    let first = run[0].clone();
    let kinds = keys.iter().filter_map(|&p| key_part(&first.matches[p]).map(|k| k.1)).collect();
    let ranges = run.iter().any(|r| keys.iter().any(|&p| is_interval(&r.matches[p])));
    let mut seen = BTreeSet::new();
    let mut elems = Vec::new();
    for r in run {
        let parts: Vec<String> = keys.iter().filter_map(|&p| elem(&r.matches[p])).collect();
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
