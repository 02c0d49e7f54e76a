//! The leaves of the classifier tree as one lookup: a run of rules that
//! match IPv4 TCP or UDP by source, destination, destination port and
//! conntrack state becomes boxes of `ip saddr . ip daddr . tcp dport . ct
//! state` that do not overlap, each mapped to what the first rule there
//! does (`merge.rs` writes the run of boxes as one verdict map).
//!
//! A box is cut so that every rule of the run either holds all of it or
//! none of it. Its verdict is the first rule's own when that rule decides
//! alone (no other match, a plain accept or drop, or a jump to a chain that
//! decides every packet, as a rule's `log-limit` chain); otherwise a `goto` to a
//! chain holding, in order, the rules there up to the first that decides
//! (a logged or rejecting rule, rules with other matches), or a `jump`
//! when none decides, so that the packet goes on after the map as it went
//! on after the run. Their key matches are left out of that chain: the box
//! already holds them. So each rule is met at most once per packet, as in
//! the linear form, and logs and counts as itself.
//!
//! Only rules that can match nothing outside the key (IPv4, the protocol,
//! not a fragment) join a run, so packets the map cannot look up skip no
//! rule that could have matched them. A `return` or `goto` ends a run: in
//! a chain reached by `jump` it would mean something else.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, ChainId, CtStates, Family, Match, PortMatch, PortSet, Proto,
    Rule, Target,
};
use rustc_hash::FxHashMap;

use crate::elems;

/// Rules per map: the decomposition's work grows with their square.
const RUN_MAX: usize = 512;
/// A map may hold this many boxes per rule of its run (plus `SLACK`).
const BOXES_PER_RULE: usize = 4;
const SLACK: usize = 16;

type Range = (u128, u128);
/// Conntrack states in nft's order (that of their values).
const NFT_STATES: [u8; 5] = [
    CtStates::INVALID,
    CtStates::ESTABLISHED,
    CtStates::RELATED,
    CtStates::NEW,
    CtStates::UNTRACKED,
];

/// Source, destination, destination port, conntrack state (its position
/// in `NFT_STATES`: a packet has exactly one).
type Region = [Range; DIMS];
const DIMS: usize = 4;
const CT: usize = 3;

/// A region and the rules (positions in the run) met there, in order.
type Cell = (Region, Vec<usize>);

const ALL: Region = [(0, 0xffff_ffff), (0, 0xffff_ffff), (0, 0xffff), (0, 4)];

/// A rule's key space, each dimension sorted and merged.
struct Keyed {
    proto: Proto,
    dims: [Vec<Range>; DIMS],
    /// No match outside the key, and a verdict that ends the chain.
    decides: bool,
}

/// A leaf's rules, runs of keyed rules replaced by boxes; `chain` makes a
/// chain of the given rules and returns its id.
pub(crate) fn leaf(
    rules: &[&Rule],
    ends: &dyn Fn(ChainId) -> bool,
    chain: &mut dyn FnMut(Vec<Rule>) -> ChainId,
) -> Vec<Rule> {
    let mut out = Vec::with_capacity(rules.len());
    let mut i = 0;
    while i < rules.len() {
        match Run::at(&rules[i..], 2, ends) {
            Some(run) => {
                for group in run.rules(&rules[i..], chain) {
                    out.extend(group.rules);
                }
                i += run.len();
            }
            None => {
                out.push(rules[i].clone());
                i += 1;
            }
        }
    }
    out
}

/// The boxes of a run of keyed rules.
pub(crate) struct Run {
    keyed: Vec<Keyed>,
    /// Per protocol.
    boxes: Vec<Vec<Cell>>,
}

/// The box rules of one protocol: one verdict map's elements.
pub(crate) struct Group {
    /// The protocol's number and whether the key holds the conntrack
    /// state: boxes of the same kind can share one map.
    pub(crate) kind: (u8, bool),
    pub(crate) rules: Vec<Rule>,
}

impl Run {
    /// The run that starts `rules`, if it has `min` rules or more;
    /// `ends` tells the chains that decide every packet they get.
    pub(crate) fn at(rules: &[&Rule], min: usize, ends: &dyn Fn(ChainId) -> bool) -> Option<Run> {
        let keyed: Vec<Keyed> = rules.iter().take(RUN_MAX).map_while(|r| keyed(r, ends)).collect();
        if keyed.len() < min.max(1) {
            return None;
        }
        let boxes = boxes(&keyed)?;
        Some(Run { keyed, boxes })
    }

    /// How many rules the run holds.
    pub(crate) fn len(&self) -> usize {
        self.keyed.len()
    }

    /// How many boxes the run has.
    pub(crate) fn size(&self) -> usize {
        self.boxes.iter().map(Vec::len).sum()
    }

    /// Only what lies within `keys` (sorted, apart) in dimension `dim`
    /// (0 source, 1 destination, 2 port of `proto`): the run as met by
    /// packets that a lookup sent there.
    pub(crate) fn narrow(&mut self, dim: usize, keys: &[Range], proto: Option<Proto>) {
        for (p, cells) in self.protos().into_iter().zip(&mut self.boxes) {
            if proto.is_some_and(|q| q != p) {
                cells.clear();
                continue;
            }
            *cells = std::mem::take(cells)
                .into_iter()
                .flat_map(|(region, list)| {
                    intersect(&[region[dim]], keys).into_iter().map(move |r| {
                        let mut sub = region;
                        sub[dim] = r;
                        (sub, list.clone())
                    })
                })
                .collect();
        }
    }

    fn protos(&self) -> Vec<Proto> {
        protos(&self.keyed)
    }

    /// One rule per box, per protocol; `rules` starts with the run's rules.
    pub(crate) fn rules(
        &self,
        rules: &[&Rule],
        chain: &mut dyn FnMut(Vec<Rule>) -> ChainId,
    ) -> Vec<Group> {
        let ct = self.keyed.iter().any(|k| k.dims[CT] != [ALL[CT]]);
        let run = &rules[..self.len()];
        self.protos()
            .into_iter()
            .zip(&self.boxes)
            .map(|(p, bxs)| Group {
                kind: (p.number(), ct),
                rules: materialize(run, &self.keyed, bxs, ct, chain),
            })
            .collect()
    }
}

/// What of `rule` the key describes; `None` when it cannot join a run.
fn keyed(rule: &Rule, ends: &dyn Fn(ChainId) -> bool) -> Option<Keyed> {
    let decides = match rule.target {
        Target::Accept | Target::Drop | Target::Reject(_) => true,
        // A rule's own chain that logs then decides (`log-limit`).
        Target::Jump(id) => ends(id),
        Target::Log(_) | Target::Nflog(_) | Target::None => false,
        _ => return None,
    };
    let mut proto = None;
    let mut has_port = false;
    let mut v4_only = false;
    let mut other = false;
    let mut dims = ALL.map(|r| vec![r]);
    for m in &rule.matches {
        let (d, ranges) = match m {
            Match::Proto { neg: false, proto: p @ (Proto::Tcp | Proto::Udp) } => {
                proto = Some(*p);
                continue;
            }
            Match::Src(a) | Match::Dst(a) => {
                let d = usize::from(matches!(m, Match::Dst(_)));
                v4_only |= !a.neg && a.set.items.iter().all(|i| i.family() == Family::V4);
                (d, addr_ranges(a))
            }
            Match::Dport(p) => {
                has_port = true;
                let ranges = elems::ports(&p.set.ranges).ranges;
                (2, if p.neg { complement(&ranges, ALL[2]) } else { ranges })
            }
            Match::State { neg, states } => {
                let ranges: Vec<Range> = (0..NFT_STATES.len())
                    .filter(|&i| states.contains(NFT_STATES[i]))
                    .map(|i| (i as u128, i as u128))
                    .collect();
                (CT, if *neg { complement(&ranges, ALL[CT]) } else { ranges })
            }
            _ => {
                other = true;
                continue;
            }
        };
        dims[d] = intersect(&dims[d], &ranges);
    }
    let proto = proto.filter(|_| has_port && v4_only)?;
    Some(Keyed { proto, dims, decides: decides && !other })
}

fn addr_ranges(a: &AddrMatch) -> Vec<Range> {
    let v4: Vec<AddrItem> =
        a.set.items.iter().copied().filter(|i| i.family() == Family::V4).collect();
    let ranges = elems::addrs(&v4, Family::V4).ranges;
    if a.neg { complement(&ranges, ALL[0]) } else { ranges }
}

/// `within` less the sorted, merged `ranges`.
fn complement(ranges: &[Range], within: Range) -> Vec<Range> {
    let mut out = Vec::new();
    let mut from = within.0;
    for &(lo, hi) in ranges {
        if lo > from {
            out.push((from, lo - 1));
        }
        from = from.max(hi.saturating_add(1));
    }
    if from <= within.1 {
        out.push((from, within.1));
    }
    out
}

fn intersect(a: &[Range], b: &[Range]) -> Vec<Range> {
    let mut out: Vec<Range> = a
        .iter()
        .flat_map(|x| {
            b.iter().filter_map(move |y| {
                let (lo, hi) = (x.0.max(y.0), x.1.min(y.1));
                (lo <= hi).then_some((lo, hi))
            })
        })
        .collect();
    out.sort_unstable();
    out
}

fn touches(ranges: &[Range], r: Range) -> bool {
    ranges.iter().any(|x| x.0 <= r.1 && r.0 <= x.1)
}

fn holds(ranges: &[Range], r: Range) -> bool {
    ranges.iter().any(|x| x.0 <= r.0 && r.1 <= x.1)
}

/// The run's protocols, in order of their numbers.
fn protos(run: &[Keyed]) -> Vec<Proto> {
    let mut protos: Vec<Proto> = run.iter().map(|k| k.proto).collect();
    protos.sort_unstable_by_key(|p| p.number());
    protos.dedup();
    protos
}

/// The boxes of each protocol of the run, with the rules (positions in the
/// run) met there; `None` when there would be too many.
fn boxes(run: &[Keyed]) -> Option<Vec<Vec<Cell>>> {
    let mut out = Vec::new();
    for proto in protos(run) {
        let cands: Vec<usize> = (0..run.len())
            .filter(|&i| {
                run[i].proto == proto && (0..DIMS).all(|d| touches(&run[i].dims[d], ALL[d]))
            })
            .collect();
        let mut cut = Cutter { run, out: Vec::new(), budget: BOXES_PER_RULE * cands.len() + SLACK };
        if !cut.split(ALL, &cands) {
            return None;
        }
        out.push(joined(cut.out));
    }
    Some(out)
}

struct Cutter<'k> {
    run: &'k [Keyed],
    out: Vec<Cell>,
    budget: usize,
}

impl Cutter<'_> {
    /// Cut `region` until each piece is held whole by the rules that meet
    /// it; false when over budget.
    fn split(&mut self, region: Region, cands: &[usize]) -> bool {
        let mut list = Vec::new();
        for &i in cands {
            let k = &self.run[i];
            if let Some(d) = (0..DIMS).find(|&d| !holds(&k.dims[d], region[d])) {
                for piece in pieces(&k.dims[d], region[d]) {
                    let mut sub = region;
                    sub[d] = piece;
                    let inside: Vec<usize> = cands
                        .iter()
                        .copied()
                        .filter(|&j| (0..DIMS).all(|e| touches(&self.run[j].dims[e], sub[e])))
                        .collect();
                    if !self.split(sub, &inside) {
                        return false;
                    }
                }
                return true;
            }
            list.push(i);
            if k.decides {
                break;
            }
        }
        if list.is_empty() {
            return true;
        }
        self.out.push((region, list));
        self.out.len() <= self.budget
    }
}

/// `r` cut at the edges of `ranges`.
fn pieces(ranges: &[Range], r: Range) -> Vec<Range> {
    let mut out = Vec::new();
    let mut from = r.0;
    for &(lo, hi) in ranges {
        if hi < from || lo > r.1 {
            continue;
        }
        if lo > from {
            out.push((from, lo - 1));
        }
        let end = hi.min(r.1);
        out.push((lo.max(from), end));
        from = end.saturating_add(1);
        if end == r.1 {
            return out;
        }
    }
    if from <= r.1 {
        out.push((from, r.1));
    }
    out
}

/// Neighbouring boxes with the same rules, joined; in a fixed order.
fn joined(mut boxes: Vec<Cell>) -> Vec<Cell> {
    for d in (0..DIMS).rev() {
        let mut groups: FxHashMap<(Vec<Range>, Vec<usize>), Vec<Range>> = FxHashMap::default();
        for (region, list) in boxes {
            let rest: Vec<Range> = (0..DIMS).filter(|&e| e != d).map(|e| region[e]).collect();
            groups.entry((rest, list)).or_default().push(region[d]);
        }
        boxes = Vec::new();
        for ((rest, list), mut ranges) in groups {
            ranges.sort_unstable();
            let mut merged: Vec<Range> = Vec::new();
            for r in ranges {
                match merged.last_mut() {
                    Some(m) if m.1.checked_add(1) == Some(r.0) => m.1 = r.1,
                    _ => merged.push(r),
                }
            }
            for r in merged {
                let mut region = [(0, 0); DIMS];
                let mut others = rest.iter();
                for (e, slot) in region.iter_mut().enumerate() {
                    *slot = if e == d { r } else { *others.next().unwrap_or(&(0, 0)) };
                }
                boxes.push((region, list.clone()));
            }
        }
    }
    boxes.sort_unstable();
    boxes
}

/// One rule per box: its key, and the verdict or the chain of its rules.
fn materialize(
    rules: &[&Rule],
    run: &[Keyed],
    boxes: &[Cell],
    ct: bool,
    chain: &mut dyn FnMut(Vec<Rule>) -> ChainId,
) -> Vec<Rule> {
    let mut chains: BTreeMap<&[usize], ChainId> = BTreeMap::new();
    let mut out = Vec::with_capacity(boxes.len());
    for (region, list) in boxes {
        let first = rules[list[0]];
        let target = match (list.as_slice(), &first.target) {
            ([_], Target::Accept | Target::Drop | Target::Jump(_))
                if first.log.is_none() && run[list[0]].decides =>
            {
                first.target.clone()
            }
            _ => {
                let id = *chains.entry(list).or_insert_with(|| {
                    chain(list.iter().map(|&i| without_key(rules[i], ct)).collect())
                });
                if run[list[list.len() - 1]].decides { Target::Goto(id) } else { Target::Jump(id) }
            }
        };
        let mut key = key(run[list[0]].proto, region);
        if ct {
            let bits = (region[CT].0..=region[CT].1).map(|i| NFT_STATES[i as usize]);
            key.push(Match::State { neg: false, states: CtStates(bits.fold(0, |a, b| a | b)) });
        }
        let mut r = Rule::new(key, target);
        r.comment.clone_from(&first.comment);
        r.origin = first.origin;
        out.push(r);
    }
    out
}

fn key(proto: Proto, region: &Region) -> Vec<Match> {
    let v4 = |x: u128| IpAddr::V4(Ipv4Addr::from_bits(u32::try_from(x).unwrap_or(u32::MAX)));
    let addr = |(lo, hi): Range| AddrMatch {
        neg: false,
        set: AddrSet::one(AddrItem::Range(v4(lo), v4(hi))).into(),
    };
    let port = |x: u128| u16::try_from(x).unwrap_or(u16::MAX);
    vec![
        Match::Src(addr(region[0])),
        Match::Dst(addr(region[1])),
        Match::Proto { neg: false, proto },
        Match::Dport(PortMatch {
            neg: false,
            set: PortSet { name: None, ranges: vec![(port(region[2].0), port(region[2].1))] }
                .into(),
        }),
    ]
}

/// The rule as met inside a box: its key matches hold there.
fn without_key(rule: &Rule, ct: bool) -> Rule {
    let mut r = rule.clone();
    r.matches.retain(|m| match m {
        Match::Src(_) | Match::Dst(_) | Match::Dport(_) => false,
        Match::State { .. } => !ct,
        _ => true,
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_range_in_order() {
        assert_eq!(
            pieces(&[(5, 7), (10, 12)], (0, 20)),
            [(0, 4), (5, 7), (8, 9), (10, 12), (13, 20)]
        );
        assert_eq!(pieces(&[(0, 7)], (3, 9)), [(3, 7), (8, 9)]);
        assert_eq!(complement(&[(0, 3), (8, 9)], (0, 9)), [(4, 7)]);
    }
}
