//! A trace as text for people and as JSON for programs.
//!
//! JSON schema (one object):
//! `{"verdict": "ACCEPT"|"DROP"|"REJECT"|target|"UNKNOWN",
//!   "decided_by": {"chain", "index", "text"} | null, "policy": bool,
//!   "logs": [prefix...], "path": [{"chain", "index", "text", "action"}],
//!   "unknown": [{"chain", "index", "text", "match", "reason",
//!                "if_match": ending, "if_no_match": ending, "more_unknown"}]}`
//! where an ending is `{"verdict", "decided_by", "policy"}`. `index` counts
//! from 1, as `iptables -L --line-numbers` does.

use std::fmt::Write;
use std::net::IpAddr;

use rampart_ir::{
    ChainId, Family, Hook, Match, Rule, Ruleset, TCP_FLAGS, Table, Target, format_rule,
};
use serde_json::{Value, json};

use crate::eval::{Ending, RuleRef, Trace, Undecided, Verdict};
use crate::nat::Nat;
use crate::packet::Packet;
use crate::routed::{Passage, Route, Routed, Walk};

/// The rule's text as iptables prints it (after `-A CHAIN`); `rs` is its
/// ruleset.
#[must_use]
pub fn rule_text(rs: &Ruleset, rule: &Rule, family: Family) -> String {
    let text = format_rule(rs, rule, family);
    match &rule.log {
        Some(l) => format!("{text} (logs {:?} first)", l.prefix),
        None => text,
    }
}

/// The rule that decided, as `CHAIN:INDEX` and its text, or `policy of
/// HOOK` when the chain's policy did.
#[must_use]
pub fn deciding(rs: &Ruleset, e: &Ending, hook: Hook, family: Family) -> String {
    match e.decided_by {
        Some(at) => format!(
            "{}:{} {}",
            rs.chains[at.chain].name,
            at.rule + 1,
            rule_text(rs, at.rule(rs), family)
        ),
        None => format!("policy of {}", hook.chain()),
    }
}

fn undecided_text(rs: &Ruleset, at: RuleRef, u: Undecided, family: Family) -> (String, String) {
    let rule = at.rule(rs);
    match u {
        Undecided::Match(i, why) => {
            let m: Vec<Match> = rule.matches.get(i).cloned().into_iter().collect();
            let mut text = format_rule(rs, &Rule::new(m, Target::None), family);
            if text.is_empty() {
                text = "(match)".into();
            }
            (text, why.text())
        }
        Undecided::Target => {
            let text = format_rule(rs, &Rule::new(vec![], rule.target.clone()), family);
            (text, "Rampart does not know whether this target stops the walk".into())
        }
    }
}

fn at_json(rs: &Ruleset, at: Option<RuleRef>, family: Family) -> Value {
    match at {
        None => Value::Null,
        Some(at) => json!({
            "chain": rs.chains[at.chain].name,
            "index": at.rule + 1,
            "text": rule_text(rs, at.rule(rs), family),
        }),
    }
}

fn ending_json(rs: &Ruleset, e: &Ending, family: Family) -> Value {
    json!({
        "verdict": e.verdict.name(),
        "decided_by": at_json(rs, e.decided_by, family),
        "policy": e.policy() && e.verdict != Verdict::Unknown,
    })
}

/// The trace as one JSON object (schema in the module docs).
#[must_use]
pub fn to_json(rs: &Ruleset, t: &Trace, family: Family) -> Value {
    let decided = t.verdict != Verdict::Unknown;
    let path: Vec<Value> = t
        .path
        .iter()
        .map(|s| {
            json!({
                "chain": rs.chains[s.at.chain].name,
                "index": s.at.rule + 1,
                "text": rule_text(rs, s.at.rule(rs), family),
                "action": s.action.name(),
            })
        })
        .collect();
    let unknown: Vec<Value> = t
        .forks
        .iter()
        .map(|f| {
            let (m, reason) = undecided_text(rs, f.at, f.undecided, family);
            json!({
                "chain": rs.chains[f.at.chain].name,
                "index": f.at.rule + 1,
                "text": rule_text(rs, f.at.rule(rs), family),
                "match": m,
                "reason": reason,
                "if_match": ending_json(rs, &f.if_match, family),
                "if_no_match": ending_json(rs, &t.main, family),
                "more_unknown": f.more,
            })
        })
        .collect();
    json!({
        "verdict": t.verdict.name(),
        "decided_by": if decided { at_json(rs, t.main.decided_by, family) } else { Value::Null },
        "policy": decided && t.main.policy(),
        "logs": t.logs,
        "path": path,
        "unknown": unknown,
    })
}

fn ending_text(rs: &Ruleset, e: &Ending, start: Option<&str>) -> String {
    match e.decided_by {
        Some(at) => format!("{} by {} {}", e.verdict.name(), rs.chains[at.chain].name, at.rule + 1),
        None if e.verdict == Verdict::Unknown => "UNKNOWN".into(),
        None => format!("{} (policy of {})", e.verdict.name(), start.unwrap_or("the hook")),
    }
}

/// A protocol by name (`tcp`), or `proto N` for one without.
#[must_use]
pub fn proto_name(n: u8) -> String {
    match n {
        6 => "tcp".to_owned(),
        17 => "udp".to_owned(),
        1 => "icmp".to_owned(),
        58 => "icmpv6".to_owned(),
        132 => "sctp".to_owned(),
        n => format!("proto {n}"),
    }
}

/// One end of a packet: the address (`none` when not given), then the
/// port after `sep`.
fn end(a: Option<IpAddr>, port: Option<u16>, none: &str, sep: &str) -> String {
    let a = a.map_or_else(|| none.to_owned(), |a| a.to_string());
    match port {
        Some(p) => format!("{a}{sep}{p}"),
        None => a,
    }
}

/// `SRC[:PORT] -> DST[:PORT]`, `?` for an address not given.
#[must_use]
pub fn endpoints(p: &Packet) -> String {
    format!("{} -> {}", end(p.src, p.sport, "?", ":"), end(p.dst, p.dport, "?", ":"))
}

/// The packet in words, for messages about a policy: `tcp from 10.1.0.5
/// port 1 to 10.2.0.10 port 443 in on eth1 out by eth2`.
#[must_use]
pub fn describe(p: &Packet) -> String {
    let proto = p.proto.map_or_else(|| "ip".to_owned(), proto_name);
    let fw = "(the firewall)";
    let mut s = format!(
        "{proto} from {} to {}",
        end(p.src, p.sport, fw, " port "),
        end(p.dst, p.dport, fw, " port ")
    );
    if let Some((t, c)) = p.icmp {
        let _ = write!(s, " type {t}/{}", c.unwrap_or(0));
    }
    match p.hook {
        Hook::Output => s.push_str(" sent by the firewall"),
        Hook::Input => s.push_str(" to the firewall"),
        _ => {}
    }
    if let Some(i) = &p.in_iface {
        let _ = write!(s, " in on {i}");
    }
    if let Some(o) = &p.out_iface {
        let _ = write!(s, " out by {o}");
    }
    if let Some(u) = p.uid {
        let _ = write!(s, " (uid {u}, gid {})", p.gid.unwrap_or(0));
    }
    s
}

/// One line describing the packet, e.g. `input tcp 10.0.0.5:40000 -> 10.0.0.1:22`.
#[must_use]
pub fn packet_line(p: &Packet) -> String {
    let mut s = p.hook.chain().to_ascii_lowercase();
    let proto = p.proto.map_or_else(|| "any protocol".to_owned(), proto_name);
    let _ = write!(s, " {proto} {}", endpoints(p));
    if let Some((t, c)) = p.icmp {
        let _ = write!(s, " type {t}");
        if let Some(c) = c {
            let _ = write!(s, "/{c}");
        }
    }
    for (k, v) in [
        ("in", &p.in_iface),
        ("out", &p.out_iface),
        ("physdev-in", &p.physdev_in),
        ("physdev-out", &p.physdev_out),
    ] {
        if let Some(v) = v {
            let _ = write!(s, " {k} {v}");
        }
    }
    if p.bridged {
        s.push_str(" bridged");
    }
    let _ = write!(s, " state {}", p.state.name());
    if let Some(f) = p.tcp_flags {
        let names: Vec<&str> =
            TCP_FLAGS.iter().filter(|(b, _)| f & b != 0).map(|(_, n)| *n).collect();
        let _ =
            write!(s, " flags {}", if names.is_empty() { "none".into() } else { names.join(",") });
    }
    if let Some(u) = p.uid {
        let _ = write!(s, " uid {u}");
    }
    if let Some(g) = p.gid {
        let _ = write!(s, " gid {g}");
    }
    if p.mark != 0 {
        let _ = write!(s, " mark {:#x}", p.mark);
    }
    s
}

/// Undecided rules shown one by one in the text; the rest are counted by
/// outcome.
const FORKS_SHOWN: usize = 20;

/// The trace as text: the packet, each matching rule with what it did,
/// undecided rules with both outcomes, and the verdict.
#[must_use]
pub fn to_text(rs: &Ruleset, p: &Packet, t: &Trace, family: Family) -> String {
    let start = rs.base(Table::Filter, p.hook).or_else(|| rs.base(Table::Nat, p.hook));
    text_from(rs, start, p, t, family)
}

/// As [`to_text`], for a walk that started in the base chain `start`.
fn text_from(
    rs: &Ruleset,
    start: Option<ChainId>,
    p: &Packet,
    t: &Trace,
    family: Family,
) -> String {
    let start = start.map(|c| rs.name(c));
    let mut out = format!("packet: {}\n", packet_line(p));
    let mut logs = t.logs.iter();
    for s in &t.path {
        let rule = s.at.rule(rs);
        let here = format!("{} {}", rs.chains[s.at.chain].name, s.at.rule + 1);
        let _ = writeln!(out, "  {here:<12} {}", rule_text(rs, rule, family));
        if let Some(o) = rule.origin.filter(|o| o.rule > 0) {
            let _ = writeln!(out, "  {:<12} (policy rule {})", "", o.rule);
        }
        if rule.log.is_some()
            && let Some(l) = logs.next()
        {
            let _ = writeln!(out, "  {:<12} -> log {l:?}", "");
        }
        let what = match (s.action, &rule.target) {
            (crate::Action::Jump, Target::Jump(c)) => format!("jump to {}", rs.name(*c)),
            (crate::Action::Jump, Target::Goto(c)) => format!("go to {}", rs.name(*c)),
            (crate::Action::Return, _) => "return".to_owned(),
            (crate::Action::Log, _) => format!("log {:?}", logs.next().map_or("", String::as_str)),
            (crate::Action::Verdict, _) => format!("verdict {}", t.main.verdict.name()),
            _ => "continue".to_owned(),
        };
        let _ = writeln!(out, "  {:<12} -> {what}", "");
    }
    if t.main.policy() {
        let _ = writeln!(
            out,
            "  {:<12} -> end of chain: policy {}",
            start.unwrap_or("(no chain)"),
            t.main.verdict.name()
        );
    }
    if !t.forks.is_empty() {
        out.push_str("undecided (the path above assumes they do not match):\n");
        for f in t.forks.iter().take(FORKS_SHOWN) {
            let (m, reason) = undecided_text(rs, f.at, f.undecided, family);
            let here = format!("{} {}", rs.chains[f.at.chain].name, f.at.rule + 1);
            let _ = writeln!(out, "  {here:<12} {}", rule_text(rs, f.at.rule(rs), family));
            let _ = writeln!(out, "  {:<12} {m}: {reason}", "");
            let more = if f.more { " (then more undecided rules)" } else { "" };
            let _ = writeln!(
                out,
                "  {:<12} if it matches: {}{more}; if not: {}",
                "",
                ending_text(rs, &f.if_match, start),
                ending_text(rs, &t.main, start)
            );
        }
    }
    if let Some(rest) = t.forks.get(FORKS_SHOWN..).filter(|r| !r.is_empty()) {
        // The rest merged by outcome, counted (the JSON lists every one).
        let mut by: Vec<(&str, usize)> = Vec::new();
        for f in rest {
            let v = f.if_match.verdict.name();
            match by.iter_mut().find(|(n, _)| *n == v) {
                Some((_, c)) => *c += 1,
                None => by.push((v, 1)),
            }
        }
        let by: Vec<String> = by.iter().map(|(v, c)| format!("{c} {v}")).collect();
        let _ = writeln!(
            out,
            "  ... and {} more undecided rules; if one matches: {}",
            rest.len(),
            by.join(", ")
        );
    }
    match &t.verdict {
        Verdict::Unknown => {
            out.push_str("verdict: UNKNOWN (depends on the undecided rules above)\n")
        }
        _ => {
            let _ = writeln!(out, "verdict: {}", ending_text(rs, &t.main, start));
        }
    }
    out
}

/// What a nat chain did, as one line: the translation, or why none.
#[must_use]
pub fn nat_line(packet: &Packet, n: &Nat) -> String {
    match &n.translation {
        Some(t) => t.text(packet),
        None if n.trace.verdict == Verdict::Unknown => {
            "undecided: the translation depends on the undecided rules above".to_owned()
        }
        None => "no translation".to_owned(),
    }
}

/// A nat chain's walk as JSON: the trace object with a `nat` member
/// `{"translation": kind|null, "text", "rule", "after": packet line|null}`.
#[must_use]
pub fn nat_json(rs: &Ruleset, packet: &Packet, n: &Nat, family: Family) -> Value {
    let mut v = to_json(rs, &n.trace, family);
    v["nat"] = json!({
        "translation": n.translation.as_ref().map(|t| t.kind.name()),
        "text": nat_line(packet, n),
        "rule": n.translation.as_ref().and_then(|t| t.rule),
        "after": n.translation.as_ref().map(|t| packet_line(&t.after)),
    });
    v
}

fn route_line(r: &Route, p: &Packet) -> String {
    let dst = p.dst.map_or("?".to_owned(), |a| a.to_string());
    match r {
        Route::Local => format!("{dst} is this host's: input"),
        Route::Forward { out, named: true } => format!("out {out} (as given): forward"),
        Route::Forward { out, named: false } => format!("{dst} is on {out}'s network: forward"),
        Route::Unknown(why) => format!("undecided: {why}"),
    }
}

/// A routed packet as text: each base chain's walk in turn, the routing
/// decision, the translations, the verdict and the reply.
#[must_use]
pub fn routed_to_text(rs: &Ruleset, r: &Routed, family: Family) -> String {
    let mut out = String::new();
    let mut routed = false;
    for s in &r.passages {
        if s.packet.hook != Hook::Prerouting && !routed {
            routed = true;
            route_text(&mut out, r, &s.packet);
        }
        let _ = writeln!(out, "== {} ==", passage_name(rs, s));
        out.push_str(&text_from(rs, Some(s.chain), &s.packet, s.walk.trace(), family));
        if let Walk::Nat(n) = &s.walk {
            let _ = writeln!(out, "nat: {}", nat_line(&s.packet, n));
        }
    }
    if !routed {
        // Only PREROUTING's chains were passed: its translations made `p`.
        let p = r.translations().last().map_or(&r.packet, |(_, t)| &t.after);
        route_text(&mut out, r, p);
    }
    let _ = writeln!(out, "== result ==\nverdict: {}", r.verdict.name());
    for (before, t) in r.translations() {
        let _ = writeln!(out, "translated: {}", t.text(before));
    }
    if let Some(p) = r.result() {
        let _ = writeln!(out, "delivered: {}", packet_line(p));
    }
    if let Some((arrives, leaves)) = r.reply() {
        let _ = writeln!(out, "reply: {} leaves as {}", endpoints(&arrives), endpoints(&leaves));
    }
    out
}

fn route_text(out: &mut String, r: &Routed, p: &Packet) {
    if let Some(route) = &r.route {
        let _ = writeln!(out, "== routing ==\n{}", route_line(route, p));
    }
}

/// `input (filter)`, with the chain's name where the hook's does not say
/// it (an nftables chain): `input (filter in)`.
fn passage_name(rs: &Ruleset, s: &Passage) -> String {
    let chain = &rs[s.chain];
    let table = chain.table.name();
    let hook = s.packet.hook.chain();
    if chain.name == hook {
        format!("{} ({table})", hook.to_ascii_lowercase())
    } else {
        format!("{} ({table} {})", hook.to_ascii_lowercase(), chain.name)
    }
}

/// A routed packet as one JSON object:
/// `{"verdict", "hooks": [{"hook", "table", "chain", "packet", "trace"}...],
///   "route": {"decision": "input"|"forward"|"undecided", "out", "reason"} | null,
///   "translations": [text...], "delivered": packet line | null,
///   "reply": {"arrives", "leaves"} | null}`
/// with one `hooks` entry per base chain passed, where each `trace` is
/// [`to_json`]'s object, with [`nat_json`]'s `nat` member for nat chains.
#[must_use]
pub fn routed_to_json(rs: &Ruleset, r: &Routed, family: Family) -> Value {
    let hooks: Vec<Value> = r
        .passages
        .iter()
        .map(|s| {
            let chain = &rs[s.chain];
            let trace = match &s.walk {
                Walk::Filter(t) => to_json(rs, t, family),
                Walk::Nat(n) => nat_json(rs, &s.packet, n, family),
            };
            json!({
                "hook": s.packet.hook.chain().to_ascii_lowercase(),
                "table": chain.table.name(),
                "chain": chain.name,
                "packet": packet_line(&s.packet),
                "trace": trace,
            })
        })
        .collect();
    let route = r.route.as_ref().map(|route| match route {
        Route::Local => json!({"decision": "input", "out": null, "reason": null}),
        Route::Forward { out, named } => json!({
            "decision": "forward", "out": out, "reason": if *named { "given" } else { "connected" },
        }),
        Route::Unknown(why) => json!({"decision": "undecided", "out": null, "reason": why}),
    });
    let translations: Vec<String> = r.translations().map(|(p, t)| t.text(p)).collect();
    json!({
        "verdict": r.verdict.name(),
        "hooks": hooks,
        "route": route,
        "translations": translations,
        "delivered": r.result().map(packet_line),
        "reply": r.reply().map(|(a, l)| json!({"arrives": endpoints(&a), "leaves": endpoints(&l)})),
    })
}
