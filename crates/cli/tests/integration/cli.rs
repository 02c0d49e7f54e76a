//! The `rampart` binary as a user runs it: exit codes, messages, files.

use crate::util::{rampart, tempdir, text};

#[test]
fn check_reports_every_error_with_location_and_exits_1() {
    let out = rampart(&["check", "crates/cli/tests/fixtures/errors.rp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("check_errors", text(&out.stderr));
}

#[test]
fn check_json_lists_codes_and_positions() {
    let out = rampart(&["check", "--json", "crates/cli/tests/fixtures/errors.rp"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let codes: Vec<&str> =
        v.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
    for code in
        ["E0201", "E0202", "E0203", "E0204", "E0205", "E0206", "E0207", "E0208", "E0209", "E0210"]
    {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let first = &v[0]["location"];
    assert_eq!(first["file"], "crates/cli/tests/fixtures/errors.rp");
    assert!(first["line"].as_u64().unwrap() >= 1);
}

#[test]
fn shadowed_rule_is_a_warning_not_an_error() {
    let out = rampart(&["check", "crates/cli/tests/fixtures/shadowed.rp"]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("W0301"), "{err}");
    assert!(err.contains("rule 2 can never match"), "{err}");
    // The analysis is `check`'s: compiling (any target) and applying pay
    // only for the checks that decide whether the rules can be written.
    for target in ["iptables-restore", "nft"] {
        let out = rampart(&["compile", "-t", target, "crates/cli/tests/fixtures/shadowed.rp"]);
        assert_eq!(out.status.code(), Some(0));
        assert!(!text(&out.stderr).contains("W0301"), "{target}: {}", text(&out.stderr));
    }
}

#[test]
fn compile_writes_nothing_when_the_policy_has_errors() {
    let dir = tempdir("cli");
    let target = dir.join("rules.v4");
    let out = rampart(&[
        "compile",
        "crates/cli/tests/fixtures/errors.rp",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!target.exists());
    assert!(text(&out.stderr).contains("nothing was written"));
}

#[test]
fn compile_output_is_deterministic_and_snapshotted() {
    for (name, path) in [
        ("spice_client", "examples/spice-client.rp"),
        ("office_gateway", "examples/office-gateway.rp"),
        ("kvm_bridges", "examples/kvm-bridges.rp"),
    ] {
        let a = rampart(&["compile", path]);
        let b = rampart(&["compile", path]);
        assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
        assert_eq!(a.stdout, b.stdout, "{path}: two runs differ");
        insta::assert_snapshot!(format!("compile_{name}"), text(&a.stdout));
    }
}

/// The log prefixes of each example, in both backends: the client's refused
/// consoles keep the number of the listing they replaced (`number 16`, and
/// the branches' rules count on from it), and the KVM host's bridge guards
/// are numbered on from its last rule, port by port as written.
#[test]
fn examples_log_with_the_numbers_of_their_listings() {
    let prefixes = |path: &str, target: &str| {
        let out = rampart(&["compile", path, "--target", target]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let s = text(&out.stdout);
        let mut found: Vec<String> = s
            .split("log-prefix \"")
            .skip(1)
            .chain(s.split("log prefix \"").skip(1))
            .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let numbered = |numbers: &[u32]| {
        let mut want: Vec<String> = numbers.iter().map(|n| format!("RULE {n} -- DENY ")).collect();
        want.sort();
        want
    };
    for target in ["iptables-restore", "nft"] {
        assert_eq!(prefixes("examples/spice-client.rp", target), numbered(&[0, 1, 16]), "{target}");
        let guards: Vec<u32> = [0].into_iter().chain(5..=30).collect();
        let mut want = numbered(&guards);
        if target == "nft" {
            // the bridge family's ARP guard, one prefix per guest port
            want.extend(["vk42", "vk63", "vk64", "vk65"].map(|p| format!("ARP {p} -- DENY ")));
            want.sort();
        }
        assert_eq!(prefixes("examples/kvm-bridges.rp", target), want, "{target}");
    }
    let script = rampart(&["compile", "examples/spice-client.rp", "--target", "iptables-script"]);
    let s = text(&script.stdout);
    assert!(s.contains("-A Spice_VM_1 ") && s.contains("\"R17: myself to VM 1\""), "{s}");
    assert!(s.contains("\"R18: mybro to VM 2\""), "{s}");
}

/// A rule on a bridge port is no less needed for the bridge guard before
/// it: the guard drops every IPv6 packet on the port, the rule the IPv4
/// ones from the guest's own address too, so neither is called redundant.
#[test]
fn rules_on_bridge_ports_are_not_called_redundant() {
    for policy in ["crates/lab/tests/fixtures/bridge-ports.rp", "examples/kvm-bridges.rp"] {
        let out = rampart(&["check", policy]);
        assert_eq!(out.status.code(), Some(0), "{policy}");
        let err = text(&out.stderr);
        assert!(!err.contains("W0320") && err.contains(" 0 warning(s)"), "{policy}: {err}");
    }
}

/// A rule of which no line is compiled is a warning, not a silent gap:
/// `from self` in a rule set entered from INPUT only, and traffic between
/// two other hosts with forwarding off. The same rules where their
/// packets pass compile, without it.
#[test]
fn a_rule_that_compiles_to_nothing_is_a_warning() {
    let dir = tempdir("unplaced");
    let check = |rules: &str, other: &str| {
        let policy = dir.join("p.rp");
        let body = format!(
            "service ssh tcp 22\nfirewall fw {{\n interface eth0 10.0.0.1/24\n \
             ruleset main {{\n{rules} }}\n ruleset In {{\n{other} }}\n}}\n"
        );
        std::fs::write(&policy, body).unwrap();
        let out = rampart(&["check", "--json", policy.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        v.as_array()
            .unwrap()
            .iter()
            .filter(|d| d["code"] == "W0490")
            .map(|d| (d["message"].as_str().unwrap().to_owned(), d["location"]["line"].clone()))
            .collect::<Vec<_>>()
    };
    let branch = "  branch In on eth0 in\n";
    let w = check(branch, "  accept from self service ssh\n  accept to self service ssh\n");
    assert_eq!(w, [("rule 2 compiles to nothing".to_owned(), serde_json::json!(8))]);
    let w = check("  accept from 10.0.0.5 to 10.9.0.9\n  branch In\n", "  accept from self\n");
    assert_eq!(w, [("rule 1 compiles to nothing".to_owned(), serde_json::json!(5))]);
    assert!(check(branch, "  accept to self service ssh\n").is_empty());
}

#[test]
fn compile_script_target_is_readable_and_atomic() {
    let out = rampart(&["compile", "examples/spice-client.rp", "--target", "iptables-script"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.starts_with("#!/bin/sh\n"));
    assert!(
        s.contains("echo 'rule 16 (examples/spice-client.rp:32:5): deny service spice-all log")
    );
    assert!(s.contains("<<'RAMPART_IPV4'"));
    assert!(!s.contains("-F ") && !s.contains("-X "), "the script must never flush or delete");
    assert!(s.contains("-w --noflush \"$@\" <<'RAMPART_IPV4'"), "only Rampart's chains load");
}

#[test]
fn unknown_firewall_is_an_operational_error() {
    let out = rampart(&["compile", "examples/spice-client.rp", "--firewall", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no firewall `nope` in the policy (it has: mylap)"));
}

#[test]
fn missing_policy_file_is_an_operational_error() {
    let out = rampart(&["check", "no/such/file.rp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read policy `no/such/file.rp`"));
}

#[test]
fn compile_to_file_reports_what_it_wrote() {
    let dir = tempdir("cli");
    let target = dir.join("rules.v4");
    let out = rampart(&["compile", "examples/office-gateway.rp", "-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.contains("*filter\n") && written.ends_with("COMMIT\n"));
    assert!(text(&out.stderr).contains("wrote "));
}

#[test]
fn demo_compiles_the_builtin_example() {
    let out = rampart(&["demo"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("firewall `mylap`"));
    assert!(s.contains("-A Spice_VM_1 -d 192.168.2.2/32 -o eth0 -p tcp -m tcp --dport 20002"));
    assert!(s.contains("accepted by iptables-restore --test"), "{s}");
}

/// Without root the load test cannot run: `demo` says so instead of
/// printing iptables' "Permission denied" as if the document were refused.
#[test]
fn demo_without_root_says_the_load_test_was_skipped() {
    let out = std::process::Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .arg("demo")
        .current_dir(crate::util::root())
        .output()
        .expect("run setpriv (apt-get install util-linux)");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("skipped: iptables-restore --test needs root"), "{s}");
    assert!(!s.contains("Permission denied"), "{s}");
}

#[test]
fn compile_all_writes_every_firewall_of_a_fleet() {
    let dir = tempdir("cli");
    let out = rampart(&[
        "compile",
        "crates/cli/tests/fixtures/fleet.rp",
        "--all",
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let gw1 = std::fs::read_to_string(dir.join("gw1.v4")).unwrap();
    let gw2 = std::fs::read_to_string(dir.join("gw2.v4")).unwrap();
    assert!(gw1.contains("-A INPUT -s 10.1.0.5/32 -p tcp -m tcp --dport 22"), "{gw1}");
    assert!(gw2.contains("--log-prefix \"RULE 1 -- ACCEPT \""), "{gw2}");
    assert!(text(&out.stderr).contains("wrote 2 firewall(s)"));
    // IPv6 is filtered too, by the same policy.
    assert!(dir.join("gw1.v6").exists() && dir.join("gw2.v6").exists());
    // Bundles for `apply --compiled`, one per firewall.
    let fleet = ["compile", "crates/cli/tests/fixtures/fleet.rp", "--all", "--target", "bundle"];
    let out = rampart(&[&fleet[..], &["-o", dir.to_str().unwrap()]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gw1.json")).unwrap()).unwrap();
    assert_eq!(bundle["rampart_bundle"], 3);
    assert_eq!(bundle["digest"].as_str().unwrap().len(), 64, "{bundle}");
    assert_eq!(bundle["firewall"], "gw1");
    assert!(bundle["iptables_v4"].as_str().unwrap().contains("--dport 22"), "{bundle}");
    assert!(bundle["nft"].as_str().unwrap().contains("table inet rampart"), "{bundle}");
    // without -o there is nowhere to write a fleet
    let out = rampart(&["compile", "crates/cli/tests/fixtures/fleet.rp", "--all"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn compile_never_writes_through_a_planted_symlink() {
    // A shared, world-writable output directory where someone planted
    // symlinks at every name a writer could predict.
    let dir = tempdir("symlink");
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    for planted in
        ["rules.v4.rampart-tmp", "rules.v4.v6.rampart-tmp", ".rules.v4.tmp", ".rules.v4.new"]
    {
        std::os::unix::fs::symlink(&victim, dir.join(planted)).unwrap();
    }
    let target = dir.join("rules.v4");
    let out = rampart(&["compile", "examples/spice-client.rp", "-o", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::read_to_string(&target).unwrap().contains("COMMIT"));
}

/// One of each anomaly class, with the spans of both rules: the union
/// cover of rule 3 by rules 1 and 2, a rule a later one makes redundant,
/// generalizations and correlations as notes shown with --anomalies.
#[test]
fn anomalies_of_each_class_with_both_rules() {
    let file = "crates/cli/tests/fixtures/anomalies.rp";
    let out = rampart(&["check", "--anomalies", "--json", file]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<(String, String, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_owned();
            (s("code"), s("message"), d["location"]["line"].as_u64().unwrap())
        })
        .collect();
    let has = |code: &str, msg: &str, line: u64| {
        assert!(
            found.contains(&(code.to_owned(), msg.to_owned(), line)),
            "no {code} {msg:?} at line {line} in {found:#?}"
        );
    };
    has("W0301", "rule 3 can never match", 15);
    has("W0320", "rule 4 is redundant", 16);
    has("W0322", "rule 7 generalizes rule 6 with another verdict", 19);
    has("W0321", "rules 7 and 8 overlap with different verdicts", 20);
    assert_eq!(
        v[0]["labels"][0],
        "every packet it matches is decided by rules 1, 2 together first"
    );
    // Without --anomalies the notes are counted, not shown.
    let out = rampart(&["check", file]);
    let err = text(&out.stderr);
    assert!(err.contains("W0320") && !err.contains("W0321"), "{err}");
    assert!(err.contains("2 warning(s), 6 note(s) (shown with --anomalies)"), "{err}");
    // Both rules' spans in the text: the covering rules are labelled.
    let out = rampart(&["check", "--anomalies", file]);
    let err = text(&out.stderr);
    for want in ["rule 1 is here", "rule 2 is here", "rule 5 is here", "rule 7 is here"] {
        assert!(err.contains(want), "no {want:?} in {err}");
    }
    // The other rules' places, file:line:col, in text and in JSON.
    for want in [":13:5: rule 1 is here", ":14:5: rule 2 is here", ":17:5: rule 5 is here"] {
        assert!(err.contains(&format!("  at {file}{want}")), "no {want:?} in {err}");
    }
    let shadowed = v.as_array().unwrap().iter().find(|d| d["code"] == "W0301").unwrap();
    let spans: Vec<(u64, u64, &str)> = shadowed["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["file"], file);
            (
                s["line"].as_u64().unwrap(),
                s["column"].as_u64().unwrap(),
                s["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            (15, 5, "every packet it matches is decided by rules 1, 2 together first"),
            (13, 5, "rule 1 is here"),
            (14, 5, "rule 2 is here")
        ]
    );
}

/// `-o out/rules.v4` puts IPv6 in `out/rules.v6` (not `rules.v4.v6`), and
/// `-o DIR` writes iptables-persistent's `rules.v4` and `rules.v6`.
#[test]
fn output_files_take_iptables_persistent_names() {
    let dir = tempdir("persistent-names");
    let file = dir.join("rules.v4");
    let out = rampart(&["compile", "examples/spice-client.rp", "-o", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.join("rules.v6").is_file());
    assert!(!dir.join("rules.v4.v6").exists());
    let sub = dir.join("etc-iptables");
    std::fs::create_dir(&sub).unwrap();
    let out = rampart(&["compile", "examples/spice-client.rp", "-o", sub.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sub.join("rules.v4").is_file() && sub.join("rules.v6").is_file());
    assert_eq!(std::fs::read(sub.join("rules.v4")).unwrap(), std::fs::read(&file).unwrap());
}

/// A generated policy can have tens of thousands of one warning: the text
/// shows the first 20 of each code and counts the rest; `--all` and
/// `--json` give every one.
#[test]
fn many_warnings_of_one_code_are_counted_past_the_first_twenty() {
    let dir = tempdir("many-warnings");
    let rules: String =
        (10..35).map(|i| format!("    accept from 10.1.0.{i} service ssh\n")).collect();
    let policy = dir.join("p.rp");
    std::fs::write(
        &policy,
        format!(
            "network lan 10.1.0.0/24\nservice ssh tcp 22\nfirewall gw {{\n  \
             interface eth1 10.1.0.1/24\n  ruleset main {{\n    deny from lan service ssh\n{rules}  }}\n}}\n"
        ),
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    let shown = |args: &[&str]| {
        let out = rampart(args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        (err.lines().filter(|l| *l == "W0301").count(), err)
    };
    let (n, err) = shown(&["check", policy]);
    assert_eq!(n, 20, "{err}");
    assert!(err.contains("note: 5 more W0301 not shown (--all shows every one"), "{err}");
    assert!(err.contains("no errors, 25 warning(s)"), "{err}");
    let (n, err) = shown(&["check", "--all", policy]);
    assert_eq!(n, 25, "{err}");
    assert!(!err.contains("not shown"), "{err}");
    let out = rampart(&["check", "--json", policy]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().iter().filter(|d| d["code"] == "W0301").count(), 25);
}
