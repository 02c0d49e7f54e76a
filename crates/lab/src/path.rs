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

use rampart_trace::Hook;

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
}

fn hook_name<S: serde::Serializer>(h: &Hook, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(h.chain())
}

impl Crossing {
    fn new(hook: Hook) -> Self {
        Self {
            hook,
            in_iface: None,
            out_iface: None,
            physdev_in: None,
            physdev_out: None,
            bridged: false,
        }
    }

    /// `FORWARD in=virbr6 out=virbr6 physdev vk63>vethb2`.
    #[must_use]
    pub fn describe(&self) -> String {
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
                ..Crossing::new(Hook::Forward)
            });
        }
        let (node, iface) = self.peer.get(&(self.fw().to_owned(), port))?.clone();
        if node == self.fw()
            && let Some(b2) = self.port_of.get(&iface)
        {
            return self.through_bridge(b2, Some(&iface), target, out);
        }
        Some((node, iface, None))
    }

    /// A frame leaves `node` through `dev`, bound for `target`.
    fn send(
        &self,
        node: &str,
        dev: &str,
        target: &str,
        out: &mut Vec<Crossing>,
    ) -> Option<Arrival> {
        if node == self.fw() && self.lab.bridges.iter().any(|b| b.name == dev) {
            return self.through_bridge(dev, None, target, out);
        }
        let (pn, pi) = self.peer.get(&(node.to_owned(), dev.to_owned()))?.clone();
        if pn == self.fw()
            && let Some(b) = self.port_of.get(&pi)
        {
            return self.through_bridge(b, Some(&pi), target, out);
        }
        Some((pn, pi, None))
    }
}

/// The crossings of the firewall's hooks by a packet from `from` to `dst`.
/// With `mitm`, the sender's first hop goes to that node instead (its
/// neighbour entry was forged) and that node forwards it on.
pub fn crossings(
    lab: &Lab,
    router: &dyn Router,
    from: &str,
    dst: IpAddr,
    mitm: Option<&str>,
) -> Result<Vec<Crossing>, LabError> {
    let fabric = Fabric::new(lab);
    let fw = lab.firewall.name.as_str();
    let mut out = Vec::new();
    let mut cur = from.to_owned();
    let mut arrived: Option<(String, Option<String>)> = None;
    for hop_no in 0..16 {
        let Some(node) = lab.node(&cur) else { break };
        if node.owns(dst) {
            if cur == fw
                && let Some((iface, physdev)) = &arrived
            {
                out.push(Crossing {
                    in_iface: Some(iface.clone()),
                    physdev_in: physdev.clone(),
                    ..Crossing::new(Hook::Input)
                });
            }
            break;
        }
        let Ok(hop) = router.route(&cur, dst) else { break };
        if hop.local {
            break;
        }
        let next_ip = hop.via.unwrap_or(dst);
        let target = match (hop_no, mitm) {
            (0, Some(m)) => m.to_owned(),
            _ => match lab.owner(next_ip) {
                Some(n) => n.name.clone(),
                None => break,
            },
        };
        let mut segs = Vec::new();
        let arrival = fabric.send(&cur, &hop.dev, &target, &mut segs);
        if cur == fw {
            match &arrived {
                None => out.push(Crossing {
                    out_iface: Some(hop.dev.clone()),
                    ..Crossing::new(Hook::Output)
                }),
                Some((iface, physdev)) => out.push(Crossing {
                    in_iface: Some(iface.clone()),
                    physdev_in: physdev.clone(),
                    out_iface: Some(hop.dev.clone()),
                    ..Crossing::new(Hook::Forward)
                }),
            }
        }
        out.extend(segs);
        let Some((node, iface, physdev)) = arrival else { break };
        cur = node;
        arrived = Some((iface, physdev));
    }
    Ok(out)
}
