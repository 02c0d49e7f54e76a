//! Applies iptables commands (`-A`, `-I`, `-N`, `-P`, `-F`, `-X`) to tables,
//! shared by the iptables-save and the script reader.

use rampart_diag::{Diagnostic, FileId, Span};

use std::collections::{BTreeSet, HashMap};

use super::args::{Jump, parse_rule};
use super::diagnostics::Unreadable;
use super::lex::Word;
use super::{Table, diagnostics};
use crate::{
    Chain, ChainId, ChainKind, Counters, Family, Hook, Match, Policy, Restricted, Rule, Ruleset,
    Target,
};

/// A table as read so far: jumps still by name, since `-X` may yet delete
/// and `-N` add chains.
struct Reading {
    table: crate::Table,
    chains: Vec<ReadChain>,
    /// Each chain's index by name: a ruleset may have 100,000 chains, and
    /// every rule names one.
    index: HashMap<String, usize>,
}

impl Reading {
    fn push(&mut self, c: ReadChain) -> usize {
        self.index.insert(c.name.clone(), self.chains.len());
        self.chains.push(c);
        self.chains.len() - 1
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

struct ReadChain {
    name: String,
    kind: ChainKind,
    rules: Vec<(Rule, Option<Jump>)>,
}

impl ReadChain {
    fn builtin(hook: Hook, policy: Policy) -> Self {
        let kind = ChainKind::Builtin { hook, policy };
        Self { name: hook.chain().to_owned(), kind, rules: vec![] }
    }
}

pub(crate) struct Builder {
    pub file: FileId,
    tables: Vec<Reading>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Builder {
    pub fn new(file: FileId) -> Self {
        Self { file, tables: vec![], diagnostics: vec![] }
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    pub fn unreadable(&mut self, e: &Unreadable) {
        self.diagnostics.push(e.diagnostic(self.file));
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn warn(&mut self, start: usize, end: usize, message: impl Into<String>, label: &str) {
        let d = diagnostics::doubtful(self.span(start, end), message, label);
        self.diagnostics.push(d);
    }

    /// Whether any rule or user chain has been read.
    pub fn has_rules(&self) -> bool {
        self.tables
            .iter()
            .flat_map(|t| &t.chains)
            .any(|c| !c.rules.is_empty() || c.kind == ChainKind::User)
    }

    /// The table's index; with `builtins`, a new table gets its built-in
    /// chains with policy ACCEPT (what a fresh kernel table has).
    pub fn table(&mut self, table: crate::Table, with_builtins: bool) -> usize {
        if let Some(i) = self.tables.iter().position(|t| t.table == table) {
            return i;
        }
        let mut t = Reading { table, chains: vec![], index: HashMap::new() };
        if with_builtins {
            for &h in table.hooks() {
                t.push(ReadChain::builtin(h, Policy::Accept));
            }
        }
        self.tables.push(t);
        self.tables.len() - 1
    }

    fn chain_index(&mut self, t: usize, w: &Word) -> Option<usize> {
        let table = &mut self.tables[t];
        if let Some(i) = table.find(&w.text) {
            return Some(i);
        }
        if let Some(h) = table.table.builtin(&w.text) {
            return Some(table.push(ReadChain::builtin(h, Policy::Accept)));
        }
        let name = table.table.name();
        let label = "create it first with `-N` (or a `:CHAIN - [0:0]` line)";
        let d = diagnostics::no_chain(Span::new(self.file, w.start, w.end), &w.text, name, label);
        self.push(d);
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
                self.push(diagnostics::bad_policy(self.span(p.start, p.end), other));
                return;
            }
        };
        let table = self.tables[t].table;
        let builtin = table.builtin(&name.text);
        if policy.is_some() && builtin.is_none() {
            let d = diagnostics::policy_on_user_chain(self.span(name.start, name.end), &name.text);
            self.push(d);
            return;
        }
        let reading = &mut self.tables[t];
        match reading.find(&name.text).map(|i| &mut reading.chains[i]) {
            Some(ReadChain { kind: ChainKind::Builtin { policy: p, .. }, .. }) => {
                *p = policy.unwrap_or(*p);
            }
            Some(_) => {
                let msg = format!("chain `{}` already exists", name.text);
                self.warn(name.start, name.end, msg, "declared again here");
            }
            None => {
                reading.push(match builtin {
                    Some(h) => ReadChain::builtin(h, policy.unwrap_or(Policy::Accept)),
                    None => {
                        ReadChain { name: name.text.clone(), kind: ChainKind::User, rules: vec![] }
                    }
                });
            }
        }
    }

    /// Applies one command (`words[0]` is `-A`, `-I`, ...) to table `t`;
    /// `counters` from an iptables-save `[p:b]` prefix.
    pub fn command(&mut self, t: usize, words: &[Word], counters: Option<Counters>) {
        let cmd = &words[0];
        let arg = |i: usize| words.get(i);
        let need = |b: &mut Self, i: usize, what: &str| -> Option<Word> {
            let w = words.get(i).cloned();
            if w.is_none() {
                b.push(diagnostics::missing_argument(b.span(cmd.start, cmd.end), &cmd.text, what));
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
                let mut parsed = match parse_rule(&words[rest..]) {
                    Ok(p) => p,
                    Err(e) => return self.unreadable(&e),
                };
                for r in &mut parsed.rules {
                    r.counters = counters.map(Into::into);
                }
                let rules = &mut self.tables[t].chains[c].rules;
                if insert {
                    if pos == 0 || pos > rules.len() + 1 {
                        let d = diagnostics::bad_position(
                            Span::new(self.file, cmd.start, cmd.end),
                            pos,
                            rules.len(),
                        );
                        return self.push(d);
                    }
                    for (k, r) in parsed.rules.into_iter().enumerate() {
                        rules.insert(pos - 1 + k, (r, parsed.jump.clone()));
                    }
                } else {
                    rules.extend(parsed.rules.into_iter().map(|r| (r, parsed.jump.clone())));
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
                if self.tables[t].table.builtin(&name.text).is_none() {
                    let span = self.span(name.start, name.end);
                    return self.push(diagnostics::policy_on_user_chain(span, &name.text));
                }
                self.declare(t, &name, Some(&p));
            }
            "-F" | "--flush" => {
                let chains = &mut self.tables[t].chains;
                for c in chains.iter_mut().filter(|c| arg(1).is_none_or(|w| w.text == c.name)) {
                    c.rules.clear();
                }
            }
            "-X" | "--delete-chain" => {
                let reading = &mut self.tables[t];
                reading.chains.retain(|c| {
                    c.kind != ChainKind::User || arg(1).is_some_and(|w| w.text != c.name)
                });
                reading.index =
                    reading.chains.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
            }
            "-Z" | "--zero" | "-L" | "--list" | "-S" | "--list-rules" => {}
            other => {
                self.push(diagnostics::unsupported_command(self.span(cmd.start, cmd.end), other));
            }
        }
    }

    /// Resolves jumps, settles each table's family and returns the tables.
    /// A `-j NAME` with no chain of that name becomes an opaque target if
    /// `NAME` is upper case (an extension we do not know), else an error.
    pub fn finish(mut self) -> (Vec<Table>, Vec<Diagnostic>) {
        let mut tables = Vec::new();
        for t in std::mem::take(&mut self.tables) {
            let ids: HashMap<String, ChainId> =
                t.chains.iter().enumerate().map(|(i, c)| (c.name.clone(), ChainId(i))).collect();
            let mut missing = BTreeSet::new();
            let mut chains = Vec::new();
            for c in t.chains {
                let mut rules = Vec::with_capacity(c.rules.len());
                for (mut r, jump) in c.rules {
                    if let Some(j) = jump {
                        let name = &j.word.text;
                        let opaque = name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
                        r.target = match ids.get(name) {
                            Some(&id) if j.goto => Target::Goto(id),
                            Some(&id) => Target::Jump(id),
                            None if opaque && !j.goto => {
                                Target::Other { name: name.clone(), args: vec![] }
                            }
                            None => Target::None,
                        };
                        if !ids.contains_key(name) {
                            missing.insert((
                                j.word.start,
                                j.word.end,
                                name.clone(),
                                j.goto || !opaque,
                            ));
                        }
                    }
                    rules.push(r);
                }
                chains.push(Chain { name: c.name, table: t.table, kind: c.kind, rules });
            }
            for (start, end, name, error) in missing {
                if error {
                    let label = "jumps to a chain that is never created";
                    let span = self.span(start, end);
                    self.push(diagnostics::no_chain(span, &name, t.table.name(), label));
                } else {
                    let msg = format!("no chain `{name}` in table `{}`", t.table.name());
                    self.warn(start, end, msg, "kept as a target Rampart does not know");
                }
            }
            let v6 = chains.iter().flat_map(|c| &c.rules).any(|r| r.family() == Some(Family::V6));
            let family = if v6 { Family::V6 } else { Family::V4 };
            // An ipset is of the table's family (`-m set` was read as IPv4).
            for m in chains.iter_mut().flat_map(|c| &mut c.rules).flat_map(|r| &mut r.matches) {
                if let Match::Set(s) = m {
                    s.set.family = family;
                }
            }
            let ruleset = Restricted::read(Ruleset { chains });
            tables.push(Table { table: t.table, family, ruleset });
        }
        // In file order, whatever order they were found in.
        self.diagnostics.sort_by_key(|d| d.span().map(|s| s.start));
        (tables, self.diagnostics)
    }
}
