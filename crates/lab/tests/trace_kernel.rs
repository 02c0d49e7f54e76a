//! `rampart trace` held to the kernel: rulesets are loaded into a namespace
//! with iptables-restore, real packets are sent through it, and the rule
//! counters and LOG lines the kernel reports must equal what the evaluator
//! predicts for the same packets.
//!
//! Each probe sends exactly one packet (a raw IPv4 packet, or one UDP
//! datagram from an ordinary socket when the sender's UID matters), the
//! hosts around the firewall drop everything they receive so that nothing
//! answers back, the firewall's own replies (echo replies, REJECT's errors,
//! resets) are dropped in its raw table before conntrack and filter see
//! them (probes leave with TTL 33, replies do not), and every case gets a
//! conntrack zone of its own so that earlier cases cannot make later
//! packets ESTABLISHED. For nat tables the first packets of connections
//! are followed across the hooks (`rampart_trace::routed`), and the
//! translations conntrack records are held to trace's too.

use std::collections::BTreeMap;
use std::time::Duration;

use rampart_diag::FileId;
use rampart_ir::read::{Format, parse};
use rampart_ir::{Match, ModuleMatch, ModuleTest, Ruleset, Target};
use rampart_lab::{Kmsg, Netns, NetnsLogging, Tool, bridge, require_tools, veth};
use rampart_trace::{Action, CtState, Hook, LocalTable, Packet, Verdict, check, tcp, trace};

const PROBE: &str = env!("CARGO_BIN_EXE_rampart-lab-probe");

fn tools() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::IPTABLES_SAVE, Tool::SETPRIV])
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Drops everything a host receives, so it never answers.
fn deaf(ns: &Netns) {
    ns.run_with_input(&["iptables-restore", "-w"], "*filter\n:INPUT DROP [0:0]\nCOMMIT\n").unwrap();
}

/// client (10.77.1.2) — c0 [fw] s0 — server (10.77.2.2, 10.77.2.3).
struct Routed {
    client: Netns,
    fw: Netns,
    /// Kept so that its namespace lives as long as the lab.
    _server: Netns,
}

/// The routed lab firewall's local routing table, for `-m addrtype`.
fn routed_local() -> LocalTable {
    LocalTable::from_addresses(&["10.77.1.1/24".parse().unwrap(), "10.77.2.1/24".parse().unwrap()])
}

fn routed() -> Routed {
    tools();
    let (client, fw, server) =
        (Netns::new().unwrap(), Netns::new().unwrap(), Netns::new().unwrap());
    veth(&client, "eth0", &fw, "c0").unwrap();
    veth(&server, "eth0", &fw, "s0").unwrap();
    client.addr("eth0", "10.77.1.2/24").unwrap();
    fw.addr("c0", "10.77.1.1/24").unwrap();
    fw.addr("s0", "10.77.2.1/24").unwrap();
    server.addr("eth0", "10.77.2.2/24").unwrap();
    server.addr("eth0", "10.77.2.3/24").unwrap();
    client.route("default", "10.77.1.1").unwrap();
    server.route("default", "10.77.2.1").unwrap();
    fw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    deaf(&client);
    deaf(&server);
    Routed { client, fw, _server: server }
}

/// h1 (10.78.0.11) — p1 [br0 10.78.0.1 in fw] p2 — h2 (10.78.0.12); fw s0
/// routes to server 10.79.0.2.
struct Bridged {
    h1: Netns,
    h2: Netns,
    fw: Netns,
    server: Netns,
}

fn bridged() -> Bridged {
    tools();
    let (h1, h2, fw, server) = (
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
    );
    veth(&h1, "eth0", &fw, "p1").unwrap();
    veth(&h2, "eth0", &fw, "p2").unwrap();
    veth(&server, "eth0", &fw, "s0").unwrap();
    bridge(&fw, "br0", &["p1", "p2"]).unwrap();
    fw.addr("br0", "10.78.0.1/24").unwrap();
    fw.addr("s0", "10.79.0.1/24").unwrap();
    h1.addr("eth0", "10.78.0.11/24").unwrap();
    h2.addr("eth0", "10.78.0.12/24").unwrap();
    server.addr("eth0", "10.79.0.2/24").unwrap();
    h1.route("default", "10.78.0.1").unwrap();
    h2.route("default", "10.78.0.1").unwrap();
    server.route("default", "10.79.0.1").unwrap();
    fw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    fw.sysctl("net.bridge.bridge-nf-call-iptables", "1").unwrap();
    deaf(&h1);
    deaf(&h2);
    deaf(&server);
    Bridged { h1, h2, fw, server }
}

/// One packet: how to send it and what the evaluator is told about it.
struct Probe<'a> {
    from: &'a Netns,
    /// Run as this (uid, gid) through setpriv.
    user: Option<(u32, u32)>,
    args: Vec<String>,
    packet: Packet,
}

/// The conntrack state a lone first packet gets: a SYN or a bare ACK (with
/// tcp_loose pickup) is NEW, other TCP flag sets are INVALID; UDP is NEW;
/// of ICMP only requests open a connection.
fn first_state(proto: &str, a: u16, flags: u8) -> CtState {
    match proto {
        "tcp" if flags & !tcp::PSH == tcp::SYN || flags & !tcp::PSH == tcp::ACK => CtState::New,
        "tcp" => CtState::Invalid,
        "icmp" if matches!(a, 8 | 13) => CtState::New,
        "icmp" => CtState::Invalid,
        _ => CtState::New,
    }
}

/// A raw packet from `from`; the evaluator sees it at `hook` with these
/// interfaces.
#[allow(clippy::too_many_arguments)]
fn raw<'a>(
    from: &'a Netns,
    hook: Hook,
    ifaces: (Option<&str>, Option<&str>),
    src: &str,
    dst: &str,
    proto: &str,
    a: u16,
    b: u16,
    flags: u8,
) -> Probe<'a> {
    let num = match proto {
        "tcp" => 6,
        "udp" => 17,
        _ => 1,
    };
    let mut packet = Packet {
        in_iface: ifaces.0.map(str::to_owned),
        out_iface: ifaces.1.map(str::to_owned),
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        proto: Some(num),
        state: first_state(proto, a, flags),
        ..Packet::new(hook)
    };
    match proto {
        "icmp" => packet.icmp = Some((u8::try_from(a).unwrap(), Some(u8::try_from(b).unwrap()))),
        _ => {
            packet.sport = Some(a);
            packet.dport = Some(b);
        }
    }
    if proto == "tcp" {
        packet.tcp_flags = Some(flags);
    }
    if hook == Hook::Output {
        // A raw socket opened by root.
        packet.uid = Some(0);
        packet.gid = Some(0);
    }
    let args = ["raw", src, dst, proto, &a.to_string(), &b.to_string(), &flags.to_string()]
        .map(str::to_owned)
        .to_vec();
    Probe { from, user: None, args, packet }
}

/// One UDP datagram sent by `user` from the firewall itself (output hook).
fn udp_as<'a>(
    fw: &'a Netns,
    user: (u32, u32),
    out: &str,
    src: &str,
    dst: &str,
    sport: u16,
    dport: u16,
) -> Probe<'a> {
    let packet = Packet {
        out_iface: Some(out.to_owned()),
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        proto: Some(17),
        sport: Some(sport),
        dport: Some(dport),
        uid: Some(user.0),
        gid: Some(user.1),
        ..Packet::new(Hook::Output)
    };
    let args = ["udp", dst, &sport.to_string(), &dport.to_string()].map(str::to_owned).to_vec();
    Probe { from: fw, user: Some(user), args, packet }
}

fn send(p: &Probe<'_>) {
    let mut argv: Vec<String> = Vec::new();
    if let Some((u, g)) = p.user {
        argv.extend(
            ["setpriv", "--reuid", &u.to_string(), "--regid", &g.to_string(), "--clear-groups"]
                .map(str::to_owned),
        );
    }
    argv.push(PROBE.to_owned());
    argv.extend(p.args.iter().cloned());
    p.from.run(&argv).unwrap_or_else(|e| panic!("probe failed: {e}"));
}

/// Packet counters of the filter table: per (chain, index from 1), and the
/// built-in chains' policy counters under index 0.
type Counters = BTreeMap<(String, usize), u64>;

fn kernel_counters(fw: &Netns) -> Counters {
    counters_of(&fw.stdout(["iptables-save", "-c", "-t", "filter"]).unwrap())
}

/// The packet counters of one table's `iptables-save -c` text.
fn counters_of(text: &str) -> Counters {
    let mut out = Counters::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let packets =
        |s: &str| s.trim_start_matches('[').split(':').next().unwrap().parse::<u64>().unwrap();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if parts[1] != "-" {
                out.insert((parts[0].to_owned(), 0), packets(parts[2]));
            }
        } else if line.starts_with('[') {
            let mut parts = line.split_whitespace();
            let n = packets(parts.next().unwrap());
            let chain = parts.nth(1).unwrap().to_owned();
            let i = seen.entry(chain.clone()).or_insert(0);
            *i += 1;
            if n > 0 {
                out.insert((chain, *i), n);
            }
        }
    }
    out.retain(|_, n| *n > 0);
    out
}

fn predicted(rs: &Ruleset, probes: &[Probe<'_>]) -> (Counters, Vec<String>) {
    let mut counters = Counters::new();
    let mut logs = Vec::new();
    for p in probes {
        let t = trace(rs, &p.packet);
        assert!(t.forks.is_empty(), "undecided trace for {:?}: {:?}", p.packet, t.forks);
        for s in &t.path {
            let chain = &rs.chains[s.at.chain];
            *counters.entry((chain.name.clone(), s.at.rule + 1)).or_insert(0) += 1;
            if s.action == Action::Log
                && let Target::Log(l) = &chain.rules[s.at.rule].target
            {
                logs.push(l.prefix.clone());
            }
        }
        if t.main.policy() {
            *counters.entry((p.packet.hook.chain().to_owned(), 0)).or_insert(0) += 1;
        }
        assert_ne!(t.verdict, Verdict::Unknown);
    }
    (counters, logs)
}

/// Loads `filter` (an iptables-restore body for the filter table) into the
/// firewall, sends the probes, and compares. `Err` describes a disagreement.
/// What a case exercised: (packets decided by a rule, by a policy, rule
/// hits on the paths, LOG lines).
type Stats = (usize, usize, usize, usize);

/// The raw table that puts a case's packets in conntrack zone `zone` (its
/// connections never meet an earlier case's) and drops the firewall's own
/// packets except the probes (TTL 33); `extra` goes first.
fn zoned(zone: u16, extra: &str) -> String {
    format!(
        "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n{extra}-A PREROUTING -j CT --zone {zone}\n-A OUTPUT -m ttl ! --ttl-eq 33 -j DROP\n-A OUTPUT -j CT --zone {zone}\nCOMMIT\n"
    )
}

fn run_case(
    fw: &Netns,
    zone: u16,
    raw_extra: &str,
    filter: &str,
    probes: &[Probe<'_>],
    tag: &str,
) -> Result<Stats, String> {
    let text = format!("{}*filter\n{filter}\nCOMMIT\n", zoned(zone, raw_extra));
    let im = parse(&text, FileId(0), Format::Save);
    assert!(!im.has_errors(), "{:?}\n{text}", im.diagnostics);
    let rs = im.filter().unwrap().ruleset.clone();
    assert!(check(&rs).is_empty(), "{:?}", check(&rs));
    // Load what Rampart writes back, not the text itself: the kernel then
    // also checks the reader and writer (rule positions are unchanged).
    let text = rampart_ir::read::write_restore(&im.tables);
    fw.run_with_input(&["iptables-restore", "-w"], &text).map_err(|e| format!("{e}\n{text}"))?;
    let mut kmsg = Kmsg::open().unwrap();
    for p in probes {
        send(p);
    }
    let (want, want_logs) = predicted(&rs, probes);
    let by_policy: u64 = want.iter().filter(|((_, i), _)| *i == 0).map(|(_, n)| n).sum();
    let hits: u64 = want.iter().filter(|((_, i), _)| *i != 0).map(|(_, n)| n).sum();
    let by_policy = usize::try_from(by_policy).unwrap_or(0);
    let stats =
        (probes.len() - by_policy, by_policy, usize::try_from(hits).unwrap_or(0), want_logs.len());
    let mut got = kernel_counters(fw);
    // Packets cross veths asynchronously: wait (up to 2 s on a busy
    // machine) until the counters settle.
    for _ in 0..200 {
        if got == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        got = kernel_counters(fw);
    }
    let mut got_logs: Vec<String> = Vec::new();
    for _ in 0..200 {
        got_logs.extend(kmsg.lines().into_iter().filter(|l| l.starts_with(tag)));
        if got_logs.len() >= want_logs.len() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A moment more for lines the trace did not expect.
    std::thread::sleep(Duration::from_millis(20));
    got_logs.extend(kmsg.lines().into_iter().filter(|l| l.starts_with(tag)));
    let got_prefixes: Vec<String> =
        got_logs.iter().map(|l| l.split("IN=").next().unwrap_or("").to_owned()).collect();
    if got != want || got_prefixes != want_logs {
        let packets: Vec<String> = probes.iter().map(|p| format!("{:?}", p.packet)).collect();
        return Err(format!(
            "kernel and trace disagree\nruleset:\n{text}\npackets:\n{}\nkernel counters: {got:?}\ntrace counters:  {want:?}\nkernel logs: {got_prefixes:?}\ntrace logs:  {want_logs:?}",
            packets.join("\n")
        ));
    }
    Ok(stats)
}

/// Ends in `.` so that no test's tag is the start of another's
/// (`t1.` against `t10.`): the kernel log is shared by all tests.
fn tag(test: u32) -> String {
    format!("r{}t{test}.", std::process::id() % 10000)
}

#[test]
fn addresses_interfaces_and_protocols() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let t = tag(1);
    let c = &lab.client;
    let input = |src: &str, dst: &str, proto: &str, a: u16, b: u16, f: u8| {
        raw(c, Hook::Input, (Some("c0"), None), src, dst, proto, a, b, f)
    };
    let forward = |src: &str, dst: &str, proto: &str, a: u16, b: u16, f: u8| {
        raw(c, Hook::Forward, (Some("c0"), Some("s0")), src, dst, proto, a, b, f)
    };
    let filter = format!(
        ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:web - [0:0]\n\
-A INPUT -s 10.77.5.0/255.255.255.0 -j LOG --log-prefix \"{t}a \"\n\
-A INPUT -s 10.77.5.0/24 -d 10.77.2.1 -j ACCEPT\n\
-A INPUT ! -s 10.77.1.0/24 -p udp -j REJECT\n\
-A INPUT -m iprange --src-range 10.77.1.2-10.77.1.9 -p tcp -m tcp --dport 80:90 -j web\n\
-A INPUT -i c+ -p tcp -m multiport --dports 22,443,1000:2000 -j ACCEPT\n\
-A INPUT -i s0 -j DROP\n\
-A INPUT -p udp -m udp --sport 53 -m comment --comment \"dns replies\" -j ACCEPT\n\
-A INPUT -p 17 -m multiport --ports 5353 -j ACCEPT\n\
-A INPUT -p icmp -m icmp --icmp-type echo-request -j ACCEPT\n\
-A INPUT -p icmp -m icmp --icmp-type 13 -j REJECT --reject-with icmp-host-prohibited\n\
-A INPUT -p icmp -j LOG --log-prefix \"{t}icmp \"\n\
-A web -p tcp -m tcp --dport 80 -j ACCEPT\n\
-A web -j LOG --log-prefix \"{t}web \" --log-level 6\n\
-A FORWARD -i c0 -o s0 -d 10.77.2.3 -p tcp -m tcp --dport 25 -j REJECT --reject-with tcp-reset\n\
-A FORWARD -i c0 -o s+ -p tcp ! --syn -j DROP\n\
-A FORWARD -p tcp -m tcp --tcp-flags SYN,ACK SYN -d 10.77.2.0/24 -j ACCEPT"
    );
    let probes = vec![
        input("10.77.5.7", "10.77.2.1", "tcp", 4000, 9, tcp::SYN),
        input("10.77.5.7", "10.77.1.1", "tcp", 4001, 9, tcp::SYN),
        input("172.16.9.9", "10.77.1.1", "udp", 4002, 9, 0),
        input("10.77.1.3", "10.77.1.1", "tcp", 4003, 80, tcp::SYN),
        input("10.77.1.3", "10.77.1.1", "tcp", 4004, 85, tcp::SYN),
        input("10.77.1.30", "10.77.1.1", "tcp", 4005, 1500, tcp::SYN),
        input("10.77.1.30", "10.77.1.1", "tcp", 4006, 3000, tcp::SYN),
        input("10.77.1.30", "10.77.1.1", "udp", 53, 4007, 0),
        input("10.77.1.30", "10.77.1.1", "udp", 5353, 4008, 0),
        input("10.77.1.30", "10.77.1.1", "icmp", 8, 0, 0),
        input("10.77.1.30", "10.77.1.1", "icmp", 13, 0, 0),
        input("10.77.1.30", "10.77.1.1", "icmp", 0, 0, 0),
        forward("10.77.1.2", "10.77.2.3", "tcp", 4010, 25, tcp::SYN),
        forward("10.77.1.2", "10.77.2.2", "tcp", 4011, 25, tcp::ACK),
        forward("10.77.1.2", "10.77.2.2", "tcp", 4012, 25, tcp::SYN),
        forward("10.77.1.2", "10.77.2.2", "udp", 4013, 25, 0),
    ];
    run_case(&lab.fw, 1, "", &filter, &probes, &t).unwrap();
}

#[test]
fn states_flags_marks_and_chains() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let t = tag(2);
    let (c, fw) = (&lab.client, &lab.fw);
    let input = |src: &str, proto: &str, a: u16, b: u16, f: u8| {
        raw(c, Hook::Input, (Some("c0"), None), src, "10.77.1.1", proto, a, b, f)
    };
    let filter = format!(
        ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:a - [0:0]\n:b - [0:0]\n:c - [0:0]\n\
-A INPUT -m conntrack --ctstate ESTABLISHED -j LOG --log-prefix \"{t}est \"\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -m state --state INVALID -j LOG --log-prefix \"{t}inv \"\n\
-A INPUT -m state --state INVALID -j DROP\n\
-A INPUT -m conntrack --ctstate UNTRACKED -j NFLOG --nflog-group 3 --nflog-prefix untracked\n\
-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT\n\
-A INPUT -p udp -m udp --dport 7000:7100 -j MARK --set-xmark 0x5/0xff\n\
-A INPUT -m mark --mark 0x5/0xf -j a\n\
-A INPUT -m mark ! --mark 0x0 -j DROP\n\
-A INPUT -p tcp -m tcp --syn -g b\n\
-A INPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK ACK -j c\n\
-A INPUT -p udp -m udp --dport 6000 -j ACCEPT\n\
-A INPUT -j LOG --log-prefix \"{t}end \"\n\
-A a -p udp -m udp --dport 7000 -j RETURN\n\
-A a -j ACCEPT\n\
-A b -p tcp -m tcp --dport 1:1023 -j c\n\
-A b -j RETURN\n\
-A c -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A c -j LOG --log-prefix \"{t}c \"\n\
-A OUTPUT -m state --state ESTABLISHED -p udp -j LOG --log-prefix \"{t}out \""
    );
    // The first datagram is accepted (a dropped packet's conntrack entry is
    // never confirmed), so the firewall's answer is ESTABLISHED in OUTPUT
    // and the client's next datagram ESTABLISHED in INPUT.
    let mut reply =
        raw(fw, Hook::Output, (None, Some("c0")), "10.77.1.1", "10.77.1.2", "udp", 6000, 5000, 0);
    reply.packet.state = CtState::Established;
    let mut again = input("10.77.1.2", "udp", 5000, 6000, 0);
    again.packet.state = CtState::Established;
    let mut untracked = input("10.77.1.2", "udp", 4000, 7777, 0);
    untracked.packet.state = CtState::Untracked;
    let probes = vec![
        input("10.77.1.2", "udp", 5000, 6000, 0),
        reply,
        again,
        untracked,
        input("10.77.1.2", "tcp", 4001, 22, tcp::SYN | tcp::ACK),
        input("10.77.1.2", "tcp", 4002, 22, tcp::RST),
        input("10.77.1.2", "tcp", 4003, 22, tcp::SYN),
        input("10.77.1.2", "tcp", 4004, 80, tcp::SYN),
        input("10.77.1.2", "tcp", 4005, 8080, tcp::SYN),
        input("10.77.1.2", "tcp", 4006, 22, tcp::ACK),
        input("10.77.1.2", "tcp", 4007, 23, tcp::ACK | tcp::PSH),
        input("10.77.1.2", "udp", 4008, 7000, 0),
        input("10.77.1.2", "udp", 4009, 7001, 0),
        input("10.77.1.2", "icmp", 3, 3, 0),
    ];
    let notrack = "-A PREROUTING -p udp -m udp --dport 7777 -j CT --notrack\n";
    run_case(fw, 2, notrack, &filter, &probes, &t).unwrap();
}

/// ufw's chains as ufw writes them (its rate-limited LOG rules without
/// their limit): `-m addrtype` decides what is local, broadcast and
/// multicast, from the firewall's addresses.
#[test]
fn ufw_chains_with_addrtype() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let t = tag(5);
    let (c, fw) = (&lab.client, &lab.fw);
    let input = |dst: &str, proto: &str, a: u16, b: u16, f: u8| {
        raw(c, Hook::Input, (Some("c0"), None), "10.77.1.2", dst, proto, a, b, f)
    };
    let filter = format!(
        ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:ufw-before-input - [0:0]\n\
:ufw-not-local - [0:0]\n:ufw-user-input - [0:0]\n:ufw-after-input - [0:0]\n:ufw-skip-to-policy-input - [0:0]\n\
-A INPUT -j ufw-before-input\n\
-A INPUT -j ufw-after-input\n\
-A ufw-before-input -i lo -j ACCEPT\n\
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A ufw-before-input -m conntrack --ctstate INVALID -j DROP\n\
-A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT\n\
-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT\n\
-A ufw-before-input -j ufw-not-local\n\
-A ufw-before-input -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT\n\
-A ufw-before-input -j ufw-user-input\n\
-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN\n\
-A ufw-not-local -m addrtype --dst-type MULTICAST -j RETURN\n\
-A ufw-not-local -m addrtype --dst-type BROADCAST -j RETURN\n\
-A ufw-not-local -j LOG --log-prefix \"{t}not-local \"\n\
-A ufw-not-local -j DROP\n\
-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A ufw-user-input -p udp -m udp --dport 1000 -j ACCEPT\n\
-A ufw-after-input -p udp -m udp --dport 137 -j ufw-skip-to-policy-input\n\
-A ufw-after-input -m addrtype --dst-type BROADCAST -j ufw-skip-to-policy-input\n\
-A ufw-after-input -m addrtype ! --src-type LOCAL -j LOG --log-prefix \"{t}after \"\n\
-A ufw-skip-to-policy-input -j DROP\n\
-A FORWARD -m addrtype --dst-type LOCAL -j DROP\n\
-A FORWARD -m addrtype --src-type UNICAST --dst-type UNICAST -p tcp -j ACCEPT\n\
-A OUTPUT -m addrtype --src-type LOCAL --dst-type UNICAST -p udp -j LOG --log-prefix \"{t}out \""
    );
    let mut probes = vec![
        input("10.77.1.1", "tcp", 4000, 22, tcp::SYN),
        input("10.77.1.1", "udp", 4001, 1000, 0),
        input("10.77.1.255", "udp", 4002, 1000, 0),
        input("10.77.1.255", "udp", 4003, 2000, 0),
        input("224.0.0.1", "udp", 4004, 5353, 0),
        input("10.77.1.1", "udp", 4005, 3000, 0),
        input("10.77.1.1", "udp", 4006, 137, 0),
        raw(
            c,
            Hook::Forward,
            (Some("c0"), Some("s0")),
            "10.77.1.2",
            "10.77.2.2",
            "tcp",
            4007,
            80,
            tcp::SYN,
        ),
        raw(
            c,
            Hook::Forward,
            (Some("c0"), Some("s0")),
            "10.77.1.2",
            "10.77.2.2",
            "udp",
            4008,
            80,
            0,
        ),
        raw(fw, Hook::Output, (None, Some("c0")), "10.77.1.1", "10.77.1.2", "udp", 4009, 9, 0),
    ];
    for p in &mut probes {
        routed_local().classify(&mut p.packet);
    }
    let (_, by_policy, hits, logs) = run_case(fw, 5, "", &filter, &probes, &t).unwrap();
    assert!(by_policy >= 3 && hits >= 20 && logs >= 2, "{by_policy} {hits} {logs}");
}

#[test]
fn owner_matches_by_uid_and_gid() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let t = tag(3);
    let fw = &lab.fw;
    let filter = format!(
        ":INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n:users - [0:0]\n\
-A OUTPUT -m owner --uid-owner 0 -j ACCEPT\n\
-A OUTPUT -p udp -j users\n\
-A users -m owner --uid-owner 1021 -p udp -m udp --dport 20002 -j ACCEPT\n\
-A users -m owner --uid-owner 1022 -p udp -m udp --dport 20004 -j ACCEPT\n\
-A users -m owner --uid-owner 1000-1999 -j LOG --log-prefix \"{t}deny \"\n\
-A users -m owner ! --uid-owner 1000-1999 --gid-owner 50 -j ACCEPT\n\
-A users -m owner --gid-owner 2000-2999 -j REJECT"
    );
    let out = |user, dport| udp_as(fw, user, "s0", "10.77.2.1", "10.77.2.2", 4100, dport);
    let probes = vec![
        out((1021, 1021), 20002),
        out((1021, 1021), 20004),
        out((1022, 1022), 20004),
        out((1500, 50), 20004),
        out((5000, 50), 20004),
        out((5000, 2500), 20004),
        out((5000, 100), 20004),
        raw(fw, Hook::Output, (None, Some("s0")), "10.77.2.1", "10.77.2.2", "udp", 4101, 9, 0),
    ];
    run_case(fw, 3, "", &filter, &probes, &t).unwrap();
}

#[test]
fn physdev_through_a_bridge() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = bridged();
    let t = tag(4);
    let filter = format!(
        ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
-A FORWARD -m physdev --physdev-in p1 --physdev-out p2 -p tcp -m tcp --dport 22 -j ACCEPT\n\
-A FORWARD -m physdev --physdev-is-bridged --physdev-out p+ -j LOG --log-prefix \"{t}br \"\n\
-A FORWARD -m physdev ! --physdev-is-bridged -m physdev --physdev-in p1 -j LOG --log-prefix \"{t}routed \"\n\
-A FORWARD -m physdev --physdev-is-in ! --physdev-is-out -o s0 -j ACCEPT\n\
-A FORWARD -i br0 -o br0 -m physdev ! --physdev-in p2 -j REJECT\n\
-A INPUT -m physdev --physdev-in p1 -p udp -j LOG --log-prefix \"{t}in \"\n\
-A INPUT -m physdev --physdev-is-in --physdev-out p2 -j DROP\n\
-A INPUT -m physdev ! --physdev-is-bridged -i br0 -j ACCEPT"
    );
    let h1 = &lab.h1;
    let bridged_pkt = |dport: u16| {
        let mut p = raw(
            h1,
            Hook::Forward,
            (Some("br0"), Some("br0")),
            "10.78.0.11",
            "10.78.0.12",
            "tcp",
            4200,
            dport,
            tcp::SYN,
        );
        p.packet.physdev_in = Some("p1".into());
        p.packet.physdev_out = Some("p2".into());
        p.packet.bridged = true;
        p
    };
    let mut routed = raw(
        h1,
        Hook::Forward,
        (Some("br0"), Some("s0")),
        "10.78.0.11",
        "10.79.0.2",
        "tcp",
        4201,
        80,
        tcp::SYN,
    );
    routed.packet.physdev_in = Some("p1".into());
    let mut to_fw =
        raw(h1, Hook::Input, (Some("br0"), None), "10.78.0.11", "10.78.0.1", "udp", 4202, 53, 0);
    to_fw.packet.physdev_in = Some("p1".into());
    let mut from_h2 = raw(
        &lab.h2,
        Hook::Forward,
        (Some("br0"), Some("br0")),
        "10.78.0.12",
        "10.78.0.11",
        "udp",
        4203,
        53,
        0,
    );
    from_h2.packet.physdev_in = Some("p2".into());
    from_h2.packet.physdev_out = Some("p1".into());
    from_h2.packet.bridged = true;
    let probes = vec![bridged_pkt(22), bridged_pkt(80), routed, to_fw, from_h2];
    let _ = &lab.server;
    run_case(&lab.fw, 4, "", &filter, &probes, &t).unwrap();
}

// ---- randomized: fixed seed, bounded count ----

const SRCS: [&str; 5] = ["10.77.1.2", "10.77.1.7", "10.77.5.9", "172.16.9.9", "10.77.1.200"];
const NETS: [&str; 8] = [
    "10.77.1.2",
    "10.77.1.0/24",
    "10.77.0.0/16",
    "10.77.5.0/255.255.255.0",
    "172.16.0.0/12",
    "10.77.2.2",
    "10.77.2.0/25",
    "10.0.0.0/8",
];
const PORTS: [u16; 6] = [22, 53, 80, 443, 1000, 5353];

/// A random ruleset for one hook, in iptables-restore form (the filter
/// table's body), using only what the kernel accepts there.
fn random_rules(rng: &mut fastrand::Rng, hook: Hook, tag: &str) -> String {
    let builtin = hook.chain();
    let chains = ["u1", "u2", "u3"];
    let mut out = format!(
        ":INPUT {}\n:FORWARD {}\n:OUTPUT {}\n:u1 - [0:0]\n:u2 - [0:0]\n:u3 - [0:0]\n",
        if hook == Hook::Input && rng.u64(..100) < 50 { "DROP" } else { "ACCEPT" },
        if hook == Hook::Forward && rng.u64(..100) < 50 { "DROP" } else { "ACCEPT" },
        if hook == Hook::Output && rng.u64(..100) < 50 { "DROP" } else { "ACCEPT" },
    );
    let mut logn = 0;
    for (level, chain) in std::iter::once(builtin).chain(chains).enumerate() {
        for _ in 0..rng.usize(..if level == 0 { 10 } else { 5 }) + 1 {
            let mut m: Vec<String> = Vec::new();
            let neg = |rng: &mut fastrand::Rng| if rng.u64(..100) < 25 { "! " } else { "" };
            if rng.u64(..100) < 30 {
                m.push(format!("{}-s {}", neg(rng), &NETS[rng.usize(..NETS.len())]));
            }
            if rng.u64(..100) < 20 {
                m.push(format!("{}-d {}", neg(rng), &NETS[rng.usize(..NETS.len())]));
            }
            if hook != Hook::Output && rng.u64(..100) < 15 {
                m.push(format!(
                    "{}-i {}",
                    neg(rng),
                    rng.choice(&["c0", "c+", "s0", "lo"]).unwrap()
                ));
            }
            if hook != Hook::Input && rng.u64(..100) < 15 {
                m.push(format!("{}-o {}", neg(rng), rng.choice(&["s0", "s+", "c0"]).unwrap()));
            }
            if rng.u64(..100) < 10 {
                let side = rng.choice(&["--src-type", "--dst-type"]).unwrap();
                let types = rng.choice(&["LOCAL", "UNICAST", "BROADCAST,MULTICAST"]).unwrap();
                m.push(format!("-m addrtype {}{side} {types}", neg(rng)));
            }
            let proto = *rng.choice(&["", "", "tcp", "udp", "icmp"]).unwrap();
            if !proto.is_empty() {
                m.push(format!("-p {proto}"));
            }
            match proto {
                "tcp" | "udp" => {
                    if rng.u64(..100) < 50 {
                        let (a, b) =
                            (PORTS[rng.usize(..PORTS.len())], PORTS[rng.usize(..PORTS.len())]);
                        let range = if a <= b { format!("{a}:{b}") } else { a.to_string() };
                        m.push(format!("-m {proto} {}--dport {range}", neg(rng)));
                    }
                    if rng.u64(..100) < 20 {
                        let ports: Vec<String> = (0..rng.usize(..3) + 1)
                            .map(|_| PORTS[rng.usize(..PORTS.len())].to_string())
                            .collect();
                        let opt = rng.choice(&["--sports", "--dports", "--ports"]).unwrap();
                        m.push(format!("-m multiport {}{opt} {}", neg(rng), ports.join(",")));
                    }
                    if proto == "tcp" && rng.u64(..100) < 30 {
                        if rng.u64(..100) < 50 {
                            m.push(format!("-m tcp {}--syn", neg(rng)));
                        } else {
                            m.push(format!(
                                "-m tcp {}--tcp-flags SYN,ACK,RST {}",
                                neg(rng),
                                rng.choice(&["SYN", "ACK", "NONE", "RST"]).unwrap()
                            ));
                        }
                    }
                }
                "icmp" if rng.u64(..100) < 60 => {
                    m.push(format!(
                        "-m icmp {}--icmp-type {}",
                        neg(rng),
                        rng.choice(&["echo-request", "8", "13", "any", "echo-reply"]).unwrap()
                    ));
                }
                _ => {}
            }
            if rng.u64(..100) < 20 {
                let st = rng
                    .choice(&[
                        "NEW",
                        "INVALID",
                        "NEW,ESTABLISHED",
                        "RELATED,ESTABLISHED",
                        "UNTRACKED",
                    ])
                    .unwrap();
                let module =
                    if rng.u64(..100) < 50 { "-m state --state" } else { "-m conntrack --ctstate" };
                let (a, b) = module.split_once(" --").unwrap();
                m.push(format!("{a} {}--{b} {st}", neg(rng)));
            }
            if rng.u64(..100) < 10 {
                m.push(format!(
                    "-m mark {}--mark {}",
                    neg(rng),
                    rng.choice(&["0x1", "0x1/0x1", "0x0/0xf0"]).unwrap()
                ));
            }
            if rng.u64(..100) < 8 {
                m.push(format!("-m iprange {}--src-range 10.77.1.1-10.77.1.9", neg(rng)));
            }
            if hook == Hook::Output && rng.u64(..100) < 30 {
                let mut o = "-m owner".to_owned();
                if rng.u64(..100) < 70 {
                    o.push_str(&format!(
                        " {}--uid-owner {}",
                        neg(rng),
                        rng.choice(&["0", "1021", "1000-1999", "5000"]).unwrap()
                    ));
                }
                if rng.u64(..100) < 40 {
                    o.push_str(&format!(
                        " {}--gid-owner {}",
                        neg(rng),
                        rng.choice(&["0", "50", "1021", "2000-2999"]).unwrap()
                    ));
                }
                if o.len() > 8 {
                    m.push(o);
                }
            }
            if rng.u64(..100) < 5 {
                m.push("-m comment --comment \"random rule\"".to_owned());
            }
            let later: Vec<&str> = chains.iter().skip(level).copied().collect();
            let target = match rng.usize(..12) {
                0 | 1 => "-j ACCEPT".to_owned(),
                2 | 3 => "-j DROP".to_owned(),
                4 if hook != Hook::Output => "-j REJECT".to_owned(),
                5 => {
                    logn += 1;
                    format!("-j LOG --log-prefix \"{tag}n{logn} \"")
                }
                6 => "-j NFLOG --nflog-group 2".to_owned(),
                7 if level > 0 => "-j RETURN".to_owned(),
                8 | 9 if !later.is_empty() => format!("-j {}", &later[rng.usize(..later.len())]),
                10 if !later.is_empty() => format!("-g {}", &later[rng.usize(..later.len())]),
                11 => "-j MARK --set-xmark 0x1/0xff".to_owned(),
                _ => String::new(),
            };
            let mut line = format!("-A {chain}");
            for x in m {
                line.push(' ');
                line.push_str(&x);
            }
            if !target.is_empty() {
                line.push(' ');
                line.push_str(&target);
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

fn random_probe<'a>(rng: &mut fastrand::Rng, lab: &'a Routed, hook: Hook) -> Probe<'a> {
    let proto = *rng.choice(&["tcp", "tcp", "udp", "udp", "icmp"]).unwrap();
    let (a, b, flags) = match proto {
        "icmp" => (u16::from(*rng.choice(&[8u8, 8, 13, 0]).unwrap()), 0, 0),
        _ => {
            let f = if proto == "tcp" {
                *rng.choice(&[
                    tcp::SYN,
                    tcp::SYN,
                    tcp::ACK,
                    tcp::ACK | tcp::PSH,
                    tcp::SYN | tcp::ACK,
                    tcp::RST,
                    tcp::FIN | tcp::ACK,
                ])
                .unwrap()
            } else {
                0
            };
            (
                *rng.choice(&[1000u16, 4000, 53, 22, 443]).unwrap(),
                PORTS[rng.usize(..PORTS.len())],
                f,
            )
        }
    };
    match hook {
        Hook::Input => {
            let dst = *rng.choice(&["10.77.1.1", "10.77.2.1"]).unwrap();
            raw(
                &lab.client,
                hook,
                (Some("c0"), None),
                SRCS[rng.usize(..SRCS.len())],
                dst,
                proto,
                a,
                b,
                flags,
            )
        }
        Hook::Forward => {
            let dst = *rng.choice(&["10.77.2.2", "10.77.2.3"]).unwrap();
            raw(
                &lab.client,
                hook,
                (Some("c0"), Some("s0")),
                SRCS[rng.usize(..SRCS.len())],
                dst,
                proto,
                a,
                b,
                flags,
            )
        }
        Hook::Output => {
            let (src, dst, out) = *rng
                .choice(&[("10.77.2.1", "10.77.2.2", "s0"), ("10.77.1.1", "10.77.1.2", "c0")])
                .unwrap();
            if proto == "udp" && rng.u64(..100) < 60 {
                let user =
                    *rng.choice(&[(1021, 1021), (1500, 50), (5000, 2500), (65534, 65534)]).unwrap();
                let sport = 20000 + u16::try_from(rng.usize(..1000)).unwrap_or(0);
                udp_as(&lab.fw, user, out, src, dst, sport, b)
            } else {
                raw(&lab.fw, hook, (None, Some(out)), src, dst, proto, a, b, flags)
            }
        }
        Hook::Prerouting | Hook::Postrouting => unreachable!("probes are made for filter hooks"),
    }
}

/// Gives a TCP or UDP probe that repeats an earlier probe's flow (same
/// addresses, protocol and ports) a source port of its own: a second packet
/// of one flow is no longer a first packet (a bare ACK after a SYN is
/// INVALID), and `first_state` only knows first packets.
fn distinct_flows(probes: &mut [Probe<'_>]) {
    let mut seen = std::collections::BTreeSet::new();
    for (k, p) in probes.iter_mut().enumerate() {
        let (proto, src, dst, dport) = (p.packet.proto, p.packet.src, p.packet.dst, p.packet.dport);
        if !matches!(proto, Some(6 | 17)) {
            continue;
        }
        if seen.insert((proto, src, dst, p.packet.sport, dport)) {
            continue;
        }
        let sport = 30_000 + u16::try_from(k).unwrap_or(0);
        p.packet.sport = Some(sport);
        // The source port is argument 4 of `raw` and 2 of `udp`.
        let at = if p.args[0] == "raw" { 4 } else { 2 };
        p.args[at] = sport.to_string();
        seen.insert((proto, src, dst, Some(sport), dport));
    }
}

/// Random rulesets and packets: the number of cases and their seed are
/// fixed, so a failure reproduces.
#[test]
fn random_rulesets_agree_with_the_kernel() {
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let cases: u16 =
        std::env::var("RAMPART_KERNEL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut rng = fastrand::Rng::with_seed(0x5eed_0f7a_11c0_ffee);
    let mut failures = Vec::new();
    let mut total: Stats = (0, 0, 0, 0);
    let start = std::time::Instant::now();
    // To rerun one failing case: RAMPART_KERNEL_FIRST=N RAMPART_KERNEL_CASES=N+1.
    let first: u16 =
        std::env::var("RAMPART_KERNEL_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    for case in 0..cases {
        let hook = *rng.choice(&[Hook::Input, Hook::Forward, Hook::Output]).unwrap();
        let t = format!("{}c{case}", tag(6));
        let rules = random_rules(&mut rng, hook, &t);
        let mut probes: Vec<Probe<'_>> =
            (0..3).map(|_| random_probe(&mut rng, &lab, hook)).collect();
        distinct_flows(&mut probes);
        for p in &mut probes {
            routed_local().classify(&mut p.packet);
        }
        if case < first {
            continue;
        }
        match run_case(&lab.fw, 100 + case, "", &rules, &probes, &t) {
            Ok(s) => total = (total.0 + s.0, total.1 + s.1, total.2 + s.2, total.3 + s.3),
            Err(e) => failures.push(format!("case {case}: {e}")),
        }
    }
    #[allow(clippy::print_stderr)] // the figures the notes report
    {
        eprintln!(
            "kernel proof: {} random cases, {} packets ({} decided by a rule, {} by a policy), {} rule hits, {} LOG lines, {} disagreements, {:?}",
            cases - first,
            total.0 + total.1,
            total.0,
            total.1,
            total.2,
            total.3,
            failures.len(),
            start.elapsed()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} random cases disagree ({:?}):\n{}",
        failures.len(),
        start.elapsed(),
        failures.join("\n\n")
    );
}

/// A random nftables ruleset for one hook: two tables of different
/// families whose base chains run at random priorities and policies, a
/// named interval set, anonymous sets, a user chain, a counter on every
/// rule and one closing each base chain (what reaches the policy).
fn random_nft(rng: &mut fastrand::Rng, hook: Hook) -> String {
    let name = hook.name();
    // nft writes networks as prefixes only.
    let nets: Vec<&str> = NETS.iter().copied().filter(|n| !n.contains("/255")).collect();
    let addr = |rng: &mut fastrand::Rng| nets[rng.usize(..nets.len())].to_owned();
    let port = |rng: &mut fastrand::Rng| PORTS[rng.usize(..PORTS.len())];
    // At most one layer-4 match per rule (nft refuses two protocols), and
    // the named set only in the table that has it.
    let rule = |rng: &mut fastrand::Rng, verdicts: &[&str], set: bool| {
        let mut m = Vec::new();
        let mut l4 = false;
        for _ in 0..rng.usize(0..3) {
            let k = rng.u8(..9);
            if (k == 3 && !set) || (matches!(k, 4 | 5 | 8) && std::mem::replace(&mut l4, true)) {
                continue;
            }
            m.push(match k {
                0 => format!("ip saddr {}", addr(rng)),
                1 => format!("ip saddr != {}", addr(rng)),
                2 => format!("ip daddr {{ {}, {} }}", addr(rng), addr(rng)),
                3 => "ip saddr @srcs".to_owned(),
                4 => format!("tcp dport {}", port(rng)),
                5 => format!("udp dport {{ {}, {}-{} }}", port(rng), 1000, 6000),
                6 => (*rng
                    .choice(&["ct state new", "ct state established,related", "ct state invalid"])
                    .unwrap())
                .to_owned(),
                7 => (*rng
                    .choice(&["iifname \"c0\"", "oifname \"s0\"", "iifname != \"lo\""])
                    .unwrap())
                .to_owned(),
                _ => (*rng
                    .choice(&[
                        "meta l4proto icmp",
                        "icmp type echo-request",
                        "meta l4proto udp",
                        "fib daddr type local",
                        "fib saddr type != { local, broadcast }",
                        "meta l4proto { icmp, udp }",
                        "icmp type { echo-request, timestamp-request }",
                        "ip protocol { tcp, icmp }",
                        "meta l4proto != { tcp, ipv6-icmp }",
                    ])
                    .unwrap())
                .to_owned(),
            });
        }
        format!("    {} counter {}\n", m.join(" "), rng.choice(verdicts).unwrap())
    };
    let prio = |rng: &mut fastrand::Rng| *rng.choice(&[-10i32, 0, 10]).unwrap();
    let policy = |rng: &mut fastrand::Rng| *rng.choice(&["accept", "drop"]).unwrap();
    let mut a = format!(
        "table inet rt_a {{\n  set srcs {{ type ipv4_addr; flags interval; elements = {{ {}, 10.77.5.0/24 }} }}\n  chain sub {{\n",
        SRCS[rng.usize(..2)]
    );
    for _ in 0..rng.usize(1..3) {
        a.push_str(&rule(rng, &["accept", "drop", "return", ""], true));
    }
    let (pa, pola) = (prio(rng), policy(rng));
    a.push_str(&format!(
        "  }}\n  chain base {{\n    type filter hook {name} priority {pa}; policy {pola};\n"
    ));
    for _ in 0..rng.usize(1..5) {
        a.push_str(&rule(rng, &["accept", "drop", "jump sub", ""], true));
    }
    a.push_str("    counter\n  }\n}\n");
    let (pb, polb) = (prio(rng), policy(rng));
    let mut b = format!(
        "table ip rt_b {{\n  chain base {{\n    type filter hook {name} priority {pb}; policy {polb};\n"
    );
    for _ in 0..rng.usize(1..4) {
        b.push_str(&rule(rng, &["accept", "drop", ""], false));
    }
    b.push_str("    counter\n  }\n}\n");
    format!(
        "table inet rt_a {{}}\ndelete table inet rt_a\ntable ip rt_b {{}}\ndelete table ip rt_b\n{a}{b}"
    )
}

/// Packet counters per (table, chain, rule index from 1).
type NftCounters = BTreeMap<(String, String, usize), u64>;

/// Per (table, chain), the nft rule (from 1) of each IR rule: a rule with
/// an anonymous set of protocols is read as one IR rule per element. Each
/// nft rule is read alone to count its IR rules.
fn nft_positions(json: &str) -> BTreeMap<(String, String), Vec<usize>> {
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let objects = doc["nftables"].as_array().unwrap();
    let (rules, rest): (Vec<_>, Vec<_>) = objects.iter().partition(|o| o.get("rule").is_some());
    let mut out: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for r in rules {
        let (table, chain) = (r["rule"]["table"].as_str().unwrap(), r["rule"]["chain"].as_str());
        let mut alone = rest.clone();
        alone.push(r);
        let one = rampart_ir::read::nft::parse(
            &serde_json::json!({ "nftables": alone }).to_string(),
            FileId(0),
        );
        let mut chains = one.bases.iter().filter(|b| b.table == table);
        let Some(c) =
            chains.find_map(|b| b.ruleset.chains.iter().find(|c| Some(&*c.name) == chain))
        else {
            continue;
        };
        let at = out.entry((table.to_owned(), c.name.clone())).or_default();
        let n = at.last().copied().unwrap_or(0) + 1;
        at.extend(std::iter::repeat_n(n, c.rules.len()));
    }
    out
}

/// Random nftables rulesets loaded with `nft -f`, read back with
/// `nft -j list ruleset`, probed with real packets: the counters the
/// kernel keeps equal the paths `trace_through` predicts, base chain by
/// base chain in priority order.
#[test]
fn random_nft_rulesets_agree_with_the_kernel() {
    require_tools(&[Tool::NFT]).unwrap_or_else(|e| panic!("{e}"));
    let lab = routed();
    // The inet table sees IPv6 too: no neighbour discovery to count.
    lab.fw.sysctl("net.ipv6.conf.all.disable_ipv6", "1").unwrap();
    let cases: u16 =
        std::env::var("RAMPART_NFT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut rng = fastrand::Rng::with_seed(0x0f7a_5eed_0000_00af);
    let mut failures = Vec::new();
    let mut packets = 0;
    for case in 0..cases {
        let hook = *rng.choice(&[Hook::Input, Hook::Forward, Hook::Output]).unwrap();
        let text = random_nft(&mut rng, hook);
        let mut probes: Vec<Probe<'_>> =
            (0..3).map(|_| random_probe(&mut rng, &lab, hook)).collect();
        distinct_flows(&mut probes);
        for p in &mut probes {
            routed_local().classify(&mut p.packet);
        }
        let zone = 600 + case;
        lab.fw.run_with_input(&["iptables-restore", "-w"], &zoned(zone, "")).unwrap();
        if let Err(e) = lab.fw.run_with_input(&["nft", "-f", "-"], &text) {
            failures.push(format!("case {case}: nft refused the ruleset: {e}\n{text}"));
            continue;
        }
        for p in &probes {
            send(p);
        }
        packets += probes.len();
        let read = |fw: &Netns| {
            let json = nft_json(fw);
            let rs = rampart_ir::read::nft::parse(&json, FileId(0));
            assert!(!rs.has_errors(), "{:?}", rs.diagnostics);
            rs
        };
        let ours = |b: &&rampart_ir::read::nft::Base| b.table.starts_with("rt_");
        let mut want = NftCounters::new();
        let json = nft_json(&lab.fw);
        let at = nft_positions(&json);
        let rs = read(&lab.fw);
        let bases: Vec<_> = rs.at(hook).filter(ours).collect();
        let rulesets: Vec<&Ruleset> = bases.iter().map(|b| &b.ruleset).collect();
        for p in &probes {
            for (b, t) in bases.iter().zip(rampart_trace::trace_through(&rulesets, &p.packet)) {
                assert!(t.forks.is_empty(), "undecided: {:?}\n{text}", t.forks);
                for s in &t.path {
                    let chain = &b.ruleset.chains[s.at.chain].name;
                    let n = at[&(b.table.clone(), chain.clone())][s.at.rule];
                    *want.entry((b.table.clone(), chain.clone(), n)).or_insert(0) += 1;
                }
            }
        }
        let kernel = |rs: &rampart_ir::read::nft::NftRuleset| {
            let mut got = NftCounters::new();
            for b in rs.at(hook).filter(ours) {
                for c in &b.ruleset.chains {
                    let at = &at[&(b.table.clone(), c.name.clone())];
                    for (i, r) in c.rules.iter().enumerate() {
                        let n = r.counters.as_ref().map_or(0, |c| c.packets);
                        if n > 0 {
                            got.insert((b.table.clone(), c.name.clone(), at[i]), n);
                        }
                    }
                }
            }
            got
        };
        let mut got = kernel(&rs);
        for _ in 0..200 {
            if got == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            got = kernel(&read(&lab.fw));
        }
        if got != want {
            let ps: Vec<String> = probes.iter().map(|p| format!("{:?}", p.packet)).collect();
            failures.push(format!(
                "case {case}: kernel and trace disagree\n{text}\npackets:\n{}\nkernel: {got:?}\ntrace:  {want:?}\nbases: {:?}",
                ps.join("\n"),
                bases.iter().map(|b| (&b.table, b.priority)).collect::<Vec<_>>()
            ));
        }
    }
    #[allow(clippy::print_stderr)] // the figures the notes report
    {
        eprintln!(
            "nft kernel proof: {cases} random cases, {packets} packets, {} disagreements",
            failures.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases disagree:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---- rulesets in the shapes other tools write ----

/// Filter tables shaped as ufw, Docker, Shorewall, ferm, firewalld and
/// fail2ban write them (interfaces renamed to the lab's: `c0` outside, `s0`
/// inside).
const CORPUS: [(&str, &str); 6] = [
    ("ufw", include_str!("fixtures/corpus/ufw.rules")),
    ("docker", include_str!("fixtures/corpus/docker.rules")),
    ("shorewall", include_str!("fixtures/corpus/shorewall.rules")),
    ("ferm", include_str!("fixtures/corpus/ferm.rules")),
    ("firewalld", include_str!("fixtures/corpus/firewalld.rules")),
    ("fail2ban", include_str!("fixtures/corpus/fail2ban.rules")),
];

/// The client's link address, which the corpus's `-m mac` rule names.
const CLIENT_MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0x01, 0x02];
/// The ipset the corpus's `-m set` rules name, and its one member.
const BANNED: (&str, &str) = ("f2b-sshd", "10.77.1.7");

/// What the trace is told of a probe, as the kernel will see it: a new
/// connection's mark is 0; the client's link address; the probe's length
/// (the probe tool's fixed sizes); no TCP options; the ipsets' members as
/// `ipset save` lists them;
/// every `-m recent` list empty (checked after the run: no list gets
/// enough `--set` hits to hold an address); under every rate (checked too).
fn give(
    p: &mut Probe<'_>,
    lab: &Routed,
    rs: &Ruleset,
    members: &BTreeMap<String, rampart_ir::AddrSet>,
) {
    let packet = &mut p.packet;
    packet.given.connmark = Some(0);
    if p.from.name() == lab.client.name() {
        packet.given.mac_source = Some(CLIENT_MAC);
    }
    packet.given.length = Some(match (packet.proto, p.args[0].as_str()) {
        (Some(6), _) => 40,
        (Some(17), "raw") => 32,
        (Some(17), _) => 35,
        _ => 36,
    });
    if packet.proto == Some(6) {
        packet.given.mss = Some(None);
    }
    packet.sets_from(rs, members);
    for (name, _) in recent_checks(rs) {
        packet.given.recent.insert(name, false);
    }
}

/// Each `-m recent` check's list and the hits it needs (`--hitcount`, 1
/// without).
fn recent_checks(rs: &Ruleset) -> Vec<(String, usize)> {
    modules(rs)
        .filter_map(|(_, m)| match &m.test {
            ModuleTest::Recent { name, check: true, .. } => {
                Some((name.clone(), arg(&m.args, "--hitcount").unwrap_or(1)))
            }
            _ => None,
        })
        .collect()
}

/// The modules of a ruleset with the rule each is in.
fn modules(rs: &Ruleset) -> impl Iterator<Item = ((usize, usize), &ModuleMatch)> {
    rs.chains.iter().enumerate().flat_map(|(c, chain)| {
        chain.rules.iter().enumerate().flat_map(move |(r, rule)| {
            rule.matches.iter().filter_map(move |m| match m {
                Match::Module(m) => Some(((c, r), &**m)),
                _ => None,
            })
        })
    })
}

fn arg(args: &[String], opt: &str) -> Option<usize> {
    let i = args.iter().position(|a| a == opt)?;
    args.get(i + 1)?.parse().ok()
}

/// Each rate rule's burst (`--limit-burst`, `--hashlimit-burst`; 5 by
/// default), by rule.
fn bursts(rs: &Ruleset) -> Vec<((usize, usize), usize)> {
    modules(rs)
        .filter(|(_, m)| m.test == ModuleTest::Rate { above: false })
        .map(|(at, m)| {
            let burst = arg(&m.args, "--limit-burst").or(arg(&m.args, "--hashlimit-burst"));
            (at, burst.unwrap_or(5))
        })
        .collect()
}

/// The probes the kernel will take as coming under every rate, as `give`
/// told the trace: a rate rule's bucket starts full with its burst, and
/// (its rate match being the rule's last) spends a token each time the
/// rule matches; a probe that would find a bucket empty is held back.
fn under_the_rates<'a>(
    rs: &Ruleset,
    probes: Vec<(Probe<'a>, rampart_trace::Trace)>,
) -> Vec<(Probe<'a>, rampart_trace::Trace)> {
    let mut left: BTreeMap<(usize, usize), usize> = bursts(rs).into_iter().collect();
    probes
        .into_iter()
        .filter(|(_, t)| {
            let spent: Vec<(usize, usize)> = t
                .path
                .iter()
                .map(|s| (s.at.chain, s.at.rule))
                .filter(|at| left.contains_key(at))
                .collect();
            let fits = spent.iter().all(|at| spent.iter().filter(|a| *a == at).count() <= left[at]);
            if fits {
                for at in &spent {
                    *left.get_mut(at).unwrap() -= 1;
                }
            }
            fits
        })
        .collect()
}

/// What `give` assumed of `-m recent`, held to the probes sent: no source
/// gets as many `--set` hits on a list as a check of it needs.
fn lists_stay_short(
    rs: &Ruleset,
    sent: &[(Probe<'_>, rampart_trace::Trace)],
) -> Result<(), String> {
    for (name, needs) in recent_checks(rs) {
        let sets: Vec<(usize, usize)> = modules(rs)
            .filter(|(_, m)| {
                matches!(&m.test, ModuleTest::Recent { name: n, check: false, .. } if *n == name)
            })
            .map(|(at, _)| at)
            .collect();
        let mut per_src: BTreeMap<Option<std::net::IpAddr>, usize> = BTreeMap::new();
        for (p, t) in sent {
            let n = t.path.iter().filter(|s| sets.contains(&(s.at.chain, s.at.rule))).count();
            *per_src.entry(p.packet.src).or_default() += n;
        }
        if let Some((src, n)) = per_src.iter().find(|(_, n)| **n >= needs) {
            return Err(format!(
                "recent list {name}: {src:?} set {n} times, a check needs {needs}"
            ));
        }
    }
    Ok(())
}

/// Each LOG prefix replaced by the case's tag and a number, so that the
/// kernel's lines can be told from other tests' (and stay within 29 bytes).
fn tagged_prefixes(rules: &str, tag: &str) -> String {
    let mut out = String::new();
    let mut n = 0;
    for line in rules.lines() {
        match line.split_once("--log-prefix \"") {
            Some((head, rest)) => {
                let tail = rest.split_once('"').map_or("", |(_, t)| t);
                n += 1;
                out.push_str(&format!("{head}--log-prefix \"{tag}p{n} \"{tail}\n"));
            }
            None => out.push_str(&format!("{line}\n")),
        }
    }
    out.trim_end().to_owned()
}

/// Random packets through each shape: the share of verdicts the trace
/// decides is printed and must be 95% or more, and every packet it traces
/// without an undecided match meets the same rules in the kernel.
#[test]
fn real_shaped_rulesets_are_decided_and_agree_with_the_kernel() {
    require_tools(&[Tool::IPSET]).unwrap_or_else(|e| panic!("{e}"));
    let _logging = NetnsLogging::enable().unwrap();
    let lab = routed();
    let mac: Vec<String> = CLIENT_MAC.iter().map(|b| format!("{b:02x}")).collect();
    lab.client.run(["ip", "link", "set", "eth0", "address", &mac.join(":")]).unwrap();
    lab.fw.run(["ipset", "create", BANNED.0, "hash:ip"]).unwrap();
    lab.fw.run(["ipset", "add", BANNED.0, BANNED.1]).unwrap();
    let members = rampart_ir::ipset_members(&lab.fw.stdout(["ipset", "save"]).unwrap());
    assert!(members[BANNED.0].contains(BANNED.1.parse().unwrap()), "{members:?}");
    let mut rng = fastrand::Rng::with_seed(0xc0_4b05_5eed);
    let (mut total, mut decided, mut sent) = (0, 0, 0);
    let mut failures = Vec::new();
    for (i, (name, rules)) in CORPUS.iter().enumerate() {
        let t = tag(10 + u32::try_from(i).unwrap());
        let rules = tagged_prefixes(rules, &t);
        let im = parse(&format!("*filter\n{rules}\nCOMMIT\n"), FileId(0), Format::Save);
        assert!(!im.has_errors(), "{name}: {:?}", im.diagnostics);
        let rs = im.filter().unwrap().ruleset.clone().into_ruleset();
        let mut probes: Vec<Probe<'_>> = (0..40)
            .map(|_| {
                let hook = *rng.choice(&[Hook::Input, Hook::Forward, Hook::Output]).unwrap();
                random_probe(&mut rng, &lab, hook)
            })
            .collect();
        distinct_flows(&mut probes);
        for p in &mut probes {
            routed_local().classify(&mut p.packet);
            give(p, &lab, &rs, &members);
        }
        let traces: Vec<_> = probes.iter().map(|p| trace(&rs, &p.packet)).collect();
        let known = traces.iter().filter(|t| t.verdict != Verdict::Unknown).count();
        total += probes.len();
        decided += known;
        let clean: Vec<_> =
            probes.into_iter().zip(traces).filter(|(_, t)| t.forks.is_empty()).collect();
        let clean = under_the_rates(&rs, clean);
        if let Err(e) = lists_stay_short(&rs, &clean) {
            failures.push(format!("{name}: the probes break what the trace was told: {e}"));
            continue;
        }
        let clean: Vec<Probe<'_>> = clean.into_iter().map(|(p, _)| p).collect();
        sent += clean.len();
        if let Err(e) = run_case(&lab.fw, 700 + u16::try_from(i).unwrap(), "", &rules, &clean, &t) {
            failures.push(format!("{name}: {e}"));
        }
    }
    #[allow(clippy::print_stderr)] // the figure the notes report
    {
        eprintln!(
            "real-shaped rulesets: {decided} of {total} packets decided, {sent} held to the kernel"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(decided * 100 >= total * 95, "only {decided} of {total} packets decided");
}

/// A random nat table (the body of `*nat`): destination NAT and redirects
/// at PREROUTING, source NAT and masquerade at POSTROUTING, user chains
/// with RETURN, no-nat accepts; targets only where the routed lab can take
/// the packet (its own networks and addresses).
fn random_nat(rng: &mut fastrand::Rng) -> String {
    let mut out = String::from(
        ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n:n1 - [0:0]\n:n2 - [0:0]\n",
    );
    for (chain, pre) in [("PREROUTING", true), ("n1", true), ("POSTROUTING", false), ("n2", false)]
    {
        for _ in 0..rng.usize(1..5) {
            let mut m: Vec<String> = Vec::new();
            let mut proto = None;
            let mut kinds = Vec::new();
            for _ in 0..rng.usize(0..3) {
                let k = rng.u8(..5);
                // One match of a kind per rule, as iptables takes them.
                if kinds.contains(&k) {
                    continue;
                }
                kinds.push(k);
                match k {
                    0 => m.push(format!("-s {}", NETS[rng.usize(..NETS.len())])),
                    1 => m.push(format!("-d {}", NETS[rng.usize(..NETS.len())])),
                    2 if proto.is_none() => {
                        let p = *rng.choice(&["tcp", "udp"]).unwrap();
                        proto = Some(p);
                        m.push(format!(
                            "-p {p} -m {p} --dport {}",
                            PORTS[rng.usize(..PORTS.len())]
                        ));
                    }
                    3 if pre => m.push((*rng.choice(&["-i c0", "! -i c0"]).unwrap()).to_owned()),
                    3 => m.push((*rng.choice(&["-o s0", "-o c0", "! -o s0"]).unwrap()).to_owned()),
                    _ => {}
                }
            }
            let port = |rng: &mut fastrand::Rng| match proto {
                Some(_) => format!(":{}", rng.choice(&[8080u16, 2222]).unwrap()),
                None => String::new(),
            };
            let target = match (pre, rng.u8(..6)) {
                (true, 0 | 1) => {
                    let to = rng.choice(&["10.77.2.3", "10.77.2.2", "10.77.1.2"]).unwrap();
                    format!("DNAT --to-destination {to}{}", port(rng))
                }
                (true, 2) if proto.is_some() => "REDIRECT --to-ports 8080".to_owned(),
                // Without a port: the probes' own source ports keep
                // their connections apart, so the kernel never has to
                // pick another port for a clash.
                (false, 0 | 1) => {
                    let to = rng.choice(&["10.77.2.1", "10.77.1.1"]).unwrap();
                    format!("SNAT --to-source {to}")
                }
                (false, 2) => "MASQUERADE".to_owned(),
                (_, 3) if chain == "PREROUTING" => "n1".to_owned(),
                (_, 3) if chain == "POSTROUTING" => "n2".to_owned(),
                (_, 4) if chain.starts_with('n') => "RETURN".to_owned(),
                _ => "ACCEPT".to_owned(),
            };
            m.push(format!("-j {target}"));
            out.push_str(&format!("-A {chain} {}\n", m.join(" ")));
        }
    }
    out.trim_end().to_owned()
}

/// A first packet of a connection from the client, seen at PREROUTING: a
/// SYN, a UDP datagram or an echo request (what opens a connection, so the
/// nat table sees it), to the server or the firewall; with `aim`, of that
/// protocol to that port.
fn nat_probe<'a>(
    rng: &mut fastrand::Rng,
    lab: &'a Routed,
    aim: Option<(&'static str, u16)>,
) -> Probe<'a> {
    let proto = *rng.choice(&["tcp", "tcp", "udp", "udp", "icmp"]).unwrap();
    let proto = aim.map_or(proto, |(p, _)| p);
    let (a, b, flags) = match proto {
        "icmp" => (8, 0, 0),
        p => (
            *rng.choice(&[1000u16, 4000, 53, 22, 443]).unwrap(),
            aim.map_or_else(|| PORTS[rng.usize(..PORTS.len())], |(_, port)| port),
            if p == "tcp" { tcp::SYN } else { 0 },
        ),
    };
    let dst = *rng.choice(&["10.77.2.2", "10.77.2.3", "10.77.1.1", "10.77.2.1"]).unwrap();
    let src = SRCS[rng.usize(..SRCS.len())];
    raw(&lab.client, Hook::Prerouting, (Some("c0"), None), src, dst, proto, a, b, flags)
}

/// The protocol and port of a rule that translates ports (a DNAT to a
/// port, a REDIRECT), if the nat table has one: one probe per case aims
/// at it, or random packets would seldom meet one.
fn port_rule(nat: &str) -> Option<(&'static str, u16)> {
    nat.lines().find_map(|l| {
        let to = l.split("--to-destination ").nth(1);
        if !l.contains("-j REDIRECT") && !to.is_some_and(|t| t.contains(':')) {
            return None;
        }
        let proto = ["tcp", "udp"].into_iter().find(|p| l.contains(&format!("-p {p} ")))?;
        let port = l.split("--dport ").nth(1)?.split_whitespace().next()?.parse().ok()?;
        Some((proto, port))
    })
}

/// Counts a walk's matched rules (and its policy, under index 0) into
/// `counters`, as the kernel's counters of that table count them.
fn count_walk(rs: &Ruleset, t: &rampart_trace::Trace, builtin: &str, counters: &mut Counters) {
    assert!(t.forks.is_empty(), "undecided nat walk: {:?}", t.forks);
    for s in &t.path {
        *counters.entry((rs.chains[s.at.chain].name.clone(), s.at.rule + 1)).or_insert(0) += 1;
    }
    if t.main.policy() {
        *counters.entry((builtin.to_owned(), 0)).or_insert(0) += 1;
    }
}

/// The nat table's counters and the translated connections: trace's
/// routed walk (PREROUTING, the route, the filter hook, POSTROUTING) for
/// every probe against the kernel's counters and conntrack's reply tuples.
/// With `nft`, the nat table is loaded as Rampart's nft output of it and
/// traced as read back with `nft -j list ruleset` (a chain's policy has
/// no counter there). The number of translations, and of those that
/// changed a port.
fn run_nat_case(
    fw: &Netns,
    zone: u16,
    nat: &str,
    probes: &[Probe<'_>],
    nft: bool,
) -> Result<(usize, usize), String> {
    let zones = format!(
        "{}*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
        zoned(zone, "")
    );
    let text = format!("{zones}*nat\n{nat}\nCOMMIT\n");
    let im = parse(&text, FileId(0), Format::Save);
    assert!(!im.has_errors(), "{:?}\n{text}", im.diagnostics);
    let (rs, text) = if nft {
        let table = im.tables.iter().find(|t| t.table == rampart_ir::Table::Nat).unwrap();
        let text = rampart_nft::emit(&table.ruleset.clone().into_ruleset());
        fw.run_with_input(&["iptables-restore", "-w"], &zones).unwrap();
        fw.run_with_input(&["nft", "-f", "-"], &text).map_err(|e| format!("{e}\n{text}"))?;
        let mut read = rampart_ir::read::nft::parse(&nft_json(fw), FileId(0));
        assert!(!read.has_errors(), "{:?}", read.diagnostics);
        read.bases.retain(|b| b.table == "rampart");
        (read.joined(false), text)
    } else {
        let text = rampart_ir::read::write_restore(&im.tables);
        fw.run_with_input(&["iptables-restore", "-w"], &text)
            .map_err(|e| format!("{e}\n{text}"))?;
        (im.joined().unwrap().into_ruleset(), text)
    };
    assert!(check(&rs).is_empty(), "{:?}", check(&rs));
    for p in probes {
        send(p);
    }
    let mut ifaces = rampart_trace::Interfaces::unknown();
    ifaces.add("c0", vec!["10.77.1.1/24".parse().unwrap()], false);
    ifaces.add("s0", vec!["10.77.2.1/24".parse().unwrap()], false);
    let (mut want, mut replies, mut translated, mut ports) = (Counters::new(), Vec::new(), 0, 0);
    for p in probes {
        let r = rampart_trace::routed(&rs, &p.packet, &ifaces, &routed_local(), &|c, q| {
            rampart_trace::trace_chain(&rs, c, q)
        });
        assert_eq!(r.verdict, Verdict::Accept, "{:?}: {:?}", p.packet, r.route);
        for s in &r.passages {
            if let rampart_trace::Walk::Nat(n) = &s.walk {
                count_walk(&rs, &n.trace, &rs[s.chain].name, &mut want);
            }
        }
        translated += r.translations().count();
        ports += r
            .translations()
            .filter(|(b, t)| (b.sport, b.dport) != (t.after.sport, t.after.dport))
            .count();
        let last = r.result().unwrap();
        if matches!(p.packet.proto, Some(6 | 17)) {
            let end = |a: Option<std::net::IpAddr>, b: Option<std::net::IpAddr>, s, d| {
                format!("src={} dst={} sport={} dport={}", a.unwrap(), b.unwrap(), s, d)
            };
            let (o, l) = (&p.packet, last);
            let sent = end(o.src, o.dst, o.sport.unwrap(), o.dport.unwrap());
            let back = end(l.dst, l.src, l.dport.unwrap(), l.sport.unwrap());
            replies.push((sent, back));
        }
    }
    if nft {
        want.retain(|(_, i), _| *i > 0);
    }
    let nat_counters = |fw: &Netns| {
        if nft {
            let all = rampart_ir::read::nft::counters(&nft_json(fw)).unwrap();
            let ours = all.into_iter().filter(|c| c.table == "rampart" && c.packets > 0);
            return ours.map(|c| ((c.chain, c.index), c.packets)).collect();
        }
        let t = fw.stdout(["iptables-save", "-c", "-t", "nat"]).unwrap();
        counters_of(&t)
    };
    let mut got = nat_counters(fw);
    for _ in 0..200 {
        if got == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        got = nat_counters(fw);
    }
    let table = fw.stdout(["conntrack", "-L", "-w", &zone.to_string()]).unwrap_or_default();
    let missing: Vec<&(String, String)> = replies
        .iter()
        .filter(|(sent, back)| {
            !table.lines().any(|l| l.contains(&format!("{sent} ")) && l.contains(back.as_str()))
        })
        .collect();
    if got != want || !missing.is_empty() {
        let packets: Vec<String> = probes.iter().map(|p| format!("{:?}", p.packet)).collect();
        return Err(format!(
            "kernel and trace disagree\nruleset:\n{text}\npackets:\n{}\nkernel counters: {got:?}\ntrace counters:  {want:?}\ntranslations trace made that conntrack lacks: {missing:?}\nconntrack:\n{table}",
            packets.join("\n")
        ));
    }
    Ok((translated, ports))
}

fn nft_json(fw: &Netns) -> String {
    fw.stdout(["nft", "-j", "list", "ruleset"]).unwrap()
}

/// Random nat tables and first packets: the nat table's counters and the
/// translations conntrack records equal trace's walk across the hooks.
#[test]
fn random_nat_tables_agree_with_the_kernel() {
    random_nat_tables(false);
}

/// The same on nft: each random nat table as Rampart's nft output, read
/// back from the kernel and traced through its nat chains.
#[test]
fn random_nft_nat_tables_agree_with_the_kernel() {
    require_tools(&[Tool::NFT]).unwrap_or_else(|e| panic!("{e}"));
    random_nat_tables(true);
}

fn random_nat_tables(nft: bool) {
    require_tools(&[Tool { name: "conntrack", package: "conntrack" }]).unwrap();
    let lab = routed();
    let cases: u16 = 40;
    let mut rng = fastrand::Rng::with_seed(0x0a7_5eed);
    let (mut failures, mut packets, mut translated, mut ports) = (Vec::new(), 0, 0, 0);
    for case in 0..cases {
        let nat = random_nat(&mut rng);
        let aim = port_rule(&nat);
        let mut probes: Vec<Probe<'_>> =
            (0..3).map(|k| nat_probe(&mut rng, &lab, aim.filter(|_| k == 0))).collect();
        // A source port each: two connections that a translation makes
        // alike would clash, and the kernel would pick another port.
        for (k, p) in probes.iter_mut().enumerate().filter(|(_, p)| p.packet.sport.is_some()) {
            let sport = 30_000 + u16::try_from(k).unwrap_or(0);
            p.packet.sport = Some(sport);
            p.args[4] = sport.to_string();
        }
        for p in &mut probes {
            routed_local().classify(&mut p.packet);
        }
        packets += probes.len();
        match run_nat_case(&lab.fw, 2000 + case, &nat, &probes, nft) {
            Ok((n, p)) => (translated, ports) = (translated + n, ports + p),
            Err(e) => failures.push(format!("case {case}: {e}")),
        }
    }
    #[allow(clippy::print_stderr)] // the figures the notes report
    {
        eprintln!(
            "kernel nat proof ({}): {cases} random nat tables, {packets} first packets, {translated} translations ({ports} of ports), {} disagreements",
            if nft { "nft" } else { "iptables" },
            failures.len()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- several nft tables across every hook ----

/// A random nft ruleset of two or three tables, each with filter chains at
/// some of prerouting, input, forward and postrouting and nat chains at
/// prerouting and postrouting, at random priorities (none at conntrack's
/// -200 or the NAT hook's -100 and 100, whose order among equals the
/// listing does not show). Chain names are unique across the tables; every
/// rule counts, and a last `counter` counts what reaches the policy.
fn random_nft_hooks(rng: &mut fastrand::Rng) -> String {
    let nets: Vec<&str> = NETS.iter().copied().filter(|n| !n.contains("/255")).collect();
    let mut out = String::new();
    let tables = [("inet", "rt_a", "a"), ("ip", "rt_b", "b"), ("ip", "rt_c", "c")];
    // The tables of the case before go, whichever it had.
    for (family, table, _) in tables {
        out.push_str(&format!("table {family} {table} {{}}\ndelete table {family} {table}\n"));
    }
    let count = rng.usize(2..=3);
    for &(family, table, short) in &tables[..count] {
        out.push_str(&format!("table {family} {table} {{\n"));
        let ip = if family == "inet" { " ip" } else { "" };
        for (kind, hook, prios) in [
            ("filter", "prerouting", &[-150i32, -120, -50, 0, 50][..]),
            ("filter", "input", &[-50, 0, 10, 150][..]),
            ("filter", "forward", &[-50, 0, 10, 150][..]),
            ("filter", "postrouting", &[-50, 0, 50, 150][..]),
            ("nat", "prerouting", &[-150, -100, -50, 50][..]),
            ("nat", "postrouting", &[50, 100, 150][..]),
        ] {
            if rng.bool() {
                continue;
            }
            let prio = *rng.choice(prios).unwrap();
            let policy = if kind == "filter" && rng.u8(..5) == 0 { "drop" } else { "accept" };
            let name = format!("{short}_{}_{}", &kind[..1], &hook[..3]);
            out.push_str(&format!(
                "  chain {name} {{\n    type {kind} hook {hook} priority {prio}; policy {policy};\n"
            ));
            for _ in 0..rng.usize(1..4) {
                let mut m = Vec::new();
                let mut proto = None;
                for _ in 0..rng.usize(0..3) {
                    let k = rng.u8(..7);
                    let net = nets[rng.usize(..nets.len())];
                    m.push(match k {
                        0 => format!("ip saddr {net}"),
                        1 => format!("ip daddr {net}"),
                        2 | 3 if proto.is_none() => {
                            let p = *rng.choice(&["tcp", "udp"]).unwrap();
                            proto = Some(p);
                            let port = *rng.choice(&[22u16, 53, 80, 443, 8080]).unwrap();
                            format!("{p} dport {port}")
                        }
                        4 if kind == "filter" => (*rng
                            .choice(&["ct state new", "ct state invalid", "ct state established"])
                            .unwrap())
                        .to_owned(),
                        5 if hook == "prerouting" || hook == "input" => {
                            (*rng.choice(&["iifname \"c0\"", "iifname != \"c0\""]).unwrap())
                                .to_owned()
                        }
                        5 => {
                            (*rng.choice(&["oifname \"s0\"", "oifname \"c0\""]).unwrap()).to_owned()
                        }
                        6 if kind == "filter" && proto.is_none() => {
                            proto = Some("icmp");
                            "meta l4proto icmp".to_owned()
                        }
                        6 if kind == "filter" => "fib daddr type local".to_owned(),
                        _ => continue,
                    });
                }
                let port = match proto {
                    Some("tcp" | "udp") if rng.bool() => ":8080",
                    _ => "",
                };
                let action = match (kind, hook, rng.u8(..6)) {
                    ("filter", _, 0 | 1) => "drop".to_owned(),
                    (_, _, 2 | 3) => "accept".to_owned(),
                    ("nat", "prerouting", 0 | 1) => {
                        let to = rng.choice(&["10.77.2.3", "10.77.2.2", "10.77.1.2"]).unwrap();
                        format!("dnat{ip} to {to}{port}")
                    }
                    ("nat", _, 0) => {
                        let to = rng.choice(&["10.77.2.1", "10.77.1.1"]).unwrap();
                        format!("snat{ip} to {to}")
                    }
                    ("nat", _, 1) => "masquerade".to_owned(),
                    _ => String::new(),
                };
                out.push_str(&format!("    {} counter {action}\n", m.join(" ")));
            }
            out.push_str("    counter\n  }\n");
        }
        out.push_str("}\n");
    }
    out
}

/// Random rulesets of several nft tables with base chains on the same
/// hooks, loaded with `nft -f`, probed with real packets from the client
/// (forwarded and to the firewall, first packets and others): the counters
/// the kernel keeps equal those of `routed`'s walk across every hook, every
/// table's chains at each hook in the kernel's order, translations included.
#[test]
fn random_nft_tables_across_every_hook_agree_with_the_kernel() {
    require_tools(&[Tool::NFT]).unwrap_or_else(|e| panic!("{e}"));
    let lab = routed();
    lab.fw.sysctl("net.ipv6.conf.all.disable_ipv6", "1").unwrap();
    let cases: u16 =
        std::env::var("RAMPART_NFT_HOOK_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut rng = fastrand::Rng::with_seed(0x0a11_4007_5eed);
    let mut ifaces = rampart_trace::Interfaces::unknown();
    ifaces.add("c0", vec!["10.77.1.1/24".parse().unwrap()], false);
    ifaces.add("s0", vec!["10.77.2.1/24".parse().unwrap()], false);
    let (mut failures, mut packets, mut translated, mut passages) = (Vec::new(), 0, 0, 0);
    for case in 0..cases {
        let text = random_nft_hooks(&mut rng);
        let mut probes: Vec<Probe<'_>> = (0..3).map(|_| nat_probe(&mut rng, &lab, None)).collect();
        let hook = *rng.choice(&[Hook::Input, Hook::Forward]).unwrap();
        let mut other = random_probe(&mut rng, &lab, hook);
        other.packet.hook = Hook::Prerouting;
        other.packet.out_iface = None;
        probes.push(other);
        // A source port each: connections a translation makes alike would
        // clash, and the kernel would pick another port.
        for (k, p) in probes.iter_mut().enumerate().filter(|(_, p)| p.packet.sport.is_some()) {
            let sport = 30_000 + u16::try_from(k).unwrap_or(0);
            p.packet.sport = Some(sport);
            p.args[4] = sport.to_string();
        }
        let zone = 3000 + case;
        lab.fw.run_with_input(&["iptables-restore", "-w"], &zoned(zone, "")).unwrap();
        if let Err(e) = lab.fw.run_with_input(&["nft", "-f", "-"], &text) {
            failures.push(format!("case {case}: nft refused the ruleset: {e}\n{text}"));
            continue;
        }
        for p in &probes {
            send(p);
        }
        packets += probes.len();
        let read = |fw: &Netns| {
            let mut rs = rampart_ir::read::nft::parse(&nft_json(fw), FileId(0));
            assert!(!rs.has_errors(), "{:?}", rs.diagnostics);
            rs.bases.retain(|b| b.table.starts_with("rt_"));
            rs.joined(false)
        };
        let rs = read(&lab.fw);
        assert!(check(&rs).is_empty(), "{:?}", check(&rs));
        let mut want = Counters::new();
        let mut undecided = Vec::new();
        for p in &probes {
            let r = rampart_trace::routed(&rs, &p.packet, &ifaces, &routed_local(), &|c, q| {
                rampart_trace::trace_chain(&rs, c, q)
            });
            translated += r.translations().count();
            passages += r.passages.len();
            for s in &r.passages {
                let t = s.walk.trace();
                if !t.forks.is_empty() {
                    undecided.push(format!("{:?}: {:?}", s.packet, t.forks));
                }
                for step in &t.path {
                    let chain = rs.chains[step.at.chain].name.clone();
                    *want.entry((chain, step.at.rule + 1)).or_insert(0) += 1;
                }
            }
        }
        let kernel = |rs: &Ruleset| {
            let mut got = Counters::new();
            for c in &rs.chains {
                for (i, r) in c.rules.iter().enumerate() {
                    let n = r.counters.as_ref().map_or(0, |c| c.packets);
                    if n > 0 {
                        got.insert((c.name.clone(), i + 1), n);
                    }
                }
            }
            got
        };
        let mut got = kernel(&rs);
        for _ in 0..200 {
            if got == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            got = kernel(&read(&lab.fw));
        }
        if got != want || !undecided.is_empty() {
            let ps: Vec<String> = probes.iter().map(|p| format!("{:?}", p.packet)).collect();
            failures.push(format!(
                "case {case}: kernel and trace disagree\n{text}\npackets:\n{}\nkernel: {got:?}\ntrace:  {want:?}\nundecided: {undecided:?}",
                ps.join("\n")
            ));
        }
    }
    lab.fw.run(["nft", "flush", "ruleset"]).unwrap();
    #[allow(clippy::print_stderr)] // the figures the notes report
    {
        eprintln!(
            "nft kernel proof across the hooks: {cases} random cases, {packets} packets, {passages} base chains passed, {translated} translations, {} disagreements",
            failures.len()
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases disagree:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
