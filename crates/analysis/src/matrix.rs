//! What can reach what: for each pair of zones (the firewall itself, and
//! what lies behind each interface), the services whose new connections
//! the rules accept. Every cell is the evaluator's verdict on one packet
//! per piece of the [`Cuts`], so it is exact, not sampled. Also the
//! spoofing check: which interfaces accept packets claiming a source
//! that routing puts behind another interface, or the firewall's own.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use rampart_diag::{Diagnostic, Span};
use rampart_ir::{AddrItem, Family, Ruleset};
use rampart_model::{Firewall, ServiceColumn};
use rampart_trace::explain::{describe, proto_name};
use rampart_trace::{Hook, Interfaces, Packet, Tracer, Verdict};
use serde::Serialize;

use crate::cuts::Cuts;
use crate::diagnostics as d;
use crate::packets::{Service, Walk, addr, cut_at, interfaces, own_dsts, owners, rep, services};
use crate::ranges::Ranges;
use crate::space::{DST, SRC};

/// A matrix traces at most this many packets (then it is refused).
pub const LIMIT: usize = 5_000_000;

#[derive(Clone, Debug, Serialize)]
pub struct Matrix {
    pub firewall: String,
    pub family: &'static str,
    pub zones: Vec<Zone>,
    /// Every ordered pair of different zones, in zone order.
    pub cells: Vec<Cell>,
    pub spoofing: Vec<Spoof>,
    /// Bridged traffic: for each bridge, port to port.
    pub bridges: Vec<Bridged>,
    /// Packets traced.
    pub packets: usize,
}

/// What a bridge forwards from each of its ports to each other one.
#[derive(Clone, Debug, Serialize)]
pub struct Bridged {
    pub bridge: String,
    /// Each port, with the addresses beyond it (its guest's, or what lies
    /// beyond a border).
    pub ports: Vec<Zone>,
    /// Every ordered pair of different ports, in port order.
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Zone {
    /// `self`, or the interface's name.
    pub name: String,
    /// The interface's networks; `elsewhere` for the addresses behind
    /// no interface's network that routing sends this way.
    pub networks: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    pub from: String,
    pub to: String,
    pub allowed: Vec<Allowed>,
}

/// A service some of whose packets from one zone to another are
/// accepted (or undecided).
#[derive(Clone, Debug, Serialize)]
pub struct Allowed {
    /// `tcp 22`, `udp 1024-65535`, `icmp 8`, `proto 47`.
    pub service: String,
    /// The policy's name for it, when a rule names exactly this.
    pub name: Option<String>,
    /// The protocols, first and last, and the destination ports (or
    /// ICMP `type << 8 | code`) of the piece, where the protocol has them.
    pub protocols: (u8, u8),
    pub piece: Option<(u128, u128)>,
    pub packets: usize,
    pub accepted: usize,
    /// Packets whose verdict depends on a match the evaluator cannot
    /// decide (time, marks, unknown modules).
    pub undecided: usize,
    /// The policy rules that accept them (0: a rule Rampart adds).
    pub rules: Vec<u32>,
}

impl Allowed {
    /// `ssh (tcp 22)`, `tcp 8080`; `*` after it: accepted for some of
    /// the addresses only; `?`: undecided.
    #[must_use]
    pub fn label(&self) -> String {
        let name = match &self.name {
            Some(n) => format!("{n} ({})", self.service),
            None => self.service.clone(),
        };
        if self.undecided > 0 {
            format!("{name}?")
        } else if self.accepted < self.packets {
            format!("{name}*")
        } else {
            name
        }
    }
}

/// An interface that accepts a packet claiming another zone's source.
#[derive(Clone, Debug, Serialize)]
pub struct Spoof {
    pub interface: String,
    /// The zone whose address the packet claims.
    pub claims: String,
    pub packet: String,
    pub rule: Option<u32>,
    #[serde(skip)]
    span: Span,
    #[serde(skip)]
    rule_span: Option<Span>,
}

impl Spoof {
    #[must_use]
    pub fn diagnostic(&self) -> Diagnostic {
        d::spoofable(
            &self.interface,
            self.span,
            &self.claims,
            &self.packet,
            self.rule.map(|n| (n, self.rule_span)),
        )
    }
}

/// The matrix of `fw` in `family`, from `rs` (its compiled rules for
/// that family); `None` when it would trace more than [`LIMIT`] packets.
#[must_use]
pub fn matrix(fw: &Firewall, rs: &Ruleset, family: Family) -> Option<Matrix> {
    let ifaces = interfaces(fw);
    let mut cuts = Cuts::of(rs, family);
    cut_at(&ifaces, &mut cuts);
    let compiled = Tracer::new(rs);
    let svc = services(&ServiceColumn::default(), &cuts);
    let owners = owners(&cuts);
    let zones = zones(fw, &ifaces, &cuts);
    let names = service_names(fw);
    let mut m = Matrix {
        firewall: fw.name.clone(),
        family: if family == Family::V4 { "ipv4" } else { "ipv6" },
        zones: zones.iter().map(|z| z.zone.clone()).collect(),
        cells: Vec::new(),
        spoofing: Vec::new(),
        bridges: Vec::new(),
        packets: 0,
    };
    for a in &zones {
        for b in &zones {
            if a.zone.name == b.zone.name {
                continue;
            }
            let walks = walks(&ifaces, family, a, b);
            let per = if a.iface.is_none() { owners.len() } else { 1 };
            m.packets += walks.len() * svc.len() * per;
            if m.packets > LIMIT {
                return None;
            }
            let allowed = cell(&compiled, rs, &walks, &svc, &owners, &names);
            m.cells.push(Cell { from: a.zone.name.clone(), to: b.zone.name.clone(), allowed });
        }
    }
    m.spoofing = spoofing(fw, &ifaces, &compiled, rs, &zones, &svc);
    m.bridges = bridged(fw, &cuts, (&compiled, rs), &svc, &names, &mut m.packets)?;
    Some(m)
}

/// The cells of each bridge: packets from the addresses beyond one port
/// to those beyond another, bridged (the bridge as input and output
/// interface, the ports as physdev), one per piece as for the zones.
fn bridged(
    fw: &Firewall,
    cuts: &Cuts,
    (compiled, rs): (&Tracer, &Ruleset),
    svc: &[Service],
    names: &BTreeMap<Key, String>,
    packets: &mut usize,
) -> Option<Vec<Bridged>> {
    let f = cuts.family;
    let sets: BTreeMap<&str, Ranges> = fw
        .bridges
        .iter()
        .flat_map(|b| &b.ports)
        .map(|p| (p.name.as_str(), crate::space::items(&fw.far_side(p).items, f)))
        .collect();
    // The ports' edges cut the addresses too.
    let mut cuts = cuts.clone();
    for r in sets.values() {
        cuts.add(SRC, r);
        cuts.add(DST, r);
    }
    let reps = |r: &Ranges| -> Vec<IpAddr> {
        let pieces = cuts.pieces(SRC, r).into_iter().chain(cuts.pieces(DST, r));
        pieces.map(|p| addr(f, rep(p))).collect::<BTreeSet<_>>().into_iter().collect()
    };
    let mut out = Vec::new();
    for b in &fw.bridges {
        let addrs: Vec<Vec<IpAddr>> =
            b.ports.iter().map(|p| reps(&sets[p.name.as_str()])).collect();
        let mut cells = Vec::new();
        for (i, p) in b.ports.iter().enumerate() {
            for (j, q) in b.ports.iter().enumerate() {
                if i == j {
                    continue;
                }
                let mut walks = Vec::new();
                for &s in &addrs[i] {
                    for &d in &addrs[j] {
                        walks.push(Walk::bridged(&b.name, (&p.name, &q.name), s, d));
                    }
                }
                *packets += walks.len() * svc.len();
                if *packets > LIMIT {
                    return None;
                }
                let allowed = cell(compiled, rs, &walks, svc, &[(None, None)], names);
                cells.push(Cell { from: p.name.clone(), to: q.name.clone(), allowed });
            }
        }
        let ports = b
            .ports
            .iter()
            .map(|p| Zone {
                name: p.name.clone(),
                networks: fw
                    .far_side(p)
                    .items
                    .iter()
                    .filter(|a| a.family() == f)
                    .map(|a| match a {
                        AddrItem::Net(n) if n.prefix_len() == n.max_prefix_len() => {
                            n.addr().to_string()
                        }
                        AddrItem::Net(n) => n.to_string(),
                        AddrItem::Range(lo, hi) => format!("{lo}-{hi}"),
                    })
                    .collect(),
            })
            .collect();
        out.push(Bridged { bridge: b.name.clone(), ports, cells });
    }
    Some(out)
}

/// A zone and the pieces of the address space in it.
struct Area {
    zone: Zone,
    /// `None` for the firewall itself.
    iface: Option<String>,
    /// A source address per piece (and, for the firewall, per address
    /// it answers on).
    addrs: Vec<IpAddr>,
}

fn zones(fw: &Firewall, ifaces: &Interfaces, cuts: &Cuts) -> Vec<Area> {
    let f = cuts.family;
    let pieces: Vec<IpAddr> = cuts
        .pieces(SRC, &Ranges::span(0, cuts.max(SRC)))
        .into_iter()
        .chain(cuts.pieces(DST, &Ranges::span(0, cuts.max(DST))))
        .map(|p| addr(f, rep(p)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = vec![Area {
        zone: Zone { name: "self".into(), networks: vec![] },
        iface: None,
        addrs: own_dsts(cuts, ifaces),
    }];
    for i in fw.interfaces.iter().filter(|i| !i.loopback) {
        let mut networks: Vec<String> = i
            .addrs
            .iter()
            .filter(|n| matches!(n, IpNet::V4(_)) == (f == Family::V4))
            .map(|n| n.trunc().to_string())
            .collect();
        if ifaces.outside().contains(&i.name.as_str()) {
            networks.push("elsewhere".into());
        }
        let addrs = pieces
            .iter()
            .filter(|a| !ifaces.own(**a) && ifaces.via(**a).contains(&i.name.as_str()))
            .copied()
            .collect();
        out.push(Area {
            zone: Zone { name: i.name.clone(), networks },
            iface: Some(i.name.clone()),
            addrs,
        });
    }
    out
}

fn walks(ifaces: &Interfaces, family: Family, a: &Area, b: &Area) -> Vec<Walk> {
    let mut v = Vec::new();
    match (&a.iface, &b.iface) {
        (Some(i), Some(o)) => {
            for &s in &a.addrs {
                for &d in &b.addrs {
                    v.push(Walk::new(Hook::Forward, Some(s), d, i, o));
                }
            }
        }
        (Some(i), None) => {
            for &s in &a.addrs {
                for &d in &b.addrs {
                    v.push(Walk::new(Hook::Input, Some(s), d, i, ""));
                }
            }
        }
        (None, Some(o)) => {
            let s = ifaces.source(o, family == Family::V6);
            for &d in &b.addrs {
                v.push(Walk::new(Hook::Output, s, d, "", o));
            }
        }
        (None, None) => {}
    }
    v
}

type Key = ((u8, u8), Option<(u128, u128)>);

/// A policy rule: its number and span.
type By = (u32, Option<Span>);

fn cell(
    compiled: &Tracer,
    rs: &Ruleset,
    walks: &[Walk],
    svc: &[Service],
    owners: &[(Option<u32>, Option<u32>)],
    names: &BTreeMap<Key, String>,
) -> Vec<Allowed> {
    // Per service piece: packets, accepted, undecided, accepting rules.
    let mut by: BTreeMap<Key, (usize, usize, usize, BTreeSet<u32>)> = BTreeMap::new();
    for w in walks {
        for v in svc {
            for p in w.packets(std::slice::from_ref(v), owners) {
                let e = by.entry((v.protos, v.piece)).or_default();
                e.0 += 1;
                let t = compiled.trace(&p);
                match t.verdict {
                    Verdict::Accept => {
                        e.1 += 1;
                        if let Some(at) = t.main.decided_by
                            && let Some(o) = at.origin(rs)
                        {
                            e.3.insert(o.rule);
                        }
                    }
                    Verdict::Unknown => e.2 += 1,
                    _ => {}
                }
            }
        }
    }
    let mut out: Vec<(Key, Allowed)> = Vec::new();
    for (k, (packets, accepted, undecided, rules)) in by {
        if accepted + undecided == 0 {
            continue;
        }
        let name = names.get(&k).cloned();
        let rules: Vec<u32> = rules.into_iter().collect();
        // Neighbouring port pieces accepted alike read as one range.
        if let Some((pk, prev)) = out.last_mut()
            && let (Some(a), Some(b)) = (pk.1, k.1)
            && pk.0 == k.0
            && a.1 + 1 == b.0
            && prev.name.is_none()
            && name.is_none()
            && prev.rules == rules
            && prev.accepted == prev.packets
            && accepted == packets
            && prev.undecided == 0
            && undecided == 0
        {
            pk.1 = Some((a.0, b.1));
            prev.packets += packets;
            prev.accepted += accepted;
            prev.service = service_text(*pk);
            prev.piece = pk.1;
            continue;
        }
        let service = service_text(k);
        let (protocols, piece) = k;
        out.push((
            k,
            Allowed { service, name, protocols, piece, packets, accepted, undecided, rules },
        ));
    }
    out.into_iter().map(|(_, a)| a).collect()
}

fn service_text(((p, p_hi), piece): Key) -> String {
    if p_hi != p {
        return format!("proto {p}-{p_hi}");
    }
    let proto = proto_name(p);
    match piece {
        None => proto,
        Some((lo, hi)) if matches!(p, 1 | 58) => {
            let (t, t_hi) = (lo >> 8, hi >> 8);
            if lo == 0 && hi == 65535 {
                proto
            } else if lo & 255 == 0 && hi & 255 == 255 {
                if t == t_hi { format!("{proto} {t}") } else { format!("{proto} {t}-{t_hi}") }
            } else if lo == hi {
                format!("{proto} {t}/{}", lo & 255)
            } else {
                format!("{proto} {t}/{}-{t_hi}/{}", lo & 255, hi & 255)
            }
        }
        Some((0, 65535)) => proto,
        Some((lo, hi)) if lo == hi => format!("{proto} {lo}"),
        Some((lo, hi)) => format!("{proto} {lo}-{hi}"),
    }
}

/// The policy's service names by the piece they name exactly.
fn service_names(fw: &Firewall) -> BTreeMap<Key, String> {
    let mut out = BTreeMap::new();
    let atoms = fw.rulesets.iter().flat_map(|r| &r.rules).flat_map(|r| r.service.atoms.iter());
    for a in atoms {
        let (Some(name), Some(p)) = (&a.name, a.proto) else { continue };
        let n = p.number();
        for r in &a.dports {
            out.entry(((n, n), Some((u128::from(r.0), u128::from(r.1))))).or_insert(name.clone());
        }
        if let Some(rampart_ir::IcmpMatch::Type(t)) = a.icmp {
            let t = u128::from(t) << 8;
            out.entry(((n, n), Some((t, t | 255)))).or_insert(name.clone());
        }
    }
    out
}

/// For each interface, the first packet it accepts that claims a source
/// of another zone (once per interface and zone).
fn spoofing(
    fw: &Firewall,
    ifaces: &Interfaces,
    compiled: &Tracer,
    rs: &Ruleset,
    zones: &[Area],
    svc: &[Service],
) -> Vec<Spoof> {
    let mut out = Vec::new();
    let own: Vec<IpAddr> = zones[0].addrs.iter().copied().filter(|a| ifaces.own(*a)).collect();
    for i in fw.interfaces.iter().filter(|i| !i.loopback) {
        for claim in zones.iter().filter(|z| z.iface.as_ref() != Some(&i.name)) {
            let srcs: Vec<IpAddr> = match &claim.iface {
                None => own.clone(),
                Some(_) => claim
                    .addrs
                    .iter()
                    .copied()
                    .filter(|a| !ifaces.via(*a).contains(&i.name.as_str()))
                    .collect(),
            };
            let found = srcs.iter().find_map(|&s| {
                zones.iter().filter(|z| z.iface.as_ref() != Some(&i.name)).find_map(|to| {
                    let hook = if to.iface.is_some() { Hook::Forward } else { Hook::Input };
                    let o = to.iface.as_deref().unwrap_or("");
                    to.addrs.iter().find_map(|&d| {
                        let w = Walk::new(hook, Some(s), d, &i.name, o);
                        w.packets(svc, &[]).into_iter().find_map(|p| accepted(compiled, rs, &p))
                    })
                })
            });
            if let Some((packet, rule)) = found {
                out.push(Spoof {
                    interface: i.name.clone(),
                    claims: claim.zone.name.clone(),
                    packet,
                    rule: rule.map(|r| r.0),
                    span: i.span,
                    rule_span: rule.and_then(|r| r.1),
                });
            }
        }
    }
    out
}

fn accepted(compiled: &Tracer, rs: &Ruleset, p: &Packet) -> Option<(String, Option<By>)> {
    let t = compiled.trace(p);
    (t.verdict == Verdict::Accept).then(|| {
        let by = t.main.decided_by.and_then(|at| at.origin(rs));
        (describe(p), by.map(|o| (o.rule, o.span)))
    })
}
