//! Where the rules of a ruleset cut each dimension of the packet space:
//! between two cuts every rule treats all values alike, so one packet per
//! piece stands for the whole piece and the evaluator's answer for it is
//! exact for all.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Included};

use rampart_ir::{Family, Match, Ruleset};

use crate::ranges::Ranges;
use crate::space::{Bounds, DIMS, Space};

/// The cut points of each dimension (a piece starts at each), and of
/// the owner match's user and group ids.
#[derive(Clone, Debug)]
pub struct Cuts {
    pub family: Family,
    bounds: Bounds,
    dims: [BTreeSet<u128>; DIMS],
    ids: [BTreeSet<u128>; 2],
}

impl Cuts {
    /// The cuts of every rule of `rs` in `family`.
    #[must_use]
    pub fn of(rs: &Ruleset, family: Family) -> Self {
        let bounds = Bounds::new(family, 0);
        let mut c = Self {
            family,
            dims: std::array::from_fn(|_| BTreeSet::new()),
            ids: [BTreeSet::new(), BTreeSet::new()],
            bounds,
        };
        for chain in &rs.chains {
            for (i, rule) in chain.rules.iter().enumerate() {
                if let Some(s) = Space::of(rule, family, &c.bounds, &[], i) {
                    for d in 0..DIMS {
                        c.add(d, &s.dims[d]);
                    }
                }
                for m in &rule.matches {
                    if let Match::Owner(o) = m {
                        for (k, r) in [o.uid, o.gid].into_iter().enumerate() {
                            if let Some(r) = r {
                                let r = Ranges::span(r.first.into(), r.last.into());
                                add(&mut c.ids[k], &r, u32::MAX.into());
                            }
                        }
                    }
                }
            }
        }
        c
    }

    /// Cut dimension `dim` also at the edges of `r`.
    pub fn add(&mut self, dim: usize, r: &Ranges) {
        add(&mut self.dims[dim], r, self.bounds.0[dim]);
    }

    /// The largest value of `dim`.
    #[must_use]
    pub fn max(&self, dim: usize) -> u128 {
        self.bounds.0[dim]
    }

    /// `within` cut into pieces, in order.
    #[must_use]
    pub fn pieces(&self, dim: usize, within: &Ranges) -> Vec<(u128, u128)> {
        split(&self.dims[dim], within)
    }

    /// The pieces of the user ids (`0`) or group ids (`1`) the owner
    /// matches tell apart.
    #[must_use]
    pub fn id_pieces(&self, which: usize) -> Vec<(u128, u128)> {
        split(&self.ids[which], &Ranges::span(0, u32::MAX.into()))
    }
}

fn add(cuts: &mut BTreeSet<u128>, r: &Ranges, max: u128) {
    for &(lo, hi) in r.parts() {
        cuts.insert(lo);
        if hi < max {
            cuts.insert(hi + 1);
        }
    }
}

fn split(cuts: &BTreeSet<u128>, within: &Ranges) -> Vec<(u128, u128)> {
    let mut out = Vec::new();
    for &(lo, hi) in within.parts() {
        let mut start = lo;
        for &c in cuts.range((Excluded(lo), Included(hi))) {
            out.push((start, c - 1));
            start = c;
        }
        out.push((start, hi));
    }
    out
}
