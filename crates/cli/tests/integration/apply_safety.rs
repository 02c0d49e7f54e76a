//! `rampart apply` when things go wrong: chained tries, two applies at
//! once, signals and kills half-way, a watchdog that cannot start or cannot
//! roll back, and other software's chains created during a try.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use rampart_lab::{Netns, Tool, require_tools, wait_until};

use rampart_testing::TempDir;

use crate::deploy::{rules, tools};
use crate::util::{tempdir, text};

/// [`crate::deploy::in_ns`] with `PATH` set to `path` when given.
fn command(ns: &Netns, state: &Path, args: &[&str], path: Option<&Path>) -> Command {
    let mut cmd = crate::deploy::in_ns(ns, state, args);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd
}

fn rampart(ns: &Netns, state: &Path, args: &[&str]) -> Output {
    crate::deploy::rampart(ns, state, args, &[])
}

fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// A PATH holding the system's tools, with `ip6tables-restore` replaced by
/// one that waits `secs` first (a window between the IPv4 and the IPv6
/// load), and without `setsid` when `setsid` is false.
fn tools_dir(name: &str, slow_v6: u32, setsid: bool) -> TempDir {
    let dir = tempdir(name);
    let tools = [
        "ip",
        "sh",
        "sleep",
        "iptables-save",
        "iptables-restore",
        "ip6tables-save",
        "ip6tables-restore",
        "setsid",
    ];
    for tool in tools {
        if tool == "setsid" && !setsid {
            continue;
        }
        let real = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        let link = dir.join(tool);
        if tool == "ip6tables-restore" && slow_v6 > 0 {
            std::fs::write(
                &link,
                format!("#!/bin/sh\nsleep {slow_v6}\nexec {} \"$@\"\n", real.display()),
            )
            .unwrap();
            std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o755)).unwrap();
        } else {
            std::os::unix::fs::symlink(&real, &link).unwrap();
        }
    }
    dir
}

#[test]
fn a_chained_try_rolls_back_to_the_last_confirmed_rules() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("chained");
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "0"]));
    ok(&rampart(&ns, &state, &["apply", "examples/office-gateway.rp", "--try", "30"]));
    ok(&rampart(&ns, &state, &["apply", "examples/kvm-bridges.rp", "--try", "1"]));
    let back = wait_until(Duration::from_secs(10), || {
        let r = rules(&ns);
        r.contains("Spice_VM_1") && !r.contains("dmz-out")
    });
    assert!(back, "not back at the confirmed rules: {}", rules(&ns));
    // Nobody confirmed office-gateway: it never comes back, and status
    // still knows what is applied.
    let out = rampart(&ns, &state, &["status"]);
    let s = text(&out.stdout);
    ok(&out);
    assert!(
        s.contains("firewall `")
            && s.contains("spice-client.rp")
            && s.contains("loaded rules match"),
        "{s}"
    );
    let out = rampart(&ns, &state, &["confirm"]);
    assert_eq!(out.status.code(), Some(2), "nothing waits: {}", text(&out.stderr));
}

#[test]
fn a_second_apply_is_refused_while_one_holds_the_state() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("locked");
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp"]));
    let lock = std::fs::OpenOptions::new().write(true).open(state.join("lock")).unwrap();
    lock.lock().unwrap();
    for args in [&["apply", "examples/office-gateway.rp"][..], &["rollback"]] {
        let out = rampart(&ns, &state, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains("another rampart apply or rollback is running"));
    }
    assert!(!rules(&ns).contains("dmz-out"));
    drop(lock);
    ok(&rampart(&ns, &state, &["apply", "examples/office-gateway.rp"]));
}

#[test]
fn without_a_watchdog_nothing_is_loaded() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("nosetsid");
    let path = tools_dir("nosetsid-bin", 0, false);
    let out =
        command(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "30"], Some(&path))
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot arm the rollback") && err.contains("nothing was loaded"), "{err}");
    assert!(!rules(&ns).contains("Spice_VM_1"), "loaded without a way back");
    let out = rampart(&ns, &state, &["status"]);
    assert!(text(&out.stdout).contains("nothing applied"), "{}", text(&out.stdout));
}

#[test]
fn a_signal_between_the_ipv4_and_ipv6_loads_puts_the_old_rules_back() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("signal");
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp"]));
    let path = tools_dir("signal-bin", 2, true);
    for signal in ["TERM", "HUP", "INT"] {
        let child = command(&ns, &state, &["apply", "examples/office-gateway.rp"], Some(&path))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // IPv4 is in once the IPv4 chains show up.
        assert!(wait_until(Duration::from_secs(10), || rules(&ns).contains("dmz-out")));
        Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{signal}");
        let err = text(&out.stderr);
        assert!(err.contains("interrupted") && err.contains("put back"), "{signal}: {err}");
        let r = rules(&ns);
        assert!(r.contains("Spice_VM_1") && !r.contains("dmz-out"), "{signal}: {r}");
        ok(&rampart(&ns, &state, &["status"]));
    }
}

#[test]
fn a_try_killed_half_way_is_rolled_back_by_its_watchdog() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("killed");
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp"]));
    let path = tools_dir("killed-bin", 3, true);
    let mut child =
        command(&ns, &state, &["apply", "examples/office-gateway.rp", "--try", "2"], Some(&path))
            .spawn()
            .unwrap();
    assert!(wait_until(Duration::from_secs(10), || rules(&ns).contains("dmz-out")));
    child.kill().unwrap();
    child.wait().unwrap();
    let back = wait_until(Duration::from_secs(10), || {
        let r = rules(&ns);
        r.contains("Spice_VM_1") && !r.contains("dmz-out")
    });
    assert!(back, "no watchdog rolled back: {}", rules(&ns));
}

#[test]
fn a_failing_watchdog_says_so_in_the_kernel_log_and_status_flags_it() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("overdue");
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp"]));
    ok(&rampart(&ns, &state, &["apply", "examples/office-gateway.rp", "--try", "1"]));
    // The record of the confirmed state is damaged before the deadline.
    std::fs::write(state.join("previous.json"), "{ damaged").unwrap();
    let dir = state.display().to_string();
    let logged = wait_until(Duration::from_secs(10), || {
        let kmsg = Command::new("dmesg").output().map(|o| text(&o.stdout)).unwrap_or_default();
        kmsg.lines()
            .any(|l| l.contains("rampart: the watchdog cannot roll back") && l.contains(&dir))
    });
    assert!(logged, "nothing in the kernel log");
    std::thread::sleep(Duration::from_secs(6));
    let out = rampart(&ns, &state, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("OVERDUE"), "{}", text(&out.stdout));
}

#[test]
fn state_is_root_only_and_a_try_rollback_keeps_chains_made_meanwhile() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("modes");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(&rampart(&ns, &state, &["apply", "examples/spice-client.rp", "--try", "1"]));
    // fail2ban starts during the try and adds its chain.
    ns.run(["iptables", "-w", "-N", "f2b-sshd"]).unwrap();
    ns.run(["iptables", "-w", "-A", "f2b-sshd", "-s", "192.0.2.7", "-j", "REJECT"]).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    for f in std::fs::read_dir(&state).unwrap() {
        let f = f.unwrap().path();
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    assert!(wait_until(Duration::from_secs(10), || !rules(&ns).contains("Spice_VM_1")));
    let r = rules(&ns);
    assert!(r.contains("-A f2b-sshd -s 192.0.2.7/32 -j REJECT"), "{r}");
}

#[test]
fn a_failure_after_loading_puts_the_old_rules_back_and_says_so() {
    tools();
    let ns = Netns::new().unwrap();
    let dir = tempdir("after-load");
    let (state, boot) = (dir.join("state"), dir.join("boot"));
    // The boot file cannot be written: a directory holds its name.
    std::fs::create_dir_all(boot.join("rules.v4").join("x")).unwrap();
    let out = command(&ns, &state, &["apply", "examples/spice-client.rp"], None)
        .env("RAMPART_BOOT_DIR", &boot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("were loaded, but recording them failed"), "{err}");
    assert!(err.contains("the last confirmed rules are back"), "{err}");
    assert!(!rules(&ns).contains("Spice_VM_1"), "{}", rules(&ns));
    assert!(!state.join("pending.json").exists());
}

/// On a host where nothing tracked connections yet, the management session
/// is not in conntrack: after the new rules load, its next packet would be
/// taken for a NEW one. `apply` inserts it as ESTABLISHED first, so the
/// session survives even when the host speaks first (as Ansible's module
/// does when it returns its result).
#[test]
fn the_session_that_applies_survives_when_nothing_tracked_it_before() {
    tools();
    require_tools(&[Tool::SOCAT, Tool { name: "conntrack", package: "conntrack" }]).unwrap();
    let (admin, fw) = (Netns::new().unwrap(), Netns::new().unwrap());
    rampart_lab::veth(&admin, "eth0", &fw, "eth0").unwrap();
    admin.addr("eth0", "10.89.0.1/24").unwrap();
    fw.addr("eth0", "10.89.0.2/24").unwrap();
    let dir = tempdir("tracked");
    let policy = dir.join("fw.rp");
    std::fs::write(
        &policy,
        "host admin 10.89.0.1\nservice mgmt tcp 2222\nfirewall fw {\n  \
         interface eth0 10.89.0.2/24 management\n  ruleset main {\n    \
         accept from admin to self service mgmt\n  }\n}\n",
    )
    .unwrap();
    // The session: the host answers after a pause, by when the rules are in.
    let server = fw
        .spawn(&["socat", "TCP-LISTEN:2222,bind=10.89.0.2,reuseaddr", "SYSTEM:sleep 3; echo hello"])
        .unwrap();
    let _server = rampart_lab::Spawned(vec![server]);
    assert!(wait_until(Duration::from_secs(5), || {
        fw.stdout(["ss", "-Hltn", "sport = :2222"]).is_ok_and(|s| !s.trim().is_empty())
    }));
    let got = dir.join("got");
    let client = admin
        .command("sh")
        .arg("-c")
        .arg("exec timeout 15 socat -u TCP:10.89.0.2:2222,sourceport=40123 - > \"$0\"")
        .arg(&got)
        .spawn()
        .unwrap();
    let mut client = rampart_lab::Spawned(vec![client]);
    // Nothing has made the kernel track connections in this namespace.
    assert!(!rules(&fw).contains("conntrack"));
    std::thread::sleep(Duration::from_millis(500));
    let state = dir.join("state");
    let out = command(&fw, &state, &["apply", policy.to_str().unwrap(), "--try", "0"], None)
        .env("SSH_CONNECTION", "10.89.0.1 40123 10.89.0.2 2222")
        .output()
        .unwrap();
    ok(&out);
    assert!(rules(&fw).contains("--ctstate RELATED,ESTABLISHED"), "{}", rules(&fw));
    let done = client.0[0].wait().unwrap();
    assert!(done.success(), "the session was cut: the client timed out");
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "hello\n", "the host's answer arrived");
}
