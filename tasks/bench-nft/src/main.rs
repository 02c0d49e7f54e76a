//! `nft -f` against `iptables-restore`, in scratch network namespaces.
//!
//! 1. Load time of generated rulesets with 1k, 10k and 100k rules (one
//!    address and one port per rule), first load into an empty namespace.
//! 2. A policy with large groups (5,000 blocked addresses, 200 allowed
//!    ports): load time, and the forwarding rate of UDP packets that pass
//!    every rule (iptables checks 5,000 lines, nft one set lookup).
//! 3. Lists inline in every rule against the same lists as named sets.
//!
//! Run as root: `cargo run --manifest-path tasks/bench-nft/Cargo.toml`
//! (`-- --quick` skips 100k). Prints a Markdown section for BENCHMARKS.md.

use std::io::Write;
use std::net::{Ipv4Addr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, Family, Match, Origin, Policy, PortMatch, PortSet, Proto,
    Rule, Ruleset, Target,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--udp-recv") => return udp_recv(&args[2]),
        Some("--udp-send") => return udp_send(&args[2], &args[3]),
        _ => {}
    }
    let quick = args.iter().any(|a| a == "--quick");
    let mut out = String::from("## nftables\n\n");
    out.push_str(&format!(
        "Measured by `tasks/bench-nft` on {} ({}, kernel {}), each load into a fresh network \
         namespace, best of 3 (one run at 100k). `iptables-restore` is {}; \
         `iptables-legacy-restore` is shown too.\n\n",
        now(),
        version("nft", &["--version"]),
        version("uname", &["-r"]),
        version("iptables-restore", &["--version"]),
    ));

    out.push_str("### Load time, one address and one port per rule\n\n");
    out.push_str("| rules | nft -f | iptables-restore (nf_tables) | iptables-legacy-restore | nft / iptables-restore | nft / legacy |\n|---:|---:|---:|---:|---:|---:|\n");
    let sizes: &[usize] = if quick { &[1_000, 10_000] } else { &[1_000, 10_000, 100_000] };
    for &n in sizes {
        let rs = single_values(n);
        let (nft, ipt, legacy) = load_all(&rs, if n >= 100_000 { 1 } else { 3 });
        out.push_str(&format!(
            "| {n} | {} | {} | {} | {:.2} | {:.2} |\n",
            secs(nft),
            secs(ipt),
            secs(legacy),
            nft.as_secs_f64() / ipt.as_secs_f64(),
            nft.as_secs_f64() / legacy.as_secs_f64()
        ));
        eprintln!("{n} rules done");
    }

    out.push_str("\n### Large groups: 5,000 blocked addresses, 200 allowed ports\n\n");
    let rs = large_groups();
    let v4 = rampart_lower::iptables(&rs, Family::V4);
    let (nft, ipt, legacy) = load_all(&rs, 3);
    let (checked_ipt, checked_nft) = (rules_checked(&v4), rules_checked(&rs));
    out.push_str(&format!(
        "Rules checked for one accepted packet, from the evaluator (`rampart-trace`): \
         iptables {checked_ipt}, nft {checked_nft} (each a set lookup).\n\n"
    ));
    out.push_str(&format!(
        "nft: 2 named sets and 2 rules; iptables: {} rules.\n\n| | nft -f | iptables-restore | iptables-legacy-restore |\n|---|---:|---:|---:|\n| load | {} | {} | {} |\n",
        v4.rule_count(),
        secs(nft),
        secs(ipt),
        secs(legacy)
    ));
    // Best of three: the machine is shared, so the maximum is the signal.
    let loaders = [
        None,
        Some(Loader::Nft(&rs)),
        Some(Loader::Ipt("iptables-restore", &rs)),
        Some(Loader::Ipt("iptables-legacy-restore", &rs)),
    ];
    let r: Vec<f64> = loaders
        .iter()
        .map(|l| (0..3).map(|_| forward_rate(l.as_ref())).fold(0.0, f64::max))
        .collect();
    let (base, rates) = (r[0], [("nft", r[1]), ("iptables-restore", r[2]), ("legacy", r[3])]);
    out.push_str(&format!(
        "| forwarded UDP packets/s, best of 3 (no ruleset: {base:.0}) | {:.0} | {:.0} | {:.0} |\n\n",
        rates[0].1, rates[1].1, rates[2].1
    ));
    out.push_str(&format!(
        "Forwarding rate, nft / iptables-restore: {:.1}×; nft / legacy: {:.1}×. Each packet comes \
         from an address outside the blocked group to an allowed port, so it is checked \
         against every iptables line before it is accepted.\n",
        rates[0].1 / rates[1].1,
        rates[0].1 / rates[2].1
    ));

    out.push_str("\n### Lists inline in every rule, or named sets\n\n| rules, 3 ports each | inline `{ a, b, c }` | one named set per list |\n|---:|---:|---:|\n");
    for n in [500, 2_000] {
        let rs = three_ports(n, false);
        let inline = best(3, || load(&rampart_nft::emit(&rs), &["nft", "-f"]));
        eprintln!("{n} inline");
        let rs = three_ports(n, true);
        let named = best(3, || load(&rampart_nft::emit(&rs), &["nft", "-f"]));
        out.push_str(&format!("| {n} | {} | {} |\n", secs(inline), secs(named)));
        eprintln!("{n} inline done");
    }
    out.push_str(
        "\nReproduce (as root, from the repository root):\n\n```\nCARGO_TARGET_DIR=target cargo run --manifest-path tasks/bench-nft/Cargo.toml > /tmp/nft-bench.md\n```\n",
    );
    std::io::stdout().write_all(out.as_bytes()).unwrap();
}

fn now() -> String {
    version("date", &["-u", "+%Y-%m-%d"])
}

fn version(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect(cmd);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn addr(i: usize) -> AddrItem {
    let i = u32::try_from(i).unwrap();
    AddrItem::Net(ipnet::IpNet::from(std::net::IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 | i))))
}

fn rule(n: usize, matches: Vec<Match>, target: Target) -> Rule {
    let origin = Some(Origin { rule: u32::try_from(n).unwrap(), span: None });
    Rule { comment: Some(format!("R{n}")), origin, ..Rule::new(matches, target) }
}

fn ports(name: Option<&str>, ranges: Vec<(u16, u16)>) -> Match {
    Match::Dport(PortMatch { neg: false, set: PortSet { name: name.map(str::to_owned), ranges } })
}

fn tcp() -> Match {
    Match::Proto { neg: false, proto: Proto::Tcp }
}

fn ruleset(input: Vec<Rule>, forward: Vec<Rule>) -> Ruleset {
    let mut i = Chain::builtin("INPUT", Policy::Drop);
    i.rules = input;
    let mut f = Chain::builtin("FORWARD", Policy::Drop);
    f.rules = forward;
    Ruleset { chains: vec![i, f, Chain::builtin("OUTPUT", Policy::Accept)] }
}

/// `n` rules, each one source address and one TCP port.
fn single_values(n: usize) -> Ruleset {
    let rules = (0..n)
        .map(|i| {
            let src = Match::Src(AddrMatch { neg: false, set: AddrSet::one(addr(i)) });
            let port = u16::try_from(1 + i % 60_000).unwrap();
            rule(i + 1, vec![src, tcp(), ports(None, vec![(port, port)])], Target::Accept)
        })
        .collect();
    ruleset(rules, vec![])
}

/// 5,000 blocked sources dropped, 200 TCP and UDP ports accepted.
fn large_groups() -> Ruleset {
    let blocked = AddrSet { name: Some("blocked".into()), items: (0..5_000).map(addr).collect() };
    let allowed: Vec<(u16, u16)> = (0..200).map(|i| (5_000 + 2 * i, 5_000 + 2 * i)).collect();
    let forward = vec![
        rule(1, vec![Match::Src(AddrMatch { neg: false, set: blocked })], Target::Drop),
        rule(
            2,
            vec![Match::Proto { neg: false, proto: Proto::Udp }, ports(Some("allowed"), allowed)],
            Target::Accept,
        ),
    ];
    ruleset(vec![], forward)
}

/// `n` rules with a distinct three-port list each; `named` gives every
/// list a name so that each becomes a named set.
fn three_ports(n: usize, named: bool) -> Ruleset {
    let rules = (0..n)
        .map(|i| {
            let p = u16::try_from(1 + (3 * i) % 60_000).unwrap();
            let name = named.then(|| format!("svc{i}"));
            let set = ports(name.as_deref(), vec![(p, p), (p + 1, p + 1), (p + 2, p + 2)]);
            rule(i + 1, vec![tcp(), set], Target::Accept)
        })
        .collect();
    ruleset(rules, vec![])
}

/// How many rules the evaluator walks before one passing packet is accepted:
/// the deciding rule's position in FORWARD.
fn rules_checked(rs: &Ruleset) -> usize {
    let mut p = rampart_trace::Packet::new(rampart_trace::Hook::Forward);
    p.src = Some("10.200.1.2".parse().unwrap());
    p.dst = Some("10.200.2.2".parse().unwrap());
    (p.proto, p.sport, p.dport) = (Some(17), Some(40_000), Some(5_010));
    (p.in_iface, p.out_iface) = (Some("f0".into()), Some("f1".into()));
    let t = rampart_trace::trace(rs, &p);
    assert_eq!(t.verdict, rampart_trace::Verdict::Accept, "the probe packet must pass");
    t.main.decided_by.map_or(0, |r| r.rule + 1)
}

fn iptables_text(rs: &Ruleset) -> String {
    let v4 = rampart_lower::iptables(rs, Family::V4);
    rampart_emit::iptables_restore(&v4, Family::V4, "bench", None)
}

fn load_all(rs: &Ruleset, runs: usize) -> (Duration, Duration, Duration) {
    let nft = rampart_nft::emit(rs);
    let ipt = iptables_text(rs);
    (
        best(runs, || load(&nft, &["nft", "-f"])),
        best(runs, || load(&ipt, &["iptables-restore"])),
        best(runs, || load(&ipt, &["iptables-legacy-restore"])),
    )
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap()
}

/// A namespace that is deleted when dropped.
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Self {
        let name = format!("rampart-bench-{}-{tag}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        Self(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(args);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Time one load of `text` from a file (`-f FILE` or stdin) into a fresh namespace.
fn load(text: &str, cmd: &[&str]) -> Duration {
    let ns = Netns::new("load");
    let path = std::env::temp_dir().join(format!("rampart-bench-{}.rules", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let start = Instant::now();
    let out = if cmd[0] == "nft" {
        ns.cmd(&[cmd, &[path.to_str().unwrap()]].concat()).output().unwrap()
    } else {
        ns.cmd(cmd).stdin(std::fs::File::open(&path).unwrap()).output().unwrap()
    };
    let took = start.elapsed();
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "{}: {}", cmd[0], String::from_utf8_lossy(&out.stderr));
    took
}

enum Loader<'a> {
    Nft(&'a Ruleset),
    Ipt(&'a str, &'a Ruleset),
}

/// Packets per second a UDP sender gets through a forwarding namespace.
fn forward_rate(loader: Option<&Loader>) -> f64 {
    let a = Netns::new("a");
    let fw = Netns::new("fw");
    let b = Netns::new("b");
    let ip = |ns: &Netns, args: &[&str]| {
        let out = ns.cmd(&[&["ip"], args].concat()).output().unwrap();
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ip(&fw, &["link", "add", "f0", "type", "veth", "peer", "name", "a0", "netns", &a.0]);
    ip(&fw, &["link", "add", "f1", "type", "veth", "peer", "name", "b0", "netns", &b.0]);
    for (ns, dev, addr, via) in
        [(&a, "a0", "10.200.1.2/24", "10.200.1.1"), (&b, "b0", "10.200.2.2/24", "10.200.2.1")]
    {
        ip(ns, &["addr", "add", addr, "dev", dev]);
        ip(ns, &["link", "set", dev, "up"]);
        ip(ns, &["link", "set", "lo", "up"]);
        ip(ns, &["route", "add", "default", "via", via]);
    }
    ip(&fw, &["addr", "add", "10.200.1.1/24", "dev", "f0"]);
    ip(&fw, &["addr", "add", "10.200.2.1/24", "dev", "f1"]);
    ip(&fw, &["link", "set", "f0", "up"]);
    ip(&fw, &["link", "set", "f1", "up"]);
    let out = fw.cmd(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]).output().unwrap();
    assert!(out.status.success());
    match loader {
        Some(Loader::Nft(rs)) => feed(&fw, &["nft", "-f", "-"], &rampart_nft::emit(rs)),
        Some(Loader::Ipt(cmd, rs)) => feed(&fw, &[cmd], &iptables_text(rs)),
        None => {}
    }
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let mut recv =
        b.cmd(&[exe, "--udp-recv", "0.0.0.0:5010"]).stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let send = a.cmd(&[exe, "--udp-send", "10.200.2.2:5010", "2"]).output().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = recv.kill();
    let out = recv.wait_with_output().unwrap();
    let got: f64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0.0);
    assert!(send.status.success());
    got / 2.0
}

fn feed(ns: &Netns, cmd: &[&str], text: &str) {
    let mut child = ns.cmd(cmd).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}: {}", cmd[0], String::from_utf8_lossy(&out.stderr));
}

/// Count datagrams, printing the running total after each one-second gap.
fn udp_recv(bind: &str) {
    let sock = UdpSocket::bind(bind).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let mut n: u64 = 0;
    let mut buf = [0u8; 64];
    let mut out = std::io::stdout();
    loop {
        match sock.recv(&mut buf) {
            Ok(_) => n += 1,
            Err(_) => {
                let _ = writeln!(out, "{n}");
                let _ = out.flush();
            }
        }
    }
}

/// Send small datagrams as fast as possible for `secs` seconds.
fn udp_send(to: &str, secs: &str) {
    let sock = UdpSocket::bind("0.0.0.0:0").unwrap();
    sock.connect(to).unwrap();
    let end = Instant::now() + Duration::from_secs(secs.parse().unwrap());
    let payload = [0u8; 32];
    while Instant::now() < end {
        for _ in 0..64 {
            let _ = sock.send(&payload);
        }
    }
}
