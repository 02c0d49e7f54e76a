//! `iptables-save` output: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A ...`,
//! `COMMIT`. Rule counters (`iptables-save -c`) are kept on the rules;
//! chain counters are read past.

use rampart_diag::FileId;

use super::Imported;
use super::build::Builder;
use super::lex::{Quoting, control_char, split};
use crate::Counters;

pub(crate) fn parse(text: &str, file: FileId) -> Imported {
    let mut b = Builder::new(file);
    let mut table: Option<(usize, usize, usize)> = None; // (index, start, end) of `*name`
    let mut offset = 0;
    // Inside a table of an unknown name (reported once), until its COMMIT.
    let mut skipping = false;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let (ls, le) = (start + lead, start + line.len());
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Err((at, msg)) = control_char(trimmed, ls) {
            b.error(at, le, msg, "here");
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if table.is_some() {
                b.error(
                    ls,
                    le,
                    "table started before the previous one was committed",
                    "add COMMIT before this line",
                );
            }
            let Some(parsed) = crate::Table::parse(name.trim()) else {
                b.error(
                    ls,
                    le,
                    format!("unknown table `{}`", name.trim()),
                    "tables are filter, nat, mangle, raw and security",
                );
                skipping = true;
                continue;
            };
            table = Some((b.table(parsed, false), ls, le));
            continue;
        }
        if trimmed == "COMMIT" {
            if table.take().is_none() && !std::mem::take(&mut skipping) {
                b.error(ls, le, "COMMIT outside a table", "no `*table` line before it");
            }
            continue;
        }
        if skipping {
            continue;
        }
        let Some((t, _, _)) = table else {
            b.error(ls, le, "line outside a table", "expected `*filter` (or another table) first");
            continue;
        };
        let mut words = match split(trimmed, ls, Quoting::Restore) {
            Ok(w) => w,
            Err((at, msg)) => {
                b.error(at, le, msg, "here");
                continue;
            }
        };
        if trimmed.starts_with(':') {
            // `:NAME POLICY [p:b]`
            let name = words[0].clone();
            let name =
                super::lex::Word { text: name.text[1..].to_owned(), start: name.start + 1, ..name };
            if name.text.is_empty() {
                b.error(ls, le, "chain line without a name", "expected `:NAME POLICY [0:0]`");
                continue;
            }
            b.declare(t, &name, words.get(1));
            continue;
        }
        let mut counters = None;
        if words[0].text.starts_with('[') && words[0].text.ends_with(']') {
            let w = words.remove(0);
            let inner = &w.text[1..w.text.len() - 1];
            let parsed = inner.split_once(':').and_then(|(p, b)| {
                Some(Counters { packets: p.parse().ok()?, bytes: b.parse().ok()? })
            });
            let Some(c) = parsed else {
                b.error(
                    w.start,
                    w.end,
                    format!("bad counters `{}`", w.text),
                    "expected `[PACKETS:BYTES]`",
                );
                continue;
            };
            counters = Some(c);
        }
        if words.is_empty() {
            continue;
        }
        b.command(t, &words, counters);
    }
    if let Some((_, s, e)) = table {
        b.error(s, e, "table is never committed", "add COMMIT at the end of the table");
    }
    let (tables, diagnostics) = b.finish();
    Imported { tables, diagnostics }
}
