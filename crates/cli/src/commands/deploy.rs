//! `rampart apply`, `confirm`, `rollback`, `status`, `install-service`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_deploy::apply::{self, Load, Outcome, Plan, Watch};
use rampart_deploy::guard::Mgmt;
use rampart_deploy::state::{DEFAULT_DIR, StateDir, now};
use rampart_deploy::{diff, systemd};
use rampart_diag::Sources;
use rampart_ir::Family;

use crate::commands::{INVALID, compile};
use crate::printer;

#[derive(Debug, clap::Args)]
pub(crate) struct StateArgs {
    /// Where Rampart keeps the applied and the previous ruleset.
    #[arg(long, env = "RAMPART_STATE_DIR", default_value = DEFAULT_DIR, value_name = "DIR")]
    state_dir: PathBuf,
}

impl StateArgs {
    fn dir(&self) -> StateDir {
        StateDir::new(&self.state_dir)
    }
}

/// Compile a policy and load it into the kernel, safely.
///
/// Before loading, the management connection (from $SSH_CONNECTION, or
/// --mgmt) is traced through the new rules; if they would cut it, nothing is
/// loaded and the deciding rule is shown (--force loads anyway). The loaded
/// filter table is saved, then the new rules replace Rampart's chains in one
/// iptables-restore transaction, leaving other software's chains alone. The
/// changes are shown per chain.
///
/// With --try (default 60 seconds when run over SSH), a watchdog detached
/// from the terminal restores the saved rules unless `rampart confirm` runs
/// in time, from a new connection: a lock-out undoes itself.
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    /// The policy file.
    policy: PathBuf,
    /// The firewall to apply (needed when the policy has several).
    #[arg(long, short = 'f')]
    firewall: Option<String>,
    /// Seconds to wait for `rampart confirm` before rolling back; 0 to
    /// apply for good. Default: 60 over SSH, else 0.
    #[arg(long = "try", value_name = "SECONDS")]
    try_secs: Option<u64>,
    /// The management connection to protect, as ADMIN_ADDR:SSH_PORT
    /// (default: from $SSH_CONNECTION).
    #[arg(long, value_name = "ADDR:PORT")]
    mgmt: Option<String>,
    /// Load even if the management connection would be cut.
    #[arg(long)]
    force: bool,
    /// How the rules reach the kernel.
    #[arg(long, value_enum, default_value = "iptables")]
    backend: Backend,
    #[command(flatten)]
    state: StateArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Backend {
    /// iptables-restore --noflush, replacing only Rampart's chains (IPv4).
    Iptables,
    /// nft -f, replacing only Rampart's tables (IPv4 and IPv6, and the ARP guard).
    Nft,
}

/// Keep the ruleset of `rampart apply --try`.
#[derive(Debug, clap::Args)]
pub(crate) struct ConfirmArgs {
    #[command(flatten)]
    state: StateArgs,
}

/// Restore the ruleset that was loaded before the last apply.
#[derive(Debug, clap::Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    state: StateArgs,
}

/// Is the loaded ruleset the one Rampart applied? Exit status 1 on drift.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    state: StateArgs,
}

/// Write systemd units that load the compiled firewall at boot, before the
/// network comes up, and run the log collector. (`rampart access install`
/// adds the access kit's audit timer.)
///
/// The compiled rules go to a stable path (--rules-dir), so boot needs no
/// compiler. Units are checked with `systemd-analyze verify` unless
/// --no-verify.
#[derive(Debug, clap::Args)]
pub(crate) struct InstallServiceArgs {
    /// The policy file.
    policy: PathBuf,
    #[arg(long, short = 'f')]
    firewall: Option<String>,
    /// Where the units go.
    #[arg(long, default_value = "/etc/systemd/system", value_name = "DIR")]
    unit_dir: PathBuf,
    /// Where the compiled rules go.
    #[arg(long, default_value = "/etc/rampart", value_name = "DIR")]
    rules_dir: PathBuf,
    /// Skip `systemd-analyze verify`.
    #[arg(long)]
    no_verify: bool,
}

/// Internal: the detached watchdog of `apply --try`.
#[derive(Debug, clap::Args)]
pub(crate) struct WatchdogArgs {
    #[arg(long)]
    token: String,
    #[command(flatten)]
    state: StateArgs,
}

pub(crate) fn apply(a: &ApplyArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(&a.policy, a.firewall.as_deref(), &mut sources)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let ssh = std::env::var("SSH_CONNECTION").ok();
    let mut mgmt = match (&a.mgmt, &ssh) {
        (Some(flag), _) => Some(
            Mgmt::from_flag(flag).with_context(|| format!("--mgmt `{flag}` is not ADDR:PORT"))?,
        ),
        (None, Some(conn)) => Mgmt::from_ssh_connection(conn),
        (None, None) => None,
    };
    // The interface the session arrives on: the one holding the address it
    // was made to, else the management interface.
    if let Some(m) = &mut mgmt {
        let holds = |i: &&rampart_model::Interface| {
            m.server.is_some_and(|s| i.addrs.iter().any(|n| n.addr() == s))
        };
        m.iface = fw
            .interfaces
            .iter()
            .find(holds)
            .or_else(|| fw.interfaces.iter().find(|i| i.management))
            .map(|i| i.name.clone());
    }
    let try_secs = match a.try_secs.or(ssh.as_ref().map(|_| 60)) {
        Some(0) | None => None,
        Some(s) => Some(s),
    };
    let load = match a.backend {
        Backend::Iptables => Load::Iptables(&compiled.v4),
        Backend::Nft => {
            let mut doc = rampart_nft::emit(&compiled.rich);
            if let Some(arp) = rampart_nft::arp_guard(&fw.arp_guards()) {
                doc.push('\n');
                doc.push_str(&arp);
            }
            Load::Nft { rich: &compiled.rich, doc }
        }
    };
    let plan = Plan {
        load,
        policy: a.policy.display().to_string(),
        firewall: fw.name.clone(),
        mgmt,
        force: a.force,
        try_secs,
    };
    let state = a.state.dir();
    match apply::apply(&plan, &state)? {
        Outcome::Refused(cut) => {
            printer::note(&format!(
                "refused: the new rules would cut the management connection.\n  {} would get {}\n  decided by {}\nNothing was loaded. Fix the policy, or use --force if you are sure.",
                cut.packet, cut.verdict, cut.decided_by
            ));
            Ok(ExitCode::from(INVALID))
        }
        Outcome::Applied { diff, version, pending } => {
            printer::out(&diff::render(&diff));
            printer::note(&format!("applied firewall `{}` (version {version})", fw.name));
            if compiled.v6.is_some() && matches!(a.backend, Backend::Iptables) {
                printer::note(
                    "note: the IPv6 rules were not applied; load them with `rampart compile --family 6 | ip6tables-restore`",
                );
            }
            if let Some(p) = pending {
                spawn_watchdog(&a.state.state_dir, &p.token)?;
                printer::note(&format!(
                    "trying for {} s: run `rampart confirm` from a NEW connection to keep these rules; \
                     otherwise the previous rules come back by themselves",
                    p.deadline.saturating_sub(now())
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Start the watchdog in its own session, so that a dying terminal or SSH
/// connection does not take it along.
fn spawn_watchdog(state_dir: &Path, token: &str) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the rampart binary for the watchdog")?;
    std::process::Command::new("setsid")
        .arg("-f")
        .arg(exe)
        .args(["watchdog", "--token", token, "--state-dir"])
        .arg(state_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .context("cannot start the rollback watchdog with setsid (apt-get install util-linux)")?;
    Ok(())
}

pub(crate) fn watchdog(a: &WatchdogArgs) -> anyhow::Result<ExitCode> {
    match apply::watchdog(&a.state.dir(), &a.token)? {
        Watch::RolledBack => printer::note("no confirmation came: the previous ruleset is back"),
        Watch::Confirmed | Watch::Superseded => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn confirm(a: &ConfirmArgs) -> anyhow::Result<ExitCode> {
    apply::confirm(&a.state.dir())?;
    printer::note("confirmed: the applied ruleset stays");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn rollback(a: &RollbackArgs) -> anyhow::Result<ExitCode> {
    apply::rollback(&a.state.dir())?;
    printer::note("rolled back: the ruleset from before the last apply is loaded");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn status(a: &StatusArgs) -> anyhow::Result<ExitCode> {
    let s = rampart_deploy::status::status(&a.state.dir())?;
    let drift = !s.drift.is_empty();
    if a.json {
        let v = serde_json::json!({
            "applied": s.applied.as_ref().map(|x| serde_json::json!({
                "policy": x.policy, "firewall": x.firewall, "version": x.version, "applied_at": x.applied_at,
            })),
            "pending_confirmation": s.pending.as_ref().map(|p| p.deadline),
            "drift": s.drift.iter().map(|d| serde_json::json!({
                "chain": d.chain, "added": d.added, "removed": d.removed, "reordered": d.reordered,
            })).collect::<Vec<_>>(),
        });
        printer::out(&format!("{v:#}\n"));
    } else {
        match &s.applied {
            None => printer::out("nothing applied by rampart\n"),
            Some(x) => printer::out(&format!(
                "firewall `{}` from {} (version {}), applied {} s ago\n{}{}",
                x.firewall,
                x.policy,
                x.version,
                now().saturating_sub(x.applied_at),
                if s.pending.is_some() { "waiting for `rampart confirm`\n" } else { "" },
                if drift {
                    format!("DRIFT: the loaded rules differ:\n{}", diff::render(&s.drift))
                } else {
                    "loaded rules match\n".into()
                },
            )),
        }
    }
    Ok(if drift { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}

pub(crate) fn install_service(a: &InstallServiceArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(&a.policy, a.firewall.as_deref(), &mut sources)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let title = format!(
        "firewall {} from {}, loaded at boot by rampart.service",
        fw.name,
        a.policy.display()
    );
    let rules = a.rules_dir.join("rules.v4");
    let rules6 = a.rules_dir.join("rules.v6");
    write(&rules, &rampart_emit::iptables_restore(&compiled.v4, Family::V4, &title, None))?;
    if let Some(v6) = &compiled.v6 {
        write(&rules6, &rampart_emit::iptables_restore(v6, Family::V6, &title, None))?;
    }
    let exe = std::env::current_exe().context("cannot find the rampart binary")?;
    let exe = exe.display().to_string();
    let restore = which("iptables-restore")?;
    let restore6 = which("ip6tables-restore").ok();
    let v6 = match (&compiled.v6, &restore6) {
        (Some(_), Some(r)) => Some((r.as_str(), rules6.to_str().unwrap_or_default())),
        _ => None,
    };
    let units = [
        ("rampart.service", systemd::firewall_unit(&restore, &rules.display().to_string(), v6)),
        ("rampart-logs.service", systemd::logs_unit(&exe, "/var/log/rampart/firewall.log")),
    ];
    let mut paths = Vec::new();
    for (name, text) in &units {
        let path = a.unit_dir.join(name);
        write(&path, text)?;
        paths.push(path);
    }
    printer::note(&format!(
        "wrote {} and {} units in {}",
        rules.display(),
        units.len(),
        a.unit_dir.display()
    ));
    if !a.no_verify {
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .args(&paths)
            .output()
            .context("cannot run systemd-analyze (apt-get install systemd)")?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            printer::note(&format!("systemd-analyze verify failed:\n{stderr}"));
            return Ok(ExitCode::from(INVALID));
        }
        printer::note("systemd-analyze verify: ok");
    }
    printer::note("enable with: systemctl daemon-reload && systemctl enable rampart.service");
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let tmp = PathBuf::from(format!("{}.rampart-tmp", path.display()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Absolute path of a tool, as systemd wants it.
fn which(tool: &str) -> anyhow::Result<String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .with_context(|| format!("`{tool}` not found (apt-get install iptables)"))
}
