//! Install, audit, fix and uninstall under a temporary root directory:
//! the host's /etc is never touched.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::{SPICE, kit, require};
use rampart_access::audit::{self, Finding};
use rampart_access::install::{self, Root};
use rampart_testing::TempDir;

/// A root with the host's account files (groupadd --prefix edits them)
/// and a viewer owned by root, mode 0755, as a package installs it.
fn root(name: &str) -> TempDir {
    let d = rampart_testing::tempdir(name);
    std::fs::create_dir_all(d.join("etc")).unwrap();
    for f in ["group", "gshadow", "passwd", "shadow"] {
        if Path::new("/etc").join(f).exists() {
            std::fs::copy(Path::new("/etc").join(f), d.join("etc").join(f)).unwrap();
        }
    }
    std::fs::create_dir_all(d.join("usr/bin")).unwrap();
    let v = d.join("usr/bin/remote-viewer");
    std::fs::write(&v, "#!/bin/sh\necho \"$@\"\n").unwrap();
    std::os::unix::fs::chown(&v, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&v, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// Every file under the root with its mode, owner and content.
fn tree(root: &Path) -> BTreeMap<String, (u32, u32, u32, Vec<u8>)> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, (u32, u32, u32, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                walk(&p, base, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                let content = std::fs::read(&p).unwrap_or_default();
                out.insert(rel, (m.mode() & 0o7777, m.uid(), m.gid(), content));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn install_audit_fix_uninstall_round_trip() {
    for (tool, pkg) in [("visudo", "sudo"), ("groupadd", "passwd"), ("systemctl", "systemd")] {
        require(tool, pkg);
    }
    let tmp = root("trip");
    let root = Root(tmp.to_path_buf());
    let k = kit(SPICE);
    let before = tree(&root.0);

    let plan = install::install_plan(&k, &root).unwrap();
    let shown: Vec<String> = plan.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("install_plan", shown.join("\n"));
    // A dry run is only the plan: nothing changed yet.
    assert_eq!(tree(&root.0), before);
    install::apply(&plan, &root).unwrap();

    let gid = install::group_id(&root, "spicegrp").unwrap().expect("group created in the root");
    let m = std::fs::metadata(root.join("/usr/bin/remote-viewer")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (0, gid, 0o750));
    let sudoers = root.join("/etc/sudoers.d/rampart-spice");
    assert_eq!(std::fs::read_to_string(&sudoers).unwrap(), k.sudoers);
    assert_eq!(std::fs::metadata(&sudoers).unwrap().mode() & 0o7777, 0o440);
    assert!(
        root.join("/etc/systemd/system/timers.target.wants/rampart-spice-audit.timer").is_symlink(),
        "timer not enabled"
    );
    assert_eq!(audit::audit(&k, &root, None).unwrap(), vec![]);

    // A package update resets the viewer; someone edits the fragment.
    std::fs::set_permissions(
        root.join("/usr/bin/remote-viewer"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::chown(root.join("/usr/bin/remote-viewer"), Some(0), Some(0)).unwrap();
    std::fs::write(&sudoers, format!("{}ALL ALL=(ALL) NOPASSWD: ALL\n", k.sudoers)).unwrap();
    std::fs::remove_file(root.join("/usr/local/bin/rampart-spice")).unwrap();
    let found = audit::audit(&k, &root, None).unwrap();
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("drift", shown.join("\n").replace(&gid.to_string(), "GID"));
    install::apply(&audit::fix_plan(&k, &found), &root).unwrap();
    assert_eq!(audit::audit(&k, &root, None).unwrap(), vec![]);

    // Installing twice keeps the record of the original state.
    install::apply(&install::install_plan(&k, &root).unwrap(), &root).unwrap();

    let undo = install::uninstall_plan(&k, &root).unwrap();
    let shown: Vec<String> = undo.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("uninstall_plan", shown.join("\n"));
    install::apply(&undo, &root).unwrap();
    let mut after = tree(&root.0);
    // groupadd/groupdel leave backup files (group-, gshadow-) behind.
    after.retain(|k, _| !k.ends_with('-'));
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());
    for (k, v) in &before {
        assert_eq!(&after[k], v, "{k} not restored");
    }
    assert!(install::uninstall_plan(&k, &root).is_err(), "uninstall without install");
}

#[test]
fn firewall_rules_missing_from_the_loaded_table() {
    let k = kit(SPICE);
    assert!(audit::missing_rules(&k.rules, &k.rules).unwrap().is_empty());
    // The loaded table lost the rule that lets myself reach VM 1.
    let loaded: String = k
        .rules
        .lines()
        .filter(|l| !(l.contains("--uid-owner 1021") && l.contains("-j Spice_VM_1")))
        .map(|l| format!("{l}\n"))
        .collect();
    let found = audit::missing_rules(&k.rules, &loaded).unwrap();
    assert!(
        matches!(found.as_slice(), [Finding::RulesMissing { chain, missing }]
            if chain == "OUTPUT" && missing.len() == 1 && missing[0].contains("1021")),
        "{found:#?}"
    );
    // An empty table (a boot without the firewall service) lacks everything.
    let empty =
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    assert!(audit::missing_rules(&k.rules, empty).unwrap().len() >= 3);
    // Compiled rules that do not read back are an error, never fewer rules
    // to look for.
    let garbled = k.rules.replacen("-A OUTPUT ", "-A OUTPUT --frobnicate 3 ", 1);
    let err = audit::missing_rules(&garbled, &k.rules).unwrap_err().to_string();
    assert!(err.contains("of the compiled filter table"), "{err}");
}

#[test]
fn install_refuses_a_missing_viewer() {
    let tmp = root("noviewer");
    std::fs::remove_file(tmp.join("usr/bin/remote-viewer")).unwrap();
    let err = install::install_plan(&kit(SPICE), &Root(tmp.to_path_buf())).unwrap_err();
    assert!(err.to_string().contains("apt-get install virt-viewer"), "{err}");
}

#[test]
fn a_fragment_visudo_refuses_is_never_left_and_its_message_is_shown() {
    require("visudo", "sudo");
    let r = root("refused");
    let path = r.join("etc/sudoers.d/rampart-x");
    let err = install::install_sudoers(&path, "User_Alias X = \nALL ALL=(ALL) ALL\n").unwrap_err();
    assert!(err.to_string().contains("syntax error"), "visudo's own message: {err}");
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
