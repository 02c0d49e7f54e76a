//! The index of a compiled chain: which rules can match a packet, found
//! without looking at the others.
//!
//! A chain (or the part of it an index level leaves) is indexed on the
//! field that most of its rules constrain — destination, source, destination
//! port or protocol. The field's value space is cut into intervals, each
//! listing the rules that can match there, in order; the rules that do not
//! constrain the field are indexed the same way on the remaining fields. A
//! packet gets one list per level, merged in rule order as it is walked, so
//! first-match order is kept and no list is built.

use std::net::IpAddr;

use rampart_ir::{AddrItem, Match, Rule};

/// What the index looks at in a packet, as the compiled evaluator
/// prepared it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys {
    pub(crate) src: Option<IpAddr>,
    pub(crate) dst: Option<IpAddr>,
    pub(crate) proto: Option<u8>,
    pub(crate) has_ports: Option<bool>,
    pub(crate) dport: Option<u16>,
}

/// The field a chain is indexed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Dst,
    Src,
    Dport,
    Proto,
}

const FIELDS: [Field; 4] = [Field::Dst, Field::Src, Field::Dport, Field::Proto];

/// Inclusive key ranges a rule can match on one field.
type Ranges = Vec<(u64, u64)>;

/// A key no rule interval covers: a packet without ports, for `Dport`.
const NO_PORTS: u64 = 1 << 40;

/// Candidate rules of one chain (or of a subset of it), in rule order.
#[derive(Debug)]
pub(crate) enum Cands {
    List(Vec<u32>),
    Index(Box<Index>),
}

impl Cands {
    /// Subsets smaller than this are scanned.
    const MIN_RULES: usize = 16;

    /// The index of a whole chain.
    pub(crate) fn new(rules: &[Rule]) -> Self {
        Self::build(rules, (0..u32::try_from(rules.len()).unwrap_or(u32::MAX)).collect(), &[])
    }

    /// Candidates among `ids` (ascending rule indexes), indexed on the most
    /// selective field not in `used`; the rules that do not constrain that
    /// field are indexed the same way on the remaining fields.
    fn build(rules: &[Rule], ids: Vec<u32>, used: &[Field]) -> Self {
        if ids.len() < Self::MIN_RULES {
            return Cands::List(ids);
        }
        let best = FIELDS
            .iter()
            .filter(|f| !used.contains(f))
            .filter_map(|f| Index::build(rules, &ids, *f))
            .min_by(|a, b| a.cost().total_cmp(&b.cost()));
        match best {
            Some(mut ix) if ix.cost() < ids.len() as f64 / 2.0 => {
                let mut used = used.to_vec();
                used.push(ix.field);
                let rest = std::mem::take(&mut ix.rest_ids);
                ix.rest = Cands::build(rules, rest, &used);
                Cands::Index(Box::new(ix))
            }
            _ => Cands::List(ids),
        }
    }

    /// Adds the sorted lists whose union holds every candidate for `p`;
    /// `false` when a field the index needs is not given (every rule is a
    /// candidate then).
    pub(crate) fn collect<'a>(&'a self, p: &Keys, out: &mut Lists<'a>) -> bool {
        match self {
            Cands::List(ids) => {
                out.push(ids);
                true
            }
            Cands::Index(ix) => {
                let Some(key) = ix.key(p) else { return false };
                let i = ix.bounds.partition_point(|b| *b <= key) - 1;
                out.push(&ix.lists[ix.offsets[i] as usize..ix.offsets[i + 1] as usize]);
                ix.rest.collect(p, out)
            }
        }
    }
}

/// The candidate lists of one chain visit, at most one per index level
/// plus the last level's list; kept on the stack and merged as the walk
/// asks for the next rule. The lists are disjoint (a rule sits in one level).
#[derive(Default)]
pub(crate) struct Lists<'a> {
    heads: [&'a [u32]; FIELDS.len() + 1],
    n: usize,
}

impl<'a> Lists<'a> {
    fn push(&mut self, l: &'a [u32]) {
        if !l.is_empty() {
            self.heads[self.n] = l;
            self.n += 1;
        }
    }

    /// The lowest rule index left, taken off its list.
    #[inline]
    pub(crate) fn next(&mut self) -> Option<u32> {
        if self.n == 0 {
            return None;
        }
        let mut k = 0;
        for j in 1..self.n {
            if self.heads[j][0] < self.heads[k][0] {
                k = j;
            }
        }
        let (&r, rest) = self.heads[k].split_first()?;
        self.heads[k] = rest;
        if rest.is_empty() {
            self.n -= 1;
            self.heads[k] = self.heads[self.n];
        }
        Some(r)
    }
}

/// Rules by interval of one field's value.
#[derive(Debug)]
pub(crate) struct Index {
    field: Field,
    /// Rules that do not constrain the field (only while building).
    rest_ids: Vec<u32>,
    rest: Cands,
    /// Interval starts, ascending; interval i is `[bounds[i], bounds[i+1])`.
    bounds: Vec<u64>,
    /// `lists[offsets[i]..offsets[i+1]]`: rules constrained to interval i.
    offsets: Vec<u32>,
    lists: Vec<u32>,
}

impl Index {
    fn build(rules: &[Rule], ids: &[u32], field: Field) -> Option<Self> {
        let cons: Vec<(u32, Option<Ranges>)> =
            ids.iter().map(|&i| (i, constraint(&rules[i as usize], field))).collect();
        let constrained = cons.iter().filter(|(_, c)| c.is_some()).count();
        if constrained * 4 < ids.len() {
            return None;
        }
        let mut bounds: Vec<u64> = vec![0];
        for (lo, hi) in cons.iter().filter_map(|(_, c)| c.as_ref()).flatten() {
            bounds.push(*lo);
            bounds.push(hi.saturating_add(1));
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); bounds.len()];
        let mut rest_ids = Vec::new();
        // Wide rules would be copied into many intervals; past this budget
        // they are treated as unconstrained (still correct, just slower).
        let mut budget = 16 * ids.len() + 4096;
        for (idx, c) in cons {
            let Some(ranges) = c else {
                rest_ids.push(idx);
                continue;
            };
            let spans: Vec<(usize, usize)> = ranges
                .iter()
                .map(|(lo, hi)| {
                    let a = bounds.partition_point(|b| b < lo);
                    let e = bounds.partition_point(|b| *b < hi.saturating_add(1));
                    (a, e.max(a + 1).min(bounds.len()))
                })
                .collect();
            let cost: usize = spans.iter().map(|(a, e)| e - a).sum();
            if cost > budget {
                rest_ids.push(idx);
                continue;
            }
            budget -= cost;
            for (a, e) in spans {
                for l in &mut lists[a..e] {
                    if l.last() != Some(&idx) {
                        l.push(idx);
                    }
                }
            }
        }
        let mut offsets = vec![0u32];
        let mut flat = Vec::new();
        for l in lists {
            flat.extend(l);
            offsets.push(u32::try_from(flat.len()).unwrap_or(u32::MAX));
        }
        Some(Self { field, rest_ids, rest: Cands::List(vec![]), bounds, offsets, lists: flat })
    }

    /// Expected candidates per packet: the unconstrained rules plus the
    /// average interval's list (before the unconstrained are indexed).
    fn cost(&self) -> f64 {
        let nonempty = self.offsets.windows(2).filter(|w| w[1] > w[0]).count().max(1);
        self.rest_ids.len() as f64 + self.lists.len() as f64 / nonempty as f64
    }

    fn key(&self, p: &Keys) -> Option<u64> {
        match self.field {
            Field::Dst | Field::Src => match if self.field == Field::Dst { p.dst } else { p.src } {
                Some(IpAddr::V4(a)) => Some(u64::from(a.to_bits())),
                _ => None,
            },
            Field::Dport => match (p.has_ports, p.dport) {
                (Some(false), _) => Some(NO_PORTS),
                (Some(true), Some(d)) => Some(u64::from(d)),
                _ => None,
            },
            Field::Proto => p.proto.map(u64::from),
        }
    }
}

/// The values of `field` a rule can match, as inclusive ranges; `None`
/// when the rule does not constrain it (or only through a negation).
fn constraint(r: &Rule, field: Field) -> Option<Vec<(u64, u64)>> {
    r.matches.iter().find_map(|m| match (field, m) {
        (Field::Dst, Match::Dst(a)) | (Field::Src, Match::Src(a)) if !a.neg => Some(
            a.set
                .items
                .iter()
                .filter_map(|i| match key_range(*i) {
                    KeyRange::V4(lo, hi) => Some((u64::from(lo), u64::from(hi))),
                    KeyRange::V6(..) => None,
                })
                .collect(),
        ),
        (Field::Dport, Match::Dport(p)) if !p.neg => {
            Some(p.set.ranges.iter().map(|&(a, b)| (u64::from(a), u64::from(b))).collect())
        }
        (Field::Proto, Match::Proto { neg: false, proto }) => {
            let n = u64::from(proto.number());
            Some(vec![(n, n)])
        }
        _ => None,
    })
}

/// An address item as an inclusive range of keys, by family.
pub(crate) enum KeyRange {
    V4(u32, u32),
    V6(u128, u128),
}

pub(crate) fn key_range(item: AddrItem) -> KeyRange {
    match item {
        AddrItem::Net(ipnet::IpNet::V4(n)) => {
            KeyRange::V4(n.network().to_bits(), n.broadcast().to_bits())
        }
        AddrItem::Net(ipnet::IpNet::V6(n)) => {
            KeyRange::V6(n.network().to_bits(), n.broadcast().to_bits())
        }
        AddrItem::Range(IpAddr::V4(a), IpAddr::V4(b)) => KeyRange::V4(a.to_bits(), b.to_bits()),
        AddrItem::Range(IpAddr::V6(a), IpAddr::V6(b)) => KeyRange::V6(a.to_bits(), b.to_bits()),
        // Mixed-family ranges cannot be built by the readers; match nothing.
        AddrItem::Range(..) => KeyRange::V6(1, 0),
    }
}
