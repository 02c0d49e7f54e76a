//! `rampart apply`, `confirm`, `rollback`, `status` and `install-service`,
//! run as a user runs them, inside network namespaces the tests create.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use rampart_lab::{Netns, Tool, require_tools, veth, wait_until};

use rampart_testing::TempDir;

use crate::util::{NAT_GATEWAY, command, root, tempdir, text};

/// A boot directory that does not exist: these tests never persist.
pub(crate) const NO_BOOT: &str = "/nonexistent/rampart-boot";

/// rampart inside `ns` with a private state directory, not over SSH and
/// never writing boot files.
pub(crate) fn in_ns(ns: &Netns, state: &Path, args: &[&str]) -> Command {
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart"));
    cmd.args(args)
        .arg("--state-dir")
        .arg(state)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("RAMPART_BOOT_DIR", NO_BOOT)
        .env("SSH_CONNECTION", "");
    cmd
}

/// Run [`in_ns`] to the end, with `env` added.
pub(crate) fn rampart(ns: &Netns, state: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    in_ns(ns, state, args).envs(env.iter().copied()).output().expect("run rampart")
}

pub(crate) fn rules(ns: &Netns) -> String {
    ns.stdout(["iptables-save", "-t", "filter"]).unwrap()
}

pub(crate) fn tools() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool { name: "setsid", package: "util-linux" },
    ])
    .unwrap();
}

/// A firewall and a peer joined by `eth0` in 10.`net`.0.0/24 (the
/// firewall .1, the peer .2), a state directory, and two policies `a.rp`
/// and `b.rp`: `policy` with its `{extra}` replaced by each of `extras`.
pub(crate) struct TwoPolicies {
    pub fw: Netns,
    pub peer: Netns,
    pub dir: TempDir,
    pub state: PathBuf,
}

impl TwoPolicies {
    pub(crate) fn new(net: u8, name: &str, policy: &str, extras: [&str; 2]) -> Self {
        let fw = Netns::new().unwrap();
        let peer = Netns::new().unwrap();
        veth(&fw, "eth0", &peer, "eth0").unwrap();
        fw.addr("eth0", &format!("10.{net}.0.1/24")).unwrap();
        peer.addr("eth0", &format!("10.{net}.0.2/24")).unwrap();
        let dir = tempdir(name);
        for (file, extra) in ["a.rp", "b.rp"].into_iter().zip(extras) {
            std::fs::write(dir.join(file), policy.replace("{extra}", extra)).unwrap();
        }
        let state = dir.join("state");
        Self { fw, peer, dir, state }
    }

    /// The path of `a.rp` or `b.rp`.
    pub(crate) fn policy(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_owned()
    }

    /// `rampart apply` of `a.rp` or `b.rp` with `args`, which must succeed.
    pub(crate) fn apply(&self, file: &str, args: &[&str]) {
        let p = self.policy(file);
        let out = rampart(&self.fw, &self.state, &[&["apply", p.as_str()], args].concat(), &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

#[test]
fn apply_reports_changes_leaves_other_chains_and_rolls_back() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("apply");
    // Another program's chain, which apply must leave alone.
    ns.run(["iptables", "-w", "-N", "DOCKER"]).unwrap();
    ns.run(["iptables", "-w", "-A", "DOCKER", "-s", "10.99.0.1", "-j", "DROP"]).unwrap();

    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("chain Spice_VM_1: 1 added, 0 removed"),
        "{}",
        text(&out.stdout)
    );
    let loaded = rules(&ns);
    assert!(loaded.contains("-A Spice_VM_1 -d 192.168.2.2/32 -o eth0"), "{loaded}");
    assert!(loaded.contains("-A DOCKER -s 10.99.0.1/32 -j DROP"), "other chains stay: {loaded}");

    let out = rampart(&ns, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("loaded rules match"));

    // Someone changes a rule by hand: status sees the drift and exits 1.
    ns.run(["iptables", "-w", "-I", "Spice_VM_1", "-j", "ACCEPT"]).unwrap();
    let out = rampart(&ns, &state, &["status", "--json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["drift"][0]["chain"], "Spice_VM_1");
    assert_eq!(v["drift"][0]["edits"][0]["change"], "added");
    assert_eq!(v["drift"][0]["edits"][0]["rule"], "-j ACCEPT");

    // Applying again repairs it; the other policy's chains replace ours and
    // the ones it does not have are removed.
    let out = rampart(&ns, &state, &["apply", "examples/office-gateway.rp"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let loaded = rules(&ns);
    assert!(!loaded.contains("Spice_VM_1"), "stale chain left: {loaded}");
    assert!(loaded.contains(":dmz-out - "), "{loaded}");
    assert!(loaded.contains("-A DOCKER -s 10.99.0.1/32 -j DROP"));

    let out = rampart(&ns, &state, &["rollback"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let loaded = rules(&ns);
    assert!(loaded.contains("Spice_VM_1") && !loaded.contains("dmz-out"), "{loaded}");
    let out = rampart(&ns, &state, &["rollback"], &[]);
    assert_eq!(out.status.code(), Some(2), "nothing left to roll back to");
}

#[test]
fn nat_rules_replace_only_rampart_chains_and_roll_back() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("nat");
    let policy_dir = tempdir("nat-policy");
    let policy = policy_dir.join("gw.rp");
    std::fs::write(&policy, NAT_GATEWAY).unwrap();
    // Docker's NAT, which apply and rollback must leave alone.
    let docker = "*nat\n:DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
                  -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n";
    ns.run_with_input(&["iptables-restore", "-w", "--noflush"], docker).unwrap();
    let nat = || ns.stdout(["iptables-save", "-t", "nat"]).unwrap();
    let dockers = |t: &str| t.contains("-j DOCKER") && t.contains("-s 172.17.0.0/16 ! -o docker0");
    let ok = |args: &[&str]| {
        let out = rampart(&ns, &state, args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    };

    ok(&["apply", policy.to_str().unwrap()]);
    let t = nat();
    assert!(t.contains("-A POSTROUTING -j rampart-POSTROUTING"), "{t}");
    assert!(t.contains("-A rampart-PREROUTING -i eth0 -p tcp -m tcp --dport 80"), "{t}");
    assert!(dockers(&t), "Docker's NAT stays: {t}");
    ok(&["status"]);
    // Hand edits in the nat table are drift: a rule added to Rampart's
    // chain, and its hook taken out.
    ns.run(["iptables", "-w", "-t", "nat", "-I", "rampart-POSTROUTING", "-j", "ACCEPT"]).unwrap();
    ns.run(["iptables", "-w", "-t", "nat", "-D", "PREROUTING", "-j", "rampart-PREROUTING"])
        .unwrap();
    let out = rampart(&ns, &state, &["status", "--json"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift: Vec<(String, String, String)> = v["drift"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            d["edits"].as_array().unwrap().iter().map(|e| {
                let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
                (s(&d["chain"]), s(&e["change"]), s(&e["rule"]))
            })
        })
        .collect();
    let want = |c: &str, ch: &str, r: &str| (c.to_owned(), ch.to_owned(), r.to_owned());
    assert!(drift.contains(&want("nat chain rampart-POSTROUTING", "added", "-j ACCEPT")), "{v}");
    assert!(drift.contains(&want("nat chain PREROUTING", "removed", "-j rampart-PREROUTING")));
    // Applying again repairs it and adds no second jump.
    ok(&["apply", policy.to_str().unwrap()]);
    ok(&["apply", policy.to_str().unwrap()]);
    assert_eq!(nat().matches("-j rampart-PREROUTING").count(), 1, "{}", nat());
    assert_eq!(nat().matches("-j rampart-POSTROUTING").count(), 1, "{}", nat());
    ok(&["status"]);

    // A policy without NAT removes Rampart's chains and jumps, nothing else.
    ok(&["apply", "examples/spice-client.rp"]);
    let t = nat();
    assert!(!t.contains("rampart-"), "{t}");
    assert!(dockers(&t), "{t}");
    // Rolling back puts them back.
    ok(&["rollback"]);
    let t = nat();
    assert!(
        t.contains("-A PREROUTING -j rampart-PREROUTING")
            && t.contains("-A rampart-POSTROUTING -s 10.1.0.0/24 -o eth0"),
        "{t}"
    );
    assert!(dockers(&t), "{t}");

    // The nft backend: a rule added to its nat chain is drift too.
    require_tools(&[Tool::NFT]).unwrap();
    ok(&["apply", policy.to_str().unwrap(), "--backend", "nft"]);
    ok(&["status"]);
    ns.run(["nft", "add", "rule", "inet", "rampart", "nat_postrouting", "accept"]).unwrap();
    let out = rampart(&ns, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("inet rampart chain nat_postrouting: 1 added, 0 removed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_try_without_confirm_rolls_back_by_itself() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("try");
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "2"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("rampart confirm"));
    assert!(rules(&ns).contains("Spice_VM_1"));
    // The watchdog runs in its own session: this process and its terminal
    // play no part any more.
    let rolled_back = wait_until(Duration::from_secs(10), || !rules(&ns).contains("Spice_VM_1"));
    assert!(rolled_back, "the try was not rolled back within 10 s");

    // Confirmed in time: the rules stay past the deadline.
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "2"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let out = rampart(&ns, &state, &["confirm"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_secs(4));
    assert!(rules(&ns).contains("Spice_VM_1"), "a confirmed try was rolled back");
    let out = rampart(&ns, &state, &["confirm"], &[]);
    assert_eq!(out.status.code(), Some(2), "nothing waits for confirmation now");
}

#[test]
fn the_guard_refuses_rules_that_cut_the_management_connection() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("guard");
    // The client policy allows SSH from the admin host only.
    let outsider = [("SSH_CONNECTION", "10.9.9.9 50000 192.168.2.22 22")];
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "0"], &outsider);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("would cut the management connection"), "{err}");
    assert!(err.contains("R0: default deny"), "the deciding rule is shown: {err}");
    assert!(!rules(&ns).contains("Spice_VM_1"), "nothing may be loaded");

    // Under sudo, which drops SSH_CONNECTION from the environment, the
    // login shell that ran it still tells who is connected.
    require_tools(&[Tool { name: "sudo", package: "sudo" }]).unwrap();
    let out = ns
        .command("sh")
        .args(["-c", "sudo -n \"$0\" \"$@\"; exit $?", env!("CARGO_BIN_EXE_rampart")])
        .args(["apply", "examples/spice-client.rp", "--try", "0", "--state-dir"])
        .arg(&state)
        .current_dir(root())
        .env("SSH_CONNECTION", outsider[0].1)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("would cut the management connection"), "through sudo: {err}");

    let admin = [("SSH_CONNECTION", "192.168.44.12 50000 192.168.2.22 22")];
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "0"], &admin);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let out = rampart(
        &ns,
        &state,
        &["apply", "examples/spice-client.rp", "--mgmt", "10.9.9.9:22", "--force"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "--force loads anyway: {}", text(&out.stderr));
}

#[test]
fn the_guard_never_skips_a_session_it_cannot_read() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("guard-unread");
    let apply = ["apply", "examples/spice-client.rp", "--try", "0"];
    // A link-local IPv6 session carries its zone: it is read, traced, and
    // cut by the policy's default deny.
    let zoned = [("SSH_CONNECTION", "fe80::9%eth0 50000 fe80::1%eth0 22")];
    let out = rampart(&ns, &state, &apply, &zoned);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("would cut the management connection"), "{err}");
    // Garbage: refused, nothing loaded, unless forced.
    let garbage = [("SSH_CONNECTION", "10.0.0.9 x")];
    let out = rampart(&ns, &state, &apply, &garbage);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`10.0.0.9 x`") && err.contains("Nothing was loaded"), "{err}");
    assert!(!rules(&ns).contains("Spice_VM_1"));
    let out = rampart(&ns, &state, &[&apply[..], &["--force"]].concat(), &garbage);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: $SSH_CONNECTION"), "{}", text(&out.stderr));
}

#[test]
fn no_packet_slips_through_while_rules_are_replaced() {
    tools();
    require_tools(&[Tool::SOCAT]).unwrap();
    // Two different policies that both drop TCP 7777 to the firewall.
    let t = TwoPolicies::new(
        77,
        "window",
        "service web tcp 80\nservice ssh tcp 22\nservice probe tcp 7777\nfirewall fw {\n \
         interface eth0 10.77.0.1/24\n ruleset main {\n  {extra}\n  deny service probe\n }\n}\n",
        ["accept service web", "accept service ssh log"],
    );
    let (fw, peer, state) = (&t.fw, &t.peer, &t.state);
    t.apply("a.rp", &["--try", "0"]);
    let (a, b) = (t.policy("a.rp"), t.policy("b.rp"));
    let mut listener =
        fw.spawn(&["socat", "-u", "TCP-LISTEN:7777,fork,reuseaddr", "OPEN:/dev/null"]).unwrap();
    let mut prober = peer
        .command("bash")
        .args(["-c", "for i in $(seq 150); do timeout 0.1 bash -c 'exec 3<>/dev/tcp/10.77.0.1/7777' 2>/dev/null && echo through; done; echo done"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Swap the two back and forth for as long as the probes run.
    let mut applies = 0;
    while prober.try_wait().unwrap().is_none() || applies < 10 {
        let policy = if applies % 2 == 0 { &b } else { &a };
        let out = rampart(fw, state, &["apply", policy, "--try", "0"], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        applies += 1;
    }
    let mut probes = String::new();
    std::io::Read::read_to_string(prober.stdout.as_mut().unwrap(), &mut probes).unwrap();
    let _ = prober.wait();
    // The probes can see an open port: without the firewall they get through.
    fw.run(["iptables", "-w", "-P", "INPUT", "ACCEPT"]).unwrap();
    fw.run(["iptables", "-w", "-F", "INPUT"]).unwrap();
    let open = peer.run(["timeout", "2", "bash", "-c", "exec 3<>/dev/tcp/10.77.0.1/7777"]).is_ok();
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(probes.ends_with("done\n"), "{probes}");
    assert!(open, "the probe cannot detect an open port, so it proves nothing");
    assert_eq!(probes.matches("through").count(), 0, "a probe got through during apply:\n{probes}");
}

#[test]
fn install_service_writes_units_that_systemd_accepts() {
    let dir = tempdir("units");
    let units = dir.join("units");
    let rules = dir.join("rules");
    let out = command()
        .args(["install-service", "examples/spice-client.rp", "--unit-dir"])
        .arg(&units)
        .arg("--rules-dir")
        .arg(&rules)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("systemd-analyze verify: ok"));
    let unit = std::fs::read_to_string(units.join("rampart.service")).unwrap();
    assert!(unit.contains("Before=network-pre.target shutdown.target\nWants=network-pre.target\n"));
    assert!(unit.contains(&format!("-w --noflush {}", rules.join("rules.v4").display())));
    assert!(unit.contains(&format!("-w --noflush {}", rules.join("rules.v6").display())));
    let compiled = std::fs::read_to_string(rules.join("rules.v4")).unwrap();
    assert!(compiled.contains("-A Spice_VM_1 ") && compiled.ends_with("COMMIT\n"));
    // The policy's access kit gets its hourly audit.
    let timer = std::fs::read_to_string(units.join("rampart-spice-audit.timer")).unwrap();
    assert!(timer.contains("OnCalendar=hourly"), "{timer}");
    let audit = std::fs::read_to_string(units.join("rampart-spice-audit.service")).unwrap();
    assert!(audit.contains("access audit") && audit.contains("--access spice"), "{audit}");
    // The verification is real: a broken unit fails it.
    std::fs::write(units.join("broken.service"), "[Service]\nExecStart=relative/path\n").unwrap();
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(units.join("broken.service"))
        .output()
        .unwrap();
    assert!(!verify.status.success(), "systemd-analyze accepted a broken unit");
}

#[test]
fn a_missing_capability_is_one_plain_sentence() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("nocap");
    // Root's state directory, closed to the user (as under a private /tmp):
    // the kernel's refusal is what must be said, not the directory's.
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    // Without CAP_NET_ADMIN, as in an unprivileged container.
    let out = ns
        .command("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_rampart"),
        ])
        .args(["apply", "examples/spice-client.rp", "--state-dir"])
        .arg(&state)
        .current_dir(root())
        .env("SSH_CONNECTION", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: this process lacks CAP_NET_ADMIN"), "{err}");
    assert_eq!(err.lines().count(), 1, "one sentence, no wall of errors: {err}");
    assert!(!rules(&ns).contains("Spice_VM_1"));
}

#[test]
fn the_nft_backend_applies_detects_drift_and_rolls_back_its_own_tables() {
    tools();
    require_tools(&[Tool::NFT]).unwrap();
    let ns = Netns::new().unwrap();
    let state = tempdir("nft");
    // Someone else's table, which must survive everything below.
    ns.run(["nft", "add", "table", "inet", "other"]).unwrap();
    let tables = |ns: &Netns| ns.stdout(["nft", "list", "tables"]).unwrap();

    let out = rampart(&ns, &state, &["apply", "examples/kvm-bridges.rp", "--backend", "nft"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("inet rampart chain input:"), "{}", text(&out.stdout));
    let t = tables(&ns);
    for table in [
        "table inet rampart",
        "table bridge rampart",
        "table bridge rampart_arp",
        "table inet other",
    ] {
        assert!(t.contains(table), "{table} missing: {t}");
    }
    let out = rampart(&ns, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    ns.run(["nft", "add", "rule", "inet", "rampart", "input", "accept"]).unwrap();
    let out = rampart(&ns, &state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("inet rampart chain input: 1 added, 0 removed\n  +    "),
        "{}",
        text(&out.stdout)
    );

    // A policy without bridges: the old bridge tables go in the same transaction.
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--backend", "nft"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = tables(&ns);
    assert!(!t.contains("rampart_arp") && t.contains("table inet rampart"), "{t}");

    let out = rampart(&ns, &state, &["rollback"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = ns.stdout(["nft", "list", "table", "bridge", "rampart_arp"]).unwrap();
    assert!(listing.contains("vk42"), "the kvm tables are back: {listing}");
    assert!(tables(&ns).contains("table inet other"));
}

/// An SSH server in its own namespace, with its own host key, keys and
/// state directory; killed when dropped.
pub(crate) struct SshHost {
    pub(crate) ns: Netns,
    pub(crate) addr: &'static str,
    pub(crate) state: PathBuf,
    _sshd: rampart_lab::Spawned,
}

pub(crate) fn ssh_host(admin: &Netns, link: u8, dir: &Path) -> SshHost {
    let ns = Netns::new().unwrap();
    let (addr, admin_addr): (&'static str, String) = match link {
        1 => ("10.88.1.2", "10.88.1.1/24".into()),
        _ => ("10.88.2.2", "10.88.2.1/24".into()),
    };
    let admin_if = format!("to{link}");
    veth(admin, &admin_if, &ns, "eth0").unwrap();
    admin.addr(&admin_if, &admin_addr).unwrap();
    ns.addr("eth0", &format!("{addr}/24")).unwrap();
    let state = dir.join(format!("state{link}"));
    let config = dir.join(format!("sshd{link}.conf"));
    std::fs::write(
        &config,
        format!(
            "ListenAddress {addr}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/client_key.pub\n\
             PidFile none\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
             SetEnv RAMPART_STATE_DIR={s} RAMPART_BOOT_DIR={NO_BOOT}\n",
            d = dir.display(),
            s = state.display()
        ),
    )
    .unwrap();
    let sshd = ns.spawn(&["/usr/sbin/sshd", "-D", "-e", "-f", config.to_str().unwrap()]).unwrap();
    let sshd = rampart_lab::Spawned(vec![sshd]);
    let up = wait_until(Duration::from_secs(5), || rampart_lab::connects_as(admin, 0, addr, 22));
    assert!(up, "sshd did not come up in {}", ns.name());
    SshHost { ns, addr, state, _sshd: sshd }
}

/// The ssh options of the test's hosts.
fn ssh_options(dir: &Path) -> Vec<String> {
    let key = format!("IdentityFile={}", dir.join("client_key").display());
    [key.as_str(), "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]
        .iter()
        .flat_map(|o| ["--ssh-option".to_owned(), (*o).to_owned()])
        .collect()
}

/// `rampart status --host` from the admin namespace.
fn status_with(admin: &Netns, dir: &Path, extra: &[&str]) -> Output {
    let mut cmd = admin.command(env!("CARGO_BIN_EXE_rampart"));
    cmd.arg("status")
        .args(extra)
        .args(["--remote-rampart", env!("CARGO_BIN_EXE_rampart")])
        .args(ssh_options(dir))
        .env("NO_COLOR", "1");
    cmd.output().expect("run rampart")
}

/// `rampart apply --host` from the admin namespace, as root to the hosts.
fn push(admin: &Netns, dir: &Path, policy: &Path, extra: &[&str]) -> Output {
    push_with(admin, dir, policy, env!("CARGO_BIN_EXE_rampart"), extra)
}

#[allow(clippy::print_stderr)] // the transcript, shown when the test fails
fn push_with(admin: &Netns, dir: &Path, policy: &Path, remote: &str, extra: &[&str]) -> Output {
    let mut cmd = admin.command(env!("CARGO_BIN_EXE_rampart"));
    cmd.arg("apply")
        .arg(policy)
        .args(extra)
        .args(["--connect-timeout", "3", &format!("--remote-rampart={remote}")])
        .args(ssh_options(dir))
        .env("NO_COLOR", "1")
        .env("SSH_CONNECTION", "");
    let out = cmd.output().expect("run rampart");
    eprintln!("--- apply {extra:?}\n{}{}", text(&out.stdout), text(&out.stderr));
    out
}

pub(crate) const FLEET: &str = "\
host admin1 10.88.1.1
host admin2 10.88.2.1
group admins admin1, admin2
service ssh tcp 22

firewall r1 {
  interface eth0 10.88.1.2/24 management
  interface lo loopback
  ruleset main {
    accept on lo
    accept from admins to self service ssh   comment \"administration of r1\"
  }
}

firewall r2 {
  interface eth0 10.88.2.2/24 management
  interface lo loopback
  ruleset main {
    accept on lo
    accept from admins to self service ssh   comment \"administration of r2\"
  }
}

# Keeps the sessions it finds but lets no new SSH connection in.
firewall closed {
  interface eth0 10.88.1.2/24 management
  interface lo loopback
  ruleset main {
    accept on lo
    deny service ssh                         comment \"no new logins\"
  }
}

# Cuts every session, the one that loads it too.
firewall cutoff {
  interface eth0 10.88.1.2/24 management
  interface lo loopback
  accept-established off
  ruleset main {
    accept on lo                             comment \"nothing but loopback\"
  }
}
";

/// A directory with a host key and a client key for the test's SSH hosts,
/// removed when dropped; /run/sshd, when the test made it, when the guard
/// drops.
pub(crate) fn ssh_keys(name: &str) -> (TempDir, RemoveOnDrop) {
    tools();
    require_tools(&[
        Tool { name: "sshd", package: "openssh-server" },
        Tool { name: "ssh", package: "openssh-client" },
        Tool { name: "ssh-keygen", package: "openssh-client" },
    ])
    .unwrap();
    let dir = tempdir(name);
    // sshd wants its privilege separation directory; whatever the test
    // creates goes again, also when it fails.
    let mut made = vec![];
    if !Path::new("/run/sshd").exists() {
        std::fs::create_dir_all("/run/sshd").unwrap();
        made.push("/run/sshd".into());
    }
    let cleanup = RemoveOnDrop(made);
    for key in ["host_key", "client_key"] {
        let path = dir.join(key);
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "ssh-keygen: {}", text(&out.stderr));
    }
    (dir, cleanup)
}

#[test]
fn push_over_ssh_applies_confirms_refuses_and_rolls_back_by_itself() {
    let (dir, _cleanup) = ssh_keys("push");
    let policy = dir.join("fleet.rp");
    // r1 also drops what a run-time set holds (after the administrators'
    // rule, so the guard is certain): the host makes the ipset.
    let admin_r1 = "comment \"administration of r1\"\n";
    let fleet = FLEET.replacen(admin_r1, &format!("{admin_r1}    deny from blocklist\n"), 1);
    std::fs::write(&policy, format!("set blocklist ipv4 timeout 1h\n{fleet}")).unwrap();
    let admin = Netns::new().unwrap();
    let r1 = ssh_host(&admin, 1, &dir);
    let r2 = ssh_host(&admin, 2, &dir);

    // Two hosts at once, each confirmed from a new connection.
    let hosts = [format!("root@{}", r1.addr), format!("r2=root@{}", r2.addr)];
    let firewalls = ["--firewall", "r1"];
    let out = push(
        &admin,
        &dir,
        &policy,
        &["--host", &hosts[0], "--host", &hosts[1], "--try", "30", firewalls[0], firewalls[1]],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stdout.matches("confirmed").count(), 2, "a summary line per host: {stdout}");
    assert!(stderr.contains("2 host(s): 2 applied, 0 not"), "{stderr}");
    assert!(rules(&r1.ns).contains("administration of r1"), "r1 got its own firewall");
    assert!(rules(&r2.ns).contains("administration of r2"), "r2 got its own firewall");
    let set = r1.ns.stdout(["ipset", "list", "blocklist", "-t"]).unwrap();
    assert!(set.contains("timeout 3600"), "{set}");
    // The fleet's status, host by host; a changed rule is drift.
    let status = |admin: &Netns| {
        let hosts = ["--host", &hosts[0], "--host", &hosts[1]];
        status_with(admin, &dir, &hosts)
    };
    let out = status(&admin);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("  match  ").count(), 2, "{}", text(&out.stdout));
    r2.ns.run(["iptables", "-w", "-I", "rampart-INPUT", "-j", "ACCEPT"]).unwrap();
    let out = status(&admin);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("  drift  ") && stdout.contains("1 chain(s) differ"), "{stdout}");
    r2.ns.run(["iptables", "-w", "-D", "rampart-INPUT", "-j", "ACCEPT"]).unwrap();

    for h in [&r1, &r2] {
        let applied = std::fs::read_to_string(h.state.join("applied.json")).unwrap();
        assert!(applied.contains("fleet.rp"), "{applied}");
        assert!(!h.state.join("pending.json").exists(), "the try was confirmed");
        assert!(h.ns.stdout(["ip6tables-save"]).unwrap().contains(":INPUT DROP"), "IPv6 too");
    }

    // An ssh option passed as the remote command never becomes one.
    let marker = dir.join("proxy-command-ran");
    let smuggled = format!("-oProxyCommand=touch '{}'; exit 1; #", marker.display());
    let out = push_with(&admin, &dir, &policy, &smuggled, &["--host", "r1=root@10.88.1.2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(!marker.exists(), "ssh ran a ProxyCommand given as --remote-rampart");

    // A server that hangs up before authentication: nothing ran there, so
    // the host "failed" (it is not "broken", which would mean "rolling back").
    require_tools(&[Tool::SOCAT]).unwrap();
    let closer = admin
        .spawn(&["socat", "TCP-LISTEN:2200,bind=10.88.1.1,reuseaddr,fork", "EXEC:/bin/true"])
        .unwrap();
    let _closer = rampart_lab::Spawned(vec![closer]);
    assert!(wait_until(Duration::from_secs(5), || rampart_lab::connects_as(
        &admin,
        0,
        "10.88.1.1",
        2200
    )));
    let out = push(&admin, &dir, &policy, &["--host", "r1=root@10.88.1.1:2200", "--try", "5"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed") && !stdout.contains("broken"), "{stdout}");

    // A host without rampart says so, in one line.
    let out = push_with(&admin, &dir, &policy, "/nonexistent/rampart", &["--host", &hosts[1]]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failed") && stdout.contains("install rampart there"), "{stdout}");

    // The guard on the host traces the very session: refused, nothing loaded.
    let host = format!("closed=root@{}", r1.addr);
    let out = push(&admin, &dir, &policy, &["--host", &host, "--json"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["hosts"][0]["result"], "refused", "{stdout}");
    let detail = report["hosts"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("a new SSH connection"), "{detail}");
    assert!(rules(&r1.ns).contains("administration of r1"), "nothing may be loaded");

    // Forced through, the new connection that should confirm cannot get in:
    // the host puts its previous rules back by itself.
    // (The try outlasts the confirming connection's 3 s timeout with room
    // to spare on a loaded machine: the forced rules are still there after.)
    let out = push(&admin, &dir, &policy, &["--host", &host, "--force", "--try", "10"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("rolling-back"), "{stdout}");
    assert!(rules(&r1.ns).contains("no new logins"), "the forced rules were loaded");
    let back =
        wait_until(Duration::from_secs(20), || rules(&r1.ns).contains("administration of r1"));
    assert!(back, "no rollback: {}", rules(&r1.ns));
    assert!(rampart_lab::connects_as(&admin, 0, r1.addr, 22), "SSH is open again");

    // Rules that cut the very session that loads them: the pusher notices
    // the dead session, and the host rolls back by itself all the same.
    let host = format!("cutoff=root@{}", r1.addr);
    // (The try outlasts ssh's keep-alives, about 12 s.)
    let out = push(&admin, &dir, &policy, &["--host", &host, "--force", "--try", "25"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("broken") && stdout.contains("not responding"), "{stdout}");
    let back =
        wait_until(Duration::from_secs(40), || rules(&r1.ns).contains("administration of r1"));
    assert!(back, "no rollback: {}", rules(&r1.ns));
}

pub(crate) struct RemoveOnDrop(pub(crate) Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

#[test]
fn nft_time_windows_load_as_utc_whatever_the_callers_zone() {
    tools();
    require_tools(&[Tool::NFT]).unwrap();
    let ns = Netns::new().unwrap();
    let dir = tempdir("nft-time");
    let state = dir.join("state");
    let policy = dir.join("time.rp");
    std::fs::write(
        &policy,
        "service web tcp 8080\nfirewall fw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  accept service web time 08:00-18:00\n }\n}\n",
    )
    .unwrap();
    let policy = policy.to_str().unwrap();
    // Nine hours east of UTC: a loader in this zone would shift the window.
    let tokyo = [("TZ", "JST-9")];
    let out = rampart(&ns, &state, &["apply", policy, "--backend", "nft"], &tokyo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listing = ns
        .command("nft")
        .args(["list", "table", "inet", "rampart"])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let listing = text(&listing.stdout);
    assert!(listing.contains("meta hour \"08:00\"-\"17:59:59\""), "{listing}");
    let out = rampart(&ns, &state, &["status"], &tokyo);
    assert_eq!(out.status.code(), Some(0), "no drift: {}", text(&out.stdout));
}

#[test]
fn a_bundle_loads_rampart_tables_only_and_nothing_edited_after_compiling() {
    tools();
    require_tools(&[Tool::NFT]).unwrap();
    let ns = Netns::new().unwrap();
    let dir = tempdir("hostile-bundle");
    let state = dir.join("state");
    ns.run(["nft", "add", "table", "inet", "other"]).unwrap();
    let file = dir.join("fw.json");
    let out = command()
        .args(["compile", "examples/spice-client.rp", "--target", "bundle", "-o"])
        .arg(&file)
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let compiled: rampart_deploy::bundle::Bundle =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let mut hostile = compiled.clone();
    hostile.nft.push_str(
        "flush ruleset\ntable inet evil {\n\tchain c {\n\t\ttype filter hook input priority -10; policy drop;\n\t}\n}\n",
    );
    let apply = ["apply", "--compiled", file.to_str().unwrap(), "--backend", "nft"];
    // Edited after compiling: the digest says so.
    std::fs::write(&file, hostile.to_json()).unwrap();
    let out = rampart(&ns, &state, &apply, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("digest does not match"), "{}", text(&out.stderr));
    // Sealed again by whoever edited it: the document itself is refused.
    std::fs::write(&file, hostile.sealed().to_json()).unwrap();
    let out = rampart(&ns, &state, &apply, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("flush ruleset") && err.contains("Rampart's own tables"), "{err}");
    let tables = ns.stdout(["nft", "list", "tables"]).unwrap();
    assert!(tables.contains("inet other") && !tables.contains("evil"), "{tables}");
    assert!(!tables.contains("rampart"), "nothing may be loaded: {tables}");
    // The bundle as compiled loads, and status shows its digest.
    std::fs::write(&file, compiled.to_json()).unwrap();
    let out = rampart(&ns, &state, &apply, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = rampart(&ns, &state, &["status"], &[]);
    assert!(text(&out.stdout).contains(&compiled.digest), "{}", text(&out.stdout));
}

#[test]
fn a_compiled_bundle_loads_the_same_rules_as_its_policy() {
    tools();
    // A run-time set (its ipset made as declared) and a mark.
    let dir = tempdir("bundle-sets");
    let sets = dir.join("sets.rp");
    std::fs::write(
        &sets,
        "set blocklist ipv4 timeout 1h size 4096\nhost peer 10.1.0.2\n\
         service ping icmp echo-request\nfirewall fw {\n interface eth0 10.1.0.1/24\n \
         ruleset main {\n  deny from blocklist log\n  mark 1 from peer service ping\n  \
         accept service ping\n }\n}\n",
    )
    .unwrap();
    for example in
        ["examples/spice-client.rp", "examples/office-gateway.rp", sets.to_str().unwrap()]
    {
        let from_policy = Netns::new().unwrap();
        let from_bundle = Netns::new().unwrap();
        let state = tempdir("bundle");
        let out = rampart(&from_policy, &state.join("a"), &["apply", example], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

        let bundle = state.join("fw.json");
        let out = command()
            .args(["compile", example, "--target", "bundle", "-o"])
            .arg(&bundle)
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let b = bundle.to_str().unwrap();
        let out = rampart(&from_bundle, &state.join("b"), &["apply", "--compiled", b], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

        for save in ["iptables-save", "ip6tables-save"] {
            for table in ["filter", "mangle"] {
                let rules = |ns: &Netns| {
                    let t = ns.stdout([save, "-t", table]).unwrap();
                    t.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
                };
                assert_eq!(rules(&from_policy), rules(&from_bundle), "{example}: {save} {table}");
            }
        }
        if example.ends_with("sets.rp") {
            let list = from_bundle.stdout(["ipset", "list", "blocklist", "-t"]).unwrap();
            assert!(list.contains("timeout 3600") && list.contains("maxelem 4096"), "{list}");
            let m = from_bundle.stdout(["iptables-save", "-t", "mangle"]).unwrap();
            assert!(m.contains("MARK --set-xmark 0x1/0xffffffff"), "{m}");
        }
    }
}
