//! The shipped client policy in a real kernel: each user reaches only their
//! own VM console, everyone else is dropped and logged by rule 16.
//!
//! Topology (all inside namespaces this test creates):
//! `client` (the firewall, eth0 192.168.2.22/24) —veth— `server`
//! (192.168.2.2/24, listening on 20002, 20003 and 20004).

use std::path::Path;
use std::time::Duration;

use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_lab::{
    KmsgTail, Netns, NetnsLogging, Tool, connects_as, connects_many, require_tools, veth,
    wait_until,
};

fn compile_example() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spice-client.rp");
    let mut sources = Sources::new();
    let loaded = rampart_model::load(&path, &mut sources).expect("read example");
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let model = loaded.model.expect("model");
    let fw = model.firewall("mylap").expect("firewall mylap");
    let compiled = rampart_lower::compile(fw);
    rampart_emit::iptables_restore(&compiled.v4, Family::V4, "spice-client test", Some(&sources))
}

#[test]
fn each_user_reaches_only_their_own_console() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::SETPRIV, Tool::SOCAT]).unwrap();
    let ruleset = compile_example();
    let client = Netns::new().unwrap();
    let server = Netns::new().unwrap();
    veth(&client, "eth0", &server, "eth0").unwrap();
    client.addr("eth0", "192.168.2.22/24").unwrap();
    client.addr("eth0", "192.168.4.22/24").unwrap();
    server.addr("eth0", "192.168.2.2/24").unwrap();
    let _listeners = server.tcp_listeners(&[20002, 20003, 20004]).unwrap();
    // Before the firewall, every port answers (the listeners are up).
    let up =
        wait_until(Duration::from_secs(5), || connects_as(&client, 1021, "192.168.2.2", 20004));
    assert!(
        up && connects_as(&client, 1099, "192.168.2.2", 20003),
        "listener not reachable without firewall"
    );

    client.run_with_input(&["iptables-restore", "-w"], &ruleset).unwrap();
    let _logging = NetnsLogging::enable().unwrap();
    let kmsg = KmsgTail::start().unwrap();

    // Each user reaches their own console only; uid 1099 none of them.
    let cases = [
        ((1021, 20002), true),
        ((1021, 20004), false),
        ((1022, 20004), true),
        ((1022, 20002), false),
        ((1099, 20002), false),
        ((1099, 20003), false),
        ((1099, 20004), false),
    ];
    let tries: Vec<(u32, u16)> = cases.iter().map(|c| c.0).collect();
    let got = connects_many(&client, "192.168.2.2", &tries);
    for (&((uid, port), want), got) in cases.iter().zip(got) {
        assert_eq!(got, want, "uid {uid} to port {port}");
    }

    // Denied attempts are logged with the prefix of the deciding rule (7).
    let log = kmsg.take();
    let new: Vec<&str> =
        log.iter().map(String::as_str).filter(|l| l.contains("DST=192.168.2.2 ")).collect();
    for port in [20002, 20003, 20004] {
        let dpt = format!("DPT={port} ");
        assert!(
            new.iter().any(|l| l.contains("RULE 16 -- DENY ") && l.contains(&dpt)),
            "no `RULE 16 -- DENY` line for port {port} in:\n{}",
            new.join("\n")
        );
    }
    // Allowed connections print nothing.
    assert!(
        !new.iter().any(|l| l.contains("RULE 0 -- ")),
        "unexpected catch-all hits:\n{}",
        new.join("\n")
    );
}
