//! `iptables-save` output: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A ...`,
//! `COMMIT`. Rule counters (`iptables-save -c`) are kept on the rules;
//! chain counters are read past.

use rampart_diag::FileId;

use super::build::Builder;
use super::lex::{Quoting, control_char, split};
use super::{Imported, diagnostics};
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
        if let Err(e) = control_char(trimmed, ls) {
            b.unreadable(&e);
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            if table.is_some() {
                b.push(diagnostics::table_in_table(b.span(ls, le)));
            }
            let Some(parsed) = crate::Table::parse(name.trim()) else {
                b.push(diagnostics::unknown_table(b.span(ls, le), name.trim()));
                skipping = true;
                continue;
            };
            table = Some((b.table(parsed, false), ls, le));
            continue;
        }
        if trimmed == "COMMIT" {
            if table.take().is_none() && !std::mem::take(&mut skipping) {
                b.push(diagnostics::commit_outside_table(b.span(ls, le)));
            }
            continue;
        }
        if skipping {
            continue;
        }
        let Some((t, _, _)) = table else {
            b.push(diagnostics::line_outside_table(b.span(ls, le)));
            continue;
        };
        let mut words = match split(trimmed, ls, Quoting::Restore) {
            Ok(w) => w,
            Err(e) => {
                b.unreadable(&e);
                continue;
            }
        };
        if trimmed.starts_with(':') {
            // `:NAME POLICY [p:b]`
            let name = words[0].clone();
            let name =
                super::lex::Word { text: name.text[1..].to_owned(), start: name.start + 1, ..name };
            if name.text.is_empty() {
                b.push(diagnostics::chain_without_name(b.span(ls, le)));
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
                b.push(diagnostics::bad_counters(b.span(w.start, w.end), &w.text));
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
        b.push(diagnostics::never_committed(b.span(s, e)));
    }
    let (tables, diagnostics) = b.finish();
    Imported { tables, diagnostics }
}
