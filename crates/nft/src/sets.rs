//! Which lists become named sets, and their names.
//!
//! A named set is loaded once and looked up by hash or interval tree; an
//! inline `{ ... }` is an anonymous set created per rule, which is what makes
//! large nft rulesets slow to load. So: every policy group is a named set,
//! and so is any other list that is long or used by more than one rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use crate::elems::Elems;
use crate::expr::{Expr, Kind, List};
use crate::text::ident;

/// Lists longer than this become named sets even when used once.
const INLINE_MAX: usize = 8;

pub(crate) struct SetDef {
    pub(crate) name: String,
    /// `ipv4_addr`, `ipv4_addr . inet_service`, `... : verdict` for maps.
    pub(crate) ty: String,
    pub(crate) map: bool,
    pub(crate) interval: bool,
    pub(crate) items: Vec<String>,
}

/// The named sets of one table, in order of first use.
#[derive(Default)]
pub(crate) struct Sets {
    pub(crate) defs: Vec<SetDef>,
    by_list: HashMap<(Kind, Option<String>, Elems), usize>,
    unnamed_uses: HashMap<(Kind, Elems), usize>,
    /// Group names seen with both address families get `_v4`/`_v6`.
    group_kinds: BTreeMap<String, BTreeSet<Kind>>,
    used_names: BTreeSet<String>,
    /// Per merged-set base name, the number to try next.
    next_number: HashMap<String, usize>,
}

impl Sets {
    /// First pass: see every rule of the table.
    pub(crate) fn count<'a>(&mut self, exprs: impl Iterator<Item = &'a Expr>) {
        for list in exprs.filter_map(list_of) {
            match &list.name {
                Some(n) => {
                    self.group_kinds.entry(n.clone()).or_default().insert(list.kind);
                }
                None => *self.unnamed_uses.entry((list.kind, list.elems.clone())).or_default() += 1,
            }
        }
    }

    /// Second pass: the right-hand side for a list, registering its set.
    pub(crate) fn rhs(&mut self, list: &List) -> String {
        if list.kind == Kind::Iface || !self.wants_set(list) {
            return inline(&list.elems.items);
        }
        let key = (list.kind, list.name.clone(), list.elems.clone());
        if let Some(&i) = self.by_list.get(&key) {
            return format!("@{}", self.defs[i].name);
        }
        let name = self.fresh_name(list);
        self.by_list.insert(key, self.defs.len());
        self.defs.push(SetDef {
            name: name.clone(),
            ty: list.kind.nft_type().to_owned(),
            map: false,
            interval: list.elems.interval,
            items: list.elems.items.clone(),
        });
        format!("@{name}")
    }

    /// A set (or verdict map) for a merged run of rules in `chain`.
    pub(crate) fn merged(
        &mut self,
        chain: &str,
        kinds: &[Kind],
        items: Vec<String>,
        map: bool,
        interval: bool,
    ) -> String {
        let base = format!("{chain}_{}", if map { "map" } else { "set" });
        // Numbered on from the last one: a chain may have thousands.
        let next = self.next_number.entry(base.clone()).or_insert(1);
        let name = (*next..)
            .map(|i| format!("{base}_{i}"))
            .find(|c| !self.used_names.contains(c))
            .unwrap_or(base);
        *next = name.rsplit('_').next().and_then(|n| n.parse::<usize>().ok()).map_or(1, |n| n + 1);
        self.used_names.insert(name.clone());
        let mut ty = kinds.iter().map(|k| k.nft_type()).collect::<Vec<_>>().join(" . ");
        if map {
            ty.push_str(" : verdict");
        }
        self.defs.push(SetDef { name: name.clone(), ty, map, interval, items });
        name
    }

    fn wants_set(&self, list: &List) -> bool {
        let n = list.elems.items.len();
        list.name.is_some()
            || n > INLINE_MAX
            || (n > 1
                && self.unnamed_uses.get(&(list.kind, list.elems.clone())).copied().unwrap_or(0)
                    > 1)
    }

    fn fresh_name(&mut self, list: &List) -> String {
        let base = match &list.name {
            Some(n) => {
                let mixed = self
                    .group_kinds
                    .get(n)
                    .is_some_and(|k| k.contains(&Kind::Ipv4) && k.contains(&Kind::Ipv6));
                match (mixed, list.kind) {
                    (true, Kind::Ipv4) => ident(&format!("{n}_v4")),
                    (true, Kind::Ipv6) => ident(&format!("{n}_v6")),
                    _ => ident(n),
                }
            }
            None => match list.kind {
                Kind::Ipv4 => "addrs_v4".to_owned(),
                Kind::Ipv6 => "addrs_v6".to_owned(),
                Kind::Port | Kind::Iface => "ports".to_owned(),
                Kind::CtState => "states".to_owned(),
            },
        };
        // Groups keep their name (`_2` on a clash); other lists are numbered.
        let named = list.name.is_some();
        let name = (1..)
            .map(|i| if i == 1 && named { base.clone() } else { format!("{base}_{i}") })
            .find(|c| !self.used_names.contains(c))
            .unwrap_or(base);
        self.used_names.insert(name.clone());
        name
    }

    /// The `set` blocks, tab-indented one level inside a table: plain
    /// sets before maps. The kernel finds a set by name walking the
    /// table's sets in the order they were made, for every rule that uses
    /// it; a plain set serves many rules, a map one.
    pub(crate) fn render(&self, out: &mut String) {
        let (sets, maps): (Vec<&SetDef>, Vec<&SetDef>) = self.defs.iter().partition(|d| !d.map);
        for def in sets.into_iter().chain(maps) {
            let _ = writeln!(out, "\t{} {} {{", if def.map { "map" } else { "set" }, def.name);
            let _ = writeln!(out, "\t\ttype {}", def.ty);
            if def.interval {
                out.push_str("\t\tflags interval\n");
            }
            out.push_str("\t\telements = { ");
            // Eight plain values to a line; one element a line once they
            // carry comments.
            let per_line = if def.items.iter().any(|i| i.contains(" comment ")) { 1 } else { 8 };
            for (i, item) in def.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(if i % per_line == 0 { ",\n\t\t\t     " } else { ", " });
                }
                out.push_str(item);
            }
            out.push_str(" }\n\t}\n\n");
        }
    }
}

fn list_of(e: &Expr) -> Option<&List> {
    match e {
        Expr::Cmp { list, .. } => Some(list),
        Expr::Raw(_) => None,
    }
}

fn inline(items: &[String]) -> String {
    match items {
        [one] => one.clone(),
        _ => format!("{{ {} }}", items.join(", ")),
    }
}
