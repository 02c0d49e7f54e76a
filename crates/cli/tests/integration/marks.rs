//! `rampart apply` with marks: Rampart's chains of the mangle table are
//! loaded, replaced and taken out as those of the filter and nat tables,
//! every other mangle chain kept; the kernel's `ip rule` reads the mark.

use rampart_lab::{Netns, veth};

use crate::deploy::{rampart, rules, tools};
use crate::util::{tempdir, text};

fn pings(from: &Netns, to: &str) -> bool {
    from.run(["ping", "-c1", "-W1", to]).is_ok()
}

#[test]
fn apply_loads_replaces_and_rolls_back_the_mangle_tables_marks() {
    tools();
    let fw = Netns::new().unwrap();
    let peer = Netns::new().unwrap();
    veth(&fw, "eth0", &peer, "eth0").unwrap();
    fw.addr("eth0", "10.75.0.1/24").unwrap();
    peer.addr("eth0", "10.75.0.2/24").unwrap();
    // A marked packet finds no route in: the mark decides, as `ip rule`
    // reads it (before the local table, which would deliver it).
    fw.run(["ip", "rule", "add", "pref", "10", "fwmark", "1", "prohibit"]).unwrap();
    fw.run(["ip", "rule", "del", "pref", "0"]).unwrap();
    fw.run(["ip", "rule", "add", "pref", "100", "lookup", "local"]).unwrap();
    // Another program's mangle chain, which apply must leave alone.
    fw.run(["iptables", "-w", "-t", "mangle", "-N", "OTHER"]).unwrap();
    fw.run(["iptables", "-w", "-t", "mangle", "-A", "PREROUTING", "-j", "OTHER"]).unwrap();
    let dir = tempdir("marks");
    for (name, rule) in [("marked.rp", "  mark 1 from peer service ping\n"), ("plain.rp", "")] {
        std::fs::write(
            dir.join(name),
            format!(
                "host peer 10.75.0.2\nservice ping icmp echo-request\nfirewall fw {{\n \
                 interface eth0 10.75.0.1/24\n ruleset main {{\n{rule}  accept service ping\n }}\n}}\n"
            ),
        )
        .unwrap();
    }
    let state = dir.join("state");
    let apply = |name: &str, extra: &[&str]| {
        let p = dir.join(name);
        let mut args = vec!["apply", p.to_str().unwrap()];
        args.extend(extra);
        let out = rampart(&fw, &state, &args, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    let mangle = || fw.stdout(["iptables-save", "-t", "mangle"]).unwrap();

    apply("plain.rp", &[]);
    assert!(pings(&peer, "10.75.0.1"), "no mark yet");
    apply("marked.rp", &[]);
    let m = mangle();
    assert!(m.contains("-A PREROUTING -j rampart-PREROUTING"), "{m}");
    assert!(m.contains("MARK --set-xmark 0x1/0xffffffff"), "{m}");
    assert!(m.contains("-A PREROUTING -j OTHER"), "{m}");
    assert!(!pings(&peer, "10.75.0.1"), "marked: ip rule prohibits");
    let out = rampart(&fw, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    // A try that is rolled back puts the marks back.
    apply("plain.rp", &["--try", "60"]);
    assert!(!mangle().contains("rampart-PREROUTING"), "{}", mangle());
    assert!(pings(&peer, "10.75.0.1"), "no mark in the try");
    let out = rampart(&fw, &state, &["rollback"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(mangle().contains("MARK --set-xmark 0x1/0xffffffff"), "{}", mangle());
    assert!(!pings(&peer, "10.75.0.1"), "marked again after the rollback");

    // A policy without marks takes Rampart's mangle chains out, not OTHER.
    apply("plain.rp", &[]);
    let m = mangle();
    assert!(!m.contains("rampart-PREROUTING") && m.contains("-A PREROUTING -j OTHER"), "{m}");
    assert!(pings(&peer, "10.75.0.1"));
    assert!(rules(&fw).contains("rampart-INPUT"));

    // A compiled bundle carries the mangle table too.
    let bundle = dir.join("marked.json");
    let p = dir.join("marked.rp");
    let out = crate::util::rampart(&[
        "compile",
        p.to_str().unwrap(),
        "--target",
        "bundle",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = rampart(&fw, &state, &["apply", "--compiled", bundle.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(mangle().contains("MARK --set-xmark 0x1/0xffffffff"), "{}", mangle());
    assert!(!pings(&peer, "10.75.0.1"), "marked through the bundle");

    // The other backend takes over: Rampart's mangle chains go, OTHER stays.
    apply("marked.rp", &["--backend", "nft"]);
    let m = mangle();
    assert!(!m.contains("rampart-PREROUTING") && m.contains("-A PREROUTING -j OTHER"), "{m}");
    assert!(!pings(&peer, "10.75.0.1"), "marked by nft");
}
