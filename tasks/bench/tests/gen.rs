//! The generated policy is valid in each form.

use std::collections::BTreeSet;

use rampart_bench::{BRANCH_RULES, Kind, MIN_N, Plan, fwb::FwbOptions};
use rampart_diag::Sources;

#[test]
fn rampart_form_checks_clean() {
    for n in [MIN_N, 100, 537] {
        let text = Plan::new(n).rampart();
        let mut sources = Sources::new();
        let loaded = rampart_model::load_str("bench.rp", &text, &mut sources);
        let codes: Vec<_> =
            loaded.diagnostics.iter().map(|d| (d.code, d.message.as_str())).collect();
        assert!(codes.is_empty(), "N={n}: diagnostics {codes:?}");
        let model = loaded.model.expect("a model");
        let rules: usize = model.firewalls[0].rulesets.iter().map(|rs| rs.rules.len()).sum();
        assert_eq!(rules, n, "N={n}: every rule is in the policy");
    }
}

#[test]
fn plan_has_every_construct() {
    let plan = Plan::new(100);
    let kinds: BTreeSet<_> = plan
        .rules()
        .map(|r| match r.kind {
            Kind::User(_) => "user",
            Kind::Branch(_) => "branch",
            Kind::DenyNot => "negation",
            Kind::Accept => "accept",
            Kind::Deny => "deny",
            Kind::Reject => "reject",
        })
        .collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
    assert!(plan.rules().any(|r| r.log));
    assert!(plan.rules().any(|r| r.src.is_some_and(|a| a.is_group())));
    assert_eq!(
        plan.branches.iter().map(Vec::len).sum::<usize>(),
        BRANCH_RULES * plan.branches.len()
    );
}

#[test]
fn fwb_form_is_well_formed_and_refers_to_existing_objects() {
    let plan = Plan::new(100);
    for (check_shading, iptables_restore) in [(true, false), (false, true)] {
        let xml = plan.fwb(FwbOptions { check_shading, iptables_restore });
        let opts = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        let doc = roxmltree::Document::parse_with_options(&xml, opts).expect("well-formed XML");
        let ids: BTreeSet<_> = doc.descendants().filter_map(|n| n.attribute("id")).collect();
        let refs: Vec<_> = doc.descendants().filter_map(|n| n.attribute("ref")).collect();
        assert!(!refs.is_empty());
        for r in refs {
            assert!(ids.contains(r), "dangling ref {r}");
        }
        let rules = doc.descendants().filter(|n| n.has_tag_name("PolicyRule")).count();
        assert_eq!(rules, 100);
        for opt in doc.descendants().filter(|n| n.attribute("name") == Some("branch_id")) {
            assert!(ids.contains(opt.text().unwrap_or("")), "branch to a missing rule set");
        }
        let fw = doc.descendants().find(|n| n.has_tag_name("Firewall")).expect("a firewall");
        assert_eq!(fw.attribute("version"), Some("1.4.20"));
    }
}

#[test]
fn aerleon_form_names_only_defined_objects() {
    let a = Plan::new(100).aerleon();
    let defined: BTreeSet<_> = a
        .networks
        .lines()
        .chain(a.services.lines())
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name))
        .collect();
    for pol in [&a.iptables, &a.nftables] {
        for line in pol.lines() {
            if let Some((key, name)) = line.trim().split_once(":: ")
                && ["source-address", "source-exclude", "destination-address", "destination-port"]
                    .contains(&key)
            {
                assert!(defined.contains(name), "{name} is not defined");
            }
        }
    }
    assert!(!a.nftables.contains("action:: reject"), "Aerleon's nftables target has no reject");
    assert!(a.iptables.contains("action:: reject"));
}
