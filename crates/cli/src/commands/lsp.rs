//! `rampart lsp`: the language server, for editors.

use std::process::ExitCode;

/// Run the language server on stdin and stdout, for an editor: the
/// diagnostics of `check` as you type, go to definition, hover (a name's
/// addresses and the rules that use it), completion, document symbols.
#[derive(Debug, clap::Args)]
pub(crate) struct LspArgs {}

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    rampart_lsp::run()?;
    Ok(ExitCode::SUCCESS)
}
