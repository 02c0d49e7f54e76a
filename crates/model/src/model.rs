//! The model's types: the firewall as a person thinks of it.

use std::sync::Arc;

use ipnet::IpNet;
use rampart_diag::Span;
use rampart_ir::origin::LogPrefix;
use rampart_ir::{AddrItem, AddrSet, IcmpMatch, PortRange, Proto, RejectWith};

#[derive(Clone, Debug, Default)]
pub struct Model {
    pub firewalls: Vec<Firewall>,
    /// `access` declarations (console access kits), in source order.
    pub accesses: Vec<crate::Access>,
}

impl Model {
    #[must_use]
    pub fn firewall(&self, name: &str) -> Option<&Firewall> {
        self.firewalls.iter().find(|f| f.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct Firewall {
    pub name: String,
    pub span: Span,
    pub interfaces: Vec<Interface>,
    /// Linux bridges on this host, whose ports get guard rules.
    pub bridges: Vec<crate::Bridge>,
    pub options: Options,
    /// In source order; `options.entry` (`main`) is the entry point.
    pub rulesets: Vec<RuleSet>,
    /// The `nat` section, in order: the first rule that matches a new
    /// connection decides its translation.
    pub nat: Vec<NatRule>,
    /// `expect` lines, in source order.
    pub expects: Vec<crate::Expect>,
}

impl Firewall {
    #[must_use]
    pub fn ruleset(&self, name: &str) -> Option<&RuleSet> {
        self.rulesets.iter().find(|r| r.name == name)
    }

    #[must_use]
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }

    /// Every address of the firewall itself, as host entries.
    #[must_use]
    pub fn own_addresses(&self) -> Vec<AddrItem> {
        let mut out: Vec<AddrItem> = self
            .interfaces
            .iter()
            .flat_map(|i| i.addrs.iter())
            .map(|n| AddrItem::Net(IpNet::from(n.addr())))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub span: Span,
    /// Addresses with their prefix length, as configured (`192.168.2.22/24`).
    pub addrs: Vec<IpNet>,
    pub loopback: bool,
    pub dynamic: bool,
    pub management: bool,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// `%N` rule number, `%A` action, `%C` rule set, `%I` interface.
    pub log_prefix: LogPrefix,
    /// syslog level 0–7.
    pub log_level: u8,
    /// `log-limit`: how often each logged rule, the catch-all included,
    /// writes its line; `None` writes one per packet.
    pub log_limit: Option<rampart_ir::Limit>,
    pub default: DefaultAction,
    /// Accept ESTABLISHED,RELATED at the top of each built-in chain.
    pub accept_established: bool,
    /// SSH from these addresses is accepted before any rule.
    pub backup_ssh: Option<AddrSet>,
    /// Whether the firewall routes: without it FORWARD only drops.
    pub forward: bool,
    /// `entry NAME`: the rule set the built-in chains start in (`main`).
    pub entry: String,
    /// `self-in-networks on`: a network or range around one of the
    /// firewall's addresses also stands for the firewall, so its rules go to
    /// INPUT or OUTPUT too (Firewall Builder's placement; imported policies).
    pub self_in_networks: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            log_prefix: LogPrefix::default(),
            log_level: 6,
            log_limit: None,
            default: DefaultAction::Deny,
            accept_established: true,
            backup_ssh: None,
            forward: false,
            entry: "main".to_owned(),
            self_in_networks: false,
        }
    }
}

/// What happens to packets that no rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Drop and log (the default).
    Deny,
    /// Drop silently.
    DenyQuiet,
    Reject,
    /// No catch-all rule; the chain policy (drop) applies.
    None,
}

#[derive(Clone, Debug)]
pub struct RuleSet {
    pub name: String,
    pub span: Span,
    pub rules: Vec<Rule>,
}

/// The clauses most rules lack are boxed: 100,000 rules are held whole
/// while they are lowered.
#[derive(Clone, Debug)]
pub struct Rule {
    /// What the log prefix and comments show: counted from 1 in the order
    /// written, or as set by `number N` (imported rules keep theirs, which
    /// may repeat across rule sets).
    pub number: u32,
    pub span: Span,
    pub action: Action,
    pub src: AddrColumn,
    pub dst: AddrColumn,
    pub service: ServiceColumn,
    pub iface: IfaceColumn,
    pub direction: Direction,
    pub users: Vec<User>,
    /// `days` / `time`: when the rule applies (`-m time`).
    pub time: Option<rampart_ir::TimeMatch>,
    pub log: bool,
    /// `log prefix "..."`: the rule's own template, else the firewall's.
    pub log_prefix: Option<Box<LogPrefix>>,
    /// How often the log line is written: the rule's `log-limit`, else the
    /// firewall's; `None` logs every packet.
    pub log_limit: Option<Box<rampart_ir::Limit>>,
    /// `limit`: the rule matches only while packets come under the rate.
    pub limit: Option<Box<rampart_ir::Limit>>,
    /// `mark N` beside another action: the packets it matches are also
    /// marked (before routing).
    pub mark: Option<rampart_ir::MarkSet>,
    /// `marked N[/MASK]`: (value, mask) the packet's mark must have.
    pub marked: Option<(u32, u32)>,
    /// `tcp-flags`: (flags looked at, flags set).
    pub tcp_flags: Option<(u8, u8)>,
    /// `connlimit`: the rule matches only up to this many connections.
    pub conn_limit: Option<Box<rampart_ir::ConnLimit>>,
    pub stateless: bool,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Accept,
    Deny,
    Reject(RejectWith),
    /// Jump to another rule set of the same firewall.
    Branch(String),
    /// Only log and count; go on with the next rule.
    Continue,
    /// Leave this rule set; go on after the branch that entered it.
    Return,
    /// Drop packets arriving on this interface with a source that cannot be
    /// behind it.
    Antispoof(String),
    /// Set the packet's mark before routing and go on.
    Mark(rampart_ir::MarkSet),
}

impl Action {
    /// The word `%A` expands to in log prefixes.
    #[must_use]
    pub fn log_word(&self) -> &'static str {
        match self {
            Action::Accept => "ACCEPT",
            Action::Deny | Action::Antispoof(_) => "DENY",
            Action::Reject(_) => "REJECT",
            Action::Branch(_) => "BRANCH",
            Action::Continue => "CONTINUE",
            Action::Return => "RETURN",
            Action::Mark(_) => "MARK",
        }
    }

    /// Whether a packet matched by this rule goes no further.
    #[must_use]
    pub fn is_final(&self) -> bool {
        matches!(self, Action::Accept | Action::Deny | Action::Reject(_) | Action::Antispoof(_))
    }
}

/// One rule of the `nat` section.
#[derive(Clone, Debug)]
pub struct NatRule {
    /// Numbered on after the filter rules, so that every rule of a
    /// firewall has its own number.
    pub number: u32,
    pub span: Span,
    pub action: NatAction,
    pub src: AddrColumn,
    /// The destination as the packet arrives (before dnat).
    pub dst: AddrColumn,
    pub service: ServiceColumn,
    /// Where packets arrive (dnat, redirect) or leave (masquerade, snat);
    /// for no-nat, both.
    pub iface: IfaceColumn,
    pub comment: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NatAction {
    /// Source NAT to the outgoing interface's address.
    Masquerade,
    Snat(rampart_ir::NatTo),
    /// Destination NAT: a port forward.
    Dnat(rampart_ir::NatTo),
    /// Destination NAT to the firewall itself, on this port.
    Redirect(PortRange),
    /// Leave the connection untranslated; later NAT rules do not apply.
    NoNat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Both,
    In,
    Out,
}

/// A source or destination column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrColumn {
    pub neg: bool,
    /// The column lists the firewall itself (by name or `self`).
    pub firewall: bool,
    /// Other addresses; empty with `firewall == false` means any. Shared
    /// by the rules whose column names the same object alone.
    pub set: Arc<AddrSet>,
    /// A set filled at run time (`set NAME ipv4`), alone in its column.
    pub dynamic: Option<Box<rampart_ir::DynSet>>,
}

impl AddrColumn {
    #[must_use]
    pub fn is_any(&self) -> bool {
        !self.firewall && self.set.items.is_empty() && self.dynamic.is_none()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceColumn {
    pub neg: bool,
    /// Empty means any. Shared by the rules whose column names the same
    /// service or group alone.
    pub atoms: Arc<[ServiceAtom]>,
}

/// One protocol with its ports or ICMP type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAtom {
    /// The service (or group) this came from, for named port sets.
    pub name: Option<String>,
    /// `None` is any IP protocol.
    pub proto: Option<Proto>,
    pub sports: Vec<PortRange>,
    pub dports: Vec<PortRange>,
    pub icmp: Option<IcmpMatch>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfaceColumn {
    pub neg: bool,
    /// Empty means any.
    pub names: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: Option<u32>,
}
