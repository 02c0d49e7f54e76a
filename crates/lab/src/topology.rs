//! Builds a lab's network: one namespace per node named
//! `rl-<lab>-<pid>-<node>`, veth pairs for links and bridge ports, bridges
//! in the firewall's namespace, addresses, routes and listeners; and takes
//! it all down again, also from a Ctrl-C handler or `rampart lab down`.
//!
//! Only the namespace names carry the prefix: interfaces live inside the
//! lab's namespaces, so their names are the lab file's own and never meet
//! anything else on the machine. The pid in the name is what keeps two runs
//! of the same lab apart, and what `down` uses to tell a standing lab (its
//! `lab up` process is gone) from one still running.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::describe::{Lab, ListenerProto};
use crate::netns::{self, LabError, Netns, Tool};

/// The namespace of `node` in run `run` (`<pid>-<n>`) of lab `lab`.
#[must_use]
pub fn ns_name(lab: &str, run: &str, node: &str) -> String {
    format!("rl-{lab}-{run}-{node}")
}

/// Namespaces this process created and has not removed yet; the Ctrl-C
/// handler removes them.
static LIVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Set by the Ctrl-C handler: nothing more is built, and a command that
/// fails from now on failed because the lab is being removed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the lab was interrupted (Ctrl-C, SIGTERM).
#[must_use]
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn register(name: &str) -> Result<(), LabError> {
    if interrupted() {
        return Err(LabError::Interrupted);
    }
    if let Ok(mut live) = LIVE.lock() {
        live.push(name.to_owned());
    }
    Ok(())
}

fn unregister(name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|n| n != name);
    }
}

/// Installs a SIGINT/SIGTERM handler that removes every namespace this
/// process built (and so every listener in them), then exits 130.
pub fn remove_on_interrupt() {
    // A second installation fails; the first handler already does the job.
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let names = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
        for n in names.iter().rev() {
            remove(n);
        }
        crate::evidence::release_all_log_tickets();
        #[allow(clippy::print_stderr)] // the process is about to exit
        {
            eprintln!("interrupted: lab removed");
        }
        std::process::exit(130);
    });
}

/// Kills every process in a namespace, then deletes it. Errors are
/// ignored: this is cleanup, and a namespace already gone is fine.
pub fn remove(name: &str) {
    if let Ok(out) = netns::run(Tool::IP, ["netns", "pids", name]) {
        let pids: Vec<&str> = out.split_whitespace().collect();
        if !pids.is_empty() {
            let _ = netns::run(Tool::KILL, std::iter::once("-KILL").chain(pids.iter().copied()));
        }
    }
    let _ = netns::run(Tool::IP, ["netns", "del", name]);
    unregister(name);
}

/// A built lab. Dropping it removes everything unless [`Topology::keep`]
/// was called.
#[derive(Debug)]
pub struct Topology {
    /// Node name → namespace, the firewall first.
    pub spaces: BTreeMap<String, Netns>,
    pub firewall: String,
    /// The run id in the namespace names.
    pub run: String,
    kept: bool,
}

impl Topology {
    /// The namespace of a node.
    ///
    /// # Panics
    /// When `node` is not part of the lab (the lab file was checked).
    #[must_use]
    pub fn ns(&self, node: &str) -> &Netns {
        &self.spaces[node]
    }

    #[must_use]
    pub fn fw(&self) -> &Netns {
        self.ns(&self.firewall)
    }

    /// Leaves the lab standing; returns node name → namespace name.
    pub fn keep(mut self) -> Vec<(String, String)> {
        self.kept = true;
        let spaces = std::mem::take(&mut self.spaces);
        spaces
            .into_iter()
            .map(|(node, ns)| {
                let name = ns.keep();
                unregister(&name);
                (node, name)
            })
            .collect()
    }
}

impl crate::path::Router for Topology {
    fn route(&self, node: &str, dst: IpAddr) -> Result<RouteHop, LabError> {
        route_get(self.ns(node), dst)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for ns in std::mem::take(&mut self.spaces).into_values() {
            let name = ns.keep();
            remove(&name);
        }
    }
}

/// Builds the lab's network (no ruleset yet). On error everything built so
/// far is removed.
pub fn build(lab: &Lab, run: &str) -> Result<Topology, LabError> {
    let mut topo = Topology {
        spaces: BTreeMap::new(),
        firewall: lab.firewall.name.clone(),
        run: run.to_owned(),
        kept: false,
    };
    for node in lab.nodes() {
        let name = ns_name(&lab.name, run, &node.name);
        register(&name)?;
        let ns = Netns::named(&name)?;
        topo.spaces.insert(node.name.clone(), ns);
    }
    let fw = topo.fw();
    let bridges: Vec<&str> = lab.bridges.iter().map(|b| b.name.as_str()).collect();
    let mut linked: Vec<(String, String)> = Vec::new();
    if !lab.bridges.is_empty() {
        // br_netfilter hands bridged IPv4 to the firewall's iptables, as on
        // a virtualization host. The namespace-wide switch stays off and
        // each `bridge` turns it on for itself, so a `switch` stays plain.
        let _ = netns::run(Tool::MODPROBE, ["br_netfilter"]);
        fw.sysctl("net.bridge.bridge-nf-call-iptables", "0")?;
    }
    for b in &lab.bridges {
        let nf = if b.filtered { "1" } else { "0" };
        fw.run(["ip", "link", "add", &b.name, "type", "bridge", "nf_call_iptables", nf])?;
        fw.up(&b.name)?;
    }
    for b in &lab.bridges {
        for p in &b.ports {
            let peer_ns =
                if bridges.contains(&p.peer.node.as_str()) { fw } else { topo.ns(&p.peer.node) };
            netns::veth_pair(fw, &p.name, peer_ns, &p.peer.iface)?;
            fw.run(["ip", "link", "set", &p.name, "master", &b.name])?;
            if bridges.contains(&p.peer.node.as_str()) {
                fw.run(["ip", "link", "set", &p.peer.iface, "master", &p.peer.node])?;
                linked.push((lab.firewall.name.clone(), p.peer.iface.clone()));
            } else {
                linked.push((p.peer.node.clone(), p.peer.iface.clone()));
            }
            fw.up(&p.name)?;
            peer_ns.up(&p.peer.iface)?;
        }
    }
    for l in &lab.links {
        netns::veth_pair(topo.ns(&l.a.node), &l.a.iface, topo.ns(&l.b.node), &l.b.iface)?;
        linked.push((l.a.node.clone(), l.a.iface.clone()));
        linked.push((l.b.node.clone(), l.b.iface.clone()));
    }
    for node in lab.nodes() {
        let ns = topo.ns(&node.name);
        for i in &node.interfaces {
            let exists = linked.iter().any(|(n, f)| *n == node.name && *f == i.name)
                || (node.firewall && bridges.contains(&i.name.as_str()));
            // Declared but not linked: a dummy holds its addresses, or `lo`
            // where the kernel has no dummy driver.
            let dev = if exists || dummy(ns, &i.name) { i.name.as_str() } else { "lo" };
            for a in &i.addrs {
                let cidr = a.to_string();
                if a.addr().is_ipv6() {
                    ns.run(["ip", "addr", "add", &cidr, "dev", dev, "nodad"])?;
                } else {
                    ns.run(["ip", "addr", "add", &cidr, "dev", dev])?;
                }
            }
            ns.up(dev)?;
        }
        ns.sysctl("net.ipv4.ip_forward", if node.forward { "1" } else { "0" })?;
        // Answer ARP only on the interface that holds the address: else a
        // host's bridge devices answer for it too, and frames for the host
        // go to a bridge device instead of through its port ("ARP flux").
        ns.sysctl("net.ipv4.conf.all.arp_ignore", "1")?;
        ns.sysctl("net.ipv4.conf.all.arp_announce", "2")?;
        // Unprivileged ping (probes sent as a UID) uses ICMP sockets.
        ns.sysctl("net.ipv4.ping_group_range", "0 2147483647")?;
        for r in &node.routes {
            ns.run(["ip", "route", "add", &r.to, "via", &r.via.to_string()])?;
        }
    }
    Ok(topo)
}

fn dummy(ns: &Netns, name: &str) -> bool {
    if ns.run(["ip", "link", "add", name, "type", "dummy"]).is_ok() {
        return true;
    }
    let _ = netns::run(Tool::MODPROBE, ["dummy"]);
    ns.run(["ip", "link", "add", name, "type", "dummy"]).is_ok()
}

/// Starts the listeners of every node: a TCP acceptor or a UDP echo per
/// port (socat), and waits until each port is bound.
pub fn start_listeners(lab: &Lab, topo: &Topology) -> Result<(), LabError> {
    for node in lab.nodes() {
        let ns = topo.ns(&node.name);
        for l in &node.listeners {
            match l.proto {
                ListenerProto::Tcp => {
                    let spec = format!("TCP4-LISTEN:{},fork,reuseaddr", l.port);
                    // The child dies with the namespace: remove() kills
                    // every process in it.
                    let _child = ns.spawn(&["socat", &spec, "OPEN:/dev/null"])?;
                }
                ListenerProto::Udp => {
                    // One echo per address: a socket bound to the wildcard
                    // would answer from whichever address routing picks,
                    // and the sender would ignore the answer.
                    let addrs = node
                        .interfaces
                        .iter()
                        .flat_map(|i| &i.addrs)
                        .filter(|a| a.addr().is_ipv4());
                    for a in addrs {
                        let spec = format!("UDP4-RECVFROM:{},bind={},fork", l.port, a.addr());
                        let _child = ns.spawn(&["socat", &spec, "EXEC:cat"])?;
                    }
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for l in &node.listeners {
            let flag = if l.proto == ListenerProto::Tcp { "-Hltn" } else { "-Hlun" };
            let want = format!(":{} ", l.port);
            loop {
                let out = ns.stdout(["ss", flag])?;
                if out.lines().any(|line| line.contains(&want)) {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(LabError::Listener {
                        proto: l.proto.name(),
                        port: l.port,
                        namespace: ns.name().to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    Ok(())
}

/// What `ip route get` says about reaching `dst` from a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteHop {
    pub dev: String,
    pub via: Option<IpAddr>,
    pub src: Option<IpAddr>,
    /// The destination is one of the namespace's own addresses.
    pub local: bool,
}

/// Asks the namespace's kernel how it reaches `dst`.
pub fn route_get(ns: &Netns, dst: IpAddr) -> Result<RouteHop, LabError> {
    let out = ns.stdout(["ip", "-o", "route", "get", &dst.to_string()])?;
    let words: Vec<&str> = out.split_whitespace().collect();
    let after = |k: &str| words.iter().position(|w| *w == k).and_then(|i| words.get(i + 1));
    Ok(RouteHop {
        dev: after("dev").map(|s| (*s).to_owned()).unwrap_or_default(),
        via: after("via").and_then(|s| s.parse().ok()),
        src: after("src").and_then(|s| s.parse().ok()),
        local: words.first() == Some(&"local"),
    })
}

/// The MAC address of an interface.
pub fn mac(ns: &Netns, iface: &str) -> Result<String, LabError> {
    let out = ns.stdout(["ip", "-o", "link", "show", "dev", iface])?;
    let words: Vec<&str> = out.split_whitespace().collect();
    Ok(words
        .iter()
        .position(|w| *w == "link/ether")
        .and_then(|i| words.get(i + 1))
        .map(|s| (*s).to_owned())
        .unwrap_or_default())
}

/// Removes the namespaces of lab `lab` whose process is gone: labs left
/// standing by `lab up` and half-built ones. Running labs are left alone,
/// except those of the calling process itself.
/// Returns the removed names and the pids of labs still running.
pub fn down(lab: &str) -> Result<(Vec<String>, Vec<u32>), LabError> {
    let out = netns::run(Tool::IP, ["netns", "list"])?;
    let prefix = format!("rl-{lab}-");
    let mut removed = Vec::new();
    let mut running = Vec::new();
    let me = std::process::id();
    let mut names: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    names.sort();
    for name in names {
        let rest = &name[prefix.len()..];
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = pid != me && std::path::Path::new(&format!("/proc/{pid}")).exists();
        if alive {
            if !running.contains(&pid) {
                running.push(pid);
            }
            continue;
        }
        remove(&name);
        removed.push(name);
    }
    Ok((removed, running))
}
