//! The kit against the real sudo: test users, a stand-in viewer that
//! prints its arguments, the generated sudoers fragment in
//! /etc/sudoers.d/ under a test-unique name. Runs as root; everything it
//! creates is removed by a guard, also when an assertion fails.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{require, run};
use rampart_access::install::{self, Root, Step};

/// Removes what the test created, in reverse order, whatever happened.
struct Guard {
    users: Vec<String>,
    group: String,
    sudoers: PathBuf,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.sudoers);
        for u in &self.users {
            let _ = Command::new("userdel").arg("-f").arg(u).output();
        }
        let _ = Command::new("groupdel").arg(&self.group).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uid(user: &str) -> u32 {
    let out = run(Command::new("id").args(["-u", user]));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Run a command as `user` through runuser, with no inherited SUDO_*.
fn as_user(user: &str, args: &[&str]) -> Output {
    run(Command::new("runuser")
        .args(["-u", user, "--"])
        .args(args)
        .env_remove("SUDO_UID")
        .env_remove("SUDO_USER")
        .current_dir("/"))
}

#[test]
fn real_sudo_allows_only_the_pinned_console() {
    assert!(
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")),
        "this test creates users and a sudoers fragment: run it as root"
    );
    for (tool, pkg) in
        [("sudo", "sudo"), ("visudo", "sudo"), ("useradd", "passwd"), ("runuser", "util-linux")]
    {
        require(tool, pkg);
    }
    let pid = std::process::id();
    let (a, b, c, g) =
        (format!("rpt{pid}a"), format!("rpt{pid}b"), format!("rpt{pid}c"), format!("rpt{pid}g"));
    let dir = PathBuf::from(format!("/tmp/rpt{pid}"));
    let guard = Guard {
        users: vec![a.clone(), b.clone(), c.clone()],
        group: g.clone(),
        sudoers: PathBuf::from(format!("/etc/sudoers.d/rpt{pid}")),
        dir: dir.clone(),
    };
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let viewer = dir.join("viewer");
    std::fs::write(&viewer, "#!/bin/sh\necho \"viewer as $(id -un):$(id -gn) args: $*\"\n")
        .unwrap();
    std::fs::set_permissions(&viewer, std::fs::Permissions::from_mode(0o755)).unwrap();
    for u in &guard.users {
        let out = run(Command::new("useradd").args(["-M", "-N", "-s", "/bin/sh", u]));
        assert!(out.status.success(), "useradd {u}: {}", text(&out));
    }
    let policy = format!(
        "user {a} uid {ua}\nuser {b} uid {ub}\nhost srv 192.0.2.2\n\
         service one tcp 20002\nservice two tcp 20004\nservice all tcp 20001-20010\n\
         firewall lap {{\n interface eth0 192.0.2.22/24\n ruleset main {{\n  \
         accept to srv service one user {a} out\n  accept to srv service two user {b} out\n  \
         deny service all log\n }}\n}}\n\
         access t for lap {{\n viewer \"{v}\"\n group {g}\n password no\n consoles all\n \
         user {a} to srv port 20002\n user {b} to srv port 20004\n}}\n",
        ua = uid(&a),
        ub = uid(&b),
        v = viewer.display(),
    );
    let kit = common::kit(&policy);

    // The viewer locked to the group, the fragment installed the way
    // `rampart access install` does it (checked by visudo, then renamed).
    let root = Root(PathBuf::from("/"));
    let lock = [
        Step::CreateGroup { group: g.clone() },
        Step::LockViewer { path: viewer.display().to_string(), group: g.clone() },
    ];
    install::apply(&lock, &root).unwrap();
    install::install_sudoers(&guard.sudoers, &kit.sudoers).unwrap();
    let v = viewer.to_str().unwrap();
    let url_a = "spice://srv?tls-port=20002";
    let url_b = "spice://srv?tls-port=20004";

    // The granted user runs the pinned command, as themself with the group.
    let out = as_user(&a, &["sudo", "-n", "-u", &a, "-g", &g, v, "--", url_a]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("viewer as {a}:{g} args: -- {url_a}")
    );
    // Another port, extra arguments, or without the group: refused.
    for args in [
        vec!["sudo", "-n", "-u", &a, "-g", &g, v, "--", url_b],
        vec!["sudo", "-n", "-u", &a, "-g", &g, v, "--", "spice://srv?tls-port=20002x"],
        vec!["sudo", "-n", "-u", &a, "-g", &g, v, "--", url_a, "--spice-debug"],
        vec!["sudo", "-n", "-u", &a, "-g", &g, v, url_a],
        vec!["sudo", "-n", "-u", &b, "-g", &g, v, "--", url_a],
    ] {
        let out = as_user(&a, &args);
        assert!(!out.status.success(), "sudo allowed {args:?}: {}", text(&out));
        assert!(!text(&out).contains("viewer as"), "{}", text(&out));
    }
    // The viewer itself is closed to the user by its mode.
    let out = as_user(&a, &[v, "--", url_a]);
    assert!(!out.status.success(), "direct run allowed: {}", text(&out));
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));
    let mode = std::fs::metadata(&viewer).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750);
    // A user without an entry is refused, for any console.
    for url in [url_a, url_b] {
        let out = as_user(&c, &["sudo", "-n", "-u", &c, "-g", &g, v, "--", url]);
        assert!(!out.status.success(), "{}", text(&out));
    }

    // The launcher picks each caller's console by UID.
    let launcher = dir.join("launcher");
    std::fs::write(&launcher, &kit.launcher).unwrap();
    std::fs::set_permissions(&launcher, std::fs::Permissions::from_mode(0o755)).unwrap();
    let l = launcher.to_str().unwrap();
    for (user, url) in [(&a, url_a), (&b, url_b)] {
        let out = as_user(user, &[l]);
        assert!(out.status.success(), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains(&format!("Hello {user}, opening your console {url}")), "{t}");
        assert!(t.contains(&format!("viewer as {user}:{g} args: -- {url}")), "{t}");
    }
    let out = as_user(&c, &[l]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("has no console"), "{}", text(&out));
    // Started for someone else (SUDO_UID of another user): refused.
    let other = uid(&b).to_string();
    let out = as_user(&a, &["env", &format!("SUDO_UID={other}"), l]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("run it as yourself"), "{}", text(&out));
    // No free arguments.
    let out = as_user(&a, &[l, "spice://srv?tls-port=20004"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("viewer as"));

    // A fragment visudo refuses never replaces the installed one.
    let err = install::install_sudoers(&guard.sudoers, "this is not sudoers\n").unwrap_err();
    assert!(err.to_string().contains("visudo"), "{err}");
    assert_eq!(std::fs::read_to_string(&guard.sudoers).unwrap(), kit.sudoers);
    assert!(!Path::new(&format!("/etc/sudoers.d/.rpt{pid}.new")).exists());

    drop(guard);
    assert!(!Path::new(&format!("/etc/sudoers.d/rpt{pid}")).exists());
    assert!(!run(Command::new("id").arg(&a)).status.success(), "user {a} left behind");
    assert!(!dir.exists());
}
