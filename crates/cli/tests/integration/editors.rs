//! The editor files the package ships: Vim's syntax highlights a policy as
//! Vim itself reads it, and the TextMate grammar is a grammar.

use std::process::Command;

use crate::util::{root, tempdir, text};

#[test]
fn vim_highlights_a_policy() {
    let dir = tempdir("vim");
    let policy = dir.join("p.rp");
    std::fs::write(&policy, "firewall gw {  # the gateway\n  log-prefix \"R %N \"\n  ruleset main {\n    accept from 10.0.0.0/8\n  }\n}\n")
        .unwrap();
    let out_file = dir.join("out");
    let script = dir.join("probe.vim");
    std::fs::write(
        &script,
        format!(
            "set rtp^={rtp}\nfiletype on\nsyntax on\nedit {policy}\nlet out = [&filetype]\n\
             for [l, c] in [[1, 1], [1, 16], [2, 3], [2, 14], [4, 5], [4, 12], [4, 17]]\n\
             call add(out, synIDattr(synID(l, c, 1), 'name'))\nendfor\n\
             call writefile(out, '{out}')\nqall!\n",
            rtp = root().join("editors/vim").display(),
            policy = policy.display(),
            out = out_file.display(),
        ),
    )
    .unwrap();
    let run = Command::new("vim")
        .args(["-Nu", "NONE", "-i", "NONE", "-es", "-S"])
        .arg(&script)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("vim (Debian package vim) must be installed");
    assert!(run.status.success(), "{}", text(&run.stderr));
    let got = std::fs::read_to_string(&out_file).unwrap();
    let want = "rampart\nrampartStatement\nrampartComment\nrampartOption\nrampartString\n\
                rampartAction\nrampartClause\nrampartAddress\n";
    assert_eq!(got, want);
}

#[test]
fn the_textmate_grammar_names_the_language_and_its_words() {
    let path = root().join("editors/textmate/rampart.tmLanguage.json");
    let g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(g["scopeName"], "source.rampart");
    assert_eq!(g["fileTypes"], serde_json::json!(["rp"]));
    let patterns = g["patterns"].to_string();
    for word in ["firewall", "ruleset", "accept", "from", "comment.line"] {
        assert!(patterns.contains(word), "{word} missing");
    }
}
