//! `iptables-save` output: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A ...`,
//! `COMMIT`. Counters are read past and dropped.

use rampart_diag::FileId;

use super::Imported;
use super::build::Builder;
use super::lex::{Quoting, control_char, split};

pub(crate) fn parse(text: &str, file: FileId) -> Imported {
    let mut b = Builder::new(file);
    let mut table: Option<(usize, usize, usize)> = None; // (index, start, end) of `*name`
    let mut offset = 0;
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
            table = Some((b.table(name.trim(), false), ls, le));
            continue;
        }
        if trimmed == "COMMIT" {
            if table.take().is_none() {
                b.error(ls, le, "COMMIT outside a table", "no `*table` line before it");
            }
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
        if words[0].text.starts_with('[') && words[0].text.ends_with(']') {
            words.remove(0);
        }
        if words.is_empty() {
            continue;
        }
        b.command(t, &words);
    }
    if let Some((_, s, e)) = table {
        b.error(s, e, "table is never committed", "add COMMIT at the end of the table");
    }
    let (tables, diagnostics) = b.finish();
    Imported { tables, diagnostics }
}
