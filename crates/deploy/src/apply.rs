//! Apply, roll back, confirm, and the watchdog that rolls back a try
//! nobody confirmed.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::hash::{Hash, Hasher};

use rampart_ir::{Family, Restricted, Ruleset, Table, chain_line, format_rule};

use crate::diff::{self, ChainDiff};
use crate::guard::{self, Cut, Mgmt};
use crate::state::{Applied, Pending, StateDir, now};
use crate::{DeployError, iptables, nft};

pub const PREVIOUS: &str = "previous.v4";
pub const PREVIOUS6: &str = "previous.v6";
pub const APPLIED_DOC: &str = "applied.v4";
pub const APPLIED_DOC6: &str = "applied.v6";
pub const APPLIED: &str = "applied.json";
pub const PENDING: &str = "pending.json";
/// What `confirm` says when there is no try (also: it already rolled back).
pub const NOT_WAITING: &str = "no apply is waiting for confirmation";

/// How the rules reach the kernel.
pub enum Load<'a> {
    /// The compiled restricted-form rulesets, through iptables-restore and
    /// ip6tables-restore.
    Iptables { v4: &'a Restricted, v6: &'a Restricted },
    /// An `nft -f` document.
    Nft(String),
}

/// The rules the lock-out guard traces a connection through, per family:
/// the loaded ones, or rules that decide the same (the rich form for nft).
#[derive(Clone, Copy)]
pub struct Traced<'a> {
    pub v4: &'a Ruleset,
    pub v6: &'a Ruleset,
}

impl Load<'_> {
    fn name(&self) -> &'static str {
        match self {
            Load::Iptables { .. } => "iptables",
            Load::Nft(_) => "nft",
        }
    }
}

/// What to apply.
pub struct Plan<'a> {
    pub load: Load<'a>,
    pub traced: Traced<'a>,
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

/// An `iptables-restore --noflush` document that replaces exactly
/// Rampart's chains — the built-in ones and its own — and removes its
/// chains that are gone, leaving other software's chains (Docker, libvirt)
/// alone. A chain line flushes the chain it names.
#[must_use]
pub fn noflush_doc(rs: &Restricted, family: Family, stale: &[String]) -> String {
    let mut out = String::from("*filter\n");
    for c in &rs.chains {
        let _ = writeln!(out, "{}", chain_line(c));
    }
    for c in rs.chains.iter().filter(|c| c.is_builtin()) {
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
            let _ = writeln!(out, "-A {} {}", c.name, format_rule(rs, r, family));
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
        && let Some(cut) =
            guard::check(if m.family() == Family::V4 { plan.traced.v4 } else { plan.traced.v6 }, m)
    {
        return Ok(Outcome::Refused(cut));
    }
    let loaded = match &plan.load {
        Load::Iptables { v4, v6 } => load_iptables(v4, v6, state)?,
        Load::Nft(doc) => load_nft(doc, state)?,
    };
    let version = version(&(loaded.doc.clone() + loaded.doc6.as_deref().unwrap_or_default()));
    state.write(APPLIED_DOC, &loaded.doc)?;
    match &loaded.doc6 {
        Some(doc6) => state.write(APPLIED_DOC6, doc6)?,
        None => state.remove(APPLIED_DOC6)?,
    }
    state.write_json(
        APPLIED,
        &Applied {
            policy: plan.policy.clone(),
            firewall: plan.firewall.clone(),
            version: version.clone(),
            applied_at: now(),
            chains: loaded.chains,
            chains6: loaded.chains6,
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
    Ok(Outcome::Applied { diff: loaded.diff, version, pending })
}

/// What one load put into the kernel.
struct Loaded {
    /// The document loaded (nft: the kernel's listing after loading), which
    /// status compares with the kernel later.
    doc: String,
    /// The IPv6 document, when ip6tables was loaded too.
    doc6: Option<String>,
    diff: Vec<ChainDiff>,
    /// Rampart's chains per family (iptables only).
    chains: Vec<String>,
    chains6: Vec<String>,
}

/// Save both filter tables, then replace Rampart's chains in them: IPv4,
/// then IPv6. If IPv6 fails, IPv4 is put back, so nothing is half-applied.
fn load_iptables(
    v4: &Restricted,
    v6: &Restricted,
    state: &StateDir,
) -> Result<Loaded, DeployError> {
    // The kernel first: where it refuses (no privilege, no module), that is
    // what the user must hear, not a complaint about the state directory.
    let before = iptables::save(Family::V4)?;
    let before6 = iptables::save(Family::V6)?;
    let previous: Option<Applied> = state.read_json(APPLIED)?;
    // Keep the way back before changing anything.
    state.write(PREVIOUS, &before)?;
    state.write(PREVIOUS6, &before6)?;
    let old =
        |f: fn(&Applied) -> &Vec<String>| previous.as_ref().map(f).cloned().unwrap_or_default();
    let (doc, mut diff, chains) = replace(Family::V4, v4, &old(|p| &p.chains), &before)?;
    let (doc6, diff6, chains6) = match replace(Family::V6, v6, &old(|p| &p.chains6), &before6) {
        Ok(x) => x,
        Err(e) => {
            iptables::restore(Family::V4, &before, false)?;
            return Err(e);
        }
    };
    diff.extend(diff6);
    Ok(Loaded { doc, doc6: Some(doc6), diff, chains, chains6 })
}

/// Replace Rampart's chains of one family; `before` is the saved table and
/// `old` the chains the last apply made. Returns the document loaded, the
/// changes and Rampart's chains now.
fn replace(
    family: Family,
    rs: &Restricted,
    old: &[String],
    before: &str,
) -> Result<(String, Vec<ChainDiff>, Vec<String>), DeployError> {
    let ours: Vec<String> = rs.chains.iter().map(|c| c.name.clone()).collect();
    let loaded_chains: BTreeSet<String> = diff::rules_by_chain(before).into_keys().collect();
    let stale: Vec<String> = old
        .iter()
        .filter(|c| {
            !ours.contains(c) && Table::Filter.builtin(c).is_none() && loaded_chains.contains(*c)
        })
        .cloned()
        .collect();
    let doc = noflush_doc(rs, family, &stale);
    iptables::restore(family, &doc, true)?;
    let after = iptables::save(family)?;
    let mut compare = ours.clone();
    compare.extend(stale);
    let mut changes =
        diff::diff(&diff::rules_by_chain(before), &diff::rules_by_chain(&after), &compare);
    if family == Family::V6 {
        for c in &mut changes {
            c.chain = format!("chain {} (IPv6)", c.chain);
        }
    }
    Ok((doc, changes, ours))
}

/// Save Rampart's nft tables, then replace them. Returns the listing of
/// what was loaded (status compares the kernel's listing with it) and the
/// changes per chain and set.
fn load_nft(doc: &str, state: &StateDir) -> Result<Loaded, DeployError> {
    let before = nft::listing()?;
    state.write(PREVIOUS, &(nft::replace_prefix() + &before))?;
    state.remove(PREVIOUS6)?;
    // Tables the new document does not define (an old ARP guard) go too.
    nft::load(&(nft::replace_prefix() + doc))?;
    let after = nft::listing()?;
    let diff = diff::diff(&nft::blocks(&before), &nft::blocks(&after), &[]);
    Ok(Loaded { doc: after, doc6: None, diff, chains: vec![], chains6: vec![] })
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
        iptables::restore(Family::V4, &previous, false)?;
        if let Some(previous6) = state.read(PREVIOUS6)? {
            iptables::restore(Family::V6, &previous6, false)?;
        }
    }
    for f in [PENDING, APPLIED, APPLIED_DOC, APPLIED_DOC6, PREVIOUS6] {
        state.remove(f)?;
    }
    state.remove(PREVIOUS)
}

/// Keep the ruleset of a try: the watchdog will not roll it back.
pub fn confirm(state: &StateDir) -> Result<(), DeployError> {
    if state.read(PENDING)?.is_none() {
        return Err(DeployError::Nothing(NOT_WAITING.into()));
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
