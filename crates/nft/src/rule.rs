//! One IR rule to nft rules: a family-neutral rule where it can be, else an
//! `ip` and an `ip6` variant.

use rampart_ir::{
    AddrMatch, ChainId, Connmark, CtStates, Family, Hook, IcmpMatch, IdRange, IfaceMatch, MarkSet,
    Match, NatTo, PhysdevMatch, PortMatch, Proto, RejectWith, Rule, Target, TimeMatch,
};

use crate::elems;
use crate::expr::{Expr, Kind, List, NftRule};
use crate::text::quote;

/// nft truncates comments at 128 bytes and log prefixes at 127.
const COMMENT_MAX: usize = 128;
const PREFIX_MAX: usize = 127;

/// The table a rule is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ctx {
    Inet,
    /// `table bridge`, at this hook: bridge ports are `iifname`/`oifname`.
    Bridge(Hook),
}

/// Lower a rule; `chain` maps an IR chain name to its nft name. An empty
/// result means the rule can never match here.
pub(crate) fn lower(
    rule: &Rule,
    ctx: Ctx,
    chain: &dyn Fn(ChainId) -> String,
) -> Result<Vec<NftRule>, String> {
    let mut out = Vec::new();
    // A translation's addresses tie the rule to their family.
    let only = rule.target.family();
    for r in split_any_port(rule) {
        let v4 = if only == Some(Family::V6) { None } else { matches(&r, Family::V4, ctx)? };
        let v6 = if only == Some(Family::V4) { None } else { matches(&r, Family::V6, ctx)? };
        let neutral = family_neutral(&r.target);
        // The bridge family sees every frame, ARP too, where iptables'
        // physdev sees IP packets only: there a rule names its family.
        match (v4, v6) {
            (Some(a), Some(b)) if neutral && a.exprs == b.exprs && ctx == Ctx::Inet => {
                out.push(finish(&r, a.exprs, a.stateful, None, ctx, chain)?);
            }
            (a, b) => {
                for (fam, m) in [(Family::V4, a), (Family::V6, b)] {
                    if let Some(m) = m {
                        let mut exprs = m.exprs;
                        if !m.implies_family {
                            exprs.insert(0, Expr::raw(family_qualifier(fam, ctx)));
                        }
                        out.push(finish(&r, exprs, m.stateful, Some(fam), ctx, chain)?);
                    }
                }
            }
        }
    }
    Ok(out)
}

fn family_qualifier(fam: Family, ctx: Ctx) -> &'static str {
    match (ctx, fam) {
        (Ctx::Inet, Family::V4) => "meta nfproto ipv4",
        (Ctx::Inet, Family::V6) => "meta nfproto ipv6",
        (Ctx::Bridge(_), Family::V4) => "meta protocol ip",
        (Ctx::Bridge(_), Family::V6) => "meta protocol ip6",
    }
}

/// `--ports` (source or destination) has no one-expression nft form: the
/// rule becomes a source-port rule and a destination-port rule. Negated, it
/// is simply both inequalities.
fn split_any_port(rule: &Rule) -> Vec<Rule> {
    let Some(i) = rule.matches.iter().position(|m| matches!(m, Match::AnyPort(p) if !p.neg)) else {
        return vec![rule.clone()];
    };
    let Match::AnyPort(p) = &rule.matches[i] else { unreachable!() };
    [Match::Sport(p.clone()), Match::Dport(p.clone())]
        .into_iter()
        .flat_map(|m| {
            let mut r = rule.clone();
            r.matches[i] = m;
            split_any_port(&r)
        })
        .collect()
}

/// Rejects whose ICMP reply differs from `icmpx` in one family.
fn family_neutral(target: &Target) -> bool {
    !matches!(
        target,
        Target::Reject(
            RejectWith::ProtoUnreachable | RejectWith::NetProhibited | RejectWith::HostProhibited
        )
    ) && target.family().is_none()
}

struct Matched {
    exprs: Vec<Expr>,
    /// An `ip`/`ip6`/`icmp` expression already limits the family.
    implies_family: bool,
    /// A limit keeps state per rule: the rule must stay one rule.
    stateful: bool,
}

fn stateful(out: &mut Matched, (expr, family): (String, bool)) -> bool {
    out.exprs.push(Expr::Raw(expr));
    out.implies_family |= family;
    out.stateful = true;
    true
}

/// The rule's matches for packets of one family; `None` if it cannot match.
fn matches(rule: &Rule, fam: Family, ctx: Ctx) -> Result<Option<Matched>, String> {
    let l4 = rule.matches.iter().find_map(|m| match m {
        Match::Proto { neg: false, proto } => Some(*proto),
        _ => None,
    });
    // Port and flag matches carry their protocol check themselves.
    let has_ports = rule.matches.iter().any(|m| {
        matches!(m, Match::Sport(_) | Match::Dport(_) | Match::AnyPort(_))
            || matches!(m, Match::TcpFlags { .. }) && l4 == Some(Proto::Tcp)
            || matches!(m, Match::Icmp { v6, .. }
                if l4 == Some(if *v6 { Proto::Icmpv6 } else { Proto::Icmp }))
    });
    let mut out = Matched { exprs: Vec::new(), implies_family: false, stateful: false };
    let physdev = rule.matches.iter().find_map(|m| match m {
        Match::Physdev(p) => Some(&**p),
        _ => None,
    });
    for m in &rule.matches {
        let ok = match m {
            Match::Src(a) => addr(&mut out, a, fam, "saddr"),
            Match::Dst(a) => addr(&mut out, a, fam, "daddr"),
            Match::InIface(i) => iface(&mut out, i, ctx, physdev, true),
            Match::OutIface(i) => iface(&mut out, i, ctx, physdev, false),
            Match::Proto { neg, proto } => proto_match(&mut out, *neg, *proto, fam, has_ports),
            Match::Sport(p) => ports(&mut out, p, l4, "sport"),
            Match::Dport(p) => ports(&mut out, p, l4, "dport"),
            Match::AnyPort(p) => {
                // Only negated ones are left after `split_any_port`.
                ports(&mut out, p, l4, "sport") && ports(&mut out, p, l4, "dport")
            }
            Match::Icmp { neg, v6, icmp } => icmp_match(&mut out, *neg, *v6, *icmp, fam),
            Match::State { neg, states } => state(&mut out, *neg, *states),
            Match::Owner(o) => {
                id(&mut out, "meta skuid", o.uid);
                id(&mut out, "meta skgid", o.gid);
                true
            }
            Match::Physdev(p) => physdev_match(&mut out, p, ctx),
            Match::TcpFlags { neg, mask, comp } => {
                let op = if *neg { "!=" } else { "==" };
                out.exprs.push(Expr::Raw(format!(
                    "tcp flags & ({}) {op} {}",
                    flag_names(*mask),
                    if *comp == 0 { "0x0".to_owned() } else { flag_names(*comp) }
                )));
                true
            }
            Match::Mark { neg, value, mask } => {
                let op = if *neg { "!= " } else { "" };
                out.exprs.push(Expr::Raw(if *mask == u32::MAX {
                    format!("meta mark {op}{value:#x}")
                } else {
                    let op = if *neg { "!=" } else { "==" };
                    format!("meta mark & {mask:#x} {op} {value:#x}")
                }));
                true
            }
            Match::Time(t) => {
                time(&mut out, t);
                true
            }
            Match::Limit(l) => stateful(&mut out, crate::rate::limit(l, fam)),
            Match::ConnLimit(c) => stateful(&mut out, crate::rate::conn_limit(c, fam)),
            Match::AddrType(t) => {
                addrtype(&mut out, t);
                true
            }
            Match::Set(m) => match ctx {
                Ctx::Inet => dyn_set(&mut out, m, fam),
                Ctx::Bridge(_) => {
                    return Err(format!("run-time set `{}` in a bridge rule", m.set.name));
                }
            },
            Match::Unknown(u) => {
                return Err(format!("match `-m {}` has no nftables form here", u.module));
            }
            Match::Module(m) => {
                let module = &m.module;
                return Err(format!("match `-m {module}` has no nftables form here"));
            }
        };
        if !ok {
            return Ok(None);
        }
    }
    Ok(Some(out))
}

fn addr(out: &mut Matched, a: &AddrMatch, fam: Family, field: &str) -> bool {
    let elems = elems::addrs(&a.set.items, fam);
    if elems.items.is_empty() {
        // No item of this family: `!` of nothing is everything.
        return a.neg;
    }
    let (lhs, kind) = match (fam, field) {
        (Family::V4, "saddr") => ("ip saddr", Kind::Ipv4),
        (Family::V4, _) => ("ip daddr", Kind::Ipv4),
        (Family::V6, "saddr") => ("ip6 saddr", Kind::Ipv6),
        (Family::V6, _) => ("ip6 daddr", Kind::Ipv6),
    };
    out.implies_family = true;
    out.exprs.push(Expr::Cmp {
        lhs,
        neg: a.neg,
        list: List { kind, name: a.set.name.clone(), elems },
    });
    true
}

/// `ip saddr @blocklist`: the set is declared in the table (see
/// [`crate::dyn_set`]); in the other family it holds nothing.
fn dyn_set(out: &mut Matched, m: &rampart_ir::SetMatch, fam: Family) -> bool {
    if m.set.family != fam {
        return m.neg;
    }
    let lhs = match (fam, m.src) {
        (Family::V4, true) => "ip saddr",
        (Family::V4, false) => "ip daddr",
        (Family::V6, true) => "ip6 saddr",
        (Family::V6, false) => "ip6 daddr",
    };
    let op = if m.neg { "!= " } else { "" };
    out.implies_family = true;
    out.exprs.push(Expr::Raw(format!("{lhs} {op}@{}", crate::text::ident(&m.set.name))));
    true
}

fn iface(
    out: &mut Matched,
    i: &IfaceMatch,
    ctx: Ctx,
    physdev: Option<&PhysdevMatch>,
    input: bool,
) -> bool {
    if i.names.is_empty() {
        return i.neg;
    }
    let lhs = match ctx {
        Ctx::Inet => {
            if input {
                "iifname"
            } else {
                "oifname"
            }
        }
        Ctx::Bridge(_) => {
            // `-i br0` names the bridge. A bridged packet stays in one
            // bridge, so any bridge port in the rule already implies it.
            let port = physdev.is_some_and(|p| {
                matches!(p.physdev_in, Some((false, _)))
                    || matches!(p.physdev_out, Some((false, _)))
            });
            if port && !i.neg {
                return true;
            }
            if input { "meta ibrname" } else { "meta obrname" }
        }
    };
    out.exprs.push(Expr::Cmp { lhs, neg: i.neg, list: ifnames(&i.names) });
    true
}

fn ifnames(names: &[String]) -> List {
    let mut items: Vec<String> = names
        .iter()
        .map(|n| quote(&n.strip_suffix('+').map_or_else(|| n.clone(), |p| format!("{p}*")), 16))
        .collect();
    items.sort();
    items.dedup();
    List {
        kind: Kind::Iface,
        name: None,
        elems: elems::Elems { items, interval: false, ranges: Vec::new() },
    }
}

fn proto_match(out: &mut Matched, neg: bool, proto: Proto, fam: Family, has_ports: bool) -> bool {
    if !neg {
        match (proto, fam) {
            (Proto::Icmp, Family::V6) | (Proto::Icmpv6, Family::V4) => return false,
            // `tcp dport` carries the protocol check itself.
            (Proto::Tcp | Proto::Udp | Proto::Icmp | Proto::Icmpv6, _) if has_ports => return true,
            _ => {}
        }
    }
    let op = if neg { "!= " } else { "" };
    out.exprs.push(Expr::Raw(format!("meta l4proto {op}{}", proto.name())));
    true
}

fn ports(out: &mut Matched, p: &PortMatch, l4: Option<Proto>, field: &str) -> bool {
    let elems = elems::ports(&p.set.ranges);
    if elems.items.is_empty() {
        return p.neg;
    }
    let lhs = match (l4, field) {
        (Some(Proto::Tcp), "sport") => "tcp sport",
        (Some(Proto::Tcp), _) => "tcp dport",
        (Some(Proto::Udp), "sport") => "udp sport",
        (Some(Proto::Udp), _) => "udp dport",
        (_, "sport") => "th sport",
        _ => "th dport",
    };
    out.exprs.push(Expr::Cmp {
        lhs,
        neg: p.neg,
        list: List { kind: Kind::Port, name: p.set.name.clone(), elems },
    });
    true
}

fn icmp_match(out: &mut Matched, neg: bool, v6: bool, icmp: IcmpMatch, fam: Family) -> bool {
    if v6 != (fam == Family::V6) {
        return false;
    }
    let (kw, l4) = if v6 { ("icmpv6", "ipv6-icmp") } else { ("icmp", "icmp") };
    let op = if neg { "!= " } else { "" };
    out.implies_family = true;
    match (icmp, neg) {
        (IcmpMatch::Any, false) => {
            out.implies_family = false;
            out.exprs.push(Expr::Raw(format!("meta l4proto {l4}")));
        }
        (IcmpMatch::Any, true) => return false,
        (IcmpMatch::Type(t), _) => {
            out.exprs.push(Expr::Raw(format!("{kw} type {op}{}", icmp_type(t, v6))));
        }
        (IcmpMatch::TypeCode(t, c), false) => {
            out.exprs.push(Expr::Raw(format!("{kw} type {} {kw} code {c}", icmp_type(t, v6))));
        }
        (IcmpMatch::TypeCode(t, c), true) => {
            // Not (type and code): compare both bytes at once.
            out.implies_family = false;
            let both = u16::from(t) << 8 | u16::from(c);
            out.exprs.push(Expr::Raw(format!("meta l4proto {l4} @th,0,16 != {both:#06x}")));
        }
    }
    true
}

/// nft's name for the common ICMP types, else the number.
fn icmp_type(t: u8, v6: bool) -> String {
    let name = match (v6, t) {
        (false, 0) => "echo-reply",
        (false, 3) => "destination-unreachable",
        (false, 5) => "redirect",
        (false, 8) => "echo-request",
        (false, 11) => "time-exceeded",
        (false, 12) => "parameter-problem",
        (true, 1) => "destination-unreachable",
        (true, 2) => "packet-too-big",
        (true, 3) => "time-exceeded",
        (true, 4) => "parameter-problem",
        (true, 128) => "echo-request",
        (true, 129) => "echo-reply",
        (true, 133) => "nd-router-solicit",
        (true, 134) => "nd-router-advert",
        (true, 135) => "nd-neighbor-solicit",
        (true, 136) => "nd-neighbor-advert",
        _ => return t.to_string(),
    };
    name.to_owned()
}

fn state(out: &mut Matched, neg: bool, states: CtStates) -> bool {
    // In the order nft lists them back.
    const NAMES: [(u8, &str); 5] = [
        (CtStates::INVALID, "invalid"),
        (CtStates::ESTABLISHED, "established"),
        (CtStates::RELATED, "related"),
        (CtStates::NEW, "new"),
        (CtStates::UNTRACKED, "untracked"),
    ];
    let names: Vec<&str> =
        NAMES.iter().filter(|(b, _)| states.contains(*b)).map(|(_, n)| *n).collect();
    if names.is_empty() {
        return neg;
    }
    if !neg {
        // A value (or, in nft's order of states, a range of them) that a
        // merged run can take as a key part.
        let at: Vec<u128> =
            (0..NAMES.len()).filter(|&i| states.contains(NAMES[i].0)).map(|i| i as u128).collect();
        let mut ranges: Vec<(u128, u128)> = Vec::new();
        for i in at {
            match ranges.last_mut() {
                Some(r) if r.1 + 1 == i => r.1 = i,
                _ => ranges.push((i, i)),
            }
        }
        out.exprs.push(Expr::Cmp {
            lhs: "ct state",
            neg: false,
            list: List {
                kind: Kind::CtState,
                name: None,
                elems: elems::Elems {
                    interval: names.len() > 1,
                    items: vec![names.join(",")],
                    ranges,
                },
            },
        });
        return true;
    }
    // A packet has exactly one state, so "not in these" is a zero mask.
    out.exprs.push(Expr::Raw(format!("ct state & ({}) == 0", names.join("|"))));
    true
}

fn id(out: &mut Matched, lhs: &str, r: Option<IdRange>) {
    if let Some(r) = r {
        let op = if r.neg { "!= " } else { "" };
        out.exprs.push(Expr::Raw(if r.first == r.last {
            format!("{lhs} {op}{}", r.first)
        } else {
            format!("{lhs} {op}{}-{}", r.first, r.last)
        }));
    }
}

/// Bridge ports. In the inet table a bridged packet's ports are not visible:
/// like `xt_physdev` on a routed packet, the match holds only when every
/// option is negated. In the bridge table, the hook says which are present.
fn physdev_match(out: &mut Matched, p: &PhysdevMatch, ctx: Ctx) -> bool {
    let Ctx::Bridge(hook) = ctx else {
        return physdev_all_negated(p);
    };
    let (has_in, has_out) = match hook {
        Hook::Prerouting | Hook::Input => (true, false),
        Hook::Forward => (true, true),
        Hook::Output | Hook::Postrouting => (false, true),
    };
    for (flag, present) in
        [(p.is_in, has_in), (p.is_out, has_out), (p.is_bridged, has_in && has_out)]
    {
        if let Some(neg) = flag
            && neg == present
        {
            return false;
        }
    }
    for (lhs, port, present) in
        [("iifname", &p.physdev_in, has_in), ("oifname", &p.physdev_out, has_out)]
    {
        if let Some((neg, name)) = port {
            if !present {
                if *neg {
                    continue;
                }
                return false;
            }
            out.exprs.push(Expr::Cmp { lhs, neg: *neg, list: ifnames(std::slice::from_ref(name)) });
        }
    }
    true
}

/// Whether `xt_physdev` matches a packet that was not bridged.
pub(crate) fn physdev_all_negated(p: &PhysdevMatch) -> bool {
    [
        p.physdev_in.as_ref().map(|x| x.0),
        p.physdev_out.as_ref().map(|x| x.0),
        p.is_in,
        p.is_out,
        p.is_bridged,
    ]
    .into_iter()
    .flatten()
    .all(|neg| neg)
}

fn time(out: &mut Matched, t: &TimeMatch) {
    let hm = |m: u16, end: bool| {
        if end {
            format!("\"{:02}:{:02}:59\"", m / 60, m % 60)
        } else {
            format!("\"{:02}:{:02}\"", m / 60, m % 60)
        }
    };
    match (t.start, t.stop) {
        (Some(a), Some(b)) => {
            out.exprs.push(Expr::Raw(format!("meta hour {}-{}", hm(a, false), hm(b, true))))
        }
        (Some(a), None) => out.exprs.push(Expr::Raw(format!("meta hour >= {}", hm(a, false)))),
        (None, Some(b)) => out.exprs.push(Expr::Raw(format!("meta hour <= {}", hm(b, true)))),
        (None, None) => {}
    }
    if t.weekdays != 0 {
        const DAYS: [&str; 7] = [
            "\"Monday\"",
            "\"Tuesday\"",
            "\"Wednesday\"",
            "\"Thursday\"",
            "\"Friday\"",
            "\"Saturday\"",
            "\"Sunday\"",
        ];
        let days: Vec<&str> = DAYS
            .iter()
            .enumerate()
            .filter(|(i, _)| t.weekdays & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect();
        out.exprs.push(Expr::Raw(if days.len() == 1 {
            format!("meta day {}", days[0])
        } else {
            format!("meta day {{ {} }}", days.join(", "))
        }));
    }
}

fn flag_names(bits: u8) -> String {
    const FLAGS: [&str; 8] = ["fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"];
    let names: Vec<&str> =
        FLAGS.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, n)| *n).collect();
    names.join("|")
}

/// Append log, verdict and comment.
fn finish(
    rule: &Rule,
    exprs: Vec<Expr>,
    stateful: bool,
    fam: Option<Family>,
    ctx: Ctx,
    chain: &dyn Fn(ChainId) -> String,
) -> Result<NftRule, String> {
    let mut stmts = Vec::new();
    if matches!(rule.target, Target::None) {
        stmts.push("counter".to_owned());
    }
    if let Some(log) = &rule.log {
        stmts.push(log_stmt(&log.prefix, log.level));
    }
    let bridge = matches!(ctx, Ctx::Bridge(_));
    let verdict = match &rule.target {
        Target::Accept => Some("accept".to_owned()),
        Target::Drop => Some("drop".to_owned()),
        Target::Reject(with) => Some(reject(*with, fam, &rule.matches)),
        Target::Return if !bridge => Some("return".to_owned()),
        Target::Jump(c) if !bridge => Some(format!("jump {}", chain(*c))),
        Target::Goto(c) if !bridge => Some(format!("goto {}", chain(*c))),
        Target::Log(l) => {
            stmts.push(log_stmt(&l.prefix, l.level));
            None
        }
        Target::Nflog(n) => {
            let prefix = n.prefix.as_ref().map(|p| format!(" prefix {}", quote(p, PREFIX_MAX)));
            stmts.push(format!("log{} group {}", prefix.unwrap_or_default(), n.group));
            None
        }
        Target::None => None,
        Target::Mark(m) => {
            stmts.push(format!("meta mark set {}", mark_expr("meta mark", *m)));
            None
        }
        Target::Connmark(Connmark::Set(m)) => {
            stmts.push(format!("ct mark set {}", mark_expr("ct mark", *m)));
            None
        }
        Target::Connmark(Connmark::Save { nfmask: u32::MAX, ctmask: u32::MAX }) => {
            stmts.push("ct mark set meta mark".to_owned());
            None
        }
        Target::Connmark(Connmark::Restore { nfmask: u32::MAX, ctmask: u32::MAX }) => {
            stmts.push("meta mark set ct mark".to_owned());
            None
        }
        Target::Connmark(_) => {
            return Err("CONNMARK with masks has no nftables form here".into());
        }
        Target::Snat(to) | Target::Dnat(to) if !bridge => {
            let kind = if matches!(rule.target, Target::Snat(_)) { "snat" } else { "dnat" };
            let fam = match to.addrs {
                Some((a, _)) if a.is_ipv6() => " ip6",
                Some(_) => " ip",
                None => "",
            };
            Some(format!("{kind}{fam} to {}", nat_to(*to)))
        }
        Target::Masquerade(ports) | Target::Redirect(ports) if !bridge => {
            let kind = if matches!(rule.target, Target::Masquerade(_)) {
                "masquerade"
            } else {
                "redirect"
            };
            Some(match ports {
                Some(p) => format!("{kind} to :{}", port_range(*p)),
                None => kind.to_owned(),
            })
        }
        Target::Snat(_) | Target::Dnat(_) | Target::Masquerade(_) | Target::Redirect(_) => {
            return Err("a bridge-port rule cannot translate addresses".into());
        }
        Target::Return | Target::Jump(_) | Target::Goto(_) => {
            return Err("a bridge-port rule cannot jump into the inet table's chains".into());
        }
        Target::Other { name, .. } => {
            return Err(format!("target `{name}` has no nftables form here"));
        }
    };
    let comment = rule
        .comment
        .as_deref()
        .map(str::to_owned)
        .or_else(|| rule.origin.filter(|o| o.rule > 0).map(|o| format!("rule {}", o.rule)));
    Ok(NftRule { matches: exprs, stmts, verdict, comment, stateful })
}

/// `ADDR[-ADDR][:PORT[-PORT]]`, an IPv6 address in brackets before a port.
fn nat_to(to: NatTo) -> String {
    let mut s = String::new();
    if let Some((a, b)) = to.addrs {
        let one = |x: std::net::IpAddr| {
            if x.is_ipv6() && to.ports.is_some() { format!("[{x}]") } else { x.to_string() }
        };
        s.push_str(&one(a));
        if a != b {
            s.push('-');
            s.push_str(&one(b));
        }
    }
    if let Some(p) = to.ports {
        s.push(':');
        s.push_str(&port_range(p));
    }
    s
}

fn port_range((a, b): (u16, u16)) -> String {
    if a == b { a.to_string() } else { format!("{a}-{b}") }
}

/// The value a mark is set to: `(mark & !mask) ^ xor`, plainly when the mask
/// covers every bit.
fn mark_expr(mark: &str, m: MarkSet) -> String {
    if m.mask == u32::MAX {
        format!("{:#x}", m.xor)
    } else {
        format!("{mark} and {:#x} xor {:#x}", !m.mask, m.xor)
    }
}

/// `comment "..."`, quoted and cut to what nft keeps.
pub(crate) fn comment(c: &str) -> String {
    format!("comment {}", quote(c, COMMENT_MAX))
}

fn log_stmt(prefix: &str, level: u8) -> String {
    const LEVELS: [&str; 8] = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"];
    let level = LEVELS[usize::from(level.min(7))];
    format!("log prefix {} level {level}", quote(prefix, PREFIX_MAX))
}

/// The reply iptables sends, as nft spells it. `fam` is `None` only for the
/// replies `icmpx` expresses identically in both families.
fn reject(with: RejectWith, fam: Option<Family>, matches: &[Match]) -> String {
    use RejectWith::*;
    match (with, fam) {
        (TcpReset, _) => {
            let has_tcp =
                matches.iter().any(|m| matches!(m, Match::Proto { neg: false, proto: Proto::Tcp }));
            if has_tcp {
                "reject with tcp reset".into()
            } else {
                "meta l4proto tcp reject with tcp reset".into()
            }
        }
        (PortUnreachable, _) => "reject".into(),
        (HostUnreachable, None) => "reject with icmpx type host-unreachable".into(),
        (NetUnreachable, None) => "reject with icmpx type no-route".into(),
        (AdminProhibited, None) => "reject with icmpx type admin-prohibited".into(),
        (_, Some(Family::V4) | None) => format!(
            "reject with icmp type {}",
            match with {
                HostUnreachable => "host-unreachable",
                NetUnreachable => "net-unreachable",
                ProtoUnreachable => "prot-unreachable",
                NetProhibited => "net-prohibited",
                HostProhibited => "host-prohibited",
                _ => "admin-prohibited",
            }
        ),
        (_, Some(Family::V6)) => format!(
            "reject with icmpv6 type {}",
            match with {
                HostUnreachable | HostProhibited => "addr-unreachable",
                NetUnreachable | NetProhibited => "no-route",
                ProtoUnreachable => "port-unreachable",
                _ => "admin-prohibited",
            }
        ),
    }
}

/// `-m addrtype` is nft's `fib` route-type lookup.
fn addrtype(out: &mut Matched, t: &rampart_ir::AddrTypeMatch) {
    let by = match (t.limit_iface_in, t.limit_iface_out) {
        (true, _) => " . iif",
        (_, true) => " . oif",
        _ => "",
    };
    for (field, side) in [("saddr", t.src), ("daddr", t.dst)] {
        let Some((neg, types)) = side else { continue };
        let names: Vec<String> = types.names().iter().map(|n| n.to_ascii_lowercase()).collect();
        let op = if neg { "!= " } else { "" };
        let value =
            if names.len() == 1 { names[0].clone() } else { format!("{{ {} }}", names.join(", ")) };
        out.exprs.push(Expr::Raw(format!("fib {field}{by} type {op}{value}")));
    }
}
