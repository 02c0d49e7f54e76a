//! The packets that stand for a description (sources, destinations,
//! services, interfaces): one per piece of the [`Cuts`], routed by the
//! firewall's interfaces, so the evaluator's verdicts on them are exact
//! for every packet described.

use std::net::IpAddr;

use ipnet::IpNet;
use rampart_ir::{AddrItem, Family, IcmpMatch, Proto};
use rampart_model::{AddrColumn, Direction, Firewall, IfaceColumn, ServiceAtom, ServiceColumn};
use rampart_trace::{Hook, Interfaces, Packet, tcp};

use crate::cuts::Cuts;
use crate::ranges::Ranges;
use crate::space::{DPORT, DST, ICMP, PROTO, SPORT, SRC, bits, items};

/// The firewall's interfaces, as routing sees them.
#[must_use]
pub fn interfaces(fw: &Firewall) -> Interfaces {
    let mut ifaces = Interfaces::unknown();
    for i in &fw.interfaces {
        if i.loopback {
            ifaces.add_loopback(&i.name, i.addrs.clone());
        } else {
            ifaces.add(&i.name, i.addrs.clone(), i.dynamic);
        }
    }
    ifaces
}

/// Cut the address dimensions at the interfaces' networks and the
/// firewall's own addresses.
pub fn cut_at(ifaces: &Interfaces, c: &mut Cuts) {
    let nets = ifaces.networks().chain(ifaces.addresses().map(IpNet::from));
    let r: Vec<Ranges> = nets.map(|n| net(n, c.family)).collect();
    for x in &r {
        c.add(SRC, x);
        c.add(DST, x);
    }
}

/// The interfaces a column names (wildcards `eth+` included).
pub(crate) fn named<'a>(ifaces: &'a Interfaces, c: &IfaceColumn) -> Vec<&'a str> {
    let hit = |n: &str| {
        c.names.iter().any(|w| match w.strip_suffix('+') {
            Some(p) => n.starts_with(p),
            None => n == w,
        })
    };
    ifaces.names().filter(|n| hit(n) != c.neg).collect()
}

fn net(n: IpNet, family: Family) -> Ranges {
    if (family == Family::V4) != matches!(n, IpNet::V4(_)) {
        return Ranges::empty();
    }
    Ranges::span(bits(n.network()), bits(n.broadcast()))
}

/// One end of the packets described: the firewall itself, and pieces of
/// the address space.
pub struct Ends {
    pub firewall: bool,
    pub pieces: Vec<(u128, u128)>,
    /// The single addresses the column lists: those of the firewall's own
    /// stand for the firewall, as in the rules (a network around one does
    /// not).
    pub hosts: Vec<IpAddr>,
}

impl Ends {
    /// The ends an address column describes (`any` includes the
    /// firewall; a negated column never does).
    #[must_use]
    pub fn of(col: &AddrColumn, cuts: &Cuts, dim: usize) -> Self {
        let full = Ranges::span(0, cuts.max(dim));
        let set = items(&col.set.items, cuts.family);
        let pieces = if col.is_any() {
            cuts.pieces(dim, &full)
        } else if col.neg {
            cuts.pieces(dim, &set.complement(cuts.max(dim)))
        } else {
            cuts.pieces(dim, &set)
        };
        let hosts = if col.neg {
            vec![]
        } else {
            col.set
                .items
                .iter()
                .filter_map(|i| match i {
                    AddrItem::Net(n) if n.prefix_len() == n.max_prefix_len() => Some(n.addr()),
                    _ => None,
                })
                .filter(|a| a.is_ipv6() == (cuts.family == Family::V6))
                .collect()
        };
        Self { firewall: col.is_any() || (col.firewall && !col.neg), pieces, hosts }
    }
}

/// A packet's service: protocol, ports, ICMP type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub proto: u8,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp: Option<(u8, u8)>,
    /// The piece it stands for: of protocols, and of destination ports
    /// or ICMP type and code (`type << 8 | code`) where the protocol has
    /// them.
    pub protos: (u8, u8),
    pub piece: Option<(u128, u128)>,
}

/// One packet per piece of the services `col` describes.
#[must_use]
pub fn services(col: &ServiceColumn, cuts: &Cuts) -> Vec<Service> {
    let v6 = cuts.family == Family::V6;
    let full = |d| Ranges::span(0, cuts.max(d));
    let mut out = Vec::new();
    for (p, p_hi) in cuts.pieces(PROTO, &full(PROTO)) {
        let proto = p as u8;
        let protos = (proto, p_hi as u8);
        let mut one = |s: Service| {
            let hit = col.atoms.iter().any(|a| atom_has(a, &s, v6));
            if col.atoms.is_empty() || hit != col.neg {
                out.push(s);
            }
        };
        let base = Service { proto, sport: None, dport: None, icmp: None, protos, piece: None };
        if matches!(proto, 6 | 17 | 33 | 132 | 136) {
            for s in cuts.pieces(SPORT, &full(SPORT)) {
                for d in cuts.pieces(DPORT, &full(DPORT)) {
                    let (sport, dport) = (Some(rep(s) as u16), Some(rep(d) as u16));
                    one(Service { sport, dport, piece: Some(d), ..base });
                }
            }
        } else if proto == if v6 { 58 } else { 1 } {
            for (i, hi) in cuts.pieces(ICMP, &full(ICMP)) {
                let icmp = Some(((i >> 8) as u8, (i & 255) as u8));
                one(Service { icmp, piece: Some((i, hi)), ..base });
            }
        } else {
            one(base);
        }
    }
    out
}

/// Cut the service dimensions at the edges of `col`'s atoms.
pub fn cut_services(col: &ServiceColumn, c: &mut Cuts) {
    let port = |r: &[rampart_ir::PortRange]| {
        Ranges::from_parts(r.iter().map(|p| (u128::from(p.0), u128::from(p.1))).collect())
    };
    for a in col.atoms.iter() {
        if let Some(p) = a.proto {
            let n = u128::from(p.number());
            c.add(PROTO, &Ranges::span(n, n));
        }
        c.add(SPORT, &port(&a.sports));
        c.add(DPORT, &port(&a.dports));
        if let Some(i) = a.icmp {
            c.add(ICMP, &icmp(i));
        }
    }
}

fn icmp(i: IcmpMatch) -> Ranges {
    match i {
        IcmpMatch::Any => Ranges::span(0, 65535),
        IcmpMatch::Type(t) => Ranges::span(u128::from(t) << 8, (u128::from(t) << 8) | 255),
        IcmpMatch::TypeCode(t, c) => {
            let v = (u128::from(t) << 8) | u128::from(c);
            Ranges::span(v, v)
        }
    }
}

fn atom_has(a: &ServiceAtom, s: &Service, v6: bool) -> bool {
    let inside = |r: &[rampart_ir::PortRange], v: Option<u16>| {
        r.is_empty() || v.is_some_and(|v| r.iter().any(|p| p.0 <= v && v <= p.1))
    };
    let proto_ok = match a.proto {
        None => true,
        Some(Proto::Icmp) => !v6 && s.proto == 1,
        Some(Proto::Icmpv6) => v6 && s.proto == 58,
        Some(p) => p.number() == s.proto,
    };
    let icmp_ok = match (a.icmp, s.icmp) {
        (None, _) => true,
        (Some(i), Some((t, c))) => icmp(i).intersects(&Ranges::span(
            (u128::from(t) << 8) | u128::from(c),
            (u128::from(t) << 8) | u128::from(c),
        )),
        (Some(_), None) => false,
    };
    proto_ok && icmp_ok && inside(&a.sports, s.sport) && inside(&a.dports, s.dport)
}

/// Where the description pins the interfaces: `on` with its direction
/// (without one: where packets arrive, or leave for the firewall's own).
pub struct On<'a> {
    pub iface: &'a IfaceColumn,
    pub direction: Direction,
}

/// The packets for `src` × `dst` × `svc`, at most `limit` (then `None`).
/// A packet whose source and destination lie behind the same interface
/// does not cross the firewall and is left out; so is the firewall
/// talking to itself. One of the firewall's own addresses stands for the
/// firewall: a packet from it is its own (OUTPUT), never one crossing it.
#[must_use]
pub fn packets<'a>(
    ifaces: &'a Interfaces,
    cuts: &Cuts,
    src: &Ends,
    dst: &Ends,
    svc: &[Service],
    on: &On<'_>,
    limit: usize,
) -> Option<Vec<Packet>> {
    let family = cuts.family;
    let addr = |v: u128| addr(family, v);
    let mut walks: Vec<Walk> = Vec::new();
    let own_dsts = own_dsts(cuts, ifaces);
    let pin = |hook: Hook, side_in: bool, found: Vec<&'a str>| -> Vec<&'a str> {
        if on.iface.names.is_empty() {
            return found;
        }
        let ins = match on.direction {
            Direction::In => true,
            Direction::Out => false,
            Direction::Both => hook != Hook::Output,
        };
        if ins == side_in { named(ifaces, on.iface) } else { found }
    };
    for &(s, s_hi) in &src.pieces {
        let s = addr(rep((s, s_hi)));
        let ins = pin(Hook::Input, true, ifaces.via(s));
        let fins = pin(Hook::Forward, true, ifaces.via(s));
        for &(d, d_hi) in &dst.pieces {
            let d = addr(rep((d, d_hi)));
            // The firewall's own addresses stand for the firewall: its
            // packets, and those to it, never cross it (see `own_srcs`).
            if ifaces.own(d) || (ifaces.own(s) && src.hosts.contains(&s)) {
                continue;
            }
            for o in pin(Hook::Forward, false, ifaces.via(d)) {
                for i in fins.iter().filter(|i| **i != o) {
                    walks.push(Walk::new(Hook::Forward, Some(s), d, i, o));
                }
            }
        }
        if dst.firewall {
            for &d in &own_dsts {
                for i in &ins {
                    walks.push(Walk::new(Hook::Input, Some(s), d, i, ""));
                }
            }
        } else {
            for p in dst.pieces.iter().map(|p| addr(rep(*p))).filter(|a| ifaces.own(*a)) {
                for i in &ins {
                    walks.push(Walk::new(Hook::Input, Some(s), p, i, ""));
                }
            }
        }
        if walks.len() * svc.len() > limit {
            return None;
        }
    }
    // The firewall's own packets: from the address of the interface they
    // leave by, or from those of its own addresses the column names.
    let own_srcs: Vec<IpAddr> = if src.firewall {
        vec![]
    } else {
        src.hosts.iter().copied().filter(|a| ifaces.own(*a)).collect()
    };
    if src.firewall || !own_srcs.is_empty() {
        for &(d, d_hi) in &dst.pieces {
            let d = addr(rep((d, d_hi)));
            if ifaces.own(d) {
                continue;
            }
            for o in pin(Hook::Output, false, ifaces.via(d)) {
                if src.firewall {
                    let s = ifaces.source(o, family == Family::V6);
                    walks.push(Walk::new(Hook::Output, s, d, "", o));
                }
                for &s in &own_srcs {
                    walks.push(Walk::new(Hook::Output, Some(s), d, "", o));
                }
            }
        }
    }
    let owners = owners(cuts);
    let per = |h: Hook| if h == Hook::Output { owners.len() } else { 1 };
    if walks.iter().map(|w| per(w.hook)).sum::<usize>() * svc.len() > limit {
        return None;
    }
    Some(walks.iter().flat_map(|w| w.packets(svc, &owners)).collect())
}

/// A path through the firewall: the hook, the addresses and the
/// interfaces (empty where the hook has none).
pub(crate) struct Walk {
    pub hook: Hook,
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    pub in_iface: String,
    pub out_iface: String,
    /// Bridged: the ports in and out.
    pub physdev: Option<(String, String)>,
}

impl Walk {
    pub(crate) fn new(hook: Hook, src: Option<IpAddr>, dst: IpAddr, i: &str, o: &str) -> Self {
        Self { hook, src, dst, in_iface: i.to_owned(), out_iface: o.to_owned(), physdev: None }
    }

    /// Through `bridge` from one port to another.
    pub(crate) fn bridged(bridge: &str, (i, o): (&str, &str), src: IpAddr, dst: IpAddr) -> Self {
        Self {
            physdev: Some((i.to_owned(), o.to_owned())),
            ..Self::new(Hook::Forward, Some(src), dst, bridge, bridge)
        }
    }

    /// The walk's packets, one per service (and per sender, for the
    /// firewall's own).
    pub(crate) fn packets(
        &self,
        svc: &[Service],
        owners: &[(Option<u32>, Option<u32>)],
    ) -> Vec<Packet> {
        let mut out = Vec::new();
        for v in svc {
            let mut p = Packet::new(self.hook);
            p.src = self.src;
            p.dst = Some(self.dst);
            p.in_iface = (!self.in_iface.is_empty()).then(|| self.in_iface.clone());
            p.out_iface = (!self.out_iface.is_empty()).then(|| self.out_iface.clone());
            if let Some((i, o)) = &self.physdev {
                p.physdev_in = Some(i.clone());
                p.physdev_out = Some(o.clone());
                p.bridged = true;
            }
            p.proto = Some(v.proto);
            p.sport = v.sport;
            p.dport = v.dport;
            p.icmp = v.icmp.map(|(t, c)| (t, Some(c)));
            p.tcp_flags = (v.proto == 6).then_some(tcp::SYN);
            if self.hook == Hook::Output {
                for &(uid, gid) in owners {
                    out.push(Packet { uid, gid, ..p.clone() });
                }
            } else {
                out.push(p);
            }
        }
        out
    }
}

pub(crate) fn addr(family: Family, v: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::from(std::net::Ipv4Addr::from_bits(v as u32)),
        Family::V6 => IpAddr::from(std::net::Ipv6Addr::from_bits(v)),
    }
}

/// The addresses the firewall answers on: its static ones first (the
/// first packet that fails is named), then, with a `dynamic` interface,
/// one per piece outside the other interfaces' networks.
pub(crate) fn own_dsts(cuts: &Cuts, ifaces: &Interfaces) -> Vec<IpAddr> {
    let dynamic = ifaces.dynamics().next().is_some();
    let mut v: Vec<IpAddr> = cuts
        .pieces(DST, &Ranges::span(0, cuts.max(DST)))
        .iter()
        .map(|p| addr(cuts.family, rep(*p)))
        .filter(|a| ifaces.own(*a) || (dynamic && ifaces.via(*a) == ifaces.outside()))
        .collect();
    v.sort_by_key(|a| !ifaces.own(*a));
    v
}

/// The senders of the firewall's own packets the owner matches tell
/// apart: the kernel (no socket), and one user and group per piece.
pub(crate) fn owners(cuts: &Cuts) -> Vec<(Option<u32>, Option<u32>)> {
    let mut v = vec![(None, None)];
    for (u, _) in cuts.id_pieces(0) {
        for (g, _) in cuts.id_pieces(1) {
            v.push((Some(u as u32), Some(g as u32)));
        }
    }
    v
}

/// The value that stands for a piece: its first, but 1 rather than 0
/// (address 0.0.0.0, port 0) when the piece holds both.
pub(crate) fn rep((lo, hi): (u128, u128)) -> u128 {
    if lo == 0 && hi > 0 { 1 } else { lo }
}
