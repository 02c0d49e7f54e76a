//! The syntax tree: what was written, with spans, before names are resolved.

use rampart_diag::Span;

/// A word as written (a name, an address, a port range) and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

/// A double-quoted string, unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `include "objects.rp"`
    Include(Text),
    /// `host NAME ADDR[, ADDR...]`
    Host {
        name: Word,
        addrs: Vec<Word>,
    },
    /// `network NAME CIDR`
    Network {
        name: Word,
        net: Word,
    },
    /// `range NAME FIRST - LAST` (or `FIRST-LAST`)
    Range {
        name: Word,
        first: Word,
        last: Word,
    },
    /// `group NAME { MEMBER, ... }`: addresses or services, nested.
    Group {
        name: Word,
        members: Vec<Word>,
    },
    /// `service NAME PROTO [sport P] [dport P | P, ...] [PROTO ...]`
    Service {
        name: Word,
        clauses: Vec<ServiceClause>,
    },
    /// `set NAME ipv4|ipv6 [timeout DURATION] [size N]`: addresses added
    /// at run time (fail2ban, `rampart logs blocklist --apply`).
    Set {
        name: Word,
        words: Vec<Word>,
    },
    /// `set NAME from "FILE"`: an address table, the addresses and
    /// networks of a file read when the policy is compiled (one a line,
    /// `#` comments). The parser leaves `addrs` empty; the model's loader
    /// reads the file (relative to the policy file) into it.
    AddressTable {
        name: Word,
        file: Text,
        addrs: Vec<Word>,
    },
    /// `user NAME uid N [gid N]`
    User {
        name: Word,
        uid: Word,
        gid: Option<Word>,
    },
    Firewall(Firewall),
    /// `access NAME for FIREWALL { STATEMENT... }`: the console access kit.
    Access(Access),
}

/// `access NAME for FIREWALL { ... }`. Each line inside is a key and its
/// values (`viewer "/usr/bin/remote-viewer"`, `user myself to mysrv port
/// 20002 days mon, tue time 08:00-18:00`); commas are dropped. The model
/// gives the lines meaning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub name: Word,
    pub firewall: Word,
    pub statements: Vec<Setting>,
}

/// One protocol of a service: `tcp 80, 443`, `udp sport 68 dport 67`,
/// `icmp 8/0, 11`, `proto 47`, `any`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceClause {
    pub proto: Word,
    pub sports: Vec<Word>,
    /// Destination ports, or ICMP types for icmp/icmpv6, or the protocol
    /// number for `proto`.
    pub dports: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firewall {
    pub name: Word,
    pub interfaces: Vec<Interface>,
    pub bridges: Vec<Bridge>,
    pub options: Vec<Setting>,
    pub rulesets: Vec<RuleSet>,
    /// `nat { RULE... }`: address translation rules, in order; several
    /// `nat` blocks read as one.
    pub nat: Vec<Rule>,
    /// `expect VERDICT [from ...] [to ...] [service ...] [on ... [in | out]]`:
    /// what the rules must decide, checked against the compiled rules. The
    /// rule's span starts at `expect`.
    pub expects: Vec<Rule>,
}

/// `bridge NAME { PORT-STATEMENT... }`, a Linux bridge on the firewall host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bridge {
    pub name: Word,
    /// `arp-guard` on the bridge's own line of statements: every guest port.
    pub options: Vec<Word>,
    pub ports: Vec<BridgePort>,
}

/// `guest PORT ADDR, ... [mac MAC] [arp-guard]` or
/// `border PORT to PEER` or `border PORT to host IFACE [beyond ADDR, ...]`
/// or `port PORT`:
/// the kind, the port's name, and the rest of the line as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgePort {
    pub kind: Word,
    pub name: Word,
    pub rest: Vec<Word>,
}

/// `interface NAME [ADDR/LEN, ...] [loopback] [dynamic] [management]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: Word,
    pub addrs: Vec<Word>,
    pub flags: Vec<Word>,
}

/// A firewall option: a key followed by words and strings,
/// e.g. `log-prefix "RULE %N -- %A "` or `backup-ssh from admin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub key: Word,
    pub values: Vec<Value>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Word(Word),
    Text(Text),
}

impl Value {
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Value::Word(w) => w.span,
            Value::Text(t) => t.span,
        }
    }

    #[must_use]
    pub fn text(&self) -> &str {
        match self {
            Value::Word(w) => &w.text,
            Value::Text(t) => &t.value,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleSet {
    pub name: Word,
    pub rules: Vec<Rule>,
}

/// `ACTION [ARG] [from [not] A, ...] [to [not] A, ...] [service [not] S, ...]
///  [on [not] IF, ...] [in | out] [user U, ...] [days D, ...] [time HH:MM-HH:MM]
///  [log] [stateless] [number N] [comment "..."]`
///
/// The clauses most rules lack are boxed: a policy of 100,000 rules is
/// held whole while it is resolved, and a rule takes 424 bytes instead of
/// 1,152.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub action: Word,
    /// `branch NAME`, `antispoof IFACE`, `reject with REPLY`; in `nat`:
    /// `snat to ADDR`, `dnat to ADDR[:PORT]`, `redirect to PORT`.
    pub argument: Option<Box<Word>>,
    pub from: Option<Column>,
    pub to: Option<Column>,
    pub service: Option<Column>,
    pub on: Option<Box<Column>>,
    /// `in` or `out`; absent means both.
    pub direction: Option<Box<Word>>,
    pub user: Option<Box<Column>>,
    /// `days mon, tue`: weekdays the rule applies on.
    pub days: Option<Box<Column>>,
    /// `time 08:00-18:00`: the daily window (UTC, as `-m time` sees it).
    pub time: Option<Box<Word>>,
    pub log: Option<Span>,
    pub stateless: Option<Span>,
    /// `limit RATE [burst N] [per source]`: match only under the rate.
    pub limit: Option<Box<Limit>>,
    /// `connlimit N [per source]`: match only up to N open connections.
    pub connlimit: Option<Box<Limit>>,
    /// `log-limit RATE [burst N]` or `log-limit none`: how often the log
    /// line is written.
    pub log_limit: Option<Box<Limit>>,
    /// `log prefix "TEXT"`: the rule's own log prefix, a template.
    pub log_prefix: Option<Box<Text>>,
    /// `mark N[/MASK]` beside another action: also set the packet's mark.
    pub mark: Option<Box<Word>>,
    /// `marked N[/MASK]`: match packets that carry this mark.
    pub marked: Option<Box<Word>>,
    /// `tcp-flags syn, no-ack`: flags that must be set (`no-`: clear).
    pub tcp_flags: Option<Box<Column>>,
    /// `disabled`: the rule keeps its place and number but does nothing.
    pub disabled: Option<Span>,
    /// `number N`: the rule's number as written, for rules brought over
    /// from another tool whose log prefixes carry their own numbers.
    pub number: Option<Box<Word>>,
    pub comment: Option<Text>,
    pub span: Span,
}

/// A limit clause as written: the value (`3/minute`, a count, `none`) and
/// its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub keyword: Span,
    pub value: Word,
    pub burst: Option<Word>,
    /// `per source`
    pub per_source: Option<Span>,
}

/// The values of one rule column and whether they are negated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub keyword: Span,
    pub not: Option<Span>,
    pub items: Vec<Word>,
}
