//! Is the loaded ruleset the one Rampart applied?

use rampart_ir::Family;

use crate::apply::{APPLIED, APPLIED_DOC, APPLIED_DOC6, PENDING};
use crate::diff::{self, ChainDiff};
use crate::state::{Applied, Pending, StateDir};
use crate::{DeployError, iptables, nft};

#[derive(Debug)]
pub struct Status {
    pub applied: Option<Applied>,
    pub pending: Option<Pending>,
    /// Differences between the applied rules and the loaded ones, on
    /// Rampart's chains only.
    pub drift: Vec<ChainDiff>,
}

pub fn status(state: &StateDir) -> Result<Status, DeployError> {
    let applied: Option<Applied> = state.read_json(APPLIED)?;
    let pending = state.read_json(PENDING)?;
    let drift = match (&applied, state.read(APPLIED_DOC)?) {
        (Some(a), Some(doc)) if a.backend == "nft" => {
            diff::diff(&nft::blocks(&doc), &nft::blocks(&nft::listing()?), &[])
        }
        (Some(a), Some(doc)) => {
            let loaded = diff::rules_by_chain(&iptables::save(Family::V4)?);
            let mut drift = diff::diff(&diff::rules_by_chain(&doc), &loaded, &a.chains);
            if let Some(doc6) = state.read(APPLIED_DOC6)?
                && !a.chains6.is_empty()
            {
                let loaded = diff::rules_by_chain(&iptables::save(Family::V6)?);
                for mut d in diff::diff(&diff::rules_by_chain(&doc6), &loaded, &a.chains6) {
                    d.chain = format!("chain {} (IPv6)", d.chain);
                    drift.push(d);
                }
            }
            drift
        }
        _ => vec![],
    };
    Ok(Status { applied, pending, drift })
}
