//! What is loaded at boot: the units `install-service` writes, read back
//! by systemd's own parser, and the boot files `apply` keeps equal to what
//! it applied, loaded into a fresh namespace as a boot would.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use rampart_lab::{Netns, Tool, require_tools};

use crate::util::{NAT_GATEWAY, command, root, tempdir, text};

/// Every command line of every unit in `dir`, as systemd parsed it: the
/// system manager in test mode (run as nobody: it refuses root) dumps
/// each unit with its `Command Line:`, quoted the way a shell reads.
fn parsed_commands(dir: &Path, unit: &str) -> Vec<Vec<String>> {
    // nobody must reach the units, wherever the checkout lies (a private
    // temporary directory, say): a world-readable copy under /tmp.
    use std::os::unix::fs::PermissionsExt;
    // One copy per call: tests run side by side and ask for the same unit.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let open =
        std::env::temp_dir().join(format!("rampart-units-{}-{call}-{unit}", std::process::id()));
    let _ = std::fs::remove_dir_all(&open);
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let to = open.join(path.file_name().unwrap());
            std::fs::copy(&path, &to).unwrap();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    let dir = open.as_path();
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .args(["/lib/systemd/systemd", "--test", "--system", "--no-pager"])
        .arg(format!("--unit={unit}"))
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .env("HOME", "/nonexistent")
        .output()
        .expect("run systemd --test (apt-get install systemd)");
    let dump = text(&out.stdout);
    let mut mine = false;
    let mut lines = vec![];
    for l in dump.lines().map(str::trim) {
        if let Some(name) = l.strip_prefix("-> Unit ") {
            mine = name == format!("{unit}:");
        } else if let (true, Some(cmd)) = (mine, l.strip_prefix("Command Line: ")) {
            // `$$` is how a literal `$` is kept until the command runs.
            let words = shlex::split(cmd).expect("systemd quotes as a shell does");
            lines.push(words.into_iter().map(|w| w.replace("$$", "$")).collect());
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    assert!(!lines.is_empty(), "systemd did not dump {unit}: {}{}", dump, text(&out.stderr));
    lines
}

fn install(policy: &Path, units: &Path, rules: &Path) -> Output {
    command()
        .args(["install-service"])
        .arg(policy)
        .arg("--unit-dir")
        .arg(units)
        .arg("--rules-dir")
        .arg(rules)
        .output()
        .unwrap()
}

#[test]
fn units_run_exactly_the_paths_they_were_given() {
    require_tools(&[
        Tool { name: "systemd-analyze", package: "systemd" },
        Tool { name: "setpriv", package: "util-linux" },
    ])
    .unwrap();
    let dir = tempdir("unit-words");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Paths with everything systemd would otherwise read its own way:
    // white space, specifiers, variables, quotes, backslashes.
    let rules = dir.join("boot dir %h $HOME \"q\" 'a' back\\slash");
    let policy = dir.join("pol %i ${USER}.rp");
    std::fs::copy(root().join("examples/spice-client.rp"), &policy).unwrap();
    let units = dir.join("units");
    let out = install(&policy, &units, &rules);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("systemd-analyze verify: ok"), "{}", text(&out.stderr));

    // Fourteen hooks taken out first (a restart: filter and nat, IPv4 and
    // IPv6), then the two loads.
    let boot = parsed_commands(&units, "rampart.service");
    assert_eq!(boot.len(), 16, "{boot:?}");
    assert_eq!(boot[0][1..], ["-w", "-t", "filter", "-D", "INPUT", "-j", "rampart-INPUT"]);
    assert_eq!(boot[3][1..], ["-w", "-t", "nat", "-D", "PREROUTING", "-j", "rampart-PREROUTING"]);
    assert!(boot[14][0].ends_with("/iptables-restore"), "{boot:?}");
    assert_eq!(boot[14][1..], ["-w", "--noflush", &rules.join("rules.v4").display().to_string()]);
    assert_eq!(boot[15][3], rules.join("rules.v6").display().to_string());
    let nft = parsed_commands(&units, "rampart-nft.service");
    assert_eq!(nft[0][1..], ["-f", &rules.join("rules.nft").display().to_string()]);
    let audit = parsed_commands(&units, "rampart-spice-audit.service");
    assert_eq!(audit[0][1..4], ["access", "audit", &policy.display().to_string()]);

    // A newline in a path would start a setting of its own: refused, and
    // nothing is written.
    let evil = dir.join("x\nExecStartPre=touch pwned.rp");
    std::fs::copy(root().join("examples/spice-client.rp"), &evil).unwrap();
    let units2 = dir.join("units2");
    let out = install(&evil, &units2, &dir.join("rules2"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("control character"), "{}", text(&out.stderr));
    assert!(!units2.exists() && !dir.join("rules2").join("rules.v4").exists());
}

/// `rampart ARGS` inside `ns`, with its state and boot directories.
fn rampart(ns: &Netns, state: &Path, boot: &Path, args: &[&str]) -> Output {
    let out = ns
        .command(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .env("RAMPART_BOOT_DIR", boot)
        .env("SSH_CONNECTION", "")
        .env("NO_COLOR", "1")
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}{}", text(&out.stdout), text(&out.stderr));
    out
}

/// A filter table as it decides: no comments, no counters.
fn table(ns: &Netns, save: &str) -> String {
    let t = ns.stdout([save, "-t", "filter"]).unwrap();
    t.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| if l.starts_with(':') { l.rsplit_once(' ').map_or(l, |(a, _)| a) } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A fresh kernel (a new namespace) after the boot units ran on `boot`.
fn booted(boot: &Path) -> Netns {
    let fresh = Netns::new().unwrap();
    for (tool, file) in [("iptables-restore", "rules.v4"), ("ip6tables-restore", "rules.v6")] {
        if boot.join(file).exists() {
            fresh.run([tool, "-w", "--noflush", boot.join(file).to_str().unwrap()]).unwrap();
        }
    }
    if boot.join("rules.nft").exists() {
        fresh.run(["nft", "-f", boot.join("rules.nft").to_str().unwrap()]).unwrap();
    }
    fresh
}

#[test]
fn boot_files_follow_every_confirmed_apply_and_boot_to_the_same_rules() {
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool::NFT,
        Tool { name: "setsid", package: "util-linux" },
    ])
    .unwrap();
    let ns = Netns::new().unwrap();
    let dir = tempdir("persist");
    let (state, boot) = (dir.join("state"), dir.join("boot"));
    std::fs::create_dir_all(&boot).unwrap();
    let read = |f: &str| std::fs::read_to_string(boot.join(f)).ok();

    rampart(&ns, &state, &boot, &["apply", "examples/spice-client.rp"]);
    let out = rampart(&ns, &state, &boot, &["status"]);
    assert!(text(&out.stdout).contains("boot files match"), "{}", text(&out.stdout));
    let fresh = booted(&boot);
    for save in ["iptables-save", "ip6tables-save"] {
        assert_eq!(table(&fresh, save), table(&ns, save), "{save} after a simulated boot");
    }
    drop(fresh);

    // A try leaves the boot files alone until it is confirmed.
    let spice = read("rules.v4");
    rampart(&ns, &state, &boot, &["apply", "examples/office-gateway.rp", "--try", "30"]);
    assert_eq!(read("rules.v4"), spice, "an unconfirmed try reached the boot files");
    rampart(&ns, &state, &boot, &["confirm"]);
    assert!(read("rules.v4").unwrap().contains("dmz-out"));
    assert_eq!(table(&booted(&boot), "iptables-save"), table(&ns, "iptables-save"));
    // A rollback takes them back too.
    rampart(&ns, &state, &boot, &["rollback"]);
    assert_eq!(read("rules.v4"), spice);

    // The nft backend: its file replaces the iptables ones, and its rules
    // the iptables ones (one backend at a time).
    rampart(&ns, &state, &boot, &["apply", "examples/kvm-bridges.rp", "--backend", "nft"]);
    assert!(read("rules.v4").is_none() && read("rules.v6").is_none());
    for save in ["iptables-save", "ip6tables-save"] {
        let t = ns.stdout([save]).unwrap();
        assert!(!t.contains("rampart-") && !t.contains("Spice"), "{save} after nft:\n{t}");
    }
    let listing = |ns: &Netns| {
        let tables = [["inet", "rampart"], ["bridge", "rampart"], ["bridge", "rampart_arp"]];
        tables.map(|[f, t]| ns.stdout(["nft", "list", "table", f, t]).unwrap()).concat()
    };
    assert_eq!(listing(&booted(&boot)), listing(&ns), "nft after a simulated boot");

    // Somebody edits a boot file: status says boot would load other rules.
    std::fs::write(boot.join("rules.nft"), read("rules.nft").unwrap() + "# edited\n").unwrap();
    let out = ns
        .command(env!("CARGO_BIN_EXE_rampart"))
        .args(["status", "--state-dir"])
        .arg(&state)
        .env("RAMPART_BOOT_DIR", &boot)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("BOOT: ") && text(&out.stdout).contains("rules.nft"));
    // And back to iptables: Rampart's nft tables go.
    rampart(&ns, &state, &boot, &["apply", "examples/spice-client.rp"]);
    let tables = ns.stdout(["nft", "list", "tables"]).unwrap();
    assert!(!tables.contains("rampart"), "{tables}");
    assert!(read("rules.nft").is_none() && read("rules.v4").is_some());
}

/// The boot unit run again after applies (a restart) leaves one hook in
/// each built-in chain, in the nat table as in the filter table.
#[test]
fn restarting_the_boot_unit_keeps_one_hook_per_chain() {
    require_tools(&[
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool { name: "systemd-analyze", package: "systemd" },
        Tool { name: "setpriv", package: "util-linux" },
        Tool { name: "setsid", package: "util-linux" },
    ])
    .unwrap();
    let ns = Netns::new().unwrap();
    let dir = tempdir("restart");
    let (state, boot, units) = (dir.join("state"), dir.join("boot"), dir.join("units"));
    std::fs::create_dir_all(&boot).unwrap();
    let policy = dir.join("gw.rp");
    std::fs::write(&policy, NAT_GATEWAY).unwrap();
    let out = install(&policy, &units, &boot);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let policy = policy.to_str().unwrap();
    rampart(&ns, &state, &boot, &["apply", policy]);
    rampart(&ns, &state, &boot, &["apply", policy]);
    // The unit's commands, as systemd runs them, twice: `-D` may fail
    // (systemd ignores it: `ExecStartPre=-`), the loads may not.
    let unit = parsed_commands(&units, "rampart.service");
    for _ in 0..2 {
        for argv in &unit {
            let out = ns.command(&argv[0]).args(&argv[1..]).output().unwrap();
            if !argv.iter().any(|w| w == "-D") {
                assert!(out.status.success(), "{argv:?}: {}", text(&out.stderr));
            }
        }
    }
    for (table, chains) in
        [("filter", &["INPUT", "FORWARD", "OUTPUT"][..]), ("nat", &["PREROUTING", "POSTROUTING"])]
    {
        let saved = ns.stdout(["iptables-save", "-t", table]).unwrap();
        for c in chains {
            let hook = format!("-A {c} -j rampart-{c}\n");
            assert_eq!(saved.matches(&hook).count(), 1, "{table} {c}:\n{saved}");
        }
    }
    let out = rampart(&ns, &state, &boot, &["status"]);
    assert!(text(&out.stdout).contains("loaded rules match"), "{}", text(&out.stdout));
    std::fs::remove_dir_all(&dir).unwrap();
}
