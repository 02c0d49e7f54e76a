//! Is the loaded ruleset the one Rampart applied?

use rampart_emit::hooked;
use rampart_ir::{Family, Table};

use crate::diff::{self, ChainDiff, Change, Edit};
use crate::state::{APPLIED, Applied, PENDING, Pending, StateDir, now};
use crate::{DeployError, iptables, nft};

/// Seconds past its deadline after which a try that is still pending means
/// its watchdog is not doing its job.
const GRACE_SECS: u64 = 5;

#[derive(Debug)]
pub struct Status {
    pub applied: Option<Applied>,
    pub pending: Option<Pending>,
    /// Seconds a pending try is past its deadline with no rollback: its
    /// watchdog died or failed (the kernel log says why).
    pub overdue: Option<u64>,
    /// Differences between the applied rules and the loaded ones, on
    /// Rampart's chains only.
    pub drift: Vec<ChainDiff>,
    /// How the boot files differ from what was applied; `None` without a
    /// boot directory.
    pub boot: Option<Vec<String>>,
}

/// Rampart's chains whose hook is missing from their built-in chain.
fn unhooked(live: &str, chains: &[String]) -> Vec<ChainDiff> {
    chains
        .iter()
        .filter_map(|c| c.strip_prefix("rampart-"))
        .filter(|b| !live.lines().any(|l| l == hooked::hook_rule(b)))
        .map(|b| ChainDiff {
            chain: (*b).to_owned(),
            edits: vec![Edit {
                change: Change::Removed,
                rule: format!("-j {}", hooked::own_chain(b)),
                from: None,
                to: None,
                policy_rule: None,
                at: None,
            }],
        })
        .collect()
}

/// How Rampart's chains of one table differ from what `doc` loaded into
/// them, hooks included; chains named with the table and family unless
/// they are IPv4 filter chains.
fn table_drift(
    family: Family,
    table: Table,
    doc: &str,
    chains: &[String],
) -> Result<Vec<ChainDiff>, DeployError> {
    let live = iptables::save_table(family, table)?;
    let loaded = diff::rules_in(&live, table, chains)?;
    let mut drift = diff::diff(&diff::rules_in(doc, table, chains)?, &loaded, chains);
    drift.extend(unhooked(&live, chains));
    for d in &mut drift {
        d.chain = match (table, family) {
            (Table::Filter, Family::V4) => continue,
            (Table::Filter, Family::V6) => format!("chain {} (IPv6)", d.chain),
            (t, Family::V4) => format!("{} chain {}", t.name(), d.chain),
            (t, Family::V6) => format!("{} chain {} (IPv6)", t.name(), d.chain),
        };
    }
    Ok(drift)
}

pub fn status(state: &StateDir) -> Result<Status, DeployError> {
    // A consistent view: not half-way through an apply or a rollback.
    let _lock = if state.path().is_dir() { Some(state.lock(true)?) } else { None };
    let applied: Option<Applied> = state.read_json(APPLIED)?;
    let pending: Option<Pending> = state.read_json(PENDING)?;
    let overdue = pending
        .as_ref()
        .map(|p| now().saturating_sub(p.deadline))
        .filter(|late| *late > GRACE_SECS);
    let drift = match &applied {
        Some(a) if a.backend == "nft" => {
            diff::diff(&nft::blocks(&a.doc), &nft::blocks(&nft::listing()?), &[])
        }
        Some(a) => {
            let mut drift = Vec::new();
            for (family, table, chains, doc) in [
                (Family::V4, Table::Filter, &a.chains, Some(&a.doc)),
                (Family::V6, Table::Filter, &a.chains6, a.doc6.as_ref()),
                (Family::V4, Table::Nat, &a.nat, Some(&a.doc)),
                (Family::V6, Table::Nat, &a.nat6, a.doc6.as_ref()),
                (Family::V4, Table::Mangle, &a.mangle, Some(&a.doc)),
                (Family::V6, Table::Mangle, &a.mangle6, a.doc6.as_ref()),
            ] {
                let Some(doc) = doc.filter(|_| !chains.is_empty()) else { continue };
                drift.extend(table_drift(family, table, doc, chains)?);
            }
            drift
        }
        None => vec![],
    };
    // While a try waits, boot keeps the last confirmed rules.
    let boot = match (state.boot(), &pending) {
        (Some(dir), None) => Some(crate::boot::check(
            dir,
            &applied.as_ref().map(|a| a.boot.clone()).unwrap_or_default(),
        )?),
        _ => None,
    };
    Ok(Status { applied, pending, overdue, drift, boot })
}
