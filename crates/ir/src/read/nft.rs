//! `nft -j list ruleset` (libnftables-json(5)) into the IR.
//!
//! Tables, chains, rules and sets are typed serde structs; a rule's
//! expressions are read one by one into matches and a target. What is not
//! understood stays in the rule as [`Match::Unknown`] or [`Target::Other`],
//! so a trace forks on it ("undecided") instead of guessing. Each base
//! chain of the filter or nat type becomes its own [`Ruleset`] (that chain
//! as the filter or nat table's built-in chain at its hook, then its
//! table's user chains), and [`NftRuleset::bases`] lists them in the order
//! the kernel runs them: by hook, then priority. NAT statements (snat,
//! dnat, masquerade, redirect) are the IR's typed NAT targets. In a
//! bridge table `iifname` and `oifname` name the bridge's ports: physdev
//! matches. An anonymous set of protocols or ICMP types, which the IR
//! matches one at a time, makes one rule per element.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use rampart_diag::{Diagnostic, FileId, Span};
use serde::Deserialize;
use serde_json::Value;

use super::diagnostics;
use crate::{
    AddrItem, AddrMatch, AddrSet, AddrTypeMatch, AddrTypes, Chain, ChainId, ChainKind, Counters,
    CtStates, Hook, IcmpMatch, IdRange, IfaceMatch, Log, Match, NatTo, OwnerMatch, PhysdevMatch,
    Policy, PortMatch, PortSet, Proto, RejectWith, Rule, Ruleset, Table, Target, icmp,
};

/// The top level of `nft -j list ruleset`.
#[derive(Deserialize)]
struct Document {
    nftables: Vec<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct JsonTable {
    family: String,
    name: String,
}

#[derive(Deserialize)]
struct JsonChain {
    family: String,
    table: String,
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    hook: Option<String>,
    prio: Option<i64>,
    policy: Option<String>,
}

#[derive(Deserialize)]
struct JsonRule {
    family: String,
    table: String,
    chain: String,
    expr: Vec<BTreeMap<String, Value>>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct JsonSet {
    family: String,
    table: String,
    name: String,
    #[serde(default)]
    elem: Vec<Value>,
}

/// One base chain with the chains it can reach.
#[derive(Clone, Debug)]
pub struct Base {
    /// `ip`, `ip6`, `inet` or `bridge`.
    pub family: String,
    pub table: String,
    pub chain: String,
    pub hook: Hook,
    pub priority: i64,
    /// The chain's type: [`Table::Filter`] or [`Table::Nat`].
    pub kind: Table,
    /// The base chain (first, as the built-in chain of `kind`'s table at
    /// `hook`) and its table's user chains.
    pub ruleset: Ruleset,
}

/// What was read: the base chains in the kernel's order, and problems.
#[derive(Clone, Debug, Default)]
pub struct NftRuleset {
    pub bases: Vec<Base>,
    pub diagnostics: Vec<Diagnostic>,
}

impl NftRuleset {
    /// The filter base chains a packet at `hook` passes, in order (the
    /// bridge family's apart: [`NftRuleset::bridge_at`]).
    pub fn at(&self, hook: Hook) -> impl Iterator<Item = &Base> {
        self.bases
            .iter()
            .filter(move |b| b.hook == hook && b.kind == Table::Filter && b.family != "bridge")
    }

    /// The bridge family's base chains at `hook`, in order: what a frame
    /// crossing a bridge meets there before br_netfilter hands it to the
    /// IP chains of the same hook ([`NftRuleset::at`]).
    pub fn bridge_at(&self, hook: Hook) -> impl Iterator<Item = &Base> {
        self.bases.iter().filter(move |b| b.hook == hook && b.family == "bridge")
    }

    /// The base chains that see packets of one family (`ip` or `ip6`
    /// tables, and `inet` ones) as one ruleset, each chain in its table at
    /// its hook, in the order the kernel runs them: what a walk across
    /// every hook, NAT included, evaluates. The kernel runs the nat chains
    /// of a hook together, where its NAT hook sits (priority -100 at
    /// prerouting and output, 100 at input and postrouting), and by their
    /// own priorities only among themselves.
    #[must_use]
    pub fn joined(&self, v6: bool) -> Ruleset {
        let own = if v6 { "ip6" } else { "ip" };
        let mut bases: Vec<&Base> =
            self.bases.iter().filter(|b| b.family == own || b.family == "inet").collect();
        bases.sort_by_key(|b| match b.kind {
            Table::Nat => nat_priority(b.hook),
            _ => b.priority,
        });
        let mut all = Ruleset::default();
        for b in bases {
            let from = all.chains.len();
            all.append(&b.ruleset);
            // A table read whole (iptables-nft's, through iptables-save)
            // serves each of its base chains: of each copy only that base
            // chain is entered.
            for c in &mut all.chains[from..] {
                if c.is_builtin() && (c.hook() != Some(b.hook) || c.table != b.kind) {
                    c.kind = ChainKind::User;
                }
            }
        }
        all
    }

    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Where the kernel's NAT hook sits at `hook`: every nat chain of the hook
/// runs there.
fn nat_priority(hook: Hook) -> i64 {
    match hook {
        Hook::Prerouting | Hook::Output => -100,
        _ => 100,
    }
}

/// Whether `text` is nft JSON: an object whose first key is `nftables`.
#[must_use]
pub fn is_json(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{') && t[1..].trim_start().starts_with("\"nftables\"")
}

fn warn(file: FileId, what: &str) -> Diagnostic {
    diagnostics::doubtful(
        Span::new(file, 0, 0),
        format!("nft ruleset: {what}"),
        "not part of what trace evaluates",
    )
}

/// Reads nft JSON. Structural errors (not JSON, not the nft schema) are
/// E0810 and E0811 diagnostics; the families and chain types trace does not
/// evaluate are W0801 warnings, counted.
#[must_use]
pub fn parse(text: &str, file: FileId) -> NftRuleset {
    let mut out = NftRuleset::default();
    let doc: Document = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            let at = offset(text, e.line(), e.column());
            out.diagnostics.push(diagnostics::nft_not_json(Span::new(file, at, at), &e));
            return out;
        }
    };
    let mut chains: Vec<JsonChain> = vec![];
    let mut rules: Vec<JsonRule> = vec![];
    let mut sets: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    let mut tables: Vec<(String, String)> = vec![];
    for obj in doc.nftables {
        for (key, value) in obj {
            let bad =
                |e: serde_json::Error| diagnostics::nft_bad_object(Span::new(file, 0, 0), &key, &e);
            match key.as_str() {
                "metainfo" => {}
                "table" => match serde_json::from_value::<JsonTable>(value) {
                    Ok(t) => tables.push((t.family, t.name)),
                    Err(e) => out.diagnostics.push(bad(e)),
                },
                "chain" => match serde_json::from_value(value) {
                    Ok(c) => chains.push(c),
                    Err(e) => out.diagnostics.push(bad(e)),
                },
                "rule" => match serde_json::from_value(value) {
                    Ok(r) => rules.push(r),
                    Err(e) => out.diagnostics.push(bad(e)),
                },
                "set" | "map" => match serde_json::from_value::<JsonSet>(value) {
                    Ok(s) => {
                        sets.insert((s.family, s.table, s.name), s.elem);
                    }
                    Err(e) => out.diagnostics.push(bad(e)),
                },
                other => {
                    out.diagnostics.push(warn(file, &format!("`{other}` objects are skipped")))
                }
            }
        }
    }
    // Each chain's rules, in listing order: looked up per chain, not
    // searched for among all rules.
    let mut by_chain: BTreeMap<(&str, &str, &str), Vec<&JsonRule>> = BTreeMap::new();
    for r in &rules {
        by_chain.entry((&r.family, &r.table, &r.chain)).or_default().push(r);
    }
    for (family, table) in &tables {
        if !matches!(family.as_str(), "ip" | "ip6" | "inet" | "bridge") {
            out.diagnostics
                .push(warn(file, &format!("table {family} {table} is skipped (family {family})")));
            continue;
        }
        let mine = |c: &&JsonChain| &c.family == family && &c.table == table;
        let users: Vec<&JsonChain> =
            chains.iter().filter(mine).filter(|c| c.hook.is_none()).collect();
        for base in chains.iter().filter(mine).filter(|c| c.hook.is_some()) {
            let hook = base.hook.as_deref().and_then(Hook::parse);
            let kind = match base.kind.as_deref() {
                Some("filter") => Some(Table::Filter),
                Some("nat") => Some(Table::Nat),
                _ => None,
            };
            let kind = kind.filter(|k| family != "bridge" || *k == Table::Filter);
            let (Some(hook), Some(kind)) = (hook, kind) else {
                out.diagnostics.push(warn(
                    file,
                    &format!(
                        "chain {family} {table} {} is skipped (type {}, hook {})",
                        base.name,
                        base.kind.as_deref().unwrap_or("?"),
                        base.hook.as_deref().unwrap_or("?")
                    ),
                ));
                continue;
            };
            let policy =
                if base.policy.as_deref() == Some("drop") { Policy::Drop } else { Policy::Accept };
            let mut rs = Ruleset::default();
            let mut names = BTreeMap::new();
            rs.chains.push(Chain {
                name: base.name.clone(),
                table: kind,
                kind: ChainKind::Builtin { hook, policy },
                rules: vec![],
            });
            names.insert(base.name.as_str(), ChainId(0));
            for u in &users {
                names.insert(u.name.as_str(), ChainId(rs.chains.len()));
                rs.chains.push(Chain::user_in(kind, &u.name));
            }
            let ctx = Ctx { family, table, sets: &sets, names: &names };
            for (i, c) in rs.chains.iter_mut().enumerate() {
                let name = if i == 0 { base.name.as_str() } else { users[i - 1].name.as_str() };
                for r in by_chain.get(&(family, table, name)).into_iter().flatten() {
                    c.rules.extend(ctx.rule(r));
                }
            }
            out.bases.push(Base {
                family: family.clone(),
                table: table.clone(),
                chain: base.name.clone(),
                hook,
                priority: base.prio.unwrap_or(0),
                kind,
                ruleset: rs,
            });
        }
    }
    // The kernel runs base chains of one hook by priority; of equal
    // priorities the one registered last runs first (a new hook goes before
    // those of its priority), and the listing is in registration order.
    let mut numbered: Vec<(usize, Base)> = out.bases.drain(..).enumerate().collect();
    numbered.sort_by_key(|(i, b)| (b.hook, b.priority, std::cmp::Reverse(*i)));
    out.bases = numbered.into_iter().map(|(_, b)| b).collect();
    // A filter chain at the NAT hook's own priority runs before or after
    // the nat chains by registration, which the listing does not show.
    let nat_at = |hook| out.bases.iter().any(|n| n.kind == Table::Nat && n.hook == hook);
    let tied: Vec<Diagnostic> = out
        .bases
        .iter()
        .filter(|b| b.kind == Table::Filter && b.family != "bridge")
        .filter(|b| b.priority == nat_priority(b.hook) && nat_at(b.hook))
        .map(|b| {
            diagnostics::doubtful(
                Span::new(file, 0, 0),
                format!(
                    "nft ruleset: chain {} {} {} has priority {}, the place of the nat chains \
                     at hook {}: whether the kernel runs it before or after them depends on \
                     the order they were added in",
                    b.family,
                    b.table,
                    b.chain,
                    b.priority,
                    b.hook.name()
                ),
                "trace --hook all may take them in the other order",
            )
        })
        .collect();
    out.diagnostics.extend(tied);
    out
}

/// One rule's counter as `nft -j list ruleset` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCounter {
    pub family: String,
    pub table: String,
    pub chain: String,
    /// Position in its chain, from 1.
    pub index: usize,
    pub packets: u64,
    pub bytes: u64,
    /// The rule's comment; `None` also for a rule that dispatches by a
    /// verdict map, whose one counter counts the packets of every element
    /// (each with a comment of its own), so it names no single rule.
    pub comment: Option<String>,
    pub kind: Kind,
}

/// What a counted rule does with the packets it counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A verdict, a translation, a mark: the rule matched, it decided.
    Decides,
    /// Logs and goes on.
    Log,
    Return,
    /// Jump or goto to this chain.
    Jump(String),
    /// A verdict map or other dispatch with no rule of its own.
    Dispatch,
}

impl Kind {
    fn of(expr: &[BTreeMap<String, Value>]) -> Kind {
        let has = |k: &str| expr.iter().any(|e| e.contains_key(k));
        let target = expr.iter().find_map(|e| {
            e.get("jump").or_else(|| e.get("goto")).and_then(|j| j.get("target")?.as_str())
        });
        if has("vmap") {
            Kind::Dispatch
        } else if let Some(to) = target {
            Kind::Jump(to.to_owned())
        } else if has("return") {
            Kind::Return
        } else if has("log") && !["accept", "drop", "reject", "queue"].iter().any(|v| has(v)) {
            Kind::Log
        } else {
            Kind::Decides
        }
    }
}

/// The counters of every rule that has a `counter` statement, in listing
/// order.
///
/// # Errors
/// When `text` is not nft JSON.
pub fn counters(text: &str) -> Result<Vec<RuleCounter>, serde_json::Error> {
    let doc: Document = serde_json::from_str(text)?;
    let mut out: Vec<RuleCounter> = Vec::new();
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for value in doc.nftables.into_iter().filter_map(|mut o| o.remove("rule")) {
        let r: JsonRule = serde_json::from_value(value)?;
        let n = seen.entry((r.family.clone(), r.table.clone(), r.chain.clone())).or_insert(0);
        *n += 1;
        let counter = r.expr.iter().find_map(|s| s.get("counter"));
        let count = |k: &str| counter.and_then(|c| c.get(k)?.as_u64());
        if let (Some(packets), Some(bytes)) = (count("packets"), count("bytes")) {
            let kind = Kind::of(&r.expr);
            out.push(RuleCounter {
                index: *n,
                packets,
                bytes,
                comment: r.comment.filter(|_| kind != Kind::Dispatch),
                kind,
                family: r.family,
                table: r.table,
                chain: r.chain,
            });
        }
    }
    Ok(out)
}

fn offset(text: &str, line: usize, col: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (start + col.saturating_sub(1)).min(text.len())
}

struct Ctx<'a> {
    family: &'a str,
    table: &'a str,
    sets: &'a BTreeMap<(String, String, String), Vec<Value>>,
    names: &'a BTreeMap<&'a str, ChainId>,
}

/// The most IR rules one nft rule's anonymous sets are written out as.
const MAX_SPLIT: usize = 256;

fn unknown(v: &Value) -> Match {
    Match::unknown("nft".into(), vec![v.to_string()])
}

impl Ctx<'_> {
    /// One nft rule; a verdict map gives one IR rule per key, and an
    /// anonymous set of protocols or ICMP types one per element (the
    /// elements are distinct values: a packet matches one of them at most).
    fn rule(&self, r: &JsonRule) -> Vec<Rule> {
        let mut choices: Vec<(usize, Vec<Vec<Match>>)> = Vec::new();
        let mut out = self.rule_with(r, &mut choices);
        let product = choices.iter().map(|(_, a)| a.len()).product::<usize>();
        if product > MAX_SPLIT {
            // Too many rules to write out: undecided rather than dropped.
            for rule in &mut out {
                for (at, _) in choices.iter().rev() {
                    let set = Value::String(format!("{product} combinations of set elements"));
                    rule.matches.insert(*at, unknown(&set));
                }
            }
            return out;
        }
        // Later positions first, so the earlier ones still hold.
        for (at, alts) in choices.iter().rev() {
            out = out
                .into_iter()
                .flat_map(|rule| {
                    alts.iter().map(move |alt| {
                        let mut r = rule.clone();
                        r.matches.splice(*at..*at, alt.iter().cloned());
                        r
                    })
                })
                .collect();
        }
        out
    }

    fn rule_with(&self, r: &JsonRule, choices: &mut Vec<(usize, Vec<Vec<Match>>)>) -> Vec<Rule> {
        let mut matches = Vec::new();
        let mut log = None;
        let mut target = Target::None;
        let mut vmap: Option<(&Value, &Value)> = None;
        // `a . b @set`: one rule per element, as for a verdict map.
        let mut tuples: Option<&Value> = None;
        let mut counters = None;
        for stmt in &r.expr {
            for (key, v) in stmt {
                match key.as_str() {
                    "match" if is_concat_lookup(v) => tuples = Some(v),
                    "match" => match icmp_code(v, matches.last()) {
                        Some(m) => *matches.last_mut().expect("icmp_code saw it") = m,
                        None => match self.any_of(v) {
                            Some(alts) => choices.push((matches.len(), alts)),
                            None => matches.extend(self.match_(v)),
                        },
                    },
                    "counter" => {
                        let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
                        counters = Some(Counters { packets: n("packets"), bytes: n("bytes") });
                    }
                    "comment" => {}
                    "accept" => target = Target::Accept,
                    "drop" => target = Target::Drop,
                    "return" => target = Target::Return,
                    "continue" => {}
                    "jump" | "goto" => {
                        let name = v.get("target").and_then(Value::as_str).unwrap_or("");
                        target = match self.names.get(name) {
                            Some(id) if key == "jump" => Target::Jump(*id),
                            Some(id) => Target::Goto(*id),
                            None => {
                                Target::Other { name: key.clone(), args: vec![name.to_owned()] }
                            }
                        };
                    }
                    "reject" => {
                        target = Target::Reject(reject_with(v));
                        // nft lists `meta nfproto ipv6 reject` as `reject
                        // with icmpv6 ...` and `meta l4proto tcp reject with
                        // tcp reset` without the protocol: the type keeps it.
                        match v.get("type").and_then(Value::as_str) {
                            Some("icmp") => matches.push(family(false, false)),
                            Some("icmpv6") => matches.push(family(true, false)),
                            Some("tcp reset") => {
                                matches.push(Match::Proto { neg: false, proto: Proto::Tcp });
                            }
                            _ => {}
                        }
                    }
                    "log" => {
                        let prefix =
                            v.get("prefix").and_then(Value::as_str).unwrap_or("").to_owned();
                        let level = match v.get("level").and_then(Value::as_str) {
                            Some(l) => level(l),
                            None => 4,
                        };
                        log = Some(Log { prefix, level });
                    }
                    "vmap" => vmap = v.get("key").zip(v.get("data")),
                    "snat" | "dnat" | "masquerade" | "redirect" => match nat_target(key, v) {
                        Some((t, v6)) => {
                            target = t;
                            // `dnat ip to ...` in an inet table leaves the
                            // other family's packets to the next rule.
                            if let Some(v6) = v6.filter(|_| self.family == "inet")
                                && !matches.contains(&family(v6, false))
                            {
                                matches.push(family(v6, false));
                            }
                        }
                        None => {
                            target = Target::Other { name: key.clone(), args: vec![v.to_string()] }
                        }
                    },
                    // limit, quota, meter, ... decide by state Rampart
                    // does not track: undecided.
                    _ => matches.push(unknown(&Value::Object(
                        [(key.clone(), v.clone())].into_iter().collect(),
                    ))),
                }
            }
        }
        let base = Rule {
            matches,
            log: log.map(Into::into),
            target,
            comment: r.comment.clone().map(Into::into),
            origin: None,
            counters: counters.map(Into::into),
        };
        if let Some(m) = tuples {
            let key = &m["left"];
            let elems = self.elements(&m["right"]).unwrap_or_default();
            let mut out: Vec<Rule> = elems
                .iter()
                .map(|e| {
                    let mut rule = base.clone();
                    rule.matches.extend(self.key_matches(key, e));
                    rule
                })
                .collect();
            if out.is_empty() || vmap.is_some() {
                // An empty set matches nothing; a lookup and a map in one
                // rule are not read.
                let mut rule = base;
                rule.matches.push(unknown(m));
                out = vec![rule];
            }
            return out;
        }
        let Some((key, data)) = vmap else { return vec![base] };
        let elems = self.elements(data).unwrap_or_default();
        let mut out = Vec::new();
        for e in &elems {
            let Some([k, verdict]) = e.as_array().map(Vec::as_slice) else { continue };
            let mut rule = base.clone();
            rule.matches.extend(self.key_matches(key, elem_value(k)));
            let fake = JsonRule {
                family: String::new(),
                table: String::new(),
                chain: String::new(),
                expr: verdict
                    .as_object()
                    .map(|o| vec![o.clone().into_iter().collect()])
                    .unwrap_or_default(),
                comment: None,
            };
            rule.target = self.rule(&fake).pop().map_or(Target::None, |r| r.target);
            out.push(rule);
        }
        if out.is_empty() {
            let mut rule = base;
            rule.matches.push(unknown(data));
            out.push(rule);
        }
        out
    }

    /// `key { a, b }` of a key the IR matches one value at a time (the
    /// layer 4 protocol, the ICMP type): the matches of each element.
    fn any_of(&self, m: &Value) -> Option<Vec<Vec<Match>>> {
        if !matches!(m.get("op").and_then(Value::as_str).unwrap_or("=="), "==" | "in") {
            return None;
        }
        let left = m.get("left")?;
        let one_at_a_time = if let Some(p) = left.get("payload") {
            matches!(
                (p.get("protocol")?.as_str()?, p.get("field")?.as_str()?),
                ("icmp" | "icmpv6", "type") | ("ip", "protocol") | ("ip6", "nexthdr")
            )
        } else {
            left.get("meta")?.get("key")?.as_str()? == "l4proto"
        };
        let items = self.elements(m.get("right")?)?;
        if !one_at_a_time || items.len() < 2 {
            return None;
        }
        let mut alts: Vec<Vec<Match>> = Vec::new();
        for i in &items {
            let one = self.match_(&serde_json::json!({"op": "==", "left": left, "right": i}));
            if one.iter().any(|m| matches!(m, Match::Unknown(_))) {
                return None;
            }
            if !alts.contains(&one) {
                alts.push(one);
            }
        }
        Some(alts)
    }

    /// The matches of `key == value`; a concatenation part by part.
    fn key_matches(&self, key: &Value, value: &Value) -> Vec<Match> {
        let value = elem_value(value);
        let Some(keys) = key.get("concat").and_then(Value::as_array) else {
            return self.match_(&serde_json::json!({"op": "==", "left": key, "right": value}));
        };
        match value.get("concat").and_then(Value::as_array) {
            Some(values) if values.len() == keys.len() => keys
                .iter()
                .zip(values)
                .flat_map(|(k, v)| {
                    self.match_(&serde_json::json!({"op": "==", "left": k, "right": v}))
                })
                .collect(),
            _ => vec![unknown(value)],
        }
    }

    /// The set's elements for `@name`, or the value itself.
    fn elements(&self, right: &Value) -> Option<Vec<Value>> {
        let items = self.elements_raw(right)?;
        Some(items.iter().map(|v| elem_value(v).clone()).collect())
    }

    fn elements_raw(&self, right: &Value) -> Option<Vec<Value>> {
        match right {
            Value::String(s) if s.starts_with('@') => self
                .sets
                .get(&(self.family.to_owned(), self.table.to_owned(), s[1..].to_owned()))
                .cloned(),
            Value::Object(o) if o.contains_key("set") => o["set"].as_array().cloned(),
            Value::Array(items) => Some(items.clone()),
            other => Some(vec![other.clone()]),
        }
    }

    fn match_(&self, m: &Value) -> Vec<Match> {
        let op = m.get("op").and_then(Value::as_str).unwrap_or("==");
        let neg = match op {
            "==" | "in" => false,
            "!=" => true,
            _ => return vec![unknown(m)],
        };
        let (Some(left), Some(right)) = (m.get("left"), m.get("right")) else {
            return vec![unknown(m)];
        };
        let Some(items) = self.elements(right) else { return vec![unknown(m)] };
        let read = || -> Option<Vec<Match>> {
            if let Some(p) = left.get("payload") {
                let proto = p.get("protocol")?.as_str()?;
                let field = p.get("field")?.as_str()?;
                return match (proto, field) {
                    ("ip" | "ip6", "saddr" | "daddr") => {
                        let items = items.iter().map(addr).collect::<Option<_>>()?;
                        let a = AddrMatch { neg, set: AddrSet { name: None, items }.into() };
                        let m = if field == "saddr" { Match::Src(a) } else { Match::Dst(a) };
                        // `ip saddr != X` still matches IPv4 packets only.
                        Some(if neg { vec![family(proto == "ip6", false), m] } else { vec![m] })
                    }
                    ("tcp" | "udp", "sport" | "dport") => {
                        let ranges = items.iter().map(port).collect::<Option<Vec<_>>>()?;
                        let ports = PortMatch { neg, set: PortSet { name: None, ranges }.into() };
                        let l4 = Match::Proto {
                            neg: false,
                            proto: if proto == "tcp" { Proto::Tcp } else { Proto::Udp },
                        };
                        Some(vec![
                            l4,
                            if field == "sport" {
                                Match::Sport(ports)
                            } else {
                                Match::Dport(ports)
                            },
                        ])
                    }
                    ("icmp" | "icmpv6", "type") if items.len() == 1 && !neg => {
                        let v6 = proto == "icmpv6";
                        let t = match &items[0] {
                            Value::String(s) => icmp::parse(icmpv6_number(s).unwrap_or(s), v6)?,
                            Value::Number(n) => icmp::parse(&n.to_string(), v6)?,
                            _ => return None,
                        };
                        let l4 = Match::Proto {
                            neg: false,
                            proto: if v6 { Proto::Icmpv6 } else { Proto::Icmp },
                        };
                        Some(vec![l4, Match::Icmp { neg: false, v6, icmp: t }])
                    }
                    // Of its family's packets only (in an inet table too);
                    // `!= { a, b }`: none of them.
                    ("ip", "protocol") | ("ip6", "nexthdr") if items.len() == 1 || neg => {
                        let mut out = vec![family(proto == "ip6", false)];
                        for i in &items {
                            out.push(Match::Proto { neg, proto: l4proto(i)? });
                        }
                        Some(out)
                    }
                    _ => None,
                };
            }
            if let Some(meta) = left.get("meta") {
                return match meta.get("key")?.as_str()? {
                    // In a bridge table the interfaces are the bridge's ports.
                    k @ ("iifname" | "oifname") if self.family == "bridge" => {
                        let [Value::String(name)] = items.as_slice() else { return None };
                        let port = Some((
                            neg,
                            name.strip_suffix('*').map_or(name.clone(), |p| format!("{p}+")),
                        ));
                        Some(vec![Match::Physdev(if k == "iifname" {
                            PhysdevMatch { physdev_in: port, ..PhysdevMatch::default() }.into()
                        } else {
                            PhysdevMatch { physdev_out: port, ..PhysdevMatch::default() }.into()
                        })])
                    }
                    k @ ("iifname" | "oifname" | "ibrname" | "obrname") => {
                        let names = items
                            .iter()
                            .map(|i| {
                                i.as_str().map(|s| {
                                    s.strip_suffix('*').map_or(s.to_owned(), |p| format!("{p}+"))
                                })
                            })
                            .collect::<Option<Vec<_>>>()?;
                        let i = IfaceMatch { neg, names: names.into() };
                        Some(vec![if matches!(k, "iifname" | "ibrname") {
                            Match::InIface(i.into())
                        } else {
                            Match::OutIface(i.into())
                        }])
                    }
                    "nfproto" | "protocol" if items.len() == 1 => {
                        let v6 = match items[0].as_str()? {
                            "ipv4" | "ip" => false,
                            "ipv6" | "ip6" => true,
                            _ => return None,
                        };
                        Some(vec![family(v6, neg)])
                    }
                    // `!= { a, b }`: none of them.
                    "l4proto" if items.len() == 1 || neg => items
                        .iter()
                        .map(|i| Some(Match::Proto { neg, proto: l4proto(i)? }))
                        .collect(),
                    k @ ("skuid" | "skgid") if items.len() == 1 => {
                        let id = u32::try_from(items[0].as_u64()?).ok()?;
                        let r = Some(IdRange { neg, first: id, last: id });
                        Some(vec![Match::Owner(if k == "skuid" {
                            OwnerMatch { uid: r, gid: None }.into()
                        } else {
                            OwnerMatch { uid: None, gid: r }.into()
                        })])
                    }
                    "mark" if items.len() == 1 => Some(vec![Match::Mark {
                        neg,
                        value: u32::try_from(items[0].as_u64()?).ok()?,
                        mask: u32::MAX,
                    }]),
                    _ => None,
                };
            }
            if let Some(fib) = left.get("fib") {
                return fib_type(fib, &items, neg).map(|t| vec![Match::AddrType(t)]);
            }
            if left.get("ct")?.get("key")?.as_str()? == "state" {
                // In nft's order, that of the states' values: a range in a
                // set holds those between.
                const ORDER: [u8; 5] = [
                    CtStates::INVALID,
                    CtStates::ESTABLISHED,
                    CtStates::RELATED,
                    CtStates::NEW,
                    CtStates::UNTRACKED,
                ];
                let at = |v: &Value| {
                    let name = v.as_str()?;
                    let bit = CtStates::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name))?.0;
                    ORDER.iter().position(|&b| b == bit)
                };
                let mut bits = 0;
                for i in &items {
                    let (a, b) = match i.get("range").and_then(Value::as_array) {
                        Some(r) => (at(r.first()?)?, at(r.get(1)?)?),
                        None => (at(i)?, at(i)?),
                    };
                    bits |= ORDER[a..=b].iter().fold(0, |x, y| x | y);
                }
                return Some(vec![Match::State { neg, states: CtStates(bits) }]);
            }
            None
        };
        read().unwrap_or_else(|| vec![unknown(m)])
    }
}

/// A NAT statement as the IR's target, with the family it is limited to
/// (`snat ip to ...`). `None` for what the IR does not model: flags
/// (`random`, `persistent`, `netmap`: another address or port than the
/// first of the range), addresses from maps or prefixes.
fn nat_target(key: &str, v: &Value) -> Option<(Target, Option<bool>)> {
    let none = serde_json::Map::new();
    let o = match v {
        Value::Null => &none,
        Value::Object(o) => o,
        _ => return None,
    };
    if o.keys().any(|k| !matches!(k.as_str(), "addr" | "port" | "family")) {
        return None;
    }
    let v6 = match o.get("family") {
        None => None,
        Some(f) => Some(match f.as_str()? {
            "ip" => false,
            "ip6" => true,
            _ => return None,
        }),
    };
    let ports = match o.get("port") {
        Some(p) => Some(port(p)?),
        None => None,
    };
    let addrs = match o.get("addr") {
        None => None,
        Some(Value::String(a)) => {
            let a: IpAddr = a.parse().ok()?;
            Some((a, a))
        }
        Some(a) => {
            let r = a.get("range")?.as_array()?;
            let first: IpAddr = r.first()?.as_str()?.parse().ok()?;
            let last: IpAddr = r.get(1)?.as_str()?.parse().ok()?;
            if first.is_ipv6() != last.is_ipv6() {
                return None;
            }
            Some((first, last))
        }
    };
    if let (Some(v6), Some((a, _))) = (v6, addrs)
        && a.is_ipv6() != v6
    {
        return None;
    }
    let to = NatTo { addrs, ports };
    let t = match key {
        "snat" if addrs.is_some() => Target::Snat(to),
        "dnat" if addrs.is_some() => Target::Dnat(to),
        "masquerade" if addrs.is_none() => Target::Masquerade(ports),
        "redirect" if addrs.is_none() => Target::Redirect(ports),
        _ => return None,
    };
    Some((t, v6))
}

/// `fib daddr [. iif] type local`: a route-type lookup, as `-m addrtype`.
fn fib_type(fib: &Value, items: &[Value], neg: bool) -> Option<AddrTypeMatch> {
    if fib.get("result")?.as_str()? != "type" {
        return None;
    }
    let mut types = 0;
    for i in items {
        types |= AddrTypes::parse(i.as_str()?)?.0;
    }
    let side = Some((neg, AddrTypes(types)));
    let mut t = AddrTypeMatch::default();
    for flag in fib.get("flags")?.as_array()? {
        match flag.as_str()? {
            "saddr" => t.src = side,
            "daddr" => t.dst = side,
            "iif" => t.limit_iface_in = true,
            "oif" => t.limit_iface_out = true,
            _ => return None,
        }
    }
    (t.src.is_some() != t.dst.is_some()).then_some(t)
}

/// `icmp code N` after `icmp type T`: one type-and-code match.
fn icmp_code(m: &Value, last: Option<&Match>) -> Option<Match> {
    let Some(Match::Icmp { neg: false, v6, icmp: IcmpMatch::Type(t) }) = last else { return None };
    let p = m.get("left")?.get("payload")?;
    let proto = if *v6 { "icmpv6" } else { "icmp" };
    if p.get("protocol")?.as_str()? != proto || p.get("field")?.as_str()? != "code" {
        return None;
    }
    if m.get("op").and_then(Value::as_str).is_some_and(|op| op != "==") {
        return None;
    }
    let right = m.get("right")?;
    let code = match right.as_str() {
        // nft lists codes by its names for them.
        Some(name) => icmp_code_number(name, *v6)?,
        None => u8::try_from(right.as_u64()?).ok()?,
    };
    Some(Match::Icmp { neg: false, v6: *v6, icmp: IcmpMatch::TypeCode(*t, code) })
}

/// The number behind nft's name of an ICMP (or ICMPv6) code.
fn icmp_code_number(name: &str, v6: bool) -> Option<u8> {
    let v4 = [
        ("net-unreachable", 0),
        ("host-unreachable", 1),
        ("prot-unreachable", 2),
        ("port-unreachable", 3),
        ("frag-needed", 4),
        ("net-prohibited", 9),
        ("host-prohibited", 10),
        ("admin-prohibited", 13),
    ];
    let v6s = [
        ("no-route", 0),
        ("admin-prohibited", 1),
        ("addr-unreachable", 3),
        ("port-unreachable", 4),
        ("policy-fail", 5),
        ("reject-route", 6),
    ];
    let table: &[(&str, u8)] = if v6 { &v6s } else { &v4 };
    table.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// nft's names of the ICMPv6 types iptables names otherwise.
fn icmpv6_number(name: &str) -> Option<&'static str> {
    Some(match name {
        "nd-router-solicit" => "133",
        "nd-router-advert" => "134",
        "nd-neighbor-solicit" => "135",
        "nd-neighbor-advert" => "136",
        "nd-redirect" => "137",
        "router-renumbering" => "138",
        "ind-neighbor-solicit" => "141",
        "ind-neighbor-advert" => "142",
        "mld-listener-query" => "130",
        "mld-listener-report" => "131",
        "mld-listener-done" | "mld-listener-reduction" => "132",
        "mld2-listener-report" => "143",
        _ => return None,
    })
}

/// Packets of one family: any source address of it (every packet has one).
fn family(v6: bool, neg: bool) -> Match {
    let any: IpNet = if v6 { "::/0" } else { "0.0.0.0/0" }.parse().expect("a literal network");
    Match::Src(AddrMatch {
        neg,
        set: AddrSet { name: None, items: vec![AddrItem::Net(any)] }.into(),
    })
}

/// A set element without its comment: `{"elem": {"val": X, ...}}` is X.
fn elem_value(v: &Value) -> &Value {
    v.get("elem").and_then(|e| e.get("val")).unwrap_or(v)
}

/// `a . b @set` or `a . b { ... }`.
fn is_concat_lookup(m: &Value) -> bool {
    m.get("left").is_some_and(|l| l.get("concat").is_some())
        && matches!(m.get("op").and_then(Value::as_str), Some("==" | "in"))
}

fn addr(v: &Value) -> Option<AddrItem> {
    match v {
        Value::String(s) => s.parse::<IpAddr>().ok().map(|a| AddrItem::Net(IpNet::from(a))),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let a: IpAddr = p.get("addr")?.as_str()?.parse().ok()?;
                let len = u8::try_from(p.get("len")?.as_u64()?).ok()?;
                return IpNet::new(a, len).ok().map(|n| AddrItem::Net(n.trunc()));
            }
            let r = o.get("range")?.as_array()?;
            let a: IpAddr = r.first()?.as_str()?.parse().ok()?;
            let b: IpAddr = r.get(1)?.as_str()?.parse().ok()?;
            Some(AddrItem::Range(a, b))
        }
        _ => None,
    }
}

fn port(v: &Value) -> Option<(u16, u16)> {
    let one = |v: &Value| u16::try_from(v.as_u64()?).ok();
    match v {
        Value::Number(_) => one(v).map(|p| (p, p)),
        Value::Object(o) => {
            let r = o.get("range")?.as_array()?;
            Some((one(r.first()?)?, one(r.get(1)?)?))
        }
        _ => None,
    }
}

fn l4proto(v: &Value) -> Option<Proto> {
    match v {
        Value::String(s) => match s.as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "icmp" => Some(Proto::Icmp),
            "ipv6-icmp" | "icmpv6" => Some(Proto::Icmpv6),
            _ => None,
        },
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()).map(Proto::from_number),
        _ => None,
    }
}

fn reject_with(v: &Value) -> RejectWith {
    match (v.get("type").and_then(Value::as_str), v.get("expr").and_then(Value::as_str)) {
        (Some("tcp reset"), _) => RejectWith::TcpReset,
        (_, Some(e)) => {
            let e = e.trim_start_matches("icmp-").trim_start_matches("icmp6-");
            match e {
                "host-unreachable" | "addr-unreachable" => RejectWith::HostUnreachable,
                "net-unreachable" | "no-route" => RejectWith::NetUnreachable,
                "prot-unreachable" => RejectWith::ProtoUnreachable,
                "net-prohibited" => RejectWith::NetProhibited,
                "host-prohibited" => RejectWith::HostProhibited,
                "admin-prohibited" => RejectWith::AdminProhibited,
                _ => RejectWith::PortUnreachable,
            }
        }
        _ => RejectWith::PortUnreachable,
    }
}

/// A syslog level by nft's name.
fn level(name: &str) -> u8 {
    match name {
        "emerg" => 0,
        "alert" => 1,
        "crit" => 2,
        "err" => 3,
        "warn" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        _ => 4,
    }
}
