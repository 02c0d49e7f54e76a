//! nftables rulesets as `nft -j list ruleset` prints them: `trace --rules`
//! walks every base chain of the hook in priority order, `import nft`
//! prints what was understood.

use crate::util::{rampart, text};

const JSON: &str = "crates/ir/tests/fixtures/nft-list-ruleset.json";

fn trace(args: &[&str]) -> String {
    let mut all =
        vec!["trace", "--rules", JSON, "--hook", "input", "--in", "eth0", "--dst", "10.0.0.1"];
    all.extend_from_slice(args);
    let out = rampart(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn an_accept_in_one_table_goes_on_to_the_next_by_priority() {
    // table ip other (priority -10) drops 9.9.9.9 before table inet fw runs
    let out = trace(&["--src", "9.9.9.9", "--proto", "tcp", "--dport", "85"]);
    assert!(out.contains("table ip other chain in2 (hook input, priority -10)"), "{out}");
    assert!(!out.contains("table inet fw"), "{out}");
    assert!(out.ends_with("final verdict: DROP\n"), "{out}");
    // anyone else passes it (policy accept) and meets the named set in fw
    let out = trace(&["--src", "10.0.0.5", "--proto", "tcp", "--dport", "85", "--state", "new"]);
    assert!(out.contains("table inet fw chain input (hook input, priority 0)"), "{out}");
    assert!(out.ends_with("final verdict: ACCEPT\n"), "{out}");
    // a verdict map key, and a rate limit left undecided
    assert!(trace(&["--src", "1.1.1.1", "--proto", "tcp", "--dport", "25"]).ends_with("DROP\n"));
    let limited = trace(&["--src", "1.1.1.1", "--proto", "tcp", "--dport", "7"]);
    assert!(limited.ends_with("final verdict: UNKNOWN\n"), "{limited}");
}

#[test]
fn import_nft_prints_the_base_chains_in_order() {
    let out = rampart(&["import", "nft", JSON]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out.stdout);
    let other = t.find("# table ip other chain in2: type filter hook input priority -10").unwrap();
    let fw = t.find("# table inet fw chain input: type filter hook input priority 0").unwrap();
    assert!(other < fw, "{t}");
    assert!(t.contains("-A web -s 1.2.3.4/32 -j RETURN"), "{t}");
}

#[test]
fn nft_text_is_read_as_the_kernel_reads_it() {
    let out = rampart(&[
        "trace",
        "--rules",
        "crates/ir/tests/fixtures/nft-list-ruleset.nft",
        "--hook",
        "input",
        "--in",
        "eth0",
        "--src",
        "9.9.9.9",
        "--dst",
        "10.0.0.1",
        "--proto",
        "udp",
        "--dport",
        "53",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("final verdict: DROP\n"), "{}", text(&out.stdout));
    // a ruleset without a base chain at the hook lets everything pass, and says so
    let dir = crate::util::tempdir("nft-empty");
    let empty = dir.join("empty.nft");
    std::fs::write(&empty, "flush ruleset\ntable inet filter {\n}\n").unwrap();
    let out =
        rampart(&["trace", "--rules", empty.to_str().unwrap(), "--proto", "tcp", "--dport", "22"]);
    let t = text(&out.stdout);
    assert!(t.contains("no base chain at hook input") && t.ends_with("ACCEPT\n"), "{t}");
}

/// `trace --live` inside a namespace holding an iptables-nft filter table
/// and an nft table on the same hook: both are walked, by priority.
#[test]
fn live_reads_nft_and_iptables_nft_together() {
    use rampart_lab::{Netns, Tool, require_tools};
    require_tools(&[Tool::NFT, Tool::IP]).unwrap();
    let ns = Netns::new().unwrap();
    ns.run_with_input(
        &["iptables-nft-restore", "-w"],
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -s 10.9.9.9/32 -m comment --comment \"by iptables\" -j DROP\nCOMMIT\n",
    )
    .unwrap();
    ns.run_with_input(
        &["nft", "-f", "-"],
        "table inet t {\n chain in {\n  type filter hook input priority -5; policy accept;\n  tcp dport 22 drop\n }\n}\n",
    )
    .unwrap();
    let live = |src: &str, port: &str| {
        let bin = env!("CARGO_BIN_EXE_rampart");
        ns.run([
            bin, "trace", "--live", "--hook", "input", "--in", "eth0", "--src", src, "--dst",
            "10.0.0.1", "--proto", "tcp", "--dport", port,
        ])
        .unwrap()
    };
    let by_iptables = live("10.9.9.9", "80");
    assert!(
        by_iptables.contains("table inet t chain in (hook input, priority -5)"),
        "{by_iptables}"
    );
    assert!(
        by_iptables.contains("table ip filter chain INPUT (hook input, priority 0)"),
        "{by_iptables}"
    );
    assert!(by_iptables.contains("by iptables"), "{by_iptables}");
    assert!(by_iptables.ends_with("final verdict: DROP\n"), "{by_iptables}");
    let by_nft = live("10.9.9.9", "22");
    assert!(!by_nft.contains("table ip filter"), "{by_nft}");
    assert!(by_nft.ends_with("final verdict: DROP\n"), "{by_nft}");
    assert!(live("1.1.1.1", "80").ends_with("final verdict: ACCEPT\n"));
    // Across every hook: at each, every table's chains by priority. The
    // host's addresses (10.0.0.1 on lo) route the packet to input.
    ns.run(["ip", "link", "set", "lo", "up"]).unwrap();
    ns.run(["ip", "addr", "add", "10.0.0.1/32", "dev", "lo"]).unwrap();
    let all = |src: &str, port: &str, out: &[&str]| {
        let run = ns
            .command(env!("CARGO_BIN_EXE_rampart"))
            .args(["trace", "--live", "--hook", "all", "--in", "eth0"])
            .args(out)
            .args(["--src", src, "--dst", "10.0.0.1", "--proto", "tcp", "--dport", port])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        text(&run.stdout)
    };
    let mixed = all("10.9.9.9", "80", &[]);
    for line in [
        "== routing ==\n10.0.0.1 is this host's: input\n",
        "== input (filter in) ==\n",
        "== input (filter) ==\n",
        "by iptables",
        "== result ==\nverdict: DROP\n",
    ] {
        assert!(mixed.contains(line), "{line:?} in\n{mixed}");
    }
    assert!(all("10.9.9.9", "22", &[]).contains("verdict: DROP by in 1\n== result =="));
    let passed = all("1.1.1.1", "80", &[]);
    assert!(passed.contains("== result ==\nverdict: ACCEPT\n"), "{passed}");
    // The iptables table, read whole for each of its base chains, is met
    // once at input.
    assert_eq!(passed.matches("== input (filter) ==").count(), 1, "{passed}");
    // A second table's port forward: translated at prerouting, so the
    // packet is forwarded and never meets the input chains.
    ns.run_with_input(
        &["nft", "-f", "-"],
        "table inet t2 {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  \
         tcp dport 80 dnat ip to 10.2.0.10:8080\n }\n chain fwd_in {\n  \
         type filter hook forward priority 0; policy drop;\n  tcp dport 8080 accept\n }\n}\n",
    )
    .unwrap();
    let forwarded = all("10.9.9.9", "80", &["--out", "eth1"]);
    assert!(forwarded.contains("translated: DNAT 10.0.0.1:80 -> 10.2.0.10:8080"), "{forwarded}");
    assert!(!forwarded.contains("by iptables"), "{forwarded}");
    assert!(forwarded.contains("== result ==\nverdict: ACCEPT\n"), "{forwarded}");
}

/// The nat chains of an nft ruleset: `--hook all` follows the port forward
/// and the source NAT as it does on iptables text; what is not modelled
/// (`persistent`) stays undecided.
#[test]
fn nat_chains_translate_across_every_hook() {
    const NAT: &str = "crates/ir/tests/fixtures/nft-nat.json";
    let packet =
        ["--in", "eth0", "--src", "198.51.100.1", "--dst", "203.0.113.1", "--proto", "tcp"];
    let run = |extra: &[&str]| {
        let mut args = vec!["trace", "--rules", NAT, "--state", "new"];
        args.extend_from_slice(&packet);
        args.extend_from_slice(extra);
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let all = run(&["--hook", "all", "--out", "eth2", "--dport", "80"]);
    assert!(all.contains("translated: DNAT 203.0.113.1:80 -> 10.2.0.10:80 by R1"), "{all}");
    assert!(all.contains("translated: SNAT 198.51.100.1 -> 192.0.2.4"), "{all}");
    assert!(all.contains("== result ==\nverdict: ACCEPT\n"), "{all}");
    let pre = run(&["--hook", "prerouting", "--dport", "81"]);
    assert!(pre.contains("nat: DNAT 203.0.113.1:81 -> 10.2.0.10:8080"), "{pre}");
    let persistent = run(&["--hook", "prerouting", "--dport", "86"]);
    assert!(persistent.contains("verdict: UNKNOWN"), "{persistent}");
}

/// `--hook all` over several tables: at each hook every table's base
/// chains in priority order, so an accept in one does not skip another's
/// drop, and a filter chain at prerouting decides too.
#[test]
fn every_tables_chains_decide_across_the_hooks() {
    let dir = crate::util::tempdir("nft-all-tables");
    let file = dir.join("two.nft");
    std::fs::write(
        &file,
        "table inet a {\n chain in {\n  type filter hook input priority 0; policy accept;\n  \
         tcp dport 22 accept\n }\n chain pre {\n  \
         type filter hook prerouting priority -150; policy accept;\n  ip saddr 6.6.6.6 drop\n \
         }\n}\ntable ip b {\n chain in {\n  type filter hook input priority 10; policy accept;\n  \
         tcp dport 22 drop\n }\n}\n",
    )
    .unwrap();
    let run = |src: &str, port: &str| {
        let out = rampart(&[
            "trace",
            "--rules",
            file.to_str().unwrap(),
            "--hook",
            "all",
            "--in",
            "eth0",
            "--local",
            "5.6.7.8/24",
            "--proto",
            "tcp",
            "--src",
            src,
            "--dst",
            "5.6.7.8",
            "--dport",
            port,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let ssh = run("1.2.3.4", "22");
    let accepted = ssh.find("verdict: ACCEPT by in 1\n").unwrap_or_else(|| panic!("{ssh}"));
    let dropped = ssh.find("verdict: DROP by in 1\n").unwrap_or_else(|| panic!("{ssh}"));
    assert!(accepted < dropped, "{ssh}");
    assert!(ssh.contains("== routing ==\n5.6.7.8 is this host's: input\n"), "{ssh}");
    assert!(ssh.ends_with("== result ==\nverdict: DROP\n"), "{ssh}");
    assert!(run("1.2.3.4", "23").contains("== result ==\nverdict: ACCEPT\n"));
    let spoofed = run("6.6.6.6", "23");
    assert!(spoofed.starts_with("== prerouting (filter pre) ==\n"), "{spoofed}");
    assert!(spoofed.contains("== result ==\nverdict: DROP\n"), "{spoofed}");
    assert!(!spoofed.contains("== routing =="), "{spoofed}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A host as firewalld and Docker leave it: firewalld's inet table (filter
/// chains at prerouting, input and forward, nat chains at prerouting and
/// postrouting) beside Docker's iptables-nft filter and nat tables.
/// `trace --live --hook all` walks both at every hook: Docker's port
/// forward is translated first (its nat chain is the kernel's first) and
/// still meets firewalld's forward reject; firewalld's port forward meets
/// Docker's forward drop; a forward out of the trusted zone is masqueraded
/// by Docker's nat chain, after which firewalld's is not run.
#[test]
fn live_firewalld_beside_docker_across_every_hook() {
    use rampart_lab::{Netns, Tool, require_tools};
    require_tools(&[Tool::NFT, Tool::IP]).unwrap();
    let ns = Netns::new().unwrap();
    let docker = format!(
        "*filter\n{}\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n\
         :OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n\
         -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
         -A POSTROUTING -s 10.77.2.0/24 ! -o s0 -j MASQUERADE\n-A DOCKER -i s0 -j RETURN\n\
         -A DOCKER ! -i s0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.77.2.2:80\n\
         COMMIT\n",
        include_str!("../../../lab/tests/fixtures/corpus/docker.rules").trim_end()
    );
    ns.run_with_input(&["iptables-nft-restore", "-w"], &docker).unwrap();
    ns.run_with_input(&["nft", "-f", "-"], include_str!("../fixtures/firewalld.nft")).unwrap();
    ns.run(["ip", "link", "set", "lo", "up"]).unwrap();
    ns.run(["ip", "addr", "add", "10.77.1.1/32", "dev", "lo"]).unwrap();
    let all = |args: &[&str]| {
        let run = ns
            .command(env!("CARGO_BIN_EXE_rampart"))
            .args(["trace", "--live", "--hook", "all", "--proto", "tcp", "--sport", "40000"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
        text(&run.stdout)
    };
    let from_c0 = |dst: &str, port: &str, out: &[&str]| {
        let mut a = vec!["--in", "c0", "--src", "10.77.1.2", "--dst", dst, "--dport", port];
        a.extend_from_slice(out);
        all(&a)
    };
    let verdict = |t: &str, v: &str| {
        assert!(t.contains(&format!("== result ==\nverdict: {v}\n")), "{v} in\n{t}");
    };
    // ssh to the host: Docker's INPUT accepts, then firewalld's public zone.
    let ssh = from_c0("10.77.1.1", "22", &[]);
    verdict(&ssh, "ACCEPT");
    let docker_in = ssh.find("== input (filter) ==").unwrap_or_else(|| panic!("{ssh}"));
    let firewalld_in = ssh.find("== input (filter filter_INPUT) ==").unwrap();
    assert!(docker_in < firewalld_in, "{ssh}");
    verdict(&from_c0("10.77.1.1", "80", &[]), "REJECT");
    // Docker's published port: translated, accepted by Docker's FORWARD,
    // rejected by firewalld's.
    let published = from_c0("10.77.1.1", "8080", &["--out", "s0"]);
    assert!(published.contains("translated: DNAT 10.77.1.1:8080 -> 10.77.2.2:80"), "{published}");
    assert!(published.contains("== forward (filter filter_FORWARD) =="), "{published}");
    verdict(&published, "REJECT");
    // firewalld's port forward: Docker's FORWARD policy drops it.
    let forwarded = from_c0("10.77.1.1", "2222", &["--out", "s0"]);
    assert!(forwarded.contains("translated: DNAT 10.77.1.1:2222 -> 10.77.2.3:22"), "{forwarded}");
    verdict(&forwarded, "DROP");
    // firewalld's filter chain at prerouting drops before any routing.
    let spoofed =
        all(&["--in", "c0", "--src", "10.77.66.5", "--dst", "10.77.1.1", "--dport", "22"]);
    assert!(spoofed.contains("== prerouting (filter filter_PREROUTING) =="), "{spoofed}");
    assert!(!spoofed.contains("== routing =="), "{spoofed}");
    verdict(&spoofed, "DROP");
    // Out of the trusted zone: Docker's masquerade, the only translation.
    let out = all(&[
        "--in",
        "s0",
        "--out",
        "c0",
        "--src",
        "10.77.2.2",
        "--dst",
        "198.51.100.1",
        "--dport",
        "443",
    ]);
    verdict(&out, "ACCEPT");
    assert_eq!(out.matches("translated: ").count(), 1, "{out}");
    assert!(out.contains("translated: MASQUERADE 10.77.2.2:40000 -> "), "{out}");
    assert!(!out.contains("nat_POSTROUTING"), "{out}");
}

/// A bridge table's chains see the frames crossing the bridge, first; a
/// routed packet never meets them.
#[test]
fn bridge_tables_see_frames_across_the_bridge() {
    let dir = crate::util::tempdir("nft-bridge");
    let file = dir.join("bridge.nft");
    std::fs::write(
        &file,
        "table bridge b {\n chain through {\n  type filter hook forward priority filter; policy accept;\n  \
         iifname \"p1\" oifname \"p3\" counter drop\n }\n}\n\
         table inet f {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n }\n}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["trace", "--rules", file.to_str().unwrap(), "--hook", "forward"];
        args.extend_from_slice(&["--in", "br0", "--out", "br0", "--src", "10.9.0.1"]);
        args.extend_from_slice(&["--dst", "10.9.0.2", "--proto", "icmp"]);
        args.extend_from_slice(extra);
        let out = rampart(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let to_p3 = run(&["--physdev-in", "p1", "--physdev-out", "p3"]);
    assert!(to_p3.contains("table bridge b chain through (hook forward"), "{to_p3}");
    assert!(to_p3.ends_with("final verdict: DROP\n"), "{to_p3}");
    let to_p2 = run(&["--physdev-in", "p1", "--physdev-out", "p2"]);
    assert!(to_p2.ends_with("final verdict: ACCEPT\n"), "{to_p2}");
    let routed = run(&[]);
    assert!(!routed.contains("table bridge"), "{routed}");
}

/// `trace --live` decides `-m set` by the host's own ipsets (`ipset
/// save` in the namespace): a member is dropped, another address passes.
#[test]
fn live_reads_the_members_of_the_hosts_ipsets() {
    use rampart_lab::{Netns, Tool, require_tools};
    require_tools(&[Tool::IPSET, Tool::IP]).unwrap();
    let ns = Netns::new().unwrap();
    ns.run(["ipset", "create", "banned", "hash:ip"]).unwrap();
    ns.run(["ipset", "add", "banned", "10.9.9.9"]).unwrap();
    ns.run_with_input(
        &["iptables-nft-restore", "-w"],
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set banned src -j DROP\nCOMMIT\n",
    )
    .unwrap();
    let live = |src: &str| {
        let bin = env!("CARGO_BIN_EXE_rampart");
        ns.run([
            bin, "trace", "--live", "--hook", "input", "--in", "eth0", "--src", src, "--dst",
            "10.0.0.1", "--proto", "tcp", "--dport", "80",
        ])
        .unwrap()
    };
    let member = live("10.9.9.9");
    assert!(member.ends_with("final verdict: DROP\n"), "{member}");
    let other = live("10.9.9.8");
    assert!(other.ends_with("final verdict: ACCEPT\n"), "{other}");
}
