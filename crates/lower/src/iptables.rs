//! The iptables pass: the rich IR into one iptables line per rule, for one
//! address family.
//!
//! - Items of the other family are dropped; a rule left with nothing to
//!   match is dropped too.
//! - A negated match with several values goes to a temporary chain that
//!   RETURNs for each value and then acts (`! -s a,b` would mean something
//!   else), without repeating any line.
//! - A `return` (or goto) with such a match cannot use that chain: its
//!   RETURN would only leave the temporary chain. The rule's chain is split
//!   instead: the rule goes to (`-g`) a chain that, for each value, goes to
//!   a chain holding the rules after the rule, and otherwise returns (or
//!   goes on), leaving the rule's chain (see [`Pass::split`]).
//! - Other multi-valued matches are expanded into one rule per combination;
//!   ports are folded into `-m multiport` (at most 15 per rule).
//! - A rule that logs jumps to a `RULE_N` chain holding LOG and the verdict,
//!   so the LOG line carries the rule's prefix; a logged RETURN or a
//!   log-only rule becomes a plain LOG rule in place.

use std::collections::HashMap;

use crate::negate::{self, Negated};
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, Family, IfaceMatch, MULTIPORT_MAX, Match,
    PortMatch, PortSet, Proto, Restricted, Rule, Ruleset, RulesetBuilder, Target,
};

/// Rewrite the rich form into the restricted form for `family`.
#[must_use]
pub fn iptables(rich: &Ruleset, family: Family) -> Restricted {
    let empty =
        |c: &Chain| Chain { name: c.name.clone(), table: c.table, kind: c.kind, rules: vec![] };
    let mut pass = Pass {
        out: RulesetBuilder::new(rich.chains.iter().map(empty).collect()),
        log_chains: HashMap::new(),
        temp_chains: HashMap::new(),
    };
    // The rich chains come first in the output, at the same indexes.
    for (i, chain) in rich.chains.iter().enumerate() {
        // Where the chain's next rules go: a split moves them to a new chain.
        let mut at = ChainId(i);
        for rule in &chain.rules {
            if let Some(rule) = for_family(rule, family, &mut pass.out) {
                let leaves = matches!(rule.target, Target::Return | Target::Goto(_));
                if leaves && rule.matches.iter().any(needs_temp_chain) {
                    at = pass.split(rule, at);
                } else {
                    let lines = pass.rule(rule);
                    pass.out.at_mut(at).rules.extend(lines);
                }
            }
        }
    }
    Restricted::new(pass.out.finish()).expect("the iptables pass makes the restricted form")
}

/// A temporary chain's content: rule number, negated matches, target, log.
type TempKey = (u32, Vec<Match>, Target, Option<Box<rampart_ir::Log>>);

struct Pass {
    out: RulesetBuilder,
    /// (rule number, target) → LOG chain, shared by the rule's variants.
    log_chains: HashMap<(u32, Target), ChainId>,
    /// Temporary chains by content, so that variants of one rule share them.
    temp_chains: HashMap<TempKey, ChainId>,
}

/// Keep only what applies to `family`; `None` when the rule cannot match.
fn for_family(rule: &Rule, family: Family, out_sets: &mut RulesetBuilder) -> Option<Rule> {
    if rule.target.family().is_some_and(|f| f != family) {
        return None;
    }
    let mut out = Rule {
        matches: Vec::with_capacity(rule.matches.len()),
        log: rule.log.clone(),
        target: rule.target.clone(),
        comment: rule.comment.clone(),
        origin: rule.origin,
        counters: rule.counters.clone(),
    };
    for m in &rule.matches {
        match m {
            Match::Src(a) | Match::Dst(a) => {
                let set = if a.set.items.iter().all(|i| i.family() == family) {
                    a.set.clone()
                } else {
                    let items = a.set.items.iter().copied().filter(|i| i.family() == family);
                    out_sets.addrs(&AddrSet { name: a.set.name.clone(), items: items.collect() })
                };
                if set.items.is_empty() {
                    if a.neg {
                        continue; // `not {}` matches everything
                    }
                    return None;
                }
                let a = AddrMatch { neg: a.neg, set };
                out.matches.push(if matches!(m, Match::Src(_)) {
                    Match::Src(a)
                } else {
                    Match::Dst(a)
                });
            }
            Match::Set(m) if m.set.family != family => {
                if m.neg {
                    continue; // not in a set of the other family: every packet
                }
                return None;
            }
            Match::Proto { neg: false, proto: Proto::Icmp } if family == Family::V6 => return None,
            Match::Proto { neg: false, proto: Proto::Icmpv6 } if family == Family::V4 => {
                return None;
            }
            other => out.matches.push(other.clone()),
        }
    }
    Some(out)
}

/// Matches a verdict needs on its own line: the kernel accepts a TCP reset
/// only in a rule that matches TCP.
pub(crate) fn verdict_matches(rule: &Rule) -> Vec<Match> {
    if rule.target == Target::Reject(rampart_ir::RejectWith::TcpReset) {
        vec![Match::Proto { neg: false, proto: Proto::Tcp }]
    } else {
        vec![]
    }
}

/// Is this match negated with more than one value (needs a temporary chain)?
fn needs_temp_chain(m: &Match) -> bool {
    match m {
        Match::Src(a) | Match::Dst(a) => a.neg && a.set.items.len() > 1,
        Match::InIface(i) | Match::OutIface(i) => i.neg && i.names.len() > 1,
        Match::Sport(p) | Match::Dport(p) => p.neg && p.set.slots() > MULTIPORT_MAX,
        _ => false,
    }
}

/// The positive single-value matches a negated multi-value match splits into.
fn each_value(m: &Match, out: &mut RulesetBuilder) -> Vec<Match> {
    let mut one = |i: &AddrItem| AddrMatch { neg: false, set: out.addrs(&AddrSet::one(*i)) };
    match m {
        Match::Src(a) => a.set.items.iter().map(|i| Match::Src(one(i))).collect(),
        Match::Dst(a) => a.set.items.iter().map(|i| Match::Dst(one(i))).collect(),
        Match::InIface(i) => {
            i.names.iter().map(|n| Match::InIface(IfaceMatch::one(n).into())).collect()
        }
        Match::OutIface(i) => {
            i.names.iter().map(|n| Match::OutIface(IfaceMatch::one(n).into())).collect()
        }
        Match::Sport(p) => chunks(&p.set)
            .into_iter()
            .map(|set| Match::Sport(PortMatch { neg: false, set: out.ports(&set) }))
            .collect(),
        Match::Dport(p) => chunks(&p.set)
            .into_iter()
            .map(|set| Match::Dport(PortMatch { neg: false, set: out.ports(&set) }))
            .collect(),
        other => vec![other.clone()],
    }
}

fn chunks(set: &PortSet) -> Vec<PortSet> {
    let mut out: Vec<PortSet> = vec![];
    let mut slots = 0;
    for &r in &set.ranges {
        let need = if r.0 == r.1 { 1 } else { 2 };
        if out.is_empty() || slots + need > MULTIPORT_MAX {
            out.push(PortSet { name: None, ranges: vec![] });
            slots = 0;
        }
        out.last_mut().expect("pushed above").ranges.push(r);
        slots += need;
    }
    out
}

/// Expand positive multi-valued matches into the product of single values.
fn expand(matches: &[Match], out: &mut RulesetBuilder) -> Vec<Vec<Match>> {
    let mut rows: Vec<Vec<Match>> = vec![vec![]];
    for m in matches {
        let values: Vec<Match> = match m {
            Match::Src(a) | Match::Dst(a) if !a.neg && a.set.items.len() > 1 => each_value(m, out),
            Match::InIface(i) | Match::OutIface(i) if !i.neg && i.names.len() > 1 => {
                each_value(m, out)
            }
            Match::Sport(p) | Match::Dport(p) if !p.neg && p.set.slots() > MULTIPORT_MAX => {
                each_value(m, out)
            }
            other => vec![strip_name(other, out)],
        };
        // each row is allocated at its final length: the lines live until
        // the document is written
        rows = rows
            .into_iter()
            .flat_map(|row| {
                values.iter().map(move |v| {
                    let mut r = Vec::with_capacity(matches.len());
                    r.extend(row.iter().cloned());
                    r.push(v.clone());
                    r
                })
            })
            .collect();
    }
    rows
}

/// Set names mean nothing to iptables; dropping them keeps lines comparable.
fn strip_name(m: &Match, out: &mut RulesetBuilder) -> Match {
    let mut addrs = |a: &AddrMatch| AddrMatch {
        neg: a.neg,
        set: match a.set.name {
            None => a.set.clone(),
            Some(_) => out.addrs(&AddrSet { name: None, items: a.set.items.clone() }),
        },
    };
    match m {
        Match::Src(a) => Match::Src(addrs(a)),
        Match::Dst(a) => Match::Dst(addrs(a)),
        Match::Sport(p) | Match::Dport(p) => {
            let p = PortMatch {
                neg: p.neg,
                set: match p.set.name {
                    None => p.set.clone(),
                    Some(_) => out.ports(&PortSet { name: None, ranges: p.set.ranges.clone() }),
                },
            };
            if matches!(m, Match::Sport(_)) { Match::Sport(p) } else { Match::Dport(p) }
        }
        other => other.clone(),
    }
}

impl Pass {
    fn rule(&mut self, mut rule: Rule) -> Vec<Rule> {
        let (negated, plain): (Vec<Match>, Vec<Match>) =
            std::mem::take(&mut rule.matches).into_iter().partition(needs_temp_chain);
        let number = rule.origin.map_or(0, |o| o.rule);
        // What each line copies: never the whole matches, which may hold a
        // group of 100,000 addresses, once per line.
        let base = rule;
        let action = if negated.is_empty() {
            None
        } else {
            // Everything but the negations stays on the jump; the temporary
            // chain returns for each negated value, then acts once.
            let key = (number, negated.clone(), base.target.clone(), base.log.clone());
            if let Some(&id) = self.temp_chains.get(&key) {
                Some(Target::Jump(id))
            } else {
                let last = Rule { matches: verdict_matches(&base), ..base.clone() };
                let not = Negated {
                    number,
                    template: base.clone(),
                    values: negated
                        .iter()
                        .flat_map(|m| each_value(m, &mut self.out))
                        .map(|v| vec![v])
                        .collect(),
                    acts: self.finish(last),
                };
                let id = not.chain(&mut self.out);
                self.temp_chains.insert(key, id);
                Some(Target::Jump(id))
            }
        };
        let mut out = Vec::new();
        for matches in expand(&plain, &mut self.out) {
            let r = Rule { matches, ..base.clone() };
            match &action {
                Some(jump) => out.push(Rule { log: None, target: jump.clone(), ..r }),
                None => out.extend(self.finish(r)),
            }
        }
        out
    }

    /// A `return` or goto whose match negates several values, at the end of
    /// chain `at`: the chain is split ([`Negated::split`]); returns the
    /// chain that takes the rules after it.
    fn split(&mut self, rule: Rule, at: ChainId) -> ChainId {
        let (negated, plain): (Vec<Match>, Vec<Match>) =
            rule.matches.iter().cloned().partition(needs_temp_chain);
        let base = Rule { matches: vec![], ..rule };
        let not = Negated {
            number: base.origin.map_or(0, |o| o.rule),
            template: base.clone(),
            values: negated
                .iter()
                .flat_map(|m| each_value(m, &mut self.out))
                .map(|v| vec![v])
                .collect(),
            acts: self.finish(base),
        };
        let jumps = expand(&plain, &mut self.out);
        not.split(jumps, at, &mut self.out)
    }

    /// Turn `log` + target into iptables targets.
    fn finish(&mut self, rule: Rule) -> Vec<Rule> {
        let Some(log) = rule.log.clone() else { return vec![rule] };
        let number = rule.origin.map_or(0, |o| o.rule);
        match &rule.target {
            Target::None => vec![Rule { log: None, target: Target::Log(*log), ..rule }],
            // RETURN inside a LOG chain would return from that chain only,
            // and the end of a chain gone to would return to the LOG chain.
            Target::Return | Target::Goto(_) => vec![
                Rule { log: None, target: Target::Log(*log), ..rule.clone() },
                Rule { log: None, ..rule },
            ],
            target => {
                let key = (number, target.clone());
                let id = if let Some(&id) = self.log_chains.get(&key) {
                    id
                } else {
                    let n = negate::fresh(&self.out, &format!("RULE_{number}"));
                    let mut c = Chain::user(&n);
                    let tail = Rule { matches: verdict_matches(&rule), log: None, ..rule.clone() };
                    c.rules.push(Rule { target: Target::Log(*log), ..tail.clone() });
                    c.rules.push(tail);
                    let id = self.out.push(c);
                    self.log_chains.insert(key, id);
                    id
                };
                vec![Rule { log: None, target: Target::Jump(id), ..rule }]
            }
        }
    }
}
