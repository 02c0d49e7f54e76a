//! Shell completion. `COMPLETE=bash rampart` prints a script that asks the
//! binary for candidates at each TAB, so values that depend on the policy,
//! such as `--firewall NAME`, complete from the file on the command line.

use std::ffi::OsStr;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use rampart_diag::Sources;

use crate::args::Cli;

/// Answer a completion request and exit, when the shell made one.
pub(crate) fn answer() {
    // The script names the installed command, never the path it was
    // generated from (the package builds it from target/).
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .bin("rampart")
        .completer("rampart")
        .complete();
}

/// Completes a firewall name from the policy given on the command line.
pub(crate) fn firewall() -> ArgValueCompleter {
    ArgValueCompleter::new(firewall_names)
}

fn firewall_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    // A completer sees only the word being completed: the policy is found
    // among the other words, as the first one that loads as a policy.
    let names = std::env::args_os()
        .skip(1)
        .find_map(|word| policy_firewalls(Path::new(&word)))
        .unwrap_or_default();
    names.into_iter().filter(|n| n.starts_with(current.as_ref())).map(Into::into).collect()
}

fn policy_firewalls(path: &Path) -> Option<Vec<String>> {
    if !path.is_file() {
        return None;
    }
    let loaded = rampart_model::load(path, &mut Sources::new()).ok()?;
    let model = loaded.model?;
    Some(model.firewalls.iter().map(|f| f.name.clone()).collect())
}
