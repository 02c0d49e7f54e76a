//! README.md against the binary: every `rampart ...` it shows — section
//! headings, command lines in code blocks, inline code — names
//! subcommands and flags the binary has, and every command line of a
//! code block parses (clap reads it up to an appended `--help`). The
//! subcommands and flags are asked of the binary (`--help`), so whatever
//! is added to either side is checked.

use std::collections::BTreeMap;

use crate::util::{command, root};

/// A `rampart ...` text of the README: where, its words after `rampart`,
/// and whether it is a command line to parse (not a synopsis).
struct Shown {
    at: String,
    words: Vec<String>,
    parse: bool,
}

fn shown() -> Vec<Shown> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_code = false;
    let mut pending = String::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("README.md:{}", i + 1);
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            // A command line, possibly continued with `\`.
            let line = if pending.is_empty() { line } else { &format!("{pending} {line}") };
            if let Some(l) = line.strip_suffix('\\') {
                pending = l.to_owned();
                continue;
            }
            pending.clear();
            if let Some(words) = command_line(line) {
                out.push(Shown { at, words, parse: true });
            }
        } else if let Some(h) = line.strip_prefix("### rampart ") {
            out.push(Shown { at, words: synopsis(h), parse: false });
        } else {
            for span in line.split('`').skip(1).step_by(2) {
                if let Some(rest) = span.strip_prefix("rampart ") {
                    out.push(Shown { at: at.clone(), words: synopsis(rest), parse: false });
                }
            }
        }
    }
    out
}

/// The words after `rampart` of a shell line that runs it (after a `$ `
/// prompt, `sudo`, `VAR=value`), up to a comment, pipe, list or redirection.
fn command_line(line: &str) -> Option<Vec<String>> {
    let line = line.trim_start().trim_start_matches("$ ");
    let words = shlex::split(line)?;
    let start = words.iter().position(|w| !(w == "sudo" || w.contains('=')))?;
    if words[start] != "rampart" {
        return None;
    }
    let shell = |w: &String| {
        w.starts_with('#')
            || ["|", "||", "&&", ";"].contains(&w.as_str())
            || w.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with(['>', '<'])
    };
    Some(words[start + 1..].iter().take_while(|w| !shell(w)).cloned().collect())
}

/// The words of a synopsis: `[--json]` is the flag `--json`, `(A | B)`
/// and `a|b` are alternatives.
fn synopsis(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// What `rampart PATH --help` lists.
#[derive(Default, Clone)]
struct Help {
    subcommands: Vec<String>,
    flags: Vec<String>,
}

type Cache = BTreeMap<Vec<String>, Help>;

fn help(path: &[String], cache: &mut Cache) -> Help {
    if let Some(h) = cache.get(path) {
        return h.clone();
    }
    let o = command().args(path).arg("--help").output().unwrap();
    assert!(o.status.success(), "rampart {} --help failed", path.join(" "));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut h = Help::default();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line;
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let first = line.split_whitespace().next().unwrap_or("");
        match section {
            "Commands:" if indent == 2 => h.subcommands.push(first.to_owned()),
            "Options:" if indent <= 6 && first.starts_with('-') => {
                let flags = line.split_whitespace().take_while(|w| w.starts_with('-'));
                h.flags.extend(flags.map(|f| f.trim_end_matches(',').to_owned()));
            }
            _ => {}
        }
    }
    cache.insert(path.to_vec(), h.clone());
    h
}

/// The problems of one README text: subcommands and flags the binary
/// does not have. Flags are checked against every alternative.
fn problems(s: &Shown, cache: &mut Cache) -> Vec<String> {
    let mut found = Vec::new();
    let mut parents: Vec<Vec<String>> = vec![vec![]];
    let mut current: Vec<Vec<String>> = vec![vec![]];
    let mut descending = true;
    let mut after_pipe = false;
    let mut flags = Vec::new();
    for raw in &s.words {
        let w = raw.trim_matches(|c| "[]()".contains(c)).trim_end_matches("...");
        if w == "|" {
            after_pipe = true;
            continue;
        }
        if w == "help" && descending {
            // clap's own `help COMMAND`: it takes the commands there are.
            descending = false;
        } else if w.starts_with('-') && w.len() > 1 && w != "--" {
            flags.push(w.split('=').next().unwrap().to_owned());
        } else if descending && !w.is_empty() {
            let alts: Vec<&str> = w.split('|').collect();
            let base = if after_pipe { &parents } else { &current };
            let known = |p: &Vec<String>, cache: &mut Cache| {
                let subs = help(p, cache).subcommands;
                (!subs.is_empty()).then(|| alts.iter().all(|a| subs.iter().any(|s| s == a)))
            };
            match base.iter().map(|p| known(p, cache)).collect::<Option<Vec<bool>>>() {
                Some(all) if all.iter().all(|k| *k) => {
                    let next: Vec<Vec<String>> = base
                        .iter()
                        .flat_map(|p| {
                            alts.iter().map(move |a| [p.clone(), vec![(*a).to_owned()]].concat())
                        })
                        .collect();
                    if after_pipe {
                        current.extend(next);
                    } else {
                        parents = std::mem::replace(&mut current, next);
                    }
                }
                Some(_) if !after_pipe && !w.chars().any(|c| c.is_ascii_uppercase()) => {
                    found.push(format!(
                        "{}: `{w}` is not a subcommand of `{}`",
                        s.at,
                        ["rampart".to_owned()]
                            .iter()
                            .chain(&current[0])
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                    descending = false;
                }
                _ => descending = false,
            }
        }
        after_pipe = false;
    }
    for path in &current {
        let have = help(path, cache).flags;
        for f in &flags {
            if !have.contains(f) {
                found.push(format!("{}: `rampart {}` has no flag `{f}`", s.at, path.join(" ")));
            }
        }
    }
    found
}

#[test]
fn every_command_in_the_readme_is_the_binarys() {
    let mut cache = BTreeMap::new();
    let shown = shown();
    assert!(shown.len() > 40, "only {} `rampart` texts found in README.md", shown.len());
    let mut found: Vec<String> = shown.iter().flat_map(|s| problems(s, &mut cache)).collect();
    for s in shown.iter().filter(|s| s.parse && s.words.first().is_some_and(|w| w != "help")) {
        let o = command().args(&s.words).arg("--help").output().unwrap();
        if !o.status.success() {
            let err = String::from_utf8_lossy(&o.stderr);
            found.push(format!("{}: `rampart {}` does not parse: {err}", s.at, s.words.join(" ")));
        }
    }
    assert!(found.is_empty(), "README.md and the binary disagree:\n{}", found.join("\n"));
}

/// Every command of the binary has its `### rampart COMMAND` section.
#[test]
fn every_command_of_the_binary_is_in_the_readme() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let documented: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("### rampart "))
        .flat_map(|h| {
            // `confirm | rollback | status`, `lab run|up|down FILE`
            let mut words = h.split_whitespace();
            let first = words.next().unwrap_or("");
            let more = words.collect::<Vec<_>>();
            let alts: Vec<&str> = more
                .chunks(2)
                .take_while(|c| c[0] == "|")
                .map(|c| c.get(1).copied().unwrap_or(""))
                .collect();
            first.split('|').chain(alts)
        })
        .collect();
    let missing: Vec<String> = help(&[], &mut Cache::new())
        .subcommands
        .into_iter()
        .filter(|c| c != "help" && !documented.contains(&c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a `### rampart` section in README.md: {missing:?}"
    );
}
