//! The compiled evaluator: the IR turned once into numbers and indexes, so
//! that tracing a packet compares integers, never strings.
//!
//! - Interface names and patterns are interned; a packet's interfaces are
//!   matched against every distinct pattern once, up front, and rules test
//!   bits.
//! - Each long chain gets an index on the field that most of its rules
//!   constrain (destination, source, destination port or protocol): the
//!   field's value space is cut into intervals, each listing the rules that
//!   can match there, in order. Rules that do not constrain the field are
//!   candidates everywhere. A packet visits only the candidates of its
//!   interval, merged in rule order, so first-match order is kept.
//!
//! The walk itself is [`crate::eval`]'s; a property test holds this matcher
//! to the straightforward one on random rulesets and packets.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rampart_ir::{
    AddrItem, AddrMatch, IcmpMatch, IdRange, Match, OwnerMatch, PortMatch, Ruleset, icmp,
    iface_matches,
};

use crate::eval::{Act, Engine, RuleRef, Trace, Visit, act, explore};
use crate::matches::{Tri, Why};
use crate::packet::{Hook, Packet};

/// A ruleset compiled for fast tracing. Build once with [`Compiled::new`],
/// then [`Compiled::trace`] any number of packets.
#[derive(Debug)]
pub struct Compiled {
    rs: Ruleset,
    chains: Vec<CChain>,
    /// Built-in chain per hook (input, output, forward).
    starts: [Option<usize>; 3],
    /// Distinct interface patterns (`eth0`, `vnet+`) across all rules.
    patterns: Vec<String>,
    /// Every rule's tests, rule after rule.
    tests: Vec<Test>,
}

#[derive(Debug)]
struct CChain {
    /// Each rule's tests: `tests[first..first + len]` of [`Compiled`], so
    /// that all tests sit in one array; 8 bytes a rule, read per candidate.
    rules: Vec<(u32, u32)>,
    /// Each rule's target, read only when the rule matches.
    acts: Vec<Act>,
    cands: Cands,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    In,
    Out,
}

#[derive(Debug)]
enum Test {
    /// The common case: one IPv4 network or range.
    Addr4 {
        dst: bool,
        neg: bool,
        lo: u32,
        hi: u32,
    },
    /// Several items or IPv6 (rich-form sets): kept out of line.
    Addr(Box<AddrTest>),
    Iface {
        side: Side,
        neg: bool,
        pats: Box<[u32]>,
    },
    Proto {
        neg: bool,
        n: u8,
    },
    /// The common case: one port or range.
    Port1 {
        which: PortField,
        neg: bool,
        lo: u16,
        hi: u16,
    },
    Port {
        which: PortField,
        neg: bool,
        ranges: Box<[(u16, u16)]>,
    },
    Icmp {
        neg: bool,
        proto: u8,
        m: IcmpMatch,
    },
    State {
        neg: bool,
        bits: u8,
    },
    Owner(Box<OwnerMatch>),
    Physdev(Box<CPhysdev>),
    TcpFlags {
        neg: bool,
        mask: u8,
        comp: u8,
    },
    Mark {
        neg: bool,
        value: u32,
        mask: u32,
    },
    True,
    Undecidable,
}

#[derive(Debug)]
struct AddrTest {
    dst: bool,
    neg: bool,
    v4: Box<[(u32, u32)]>,
    v6: Box<[(u128, u128)]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortField {
    Src,
    Dst,
    Any,
}

#[derive(Debug)]
struct CPhysdev {
    phys_in: Option<(bool, u32)>,
    phys_out: Option<(bool, u32)>,
    is_in: Option<bool>,
    is_out: Option<bool>,
    is_bridged: Option<bool>,
}

/// A packet prepared for one ruleset: interface names replaced by the set of
/// patterns they match.
#[derive(Clone, Debug)]
pub struct Prepared {
    hook: Hook,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    proto: Option<u8>,
    has_ports: Option<bool>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp: Option<(u8, Option<u8>)>,
    tcp_flags: Option<u8>,
    state: u8,
    uid: Option<u32>,
    gid: Option<u32>,
    mark: u32,
    in_pats: Option<Box<[bool]>>,
    out_pats: Option<Box<[bool]>>,
    via_bridge: bool,
    has_physin: bool,
    has_physout: bool,
    physin_pats: Option<Box<[bool]>>,
    physout_pats: Option<Box<[bool]>>,
}

impl Compiled {
    /// Compiles a ruleset. Check it first with [`crate::check`]: jumps to
    /// missing chains become unknown targets here.
    #[must_use]
    pub fn new(rs: &Ruleset) -> Self {
        let mut patterns: BTreeMap<String, u32> = BTreeMap::new();
        let mut intern = |s: &str| {
            let n = u32::try_from(patterns.len()).unwrap_or(u32::MAX);
            *patterns.entry(s.to_owned()).or_insert(n)
        };
        let names: BTreeMap<&str, usize> =
            rs.chains.iter().enumerate().map(|(i, c)| (c.name.as_str(), i)).collect();
        let mut chains = Vec::new();
        let mut tests = Vec::new();
        for c in &rs.chains {
            let mut rules = Vec::with_capacity(c.rules.len());
            let mut acts = Vec::with_capacity(c.rules.len());
            for r in &c.rules {
                let first = u32::try_from(tests.len()).unwrap_or(u32::MAX);
                tests.extend(r.matches.iter().map(|m| test(m, &mut intern)));
                let len = u32::try_from(r.matches.len()).unwrap_or(u32::MAX);
                rules.push((first, len));
                acts.push(act(&r.target, |n| names.get(n).copied()));
            }
            let ids = (0..u32::try_from(c.rules.len()).unwrap_or(u32::MAX)).collect();
            let cands = Cands::build(&c.rules, ids, &[]);
            chains.push(CChain { rules, acts, cands });
        }
        let mut pats: Vec<(String, u32)> = patterns.into_iter().collect();
        pats.sort_by_key(|(_, i)| *i);
        let start = |h: Hook| names.get(h.chain()).copied();
        Self {
            rs: rs.clone(),
            chains,
            starts: [start(Hook::Input), start(Hook::Output), start(Hook::Forward)],
            patterns: pats.into_iter().map(|(s, _)| s).collect(),
            tests,
        }
    }

    /// The ruleset this was compiled from.
    #[must_use]
    pub fn ruleset(&self) -> &Ruleset {
        &self.rs
    }

    /// Traces one packet; the same answer as [`crate::trace`], faster.
    #[must_use]
    pub fn trace(&self, p: &Packet) -> Trace {
        explore(self, &self.prepare(p))
    }

    /// Matches the packet's interface names against every pattern once.
    #[must_use]
    pub fn prepare(&self, p: &Packet) -> Prepared {
        let pats = |name: Option<&str>| {
            name.map(|n| self.patterns.iter().map(|pat| iface_matches(pat, n)).collect())
        };
        Prepared {
            hook: p.hook,
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            has_ports: p.has_ports(),
            sport: p.sport,
            dport: p.dport,
            icmp: p.icmp,
            tcp_flags: p.tcp_flags,
            state: p.state.bit(),
            uid: p.uid,
            gid: p.gid,
            mark: p.mark,
            in_pats: pats(p.in_name()),
            out_pats: pats(p.out_name()),
            via_bridge: p.via_bridge(),
            has_physin: p.physdev_in.is_some(),
            has_physout: p.physdev_out.is_some() || p.bridged,
            physin_pats: pats(p.physdev_in.as_deref()),
            physout_pats: pats(p.physdev_out.as_deref()),
        }
    }
}

fn test(m: &Match, intern: &mut impl FnMut(&str) -> u32) -> Test {
    match m {
        Match::Src(a) => addr(a, false),
        Match::Dst(a) => addr(a, true),
        Match::InIface(i) | Match::OutIface(i) => Test::Iface {
            side: if matches!(m, Match::InIface(_)) { Side::In } else { Side::Out },
            neg: i.neg,
            pats: i.names.iter().map(|n| intern(n)).collect(),
        },
        Match::Proto { neg, proto } => Test::Proto { neg: *neg, n: proto.number() },
        Match::Sport(p) => port(p, PortField::Src),
        Match::Dport(p) => port(p, PortField::Dst),
        Match::AnyPort(p) => port(p, PortField::Any),
        Match::Icmp { neg, v6, icmp } => {
            Test::Icmp { neg: *neg, proto: if *v6 { 58 } else { 1 }, m: *icmp }
        }
        Match::State { neg, states } => Test::State { neg: *neg, bits: states.0 },
        Match::Owner(o) => Test::Owner(Box::new(*o)),
        Match::Physdev(p) => Test::Physdev(Box::new(CPhysdev {
            phys_in: p.physdev_in.as_ref().map(|(n, s)| (*n, intern(s))),
            phys_out: p.physdev_out.as_ref().map(|(n, s)| (*n, intern(s))),
            is_in: p.is_in,
            is_out: p.is_out,
            is_bridged: p.is_bridged,
        })),
        Match::TcpFlags { neg, mask, comp } => {
            Test::TcpFlags { neg: *neg, mask: *mask, comp: *comp }
        }
        Match::Mark { neg, value, mask } => Test::Mark { neg: *neg, value: *value, mask: *mask },
        Match::Time(t) if t.start.is_none() && t.stop.is_none() && t.weekdays == 0 => Test::True,
        Match::Time(_) | Match::Unknown { .. } => Test::Undecidable,
    }
}

fn addr(a: &AddrMatch, dst: bool) -> Test {
    if let [item] = a.set.items.as_slice()
        && let KeyRange::V4(lo, hi) = key_range(*item)
    {
        return Test::Addr4 { dst, neg: a.neg, lo, hi };
    }
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for item in &a.set.items {
        match key_range(*item) {
            KeyRange::V4(lo, hi) => v4.push((lo, hi)),
            KeyRange::V6(lo, hi) => v6.push((lo, hi)),
        }
    }
    Test::Addr(Box::new(AddrTest { dst, neg: a.neg, v4: v4.into(), v6: v6.into() }))
}

enum KeyRange {
    V4(u32, u32),
    V6(u128, u128),
}

fn key_range(item: AddrItem) -> KeyRange {
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

fn port(p: &PortMatch, which: PortField) -> Test {
    if let [(lo, hi)] = p.set.ranges.as_slice()
        && which != PortField::Any
    {
        return Test::Port1 { which, neg: p.neg, lo: *lo, hi: *hi };
    }
    Test::Port { which, neg: p.neg, ranges: p.set.ranges.clone().into() }
}

fn tri(b: bool, neg: bool) -> Tri {
    Tri::from_bool(b != neg)
}

fn any_pat(bits: &[bool], pats: &[u32]) -> bool {
    pats.iter().any(|&i| bits[i as usize])
}

impl Test {
    #[inline]
    fn eval(&self, p: &Prepared, mark: u32) -> Tri {
        match self {
            Test::Addr4 { dst, neg, lo, hi } => match if *dst { p.dst } else { p.src } {
                Some(IpAddr::V4(a)) => {
                    let k = a.to_bits();
                    tri(*lo <= k && k <= *hi, *neg)
                }
                // A v4 set never holds a v6 address.
                Some(IpAddr::V6(_)) => tri(false, *neg),
                None => Tri::Unknown(if *dst { Why::NoDst } else { Why::NoSrc }),
            },
            Test::Addr(t) => match if t.dst { p.dst } else { p.src } {
                Some(IpAddr::V4(a)) => {
                    let k = a.to_bits();
                    tri(t.v4.iter().any(|&(lo, hi)| lo <= k && k <= hi), t.neg)
                }
                Some(IpAddr::V6(a)) => {
                    let k = a.to_bits();
                    tri(t.v6.iter().any(|&(lo, hi)| lo <= k && k <= hi), t.neg)
                }
                None => Tri::Unknown(if t.dst { Why::NoDst } else { Why::NoSrc }),
            },
            Test::Iface { side, neg, pats } => {
                let bits = if *side == Side::In { &p.in_pats } else { &p.out_pats };
                match bits {
                    Some(b) => tri(any_pat(b, pats), *neg),
                    None => Tri::Unknown(if *side == Side::In {
                        Why::NoInIface
                    } else {
                        Why::NoOutIface
                    }),
                }
            }
            Test::Proto { neg, n } => match p.proto {
                Some(x) => tri(x == *n, *neg),
                None => Tri::Unknown(Why::NoProto),
            },
            Test::Port1 { which, neg, lo, hi } => match p.has_ports {
                None => Tri::Unknown(Why::NoProto),
                Some(false) => Tri::False,
                Some(true) => {
                    let (x, why) = if *which == PortField::Src {
                        (p.sport, Why::NoSport)
                    } else {
                        (p.dport, Why::NoDport)
                    };
                    x.map_or(Tri::Unknown(why), |x| tri(*lo <= x && x <= *hi, *neg))
                }
            },
            Test::Port { which, neg, ranges } => {
                let inside = |x: u16| ranges.iter().any(|&(a, b)| a <= x && x <= b);
                match p.has_ports {
                    None => Tri::Unknown(Why::NoProto),
                    Some(false) => Tri::False,
                    Some(true) => match which {
                        PortField::Src => {
                            p.sport.map_or(Tri::Unknown(Why::NoSport), |x| tri(inside(x), *neg))
                        }
                        PortField::Dst => {
                            p.dport.map_or(Tri::Unknown(Why::NoDport), |x| tri(inside(x), *neg))
                        }
                        PortField::Any => match (p.sport.map(inside), p.dport.map(inside)) {
                            (Some(true), _) | (_, Some(true)) => tri(true, *neg),
                            (Some(false), Some(false)) => tri(false, *neg),
                            (None, _) => Tri::Unknown(Why::NoSport),
                            (_, None) => Tri::Unknown(Why::NoDport),
                        },
                    },
                }
            }
            Test::Icmp { neg, proto, m } => match p.proto {
                None => Tri::Unknown(Why::NoProto),
                Some(x) if x != *proto => Tri::False,
                Some(_) => match (p.icmp, m) {
                    (_, IcmpMatch::Any) => tri(true, *neg),
                    (Some((t, Some(c))), m) => tri(icmp::matches(*m, t, c), *neg),
                    (Some((t, None)), IcmpMatch::Type(w)) => tri(t == *w, *neg),
                    (Some((t, None)), IcmpMatch::TypeCode(w, _)) if t != *w => tri(false, *neg),
                    _ => Tri::Unknown(Why::NoIcmp),
                },
            },
            Test::State { neg, bits } => tri(bits & p.state != 0, *neg),
            Test::Owner(o) => owner(o, p),
            Test::Physdev(ph) => physdev(ph, p),
            Test::TcpFlags { neg, mask, comp } => match (p.proto, p.tcp_flags) {
                (None, _) => Tri::Unknown(Why::NoProto),
                (Some(x), _) if x != 6 => Tri::False,
                (Some(_), Some(f)) => tri(f & mask == *comp, *neg),
                (Some(_), None) => Tri::Unknown(Why::NoProto),
            },
            Test::Mark { neg, value, mask } => tri(mark & mask == *value, *neg),
            Test::True => Tri::True,
            Test::Undecidable => Tri::Unknown(Why::Module),
        }
    }
}

fn owner(o: &OwnerMatch, p: &Prepared) -> Tri {
    let socket = p.hook == Hook::Output && (p.uid.is_some() || p.gid.is_some());
    if !socket {
        return Tri::from_bool(o.uid.is_none_or(|r| r.neg) && o.gid.is_none_or(|r| r.neg));
    }
    let check = |r: Option<IdRange>, v: Option<u32>, why| match (r, v) {
        (None, _) => Tri::True,
        (Some(r), Some(v)) => tri(r.first <= v && v <= r.last, r.neg),
        (Some(_), None) => Tri::Unknown(why),
    };
    crate::matches::and(check(o.uid, p.uid, Why::NoUid), check(o.gid, p.gid, Why::NoGid))
}

fn physdev(m: &CPhysdev, p: &Prepared) -> Tri {
    if !p.via_bridge {
        let all_neg = [m.is_bridged, m.is_in, m.is_out].iter().all(|o| o.is_none_or(|n| n))
            && m.phys_in.is_none_or(|(n, _)| n)
            && m.phys_out.is_none_or(|(n, _)| n);
        return Tri::from_bool(all_neg);
    }
    let flag = |opt: Option<bool>, has: bool| opt.is_some_and(|neg| has == neg);
    if flag(m.is_bridged, p.has_physout)
        || flag(m.is_in, p.has_physin)
        || flag(m.is_out, p.has_physout)
    {
        return Tri::False;
    }
    if let (Some((neg, pat)), Some(bits)) = (m.phys_in, &p.physin_pats)
        && bits[pat as usize] == neg
    {
        return Tri::False;
    }
    match (m.phys_out, &p.physout_pats) {
        (Some((neg, pat)), Some(bits)) => tri(bits[pat as usize], neg),
        (Some(_), None) if p.has_physout => Tri::Unknown(Why::NoPhysdevOut),
        (Some(_), None) => Tri::False,
        (None, _) => Tri::True,
    }
}

impl Engine for Compiled {
    type Prepared = Prepared;

    fn ruleset(&self) -> &Ruleset {
        &self.rs
    }

    fn start(&self, p: &Prepared) -> Option<usize> {
        self.starts[p.hook as usize]
    }

    fn visit(&self, chain: usize, p: &Prepared) -> Visit<'_> {
        let c = &self.chains[chain];
        let mut lists = Lists::default();
        if !c.cands.collect(p, &mut lists) {
            return Visit::All(c.rules.len());
        }
        let all = &lists.items[..lists.n];
        let mut nonempty = all.iter().filter(|l| !l.is_empty());
        match (nonempty.next(), nonempty.next()) {
            (None, _) => Visit::All(0),
            // One list: no merge, no copy.
            (Some(one), None) => Visit::Some(std::borrow::Cow::Borrowed(one)),
            _ => Visit::Some(std::borrow::Cow::Owned(merge(all))),
        }
    }

    #[inline]
    fn check(&self, at: RuleRef, p: &Prepared, mark: u32) -> (Tri, usize) {
        let rule = &self.chains[at.chain].rules[at.rule];
        let (first, len) = *rule;
        let tests = &self.tests[first as usize..(first + len) as usize];
        let mut first_unknown = None;
        for (i, t) in tests.iter().enumerate() {
            match t.eval(p, mark) {
                Tri::True => {}
                Tri::False => return (Tri::False, i),
                u @ Tri::Unknown(_) => {
                    first_unknown.get_or_insert((u, i));
                }
            }
        }
        first_unknown.unwrap_or((Tri::True, 0))
    }

    fn act(&self, at: RuleRef) -> Act {
        self.chains[at.chain].acts[at.rule].clone()
    }

    fn mark(p: &Prepared) -> u32 {
        p.mark
    }
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
enum Cands {
    List(Vec<u32>),
    Index(Box<Index>),
}

impl Cands {
    /// Subsets smaller than this are scanned.
    const MIN_RULES: usize = 16;

    /// Candidates among `ids` (ascending rule indexes), indexed on the most
    /// selective field not in `used`; the rules that do not constrain that
    /// field are indexed the same way on the remaining fields.
    fn build(rules: &[rampart_ir::Rule], ids: Vec<u32>, used: &[Field]) -> Self {
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
    fn collect<'a>(&'a self, p: &Prepared, out: &mut Lists<'a>) -> bool {
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

/// The candidate lists of one chain visit: one per index level and the last
/// level's list, at most one per field plus one; kept on the stack.
#[derive(Default)]
struct Lists<'a> {
    items: [&'a [u32]; FIELDS.len() + 1],
    n: usize,
}

impl<'a> Lists<'a> {
    fn push(&mut self, l: &'a [u32]) {
        self.items[self.n] = l;
        self.n += 1;
    }
}

/// Merges sorted lists of rule indexes (disjoint: each rule sits in one
/// level of the index) into one sorted list.
fn merge(lists: &[&[u32]]) -> Vec<u32> {
    let mut out = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    let mut heads: Vec<&[u32]> = lists.iter().copied().filter(|l| !l.is_empty()).collect();
    while !heads.is_empty() {
        let (k, _) = heads.iter().enumerate().min_by_key(|(_, l)| l[0]).unwrap_or((0, &heads[0]));
        out.push(heads[k][0]);
        heads[k] = &heads[k][1..];
        if heads[k].is_empty() {
            heads.swap_remove(k);
        }
    }
    out
}

/// Rules by interval of one field's value.
#[derive(Debug)]
struct Index {
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
    fn build(rules: &[rampart_ir::Rule], ids: &[u32], field: Field) -> Option<Self> {
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

    fn key(&self, p: &Prepared) -> Option<u64> {
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
fn constraint(r: &rampart_ir::Rule, field: Field) -> Option<Vec<(u64, u64)>> {
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
