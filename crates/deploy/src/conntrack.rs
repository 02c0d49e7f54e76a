//! The management session, made known to connection tracking before the
//! rules load.
//!
//! Where no rule has needed connection tracking yet, the kernel does not
//! track the SSH session that runs `apply`. Once rules that accept
//! ESTABLISHED traffic load, the session's next packet is picked up in mid
//! stream as NEW: if the host speaks first (a reply, Ansible's result), it
//! meets the default deny and the session hangs until the try rolls back.
//! An entry for the session, inserted as ESTABLISHED before loading, keeps
//! it what the lock-out guard traced it as.

use std::process::Command;

use rampart_os::ToolError;

use crate::DeployError;
use crate::guard::Mgmt;

/// A day: the kernel's own timeout for an established TCP connection is
/// five; any packet of the session renews it.
const TIMEOUT_SECS: &str = "86400";

/// Insert the session's entry, unless conntrack already tracks it. A
/// session without a known address and port on both ends is left alone
/// (the guard could not trace it either).
pub(crate) fn track(m: &Mgmt) -> Result<(), DeployError> {
    let (Some(server), Some(client_port)) = (m.server, m.client_port) else { return Ok(()) };
    let mut cmd = Command::new("conntrack");
    cmd.args(["-I", "-p", "tcp", "-s"])
        .arg(m.client.to_string())
        .arg("-d")
        .arg(server.to_string())
        .args(["--sport", &client_port.to_string(), "--dport", &m.server_port.to_string()])
        .args([
            "--state",
            "ESTABLISHED",
            "--timeout",
            TIMEOUT_SECS,
            "--status",
            "ASSURED,SEEN_REPLY",
        ]);
    match rampart_os::run(&mut cmd, "conntrack", None) {
        Ok(_) => Ok(()),
        // Tracked already: nothing to do.
        Err(ToolError::Failed { stderr, .. }) if stderr.contains("exists") => Ok(()),
        Err(e) => Err(DeployError::Capability {
            what: "cannot make connection tracking know the SSH session before loading; \
                   without it, rules that accept established traffic can cut the session on a \
                   host where nothing tracked connections yet. Install conntrack, or use --force"
                .to_owned(),
            cause: Some(e),
        }),
    }
}
