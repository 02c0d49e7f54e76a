//! A mark set by the policy is read by `ip rule`: policy routing in a real
//! kernel, with both backends. The client's web traffic is marked and so
//! routed to a second uplink; its SSH keeps the main route.
//!
//! Topology (inside namespaces this test creates): a client (10.81.1.2)
//! behind the firewall; two uplinks, A (10.81.2.2) and B (10.81.3.2), both
//! holding 203.0.113.10, A listening on 22 only and B on 80 only. The
//! firewall's main route goes to A; `ip rule fwmark 1` sends to B.

mod common;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, connects_many, require_tools, veth};

fn policy(mark: bool) -> String {
    let rule = if mark { "    mark 1 from client service http\n" } else { "" };
    format!(
        "host client 10.81.1.2\nhost far 203.0.113.10\nservice http tcp 80\nservice ssh tcp 22\n\
         firewall fw {{\n  interface c0 10.81.1.1/24\n  interface a0 10.81.2.1/24\n  \
         interface b0 10.81.3.1/24\n  forward on\n  ruleset main {{\n{rule}    \
         accept from client to far service http, ssh\n    accept marked 1 from client to self\n  }}\n}}\n"
    )
}

fn compiled(mark: bool) -> (String, String, rampart_ir::Ruleset) {
    let c = rampart_lower::compile(&rampart_testing::firewall(&policy(mark)));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "marks", None);
    (iptables, rampart_nft::emit(&c.rich), c.rich)
}

#[test]
fn a_mark_set_by_the_policy_steers_ip_rule_in_the_kernel_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let (fw, client, a, b) = (
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
        Netns::new().unwrap(),
    );
    veth(&client, "eth0", &fw, "c0").unwrap();
    veth(&a, "eth0", &fw, "a0").unwrap();
    veth(&b, "eth0", &fw, "b0").unwrap();
    client.addr("eth0", "10.81.1.2/24").unwrap();
    client.route("default", "10.81.1.1").unwrap();
    for (ns, net) in [(&a, "2"), (&b, "3")] {
        ns.addr("eth0", &format!("10.81.{net}.2/24")).unwrap();
        ns.addr("lo", "203.0.113.10/32").unwrap();
        ns.route("10.81.1.0/24", &format!("10.81.{net}.1")).unwrap();
    }
    fw.addr("c0", "10.81.1.1/24").unwrap();
    fw.addr("a0", "10.81.2.1/24").unwrap();
    fw.addr("b0", "10.81.3.1/24").unwrap();
    fw.sysctl("net.ipv4.ip_forward", "1").unwrap();
    // replies from B come back on b0 though the main route points to A
    for k in ["all", "default", "b0"] {
        fw.sysctl(&format!("net.ipv4.conf.{k}.rp_filter"), "0").unwrap();
    }
    fw.route("default", "10.81.2.2").unwrap();
    fw.run(["ip", "route", "add", "default", "via", "10.81.3.2", "table", "100"]).unwrap();
    fw.run(["ip", "rule", "add", "fwmark", "1", "lookup", "100"]).unwrap();
    let _on_a = a.tcp_listeners(&[22]).unwrap();
    let _on_b = b.tcp_listeners(&[80]).unwrap();

    // trace applies the mark before the filter rules, as the kernel does
    let (_, _, rich) = compiled(true);
    let mut p = rampart_trace::Packet::new(rampart_ir::Hook::Input);
    p.in_iface = Some("c0".into());
    (p.src, p.dst) = (Some("10.81.1.2".parse().unwrap()), Some("10.81.1.1".parse().unwrap()));
    (p.proto, p.dport) = (Some(6), Some(80));
    assert_eq!(rampart_trace::trace(&rich, &p).verdict, rampart_trace::Verdict::Accept);
    p.dport = Some(22);
    assert_eq!(rampart_trace::trace(&rich, &p).verdict, rampart_trace::Verdict::Drop);

    let mut wrong = Vec::new();
    for mark in [true, false] {
        let (iptables, nft, _) = compiled(mark);
        for backend in ["iptables", "nft"] {
            common::load_fresh(&fw, backend, &iptables, &nft);
            let got = connects_many(&client, "203.0.113.10", &[(0, 22), (0, 80)]);
            // without the mark, web traffic takes the main route to A, which
            // does not listen on 80
            if got != [true, mark] {
                wrong.push(format!("{backend}, mark rule {mark}: ssh, http connected: {got:?}"));
            }
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
