//! The shipped labs in a real kernel (root; a missing tool fails with an
//! install hint): every probe meets its expectation, `rampart trace`
//! agrees with the kernel on every probe, the offline answers (no root)
//! agree with the kernel's outcomes, and labs run side by side without
//! seeing each other's traffic.

use std::path::{Path, PathBuf};

use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_lab::describe::{Lab, RulesSource};
use rampart_lab::run::{Answer, Report, Rules, run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lab(path: &Path) -> Lab {
    let text = std::fs::read_to_string(path).expect("read lab file");
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text.clone());
    let parsed = rampart_lab::parse(path, &text, file);
    let diags = rampart_diag::render(&parsed.diagnostics, &sources, false);
    parsed.lab.unwrap_or_else(|| panic!("lab file has errors:\n{diags}"))
}

/// The firewall's ruleset, compiled as `rampart lab` does; with `nft`, as
/// `rampart lab run --target nft` does.
fn rules_for(lab: &Lab, nft: bool) -> Rules {
    match &lab.rules {
        RulesSource::Policy(p) => {
            let mut sources = Sources::new();
            let loaded = rampart_model::load(p, &mut sources).expect("read policy");
            assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
            let model = loaded.model.expect("model");
            let fw = model.firewall(&lab.firewall.name).expect("firewall");
            let c = rampart_lower::compile(fw);
            let nft = nft.then(|| rampart_nft::emit(&rampart_nft::classify(&c.rich)));
            Rules {
                v4: rampart_emit::iptables_restore(&c.v4, Family::V4, "lab test", Some(&sources)),
                v6: Some(rampart_emit::iptables_restore(
                    &c.v6,
                    Family::V6,
                    "lab test",
                    Some(&sources),
                )),
                nft,
            }
        }
        RulesSource::Rules(p) => {
            Rules { v4: std::fs::read_to_string(p).expect("read rules"), v6: None, nft: None }
        }
    }
}

fn rules(lab: &Lab) -> Rules {
    rules_for(lab, false)
}

fn run_lab(path: &Path) -> Report {
    run_lab_on(path, false)
}

/// Runs the lab on iptables, or on nft with `nft`.
fn run_lab_on(path: &Path, nft: bool) -> Report {
    let lab = lab(path);
    let rules = rules_for(&lab, nft);
    let report = run(&lab, &rules).unwrap_or_else(|e| panic!("{e}"));
    let offline = rampart_lab::offline::run(&lab, &rules).unwrap_or_else(|e| panic!("{e}"));
    for (k, o) in report.probes.iter().zip(&offline.probes) {
        assert_eq!(k.seen, o.seen, "line {}: {} offline", k.line, k.probe);
        assert_eq!(at(&k.deciding), at(&o.deciding), "line {}: {} offline", k.line, k.probe);
    }
    let failed: Vec<String> = report
        .probes
        .iter()
        .filter(|p| !p.ok() || !p.trace_agrees)
        .map(|p| {
            format!(
                "line {}: {} (seen {}, trace {}): {:?}",
                p.line, p.probe, p.seen, p.predicted, p.problems
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}:\n{}", path.display(), failed.join("\n"));
    report
}

/// `CHAIN:INDEX` of a deciding rule (the kernel prints rules its own way).
fn at(deciding: &Option<String>) -> Option<&str> {
    deciding.as_deref().and_then(|d| d.split(' ').next())
}

/// The lab answered offline: every probe meets its expectation.
fn offline_lab(path: &Path) -> Report {
    let lab = lab(path);
    let r = rampart_lab::offline::run(&lab, &rules(&lab)).unwrap_or_else(|e| panic!("{e}"));
    let failed: Vec<String> = r
        .probes
        .iter()
        .filter(|p| !p.ok())
        .map(|p| format!("line {}: {}: {:?}", p.line, p.probe, p.problems))
        .collect();
    assert!(failed.is_empty(), "{}:\n{}", path.display(), failed.join("\n"));
    r
}

/// The guard chain each replayed attack of kvm-bridges.lab ends in:
/// (probe index, policy rule).
const KVM_ATTACKS: [(usize, u32); 6] = [(7, 15), (8, 18), (9, 5), (10, 22), (11, 22), (12, 26)];

fn decided_in_guards(r: &Report) {
    for (probe, rule) in KVM_ATTACKS {
        let deciding = r.probes[probe].deciding.clone().unwrap_or_default();
        assert!(
            deciding.starts_with(&format!("RULE_{rule}:2 ")),
            "probe {}: {deciding}",
            probe + 1
        );
    }
}

#[test]
fn every_lab_answered_offline() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut labs: Vec<PathBuf> = Vec::new();
    for dir in [root().join("examples"), fixtures] {
        for e in std::fs::read_dir(dir).expect("read dir") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "lab") {
                labs.push(p);
            }
        }
    }
    labs.sort();
    assert!(labs.len() >= 5, "{labs:?}");
    for p in &labs {
        let r = offline_lab(p);
        assert_eq!(r.trace_disagrees, 0);
    }
    let kvm = offline_lab(&root().join("examples/kvm-bridges.lab"));
    assert_eq!(kvm.probes.len(), 13);
    decided_in_guards(&kvm);
}

fn no_namespaces_left(r: &Report) {
    let out = std::process::Command::new("ip").args(["netns", "list"]).output().expect("ip");
    let prefix = format!("rl-{}-{}-", r.lab, r.run);
    let list = String::from_utf8_lossy(&out.stdout);
    let left: Vec<&str> = list.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
}

#[test]
fn spice_client_lab_on_both_backends() {
    for nft in [false, true] {
        let r = run_lab_on(&root().join("examples/spice-client.lab"), nft);
        assert_eq!(r.probes.len(), 8);
        // A refused console attempt is logged by rule 16 and dropped in its chain.
        let p = &r.probes[1];
        assert!(
            p.logs.iter().any(|l| l.starts_with("RULE 16 -- DENY ") && l.contains("DPT=20004"))
        );
        let counted = |c: &rampart_lab::evidence::Counter| match nft {
            false => c.chain == "RULE_16" && c.index == 2,
            true => rampart_ir::origin::line_rule(&c.text) == Some(16),
        };
        assert!(p.counters.iter().any(counted), "{:?}", p.counters);
        assert_eq!(p.deciding.as_deref().map(|d| d.starts_with("RULE_16:2 ")), Some(true));
        no_namespaces_left(&r);
    }
}

#[test]
fn office_gateway_lab_on_both_backends() {
    for nft in [false, true] {
        office_gateway(nft);
    }
}

fn office_gateway(nft: bool) {
    let r = run_lab_on(&root().join("examples/office-gateway.lab"), nft);
    assert_eq!(r.probes.len(), 16);
    // The Internet has no route back: the LAN's connection passes only
    // masqueraded, and its reply is translated back on the way in.
    let out = &r.probes[0];
    assert_eq!((out.seen, out.predicted), (Answer::Pass, Answer::Pass));
    let (req, rep) = (&out.crossings[0].crossing, &out.crossings[1].crossing);
    assert!(rep.flow.dst == "10.1.0.50".parse::<std::net::IpAddr>().unwrap(), "{rep:?}");
    assert!(req.nat_after.iter().any(|n| n.starts_with("MASQUERADE 10.1.0.50:")), "{req:?}");
    assert!(req.nat_after.iter().any(|n| n.contains(" -> 100.64.0.1:")), "{req:?}");
    // The port forward: FORWARD sees the web server's address.
    let fwd = r.probes.iter().find(|p| p.probe.contains("to 100.64.0.1 port 80 pass")).unwrap();
    assert_eq!(fwd.seen, Answer::Pass);
    let c = &fwd.crossings[0].crossing;
    assert_eq!(c.flow.dst, "10.2.0.10".parse::<std::net::IpAddr>().unwrap());
    assert!(c.nat.iter().any(|n| n.starts_with("DNAT 100.64.0.1:80 -> 10.2.0.10:80")), "{c:?}");
    // Inside the LAN the gateway is not on the path.
    assert!(r.probes.iter().any(|p| p.crossings.is_empty() && p.seen == Answer::Pass));
    if nft {
        // nft counts every rule: the kernel's own nat rules took the two
        // connections, the masquerade (R13) and the port forward (R14).
        let counted = |p: &rampart_lab::run::ProbeReport, n: u32| {
            p.counters.iter().any(|c| rampart_ir::origin::line_rule(&c.text) == Some(n))
        };
        assert!(counted(out, 13), "{:?}", out.counters);
        assert!(counted(fwd, 14), "{:?}", fwd.counters);
    }
    no_namespaces_left(&r);
}

/// The five ARP-spoofing men in the middle, replayed with forged
/// neighbour entries, each stopped by the guard of the right port (its
/// LOG line and counter), and the honest traffic passing: with
/// iptables-restore and with nft alike.
#[test]
fn kvm_bridges_lab_replays_the_five_attacks_on_both_backends() {
    for nft in [false, true] {
        let r = run_lab_on(&root().join("examples/kvm-bridges.lab"), nft);
        assert_eq!(r.probes.len(), 13);
        // Each attack is decided by the guard chain of the expected rule.
        decided_in_guards(&r);
        no_namespaces_left(&r);
    }
}

#[test]
fn bridge_ports_stop_a_man_in_the_middle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let r = run_lab(&dir.join("bridge-mitm.lab"));
    let mitm = r.probes.iter().find(|p| p.mitm.is_some()).expect("a mitm probe");
    assert_eq!(mitm.seen, Answer::Blocked);
    // Stopped leaving the bridge through the attacker's port.
    assert!(mitm.logs.iter().any(|l| l.contains("PHYSIN=p1 PHYSOUT=p3")), "{:?}", mitm.logs);
    assert!(mitm.counters.iter().any(|c| c.chain == "GUARD_P3" && c.index == 2));
    no_namespaces_left(&r);
}

#[test]
fn linked_bridges_and_the_hosts_own_port() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let r = run_lab(&dir.join("linked-bridges.lab"));
    // g3 to g2 crosses FORWARD once per bridge, each way.
    let hooks: Vec<String> = r.probes[0].crossings.iter().map(|c| c.crossing.describe()).collect();
    assert_eq!(
        hooks,
        [
            "FORWARD in=br6 out=br6 physdev vk63>vethb2",
            "FORWARD in=br4 out=br4 physdev vethb1>vk42",
            "FORWARD in=br4 out=br4 physdev vk42>vethb1",
            "FORWARD in=br6 out=br6 physdev vethb2>vk63",
        ]
    );
    let mitm = &r.probes[3];
    assert!(mitm.logs.iter().any(|l| l.contains("PHYSIN=vethb1 PHYSOUT=vk42")), "{:?}", mitm.logs);
    no_namespaces_left(&r);
}

#[test]
fn labs_run_in_parallel_without_interfering() {
    let spice = root().join("examples/spice-client.lab");
    let bridge = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bridge-mitm.lab");
    // Two different labs and the same lab twice, all at once: each run's
    // counters and verdicts are its own.
    let reports: Vec<Report> = std::thread::scope(|s| {
        let handles = [&spice, &spice, &bridge].map(|p| s.spawn(move || run_lab(p)));
        handles.into_iter().map(|h| h.join().expect("lab thread")).collect()
    });
    assert_eq!(reports[0].probes.len(), reports[1].probes.len());
    for (a, b) in reports[0].probes.iter().zip(&reports[1].probes) {
        assert_eq!((a.seen, a.predicted), (b.seen, b.predicted), "{}", a.probe);
        let key = |r: &rampart_lab::run::ProbeReport| {
            r.counters.iter().map(|c| (c.chain.clone(), c.index)).collect::<Vec<_>>()
        };
        assert_eq!(key(a), key(b), "counters of {}", a.probe);
    }
    for r in &reports {
        no_namespaces_left(r);
    }
}

#[test]
fn rules_on_bridge_ports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let r = run_lab(&dir.join("bridge-ports.lab"));
    assert_eq!(r.probes.len(), 8);
    // kali5's VM is stopped entering through its port, by the port rule
    // (`--physdev-in`), whichever port the packet was bound for.
    for p in &r.probes[4..6] {
        assert!(p.logs.iter().any(|l| l.contains("PHYSIN=vk65")), "{:?}", p.logs);
        assert!(p.counters.iter().any(|c| c.chain == "RULE_2" && c.index == 2), "{}", p.probe);
    }
    // Leaving through kali4's port (`--physdev-out --physdev-is-bridged`).
    let out = &r.probes[6];
    assert!(out.logs.iter().any(|l| l.contains("PHYSOUT=vk64")), "{:?}", out.logs);
    assert!(out.counters.iter().any(|c| c.chain == "RULE_3" && c.index == 2));
    no_namespaces_left(&r);
}

/// Plain ports (`port NAME`): no guard is derived for them, and rules that
/// name them match in the kernel on both backends as a guest's would.
#[test]
fn rules_on_plain_ports_on_both_backends() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for nft in [false, true] {
        let r = run_lab_on(&dir.join("plain-ports.lab"), nft);
        assert_eq!(r.probes.len(), 7);
        // The bridge family logs the ports as its interfaces.
        let (port_in, port_out) =
            if nft { ("IN=p3 ", "OUT=p2 ") } else { ("PHYSIN=p3 ", "PHYSOUT=p2 ") };
        for p in &r.probes[4..6] {
            assert!(p.logs.iter().any(|l| l.contains(port_in)), "{:?}", p.logs);
        }
        let out = &r.probes[6];
        assert!(out.logs.iter().any(|l| l.contains(port_out)), "{:?}", out.logs);
        no_namespaces_left(&r);
    }
}
