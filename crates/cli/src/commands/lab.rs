//! `rampart lab run|up|down FILE`: prove a firewall in a real kernel.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::Sources;
use rampart_lab::LabError;
use rampart_lab::describe::{Lab, RulesSource};
use rampart_lab::run::{Report, Rules};

use crate::commands::INVALID;
use crate::commands::compile::{self, Target};
use crate::printer;

/// Build a network of namespaces, veth pairs and bridges, load the
/// firewall into it with the real tools, and probe it.
///
/// Needs root. Every namespace is named `rl-<lab>-<pid>-<node>`, so labs
/// run side by side and never touch anything else on the machine.
#[derive(Debug, clap::Args)]
pub(crate) struct LabArgs {
    #[command(subcommand)]
    what: LabCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LabCommand {
    /// Build the lab, run every probe, report, and remove it all (also on
    /// failure or Ctrl-C). Exit 1 when a probe differs from its expectation.
    Run {
        /// The lab file.
        file: PathBuf,
        /// The backend the firewall is loaded with, as `apply --backend`.
        #[arg(long, value_enum, default_value = "iptables")]
        backend: LabBackend,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Build the lab and leave it standing, with the ruleset loaded and the
    /// listeners running; prints how to enter each namespace.
    Up {
        /// The lab file.
        file: PathBuf,
        /// The backend the firewall is loaded with, as `apply --backend`.
        #[arg(long, value_enum, default_value = "iptables")]
        backend: LabBackend,
    },
    /// Remove a lab left standing by `lab up` or half-built by a run that
    /// was killed. Labs still running are left alone.
    Down {
        /// The lab file.
        file: PathBuf,
    },
}

/// The two backends, named as `apply --backend` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LabBackend {
    /// `iptables-restore` and `ip6tables-restore`; trace evaluates the
    /// tables read back with `iptables-save`.
    Iptables,
    /// One `nft -f` document, as `compile --target nft` writes it; trace
    /// evaluates the same policy's iptables form, and the kernel's counters
    /// are matched to it by policy rule (`R<n>`).
    Nft,
}

pub(crate) fn run(args: &LabArgs) -> anyhow::Result<ExitCode> {
    match &args.what {
        LabCommand::Run { file, backend, json } => {
            let Some((lab, rules)) = load(file, Some(*backend))? else {
                return Ok(ExitCode::from(INVALID));
            };
            let report = match rampart_lab::run::run(&lab, &rules) {
                Ok(r) => r,
                Err(e) => return failed(e),
            };
            if *json {
                printer::out(&format!("{}\n", serde_json::to_string_pretty(&report)?));
            } else {
                printer::out(&table(&report));
            }
            Ok(if report.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        LabCommand::Up { file, backend } => {
            let Some((lab, rules)) = load(file, Some(*backend))? else {
                return Ok(ExitCode::from(INVALID));
            };
            let topo = match rampart_lab::run::stand_up(&lab, &rules) {
                Ok(t) => t,
                Err(e) => return failed(e),
            };
            let spaces = topo.keep();
            let mut s = format!("lab {} is up; enter a namespace with:\n", lab.name);
            for (node, ns) in &spaces {
                let _ = writeln!(s, "  {node:<12} ip netns exec {ns} bash");
            }
            if !lab.probes.is_empty() {
                let _ = writeln!(s, "its probes, to run by hand:");
            }
            for p in &lab.probes {
                let Some(dst) = lab.target_addr(&p.to) else { continue };
                let Some((_, ns)) = spaces.iter().find(|(n, _)| *n == p.from) else { continue };
                let argv = rampart_lab::probe::command_line(p.kind, dst, p.port, 0, p.uid);
                let mitm =
                    if p.mitm.is_some() { "  # without the forged neighbour entry" } else { "" };
                let _ = writeln!(s, "  ip netns exec {ns} {}{mitm}", argv.join(" "));
            }
            let _ = writeln!(s, "remove it with: rampart lab down {}", file.display());
            printer::out(&s);
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Down { file } => {
            let Some((lab, _)) = load(file, None)? else { return Ok(ExitCode::from(INVALID)) };
            rampart_lab::require_root().map_err(explain)?;
            let (removed, running) = rampart_lab::topology::down(&lab.name).map_err(explain)?;
            let mut s = String::new();
            for n in &removed {
                let _ = writeln!(s, "removed {n}");
            }
            for pid in &running {
                let _ = writeln!(
                    s,
                    "left alone: lab {} run by process {pid} is still running",
                    lab.name
                );
            }
            if removed.is_empty() && running.is_empty() {
                let _ = writeln!(s, "nothing to remove: no lab {} is standing", lab.name);
            }
            printer::out(&s);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A run that stopped: interrupted (the handler is removing the lab and
/// exits 130), or an error for the caller to print (exit 2).
fn failed(e: LabError) -> anyhow::Result<ExitCode> {
    if rampart_lab::topology::interrupted() {
        // The handler removes what is left and exits; wait for it.
        std::thread::sleep(std::time::Duration::from_secs(10));
        printer::note("interrupted: lab removed");
        return Ok(ExitCode::from(130));
    }
    Err(explain(e))
}

/// Turns harness errors into messages for the person at the terminal.
fn explain(e: LabError) -> anyhow::Error {
    match e {
        LabError::NotRoot => anyhow::anyhow!(
            "rampart lab needs root: it creates network namespaces and loads rulesets (run it with sudo)"
        ),
        other => anyhow::Error::new(other).context("lab"),
    }
}

/// Reads and checks the lab file and, when `backend` is set, compiles or
/// reads the firewall's ruleset for it. `None` when the input has errors
/// (printed).
pub(crate) fn load(
    path: &Path,
    backend: Option<LabBackend>,
) -> anyhow::Result<Option<(Lab, Rules)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read lab file `{}`", path.display()))?;
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text.clone());
    let parsed = rampart_lab::parse(path, &text, file);
    printer::diagnostics(&parsed.diagnostics, &sources);
    let Some(lab) = parsed.lab else {
        printer::note(&format!("{}: the lab file has errors", path.display()));
        return Ok(None);
    };
    let Some(backend) = backend else {
        return Ok(Some((lab, Rules { v4: String::new(), v6: None, nft: None })));
    };
    let rules = match &lab.rules {
        RulesSource::Policy(p) => {
            let mut sources = Sources::new();
            let (fw, compiled) = match compile::build(p, Some(&lab.firewall.name), &mut sources)? {
                Ok(x) => x,
                Err(_) => return Ok(None),
            };
            let (v4, v6) = compile::render(
                Target::IptablesRestore,
                false,
                &fw,
                &compiled,
                &p.display().to_string(),
                &sources,
            );
            let nft = (backend == LabBackend::Nft).then(|| {
                compile::render(
                    Target::Nft,
                    false,
                    &fw,
                    &compiled,
                    &p.display().to_string(),
                    &sources,
                )
                .0
            });
            Rules { v4, v6, nft }
        }
        RulesSource::Rules(p) if backend == LabBackend::Nft => {
            anyhow::bail!(
                "lab `{}` loads the iptables rules file `{}`: it runs with --backend iptables only",
                lab.name,
                p.display()
            );
        }
        RulesSource::Rules(p) => {
            let Some(imported) = super::import::read_rules(p, None)? else {
                return Ok(None);
            };
            let text = std::fs::read_to_string(p)?;
            // iptables-save output loads as it is; a script is loaded as the
            // restore document it describes, never run line by line.
            let v4 = match rampart_ir::read::detect(&text) {
                Ok(rampart_ir::read::Format::Save) => text,
                _ => rampart_ir::read::write_restore(&imported.tables),
            };
            Rules { v4, v6: None, nft: None }
        }
    };
    Ok(Some((lab, rules)))
}

/// The report as one block per probe and a closing summary.
fn table(r: &Report) -> String {
    let mut s = String::new();
    for (i, p) in r.probes.iter().enumerate() {
        let _ = writeln!(s, "probe {} (line {}): {}", i + 1, p.line, p.probe);
        let src = p.src.map_or_else(|| "?".to_owned(), |a| a.to_string());
        let port = p.sport.map_or(String::new(), |sp| format!(" sport {sp}"));
        let _ = writeln!(s, "  packet     {src} -> {}{port}", p.dst);
        if let Some(m) = &p.mitm {
            let _ = writeln!(s, "  mitm       neighbour entry forged to {m}");
        }
        let _ = writeln!(s, "  expected   {}", p.expected);
        let _ = writeln!(s, "  seen       {} ({})", p.seen, p.detail);
        let agree = if p.trace_agrees { "" } else { "  <- differs from the kernel" };
        let _ = writeln!(s, "  trace      {}{agree}", p.predicted);
        if let Some(d) = &p.deciding {
            let _ = writeln!(s, "  deciding   {d}");
        }
        if p.crossings.is_empty() {
            let _ = writeln!(s, "  crossings  none (the firewall is not on the path)");
        }
        for (j, c) in p.crossings.iter().enumerate() {
            let head = if j == 0 { "crossings" } else { "" };
            let _ = writeln!(
                s,
                "  {head:<10} {:<7} {} -> {}",
                c.direction,
                c.crossing.describe(),
                c.verdict.name()
            );
        }
        if p.logs.is_empty() {
            let _ = writeln!(s, "  log        (none)");
        }
        for (j, l) in p.logs.iter().enumerate() {
            let head = if j == 0 { "log" } else { "" };
            let _ = writeln!(s, "  {head:<10} {l}");
        }
        let moved: Vec<String> = p
            .counters
            .iter()
            .map(|c| {
                if c.index == 0 {
                    format!("{}:policy", c.chain)
                } else {
                    format!("{}:{}", c.chain, c.index)
                }
            })
            .collect();
        let moved = if moved.is_empty() { "(none)".to_owned() } else { moved.join(" ") };
        let _ = writeln!(s, "  counters   {moved}");
        if p.ok() {
            let _ = writeln!(s, "  result     ok");
        } else {
            for pr in &p.problems {
                let _ = writeln!(s, "  result     FAILED: {pr}");
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "lab {}: {} probe(s), {} as expected, {} failed; trace agreed with the kernel on {}",
        r.lab,
        r.probes.len(),
        r.passed,
        r.failed,
        r.probes.len() - r.trace_disagrees
    );
    s
}
