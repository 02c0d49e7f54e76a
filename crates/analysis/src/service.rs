//! A service matrix in the terms of "Verified iptables Firewall
//! Analysis": for one chain of any ruleset and one service (protocol,
//! source and destination port, a new connection), the coarsest
//! partition of the address space whose members the chain treats alike
//! as sources and as destinations, and the (source, destination) class
//! pairs it accepts.
//!
//! Matches other than the addresses are decided by trace's evaluator on
//! the service's packet. Where it cannot decide one (interfaces, rates,
//! unknown modules, marks a rule may have set), or a target is not
//! modelled, the rule is taken both ways: the accepted pairs are an upper
//! closure, every pair trace may accept is among them, each such match is
//! listed with how it was treated.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rampart_ir::{
    AddrMatch, ChainId, ChainKind, Family, Match, Policy, Rule, Ruleset, Table, Target,
};
use rampart_trace::{Packet, Tri};
use serde::Serialize;

use crate::ranges::Ranges;
use crate::space::items;

/// The packet's fields besides the addresses.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ServiceMatrix {
    pub chain: String,
    pub classes: Vec<Class>,
    /// (source class, destination class) pairs accepted.
    pub allowed: Vec<(String, String)>,
    /// The matches and targets taken both ways.
    pub approximated: Vec<Approximated>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Class {
    pub name: String,
    /// `10.0.0.0-10.0.0.255`, `192.0.2.7`.
    pub ranges: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Approximated {
    pub chain: String,
    /// From 1, as `iptables -L --line-numbers` counts.
    pub rule: usize,
    pub text: String,
    pub why: &'static str,
    pub treated: &'static str,
}

/// Chains nested deeper than this are refused (the kernel stops earlier).
const DEPTH: usize = 64;

/// The service matrix of built-in filter chain `chain` of `rs`.
///
/// # Errors
/// When the chain is not a built-in chain of the filter table, or jumps
/// nest deeper than [`DEPTH`].
pub fn service_matrix(
    rs: &Ruleset,
    family: Family,
    chain: &str,
    svc: Service,
) -> Result<ServiceMatrix, String> {
    let start = rs
        .chains
        .iter()
        .position(|c| c.name == chain && c.table == Table::Filter)
        .ok_or_else(|| format!("the filter table has no chain {chain}"))?;
    let ChainKind::Builtin { hook, policy } = rs.chains[start].kind else {
        return Err(format!(
            "{chain} is a user chain: give a built-in chain (INPUT, FORWARD, OUTPUT)"
        ));
    };
    let mut packet = Packet::new(hook);
    packet.proto = Some(svc.proto);
    packet.sport = svc.sport;
    packet.dport = svc.dport;
    let max = match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    };
    // A mark a rule sets may differ from packet to packet.
    let marks_set = rs
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .any(|r| matches!(r.target, Target::Mark(_) | Target::Connmark(_)));
    let mut approximated = Vec::new();
    let mut rules: HashMap<(usize, usize), Reduced> = HashMap::new();
    for c in reachable(rs, start) {
        for (i, rule) in rs.chains[c].rules.iter().enumerate() {
            let r = reduce(rule, &packet, family, max, marks_set);
            if r.cond == Cond::Never {
                continue;
            }
            for (m, why) in &r.undecided {
                let text =
                    rampart_ir::format_rule(rs, &Rule::new(vec![m.clone()], Target::None), family);
                approximated.push(Approximated {
                    chain: rs.chains[c].name.clone(),
                    rule: i + 1,
                    text,
                    why,
                    treated: "may match: taken both ways (upper closure)",
                });
            }
            if !known_target(&rule.target) {
                approximated.push(Approximated {
                    chain: rs.chains[c].name.clone(),
                    rule: i + 1,
                    text: rampart_ir::format_rule(
                        rs,
                        &Rule::new(vec![], rule.target.clone()),
                        family,
                    ),
                    why: "a target Rampart does not model",
                    treated: "may accept and may go on (upper closure)",
                });
            }
            rules.insert((c, i), r);
        }
    }
    let src = Partition::new(rules.values().map(|r| &r.src), max);
    let dst = Partition::new(rules.values().map(|r| &r.dst), max);
    let regions: HashMap<(usize, usize), Region> = rules
        .iter()
        .map(|(&k, r)| {
            (k, Region { cond: r.cond, rows: src.groups_of(&r.src), cols: dst.mask_of(&r.dst) })
        })
        .collect();
    let walk = Walk { rs, regions: &regions, rows: src.count, words: dst.count.div_ceil(64) };
    let mut accepted = Grid::new(src.count, walk.words);
    let active = Grid::full(src.count, dst.count);
    let left = walk.chain(start, active, &mut accepted, 0)?;
    if policy == Policy::Accept {
        accepted.or(&left);
    }
    Ok(classes(chain, &accepted, &src, &dst, family, approximated))
}

/// Whether a rule matches the service's packets, apart from addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    Never,
    Always,
    Maybe,
}

struct Reduced {
    cond: Cond,
    src: Ranges,
    dst: Ranges,
    undecided: Vec<(Match, &'static str)>,
}

fn reduce(rule: &Rule, p: &Packet, family: Family, max: u128, marks_set: bool) -> Reduced {
    let full = Ranges::span(0, max);
    let mut r = Reduced { cond: Cond::Always, src: full.clone(), dst: full, undecided: Vec::new() };
    let addrs = |a: &AddrMatch| {
        let set = items(&a.set.items, family);
        if a.neg { set.complement(max) } else { set }
    };
    for m in &rule.matches {
        match m {
            Match::Src(a) => r.src = r.src.intersect(&addrs(a)),
            Match::Dst(a) => r.dst = r.dst.intersect(&addrs(a)),
            Match::Mark { .. } if marks_set => {
                r.cond = Cond::Maybe;
                r.undecided.push((m.clone(), "a MARK or CONNMARK rule may have changed the mark"));
            }
            _ => match rampart_trace::matches::eval(m, p) {
                Tri::True => {}
                Tri::False => r.cond = Cond::Never,
                Tri::Unknown(why) => {
                    if r.cond == Cond::Always {
                        r.cond = Cond::Maybe;
                    }
                    r.undecided.push((m.clone(), why.fact()));
                }
            },
        }
        if r.cond == Cond::Never || r.src.is_empty() || r.dst.is_empty() {
            r.cond = Cond::Never;
            break;
        }
    }
    r
}

/// Targets whose effect on the walk is modelled.
fn known_target(t: &Target) -> bool {
    matches!(
        t,
        Target::Accept
            | Target::Drop
            | Target::Reject(_)
            | Target::Return
            | Target::Jump(_)
            | Target::Goto(_)
            | Target::Log(_)
            | Target::Nflog(_)
            | Target::Mark(_)
            | Target::Connmark(_)
            | Target::None
    )
}

/// The chains a walk from `start` can enter.
fn reachable(rs: &Ruleset, start: usize) -> Vec<usize> {
    let mut seen = vec![false; rs.chains.len()];
    let mut todo = vec![start];
    while let Some(c) = todo.pop() {
        if std::mem::replace(&mut seen[c], true) {
            continue;
        }
        for r in &rs.chains[c].rules {
            if let Target::Jump(ChainId(n)) | Target::Goto(ChainId(n)) = r.target {
                todo.push(n);
            }
        }
    }
    (0..rs.chains.len()).filter(|&c| seen[c]).collect()
}

/// The pieces of one address column the rules cut, and groups of pieces
/// every rule treats alike (in all of a rule's sets or none).
struct Partition {
    /// Where each piece starts, from 0.
    starts: Vec<u128>,
    group: Vec<usize>,
    count: usize,
}

impl Partition {
    fn new<'a>(sets: impl Iterator<Item = &'a Ranges> + Clone, max: u128) -> Self {
        let mut starts = vec![0];
        for s in sets.clone() {
            for &(lo, hi) in s.parts() {
                starts.push(lo);
                if hi < max {
                    starts.push(hi + 1);
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let mut p = Self { group: vec![0; starts.len()], starts, count: 1 };
        // Refine: the pieces of a group inside a set become a new group.
        for s in sets {
            let mut split: HashMap<usize, usize> = HashMap::new();
            let inside: Vec<usize> = p.pieces(s).collect();
            for k in inside {
                let old = p.group[k];
                let next = p.count + split.len();
                p.group[k] = *split.entry(old).or_insert(next);
            }
            p.count += split.len();
        }
        // Number the groups left in use from 0, in address order.
        let mut ids: HashMap<usize, usize> = HashMap::new();
        for g in &mut p.group {
            let n = ids.len();
            *g = *ids.entry(*g).or_insert(n);
        }
        p.count = ids.len();
        p
    }

    /// The pieces of `s`, by index.
    fn pieces<'a>(&'a self, s: &'a Ranges) -> impl Iterator<Item = usize> + 'a {
        s.parts().iter().flat_map(|&(lo, hi)| {
            let first = self.starts.partition_point(|&x| x < lo);
            let end = self.starts.partition_point(|&x| x <= hi);
            first..end
        })
    }

    fn groups_of(&self, s: &Ranges) -> Vec<usize> {
        let mut g: Vec<usize> = self.pieces(s).map(|k| self.group[k]).collect();
        g.sort_unstable();
        g.dedup();
        g
    }

    fn mask_of(&self, s: &Ranges) -> Vec<u64> {
        let mut m = vec![0u64; self.count.div_ceil(64)];
        for k in self.pieces(s) {
            let g = self.group[k];
            m[g / 64] |= 1 << (g % 64);
        }
        m
    }
}

/// A rule's packets: source groups (rows) by destination groups.
struct Region {
    cond: Cond,
    rows: Vec<usize>,
    cols: Vec<u64>,
}

/// A set of (source group, destination group) cells.
#[derive(Clone)]
struct Grid {
    words: usize,
    bits: Vec<u64>,
}

impl Grid {
    fn new(rows: usize, words: usize) -> Self {
        Self { words, bits: vec![0; rows * words] }
    }

    fn full(rows: usize, cols: usize) -> Self {
        let words = cols.div_ceil(64);
        let mut g = Self::new(rows, words);
        for r in 0..rows {
            for c in 0..cols {
                g.bits[r * words + c / 64] |= 1 << (c % 64);
            }
        }
        g
    }

    fn row(&self, r: usize) -> &[u64] {
        &self.bits[r * self.words..(r + 1) * self.words]
    }

    fn row_mut(&mut self, r: usize) -> &mut [u64] {
        &mut self.bits[r * self.words..(r + 1) * self.words]
    }

    fn or(&mut self, o: &Grid) {
        self.bits.iter_mut().zip(&o.bits).for_each(|(a, b)| *a |= b);
    }

    fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    fn get(&self, r: usize, c: usize) -> bool {
        self.bits[r * self.words + c / 64] & (1 << (c % 64)) != 0
    }
}

struct Walk<'a> {
    rs: &'a Ruleset,
    regions: &'a HashMap<(usize, usize), Region>,
    rows: usize,
    words: usize,
}

impl Walk<'_> {
    /// Walks `active` through chain `c`, adding what may be accepted to
    /// `accepted`; returns the cells that may leave the chain (its end or
    /// a RETURN) back to the caller.
    fn chain(
        &self,
        c: usize,
        mut active: Grid,
        accepted: &mut Grid,
        depth: usize,
    ) -> Result<Grid, String> {
        if depth > DEPTH {
            return Err(format!("jumps nest deeper than {DEPTH} chains"));
        }
        let mut back = Grid::new(self.rows, self.words);
        for (i, rule) in self.rs.chains[c].rules.iter().enumerate() {
            let Some(reg) = self.regions.get(&(c, i)) else { continue };
            let sure = reg.cond == Cond::Always;
            match &rule.target {
                Target::Log(_)
                | Target::Nflog(_)
                | Target::Mark(_)
                | Target::Connmark(_)
                | Target::None
                | Target::Drop
                | Target::Reject(_) => {}
                Target::Jump(ChainId(n)) | Target::Goto(ChainId(n)) => {
                    let mut m = Grid::new(self.rows, self.words);
                    add_hit(&mut m, &active, reg);
                    if m.is_empty() {
                        continue;
                    }
                    let out = self.chain(*n, m, accepted, depth + 1)?;
                    if sure {
                        remove(&mut active, reg);
                    }
                    if matches!(rule.target, Target::Goto(_)) {
                        back.or(&out);
                    } else {
                        active.or(&out);
                    }
                    continue;
                }
                Target::Return => add_hit(&mut back, &active, reg),
                // Accept, and the targets not modelled: they may accept.
                _ => add_hit(accepted, &active, reg),
            }
            if sure && stops(&rule.target) {
                remove(&mut active, reg);
            }
        }
        back.or(&active);
        Ok(back)
    }
}

/// Whether a rule that matches ends the walk through its chain.
fn stops(t: &Target) -> bool {
    matches!(t, Target::Accept | Target::Drop | Target::Reject(_) | Target::Return)
}

/// `into` plus the cells of `active` in `reg`.
fn add_hit(into: &mut Grid, active: &Grid, reg: &Region) {
    for &r in &reg.rows {
        let row = active.row(r);
        for ((w, a), b) in into.row_mut(r).iter_mut().zip(row).zip(&reg.cols) {
            *w |= a & b;
        }
    }
}

fn remove(active: &mut Grid, reg: &Region) {
    for &r in &reg.rows {
        for (a, b) in active.row_mut(r).iter_mut().zip(&reg.cols) {
            *a &= !b;
        }
    }
}

/// The classes: addresses alike as sources (the same row) and as
/// destinations (the same column), named `a`, `b`, … in address order.
fn classes(
    chain: &str,
    acc: &Grid,
    src: &Partition,
    dst: &Partition,
    family: Family,
    approximated: Vec<Approximated>,
) -> ServiceMatrix {
    let mut row_ids: HashMap<&[u64], usize> = HashMap::new();
    let rows: Vec<usize> = (0..src.count)
        .map(|r| {
            let n = row_ids.len();
            *row_ids.entry(acc.row(r)).or_insert(n)
        })
        .collect();
    // A column over one row of each kind.
    let mut reps = vec![usize::MAX; row_ids.len()];
    for (r, &id) in rows.iter().enumerate().rev() {
        reps[id] = r;
    }
    let mut col_ids: HashMap<Vec<bool>, usize> = HashMap::new();
    let cols: Vec<usize> = (0..dst.count)
        .map(|c| {
            let n = col_ids.len();
            *col_ids.entry(reps.iter().map(|&r| acc.get(r, c)).collect()).or_insert(n)
        })
        .collect();
    // Every cut of either column, and each piece's groups.
    let mut starts: Vec<u128> = src.starts.iter().chain(&dst.starts).copied().collect();
    starts.sort_unstable();
    starts.dedup();
    let max = match family {
        Family::V4 => u128::from(u32::MAX),
        Family::V6 => u128::MAX,
    };
    let mut key_class: HashMap<(usize, usize), usize> = HashMap::new();
    let mut out: Vec<Found> = Vec::new();
    for (k, &lo) in starts.iter().enumerate() {
        let hi = starts.get(k + 1).map_or(max, |n| n - 1);
        let gs = src.group[src.starts.partition_point(|&x| x <= lo) - 1];
        let gd = dst.group[dst.starts.partition_point(|&x| x <= lo) - 1];
        let n = key_class.len();
        let class = *key_class.entry((rows[gs], cols[gd])).or_insert(n);
        if class == out.len() {
            out.push(Found { ranges: Vec::new(), src: gs, dst: gd });
        }
        let ranges = &mut out[class].ranges;
        match ranges.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(lo) => last.1 = hi,
            _ => ranges.push((lo, hi)),
        }
    }
    let names: Vec<String> = (0..out.len()).map(name).collect();
    let mut allowed = Vec::new();
    for (a, x) in out.iter().enumerate() {
        for (b, y) in out.iter().enumerate() {
            if acc.get(x.src, y.dst) {
                allowed.push((names[a].clone(), names[b].clone()));
            }
        }
    }
    ServiceMatrix {
        chain: chain.to_owned(),
        classes: out
            .iter()
            .zip(&names)
            .map(|(f, n)| Class {
                name: n.clone(),
                ranges: f.ranges.iter().map(|&(lo, hi)| range_text(lo, hi, family)).collect(),
            })
            .collect(),
        allowed,
        approximated,
    }
}

/// A class's ranges, and a source and a destination group of it.
struct Found {
    ranges: Vec<(u128, u128)>,
    src: usize,
    dst: usize,
}

/// `a`…`z`, `aa`, `ab`…
fn name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn addr(v: u128, family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(v as u32)),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(v)),
    }
}

fn range_text(lo: u128, hi: u128, family: Family) -> String {
    if lo == hi {
        addr(lo, family).to_string()
    } else {
        format!("{}-{}", addr(lo, family), addr(hi, family))
    }
}
