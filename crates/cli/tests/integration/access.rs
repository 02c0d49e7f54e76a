//! `rampart access` as an administrator runs it: generate, the units
//! checked by systemd-analyze, install --dry-run, audit exit codes.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{rampart, tempdir};

/// Stdout and stderr together.
fn both(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn generate_writes_the_kit_and_systemd_accepts_the_units() {
    let d = tempdir("generate");
    let out_dir = d.join("kit");
    let bin = env!("CARGO_BIN_EXE_rampart");
    let out = rampart(&[
        "access",
        "generate",
        "examples/spice-client.rp",
        "--firewall",
        "mylap",
        "--rampart",
        bin,
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    assert!(both(&out).contains("visudo -c accepts it"), "{}", both(&out));
    for f in [
        "etc/sudoers.d/rampart-spice",
        "usr/local/bin/rampart-spice",
        "etc/systemd/system/rampart-spice-audit.service",
        "etc/systemd/system/rampart-spice-audit.timer",
        "etc/rampart/rampart-spice.rules.v4",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} not written");
    }
    let units = out_dir.join("etc/systemd/system");
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .arg(units.join("rampart-spice-audit.service"))
        .arg(units.join("rampart-spice-audit.timer"))
        .output()
        .expect("systemd-analyze is missing: install systemd (apt-get install systemd)");
    assert!(verify.status.success(), "systemd-analyze verify: {}", both(&verify));
}

#[test]
fn generate_refuses_rules_that_break_the_declaration() {
    let d = tempdir("refuse");
    let policy = d.join("p.rp");
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spice-client.rp"),
    )
    .unwrap()
    .replace("user mybro to mysrv port 20004", "user mybro to mysrv port 20006");
    std::fs::write(&policy, src).unwrap();
    let out_dir = d.join("kit");
    let out =
        rampart(&["access", "generate", policy.to_str().unwrap(), "-o", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(both(&out).contains("mybro (UID 1022) to 192.168.2.2:20006 should be accepted"));
    assert!(!out_dir.exists(), "wrote files for a refused kit");
}

#[test]
fn generate_refuses_sudoers_keywords_as_user_names() {
    let d = tempdir("keywords");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/spice-client.rp"),
    )
    .unwrap();
    for name in ["ALL", "%sudo", "+net"] {
        let policy = d.join("p.rp");
        std::fs::write(&policy, example.replace("myself", name)).unwrap();
        let out_dir = d.join("kit");
        let out = rampart(&[
            "access",
            "generate",
            policy.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", both(&out));
        assert!(both(&out).contains("login name"), "{name}: {}", both(&out));
        assert!(!out_dir.exists(), "{name}: wrote files for a refused kit");
    }
}

#[test]
fn install_dry_run_changes_nothing_and_audit_reports_drift() {
    let d = tempdir("dry");
    let root = d.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::copy("/etc/group", root.join("etc/group")).unwrap();
    std::fs::write(root.join("usr/bin/remote-viewer"), "#!/bin/sh\n").unwrap();
    let r = root.to_str().unwrap();
    let out = rampart(&["access", "install", "examples/spice-client.rp", "--root", r, "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", both(&out));
    let t = both(&out);
    assert!(t.contains("dry run: nothing changed"), "{t}");
    assert!(t.contains("create system group spicegrp"), "{t}");
    assert!(t.contains("chown root:spicegrp /usr/bin/remote-viewer; chmod 0750"), "{t}");
    assert!(!root.join("etc/sudoers.d").exists());

    // Nothing installed: the audit says what is missing and exits 1.
    let saved = d.join("saved");
    std::fs::write(
        &saved,
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    )
    .unwrap();
    let out = rampart(&[
        "access",
        "audit",
        "examples/spice-client.rp",
        "--root",
        r,
        "--iptables-save",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    let t = both(&out);
    assert!(t.contains("group spicegrp does not exist"), "{t}");
    assert!(t.contains("/etc/sudoers.d/rampart-spice is missing"), "{t}");
    assert!(t.contains("chain OUTPUT lacks"), "{t}");

    // Uninstalling what was never installed is an operational failure.
    let out = rampart(&["access", "uninstall", "examples/spice-client.rp", "--root", r]);
    assert_eq!(out.status.code(), Some(2), "{}", both(&out));
    assert!(both(&out).contains("is not installed"), "{}", both(&out));
}
