//! A routed packet across every hook of the firewall, as the kernel takes
//! it: PREROUTING, the routing decision on the translated destination,
//! INPUT or FORWARD, then POSTROUTING for a forwarded packet.
//!
//! At each hook the packet passes every base chain of the filter and nat
//! types there in the ruleset's order, which readers make the kernel's
//! (nftables tables by priority, the nat chains where the kernel's NAT
//! hook sits): an accept ends only that chain, anything else ends the
//! walk. A nat chain sees only a new connection's first packet, and none
//! after one of its hook translated; the chains after see the translated
//! packet.
//!
//! The routing decision and the addresses masquerade and redirect pick
//! come from the firewall's [`Interfaces`]: the policy's (or a lab's)
//! interfaces with their addresses. An address the interfaces do not
//! place is never guessed: the route is undecided unless the caller names
//! the outgoing interface.

use rampart_ir::{ChainId, Hook, Ruleset, Table};

use crate::eval::{Trace, Verdict};
use crate::interfaces::Interfaces;
use crate::nat::{Nat, Translation, translate_chain};
use crate::packet::{CtState, Packet};
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

/// What one base chain did to the packet.
#[derive(Clone, Debug)]
pub enum Walk {
    Filter(Trace),
    Nat(Box<Nat>),
}

impl Walk {
    #[must_use]
    pub fn trace(&self) -> &Trace {
        match self {
            Walk::Filter(t) => t,
            Walk::Nat(n) => &n.trace,
        }
    }

    /// The translation a nat chain made.
    #[must_use]
    pub fn translation(&self) -> Option<&Translation> {
        match self {
            Walk::Filter(_) => None,
            Walk::Nat(n) => n.translation.as_ref(),
        }
    }
}

/// One base chain passed: the packet as it entered it, and the walk.
#[derive(Clone, Debug)]
pub struct Passage {
    pub chain: ChainId,
    pub packet: Packet,
    pub walk: Walk,
}

/// One routed packet through every hook it meets.
#[derive(Clone, Debug)]
pub struct Routed {
    /// The packet as it arrived (at PREROUTING).
    pub packet: Packet,
    /// The base chains passed, in order; the route was decided after those
    /// at PREROUTING.
    pub passages: Vec<Passage>,
    /// `None` when PREROUTING ended the walk (a drop, or undecided).
    pub route: Option<Route>,
    /// What became of the packet.
    pub verdict: Verdict,
    /// The packet as it leaves (forwarded) or is delivered (input), when
    /// accepted.
    pub delivered: Option<Packet>,
}

/// The base chains of the filter and nat types at `hook`, in the order a
/// packet passes them.
#[must_use]
pub fn stages(rs: &Ruleset, hook: Hook) -> Vec<ChainId> {
    let at = |c: &rampart_ir::Chain| {
        c.hook() == Some(hook) && matches!(c.table, Table::Filter | Table::Nat)
    };
    rs.chains.iter().enumerate().filter(|(_, c)| at(c)).map(|(i, _)| ChainId(i)).collect()
}

/// Follows `packet` (its hook is taken to be PREROUTING; `out_iface`, when
/// given, names the route) through every base chain of `rs` it meets.
/// `local` gives the route types (`-m addrtype`) of the addresses at each
/// hook, after each translation. `filter` traces a packet through a filter
/// base chain (the reference evaluator or the compiled one).
#[must_use]
pub fn routed(
    rs: &Ruleset,
    packet: &Packet,
    ifaces: &Interfaces,
    local: &LocalTable,
    filter: &dyn Fn(ChainId, &Packet) -> Trace,
) -> Routed {
    let mut p = Packet { hook: Hook::Prerouting, ..packet.clone() };
    local.classify(&mut p);
    let named = p.out_iface.take();
    let mut out = Routed {
        packet: p.clone(),
        passages: vec![],
        route: None,
        verdict: Verdict::Accept,
        delivered: None,
    };
    let hook = |p: &mut Packet, out: &mut Routed| {
        local.classify(p);
        out.verdict = through(rs, p, ifaces, local, filter, &mut out.passages);
        out.verdict == Verdict::Accept
    };
    if !hook(&mut p, &mut out) {
        return out;
    }
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
    if !hook(&mut p, &mut out) {
        return out;
    }
    if p.hook == Hook::Forward {
        p.hook = Hook::Postrouting;
        if !hook(&mut p, &mut out) {
            return out;
        }
    }
    out.delivered = Some(p);
    out
}

/// The packet through the base chains of its hook; `p` becomes the packet
/// as it leaves them.
fn through(
    rs: &Ruleset,
    p: &mut Packet,
    ifaces: &Interfaces,
    local: &LocalTable,
    filter: &dyn Fn(ChainId, &Packet) -> Trace,
    passages: &mut Vec<Passage>,
) -> Verdict {
    let mut translated = false;
    for chain in stages(rs, p.hook) {
        let walk = if rs[chain].table == Table::Nat {
            // The kernel's NAT hook runs nat chains for a connection's
            // first packet, until one of them binds a translation.
            if translated || p.state != CtState::New {
                continue;
            }
            Walk::Nat(Box::new(translate_chain(rs, chain, p, ifaces)))
        } else {
            Walk::Filter(filter(chain, p))
        };
        let verdict = walk.trace().verdict.clone();
        let after = walk.translation().map(|t| t.after.clone());
        passages.push(Passage { chain, packet: p.clone(), walk });
        if verdict != Verdict::Accept {
            return verdict;
        }
        if let Some(after) = after {
            translated = true;
            *p = after;
            local.classify(p);
        }
    }
    Verdict::Accept
}

fn route(p: &Packet, named: Option<String>, ifaces: &Interfaces) -> Route {
    let Some(dst) = p.dst else {
        return Route::Unknown("the destination address is not given (--dst)".into());
    };
    // The interfaces', or else the host's local routing table (--local,
    // or the live host's).
    if ifaces.local(dst) || p.dst_type == Some(rampart_ir::AddrTypes::LOCAL) {
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
    Route::Unknown(format!(
        "{why}: name the route with --out IFACE or the host's addresses with --local \
         ADDR/LEN, or trace --hook input"
    ))
}

impl Routed {
    /// The translations made, each with the packet it was made on, in
    /// order.
    pub fn translations(&self) -> impl Iterator<Item = (&Packet, &Translation)> {
        self.passages.iter().filter_map(|s| Some((&s.packet, s.walk.translation()?)))
    }

    /// The packet as it leaves (forwarded, accepted) or is delivered
    /// (input, accepted).
    #[must_use]
    pub fn result(&self) -> Option<&Packet> {
        self.delivered.as_ref()
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
