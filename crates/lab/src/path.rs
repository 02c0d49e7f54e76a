//! Where a probe meets the firewall: the hooks it crosses, with the
//! interfaces and bridge ports the kernel will see, so that `rampart
//! trace` can predict each crossing.
//!
//! Routing is asked of a [`Router`]: each namespace's own kernel (`ip
//! route get`) in a running lab, the lab description offline; the
//! layer-2 part (which veth leads where, which bridge port leads to which
//! host) comes from the lab description. A frame crossing a bridge in the
//! firewall's namespace is one FORWARD pass (`-i`/`-o` the bridge, physdev
//! ports set), so a packet through two linked bridges crosses FORWARD
//! twice.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rampart_ir::Ruleset;
use rampart_trace::nat::translate;
use rampart_trace::{Hook, Interfaces, Packet, Verdict};

use crate::describe::Lab;
use crate::netns::LabError;
use crate::topology::RouteHop;

/// How a node reaches an address: its kernel, or the lab description.
pub trait Router {
    fn route(&self, node: &str, dst: IpAddr) -> Result<RouteHop, LabError>;
}

/// One pass through one of the firewall's filter hooks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Crossing {
    #[serde(serialize_with = "hook_name")]
    pub hook: Hook,
    pub in_iface: Option<String>,
    pub out_iface: Option<String>,
    pub physdev_in: Option<String>,
    pub physdev_out: Option<String>,
    pub bridged: bool,
    /// The addresses the filter rules see (after PREROUTING's nat).
    pub flow: Flow,
    /// What PREROUTING's nat did before this pass (`DNAT ... by R14`, or
    /// a reply's translation undone).
    pub nat: Vec<String>,
    /// What POSTROUTING's nat does after it, when the pass accepts.
    pub nat_after: Vec<String>,
    /// A nat chain here could not be decided: so neither can the pass.
    pub nat_undecided: bool,
}

fn hook_name<S: serde::Serializer>(h: &Hook, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(h.chain())
}

impl Crossing {
    fn new(hook: Hook, flow: Flow, nat: [Vec<String>; 2], nat_undecided: bool) -> Self {
        let [nat, nat_after] = nat;
        Self {
            hook,
            in_iface: None,
            out_iface: None,
            physdev_in: None,
            physdev_out: None,
            bridged: false,
            flow,
            nat,
            nat_after,
            nat_undecided,
        }
    }

    /// `FORWARD in=virbr6 out=virbr6 physdev vk63>vethb2`, with the
    /// translations around the pass: `[DNAT ...]` before it, `[then
    /// MASQUERADE ...]` after it.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut s = self.describe_pass();
        for n in &self.nat_after {
            s.push_str(&format!(" [then {n}]"));
        }
        s
    }

    /// As [`Self::describe`], without what follows an accept: for a pass
    /// that blocks.
    #[must_use]
    pub fn describe_pass(&self) -> String {
        let mut s = self.hook.chain().to_owned();
        if let Some(i) = &self.in_iface {
            s.push_str(&format!(" in={i}"));
        }
        if let Some(o) = &self.out_iface {
            s.push_str(&format!(" out={o}"));
        }
        if self.physdev_in.is_some() || self.physdev_out.is_some() {
            s.push_str(&format!(
                " physdev {}>{}",
                self.physdev_in.as_deref().unwrap_or("-"),
                self.physdev_out.as_deref().unwrap_or("-")
            ));
        }
        for n in &self.nat {
            s.push_str(&format!(" [{n}]"));
        }
        s
    }
}

/// Where a frame lands: node, interface, and the bridge port it came in
/// on when the interface is a bridge device of the firewall.
type Arrival = (String, String, Option<String>);

struct Fabric<'a> {
    lab: &'a Lab,
    /// (node, iface) → the other end of its veth.
    peer: BTreeMap<(String, String), (String, String)>,
    /// Firewall interface → the bridge it is a port of.
    port_of: BTreeMap<String, String>,
}

impl<'a> Fabric<'a> {
    fn new(lab: &'a Lab) -> Self {
        let fw = lab.firewall.name.clone();
        let bridges: Vec<&str> = lab.bridges.iter().map(|b| b.name.as_str()).collect();
        let mut peer = BTreeMap::new();
        let mut port_of = BTreeMap::new();
        let mut join = |a: (String, String), b: (String, String)| {
            peer.insert(a.clone(), b.clone());
            peer.insert(b, a);
        };
        for b in &lab.bridges {
            for p in &b.ports {
                port_of.insert(p.name.clone(), b.name.clone());
                let far = if bridges.contains(&p.peer.node.as_str()) {
                    port_of.insert(p.peer.iface.clone(), p.peer.node.clone());
                    (fw.clone(), p.peer.iface.clone())
                } else {
                    (p.peer.node.clone(), p.peer.iface.clone())
                };
                join((fw.clone(), p.name.clone()), far);
            }
        }
        for l in &lab.links {
            join((l.a.node.clone(), l.a.iface.clone()), (l.b.node.clone(), l.b.iface.clone()));
        }
        Self { lab, peer, port_of }
    }

    fn fw(&self) -> &str {
        &self.lab.firewall.name
    }

    fn ports(&self, bridge: &str) -> Vec<String> {
        self.port_of.iter().filter(|(_, b)| *b == bridge).map(|(p, _)| p.clone()).collect()
    }

    /// Whether the firewall's own address sits on the bridge device.
    fn fw_on(&self, bridge: &str) -> bool {
        self.lab.firewall.interface(bridge).is_some()
    }

    /// Whether a frame sent out of `port` can reach `target`.
    fn leads(&self, port: &str, target: &str, seen: &mut Vec<String>) -> bool {
        let Some((node, iface)) = self.peer.get(&(self.fw().to_owned(), port.to_owned())) else {
            return false;
        };
        if node == self.fw()
            && let Some(b) = self.port_of.get(iface)
        {
            if seen.contains(b) {
                return false;
            }
            seen.push(b.clone());
            if target == self.fw() && self.fw_on(b) {
                return true;
            }
            return self.ports(b).iter().any(|p| p != iface && self.leads(p, target, seen));
        }
        node == target
    }

    /// A frame enters `bridge` (through `entry`, or from the bridge device
    /// itself) bound for `target`.
    fn through_bridge(
        &self,
        bridge: &str,
        entry: Option<&str>,
        target: &str,
        flow: Flow,
        out: &mut Vec<Crossing>,
    ) -> Option<Arrival> {
        let filtered = self.lab.bridges.iter().any(|b| b.name == bridge && b.filtered);
        if target == self.fw() && self.fw_on(bridge) && entry.is_some() {
            let physdev = entry.filter(|_| filtered).map(str::to_owned);
            return Some((self.fw().to_owned(), bridge.to_owned(), physdev));
        }
        let port = self.ports(bridge).into_iter().find(|p| {
            Some(p.as_str()) != entry && self.leads(p, target, &mut vec![bridge.to_owned()])
        })?;
        if let Some(e) = entry.filter(|_| filtered) {
            out.push(Crossing {
                in_iface: Some(bridge.to_owned()),
                out_iface: Some(bridge.to_owned()),
                physdev_in: Some(e.to_owned()),
                physdev_out: Some(port.clone()),
                bridged: true,
                ..Crossing::new(Hook::Forward, flow, [Vec::new(), Vec::new()], false)
            });
        }
        let (node, iface) = self.peer.get(&(self.fw().to_owned(), port))?.clone();
        if node == self.fw()
            && let Some(b2) = self.port_of.get(&iface)
        {
            return self.through_bridge(b2, Some(&iface), target, flow, out);
        }
        Some((node, iface, None))
    }

    /// A frame leaves `node` through `dev`, bound for `target`.
    fn send(
        &self,
        node: &str,
        dev: &str,
        target: &str,
        flow: Flow,
        out: &mut Vec<Crossing>,
    ) -> Option<Arrival> {
        if node == self.fw() && self.lab.bridges.iter().any(|b| b.name == dev) {
            return self.through_bridge(dev, None, target, flow, out);
        }
        let (pn, pi) = self.peer.get(&(node.to_owned(), dev.to_owned()))?.clone();
        if pn == self.fw()
            && let Some(b) = self.port_of.get(&pi)
        {
            return self.through_bridge(b, Some(&pi), target, flow, out);
        }
        Some((pn, pi, None))
    }
}

/// The addresses and ports of a packet at one point of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Flow {
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
}

impl Flow {
    /// The reply's flow: from the destination back to the source.
    #[must_use]
    pub fn reversed(&self) -> Option<Flow> {
        Some(Flow { src: Some(self.dst), dst: self.src?, sport: self.dport, dport: self.sport })
    }

    fn onto(&self, p: &mut Packet) {
        (p.src, p.dst, p.sport, p.dport) = (self.src, Some(self.dst), self.sport, self.dport);
    }
}

/// A connection through the firewall: the flow as it arrived (or as the
/// firewall sent it) and as it left, after the nat table's translations.
/// Connection tracking undoes them on the replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    pub arrived: Flow,
    pub left: Flow,
}

/// What translates at the firewall: its nat table, and its interfaces'
/// addresses for masquerade and redirect.
pub struct Nat<'a> {
    pub ruleset: &'a Ruleset,
    pub ifaces: Interfaces,
}

impl<'a> Nat<'a> {
    /// The nat table of `ruleset` with the lab firewall's addresses.
    #[must_use]
    pub fn new(ruleset: &'a Ruleset, lab: &Lab) -> Self {
        let mut ifaces = Interfaces::unknown();
        for i in &lab.firewall.interfaces {
            ifaces.add(&i.name, i.addrs.clone(), false);
        }
        Self { ruleset, ifaces }
    }

    /// The nat chain at `p.hook` on a new connection: the flow after it
    /// and what it did, or `None` for a walk trace cannot decide.
    fn translate(&self, p: &Packet, flow: Flow) -> Option<(Flow, Option<String>)> {
        let n = translate(self.ruleset, p, &self.ifaces);
        if n.trace.verdict == Verdict::Unknown {
            return None;
        }
        let Some(t) = n.translation else { return Some((flow, None)) };
        let after = Flow {
            src: t.after.src,
            dst: t.after.dst.unwrap_or(flow.dst),
            sport: t.after.sport,
            dport: t.after.dport,
        };
        Some((after, Some(t.text(p))))
    }
}

/// One way through the lab: who sends, the first packet (its protocol,
/// flags and state; `crossings` sets the hook, interfaces and addresses),
/// and for a reply the connection it answers (`Some(None)`: one that did
/// not cross the firewall).
pub struct Leg<'a> {
    pub from: &'a str,
    pub flow: Flow,
    pub packet: &'a Packet,
    pub mitm: Option<&'a str>,
    pub reply_to: Option<Option<&'a Conn>>,
}

/// Where a leg went: the firewall's crossings, the flow as it arrived,
/// and the connection the firewall translated (request legs).
pub struct Walk {
    pub crossings: Vec<Crossing>,
    pub flow: Flow,
    pub conn: Option<Conn>,
}

/// The crossings of the firewall's hooks by a packet from `leg.from`.
/// With `mitm`, the sender's first hop goes to that node instead (its
/// neighbour entry was forged) and that node forwards it on. At the
/// firewall a request meets the nat table (PREROUTING before routing,
/// POSTROUTING after the filter) and a reply has the translations of its
/// connection undone, as connection tracking does: routing, the filter
/// hooks and the next hops all see the translated addresses.
pub fn crossings(lab: &Lab, router: &dyn Router, nat: &Nat, leg: &Leg) -> Result<Walk, LabError> {
    let fabric = Fabric::new(lab);
    let fw = lab.firewall.name.as_str();
    let mut walk = Walk { crossings: Vec::new(), flow: leg.flow, conn: None };
    let mut cur = leg.from.to_owned();
    let mut arrived: Option<(String, Option<String>)> = None;
    for hop_no in 0..16 {
        let Some(node) = lab.node(&cur) else { break };
        let mut notes = Vec::new();
        let mut undecided = false;
        let at_fw = cur == fw;
        let came = walk.flow;
        if at_fw && let Some((iface, physdev)) = &arrived {
            let mut p = leg.packet.clone();
            (p.hook, p.in_iface, p.physdev_in) =
                (Hook::Prerouting, Some(iface.clone()), physdev.clone());
            undecided |= !nat_step(nat, leg, &mut p, &mut walk.flow, &mut notes, |f, c| {
                (f.dst, f.dport) = (c.arrived.src.unwrap_or(f.dst), c.arrived.sport);
            });
        }
        let dst = walk.flow.dst;
        if node.owns(dst) {
            if at_fw && let Some((iface, physdev)) = &arrived {
                walk.crossings.push(Crossing {
                    in_iface: Some(iface.clone()),
                    physdev_in: physdev.clone(),
                    ..Crossing::new(Hook::Input, walk.flow, [notes, Vec::new()], undecided)
                });
                if leg.reply_to.is_none() {
                    walk.conn = Some(Conn { arrived: came, left: walk.flow });
                }
            }
            break;
        }
        let Ok(hop) = router.route(&cur, dst) else { break };
        if hop.local {
            break;
        }
        let next_ip = hop.via.unwrap_or(dst);
        let target = match (hop_no, leg.mitm) {
            (0, Some(m)) => m.to_owned(),
            _ => match lab.owner(next_ip) {
                Some(n) => n.name.clone(),
                None => break,
            },
        };
        if at_fw {
            let filter_flow = walk.flow;
            let mut p = leg.packet.clone();
            (p.hook, p.out_iface) = (Hook::Postrouting, Some(hop.dev.clone()));
            if let Some((iface, physdev)) = &arrived {
                (p.in_iface, p.physdev_in) = (Some(iface.clone()), physdev.clone());
            }
            let mut after = Vec::new();
            undecided |= !nat_step(nat, leg, &mut p, &mut walk.flow, &mut after, |f, c| {
                (f.src, f.sport) = (Some(c.arrived.dst), c.arrived.dport);
            });
            let hook = if arrived.is_some() { Hook::Forward } else { Hook::Output };
            let (in_iface, physdev_in) = arrived.clone().unzip();
            walk.crossings.push(Crossing {
                in_iface,
                physdev_in: physdev_in.flatten(),
                out_iface: Some(hop.dev.clone()),
                ..Crossing::new(hook, filter_flow, [notes, after], undecided)
            });
            if leg.reply_to.is_none() {
                walk.conn = Some(Conn { arrived: came, left: walk.flow });
            }
        }
        let arrival = fabric.send(&cur, &hop.dev, &target, walk.flow, &mut walk.crossings);
        let Some((node, iface, physdev)) = arrival else { break };
        cur = node;
        arrived = Some((iface, physdev));
    }
    Ok(walk)
}

/// One nat hook at the firewall: a request's new connection meets the nat
/// chain, a reply has its connection's translation undone (`undo`).
/// False when the nat chain's walk is undecided.
fn nat_step(
    nat: &Nat,
    leg: &Leg,
    p: &mut Packet,
    flow: &mut Flow,
    notes: &mut Vec<String>,
    undo: impl Fn(&mut Flow, &Conn),
) -> bool {
    match leg.reply_to {
        Some(Some(conn)) => {
            let before = *flow;
            undo(flow, conn);
            if *flow != before {
                notes.push(format!("conntrack {}", endpoints(&before, flow)));
            }
            true
        }
        Some(None) => true,
        None => {
            flow.onto(p);
            match nat.translate(p, *flow) {
                Some((after, note)) => {
                    *flow = after;
                    notes.extend(note);
                    true
                }
                None => {
                    notes.push(format!("{}: the nat rules cannot be decided", p.hook.chain()));
                    false
                }
            }
        }
    }
}

fn endpoints(a: &Flow, b: &Flow) -> String {
    let end = |x: Option<IpAddr>, p: Option<u16>| {
        let x = x.map_or("?".to_owned(), |x| x.to_string());
        p.map_or(x.clone(), |p| format!("{x}:{p}"))
    };
    format!(
        "{} -> {} becomes {} -> {}",
        end(a.src, a.sport),
        end(Some(a.dst), a.dport),
        end(b.src, b.sport),
        end(Some(b.dst), b.dport)
    )
}
