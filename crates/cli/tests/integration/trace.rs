//! `rampart trace` and `rampart import iptables` as a user runs them.

use crate::util::{rampart, tempdir, text};

const SAVE: &str = "crates/cli/tests/fixtures/host.save";

#[test]
fn trace_prints_the_path_and_the_deciding_rule() {
    let out = rampart(&[
        "trace", "--rules", SAVE, "--in", "eth0", "--src", "10.1.2.3", "--dst", "10.0.0.1",
        "--proto", "tcp", "--sport", "40000", "--dport", "22",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "packet: input tcp 10.1.2.3:40000 -> 10.0.0.1:22 in eth0 state NEW flags SYN\n  \
INPUT 3      -p tcp -m tcp --dport 22 -j ssh_in\n               -> jump to ssh_in\n  \
ssh_in 1     -s 10.0.0.0/8 -j ACCEPT\n               -> verdict ACCEPT\n\
verdict: ACCEPT by ssh_in 1\n"
    );
}

#[test]
fn trace_json_has_the_documented_keys() {
    let out = rampart(&[
        "trace",
        "--rules",
        SAVE,
        "--in",
        "eth0",
        "--src",
        "192.0.2.7",
        "--dst",
        "10.0.0.1",
        "--proto",
        "icmp",
        "--icmp-type",
        "echo-request",
        "--over-limit",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["verdict"], "UNKNOWN");
    assert_eq!(v["decided_by"], serde_json::Value::Null);
    assert_eq!(v["logs"][0], "RULE 16 -- DENY ");
    assert_eq!(v["path"][0]["action"], "log");
    assert_eq!(v["path"][0]["index"], 6);
    assert_eq!(
        v["unknown"][0]["match"],
        "-m recent --rcheck --seconds 30 --name knocked --rsource"
    );
    assert_eq!(v["unknown"][0]["if_match"]["verdict"], "ACCEPT");
    assert_eq!(v["unknown"][0]["if_no_match"]["policy"], true);
}

#[test]
fn trace_a_policy_firewall() {
    let args = |uid: &str| {
        vec![
            "trace",
            "examples/spice-client.rp",
            "--firewall",
            "mylap",
            "--hook",
            "output",
            "--out",
            "eth0",
            "--src",
            "192.168.2.22",
            "--dst",
            "192.168.2.2",
            "--proto",
            "tcp",
            "--sport",
            "40000",
            "--dport",
            "20002",
            "--uid",
            uid,
            "--gid",
            uid,
            "--json",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    let run = |uid: &str| {
        let a = args(uid);
        let out = rampart(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    assert_eq!(run("1021")["verdict"], "ACCEPT");
    let other = run("1022");
    assert_eq!(other["verdict"], "DROP");
    assert_eq!(other["logs"][0], "RULE 16 -- DENY ");
}

#[test]
fn import_prints_restore_form() {
    let out = rampart(&["import", "iptables", "crates/cli/tests/fixtures/fw.sh"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:RULE_0 - [0:0]\n\
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n\
-A INPUT -i eth0 -s 192.168.1.0/24 -m conntrack --ctstate NEW -j RULE_0\n\
-A RULE_0 -j LOG --log-prefix \"RULE 0 -- ACCEPT \" --log-level 6\n\
-A RULE_0 -j ACCEPT\nCOMMIT\n"
    );
}

#[test]
fn bad_rules_exit_1_naming_line_and_word() {
    let out = rampart(&["import", "iptables", "crates/cli/tests/fixtures/bad.save"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.contains("not a port or port range: `99999`"), "{err}");
    assert!(err.contains("bad.save:3:25"), "{err}");
    assert!(err.contains("no chain `nowhere`"), "{err}");
    let out = rampart(&["trace", "--rules", "crates/cli/tests/fixtures/bad.save"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unreadable_file_exits_2() {
    let out = rampart(&["trace", "--rules", "no/such/file.save"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--target nft` traces the rich ruleset the nftables backend writes; it
/// must agree with the iptables one on verdict and log prefixes.
#[test]
fn both_targets_of_a_policy_agree() {
    let packets = [
        "--hook output --src 192.168.2.22 --dst 192.168.2.2 --out eth0 --proto tcp --dport 20004 --uid 1021",
        "--hook output --src 192.168.2.22 --dst 192.168.2.2 --out eth0 --proto tcp --dport 20002 --uid 1021",
        "--hook input --src 192.168.44.12 --dst 192.168.2.22 --in eth0 --proto tcp --dport 22",
        "--hook input --src 127.0.0.1 --dst 192.168.2.22 --in eth0 --proto udp --dport 53",
    ];
    for p in packets {
        let run = |target: &str| {
            let mut args = vec!["trace", "examples/spice-client.rp", "--json", "--target", target];
            args.extend(p.split_whitespace());
            let v: serde_json::Value =
                serde_json::from_slice(&rampart(&args).stdout).expect("JSON");
            (v["verdict"].clone(), v["logs"].clone())
        };
        assert_eq!(run("iptables"), run("nft"), "packet {p:?}");
    }
}

/// `any` after a protocol is every type or port of that protocol: the rule
/// must not accept other protocols (it once compiled to a second rule with
/// no protocol at all).
#[test]
fn any_after_a_protocol_stays_in_that_protocol() {
    let dir = crate::util::tempdir("any-after-proto");
    let policy = dir.join("any.rp");
    std::fs::write(
        &policy,
        "host pinger 192.0.2.1\nhost webber 192.0.2.2\n\
         service icmp-any icmp any\nservice web-any tcp any\n\
         firewall fw {\n  interface eth0 10.0.0.1/24\n  ruleset main {\n\
         \x20   accept from pinger service icmp-any in\n\
         \x20   accept from webber service web-any in\n  }\n}\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    for target in ["iptables", "nft"] {
        let verdict = |packet: &str| {
            let mut args = vec!["trace", policy, "--json", "--target", target, "--hook", "input"];
            args.extend("--in eth0 --dst 10.0.0.1".split_whitespace());
            args.extend(packet.split_whitespace());
            let out = rampart(&args);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
            v["verdict"].as_str().unwrap().to_owned()
        };
        assert_eq!(verdict("--src 192.0.2.1 --proto icmp --icmp-type 13"), "ACCEPT");
        assert_eq!(verdict("--src 192.0.2.1 --proto tcp --dport 22"), "DROP", "{target}");
        assert_eq!(verdict("--src 192.0.2.1 --proto udp --dport 53"), "DROP", "{target}");
        assert_eq!(verdict("--src 192.0.2.2 --proto tcp --dport 3306"), "ACCEPT");
        assert_eq!(verdict("--src 192.0.2.2 --proto udp --dport 53"), "DROP", "{target}");
        assert_eq!(verdict("--src 192.0.2.2 --proto icmp --icmp-type 8"), "DROP", "{target}");
    }
}

/// Where `any` could only widen or empty a rule against the other words,
/// the policy is refused.
#[test]
fn any_beside_other_values_is_an_error() {
    let dir = crate::util::tempdir("any-beside");
    let cases = [
        ("service dns udp 53, any", "accept service dns in", "E0261"),
        ("service x tcp 80, ip", "accept service x in", "E0260"),
        ("service x tcp 80", "accept service x, any in", "E0261"),
        ("service x tcp 80", "accept service not any in", "E0262"),
        ("service x tcp 80", "accept on not any", "E0262"),
        ("service x tcp 80", "accept from 192.0.2.1, any", "E0261"),
    ];
    for (service, rule, code) in cases {
        let policy = dir.join("p.rp");
        std::fs::write(
            &policy,
            format!(
                "{service}\nfirewall fw {{\n  interface eth0 10.0.0.1/24\n  \
                 ruleset main {{\n    {rule}\n  }}\n}}\n"
            ),
        )
        .unwrap();
        let out = rampart(&["check", policy.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{rule}: {err}");
        assert!(err.contains(code), "{rule}: {err}");
    }
}

/// A ruleset that cannot decide a packet says so: no filter table, or
/// rules of the other address family, are never traced as an empty
/// (accepting) chain.
#[test]
fn rulesets_that_cannot_decide_the_packet_are_refused() {
    let dir = crate::util::tempdir("cannot-decide");
    let nat = dir.join("nat.save");
    std::fs::write(&nat, "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n").unwrap();
    let v4 = dir.join("v4.save");
    std::fs::write(&v4, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.9.0.0/16 -j DROP\nCOMMIT\n")
        .unwrap();
    let script = dir.join("fw.sh");
    std::fs::write(
        &script,
        "IPTABLES=/sbin/iptables\nIP6TABLES=/sbin/ip6tables\n$IPTABLES -P INPUT ACCEPT\n\
         $IP6TABLES -P INPUT DROP\n",
    )
    .unwrap();
    let v6 = ["--src", "2001:db8::1", "--dst", "2001:db8::2", "--proto", "tcp", "--dport", "80"];
    for (file, says) in
        [(&nat, "has no filter table"), (&v4, "holds IPv4"), (&script, "holds IPv4")]
    {
        let mut args = vec!["trace", "--rules", file.to_str().unwrap()];
        args.extend(v6);
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(!text(&out.stdout).contains("ACCEPT"), "{}", text(&out.stdout));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    // The family the file holds is still traced.
    let out = rampart(&[
        "trace",
        "--rules",
        v4.to_str().unwrap(),
        "--src",
        "10.9.0.1",
        "--dst",
        "10.0.0.2",
        "--proto",
        "tcp",
        "--dport",
        "80",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("verdict: DROP"), "{}", text(&out.stdout));
}

/// Input that is not a ruleset is refused, naming the file and what it
/// looked like, never read as an empty ruleset whose policies accept.
#[test]
fn files_that_are_not_rulesets_are_refused() {
    let dir = crate::util::tempdir("not-rulesets");
    let nft = dir.join("rules.nft");
    std::fs::write(&nft, "#!/usr/sbin/nft -f\nflush ruleset\ntable inet filter {\n}\n").unwrap();
    let text_file = dir.join("hostname");
    std::fs::write(&text_file, "myhost\n").unwrap();
    let empty = dir.join("empty.save");
    std::fs::write(&empty, "").unwrap();
    let (nft, text_file, empty) =
        (nft.to_str().unwrap(), text_file.to_str().unwrap(), empty.to_str().unwrap());
    let cases = [
        (vec!["trace", "--rules", text_file], text_file, "text without"),
        (vec!["trace", "--rules", "/dev/null"], "/dev/null", "an empty file"),
        (vec!["trace", "--rules", empty], empty, "an empty file"),
        (vec!["import", "iptables", nft], nft, "an nftables ruleset"),
        (vec!["import", "iptables", "--format", "script", nft], nft, "without one iptables"),
        (vec!["import", "iptables", "target/debug/rampart"], "rampart", "binary data"),
        (vec!["trace", "--rules", "target/debug/rampart"], "rampart", "binary data"),
    ];
    for (mut args, file, looks) in cases {
        if args[0] == "trace" {
            args.extend(["--proto", "tcp", "--dport", "22"]);
        }
        let out = rampart(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}{err}", text(&out.stdout));
        assert!(out.stdout.is_empty(), "{args:?}");
        // The message as words: where the renderer wraps it depends on the
        // path's length.
        let words: Vec<&str> = err.split_whitespace().filter(|w| *w != "│").collect();
        let said = words.join(" ");
        assert!(said.contains("E0802") && said.contains(file) && said.contains(looks), "{err}");
    }
    // a format given makes an empty file an empty ruleset
    let out = rampart(&["import", "iptables", "--format", "save", empty]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn nat_hooks_report_the_translation_and_the_translated_packet() {
    let out = rampart(&[
        "trace",
        "examples/office-gateway.rp",
        "--hook",
        "prerouting",
        "--in",
        "eth0",
        "--proto",
        "tcp",
        "--src",
        "192.0.2.44",
        "--dst",
        "100.64.0.1",
        "--sport",
        "40000",
        "--dport",
        "443",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("nat: DNAT 100.64.0.1:443 -> 10.2.0.10:443 by R14\n"), "{t}");
    assert!(t.contains("then: prerouting tcp 192.0.2.44:40000 -> 10.2.0.10:443 in eth0"), "{t}");
    assert!(
        t.contains("reply: 10.2.0.10:443 -> 192.0.2.44:40000 leaves as 100.64.0.1:443 -> 192.0.2.44:40000\n"),
        "{t}"
    );
    // The translated packet, traced through FORWARD: rule 6 lets it through.
    let out = rampart(&[
        "trace",
        "examples/office-gateway.rp",
        "--hook",
        "forward",
        "--in",
        "eth0",
        "--out",
        "eth2",
        "--proto",
        "tcp",
        "--src",
        "192.0.2.44",
        "--dst",
        "10.2.0.10",
        "--sport",
        "40000",
        "--dport",
        "443",
    ]);
    assert!(text(&out.stdout).contains("(policy rule 6)"), "{}", text(&out.stdout));
    let out = rampart(&[
        "trace",
        "examples/office-gateway.rp",
        "--hook",
        "postrouting",
        "--out",
        "eth0",
        "--proto",
        "tcp",
        "--src",
        "10.1.0.50",
        "--dst",
        "192.0.2.80",
        "--dport",
        "443",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nat"]["translation"], "MASQUERADE");
    assert_eq!(v["nat"]["rule"], 13);
    // Nothing translates the LAN's traffic to the DMZ.
    let out = rampart(&[
        "trace",
        "examples/office-gateway.rp",
        "--hook",
        "postrouting",
        "--out",
        "eth2",
        "--proto",
        "tcp",
        "--src",
        "10.1.0.50",
        "--dst",
        "10.2.0.10",
        "--dport",
        "80",
    ]);
    assert!(text(&out.stdout).contains("nat: no translation\n"), "{}", text(&out.stdout));
}

/// `trace --hook all`: one call through prerouting, the routing decision,
/// the filter hook and postrouting; masquerade names the outgoing
/// interface's address from the policy.
#[test]
fn a_routed_packet_is_traced_across_all_hooks() {
    let dir = tempdir("trace-all");
    let policy = dir.join("gw.rp");
    let text_of = "network lan 10.1.0.0/24\nhost web 10.2.0.10\nservice http tcp 80\n\
firewall gw {\n  interface eth0 100.64.0.1/24\n  interface eth1 10.1.0.1/24\n  \
interface eth2 10.2.0.1/24\n  forward on\n  default deny\n  ruleset main {\n    \
accept from lan service http\n    accept to web service http\n  }\n  nat {\n    \
masquerade on eth0 from lan\n    dnat to web on eth0 service http\n  }\n}\n";
    std::fs::write(&policy, text_of).unwrap();
    let policy = policy.to_str().unwrap();
    let args = |more: &[&'static str]| {
        let mut a = vec!["trace", policy, "--hook", "all", "--proto", "tcp", "--sport", "40000"];
        a.extend_from_slice(more);
        rampart(&a)
    };
    // Out of the LAN: forwarded by rule 1, masqueraded as eth0's address.
    let out = args(&[
        "--in",
        "eth1",
        "--out",
        "eth0",
        "--src",
        "10.1.0.50",
        "--dst",
        "100.64.0.2",
        "--dport",
        "80",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for line in [
        "== prerouting (nat) ==\n",
        "== routing ==\nout eth0 (as given): forward\n",
        "== forward (filter) ==\n",
        "(policy rule 1)",
        "== postrouting (nat) ==\n",
        "translated: MASQUERADE 10.1.0.50:40000 -> 100.64.0.1:40000 by R3\n",
        "reply: 100.64.0.2:80 -> 100.64.0.1:40000 leaves as 100.64.0.2:80 -> 10.1.0.50:40000\n",
    ] {
        assert!(t.contains(line), "{line:?} in\n{t}");
    }
    assert!(!t.contains('?'), "{t}");
    // From the Internet: the port forward, routed by the DMZ's network.
    let out = args(&[
        "--in",
        "eth0",
        "--src",
        "100.64.0.2",
        "--dst",
        "100.64.0.1",
        "--dport",
        "80",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "ACCEPT", "{v}");
    assert_eq!(v["route"]["decision"], "forward");
    assert_eq!(v["route"]["out"], "eth2");
    assert_eq!(v["hooks"][1]["trace"]["decided_by"]["chain"], "FORWARD", "{v}");
    assert_eq!(v["translations"][0], "DNAT 100.64.0.1:80 -> 10.2.0.10:80 by R4");
    assert_eq!(v["reply"]["leaves"], "100.64.0.1:80 -> 100.64.0.2:40000");
    // A destination no interface holds, with no --out: undecided, not guessed.
    let out = args(&["--in", "eth1", "--src", "10.1.0.50", "--dst", "192.0.2.80", "--dport", "80"]);
    let t = text(&out.stdout);
    assert!(t.contains("undecided: no interface's network holds 192.0.2.80"), "{t}");
    assert!(t.contains("verdict: UNKNOWN\n"), "{t}");
    std::fs::remove_dir_all(&dir).unwrap();
}

const TEMPLATES: &str = "/usr/share/fwbuilder-5.3.7/templates.xml";

/// `fwb_ipt`'s script for `firewall` of `fwb`, written to `dir`.
fn fwb_ipt(fwb: &std::path::Path, firewall: &str, dir: &std::path::Path) -> std::path::PathBuf {
    rampart_lab::require_tools(&[rampart_lab::Tool { name: "fwb_ipt", package: "fwbuilder" }])
        .unwrap();
    let out = std::process::Command::new("fwb_ipt")
        .arg("-f")
        .arg(fwb)
        .arg("-d")
        .arg(dir)
        .arg(firewall)
        .output()
        .unwrap();
    assert!(out.status.success(), "fwb_ipt {firewall}: {}", text(&out.stderr));
    dir.join(format!("{firewall}.fw"))
}

/// A filter table as a comparable list: chains in name order with their kind,
/// each rule's matches in a fixed order (the same rule may list them in
/// another order), jumps by chain name.
fn normalised(save: &str) -> Vec<String> {
    let im = rampart_ir::read::parse(save, rampart_diag::FileId(0), rampart_ir::read::Format::Save);
    assert!(!im.has_errors(), "{:?}\n{save}", im.diagnostics);
    let rs = im.filter().unwrap().ruleset.clone().into_ruleset();
    let mut chains = Vec::new();
    for c in &rs.chains {
        let mut out = vec![format!("{} {:?}", c.name, c.kind)];
        for r in &c.rules {
            let mut m: Vec<String> = r.matches.iter().map(|m| format!("{m:?}")).collect();
            m.sort();
            let target = match &r.target {
                rampart_ir::Target::Jump(id) | rampart_ir::Target::Goto(id) => {
                    rs.chains[id.0].name.clone()
                }
                t => format!("{t:?}"),
            };
            out.push(format!("  {m:?} -> {target}"));
        }
        chains.push(out);
    }
    // iptables-save lists user chains by name
    chains.sort();
    chains.concat()
}

/// A Firewall Builder 5.3.7 script, unmodified, is read as the kernel
/// loads it: the script runs in a namespace and `iptables-save` shows the
/// kernel's filter table, which must be what `import` prints. (The
/// templates get an iptables version, as a user sets it: without one
/// fwb_ipt writes `-d ! ADDR`, which iptables 1.8 refuses.)
#[test]
fn firewall_builder_scripts_read_as_the_kernel_loads_them() {
    rampart_lab::require_tools(&[rampart_lab::Tool::IP, rampart_lab::Tool::IPTABLES_SAVE]).unwrap();
    let dir = crate::util::tempdir("fwb-kernel");
    let xml = std::fs::read_to_string(TEMPLATES).unwrap();
    let fwb = dir.join("templates.fwb");
    std::fs::write(
        &fwb,
        xml.replace(
            "platform=\"iptables\" version=\"\"",
            "platform=\"iptables\" version=\"1.4.20\"",
        ),
    )
    .unwrap();
    for (firewall, ifaces) in
        [("web server", &["eth0"][..]), ("fw template 3", &["eth0", "eth1", "eth2"])]
    {
        let script = fwb_ipt(&fwb, firewall, &dir);
        let imported = rampart(&["import", "iptables", script.to_str().unwrap()]);
        assert_eq!(imported.status.code(), Some(0), "{firewall}: {}", text(&imported.stderr));
        let ns = rampart_lab::Netns::new().unwrap();
        for (n, i) in ifaces.iter().enumerate() {
            let peer = format!("fcpeer{n}");
            ns.run(["ip", "link", "add", i, "type", "veth", "peer", "name", &peer]).unwrap();
            ns.run(["ip", "link", "set", i, "up"]).unwrap();
        }
        ns.run(["ip", "link", "set", "lo", "up"]).unwrap();
        let run = ns.command("sh").arg(&script).arg("start").output().unwrap();
        assert!(run.status.success(), "{firewall}: {}{}", text(&run.stdout), text(&run.stderr));
        let saved = ns.stdout(["iptables-save", "-t", "filter"]).unwrap();
        assert_eq!(
            normalised(&text(&imported.stdout)),
            normalised(&saved),
            "{firewall}: import\n{}\nkernel\n{saved}",
            text(&imported.stdout)
        );
    }
}

/// The same scripts as fwb_ipt writes them from the templates as shipped
/// (`-d ! ADDR` included) trace: the multiport rule accepts web and SSH,
/// the catch-all logs and drops the rest, and `stop`'s ACCEPT policies,
/// which never run on start, are not read.
#[test]
fn firewall_builder_scripts_trace_and_import() {
    let dir = crate::util::tempdir("fwb-trace");
    let script = fwb_ipt(std::path::Path::new(TEMPLATES), "web server", &dir);
    let script = script.to_str().unwrap();
    let imported = rampart(&["import", "iptables", script]);
    assert_eq!(imported.status.code(), Some(0), "{}", text(&imported.stderr));
    let rules = text(&imported.stdout);
    assert!(rules.contains(":INPUT DROP") && rules.contains(":OUTPUT DROP"), "{rules}");
    assert!(rules.contains("-m multiport --dports 80,22"), "{rules}");
    let verdict = |dport: &str| {
        let out = rampart(&[
            "trace",
            "--rules",
            script,
            "--json",
            "--in",
            "eth0",
            "--src",
            "198.51.100.7",
            "--dst",
            "192.168.1.10",
            "--proto",
            "tcp",
            "--dport",
            dport,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["verdict"].as_str().unwrap().to_owned(), v["logs"].clone())
    };
    assert_eq!(verdict("80").0, "ACCEPT");
    assert_eq!(verdict("22").0, "ACCEPT");
    assert_eq!(verdict("3306"), ("DROP".to_owned(), serde_json::json!(["RULE 6 -- DENY "])));
    let three = fwb_ipt(std::path::Path::new(TEMPLATES), "fw template 3", &dir);
    let out = rampart(&["import", "iptables", three.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rules = text(&out.stdout);
    assert!(rules.contains("--dports 53,25 -s 192.168.2.10/32 ! -d 192.168.1.0/24"), "{rules}");
}

/// `--in PORT` of one of the policy's bridges: the packet arrives on the
/// bridge through that port, and a port rule decides it.
#[test]
fn trace_a_bridge_port_of_the_policy() {
    let policy = "crates/lab/tests/fixtures/bridge-ports.rp";
    let out = rampart(&[
        "trace",
        policy,
        "--hook",
        "forward",
        "--in",
        "vk65",
        "--out",
        "vk63",
        "--src",
        "192.168.50.15",
        "--dst",
        "192.168.50.13",
        "--proto",
        "icmp",
        "--icmp-type",
        "8",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with(
            "packet: forward icmp 192.168.50.15 -> 192.168.50.13 type 8/0 in virbr6 out virbr6 \
             physdev-in vk65 physdev-out vk63 bridged"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("-m physdev --physdev-in vk65 -m comment"), "{stdout}");
    assert!(stdout.ends_with("verdict: DROP by RULE_2 2\n"), "{stdout}");
}

/// ufw's rules start with `-m addrtype`: with the host's addresses the
/// trace tells the host's own address from a broadcast; without them, the
/// destination of an input packet counts as local, and the trace says so.
#[test]
fn ufw_rules_decide_with_address_types() {
    const UFW: &str = "crates/cli/tests/fixtures/ufw.save";
    let trace = |dst: &str, dport: &str, local: &[&str]| {
        let mut args = vec!["trace", "--rules", UFW, "--in", "eth0", "--src", "10.0.0.9"];
        args.extend(["--dst", dst, "--proto", "udp", "--dport", dport]);
        for l in local {
            args.extend(["--local", l]);
        }
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };
    let (out, err) = trace("10.0.0.5", "22", &[]);
    assert!(
        out.contains("ufw-not-local 1") && out.ends_with("verdict: DROP (policy of INPUT)\n"),
        "{out}"
    );
    assert!(err.contains("10.0.0.5 counts as LOCAL") && err.contains("--local"), "{err}");

    let (out, err) = trace("10.0.0.255", "5000", &["10.0.0.5/24"]);
    assert!(out.contains("ufw-not-local 3"), "a broadcast returns from ufw-not-local: {out}");
    assert!(out.ends_with("verdict: DROP by ufw-skip-to-policy-input 1\n"), "{out}");
    assert!(!err.contains("LOCAL"), "with the host's addresses, nothing is assumed: {err}");
    assert!(err.contains("taken as coming under the rate"), "ufw's log limits: {err}");

    // A host with the address 10.0.0.255/16 sees a local address there.
    let (out, _) = trace("10.0.0.255", "5000", &["10.0.0.255/16"]);
    assert!(out.contains("ufw-not-local 1"), "{out}");
    assert!(!out.contains("UNKNOWN"), "{out}");
}

/// A run-time set's elements are not in the ruleset: a rule on it is
/// undecided until the packet is said to be in the set or not.
#[test]
fn trace_a_run_time_set_only_as_told() {
    let dir = crate::util::tempdir("trace-set");
    let policy = dir.join("s.rp");
    std::fs::write(
        &policy,
        "set blocklist ipv4 timeout 1h\nservice ssh tcp 22\nfirewall gw {\n interface eth0 10.0.0.1/24\n \
         ruleset main {\n  deny from blocklist\n  accept service ssh\n }\n}\n",
    )
    .unwrap();
    let trace = |extra: &[&str]| {
        let mut args = vec![
            "trace",
            policy.to_str().unwrap(),
            "--src",
            "192.0.2.7",
            "--dst",
            "10.0.0.1",
            "--proto",
            "tcp",
            "--dport",
            "22",
        ];
        args.extend(extra);
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let unknown = trace(&[]);
    assert!(unknown.contains("--in-set SET"), "{unknown}");
    assert!(!unknown.contains("verdict: ACCEPT by"), "{unknown}");
    assert!(trace(&["--in-set", "blocklist"]).contains("verdict: DROP by INPUT"));
    assert!(trace(&["--not-in-set", "blocklist"]).contains("verdict: ACCEPT by INPUT"));
}

/// `--ipset-file`: the members of the ipsets, as `ipset save` lists them,
/// decide `-m set` by the address each rule looks at.
#[test]
fn ipset_members_from_a_file_decide_set_matches() {
    let dir = tempdir("ipset-file");
    let rules = dir.join("rules.save");
    std::fs::write(
        &rules,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -m set --match-set f2b-sshd src -j REJECT\nCOMMIT\n",
    )
    .unwrap();
    let members = dir.join("ipset.save");
    std::fs::write(
        &members,
        "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\nadd f2b-sshd 192.0.2.7 timeout 300\n",
    )
    .unwrap();
    let trace = |src: &str| {
        let out = rampart(&[
            "trace",
            "--rules",
            rules.to_str().unwrap(),
            "--in",
            "eth0",
            "--src",
            src,
            "--dst",
            "10.0.0.1",
            "--proto",
            "tcp",
            "--dport",
            "22",
            "--ipset-file",
            members.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(trace("192.0.2.7").ends_with("verdict: REJECT by INPUT 1\n"));
    assert!(trace("192.0.2.8").ends_with("verdict: ACCEPT (policy of INPUT)\n"));
}

/// `rampart trace` of the office gateway example with `args` (split at
/// spaces); the trace must succeed.
fn trace_office(args: &str) -> String {
    let mut argv = vec!["trace", "examples/office-gateway.rp", "--firewall", "gw"];
    argv.extend(args.split_whitespace());
    let out = rampart(&argv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn trace_office_admin_shell() {
    insta::assert_snapshot!(trace_office(
        "--in eth1 --src 10.1.0.5 --dst 10.1.0.1 --proto tcp --sport 40000 --dport 22"
    ));
}

#[test]
fn trace_office_blocked_source_is_logged_and_dropped() {
    insta::assert_snapshot!(trace_office(
        "--in eth0 --src 203.0.113.9 --dst 192.0.2.1 --proto tcp --sport 40000 --dport 22"
    ));
}

/// The published web server: DNAT in prerouting, then the forward rule.
const PUBLISHED_WEB: &str =
    "--hook all --in eth0 --src 198.18.0.9 --dst 192.0.2.1 --proto tcp --sport 40000 --dport 443";

#[test]
fn trace_office_published_web_server() {
    insta::assert_snapshot!(trace_office(PUBLISHED_WEB));
}

#[test]
fn trace_office_published_web_server_json() {
    insta::assert_snapshot!(trace_office(&format!("{PUBLISHED_WEB} --json")));
}

/// A LAN client's DNS query leaves masqueraded as the gateway.
#[test]
fn trace_office_lan_masqueraded_out() {
    insta::assert_snapshot!(trace_office(
        "--hook all --in eth1 --out eth0 --src 10.1.0.7 --dst 198.18.0.9 --proto udp --sport 5353 --dport 53"
    ));
}
