//! `rampart fmt`: rewrite policy files in the one canonical layout.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::{Diagnostic, Sources};

use crate::commands::INVALID;
use crate::printer;

/// Format policy files in place: two spaces per block, one space between
/// words, trailing comments aligned, at most one blank line.
///
/// Comments, and every line end that ends a statement, are kept; the
/// compiled ruleset does not change. A file with syntax errors is reported
/// and left as it is (exit status 1).
#[derive(Debug, clap::Args)]
pub(crate) struct FmtArgs {
    /// The policy files (included files are not followed: name them too).
    #[arg(required = true, value_hint = clap::ValueHint::FilePath)]
    files: Vec<PathBuf>,
    /// Write nothing: name the files that are not formatted, exit 1 if any.
    #[arg(long)]
    check: bool,
}

pub(crate) fn run(a: &FmtArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let mut failed = false;
    for path in &a.files {
        let text = rampart_os::read_text(path, rampart_model::MAX_POLICY_BYTES)
            .with_context(|| format!("cannot read policy `{}`", path.display()))?;
        let file = sources.add(path.display().to_string(), text.clone());
        let formatted = rampart_syntax::format(&text, file);
        let Some(new) = formatted.ast else {
            let errors: Vec<Diagnostic> =
                formatted.diagnostics.into_iter().filter(Diagnostic::is_error).collect();
            printer::diagnostics(&errors, &sources);
            printer::note(&format!("{}: has errors, left as it is", path.display()));
            failed = true;
            continue;
        };
        if new == text {
            continue;
        }
        if a.check {
            printer::note(&format!("{}: not formatted", path.display()));
            failed = true;
            continue;
        }
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        rampart_os::write(path, new.as_bytes(), mode)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        printer::note(&format!("{}: formatted", path.display()));
    }
    Ok(if failed { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}
