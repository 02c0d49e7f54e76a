//! Pushing a compiled bundle to hosts over OpenSSH with the protection of a
//! local apply. The host runs `rampart apply --compiled - --json`, whose
//! guard traces the very SSH session it arrived on; then a NEW connection
//! must get through to run `rampart confirm`. A host that cannot be reached
//! again is left alone: its watchdog rolls it back by itself.

use std::fmt;
use std::process::Command;
use std::str::FromStr;

use crate::answer::{ApplyAnswer, State, StatusAnswer};
use crate::apply::NOT_WAITING;
use crate::diff;

/// `[FIREWALL=][USER@]HOST[:PORT]`; an IPv6 host goes in brackets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// The policy's firewall for this host, when not the host's own name.
    pub firewall: Option<String>,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl FromStr for Host {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (firewall, rest) = match s.split_once('=') {
            Some((f, r)) => (Some(f.to_owned()), r),
            None => (None, s),
        };
        let (user, rest) = match rest.rsplit_once('@') {
            Some((u, r)) => (Some(u.to_owned()), r),
            None => (None, rest),
        };
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("an IPv6 host needs its closing `]`")?;
            (h, after.strip_prefix(':'))
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        let port = port
            .map(|p| p.parse::<u16>().map_err(|_| format!("`{p}` is not a port")))
            .transpose()?;
        if host.is_empty()
            || host.starts_with('-')
            || firewall.as_deref() == Some("")
            || user.as_deref() == Some("")
        {
            return Err("expected [FIREWALL=][USER@]HOST[:PORT]".into());
        }
        Ok(Self { firewall, user, host: host.to_owned(), port })
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)
        } else {
            f.write_str(&self.host)
        }?;
        match self.port {
            Some(p) => write!(f, ":{p}"),
            None => Ok(()),
        }
    }
}

impl Host {
    /// The firewall to apply there: the one named, else one called like the
    /// host (its first label for a DNS name).
    #[must_use]
    pub fn firewall_name(&self) -> &str {
        self.firewall.as_deref().unwrap_or_else(|| {
            if self.host.parse::<std::net::IpAddr>().is_ok() {
                &self.host
            } else {
                self.host.split('.').next().unwrap_or(&self.host)
            }
        })
    }
}

/// How to reach the hosts.
#[derive(Clone, Debug)]
pub struct Ssh {
    /// The `ssh` program.
    pub program: String,
    /// Extra `-o` options (IdentityFile=..., StrictHostKeyChecking=...).
    pub options: Vec<String>,
    pub connect_timeout: u64,
    /// The command that runs rampart on the host, as shell words
    /// (`rampart`, `sudo -n rampart`, `/opt/rampart/bin/rampart`).
    pub remote_rampart: String,
}

/// What to push.
pub struct Push<'a> {
    pub bundle_json: &'a str,
    /// `iptables` or `nft`.
    pub backend: &'a str,
    /// Seconds the host waits for the confirmation; 0 applies for good.
    pub try_secs: u64,
    pub force: bool,
}

/// How it went on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// Applied, and a new connection confirmed it (or no try was asked).
    Applied { version: String, confirmed: bool },
    /// The guard on the host refused; nothing was loaded.
    Refused { reason: String },
    /// Applied, but no new connection got through to confirm: the host
    /// rolls back by itself.
    Unconfirmed { version: String, why: String },
    /// The session broke while applying; a loaded try rolls back by itself.
    Broken { why: String },
    /// Nothing was applied: no connection, or the host's rampart refused.
    Failed { why: String },
}

impl PushOutcome {
    #[must_use]
    pub fn ok(&self) -> bool {
        matches!(self, PushOutcome::Applied { .. })
    }

    /// One word for the summary.
    #[must_use]
    pub fn word(&self) -> &'static str {
        match self {
            PushOutcome::Applied { confirmed: true, .. } => "confirmed",
            PushOutcome::Applied { confirmed: false, .. } => "applied",
            PushOutcome::Refused { .. } => "refused",
            PushOutcome::Unconfirmed { .. } => "rolling-back",
            PushOutcome::Broken { .. } => "broken",
            PushOutcome::Failed { .. } => "failed",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub host: Host,
    pub outcome: PushOutcome,
    /// What the host's rampart printed (its change list, its messages).
    pub transcript: String,
}

/// ssh's own exit status for connection errors.
const SSH_FAILED: i32 = 255;
/// The shell's exit status for a command it cannot find.
const NOT_FOUND: i32 = 127;

/// Apply on one host, then confirm from a new connection.
#[must_use]
pub fn push(host: &Host, ssh: &Ssh, p: &Push<'_>) -> Report {
    let mut words = vec!["apply", "--compiled", "-", "--json", "--backend", p.backend, "--try"];
    let try_secs = p.try_secs.to_string();
    words.push(&try_secs);
    if p.force {
        words.push("--force");
    }
    let (outcome, transcript) = match run(host, ssh, &words, Some(p.bundle_json), true) {
        Err(why) => (PushOutcome::Failed { why }, String::new()),
        Ok(r) if r.status == SSH_FAILED && r.stdout.trim().is_empty() => {
            let why = first_line(&r.stderr);
            // A session that got past authentication and died (keep-alives
            // unanswered) may have loaded the rules; before it, nothing ran.
            if r.authenticated {
                (PushOutcome::Broken { why }, r.stderr)
            } else {
                (PushOutcome::Failed { why }, String::new())
            }
        }
        Ok(r) if r.status == NOT_FOUND => {
            let why = format!(
                "`{}` is not on the host ({}): install rampart there, or name it with --remote-rampart",
                ssh.remote_rampart,
                first_line(&r.stderr)
            );
            (PushOutcome::Failed { why }, String::new())
        }
        Ok(r) => match serde_json::from_str::<ApplyAnswer>(r.stdout.trim()) {
            Ok(a) => answered(host, ssh, p, a, r.stderr),
            Err(_) => {
                let why = if r.stderr.trim().is_empty() {
                    format!("the host's rampart answered: {}", first_line(&r.stdout))
                } else {
                    first_line(&r.stderr)
                };
                (PushOutcome::Failed { why }, r.stderr)
            }
        },
    };
    Report { host: host.clone(), outcome, transcript }
}

fn answered(
    host: &Host,
    ssh: &Ssh,
    p: &Push<'_>,
    a: ApplyAnswer,
    stderr: String,
) -> (PushOutcome, String) {
    let (version, changes) = match a {
        ApplyAnswer::Refused { refused: r } => {
            let reason =
                format!("{} would get {}, decided by {}", r.packet, r.verdict, r.decided_by);
            return (PushOutcome::Refused { reason }, stderr);
        }
        ApplyAnswer::Applied { version, changes, .. } => (version, changes),
    };
    let transcript = if changes.is_empty() { stderr } else { diff::render(&changes) };
    if p.try_secs == 0 {
        return (PushOutcome::Applied { version, confirmed: false }, transcript);
    }
    // A NEW connection, never a shared master one: this proves the host can
    // still be reached after the change.
    let outcome = match run(host, ssh, &["confirm"], None, false) {
        Ok(r) if r.status == 0 => PushOutcome::Applied { version, confirmed: true },
        Ok(r) if r.stderr.contains(NOT_WAITING) => PushOutcome::Unconfirmed {
            version,
            why: "the try ran out before the confirmation got through: the host has \
                  restored its previous rules"
                .into(),
        },
        Ok(r) => PushOutcome::Unconfirmed {
            version,
            why: format!(
                "{}; the host restores its previous rules by itself within {} s",
                first_line(&r.stderr),
                p.try_secs
            ),
        },
        Err(why) => PushOutcome::Unconfirmed { version, why },
    };
    (outcome, transcript)
}

/// What `rampart status --json` said on a host.
#[derive(Clone, Debug)]
pub struct HostStatus {
    pub status: StatusAnswer,
}

impl HostStatus {
    /// `match`, `drift`, `overdue` (a try past its deadline, not rolled
    /// back), `boot` (the boot files differ from what was applied),
    /// `pending` (a try waits for its confirmation) or `nothing` (rampart
    /// applied nothing there).
    #[must_use]
    pub fn word(&self) -> &'static str {
        self.status.state().word()
    }

    #[must_use]
    pub fn matches(&self) -> bool {
        self.status.state() == State::Match
    }

    #[must_use]
    pub fn detail(&self) -> String {
        self.status.detail()
    }
}

/// A host's status, read with `rampart status --json` over SSH.
pub fn status(host: &Host, ssh: &Ssh) -> Result<HostStatus, String> {
    let r = run(host, ssh, &["status", "--json"], None, false)?;
    match serde_json::from_str::<StatusAnswer>(r.stdout.trim()) {
        Ok(status) => Ok(HostStatus { status }),
        _ if r.status == NOT_FOUND => Err(format!(
            "`{}` is not on the host: install rampart there, or name it with --remote-rampart",
            ssh.remote_rampart
        )),
        _ => Err(first_line(&r.stderr)),
    }
}

struct Ran {
    status: i32,
    stdout: String,
    /// ssh's and the remote command's messages, without ssh's own chatter.
    stderr: String,
    /// ssh said it authenticated: the remote command may have run.
    authenticated: bool,
}

/// ssh's own lines at `LogLevel=VERBOSE` that say nothing about the host.
fn chatter(line: &str) -> bool {
    ["Authenticated to ", "Transferred: ", "Bytes per second", "Warning: Permanently added"]
        .iter()
        .any(|p| line.starts_with(p))
}

fn run(
    host: &Host,
    ssh: &Ssh,
    words: &[&str],
    input: Option<&str>,
    keepalive: bool,
) -> Result<Ran, String> {
    let mut cmd = Command::new(&ssh.program);
    cmd.args(["-o", "BatchMode=yes", "-o", "ControlPath=none", "-T"])
        .arg("-o")
        .arg(format!("ConnectTimeout={}", ssh.connect_timeout));
    if keepalive {
        // Notice a session the new rules cut, instead of waiting for TCP.
        cmd.args(["-o", "ServerAliveInterval=3", "-o", "ServerAliveCountMax=3"]);
    }
    for o in &ssh.options {
        cmd.arg("-o").arg(o);
    }
    // After the caller's options (the first value wins), before the config
    // files': a quiet LogLevel would hide "server not responding", and
    // VERBOSE says whether authentication was done.
    cmd.args(["-o", "LogLevel=VERBOSE"]);
    if let Some(port) = host.port {
        cmd.arg("-p").arg(port.to_string());
    }
    if let Some(user) = &host.user {
        cmd.arg("-l").arg(user);
    }
    let quoted = shlex::try_join(words.iter().copied()).map_err(|e| e.to_string())?;
    // `--`: nothing after it is an ssh option, whatever the host or the
    // remote command look like (ssh would take `-o...` there as one).
    cmd.arg("--").arg(&host.host).arg(format!("{} {quoted}", ssh.remote_rampart));
    let out = rampart_os::output(&mut cmd, "openssh-client", input).map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    Ok(Ran {
        status: out.status.code().unwrap_or(SSH_FAILED),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr.lines().filter(|l| !chatter(l)).map(|l| format!("{l}\n")).collect(),
        authenticated: stderr.lines().any(|l| l.starts_with("Authenticated to ")),
    })
}

/// The first line that says something, passing over ssh's notes about
/// known hosts and the host's rampart's notes (`note: ...`), which say
/// nothing of how it went.
fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("note: "))
        .unwrap_or("no output")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_host_specs() {
        let h: Host = "gw=admin@fw1.example.net:2222".parse().unwrap();
        assert_eq!(h.firewall.as_deref(), Some("gw"));
        assert_eq!(h.user.as_deref(), Some("admin"));
        assert_eq!((h.host.as_str(), h.port), ("fw1.example.net", Some(2222)));
        assert_eq!(h.to_string(), "admin@fw1.example.net:2222");
        let h: Host = "root@[2001:db8::1]:22".parse().unwrap();
        assert_eq!((h.host.as_str(), h.port), ("2001:db8::1", Some(22)));
        assert_eq!(h.to_string(), "root@[2001:db8::1]:22");
        let h: Host = "fw2.example.net".parse().unwrap();
        assert_eq!(h.firewall_name(), "fw2");
        let h: Host = "10.0.0.1".parse().unwrap();
        assert_eq!(h.firewall_name(), "10.0.0.1");
        for bad in ["", "=host", "@host", "host:port", "[2001:db8::1", "root@-oProxyCommand"] {
            assert!(bad.parse::<Host>().is_err(), "{bad}");
        }
    }
}
