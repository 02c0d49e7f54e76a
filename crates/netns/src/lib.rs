//! Network namespaces named `rampart-t-<pid>-<n>`, deleted on drop.
//!
//! Namespaces are made with `ip netns add` and entered with
//! `ip netns exec`, one process per command: `setns` is per thread and would
//! leak into a test harness's thread pool. Drop guards do not run on SIGKILL,
//! so [`Netns::new`] first sweeps namespaces left by processes that are gone.

use std::ffi::OsStr;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// The prefix of every namespace this harness creates.
pub const PREFIX: &str = "rampart-t-";

/// Why the harness could not build or run something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A tool the harness or a test needs is not installed.
    #[error("`{tool}` not found: install {package} (apt-get install {package})")]
    MissingTool { tool: &'static str, package: &'static str },
    /// The harness needs root (CAP_NET_ADMIN) to create namespaces.
    #[error("kernel tests need root: run them as root (CI does)")]
    NotRoot,
    /// A command could not be started, or ran and failed (the tool's own
    /// words in `source`).
    #[error("`{command}`: {source}")]
    Command {
        command: String,
        #[source]
        source: rampart_os::ToolError,
    },
    /// A kernel file (`/dev/kmsg`, a sysctl) could not be read or written.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The lab is being removed (Ctrl-C, SIGTERM): nothing more is built.
    #[error("interrupted: the lab is being removed")]
    Interrupted,
    /// A listener did not bind its port in time.
    #[error("{proto} port {port} never bound in {namespace}")]
    Listener { proto: &'static str, port: u16, namespace: String },
    /// The lab description has no route for a probe (offline answers).
    #[error("no route from {node} to {dst} in the lab description")]
    Unroutable { node: String, dst: std::net::IpAddr },
    /// A ruleset could not be read back into the IR.
    #[error("{what} cannot be read:\n{diagnostics}")]
    Unreadable { what: String, diagnostics: String },
}

/// A tool and the Debian package that provides it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub package: &'static str,
}

impl Tool {
    pub const IP: Tool = Tool { name: "ip", package: "iproute2" };
    pub const IPTABLES: Tool = Tool { name: "iptables", package: "iptables" };
    pub const IPTABLES_RESTORE: Tool = Tool { name: "iptables-restore", package: "iptables" };
    pub const IPTABLES_SAVE: Tool = Tool { name: "iptables-save", package: "iptables" };
    pub const NFT: Tool = Tool { name: "nft", package: "nftables" };
    pub const IPSET: Tool = Tool { name: "ipset", package: "ipset" };
    pub const SETPRIV: Tool = Tool { name: "setpriv", package: "util-linux" };
    pub const KILL: Tool = Tool { name: "kill", package: "procps" };
    pub const SOCAT: Tool = Tool { name: "socat", package: "socat" };
    pub const MODPROBE: Tool = Tool { name: "modprobe", package: "kmod" };
}

/// Fails with an install hint for the first tool not found on `PATH`.
pub fn require_tools(tools: &[Tool]) -> Result<(), LabError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [OsStr::new("/usr/sbin"), OsStr::new("/sbin")];
    for t in tools {
        let found = std::env::split_paths(&path)
            .chain(extra.iter().map(std::path::PathBuf::from))
            .any(|dir| dir.join(t.name).is_file());
        if !found {
            return Err(LabError::MissingTool { tool: t.name, package: t.package });
        }
    }
    Ok(())
}

/// Fails unless running as root.
pub fn require_root() -> Result<(), LabError> {
    // /proc/self/status has `Uid: real effective saved fs`.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if euid == "0" { Ok(()) } else { Err(LabError::NotRoot) }
}

/// Runs `tool` to completion; its stdout. A failure carries the command
/// line and the tool's own words.
pub fn run<I, S>(tool: Tool, args: I) -> Result<String, LabError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(tool.name);
    cmd.args(args);
    run_command(&mut cmd, tool.package, None)
}

/// The one way the harness runs a command: through the workspace's tool
/// runner, the command line kept for the error.
fn run_command(
    cmd: &mut Command,
    package: &'static str,
    input: Option<&str>,
) -> Result<String, LabError> {
    let command = describe(cmd);
    rampart_os::run(cmd, package, input).map_err(|source| LabError::Command { command, source })
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

static RUNS: AtomicU32 = AtomicU32::new(0);

/// A new run id, `<pid>-<n>`: unique on the machine while this process
/// lives, so the same lab can run twice at once.
#[must_use]
pub fn run_id() -> String {
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// A network namespace that is deleted (with everything in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `rampart-t-<pid>-<n>` with `lo` up. The first call in a
    /// process also sweeps namespaces left behind by dead processes.
    pub fn new() -> Result<Self, LabError> {
        require_root()?;
        require_tools(&[Tool::IP])?;
        SWEEP.call_once(|| {
            // A failed sweep only leaves garbage; the test itself goes on.
            let _ = sweep_stale();
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{n}", std::process::id());
        run(Tool::IP, ["netns", "add", &name])?;
        let ns = Self { name };
        ns.run(["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Creates a namespace with a name of the caller's choosing (`rampart
    /// lab` uses `rl-<lab>-<pid>-<node>`), with `lo` up. Deleted on drop
    /// unless [`Netns::keep`] is called.
    pub fn named(name: &str) -> Result<Self, LabError> {
        require_root()?;
        require_tools(&[Tool::IP])?;
        run(Tool::IP, ["netns", "add", name])?;
        let ns = Self { name: name.to_owned() };
        ns.run(["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Leaves the namespace standing after the guard is gone.
    pub fn keep(self) -> String {
        let name = self.name.clone();
        std::mem::forget(self);
        name
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Command` that runs `program` inside this namespace.
    #[must_use]
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Runs a command inside the namespace; its stdout. Non-zero exit is
    /// an error.
    pub fn run<I, S>(&self, argv: I) -> Result<String, LabError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut args: Vec<std::ffi::OsString> =
            vec!["netns".into(), "exec".into(), self.name.clone().into()];
        args.extend(argv.into_iter().map(|a| a.as_ref().to_owned()));
        run(Tool::IP, args)
    }

    /// [`Netns::run`], for reading what a command prints.
    pub fn stdout<I, S>(&self, argv: I) -> Result<String, LabError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run(argv)
    }

    /// Runs a command inside the namespace with `input` on its stdin; its
    /// stdout.
    pub fn run_with_input(&self, argv: &[&str], input: &str) -> Result<String, LabError> {
        let mut cmd = self.command(argv[0]);
        cmd.args(&argv[1..]);
        run_command(&mut cmd, Tool::IP.package, Some(input))
    }

    /// Starts a long-running command inside the namespace (a listener).
    /// The caller owns the child and must kill it; the namespace's deletion
    /// does not end processes.
    pub fn spawn(&self, argv: &[&str]) -> Result<Child, LabError> {
        let mut cmd = self.command(argv[0]);
        cmd.args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let what = format!("start `{}`", describe(&cmd));
        cmd.spawn().map_err(|source| LabError::Io { what, source })
    }

    /// Sets a sysctl inside the namespace, e.g. `net.ipv4.ip_forward`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<(), LabError> {
        self.run(["sysctl", "-q", "-w", &format!("{key}={value}")]).map(drop)
    }

    /// Adds an address (CIDR) to an interface and sets the link up.
    pub fn addr(&self, iface: &str, cidr: &str) -> Result<(), LabError> {
        self.run(["ip", "addr", "add", cidr, "dev", iface])?;
        self.up(iface)
    }

    /// Sets a link up.
    pub fn up(&self, iface: &str) -> Result<(), LabError> {
        self.run(["ip", "link", "set", iface, "up"]).map(drop)
    }

    /// Adds a route, e.g. `route("default", "10.0.0.1")`.
    pub fn route(&self, to: &str, via: &str) -> Result<(), LabError> {
        self.run(["ip", "route", "add", to, "via", via]).map(drop)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace removes its veths (and their peers) too.
        let _ = run(Tool::IP, ["netns", "del", &self.name]);
    }
}

/// Creates a veth pair: `a_if` in `a`, `b_if` in `b`, both up.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<(), LabError> {
    veth_pair(a, a_if, b, b_if)?;
    a.up(a_if)?;
    b.up(b_if)
}

/// Creates a veth pair and leaves both ends down (to be configured first).
pub fn veth_pair(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<(), LabError> {
    let (a_ns, b_ns) = (a.name(), b.name());
    run(
        Tool::IP,
        ["-n", a_ns, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b_ns],
    )
    .map(drop)
}

/// Creates a Linux bridge `name` in `ns` with `ports` enslaved, all up.
pub fn bridge(ns: &Netns, name: &str, ports: &[&str]) -> Result<(), LabError> {
    ns.run(["ip", "link", "add", name, "type", "bridge"])?;
    for p in ports {
        ns.run(["ip", "link", "set", p, "master", name])?;
        ns.up(p)?;
    }
    ns.up(name)
}

/// Deletes `rampart-t-<pid>-*` namespaces whose process no longer runs.
/// Returns how many were deleted.
pub fn sweep_stale() -> Result<usize, LabError> {
    let out = run(Tool::IP, ["netns", "list"])?;
    let mut swept = 0;
    for line in out.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists()
            && run(Tool::IP, ["netns", "del", name]).is_ok()
        {
            swept += 1;
        }
    }
    Ok(swept)
}

/// Processes started with [`Netns::spawn`] (listeners), killed when dropped,
/// also when a test fails.
pub struct Spawned(pub Vec<Child>);

impl Drop for Spawned {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Netns {
    /// TCP listeners on `ports` (socat, accepting and discarding), killed
    /// when the returned guard is dropped.
    pub fn tcp_listeners(&self, ports: &[u16]) -> Result<Spawned, LabError> {
        require_tools(&[Tool::SOCAT])?;
        let mut spawned = Spawned(Vec::new());
        for p in ports {
            let spec = format!("TCP-LISTEN:{p},fork,reuseaddr");
            spawned.0.push(self.spawn(&["socat", "-u", &spec, "OPEN:/dev/null"])?);
        }
        Ok(spawned)
    }
}

/// Does a TCP connect from `ns` to `addr:port` as `uid` complete within 3 s?
/// (bash's `/dev/tcp` under `setpriv`: no client tool needed.)
#[must_use]
pub fn connects_as(ns: &Netns, uid: u32, addr: &str, port: u16) -> bool {
    let script = format!("exec 3<>/dev/tcp/{addr}/{port}");
    let id = uid.to_string();
    ns.command("setpriv")
        .args([
            "--reuid",
            &id,
            "--regid",
            &id,
            "--clear-groups",
            "timeout",
            "3",
            "bash",
            "-c",
            &script,
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `done` every 50 ms until it holds or `limit` passes; whether it
/// held. Things across veths and processes settle asynchronously.
pub fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// [`connects_as`] for many `(uid, port)` at once. A dropped connect costs
/// its whole timeout, so they run side by side, not one after another.
#[must_use]
pub fn connects_many(ns: &Netns, addr: &str, tries: &[(u32, u16)]) -> Vec<bool> {
    std::thread::scope(|s| {
        let jobs: Vec<_> = tries
            .iter()
            .map(|&(uid, port)| s.spawn(move || connects_as(ns, uid, addr, port)))
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap_or(false)).collect()
    })
}
