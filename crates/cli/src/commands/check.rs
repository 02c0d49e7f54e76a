//! `rampart check`: parse and check a policy; write nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use rampart_diag::{Severity, Sources};

use crate::commands::INVALID;
use crate::policy::{self, Checked};
use crate::printer;

/// Check a policy: syntax, names, addresses, ports, rule sets, users, log
/// prefixes, and rules that can never match.
///
/// Errors name the file, line and column and underline the offending text;
/// the exit status is 1 when there is any error. Warnings do not change the
/// exit status.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// The policy file (`include`d files are read relative to it).
    policy: PathBuf,
    /// Print diagnostics as a JSON array on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Also show the notes of the analysis: correlated rules (W0321) and
    /// generalizations (W0322).
    #[arg(long)]
    anomalies: bool,
}

pub(crate) fn run(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let checked = policy::load(&a.policy, &mut sources, a.json, policy::Analysis::Anomalies)?;
    let mut diags = match &checked {
        Checked::Ok(_, d, _) | Checked::Invalid(d) => d.clone(),
    };
    let notes = match &checked {
        Checked::Ok(_, _, notes) => notes.clone(),
        Checked::Invalid(_) => Vec::new(),
    };
    if a.anomalies {
        if !a.json {
            printer::diagnostics(&notes, &sources);
        }
        diags.extend(notes.iter().cloned());
    }
    if a.json {
        let json = rampart_diag::render_json(&diags, &sources);
        printer::out(&format!("{json:#}\n"));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.iter().filter(|d| d.severity == Severity::Warning).count();
    match checked {
        Checked::Ok(model, ..) => {
            if !a.json {
                let rules: usize =
                    model.firewalls.iter().flat_map(|f| &f.rulesets).map(|r| r.rules.len()).sum();
                let hidden = if a.anomalies || notes.is_empty() {
                    String::new()
                } else {
                    format!(", {} note(s) (shown with --anomalies)", notes.len())
                };
                printer::note(&format!(
                    "{}: {} firewall(s), {rules} rule(s), no errors, {warnings} warning(s){hidden}",
                    a.policy.display(),
                    model.firewalls.len()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Checked::Invalid(_) => {
            if !a.json {
                printer::note(&format!(
                    "{}: {errors} error(s), {warnings} warning(s)",
                    a.policy.display()
                ));
            }
            Ok(ExitCode::from(INVALID))
        }
    }
}
