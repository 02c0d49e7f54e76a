//! Kernel equivalence: load the iptables-restore output and the nft output
//! in turn into the same namespace topology, send the same probes, and
//! require the same outcome for every probe.
//!
//! The topology comes from the firewall and its ruleset: a namespace for the
//! firewall with one veth per policy interface (named as in the policy),
//! and behind each interface a peer namespace holding one address from every
//! group routed that way plus one stranger. Probes are TCP connects and UDP
//! echoes to the firewall (INPUT), through it (FORWARD) and from it as each
//! user the policy names (OUTPUT).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use ipnet::IpNet;
use rampart_ir::{AddrItem, Family, Hook, Match, Proto, Ruleset, Target};

use crate::protocol::{L4, MARK, Probe};
use crate::sys::{self, Netns};

/// Probes per direction (input, forward, output), sampled evenly beyond.
const MAX_PER_DIRECTION: usize = 400;

/// An interface of the firewall and its addresses.
#[derive(Clone, Debug)]
pub(crate) struct FwIface {
    pub(crate) name: String,
    pub(crate) addrs: Vec<IpNet>,
}

/// What to compare: the two backends' texts for one firewall.
pub(crate) struct Case<'a> {
    pub(crate) name: &'a str,
    pub(crate) ifaces: Vec<FwIface>,
    pub(crate) rich: &'a Ruleset,
    pub(crate) iptables_v4: String,
    pub(crate) iptables_v6: Option<String>,
}

/// Outcome counts of one comparison.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) probes: usize,
    /// Outcomes of the IPv6 probes alone.
    pub(crate) v6: BTreeMap<String, usize>,
    pub(crate) outcomes: BTreeMap<String, usize>,
}

/// Run both backends; `Err` lists every probe whose outcomes differ.
pub(crate) fn compare(case: &Case) -> Result<Report, String> {
    let plan = Plan::new(case);
    let ipt = run(case, &plan, Backend::Iptables);
    let nft = run(case, &plan, Backend::Nft);
    let mut report = Report::default();
    let mut diffs = Vec::new();
    for (key, a) in &ipt {
        let b = nft.get(key).map_or("missing", String::as_str);
        report.probes += 1;
        *report.outcomes.entry(a.clone()).or_default() += 1;
        // The key ends `SRC DST PORT`; an IPv6 destination has colons.
        if key.rsplit(' ').nth(1).is_some_and(|dst| dst.contains(':')) {
            *report.v6.entry(a.clone()).or_default() += 1;
        }
        if a != b {
            diffs.push(format!("  {key}: iptables {a}, nft {b}"));
        }
    }
    if diffs.is_empty() {
        Ok(report)
    } else {
        Err(format!(
            "{}: {} of {} probes differ:\n{}",
            case.name,
            diffs.len(),
            ipt.len(),
            diffs.join("\n")
        ))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Iptables,
    Nft,
}

/// Hosts per peer namespace and the probes to send.
struct Plan {
    families: BTreeSet<Family>,
    /// Per interface index: host addresses living behind it.
    hosts: Vec<Vec<IpAddr>>,
    tcp_ports: Vec<u16>,
    udp_ports: Vec<u16>,
    /// (namespace index: `None` = firewall, uid) → probes.
    probes: BTreeMap<(Option<usize>, u32), Vec<Probe>>,
}

impl Plan {
    fn new(case: &Case) -> Self {
        let mut families = BTreeSet::from([Family::V4]);
        if case.iptables_v6.is_some() {
            families.insert(Family::V6);
        }
        let fw_addrs: BTreeSet<IpAddr> =
            case.ifaces.iter().flat_map(|i| &i.addrs).map(IpNet::addr).collect();
        let mut hosts: Vec<BTreeSet<IpAddr>> = vec![BTreeSet::new(); case.ifaces.len()];
        for (i, host) in strangers(case.ifaces.len(), &families) {
            hosts[i].insert(host);
        }
        for a in representatives(case.rich) {
            let fam = if a.is_ipv4() { Family::V4 } else { Family::V6 };
            let placed = hosts.iter().any(|h| h.contains(&a));
            if !families.contains(&fam) || fw_addrs.contains(&a) || !routable(a) || placed {
                continue;
            }
            let i = case
                .ifaces
                .iter()
                .position(|f| f.addrs.iter().any(|n| n.contains(&a)))
                .unwrap_or(0);
            hosts[i].insert(a);
        }
        let hosts: Vec<Vec<IpAddr>> = hosts.into_iter().map(|h| h.into_iter().collect()).collect();
        let (tcp_ports, udp_ports) = ports(case.rich);
        let uids = uids(case.rich);

        let mut input = Vec::new();
        let mut forward = Vec::new();
        for (i, srcs) in hosts.iter().enumerate() {
            for &src in srcs {
                let same = |d: &IpAddr| d.is_ipv4() == src.is_ipv4();
                for &dst in fw_addrs.iter().filter(|d| same(d)) {
                    input.extend(each_port(i, Some(src), dst, &tcp_ports, &udp_ports));
                }
                let others = hosts.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, h)| h);
                for &dst in others.filter(|d| same(d)) {
                    forward.extend(each_port(i, Some(src), dst, &tcp_ports, &udp_ports));
                }
            }
        }
        let mut probes: BTreeMap<(Option<usize>, u32), Vec<Probe>> = BTreeMap::new();
        for (i, p) in sample(input).into_iter().chain(sample(forward)) {
            probes.entry((Some(i), 0)).or_default().push(p);
        }
        let mut output = Vec::new();
        for &uid in &uids {
            for dst in hosts.iter().flatten() {
                for p in each_port(0, None, *dst, &tcp_ports, &udp_ports) {
                    output.push((uid, p.1));
                }
            }
        }
        for (uid, p) in sample(output) {
            probes.entry((None, uid)).or_default().push(p);
        }
        Self { families, hosts, tcp_ports, udp_ports, probes }
    }
}

fn each_port(
    ns: usize,
    src: Option<IpAddr>,
    dst: IpAddr,
    tcp: &[u16],
    udp: &[u16],
) -> Vec<(usize, Probe)> {
    let tcp = tcp.iter().map(|&port| Probe { l4: L4::Tcp, src, dst, port });
    let udp = udp.iter().map(|&port| Probe { l4: L4::Udp, src, dst, port });
    tcp.chain(udp).map(|p| (ns, p)).collect()
}

/// Every n-th element so that at most `MAX_PER_DIRECTION` remain.
fn sample<T>(v: Vec<T>) -> Vec<T> {
    let step = v.len().div_ceil(MAX_PER_DIRECTION).max(1);
    v.into_iter().step_by(step).collect()
}

/// An address outside every group, behind each interface.
pub(crate) fn strangers(n: usize, families: &BTreeSet<Family>) -> Vec<(usize, IpAddr)> {
    let mut out = Vec::new();
    for i in 0..n {
        let i8 = u8::try_from(i).unwrap();
        out.push((i, IpAddr::V4(Ipv4Addr::new(198, 18, i8, 10))));
        if families.contains(&Family::V6) {
            out.push((
                i,
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xffff, u16::from(i8), 0, 0, 0, 0x10)),
            ));
        }
    }
    out
}

pub(crate) fn routable(a: IpAddr) -> bool {
    let v4_special = matches!(a, IpAddr::V4(v4) if v4.is_broadcast() || v4.is_link_local());
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || v4_special)
}

/// One address from every address item the rules name: the first host of a
/// network, the start and end of a range.
pub(crate) fn representatives(rs: &Ruleset) -> BTreeSet<IpAddr> {
    let mut out = BTreeSet::new();
    for m in rs.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.matches) {
        if let Match::Src(a) | Match::Dst(a) = m {
            for item in &a.set.items {
                match item {
                    AddrItem::Net(n) if n.prefix_len() == 0 => {}
                    AddrItem::Net(n) => {
                        let first = n.hosts().next().unwrap_or(n.addr());
                        out.insert(first);
                    }
                    AddrItem::Range(a, b) => {
                        out.insert(*a);
                        out.insert(*b);
                    }
                }
            }
        }
    }
    out
}

/// The ports the rules name (each range's ends) and a stranger, per protocol.
pub(crate) fn ports(rs: &Ruleset) -> (Vec<u16>, Vec<u16>) {
    let mut tcp = BTreeSet::from([9]);
    let mut udp = BTreeSet::from([9]);
    for r in rs.chains.iter().flat_map(|c| &c.rules) {
        let proto = r.matches.iter().find_map(|m| match m {
            Match::Proto { neg: false, proto } => Some(*proto),
            _ => None,
        });
        for m in &r.matches {
            if let Match::Dport(p) | Match::Sport(p) | Match::AnyPort(p) = m {
                for &(a, b) in &p.set.ranges {
                    for port in [a, b] {
                        match proto {
                            Some(Proto::Tcp) => tcp.insert(port),
                            Some(Proto::Udp) => udp.insert(port),
                            _ => tcp.insert(port) | udp.insert(port),
                        };
                    }
                }
            }
        }
    }
    (tcp.into_iter().collect(), udp.into_iter().collect())
}

/// Root and every user an owner match names.
pub(crate) fn uids(rs: &Ruleset) -> Vec<u32> {
    let mut out = BTreeSet::from([0]);
    for m in rs.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.matches) {
        if let Match::Owner(o) = m
            && let Some(u) = o.uid
        {
            out.insert(u.first);
            if u.last != u.first {
                out.insert(u.last);
            }
        }
    }
    out.into_iter().collect()
}

/// Listener processes, killed (by their own pid) when dropped.
pub(crate) struct Listeners(pub(crate) Vec<Child>);

impl Listeners {
    /// Starts the helper's listener in `ns` for `spec` (`tcp:22,80 udp:53`)
    /// and waits until it says it is ready.
    pub(crate) fn start(&mut self, ns: &Netns, spec: &str) {
        let mut child = helper(ns.name(), 0)
            .env("RAMPART_NFT_HELPER", "listen")
            .env("RAMPART_NFT_PORTS", spec)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        self.0.push(child);
        let ready = BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains(&format!("{MARK}ready")));
        assert!(ready, "listener in {} did not start", ns.name());
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) fn helper(ns: &str, uid: u32) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]);
    if uid != 0 {
        let id = uid.to_string();
        cmd.args(["setpriv", "--reuid", &id, "--regid", &id, "--clear-groups"]);
    }
    cmd.arg(env!("CARGO_BIN_EXE_rampart-nft-helper"));
    cmd
}

fn run(case: &Case, plan: &Plan, backend: Backend) -> BTreeMap<String, String> {
    let tag = match backend {
        Backend::Iptables => "ipt",
        Backend::Nft => "nft",
    };
    // Unique per run, as tests run in parallel in one process.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let tag = format!("{tag}{}", RUNS.fetch_add(1, Ordering::Relaxed));
    let fw = Netns::new().unwrap();
    let peers: Vec<Netns> = (0..case.ifaces.len()).map(|_| Netns::new().unwrap()).collect();
    build(&fw, &peers, case, plan);
    load(&fw, case, backend);

    let spec = format!(
        "tcp:{} udp:{}",
        plan.tcp_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
        plan.udp_ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
    );
    let mut listeners = Listeners(Vec::new());
    for ns in std::iter::once(&fw).chain(&peers) {
        listeners.start(ns, &spec);
    }

    // All probers at once (one per namespace and user): most of the time
    // is spent waiting out drops.
    let mut running = Vec::new();
    for ((ns, uid), probes) in &plan.probes {
        let (ns_name, from) = match ns {
            Some(i) => (peers[*i].name().to_owned(), format!("peer{i}")),
            None => (fw.name().to_owned(), "fw".to_owned()),
        };
        let lines: String = probes.iter().map(|p| p.line() + "\n").collect();
        let child = helper(&ns_name, *uid)
            .env("RAMPART_NFT_HELPER", "probe")
            .env("RAMPART_NFT_PROBES", &lines)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        running.push((child, ns_name, from, *uid, probes.len()));
    }
    let mut results = BTreeMap::new();
    for (child, ns_name, from, uid, n) in running {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let marked: Vec<&str> =
            stdout.lines().filter_map(|l| l.split_once(MARK).map(|x| x.1)).collect();
        assert_eq!(marked.len(), n, "prober in {ns_name} as {uid}:\n{stdout}");
        for line in marked {
            let (probe, outcome) = line.split_once(" = ").unwrap();
            results.insert(format!("{from} uid {uid} {probe}"), outcome.to_owned());
        }
        assert!(
            out.status.success(),
            "prober in {ns_name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let expected: usize = plan.probes.values().map(Vec::len).sum();
    assert_eq!(results.len(), expected, "{} ({tag}): some probes gave no answer", case.name);
    drop(listeners);
    results
}

/// veths named as the policy's interfaces, addresses, routes, forwarding.
fn build(fw: &Netns, peers: &[Netns], case: &Case, plan: &Plan) {
    sys::ip(fw, &["link", "set", "lo", "up"]);
    // No rate limit on ICMP errors: every REJECT must answer every probe.
    let sysctls = [
        ("net.ipv4.ip_forward", "1"),
        ("net.ipv6.conf.all.forwarding", "1"),
        ("net.ipv4.icmp_ratemask", "0"),
        ("net.ipv4.icmp_ratelimit", "0"),
        ("net.ipv6.icmp.ratelimit", "0"),
        // Else ICMPv6 errors also pass the global limiter (50 burst).
        ("net.ipv6.icmp.ratemask", ""),
    ];
    for (k, v) in sysctls {
        let out = sys::run(fw, &["sysctl", "-qw", &format!("{k}={v}")]);
        assert!(out.status.success(), "sysctl {k}");
    }
    for (i, (iface, peer)) in case.ifaces.iter().zip(peers).enumerate() {
        sys::ip(peer, &["link", "set", "lo", "up"]);
        sys::ip(
            fw,
            &[
                "link",
                "add",
                &iface.name,
                "type",
                "veth",
                "peer",
                "name",
                "peer",
                "netns",
                peer.name(),
            ],
        );
        // Answer ARP for whatever is routed elsewhere, so peers need no gateway.
        // (at once: the default proxy_delay is up to 0.8 s).
        for k in [
            format!("net.ipv4.conf.{}.proxy_arp=1", iface.name),
            format!("net.ipv4.neigh.{}.proxy_delay=0", iface.name),
        ] {
            let out = sys::run(fw, &["sysctl", "-qw", &k]);
            assert!(out.status.success(), "sysctl {k}");
        }
        for a in &iface.addrs {
            if a.addr().is_ipv6() && !plan.families.contains(&Family::V6) {
                continue;
            }
            sys::ip(fw, &["addr", "add", &a.to_string(), "dev", &iface.name, "nodad"]);
        }
        sys::ip(fw, &["-6", "addr", "add", "fe80::1/64", "dev", &iface.name, "nodad"]);
        sys::ip(fw, &["link", "set", &iface.name, "up"]);
        sys::ip(peer, &["link", "set", "peer", "up"]);
        sys::ip(peer, &["-6", "addr", "add", "fe80::2/64", "dev", "peer", "nodad"]);
        sys::ip(peer, &["route", "add", "default", "dev", "peer"]);
        sys::ip(peer, &["-6", "route", "add", "default", "via", "fe80::1", "dev", "peer"]);
        for h in &plan.hosts[i] {
            let (len, fam) = if h.is_ipv4() { ("32", "-4") } else { ("128", "-6") };
            sys::ip(peer, &[fam, "addr", "add", &format!("{h}/{len}"), "dev", "peer", "nodad"]);
            if h.is_ipv4() {
                sys::ip(fw, &["route", "replace", &format!("{h}/32"), "dev", &iface.name]);
            } else {
                sys::ip(
                    fw,
                    &[
                        "-6",
                        "route",
                        "replace",
                        &format!("{h}/128"),
                        "via",
                        "fe80::2",
                        "dev",
                        &iface.name,
                    ],
                );
            }
        }
    }
}

fn load(fw: &Netns, case: &Case, backend: Backend) {
    let feed = |cmd: &[&str], input: &str| {
        let mut child = Command::new("ip")
            .args(["netns", "exec", fw.name()])
            .args(cmd)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{} ({}): {}\n{input}",
            cmd[0],
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    match backend {
        Backend::Iptables => {
            feed(&["iptables-restore"], &case.iptables_v4);
            if let Some(v6) = &case.iptables_v6 {
                feed(&["ip6tables-restore"], v6);
            }
        }
        Backend::Nft => {
            // The classifier form: what `rampart compile --target nft` writes.
            let text = rampart_nft::emit(&rampart_nft::classify(case.rich));
            sys::ok(&sys::nft(Some(fw.name()), &["-f", "-"], &text), "nft -f");
        }
    }
}

/// Whether a ruleset can be formatted line by line as it is (no rich-form
/// sets or logs), for fixtures compared before the lowering exists.
pub(crate) fn restricted(rs: &Ruleset) -> bool {
    rs.chains.iter().flat_map(|c| &c.rules).all(|r| {
        r.log.is_none()
            && !matches!(r.target, Target::None)
            && r.matches.iter().all(|m| match m {
                Match::Src(a) | Match::Dst(a) => a.set.items.len() == 1,
                Match::InIface(i) | Match::OutIface(i) => i.names.len() == 1,
                _ => true,
            })
    })
}

/// `iptables-restore` text of a restricted ruleset.
pub(crate) fn iptables_text(rs: &Ruleset, family: Family) -> String {
    let mut out = String::from("*filter\n");
    for c in &rs.chains {
        out.push_str(&format!("{}\n", rampart_ir::chain_line(c)));
    }
    for c in &rs.chains {
        for r in &c.rules {
            out.push_str(&format!("-A {} {}\n", c.name, rampart_ir::format_rule(rs, r, family)));
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// A restricted-form policy touching every direction and verdict.
fn smoke() -> Ruleset {
    use crate::fixtures::{dport, dst, established, proto, rule, set, src, uid};
    use rampart_ir::{Chain, Policy, RejectWith};
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules = vec![
        established(),
        rule(
            1,
            vec![
                src(false, set(Some("lan"), &["10.1.0.0/16"])),
                proto(Proto::Tcp),
                dport(None, &[(22, 22)]),
            ],
            Target::Accept,
        ),
        rule(
            2,
            vec![proto(Proto::Tcp), dport(None, &[(23, 23)])],
            Target::Reject(RejectWith::TcpReset),
        ),
        rule(3, vec![proto(Proto::Udp), dport(None, &[(53, 53)])], Target::Accept),
        rule(
            4,
            vec![proto(Proto::Udp), dport(None, &[(54, 54)])],
            Target::Reject(RejectWith::PortUnreachable),
        ),
    ];
    // Runs the nft backend merges: a verdict map, then a set.
    for (i, port) in (2001..=2006).enumerate() {
        let target = if i % 2 == 0 { Target::Accept } else { Target::Drop };
        input.rules.push(rule(10, vec![proto(Proto::Tcp), dport(None, &[(port, port)])], target));
    }
    for host in ["10.1.0.11", "10.1.0.12", "10.1.0.13", "10.1.0.14"] {
        let m =
            vec![src(false, set(None, &[host])), proto(Proto::Tcp), dport(None, &[(3000, 3000)])];
        input.rules.push(rule(11, m, Target::Accept));
    }
    let mut forward = Chain::builtin(Hook::Forward, Policy::Drop);
    forward.rules = vec![
        established(),
        rule(
            5,
            vec![
                src(false, set(None, &["10.1.0.1"])),
                dst(false, set(None, &["192.168.2.2"])),
                proto(Proto::Tcp),
                dport(None, &[(80, 80)]),
            ],
            Target::Accept,
        ),
        rule(
            6,
            vec![dst(false, set(None, &["192.168.2.2"]))],
            Target::Reject(RejectWith::AdminProhibited),
        ),
    ];
    let mut output = Chain::builtin(Hook::Output, Policy::Drop);
    output.rules = vec![
        established(),
        rule(7, vec![uid(1021), proto(Proto::Tcp), dport(None, &[(443, 443)])], Target::Accept),
        rule(8, vec![proto(Proto::Udp), dport(None, &[(53, 53)])], Target::Accept),
    ];
    Ruleset { chains: vec![input, forward, output] }
}

#[test]
#[expect(clippy::print_stderr, reason = "the probe counts are the test's report")]
fn smoke_policy_same_in_kernel() {
    let rs = smoke();
    assert!(restricted(&rs));
    let case = Case {
        name: "smoke",
        ifaces: vec![
            FwIface { name: "eth0".into(), addrs: vec!["10.1.0.254/16".parse().unwrap()] },
            FwIface { name: "eth1".into(), addrs: vec!["192.168.2.1/24".parse().unwrap()] },
        ],
        rich: &rs,
        iptables_v4: iptables_text(&rs, Family::V4),
        iptables_v6: None,
    };
    let report = compare(&case).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("smoke: {report:?}");
    assert!(report.outcomes.len() >= 3, "probes should see several outcomes: {report:?}");
}

/// Every shipped example: the iptables-restore documents `rampart compile`
/// writes against the nft document, in the kernel.
#[test]
#[expect(clippy::print_stderr, reason = "the probe counts are the test's report")]
fn shipped_examples_same_in_kernel() {
    let paths = crate::fixtures::example_paths();
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &paths {
        let mut sources = rampart_diag::Sources::new();
        let loaded = rampart_model::load(path, &mut sources).unwrap();
        assert!(!loaded.has_errors(), "{} has errors", path.display());
        let model = loaded.model.unwrap();
        for fw in &model.firewalls {
            let c = rampart_lower::compile(fw);
            let name = format!("{} ({})", path.file_name().unwrap().to_string_lossy(), fw.name);
            let case = Case {
                name: &name,
                ifaces: fw
                    .interfaces
                    .iter()
                    .filter(|i| !i.loopback)
                    .map(|i| FwIface { name: i.name.clone(), addrs: i.addrs.clone() })
                    .collect(),
                rich: &c.rich,
                iptables_v4: rampart_emit::iptables_restore(&c.v4, Family::V4, &name, None),
                iptables_v6: Some(rampart_emit::iptables_restore(&c.v6, Family::V6, &name, None)),
            };
            match compare(&case) {
                Ok(report) => {
                    eprintln!(
                        "{name}: {} probes, same outcome: {:?}",
                        report.probes, report.outcomes
                    );
                    total += report.probes;
                }
                Err(e) => failures.push(e),
            }
        }
    }
    eprintln!("shipped examples: {total} probes with the same outcome in both backends");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
