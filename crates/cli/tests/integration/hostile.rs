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
