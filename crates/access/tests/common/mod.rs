//! Shared by the access kit's tests: policies and tools.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use rampart_access::Kit;
use rampart_model::{Access, Firewall};

/// The shipped per-user console client (examples/spice-client.rp).
pub const SPICE: &str = include_str!("../../../../examples/spice-client.rp");

pub const AUDIT: &[&str] = &["/usr/local/bin/rampart", "access", "audit", "/etc/rampart/policy.rp"];

/// The first access declaration of a policy and its firewall.
pub fn load(text: &str) -> (Access, Firewall) {
    let model = rampart_testing::model(text);
    let access = model.accesses[0].clone();
    let fw = model.firewall(&access.firewall).unwrap().clone();
    (access, fw)
}

pub fn kit(text: &str) -> Kit {
    let (a, fw) = load(text);
    Kit::new(&a, &fw, AUDIT).unwrap()
}

/// A tool the proof needs; its absence fails the test, never skips it.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(tool).is_file();
    assert!(found, "`{tool}` is missing: install {package} (apt-get install {package})");
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// `visudo -c -f` on a text, through a temporary file.
pub fn visudo_ok(text: &str, dir: &Path, name: &str) {
    require("visudo", "sudo");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out = run(Command::new("visudo").args(["-c", "-f"]).arg(&path));
    assert!(
        out.status.success(),
        "visudo refuses {name}:\n{}\n{}{}",
        text,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
