//! What the editor asks about, computed from a policy: every definition
//! (objects, sets, users, firewalls, their rule sets and interfaces) with what it
//! stands for, and which rules use each name. Built from the syntax trees
//! of the policy and every file it includes, so it works on a policy that
//! does not check yet.

use std::collections::BTreeMap;

use rampart_diag::{FileId, Sources, Span};
use rampart_syntax::ast::{Column, Item, Policy, Rule, ServiceClause, Word};

/// One named thing and where it is defined.
pub(crate) struct Def {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) span: Span,
    /// The firewall it belongs to (rule sets, interfaces).
    pub(crate) firewall: Option<String>,
    /// What it stands for, as written: addresses, ports, uid.
    pub(crate) value: Vec<String>,
    /// Group members, expanded by [`Index::addresses`].
    pub(crate) members: Vec<String>,
}

/// A rule by its number, as log prefixes and `compile` show it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RuleNumber {
    pub(crate) firewall: String,
    pub(crate) number: u32,
}

#[derive(Default)]
pub(crate) struct Index {
    pub(crate) defs: Vec<Def>,
    /// Name → the rules that name it.
    pub(crate) used_by: BTreeMap<String, Vec<RuleNumber>>,
}

impl Index {
    pub(crate) fn build(sources: &Sources) -> Index {
        let mut index = Index::default();
        for file in sources.ids() {
            let parsed = rampart_syntax::parse(sources.text(file), file);
            index.add(&parsed.ast);
        }
        for refs in index.used_by.values_mut() {
            refs.sort();
            refs.dedup();
        }
        index
    }

    /// The definitions of `name`, those of `firewall` first.
    pub(crate) fn find(&self, name: &str, firewall: Option<&str>) -> Vec<&Def> {
        let mut found: Vec<&Def> = self.defs.iter().filter(|d| d.name == name).collect();
        found.sort_by_key(|d| d.firewall.is_some() && d.firewall.as_deref() != firewall);
        found
    }

    /// The addresses a name stands for, groups expanded (each name once).
    pub(crate) fn addresses(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = vec![name.to_owned()];
        self.expand(name, &mut seen, &mut out);
        out
    }

    fn expand(&self, name: &str, seen: &mut Vec<String>, out: &mut Vec<String>) {
        let Some(def) = self.defs.iter().find(|d| d.name == name && d.firewall.is_none()) else {
            out.push(name.to_owned());
            return;
        };
        out.extend(def.value.iter().cloned());
        for m in &def.members {
            if !seen.contains(m) {
                seen.push(m.clone());
                self.expand(m, seen, out);
            }
        }
    }

    fn def(&mut self, name: &Word, kind: &'static str, value: Vec<String>) {
        self.defs.push(Def {
            name: name.text.clone(),
            kind,
            span: name.span,
            firewall: None,
            value,
            members: Vec::new(),
        });
    }

    fn add(&mut self, policy: &Policy) {
        for item in &policy.items {
            match item {
                Item::Host { name, addrs } => self.def(name, "host", words(addrs)),
                Item::Network { name, net } => self.def(name, "network", vec![net.text.clone()]),
                Item::Range { name, first, last } => {
                    self.def(name, "range", vec![format!("{}-{}", first.text, last.text)]);
                }
                Item::Group { name, members } => {
                    self.def(name, "group", Vec::new());
                    if let Some(d) = self.defs.last_mut() {
                        d.members = words(members);
                    }
                }
                Item::Service { name, clauses } => {
                    self.def(name, "service", clauses.iter().map(service_clause).collect());
                }
                Item::Set { name, words: ws } => {
                    let declared = words(ws).join(" ");
                    self.def(name, "set", vec![format!("{declared}, filled at run time")]);
                }
                Item::AddressTable { name, file, .. } => {
                    self.def(name, "address table", vec![format!("from \"{}\"", file.value)]);
                }
                Item::User { name, uid, .. } => {
                    self.def(name, "user", vec![format!("uid {}", uid.text)])
                }
                Item::Firewall(fw) => {
                    let addrs = fw.interfaces.iter().flat_map(|i| words(&i.addrs)).collect();
                    self.def(&fw.name, "firewall", addrs);
                    let scoped = |name: &Word, kind, value| Def {
                        name: name.text.clone(),
                        kind,
                        span: name.span,
                        firewall: Some(fw.name.text.clone()),
                        value,
                        members: Vec::new(),
                    };
                    for i in &fw.interfaces {
                        self.defs.push(scoped(&i.name, "interface", words(&i.addrs)));
                    }
                    let mut number = 0;
                    for rs in &fw.rulesets {
                        self.defs.push(scoped(&rs.name, "rule set", Vec::new()));
                        for rule in &rs.rules {
                            number += 1;
                            let r = RuleNumber { firewall: fw.name.text.clone(), number };
                            for name in rule_names(rule) {
                                self.used_by.entry(name.to_owned()).or_default().push(r.clone());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// The names a rule uses: its columns and its argument (`branch NAME`).
fn rule_names(rule: &Rule) -> Vec<&str> {
    let columns: [Option<&Column>; 5] = [
        rule.from.as_ref(),
        rule.to.as_ref(),
        rule.service.as_ref(),
        rule.on.as_deref(),
        rule.user.as_deref(),
    ];
    let mut names: Vec<&str> = columns
        .into_iter()
        .flatten()
        .flat_map(|c| c.items.iter().map(|w| w.text.as_str()))
        .collect();
    names.extend(rule.argument.as_ref().map(|w| w.text.as_str()));
    names
}

fn words(ws: &[Word]) -> Vec<String> {
    ws.iter().map(|w| w.text.clone()).collect()
}

fn service_clause(c: &ServiceClause) -> String {
    let mut s = c.proto.text.clone();
    if !c.sports.is_empty() {
        s.push_str(&format!(" sport {}", words(&c.sports).join(", ")));
    }
    if !c.dports.is_empty() {
        s.push_str(&format!(" {}", words(&c.dports).join(", ")));
    }
    s
}

/// The firewall whose block holds `offset` in `file`: the last one defined
/// before it.
pub(crate) fn firewall_at(index: &Index, file: FileId, offset: u32) -> Option<&str> {
    index
        .defs
        .iter()
        .filter(|d| d.kind == "firewall" && d.span.file == file && d.span.start <= offset)
        .max_by_key(|d| d.span.start)
        .map(|d| d.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_time_set_is_a_definition_its_rules_use() {
        let mut sources = Sources::new();
        sources.add(
            "p.rp",
            "set blocklist ipv4 timeout 1h\nfirewall gw {\n  interface eth0 10.0.0.1/24\n  \
             ruleset main {\n    deny from blocklist\n  }\n}\n",
        );
        let index = Index::build(&sources);
        let found = index.find("blocklist", None);
        let [set] = found.as_slice() else { panic!("{} definitions", found.len()) };
        assert_eq!(set.kind, "set");
        assert_eq!((set.span.start, set.span.end), (4, 13));
        assert_eq!(set.value, ["ipv4 timeout 1h, filled at run time"]);
        let used = &index.used_by["blocklist"];
        assert_eq!(used.len(), 1);
        assert_eq!((used[0].firewall.as_str(), used[0].number), ("gw", 1));
    }
}
