//! `rampart apply`, `confirm`, `rollback`, `status`, `install-service`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_deploy::answer::{ApplyAnswer, StatusAnswer};
use rampart_deploy::apply::{self, ApplyOutcome, Load, Plan, Traced, Watch};
use rampart_deploy::bundle::Bundle;
use rampart_deploy::guard::Mgmt;
use rampart_deploy::preview::{self, Guard};
use rampart_deploy::state::{DEFAULT_BOOT_DIR, DEFAULT_DIR, Pending, StateDir, now};
use rampart_deploy::{boot, diff, systemd};
use rampart_diag::Sources;
use rampart_ir::Restricted;
use rampart_lower::Compiled;
use rampart_model::Firewall;

use crate::commands::{INVALID, compile, counters, push};
use crate::policy;
use crate::printer;

#[derive(Debug, clap::Args)]
pub(crate) struct StateArgs {
    /// Where Rampart keeps the applied and the previous ruleset.
    #[arg(long, env = "RAMPART_STATE_DIR", default_value = DEFAULT_DIR, value_name = "DIR")]
    state_dir: PathBuf,
    /// Where the boot files are kept equal to the last confirmed apply,
    /// once the directory exists (`rampart install-service` makes it).
    #[arg(long, env = "RAMPART_BOOT_DIR", default_value = DEFAULT_BOOT_DIR, value_name = "DIR")]
    boot_dir: PathBuf,
}

impl StateArgs {
    pub(crate) fn dir(&self) -> StateDir {
        StateDir::new(&self.state_dir).with_boot(&self.boot_dir)
    }
}

/// Compile a policy and load it into the kernel, safely.
///
/// Before loading, the management connection (from $SSH_CONNECTION — also
/// under sudo, from the login shell that ran it — or --mgmt) is traced through the new rules; if they would cut it, nothing is
/// loaded and the deciding rule is shown (--force loads anyway). The loaded
/// filter tables (IPv4 and IPv6) are saved, then the new rules replace
/// Rampart's chains in one iptables-restore transaction per family, leaving
/// other software's chains alone. The changes are shown per chain.
///
/// With --try (default 60 seconds when run over SSH), a watchdog detached
/// from the terminal restores the saved rules unless `rampart confirm` runs
/// in time, from a new connection: a lock-out undoes itself.
///
/// With --host, the firewall is pushed over OpenSSH instead, to several
/// hosts at once: each host runs `rampart apply --compiled -` on what was
/// compiled here (its guard traces the very SSH session), then a NEW
/// connection must get through to confirm; a host that cannot be reached
/// again rolls back by itself. A summary lists every host.
#[derive(Debug, clap::Args)]
#[command(
    group(clap::ArgGroup::new("input").required(true).args(["policy", "compiled"])),
    after_help = "Examples:\n  \
      rampart apply examples/spice-client.rp --try 60\n  \
      rampart apply fleet.rp --host gw1=root@192.0.2.10 --host root@fw2.example.net\n  \
      rampart compile fleet.rp --all --target bundle -o out/ && rampart apply --compiled out/gw1.json"
)]
pub(crate) struct ApplyArgs {
    /// The policy file.
    pub(crate) policy: Option<PathBuf>,
    /// Load a bundle made by `rampart compile --target bundle` (`-` reads
    /// stdin) instead of compiling a policy here.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["firewall", "host"])]
    pub(crate) compiled: Option<PathBuf>,
    /// The firewall to apply (needed when the policy has several).
    #[arg(long, short = 'f', add = crate::complete::firewall())]
    pub(crate) firewall: Option<String>,
    /// Seconds to wait for `rampart confirm` before rolling back; 0 to
    /// apply for good. Default: 60 over SSH and with --host, else 0.
    #[arg(long = "try", value_name = "SECONDS")]
    pub(crate) try_secs: Option<u64>,
    /// The management connection to protect, as ADMIN_ADDR:SSH_PORT
    /// (default: from $SSH_CONNECTION).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "host")]
    pub(crate) mgmt: Option<String>,
    /// Load even if the management connection would be cut.
    #[arg(long)]
    pub(crate) force: bool,
    /// How the rules reach the kernel.
    #[arg(long, value_enum, default_value = "iptables")]
    pub(crate) backend: Backend,
    /// Print the outcome as JSON (for scripts and for --host).
    #[arg(long)]
    pub(crate) json: bool,
    /// Show what would change and what the lock-out guard says, loading
    /// nothing (as `rampart diff`).
    #[arg(long, conflicts_with_all = ["host", "try_secs"])]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) remote: push::RemoteArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Backend {
    /// iptables-restore and ip6tables-restore --noflush, replacing only
    /// Rampart's chains.
    Iptables,
    /// nft -f, replacing only Rampart's tables (IPv4 and IPv6, and the ARP guard).
    Nft,
}

/// Show what `rampart apply` would change, loading nothing.
///
/// Compiles the policy, reads the loaded rules (iptables-save for IPv4 and
/// IPv6, or Rampart's nft tables), and prints per chain of Rampart's the
/// rules added (+), removed (-) and moved (~, which can change verdicts
/// though no rule changed), each with its place and its policy rule
/// (R<n> and file:line); then the lock-out guard's verdict. For nft, the
/// new tables are listed as the kernel would list them, from a network
/// namespace of their own that the kernel discards. Exit status 1 when
/// apply would refuse (the management connection would be cut).
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
      rampart diff examples/office-gateway.rp\n  \
      rampart diff fleet.rp -f gw1 --backend nft --json")]
pub(crate) struct DiffArgs {
    /// The policy file.
    policy: PathBuf,
    /// The firewall to compare (needed when the policy has several).
    #[arg(long, short = 'f', add = crate::complete::firewall())]
    firewall: Option<String>,
    /// The management connection to check, as ADMIN_ADDR:SSH_PORT
    /// (default: from $SSH_CONNECTION).
    #[arg(long, value_name = "ADDR:PORT")]
    mgmt: Option<String>,
    /// The backend apply would use.
    #[arg(long, value_enum, default_value = "iptables")]
    backend: Backend,
    /// Print a JSON object: `changes` per chain, the `guard`'s verdict.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    state: StateArgs,
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
///
/// With --host, asks every host over SSH (`rampart status --json` there)
/// and prints one line per host: match, drift, pending (a try waits for
/// `rampart confirm`), nothing (rampart applied nothing) or failed. Exit
/// status 1 unless every host matches.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// How often each policy rule matched since load (the kernel's
    /// counters summed per policy rule, busiest first, with rule set,
    /// file:line and comment), and the rules never hit.
    #[arg(long, conflicts_with = "host")]
    counters: bool,
    #[command(flatten)]
    remote: push::RemoteArgs,
    #[command(flatten)]
    state: StateArgs,
}

/// Write systemd units that load the compiled firewall at boot, before the
/// network comes up, run the log collector, and audit each access kit of
/// the firewall hourly (a timer).
///
/// The compiled rules go to a stable path (--rules-dir), so boot needs no
/// compiler. Units are checked with `systemd-analyze verify` unless
/// --no-verify.
#[derive(Debug, clap::Args)]
pub(crate) struct InstallServiceArgs {
    /// The policy file.
    policy: PathBuf,
    #[arg(long, short = 'f', add = crate::complete::firewall())]
    firewall: Option<String>,
    /// Where the units go.
    #[arg(long, default_value = "/etc/systemd/system", value_name = "DIR")]
    unit_dir: PathBuf,
    /// Where the boot files go (`rampart apply --boot-dir` keeps them equal
    /// to what it applied).
    #[arg(long, default_value = DEFAULT_BOOT_DIR, value_name = "DIR")]
    rules_dir: PathBuf,
    /// The backend whose boot files are written now.
    #[arg(long, value_enum, default_value = "iptables")]
    backend: Backend,
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
    if !a.remote.host.is_empty() {
        let policy = a.policy.as_deref().expect("clap: --host needs a policy");
        return push::run(policy, a, &a.remote);
    }
    let input = Input { policy: a.policy.as_deref(), compiled: a.compiled.as_deref() };
    let staged = match stage(&input, a.firewall.as_deref(), a.mgmt.as_deref(), a.force)? {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // Where nothing can be loaded, that is all there is to say.
    let what = if a.dry_run { "nothing was compared" } else { "nothing was loaded" };
    rampart_deploy::preflight::capable(what)?;
    staged.note_logging();
    if a.dry_run {
        return dry_run(&staged, a.backend, a.json, &a.state);
    }
    let ssh = rampart_deploy::guard::ssh_connection();
    let try_secs = match a.try_secs.or(ssh.as_ref().map(|_| 60)) {
        Some(0) | None => None,
        Some(s) => Some(s),
    };
    let Staged { bundle, mgmt, .. } = &staged;
    let (load, traced) = staged.load(a.backend);
    let plan = Plan {
        load,
        traced,
        policy: bundle.policy.clone(),
        firewall: bundle.firewall.clone(),
        bundle: bundle.digest.clone(),
        mgmt: mgmt.clone(),
        force: a.force,
        try_secs,
        arm: &|p: &Pending| spawn_watchdog(&a.state, &p.token),
    };
    let state = a.state.dir();
    // A hang-up, Ctrl-C or TERM while loading puts back the last confirmed
    // rules instead of leaving half an apply.
    ctrlc::set_handler(apply::interrupt).context("cannot handle signals")?;
    let outcome = apply::apply(&plan, &state)?;
    if a.json {
        // What `apply --host` reads back on the pushing side.
        let answer = serde_json::to_value(ApplyAnswer::of(&outcome))?;
        printer::out(&format!("{answer:#}\n"));
    }
    match outcome {
        ApplyOutcome::Refused(cut) => {
            printer::note(&format!(
                "refused: the new rules would cut the management connection.\n  {} would get {}\n  decided by {}\nNothing was loaded. Fix the policy, or use --force if you are sure.",
                cut.packet, cut.verdict, cut.decided_by
            ));
            Ok(ExitCode::from(INVALID))
        }
        ApplyOutcome::Applied { diff, version, pending } => {
            if !a.json {
                printer::out(&diff::render(&diff));
            }
            printer::note(&format!("applied firewall `{}` (version {version})", bundle.firewall));
            if let Some(p) = pending {
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

/// Where the rules come from: a policy, or a bundle compiled elsewhere.
struct Input<'a> {
    policy: Option<&'a Path>,
    compiled: Option<&'a Path>,
}

/// The rules to load and to trace, and the connection the guard protects.
struct Staged {
    bundle: Bundle,
    /// Compiled here: the rules, and the policy's rules for `file:line`.
    compiled: Option<(Compiled, Firewall, Sources)>,
    /// Read from a bundle.
    imported: Option<(Restricted, Restricted)>,
    mgmt: Option<Mgmt>,
}

impl Staged {
    /// Whether the rules write LOG lines (NFLOG needs no kernel logger).
    fn logs(&self) -> bool {
        let (v4, v6) = match (&self.compiled, &self.imported) {
            (Some((c, _, _)), _) => (&c.v4, &c.v6),
            (None, Some((v4, v6))) => (v4, v6),
            (None, None) => return false,
        };
        [v4, v6]
            .iter()
            .flat_map(|rs| &rs.chains)
            .flat_map(|c| &c.rules)
            .any(|r| matches!(r.target, rampart_ir::Target::Log(_)))
    }

    /// Where this host would not write the rules' LOG lines, say so.
    fn note_logging(&self) {
        let proc = Path::new("/proc/sys/net/netfilter");
        if let Some(note) = rampart_deploy::preflight::logging(proc, self.logs()) {
            printer::note(&note);
        }
    }

    fn load(&self, backend: Backend) -> (Load<'_>, Traced<'_>) {
        let (v4, v6) = match (&self.compiled, &self.imported) {
            (Some((c, _, _)), _) => (&c.v4, &c.v6),
            (None, Some((v4, v6))) => (v4, v6),
            (None, None) => unreachable!("compiled or imported"),
        };
        match backend {
            Backend::Iptables => (Load::Iptables { v4, v6 }, Traced { v4, v6 }),
            // Compiled here, the rich form decides as nft will; from a bundle,
            // the iptables rules decide the same (the nft tests prove it).
            Backend::Nft => (
                Load::Nft(self.bundle.nft.clone()),
                match &self.compiled {
                    Some((c, _, _)) => Traced { v4: &c.rich, v6: &c.rich },
                    None => Traced { v4, v6 },
                },
            ),
        }
    }
}

/// Compile the policy or read the bundle, and find the management
/// connection; `Err` is the exit code of a refusal already printed.
fn stage(
    input: &Input<'_>,
    firewall: Option<&str>,
    mgmt_flag: Option<&str>,
    force: bool,
) -> anyhow::Result<Result<Staged, ExitCode>> {
    let ssh = rampart_deploy::guard::ssh_connection();
    let mut mgmt = match (mgmt_flag, &ssh) {
        (Some(flag), _) => Some(
            Mgmt::from_flag(flag).with_context(|| format!("--mgmt `{flag}` is not ADDR:PORT"))?,
        ),
        (None, Some(conn)) => match Mgmt::from_ssh_connection(conn) {
            Ok(m) => Some(m),
            Err(why) if force => {
                printer::note(&format!(
                    "warning: {why}: the lock-out guard cannot check this session \
                     (loading anyway: --force)"
                ));
                None
            }
            Err(why) => {
                printer::note(&format!(
                    "refused: {why}, so the lock-out guard cannot check that the new rules keep \
                     this session.\nNothing was loaded. Name the session with --mgmt ADDR:PORT, \
                     or use --force if you are sure."
                ));
                return Ok(Err(ExitCode::from(INVALID)));
            }
        },
        (None, None) => None,
    };
    let mut sources = Sources::new();
    let staged = match (input.policy, input.compiled) {
        (Some(policy), _) => {
            let (fw, c) = match compile::build(policy, firewall, &mut sources)? {
                Ok(x) => x,
                Err(code) => return Ok(Err(code)),
            };
            let bundle = compile::bundle(&fw, &c, &policy.display().to_string());
            Staged { bundle, compiled: Some((c, fw, sources)), imported: None, mgmt: None }
        }
        (None, Some(file)) => {
            let b = Bundle::from_json(&read_input(file)?)?;
            let rules = b.rulesets()?;
            Staged { bundle: b, compiled: None, imported: Some(rules), mgmt: None }
        }
        (None, None) => unreachable!("clap requires a policy or --compiled"),
    };
    if let Some(m) = mgmt.as_mut().filter(|m| m.iface.is_none()) {
        m.iface = staged.bundle.arrival_iface(m.server);
    }
    Ok(Ok(Staged { mgmt, ..staged }))
}

/// `apply --dry-run` and `diff`: the changes and the guard's verdict,
/// nothing loaded. Exit status 1 when apply would refuse.
fn dry_run(
    s: &Staged,
    backend: Backend,
    json: bool,
    state: &StateArgs,
) -> anyhow::Result<ExitCode> {
    let (load, traced) = s.load(backend);
    let mut p = preview::preview(&load, traced, s.mgmt.as_ref(), &state.dir())?;
    if let Some((_, fw, sources)) = &s.compiled {
        let places = counters::places(fw, sources);
        diff::locate(&mut p.diff, &|n| places.get(&n).map(|(_, at)| at.clone()));
    }
    let refused = matches!(p.guard, Guard::Cuts(_));
    if json {
        let guard = match &p.guard {
            Guard::Keeps => serde_json::json!({"verdict": "keeps"}),
            Guard::Unchecked => serde_json::json!({"verdict": "unchecked"}),
            Guard::Cuts(cut) => serde_json::json!({
                "verdict": "cuts",
                "packet": cut.packet, "gets": cut.verdict, "decided_by": cut.decided_by,
            }),
        };
        let v = serde_json::json!({"changes": p.diff, "guard": guard, "loaded": false});
        printer::out(&format!("{v:#}\n"));
    } else {
        printer::out(&diff::render(&p.diff));
        printer::out(&match &p.guard {
            Guard::Keeps => "lock-out guard: the management connection gets through\n".to_owned(),
            Guard::Unchecked => {
                "lock-out guard: no management connection to check (not over SSH, no --mgmt)\n"
                    .to_owned()
            }
            Guard::Cuts(cut) => format!(
                "lock-out guard: apply would refuse: {} would get {}\n  decided by {}\n",
                cut.packet, cut.verdict, cut.decided_by
            ),
        });
        printer::note("dry run: nothing was loaded");
    }
    Ok(if refused { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}

pub(crate) fn diff(a: &DiffArgs) -> anyhow::Result<ExitCode> {
    let input = Input { policy: Some(&a.policy), compiled: None };
    match stage(&input, a.firewall.as_deref(), a.mgmt.as_deref(), false)? {
        Ok(s) => dry_run(&s, a.backend, a.json, &a.state),
        Err(code) => Ok(code),
    }
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .context("cannot read the bundle from stdin")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
    }
}

/// Start the watchdog in its own session, so that a dying terminal or SSH
/// connection does not take it along.
fn spawn_watchdog(state: &StateArgs, token: &str) -> Result<(), String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the rampart binary for the watchdog: {e}"))?;
    let status = std::process::Command::new("setsid")
        .arg("-f")
        .arg(exe)
        .args(["watchdog", "--token", token, "--state-dir"])
        .arg(&state.state_dir)
        .arg("--boot-dir")
        .arg(&state.boot_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| {
            format!("cannot start the watchdog with setsid: {e} (apt-get install util-linux)")
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("setsid could not start the watchdog ({status})"))
    }
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
    if !a.remote.host.is_empty() {
        return push::status(&a.remote, a.json);
    }
    if a.counters {
        return match counters::read(&a.state.dir(), None)? {
            None => {
                printer::out("nothing applied by rampart\n");
                Ok(ExitCode::SUCCESS)
            }
            Some(c) if a.json => {
                printer::out(&format!("{:#}\n", counters::json(&c)));
                Ok(ExitCode::SUCCESS)
            }
            Some(c) => {
                printer::out(&counters::text(&c));
                Ok(ExitCode::SUCCESS)
            }
        };
    }
    let s = rampart_deploy::status::status(&a.state.dir())?;
    let drift = !s.drift.is_empty();
    let overdue = s.overdue.map(|late| {
        format!(
            "OVERDUE: a try passed its deadline {late} s ago and was not rolled back: its \
             watchdog died or failed (see dmesg); run `rampart rollback` or `rampart confirm`\n"
        )
    });
    if a.json {
        let v = serde_json::to_value(StatusAnswer::of(&s))?;
        printer::out(&format!("{v:#}\n"));
    } else {
        match &s.applied {
            None => printer::out("nothing applied by rampart\n"),
            Some(x) => printer::out(&format!(
                "firewall `{}` from {} (version {}, bundle sha256 {}), applied {} s ago\n{}{}",
                x.firewall,
                x.policy,
                x.version,
                x.bundle,
                now().saturating_sub(x.applied_at),
                match (&overdue, &s.pending) {
                    (Some(o), _) => o,
                    (None, Some(p)) if p.awaits_confirm => "waiting for `rampart confirm`\n",
                    (None, Some(_)) => "an apply is in progress\n",
                    (None, None) => "",
                },
                if drift {
                    format!("DRIFT: the loaded rules differ:\n{}", diff::render(&s.drift))
                } else {
                    "loaded rules match\n".into()
                },
            )),
        }
        match &s.boot {
            Some(p) if p.is_empty() => printer::out("boot files match\n"),
            Some(p) => printer::out(&format!("BOOT: {}\n", p.join("\nBOOT: "))),
            None => {}
        }
    }
    let boot_differs = s.boot.as_ref().is_some_and(|p| !p.is_empty());
    let bad = drift || overdue.is_some() || boot_differs;
    Ok(if bad { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}

pub(crate) fn install_service(a: &InstallServiceArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let Some(model) =
        policy::load_valid(&a.policy, &mut sources, policy::Analysis::Errors, "written")?
    else {
        return Ok(ExitCode::from(INVALID));
    };
    let fw = policy::pick(&model, a.firewall.as_deref())?;
    let compiled = rampart_lower::compile(fw);
    let nft_doc = compile::bundle(fw, &compiled, &a.policy.display().to_string()).nft;
    let load = match a.backend {
        Backend::Iptables => Load::Iptables { v4: &compiled.v4, v6: &compiled.v6 },
        Backend::Nft => Load::Nft(nft_doc),
    };
    // Units hold absolute paths only: systemd starts them from `/`.
    let rules_dir = std::path::absolute(&a.rules_dir)
        .with_context(|| format!("cannot resolve `{}`", a.rules_dir.display()))?;
    std::fs::create_dir_all(&rules_dir)
        .with_context(|| format!("cannot create `{}`", rules_dir.display()))?;
    let path = |name: &str| rules_dir.join(name).display().to_string();
    let exe = std::env::current_exe().context("cannot find the rampart binary")?;
    let exe = exe.display().to_string();
    let (iptables, ip6tables) = (which("iptables")?, which("ip6tables")?);
    let (restore, restore6, nft) =
        (which("iptables-restore")?, which("ip6tables-restore")?, which("nft")?);
    let mut units = vec![
        (
            "rampart.service".to_owned(),
            systemd::firewall_unit(
                (&iptables, &restore, &path(systemd::RULES_V4)),
                (&ip6tables, &restore6, &path(systemd::RULES_V6)),
            )?,
        ),
        ("rampart-nft.service".to_owned(), systemd::nft_unit(&nft, &path(systemd::RULES_NFT))?),
        (
            "rampart-logs.service".to_owned(),
            systemd::logs_unit(&exe, "/var/log/rampart/firewall.log")?,
        ),
    ];
    // The audit of each access kit of this firewall, hourly and at boot.
    let policy_path = std::fs::canonicalize(&a.policy).unwrap_or_else(|_| a.policy.clone());
    let policy_path = policy_path.display().to_string();
    for access in model.accesses.iter().filter(|x| x.firewall == fw.name) {
        let audit = [
            exe.as_str(),
            "access",
            "audit",
            &policy_path,
            "--firewall",
            &fw.name,
            "--access",
            &access.name,
        ];
        let kit = rampart_access::Kit::new(access, fw, &audit)?;
        units.push((kit.unit_name("service"), kit.service.clone()));
        units.push((kit.unit_name("timer"), kit.timer.clone()));
    }
    // Every unit could be written: now the files go in.
    let files = boot::files(&load);
    boot::persist(&rules_dir, &files)?;
    let mut paths = Vec::new();
    for (name, text) in &units {
        let path = a.unit_dir.join(name);
        write(&path, text)?;
        paths.push(path);
    }
    printer::note(&format!(
        "wrote {} and {} units in {}",
        files.keys().map(|f| path(f)).collect::<Vec<_>>().join(", "),
        units.len(),
        a.unit_dir.display()
    ));
    if !a.no_verify {
        let mut verify = std::process::Command::new("systemd-analyze");
        match rampart_os::run(verify.arg("verify").args(&paths), "systemd", None) {
            Ok(_) => {}
            Err(rampart_os::ToolError::Failed { stderr, .. }) => {
                printer::note(&format!("systemd-analyze verify failed:\n{stderr}"));
                return Ok(ExitCode::from(INVALID));
            }
            Err(e) => return Err(e.into()),
        }
        printer::note("systemd-analyze verify: ok");
    }
    printer::note(
        "enable with: systemctl daemon-reload && systemctl enable rampart.service rampart-nft.service\n\
         (each loads its boot files only when they exist; `rampart apply` keeps them equal to \
         what it applied)",
    );
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    rampart_os::write(path, text.as_bytes(), 0o644)
        .with_context(|| format!("cannot write `{}`", path.display()))
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
