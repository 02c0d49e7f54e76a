//! Sending probes for real: `ping`, a TCP connect and a UDP exchange with
//! `socat`, optionally as a UID (`setpriv`), and the forged neighbour entry
//! of a man-in-the-middle probe.

use std::net::IpAddr;
use std::process::{Command, Stdio};

use crate::describe::{Lab, Outcome, ProbeKind};
use crate::netns::{LabError, Netns};
use crate::topology::{Topology, mac, route_get};

/// What the kernel let happen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub outcome: Outcome,
    /// `connected`, `echo reply`, `refused`, `timeout`, ...
    pub detail: String,
}

/// How long a probe waits for an answer, in seconds.
const WAIT: &str = "2";

/// The command line of a probe, run inside the sender's namespace.
/// `sport` 0 lets the kernel choose the source port.
#[must_use]
pub fn command_line(
    kind: ProbeKind,
    dst: IpAddr,
    port: Option<u16>,
    sport: u16,
    uid: Option<u32>,
) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    if let Some(u) = uid {
        let u = u.to_string();
        argv.extend(["setpriv", "--reuid", &u, "--regid", &u, "--clear-groups"].map(String::from));
    }
    let port = port.unwrap_or(0);
    let source = if sport == 0 { String::new() } else { format!(",sourceport={sport},reuseaddr") };
    let (v, bracket) =
        if dst.is_ipv6() { ("6", format!("[{dst}]")) } else { ("4", dst.to_string()) };
    match kind {
        ProbeKind::Ping => {
            let d = dst.to_string();
            argv.extend(["ping", "-n", "-c", "1", "-W", WAIT, &d].map(String::from));
        }
        ProbeKind::Tcp => argv.extend([
            "socat".to_owned(),
            "-u".to_owned(),
            "OPEN:/dev/null".to_owned(),
            format!("TCP{v}:{bracket}:{port},connect-timeout={WAIT}{source}"),
        ]),
        ProbeKind::Udp => argv.extend([
            "socat".to_owned(),
            "-t".to_owned(),
            WAIT.to_owned(),
            "-".to_owned(),
            format!("UDP{v}:{bracket}:{port}{source}"),
        ]),
    }
    argv
}

/// Sends one probe from `ns` and says whether it got through.
pub fn send(ns: &Netns, argv: &[String], kind: ProbeKind) -> Result<Seen, LabError> {
    let mut cmd: Command = ns.command(&argv[0]);
    cmd.args(&argv[1..]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The probe's own exit says what became of it: spawned here, not
    // through the tool runner, which turns a non-zero exit into an error.
    let spawn_err = |source| LabError::Io { what: format!("run `{}`", argv.join(" ")), source };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        if kind == ProbeKind::Udp {
            let _ = stdin.write_all(b"rampart lab probe\n");
        }
    }
    let out = child.wait_with_output().map_err(spawn_err)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).to_ascii_lowercase();
    let passed = match kind {
        ProbeKind::Ping | ProbeKind::Tcp => out.status.success(),
        ProbeKind::Udp => stdout.contains("rampart lab probe"),
    };
    let detail = if passed {
        match kind {
            ProbeKind::Ping => "echo reply",
            ProbeKind::Tcp => "connected",
            ProbeKind::Udp => "echoed",
        }
    } else if stderr.contains("refused") || stdout.contains("unreachable") {
        "refused"
    } else if stderr.contains("unreachable") || stderr.contains("no route") {
        "unreachable"
    } else if stderr.contains("not permitted") || stdout.contains("not permitted") {
        "not permitted"
    } else {
        "timeout"
    };
    Ok(Seen {
        outcome: if passed { Outcome::Pass } else { Outcome::Blocked },
        detail: detail.to_owned(),
    })
}

/// A forged neighbour entry on the victim and forwarding on at the
/// attacker, undone by [`Spoof::undo`].
#[derive(Debug)]
pub struct Spoof {
    victim: String,
    next_hop: IpAddr,
    dev: String,
    attacker: String,
    forward: bool,
    /// The attacker's interface, for the report.
    pub attacker_iface: String,
}

/// Points `from`'s neighbour entry for its next hop towards `dst` at the
/// attacker's MAC (what ARP spoofing achieves, made deterministic), and
/// makes the attacker forward what it receives.
pub fn spoof(
    lab: &Lab,
    topo: &Topology,
    from: &str,
    dst: IpAddr,
    attacker: &str,
) -> Result<Spoof, LabError> {
    let victim = topo.ns(from);
    let hop = route_get(victim, dst)?;
    let next_hop = hop.via.unwrap_or(dst);
    let node = lab.node(attacker).expect("checked attacker");
    // The attacker's interface on the victim's segment: the one whose
    // network holds the victim's source address, else its first.
    let iface = hop
        .src
        .and_then(|src| node.interfaces.iter().find(|i| i.addrs.iter().any(|a| a.contains(&src))))
        .or_else(|| node.interfaces.first())
        .map(|i| i.name.clone())
        .unwrap_or_default();
    let att = topo.ns(attacker);
    let mac = mac(att, &iface)?;
    let nh = next_hop.to_string();
    victim.run([
        "ip",
        "neigh",
        "replace",
        &nh,
        "lladdr",
        &mac,
        "dev",
        &hop.dev,
        "nud",
        "permanent",
    ])?;
    att.sysctl("net.ipv4.ip_forward", "1")?;
    // Redirects would tell the victim the real next hop and end the attack.
    att.sysctl("net.ipv4.conf.all.send_redirects", "0")?;
    att.sysctl(&format!("net.ipv4.conf.{iface}.send_redirects"), "0")?;
    Ok(Spoof {
        victim: from.to_owned(),
        next_hop,
        dev: hop.dev,
        attacker: attacker.to_owned(),
        forward: node.forward,
        attacker_iface: iface,
    })
}

impl Spoof {
    /// Removes the forged entry and puts the attacker's forwarding back.
    pub fn undo(&self, topo: &Topology) {
        let nh = self.next_hop.to_string();
        let _ = topo.ns(&self.victim).run(["ip", "neigh", "del", &nh, "dev", &self.dev]);
        let _ = topo
            .ns(&self.attacker)
            .sysctl("net.ipv4.ip_forward", if self.forward { "1" } else { "0" });
    }
}
