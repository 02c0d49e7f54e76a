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
    heading: bool,
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
                out.push(Shown { at, words, parse: true, heading: false });
            }
        } else if let Some(h) = line.strip_prefix("### rampart ") {
            out.push(Shown { at, words: synopsis(h), parse: false, heading: true });
        } else {
            for span in line.split('`').skip(1).step_by(2) {
                if let Some(rest) = span.strip_prefix("rampart ") {
                    let words = synopsis(rest);
                    out.push(Shown { at: at.clone(), words, parse: false, heading: false });
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

/// One command of a README text: the subcommand paths it may be
/// (`lab run|up|down`), the flags given to them, and whether more
/// subcommand words may follow.
struct Segment {
    parents: Vec<Vec<String>>,
    paths: Vec<Vec<String>>,
    flags: Vec<String>,
    descending: bool,
}

impl Segment {
    fn new(parents: Vec<Vec<String>>, paths: Vec<Vec<String>>) -> Segment {
        Segment { parents, paths, flags: vec![], descending: true }
    }
}

/// Whether every one of `alts` is a subcommand of every path of `base`;
/// `None` when one of them has no subcommands.
fn are_subcommands(base: &[Vec<String>], alts: &[&str], cache: &mut Cache) -> Option<bool> {
    let mut all = true;
    for p in base {
        let subs = help(p, cache).subcommands;
        if subs.is_empty() {
            return None;
        }
        all &= alts.iter().all(|a| subs.iter().any(|s| s == a));
    }
    Some(all)
}

fn extend(base: &[Vec<String>], alts: &[&str]) -> Vec<Vec<String>> {
    base.iter()
        .flat_map(|p| alts.iter().map(move |a| [p.clone(), vec![(*a).to_owned()]].concat()))
        .collect()
}

/// The commands of one README text, and the subcommands it names that the
/// binary does not have. `a|b` shares what follows; ` | b` after a
/// command starts another one (`status --counters | top [--interval S]`).
fn segments(s: &Shown, cache: &mut Cache, found: &mut Vec<String>) -> Vec<Segment> {
    let mut segs = vec![Segment::new(vec![vec![]], vec![vec![]])];
    let mut after_pipe = false;
    for raw in &s.words {
        let w = raw.trim_matches(|c| "[]()".contains(c)).trim_end_matches("...");
        if w == "|" {
            after_pipe = true;
            continue;
        }
        let alts: Vec<&str> = w.split('|').collect();
        let seg = segs.last_mut().unwrap();
        if after_pipe && are_subcommands(&seg.parents, &alts, cache) == Some(true) {
            let parents = seg.parents.clone();
            let paths = extend(&parents, &alts);
            segs.push(Segment::new(parents, paths));
            after_pipe = false;
            continue;
        }
        after_pipe = false;
        if w == "help" && seg.descending {
            // clap's own `help COMMAND`: it takes the commands there are.
            seg.descending = false;
        } else if w.starts_with('-') && w.len() > 1 && w != "--" {
            seg.flags.push(w.split('=').next().unwrap().to_owned());
        } else if seg.descending && !w.is_empty() {
            match are_subcommands(&seg.paths, &alts, cache) {
                Some(true) => {
                    let paths = extend(&seg.paths, &alts);
                    seg.parents = std::mem::replace(&mut seg.paths, paths);
                }
                Some(false) if !w.chars().any(|c| c.is_ascii_uppercase()) => {
                    let mut path = vec!["rampart".to_owned()];
                    path.extend(seg.paths[0].iter().cloned());
                    found.push(format!(
                        "{}: `{w}` is not a subcommand of `{}`",
                        s.at,
                        path.join(" ")
                    ));
                    seg.descending = false;
                }
                _ => seg.descending = false,
            }
        }
    }
    segs
}

/// The problems of one README text: subcommands and flags the binary
/// does not have. A command's flags are checked against each of its
/// alternatives.
fn problems(s: &Shown, cache: &mut Cache) -> Vec<String> {
    let mut found = Vec::new();
    for seg in segments(s, cache, &mut found) {
        for path in &seg.paths {
            let have = help(path, cache).flags;
            for f in seg.flags.iter().filter(|f| !have.contains(f)) {
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
    let mut cache = Cache::new();
    let mut documented = Vec::new();
    for s in shown().iter().filter(|s| s.heading) {
        for seg in segments(s, &mut cache, &mut Vec::new()) {
            documented.extend(seg.paths.into_iter().filter_map(|p| p.into_iter().next()));
        }
    }
    let missing: Vec<String> = help(&[], &mut cache)
        .subcommands
        .into_iter()
        .filter(|c| c != "help" && !documented.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a `### rampart` section in README.md: {missing:?}"
    );
}
