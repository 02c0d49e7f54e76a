//! NAT in a trace: which rule of the nat table translates a new
//! connection, how, and the packet as the filter rules then see it.
//!
//! The kernel walks the nat table for the first packet of a connection
//! only: destination NAT at PREROUTING (before the filter rules, which see
//! the translated packet), source NAT at POSTROUTING (after them). The
//! replies of the connection are translated back by connection tracking.

use std::net::IpAddr;

use rampart_ir::{ChainId, NatTo, Ruleset, Table, Target};

use crate::eval::{Trace, Verdict, trace_chain, trace_table};
use crate::interfaces::Interfaces;
use crate::packet::Packet;

/// What a nat chain did to a new connection.
#[derive(Clone, Debug)]
pub struct Nat {
    /// The walk through the nat table's chain at the packet's hook.
    pub trace: Trace,
    /// `None`: no rule translated (none matched, no-nat, no nat chain) or
    /// the walk is undecided (`trace.verdict` is unknown).
    pub translation: Option<Translation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translation {
    pub kind: NatKind,
    /// The policy rule, when the rule carries one.
    pub rule: Option<u32>,
    /// The packet as the next hooks see it. The address masquerade or
    /// redirect picks is the interface's first address in the packet's
    /// family, not given when the interface's addresses are unknown.
    pub after: Packet,
    /// Where the address that is not given comes from, for the text.
    pub note: Option<String>,
}

/// The four ways a nat rule translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatKind {
    Dnat,
    Snat,
    Masquerade,
    Redirect,
}

impl NatKind {
    /// `DNAT`, `SNAT`, `MASQUERADE` or `REDIRECT`, as iptables names them.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            NatKind::Dnat => "DNAT",
            NatKind::Snat => "SNAT",
            NatKind::Masquerade => "MASQUERADE",
            NatKind::Redirect => "REDIRECT",
        }
    }

    /// Whether it rewrites the destination (DNAT, REDIRECT).
    #[must_use]
    pub fn destination(self) -> bool {
        matches!(self, NatKind::Dnat | NatKind::Redirect)
    }
}

/// The nat table's chain at `packet.hook` (PREROUTING, POSTROUTING or
/// OUTPUT) applied to the first packet of a connection; `ifaces` gives the
/// addresses masquerade and redirect pick.
#[must_use]
pub fn translate(rs: &Ruleset, packet: &Packet, ifaces: &Interfaces) -> Nat {
    translated(rs, trace_table(rs, Table::Nat, packet), packet, ifaces)
}

/// As [`translate`], through the nat chain `chain` (one of several at the
/// packet's hook).
#[must_use]
pub fn translate_chain(rs: &Ruleset, chain: ChainId, packet: &Packet, ifaces: &Interfaces) -> Nat {
    translated(rs, trace_chain(rs, chain, packet), packet, ifaces)
}

/// What the walk `trace` through a nat chain made of `packet`.
fn translated(rs: &Ruleset, trace: Trace, packet: &Packet, ifaces: &Interfaces) -> Nat {
    let rule = match (&trace.verdict, trace.main.decided_by) {
        (Verdict::Accept, Some(at)) => Some(at.rule(rs)),
        _ => None,
    };
    let v6 = packet.src.or(packet.dst).is_some_and(|a| a.is_ipv6());
    let translation = rule.and_then(|r| {
        let mut after = packet.clone();
        let (kind, note) = match &r.target {
            Target::Dnat(to) => {
                set(&mut after.dst, &mut after.dport, *to);
                (NatKind::Dnat, None)
            }
            Target::Snat(to) => {
                set(&mut after.src, &mut after.sport, *to);
                (NatKind::Snat, None)
            }
            Target::Masquerade(ports) => {
                if let Some((p, _)) = ports {
                    after.sport = Some(*p);
                }
                let out = packet.out_iface.as_deref();
                after.src = out.and_then(|o| ifaces.address(o, v6));
                let note = after.src.is_none().then(|| match out {
                    Some(o) if ifaces.dynamic(o) => format!("the address of {o} (dynamic)"),
                    Some(o) => format!("the address of {o}"),
                    None => "the address of the outgoing interface".to_owned(),
                });
                (NatKind::Masquerade, note)
            }
            Target::Redirect(ports) => {
                if let Some((p, _)) = ports {
                    after.dport = Some(*p);
                }
                let on = packet.in_iface.as_deref();
                // Locally made packets are redirected to the loopback address.
                after.dst = match (on, packet.hook) {
                    (_, rampart_ir::Hook::Output) => Some(loopback(v6)),
                    (Some(i), _) => ifaces.address(i, v6),
                    (None, _) => None,
                };
                let note = after.dst.is_none().then(|| match on {
                    Some(i) if ifaces.dynamic(i) => format!("this host's address on {i} (dynamic)"),
                    Some(i) => format!("this host's address on {i}"),
                    None => "this host's address on the incoming interface".to_owned(),
                });
                (NatKind::Redirect, note)
            }
            _ => return None,
        };
        let rule = r.origin.map(|o| o.rule);
        let rule = rule.or_else(|| r.comment.as_deref().and_then(rampart_ir::origin::comment_rule));
        Some(Translation { kind, rule, after, note })
    });
    Nat { trace, translation }
}

fn loopback(v6: bool) -> IpAddr {
    if v6 { IpAddr::from(std::net::Ipv6Addr::LOCALHOST) } else { IpAddr::from([127, 0, 0, 1]) }
}

/// The first address and port of the range: the kernel picks one of them
/// per connection, the first when it is free.
fn set(addr: &mut Option<IpAddr>, port: &mut Option<u16>, to: NatTo) {
    if let Some((a, _)) = to.addrs {
        *addr = Some(a);
    }
    if let Some((p, _)) = to.ports {
        *port = Some(p);
    }
}

impl Translation {
    /// `DNAT 203.0.113.1:80 -> 10.2.0.80:8080 by R12`.
    #[must_use]
    pub fn text(&self, before: &Packet) -> String {
        let end = |a: Option<IpAddr>, p: Option<u16>, dst: bool| {
            let a = match a {
                Some(a) => a.to_string(),
                None if self.note.is_some() && dst == self.kind.destination() => {
                    self.note.clone().unwrap_or_default()
                }
                None => "?".to_owned(),
            };
            p.map_or(a.clone(), |p| format!("{a}:{p}"))
        };
        let dst = self.kind.destination();
        let (from, to) = if dst {
            (end(before.dst, before.dport, true), end(self.after.dst, self.after.dport, true))
        } else {
            (end(before.src, before.sport, false), end(self.after.src, self.after.sport, false))
        };
        let by = self.rule.map_or(String::new(), |n| format!(" by R{n}"));
        format!("{} {from} -> {to}{by}", self.kind.name())
    }

    /// The reply of the translated connection as it arrives (from the
    /// translated side), an established packet the other way.
    #[must_use]
    pub fn reply(&self) -> Packet {
        let mut r = self.after.clone();
        (r.src, r.dst, r.sport, r.dport) = (r.dst, r.src, r.dport, r.sport);
        (r.in_iface, r.out_iface) = (r.out_iface, r.in_iface);
        r.state = crate::packet::CtState::Established;
        r
    }

    /// The reply to the translated connection as it leaves the firewall:
    /// connection tracking undoes the translation, so the reply carries the
    /// addresses the client used. `reply` is the reply as it arrives.
    #[must_use]
    pub fn undo(&self, original: &Packet, reply: &Packet) -> Packet {
        let mut out = reply.clone();
        if self.kind.destination() {
            out.src = original.dst;
            out.sport = original.dport;
        } else {
            out.dst = original.src;
            out.dport = original.sport;
        }
        out
    }
}
