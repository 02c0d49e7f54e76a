//! The language reference (`docs/language.md`): it documents every
//! diagnostic the source can report, its policy examples say what `check`
//! says, and `explain` and `manpages` serve it.

use std::path::Path;

use crate::util::{rampart, root, tempdir, text};

fn reference() -> String {
    std::fs::read_to_string(root().join("docs/language.md")).unwrap()
}

/// The `.rs` files below `dir` (none when it does not exist).
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every `"E0123"`/`"W0123"` literal under `crates/*/src`.
fn codes_in_source() -> Vec<String> {
    let mut codes = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        for path in rust_files(&krate.unwrap().path().join("src")) {
            let src = std::fs::read_to_string(&path).unwrap();
            let b = src.as_bytes();
            for i in 0..b.len().saturating_sub(6) {
                let code = &b[i + 1..i + 6];
                if b[i] == b'"'
                    && matches!(code[0], b'E' | b'W')
                    && code[1..].iter().all(u8::is_ascii_digit)
                    && b[i + 6] == b'"'
                {
                    codes.push(String::from_utf8(code.to_vec()).unwrap());
                }
            }
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

/// The codes with an entry: `### E0123: title`.
fn codes_in_reference() -> Vec<String> {
    let mut codes: Vec<String> = reference()
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter_map(|l| l.split_once(':'))
        .map(|(code, _)| code.to_owned())
        .collect();
    codes.sort();
    codes
}

#[test]
fn every_diagnostic_in_the_source_has_one_entry() {
    let source = codes_in_source();
    let documented = codes_in_reference();
    assert!(source.len() > 50, "the scan found too few codes: {source:?}");
    let missing: Vec<_> = source.iter().filter(|c| !documented.contains(c)).collect();
    assert!(missing.is_empty(), "docs/language.md has no `### CODE:` entry for {missing:?}");
    let stale: Vec<_> = documented.iter().filter(|c| !source.contains(c)).collect();
    assert!(stale.is_empty(), "docs/language.md documents codes no source reports: {stale:?}");
    let mut once = documented.clone();
    once.dedup();
    assert_eq!(once, documented, "a code has two entries");
}

/// Each code is made by one constructor, in its crate's `diagnostics.rs`:
/// the places that build a `Diagnostic` from a code literal.
#[test]
fn every_code_has_one_constructor_in_a_diagnostics_module() {
    let mut made: Vec<(String, String)> = Vec::new();
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = krate.unwrap().path().join("src");
        for path in rust_files(&src) {
            let text = std::fs::read_to_string(&path).unwrap();
            for kind in ["Diagnostic::error(", "Diagnostic::warning(", "Diagnostic::info("] {
                for (at, _) in text.match_indices(kind) {
                    let rest = text[at + kind.len()..].trim_start();
                    if let Some(code) = rest.strip_prefix('"').and_then(|r| r.get(..5)) {
                        let place = path.strip_prefix(root()).unwrap().display().to_string();
                        made.push((code.to_owned(), place));
                    }
                }
            }
        }
    }
    assert!(made.len() > 50, "the scan found too few constructors: {made:?}");
    let outside: Vec<_> = made.iter().filter(|(_, p)| !p.ends_with("diagnostics.rs")).collect();
    assert!(outside.is_empty(), "codes made outside a diagnostics.rs: {outside:?}");
    made.sort();
    let twice: Vec<_> = made.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| &w[1]).collect();
    assert!(
        twice.is_empty(),
        "codes with two constructors (one code, one message kind): {twice:?}"
    );
}

#[test]
fn every_policy_example_gets_the_verdict_it_claims() {
    let dir = tempdir("reference");
    let text_ = reference();
    let mut examples = 0;
    // A block opened with ```rampart must pass; ```rampart E0210 must report E0210.
    for (i, block) in text_.split("```rampart").skip(1).enumerate() {
        let (info, rest) = block.split_once('\n').unwrap();
        let body = &rest[..rest.find("```").unwrap()];
        let file = dir.join(format!("example-{i}.rp"));
        std::fs::write(&file, body).unwrap();
        // Notes (W0321, W0322) are shown with --anomalies only.
        let mut args = vec!["check", "--json", file.to_str().unwrap()];
        if !info.trim().is_empty() {
            args.push("--anomalies");
        }
        let out = rampart(&args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
        let codes: Vec<&str> =
            v.as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap()).collect();
        match info.trim() {
            "" => assert!(
                out.status.success() && codes.is_empty(),
                "this example should pass `rampart check`, it got {codes:?}:\n{body}"
            ),
            code => assert!(
                codes.contains(&code),
                "this example should report {code}, it got {codes:?}:\n{body}"
            ),
        }
        examples += 1;
    }
    assert!(examples > 40, "only {examples} policy examples found");
}

#[test]
fn explain_prints_the_entry_of_a_code_and_refuses_unknown_codes() {
    for code in codes_in_reference() {
        let out = rampart(&["explain", &code.to_lowercase()]);
        assert_eq!(out.status.code(), Some(0), "{code}: {}", text(&out.stderr));
        let entry = text(&out.stdout);
        assert!(entry.starts_with(&format!("### {code}:")), "{entry}");
        assert!(!entry.contains("\n### "), "{code}'s entry runs into the next: {entry}");
    }
    let out = rampart(&["explain", "E0210"]);
    assert!(text(&out.stdout).contains("Fix: declare it"), "{}", text(&out.stdout));
    let out = rampart(&["explain", "E9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("no diagnostic `E9999`"), "{}", text(&out.stderr));
}

#[test]
fn manpages_cover_every_command_and_the_language_and_format_cleanly() {
    let dir = tempdir("manpages");
    let out = rampart(&["manpages", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let help = text(&rampart(&["--help"]).stdout);
    let commands = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        // `  name   description`; wrapped descriptions are indented further.
        .filter_map(|l| l.strip_prefix("  ").filter(|l| !l.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help");
    let mut pages = vec!["man1/rampart.1".to_owned(), "man5/rampart-policy.5".to_owned()];
    pages.extend(commands.map(|c| format!("man1/rampart-{c}.1")));
    assert!(pages.len() > 15, "{pages:?}");
    for page in &pages {
        let path = dir.join(page);
        assert!(path.is_file(), "{page} was not written");
        // man-db formats it with groff; warnings would mean broken roff.
        let man = std::process::Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("man (Debian package man-db) must be installed");
        assert!(man.status.success(), "{page}: {}", text(&man.stderr));
        assert!(man.stderr.is_empty(), "{page}: {}", text(&man.stderr));
        assert!(!man.stdout.is_empty(), "{page} renders empty");
    }
    let policy = std::fs::read_to_string(dir.join("man5/rampart-policy.5")).unwrap();
    assert!(policy.starts_with(".TH \"RAMPART-POLICY\" 5"), "{}", &policy[..80]);
    assert!(policy.contains("E0210"));
}
