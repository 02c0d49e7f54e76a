//! Linux bridges on the firewall host: guest ports bound to their guests'
//! addresses, border ports linking bridges to each other and to the host,
//! plain ports with nothing known beyond them, and the address sets on
//! each side of a border, derived from the links.

use std::collections::BTreeMap;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{AddrItem, AddrSet};
use rampart_syntax::ast::{self, Word};

use crate::resolve::Resolver;
use crate::{Firewall, diagnostics, firewall};

#[derive(Clone, Debug)]
pub struct Bridge {
    pub name: String,
    pub span: Span,
    pub ports: Vec<BridgePort>,
}

#[derive(Clone, Debug)]
pub struct BridgePort {
    pub name: String,
    pub span: Span,
    pub kind: PortKind,
}

#[derive(Clone, Debug)]
pub enum PortKind {
    /// A guest's tap or veth: only its own addresses may pass.
    Guest { addrs: AddrSet, mac: Option<String>, arp_guard: bool },
    /// A veth to a port of another bridge.
    Border { peer: String },
    /// A veth to the host's interface `iface`; `beyond` is what the host
    /// routes to (the outside), besides its own addresses.
    HostLink { iface: String, beyond: AddrSet },
    /// A port with nothing known beyond it: any address. Rules may name
    /// it; no guard is derived for it.
    Plain,
}

pub(crate) fn build(b: &ast::Bridge, r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) -> Bridge {
    let bridge_guard = b.options.iter().any(|w| w.text == "arp-guard");
    let ports = b
        .ports
        .iter()
        .filter_map(|p| {
            let kind = match p.kind.text.as_str() {
                "guest" => guest(p, bridge_guard, r, diags)?,
                "port" => plain(p, diags)?,
                _ => border(p, r, diags)?,
            };
            Some(BridgePort { name: p.name.text.clone(), span: p.name.span, kind })
        })
        .collect();
    Bridge { name: b.name.text.clone(), span: b.name.span, ports }
}

/// Addresses of a port: literals and address objects (a firewall's name
/// stands for its interfaces' addresses).
fn addresses(words: &[Word], r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) -> AddrSet {
    let mut set = AddrSet::default();
    for w in words {
        match firewall::addresses(w, r, diags) {
            Some(firewall::Addr::Items(items)) => set.items.extend(items),
            Some(firewall::Addr::Firewall) => {
                diags.push(diagnostics::wrong_kind(
                    &w.text,
                    "this firewall",
                    "a guest's address",
                    w.span,
                ));
            }
            None => {}
        }
    }
    set.items.sort();
    set.items.dedup();
    set
}

fn guest(
    p: &ast::BridgePort,
    bridge_guard: bool,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PortKind> {
    let mut words = p.rest.as_slice();
    let mut mac = None;
    let mut arp_guard = bridge_guard;
    let mut addrs = Vec::new();
    while let Some((w, rest)) = words.split_first() {
        match w.text.as_str() {
            "mac" => {
                let (m, rest) = rest.split_first()?;
                if !is_mac(&m.text) {
                    diags.push(diagnostics::bad_number(
                        "MAC address (aa:bb:cc:dd:ee:ff)",
                        &m.text,
                        m.span,
                    ));
                }
                mac = Some(m.text.to_ascii_lowercase());
                words = rest;
                continue;
            }
            "arp-guard" => arp_guard = true,
            _ => addrs.push(w.clone()),
        }
        words = rest;
    }
    if addrs.is_empty() {
        diags.push(diagnostics::misplaced(
            "a guest port without an address",
            p.name.span,
            "write the guest's address or host object: `guest vk63 kali3`",
        ));
        return None;
    }
    Some(PortKind::Guest { addrs: addresses(&addrs, r, diags), mac, arp_guard })
}

fn plain(p: &ast::BridgePort, diags: &mut Vec<Diagnostic>) -> Option<PortKind> {
    if let Some(w) = p.rest.first() {
        diags.push(diagnostics::misplaced(
            "this",
            w.span,
            "a plain port has nothing after its name; a port with addresses is a `guest`",
        ));
        return None;
    }
    Some(PortKind::Plain)
}

fn border(
    p: &ast::BridgePort,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<PortKind> {
    match p.rest.as_slice() {
        [to, peer] if to.text == "to" => Some(PortKind::Border { peer: peer.text.clone() }),
        [to, host, iface, rest @ ..] if to.text == "to" && host.text == "host" => {
            let beyond = match rest {
                [] => AddrSet::default(),
                [b, items @ ..] if b.text == "beyond" && !items.is_empty() => {
                    addresses(items, r, diags)
                }
                _ => {
                    diags.push(diagnostics::misplaced(
                        "this",
                        rest[0].span,
                        "expected `beyond ADDR, ...`",
                    ));
                    return None;
                }
            };
            Some(PortKind::HostLink { iface: iface.text.clone(), beyond })
        }
        _ => {
            diags.push(diagnostics::misplaced("this border port", p.name.span,
                "write `border PORT to PEER-PORT` or `border PORT to host IFACE [beyond ADDR, ...]`"));
            None
        }
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Topology checks that need every bridge of the firewall.
pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    if !fw.bridges.is_empty() && !fw.options.forward {
        diags.push(diagnostics::misplaced(
            "bridges without `forward on`",
            fw.bridges[0].span,
            "bridged traffic passes FORWARD; add `forward on` to the firewall",
        ));
    }
    let mut owner: BTreeMap<AddrItem, &str> = BTreeMap::new();
    for b in &fw.bridges {
        for p in &b.ports {
            if fw.interface(&p.name).is_some() {
                diags.push(diagnostics::port_is_interface(&p.name, &b.name, p.span));
            }
            match &p.kind {
                PortKind::Guest { addrs, .. } => {
                    for a in &addrs.items {
                        if let Some(other) = owner.insert(*a, &p.name) {
                            diags.push(diagnostics::address_on_two_ports(
                                &rampart_ir::addr_text(*a),
                                other,
                                &p.name,
                                p.span,
                            ));
                        }
                    }
                }
                PortKind::Border { peer } => match fw.bridge_port(peer) {
                    Some((pb, pp))
                        if pb.name != b.name
                            && matches!(&pp.kind, PortKind::Border { peer: back } if *back == p.name) =>
                        {}
                    Some(_) => diags.push(diagnostics::unguarded_port(
                        &p.name,
                        p.span,
                        &format!(
                            "`{peer}` must be a border port of another bridge that names `{}` back",
                            p.name
                        ),
                    )),
                    None => diags.push(diagnostics::unguarded_port(
                        &p.name,
                        p.span,
                        &format!("no bridge has a port `{peer}`, so the far side is unknown"),
                    )),
                },
                PortKind::HostLink { iface, .. } => {
                    if fw.interface(iface).is_none() {
                        diags.push(diagnostics::unknown_interface(iface, &fw.name, p.span));
                    }
                }
                PortKind::Plain => {
                    // A border's guards take this side as what lies beyond
                    // the bridge's other ports: any address, with a plain port.
                    let border = b.ports.iter().find(|q| {
                        matches!(q.kind, PortKind::Border { .. } | PortKind::HostLink { .. })
                    });
                    if let Some(q) = border {
                        diags.push(diagnostics::plain_port_beside_border(
                            &p.name, &q.name, &b.name, p.span,
                        ));
                    }
                }
            }
        }
    }
}

impl Firewall {
    /// Guest ports with `arp-guard`: their IPv4 addresses and MAC.
    #[must_use]
    pub fn arp_guards(&self) -> Vec<rampart_ir::ArpGuard> {
        let host_v4 = |i: &AddrItem| match i {
            AddrItem::Net(n) if n.prefix_len() == 32 => match n.addr() {
                std::net::IpAddr::V4(a) => Some(a),
                std::net::IpAddr::V6(_) => None,
            },
            _ => None,
        };
        self.bridges
            .iter()
            .flat_map(|b| &b.ports)
            .filter_map(|p| match &p.kind {
                PortKind::Guest { addrs, mac, arp_guard: true } => Some(rampart_ir::ArpGuard {
                    port: p.name.clone(),
                    addrs: addrs.items.iter().filter_map(host_v4).collect(),
                    mac: mac.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// The bridge holding `port`, and the port.
    #[must_use]
    pub fn bridge_port(&self, port: &str) -> Option<(&Bridge, &BridgePort)> {
        self.bridges.iter().find_map(|b| b.ports.iter().find(|p| p.name == port).map(|p| (b, p)))
    }

    /// Everything reachable through `port`, seen from its bridge.
    #[must_use]
    pub fn far_side(&self, port: &BridgePort) -> AddrSet {
        let mut seen = vec![];
        let mut set = AddrSet::default();
        self.collect_far(port, &mut seen, &mut set);
        tidy(set)
    }

    /// Everything on `port`'s own side: its bridge's guests and what lies
    /// beyond the bridge's other border ports.
    #[must_use]
    pub fn this_side(&self, bridge: &Bridge, port: &BridgePort) -> AddrSet {
        let mut seen = vec![];
        let mut set = AddrSet::default();
        self.collect_side(bridge, &port.name, &mut seen, &mut set);
        tidy(set)
    }

    fn collect_far(&self, port: &BridgePort, seen: &mut Vec<String>, set: &mut AddrSet) {
        match &port.kind {
            PortKind::Guest { addrs, .. } => set.items.extend(addrs.items.iter().copied()),
            PortKind::HostLink { beyond, .. } => {
                set.items.extend(self.own_addresses());
                set.items.extend(beyond.items.iter().copied());
            }
            PortKind::Border { peer } => {
                if let Some((b, p)) = self.bridge_port(peer) {
                    self.collect_side(b, &p.name, seen, set);
                }
            }
            PortKind::Plain => set.items.extend(
                ["0.0.0.0/0", "::/0"].map(|n| AddrItem::Net(n.parse().expect("a literal network"))),
            ),
        }
    }

    fn collect_side(
        &self,
        bridge: &Bridge,
        except: &str,
        seen: &mut Vec<String>,
        set: &mut AddrSet,
    ) {
        if seen.contains(&bridge.name) {
            return;
        }
        seen.push(bridge.name.clone());
        for p in bridge.ports.iter().filter(|p| p.name != except) {
            self.collect_far(p, seen, set);
        }
    }
}

fn tidy(mut set: AddrSet) -> AddrSet {
    set.items.sort();
    set.items.dedup();
    set
}
