//! Rampart's own nft output, loaded into a namespace's kernel and read
//! back with `nft -j list ruleset`, traces as the policy does: the JSON
//! reader and the walk through base chains agree with the rich form the
//! output was written from (tables of the bridge family are not read yet,
//! so the bridge example is left out).

use rampart_diag::FileId;
use rampart_ir::read::nft;
use rampart_trace::{trace, trace_through};

use crate::evaluator::{example_cases, packets};
use crate::sys;

#[test]
#[expect(clippy::print_stderr, reason = "the packet counts are the test's report")]
fn examples_read_back_from_the_kernel_trace_as_their_policies() {
    let mut total = 0;
    let mut failures = Vec::new();
    // The bridge family (kvm-bridges' port guards) is not read back yet.
    for (name, rich, _, ifaces) in
        example_cases().into_iter().filter(|c| !c.0.contains("kvm-bridges"))
    {
        let ns = sys::Netns::new().unwrap();
        let text = rampart_nft::emit(&rich);
        sys::ok(&sys::nft(Some(ns.name()), &["-f", "-"], &text), &name);
        let json = sys::ok(&sys::run(&ns, &["nft", "-j", "list", "ruleset"]), "nft -j list");
        let read = nft::parse(&json, FileId(0));
        assert!(!read.has_errors(), "{name}: {:?}", read.diagnostics);
        for p in packets(&rich, &ifaces) {
            let bases: Vec<_> =
                read.at(p.hook).filter(|b| b.family == "inet").map(|b| &b.ruleset).collect();
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
    }
    eprintln!("nft read back: {total} packets, {} differences", failures.len());
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
