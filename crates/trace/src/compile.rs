//! The compiled evaluator: the IR turned once into numbers and indexes, so
//! that tracing a packet compares integers, never strings.
//!
//! - Interface names and patterns are interned; a packet's interfaces are
//!   matched against every distinct pattern once, up front, and rules test
//!   bits.
//! - Each long chain gets an index ([`crate::index`]), so a packet visits
//!   only the rules that can match it, in rule order.
//! - A trace allocates its answer (path, log lines) and, when a rule jumps,
//!   the stack of chains to return to; nothing per rule or chain visit.
//!
//! The walk itself is [`crate::eval`]'s; a property test holds this matcher
//! to the straightforward one on random rulesets and packets.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use rampart_ir::{
    AddrMatch, ChainId, IcmpMatch, IdRange, Match, ModuleTest, OwnerMatch, PortMatch, Ruleset,
    Table, icmp, iface_matches,
};

use crate::eval::{Act, Engine, Entered, Marks, RuleRef, Trace, Visit, act, explore, step_limit};
use crate::index::{Cands, KeyRange, Keys, Lists, key_range};
use crate::matches::{Facts, Tri, Why};
use crate::packet::{Hook, Packet};

/// A ruleset compiled for fast tracing. Build once with [`Tracer::new`],
/// then [`Tracer::trace`] any number of packets.
#[derive(Debug)]
pub struct Tracer {
    rs: Ruleset,
    chains: Vec<CChain>,
    /// Built-in chain per hook (input, output, forward).
    starts: [Option<usize>; 5],
    /// Distinct interface patterns (`eth0`, `vnet+`) across all rules.
    patterns: Vec<String>,
    /// Every rule's tests, rule after rule.
    tests: Vec<Test>,
    step_limit: usize,
}

#[derive(Debug)]
struct CChain {
    /// Each rule's tests: `tests[first..first + len]` of [`Tracer`], so
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
    AddrType(Box<rampart_ir::AddrTypeMatch>),
    Set(Box<rampart_ir::SetMatch>),
    Module(Box<ModuleTest>),
    True,
    Undecidable(Why),
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
    /// What the chains' indexes look at.
    keys: Keys,
    sport: Option<u16>,
    icmp: Option<(u8, Option<u8>)>,
    tcp_flags: Option<u8>,
    state: u8,
    uid: Option<u32>,
    gid: Option<u32>,
    mark: u32,
    src_type: Option<rampart_ir::AddrTypes>,
    dst_type: Option<rampart_ir::AddrTypes>,
    sets: std::collections::BTreeMap<String, bool>,
    given: crate::Given,
    in_pats: Option<Pats>,
    out_pats: Option<Pats>,
    via_bridge: bool,
    has_physin: bool,
    has_physout: bool,
    physin_pats: Option<Pats>,
    physout_pats: Option<Pats>,
}

/// Which interface patterns a name matches, by pattern number: a bit mask
/// for the usual few dozen patterns, so preparing a packet allocates nothing.
#[derive(Clone, Debug)]
enum Pats {
    Few(u64),
    Many(Box<[bool]>),
}

impl Pats {
    fn new(patterns: &[String], name: &str) -> Self {
        let hits = patterns.iter().map(|pat| iface_matches(pat, name));
        if patterns.len() <= 64 {
            Pats::Few(hits.enumerate().fold(0, |m, (i, hit)| m | (u64::from(hit) << i)))
        } else {
            Pats::Many(hits.collect())
        }
    }

    #[inline]
    fn has(&self, pat: u32) -> bool {
        match self {
            Pats::Few(m) => m >> pat & 1 == 1,
            Pats::Many(b) => b[pat as usize],
        }
    }
}

impl Tracer {
    /// Compiles a ruleset. Check it first with [`crate::check`]: jumps to
    /// missing chains become unknown targets here.
    #[must_use]
    pub fn new(rs: &Ruleset) -> Self {
        let mut patterns: BTreeMap<String, u32> = BTreeMap::new();
        let mut intern = |s: &str| {
            let n = u32::try_from(patterns.len()).unwrap_or(u32::MAX);
            *patterns.entry(s.to_owned()).or_insert(n)
        };
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
                acts.push(act(&r.target, rs.chains.len()));
            }
            chains.push(CChain { rules, acts, cands: Cands::new(&c.rules) });
        }
        let mut pats: Vec<(String, u32)> = patterns.into_iter().collect();
        pats.sort_by_key(|(_, i)| *i);
        Self {
            rs: rs.clone(),
            chains,
            starts: Hook::ALL.map(|h| rs.base(Table::Filter, h).map(|c| c.0)),
            patterns: pats.into_iter().map(|(s, _)| s).collect(),
            tests,
            step_limit: step_limit(rs),
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

    /// As [`crate::trace_chain`], faster.
    #[must_use]
    pub fn trace_chain(&self, chain: ChainId, p: &Packet) -> Trace {
        explore(&Entered { e: self, chain: chain.0 }, &self.prepare(p))
    }

    /// Matches the packet's interface names against every pattern once.
    #[must_use]
    pub fn prepare(&self, p: &Packet) -> Prepared {
        let pats = |name: Option<&str>| name.map(|n| Pats::new(&self.patterns, n));
        Prepared {
            hook: p.hook,
            keys: Keys {
                src: p.src,
                dst: p.dst,
                proto: p.proto,
                has_ports: p.has_ports(),
                dport: p.dport,
            },
            sport: p.sport,
            icmp: p.icmp,
            tcp_flags: p.tcp_flags,
            state: p.state.bit(),
            uid: p.uid,
            gid: p.gid,
            mark: p.mark,
            src_type: p.src_type,
            dst_type: p.dst_type,
            sets: p.sets.clone(),
            given: p.given.clone(),
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
        Match::Owner(o) => Test::Owner(o.clone()),
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
        Match::AddrType(t) => Test::AddrType(Box::new(*t)),
        Match::Set(m) => Test::Set(m.clone()),
        Match::Time(_) | Match::Unknown(_) => Test::Undecidable(Why::Module),
        Match::Limit(_) => Test::Module(Box::new(ModuleTest::Rate { above: false })),
        Match::Module(m) => Test::Module(Box::new(m.test.clone())),
        Match::ConnLimit(_) => Test::Undecidable(Why::Connections),
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

fn any_pat(bits: &Pats, pats: &[u32]) -> bool {
    pats.iter().any(|&i| bits.has(i))
}

impl Test {
    #[inline]
    fn eval(&self, p: &Prepared, marks: Marks) -> Tri {
        let mark = marks.mark;
        match self {
            Test::Addr4 { dst, neg, lo, hi } => match if *dst { p.keys.dst } else { p.keys.src } {
                Some(IpAddr::V4(a)) => {
                    let k = a.to_bits();
                    tri(*lo <= k && k <= *hi, *neg)
                }
                // A v4 set never holds a v6 address.
                Some(IpAddr::V6(_)) => tri(false, *neg),
                None => Tri::Unknown(if *dst { Why::NoDst } else { Why::NoSrc }),
            },
            Test::Addr(t) => match if t.dst { p.keys.dst } else { p.keys.src } {
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
            Test::Proto { neg, n } => match p.keys.proto {
                Some(x) => tri(x == *n, *neg),
                None => Tri::Unknown(Why::NoProto),
            },
            Test::Port1 { which, neg, lo, hi } => match p.keys.has_ports {
                None => Tri::Unknown(Why::NoProto),
                Some(false) => Tri::False,
                Some(true) => {
                    let (x, why) = if *which == PortField::Src {
                        (p.sport, Why::NoSport)
                    } else {
                        (p.keys.dport, Why::NoDport)
                    };
                    x.map_or(Tri::Unknown(why), |x| tri(*lo <= x && x <= *hi, *neg))
                }
            },
            Test::Port { which, neg, ranges } => {
                let inside = |x: u16| ranges.iter().any(|&(a, b)| a <= x && x <= b);
                match p.keys.has_ports {
                    None => Tri::Unknown(Why::NoProto),
                    Some(false) => Tri::False,
                    Some(true) => match which {
                        PortField::Src => {
                            p.sport.map_or(Tri::Unknown(Why::NoSport), |x| tri(inside(x), *neg))
                        }
                        PortField::Dst => p
                            .keys
                            .dport
                            .map_or(Tri::Unknown(Why::NoDport), |x| tri(inside(x), *neg)),
                        PortField::Any => match (p.sport.map(inside), p.keys.dport.map(inside)) {
                            (Some(true), _) | (_, Some(true)) => tri(true, *neg),
                            (Some(false), Some(false)) => tri(false, *neg),
                            (None, _) => Tri::Unknown(Why::NoSport),
                            (_, None) => Tri::Unknown(Why::NoDport),
                        },
                    },
                }
            }
            Test::Icmp { neg, proto, m } => match p.keys.proto {
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
            Test::TcpFlags { neg, mask, comp } => match (p.keys.proto, p.tcp_flags) {
                (None, _) => Tri::Unknown(Why::NoProto),
                (Some(x), _) if x != 6 => Tri::False,
                (Some(_), Some(f)) => tri(f & mask == *comp, *neg),
                (Some(_), None) => Tri::Unknown(Why::NoProto),
            },
            Test::Mark { neg, value, mask } => tri(mark & mask == *value, *neg),
            Test::AddrType(t) => crate::matches::addrtype(t, p.src_type, p.dst_type),
            Test::Set(m) => crate::matches::in_set(m, p.keys.src, p.keys.dst, &p.sets),
            Test::Module(t) => {
                let facts = Facts {
                    hook: p.hook,
                    proto: p.keys.proto,
                    tracked: marks.tracked,
                    dst: p.keys.dst,
                    dst_type: p.dst_type,
                    given: &p.given,
                    connmark: marks.ct,
                };
                crate::matches::module(t, &facts)
            }
            Test::True => Tri::True,
            Test::Undecidable(why) => Tri::Unknown(*why),
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
        && bits.has(pat) == neg
    {
        return Tri::False;
    }
    match (m.phys_out, &p.physout_pats) {
        (Some((neg, pat)), Some(bits)) => tri(bits.has(pat), neg),
        (Some(_), None) if p.has_physout => Tri::Unknown(Why::NoPhysdevOut),
        (Some(_), None) => Tri::False,
        (None, _) => Tri::True,
    }
}

impl Engine for Tracer {
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
        if c.cands.collect(&p.keys, &mut lists) {
            Visit::Lists(lists)
        } else {
            Visit::All(0..c.rules.len())
        }
    }

    #[inline]
    fn check(&self, at: RuleRef, p: &Prepared, marks: Marks) -> (Tri, usize) {
        let rule = &self.chains[at.chain].rules[at.rule];
        let (first, len) = *rule;
        let tests = &self.tests[first as usize..(first + len) as usize];
        Tri::all(tests.iter().map(|t| t.eval(p, marks)))
    }

    fn act(&self, at: RuleRef) -> Cow<'_, Act> {
        Cow::Borrowed(&self.chains[at.chain].acts[at.rule])
    }

    fn marks(p: &Prepared) -> Marks {
        let no_connection = rampart_ir::CtStates::INVALID | rampart_ir::CtStates::UNTRACKED;
        Marks { mark: p.mark, ct: p.given.connmark, tracked: p.state & no_connection == 0 }
    }

    fn step_limit(&self) -> usize {
        self.step_limit
    }
}
