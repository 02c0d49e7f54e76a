//! Is the loaded ruleset the one Rampart applied?

use rampart_emit::hooked;
use rampart_ir::Family;

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
            let live = iptables::save(Family::V4)?;
            let loaded = diff::rules_by_chain(&live);
            let mut drift = diff::diff(&diff::rules_by_chain(&a.doc), &loaded, &a.chains);
            drift.extend(unhooked(&live, &a.chains));
            if let Some(doc6) = &a.doc6
                && !a.chains6.is_empty()
            {
                let live = iptables::save(Family::V6)?;
                let loaded = diff::rules_by_chain(&live);
                let mut d6 = diff::diff(&diff::rules_by_chain(doc6), &loaded, &a.chains6);
                d6.extend(unhooked(&live, &a.chains6));
                for mut d in d6 {
                    d.chain = format!("chain {} (IPv6)", d.chain);
                    drift.push(d);
                }
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
