//! Log lines in a real kernel, with both backends: a rule's own `log
//! prefix`, numbers that stay when a rule before is `disabled`, an entry
//! rule set of any name, and `log-limit` holding back the catch-all's lines
//! while it still rejects every packet.
//!
//! Topology (inside namespaces this test creates): a client (10.80.1.2) on
//! a link to the firewall (10.80.1.1), which listens on 22 and 80 itself.
//! The prefixes carry this process's id: the kernel log is shared.

mod common;

use rampart_ir::Family;
use rampart_lab::{KmsgTail, Netns, NetnsLogging, Tool, connects_many, require_tools, veth};

fn policy(id: u32) -> String {
    format!(
        "service ssh tcp 22\nservice http tcp 80\nfirewall fw {{\n  interface c1 10.80.1.1/24\n  \
         entry Policy\n  log-prefix \"Q{id} %N %A \"\n  log-limit 1/minute burst 2\n  default reject\n  \
         ruleset Policy {{\n    accept service ssh disabled\n    \
         reject with tcp-reset service http log prefix \"W{id} %N \" log-limit none\n  }}\n}}\n"
    )
}

#[test]
fn own_prefixes_kept_numbers_and_a_limited_catch_all_log_in_the_kernel() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::NFT, Tool::SETPRIV]).unwrap();
    let id = std::process::id();
    let c = rampart_lower::compile(&rampart_testing::firewall(&policy(id)));
    let iptables = rampart_emit::iptables_restore(&c.v4, Family::V4, "prefixes", None);
    let nft = rampart_nft::emit(&c.rich);

    let (fw, client) = (Netns::new().unwrap(), Netns::new().unwrap());
    veth(&client, "eth0", &fw, "c1").unwrap();
    client.addr("eth0", "10.80.1.2/24").unwrap();
    fw.addr("c1", "10.80.1.1/24").unwrap();
    let _listeners = fw.tcp_listeners(&[22, 80]).unwrap();
    let _logging = NetnsLogging::enable().unwrap();
    let kmsg = KmsgTail::start().unwrap();

    let mut wrong = Vec::new();
    for backend in ["iptables", "nft"] {
        common::load_fresh(&fw, backend, &iptables, &nft);
        let _ = kmsg.take();
        let tries: Vec<(u32, u16)> = [22; 5].into_iter().chain([80; 4]).map(|p| (0, p)).collect();
        let got = connects_many(&client, "10.80.1.1", &tries);
        if got.iter().any(|&c| c) {
            wrong.push(format!("{backend}: a connection got through: {got:?}"));
        }
        let lines = kmsg.take();
        let count = |p: &str| lines.iter().filter(|l| l.contains(p)).count();
        // the disabled rule is rule 1, so the http rule is still rule 2
        let (own, catch_all) = (count(&format!("W{id} 2 ")), count(&format!("Q{id} 0 REJECT ")));
        if (own, catch_all) != (4, 2) {
            wrong.push(format!(
                "{backend}: {own} lines of rule 2 (want 4), {catch_all} of the catch-all (want 2, \
                 its burst)"
            ));
        }
    }
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}\n{iptables}\n{nft}");
}
