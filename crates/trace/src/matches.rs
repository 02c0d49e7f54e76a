//! What each IR match means for a packet: the reference semantics, read
//! straight off the IR (the compiled matcher in `compile.rs` must agree, and
//! a property test holds it to that).
//!
//! Rich-form sets: an address set may mix IPv4 and IPv6 items; a packet
//! looks only at the items of its own family, so a set with none of them
//! never matches (and its negation always does). A set of several
//! interfaces or ports matches when any member does.

use std::net::IpAddr;

use rampart_ir::{
    AddrMatch, AddrTypeMatch, AddrTypes, IdRange, IfaceMatch, Match, ModuleTest, OwnerMatch,
    PhysdevMatch, PktType, PortMatch, icmp, iface_matches,
};

use crate::packet::{CtState, Given, Hook, Packet};

/// A three-valued answer: a match is true, false, or cannot be decided
/// (a packet field it needs was not given, or Rampart does not model it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    /// The reason is shown in the trace.
    Unknown(Why),
}

impl Tri {
    /// A rule's matches together, in order: the first that fails decides
    /// (with its index); else the first undecided; else true.
    #[inline]
    pub(crate) fn all(answers: impl Iterator<Item = Tri>) -> (Tri, usize) {
        let mut first_unknown = None;
        for (i, t) in answers.enumerate() {
            match t {
                Tri::True => {}
                Tri::False => return (Tri::False, i),
                u @ Tri::Unknown(_) => {
                    first_unknown.get_or_insert((u, i));
                }
            }
        }
        first_unknown.unwrap_or((Tri::True, 0))
    }
}

/// Why a match could not be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    NoSrc,
    NoDst,
    NoInIface,
    NoOutIface,
    NoProto,
    NoSport,
    NoDport,
    NoIcmp,
    NoGid,
    NoUid,
    NoPhysdevOut,
    NoSrcType,
    NoDstType,
    /// A module Rampart does not model (`-m recent`, `-m time`...).
    Module,
    /// A connection limit: the answer depends on the connections open.
    Connections,
    /// Whether the address is in a set filled at run time.
    DynamicSet,
    /// Whether the address is on a `-m recent` list.
    Recent,
    NoConnmark,
    NoMac,
    NoLength,
    NoMss,
    /// `-m pkttype` on a packet the host sends: not modelled.
    PktTypeSent,
}

impl Why {
    /// Short explanation for the trace output: what is not known, and the
    /// option of `rampart trace` that tells it.
    #[must_use]
    pub fn text(self) -> String {
        let (fact, option) = self.parts();
        format!("{fact}{option}")
    }

    /// What is not known, without `trace`'s options: for the commands that
    /// take others (`matrix`).
    #[must_use]
    pub fn fact(self) -> &'static str {
        self.parts().0
    }

    /// The fact, and how `trace` is told it (with its punctuation).
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Why::NoSrc => ("the packet's source address is not given", " (--src)"),
            Why::NoDst => ("the packet's destination address is not given", " (--dst)"),
            Why::NoInIface => ("the packet's input interface is not given", " (--in)"),
            Why::NoOutIface => ("the packet's output interface is not given", " (--out)"),
            Why::NoProto => ("the packet's protocol is not given", " (--proto)"),
            Why::NoSport => ("the packet's source port is not given", " (--sport)"),
            Why::NoDport => ("the packet's destination port is not given", " (--dport)"),
            Why::NoIcmp => ("the packet's ICMP type is not given", " (--icmp-type)"),
            Why::NoGid => ("the socket's group is not given", " (--gid)"),
            Why::NoUid => ("the socket's user is not given", " (--uid)"),
            Why::NoPhysdevOut => ("the bridge output port is not given", " (--physdev-out)"),
            Why::NoSrcType => (
                "the source address's route type is not known",
                " (give --src and the host's --local addresses)",
            ),
            Why::NoDstType => (
                "the destination address's route type is not known",
                " (give --dst and the host's --local addresses)",
            ),
            Why::DynamicSet => {
                ("the set is filled at run time", ": say --in-set SET or --not-in-set SET")
            }
            Why::Recent => (
                "the list is kept by the kernel",
                ": say --recent-listed NAME or --recent-unlisted NAME",
            ),
            Why::NoConnmark => ("the connection's mark is not given", " (--connmark)"),
            Why::NoMac => ("the packet's Ethernet source is not given", " (--mac-source)"),
            Why::NoLength => ("the packet's length is not given", " (--length)"),
            Why::NoMss => ("the TCP MSS option is not given", " (--mss N, or --mss none)"),
            Why::PktTypeSent => {
                ("the link-layer type of a packet this host sends is not modelled", "")
            }
            Why::Module => ("Rampart does not model this match", ""),
            Why::Connections => (
                "depends on the connections already open: it matches up to the limit, \
                 and not beyond it",
                "",
            ),
        }
    }
}

impl Tri {
    #[must_use]
    pub fn from_bool(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }

    /// Negation (`!`): unknown stays unknown.
    #[must_use]
    pub fn xor(self, neg: bool) -> Self {
        match self {
            Tri::True | Tri::False => Tri::from_bool((self == Tri::True) != neg),
            u => u,
        }
    }
}

/// Evaluates one match.
#[must_use]
pub fn eval(m: &Match, p: &Packet) -> Tri {
    match m {
        Match::Src(a) => addr(a, p.src, Why::NoSrc),
        Match::Dst(a) => addr(a, p.dst, Why::NoDst),
        Match::InIface(i) => iface(i, p.in_name(), Why::NoInIface),
        Match::OutIface(i) => iface(i, p.out_name(), Why::NoOutIface),
        Match::Proto { neg, proto } => match p.proto {
            Some(n) => Tri::from_bool(n == proto.number()).xor(*neg),
            None => Tri::Unknown(Why::NoProto),
        },
        Match::Sport(pm) => port(pm, p, p.sport, Why::NoSport),
        Match::Dport(pm) => port(pm, p, p.dport, Why::NoDport),
        Match::AnyPort(pm) => match p.has_ports() {
            None => Tri::Unknown(Why::NoProto),
            Some(false) => Tri::False,
            Some(true) => {
                let s = p.sport.map(|x| pm.set.contains(x));
                let d = p.dport.map(|x| pm.set.contains(x));
                match (s, d) {
                    (Some(true), _) | (_, Some(true)) => Tri::True.xor(pm.neg),
                    (Some(false), Some(false)) => Tri::False.xor(pm.neg),
                    (None, _) => Tri::Unknown(Why::NoSport),
                    (_, None) => Tri::Unknown(Why::NoDport),
                }
            }
        },
        Match::Icmp { neg, v6, icmp: want } => {
            let proto = if *v6 { 58 } else { 1 };
            match p.proto {
                None => Tri::Unknown(Why::NoProto),
                Some(n) if n != proto => Tri::False,
                Some(_) => match (p.icmp, want) {
                    (_, rampart_ir::IcmpMatch::Any) => Tri::True.xor(*neg),
                    (Some((t, Some(c))), w) => Tri::from_bool(icmp::matches(*w, t, c)).xor(*neg),
                    (Some((t, None)), rampart_ir::IcmpMatch::Type(w)) => {
                        Tri::from_bool(t == *w).xor(*neg)
                    }
                    (Some((t, None)), rampart_ir::IcmpMatch::TypeCode(w, _)) if t != *w => {
                        Tri::False.xor(*neg)
                    }
                    _ => Tri::Unknown(Why::NoIcmp),
                },
            }
        }
        Match::State { neg, states } => Tri::from_bool(states.contains(p.state.bit())).xor(*neg),
        Match::Owner(o) => owner(o, p),
        Match::Physdev(ph) => physdev(ph, p),
        Match::TcpFlags { neg, mask, comp } => match (p.proto, p.tcp_flags) {
            (None, _) => Tri::Unknown(Why::NoProto),
            (Some(n), _) if n != 6 => Tri::False,
            (Some(_), Some(f)) => Tri::from_bool(f & mask == *comp).xor(*neg),
            (Some(_), None) => Tri::Unknown(Why::NoProto),
        },
        Match::Mark { neg, value, mask } => Tri::from_bool(p.mark & mask == *value).xor(*neg),
        Match::Time(t) if t.start.is_none() && t.stop.is_none() && t.weekdays == 0 => Tri::True,
        Match::AddrType(t) => addrtype(t, p.src_type, p.dst_type),
        Match::Set(m) => in_set(m, p.src, p.dst, &p.sets),
        Match::Time(_) | Match::Unknown(_) => Tri::Unknown(Why::Module),
        Match::Limit(_) => Tri::from_bool(!p.given.over_limit),
        Match::Module(m) => module(&m.test, &Facts::of(p, p.given.connmark)),
        Match::ConnLimit(_) => Tri::Unknown(Why::Connections),
    }
}

/// What the modules of iptables rulesets read: the packet's facts, and
/// the connection's mark as the rules so far left it.
pub(crate) struct Facts<'a> {
    pub hook: Hook,
    pub proto: Option<u8>,
    /// The packet has a connection (it is not INVALID or UNTRACKED).
    pub tracked: bool,
    pub dst: Option<IpAddr>,
    pub dst_type: Option<AddrTypes>,
    pub given: &'a Given,
    pub connmark: Option<u32>,
}

impl<'a> Facts<'a> {
    pub(crate) fn of(p: &'a Packet, connmark: Option<u32>) -> Self {
        Facts {
            hook: p.hook,
            proto: p.proto,
            tracked: !matches!(p.state, CtState::Invalid | CtState::Untracked),
            dst: p.dst,
            dst_type: p.dst_type,
            given: &p.given,
            connmark,
        }
    }
}

/// The modules answered from [`Given`].
pub(crate) fn module(t: &ModuleTest, f: &Facts<'_>) -> Tri {
    let g = f.given;
    let range =
        |x: u16, min: u16, max: u16, neg: bool| Tri::from_bool(min <= x && x <= max).xor(neg);
    match t {
        ModuleTest::Rate { above } => Tri::from_bool(g.over_limit == *above),
        ModuleTest::Recent { check: false, neg, .. } => Tri::True.xor(*neg),
        ModuleTest::Recent { name, neg, .. } => match g.recent.get(name) {
            Some(&listed) => Tri::from_bool(listed).xor(*neg),
            None => Tri::Unknown(Why::Recent),
        },
        // Without a connection there is no mark: false, `!` or not.
        ModuleTest::Connmark { .. } if !f.tracked => Tri::False,
        ModuleTest::Connmark { neg, value, mask } => match f.connmark {
            Some(c) => Tri::from_bool(c & mask == *value).xor(*neg),
            None => Tri::Unknown(Why::NoConnmark),
        },
        ModuleTest::MacSource { neg, mac } => match g.mac_source {
            Some(m) => Tri::from_bool(m == *mac).xor(*neg),
            None => Tri::Unknown(Why::NoMac),
        },
        ModuleTest::Length { neg, min, max } => match g.length {
            Some(n) => range(n, *min, *max, *neg),
            None => Tri::Unknown(Why::NoLength),
        },
        ModuleTest::TcpMss { neg, min, max } => match (f.proto, g.mss) {
            (None, _) => Tri::Unknown(Why::NoProto),
            (Some(n), _) if n != 6 => Tri::False,
            (Some(_), Some(Some(mss))) => range(mss, *min, *max, *neg),
            // A segment without the option matches only negated.
            (Some(_), Some(None)) => Tri::from_bool(*neg),
            (Some(_), None) => Tri::Unknown(Why::NoMss),
        },
        ModuleTest::PktType { neg, kind } => pkttype(*kind, f).xor(*neg),
    }
}

/// The packet's type as the link layer addressed it on arrival, from its
/// destination: multicast by address; a forwarded packet came to this
/// host's own link address (unicast); an arriving one is broadcast when its
/// route type says so. What the host sends is left undecided.
fn pkttype(kind: PktType, f: &Facts<'_>) -> Tri {
    if matches!(f.hook, Hook::Output | Hook::Postrouting) {
        return Tri::Unknown(Why::PktTypeSent);
    }
    let Some(dst) = f.dst else { return Tri::Unknown(Why::NoDst) };
    let have = match f.dst_type {
        _ if dst.is_multicast() => PktType::Multicast,
        _ if f.hook == Hook::Forward => PktType::Unicast,
        Some(t) if t.intersects(AddrTypes::BROADCAST) => PktType::Broadcast,
        Some(_) => PktType::Unicast,
        None => return Tri::Unknown(Why::NoDstType),
    };
    Tri::from_bool(have == kind)
}

/// `-m set`: only what the caller says of the set (`--in-set`); a set's
/// elements are never part of the ruleset.
pub(crate) fn in_set(
    m: &rampart_ir::SetMatch,
    src: Option<std::net::IpAddr>,
    dst: Option<std::net::IpAddr>,
    sets: &std::collections::BTreeMap<String, bool>,
) -> Tri {
    let addr = if m.src { src } else { dst };
    if addr.is_some_and(|a| a.is_ipv4() != (m.set.family == rampart_ir::Family::V4)) {
        return Tri::False.xor(m.neg);
    }
    match sets.get(&m.set.name) {
        Some(&inside) => Tri::from_bool(inside).xor(m.neg),
        None => Tri::Unknown(Why::DynamicSet),
    }
}

/// xt_addrtype on the route types of the packet's addresses: each side
/// given must hold. A lookup limited to one interface is not modelled.
pub(crate) fn addrtype(t: &AddrTypeMatch, src: Option<AddrTypes>, dst: Option<AddrTypes>) -> Tri {
    if t.limit_iface_in || t.limit_iface_out {
        return Tri::Unknown(Why::Module);
    }
    let side = |want: Option<(bool, AddrTypes)>, have: Option<AddrTypes>, why| match (want, have) {
        (None, _) => Tri::True,
        (Some((neg, w)), Some(h)) => Tri::from_bool(w.intersects(h)).xor(neg),
        (Some(_), None) => Tri::Unknown(why),
    };
    and(side(t.src, src, Why::NoSrcType), side(t.dst, dst, Why::NoDstType))
}

fn addr(a: &AddrMatch, x: Option<IpAddr>, why: Why) -> Tri {
    match x {
        // Items of the other family never contain `x`.
        Some(x) => Tri::from_bool(a.set.contains(x)).xor(a.neg),
        None => Tri::Unknown(why),
    }
}

fn iface(i: &IfaceMatch, name: Option<&str>, why: Why) -> Tri {
    match name {
        Some(n) => Tri::from_bool(i.names.iter().any(|pat| iface_matches(pat, n))).xor(i.neg),
        None => Tri::Unknown(why),
    }
}

/// Port matches need a protocol with ports; on any other packet they are
/// false whether negated or not (the tcp/udp/multiport modules check the
/// protocol before the port).
fn port(pm: &PortMatch, p: &Packet, x: Option<u16>, why: Why) -> Tri {
    match (p.has_ports(), x) {
        (None, _) => Tri::Unknown(Why::NoProto),
        (Some(false), _) => Tri::False,
        (Some(true), Some(x)) => Tri::from_bool(pm.set.contains(x)).xor(pm.neg),
        (Some(true), None) => Tri::Unknown(why),
    }
}

/// xt_owner: without a local socket the match holds only if every option
/// given is negated; with one, each option compares the socket's fsuid and
/// fsgid.
fn owner(o: &OwnerMatch, p: &Packet) -> Tri {
    let socket = p.hook == Hook::Output && (p.uid.is_some() || p.gid.is_some());
    if !socket {
        let all_neg = o.uid.is_none_or(|r| r.neg) && o.gid.is_none_or(|r| r.neg);
        return Tri::from_bool(all_neg);
    }
    let check = |r: Option<IdRange>, v: Option<u32>, why: Why| match (r, v) {
        (None, _) => Tri::True,
        (Some(r), Some(v)) => Tri::from_bool(r.first <= v && v <= r.last).xor(r.neg),
        (Some(_), None) => Tri::Unknown(why),
    };
    and(check(o.uid, p.uid, Why::NoUid), check(o.gid, p.gid, Why::NoGid))
}

/// xt_physdev, following the kernel's order of checks.
fn physdev(m: &PhysdevMatch, p: &Packet) -> Tri {
    if !p.via_bridge() {
        // Not bridged: only the negated options hold.
        let all_neg = [m.is_bridged, m.is_in, m.is_out].iter().all(|o| o.is_none_or(|n| n))
            && m.physdev_in.as_ref().is_none_or(|(n, _)| *n)
            && m.physdev_out.as_ref().is_none_or(|(n, _)| *n);
        return Tri::from_bool(all_neg);
    }
    let has_out = p.physdev_out.is_some() || p.bridged;
    let has_in = p.physdev_in.is_some();
    if let Some(neg) = m.is_bridged
        && has_out == neg
    {
        return Tri::False;
    }
    if let Some(neg) = m.is_in
        && has_in == neg
    {
        return Tri::False;
    }
    if let Some(neg) = m.is_out
        && has_out == neg
    {
        return Tri::False;
    }
    // `--physdev-in` is skipped when there is no input port (a locally
    // sent packet); `--physdev-out` fails, even negated, without an output
    // port. Both as in the kernel since 4.x.
    if let (Some((neg, pat)), Some(name)) = (&m.physdev_in, &p.physdev_in)
        && iface_matches(pat, name) == *neg
    {
        return Tri::False;
    }
    match (&m.physdev_out, &p.physdev_out) {
        (Some((neg, pat)), Some(name)) => Tri::from_bool(iface_matches(pat, name) != *neg),
        (Some(_), None) if has_out => Tri::Unknown(Why::NoPhysdevOut),
        (Some(_), None) => Tri::False,
        (None, _) => Tri::True,
    }
}

/// Conjunction: false wins over unknown.
#[must_use]
pub fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Tri::False, _) | (_, Tri::False) => Tri::False,
        (Tri::Unknown(w), _) | (_, Tri::Unknown(w)) => Tri::Unknown(w),
        _ => Tri::True,
    }
}
