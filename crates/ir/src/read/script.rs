//! Shell scripts in the Firewall Builder manner: `$IPTABLES -A ...` (or
//! `iptables ...`, `/sbin/iptables ...`) lines are read; `echo`, comments,
//! blank lines and variable assignments are skipped, assignments being
//! remembered so that `$VAR` in a rule expands. Other shell lines are
//! skipped too, with a warning when they mention iptables.

use std::collections::BTreeMap;

use rampart_diag::FileId;

use super::Imported;
use super::build::Builder;
use super::lex::{Quoting, Word, control_char, split};

pub(crate) fn parse(text: &str, file: FileId) -> Imported {
    let mut b = Builder::new(file);
    b.table(crate::Table::Filter, true);
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (start, line) in logical_lines(text) {
        let words =
            match control_char(&line, start).and_then(|()| split(&line, start, Quoting::Shell)) {
                Ok(w) => w,
                Err((at, msg)) => {
                    b.error(at, start + line.len(), msg, "here");
                    continue;
                }
            };
        let Some(first) = words.first() else { continue };
        if let Some((name, value)) = assignment(&words) {
            vars.insert(name, value);
            continue;
        }
        let end = start + line.trim_end().len();
        let cmd = first.text.as_str();
        let var = cmd.trim_start_matches('$').trim_start_matches('{').trim_end_matches('}');
        let expanded =
            if cmd.starts_with('$') { vars.get(var).map_or("", String::as_str) } else { cmd };
        let base = expanded.rsplit('/').next().unwrap_or("");
        let v6 =
            base.starts_with("ip6tables") || (cmd.starts_with('$') && var.contains("IP6TABLES"));
        let v4 = matches!(base, "iptables" | "iptables-legacy" | "iptables-nft")
            || (cmd.starts_with('$')
                && var.contains("IPTABLES")
                && !var.contains("RESTORE")
                && !v6);
        if v6 {
            b.warn(
                first.start,
                end,
                "ip6tables line skipped: only IPv4 rules are read from scripts",
                "skipped",
            );
            continue;
        }
        if !v4 {
            if line.contains("iptables") || line.contains("IPTABLES") {
                b.warn(
                    first.start,
                    end,
                    "line mentions iptables but is not a plain iptables command; skipped",
                    "skipped",
                );
            }
            continue;
        }
        let mut rest = Vec::new();
        let mut ok = true;
        for w in &words[1..] {
            if w.text.starts_with(['|', '&', ';', '>'])
                || w.text.starts_with("2>")
                || w.text.starts_with("1>")
            {
                break; // shell operators end the command
            }
            match expand(w, &vars) {
                Ok(ws) => rest.extend(ws),
                Err(name) => {
                    b.error(
                        w.start,
                        w.end,
                        format!("undefined shell variable `${name}`"),
                        "not assigned earlier in this script",
                    );
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            command(&mut b, rest, first, end);
        }
    }
    let (tables, diagnostics) = b.finish();
    Imported { tables, diagnostics }
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
                        let msg = format!("unknown table `{}`", t.text);
                        return b.error(
                            t.start,
                            t.end,
                            msg,
                            "tables are filter, nat, mangle, raw and security",
                        );
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
        b.error(program.start, end, "iptables command without -A, -I, -N or -P", "here");
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
