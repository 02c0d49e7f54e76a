//! Anomalies between the rules of one chain (after Al-Shaer and Hamed's
//! classes). Each rule is a [`Space`]; a rule is compared only with the
//! earlier rules an [`Index`] finds overlapping it, never with all.

use std::collections::{BTreeMap, BTreeSet};

use rampart_ir::{Chain, Family, Match, Ruleset, Target};
use serde::Serialize;

use crate::space::{Bounds, DIMS, DST, SRC, Space};

/// What an anomaly says about `rule` and `others` (rule indexes in the
/// chain, from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Never matches: earlier rules (one, or several together) decide
    /// every packet it would, one of them otherwise.
    Shadowed,
    /// Removing it changes nothing: earlier rules with its own verdict
    /// cover it, or (for an earlier rule) a later rule with the same
    /// verdict covers it and nothing between decides its packets
    /// otherwise.
    Redundant,
    /// A later rule covers an earlier one with another verdict: usually
    /// an exception before a general rule, meant.
    Generalization,
    /// Two rules overlap in part with different verdicts: their order
    /// decides the overlap.
    Correlation,
}

impl Kind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Kind::Shadowed => "shadowed",
            Kind::Redundant => "redundant",
            Kind::Generalization => "generalization",
            Kind::Correlation => "correlation",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Anomaly {
    pub kind: Kind,
    pub chain: String,
    pub rule: usize,
    pub others: Vec<usize>,
}

/// How a rule ends a packet's walk, for comparing verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    Accept,
    Drop,
    Reject,
    /// Jumps, returns, NAT: decides some packets, not by a verdict here.
    Other,
}

fn decision(t: &Target) -> Option<Decision> {
    match t {
        Target::Accept => Some(Decision::Accept),
        Target::Drop => Some(Decision::Drop),
        Target::Reject(_) => Some(Decision::Reject),
        Target::Log(_) | Target::Nflog(_) | Target::None => None,
        _ => Some(Decision::Other),
    }
}

/// At most this many correlations or generalizations are kept per rule;
/// a catch-all otherwise generalizes every rule before it.
const PER_RULE: usize = 8;
/// Union cover gives up beyond this many fragments (no report then).
const MAX_FRAGMENTS: usize = 256;

/// The anomalies of every chain of `rs`, in both families, ordered.
#[must_use]
pub fn anomalies(rs: &Ruleset) -> Vec<Anomaly> {
    per_family(rs).anomalies()
}

/// What [`anomalies`] finds, family by family, and the rules each family
/// compared: one anomaly in one family says nothing of the other's packets.
pub(crate) struct PerFamily {
    pub(crate) found: Vec<(Family, Anomaly)>,
    /// (chain index, rule index, family) of every rule deciding some of
    /// that family's packets by a verdict.
    pub(crate) deciding: BTreeSet<(usize, usize, Family)>,
}

impl PerFamily {
    /// Each anomaly once, whichever families show it, ordered.
    pub(crate) fn anomalies(&self) -> Vec<Anomaly> {
        let mut out: Vec<Anomaly> = self.found.iter().map(|(_, a)| a.clone()).collect();
        out.sort();
        out.dedup();
        out
    }
}

pub(crate) fn per_family(rs: &Ruleset) -> PerFamily {
    let mut names: Vec<String> = rs
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.matches)
        .filter_map(|m| match m {
            Match::InIface(i) | Match::OutIface(i) => Some(&i.names),
            _ => None,
        })
        .flatten()
        .filter(|n| !n.ends_with('+'))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let mut out = PerFamily { found: Vec::new(), deciding: BTreeSet::new() };
    let mut deciding = Vec::new();
    for (c, chain) in rs.chains.iter().enumerate() {
        for family in [Family::V4, Family::V6] {
            deciding.clear();
            let found = chain_anomalies(chain, family, &names, &mut deciding);
            out.found.extend(found.into_iter().map(|a| (family, a)));
            out.deciding.extend(deciding.iter().map(|&i| (c, i, family)));
        }
    }
    out
}

fn chain_anomalies(
    chain: &Chain,
    family: Family,
    names: &[String],
    deciding: &mut Vec<usize>,
) -> Vec<Anomaly> {
    let b = Bounds::new(family, names.len());
    let mut out = Vec::new();
    // Rules that decide by a verdict, and the others (jumps, returns):
    // a verdict rule is compared with the first, the second only stand
    // between two rules that could be redundant.
    let mut index = Index::new(family);
    let mut passing = Index::new(family);
    let mut spaces: Vec<Option<(Space, Decision)>> = Vec::with_capacity(chain.rules.len());
    let mut hulls: Vec<Hull> = Vec::with_capacity(chain.rules.len());
    let (mut cand, mut found) = (Vec::new(), Vec::new());
    // Earlier rules already found redundant (reported once, for the
    // first later rule that covers them).
    let mut covered_later = vec![false; chain.rules.len()];
    for (j, rule) in chain.rules.iter().enumerate() {
        let me =
            decision(&rule.target).and_then(|d| Some((Space::of(rule, family, &b, names, j)?, d)));
        let Some((s, d)) = me else {
            spaces.push(None);
            hulls.push(Hull::NONE);
            continue;
        };
        if d != Decision::Other {
            deciding.push(j);
        }
        let h = Hull::of(&s);
        if d == Decision::Other {
            // Nothing is asked of a jump's earlier rules.
            passing.insert(j, &s);
            spaces.push(Some((s, d)));
            hulls.push(h);
            continue;
        }
        let meets = |i: usize, s: &Space, h: &Hull| {
            hulls[i].meets(h)
                && ((hulls[i].single && h.single)
                    || spaces[i].as_ref().is_some_and(|(e, _)| e.meets(s)))
        };
        index.candidates(&s, &mut cand);
        cand.retain(|&i| meets(i, &s, &h));
        // `a` within `b`, from the hulls where they are the spaces.
        let within = |a: (&Space, &Hull), b: (&Space, &Hull)| {
            if a.1.single && b.1.single && b.1.plain { a.1.within(b.1) } else { a.0.within(b.0) }
        };
        let anomaly =
            |kind, rule, others| Anomaly { kind, chain: chain.name.clone(), rule, others };
        // Covered: earlier decisive rules, one or several, take every packet.
        if let Some(by) = cover(&s, &cand, &spaces, &b) {
            let same = by.iter().all(|&i| spaces[i].as_ref().is_some_and(|(_, e)| *e == d));
            let kind = if same { Kind::Redundant } else { Kind::Shadowed };
            out.push(anomaly(kind, j, by));
            // It never matches: nothing to compare with later rules.
            spaces.push(None);
            hulls.push(Hull::NONE);
            continue;
        }
        let (mut general, mut cor) = (0, 0);
        for &i in &cand {
            let Some((e, ed)) = &spaces[i] else { continue };
            let inner = within((e, &hulls[i]), (&s, &h));
            if *ed == d {
                // An earlier rule this one covers with the same verdict
                // (and logging), nothing between deciding its packets
                // otherwise.
                if inner && chain.rules[i].log == rule.log && !covered_later[i] {
                    // A rule between them with another verdict (or
                    // none) meeting the earlier one; it meets this one
                    // too, which holds the earlier.
                    let between = [&mut index, &mut passing].into_iter().any(|x| {
                        x.candidates(e, &mut found);
                        found.iter().any(|&m| {
                            i < m
                                && spaces[m].as_ref().is_some_and(|(_, xd)| *xd != d)
                                && meets(m, e, &hulls[i])
                        })
                    });
                    if !between {
                        covered_later[i] = true;
                        out.push(anomaly(Kind::Redundant, i, vec![j]));
                    }
                }
            } else if inner && rule.origin.is_none_or(|o| o.rule != 0) {
                if general < PER_RULE {
                    out.push(anomaly(Kind::Generalization, i, vec![j]));
                }
                general += 1;
            } else if !inner && !within((&s, &h), (e, &hulls[i])) {
                if cor < PER_RULE {
                    out.push(anomaly(Kind::Correlation, j, vec![i]));
                }
                cor += 1;
            }
        }
        index.insert(j, &s);
        spaces.push(Some((s, d)));
        hulls.push(h);
    }
    out
}

/// A rule's smallest box: the hull of each dimension, kept apart from the
/// spaces so the comparisons with many candidates read one small array.
/// Where every dimension is one interval (`single`) the box is the space.
#[derive(Clone, Copy)]
struct Hull {
    /// Source and destination addresses.
    addrs: [(u128, u128); 2],
    /// The other dimensions: protocols, ports, ICMP, states, interface ids.
    rest: [(u32, u32); DIMS - 2],
    /// A rule compared with others (its space is kept).
    live: bool,
    single: bool,
    /// No opaque matches.
    plain: bool,
}

impl Hull {
    const NONE: Hull = Hull {
        addrs: [(0, 0); 2],
        rest: [(0, 0); DIMS - 2],
        live: false,
        single: true,
        plain: true,
    };

    fn of(s: &Space) -> Self {
        let hull = |d: usize| s.dims[d].hull().unwrap_or((1, 0));
        Self {
            addrs: [hull(SRC), hull(DST)],
            rest: std::array::from_fn(|d| {
                let (lo, hi) = hull(d + 2);
                (lo as u32, hi as u32)
            }),
            live: true,
            single: s.dims.iter().all(|r| r.parts().len() == 1),
            plain: s.opaque.is_empty(),
        }
    }

    fn meets(&self, o: &Self) -> bool {
        self.live
            && o.live
            && self.addrs.iter().zip(&o.addrs).all(|(a, b)| a.0 <= b.1 && b.0 <= a.1)
            && self.rest.iter().zip(&o.rest).all(|(a, b)| a.0 <= b.1 && b.0 <= a.1)
    }

    fn within(&self, o: &Self) -> bool {
        self.addrs.iter().zip(&o.addrs).all(|(a, b)| b.0 <= a.0 && a.1 <= b.1)
            && self.rest.iter().zip(&o.rest).all(|(a, b)| b.0 <= a.0 && a.1 <= b.1)
    }
}

/// The earlier rules that together cover `s`, in order, when they do:
/// `s` minus each verdict rule in turn, until nothing is left.
fn cover(
    s: &Space,
    cand: &[usize],
    spaces: &[Option<(Space, Decision)>],
    b: &Bounds,
) -> Option<Vec<usize>> {
    // Most covered rules are covered by the first rule they meet.
    let first = cand
        .iter()
        .copied()
        .find(|&i| spaces[i].as_ref().is_some_and(|(e, _)| e.opaque.is_subset(&s.opaque)));
    if let Some(i) = first
        && spaces[i].as_ref().is_some_and(|(e, _)| s.within(e))
    {
        return Some(vec![i]);
    }
    let mut left = vec![s.clone()];
    let mut by = Vec::new();
    for &i in cand {
        let Some((e, _)) = &spaces[i] else { continue };
        if !e.opaque.is_subset(&s.opaque) {
            continue;
        }
        let before = left.len();
        let mut next = Vec::with_capacity(left.len());
        let mut cut = false;
        for piece in &left {
            if piece.meets(e) {
                cut = true;
                next.extend(piece.minus(e, b));
            } else {
                next.push(piece.clone());
            }
        }
        if cut {
            by.push(i);
            left = next;
        }
        if left.is_empty() {
            return Some(by);
        }
        if left.len() > MAX_FRAGMENTS.max(before) {
            return None;
        }
    }
    None
}

/// Earlier rules filed by the aligned blocks (prefixes) that hold all
/// their source and all their destination addresses. Two rules can
/// overlap only if in both columns one block holds the other, so a new
/// rule's candidates are the rules filed under its blocks' ancestors or
/// descendants in both columns at once: a rule that excludes one source
/// (`not h`, filed under the whole space) is found only by the rules to
/// its own destination.
struct Index {
    width: u8,
    /// (source length, destination length, source network, destination
    /// network) → rules.
    by: BTreeMap<(u8, u8, u128, u128), Vec<usize>>,
    /// The (source, destination) prefix lengths in use.
    lens: BTreeSet<(u8, u8)>,
    /// Scratch space for [`in_order`].
    seen: Vec<u64>,
}

impl Index {
    fn new(family: Family) -> Self {
        let width = if family == Family::V4 { 32 } else { 128 };
        Self { width, by: BTreeMap::new(), lens: BTreeSet::new(), seen: Vec::new() }
    }

    /// The smallest aligned block holding a column's addresses.
    fn block(&self, s: &Space, dim: usize) -> (u8, u128) {
        let (lo, hi) = s.dims[dim].hull().unwrap_or((0, 0));
        let diff = lo ^ hi;
        let free = if diff == 0 { 0 } else { 128 - diff.leading_zeros() };
        let len = u32::from(self.width).saturating_sub(free) as u8;
        (len, mask(lo, self.width - len))
    }

    fn insert(&mut self, i: usize, s: &Space) {
        let ((ls, src), (ld, dst)) = (self.block(s, SRC), self.block(s, DST));
        self.by.entry((ls, ld, src, dst)).or_default().push(i);
        self.lens.insert((ls, ld));
    }

    /// Earlier rules whose blocks could overlap `s`'s, in rule order.
    fn candidates(&mut self, s: &Space, out: &mut Vec<usize>) {
        out.clear();
        let ((ls, src), (ld, dst)) = (self.block(s, SRC), self.block(s, DST));
        let (src_end, dst_end) = (src | low_bits(self.width - ls), dst | low_bits(self.width - ld));
        for &(l, m) in &self.lens {
            if l <= ls {
                // The source block holds this one's: one network.
                let net = mask(src, self.width - l);
                if m <= ld {
                    if let Some(v) = self.by.get(&(l, m, net, mask(dst, self.width - m))) {
                        out.extend(v);
                    }
                } else {
                    for v in self.by.range((l, m, net, dst)..=(l, m, net, dst_end)).map(|e| e.1) {
                        out.extend(v);
                    }
                }
            } else {
                // Inside this one's source block: the destination decides.
                let held = |d: u128| {
                    if m <= ld { d == mask(dst, self.width - m) } else { dst <= d && d <= dst_end }
                };
                for (_, v) in self
                    .by
                    .range((l, m, src, 0)..=(l, m, src_end, u128::MAX))
                    .filter(|((_, _, _, d), _)| held(*d))
                {
                    out.extend(v);
                }
            }
        }
        in_order(out, &mut self.seen);
    }
}

/// `v` (distinct rule indexes) in rule order. Many candidates are put in
/// order through a bit set of all rules, faster than sorting them.
fn in_order(v: &mut Vec<usize>, bits: &mut Vec<u64>) {
    let Some(&max) = v.iter().max() else { return };
    if v.len() < 64 {
        v.sort_unstable();
        return;
    }
    let words = max / 64 + 1;
    bits.clear();
    bits.resize(words, 0);
    for &i in v.iter() {
        bits[i / 64] |= 1 << (i % 64);
    }
    v.clear();
    for (w, &word) in bits.iter().enumerate() {
        let mut b = word;
        while b != 0 {
            v.push(w * 64 + b.trailing_zeros() as usize);
            b &= b - 1;
        }
    }
}

/// `v` with its `host` lowest bits cleared.
fn mask(v: u128, host: u8) -> u128 {
    v & !low_bits(host)
}

fn low_bits(n: u8) -> u128 {
    if n >= 128 { u128::MAX } else { (1u128 << n) - 1 }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rampart_ir::Family;

    use super::Index;
    use crate::ranges::Ranges;
    use crate::space::{Bounds, DST, SRC, Space};

    /// A column: every address, a block of 10.0/16, or all but one.
    fn column() -> impl Strategy<Value = Ranges> {
        (0u8..3, 16u32..=32, any::<u16>()).prop_map(|(kind, len, low)| {
            let net = (0x0a00_0000 | u32::from(low)) & (u32::MAX << (32 - len));
            let block = Ranges::span(
                u128::from(net),
                u128::from(net | (u32::MAX.checked_shr(len).unwrap_or(0))),
            );
            match kind {
                0 => Ranges::span(0, u32::MAX.into()),
                1 => block,
                _ => block.complement(u32::MAX.into()),
            }
        })
    }

    proptest! {
        /// Every earlier rule that meets a new one is among its
        /// candidates, in rule order.
        #[test]
        fn the_index_misses_no_overlap(rules in proptest::collection::vec((column(), column()), 1..40)) {
            let b = Bounds::new(Family::V4, 0);
            let spaces: Vec<Space> = rules
                .into_iter()
                .map(|(src, dst)| {
                    let mut s = Space::full(&b);
                    s.dims[SRC] = src;
                    s.dims[DST] = dst;
                    s
                })
                .collect();
            let mut index = Index::new(Family::V4);
            let mut cand = Vec::new();
            for (j, s) in spaces.iter().enumerate() {
                index.candidates(s, &mut cand);
                prop_assert!(cand.windows(2).all(|w| w[0] < w[1]), "{:?}", cand);
                for (i, e) in spaces[..j].iter().enumerate() {
                    prop_assert!(!e.meets(s) || cand.contains(&i), "rule {} meets {} unfound", i, j);
                }
                index.insert(j, s);
            }
        }
    }
}
