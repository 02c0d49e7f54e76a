//! What an apply would change, found without loading anything: the loaded
//! rules are read, the new ones laid out as apply would load them, and the
//! two compared chain by chain, in order; with the lock-out guard's verdict.

use rampart_emit::hooked;
use rampart_ir::{Family, Restricted, Table};

use crate::apply::{Load, Traced};
use crate::diff::{self, ChainDiff, Change, Edit};
use crate::guard::{self, Cut, Mgmt};
use crate::state::{APPLIED, Applied, StateDir};
use crate::{DeployError, iptables, nft, table};

/// What the lock-out guard says of the new rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Guard {
    /// The management connection gets through.
    Keeps,
    /// It would be cut: apply refuses (unless forced).
    Cuts(Cut),
    /// No management connection to check: not over SSH and no `--mgmt`.
    Unchecked,
}

/// An apply, previewed.
#[derive(Debug)]
pub struct Preview {
    pub diff: Vec<ChainDiff>,
    pub guard: Guard,
}

/// Compare what `load` would put in the kernel with what is loaded there.
pub fn preview(
    load: &Load<'_>,
    traced: Traced<'_>,
    mgmt: Option<&Mgmt>,
    state: &StateDir,
) -> Result<Preview, DeployError> {
    crate::preflight::capable("nothing was compared")?;
    let diff = match load {
        Load::Iptables { v4, v6 } => {
            // The chains Rampart has now go too, when the new rules lack them.
            let _lock = if state.path().is_dir() { Some(state.lock(true)?) } else { None };
            let record: Option<Applied> = state.read_json(APPLIED)?;
            let had = |f: fn(&Applied) -> &Vec<String>| record.as_ref().map(f).cloned();
            let mut d = Vec::new();
            for (family, rs, filter, nat, mangle) in [
                (Family::V4, v4, had(|a| &a.chains), had(|a| &a.nat), had(|a| &a.mangle)),
                (Family::V6, v6, had(|a| &a.chains6), had(|a| &a.nat6), had(|a| &a.mangle6)),
            ] {
                let mut part = changes(rs, family, Table::Filter, filter.unwrap_or_default())?;
                for (table, had) in [(Table::Nat, nat), (Table::Mangle, mangle)] {
                    let had = had.unwrap_or_default();
                    if rs.table(table).next().is_some() || !had.is_empty() {
                        part.extend(changes(rs, family, table, had)?);
                    }
                }
                if family == Family::V6 {
                    for c in &mut part {
                        c.chain = format!("chain {} (IPv6)", c.chain);
                    }
                }
                d.extend(part);
            }
            d
        }
        Load::Nft(doc) => {
            diff::diff(&nft::blocks(&nft::listing()?), &nft::blocks(&nft::listed(doc)?), &[])
        }
    };
    let guard = match mgmt {
        None => Guard::Unchecked,
        Some(m) => {
            match guard::check(if m.family() == Family::V4 { traced.v4 } else { traced.v6 }, m) {
                Some(cut) => Guard::Cuts(cut),
                None => Guard::Keeps,
            }
        }
    };
    Ok(Preview { diff, guard })
}

/// The changes loading `rs` would make to Rampart's part of one table:
/// its chains (`had`: those it has now), and the hooks that would be added.
fn changes(
    rs: &Restricted,
    family: Family,
    table: Table,
    had: Vec<String>,
) -> Result<Vec<ChainDiff>, DeployError> {
    let live = iptables::save_table(family, table)?;
    let target = hooked::owned(rs, family, table);
    let mut chains = had;
    chains.extend(target.chains.iter().map(|(c, _)| c.clone()));
    // No chains of Rampart's on either side: nothing to compare (an empty
    // list would compare every chain, other software's too).
    if chains.is_empty() {
        return Ok(vec![]);
    }
    let mut d = diff::diff(
        &diff::rules_in(&live, table, &chains)?,
        &diff::rules_in(&table::listing(&target), table, &chains)?,
        &chains,
    );
    // The built-in chains: hooks added or removed, policies changed.
    let hooked = |b: &str| live.lines().any(|l| l == hooked::hook_rule(b));
    let builtins = chains.iter().filter_map(|c| c.strip_prefix("rampart-"));
    let mut builtins: Vec<&str> = builtins.chain(target.hooks.iter().map(String::as_str)).collect();
    builtins.sort_unstable();
    builtins.dedup();
    for b in builtins {
        let mut edits = Vec::new();
        let wanted = target.hooks.iter().any(|h| h == b);
        if wanted != hooked(b) {
            let change = if wanted { Change::Added } else { Change::Removed };
            edits.push(edit(change, format!("-j {}", hooked::own_chain(b))));
        }
        let now = live.lines().find_map(|l| {
            let mut w = l.strip_prefix(':')?.split_whitespace();
            (w.next()? == b).then(|| w.next()).flatten()
        });
        if let (Some(now), Some((_, new))) = (now, target.policies.iter().find(|(c, _)| c == b))
            && now != *new
        {
            edits.push(edit(Change::Removed, format!("policy {now}")));
            edits.push(edit(Change::Added, format!("policy {new}")));
        }
        if !edits.is_empty() {
            d.push(ChainDiff { chain: b.to_owned(), edits });
        }
    }
    Ok(d)
}

/// A change to a built-in chain itself (its hook, its policy): no place.
fn edit(change: Change, rule: String) -> Edit {
    Edit { change, rule, from: None, to: None, policy_rule: None, at: None }
}
