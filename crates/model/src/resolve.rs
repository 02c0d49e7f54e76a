//! Names to objects: builds the symbol table of every file, checks for
//! duplicates and cycles, and expands groups.

use std::collections::BTreeMap;
use std::sync::Arc;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{AddrItem, AddrSet};
use rampart_syntax::ast::{self, Item, Policy, ServiceClause, Word};

use crate::{ServiceAtom, User, addr, diagnostics, service, standard};

enum Def<'a> {
    Host(&'a [Word]),
    Network(&'a Word),
    Range(&'a Word, &'a Word),
    Group(&'a [Word]),
    Service(&'a [ServiceClause]),
    User(&'a Word, Option<&'a Word>),
    Set(&'a Word, &'a [Word]),
    /// An address table's lines, read by the loader.
    Table(&'a [Word]),
    Firewall(&'a [rampart_syntax::ast::Interface]),
}

struct Symbol<'a> {
    def: Def<'a>,
    span: Span,
}

/// What a name stands for once expanded.
#[derive(Clone)]
pub(crate) enum Resolved {
    Addresses(Vec<AddrItem>),
    Services(Vec<ServiceAtom>),
    User(User),
    /// A firewall, with the addresses of its interfaces.
    Firewall(Vec<AddrItem>),
    /// A set filled at run time.
    DynamicSet(rampart_ir::DynSet),
    /// Broken; the error has been reported.
    Invalid,
}

/// What a group member, an address column and a service column may name.
pub(crate) const OBJECT_KINDS: [&str; 5] =
    ["a host", "a network", "a range", "a group", "a service"];
pub(crate) const ADDRESS_KINDS: [&str; 5] =
    ["a host", "a network", "a range", "a group", "a firewall"];
pub(crate) const SERVICE_KINDS: [&str; 2] = ["a service", "a group"];

pub(crate) struct Resolver<'a> {
    symbols: BTreeMap<&'a str, Symbol<'a>>,
    done: BTreeMap<&'a str, Resolved>,
    in_progress: Vec<&'a str>,
    /// The atoms of a service column that names this service or group
    /// alone, named after it: made once, shared by every such rule.
    named: BTreeMap<String, Arc<[ServiceAtom]>>,
    /// The addresses of a column that names this object alone, likewise.
    named_addresses: BTreeMap<String, Arc<AddrSet>>,
}

/// Every name of the files, checked, and the declarations that become the
/// model's parts (built by their own modules with the resolver).
pub(crate) struct Declared<'a> {
    pub resolver: Resolver<'a>,
    pub firewalls: Vec<&'a ast::Firewall>,
    pub accesses: Vec<&'a ast::Access>,
}

pub(crate) fn resolve<'a>(files: &'a [Policy], diags: &mut Vec<Diagnostic>) -> Declared<'a> {
    let mut r = Resolver {
        symbols: BTreeMap::new(),
        done: BTreeMap::new(),
        in_progress: vec![],
        named: BTreeMap::new(),
        named_addresses: BTreeMap::new(),
    };
    let mut firewalls = Vec::new();
    let mut accesses = Vec::new();
    for item in files.iter().flat_map(|f| &f.items) {
        let (name, def) = match item {
            Item::Include(_) => continue,
            Item::Access(a) => {
                accesses.push(a);
                continue;
            }
            Item::Host { name, addrs } => (name, Def::Host(addrs)),
            Item::Network { name, net } => (name, Def::Network(net)),
            Item::Range { name, first, last } => (name, Def::Range(first, last)),
            Item::Group { name, members } => (name, Def::Group(members)),
            Item::Service { name, clauses } => (name, Def::Service(clauses)),
            Item::User { name, uid, gid } => (name, Def::User(uid, gid.as_ref())),
            Item::Set { name, words } => (name, Def::Set(name, words)),
            Item::AddressTable { name, addrs, .. } => (name, Def::Table(addrs)),
            Item::Firewall(fw) => {
                firewalls.push(fw);
                (&fw.name, Def::Firewall(&fw.interfaces))
            }
        };
        if matches!(name.text.as_str(), "any" | "self") {
            diags.push(diagnostics::misplaced(
                "this name",
                name.span,
                "`any` and `self` are reserved words",
            ));
            continue;
        }
        if let Some(first) = r.symbols.get(name.text.as_str()) {
            diags.push(diagnostics::duplicate_name(&name.text, name.span, first.span));
            continue;
        }
        r.symbols.insert(&name.text, Symbol { def, span: name.span });
    }
    // Check every object once, even unused ones, so mistakes surface early.
    let names: Vec<&str> = r.symbols.keys().copied().collect();
    for name in names {
        r.lookup(name, diags);
    }
    Declared { resolver: r, firewalls, accesses }
}

/// How deep groups may nest (group in group in ...).
const MAX_GROUP_DEPTH: usize = 64;

impl<'a> Resolver<'a> {
    /// The atoms of a column of `name` alone, when made before.
    pub(crate) fn named_services(&self, name: &str) -> Option<Arc<[ServiceAtom]>> {
        self.named.get(name).cloned()
    }

    pub(crate) fn keep_named_services(&mut self, name: &str, atoms: Arc<[ServiceAtom]>) {
        self.named.insert(name.to_owned(), atoms);
    }

    /// The addresses of a column of `name` alone, when made before.
    pub(crate) fn named_addresses(&self, name: &str) -> Option<Arc<AddrSet>> {
        self.named_addresses.get(name).cloned()
    }

    pub(crate) fn keep_named_addresses(&mut self, name: &str, set: Arc<AddrSet>) {
        self.named_addresses.insert(name.to_owned(), set);
    }

    /// Expand a name, reporting problems once.
    pub(crate) fn lookup(&mut self, name: &str, diags: &mut Vec<Diagnostic>) -> Option<Resolved> {
        if let Some(done) = self.done.get(name) {
            return Some(done.clone());
        }
        let Some((&key, sym)) = self.symbols.get_key_value(name) else {
            // Not declared: a standard service, or unknown.
            let (key, atoms) = standard::service(name)?;
            let resolved = Resolved::Services(atoms);
            self.done.insert(key, resolved.clone());
            return Some(resolved);
        };
        let resolved = match sym.def {
            Def::Host(words) => collect(
                words
                    .iter()
                    .map(|w| addr::parse_addr(&w.text, w.span).map(|ip| AddrItem::Net(ip.into()))),
                diags,
            ),
            Def::Table(words) => {
                collect(words.iter().map(|w| addr::parse_item(&w.text, w.span)), diags)
            }
            Def::Network(w) => {
                collect(std::iter::once(addr::parse_net(&w.text, w.span).map(AddrItem::Net)), diags)
            }
            Def::Range(a, b) => collect(
                std::iter::once(addr::parse_range(&a.text, &b.text, a.span.to(b.span))),
                diags,
            ),
            Def::Service(clauses) => {
                let before = diags.len();
                let atoms = service::atoms(key, clauses, diags);
                if diags[before..].iter().any(Diagnostic::is_error) {
                    Resolved::Invalid
                } else {
                    Resolved::Services(atoms)
                }
            }
            Def::User(uid, gid) => self.user(key, uid, gid, diags),
            Def::Set(name, words) => crate::sets::declare(name, words, diags),
            Def::Firewall(ifaces) => {
                let mut items: Vec<AddrItem> = ifaces
                    .iter()
                    .flat_map(|i| &i.addrs)
                    .filter_map(|w| addr::parse_iface_addr(&w.text, w.span).ok())
                    .map(|n| AddrItem::Net(n.addr().into()))
                    .collect();
                items.sort();
                items.dedup();
                Resolved::Firewall(items)
            }
            Def::Group(members) => {
                if self.in_progress.contains(&key) {
                    return None;
                }
                self.in_progress.push(key);
                let g = self.group(key, members, diags);
                self.in_progress.pop();
                g
            }
        };
        self.done.insert(key, resolved.clone());
        Some(resolved)
    }

    fn user(
        &self,
        name: &str,
        uid: &Word,
        gid: Option<&Word>,
        diags: &mut Vec<Diagnostic>,
    ) -> Resolved {
        let num = |w: &Word, what: &str, diags: &mut Vec<Diagnostic>| match w.text.parse::<u32>() {
            Ok(u32::MAX) => {
                diags.push(diagnostics::reserved_id(what, w.span));
                None
            }
            Ok(n) => Some(n),
            Err(_) => {
                diags.push(diagnostics::bad_number(what, &w.text, w.span));
                None
            }
        };
        let uid = num(uid, "UID", diags);
        let gid = gid.map(|g| num(g, "GID", diags));
        match (uid, gid) {
            (Some(uid), None) => Resolved::User(User { name: name.to_owned(), uid, gid: None }),
            (Some(uid), Some(Some(gid))) => {
                Resolved::User(User { name: name.to_owned(), uid, gid: Some(gid) })
            }
            _ => Resolved::Invalid,
        }
    }

    fn group(
        &mut self,
        name: &'a str,
        members: &'a [Word],
        diags: &mut Vec<Diagnostic>,
    ) -> Resolved {
        let mut addrs: Option<Vec<AddrItem>> = None;
        let mut svcs: Option<Vec<ServiceAtom>> = None;
        let mut broken = false;
        for m in members {
            let r = if addr::is_literal(&m.text) {
                match addr::parse_item(&m.text, m.span) {
                    Ok(item) => Resolved::Addresses(vec![item]),
                    Err(d) => {
                        diags.push(d);
                        Resolved::Invalid
                    }
                }
            } else if self.in_progress.contains(&m.text.as_str()) {
                diags.push(diagnostics::group_cycle(name, m.span));
                Resolved::Invalid
            } else if self.in_progress.len() >= MAX_GROUP_DEPTH {
                // Resolution recurses: 20,000 levels would overflow the stack.
                diags.push(diagnostics::group_too_deep(name, m.span, MAX_GROUP_DEPTH));
                Resolved::Invalid
            } else {
                match self.lookup(&m.text, diags) {
                    Some(r) => r,
                    None => {
                        diags.push(
                            diagnostics::unknown_name(
                                "object",
                                &m.text,
                                m.span,
                                "define it as a host, network, range, group or service",
                            )
                            .suggest(&m.text, self.names_of(&OBJECT_KINDS)),
                        );
                        Resolved::Invalid
                    }
                }
            };
            match r {
                Resolved::Addresses(items) if svcs.is_none() => {
                    addrs.get_or_insert_with(Vec::new).extend(items)
                }
                Resolved::Services(atoms) if addrs.is_none() => {
                    svcs.get_or_insert_with(Vec::new).extend(atoms)
                }
                Resolved::Addresses(_) | Resolved::Services(_) => {
                    diags.push(diagnostics::mixed_group(name, m.span));
                    broken = true;
                }
                Resolved::Firewall(items) if svcs.is_none() => {
                    addrs.get_or_insert_with(Vec::new).extend(items)
                }
                Resolved::Firewall(_) | Resolved::User(_) | Resolved::DynamicSet(_) => {
                    diags.push(diagnostics::wrong_kind(
                        &m.text,
                        self.kind_of(&m.text),
                        "an address or service",
                        m.span,
                    ));
                    broken = true;
                }
                Resolved::Invalid => broken = true,
            }
        }
        match (broken, addrs, svcs) {
            (true, _, _) => Resolved::Invalid,
            (false, Some(mut a), None) => {
                a.sort();
                a.dedup();
                Resolved::Addresses(a)
            }
            (false, None, Some(s)) => Resolved::Services(s),
            _ => Resolved::Addresses(vec![]),
        }
    }

    /// A firewall with an interface of no known address (`dynamic`), named
    /// by `name` or held in it (through nested groups): its addresses are
    /// not known when compiling, so a column naming it cannot match them.
    pub(crate) fn dynamic_firewall_in(&self, name: &str) -> Option<&'a str> {
        let mut todo = vec![name];
        // A set, not a list: a group may hold a hundred thousand members.
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = todo.pop() {
            if !seen.insert(n) {
                continue;
            }
            let Some((&key, sym)) = self.symbols.get_key_value(n) else { continue };
            match sym.def {
                Def::Firewall(ifaces)
                    if ifaces.iter().any(|i| i.flags.iter().any(|f| f.text == "dynamic")) =>
                {
                    return Some(key);
                }
                Def::Group(members) => todo.extend(members.iter().map(|m| m.text.as_str())),
                _ => {}
            }
        }
        None
    }

    /// Kind name of a symbol, for "is X, not Y" messages.
    /// The names defined as one of `kinds` (as [`Resolver::kind_of`] says
    /// them; the standard services with `a service`): what a misspelt name
    /// may have meant.
    pub(crate) fn names_of(&self, kinds: &[&str]) -> Vec<&'a str> {
        let mut names: Vec<&'a str> =
            self.symbols.keys().copied().filter(|n| kinds.contains(&self.kind_of(n))).collect();
        if kinds.contains(&"a service") {
            names.extend(standard::names().map(|n| -> &'a str { n }));
        }
        names
    }

    pub(crate) fn kind_of(&self, name: &str) -> &'static str {
        match self.symbols.get(name).map(|s| &s.def) {
            Some(Def::Host(_)) => "a host",
            Some(Def::Network(_)) => "a network",
            Some(Def::Range(..)) => "a range",
            Some(Def::Group(_)) => "a group",
            Some(Def::Service(_)) => "a service",
            Some(Def::User(..)) => "a user",
            Some(Def::Set(..)) => "a run-time set",
            Some(Def::Table(_)) => "an address table",
            Some(Def::Firewall(_)) => "a firewall",
            None if standard::service(name).is_some() => "a service",
            None => "unknown",
        }
    }
}

fn collect(
    items: impl Iterator<Item = Result<AddrItem, Diagnostic>>,
    diags: &mut Vec<Diagnostic>,
) -> Resolved {
    let mut out = Vec::new();
    let mut ok = true;
    for i in items {
        match i {
            Ok(i) => out.push(i),
            Err(d) => {
                diags.push(d);
                ok = false;
            }
        }
    }
    if ok { Resolved::Addresses(out) } else { Resolved::Invalid }
}
