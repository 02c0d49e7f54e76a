//! The iptables backend: read the loaded filter table, load a document,
//! for IPv4 (iptables) or IPv6 (ip6tables).

use std::io::Write;
use std::process::{Command, Stdio};

use rampart_ir::{Family, Table};

use crate::DeployError;

/// Run a tool with `input` on stdin; stdout on success.
pub fn run(tool: &str, args: &[&str], input: Option<&str>) -> Result<String, DeployError> {
    let mut child = Command::new(tool)
        .args(args)
        // Policy times are UTC; nft reads `meta hour` in the caller's zone.
        .env("TZ", "UTC")
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| DeployError::Spawn {
            tool: tool.into(),
            package: package_of(tool),
            source,
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A tool that exits early closes its stdin; its stderr says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|source| DeployError::Spawn {
        tool: tool.into(),
        package: package_of(tool),
        source,
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(capability(&stderr).unwrap_or(DeployError::Failed { tool: tool.into(), stderr }))
    }
}

fn package_of(tool: &str) -> &'static str {
    match tool {
        "nft" => "nftables",
        "systemd-analyze" => "systemd",
        _ => "iptables",
    }
}

/// Turn the kernel's complaints into one plain sentence where we know them
/// (containers without netfilter modules, missing privileges).
fn capability(stderr: &str) -> Option<DeployError> {
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
        return None;
    };
    Some(DeployError::Capability(format!(
        "{msg}\n  (the tool said: {})",
        stderr.lines().next().unwrap_or("")
    )))
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

/// Load a document in one transaction. `noflush` leaves chains the
/// document does not name alone.
pub fn restore(family: Family, doc: &str, noflush: bool) -> Result<(), DeployError> {
    let args: &[&str] = if noflush { &["-w", "--noflush"] } else { &["-w"] };
    run(&tool(family, "restore"), args, Some(doc)).map(drop)
}
