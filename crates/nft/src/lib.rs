//! The nftables backend: Rampart's Ruleset IR as one `nft -f` document.
//!
//! [`emit`] writes what an nftables user would write by hand, not a
//! line-by-line translation of iptables:
//!
//! - one `table inet rampart` serves IPv4 and IPv6. A rule whose address
//!   sets mix families is split into an `ip` and an `ip6` rule; otherwise it
//!   stays one rule;
//! - policy groups become named sets (`flags interval` when they hold
//!   networks or ranges), and so do other lists that are long or repeated.
//!   Negated sets are plain `!=`;
//! - runs of four or more adjacent rules that differ only in single values
//!   become one rule over a set (same verdict) or a verdict map (different
//!   verdicts), each element keeping its rule's comment;
//! - rule sets become chains reached by `jump`; users are `meta skuid`,
//!   conntrack states `ct state`; a logged rule logs and decides in one rule
//!   (`log prefix "RULE 6 -- DENY " level info drop`); every rule carries a
//!   `comment` naming its policy rule;
//! - bridge-port (`physdev`) rules go to a `table bridge rampart`, where the
//!   ports are plain `iifname`/`oifname` (see the crate README).
//!
//! The document first creates and deletes both tables, then defines them, so
//! that `nft -f` swaps old for new in one transaction and touches no other
//! table. The same IR always gives byte-identical text.
//!
//! ```
//! use rampart_ir::{Chain, Hook, Policy, Rule, Ruleset, Target};
//!
//! let mut input = Chain::builtin(Hook::Input, Policy::Drop);
//! input.rules.push(Rule::new(vec![], Target::Accept));
//! let text = rampart_nft::emit(&Ruleset { chains: vec![input] });
//! assert!(text.starts_with("table inet rampart {}\ndelete table inet rampart\n"));
//! assert!(text.contains("type filter hook input priority filter; policy drop;"));
//! ```

mod arp;
mod classify;
mod elems;
mod expr;
mod leaf;
mod merge;
mod rate;
mod rule;
mod sets;
mod text;

pub use arp::arp_guard;
pub use classify::classify;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;

use rampart_ir::{
    ChainId, ChainKind, DynSet, Family, Hook, Match, Policy, Rule, Ruleset, Table, Target,
};

use expr::{Expr, NftRule};
use merge::{Line, Merged};
use rule::Ctx;
use sets::Sets;

/// Something in the IR the nft output could not express; the rule is left
/// out and a `#` comment marks its place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The IR chain.
    pub chain: String,
    /// The policy rule number, when known.
    pub rule: Option<u32>,
    pub message: String,
}

/// The document and what it left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub notes: Vec<Note>,
}

/// The `nft -f` document for a ruleset (rich or restricted form).
#[must_use]
pub fn emit(rs: &Ruleset) -> String {
    emit_with_notes(rs).text
}

/// As [`emit`], also returning what could not be expressed.
#[must_use]
pub fn emit_with_notes(rs: &Ruleset) -> Output {
    render(Cow::Borrowed(rs))
}

/// As [`emit_with_notes`], freeing each rule once it is lowered: at
/// 100,000 rules the ruleset and its nft lines are near a hundred MB each,
/// and need not be held together.
#[must_use]
pub fn emit_owned(rs: Ruleset) -> Output {
    render(Cow::Owned(rs))
}

fn render(mut rs: Cow<'_, Ruleset>) -> Output {
    let names = chain_names(&rs);
    let chain = |c: ChainId| names.get(c.0).cloned().unwrap_or_else(|| format!("chain_{}", c.0));
    let mut notes = Vec::new();
    let timed = rs
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .any(|r| r.matches.iter().any(|m| matches!(m, Match::Time(_))));
    let mut dynamic = String::new();
    rate::render_sets(&rs, &mut dynamic);
    for d in rampart_ir::sets(&rs) {
        dynamic.push_str(&dyn_set(&d));
    }

    // Lower every rule first: set naming needs to see them all.
    let mut inet: Vec<Vec<Line>> = Vec::new();
    let mut bridge: BTreeMap<Hook, Vec<Line>> = BTreeMap::new();
    let hooks = bridge_hooks(&rs);
    for (i, bridge_hook) in hooks.iter().enumerate() {
        let name = rs.chains[i].name.clone();
        let mut rules = Vec::new();
        let mut one = |r: &Rule| {
            rules.extend(lower(r, Ctx::Inet, &name, &chain, &mut notes));
            if r.matches.iter().any(|m| matches!(m, Match::Physdev(_))) {
                let hook = bridge_hook.unwrap_or(Hook::Forward);
                let l = lower(r, Ctx::Bridge(hook), &name, &chain, &mut notes);
                bridge.entry(hook).or_default().extend(l);
                if let Some(message) = bridge_only(r) {
                    let rule = r.origin.map(|o| o.rule);
                    notes.push(Note { chain: name.clone(), rule, message });
                }
            }
        };
        match &mut rs {
            // Each rule freed once lowered.
            Cow::Owned(rs) => {
                std::mem::take(&mut rs.chains[i].rules).into_iter().for_each(|r| one(&r))
            }
            Cow::Borrowed(rs) => rs.chains[i].rules.iter().for_each(one),
        }
        inet.push(merge::lines(rules));
    }
    let bridge: BTreeMap<Hook, Vec<Line>> =
        bridge.into_iter().map(|(h, l)| (h, merge::lines(l))).collect();

    let mut out = String::new();
    for family in ["inet", "bridge"] {
        let _ = writeln!(out, "table {family} rampart {{}}\ndelete table {family} rampart");
    }
    out.push_str("# Generated by rampart: `nft -f` replaces only the two tables above.\n");
    if timed {
        // nft converts `meta hour` from the loading shell's time zone.
        out.push_str("# Time windows are UTC, as in the policy: load with `TZ=UTC nft -f FILE`.\n");
    }
    out.push('\n');

    let chains: Vec<ChainOut> = (rs.chains.iter().zip(&names).zip(&inet))
        .map(|((c, name), rules)| {
            let base = match c.kind {
                ChainKind::Builtin { hook, policy } => Some((c.table, hook, policy)),
                ChainKind::User => None,
            };
            ChainOut { name: name.clone(), base, rules }
        })
        .collect();
    table(&mut out, "inet", &chains, &dynamic);

    if !bridge.is_empty() {
        let chains: Vec<ChainOut> = bridge
            .iter()
            .map(|(&hook, rules)| ChainOut {
                name: hook.name().to_owned(),
                base: Some((Table::Filter, hook, Policy::Accept)),
                rules,
            })
            .collect();
        out.push('\n');
        table(&mut out, "bridge", &chains, "");
    }
    // Strings are quoted by `text::quote` and names made by `text::ident`,
    // both free of control characters: a NUL here would cut a rule's line.
    assert!(
        !out.contains(|c: char| c.is_control() && c != '\n' && c != '\t'),
        "generated nft document with a control character"
    );
    Output { text: out, notes }
}

/// A lowered IR rule: nft rules, or a `#` line saying why there are none.
fn lower(
    r: &Rule,
    ctx: Ctx,
    chain_name: &str,
    chain: &dyn Fn(ChainId) -> String,
    notes: &mut Vec<Note>,
) -> Vec<Line> {
    match rule::lower(r, ctx, chain) {
        Ok(rules) => rules.into_iter().map(Line::Rule).collect(),
        Err(message) => {
            let rule = r.origin.map(|o| o.rule);
            let text = rampart_diag::printable(&message);
            let line = match rule {
                Some(n) => format!("# rampart: rule {n} left out: {text}"),
                None => format!("# rampart: rule left out: {text}"),
            };
            notes.push(Note { chain: chain_name.to_owned(), rule, message });
            vec![Line::Note(line)]
        }
    }
}

/// Why a rule on a bridge port that lets packets on says less in nft: an
/// accept in `table bridge rampart` only passes the bridge hook, and with
/// br_netfilter the inet chains see the bridge, not the port, so nothing
/// there accepts the packet.
fn bridge_only(r: &Rule) -> Option<String> {
    let port = r.matches.iter().find_map(|m| match m {
        Match::Physdev(p) => p
            .physdev_in
            .iter()
            .chain(&p.physdev_out)
            .find(|(neg, _)| !neg)
            .map(|(_, name)| name.clone()),
        _ => None,
    })?;
    matches!(r.target, Target::Accept | Target::Jump(_) | Target::Goto(_) | Target::Return).then(
        || {
            format!(
                "on bridge port `{port}` it decides only in table bridge rampart; with \
                 br_netfilter the inet chains see the bridge, not the port, and do not let \
                 the packet on (use the iptables backend, or accept on the bridge)"
            )
        },
    )
}

/// The declaration of a set filled at run time. Its elements are not the
/// policy's: `rampart apply` carries the live ones over a reload.
fn dyn_set(d: &DynSet) -> String {
    let ty = match d.family {
        Family::V4 => "ipv4_addr",
        Family::V6 => "ipv6_addr",
    };
    let mut text = format!("\tset {} {{\n\t\ttype {ty}\n\t\tflags timeout\n", text::ident(&d.name));
    if let Some(t) = d.timeout {
        let _ = writeln!(text, "\t\ttimeout {t}s");
    }
    if let Some(n) = d.size {
        let _ = writeln!(text, "\t\tsize {n}");
    }
    text.push_str("\t}\n\n");
    text
}

/// A chain to print: base chains have a hook and a policy.
struct ChainOut<'a> {
    name: String,
    base: Option<(Table, Hook, Policy)>,
    rules: &'a [Line],
}

/// `dynamic`: set blocks the rules fill themselves (per-source limits).
fn table(out: &mut String, family: &str, chains: &[ChainOut], dynamic: &str) {
    let mut sets = Sets::default();
    for c in chains {
        for l in c.rules {
            match l {
                Line::Rule(r) => sets.count(r.matches.iter()),
                Line::Merged(m) => sets.count(m.first.matches.iter()),
                Line::Note(_) => {}
            }
        }
    }
    // Render chains first so that sets are named in order of use.
    let mut body = String::new();
    for (i, ChainOut { name, base, rules }) in chains.iter().enumerate() {
        if i > 0 {
            body.push('\n');
        }
        let _ = writeln!(body, "\tchain {name} {{");
        if let Some((table, hook, policy)) = base {
            let policy = match policy {
                Policy::Accept => "accept",
                Policy::Drop => "drop",
            };
            // nft's standard priorities: NAT before (dnat) and after (snat)
            // the filter chains at the same hook. nft names them only at
            // prerouting and postrouting; at output and input the same
            // numbers (the kernel's NAT_DST and NAT_SRC).
            let (kind, priority) = match (table, hook) {
                (Table::Nat, Hook::Prerouting) => ("nat", "dstnat"),
                (Table::Nat, Hook::Output) => ("nat", "-100"),
                (Table::Nat, Hook::Postrouting) => ("nat", "srcnat"),
                (Table::Nat, _) => ("nat", "100"),
                (Table::Mangle, Hook::Output) => ("route", "mangle"),
                (Table::Mangle, _) => ("filter", "mangle"),
                (Table::Raw, _) => ("filter", "raw"),
                (Table::Security, _) => ("filter", "security"),
                (Table::Filter, _) => ("filter", "filter"),
            };
            let hook = hook.name();
            let _ =
                writeln!(body, "\t\ttype {kind} hook {hook} priority {priority}; policy {policy};");
        }
        for l in *rules {
            let text = match l {
                Line::Rule(r) => render_rule(r, &mut sets),
                Line::Merged(m) => render_merged(m, name, &mut sets),
                Line::Note(line) => line.clone(),
            };
            let _ = writeln!(body, "\t\t{text}");
        }
        body.push_str("\t}\n");
    }
    let _ = writeln!(out, "table {family} rampart {{");
    sets.render(out);
    out.push_str(dynamic);
    out.push_str(&body);
    out.push_str("}\n");
}

fn render_expr(e: &Expr, sets: &mut Sets) -> String {
    match e {
        Expr::Cmp { lhs, neg, list } => {
            let op = if *neg { "!= " } else { "" };
            format!("{lhs} {op}{}", sets.rhs(list))
        }
        Expr::Raw(s) => s.clone(),
    }
}

fn render_rule(r: &NftRule, sets: &mut Sets) -> String {
    let mut parts: Vec<String> = r.matches.iter().map(|e| render_expr(e, sets)).collect();
    // Every rule counts what it matched: `rampart status --counters` sums
    // the counts per policy rule.
    if !r.stmts.iter().any(|s| s == "counter") {
        parts.push("counter".to_owned());
    }
    parts.extend(r.stmts.iter().cloned());
    parts.extend(r.verdict.iter().cloned());
    if let Some(c) = &r.comment {
        parts.push(rule::comment(c));
    }
    parts.join(" ")
}

fn render_merged(m: &Merged, chain: &str, sets: &mut Sets) -> String {
    let key: Vec<&str> = m
        .keys
        .iter()
        .filter_map(|&p| match &m.first.matches[p] {
            Expr::Cmp { lhs, .. } => Some(*lhs),
            Expr::Raw(_) => None,
        })
        .collect();
    let items = m
        .elems
        .iter()
        .map(|(parts, verdict, comment)| {
            let mut item = parts.join(" . ");
            if let Some(c) = comment {
                item = format!("{item} {}", rule::comment(c));
            }
            match verdict {
                Some(v) => format!("{item} : {v}"),
                None => item,
            }
        })
        .collect();
    let name = sets.merged(chain, &m.kinds, items, m.vmap, m.interval);
    let lookup = if m.vmap {
        format!("{} vmap @{name}", key.join(" . "))
    } else {
        format!("{} @{name}", key.join(" . "))
    };
    // The key's matches become one lookup: where the first of them was, or
    // last for a verdict map, whose verdict ends evaluation of the rule.
    let mut rule = m.first.clone();
    rule.matches = m
        .first
        .matches
        .iter()
        .enumerate()
        .filter(|(i, _)| !m.keys.contains(i))
        .map(|(_, e)| e.clone())
        .collect();
    let at = if m.vmap { rule.matches.len() } else { m.keys[0] };
    rule.matches.insert(at, Expr::Raw(lookup));
    if m.vmap {
        rule.verdict = None;
    }
    rule.comment.clone_from(&m.comment);
    render_rule(&rule, sets)
}

/// The nft name of each chain: built-ins their hook's name, user chains
/// their IR name made scanner-safe and unique.
fn chain_names(rs: &Ruleset) -> Vec<String> {
    let mut names = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for c in &rs.chains {
        let name = match c.hook() {
            Some(hook) if c.table == Table::Filter => hook.name().to_owned(),
            Some(hook) => format!("{}_{}", c.table.name(), hook.name()),
            None => {
                let base = text::ident(&c.name);
                (1..)
                    .map(|i| if i == 1 { base.clone() } else { format!("{base}_{i}") })
                    .find(|n| !used.contains(n) && Hook::parse(n).is_none())
                    .unwrap_or(base)
            }
        };
        used.insert(name.clone());
        names.push(name);
    }
    names
}

/// The bridge hook for each chain: the first built-in chain that reaches it.
fn bridge_hooks(rs: &Ruleset) -> Vec<Option<Hook>> {
    let mut hooks = vec![None; rs.chains.len()];
    for (i, c) in rs.chains.iter().enumerate() {
        let Some(hook) = c.hook().filter(|_| c.table == Table::Filter) else { continue };
        let mut todo = vec![ChainId(i)];
        while let Some(id) = todo.pop() {
            let Some(c) = rs.get(id) else { continue };
            if hooks[id.0].is_some() {
                continue;
            }
            hooks[id.0] = Some(hook);
            for r in &c.rules {
                if let Target::Jump(t) | Target::Goto(t) = &r.target {
                    todo.push(*t);
                }
            }
        }
    }
    hooks
}
