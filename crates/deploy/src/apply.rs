//! Apply, roll back, confirm, and the watchdog that rolls back a try
//! nobody confirmed.
//!
//! The way back is armed before anything is loaded: the last confirmed
//! state is saved, the new record and a pending entry are written and the
//! watchdog is started; only then do the rules go in. A try that is not
//! confirmed, an apply that fails, is interrupted or killed half-way, all
//! end in the last confirmed state.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use rampart_emit::hooked;
use rampart_ir::{Family, Restricted, Ruleset, Table};

use crate::diff::{self, ChainDiff};
use crate::guard::{self, Cut, Mgmt};
use crate::state::{
    APPLIED, Applied, PENDING, PREVIOUS, PREVIOUS_MANGLE, PREVIOUS_MANGLE6, PREVIOUS_NAT,
    PREVIOUS_NAT6, PREVIOUS_NFT, PREVIOUS_RECORD, PREVIOUS6, Pending, StateDir, UNCONFIRMED, now,
};
use crate::{DeployError, iptables, nft, table};

/// What `confirm` says when there is no try (also: it already rolled back).
pub const NOT_WAITING: &str = "no apply is waiting for confirmation";

/// How long an apply without a try may take before its watchdog takes it
/// for dead (killed half-way) and restores the last confirmed state.
const IN_FLIGHT_SECS: u64 = 120;

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

/// Starts the watchdog for a pending entry (a detached process that runs
/// [`watchdog`]); an error means the rollback is not armed.
pub type Arm<'a> = &'a dyn Fn(&Pending) -> Result<(), String>;

/// What to apply.
pub struct Plan<'a> {
    pub load: Load<'a>,
    pub traced: Traced<'a>,
    pub policy: String,
    pub firewall: String,
    /// The digest of the bundle applied (see [`crate::bundle`]).
    pub bundle: String,
    pub mgmt: Option<Mgmt>,
    /// Load even when the guard says the management connection would be cut.
    pub force: bool,
    /// Roll back after this many seconds unless confirmed.
    pub try_secs: Option<u64>,
    pub arm: Arm<'a>,
}

#[derive(Debug)]
pub enum ApplyOutcome {
    /// Loaded; the changes per chain, and the try waiting for confirmation.
    Applied { diff: Vec<ChainDiff>, version: String, pending: Option<Pending> },
    /// The guard refused; nothing was loaded.
    Refused(Cut),
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Called from the signal handler (HUP, INT, TERM): an apply that has
/// loaded rules puts back the last confirmed state instead of finishing.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// A stable id of a ruleset: the same documents give the same version on
/// every build and host.
fn version(doc: &str) -> String {
    crate::digest(doc)[..16].to_owned()
}

/// The kernel's state that a rollback returns to: the filter tables as
/// saved and Rampart's nft tables as listed, for the backends in use.
struct Snapshot {
    v4: Option<String>,
    v6: Option<String>,
    nft: Option<String>,
    /// The nat tables, when Rampart had or loads NAT rules.
    nat4: Option<String>,
    nat6: Option<String>,
    /// The mangle tables, when Rampart had or loads marks.
    mangle4: Option<String>,
    mangle6: Option<String>,
}

impl Snapshot {
    fn take(iptables: bool, nft: bool, nat: bool, mangle: bool) -> Result<Self, DeployError> {
        let save =
            |on: bool, f, t| (iptables && on).then(|| iptables::save_table(f, t)).transpose();
        Ok(Self {
            v4: iptables.then(|| iptables::save(Family::V4)).transpose()?,
            v6: iptables.then(|| iptables::save(Family::V6)).transpose()?,
            nft: nft.then(nft::listing).transpose()?,
            nat4: save(nat, Family::V4, Table::Nat)?,
            nat6: save(nat, Family::V6, Table::Nat)?,
            mangle4: save(mangle, Family::V4, Table::Mangle)?,
            mangle6: save(mangle, Family::V6, Table::Mangle)?,
        })
    }

    fn store(&self, state: &StateDir) -> Result<(), DeployError> {
        for (name, text) in [
            (PREVIOUS, &self.v4),
            (PREVIOUS6, &self.v6),
            (PREVIOUS_NFT, &self.nft),
            (PREVIOUS_NAT, &self.nat4),
            (PREVIOUS_NAT6, &self.nat6),
            (PREVIOUS_MANGLE, &self.mangle4),
            (PREVIOUS_MANGLE6, &self.mangle6),
        ] {
            match text {
                Some(t) => state.write(name, t)?,
                None => state.remove(name)?,
            }
        }
        Ok(())
    }

    fn read(state: &StateDir) -> Result<Option<Self>, DeployError> {
        let s = Self {
            v4: state.read(PREVIOUS)?,
            v6: state.read(PREVIOUS6)?,
            nft: state.read(PREVIOUS_NFT)?,
            nat4: state.read(PREVIOUS_NAT)?,
            nat6: state.read(PREVIOUS_NAT6)?,
            mangle4: state.read(PREVIOUS_MANGLE)?,
            mangle6: state.read(PREVIOUS_MANGLE6)?,
        };
        Ok((s.v4.is_some() || s.nft.is_some()).then_some(s))
    }
}

fn is(record: Option<&Applied>, backend: &str) -> bool {
    record.is_some_and(|r| r.backend == backend)
}

/// Guard, arm the way back, load the new ruleset atomically, record it.
pub fn apply(plan: &Plan<'_>, state: &StateDir) -> Result<ApplyOutcome, DeployError> {
    // The kernel first: where it refuses (no privilege, no module), that is
    // what the user must hear, not a complaint about the state directory.
    crate::preflight::capable("nothing was loaded")?;
    match plan.load {
        Load::Iptables { .. } => iptables::save(Family::V4).map(drop)?,
        Load::Nft(_) => nft::listing().map(drop)?,
    }
    let _lock = state.lock(false)?;
    if let (Some(m), false) = (&plan.mgmt, plan.force)
        && let Some(cut) =
            guard::check(if m.family() == Family::V4 { plan.traced.v4 } else { plan.traced.v6 }, m)
    {
        return Ok(ApplyOutcome::Refused(cut));
    }
    if let Some(m) = &plan.mgmt {
        let tracked = crate::conntrack::track(m);
        // With --force, a session that cannot be made known is the user's risk.
        if !plan.force {
            tracked?;
        }
    }
    if let Load::Nft(doc) = &plan.load {
        nft::check_scope(doc).map_err(DeployError::NftScope)?;
        // What this kernel cannot load (a module missing in a container)
        // is said now, before the way back is armed.
        nft::check(doc)?;
    }
    let current: Option<Applied> = state.read_json(APPLIED)?;
    let unconfirmed = state.read_json::<Pending>(PENDING)?.is_some();
    let confirmed: Option<Applied> =
        if unconfirmed { state.read_json(PREVIOUS_RECORD)? } else { current.clone() };
    let records = [current.as_ref(), confirmed.as_ref()];
    let name = plan.load.name();
    let had_nat = records.iter().flatten().any(|r| !r.nat.is_empty() || !r.nat6.is_empty());
    let had_mangle =
        records.iter().flatten().any(|r| !r.mangle.is_empty() || !r.mangle6.is_empty());
    let loads = |t| match &plan.load {
        Load::Iptables { v4, v6 } => v4.table(t).next().is_some() || v6.table(t).next().is_some(),
        Load::Nft(_) => false,
    };
    let before = Snapshot::take(
        name == "iptables" || records.iter().any(|r| is(*r, "iptables")),
        name == "nft" || records.iter().any(|r| is(*r, "nft")),
        had_nat || loads(Table::Nat),
        had_mangle || loads(Table::Mangle),
    )?;
    // While a try waits, the way back stays the last confirmed state.
    if !unconfirmed {
        before.store(state)?;
        state.put_json(PREVIOUS_RECORD, current.as_ref())?;
    }

    // The record goes in before the rules: a rollback must know which
    // chains to remove, including those of a try this apply replaces.
    let (record, loads) = prepare(plan, current.as_ref(), confirmed.as_ref(), &before)?;
    let pending = Pending {
        deadline: now() + plan.try_secs.unwrap_or(IN_FLIGHT_SECS),
        token: format!("{}-{}-{}", record.version, now(), std::process::id()),
        awaits_confirm: plan.try_secs.is_some(),
    };
    state.write_json(APPLIED, &record)?;
    let armed = state.write_json(PENDING, &pending).map_err(|e| e.to_string());
    if let Err(why) = armed.and_then(|()| (plan.arm)(&pending)) {
        return Err(unarmed(state, current.as_ref(), unconfirmed, &why));
    }

    let sets = match &plan.load {
        Load::Iptables { v4, v6 } => crate::sets::ensure(v4, v6),
        Load::Nft(_) => Ok(()),
    };
    let loaded = match loads {
        Loads::Iptables { v4, v6 } => sets
            .and_then(|()| iptables::restore(Family::V4, &v4, true))
            .and_then(|()| iptables::restore(Family::V6, &v6, true)),
        Loads::Nft(doc) => crate::sets::carry_over(&doc).and_then(|doc| nft::load(&doc)),
    }
    .and_then(|()| other_backend_out(name, &records));
    if let Err(e) = loaded {
        return Err(back_to_confirmed(state, &format!("{e}\nThe load failed")));
    }
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(back_to_confirmed(state, "interrupted by a signal after loading"));
    }
    // Loaded: whatever fails from here undoes the load, and says so.
    finish(plan, state, &before, record, pending).map_err(|e| {
        back_to_confirmed(state, &format!("{e}\nThe rules were loaded, but recording them failed"))
    })
}

/// Record what was loaded, and for an apply without a try, confirm it
/// (the boot files follow).
fn finish(
    plan: &Plan<'_>,
    state: &StateDir,
    before: &Snapshot,
    mut record: Applied,
    pending: Pending,
) -> Result<ApplyOutcome, DeployError> {
    let diff = match (before, plan.load.name()) {
        (_, "nft") => {
            let after = nft::listing()?;
            let d = diff::diff(
                &nft::blocks(before.nft.as_deref().unwrap_or("")),
                &nft::blocks(&after),
                &[],
            );
            record.doc = after;
            d
        }
        _ => {
            let mut d = changes(Family::V4, before.v4.as_deref(), &record.chains)?;
            d.extend(changes(Family::V6, before.v6.as_deref(), &record.chains6)?);
            d
        }
    };
    // Loaded: the chains it removed are gone.
    let ours = |rs: &Restricted, family, table| {
        hooked::owned(rs, family, table).chains.into_iter().map(|(c, _)| c).collect()
    };
    if let Load::Iptables { v4, v6 } = &plan.load {
        record.chains = ours(v4, Family::V4, Table::Filter);
        record.chains6 = ours(v6, Family::V6, Table::Filter);
        record.nat = ours(v4, Family::V4, Table::Nat);
        record.nat6 = ours(v6, Family::V6, Table::Nat);
        record.mangle = ours(v4, Family::V4, Table::Mangle);
        record.mangle6 = ours(v6, Family::V6, Table::Mangle);
    }
    state.write_json(APPLIED, &record)?;
    let pending = match plan.try_secs {
        Some(_) => Some(pending),
        None => {
            // An apply for good confirms itself by finishing.
            persist(state, Some(&record))?;
            state.remove(PENDING)?;
            None
        }
    };
    Ok(ApplyOutcome::Applied { diff, version: record.version, pending })
}

/// One backend at a time: once the new rules are in, what earlier applies
/// loaded with the other backend goes (after, so no moment is unfiltered).
fn other_backend_out(name: &str, records: &[Option<&Applied>]) -> Result<(), DeployError> {
    let other: Vec<&Applied> =
        records.iter().flatten().filter(|r| r.backend != name).copied().collect();
    if other.is_empty() {
        return Ok(());
    }
    if name == "iptables" {
        return nft::load(&nft::replace_prefix());
    }
    for (family, table, chains) in [
        (
            Family::V4,
            Table::Filter,
            (|r: &Applied| r.chains.clone()) as fn(&Applied) -> Vec<String>,
        ),
        (Family::V6, Table::Filter, |r: &Applied| r.chains6.clone()),
        (Family::V4, Table::Nat, |r: &Applied| r.nat.clone()),
        (Family::V6, Table::Nat, |r: &Applied| r.nat6.clone()),
        (Family::V4, Table::Mangle, |r: &Applied| r.mangle.clone()),
        (Family::V6, Table::Mangle, |r: &Applied| r.mangle6.clone()),
    ] {
        let ours: BTreeSet<String> = other.iter().flat_map(|r| chains(r)).collect();
        if ours.is_empty() && table != Table::Filter {
            continue;
        }
        let live = iptables::save_table(family, table)?;
        let none = hooked::Owned { table, ..Default::default() };
        iptables::restore(family, &table::transition(&none, &ours, &live), true)?;
    }
    Ok(())
}

/// The documents one apply loads.
enum Loads {
    Iptables { v4: String, v6: String },
    Nft(String),
}

/// The record of this apply and the documents to load.
fn prepare(
    plan: &Plan<'_>,
    current: Option<&Applied>,
    confirmed: Option<&Applied>,
    before: &Snapshot,
) -> Result<(Applied, Loads), DeployError> {
    let mut record = Applied {
        policy: plan.policy.clone(),
        firewall: plan.firewall.clone(),
        bundle: plan.bundle.clone(),
        version: String::new(),
        applied_at: now(),
        chains: vec![],
        chains6: vec![],
        nat: vec![],
        nat6: vec![],
        mangle: vec![],
        mangle6: vec![],
        backend: plan.load.name().into(),
        doc: String::new(),
        doc6: None,
        boot: crate::boot::files(&plan.load),
    };
    let loads = match &plan.load {
        Load::Iptables { v4, v6 } => {
            let old = |f: fn(&Applied) -> &Vec<String>| {
                [current, confirmed].into_iter().flatten().flat_map(f).cloned().collect()
            };
            let filter = Table::Filter;
            let (mut doc, chains) =
                replacing(v4, Family::V4, filter, &old(|p| &p.chains), before.v4.as_deref())?;
            let (mut doc6, chains6) =
                replacing(v6, Family::V6, filter, &old(|p| &p.chains6), before.v6.as_deref())?;
            // The nat and mangle tables only where Rampart has or had
            // rules there.
            let (nat, mangle) = (Table::Nat, Table::Mangle);
            for (table, old4, old6, saved4, saved6) in [
                (nat, old(|p| &p.nat), old(|p| &p.nat6), &before.nat4, &before.nat6),
                (mangle, old(|p| &p.mangle), old(|p| &p.mangle6), &before.mangle4, &before.mangle6),
            ] {
                let mut chains4 = vec![];
                let mut chains6 = vec![];
                if v4.table(table).next().is_some() || !old4.is_empty() {
                    let (d, c) = replacing(v4, Family::V4, table, &old4, saved4.as_deref())?;
                    doc.push_str(&d);
                    chains4 = c;
                }
                if v6.table(table).next().is_some() || !old6.is_empty() {
                    let (d, c) = replacing(v6, Family::V6, table, &old6, saved6.as_deref())?;
                    doc6.push_str(&d);
                    chains6 = c;
                }
                if table == nat {
                    (record.nat, record.nat6) = (chains4, chains6);
                } else {
                    (record.mangle, record.mangle6) = (chains4, chains6);
                }
            }
            record.version = version(&(doc.clone() + &doc6));
            (record.chains, record.chains6) = (chains, chains6);
            // What status compares with the kernel: the filter part, then
            // the nat and mangle parts.
            let listing = |rs, family| {
                let mut doc = table::listing(&hooked::owned(rs, family, filter));
                for table in [nat, mangle] {
                    let part = hooked::owned(rs, family, table);
                    if !part.chains.is_empty() {
                        doc.push_str(&table::listing(&part));
                    }
                }
                doc
            };
            record.doc = listing(v4, Family::V4);
            record.doc6 = Some(listing(v6, Family::V6));
            Loads::Iptables { v4: doc, v6: doc6 }
        }
        Load::Nft(doc) => {
            record.version = version(doc);
            Loads::Nft(nft::replace_prefix() + doc)
        }
    };
    Ok((record, loads))
}

/// The document replacing Rampart's part of one family's filter table
/// (`old`: the chains Rampart has there now), and the chains Rampart has
/// while it loads: the new ones and those it removes. A chain of the new
/// ruleset that exists but is not Rampart's is refused: it belongs to other
/// software.
fn replacing(
    rs: &Restricted,
    family: Family,
    table: Table,
    old: &BTreeSet<String>,
    before: Option<&str>,
) -> Result<(String, Vec<String>), DeployError> {
    let before = before.unwrap_or_default();
    if let Some(c) =
        rs.chains.iter().find(|c| !matches!(c.table, Table::Filter | Table::Nat | Table::Mangle))
    {
        return Err(DeployError::Unsupported(format!(
            "the ruleset has a `{}` table chain ({}): apply loads the filter, nat and mangle \
             tables only; nothing was loaded",
            c.table.name(),
            c.name
        )));
    }
    let target = hooked::owned(rs, family, table);
    let mut named: Vec<String> = old.iter().cloned().collect();
    named.extend(target.chains.iter().map(|(c, _)| c.clone()));
    let loaded: BTreeSet<String> = diff::rules_in(before, table, &named)?.into_keys().collect();
    if let Some((c, _)) = target.chains.iter().find(|(c, _)| loaded.contains(c) && !old.contains(c))
    {
        return Err(DeployError::Foreign(format!(
            "chain `{c}` exists in the {} {} table and is not Rampart's (another program \
             made it): nothing was loaded. Rename the rule set, or remove that chain",
            if family == Family::V4 { "IPv4" } else { "IPv6" },
            table.name()
        )));
    }
    let mut ours: BTreeSet<String> = old.clone();
    ours.extend(target.chains.iter().map(|(c, _)| c.clone()));
    let doc = table::transition(&target, &ours, before);
    let new: Vec<String> = target.chains.iter().map(|(c, _)| c.clone()).collect();
    let leaving = old.iter().filter(|c| !new.contains(c) && loaded.contains(*c)).cloned();
    let chains = new.iter().cloned().chain(leaving).collect();
    Ok((doc, chains))
}

/// The changes a load made to Rampart's chains of one family.
fn changes(
    family: Family,
    before: Option<&str>,
    chains: &[String],
) -> Result<Vec<ChainDiff>, DeployError> {
    let after = iptables::save(family)?;
    let filter = Table::Filter;
    let mut d = diff::diff(
        &diff::rules_in(before.unwrap_or_default(), filter, chains)?,
        &diff::rules_in(&after, filter, chains)?,
        chains,
    );
    if family == Family::V6 {
        for c in &mut d {
            c.chain = format!("chain {} (IPv6)", c.chain);
        }
    }
    Ok(d)
}

/// The watchdog could not be started: nothing new is loaded. A try this
/// apply was replacing has lost its watchdog, so it is rolled back.
fn unarmed(
    state: &StateDir,
    current: Option<&Applied>,
    unconfirmed: bool,
    why: &str,
) -> DeployError {
    let what = format!("cannot arm the rollback ({why})");
    if unconfirmed {
        return back_to_confirmed(state, &format!("{what}; nothing new was loaded"));
    }
    let undo = state.put_json(APPLIED, current).and_then(|()| state.remove(PENDING));
    DeployError::Unprotected(match undo {
        Ok(()) => format!("{what}: nothing was loaded"),
        Err(e) => format!("{what}: nothing was loaded, but the state could not be reset: {e}"),
    })
}

/// After a failure with rules possibly loaded: put back the last confirmed
/// state, and say what happened either way.
fn back_to_confirmed(state: &StateDir, what: &str) -> DeployError {
    DeployError::RolledBack(match restore(state) {
        Ok(()) => format!("{what}: the last confirmed rules were put back"),
        Err(DeployError::Boot(e)) => format!("{what}: {e}"),
        Err(e) => format!(
            "{what}, and putting back the last confirmed rules failed: {e}\n\
             The new rules may be loaded; the watchdog tries again at its deadline \
             (or run `rampart rollback`)"
        ),
    })
}

/// Restore what was loaded at the last confirmed point.
pub fn rollback(state: &StateDir) -> Result<(), DeployError> {
    let _lock = state.lock(false)?;
    restore(state)
}

/// Put back the last confirmed state: Rampart's chains and tables only,
/// every other chain and table as it is now. The caller holds the lock.
fn restore(state: &StateDir) -> Result<(), DeployError> {
    let (Some(snapshot), Some(now_rec)) =
        (Snapshot::read(state)?, state.read_json::<Applied>(APPLIED)?)
    else {
        return Err(DeployError::Nothing(format!(
            "nothing to roll back to: no earlier ruleset saved in {}",
            state.path().display()
        )));
    };
    let then: Option<Applied> = state.read_json(PREVIOUS_RECORD)?;
    let records = [Some(&now_rec), then.as_ref()];
    for (family, saved, chains) in [
        (Family::V4, &snapshot.v4, (|r: &Applied| r.chains.clone()) as fn(&Applied) -> Vec<String>),
        (Family::V6, &snapshot.v6, |r: &Applied| r.chains6.clone()),
    ] {
        let Some(saved) = saved else { continue };
        let ours: BTreeSet<String> = records.iter().flatten().flat_map(|r| chains(r)).collect();
        let live = iptables::save(family)?;
        let doc = table::transition(&table::part(saved, &ours, Table::Filter), &ours, &live);
        iptables::restore(family, &doc, true)?;
    }
    for (family, table, saved, chains) in [
        (
            Family::V4,
            Table::Nat,
            &snapshot.nat4,
            (|r: &Applied| r.nat.clone()) as fn(&Applied) -> Vec<String>,
        ),
        (Family::V6, Table::Nat, &snapshot.nat6, |r: &Applied| r.nat6.clone()),
        (Family::V4, Table::Mangle, &snapshot.mangle4, |r: &Applied| r.mangle.clone()),
        (Family::V6, Table::Mangle, &snapshot.mangle6, |r: &Applied| r.mangle6.clone()),
    ] {
        let ours: BTreeSet<String> = records.iter().flatten().flat_map(|r| chains(r)).collect();
        if ours.is_empty() {
            continue;
        }
        // Not saved: the confirmed state had no rules of Rampart's there.
        let saved = saved.as_deref().unwrap_or_default();
        let live = iptables::save_table(family, table)?;
        let doc = table::transition(&table::part(saved, &ours, table), &ours, &live);
        iptables::restore(family, &doc, true)?;
    }
    if let Some(listing) = &snapshot.nft {
        nft::load(&(nft::replace_prefix() + listing))?;
    }
    state.put_json(APPLIED, then.as_ref())?;
    for f in UNCONFIRMED {
        state.remove(f)?;
    }
    // The kernel and the record are back whatever happens to the boot files.
    persist(state, then.as_ref()).map_err(|e| {
        DeployError::Boot(format!(
            "the last confirmed rules are back, but the boot files could not follow them: {e}"
        ))
    })
}

/// Keep the ruleset of a try: the watchdog will not roll it back.
pub fn confirm(state: &StateDir) -> Result<(), DeployError> {
    // Waits for an apply in progress or a rollback under way to finish.
    let _lock = state.lock(true)?;
    match state.read_json::<Pending>(PENDING)? {
        Some(p) if p.awaits_confirm => {
            persist(state, state.read_json::<Applied>(APPLIED)?.as_ref())?;
            state.remove(PENDING)
        }
        _ => Err(DeployError::Nothing(NOT_WAITING.into())),
    }
}

/// The boot files follow the confirmed state (none when Rampart applied
/// nothing), where there is a boot directory.
fn persist(state: &StateDir, confirmed: Option<&Applied>) -> Result<(), DeployError> {
    match state.boot() {
        Some(dir) => {
            crate::boot::persist(dir, &confirmed.map(|r| r.boot.clone()).unwrap_or_default())
        }
        None => Ok(()),
    }
}

/// What the watchdog did.
#[derive(Debug, PartialEq, Eq)]
pub enum Watch {
    /// Confirmed, or the apply finished.
    Confirmed,
    RolledBack,
    /// A newer apply replaced this try; it is that one's watchdog's job.
    Superseded,
}

/// Wait for the try `token` to be confirmed; roll back at its deadline.
/// Runs detached from the terminal, so it survives the SSH session; what
/// it does and every failure go to the kernel log, where an administrator
/// finds them (dmesg, the journal).
pub fn watchdog(state: &StateDir, token: &str) -> Result<Watch, DeployError> {
    let r = watch(state, token);
    let dir = state.path().display();
    match &r {
        Ok(Watch::RolledBack) => kernel_log(
            "warning",
            &format!("no confirmation came: the last confirmed rules are back (state {dir})"),
        ),
        Err(e) => kernel_log(
            "err",
            &format!("the watchdog cannot roll back the unconfirmed rules (state {dir}): {e}"),
        ),
        Ok(_) => {}
    }
    r
}

fn watch(state: &StateDir, token: &str) -> Result<Watch, DeployError> {
    loop {
        let Some(p) = state.read_json::<Pending>(PENDING)? else { return Ok(Watch::Confirmed) };
        if p.token != token {
            return Ok(Watch::Superseded);
        }
        if now() >= p.deadline {
            let _lock = state.lock(true)?;
            // Confirmed or replaced while the lock was held by someone else?
            match state.read_json::<Pending>(PENDING)? {
                Some(p) if p.token == token => {
                    restore(state)?;
                    return Ok(Watch::RolledBack);
                }
                _ => continue,
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// One line in the kernel log (`/dev/kmsg`), which dmesg and the journal
/// show; the watchdog has no terminal to print to.
fn kernel_log(level: &str, msg: &str) {
    let prio = if level == "err" { 3 } else { 4 };
    let line = format!("<{prio}>rampart: {}\n", msg.replace('\n', " "));
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_stable() {
        assert_eq!(version("x"), "2d711642b726b044");
    }
}
