//! Shell scripts in the Firewall Builder manner, as `fwb_ipt` writes them
//! or by hand: the iptables commands (`$IPTABLES -A ...`, `iptables ...`,
//! `/sbin/iptables ...`) are read in the order the script runs them, and
//! the shell around them is not interpreted.
//!
//! What runs: the lines outside functions, in order; a line naming a
//! function defined in the script runs that function's lines (so
//! fwbuilder's `script_body`, `reset_all`, ... are read where they are
//! called, and `stop_action` never is); of a `case`, the branch for
//! `start` (the script's default command). Variable assignments are
//! remembered as they run, so `$VAR` expands in later commands. Other
//! shell lines are skipped, with a warning when they mention iptables, and
//! an error when they hold an iptables command that the shell around it
//! decides (`test -n "$a" && $IPTABLES -A ...`).

use std::collections::BTreeMap;

use rampart_diag::FileId;

use super::build::Builder;
use super::lex::{Quoting, Word, control_char, split};
use super::{Imported, diagnostics};

/// How deep function calls may nest before the script is refused.
const MAX_CALLS: usize = 64;

pub(crate) fn parse(text: &str, file: FileId) -> Imported {
    let lines = logical_lines(text);
    let (top, functions) = structure(&lines);
    let mut run = Run {
        b: Builder::new(file),
        lines: &lines,
        functions: &functions,
        vars: BTreeMap::new(),
        calls: Vec::new(),
    };
    run.b.table(crate::Table::Filter, true);
    run.block(&top);
    let (tables, diagnostics) = run.b.finish();
    Imported { tables, diagnostics }
}

/// The lines outside functions, and each function's lines, by index.
fn structure(lines: &[(usize, String)]) -> (Vec<usize>, BTreeMap<String, Vec<usize>>) {
    let mut top = Vec::new();
    let mut functions = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = function_header(&lines[i].1) else {
            top.push(i);
            i += 1;
            continue;
        };
        // The body ends where its braces close: fwbuilder (and most
        // scripts) open a brace group at the end of a line and close it at
        // the start of one.
        let mut depth = 1usize;
        let mut j = i + 1;
        while j < lines.len() {
            let l = lines[j].1.trim();
            if l.starts_with('}') {
                depth -= 1;
            }
            if depth == 0 {
                break;
            }
            if l.ends_with('{') {
                depth += 1;
            }
            j += 1;
        }
        functions.insert(name.to_owned(), (i + 1..j).collect());
        i = j + 1;
    }
    (top, functions)
}

/// `name() {`, `name () {` or `function name {`.
fn function_header(line: &str) -> Option<&str> {
    let l = line.trim().strip_suffix('{')?.trim_end();
    let name = match l.strip_prefix("function ") {
        Some(rest) => rest.trim().trim_end_matches("()").trim_end(),
        None => l.strip_suffix("()")?.trim_end(),
    };
    let ok =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then_some(name)
}

struct Run<'a> {
    b: Builder,
    lines: &'a [(usize, String)],
    functions: &'a BTreeMap<String, Vec<usize>>,
    vars: BTreeMap<String, String>,
    /// The functions being run, innermost last.
    calls: Vec<&'a str>,
}

impl<'a> Run<'a> {
    fn block(&mut self, body: &[usize]) {
        let mut k = 0;
        while k < body.len() {
            let (start, line) = &self.lines[body[k]];
            let trimmed = line.trim();
            if trimmed.starts_with("case ") && trimmed.ends_with(" in") {
                k = self.case(body, k);
                continue;
            }
            let first = trimmed.split_whitespace().next().unwrap_or("");
            if let Some((name, lines)) = self.functions.get_key_value(first) {
                self.call(name, lines, *start, line);
            } else {
                self.line(*start, line);
            }
            k += 1;
        }
    }

    fn call(&mut self, name: &'a str, lines: &'a [usize], start: usize, line: &str) {
        if self.calls.len() >= MAX_CALLS || self.calls.contains(&name) {
            let end = start + line.trim_end().len();
            self.b.push(diagnostics::recursive_function(self.b.span(start, end), name));
            return;
        }
        self.calls.push(name);
        self.block(lines);
        self.calls.pop();
    }

    /// Runs the `start` branch of the `case` at `body[k]`; returns the index
    /// after its `esac`.
    fn case(&mut self, body: &[usize], k: usize) -> usize {
        let mut depth = 0usize;
        let mut branch: Option<bool> = None;
        let mut chosen = Vec::new();
        let mut skipped = Vec::new();
        let mut j = k;
        while j < body.len() {
            let l = self.lines[body[j]].1.trim();
            let word = l.split_whitespace().next().unwrap_or("");
            if l.starts_with("case ") && l.ends_with(" in") {
                depth += 1;
                if depth == 1 {
                    j += 1;
                    continue;
                }
            } else if word == "esac" {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            } else if depth == 1 && branch.is_none() && l.ends_with(')') {
                let patterns = l.trim_end_matches(')').trim_start_matches('(');
                branch = Some(patterns.split('|').any(|p| p.trim() == "start"));
                j += 1;
                continue;
            }
            let ends = depth == 1 && l.ends_with(";;");
            if !(depth == 1 && l == ";;") {
                match branch {
                    Some(true) => chosen.push(body[j]),
                    _ => skipped.push(body[j]),
                }
            }
            if ends {
                branch = None;
            }
            j += 1;
        }
        if !chosen.is_empty() || skipped.iter().all(|&i| !self.runs_iptables(i)) {
            self.block(&chosen);
        } else {
            let (start, line) = &self.lines[body[k]];
            let end = start + line.trim_end().len();
            self.b.push(diagnostics::undecided_case(self.b.span(*start, end)));
        }
        j + 1
    }

    /// Whether a line runs iptables, directly or through a function.
    fn runs_iptables(&self, i: usize) -> bool {
        let first = self.lines[i].1.split_whitespace().next().unwrap_or("");
        is_iptables_program(first) || self.functions.contains_key(first)
    }

    /// One line that is not a call: an assignment, an iptables command, or
    /// other shell.
    fn line(&mut self, start: usize, line: &str) {
        let end = start + line.trim_end().len();
        let first = line.split_whitespace().next().unwrap_or("");
        if !is_iptables_program(first) {
            if let Ok(words) = split(line, start, Quoting::Shell)
                && let Some((name, value)) = assignment(&words)
            {
                self.vars.insert(name, value);
                return;
            }
            self.other_shell(start, end, line);
            return;
        }
        let words =
            match control_char(line, start).and_then(|()| split(line, start, Quoting::Shell)) {
                Ok(w) => w,
                Err(e) => {
                    self.b.unreadable(&e);
                    return;
                }
            };
        let first = &words[0];
        let cmd = first.text.as_str();
        let var = cmd.trim_start_matches('$').trim_start_matches('{').trim_end_matches('}');
        let expanded =
            if cmd.starts_with('$') { self.vars.get(var).map_or("", String::as_str) } else { cmd };
        let base = expanded.rsplit('/').next().unwrap_or("");
        if base.starts_with("ip6tables") || (cmd.starts_with('$') && var.contains("IP6TABLES")) {
            self.b.warn(
                first.start,
                end,
                "ip6tables line skipped: only IPv4 rules are read from scripts",
                "skipped",
            );
            return;
        }
        let mut rest = Vec::new();
        for w in &words[1..] {
            if w.text.starts_with(['|', '&', ';', '>'])
                || w.text.starts_with("2>")
                || w.text.starts_with("1>")
            {
                break; // shell operators end the command
            }
            match expand(w, &self.vars) {
                Ok(ws) => rest.extend(ws),
                Err(name) => return self.unset(w, &name, &words, end),
            }
        }
        command(&mut self.b, rest, first, end);
    }

    /// A command that uses a variable the script never assigns (a loop
    /// variable, a function's argument). fwbuilder's reset loops flush and
    /// delete every chain before any rule is added: skipping them leaves
    /// the same empty tables. Anything else is refused.
    fn unset(&mut self, w: &Word, name: &str, words: &[Word], end: usize) {
        let resets = words.iter().any(|w| {
            matches!(
                w.text.as_str(),
                "-F" | "--flush" | "-X" | "--delete-chain" | "-Z" | "--zero" | "-L" | "--list"
            )
        });
        if resets && !self.b.has_rules() {
            self.b.warn(
                words[0].start,
                end,
                format!("skipped: its chains are named at run time (`${name}`), before any rule"),
                "nothing to flush yet",
            );
        } else {
            self.b.push(diagnostics::undefined_variable(self.b.span(w.start, w.end), name));
        }
    }

    fn other_shell(&mut self, start: usize, end: usize, line: &str) {
        let comment = line.trim_start().starts_with('#');
        if comment || !(line.contains("iptables") || line.contains("IPTABLES")) {
            return;
        }
        let changes = [" -A ", " -I ", " -D ", " -R ", " -N ", " -P ", " --append ", " --insert "];
        if changes.iter().any(|c| line.contains(c)) {
            self.b.push(diagnostics::conditional_command(self.b.span(start, end)));
        } else {
            self.b.warn(
                start,
                end,
                "line mentions iptables but is not a plain iptables command; skipped",
                "skipped",
            );
        }
    }
}

/// Whether the first word of a line runs iptables or ip6tables, by name or
/// through a variable named so (`$IPTABLES`, `${IP6TABLES}`).
pub(crate) fn is_iptables_program(word: &str) -> bool {
    if let Some(var) = word.strip_prefix('$') {
        let var = var.trim_start_matches('{').trim_end_matches('}');
        return (var.contains("IPTABLES") || var.contains("IP6TABLES"))
            && !var.contains("RESTORE")
            && !var.contains("SAVE");
    }
    if word.contains('=') {
        return false; // an assignment, `IPTABLES=/sbin/iptables`
    }
    let base = word.rsplit('/').next().unwrap_or("");
    matches!(
        base,
        "iptables"
            | "iptables-legacy"
            | "iptables-nft"
            | "ip6tables"
            | "ip6tables-legacy"
            | "ip6tables-nft"
    )
}

/// Runs one iptables command line (words after the program name).
fn command(b: &mut Builder, words: Vec<Word>, program: &Word, end: usize) {
    let mut table = crate::Table::Filter;
    let mut cmd = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        match w.text.as_str() {
            "-t" | "--table" => {
                if let Some(t) = words.get(i + 1) {
                    let Some(parsed) = crate::Table::parse(&t.text) else {
                        return b.push(diagnostics::unknown_table(b.span(t.start, t.end), &t.text));
                    };
                    table = parsed;
                }
                i += 2;
            }
            "-w" | "--wait" => {
                i += 1;
                if words.get(i).is_some_and(|n| n.text.parse::<u32>().is_ok()) {
                    i += 1;
                }
            }
            "-W" | "--wait-interval" => i += 2,
            "-v" | "--verbose" | "-n" | "--numeric" | "-x" | "--exact" | "--line-numbers" => i += 1,
            _ => {
                cmd.push(w.clone());
                i += 1;
            }
        }
    }
    if cmd.is_empty() {
        b.push(diagnostics::no_command(b.span(program.start, end)));
        return;
    }
    let t = b.table(table, true);
    b.command(t, &cmd, None);
}

/// Lines with backslash continuations joined; each with its byte offset.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut pending: Option<(usize, String)> = None;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let (cont, body) = match line.strip_suffix('\\') {
            Some(b) => (true, b),
            None => (false, line),
        };
        let (s, mut acc) = pending.take().unwrap_or((start, String::new()));
        acc.push_str(body);
        if cont {
            // Two spaces stand for the backslash and the newline, so that
            // byte offsets still point into the file.
            acc.push_str("  ");
            pending = Some((s, acc));
        } else {
            out.push((s, acc));
        }
    }
    out.extend(pending);
    out
}

/// `NAME=value` alone on a line.
fn assignment(words: &[Word]) -> Option<(String, String)> {
    let w = words.first()?;
    let (name, value) = w.text.split_once('=')?;
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    (ok && words.len() == 1).then(|| (name.to_owned(), value.to_owned()))
}

/// Expands `$NAME` and `${NAME}` in a word; a word that is only a variable
/// splits on whitespace, as the shell does. `Err` names an unset variable.
fn expand(w: &Word, vars: &BTreeMap<String, String>) -> Result<Vec<Word>, String> {
    if w.literal || !w.text.contains('$') {
        return Ok(vec![w.clone()]);
    }
    let mut out = String::new();
    let mut rest = w.text.as_str();
    let mut whole = true;
    while let Some(pos) = rest.find('$') {
        whole &= pos == 0 && out.is_empty();
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            let close = b.find('}').ok_or_else(|| after.to_owned())?;
            (&b[..close], &b[close + 1..])
        } else {
            let len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..len], &after[len..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(vars.get(name).ok_or_else(|| name.to_owned())?);
        rest = tail;
    }
    whole &= rest.is_empty();
    out.push_str(rest);
    if whole {
        Ok(out.split_whitespace().map(|t| Word { text: t.to_owned(), ..w.clone() }).collect())
    } else {
        Ok(vec![Word { text: out, ..w.clone() }])
    }
}
