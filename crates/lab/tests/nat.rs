//! NAT in a real kernel, with both backends: a LAN host reaches an
//! "Internet" server only through masquerade (the server has no route back
//! to the LAN, and sees the gateway's address), and an Internet host
//! reaches a DMZ web server through a port forward (port 80 on the
//! gateway to port 8080 on the server). conntrack shows the translations,
//! and they are the ones `trace` computes from the same rules.
//!
//! Topology (namespaces this test creates): `pc` 10.1.0.50 on `lan0`,
//! `web` 10.2.0.10 on `dmz0`, `inet` 100.64.0.2 on `eth0` of the gateway
//! (100.64.0.1). Each server answers with the address it saw: the peer's
//! (inet) or its own (web).

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, require_tools, veth, wait_until};

const POLICY: &str = "network lan 10.1.0.0/24\nhost web 10.2.0.10\n\
service http tcp 80\nservice alt tcp 8080\n\
firewall gw {\n  interface eth0 100.64.0.1/24\n  interface lan0 10.1.0.1/24\n  \
interface dmz0 10.2.0.1/24\n  forward on\n  default reject\n  ruleset main {\n    \
accept from lan service http\n    accept to web service alt\n  }\n  nat {\n    \
masquerade on eth0 from lan\n    dnat to web:8080 on eth0 service http\n  }\n}\n";

/// What `socat` read back from `addr:port` within 3 s, trimmed.
fn answer(ns: &Netns, addr: &str, port: u16) -> String {
    let out = ns
        .command("socat")
        .args(["-T", "3", "-u", &format!("TCP4:{addr}:{port},connect-timeout=3"), "-"])
        .output()
        .expect("socat");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A TCP server that writes `var` (a socat address variable) and closes.
fn echo(ns: &Netns, port: u16, var: &str) -> std::process::Child {
    let spec = format!("TCP4-LISTEN:{port},fork,reuseaddr");
    ns.spawn(&["socat", &spec, &format!("SYSTEM:echo ${var}")]).unwrap()
}

#[test]
fn masquerade_and_a_port_forward_work_in_the_kernel_with_both_backends() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::NFT,
        Tool::SOCAT,
        Tool { name: "conntrack", package: "conntrack" },
    ])
    .unwrap();
    let fw = rampart_testing::firewall(POLICY);
    let c = rampart_lower::compile(&fw);
    let fw = &fw;
    let mut ifaces = rampart_trace::Interfaces::unknown();
    for i in &fw.interfaces {
        ifaces.add(&i.name, i.addrs.clone(), i.dynamic);
    }
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "nat", None);
    let nft = rampart_nft::emit(&c.rich);
    // trace's translations of the two connections, checked against the kernel's.
    let mut p = rampart_trace::Packet::new(rampart_ir::Hook::Prerouting);
    (p.in_iface, p.proto, p.src, p.dst) = (
        Some("eth0".into()),
        Some(6),
        Some("100.64.0.2".parse().unwrap()),
        Some("100.64.0.1".parse().unwrap()),
    );
    (p.sport, p.dport) = (Some(40000), Some(80));
    let rs: &rampart_ir::Ruleset = &c.v4;
    let dnat = rampart_trace::nat::translate(rs, &p, &ifaces).translation.expect("trace: a DNAT");
    let mut q = rampart_trace::Packet::new(rampart_ir::Hook::Postrouting);
    (q.out_iface, q.proto, q.src, q.dst) = (
        Some("eth0".into()),
        Some(6),
        Some("10.1.0.50".parse().unwrap()),
        Some("100.64.0.2".parse().unwrap()),
    );
    let masq =
        rampart_trace::nat::translate(rs, &q, &ifaces).translation.expect("trace: a masquerade");
    assert_eq!(masq.kind, rampart_trace::nat::NatKind::Masquerade);
    // The rich form, which nft loads, translates the same.
    let rich =
        rampart_trace::nat::translate(&c.rich, &p, &ifaces).translation.expect("rich: a DNAT");
    assert_eq!(rich.after, dnat.after);

    let (gw, pc, web, inet) = (
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
    );
    for (ns, link, addr, gw_addr) in [
        (&pc, "lan0", "10.1.0.50/24", "10.1.0.1/24"),
        (&web, "dmz0", "10.2.0.10/24", "10.2.0.1/24"),
        (&inet, "eth0", "100.64.0.2/24", "100.64.0.1/24"),
    ] {
        veth(ns, "eth0", &gw, link).unwrap();
        ns.addr("eth0", addr).unwrap();
        gw.addr(link, gw_addr).unwrap();
    }
    pc.route("default", "10.1.0.1").unwrap();
    web.route("default", "10.2.0.1").unwrap();
    // inet has no route to the LAN or the DMZ: only NAT gets answers back.
    gw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let mut servers = [echo(&inet, 80, "SOCAT_PEERADDR"), echo(&web, 8080, "SOCAT_SOCKADDR")];
    let up = wait_until(Duration::from_secs(5), || answer(&gw, "100.64.0.2", 80) == "100.64.0.1");
    assert!(up, "the Internet server does not answer the gateway");
    assert_eq!(answer(&pc, "100.64.0.2", 80), "", "without NAT the answer has no way back");

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        let open = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n\
                    *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                    :POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
        gw.run_with_input(&["iptables-restore", "-w"], open).unwrap();
        gw.run(["nft", "flush", "ruleset"]).unwrap();
        gw.run(["conntrack", "-F"]).unwrap();
        if backend == "iptables" {
            gw.run_with_input(&["iptables-restore", "-w"], &iptables).unwrap();
        } else {
            gw.run_with_input(&["nft", "-f", "-"], &nft).unwrap();
        }
        let seen = answer(&pc, "100.64.0.2", 80);
        if seen != "100.64.0.1" {
            wrong.push(format!("{backend}: the Internet server saw {seen:?}, not the gateway"));
        }
        let seen = answer(&inet, "100.64.0.1", 80);
        if seen != "10.2.0.10" {
            wrong.push(format!("{backend}: port 80 of the gateway reached {seen:?}, not web"));
        }
        let table = gw.stdout(["conntrack", "-L", "-p", "tcp"]).unwrap_or_default();
        // What the kernel applied equals what trace says: the reply tuple of
        // the forwarded connection comes from trace's translated address.
        let (addr, port) = (dnat.after.dst.unwrap(), dnat.after.dport.unwrap());
        let forwarded = table.lines().any(|l| {
            l.contains("src=100.64.0.2 dst=100.64.0.1")
                && l.contains(&format!("src={addr} dst=100.64.0.2 sport={port}"))
        });
        // The gateway's address the reply goes to is trace's masquerade.
        let masq_src = masq.after.src.expect("trace: the address of eth0");
        let masqueraded = table.lines().any(|l| {
            l.contains("src=10.1.0.50 dst=100.64.0.2")
                && l.contains(&format!("src=100.64.0.2 dst={masq_src}"))
        });
        if !(forwarded && masqueraded) {
            wrong.push(format!("{backend}: conntrack lacks a translation:\n{table}"));
        }
    }
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}

/// Random nat tables (port forwards to several ports of `web`, some for one
/// source only, no-nat exceptions), read by Rampart's importer and loaded
/// into the kernel: for every port, the address and port the kernel
/// forwarded to (what `web` answers) equal trace's translation.
#[test]
#[expect(clippy::print_stderr, reason = "the counts are the test's report")]
fn random_nat_tables_translate_as_trace_says() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::SOCAT]).unwrap();
    let (gw, web, inet) = (Netns::new().unwrap(), Netns::new().unwrap(), Netns::new().unwrap());
    veth(&web, "eth0", &gw, "dmz0").unwrap();
    veth(&inet, "eth0", &gw, "eth0").unwrap();
    web.addr("eth0", "10.2.0.10/24").unwrap();
    gw.addr("dmz0", "10.2.0.1/24").unwrap();
    inet.addr("eth0", "100.64.0.2/24").unwrap();
    gw.addr("eth0", "100.64.0.1/24").unwrap();
    web.route("default", "10.2.0.1").unwrap();
    gw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    let ports = [8080u16, 8081, 8082];
    let mut servers: Vec<_> = ports
        .iter()
        .map(|&p| {
            let spec = format!("TCP4-LISTEN:{p},fork,reuseaddr");
            web.spawn(&["socat", &spec, "SYSTEM:echo $SOCAT_SOCKADDR $SOCAT_SOCKPORT"]).unwrap()
        })
        .collect();
    assert!(wait_until(Duration::from_secs(5), || !answer(&gw, "10.2.0.10", 8080).is_empty()));

    let (mut cases, mut translated, mut wrong) = (0, 0, Vec::new());
    for seed in 1..=12u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut text = String::from(
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n\
             *nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
             :POSTROUTING ACCEPT [0:0]\n",
        );
        for _ in 0..rng.usize(2..7) {
            let port = 80 + rng.u16(..4);
            let src = match rng.u8(..3) {
                0 => " -s 100.64.0.2/32",
                1 => " -s 100.64.0.99/32",
                _ => "",
            };
            let target = if rng.u8(..5) == 0 {
                "ACCEPT".to_owned()
            } else {
                format!("DNAT --to-destination 10.2.0.10:{}", ports[rng.usize(..ports.len())])
            };
            text.push_str(&format!(
                "-A PREROUTING -i eth0{src} -p tcp -m tcp --dport {port} -j {target}\n"
            ));
        }
        text.push_str("COMMIT\n");
        gw.run(["conntrack", "-F"]).ok();
        gw.run_with_input(&["iptables-restore", "-w"], &text).unwrap();
        let im =
            rampart_ir::read::parse(&text, rampart_diag::FileId(0), rampart_ir::read::Format::Save);
        assert!(im.diagnostics.is_empty(), "{:?}", im.diagnostics);
        let rs = im.joined().unwrap().into_ruleset();
        for port in 80..84u16 {
            let mut p = rampart_trace::Packet::new(rampart_ir::Hook::Prerouting);
            (p.in_iface, p.proto, p.src, p.dst) = (
                Some("eth0".into()),
                Some(6),
                Some("100.64.0.2".parse().unwrap()),
                Some("100.64.0.1".parse().unwrap()),
            );
            (p.sport, p.dport) = (Some(41000 + port), Some(port));
            let want =
                match rampart_trace::nat::translate(&rs, &p, &rampart_trace::Interfaces::unknown())
                    .translation
                {
                    Some(t) => format!("{} {}", t.after.dst.unwrap(), t.after.dport.unwrap()),
                    None => String::new(), // the gateway itself, where nothing listens
                };
            translated += usize::from(!want.is_empty());
            cases += 1;
            let got = answer(&inet, "100.64.0.1", port);
            if got != want {
                wrong.push(format!(
                    "seed {seed} port {port}: kernel {got:?}, trace {want:?}\n{text}"
                ));
            }
        }
    }
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    eprintln!(
        "nat proof: {cases} connections over 12 random nat tables, {translated} translated, {} disagreements",
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
