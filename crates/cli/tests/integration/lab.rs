//! `rampart lab` as a user runs it (root; the kernel tests' rules apply:
//! a missing tool fails with an install hint, nothing skips).

use std::process::Command;
use std::time::Duration;

use rampart_lab::wait_until;

use crate::util::{command, rampart, root, tempdir, text};

fn namespaces() -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().expect("run ip (iproute2)");
    text(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[test]
fn lab_file_errors_name_file_line_and_column() {
    let out = rampart(&["lab", "run", "crates/cli/tests/fixtures/errors.lab"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    for want in [
        "E0508", // 10.0.0.1/33
        "E0505", // colour
        "E0514", // b.eth0
        "E0519", // mitm a from a
        "crates/cli/tests/fixtures/errors.lab:4:18",
        "crates/cli/tests/fixtures/errors.lab:8:3",
    ] {
        assert!(err.contains(want), "no `{want}` in:\n{err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn an_iptables_rules_file_is_not_loaded_on_nft() {
    let out = rampart(&["lab", "run", "--backend", "nft", "crates/cli/tests/fixtures/wrong.lab"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("it runs with --backend iptables only"));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_probe_against_its_expectation_exits_1_and_says_why() {
    let out = rampart(&["lab", "run", "--json", "crates/cli/tests/fixtures/wrong.lab"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(v["failed"], 1);
    let p = &v["probes"][1];
    assert_eq!(p["seen"], "blocked");
    assert_eq!(p["predicted"], "blocked");
    assert!(p["problems"][0].as_str().unwrap().contains("expected pass"));
    assert!(p["logs"][0].as_str().unwrap().starts_with("RULE 1 -- DENY "));
    let left = namespaces();
    assert!(!left.iter().any(|n| n.starts_with("rl-wrong-expectation-")), "{left:?}");
}

#[test]
fn lab_down_removes_what_lab_up_left_standing() {
    let up = rampart(&["lab", "up", "examples/spice-client.lab"]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    let stdout = text(&up.stdout);
    // "  mysrv        ip netns exec rl-spice-client-<pid>-0-mysrv bash"
    let made: Vec<String> = stdout
        .lines()
        .filter(|l| l.ends_with(" bash"))
        .filter_map(|l| l.split_whitespace().skip_while(|w| *w != "exec").nth(1))
        .map(String::from)
        .collect();
    assert_eq!(made.len(), 2, "{stdout}");
    let standing = namespaces();
    for n in &made {
        assert!(standing.contains(n), "{n} is not standing");
    }
    assert!(stdout.contains("setpriv --reuid 1021"), "{stdout}");
    // The listeners outlive `lab up`.
    let srv = made.iter().find(|n| n.ends_with("-mysrv")).unwrap();
    let pids = Command::new("ip").args(["netns", "pids", srv]).output().unwrap();
    assert!(!text(&pids.stdout).trim().is_empty(), "no listener in {srv}");

    let down = rampart(&["lab", "down", "examples/spice-client.lab"]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down.stderr));
    for n in &made {
        assert!(text(&down.stdout).contains(&format!("removed {n}")), "{}", text(&down.stdout));
    }
    let after = namespaces();
    assert!(!made.iter().any(|n| after.contains(n)), "still there: {after:?}");
}

#[test]
fn ctrl_c_removes_the_lab() {
    let child = command()
        .args(["lab", "run", "examples/office-gateway.lab"])
        .current_dir(root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rampart");
    let prefix = format!("rl-office-gateway-{}-", child.id());
    // Wait until the lab stands (its namespaces exist), then interrupt.
    let up = || namespaces().iter().filter(|n| n.starts_with(&prefix)).count() >= 8;
    assert!(wait_until(Duration::from_secs(30), up), "lab never came up");
    std::thread::sleep(Duration::from_millis(500));
    let id = child.id().to_string();
    Command::new("kill").args(["-INT", &id]).status().expect("run kill (procps)");
    let out = child.wait_with_output().expect("wait for rampart");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted: lab removed"));
    let left: Vec<String> = namespaces().into_iter().filter(|n| n.starts_with(&prefix)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn lab_down_leaves_a_running_lab_alone() {
    let child = command()
        .args(["lab", "run", "crates/lab/tests/fixtures/linked-bridges.lab"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rampart");
    let prefix = format!("rl-linked-bridges-{}-", child.id());
    let up = || namespaces().iter().filter(|n| n.starts_with(&prefix)).count() >= 3;
    assert!(wait_until(Duration::from_secs(30), up), "lab never came up");
    let down = rampart(&["lab", "down", "crates/lab/tests/fixtures/linked-bridges.lab"]);
    assert_eq!(down.status.code(), Some(0));
    let said = text(&down.stdout);
    assert!(said.contains(&format!("run by process {} is still running", child.id())), "{said}");
    assert!(!said.contains(&format!("removed {prefix}")), "{said}");
    // The run goes on undisturbed and passes.
    let out = child.wait_with_output().expect("wait for rampart");
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn rampart_test_answers_every_shipped_lab_offline() {
    let out = rampart(&[
        "test",
        "examples/kvm-bridges.lab",
        "examples/office-gateway.lab",
        "examples/spice-client.lab",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 13 + 16 + 8, "{stdout}");
    assert!(stdout.contains("examples/kvm-bridges.lab: 13 probe(s), 13 as expected, 0 failed"));
}

#[test]
fn rampart_test_reports_a_wrong_expectation_as_json_and_junit() {
    let lab = "crates/cli/tests/fixtures/wrong.lab";
    let out = rampart(&["test", "--json", lab]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON reports");
    let p = &v[0]["probes"][1];
    assert_eq!(p["seen"], "blocked");
    assert!(p["problems"][0].as_str().unwrap().contains("expected pass, trace said blocked"));
    assert_eq!(p["logs"][0], "RULE 1 -- DENY ");

    let out = rampart(&["test", "--junit", lab]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML");
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 2);
    let failures: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].attribute("message").unwrap().contains("expected pass"));
    assert_eq!(doc.root_element().attribute("failures"), Some("1"));
}

/// A lab whose `rules` file is not an iptables ruleset stops before
/// anything is built, naming the file, instead of probing an empty one.
#[test]
fn a_lab_with_rules_that_are_not_a_ruleset_is_refused() {
    let dir = crate::util::tempdir("lab-nft-rules");
    let lab = std::fs::read_to_string(
        crate::util::root().join("crates/lab/tests/fixtures/bridge-mitm.lab"),
    )
    .unwrap()
    .replace("rules \"bridge-mitm.rules\"", "rules \"x.nft\"");
    std::fs::write(dir.join("x.nft"), "table bridge filter {\n}\n").unwrap();
    let file = dir.join("nft.lab");
    std::fs::write(&file, lab).unwrap();
    for cmd in ["run", "up"] {
        let out = rampart(&["lab", cmd, file.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}{err}", text(&out.stdout));
        assert!(err.contains("x.nft") && err.contains("nftables ruleset"), "{err}");
    }
    let out = rampart(&["test", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("x.nft"), "{}", text(&out.stderr));
}

/// `expect` lines: `rampart test` reports each as a test case, `check`
/// refuses the policy with the packet that differs and the rule that
/// decides it, in file:line:col.
#[test]
fn expect_lines_are_checked_by_check_and_test() {
    let out = rampart(&["test", "examples/office-gateway.rp"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("5 expectation(s), 5 hold, 0 failed"), "{stdout}");

    let file = "crates/cli/tests/fixtures/expect-fails.rp";
    let out = rampart(&["check", file]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("E0601"), "{err}");
    assert!(err.contains("tcp from 10.1.0.66 port 1 to "), "{err}");
    assert!(err.contains(&format!("at {file}:8:5: rule 1 decides drop")), "{err}");
    let out = rampart(&["check", file, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON diagnostics");
    let d = v.as_array().unwrap().iter().find(|d| d["code"] == "E0601").expect("E0601");
    assert_eq!(d["location"]["line"], 12);
    assert_eq!(d["spans"][1]["line"], 8);

    let out = rampart(&["test", "--json", file]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let e = &v[0]["expectations"];
    assert_eq!((e[0]["result"].as_str(), e[1]["result"].as_str()), (Some("holds"), Some("fails")));
    assert_eq!((e[1]["line"].as_u64(), e[1]["rule"].as_u64()), (Some(12), Some(1)));
    assert_eq!(v[0]["failed"], 1);

    let out = rampart(&["test", "--junit", file]);
    assert_eq!(out.status.code(), Some(1));
    let xml = text(&out.stdout);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("testcase")).count(), 2);
    let failures: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].attribute("message").unwrap().contains("10.1.0.66"), "{xml}");
}

/// `rampart matrix`: the gateway's zones, a cell, the spoofing warnings.
#[test]
fn matrix_of_a_saved_ruleset_in_address_classes_with_what_it_approximates() {
    let out = rampart(&[
        "matrix",
        "--rules",
        "crates/cli/tests/fixtures/service.save",
        "--chain",
        "INPUT",
        "--proto",
        "tcp",
        "--sport",
        "10000",
        "--dport",
        "22",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON matrix");
    let class = |name: &str| {
        v["classes"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap()["ranges"]
            .clone()
    };
    assert_eq!(v["classes"].as_array().unwrap().len(), 4, "{v}");
    assert_eq!(class("c"), serde_json::json!(["10.1.0.0-10.1.255.255"]));
    assert_eq!(class("d"), serde_json::json!(["192.0.2.0-192.0.2.255"]));
    // 10/8 but 10.0.0.66 reaches 10.1/16; 192.0.2.0/24 anything, if it
    // comes in on eth1, which the rules say nothing of here.
    let pairs: Vec<(String, String)> = serde_json::from_value(v["allowed"].clone()).unwrap();
    assert!(pairs.contains(&("b".into(), "c".into())), "{pairs:?}");
    assert!(!pairs.contains(&("a".into(), "c".into())), "{pairs:?}");
    let approx = &v["approximated"][0];
    assert_eq!((approx["rule"].as_u64(), approx["text"].as_str()), (Some(3), Some("-i eth1")));
    // Said without `trace`'s `--in`, which `matrix` does not take.
    assert_eq!(approx["why"], "the packet's input interface is not given", "{approx}");
    // Without --chain and --proto there is no service to speak of.
    let out = rampart(&["matrix", "--rules", "crates/cli/tests/fixtures/service.save"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

/// The same policy compiled for both backends gives the same service
/// matrix: nft text (the classifier form, verdict maps and all) is read
/// as the trace reads it. Two base chains at one hook are refused.
#[test]
fn matrix_of_an_nft_ruleset_is_that_of_the_same_iptables_rules() {
    root();
    let d = tempdir("matrix-nft");
    let (ipt, nft) = (d.join("gw.rules"), d.join("gw.nft"));
    for (target, out) in [("iptables-restore", &ipt), ("nft", &nft)] {
        let o = out.to_str().unwrap();
        let c = rampart(&["compile", "examples/office-gateway.rp", "-t", target, "-o", o]);
        assert_eq!(c.status.code(), Some(0), "{}", text(&c.stderr));
    }
    let matrix = |file: &std::path::Path, chain: &str, port: &str| {
        let f = file.to_str().unwrap();
        let args = ["matrix", "--rules", f, "--chain", chain, "--proto", "tcp", "--dport", port];
        let out = rampart(&[&args[..], &["--json"]].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON matrix");
        (v["classes"].clone(), v["allowed"].clone())
    };
    for (chain, port) in [("INPUT", "22"), ("FORWARD", "80"), ("FORWARD", "25")] {
        let (classes, allowed) = matrix(&ipt, chain, port);
        assert!(allowed.as_array().is_some_and(|a| !a.is_empty()), "{chain} {port}: {allowed}");
        assert_eq!(matrix(&nft, chain, port), (classes, allowed), "{chain} tcp {port}");
    }
    let two = d.join("two.nft");
    std::fs::write(
        &two,
        "table ip a {\n chain input { type filter hook input priority 0; policy accept; }\n}\n\
         table ip b {\n chain input { type filter hook input priority 10; policy drop; }\n}\n",
    )
    .unwrap();
    let args = ["matrix", "--rules", two.to_str().unwrap(), "--chain", "INPUT", "--proto", "tcp"];
    let out = rampart(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("2 filter base chains at hook input"),
        "{}",
        text(&out.stderr)
    );
    // Bytes that are not text are refused as such (E0802), not as unreadable.
    let binary = d.join("binary.rules");
    std::fs::write(&binary, b"\xff\xfe\x00bin").unwrap();
    let args =
        ["matrix", "--rules", binary.to_str().unwrap(), "--chain", "INPUT", "--proto", "tcp"];
    let out = rampart(&args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("E0802"), "{}", text(&out.stderr));
}

#[test]
fn matrix_shows_what_reaches_what_and_who_accepts_spoofed_sources() {
    let out = rampart(&["matrix", "examples/office-gateway.rp", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON matrix");
    let zones: Vec<&str> =
        v["zones"].as_array().unwrap().iter().map(|z| z["name"].as_str().unwrap()).collect();
    assert_eq!(zones, ["self", "eth0", "eth1", "eth2"]);
    let cell = v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"] == "eth0" && c["to"] == "eth2")
        .expect("eth0 -> eth2");
    let services: Vec<&str> = cell["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["tcp 25", "tcp 80", "tcp 443"]);
    assert_eq!(cell["allowed"][1]["rules"], serde_json::json!([6]));
    let spoofed: Vec<(&str, &str)> = v["spoofing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["interface"].as_str().unwrap(), s["claims"].as_str().unwrap()))
        .collect();
    assert!(
        spoofed.contains(&("eth2", "eth1")) && !spoofed.iter().any(|s| s.0 == "eth0"),
        "{spoofed:?}"
    );

    let out = rampart(&["matrix", "examples/office-gateway.rp"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("from \\ to        | self "), "{stdout}");
    assert!(stdout.contains("| smtp (tcp 25)*"), "{stdout}");
    assert!(
        stderr.contains("W0340")
            && stderr.contains("eth2 accepts packets claiming addresses behind eth1"),
        "{stderr}"
    );
}
