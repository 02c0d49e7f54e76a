//! The Ansible collection in `ansible/`, run by the real ansible-core against
//! an SSH server in a network namespace: check mode, apply, idempotence, and
//! a try that shuts Ansible out rolling back by itself.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use rampart_lab::{Netns, Tool, require_tools, wait_until};
use serde_json::Value;

use crate::deploy::{FLEET, SshHost, rules, ssh_host, ssh_keys};
use crate::util::{root, text};

const PLAYBOOK: &str = "\
- hosts: r1
  gather_facts: false
  roles:
    - role: rampart.firewall.apply
";

/// `ansible-playbook` from the admin namespace, with the JSON callback.
#[allow(clippy::print_stderr)] // the transcript, shown when the test fails
fn playbook(admin: &Netns, dir: &Path, extra: &[&str]) -> (Output, Value) {
    let out = admin
        .command("ansible-playbook")
        .args(["-i", "inventory", "play.yml"])
        .args(extra)
        .current_dir(dir)
        .env("HOME", dir)
        .env("ANSIBLE_CONFIG", dir.join("no-ansible.cfg"))
        .env("ANSIBLE_COLLECTIONS_PATH", root().join("ansible"))
        .env("ANSIBLE_STDOUT_CALLBACK", "json")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_TIMEOUT", "3")
        .env("ANSIBLE_NOCOLOR", "1")
        // Modules go through the SSH session: the test's sshd has no sftp.
        .env("ANSIBLE_PIPELINING", "True")
        .output()
        .expect("run ansible-playbook");
    eprintln!("--- ansible-playbook {extra:?}\n{}{}", text(&out.stdout), text(&out.stderr));
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, report)
}

/// The result of the task named `name` on r1.
fn task<'a>(report: &'a Value, name: &str) -> &'a Value {
    let tasks = report["plays"][0]["tasks"].as_array().expect("a play with tasks");
    tasks
        .iter()
        .find(|t| t["task"]["name"].as_str().is_some_and(|n| n.ends_with(name)))
        .map_or(&Value::Null, |t| &t["hosts"]["r1"])
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
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let options = &doc[format!("rampart.firewall.{module}")]["doc"]["options"];
        assert!(options[option]["description"].is_string(), "{module}: {options}");
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
    let applied = task(&report, "Load the firewall on trial");
    assert_eq!(applied["changed"], true, "{applied}");
    let changes = applied["changes"].to_string();
    assert!(changes.contains(ours), "the diff names the new rules: {changes}");
    assert!(!rules(&r1.ns).contains(ours), "check mode loaded rules");

    // For real: loaded on trial, confirmed through a new connection.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("r1", "rampart_try_seconds=30")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(task(&report, "Load the firewall on trial")["changed"], true);
    let confirm = task(&report, "Confirm through a new connection");
    assert_eq!(confirm["changed"], true, "{confirm}");
    assert!(rules(&r1.ns).contains(ours));
    assert!(!r1.state.join("pending.json").exists(), "the try was confirmed");

    // Again: nothing to change, nothing loaded, nothing to confirm.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("r1", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(report["stats"]["r1"]["changed"], 0, "{}", report["stats"]);
    assert_eq!(task(&report, "Confirm through a new connection")["skipped"], true);

    // Rules that let no new SSH connection in: the guard refuses them.
    let (out, report) = playbook(&admin, &dir, &["-e", &vars("closed", "")]);
    assert_ne!(out.status.code(), Some(0));
    let refused = task(&report, "Load the firewall on trial");
    assert_eq!(refused["failed"], true, "{refused}");
    assert!(rules(&r1.ns).contains(ours), "nothing may be loaded");

    // Forced through, the confirmation cannot get in: the host puts its
    // previous rules back by itself.
    let (out, report) = playbook(
        &admin,
        &dir,
        &["-e", &vars("closed", "rampart_force=true rampart_try_seconds=10")],
    );
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(task(&report, "Load the firewall on trial")["changed"], true);
    assert_eq!(report["stats"]["r1"]["unreachable"], 1, "{}", report["stats"]);
    let back = wait_until(Duration::from_secs(30), || rules(&r1.ns).contains(ours));
    assert!(back, "no rollback: {}", rules(&r1.ns));
}
