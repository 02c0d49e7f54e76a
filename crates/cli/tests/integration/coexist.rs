//! Rampart beside Docker, libvirt and fail2ban: what they put in the
//! built-in chains, their own chains and tables, stay in place and in
//! order across apply, a try's rollback, rollback, the boot files and the
//! `iptables-script` target; traffic through them behaves as before.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use rampart_lab::{Netns, Tool, require_tools, veth, wait_until};

use crate::util::{command, root, tempdir, text};

const POLICY: &str = "\
service ssh tcp 22
firewall fw {
  interface eth0 10.66.0.1/24
  interface lo loopback
  ruleset main {
    accept on lo
    accept service ssh                 comment \"ssh, unless fail2ban bans the client\"
  }
}
";

/// What Docker, libvirt (iptables chains and an nft table) and fail2ban
/// leave in a kernel, as their own commands make it.
const FOREIGN: &[&[&str]] = &[
    // Docker: its chains, DOCKER-USER first in FORWARD, and nat.
    &["iptables", "-w", "-N", "DOCKER"],
    &["iptables", "-w", "-N", "DOCKER-USER"],
    &["iptables", "-w", "-N", "DOCKER-ISOLATION-STAGE-1"],
    &["iptables", "-w", "-A", "DOCKER-USER", "-s", "10.66.0.9", "-j", "DROP"],
    &["iptables", "-w", "-A", "DOCKER-USER", "-j", "RETURN"],
    &["iptables", "-w", "-A", "DOCKER-ISOLATION-STAGE-1", "-j", "RETURN"],
    &["iptables", "-w", "-A", "FORWARD", "-j", "DOCKER-USER"],
    &["iptables", "-w", "-A", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1"],
    &["iptables", "-w", "-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"],
    &["iptables", "-w", "-A", "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT"],
    &["iptables", "-w", "-t", "nat", "-N", "DOCKER"],
    &[
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "PREROUTING",
        "-m",
        "addrtype",
        "--dst-type",
        "LOCAL",
        "-j",
        "DOCKER",
    ],
    &[
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "DOCKER",
        "-p",
        "tcp",
        "--dport",
        "8022",
        "-j",
        "DNAT",
        "--to-destination",
        "10.66.0.1:22",
    ],
    &[
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-s",
        "172.17.0.0/16",
        "!",
        "-o",
        "docker0",
        "-j",
        "MASQUERADE",
    ],
    // libvirt's iptables chains and their jumps.
    &["iptables", "-w", "-N", "LIBVIRT_INP"],
    &["iptables", "-w", "-N", "LIBVIRT_FWX"],
    &[
        "iptables",
        "-w",
        "-A",
        "LIBVIRT_INP",
        "-i",
        "virbr0",
        "-p",
        "udp",
        "--dport",
        "53",
        "-j",
        "ACCEPT",
    ],
    &["iptables", "-w", "-A", "LIBVIRT_FWX", "-i", "virbr0", "-o", "virbr0", "-j", "ACCEPT"],
    &["iptables", "-w", "-A", "INPUT", "-j", "LIBVIRT_INP"],
    &["iptables", "-w", "-A", "FORWARD", "-j", "LIBVIRT_FWX"],
    &["ip6tables", "-w", "-N", "LIBVIRT_INP"],
    &["ip6tables", "-w", "-A", "INPUT", "-j", "LIBVIRT_INP"],
    // libvirt's nft table and another nft program's table.
    &[
        "nft",
        "add table ip libvirt_network; add chain ip libvirt_network guest_output; add rule ip libvirt_network guest_output ip saddr 192.168.122.0/24 accept",
    ],
    &[
        "nft",
        "add table inet other; add chain inet other c { type filter hook input priority 10; policy accept; }; add rule inet other c ip saddr 10.9.9.9 drop",
    ],
    // fail2ban bans 10.66.0.3 from SSH, first in INPUT.
    &["iptables", "-w", "-N", "f2b-sshd"],
    &["iptables", "-w", "-A", "f2b-sshd", "-s", "10.66.0.3", "-j", "REJECT"],
    &["iptables", "-w", "-A", "f2b-sshd", "-j", "RETURN"],
    &[
        "iptables",
        "-w",
        "-I",
        "INPUT",
        "1",
        "-p",
        "tcp",
        "-m",
        "multiport",
        "--dports",
        "22",
        "-j",
        "f2b-sshd",
    ],
];

/// Everything in the kernel that is not Rampart's, in order: the filter and
/// nat tables of both families without Rampart's chains, hooks and the
/// built-in chains' policies, and every nft table but Rampart's and the
/// iptables-nft ones.
fn foreign(ns: &Netns) -> String {
    let mut out = String::new();
    for save in ["iptables-save", "ip6tables-save"] {
        for table in ["filter", "nat"] {
            let t = ns.stdout([save, "-t", table]).unwrap();
            for l in t.lines().filter(|l| !l.starts_with('#')) {
                let chain = l.split_whitespace().nth(if l.starts_with(':') { 0 } else { 1 });
                let chain = chain.unwrap_or_default().trim_start_matches(':');
                let ours = chain.starts_with("rampart-") || chain.starts_with("RULE_");
                if ours || l.contains("-j rampart-") || l.starts_with(':') && !l.contains(" - ") {
                    continue;
                }
                out.push_str(l);
                out.push('\n');
            }
        }
    }
    for t in ns.stdout(["nft", "list", "tables"]).unwrap().lines() {
        let name = t.trim_start_matches("table ");
        if name.contains("rampart")
            || ["ip filter", "ip nat", "ip6 filter", "ip6 nat"].contains(&name)
        {
            continue;
        }
        let (family, table) = name.split_once(' ').unwrap();
        out.push_str(&ns.stdout(["nft", "list", "table", family, table]).unwrap());
    }
    out
}

/// Does a TCP connect from `src` reach `dst`?
fn connects(ns: &Netns, src: &str, dst: &str) -> bool {
    let to = format!("TCP:{dst},bind={src},connect-timeout=2");
    ns.run(["timeout", "3", "socat", "-u", "OPEN:/dev/null", &to]).is_ok()
}

/// fail2ban's ban, Docker's port forward, and Rampart's own SSH rule.
fn traffic_behaves(client: &Netns) {
    assert!(connects(client, "10.66.0.2", "10.66.0.1:22"), "ssh from a client");
    assert!(!connects(client, "10.66.0.3", "10.66.0.1:22"), "fail2ban's ban holds");
    assert!(connects(client, "10.66.0.2", "10.66.0.1:8022"), "Docker's port forward");
}

fn rampart(ns: &Netns, state: &Path, args: &[&str]) -> Output {
    let out = ns
        .command(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env("RAMPART_BOOT_DIR", crate::deploy::NO_BOOT)
        .env("SSH_CONNECTION", "")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    out
}

#[test]
fn docker_libvirt_and_fail2ban_keep_their_rules_through_every_operation() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool::NFT,
        Tool::SOCAT,
        Tool { name: "setsid", package: "util-linux" },
    ])
    .unwrap();
    let dir = tempdir("coexist");
    let policy = dir.join("fw.rp");
    std::fs::write(&policy, POLICY).unwrap();
    let policy = policy.to_str().unwrap();
    let fw = Netns::new().unwrap();
    let client = Netns::new().unwrap();
    veth(&fw, "eth0", &client, "eth0").unwrap();
    fw.addr("eth0", "10.66.0.1/24").unwrap();
    for a in ["10.66.0.2/24", "10.66.0.3/24"] {
        client.addr("eth0", a).unwrap();
    }
    let _sshd = fw.tcp_listeners(&[22]).unwrap();
    for cmd in FOREIGN {
        fw.run(*cmd).unwrap();
    }
    let before = foreign(&fw);
    traffic_behaves(&client);
    let state = dir.join("state");
    let unchanged = |what: &str| {
        assert_eq!(foreign(&fw), before, "after {what}");
        traffic_behaves(&client);
    };

    rampart(&fw, &state, &["apply", policy]);
    unchanged("apply");
    // Docker's DOCKER-USER stays first in FORWARD; Rampart's hook comes
    // after the rules other software put there, as after a reboot.
    let forward = fw.stdout(["iptables", "-w", "-S", "FORWARD"]).unwrap();
    assert_eq!(forward.lines().nth(1), Some("-A FORWARD -j DOCKER-USER"));
    assert_eq!(forward.lines().last(), Some("-A FORWARD -j rampart-FORWARD"));

    rampart(&fw, &state, &["rollback"]);
    unchanged("rollback");
    assert!(!fw.stdout(["iptables-save"]).unwrap().contains("rampart-"), "Rampart is gone");
    rampart(&fw, &state, &["apply", policy, "--try", "1"]);
    let rolled = wait_until(Duration::from_secs(10), || !state.join("pending.json").exists());
    assert!(rolled, "the watchdog did not roll back");
    unchanged("a try's rollback");
    assert!(!fw.stdout(["iptables-save"]).unwrap().contains("rampart-"), "Rampart is gone");

    // The boot file of the unit, loaded into this kernel (a unit restart).
    let boot = dir.join("boot");
    let out = command()
        .args(["install-service", policy, "--no-verify", "--unit-dir"])
        .arg(dir.join("units"))
        .arg("--rules-dir")
        .arg(&boot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for (tool, file) in [("iptables-restore", "rules.v4"), ("ip6tables-restore", "rules.v6")] {
        fw.run([tool, "-w", "--noflush", boot.join(file).to_str().unwrap()]).unwrap();
    }
    unchanged("the boot files");

    // The shell script, run twice: one hook per chain, nothing else moved.
    let script = dir.join("fw.sh");
    let out = command()
        .args(["compile", policy, "--target", "iptables-script", "-o"])
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for _ in 0..2 {
        fw.run(["sh", script.to_str().unwrap()]).unwrap();
    }
    unchanged("the iptables-script target");
    let input = fw.stdout(["iptables", "-w", "-S", "INPUT"]).unwrap();
    assert_eq!(input.matches("-j rampart-INPUT").count(), 1, "{input}");

    // The nft backend leaves every iptables rule and other table alone.
    fw.run(["iptables", "-w", "-D", "INPUT", "-j", "rampart-INPUT"]).unwrap();
    rampart(&fw, &state, &["apply", policy, "--backend", "nft"]);
    rampart(&fw, &state, &["rollback"]);
    fw.run(["iptables", "-w", "-A", "INPUT", "-j", "rampart-INPUT"]).unwrap();
    unchanged("the nft backend's apply and rollback");
}

#[test]
fn a_chain_of_another_program_is_never_taken_over() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::IPTABLES_SAVE]).unwrap();
    let ns = Netns::new().unwrap();
    let state = tempdir("foreign-chain");
    // Another program's chain that happens to bear a rule set's name.
    ns.run(["iptables", "-w", "-N", "Spice_VM_1"]).unwrap();
    ns.run(["iptables", "-w", "-A", "Spice_VM_1", "-j", "RETURN"]).unwrap();
    let out = crate::deploy::rampart(&ns, &state, &["apply", "examples/spice-client.rp"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("chain `Spice_VM_1`") && err.contains("is not Rampart's"), "{err}");
    let t = ns.stdout(["iptables-save"]).unwrap();
    assert!(!t.contains("rampart-") && t.contains("-A Spice_VM_1 -j RETURN"), "{t}");
}
