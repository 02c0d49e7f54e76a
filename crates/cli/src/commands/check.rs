//! `rampart check`: parse and check a policy; write nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rampart_diag::{Diagnostic, Severity, Sources};

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
    /// Show every warning and note; without it, the first 20 of each code
    /// are shown and the rest counted (errors are always shown).
    #[arg(long)]
    all: bool,
}

/// Warnings (and notes) of one code shown before the rest are only
/// counted: a generated policy can have tens of thousands of one kind.
const PER_CODE: usize = 20;

pub(crate) fn run(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let checked = policy::load(&a.policy, &mut sources, true, policy::Analysis::Anomalies)?;
    let mut diags = match &checked {
        Checked::Ok(_, d, _) | Checked::Invalid(d) => d.clone(),
    };
    let notes = match &checked {
        Checked::Ok(_, _, notes) => notes.clone(),
        Checked::Invalid(_) => Vec::new(),
    };
    if a.anomalies {
        diags.extend(notes.iter().cloned());
    }
    if a.json {
        let json = rampart_diag::render_json(&diags, &sources);
        printer::out(&format!("{json:#}\n"));
    } else if a.all {
        printer::diagnostics(&diags, &sources);
    } else {
        let (shown, more) = first_of_each_code(&diags);
        printer::diagnostics(&shown, &sources);
        for (code, n) in more {
            printer::note(&format!(
                "note: {n} more {code} not shown (--all shows every one, --json lists them)"
            ));
        }
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

/// Every error, and the first [`PER_CODE`] warnings or notes of each code;
/// then, per code, how many were left out.
fn first_of_each_code(diags: &[Diagnostic]) -> (Vec<Diagnostic>, BTreeMap<&'static str, usize>) {
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut shown = Vec::new();
    for d in diags {
        let n = seen.entry(d.code).or_default();
        if d.is_error() || *n < PER_CODE {
            shown.push(d.clone());
        }
        if !d.is_error() {
            *n += 1;
        }
    }
    let more = seen
        .into_iter()
        .filter(|(_, n)| *n > PER_CODE)
        .map(|(code, n)| (code, n - PER_CODE))
        .collect();
    (shown, more)
}
