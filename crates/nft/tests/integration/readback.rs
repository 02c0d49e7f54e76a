//! Rampart's own nft output, loaded into a namespace's kernel and read
//! back with `nft -j list ruleset`, traces as the policy does: the JSON
//! reader and the walk through base chains agree with the rich form the
//! output was written from, frames across a bridge included (the bridge
//! table's chains, then the inet table's), and so do the nat chains'
//! translations of a packet routed across every hook.

use rampart_diag::FileId;
use rampart_ir::read::nft;
use rampart_trace::{
    Hook, Interfaces, LocalTable, Packet, Routed, routed, trace, trace_chain, trace_through,
};

use crate::equiv::FwIface;
use crate::evaluator::{example_cases, packets};
use crate::random::random_policy_sized;
use crate::sys;

#[test]
#[expect(clippy::print_stderr, reason = "the packet counts are the test's report")]
fn examples_read_back_from_the_kernel_trace_as_their_policies() {
    let (mut total, mut across, mut translated, mut bridged) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (name, rich, _, ifaces) in example_cases() {
        let ns = sys::Netns::new().unwrap();
        let text = rampart_nft::emit(&rich);
        sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &text), &name);
        let json = sys::ok(&sys::run(&ns, &["nft", "-j", "list", "ruleset"]), "nft -j list");
        let read = nft::parse(&json, FileId(0));
        assert!(!read.has_errors(), "{name}: {:?}", read.diagnostics);
        let ports = bridge_ports(&rich);
        for (i, mut p) in packets(&rich, &ifaces).into_iter().enumerate() {
            // Frames across a bridge (every other packet of a firewall with
            // bridge ports): its ports, the bridge device as the interface.
            let across_bridge = !ports.is_empty() && i % 2 == 0;
            if across_bridge {
                let (a, b) = (&ports[i / 2 % ports.len()], &ports[(i / 2 + 1) % ports.len()]);
                let dev = ifaces[i / 2 % ifaces.len()].name.clone();
                match p.hook {
                    Hook::Forward => {
                        (p.physdev_in, p.physdev_out, p.bridged) =
                            (Some(a.clone()), Some(b.clone()), true);
                        (p.in_iface, p.out_iface) = (Some(dev.clone()), Some(dev));
                    }
                    Hook::Input => (p.physdev_in, p.in_iface) = (Some(a.clone()), Some(dev)),
                    _ => {}
                }
                bridged += usize::from(p.physdev_in.is_some());
            }
            let bases: Vec<_> = read
                .bridge_at(p.hook)
                .filter(|_| p.physdev_in.is_some())
                .chain(read.at(p.hook).filter(|b| b.family == "inet"))
                .map(|b| &b.ruleset)
                .collect();
            let walk = trace_through(&bases, &p);
            let last = walk.last().unwrap();
            let logs: Vec<String> = walk.iter().flat_map(|t| t.logs.clone()).collect();
            let want = trace(&rich, &p);
            if last.verdict != want.verdict || logs != want.logs {
                failures.push(format!(
                    "{name}: {}: read back {:?} {logs:?}, policy {:?} {:?}",
                    rampart_trace::explain::packet_line(&p),
                    last.verdict,
                    want.verdict,
                    want.logs
                ));
            }
            total += 1;
        }
        // Every hook, NAT included: the read-back tables as one ruleset.
        let joined = read.joined(false);
        let mut fw = Interfaces::unknown();
        for i in &ifaces {
            fw.add(&i.name, i.addrs.clone(), false);
        }
        let local = LocalTable::default();
        for p in packets(&rich, &ifaces) {
            if !matches!(p.hook, Hook::Input | Hook::Forward) {
                continue;
            }
            // Arriving: the route is the firewall's to choose, after DNAT.
            let p = Packet { hook: Hook::Prerouting, out_iface: None, ..p };
            let got = routed(&joined, &p, &fw, &local, &|c, q| trace_chain(&joined, c, q));
            let want = routed(&rich, &p, &fw, &local, &|c, q| trace_chain(&rich, c, q));
            if summary(&got) != summary(&want) {
                failures.push(format!(
                    "{name}: {} across every hook: read back {:?}, policy {:?}",
                    rampart_trace::explain::packet_line(&p),
                    summary(&got),
                    summary(&want)
                ));
            }
            across += 1;
            translated += usize::from(want.translations().next().is_some());
        }
    }
    eprintln!(
        "nft read back: {total} packets ({bridged} across a bridge), {across} across every hook \
         ({translated} translated), {} differences",
        failures.len()
    );
    assert!(bridged > 0, "no packet crossed a bridge");
    assert!(translated > 0, "no packet met a nat rule");
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The bridge ports the rules name, in order.
fn bridge_ports(rs: &rampart_ir::Ruleset) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in rs.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.matches) {
        if let rampart_ir::Match::Physdev(ph) = m {
            for (_, port) in [&ph.physdev_in, &ph.physdev_out].into_iter().flatten() {
                if !out.contains(port) {
                    out.push(port.clone());
                }
            }
        }
    }
    out
}

/// Each logged rule that accepts or drops jumps instead to a chain of its
/// own that logs and then decides, as under a firewall-wide `log-limit`
/// (less the limit, which a trace cannot decide).
fn own_log_chains(mut rs: rampart_ir::Ruleset) -> rampart_ir::Ruleset {
    use rampart_ir::{Chain, ChainId, Rule, Target};
    let base = rs.chains.len();
    let mut made = Vec::new();
    for r in rs.chains.iter_mut().flat_map(|c| &mut c.rules) {
        if !matches!(r.target, Target::Accept | Target::Drop) {
            continue;
        }
        let Some(log) = r.log.take() else { continue };
        let mut chain = Chain::user(&format!("log_{}", made.len()));
        let log = Rule::new(vec![], Target::Log(*log));
        chain.rules = vec![log, Rule::new(vec![], r.target.clone())];
        r.target = Target::Jump(ChainId(base + made.len()));
        made.push(chain);
    }
    rs.chains.extend(made);
    rs
}

/// What a walk across every hook ends in: the verdict, each translation
/// (kind, addresses, policy rule) and the packet as delivered.
fn summary(r: &Routed) -> (String, Vec<String>, Option<String>) {
    let nat = r.translations().map(|(before, t)| t.text(before)).collect();
    let out = r.result().map(rampart_trace::explain::packet_line);
    (r.verdict.name().to_owned(), nat, out)
}

/// The classifier form of long random policies (dispatch maps, leaf maps
/// keyed by concatenations, rules copied into branches; in every other
/// policy, logged rules jump to their own chain, whose boxes jump there
/// directly), as the kernel
/// holds it, traces as the rich form it was written from: the same
/// verdict and log lines for every packet. Packets whose linear form the
/// reader does not read back right either are counted and left out: they
/// measure the reader, not the classifier.
#[test]
#[expect(clippy::print_stderr, reason = "the packet counts are the test's report")]
fn classifier_form_read_back_traces_as_the_policy() {
    let ifaces = vec![
        FwIface { name: "eth0".into(), addrs: vec!["10.1.0.1/24".parse().unwrap()] },
        FwIface { name: "eth1".into(), addrs: vec!["10.2.0.1/24".parse().unwrap()] },
    ];
    let (mut total, mut keyed, mut jumps, mut unread) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for seed in 1..=30 {
        let mut rich = random_policy_sized(seed, false, 20..40);
        if seed % 2 == 0 {
            rich = own_log_chains(rich);
        }
        let classified = rampart_nft::emit(&rampart_nft::classify(&rich));
        keyed +=
            usize::from(classified.lines().any(|l| l.contains(" . ") && l.contains(" vmap @")));
        // A map element that jumps to a logged rule's own chain.
        jumps += usize::from(classified.contains(" : jump log_"));
        let [linear, classified] = [rampart_nft::emit(&rich), classified].map(|text| {
            let ns = sys::Netns::new().unwrap();
            sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &text), &format!("seed {seed}"));
            let json = sys::ok(&sys::run(&ns, &["nft", "-j", "list", "ruleset"]), "nft -j list");
            let read = nft::parse(&json, FileId(0));
            assert!(!read.has_errors(), "seed {seed}: {:?}", read.diagnostics);
            read
        });
        for p in packets(&rich, &ifaces) {
            let want = trace(&rich, &p);
            let walk = |read: &nft::NftRuleset| {
                let bases: Vec<_> = read.at(p.hook).map(|b| &b.ruleset).collect();
                let walk = trace_through(&bases, &p);
                let logs: Vec<String> = walk.iter().flat_map(|t| t.logs.clone()).collect();
                (walk.last().unwrap().verdict.clone(), logs)
            };
            total += 1;
            if walk(&linear) != (want.verdict.clone(), want.logs.clone()) {
                unread += 1;
                continue;
            }
            let (verdict, logs) = walk(&classified);
            if verdict != want.verdict || logs != want.logs {
                failures.push(format!(
                    "seed {seed}: {}: read back {verdict:?} {logs:?}, policy {:?} {:?}",
                    rampart_trace::explain::packet_line(&p),
                    want.verdict,
                    want.logs
                ));
            }
        }
    }
    eprintln!(
        "classifier read back: {total} packets ({unread} the linear form does not read back \
         either), {keyed} of 30 policies with leaf maps"
    );
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(keyed >= 10, "only {keyed} of 30 policies have a leaf map");
    assert!(jumps >= 3, "only {jumps} of 15 policies have a box that jumps to a logging chain");
    assert!(unread * 10 < total, "{unread} of {total} packets not read back in the linear form");
}
