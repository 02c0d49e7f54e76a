//! Hostile text in a real kernel: a control character in a string never
//! reaches a generated line, and if one reaches the emitter anyway (an
//! imported or hand-built ruleset), the line keeps its target: the deny
//! still denies.

use std::time::Duration;

use rampart_diag::Sources;
use rampart_ir::{Family, Target};
use rampart_lab::{Netns, Tool, connects_as, require_tools, veth, wait_until};

fn policy(comment: &str) -> String {
    format!(
        "host srv 192.168.2.2\nservice a tcp 20002\n\
         firewall lap {{\n interface eth0 192.168.2.22/24\n ruleset main {{\n  \
         deny to srv service a out comment \"{comment}\"\n  \
         accept service a out\n }}\n}}\n"
    )
}

#[test]
fn a_nul_is_refused_and_a_deny_still_denies() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::SETPRIV, Tool::SOCAT]).unwrap();
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("nul.rp", &policy("x\0"), &mut sources);
    let codes: Vec<(&str, String)> =
        loaded.diagnostics.iter().map(|d| (d.code, sources.location(d.span().unwrap()))).collect();
    assert_eq!(codes, [("E0008", "nul.rp:6:39".to_owned())], "the NUL is refused where it is");

    // The same rule with the NUL put in after the checks, as an imported
    // ruleset could carry it, with an injected line behind it.
    let c = rampart_lower::compile(&rampart_testing::firewall(&policy("x")));
    let mut v4 = c.v4.into_ruleset();
    let deny = v4
        .chains
        .iter_mut()
        .flat_map(|c| &mut c.rules)
        .find(|r| r.target == Target::Drop && r.comment.as_deref() == Some("R1: x"))
        .expect("the deny rule");
    deny.comment = Some("R1: x\0\n-A OUTPUT -j ACCEPT".into());
    let v4 = rampart_ir::Restricted::new(v4).unwrap();
    let doc = rampart_emit::iptables_restore(&v4, Family::V4, "hostile", None);

    let client = Netns::new().unwrap();
    let server = Netns::new().unwrap();
    veth(&client, "eth0", &server, "eth0").unwrap();
    client.addr("eth0", "192.168.2.22/24").unwrap();
    server.addr("eth0", "192.168.2.2/24").unwrap();
    let _listeners = server.tcp_listeners(&[20002]).unwrap();
    let up = wait_until(Duration::from_secs(5), || connects_as(&client, 0, "192.168.2.2", 20002));
    assert!(up, "listener not reachable without firewall");

    client
        .run_with_input(&["iptables-restore", "-w"], &doc)
        .unwrap_or_else(|e| panic!("{e}\n{doc}"));
    let saved = client.stdout(["iptables-save", "-t", "filter"]).unwrap();
    let line = saved.lines().find(|l| l.contains("R1: x")).expect("the deny is loaded");
    assert!(line.ends_with("-j DROP"), "the deny lost its target: {line}");
    assert!(!saved.lines().any(|l| l == "-A OUTPUT -j ACCEPT"), "a line was injected:\n{saved}");
    assert!(!connects_as(&client, 0, "192.168.2.2", 20002), "the deny lets the connection through");
}
