//! Loading policies across files, and the model's checks.

use std::path::PathBuf;

use rampart_diag::Sources;
use rampart_model::{Action, load, load_str};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("model-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("objects")).unwrap();
    d
}

#[test]
fn include_reads_relative_to_the_including_file() {
    let d = dir("include");
    std::fs::write(d.join("objects/hosts.rp"), "host web 10.0.0.80\ninclude \"services.rp\"\n")
        .unwrap();
    std::fs::write(d.join("objects/services.rp"), "service http tcp 80\n").unwrap();
    std::fs::write(
        d.join("main.rp"),
        "include \"objects/hosts.rp\"\nfirewall fw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  accept to web service http\n }\n}\n",
    )
    .unwrap();
    let mut sources = Sources::new();
    let loaded = load(&d.join("main.rp"), &mut sources).unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    assert_eq!(fw.rulesets[0].rules[0].action, Action::Accept);
    assert_eq!(fw.rulesets[0].rules[0].service.atoms[0].dports, vec![(80, 80)]);
}

#[test]
fn include_problems_are_errors_with_spans() {
    let d = dir("cycle");
    std::fs::write(d.join("a.rp"), "include \"b.rp\"\n").unwrap();
    std::fs::write(d.join("b.rp"), "include \"a.rp\"\ninclude \"missing.rp\"\n").unwrap();
    let mut sources = Sources::new();
    let loaded = load(&d.join("a.rp"), &mut sources).unwrap();
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0219", "E0218"]);
    assert!(sources.location(loaded.diagnostics[0].span().unwrap()).ends_with("b.rp:1:9"));
}

#[test]
fn branch_loops_and_unused_rule_sets() {
    let mut sources = Sources::new();
    let loaded = load_str(
        "t.rp",
        "firewall fw {\n ruleset main {\n  branch a\n }\n ruleset a {\n  branch b\n }\n ruleset b {\n  branch a\n }\n ruleset spare {\n }\n}\n",
        &mut sources,
    );
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0220", "W0302"]);
}

#[test]
fn rules_are_numbered_across_rule_sets_in_source_order() {
    let mut sources = Sources::new();
    let loaded = load_str(
        "t.rp",
        "firewall fw {\n ruleset main {\n  branch x\n  deny\n }\n ruleset x {\n  accept\n }\n}\n",
        &mut sources,
    );
    let fw = &loaded.model.unwrap().firewalls[0];
    let numbers: Vec<u32> = fw.rulesets.iter().flat_map(|r| &r.rules).map(|r| r.number).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
}

#[test]
fn number_sets_a_rule_number_and_the_next_ones_follow() {
    let mut sources = Sources::new();
    let loaded = load_str(
        "t.rp",
        "firewall fw {\n ruleset main {\n  branch x number 0\n  deny\n  deny number 7\n }\n ruleset x {\n  accept number 0\n  accept\n }\n}\n",
        &mut sources,
    );
    let fw = &loaded.model.unwrap().firewalls[0];
    let numbers: Vec<u32> = fw.rulesets.iter().flat_map(|r| &r.rules).map(|r| r.number).collect();
    assert_eq!(numbers, vec![0, 1, 7, 0, 1]);
    let bad =
        load_str("b.rp", "firewall fw {\n ruleset main {\n  deny number x1\n }\n}\n", &mut sources);
    let codes: Vec<_> = bad.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0221"]);
}

#[test]
fn bridge_topology_sides_and_warnings() {
    let mut sources = Sources::new();
    let text = "host a 10.0.0.1\nhost b 10.0.0.2\nhost c 10.0.0.3\nhost out 192.0.2.9\n\
        firewall fw {\n interface h 10.0.0.254/24\n forward on\n \
        bridge one {\n  guest pa a\n  guest pb b\n  border x to y\n }\n \
        bridge two {\n  guest pc c, a\n  border y to x\n  border up to host h beyond out\n  border lost to nowhere\n }\n \
        ruleset main {\n }\n}\n";
    let loaded = load_str("t.rp", text, &mut sources);
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    // `a` sits behind two guest ports; `lost` leads nowhere.
    assert_eq!(codes, vec!["W0304", "W0303"]);
    let fw = &loaded.model.unwrap().firewalls[0];
    let (one, x) = fw.bridge_port("x").unwrap();
    let text = |s: rampart_ir::AddrSet| {
        s.items.iter().map(|i| rampart_ir::addr_text(*i)).collect::<Vec<_>>()
    };
    assert_eq!(text(fw.this_side(one, x)), vec!["10.0.0.1/32", "10.0.0.2/32"]);
    // beyond x: bridge two's guests, and beyond its host link the host and the outside
    assert_eq!(
        text(fw.far_side(x)),
        vec!["10.0.0.1/32", "10.0.0.3/32", "10.0.0.254/32", "192.0.2.9/32"]
    );

    let loaded = load_str(
        "t.rp",
        "host a 10.0.0.1\nfirewall fw {\n bridge b {\n  guest p a\n }\n ruleset main {\n }\n}\n",
        &mut sources,
    );
    assert!(loaded.has_errors(), "bridges without `forward on` are an error");
}

#[test]
fn plain_ports_have_any_address_beyond_and_no_border_beside() {
    let mut sources = Sources::new();
    let text = "firewall fw {\n interface h 10.0.0.254/24\n forward on\n \
        bridge one {\n  port p1\n  port p2\n }\n ruleset main {\n  accept on p1 in\n }\n}\n";
    let loaded = load_str("t.rp", text, &mut sources);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    let (_, p1) = fw.bridge_port("p1").unwrap();
    let far: Vec<_> = fw.far_side(p1).items.iter().map(|i| rampart_ir::addr_text(*i)).collect();
    assert_eq!(far, vec!["0.0.0.0/0", "::/0"]);

    // Beside a border port the border's side would be every address.
    let text = "firewall fw {\n interface h 10.0.0.254/24\n forward on\n \
        bridge one {\n  port p1 10.0.0.1\n  port p2\n  border up to host h\n }\n ruleset main {\n }\n}\n";
    let loaded = load_str("t.rp", text, &mut sources);
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["E0222", "E0350"]);
}

#[test]
fn return_may_negate_a_list_or_a_service() {
    let mut sources = Sources::new();
    let text = "host a 10.0.0.1\nhost b 10.0.0.2\nservice s tcp 1\nfirewall f {\n ruleset main {\n  branch x\n }\n \
                ruleset x {\n  return from not a, b\n  return service not s\n  return from not a\n }\n}\n";
    let loaded = load_str("t.rp", text, &mut sources);
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    // the iptables pass splits the chain (see rampart_lower::iptables)
    assert!(codes.is_empty(), "{codes:?}");
    assert!(loaded.model.is_some());
}

#[test]
fn standard_services_need_no_declaration_and_a_declared_one_wins() {
    let policy = |decl: &str| {
        format!(
            "{decl}firewall fw {{\n interface eth0 10.0.0.1/24\n ruleset main {{\n  accept service ssh, dns, ping\n }}\n}}\n"
        )
    };
    let mut sources = Sources::new();
    let loaded = load_str("std.rp", &policy(""), &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    let atoms = &fw.rulesets[0].rules[0].service.atoms;
    let summary: Vec<_> =
        atoms.iter().map(|a| (a.name.as_deref(), a.proto, a.dports.clone())).collect();
    use rampart_ir::Proto::{Icmp, Tcp, Udp};
    assert_eq!(
        summary,
        vec![
            (Some("ssh"), Some(Tcp), vec![(22, 22)]),
            (Some("dns"), Some(Udp), vec![(53, 53)]),
            (Some("dns"), Some(Tcp), vec![(53, 53)]),
            (Some("ping"), Some(Icmp), vec![]),
        ]
    );

    let loaded = load_str("own.rp", &policy("service ssh tcp 2222\n"), &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    assert_eq!(fw.rulesets[0].rules[0].service.atoms[0].dports, vec![(2222, 2222)]);

    let loaded = load_str("typo.rp", &policy("").replace("ssh,", "sshd,"), &mut sources);
    let codes: Vec<_> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.iter().all(|c| c.starts_with('E')) && !codes.is_empty(), "{codes:?}");
}

#[test]
fn a_column_that_expands_to_no_address_is_an_error_never_any() {
    let mut sources = Sources::new();
    let codes = |text: &str, sources: &mut Sources| -> Vec<&'static str> {
        load_str("empty.rp", text, sources).diagnostics.iter().map(|d| d.code).collect()
    };
    let policy = |iface: &str, rule: &str| {
        format!(
            "group nobody {{ }}\ngroup mine {{ gw }}\nfirewall gw {{\n interface eth0 {iface}\n ruleset main {{\n  {rule}\n }}\n}}\n"
        )
    };
    assert_eq!(codes(&policy("10.0.0.1/24", "accept from nobody"), &mut sources), vec!["E0281"]);
    // The firewall's only address is unknown: the group is empty, and says why.
    assert_eq!(codes(&policy("dynamic", "accept to mine"), &mut sources), vec!["W0305", "E0281"]);
    assert!(codes(&policy("10.0.0.1/24", "accept to mine"), &mut sources).is_empty());
    assert!(codes(&policy("dynamic", "accept to self"), &mut sources).is_empty());
}

/// Bridge ports and the bridge itself stand in `on` without an
/// `interface` line; what a port cannot say is an error or a warning.
#[test]
fn bridge_ports_in_rules() {
    let codes = |extra: &str, rule: &str| {
        let text = format!(
            "host kali3 10.0.0.3\nfirewall vmhost {{\n interface vmh2 192.168.50.1/24\n{extra}\n \
             forward on\n bridge virbr6 {{\n  guest vk63 kali3\n }}\n ruleset main {{\n  {rule}\n }}\n}}\n"
        );
        let mut sources = Sources::new();
        let loaded = load_str("b.rp", &text, &mut sources);
        loaded.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
    };
    assert!(codes("", "accept from kali3 on vk63 in").is_empty());
    assert!(codes("", "accept on virbr6").is_empty());
    assert!(codes("", "deny on not vk63 in").is_empty());
    assert_eq!(codes("", "deny on not vk63"), ["E0441"]);
    assert_eq!(codes("", "antispoof vk63"), ["E0442"]);
    assert_eq!(codes(" interface vk63", "accept on vk63 in"), ["E0440"]);
    // The firewall's own packets could leave through the port: OUTPUT
    // cannot tell.
    assert_eq!(codes("", "accept to kali3 on vk63"), ["W0420"]);
    assert!(codes("", "accept from kali3 on vk63").is_empty());
    assert_eq!(codes("", "accept on vk64"), ["E0210"]);
}

/// A syntax error hides no model error: one run reports both, in reading
/// order across files. A name written only in a statement that did not
/// parse (`smtp`) is not reported again as unknown.
#[test]
fn syntax_errors_do_not_hide_model_errors() {
    let d = dir("syntax");
    std::fs::write(d.join("objects.rp"), "host web 10.0.0.300\nservce smtp tcp 25\n").unwrap();
    std::fs::write(
        d.join("main.rp"),
        "include \"objects.rp\"\nservice http tcp 80\nfirewall fw {\n interface eth0 10.0.0.1/24\n \
         ruleset main {\n  accept to web service smtp\n  accept to nowhere service http\n  \
         accept to web from\n  accept service http on eth9\n }\n}\n",
    )
    .unwrap();
    let mut sources = Sources::new();
    let loaded = load(&d.join("main.rp"), &mut sources).unwrap();
    let found: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", sources.location(d.span().unwrap()), d.code))
        .collect();
    let at = |f: &str, l: &str| format!("{}:{l}", d.join(f).display());
    assert_eq!(
        found,
        vec![
            format!("{} E0201", at("main.rp", "7:13")),
            format!("{} E0003", at("main.rp", "8:21")),
            format!("{} E0210", at("main.rp", "9:26")),
            format!("{} E0204", at("objects.rp", "1:10")),
            format!("{} E0004", at("objects.rp", "2:1")),
        ],
        "{:?}",
        loaded.diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    assert!(loaded.model.is_none());
}

/// A misspelt name gets the nearest defined name of the kind wanted in its
/// help: objects, services (standard ones too), users, rule sets,
/// interfaces and actions.
#[test]
fn did_you_mean_names() {
    let mut sources = Sources::new();
    let loaded = load_str(
        "t.rp",
        "host web 10.0.0.80\nservice smtp tcp 25\nuser alice uid 1000\n\
         group servers wbe\n\
         firewall fw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  \
         accept to wbe service smpt\n  accept service shh\n  accept to web out user alcie\n  \
         accept on eht0\n  branch mian\n  alow to web\n  accept to nothing_like_it\n  \
         permit to web\n }\n}\n",
        &mut sources,
    );
    let helps: Vec<(&str, &str)> = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, d.help.as_deref().unwrap_or("").split('?').next().unwrap()))
        .collect();
    assert_eq!(
        helps,
        vec![
            ("E0201", "did you mean `web`"),
            ("E0201", "did you mean `web`"),
            ("E0201", "did you mean `smtp`"),
            ("E0201", "did you mean `ssh`"),
            ("E0201", "did you mean `alice`"),
            ("E0210", "did you mean `eth0`"),
            ("E0207", "did you mean `main`"),
            ("E0216", "did you mean `accept`"),
            ("E0201", "define it with `host`, `network`, `range` or `group`, or write an address"),
            ("E0216", "did you mean `accept`"),
        ],
        "{:#?}",
        loaded.diagnostics
    );
}

#[test]
fn rules_naming_one_object_alone_share_its_addresses() {
    let policy = "host a 10.0.0.5\nhost b 10.0.0.6\ngroup g { a, b }\n\
                  firewall fw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  \
                  accept from g\n  accept to g\n  accept from g, a\n  accept from a\n  accept to a\n }\n}\n";
    let mut sources = Sources::new();
    let loaded = load_str("share.rp", policy, &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let fw = &loaded.model.unwrap().firewalls[0];
    let r = &fw.rulesets[0].rules;
    // Held once, however many rules name it: a copy per rule was a third
    // of the model of a large policy.
    assert!(std::sync::Arc::ptr_eq(&r[0].src.set, &r[1].dst.set));
    assert!(std::sync::Arc::ptr_eq(&r[3].src.set, &r[4].dst.set));
    assert_eq!(r[0].src.set.name.as_deref(), Some("g"));
    assert_eq!(r[0].src.set.items.len(), 2);
    // a list is its own set, unnamed
    assert!(!std::sync::Arc::ptr_eq(&r[0].src.set, &r[2].src.set));
    assert_eq!(r[2].src.set.name, None);
    assert_eq!(r[2].src.set.items, r[0].src.set.items);
}
