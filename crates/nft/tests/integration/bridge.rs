//! Bridge ports in the kernel: a guest that forges its source address is
//! stopped on its bridge port, by iptables `-m physdev` (through
//! br_netfilter) and by the nft bridge table alike; honest traffic passes.

use std::io::Write;
use std::process::{Command, Stdio};

use rampart_ir::{Chain, Family, Hook, IfaceMatch, Match, PhysdevMatch, Policy, Ruleset, Target};

use crate::equiv::{Listeners, helper, iptables_text};
use crate::fixtures::{logged, rule, set, src};
use crate::protocol::MARK;
use crate::sys::{self, Netns};

/// Guests bound to their address on their port, then the bridge allowed.
fn guard() -> Ruleset {
    let port = |name: &str| {
        Match::Physdev(
            PhysdevMatch { physdev_in: Some((false, name.into())), ..PhysdevMatch::default() }
                .into(),
        )
    };
    let mut forward = Chain::builtin(Hook::Forward, Policy::Drop);
    forward.rules = vec![
        logged(
            rule(
                1,
                vec![port("vnet0"), src(true, set(Some("guest1"), &["10.0.0.5"]))],
                Target::Drop,
            ),
            "DENY",
        ),
        logged(
            rule(
                2,
                vec![port("vnet1"), src(true, set(Some("guest2"), &["10.0.0.6"]))],
                Target::Drop,
            ),
            "DENY",
        ),
        rule(
            3,
            vec![
                Match::InIface(IfaceMatch::one("br0").into()),
                Match::OutIface(IfaceMatch::one("br0").into()),
            ],
            Target::Accept,
        ),
    ];
    Ruleset {
        chains: vec![
            Chain::builtin(Hook::Input, Policy::Drop),
            forward,
            Chain::builtin(Hook::Output, Policy::Drop),
        ],
    }
}

/// The restricted form by hand: one address per rule, the log as a rule.
fn iptables() -> String {
    let mut rs = guard();
    for r in &mut rs.chains[1].rules {
        r.log = None;
    }
    iptables_text(&rs, Family::V4)
}

/// Outcomes of honest and forged probes with one backend loaded.
fn run(load: &dyn Fn(&Netns)) -> Vec<String> {
    let host = Netns::new().unwrap();
    let g1 = Netns::new().unwrap();
    let g2 = Netns::new().unwrap();
    sys::ip(&host, &["link", "add", "br0", "type", "bridge"]);
    sys::ip(&host, &["link", "set", "br0", "up"]);
    for (port, guest, addrs) in
        [("vnet0", &g1, &["10.0.0.5/24", "10.0.0.99/32"][..]), ("vnet1", &g2, &["10.0.0.6/24"][..])]
    {
        sys::ip(
            &host,
            &["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", guest.name()],
        );
        sys::ip(&host, &["link", "set", port, "master", "br0", "up"]);
        for a in addrs {
            sys::ip(guest, &["addr", "add", a, "dev", "eth0"]);
        }
        sys::ip(guest, &["link", "set", "eth0", "up"]);
        sys::ip(guest, &["link", "set", "lo", "up"]);
    }
    load(&host);
    let mut listeners = Listeners(Vec::new());
    for ns in [&g1, &g2] {
        listeners.start(ns, "tcp:80 udp:53");
    }
    let mut results = Vec::new();
    for (ns, probes) in [
        (
            &g1,
            "tcp 10.0.0.5 10.0.0.6 80\nudp 10.0.0.5 10.0.0.6 53\ntcp 10.0.0.99 10.0.0.6 80\nudp 10.0.0.99 10.0.0.6 53\n",
        ),
        (&g2, "tcp 10.0.0.6 10.0.0.5 80\nudp 10.0.0.6 10.0.0.5 53\n"),
    ] {
        let out = helper(ns.name(), 0)
            .env("RAMPART_NFT_HELPER", "probe")
            .env("RAMPART_NFT_PROBES", probes)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut lines: Vec<String> =
            stdout.lines().filter_map(|l| l.split_once(MARK).map(|x| x.1.to_owned())).collect();
        lines.sort();
        results.extend(lines);
    }
    drop(listeners);
    results
}

#[test]
fn forged_sources_stop_at_the_bridge_port() {
    let ipt = run(&|host| {
        let mut child = Command::new("ip")
            .args(["netns", "exec", host.name(), "iptables-restore"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(iptables().as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "iptables-restore");
    });
    let nft = run(&|host| {
        sys::ok(&sys::nft(Some(host.name()), &["-f", "-"], &rampart_nft::emit(&guard())), "nft -f");
    });
    let expected = [
        "tcp 10.0.0.5 10.0.0.6 80 = open",
        "tcp 10.0.0.6 10.0.0.5 80 = open",
        "tcp 10.0.0.99 10.0.0.6 80 = timeout",
        "udp 10.0.0.5 10.0.0.6 53 = open",
        "udp 10.0.0.6 10.0.0.5 53 = open",
        "udp 10.0.0.99 10.0.0.6 53 = timeout",
    ];
    let mut sorted_ipt = ipt.clone();
    sorted_ipt.sort();
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(sorted_ipt, want, "iptables with physdev");
    let mut sorted_nft = nft;
    sorted_nft.sort();
    assert_eq!(sorted_nft, want, "nft bridge table");
}
