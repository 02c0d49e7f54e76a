//! What a lab file describes, after parsing and checking: the firewall
//! under test, host namespaces, links, bridges and probes.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use rampart_diag::Span;

/// A whole lab.
#[derive(Clone, Debug)]
pub struct Lab {
    /// `lab NAME`, or the file's stem; part of every namespace name.
    pub name: String,
    pub firewall: Node,
    pub rules: RulesSource,
    pub hosts: Vec<Node>,
    pub links: Vec<Link>,
    pub bridges: Vec<Bridge>,
    pub probes: Vec<Probe>,
}

/// Where the firewall's ruleset comes from. Paths are relative to the lab
/// file's directory, already joined.
#[derive(Clone, Debug)]
pub enum RulesSource {
    /// A Rampart policy; the firewall of the same name is compiled.
    Policy(PathBuf),
    /// `iptables-save` output or a `$IPTABLES` script.
    Rules(PathBuf),
}

/// A namespace: the firewall or a host.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub span: Span,
    pub firewall: bool,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    /// `net.ipv4.ip_forward`; on for the firewall unless `forward off`.
    pub forward: bool,
    pub users: Vec<User>,
    pub listeners: Vec<Listener>,
}

impl Node {
    #[must_use]
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Whether `ip` is one of this node's addresses.
    #[must_use]
    pub fn owns(&self, ip: IpAddr) -> bool {
        self.interfaces.iter().flat_map(|i| &i.addrs).any(|a| a.addr() == ip)
    }

    /// The first address of the first interface that has one.
    #[must_use]
    pub fn first_addr(&self) -> Option<IpAddr> {
        self.interfaces.iter().flat_map(|i| &i.addrs).map(IpNet::addr).next()
    }
}

#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub addrs: Vec<IpNet>,
    pub span: Span,
}

/// `route DEST via GW` (`gateway GW` is `route default via GW`).
#[derive(Clone, Debug)]
pub struct Route {
    /// `default` or a network.
    pub to: String,
    pub via: IpAddr,
}

/// `user NAME UID`: a local user for owner matches on the firewall.
#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub uid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ListenerProto {
    Tcp,
    Udp,
}

impl ListenerProto {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ListenerProto::Tcp => "tcp",
            ListenerProto::Udp => "udp",
        }
    }
}

/// `listen tcp|udp PORT`: a TCP acceptor or a UDP echo on the node.
#[derive(Clone, Debug)]
pub struct Listener {
    pub proto: ListenerProto,
    pub port: u16,
}

/// One end of a veth pair: `NODE.IFACE` (a host or the firewall) or
/// `BRIDGE.PORT` (a port enslaved to that bridge, in the firewall).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub node: String,
    pub iface: String,
    pub span: Span,
}

/// `link A.X B.Y`: a veth pair.
#[derive(Clone, Debug)]
pub struct Link {
    pub a: Endpoint,
    pub b: Endpoint,
}

/// A Linux bridge in the firewall's namespace (the virtualization host's
/// bridges), so bridged traffic meets the firewall's FORWARD chain.
#[derive(Clone, Debug)]
pub struct Bridge {
    pub name: String,
    /// `bridge` (true): bridged frames pass the firewall's FORWARD chain
    /// (br_netfilter, physdev matches). `switch` (false): a plain switch
    /// the firewall does not see into, like the LAN switch of a gateway.
    pub filtered: bool,
    pub span: Span,
    /// `port NAME PEER`: a veth pair, NAME enslaved here, PEER elsewhere.
    pub ports: Vec<Port>,
}

#[derive(Clone, Debug)]
pub struct Port {
    pub name: String,
    pub peer: Endpoint,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    Ping,
    Tcp,
    Udp,
}

impl ProbeKind {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Ping => "ping",
            ProbeKind::Tcp => "tcp",
            ProbeKind::Udp => "udp",
        }
    }
}

/// What a probe expects, and what the kernel did with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Blocked,
}

impl Outcome {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Blocked => "blocked",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a probe is sent to: a node (its first address) or an address.
#[derive(Clone, Debug)]
pub enum Target {
    Node(String, Span),
    Addr(IpAddr),
}

/// The rule a probe expects to decide it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedRule {
    /// Rampart's policy rule number: a rule whose comment starts `RN:`.
    Policy(u32),
    /// `CHAIN:INDEX` as `iptables -L --line-numbers` counts.
    Chain(String, usize),
}

impl std::fmt::Display for ExpectedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedRule::Policy(n) => write!(f, "rule {n}"),
            ExpectedRule::Chain(c, i) => write!(f, "{c}:{i}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Probe {
    pub kind: ProbeKind,
    pub from: String,
    pub from_span: Span,
    /// The UID to send as (`uid N`, or `user NAME` resolved by the check).
    pub uid: Option<u32>,
    pub user: Option<(String, Span)>,
    pub to: Target,
    pub port: Option<u16>,
    /// `mitm ATTACKER`: the sender's neighbour entry for the next hop
    /// points at the attacker's MAC, and the attacker forwards.
    pub mitm: Option<(String, Span)>,
    pub expect: Outcome,
    pub rule: Option<ExpectedRule>,
    pub log: Option<String>,
    /// The probe's line in the lab file (1-based), for the report.
    pub line: usize,
    pub text: String,
}

impl Lab {
    /// The firewall or the host of this name.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&Node> {
        if self.firewall.name == name {
            Some(&self.firewall)
        } else {
            self.hosts.iter().find(|h| h.name == name)
        }
    }

    /// The firewall first, then the hosts in file order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.firewall).chain(&self.hosts)
    }

    /// The node that has address `ip`.
    #[must_use]
    pub fn owner(&self, ip: IpAddr) -> Option<&Node> {
        self.nodes().find(|n| n.owns(ip))
    }

    /// The address a probe is sent to.
    #[must_use]
    pub fn target_addr(&self, t: &Target) -> Option<IpAddr> {
        match t {
            Target::Addr(a) => Some(*a),
            Target::Node(n, _) => self.node(n).and_then(Node::first_addr),
        }
    }
}
