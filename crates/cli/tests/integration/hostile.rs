//! Hostile input as users would feed it: names that try to leave the
//! output directory, file names and titles that try to inject lines.

use crate::util::{rampart, tempdir, text};

#[test]
fn firewall_names_never_leave_the_output_directory() {
    let dir = tempdir("traversal");
    let out_dir = dir.join("a/b/out");
    for name in ["../../escape_fw", "/abs/path", "..", ".hidden", "-o"] {
        let policy = dir.join("p.rp");
        std::fs::write(
            &policy,
            format!("firewall {name} {{\n interface eth0 10.0.0.1/24\n ruleset main {{\n }}\n}}\n"),
        )
        .unwrap();
        let out = rampart(&[
            "compile",
            policy.to_str().unwrap(),
            "--all",
            "-o",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("E0250"), "{name}: {}", text(&out.stderr));
    }
    let written: Vec<_> = walk(&dir).into_iter().filter(|p| !p.ends_with("p.rp")).collect();
    assert!(written.is_empty(), "files written: {written:?}");
    assert!(!std::path::Path::new("/abs").exists());
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn a_policy_file_name_injects_nothing() {
    rampart_lab::require_tools(&[rampart_lab::Tool::IPTABLES_RESTORE]).unwrap();
    let dir = tempdir("title");
    let name = "t\n-A INPUT -s 6.6.6.6 -j ACCEPT\ntouch injected\n#.rp";
    let policy = dir.join(name);
    std::fs::write(
        &policy,
        "service ssh tcp 22\nfirewall fw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  accept service ssh\n }\n}\n",
    )
    .unwrap();
    let (v4, sh) = (dir.join("out.v4"), dir.join("out.sh"));
    for (target, file) in [("iptables-restore", &v4), ("iptables-script", &sh)] {
        let p = policy.to_str().unwrap();
        let out = rampart(&["compile", p, "-t", target, "-o", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{target}: {}", text(&out.stderr));
    }
    let ns = rampart_lab::Netns::new().unwrap();
    let out =
        ns.run_with_input(&["iptables-restore", "-w"], &std::fs::read_to_string(&v4).unwrap());
    out.unwrap();
    let saved = ns.stdout(["iptables-save", "-t", "filter"]).unwrap();
    assert!(!saved.contains("6.6.6.6"), "injected through the .v4 document:\n{saved}");

    let ns = rampart_lab::Netns::new().unwrap();
    let out = ns.command("sh").arg(&sh).current_dir(&dir).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.join("injected").exists(), "the shell script ran an injected command");
    let saved = ns.stdout(["iptables-save", "-t", "filter"]).unwrap();
    assert!(!saved.contains("6.6.6.6"), "injected through the shell script:\n{saved}");
    assert!(saved.contains("--dport 22"), "the script did load the rules:\n{saved}");
}

/// `rampart ARGS`, killed after 20 s: a read that hangs fails the test.
fn rampart_bounded(args: &[&str]) -> std::process::Output {
    let mut child = crate::util::command()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let done = rampart_lab::wait_until(std::time::Duration::from_secs(20), || {
        child.try_wait().unwrap().is_some()
    });
    if !done {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert!(done, "rampart {args:?} hung: {}", text(&out.stderr));
    out
}

#[test]
fn includes_read_policies_only() {
    let dir = tempdir("include");
    let secret = dir.join("shadow");
    std::fs::write(&secret, "root:$y$j9T$SECRETHASH:19000:0:99999:7:::\n").unwrap();
    let fifo = dir.join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.join("big.rp");
    std::fs::File::create(&big).unwrap().set_len(rampart_model::MAX_POLICY_BYTES + 1).unwrap();
    for (target, expect) in [
        (secret.to_str().unwrap(), "is not a policy"),
        (fifo.to_str().unwrap(), "a FIFO, not a regular file"),
        ("/dev/zero", "a device, not a regular file"),
        (big.to_str().unwrap(), "larger than"),
        (dir.to_str().unwrap(), "a directory, not a regular file"),
    ] {
        let policy = dir.join("p.rp");
        std::fs::write(&policy, format!("include \"{target}\"\n")).unwrap();
        let out = rampart_bounded(&["check", policy.to_str().unwrap()]);
        // One line, whatever the renderer's wrapping.
        let err =
            text(&out.stderr).replace('│', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(out.status.code(), Some(1), "{target}: {err}");
        assert!(err.contains(expect), "{target}: {err}");
        assert!(!err.contains("SECRETHASH"), "{target}: the file's content is shown: {err}");
    }
    for target in [fifo.to_str().unwrap(), "/dev/zero"] {
        let out = rampart_bounded(&["check", target]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("not a regular file"), "{}", text(&out.stderr));
    }
}

#[test]
fn an_error_at_the_end_of_a_100k_character_line_is_reported() {
    let dir = tempdir("long-line");
    let policy = dir.join("long.rp");
    let long = "x".repeat(100_000);
    std::fs::write(
        &policy,
        format!("firewall fw {{\n interface eth0 10.0.0.1/24\n ruleset main {{\n  accept from {long} in @\n }}\n}}\n"),
    )
    .unwrap();
    let out = rampart(&["check", policy.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("E0001") && err.contains("long.rp:4:100019"), "{err}");
}

/// Whether `b` holds a control character other than a line break: one that
/// could move the cursor, clear the screen or retitle the terminal.
fn controls(b: &[u8]) -> bool {
    text(b).contains(|c: char| c.is_control() && c != '\n')
}

/// Escape sequences in a policy, its file name and a log line reach the
/// terminal escaped: in the diagnostics, the messages and the data.
#[test]
fn control_characters_of_the_input_never_reach_the_terminal() {
    let dir = tempdir("controls");
    // ESC (clear screen), a C1 CSI, BEL and a lone carriage return.
    let policy = dir.join("p\u{1b}]0;title\u{7}.rp");
    std::fs::write(&policy, "host h 10.0.0.1 # \u{1b}[2J\u{9b}31m\u{7}\rfake\n").unwrap();
    let out = rampart(&["check", policy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!controls(&out.stderr), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("# \\u{1b}[2J\\u{9b}31m\\u{7}\\rfake"));
    assert!(text(&out.stderr).contains("p\\u{1b}]0;title\\u{7}.rp: 3 error(s)"));

    let log = dir.join("fw.log");
    std::fs::write(
        &log,
        "Dec  3 10:00:00 fw kernel: RP:12:DENY:\u{1b}[2J IN=eth\u{9b}0 OUT= \
         SRC=10.0.0.1 DST=10.0.0.2 LEN=60 PROTO=TCP SPT=1234 DPT=22\n",
    )
    .unwrap();
    for cmd in ["follow", "summary"] {
        let mut args = vec!["logs", cmd, log.to_str().unwrap()];
        if cmd == "follow" {
            args.push("--no-follow");
        }
        let out = rampart(&args);
        assert!(!controls(&out.stdout), "{cmd}: {}", text(&out.stdout));
        assert!(!controls(&out.stderr), "{cmd}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("\\u{1b}[2J"), "{cmd}: {}", text(&out.stdout));
    }
}

/// Direction marks (as in "Trojan Source") in a string or a comment are
/// refused where they stand, named escaped; `fmt` leaves the file alone.
#[test]
fn bidirectional_marks_are_refused_where_they_stand() {
    let dir = tempdir("bidi");
    let policy = dir.join("p.rp");
    let source = "firewall gw {\n interface eth0 10.0.0.1/24\n ruleset main {\n  \
                  accept comment \"admin\u{202e} \u{2066}\" # ok\u{2069}\n }\n}\n";
    std::fs::write(&policy, source).unwrap();
    for command in ["check", "fmt"] {
        let out = rampart(&[command, policy.to_str().unwrap()]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command}: {err}");
        for at in ["p.rp:4:24", "p.rp:4:26", "p.rp:4:33"] {
            assert!(err.contains(at), "{command}: {at} missing from {err}");
        }
        assert_eq!(err.matches("E0740").count(), 3, "{command}: {err}");
        assert!(err.contains("\\u{202e}"), "{command}: {err}");
        assert!(!err.contains(rampart_diag::reorders), "{command}: {err}");
    }
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), source);
}
