//! A routed packet across every hook of the firewall, as the kernel takes
//! it: destination NAT at PREROUTING, the routing decision on the
//! translated destination, the filter rules of INPUT or FORWARD, then
//! source NAT at POSTROUTING for a forwarded packet.
//!
//! The routing decision and the addresses masquerade and redirect pick
//! come from the firewall's [`Interfaces`]: the policy's (or a lab's)
//! interfaces with their addresses. An address the interfaces do not
//! place is never guessed: the route is undecided unless the caller names
//! the outgoing interface.

use rampart_ir::{Hook, Ruleset};

use crate::eval::{Trace, Verdict};
use crate::interfaces::Interfaces;
use crate::nat::{Nat, Translation, translate};
use crate::packet::Packet;
use crate::routes::LocalTable;

/// The routing decision for the packet after PREROUTING.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// To one of the firewall's own addresses: INPUT.
    Local,
    /// Out of `out`: FORWARD, then POSTROUTING. `named`: the caller named
    /// the interface (`--out`); otherwise its network holds the address.
    Forward { out: String, named: bool },
    /// Not decided; the reason says what is missing.
    Unknown(String),
}

/// One routed packet through every hook it meets.
#[derive(Clone, Debug)]
pub struct Routed {
    /// The packet as it arrived (at PREROUTING).
    pub packet: Packet,
    pub prerouting: Nat,
    /// `None` when PREROUTING ended the walk (a drop, or undecided).
    pub route: Option<Route>,
    /// The filter hook (INPUT or FORWARD) with the packet it saw.
    pub filter: Option<(Packet, Trace)>,
    /// POSTROUTING, for a forwarded packet the filter accepted.
    pub postrouting: Option<(Packet, Nat)>,
    /// What became of the packet.
    pub verdict: Verdict,
}

/// Follows `packet` (its hook is taken to be PREROUTING; `out_iface`, when
/// given, names the route) through `rs`, whose filter and nat tables both
/// count. `local` gives the route types (`-m addrtype`) of the addresses at
/// each hook, after each translation. `filter` traces a packet through the
/// filter table (the reference evaluator or the compiled one).
#[must_use]
pub fn routed(
    rs: &Ruleset,
    packet: &Packet,
    ifaces: &Interfaces,
    local: &LocalTable,
    filter: &dyn Fn(&Packet) -> Trace,
) -> Routed {
    let mut packet = Packet { hook: Hook::Prerouting, ..packet.clone() };
    local.classify(&mut packet);
    let named = packet.out_iface.take();
    let prerouting = translate(rs, &packet, ifaces);
    let mut out = Routed {
        packet: packet.clone(),
        route: None,
        filter: None,
        postrouting: None,
        verdict: prerouting.trace.verdict.clone(),
        prerouting,
    };
    if out.verdict != Verdict::Accept {
        return out;
    }
    let mut p =
        out.prerouting.translation.as_ref().map_or_else(|| packet.clone(), |t| t.after.clone());
    let route = route(&p, named, ifaces);
    match &route {
        Route::Unknown(_) => {
            out.verdict = Verdict::Unknown;
            out.route = Some(route);
            return out;
        }
        Route::Local => p.hook = Hook::Input,
        Route::Forward { out, .. } => {
            p.hook = Hook::Forward;
            p.out_iface = Some(out.clone());
        }
    }
    out.route = Some(route);
    local.classify(&mut p);
    let t = filter(&p);
    out.verdict = t.verdict.clone();
    out.filter = Some((p.clone(), t));
    if p.hook != Hook::Forward || out.verdict != Verdict::Accept {
        return out;
    }
    p.hook = Hook::Postrouting;
    local.classify(&mut p);
    let n = translate(rs, &p, ifaces);
    out.verdict = n.trace.verdict.clone();
    out.postrouting = Some((p, n));
    out
}

fn route(p: &Packet, named: Option<String>, ifaces: &Interfaces) -> Route {
    let Some(dst) = p.dst else {
        return Route::Unknown("the destination address is not given (--dst)".into());
    };
    if ifaces.local(dst) {
        return Route::Local;
    }
    if let Some(out) = named {
        return Route::Forward { out, named: true };
    }
    let dynamic: Vec<&str> = ifaces.dynamics().collect();
    let why = match (ifaces.holding(dst).as_slice(), dynamic.as_slice()) {
        ([out], _) => return Route::Forward { out: (*out).to_owned(), named: false },
        ([], []) => format!("no interface's network holds {dst}"),
        ([], d) => format!(
            "no interface's network holds {dst}, and it may be the address of {}",
            d.join(" or ")
        ),
        (many, _) => format!("{dst} is on the networks of {}", many.join(" and ")),
    };
    Route::Unknown(format!("{why}: name the route with --out IFACE, or trace --hook input"))
}

impl Routed {
    /// The translations made, each with the packet it was made on, in
    /// order (PREROUTING's, then POSTROUTING's).
    pub fn translations(&self) -> impl Iterator<Item = (&Packet, &Translation)> {
        let pre = self.prerouting.translation.as_ref().map(|t| (&self.packet, t));
        let post = self.postrouting.as_ref().and_then(|(p, n)| Some((p, n.translation.as_ref()?)));
        pre.into_iter().chain(post)
    }

    /// The packet as it leaves (forwarded, accepted) or is delivered
    /// (input, accepted).
    #[must_use]
    pub fn result(&self) -> Option<&Packet> {
        if self.verdict != Verdict::Accept {
            return None;
        }
        match (&self.postrouting, &self.filter) {
            (Some((p, n)), _) => Some(n.translation.as_ref().map_or(p, |t| &t.after)),
            (None, Some((p, _))) => Some(p),
            (None, None) => None,
        }
    }

    /// The reply as it arrives at the firewall (from the packet's final
    /// destination) and as it leaves after connection tracking translates
    /// it back: with the addresses the sender used.
    #[must_use]
    pub fn reply(&self) -> Option<(Packet, Packet)> {
        let sent = self.result()?;
        let mut arrives = sent.clone();
        (arrives.src, arrives.dst) = (sent.dst, sent.src);
        (arrives.sport, arrives.dport) = (sent.dport, sent.sport);
        (arrives.in_iface, arrives.out_iface) = (sent.out_iface.clone(), sent.in_iface.clone());
        arrives.state = crate::packet::CtState::Established;
        let mut leaves = arrives.clone();
        (leaves.src, leaves.sport) = (self.packet.dst, self.packet.dport);
        (leaves.dst, leaves.dport) = (self.packet.src, self.packet.sport);
        Some((arrives, leaves))
    }
}
