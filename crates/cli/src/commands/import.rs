//! `rampart import iptables FILE`: read an existing ruleset and print it back
//! in iptables-restore form, normalised (which shows what Rampart read).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::Sources;
use rampart_ir::read::{self, Format};

use crate::printer;

/// Import a ruleset made elsewhere.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    pub(crate) what: ImportWhat,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum ImportWhat {
    /// Read iptables-save output or a `$IPTABLES ...` shell script and print
    /// it in iptables-restore form.
    Iptables(IptablesImport),
    /// Write a Rampart policy from a Firewall Builder file (.fwb).
    Fwb(crate::commands::fwb::FwbImport),
    /// Read an nftables ruleset (`nft -j list ruleset`) and print what was
    /// understood, base chain by base chain.
    Nft(NftImport),
}

#[derive(Debug, clap::Args)]
pub(crate) struct NftImport {
    /// `nft -j list ruleset` output.
    pub(crate) file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub(crate) struct IptablesImport {
    /// iptables-save output or a Firewall Builder-style shell script.
    pub(crate) file: PathBuf,
    /// Force the input format instead of detecting it.
    #[arg(long, value_enum)]
    pub(crate) format: Option<RulesFormat>,
}

/// The two formats `--format` names.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum RulesFormat {
    /// iptables-save output.
    Save,
    /// A shell script of `$IPTABLES -A ...` lines.
    Script,
}

/// Reads a rules file; diagnostics (already rendered) go to stderr.
/// Returns `None` when the file has errors.
pub(crate) fn read_rules(
    path: &std::path::Path,
    format: Option<RulesFormat>,
) -> anyhow::Result<Option<read::Imported>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let format = format.map(|f| match f {
        RulesFormat::Save => Format::Save,
        RulesFormat::Script => Format::Script,
    });
    let mut sources = Sources::new();
    let name = path.display().to_string();
    let file = sources.add(name.clone(), String::from_utf8_lossy(&bytes).into_owned());
    let imported = read::read(&bytes, &name, file, format);
    printer::diagnostics(&imported.diagnostics, &sources);
    Ok((!imported.has_errors()).then_some(imported))
}

pub(crate) fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let args = match args.what {
        ImportWhat::Iptables(args) => args,
        ImportWhat::Fwb(args) => return crate::commands::fwb::run(&args),
        ImportWhat::Nft(args) => return crate::commands::nft_rules::import(&args.file),
    };
    let Some(imported) = read_rules(&args.file, args.format)? else {
        return Ok(ExitCode::from(1));
    };
    let text = read::write_restore(&imported.tables);
    printer::out(&text);
    Ok(ExitCode::SUCCESS)
}
