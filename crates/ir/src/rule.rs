//! The IR's types.

use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use rampart_diag::Span;

/// Address family of a rule or an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

/// A netfilter table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    #[default]
    Filter,
    Nat,
    Mangle,
    Raw,
    Security,
}

impl Table {
    pub const ALL: [Table; 5] =
        [Table::Filter, Table::Nat, Table::Mangle, Table::Raw, Table::Security];

    /// The name iptables and nftables use: `filter`, `nat`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Table::Filter => "filter",
            Table::Nat => "nat",
            Table::Mangle => "mangle",
            Table::Raw => "raw",
            Table::Security => "security",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The hooks this table has built-in chains at, in iptables-save order.
    #[must_use]
    pub fn hooks(self) -> &'static [Hook] {
        use Hook::*;
        match self {
            Table::Filter | Table::Security => &[Input, Forward, Output],
            Table::Nat => &[Prerouting, Input, Output, Postrouting],
            Table::Mangle => &[Prerouting, Input, Forward, Output, Postrouting],
            Table::Raw => &[Prerouting, Output],
        }
    }

    /// The built-in chain called `name` (`INPUT`, ...) in this table.
    #[must_use]
    pub fn builtin(self, name: &str) -> Option<Hook> {
        self.hooks().iter().copied().find(|h| h.chain() == name)
    }
}

/// A netfilter hook: where in a packet's path a base chain is entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub const ALL: [Hook; 5] =
        [Hook::Prerouting, Hook::Input, Hook::Forward, Hook::Output, Hook::Postrouting];

    /// The name of iptables' built-in chain at this hook: `INPUT`, ...
    #[must_use]
    pub fn chain(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }

    /// The name nftables uses: `input`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }

    /// `input`, `INPUT`, ... (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name().eq_ignore_ascii_case(s))
    }
}

/// A ruleset: chains of one or more tables, each table's built-in chains
/// first, then its user chains in the order they were created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub chains: Vec<Chain>,
}

impl Ruleset {
    /// The chain of that name, for readers of names from outside (tests,
    /// kernel listings).
    #[must_use]
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// `table`'s base chain at `hook`.
    #[must_use]
    pub fn base(&self, table: Table, hook: Hook) -> Option<ChainId> {
        self.chains.iter().position(|c| c.table == table && c.hook() == Some(hook)).map(ChainId)
    }

    /// The chain a jump names; `None` only for a ruleset built by hand wrongly.
    #[must_use]
    pub fn get(&self, id: ChainId) -> Option<&Chain> {
        self.chains.get(id.0)
    }

    /// The name of chain `id`, for printing.
    #[must_use]
    pub fn name(&self, id: ChainId) -> &str {
        self.get(id).map_or("?", |c| c.name.as_str())
    }

    /// The tables that have chains, in [`Table::ALL`] order (filter first).
    #[must_use]
    pub fn tables(&self) -> Vec<Table> {
        Table::ALL.into_iter().filter(|t| self.chains.iter().any(|c| c.table == *t)).collect()
    }

    /// The chains of one table, in order.
    pub fn table(&self, table: Table) -> impl Iterator<Item = &Chain> {
        self.chains.iter().filter(move |c| c.table == table)
    }

    /// Number of rules in all chains.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.chains.iter().map(|c| c.rules.len()).sum()
    }

    /// Adds the chains of `other` after these, its jumps and gotos moved
    /// to where its chains now are.
    pub fn append(&mut self, other: &Ruleset) {
        let offset = self.chains.len();
        self.chains.extend(other.chains.iter().cloned().map(|mut c| {
            for r in &mut c.rules {
                if let Target::Jump(id) | Target::Goto(id) = &mut r.target {
                    id.0 += offset;
                }
            }
            c
        }));
    }
}

/// A chain: its index in [`Ruleset::chains`]. Jumps and gotos name chains by
/// id; names are for printing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId(pub usize);

impl std::ops::Index<ChainId> for Ruleset {
    type Output = Chain;

    fn index(&self, id: ChainId) -> &Chain {
        &self.chains[id.0]
    }
}

/// A built-in chain, entered from a hook, or a user chain, entered by jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainKind {
    Builtin { hook: Hook, policy: Policy },
    User,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// For printing; built-in chains are named after their hook (`INPUT`).
    pub name: String,
    pub table: Table,
    pub kind: ChainKind,
    pub rules: Vec<Rule>,
}

impl Chain {
    /// The `filter` table's built-in chain at `hook`.
    #[must_use]
    pub fn builtin(hook: Hook, policy: Policy) -> Self {
        Self::base(Table::Filter, hook, policy)
    }

    /// `table`'s built-in chain at `hook`.
    #[must_use]
    pub fn base(table: Table, hook: Hook, policy: Policy) -> Self {
        Self {
            name: hook.chain().to_owned(),
            table,
            kind: ChainKind::Builtin { hook, policy },
            rules: vec![],
        }
    }

    /// A user chain of the `filter` table.
    #[must_use]
    pub fn user(name: &str) -> Self {
        Self::user_in(Table::Filter, name)
    }

    #[must_use]
    pub fn user_in(table: Table, name: &str) -> Self {
        Self { name: name.to_owned(), table, kind: ChainKind::User, rules: vec![] }
    }

    /// `Some` for built-in chains.
    #[must_use]
    pub fn policy(&self) -> Option<Policy> {
        match self.kind {
            ChainKind::Builtin { policy, .. } => Some(policy),
            ChainKind::User => None,
        }
    }

    /// `Some` for built-in chains.
    #[must_use]
    pub fn hook(&self) -> Option<Hook> {
        match self.kind {
            ChainKind::Builtin { hook, .. } => Some(hook),
            ChainKind::User => None,
        }
    }

    #[must_use]
    pub fn is_builtin(&self) -> bool {
        matches!(self.kind, ChainKind::Builtin { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    Accept,
    Drop,
}

/// Where a rule came from: the policy rule number (0 for rules Rampart adds
/// itself, such as the final catch-all) and its span in the policy text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub rule: u32,
    pub span: Option<Span>,
}

/// A rule. A ruleset holds hundreds of thousands, so what most rules lack
/// (a log, counters) is boxed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// All must match (logical AND), in order.
    pub matches: Vec<Match>,
    /// Rich form only: log before applying the target, as nftables does in
    /// one rule. The iptables pass turns it into a LOG chain.
    pub log: Option<Box<Log>>,
    pub target: Target,
    pub comment: Option<Box<str>>,
    pub origin: Option<Origin>,
    /// What the kernel counted, when read back from it (`iptables-save -c`).
    pub counters: Option<Box<Counters>>,
}

/// Packets and bytes a rule matched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

impl Rule {
    #[must_use]
    pub fn new(matches: Vec<Match>, target: Target) -> Self {
        Self { matches, log: None, target, comment: None, origin: None, counters: None }
    }

    /// The one family this rule can match, or `None` when it fits both.
    #[must_use]
    pub fn family(&self) -> Option<Family> {
        self.matches.iter().find_map(Match::family).or_else(|| self.target.family())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Accept,
    Drop,
    Reject(RejectWith),
    Return,
    Jump(ChainId),
    Goto(ChainId),
    /// Non-terminating: print a kernel log line and go on.
    Log(Log),
    /// Non-terminating: send the packet to an NFLOG group and go on.
    Nflog(Nflog),
    /// Non-terminating: change the packet's mark.
    Mark(MarkSet),
    /// Non-terminating: change or copy the connection's mark.
    Connmark(Connmark),
    /// nat table: rewrite the source of the connection's packets.
    Snat(NatTo),
    /// nat table: rewrite the destination of the connection's packets.
    Dnat(NatTo),
    /// nat table: source NAT to the outgoing interface's address.
    Masquerade(Option<PortRange>),
    /// nat table: destination NAT to the host itself, on these ports.
    Redirect(Option<PortRange>),
    /// No target: the rule only counts (and logs, in the rich form).
    None,
    /// A target Rampart does not model, kept verbatim from an import.
    Other {
        name: String,
        args: Vec<String>,
    },
}

impl Target {
    /// The family a translation's addresses tie the rule to.
    #[must_use]
    pub fn family(&self) -> Option<Family> {
        match self {
            Target::Snat(NatTo { addrs: Some((a, _)), .. })
            | Target::Dnat(NatTo { addrs: Some((a, _)), .. }) => {
                Some(if a.is_ipv4() { Family::V4 } else { Family::V6 })
            }
            _ => None,
        }
    }

    /// Whether evaluation stops at this target.
    #[must_use]
    pub fn is_verdict(&self) -> bool {
        matches!(self, Target::Accept | Target::Drop | Target::Reject(_))
    }
}

/// `mark = (mark & !mask) ^ xor`, the kernel's one operation behind
/// `--set-mark`, `--and-mark`, `--or-mark` and `--xor-mark`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarkSet {
    pub mask: u32,
    pub xor: u32,
}

impl MarkSet {
    #[must_use]
    pub fn apply(self, mark: u32) -> u32 {
        (mark & !self.mask) ^ self.xor
    }
}

/// `-j CONNMARK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Connmark {
    /// Change the connection's mark.
    Set(MarkSet),
    /// Connection mark from the packet mark: `ct = (ct & !ctmask) ^ (mark & nfmask)`.
    Save { nfmask: u32, ctmask: u32 },
    /// Packet mark from the connection mark: `mark = (mark & !nfmask) ^ (ct & ctmask)`.
    Restore { nfmask: u32, ctmask: u32 },
}

/// Where a SNAT or DNAT translates to: an address range, a port range, or
/// both; a part left out stays as it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NatTo {
    /// Inclusive, both of one family.
    pub addrs: Option<(IpAddr, IpAddr)>,
    pub ports: Option<PortRange>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Log {
    pub prefix: String,
    /// syslog level 0–7.
    pub level: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nflog {
    pub group: u16,
    pub prefix: Option<String>,
}

/// The reply a REJECT sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectWith {
    PortUnreachable,
    HostUnreachable,
    NetUnreachable,
    ProtoUnreachable,
    NetProhibited,
    HostProhibited,
    AdminProhibited,
    TcpReset,
}

impl RejectWith {
    pub const ALL: [RejectWith; 8] = [
        RejectWith::PortUnreachable,
        RejectWith::HostUnreachable,
        RejectWith::NetUnreachable,
        RejectWith::ProtoUnreachable,
        RejectWith::NetProhibited,
        RejectWith::HostProhibited,
        RejectWith::AdminProhibited,
        RejectWith::TcpReset,
    ];

    /// The `--reject-with` value for iptables (v4) or ip6tables (v6).
    #[must_use]
    pub fn iptables_name(self, family: Family) -> &'static str {
        use RejectWith::*;
        match (self, family) {
            (PortUnreachable, Family::V4) => "icmp-port-unreachable",
            (HostUnreachable, Family::V4) => "icmp-host-unreachable",
            (NetUnreachable, Family::V4) => "icmp-net-unreachable",
            (ProtoUnreachable, Family::V4) => "icmp-proto-unreachable",
            (NetProhibited, Family::V4) => "icmp-net-prohibited",
            (HostProhibited, Family::V4) => "icmp-host-prohibited",
            (AdminProhibited, Family::V4) => "icmp-admin-prohibited",
            (PortUnreachable, Family::V6) => "icmp6-port-unreachable",
            (HostUnreachable | HostProhibited, Family::V6) => "icmp6-addr-unreachable",
            (NetUnreachable | NetProhibited, Family::V6) => "icmp6-no-route",
            (ProtoUnreachable, Family::V6) => "icmp6-port-unreachable",
            (AdminProhibited, Family::V6) => "icmp6-adm-prohibited",
            (TcpReset, _) => "tcp-reset",
        }
    }

    /// Parse an iptables `--reject-with` value (either family, with aliases).
    #[must_use]
    pub fn from_iptables(s: &str) -> Option<Self> {
        use RejectWith::*;
        Some(match s {
            "icmp-port-unreachable" | "port-unreach" | "icmp6-port-unreachable" => PortUnreachable,
            "icmp-host-unreachable"
            | "host-unreach"
            | "icmp6-addr-unreachable"
            | "addr-unreach" => HostUnreachable,
            "icmp-net-unreachable" | "net-unreach" | "icmp6-no-route" | "no-route" => {
                NetUnreachable
            }
            "icmp-proto-unreachable" | "proto-unreach" => ProtoUnreachable,
            "icmp-net-prohibited" | "net-prohib" => NetProhibited,
            "icmp-host-prohibited" | "host-prohib" => HostProhibited,
            "icmp-admin-prohibited"
            | "admin-prohib"
            | "icmp6-adm-prohibited"
            | "adm-prohibited" => AdminProhibited,
            "tcp-reset" | "tcp-rst" => TcpReset,
            _ => return None,
        })
    }
}

/// One match of a rule. Negation (`!`) is carried by each variant.
///
/// A rule holds several and a ruleset hundreds of thousands, so a match
/// is kept to 24 bytes: sets are shared, and the variants few rules have
/// are boxed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Match {
    Src(AddrMatch),
    Dst(AddrMatch),
    InIface(Box<IfaceMatch>),
    OutIface(Box<IfaceMatch>),
    Proto {
        neg: bool,
        proto: Proto,
    },
    /// Source ports; the rule also matches the protocol.
    Sport(PortMatch),
    /// Destination ports.
    Dport(PortMatch),
    /// Either source or destination port (`multiport --ports`).
    AnyPort(PortMatch),
    Icmp {
        neg: bool,
        v6: bool,
        icmp: IcmpMatch,
    },
    State {
        neg: bool,
        states: CtStates,
    },
    Owner(Box<OwnerMatch>),
    Physdev(Box<PhysdevMatch>),
    TcpFlags {
        neg: bool,
        mask: u8,
        comp: u8,
    },
    Mark {
        neg: bool,
        value: u32,
        mask: u32,
    },
    Time(TimeMatch),
    /// Matches while packets arrive under a rate. It spends a token when
    /// evaluated, so it comes after a rule's other matches.
    Limit(Box<crate::Limit>),
    /// Matches while few enough connections are open.
    ConnLimit(Box<crate::ConnLimit>),
    /// `-m addrtype`: the route type of the addresses.
    AddrType(crate::AddrTypeMatch),
    /// `-m set --match-set`: an address in a set filled at run time.
    Set(Box<crate::SetMatch>),
    /// A module read from iptables whose answer the trace is told (a
    /// rate, a recent list, the connection's mark, the link layer).
    Module(Box<crate::ModuleMatch>),
    /// A match Rampart does not model (e.g. `-m u32`, `-m string`), kept
    /// verbatim. The evaluator reports it rather than guessing.
    Unknown(Box<UnknownMatch>),
}

/// A match kept verbatim: `-m MODULE ARGS...`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownMatch {
    pub module: String,
    pub args: Vec<String>,
}

impl Match {
    /// `-m module args...`, kept verbatim.
    #[must_use]
    pub fn unknown(module: String, args: Vec<String>) -> Self {
        Match::Unknown(Box::new(UnknownMatch { module, args }))
    }

    /// The family this match restricts a rule to, if any.
    #[must_use]
    pub fn family(&self) -> Option<Family> {
        match self {
            Match::Src(a) | Match::Dst(a) => a.set.family(),
            Match::Proto { proto: Proto::Icmp, neg: false } => Some(Family::V4),
            Match::Proto { proto: Proto::Icmpv6, neg: false } => Some(Family::V6),
            Match::Icmp { v6, .. } => Some(if *v6 { Family::V6 } else { Family::V4 }),
            Match::Set(s) if !s.neg => Some(s.set.family),
            _ => None,
        }
    }
}

/// An address, a network or a range of addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrItem {
    Net(IpNet),
    /// Inclusive, both ends of one family.
    Range(IpAddr, IpAddr),
}

impl AddrItem {
    #[must_use]
    pub fn family(&self) -> Family {
        let v4 = match self {
            AddrItem::Net(n) => matches!(n, IpNet::V4(_)),
            AddrItem::Range(a, _) => a.is_ipv4(),
        };
        if v4 { Family::V4 } else { Family::V6 }
    }

    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        match self {
            AddrItem::Net(n) => n.contains(&addr),
            AddrItem::Range(a, b) => match (a, b, addr) {
                (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => *a <= x && x <= *b,
                (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => *a <= x && x <= *b,
                _ => false,
            },
        }
    }
}

/// A set of addresses; `name` is kept so that nftables can emit a named set.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddrSet {
    pub name: Option<String>,
    pub items: Vec<AddrItem>,
}

impl AddrSet {
    #[must_use]
    pub fn one(item: AddrItem) -> Self {
        Self { name: None, items: vec![item] }
    }

    /// `Some` when every item is of one family.
    #[must_use]
    pub fn family(&self) -> Option<Family> {
        let first = self.items.first()?.family();
        self.items.iter().all(|i| i.family() == first).then_some(first)
    }

    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.items.iter().any(|i| i.contains(addr))
    }
}

/// An address match. The set is shared: lowering makes one per group or
/// address a policy names, and every rule naming it points to that one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AddrMatch {
    pub neg: bool,
    pub set: Arc<AddrSet>,
}

/// Interface names; a trailing `+` matches any name with that prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IfaceMatch {
    pub neg: bool,
    pub names: Box<[String]>,
}

impl IfaceMatch {
    #[must_use]
    pub fn one(name: &str) -> Self {
        Self { neg: false, names: Box::new([name.to_owned()]) }
    }
}

/// Does `name` match an iptables interface pattern (`eth+` is a prefix)?
#[must_use]
pub fn iface_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('+') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Other(u8),
}

impl Proto {
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Icmp => 1,
            Proto::Icmpv6 => 58,
            Proto::Other(n) => n,
        }
    }

    #[must_use]
    pub fn from_number(n: u8) -> Self {
        match n {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 => Proto::Icmp,
            58 => Proto::Icmpv6,
            n => Proto::Other(n),
        }
    }

    /// The name iptables prints, e.g. `tcp`, or the number.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Proto::Tcp => "tcp".into(),
            Proto::Udp => "udp".into(),
            Proto::Icmp => "icmp".into(),
            Proto::Icmpv6 => "ipv6-icmp".into(),
            Proto::Other(n) => n.to_string(),
        }
    }
}

/// Inclusive port range.
pub type PortRange = (u16, u16);

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PortSet {
    pub name: Option<String>,
    pub ranges: Vec<PortRange>,
}

impl PortSet {
    #[must_use]
    pub fn contains(&self, port: u16) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= port && port <= b)
    }
}

/// A port match; the set is shared as an [`AddrMatch`]'s is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortMatch {
    pub neg: bool,
    pub set: Arc<PortSet>,
}

/// `--icmp-type`: any type, a type with any code, or type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IcmpMatch {
    Any,
    Type(u8),
    TypeCode(u8, u8),
}

/// Conntrack states as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CtStates(pub u8);

impl CtStates {
    pub const NEW: u8 = 1;
    pub const ESTABLISHED: u8 = 2;
    pub const RELATED: u8 = 4;
    pub const INVALID: u8 = 8;
    pub const UNTRACKED: u8 = 16;
    pub const NAMES: [(u8, &str); 5] = [
        (Self::INVALID, "INVALID"),
        (Self::NEW, "NEW"),
        (Self::RELATED, "RELATED"),
        (Self::ESTABLISHED, "ESTABLISHED"),
        (Self::UNTRACKED, "UNTRACKED"),
    ];

    #[must_use]
    pub fn contains(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Parse `NEW,ESTABLISHED` (case-insensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let mut bits = 0;
        for part in s.split(',') {
            let (bit, _) = Self::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(part.trim()))?;
            bits |= bit;
        }
        Some(Self(bits))
    }

    /// Names in iptables-save order, e.g. `RELATED,ESTABLISHED`.
    #[must_use]
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(b, _)| self.contains(*b)).map(|(_, n)| *n).collect()
    }
}

/// Inclusive id range with negation, as `--uid-owner 1000-1999`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdRange {
    pub neg: bool,
    pub first: u32,
    pub last: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct OwnerMatch {
    pub uid: Option<IdRange>,
    pub gid: Option<IdRange>,
}

/// `-m physdev`: bridge ports. Each field is `(negated, value)`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct PhysdevMatch {
    pub physdev_in: Option<(bool, String)>,
    pub physdev_out: Option<(bool, String)>,
    pub is_in: Option<bool>,
    pub is_out: Option<bool>,
    pub is_bridged: Option<bool>,
}

/// `-m time`: a daily window and weekdays, in the kernel's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TimeMatch {
    /// Minutes after midnight, inclusive.
    pub start: Option<u16>,
    pub stop: Option<u16>,
    /// Bit 0 = Monday … bit 6 = Sunday; 0 means every day.
    pub weekdays: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_stays_small() {
        // a ruleset of 100,000 rules holds half a million matches
        assert!(std::mem::size_of::<Match>() <= 24, "{}", std::mem::size_of::<Match>());
        assert!(std::mem::size_of::<Rule>() <= 128, "{}", std::mem::size_of::<Rule>());
    }
}
