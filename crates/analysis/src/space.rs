//! The packets one rule matches, in one address family, as a product of
//! interval sets (a box): source, destination, protocol, ports, ICMP
//! type and code, conntrack state, interfaces. Matches without a
//! dimension here (owner, physdev, marks, time, TCP flags, unknown
//! modules) are kept as opaque keys: a rule with one can be covered, but
//! covers another only if that one has the same match.

use std::collections::BTreeSet;

use rampart_ir::{AddrItem, AddrMatch, Family, IcmpMatch, IfaceMatch, Match, Proto, Rule};

use crate::ranges::Ranges;

pub const SRC: usize = 0;
pub const DST: usize = 1;
pub const PROTO: usize = 2;
pub const SPORT: usize = 3;
pub const DPORT: usize = 4;
pub const ICMP: usize = 5;
const STATE: usize = 6;
const IN: usize = 7;
const OUT: usize = 8;
pub const DIMS: usize = 9;

/// The largest value of each dimension.
#[derive(Clone, Debug)]
pub struct Bounds(pub [u128; DIMS]);

impl Bounds {
    /// `names`: interface names without wildcards; one more id stands for
    /// every other name.
    #[must_use]
    pub fn new(family: Family, names: usize) -> Self {
        let addr = match family {
            Family::V4 => u128::from(u32::MAX),
            Family::V6 => u128::MAX,
        };
        let n = names as u128;
        Self([addr, addr, 255, 65535, 65535, 65535, 4, n, n])
    }
}

/// A product of interval sets, plus the opaque matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Space {
    pub dims: [Ranges; DIMS],
    pub opaque: BTreeSet<String>,
}

impl Space {
    #[must_use]
    pub fn full(b: &Bounds) -> Self {
        Self { dims: b.0.map(|m| Ranges::span(0, m)), opaque: BTreeSet::new() }
    }

    /// The packets `rule` matches in `family`; `None` when it matches none
    /// there (or a match empties a dimension). `names` interns interfaces.
    #[must_use]
    pub fn of(
        rule: &Rule,
        family: Family,
        b: &Bounds,
        names: &[String],
        at: usize,
    ) -> Option<Self> {
        let mut s = Self::full(b);
        for m in &rule.matches {
            let (dim, set, neg) = match m {
                Match::Src(a) => (SRC, addrs(a, family)?, a.neg),
                Match::Dst(a) => (DST, addrs(a, family)?, a.neg),
                Match::Proto { neg, proto } => {
                    if !*neg && wrong_family(*proto, family) {
                        return None;
                    }
                    let n = u128::from(proto.number());
                    (PROTO, Ranges::span(n, n), *neg)
                }
                Match::Sport(p) => (SPORT, ports(&p.set.ranges), p.neg),
                Match::Dport(p) => (DPORT, ports(&p.set.ranges), p.neg),
                Match::Icmp { neg, v6, icmp } => {
                    if *v6 != (family == Family::V6) {
                        if *neg {
                            continue;
                        }
                        return None;
                    }
                    let r = match *icmp {
                        IcmpMatch::Any => Ranges::span(0, 65535),
                        IcmpMatch::Type(t) => {
                            Ranges::span(u128::from(t) << 8, (u128::from(t) << 8) | 255)
                        }
                        IcmpMatch::TypeCode(t, c) => {
                            let v = (u128::from(t) << 8) | u128::from(c);
                            Ranges::span(v, v)
                        }
                    };
                    (ICMP, r, *neg)
                }
                Match::State { neg, states } => {
                    let bits = (0..5u8)
                        .filter(|i| states.contains(1 << i))
                        .map(|i| (u128::from(i), u128::from(i)))
                        .collect();
                    (STATE, Ranges::from_parts(bits), *neg)
                }
                Match::InIface(i) => match ifaces(i, names) {
                    Some(r) => (IN, r, i.neg),
                    None => {
                        s.opaque.insert(format!("{m:?}"));
                        continue;
                    }
                },
                Match::OutIface(i) => match ifaces(i, names) {
                    Some(r) => (OUT, r, i.neg),
                    None => {
                        s.opaque.insert(format!("{m:?}"));
                        continue;
                    }
                },
                // Marks change along the chain: never the same match twice.
                Match::Mark { .. } => {
                    s.opaque.insert(format!("{at}: {m:?}"));
                    continue;
                }
                other => {
                    s.opaque.insert(format!("{other:?}"));
                    continue;
                }
            };
            let set = if neg { set.complement(b.0[dim]) } else { set };
            s.dims[dim] = s.dims[dim].intersect(&set);
            if s.dims[dim].is_empty() {
                return None;
            }
        }
        Some(s)
    }

    /// Whether every packet of `self` is in `other`.
    #[must_use]
    pub fn within(&self, other: &Self) -> bool {
        other.opaque.is_subset(&self.opaque)
            && self.dims.iter().zip(&other.dims).all(|(a, b)| a.within(b))
    }

    /// Whether some packet could be in both (opaque matches assumed to
    /// allow it).
    #[must_use]
    pub fn meets(&self, other: &Self) -> bool {
        self.dims.iter().zip(&other.dims).all(|(a, b)| a.intersects(b))
    }

    /// `self` without the packets of `cut` (whose opaque matches must be
    /// among `self`'s), as disjoint boxes.
    #[must_use]
    pub fn minus(&self, cut: &Self, b: &Bounds) -> Vec<Space> {
        if !self.meets(cut) {
            return vec![self.clone()];
        }
        let mut out = Vec::new();
        let mut rest = self.clone();
        for d in 0..DIMS {
            let outside = rest.dims[d].minus(&cut.dims[d], b.0[d]);
            if !outside.is_empty() {
                let mut piece = rest.clone();
                piece.dims[d] = outside;
                out.push(piece);
            }
            rest.dims[d] = rest.dims[d].intersect(&cut.dims[d]);
        }
        out
    }
}

fn wrong_family(p: Proto, f: Family) -> bool {
    matches!((p, f), (Proto::Icmp, Family::V6) | (Proto::Icmpv6, Family::V4))
}

/// The addresses of `family` in a match's set. `None` for a set without
/// any of them, which matches no packet of this family unless negated.
fn addrs(a: &AddrMatch, family: Family) -> Option<Ranges> {
    let r = items(&a.set.items, family);
    if r.is_empty() && !a.neg {
        return None;
    }
    Some(r)
}

/// The addresses of `family` among `items`.
pub(crate) fn items(items: &[AddrItem], family: Family) -> Ranges {
    Ranges::from_parts(
        items
            .iter()
            .filter(|i| i.family() == family)
            .map(|i| match *i {
                AddrItem::Net(n) => (bits(n.network()), bits(n.broadcast())),
                AddrItem::Range(lo, hi) => (bits(lo), bits(hi)),
            })
            .collect(),
    )
}

pub(crate) fn bits(a: std::net::IpAddr) -> u128 {
    match a {
        std::net::IpAddr::V4(v) => u128::from(v.to_bits()),
        std::net::IpAddr::V6(v) => v.to_bits(),
    }
}

fn ports(r: &[(u16, u16)]) -> Ranges {
    Ranges::from_parts(r.iter().map(|&(a, b)| (u128::from(a), u128::from(b))).collect())
}

/// Interface ids; `None` for a wildcard (`eth+`), kept opaque.
fn ifaces(i: &IfaceMatch, names: &[String]) -> Option<Ranges> {
    let mut parts = Vec::new();
    for n in &i.names {
        if n.ends_with('+') {
            return None;
        }
        let id = names.binary_search(n).ok()? as u128;
        parts.push((id, id));
    }
    Some(Ranges::from_parts(parts))
}
