//! Shell completion as bash runs it: the script `COMPLETE=bash rampart`
//! prints, sourced, asks the binary on PATH for candidates.

use std::process::Command;

use rampart_testing::TempDir;

use crate::util::{root, tempdir, text};

/// A PATH whose `rampart` is the binary under test, and the directory that
/// holds it (the PATH lasts as long as the directory).
fn path_with_rampart() -> (TempDir, String) {
    let bin = tempdir("completion-bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_rampart"), bin.join("rampart")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    (bin, path)
}

/// The candidates bash offers for the last word of `words`.
fn complete(path: &str, words: &[&str]) -> Vec<String> {
    complete_at(path, words, words.len() - 1)
}

/// The candidates bash offers for `words[cword]`.
fn complete_at(path: &str, words: &[&str], cword: usize) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source <(COMPLETE=bash rampart) || exit 3\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}\n\
         _clap_complete_rampart rampart '{cur}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = quoted.join(" "),
        cur = words[cword],
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(root())
        .env("PATH", path)
        .output()
        .expect("bash");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_the_policys_firewalls() {
    let (_bin, path) = path_with_rampart();
    assert_eq!(complete(&path, &["rampart", "comp"]), ["compile"]);
    assert_eq!(complete(&path, &["rampart", "compile", "--tar"]), ["--target"]);
    let fleet = "crates/cli/tests/fixtures/fleet.rp";
    assert_eq!(complete(&path, &["rampart", "compile", fleet, "--firewall", ""]), ["gw1", "gw2"]);
    // The policy may come after the option being completed.
    assert_eq!(complete_at(&path, &["rampart", "apply", "-f", "gw", fleet], 3), ["gw1", "gw2"]);
    assert_eq!(complete(&path, &["rampart", "trace", fleet, "--firewall", "gw2"]), ["gw2"]);
    // No policy on the line, or one with errors: nothing is offered.
    assert!(complete(&path, &["rampart", "compile", "--firewall", ""]).is_empty());
    let bad = "crates/cli/tests/fixtures/errors.rp";
    assert!(complete(&path, &["rampart", "compile", bad, "--firewall", ""]).is_empty());
}

#[test]
fn every_shell_script_calls_the_installed_command() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .env("COMPLETE", shell)
            .output()
            .expect("run rampart");
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains("rampart"), "{shell}: {script}");
        assert!(!script.contains("target/"), "{shell} script names the build path: {script}");
    }
}
