//! The language reference, built into the binary: `rampart explain CODE`
//! prints one diagnostic's entry, `rampart manpages DIR` writes the man
//! pages, `rampart-policy(5)` being the reference itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::Cli;
use crate::commands::INVALID;
use crate::printer;

/// `docs/language.md`, the one reference of the policy language.
pub(crate) const LANGUAGE: &str = include_str!("../../../../docs/language.md");

/// Explain a diagnostic code: what it means, an example, how to fix it.
///
/// Every code that `check`, `compile`, `lab` or `import` reports (E0001,
/// E0210, W0301, ...) has an entry in the language reference,
/// `man rampart-policy`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The code, such as E0210 or W0301.
    code: String,
}

/// Write the man pages: rampart(1), one page per subcommand, and
/// rampart-policy(5), the language reference.
///
/// DIR is the root of a manual tree: the pages go into DIR/man1 and
/// DIR/man5, so `rampart manpages /usr/local/share/man` installs them.
#[derive(Debug, clap::Args)]
pub(crate) struct ManpagesArgs {
    /// The root of the manual tree (created if missing).
    #[arg(value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    dir: PathBuf,
}

pub(crate) fn explain(a: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let code = a.code.trim().to_ascii_uppercase();
    match entry(&code) {
        Some(text) => {
            printer::out(text);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            printer::note(&format!(
                "error: no diagnostic `{}`; codes are E0001..., see `man rampart-policy`",
                a.code
            ));
            Ok(ExitCode::from(INVALID))
        }
    }
}

/// The entry of `code`: from its `### CODE` heading to the next heading.
pub(crate) fn entry(code: &str) -> Option<&'static str> {
    let heading = format!("\n### {code}:");
    let start = LANGUAGE.find(&heading)? + 1;
    let rest = &LANGUAGE[start..];
    let end = rest[1..].find("\n#").map_or(rest.len(), |i| i + 2);
    Some(&rest[..end])
}

pub(crate) fn manpages(a: &ManpagesArgs) -> anyhow::Result<ExitCode> {
    let (man1, man5) = (a.dir.join("man1"), a.dir.join("man5"));
    for dir in [&man1, &man5] {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man1)
        .with_context(|| format!("cannot write the man pages into `{}`", man1.display()))?;
    let policy = man5.join("rampart-policy.5");
    rampart_os::write(&policy, policy_page().as_bytes(), 0o644)
        .with_context(|| format!("cannot write `{}`", policy.display()))?;
    printer::note(&format!("wrote the man pages into {}", a.dir.display()));
    Ok(ExitCode::SUCCESS)
}

/// The reference as a section 5 page: its title line becomes NAME.
fn policy_page() -> String {
    let body = LANGUAGE.split_once('\n').map_or(LANGUAGE, |(_, rest)| rest);
    let markdown = format!(
        "# NAME\n\nrampart-policy - the Rampart firewall policy language\n\n# DESCRIPTION\n{body}"
    );
    mandown::convert(&markdown, "RAMPART-POLICY", 5)
}
