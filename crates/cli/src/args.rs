use clap::{Parser, Subcommand};

/// Rampart: a text-first firewall builder for Linux.
///
/// Write the policy once as text, check it like a program, compile it to
/// iptables-restore or nftables, trace any packet through it, prove it in a
/// real kernel, and read its logs.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read firewall LOG lines: summary, follow, scans, blocklist, collect.
    Logs(crate::commands::logs::LogsArgs),
}
