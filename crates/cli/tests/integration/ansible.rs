//! The Ansible collection in `ansible/`, run by the real ansible-core against
//! an SSH server in a network namespace: check mode, apply, idempotence, and
//! a try that shuts Ansible out rolling back by itself.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use rampart_lab::{Netns, Tool, require_tools, wait_until};

use crate::deploy::{FLEET, RemoveOnDrop, SshHost, rules, ssh_host, ssh_keys};
use crate::util::{root, text};

const PLAYBOOK: &str = "\
- hosts: r1
  gather_facts: false
  roles:
    - role: rampart.firewall.apply
";

/// `ansible-playbook` from the admin namespace; its output (the default
/// callback: a plugin for JSON output is not part of ansible-core).
#[allow(clippy::print_stderr)] // the transcript, shown when the test fails
fn playbook(admin: &Netns, dir: &Path, extra: &[&str]) -> (Output, String) {
    let out = admin
        .command("ansible-playbook")
        .args(["-i", "inventory", "play.yml"])
        .args(extra)
        .current_dir(dir)
        .env("HOME", dir)
        // ssh's control socket must fit a Unix socket path (108 bytes),
        // wherever the checkout lies.
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", control_dir())
        .env("ANSIBLE_CONFIG", dir.join("no-ansible.cfg"))
        .env("ANSIBLE_COLLECTIONS_PATH", root().join("ansible"))
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_TIMEOUT", "3")
        .env("ANSIBLE_NOCOLOR", "1")
        // Modules go through the SSH session: the test's sshd has no sftp.
        .env("ANSIBLE_PIPELINING", "True")
        .output()
        .expect("run ansible-playbook");
    let stdout = text(&out.stdout);
    eprintln!("--- ansible-playbook {extra:?}\n{stdout}{}", text(&out.stderr));
    (out, stdout)
}

/// A short directory for ssh's control sockets, one per test process.
fn control_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("rampart-cp-{}", std::process::id()))
}

/// What the task named `name` did on r1: ok, changed, skipping, fatal.
fn task<'a>(output: &'a str, name: &str) -> &'a str {
    let Some(at) = output.find(&format!("{name}] ")) else { return "not run" };
    output[at..]
        .lines()
        .skip(1)
        .find_map(|l| l.split(": [r1]").next().filter(|_| l.contains(": [r1]")))
        .unwrap_or("?")
}

/// A count of the PLAY RECAP line: `ok`, `changed`, `unreachable`, ...
fn recap(output: &str, what: &str) -> u32 {
    let line = output.lines().rev().find(|l| l.starts_with("r1 ")).unwrap_or("");
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{what}=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

fn setup(dir: &Path, host: &SshHost) {
    let inventory = format!(
        "r1 ansible_host={} ansible_user=root ansible_ssh_private_key_file={}/client_key \
         ansible_python_interpreter=/usr/bin/python3 \
         ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n",
        host.addr,
        dir.display()
    );
    std::fs::write(dir.join("inventory"), inventory).unwrap();
    std::fs::write(dir.join("play.yml"), PLAYBOOK).unwrap();
    std::fs::write(dir.join("fleet.rp"), FLEET).unwrap();
}

#[test]
fn every_module_documents_its_options_for_ansible_doc() {
    require_tools(&[Tool { name: "ansible-doc", package: "ansible-core" }]).unwrap();
    for (module, option) in [("rampart_apply", "try_seconds"), ("rampart_confirm", "version")] {
        let out = std::process::Command::new("ansible-doc")
            .args(["--json", "-t", "module", &format!("rampart.firewall.{module}")])
            .env("ANSIBLE_COLLECTIONS_PATH", root().join("ansible"))
            .output()
            .expect("run ansible-doc");
        assert!(out.status.success(), "{module}: {}", text(&out.stderr));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let options = &doc[format!("rampart.firewall.{module}")]["doc"]["options"];
        // Its own option and the shared ones (a documentation fragment).
        for o in [option, "rampart", "state_dir"] {
            assert!(options[o]["description"].is_string(), "{module} {o}: {options}");
        }
    }
}

#[test]
fn the_collection_applies_on_trial_confirms_and_rolls_back_when_shut_out() {
    require_tools(&[
        Tool { name: "ansible-playbook", package: "ansible-core" },
        Tool { name: "python3", package: "python3" },
    ])
    .unwrap();
    let (dir, _cleanup) = ssh_keys("ansible");
    std::fs::create_dir_all(control_dir()).unwrap();
    let _sockets = RemoveOnDrop(vec![control_dir()]);
    let admin = Netns::new().unwrap();
    let r1 = ssh_host(&admin, 1, &dir);
    setup(&dir, &r1);
    let policy = format!("rampart_policy={}", dir.join("fleet.rp").display());
    let bin = format!("rampart_bin={}", env!("CARGO_BIN_EXE_rampart"));
    let vars = |fw: &str, more: &str| format!("{policy} {bin} rampart_firewall={fw} {more}");
    let ours = "administration of r1";

    // Check mode: the diff is reported, nothing is loaded.
    let (out, report) = playbook(&admin, &dir, &["--check", "--diff", "-e", &vars("r1", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(task(&report, "Load the firewall on trial"), "changed");
    assert!(report.contains(&format!("{ours}\" -j ACCEPT")), "the diff names the new rules");
    assert!(!rules(&r1.ns).contains(ours), "check mode loaded rules");

    // For real: loaded on trial, confirmed through a new connection.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("r1", "rampart_try_seconds=30")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(task(&report, "Load the firewall on trial"), "changed");
    assert_eq!(task(&report, "Confirm through a new connection"), "changed");
    assert!(rules(&r1.ns).contains(ours));
    assert!(!r1.state.join("pending.json").exists(), "the try was confirmed");

    // Again: nothing to change, nothing loaded, nothing to confirm.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("r1", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(recap(&report, "changed"), 0);
    assert_eq!(task(&report, "Load the firewall on trial"), "ok");
    assert_eq!(task(&report, "Confirm through a new connection"), "skipping");

    // Rules that let no new SSH connection in: the guard refuses them.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("closed", "")]);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(task(&report, "Load the firewall on trial"), "fatal");
    assert!(report.contains("would cut the management connection"), "the guard's verdict");
    assert!(rules(&r1.ns).contains(ours), "nothing may be loaded");

    // Forced through, the confirmation cannot get in: the host puts its
    // previous rules back by itself.
    let (out, report) = playbook(
        &admin,
        &dir,
        &["-e", &vars("closed", "rampart_force=true rampart_try_seconds=10")],
    );
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(task(&report, "Load the firewall on trial"), "changed");
    assert_eq!(recap(&report, "unreachable"), 1);
    let back = wait_until(Duration::from_secs(30), || rules(&r1.ns).contains(ours));
    assert!(back, "no rollback: {}", rules(&r1.ns));
}
