//! Rate and connection limits in nft: `limit rate`, `ct count`, and per
//! source a dynamic set whose elements carry the bucket or the count.

use std::fmt::Write;

use rampart_ir::{ConnLimit, Family, Limit, Match, Ruleset};

use crate::text::ident;

/// The size of a per-source set: sources beyond it are not matched (the
/// rule then does not apply to them), as `hashlimit` does when full.
const SET_SIZE: u32 = 65_535;

fn set_name(base: &str, fam: Family) -> String {
    ident(&format!("{base}_{}", if fam == Family::V4 { "v4" } else { "v6" }))
}

fn saddr(fam: Family) -> &'static str {
    if fam == Family::V4 { "ip saddr" } else { "ip6 saddr" }
}

fn rate(l: &Limit) -> String {
    format!("limit rate {}/{} burst {} packets", l.rate.count, l.rate.unit.name(), l.burst)
}

/// The expression for `fam`; the bool says whether it ties the rule to
/// that family.
pub(crate) fn limit(l: &Limit, fam: Family) -> (String, bool) {
    match &l.per_source {
        None => (rate(l), false),
        Some(base) => {
            (format!("add @{} {{ {} {} }}", set_name(base, fam), saddr(fam), rate(l)), true)
        }
    }
}

pub(crate) fn conn_limit(c: &ConnLimit, fam: Family) -> (String, bool) {
    let count = format!("ct count {}", c.upto);
    match &c.per_source {
        None => (count, false),
        Some(base) => (format!("add @{} {{ {} {count} }}", set_name(base, fam), saddr(fam)), true),
    }
}

/// The `set` blocks the per-source limits of `rs` fill, one per family,
/// tab-indented one level inside a table.
pub(crate) fn render_sets(rs: &Ruleset, out: &mut String) {
    let mut seen = std::collections::BTreeSet::new();
    for m in rs.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.matches) {
        let (base, timeout) = match m {
            Match::Limit(l) => match &l.per_source {
                Some(b) => (b, Some(l.expire_ms().div_ceil(1000))),
                None => continue,
            },
            Match::ConnLimit(c) => match &c.per_source {
                Some(b) => (b, None),
                None => continue,
            },
            _ => continue,
        };
        for fam in [Family::V4, Family::V6] {
            let name = set_name(base, fam);
            if !seen.insert(name.clone()) {
                continue;
            }
            let ty = if fam == Family::V4 { "ipv4_addr" } else { "ipv6_addr" };
            let _ = writeln!(out, "\tset {name} {{\n\t\ttype {ty}\n\t\tsize {SET_SIZE}");
            match timeout {
                // An idle source is forgotten once its bucket would be full again.
                Some(t) => {
                    let _ = writeln!(out, "\t\tflags dynamic,timeout\n\t\ttimeout {t}s");
                }
                None => out.push_str("\t\tflags dynamic\n"),
            }
            out.push_str("\t}\n\n");
        }
    }
}
