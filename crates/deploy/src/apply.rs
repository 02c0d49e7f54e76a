//! Apply, roll back, confirm, and the watchdog that rolls back a try
//! nobody confirmed.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::hash::{Hash, Hasher};

use rampart_ir::{Family, Ruleset, format_rule};

use crate::diff::{self, ChainDiff};
use crate::guard::{self, Cut, Mgmt};
use crate::state::{Applied, Pending, StateDir, now};
use crate::{DeployError, iptables, nft};

pub const PREVIOUS: &str = "previous.v4";
pub const APPLIED_DOC: &str = "applied.v4";
pub const APPLIED: &str = "applied.json";
pub const PENDING: &str = "pending.json";

/// How the rules reach the kernel.
pub enum Load<'a> {
    /// The compiled IPv4 ruleset (restricted form), through iptables-restore.
    Iptables(&'a Ruleset),
    /// The rich ruleset and its `nft -f` document.
    Nft { rich: &'a Ruleset, doc: String },
}

impl Load<'_> {
    fn ruleset(&self) -> &Ruleset {
        match self {
            Load::Iptables(rs) | Load::Nft { rich: rs, .. } => rs,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Load::Iptables(_) => "iptables",
            Load::Nft { .. } => "nft",
        }
    }
}

/// What to apply.
pub struct Plan<'a> {
    pub load: Load<'a>,
    pub policy: String,
    pub firewall: String,
    pub mgmt: Option<Mgmt>,
    /// Load even when the guard says the management connection would be cut.
    pub force: bool,
    /// Roll back after this many seconds unless confirmed.
    pub try_secs: Option<u64>,
}

#[derive(Debug)]
pub enum Outcome {
    /// Loaded; the changes per chain, and the try waiting for confirmation.
    Applied { diff: Vec<ChainDiff>, version: String, pending: Option<Pending> },
    /// The guard refused; nothing was loaded.
    Refused(Cut),
}

const BUILTIN: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];

/// An `iptables-restore --noflush` document that replaces exactly
/// Rampart's chains — the built-in ones and its own — and removes its
/// chains that are gone, leaving other software's chains (Docker, libvirt)
/// alone. A chain line flushes the chain it names.
#[must_use]
pub fn noflush_doc(rs: &Ruleset, stale: &[String]) -> String {
    let mut out = String::from("*filter\n");
    for c in &rs.chains {
        let policy = match c.policy {
            Some(rampart_ir::Policy::Accept) => "ACCEPT",
            Some(rampart_ir::Policy::Drop) => "DROP",
            None => "-",
        };
        let _ = writeln!(out, ":{} {policy} [0:0]", c.name);
    }
    for c in rs.chains.iter().filter(|c| BUILTIN.contains(&c.name.as_str())) {
        let _ = writeln!(out, "-F {}", c.name);
    }
    for s in stale {
        let _ = writeln!(out, "-F {s}");
    }
    for s in stale {
        let _ = writeln!(out, "-X {s}");
    }
    for c in &rs.chains {
        for r in &c.rules {
            let _ = writeln!(out, "-A {} {}", c.name, format_rule(r, Family::V4));
        }
    }
    out.push_str("COMMIT\n");
    out
}

fn version(doc: &str) -> String {
    // Stable across runs and builds of the same Rust version; it only has to
    // tell two rulesets apart.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    doc.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Guard, save what is loaded, load the new ruleset atomically, record it.
pub fn apply(plan: &Plan<'_>, state: &StateDir) -> Result<Outcome, DeployError> {
    if let (Some(m), false) = (&plan.mgmt, plan.force)
        && let Some(cut) = guard::check(plan.load.ruleset(), m)
    {
        return Ok(Outcome::Refused(cut));
    }
    let (applied_doc, changes, chains) = match &plan.load {
        Load::Iptables(rs) => load_iptables(rs, state)?,
        Load::Nft { doc, .. } => load_nft(doc, state)?,
    };
    let version = version(&applied_doc);
    state.write(APPLIED_DOC, &applied_doc)?;
    state.write_json(
        APPLIED,
        &Applied {
            policy: plan.policy.clone(),
            firewall: plan.firewall.clone(),
            version: version.clone(),
            applied_at: now(),
            chains,
            backend: plan.load.name().into(),
        },
    )?;
    let pending = match plan.try_secs {
        Some(secs) => {
            let p = Pending { deadline: now() + secs, token: format!("{version}-{}", now()) };
            state.write_json(PENDING, &p)?;
            Some(p)
        }
        None => {
            state.remove(PENDING)?;
            None
        }
    };
    Ok(Outcome::Applied { diff: changes, version, pending })
}

/// Save the filter table, then replace Rampart's chains in it. Returns the
/// document loaded, the changes and Rampart's chains.
fn load_iptables(
    rs: &Ruleset,
    state: &StateDir,
) -> Result<(String, Vec<ChainDiff>, Vec<String>), DeployError> {
    let before = iptables::save()?;
    let ours: Vec<String> = rs.chains.iter().map(|c| c.name.clone()).collect();
    let previous: Option<Applied> = state.read_json(APPLIED)?;
    let loaded_chains: BTreeSet<String> = diff::rules_by_chain(&before).into_keys().collect();
    let stale: Vec<String> = previous
        .map(|p| p.chains)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| {
            !ours.contains(c) && !BUILTIN.contains(&c.as_str()) && loaded_chains.contains(c)
        })
        .collect();
    let doc = noflush_doc(rs, &stale);
    // Keep the way back before changing anything.
    state.write(PREVIOUS, &before)?;
    iptables::restore(&doc, true)?;
    let after = iptables::save()?;
    let mut compare = ours.clone();
    compare.extend(stale);
    let changes =
        diff::diff(&diff::rules_by_chain(&before), &diff::rules_by_chain(&after), &compare);
    Ok((doc, changes, ours))
}

/// Save Rampart's nft tables, then replace them. Returns the listing of
/// what was loaded (status compares the kernel's listing with it) and the
/// changes per chain and set.
fn load_nft(
    doc: &str,
    state: &StateDir,
) -> Result<(String, Vec<ChainDiff>, Vec<String>), DeployError> {
    let before = nft::listing()?;
    state.write(PREVIOUS, &(nft::replace_prefix() + &before))?;
    // Tables the new document does not define (an old ARP guard) go too.
    nft::load(&(nft::replace_prefix() + doc))?;
    let after = nft::listing()?;
    let changes = diff::diff(&nft::blocks(&before), &nft::blocks(&after), &[]);
    Ok((after, changes, vec![]))
}

/// Restore what was loaded before the last apply.
pub fn rollback(state: &StateDir) -> Result<(), DeployError> {
    let (Some(previous), Some(applied)) =
        (state.read(PREVIOUS)?, state.read_json::<Applied>(APPLIED)?)
    else {
        return Err(DeployError::Nothing(format!(
            "nothing to roll back to: no earlier ruleset saved in {}",
            state.path().display()
        )));
    };
    if applied.backend == "nft" {
        nft::load(&previous)?;
    } else {
        iptables::restore(&previous, false)?;
    }
    state.remove(PENDING)?;
    state.remove(APPLIED)?;
    state.remove(APPLIED_DOC)?;
    state.remove(PREVIOUS)
}

/// Keep the ruleset of a try: the watchdog will not roll it back.
pub fn confirm(state: &StateDir) -> Result<(), DeployError> {
    if state.read(PENDING)?.is_none() {
        return Err(DeployError::Nothing("no apply is waiting for confirmation".into()));
    }
    state.remove(PENDING)
}

/// What the watchdog did.
#[derive(Debug, PartialEq, Eq)]
pub enum Watch {
    Confirmed,
    RolledBack,
    /// A newer apply replaced this try; it is that one's watchdog's job.
    Superseded,
}

/// Wait for the try `token` to be confirmed; roll back at its deadline.
/// Runs detached from the terminal, so it survives the SSH session.
pub fn watchdog(state: &StateDir, token: &str) -> Result<Watch, DeployError> {
    loop {
        let Some(p) = state.read_json::<Pending>(PENDING)? else { return Ok(Watch::Confirmed) };
        if p.token != token {
            return Ok(Watch::Superseded);
        }
        if now() >= p.deadline {
            rollback(state)?;
            return Ok(Watch::RolledBack);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
