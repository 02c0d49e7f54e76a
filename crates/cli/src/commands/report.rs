//! `rampart report`: the firewall as one self-contained HTML page.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::Sources;

use crate::commands::compile;
use crate::printer;

/// Write one self-contained HTML page about a firewall: its interfaces
/// and options, the objects and the rules that use them, every rule set
/// in order with numbers, comments and source lines, the matrix of what
/// can reach what, the spoofing check, the anomalies, and each `expect`
/// line with the trace of its packet. No network, scripts or fonts from
/// elsewhere: it opens from a mail attachment or a wiki, and prints on A4.
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
}

pub(crate) fn run(a: &ReportArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(&a.policy, a.firewall.as_deref(), &mut sources)? {
        Ok(built) => built,
        Err(code) => return Ok(code),
    };
    let html = rampart_report::render(&a.policy.display().to_string(), &fw, &compiled, &sources)
        .context("cannot render the report")?;
    rampart_os::write(&a.output, html.as_bytes(), 0o644)
        .with_context(|| format!("cannot write `{}`", a.output.display()))?;
    printer::note(&format!("{}: report of firewall {} written", a.output.display(), fw.name));
    Ok(ExitCode::SUCCESS)
}
