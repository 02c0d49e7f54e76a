//! Applies iptables commands (`-A`, `-I`, `-N`, `-P`, `-F`, `-X`) to tables,
//! shared by the iptables-save and the script reader.

use std::collections::{HashMap, HashSet};

use rampart_diag::{Diagnostic, FileId, Span};

use super::Table;
use super::args::{ArgError, parse_rule};
use super::lex::Word;
use crate::{Chain, Family, Policy, Target};

/// Built-in chains of each table, in iptables-save order.
pub(crate) fn builtins(table: &str) -> &'static [&'static str] {
    match table {
        "filter" | "security" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

pub(crate) struct Builder {
    pub file: FileId,
    pub tables: Vec<Table>,
    pub diagnostics: Vec<Diagnostic>,
    /// Jump and goto targets to check once every chain is known.
    jumps: Vec<(usize, Word)>,
    /// Per table, each chain's index by name: a ruleset may have 100,000
    /// chains, and every rule names one.
    index: Vec<HashMap<String, usize>>,
}

impl Builder {
    pub fn new(file: FileId) -> Self {
        Self { file, tables: vec![], diagnostics: vec![], jumps: vec![], index: vec![] }
    }

    fn push_chain(&mut self, t: usize, chain: Chain) -> usize {
        let chains = &mut self.tables[t].ruleset.chains;
        self.index[t].insert(chain.name.clone(), chains.len());
        chains.push(chain);
        chains.len() - 1
    }

    fn find(&self, t: usize, name: &str) -> Option<usize> {
        self.index[t].get(name).copied()
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    pub fn error(&mut self, start: usize, end: usize, message: impl Into<String>, label: &str) {
        let d = Diagnostic::error("E0801", message).with_label(self.span(start, end), label);
        self.diagnostics.push(d);
    }

    pub fn warn(&mut self, start: usize, end: usize, message: impl Into<String>, label: &str) {
        let d = Diagnostic::warning("W0801", message).with_label(self.span(start, end), label);
        self.diagnostics.push(d);
    }

    fn arg_error(&mut self, e: ArgError) {
        self.error(e.start, e.end, e.message, "here");
    }

    /// The table's index; with `builtins`, a new table gets its built-in
    /// chains with policy ACCEPT (what a fresh kernel table has).
    pub fn table(&mut self, name: &str, with_builtins: bool) -> usize {
        if let Some(i) = self.tables.iter().position(|t| t.name == name) {
            return i;
        }
        let t = Table { name: name.to_owned(), family: Family::V4, ruleset: Default::default() };
        self.tables.push(t);
        self.index.push(HashMap::new());
        let t = self.tables.len() - 1;
        if with_builtins {
            for c in builtins(name) {
                self.push_chain(t, Chain::builtin(c, Policy::Accept));
            }
        }
        t
    }

    fn chain_index(&mut self, t: usize, w: &Word) -> Option<usize> {
        if let Some(i) = self.find(t, &w.text) {
            return Some(i);
        }
        if builtins(&self.tables[t].name).contains(&w.text.as_str()) {
            return Some(self.push_chain(t, Chain::builtin(&w.text, Policy::Accept)));
        }
        let msg = format!("no chain `{}` in table `{}`", w.text, self.tables[t].name);
        self.error(w.start, w.end, msg, "create it first with `-N` (or a `:CHAIN - [0:0]` line)");
        None
    }

    /// Declares a chain (`:NAME POLICY` or `-N NAME`); `policy` is `None` for
    /// user chains.
    pub fn declare(&mut self, t: usize, name: &Word, policy: Option<&Word>) {
        let policy = match policy.map(|p| p.text.as_str()) {
            None | Some("-") => None,
            Some("ACCEPT") => Some(Policy::Accept),
            Some("DROP") => Some(Policy::Drop),
            Some(other) => {
                let p = policy.unwrap_or(name);
                let msg = format!("unknown chain policy `{other}`");
                self.error(p.start, p.end, msg, "a built-in chain's policy is ACCEPT or DROP");
                return;
            }
        };
        let builtin = builtins(&self.tables[t].name).contains(&name.text.as_str());
        if policy.is_some() && !builtin {
            let msg = format!("`{}` is not a built-in chain of this table", name.text);
            self.error(name.start, name.end, msg, "only built-in chains have a policy");
            return;
        }
        match self.find(t, &name.text) {
            Some(i) if self.tables[t].ruleset.chains[i].policy.is_some() => {
                let c = &mut self.tables[t].ruleset.chains[i];
                c.policy = policy.or(c.policy);
            }
            Some(_) => {
                let msg = format!("chain `{}` already exists", name.text);
                self.warn(name.start, name.end, msg, "declared again here");
            }
            None => {
                let policy = policy.or(builtin.then_some(Policy::Accept));
                self.push_chain(t, Chain { name: name.text.clone(), policy, rules: vec![] });
            }
        }
    }

    /// Applies one command (`words[0]` is `-A`, `-I`, ...) to table `t`.
    pub fn command(&mut self, t: usize, words: &[Word]) {
        let cmd = &words[0];
        let arg = |i: usize| words.get(i);
        let need = |b: &mut Self, i: usize, what: &str| -> Option<Word> {
            let w = words.get(i).cloned();
            if w.is_none() {
                b.error(cmd.start, cmd.end, format!("`{}` needs {what}", cmd.text), "here");
            }
            w
        };
        match cmd.text.as_str() {
            "-A" | "--append" | "-I" | "--insert" => {
                let Some(chain) = need(self, 1, "a chain name") else { return };
                let Some(c) = self.chain_index(t, &chain) else { return };
                let insert = cmd.text == "-I" || cmd.text == "--insert";
                let mut rest = 2;
                let mut pos = 1usize;
                if insert && let Some(n) = arg(2).and_then(|w| w.text.parse::<usize>().ok()) {
                    pos = n;
                    rest = 3;
                }
                let parsed = match parse_rule(&words[rest..]) {
                    Ok(p) => p,
                    Err(e) => return self.arg_error(e),
                };
                if let Some(w) = parsed.target_word {
                    self.jumps.push((t, w));
                }
                let rules = &mut self.tables[t].ruleset.chains[c].rules;
                if insert {
                    if pos == 0 || pos > rules.len() + 1 {
                        let msg = format!(
                            "cannot insert at position {pos}: the chain has {} rules",
                            rules.len()
                        );
                        return self.error(cmd.start, cmd.end, msg, "here");
                    }
                    for (k, r) in parsed.rules.into_iter().enumerate() {
                        rules.insert(pos - 1 + k, r);
                    }
                } else {
                    rules.extend(parsed.rules);
                }
            }
            "-N" | "--new-chain" => {
                if let Some(name) = need(self, 1, "a chain name") {
                    self.declare(t, &name, None);
                }
            }
            "-P" | "--policy" => {
                let (Some(name), Some(p)) =
                    (need(self, 1, "a chain name"), need(self, 2, "a policy"))
                else {
                    return;
                };
                if !builtins(&self.tables[t].name).contains(&name.text.as_str()) {
                    let msg = format!("`{}` is not a built-in chain", name.text);
                    return self.error(
                        name.start,
                        name.end,
                        msg,
                        "only built-in chains have a policy",
                    );
                }
                self.declare(t, &name, Some(&p));
            }
            "-F" | "--flush" => {
                let chains = &mut self.tables[t].ruleset.chains;
                for c in chains.iter_mut().filter(|c| arg(1).is_none_or(|w| w.text == c.name)) {
                    c.rules.clear();
                }
            }
            "-X" | "--delete-chain" => {
                let chains = &mut self.tables[t].ruleset.chains;
                chains.retain(|c| c.policy.is_some() || arg(1).is_some_and(|w| w.text != c.name));
                self.index[t] =
                    chains.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
            }
            "-Z" | "--zero" | "-L" | "--list" | "-S" | "--list-rules" => {}
            other => {
                let msg = format!("unsupported iptables command `{other}`");
                self.error(cmd.start, cmd.end, msg, "expected -A, -I, -N, -P, -F or -X");
            }
        }
    }

    /// Checks jump targets, settles each table's family and returns the
    /// tables. A `-j NAME` with no chain of that name becomes an opaque
    /// target if `NAME` is upper case (an extension we do not know), else an
    /// error.
    pub fn finish(mut self) -> (Vec<Table>, Vec<Diagnostic>) {
        let jumps = std::mem::take(&mut self.jumps);
        let missing: Vec<(usize, Word)> =
            jumps.into_iter().filter(|(t, w)| self.find(*t, &w.text).is_none()).collect();
        let opaque = |w: &Word| w.text.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        // One pass over the rules, whatever the number of missing chains.
        let mut gotos: Vec<HashSet<String>> = vec![Default::default(); self.tables.len()];
        for (t, table) in self.tables.iter_mut().enumerate() {
            let names: HashSet<&str> = missing
                .iter()
                .filter(|(m, w)| *m == t && opaque(w))
                .map(|(_, w)| w.text.as_str())
                .collect();
            for r in table.ruleset.chains.iter_mut().flat_map(|c| &mut c.rules) {
                match &r.target {
                    Target::Jump(n) if names.contains(n.as_str()) => {
                        r.target = Target::Other { name: n.clone(), args: vec![] };
                    }
                    Target::Goto(n) => {
                        gotos[t].insert(n.clone());
                    }
                    _ => {}
                }
            }
        }
        for (t, w) in missing {
            let msg = format!("no chain `{}` in table `{}`", w.text, self.tables[t].name);
            if gotos[t].contains(&w.text) || !opaque(&w) {
                self.error(w.start, w.end, msg, "jumps to a chain that is never created");
            } else {
                self.warn(w.start, w.end, msg, "kept as a target Rampart does not know");
            }
        }
        for t in &mut self.tables {
            let v6 = t
                .ruleset
                .chains
                .iter()
                .flat_map(|c| &c.rules)
                .any(|r| r.family() == Some(Family::V6));
            t.family = if v6 { Family::V6 } else { Family::V4 };
        }
        // In file order, whatever order they were found in.
        self.diagnostics.sort_by_key(|d| d.span().map(|s| s.start));
        (self.tables, self.diagnostics)
    }
}
