//! `rampart apply --host ...`: compile here, push to many hosts over
//! OpenSSH at once, confirm each from a new connection, sum it up.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rampart_deploy::remote::{self, Host, HostStatus, Push, PushOutcome, Report, Ssh};
use rampart_diag::Sources;
use rayon::prelude::*;

use crate::commands::deploy::{ApplyArgs, Backend};
use crate::commands::{INVALID, compile};
use crate::policy;
use crate::printer;

#[derive(Debug, clap::Args)]
pub(crate) struct RemoteArgs {
    /// Work on this host over SSH instead of here; repeat for a fleet.
    /// Form: [FIREWALL=][USER@]HOST[:PORT]. For apply, FIREWALL= names the
    /// policy's firewall for the host; else --firewall, else the one named
    /// like the host (its first DNS label).
    #[arg(long, value_name = "[FW=][USER@]HOST[:PORT]")]
    pub(crate) host: Vec<String>,
    /// An ssh option for every connection (`-o OPTION`), e.g.
    /// IdentityFile=~/.ssh/fleet; repeat as needed. ~/.ssh/config applies.
    #[arg(long = "ssh-option", value_name = "OPTION", requires = "host")]
    ssh_options: Vec<String>,
    /// Seconds to wait for an SSH connection, also for the confirming one.
    #[arg(long, default_value = "10", value_name = "SECONDS", requires = "host")]
    connect_timeout: u64,
    /// How to run rampart on the hosts, as shell words.
    #[arg(long, default_value = "rampart", value_name = "COMMAND", requires = "host")]
    remote_rampart: String,
    /// Hosts worked on at the same time.
    #[arg(long, short = 'j', default_value = "8", value_name = "N", requires = "host")]
    jobs: usize,
}

impl RemoteArgs {
    pub(crate) fn hosts(&self) -> anyhow::Result<Vec<Host>> {
        self.host
            .iter()
            .map(|h| h.parse::<Host>().map_err(|e| anyhow::anyhow!("--host `{h}`: {e}")))
            .collect()
    }

    fn ssh(&self) -> Ssh {
        Ssh {
            program: "ssh".into(),
            options: self.ssh_options.clone(),
            connect_timeout: self.connect_timeout,
            remote_rampart: self.remote_rampart.clone(),
        }
    }
}

pub(crate) fn run(policy_path: &Path, a: &ApplyArgs, r: &RemoteArgs) -> anyhow::Result<ExitCode> {
    let hosts = r.hosts()?;
    let mut sources = Sources::new();
    let Some(model) =
        policy::load_valid(policy_path, &mut sources, policy::Analysis::Errors, "pushed")?
    else {
        return Ok(ExitCode::from(INVALID));
    };
    // Every host's firewall must exist before anything is pushed anywhere.
    let mut firewalls = BTreeMap::new();
    let mut names = Vec::new();
    for h in &hosts {
        let fw_name = h.firewall.as_deref().or(a.firewall.as_deref()).unwrap_or(h.firewall_name());
        let fw = policy::pick(&model, Some(fw_name)).with_context(|| {
            format!("--host {h}: no firewall `{fw_name}` (name it: --host FIREWALL={h})")
        })?;
        firewalls.insert(fw.name.clone(), fw);
        names.push(fw.name.clone());
    }
    // Compile each firewall once, side by side.
    let policy_name = policy_path.display().to_string();
    let bundles: BTreeMap<String, String> = firewalls
        .par_iter()
        .map(|(n, fw)| {
            let c = rampart_lower::compile(fw);
            (n.clone(), compile::bundle(fw, &c, &policy_name).to_json())
        })
        .collect();
    let work: Vec<(&Host, &str, &str)> =
        hosts.iter().zip(&names).map(|(h, n)| (h, n.as_str(), bundles[n].as_str())).collect();
    let ssh = r.ssh();
    let backend = match a.backend {
        Backend::Iptables => "iptables",
        Backend::Nft => "nft",
    };
    let push = |bundle_json| Push {
        bundle_json,
        backend,
        try_secs: a.try_secs.unwrap_or(60),
        force: a.force,
    };
    // Each host's report is printed as soon as it is done: a long fleet
    // shows progress.
    let reports = on_hosts(&work, r.jobs, |&(host, fw, json)| {
        let report = remote::push(host, &ssh, &push(json));
        printer::note(&format!(
            "{host} ({fw}): {}\n{}",
            describe(&report.outcome),
            indent(&report.transcript)
        ));
        report
    })?;
    let failed = reports.iter().filter(|r| !r.outcome.ok()).count();
    if a.json {
        printer::out(&format!("{:#}\n", json(&reports)));
    } else {
        printer::out(&summary(&reports));
    }
    printer::note(&format!(
        "{} host(s): {} applied, {failed} not",
        reports.len(),
        reports.len() - failed
    ));
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(INVALID) })
}

/// `f` on every host, `jobs` at a time, results in host order.
fn on_hosts<W: Sync, T: Send>(
    work: &[W],
    jobs: usize,
    f: impl Fn(&W) -> T + Sync + Send,
) -> anyhow::Result<Vec<T>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    Ok(pool.install(|| work.par_iter().map(f).collect()))
}

fn describe(o: &PushOutcome) -> String {
    match o {
        PushOutcome::Applied { version, confirmed: true } => {
            format!("applied version {version}, confirmed from a new connection")
        }
        PushOutcome::Applied { version, confirmed: false } => {
            format!("applied version {version} for good (no try)")
        }
        PushOutcome::Refused { reason } => format!("refused, nothing loaded: {reason}"),
        PushOutcome::Unconfirmed { version, why } => {
            format!("applied version {version} but could not confirm: {why}")
        }
        PushOutcome::Broken { why } => format!(
            "the session broke during apply ({why}); if the rules were loaded, the host rolls back by itself"
        ),
        PushOutcome::Failed { why } => format!("not applied: {why}"),
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn summary(reports: &[Report]) -> String {
    let width = reports.iter().map(|r| r.host.to_string().len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:<width$}  {:<12}  {}\n", "HOST", "RESULT", "DETAIL");
    for r in reports {
        let detail = match &r.outcome {
            PushOutcome::Applied { version, .. } => format!("version {version}"),
            PushOutcome::Refused { reason: why }
            | PushOutcome::Unconfirmed { why, .. }
            | PushOutcome::Broken { why }
            | PushOutcome::Failed { why } => why.clone(),
        };
        out.push_str(&format!(
            "{:<width$}  {:<12}  {detail}\n",
            r.host.to_string(),
            r.outcome.word()
        ));
    }
    out
}

fn json(reports: &[Report]) -> serde_json::Value {
    serde_json::json!({
        "hosts": reports.iter().map(|r| {
            let (version, detail) = match &r.outcome {
                PushOutcome::Applied { version, .. } => (Some(version), None),
                PushOutcome::Unconfirmed { version, why } => (Some(version), Some(why)),
                PushOutcome::Refused { reason: why } | PushOutcome::Broken { why } | PushOutcome::Failed { why } => (None, Some(why)),
            };
            serde_json::json!({
                "host": r.host.to_string(),
                "result": r.outcome.word(),
                "version": version,
                "detail": detail,
                "changes": r.transcript.lines().collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}

/// `rampart status --host ...`: every host's status, one line each.
pub(crate) fn status(r: &RemoteArgs, json: bool) -> anyhow::Result<ExitCode> {
    let hosts = r.hosts()?;
    let ssh = r.ssh();
    let states = on_hosts(&hosts, r.jobs, |h| remote::status(h, &ssh))?;
    let ok = states.iter().filter(|s| s.as_ref().is_ok_and(HostStatus::matches)).count();
    if json {
        let v: Vec<_> = hosts
            .iter()
            .zip(&states)
            .map(|(h, s)| match s {
                Ok(s) => {
                    serde_json::json!({"host": h.to_string(), "state": s.word(), "status": s.status})
                }
                Err(why) => {
                    serde_json::json!({"host": h.to_string(), "state": "failed", "detail": why})
                }
            })
            .collect();
        printer::out(&format!("{:#}\n", serde_json::json!({ "hosts": v })));
    } else {
        let width = hosts.iter().map(|h| h.to_string().len()).max().unwrap_or(4).max(4);
        let mut out = format!("{:<width$}  {:<9}  {}\n", "HOST", "STATE", "DETAIL");
        for (h, s) in hosts.iter().zip(&states) {
            let (word, detail) = match s {
                Ok(s) => (s.word(), s.detail()),
                Err(why) => ("failed", why.clone()),
            };
            out.push_str(&format!("{:<width$}  {word:<9}  {detail}\n", h.to_string()));
        }
        printer::out(&out);
    }
    printer::note(&format!("{} host(s): {ok} match, {} not", hosts.len(), hosts.len() - ok));
    Ok(if ok == hosts.len() { ExitCode::SUCCESS } else { ExitCode::from(INVALID) })
}
