//! The iptables backend: read the loaded filter table, load a document,
//! for IPv4 (iptables) or IPv6 (ip6tables).

use std::process::Command;

use rampart_ir::{Family, Table};

use rampart_os::ToolError;

use crate::DeployError;

/// Run a tool with `input` on stdin; stdout on success. The kernel's
/// complaints we know become one plain sentence.
pub fn run(tool: &str, args: &[&str], input: Option<&str>) -> Result<String, DeployError> {
    // Policy times are UTC; nft reads `meta hour` in the caller's zone.
    let mut cmd = Command::new(tool);
    cmd.args(args).env("TZ", "UTC");
    rampart_os::run(&mut cmd, package_of(tool), input).map_err(capability)
}

fn package_of(tool: &str) -> &'static str {
    match tool {
        "nft" => "nftables",
        "systemd-analyze" => "systemd",
        "ipset" => "ipset",
        _ => "iptables",
    }
}

/// Turn the kernel's complaints into one plain sentence where we know them
/// (containers without netfilter modules, missing privileges), the tool's
/// error kept as the cause.
pub(crate) fn capability(e: ToolError) -> DeployError {
    let ToolError::Failed { stderr, .. } = &e else { return DeployError::Tool(e) };
    let says = |s: &str| stderr.contains(s);
    let msg = if says("Permission denied") || says("Operation not permitted") {
        "the kernel refused: loading a firewall needs root (CAP_NET_ADMIN)"
    } else if says("do you need to insmod")
        || says("Table does not exist")
        || says("Protocol not supported")
    {
        "this kernel has no iptables filter table and the module cannot be loaded here \
         (a container without netfilter modules); nothing was changed"
    } else if says("Couldn't load match")
        || says("Couldn't load target")
        || says("No such file or directory") && says("match")
    {
        "this kernel lacks a match or target the ruleset uses (a module cannot be loaded here); \
         nothing was changed"
    } else {
        return DeployError::Tool(e);
    };
    DeployError::Capability { what: msg.to_owned(), cause: Some(e) }
}

fn tool(family: Family, what: &str) -> String {
    match family {
        Family::V4 => format!("iptables-{what}"),
        Family::V6 => format!("ip6tables-{what}"),
    }
}

/// The loaded `filter` table as `iptables-save` prints it.
pub fn save(family: Family) -> Result<String, DeployError> {
    save_table(family, Table::Filter)
}

/// One loaded table as `iptables-save` prints it.
pub fn save_table(family: Family, table: Table) -> Result<String, DeployError> {
    run(&tool(family, "save"), &["-t", table.name()], None)
}

/// One loaded table with each rule's packet and byte counts (`-c`).
pub fn save_counted(family: Family, table: Table) -> Result<String, DeployError> {
    run(&tool(family, "save"), &["-c", "-t", table.name()], None)
}

/// Load a document in one transaction. `noflush` leaves chains the
/// document does not name alone.
pub fn restore(family: Family, doc: &str, noflush: bool) -> Result<(), DeployError> {
    let args: &[&str] = if noflush { &["-w", "--noflush"] } else { &["-w"] };
    run(&tool(family, "restore"), args, Some(doc)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_complaint_is_one_sentence_that_keeps_the_tools_words() {
        let said = "iptables-restore v1.8: Permission denied (you must be root)";
        let e =
            capability(ToolError::Failed { tool: "iptables-restore".into(), stderr: said.into() });
        assert!(e.to_string().starts_with("the kernel refused"), "{e}");
        let cause = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains(said), "{cause}");
        // An unknown complaint stays the tool's own error.
        let e = capability(ToolError::Failed { tool: "nft".into(), stderr: "syntax".into() });
        assert!(matches!(e, DeployError::Tool(_)), "{e}");
    }
}
