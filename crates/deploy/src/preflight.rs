//! Before anything is loaded: can rules be loaded here at all, and will
//! their LOG lines be written anywhere? Containers (LXC without
//! CAP_NET_ADMIN, OpenVZ, a network namespace of their own) get one
//! sentence saying what is missing and what still works, instead of a
//! failure deep inside a load.

use std::path::Path;

use crate::DeployError;

/// CAP_NET_ADMIN's bit in the capability sets.
const CAP_NET_ADMIN: u32 = 12;

/// What still works where rules cannot be loaded.
const STILL_WORKS: &str = "still works here: `rampart check`, `compile`, `trace` and `test`; \
    load from where it is allowed (`rampart apply --host` pushes over SSH)";

/// Whether the effective capabilities of this process (`CapEff` in
/// `status`) hold CAP_NET_ADMIN; `None` when they cannot be read.
fn net_admin(status: &str) -> Option<bool> {
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    let caps = u64::from_str_radix(hex, 16).ok()?;
    Some(caps & (1 << CAP_NET_ADMIN) != 0)
}

/// Refuse, before touching anything, where this process may not change
/// (or read) the firewall: `what` is the operation (`nothing was loaded`).
pub fn capable(what: &str) -> Result<(), DeployError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match net_admin(&status) {
        // Unknown: the tools themselves will say.
        None | Some(true) => Ok(()),
        Some(false) => Err(DeployError::Capability {
            what: format!(
                "this process lacks CAP_NET_ADMIN (not root, or a container that withholds it), \
                 so the firewall cannot be read or changed here: {what}; {STILL_WORKS}"
            ),
            cause: None,
        }),
    }
}

/// A note for a ruleset that logs, where the kernel may not write its LOG
/// lines: `proc` is the root of `/proc/sys/net/netfilter`.
#[must_use]
pub fn logging(proc: &Path, logs: bool) -> Option<String> {
    if !logs {
        return None;
    }
    let unbound: Vec<&str> = [("2", "IPv4"), ("10", "IPv6")]
        .into_iter()
        .filter(|(family, _)| {
            std::fs::read_to_string(proc.join("nf_log").join(family))
                .is_ok_and(|l| l.trim() == "NONE")
        })
        .map(|(_, name)| name)
        .collect();
    if !unbound.is_empty() {
        return Some(format!(
            "note: no kernel logger serves {} in this network namespace (nf_log is not loaded and \
             cannot be here): the rules load and decide, but their LOG lines are written nowhere; \
             `rampart status --counters` still counts every rule",
            unbound.join(" and ")
        ));
    }
    // The switch exists only in the host's own network namespace.
    (!proc.join("nf_log_all_netns").exists()).then(|| {
        "note: this is not the host's network namespace: the kernel writes its LOG lines only if \
         the host sets net.netfilter.nf_log_all_netns=1, and then into the host's kernel log, \
         which `rampart logs follow` reads from /dev/kmsg where the container may read it (else \
         read them on the host); the rules load and decide either way"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_effective_capabilities() {
        assert_eq!(net_admin("Name:\tx\nCapEff:\t000001ffffffffff\n"), Some(true));
        assert_eq!(net_admin("CapEff:\t0000000000000000\n"), Some(false));
        assert_eq!(net_admin("CapEff:\t0000000000001000\n"), Some(true));
        assert_eq!(net_admin("CapEff:\tzz\n"), None);
        assert_eq!(net_admin(""), None);
    }

    #[test]
    fn says_where_log_lines_go() {
        let dir = rampart_testing::tempdir("preflight");
        std::fs::create_dir_all(dir.join("nf_log")).unwrap();
        std::fs::write(dir.join("nf_log/2"), "nf_log_ipv4\n").unwrap();
        std::fs::write(dir.join("nf_log/10"), "NONE\n").unwrap();
        assert!(logging(&dir, true).unwrap().contains("serves IPv6 in this network namespace"));
        assert_eq!(logging(&dir, false), None);
        std::fs::write(dir.join("nf_log/10"), "nf_log_ipv6\n").unwrap();
        assert!(logging(&dir, true).unwrap().contains("nf_log_all_netns=1"));
        std::fs::write(dir.join("nf_log_all_netns"), "0\n").unwrap();
        assert_eq!(logging(&dir, true), None);
    }
}
