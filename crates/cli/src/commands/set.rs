//! `rampart set add|del SET ADDR...`: put addresses into a loaded run-time
//! set, or take them out (Fail2ban's action, scripts).

use std::net::IpAddr;
use std::process::ExitCode;

use clap::Subcommand;
use rampart_deploy::sets;

use crate::printer;

/// Add addresses to a loaded run-time set (`set NAME ipv4` in the policy),
/// or remove them: the nft set or the ipset, as the loaded firewall has it.
///
/// An address of the other family, or a set that is not loaded, is refused
/// before anything changes.
#[derive(Debug, clap::Args)]
pub(crate) struct SetArgs {
    #[command(subcommand)]
    command: SetCommand,
}

#[derive(Debug, Subcommand)]
enum SetCommand {
    /// Add addresses, each with the set's own timeout.
    Add(Elements),
    /// Remove addresses (one not in the set is reported, not an error).
    Del(Elements),
}

#[derive(Debug, clap::Args)]
struct Elements {
    /// The set's name, as the policy declares it.
    set: String,
    /// Addresses (IPv4 or IPv6, as the set holds).
    #[arg(required = true)]
    addrs: Vec<IpAddr>,
}

pub(crate) fn run(args: &SetArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        SetCommand::Add(e) => {
            let set = sets::live(&e.set)?;
            set.add(&e.addrs)?;
        }
        SetCommand::Del(e) => {
            let set = sets::live(&e.set)?;
            for a in set.remove(&e.addrs)? {
                printer::note(&format!("note: {a} was not in set `{}`", set.name));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
