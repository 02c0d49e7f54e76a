//! `antispoof IFACE from LIST` in a real kernel, with both backends: a
//! connection whose source is on the chosen list is dropped where it comes
//! in; the client's own address passes, and so does a source the fixed list
//! would have dropped (the other interface's network), since the chosen list
//! replaces it.
//!
//! Topology (inside namespaces this test creates): a client on c1
//! (10.77.1.2, with 10.66.0.5 and 10.77.2.77 beside it) and the firewall
//! (10.77.1.1), which listens on 22 itself and routes the client's extra
//! addresses back through c1.

mod common;

use std::time::Duration;

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, require_tools, veth, wait_until};

const POLICY: &str = "network bogons 10.66.0.0/16\nfirewall fw {\n  \
interface c1 10.77.1.1/24\n  interface c2 10.77.2.1/24\n  ruleset main {\n    \
antispoof c1 from bogons\n    accept service ssh\n  }\n}\nservice ssh tcp 22\n";

/// Does a TCP connect from `ns`, with source `src`, to the firewall's port
/// 22 complete within 3 s?
fn connects_from(ns: &Netns, src: &str) -> bool {
    let to = format!("TCP:10.77.1.1:22,bind={src},connect-timeout=3");
    ns.command("timeout")
        .args(["5", "socat", "-u", "OPEN:/dev/null", &to])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn antispoof_drops_sources_from_its_chosen_list_in_the_kernel_with_both_backends() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SOCAT]).unwrap();
    let c = rampart_lower::compile(&rampart_testing::firewall(POLICY));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "antispoof", None);
    let nft = rampart_nft::emit(&c.rich);

    // trace: the listed source is dropped by rule 1, the others accepted
    let mut p = rampart_trace::Packet::new(rampart_ir::Hook::Input);
    p.in_iface = Some("c1".into());
    p.dst = Some("10.77.1.1".parse().unwrap());
    (p.proto, p.sport, p.dport, p.tcp_flags) = (Some(6), Some(40000), Some(22), Some(0x02));
    for (src, rule) in [("10.66.0.5", 1), ("10.77.1.2", 2), ("10.77.2.77", 2)] {
        p.src = Some(src.parse().unwrap());
        for rs in [&c.rich, &*c.v4] {
            let t = rampart_trace::trace(rs, &p);
            let at = t.main.decided_by.expect("a rule decides");
            let decided = at.origin(rs).map(|o| o.rule);
            assert_eq!(decided, Some(rule), "{src}: {t:#?}");
        }
    }

    let (fw, a) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&a, "eth0", &fw, "c1").unwrap();
    a.addr("eth0", "10.77.1.2/24").unwrap();
    a.addr("eth0", "10.66.0.5/32").unwrap();
    a.addr("eth0", "10.77.2.77/32").unwrap();
    fw.addr("c1", "10.77.1.1/24").unwrap();
    fw.route("10.66.0.5/32", "10.77.1.2").unwrap();
    fw.route("10.77.2.77/32", "10.77.1.2").unwrap();
    let _listener = fw.tcp_listeners(&[22]).unwrap();
    let sources = ["10.77.1.2", "10.66.0.5", "10.77.2.77"];
    let up = wait_until(Duration::from_secs(5), || sources.iter().all(|s| connects_from(&a, s)));
    assert!(up, "without the firewall, every source must reach it");

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        for (src, want) in [("10.77.1.2", true), ("10.66.0.5", false), ("10.77.2.77", true)] {
            let got = connects_from(&a, src);
            if got != want {
                wrong.push(format!("{backend}: from {src}: connected {got}, expected {want}"));
            }
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
