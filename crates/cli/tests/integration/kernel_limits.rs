//! Names and nesting the kernel refuses are refused by `check`, with the
//! place, never by a load that fails halfway. Each limit is shown twice in
//! a namespace: the kernel (or iptables) takes the raw text at the limit
//! and refuses it one past; Rampart compiles a policy at the limit into
//! rulesets that load, and refuses the policy one past.

use std::process::Stdio;

use rampart_lab::{Netns, Tool, require_tools};
use serde_json::Value;

use crate::util::{rampart, tempdir, text};

const IP6TABLES: Tool = Tool { name: "ip6tables", package: "iptables" };

fn tools() {
    require_tools(&[Tool::IP, Tool::IPTABLES, Tool::IPTABLES_RESTORE, Tool::NFT, IP6TABLES])
        .unwrap();
}

/// Writes `policy` and runs `rampart ARGS... FILE`.
fn run(name: &str, policy: &str, args: &[&str]) -> std::process::Output {
    let dir = tempdir(name);
    let file = dir.join("p.rp");
    std::fs::write(&file, policy).unwrap();
    let mut all = args.to_vec();
    all.push(file.to_str().unwrap());
    rampart(&all)
}

/// The errors of `rampart check`: code, line, column.
fn errors(name: &str, policy: &str) -> Vec<(String, u64, u64)> {
    let out = run(name, policy, &["check", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<_> = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            let at = &d["location"];
            (
                d["code"].as_str().unwrap().to_owned(),
                at["line"].as_u64().unwrap_or(0),
                at["column"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(out.status.code(), Some(if errors.is_empty() { 0 } else { 1 }), "{errors:?}");
    errors
}

/// Compiles `policy` for iptables and for nft and loads both into a fresh
/// namespace.
fn loads(name: &str, policy: &str) {
    assert_eq!(errors(name, policy), []);
    let ns = Netns::new().unwrap();
    for target in ["iptables-restore", "nft"] {
        let out = run(name, policy, &["compile", "-t", target]);
        assert!(out.status.success(), "{target}: {}", text(&out.stderr));
        let tool: &[&str] =
            if target == "nft" { &["nft", "-f", "-"] } else { &["iptables-restore", "-w"] };
        let loaded = ns.run_with_input(tool, &text(&out.stdout));
        assert!(loaded.is_ok(), "{target}: {loaded:?}");
    }
}

/// Runs `argv` in `ns` with `input`: whether it succeeded.
fn takes(ns: &Netns, argv: &[&str], input: &str) -> bool {
    use std::io::Write;
    let mut child = ns
        .command(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

/// Loads a raw document into a fresh namespace: whether the tool took it.
fn raw(tool: &[&str], doc: &str) -> bool {
    takes(&Netns::new().unwrap(), tool, doc)
}

fn restore(lines: &[String]) -> bool {
    raw(&["iptables-restore", "-w"], &format!("*filter\n{}\nCOMMIT\n", lines.join("\n")))
}

fn policy(rulesets: &str, main: &str) -> String {
    format!(
        "service ssh tcp 22\nfirewall fw {{\n interface eth0 10.0.0.1/24\n forward on\n \
         ruleset main {{\n{main} }}\n{rulesets}}}\n"
    )
}

#[test]
fn chain_names_fit_iptables_after_the_hook_suffix() {
    tools();
    let chain = |n: usize| "c".repeat(n);
    assert!(restore(&[format!(":{} - [0:0]", chain(28))]), "28 bytes load");
    assert!(!restore(&[format!(":{} - [0:0]", chain(29))]), "29 bytes are refused");

    // A rule set entered from INPUT, FORWARD and OUTPUT: NAME_fwd is 28 bytes.
    let set = |n: usize| {
        policy(
            &format!(" ruleset {} {{\n  accept service ssh\n }}\n", chain(n)),
            &format!("  branch {}\n", chain(n)),
        )
    };
    loads("chain-24", &set(24));
    assert_eq!(errors("chain-25", &set(25)), [("E0272".to_owned(), 8, 10)]);
}

#[test]
fn iptables_targets_and_chains_are_not_rule_set_names() {
    tools();
    // The list is complete for the iptables installed: every target
    // extension it has is in it.
    let mut targets = vec![];
    for dir in [
        "/usr/lib/x86_64-linux-gnu/xtables",
        "/usr/lib/aarch64-linux-gnu/xtables",
        "/usr/lib/xtables",
    ] {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let f = e.file_name().to_string_lossy().into_owned();
            let name = ["libxt_", "libipt_", "libip6t_"].iter().find_map(|p| f.strip_prefix(p));
            if let Some(n) = name.and_then(|n| n.strip_suffix(".so"))
                && n.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                && n != "NAT"
            {
                targets.push(n.to_owned());
            }
        }
    }
    assert!(targets.len() > 20, "no iptables extensions found: {targets:?}");
    for t in &targets {
        assert!(rampart_model::IPTABLES_NAMES.contains(&t.as_str()), "{t} is missing");
    }
    // iptables refuses each as a chain (in mangle, which has all five
    // built-in chains), and Rampart as a rule set.
    let ns = Netns::new().unwrap();
    for name in rampart_model::IPTABLES_NAMES {
        // Some targets are of one family only; Rampart writes both.
        let taken = ["iptables", "ip6tables"]
            .map(|tool| takes(&ns, &[tool, "-w", "-t", "mangle", "-N", name], ""));
        assert!(taken.contains(&false), "iptables and ip6tables -N {name} were taken");
        let p = policy(
            &format!(" ruleset {name} {{\n  accept service ssh\n }}\n"),
            &format!("  branch {name} in\n"),
        );
        assert_eq!(errors("target", &p), [("E0270".to_owned(), 8, 10)], "{name}");
    }
    // `-j LOG` runs the target even where a chain LOG exists: the branch
    // would log and go on instead of entering the rule set.
    assert!(restore(&[":LOG - [0:0]".into(), "-A INPUT -j LOG".into()]));
    // Names iptables reads as options.
    assert!(!restore(&[":-x - [0:0]".into()]));
    let p = policy(" ruleset -x {\n  accept\n }\n", "  branch -x in\n");
    assert!(errors("dash", &p).contains(&("E0271".to_owned(), 8, 10)));
    // Lower case is a different name.
    loads("lower", &policy(" ruleset log {\n  accept service ssh\n }\n", "  branch log in\n"));
}

#[test]
fn rule_set_names_never_merge_with_rampart_chains() {
    let p = policy(
        " ruleset R1_not {\n  accept\n }\n",
        "  accept in service not ssh\n  branch R1_not in\n",
    );
    assert_eq!(errors("temp", &p), [("E0273".to_owned(), 9, 10)]);
    let p = policy(
        " ruleset web {\n  accept service ssh\n }\n ruleset web_in {\n  accept service ssh\n }\n",
        "  branch web\n  branch web_in in\n",
    );
    assert_eq!(errors("suffix", &p), [("E0273".to_owned(), 12, 10)]);
}

#[test]
fn interface_names_are_names_the_kernel_gives() {
    tools();
    let ns = Netns::new().unwrap();
    let link = |name: &str| {
        let ok =
            takes(&ns, &["ip", "link", "add", name, "type", "veth", "peer", "name", "peer0"], "");
        ok && takes(&ns, &["ip", "link", "del", name], "")
    };
    assert!(link(&"i".repeat(15)), "15 bytes");
    for bad in ["i".repeat(16), "a/b".into(), "a:b".into(), "a b".into(), "..".into()] {
        assert!(!link(&bad), "the kernel took `{bad}`");
    }
    let fw = |iface: &str| {
        format!(
            "firewall fw {{\n interface {iface} 10.0.0.1/24\n ruleset main {{\n  accept on {iface} in\n }}\n}}\n"
        )
    };
    loads("if-15", &fw(&"i".repeat(15)));
    let codes = |p: &str| errors("if", p).into_iter().map(|e| (e.0, e.1, e.2)).collect::<Vec<_>>();
    assert_eq!(codes(&fw(&"i".repeat(16))), [("E0274".to_owned(), 2, 12)]);
    for bad in ["a/b", "a:b", "a%b", ".."] {
        assert_eq!(codes(&fw(bad)), [("E0274".to_owned(), 2, 12)], "{bad}");
    }
}

#[test]
fn uid_minus_one_is_refused() {
    tools();
    let ns = Netns::new().unwrap();
    let owner = |uid: &str| {
        takes(&ns, &["iptables", "-w", "-A", "OUTPUT", "-m", "owner", "--uid-owner", uid], "")
    };
    assert!(owner("4294967294"));
    assert!(!owner("4294967295"));
    let p = |uid: &str| {
        format!(
            "user u uid {uid}\nfirewall fw {{\n interface eth0 10.0.0.1/24\n ruleset main {{\n  accept user u out\n }}\n}}\n"
        )
    };
    loads("uid-max", &p("4294967294"));
    assert_eq!(errors("uid-1", &p("4294967295")), [("E0275".to_owned(), 1, 12)]);
    // Past 32 bits it is no number at all.
    assert_eq!(errors("uid-33", &p("4294967296")), [("E0221".to_owned(), 1, 12)]);
}

#[test]
fn log_prefixes_fit_the_log_target() {
    tools();
    let ns = Netns::new().unwrap();
    let logged = |prefix: &str| {
        let doc = format!("*filter\n-F INPUT\n-A INPUT -j LOG --log-prefix \"{prefix}\"\nCOMMIT\n");
        takes(&ns, &["iptables-restore", "-w"], &doc)
            .then(|| ns.stdout(["iptables-save", "-t", "filter"]).unwrap())
    };
    let (p29, p30) = ("p".repeat(29), "p".repeat(30));
    assert!(logged(&p29).unwrap().contains(&format!("--log-prefix {p29}")), "29 bytes are kept");
    let cut = logged(&p30).unwrap();
    assert!(!cut.contains(&p30) && cut.contains(&p29), "a 30th byte is cut silently: {cut}");
    assert!(logged("").is_none(), "an empty prefix is refused");

    // `%N` of rule 1 is one byte: with 28 more the prefix is 29.
    let p = |text: &str| {
        format!(
            "service ssh tcp 22\nfirewall fw {{\n interface eth0 10.0.0.1/24\n log-prefix \"{text}\"\n \
             ruleset main {{\n  accept service ssh in log\n }}\n}}\n"
        )
    };
    loads("prefix-29", &p(&format!("%N{}", "p".repeat(28))));
    assert_eq!(
        errors("prefix-30", &p(&format!("%N{}", "p".repeat(29)))),
        [("E0209".to_owned(), 6, 3)]
    );
    assert_eq!(errors("prefix-0", &p("")), [("E0215".to_owned(), 4, 13)]);
}

/// `main` branching `levels` rule sets deep, one hook each.
fn nested(levels: usize) -> String {
    let mut sets = String::new();
    for i in 1..=levels {
        let next = if i < levels { format!("  branch b{} in\n", i + 1) } else { String::new() };
        sets.push_str(&format!(" ruleset b{i} {{\n{next}  accept service ssh in\n }}\n"));
    }
    policy(&sets, "  branch b1 in\n")
}

#[test]
fn chains_nest_no_deeper_than_the_kernel_follows() {
    tools();
    let chain = |jumps: usize, verb: &str| {
        let mut doc = String::from(
            "table inet t {\n chain input { type filter hook input priority 0; jump c1; }\n",
        );
        for i in 1..=jumps {
            let body = if i < jumps { format!("{verb} c{}", i + 1) } else { "accept".into() };
            doc.push_str(&format!(" chain c{i} {{ {body}; }}\n"));
        }
        doc + "}\n"
    };
    assert!(raw(&["nft", "-f", "-"], &chain(15, "jump")), "15 jumps load");
    assert!(!raw(&["nft", "-f", "-"], &chain(16, "jump")), "16 jumps are refused");
    assert!(!raw(&["nft", "-f", "-"], &chain(16, "goto")), "gotos count as jumps");
    let ipt = |jumps: usize| {
        let mut lines: Vec<String> = (1..=jumps).map(|i| format!(":c{i} - [0:0]")).collect();
        lines.push("-A INPUT -j c1".into());
        lines.extend((1..jumps).map(|i| format!("-A c{i} -j c{}", i + 1)));
        lines.push(format!("-A c{jumps} -j ACCEPT"));
        restore(&lines)
    };
    assert!(ipt(15), "iptables: 15 jumps load");
    assert!(!ipt(16), "iptables: 16 jumps are refused");

    loads("depth-15", &nested(15));
    // The 16th set's branch is written in b15, on line 8 + 4 * 14 + 1.
    assert_eq!(errors("depth-16", &nested(16)), [("E0276".to_owned(), 65, 3)]);
    // `compile` checks the forms it writes, and writes nothing.
    for target in ["iptables-restore", "nft"] {
        let out = run("depth-16", &nested(16), &["compile", "-t", target]);
        assert_eq!(out.status.code(), Some(1), "{target}");
        assert!(out.stdout.is_empty(), "{target}");
        assert!(text(&out.stderr).contains("E0276"), "{target}: {}", text(&out.stderr));
    }
    // `return ... not` nests the rest of a set a level deeper in iptables.
    let returns: String =
        (1..=20).map(|i| format!("  return from not 10.0.{i}.1, 10.0.{i}.2\n")).collect();
    let p =
        policy(&format!(" ruleset r {{\n{returns}  accept service ssh\n }}\n"), "  branch r in\n");
    assert_eq!(errors("returns", &p).first().map(|e| e.0.as_str()), Some("E0276"));
}
