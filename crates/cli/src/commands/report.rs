//! `rampart report`: the firewall as one self-contained HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::Sources;

use rampart_report::{Counted, Extras, LabProbe, LabSection, Logged};

use crate::commands::{compile, lab};
use crate::printer;

/// Write one self-contained HTML page about a firewall: its interfaces
/// and options, the objects and the rules that use them, every rule set
/// in order with numbers, comments and source lines, the matrix of what
/// can reach what, the spoofing check, the anomalies, and each `expect`
/// line with the trace of its packet; with --lab, --counters and --logs,
/// a lab's probes answered by trace, the rules never hit, the rules that
/// log most. No network, scripts
/// or fonts from elsewhere: it opens from a mail attachment or a wiki, and
/// prints on A4.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The policy file.
    policy: PathBuf,
    /// The firewall of the policy.
    #[arg(long, add = crate::complete::firewall())]
    firewall: Option<String>,
    /// Where to write the page.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// A lab file: its probes answered by trace (as `rampart test` does),
    /// in a section of their own.
    #[arg(long, value_name = "FILE")]
    lab: Option<PathBuf>,
    /// A `rampart status --counters --json` file of this firewall: the
    /// rules never hit, and those that matched most.
    #[arg(long, value_name = "FILE")]
    counters: Option<PathBuf>,
    /// A log file (kern.log, syslog, journal export...) of this firewall:
    /// the rules that log most.
    #[arg(long, value_name = "FILE")]
    logs: Option<PathBuf>,
}

/// What the report reads of `status --counters --json`.
#[derive(serde::Deserialize)]
struct CountersFile {
    firewall: String,
    rules: Vec<rampart_deploy::counters::Hits>,
    never_hit: Vec<u32>,
}

/// Rows of the busiest (and most logging) rules the page shows.
const BUSIEST: usize = 10;

pub(crate) fn run(a: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(&a.policy, a.firewall.as_deref(), &mut sources)? {
        Ok(built) => built,
        Err(code) => return Ok(code),
    };
    let mut extras = Extras::default();
    if let Some(path) = &a.lab {
        let Some((l, rules)) = lab::load(path, Some(lab::LabBackend::Iptables))? else {
            return Ok(ExitCode::from(1));
        };
        let r = rampart_lab::offline::run(&l, &rules)
            .with_context(|| format!("cannot answer the probes of `{}`", path.display()))?;
        extras.lab = Some(LabSection {
            name: path.display().to_string(),
            how: "offline, by trace".into(),
            passed: r.passed,
            probes: r
                .probes
                .iter()
                .map(|p| LabProbe {
                    line: p.line,
                    probe: p.probe.clone(),
                    expected: p.expected.to_string(),
                    seen: p.seen.to_string(),
                    ok: p.ok(),
                })
                .collect(),
        });
    }
    if let Some(path) = &a.counters {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let c: CountersFile = serde_json::from_str(&text).with_context(|| {
            format!("`{}` is not the output of `rampart status --counters --json`", path.display())
        })?;
        if c.firewall != fw.name {
            anyhow::bail!("`{}` counts firewall {}, not {}", path.display(), c.firewall, fw.name);
        }
        let mut busiest: Vec<(u32, u64, u64)> =
            c.rules.iter().map(|h| (h.rule, h.packets, h.bytes)).collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        busiest.truncate(BUSIEST);
        extras.counters = Some(Counted { never: c.never_hit, busiest });
    }
    if let Some(path) = &a.logs {
        let s = rampart_logs::summary::tally(std::slice::from_ref(path), 1)?.finish(
            &rampart_logs::summary::SummaryOptions {
                top: BUSIEST,
                attributor: &super::logs::attributor_of(&fw),
                rules: None,
                show_partial: false,
            },
        );
        let top = s
            .rules
            .iter()
            .take(BUSIEST)
            .map(|p| {
                let rule = match p.attribution.source {
                    rampart_logs::attribute::Source::Rampart { rule, .. } => Some(rule),
                    _ => None,
                };
                (rule, p.prefix.clone(), p.count)
            })
            .collect();
        extras.logs = Some(Logged {
            file: path.display().to_string(),
            lines: s.total_lines,
            firewall_lines: s.firewall_lines,
            partial_lines: s.partial_lines,
            top,
        });
    }
    let html =
        rampart_report::render(&a.policy.display().to_string(), &fw, &compiled, &sources, extras)
            .context("cannot render the report")?;
    rampart_os::write(&a.output, html.as_bytes(), 0o644)
        .with_context(|| format!("cannot write `{}`", a.output.display()))?;
    printer::note(&format!("{}: report of firewall {} written", a.output.display(), fw.name));
    Ok(ExitCode::SUCCESS)
}
