//! NAT in a trace: which rule of the nat table translates a new
//! connection, how, and the packet as the filter rules then see it.
//!
//! The kernel walks the nat table for the first packet of a connection
//! only: destination NAT at PREROUTING (before the filter rules, which see
//! the translated packet), source NAT at POSTROUTING (after them). The
//! replies of the connection are translated back by connection tracking.

use std::net::IpAddr;

use rampart_ir::{NatTo, Ruleset, Table, Target};

use crate::eval::{Trace, Verdict, trace_table};
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
    /// `DNAT`, `SNAT`, `MASQUERADE` or `REDIRECT`.
    pub kind: &'static str,
    /// The policy rule, when the rule carries one.
    pub rule: Option<u32>,
    /// The packet as the next hooks see it. An address the kernel picks at
    /// run time (masquerade's, redirect's) is not given.
    pub after: Packet,
    /// Where the address that is not given comes from, for the text.
    pub note: Option<String>,
}

/// The nat table's chain at `packet.hook` (PREROUTING, POSTROUTING or
/// OUTPUT) applied to the first packet of a connection.
#[must_use]
pub fn translate(rs: &Ruleset, packet: &Packet) -> Nat {
    let trace = trace_table(rs, Table::Nat, packet);
    let rule = match (&trace.verdict, trace.main.decided_by) {
        (Verdict::Accept, Some(at)) => Some(&rs.chains[at.chain].rules[at.rule]),
        _ => None,
    };
    let translation = rule.and_then(|r| {
        let mut after = packet.clone();
        let (kind, note) = match &r.target {
            Target::Dnat(to) => {
                set(&mut after.dst, &mut after.dport, *to);
                ("DNAT", None)
            }
            Target::Snat(to) => {
                set(&mut after.src, &mut after.sport, *to);
                ("SNAT", None)
            }
            Target::Masquerade(ports) => {
                after.src = None;
                if let Some((p, _)) = ports {
                    after.sport = Some(*p);
                }
                let out = packet.out_iface.as_deref().unwrap_or("the outgoing interface");
                ("MASQUERADE", Some(format!("the address of {out}")))
            }
            Target::Redirect(ports) => {
                after.dst = None;
                if let Some((p, _)) = ports {
                    after.dport = Some(*p);
                }
                let on = packet.in_iface.as_deref().unwrap_or("the incoming interface");
                ("REDIRECT", Some(format!("this host's address on {on}")))
            }
            _ => return None,
        };
        let rule = r.origin.map(|o| o.rule);
        let rule = rule.or_else(|| r.comment.as_deref().and_then(rampart_ir::origin::comment_rule));
        Some(Translation { kind, rule, after, note })
    });
    Nat { trace, translation }
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
                None if self.note.is_some() && dst == (self.kind == "REDIRECT") => {
                    self.note.clone().unwrap_or_default()
                }
                None => "?".to_owned(),
            };
            p.map_or(a.clone(), |p| format!("{a}:{p}"))
        };
        let dst = matches!(self.kind, "DNAT" | "REDIRECT");
        let (from, to) = if dst {
            (end(before.dst, before.dport, true), end(self.after.dst, self.after.dport, true))
        } else {
            (end(before.src, before.sport, false), end(self.after.src, self.after.sport, false))
        };
        let by = self.rule.map_or(String::new(), |n| format!(" by R{n}"));
        format!("{} {from} -> {to}{by}", self.kind)
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
        if matches!(self.kind, "DNAT" | "REDIRECT") {
            out.src = original.dst;
            out.sport = original.dport;
        } else {
            out.dst = original.src;
            out.dport = original.sport;
        }
        out
    }
}
