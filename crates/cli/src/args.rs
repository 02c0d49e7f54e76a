use clap::{Parser, Subcommand};

use crate::commands;

/// Rampart: a text-first firewall builder for Linux.
///
/// Write the policy once as text, check it like a program, compile it to
/// iptables-restore, trace any packet through it, prove it in a real kernel,
/// and read its logs.
///
/// The policy language: `man rampart-policy`; a diagnostic code:
/// `rampart explain E0210`. Shell completion: `source <(COMPLETE=bash
/// rampart)` (zsh likewise; fish: `COMPLETE=fish rampart | source`).
///
/// Exit status: 0 success, 1 problems found in the input, 2 the command
/// could not run (unreadable file, missing tool, no permission).
#[derive(Debug, Parser)]
#[command(name = "rampart", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Check(commands::check::CheckArgs),
    Fmt(commands::fmt::FmtArgs),
    Lsp(commands::lsp::LspArgs),
    Compile(commands::compile::CompileArgs),
    Demo(commands::demo::DemoArgs),
    Apply(commands::deploy::ApplyArgs),
    Diff(commands::deploy::DiffArgs),
    Confirm(commands::deploy::ConfirmArgs),
    Rollback(commands::deploy::RollbackArgs),
    Status(commands::deploy::StatusArgs),
    InstallService(commands::deploy::InstallServiceArgs),
    Metrics(commands::counters::MetricsArgs),
    Top(commands::top::TopArgs),
    #[command(hide = true)]
    Watchdog(commands::deploy::WatchdogArgs),
    /// Trace a packet: the rules it meets, the log lines, the verdict.
    Trace(Box<crate::commands::trace::TraceArgs>),
    /// Import a ruleset made elsewhere (iptables-save output, scripts).
    Import(crate::commands::import::ImportArgs),
    /// Read firewall LOG lines: summary, follow, scans, blocklist, collect.
    Logs(crate::commands::logs::LogsArgs),
    Set(commands::set::SetArgs),
    /// Prove a firewall in a real kernel: build a lab network, load, probe.
    Lab(commands::lab::LabArgs),
    /// Answer a lab's probes offline, by trace alone (no root).
    Test(commands::test::TestArgs),
    /// What can reach what: the services each zone may open to each other.
    Matrix(commands::matrix::MatrixArgs),
    /// The firewall as one self-contained HTML page.
    Report(commands::report::ReportArgs),
    /// The console access kit: sudoers fragment, launcher, install, audit.
    Access(crate::commands::access::AccessArgs),
    Explain(commands::reference::ExplainArgs),
    Manpages(commands::reference::ManpagesArgs),
}
