//! The lock-out guard: before loading, trace the management connection
//! through the new ruleset; if it would be cut, say which rule cuts it.

use std::net::IpAddr;

use rampart_ir::{Family, Ruleset};
use rampart_trace::{CtState, Hook, Packet, Verdict, tcp};

/// The connection that must survive: from `client` to this host's SSH port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mgmt {
    /// This host's interface the connection arrives on, when known.
    pub iface: Option<String>,
    pub client: IpAddr,
    pub client_port: Option<u16>,
    /// This host's address the client connects to, when known.
    pub server: Option<IpAddr>,
    pub server_port: u16,
}

impl Mgmt {
    /// From `$SSH_CONNECTION`: `client_ip client_port server_ip server_port`;
    /// a link-local IPv6 address may carry its zone (`fe80::1%eth0`), which
    /// names the interface. Anything else is an error saying so.
    pub fn from_ssh_connection(s: &str) -> Result<Self, String> {
        let parsed = || -> Option<Self> {
            let words: Vec<&str> = s.split_whitespace().collect();
            let [client, client_port, server, server_port] = words[..] else { return None };
            let (client, zone) = zoned(client)?;
            let (server, server_zone) = zoned(server)?;
            Some(Self {
                iface: server_zone.or(zone),
                client,
                client_port: Some(client_port.parse().ok()?),
                server: Some(server),
                server_port: server_port.parse().ok()?,
            })
        };
        parsed().ok_or_else(|| {
            format!(
                "$SSH_CONNECTION `{}` is not `CLIENT_ADDR CLIENT_PORT SERVER_ADDR SERVER_PORT`",
                s.escape_debug()
            )
        })
    }

    #[must_use]
    pub fn family(&self) -> Family {
        if self.client.is_ipv4() { Family::V4 } else { Family::V6 }
    }

    /// From `--mgmt ADDR:PORT` (the admin's address and this host's SSH
    /// port; `[v6]:PORT` for IPv6).
    #[must_use]
    pub fn from_flag(s: &str) -> Option<Self> {
        let (addr, port) = s.rsplit_once(':')?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        Some(Self {
            iface: None,
            client: addr.parse().ok()?,
            client_port: None,
            server: None,
            server_port: port.parse().ok()?,
        })
    }
}

/// An address with an optional IPv6 zone: `fe80::1%eth0`.
fn zoned(s: &str) -> Option<(IpAddr, Option<String>)> {
    match s.split_once('%') {
        None => Some((s.parse().ok()?, None)),
        Some((addr, zone)) if !zone.is_empty() => {
            let addr: std::net::Ipv6Addr = addr.parse().ok()?;
            Some((IpAddr::V6(addr), Some(zone.to_owned())))
        }
        Some(_) => None,
    }
}

/// `$SSH_CONNECTION` of this process, else of the nearest ancestor that has
/// it: `sudo` and `su` drop it from the environment, but the login shell
/// that ran them still holds it. Set and empty means "not over SSH".
#[must_use]
pub fn ssh_connection() -> Option<String> {
    if let Ok(s) = std::env::var("SSH_CONNECTION") {
        return (!s.trim().is_empty()).then_some(s);
    }
    let mut pid = std::process::id();
    // A bounded walk: a process tree is never this deep.
    for _ in 0..64 {
        pid = parent(pid)?;
        if pid <= 1 {
            return None;
        }
        if let Some(s) = environ_var(pid, "SSH_CONNECTION") {
            return (!s.trim().is_empty()).then_some(s);
        }
    }
    None
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

fn environ_var(pid: u32, key: &str) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0).find_map(|kv| {
        let kv = std::str::from_utf8(kv).ok()?;
        kv.strip_prefix(key)?.strip_prefix('=').map(str::to_owned)
    })
}

/// The management connection would be cut: by which packet and rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub packet: &'static str,
    pub verdict: String,
    /// `CHAIN #N: rule text`, or the chain policy.
    pub decided_by: String,
}

/// Trace the session's packets (an established packet in, its reply out,
/// and a new connection for `rampart confirm`) through `rs`.
#[must_use]
pub fn check(rs: &Ruleset, m: &Mgmt) -> Option<Cut> {
    let family = m.family();
    let inbound = |state, flags| Packet {
        src: Some(m.client),
        dst: m.server,
        proto: Some(6),
        sport: m.client_port,
        dport: Some(m.server_port),
        tcp_flags: Some(flags),
        state,
        in_iface: m.iface.clone(),
        ..Packet::new(Hook::Input)
    };
    let reply = Packet {
        src: m.server,
        dst: Some(m.client),
        proto: Some(6),
        sport: Some(m.server_port),
        dport: m.client_port,
        tcp_flags: Some(tcp::ACK),
        state: CtState::Established,
        out_iface: m.iface.clone(),
        ..Packet::new(Hook::Output)
    };
    let packets = [
        ("the session's packets to this host", inbound(CtState::Established, tcp::ACK)),
        ("the session's replies", reply),
        ("a new SSH connection (needed for `rampart confirm`)", inbound(CtState::New, tcp::SYN)),
    ];
    for (what, p) in packets {
        let t = rampart_trace::trace(rs, &p);
        if t.verdict != Verdict::Accept {
            let decided_by = rampart_trace::explain::deciding(rs, &t.main, p.hook, family);
            let verdict = match t.verdict {
                Verdict::Unknown => {
                    "no certain ACCEPT (it depends on matches a trace cannot decide)".to_owned()
                }
                v => v.name().to_owned(),
            };
            return Some(Cut { packet: what, verdict, decided_by });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_connection() {
        let m = Mgmt::from_ssh_connection("10.0.0.9 51000 10.0.0.1 22").unwrap();
        assert_eq!(m.server_port, 22);
        assert_eq!(m.client_port, Some(51000));
        let m = Mgmt::from_ssh_connection("fe80::9%eth1 51000 fe80::1%eth1 22").unwrap();
        assert_eq!((m.client.to_string().as_str(), m.iface.as_deref()), ("fe80::9", Some("eth1")));
        for bad in ["", "garbage", "10.0.0.9 x 10.0.0.1 22", "fe80::1% 1 fe80::2 22", "1 2 3 4 5"] {
            assert!(Mgmt::from_ssh_connection(bad).is_err(), "{bad}");
        }
        let m = Mgmt::from_flag("[2001:db8::9]:2222").unwrap();
        assert!(m.client.is_ipv6() && m.server_port == 2222);
        assert!(Mgmt::from_flag("nonsense").is_none());
    }
}
