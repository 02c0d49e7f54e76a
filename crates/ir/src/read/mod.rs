//! Readers of existing iptables rulesets: `iptables-save` output and
//! Firewall Builder-style shell scripts (`$IPTABLES -A ...` lines). Both
//! produce restricted-form [`Ruleset`]s, one per table, so that `trace` and
//! the other tools work on any firewall, not only on Rampart's.
//!
//! Problems in the input are [`Diagnostic`] values with a span on the
//! offending word, never `Err`. Start at [`parse`].

mod args;
mod build;
mod detect;
mod diagnostics;
mod lex;
mod modules;
pub mod nft;
mod save;
mod script;

use rampart_diag::{Diagnostic, FileId};

pub use detect::{Format, Unrecognised, detect};

use crate::{Family, Restricted, chain_line, format_rule};

/// One table (`filter`, `nat`, ...) as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub table: crate::Table,
    /// V6 when a rule names an IPv6 address or ICMPv6 (an ip6tables file).
    pub family: Family,
    pub ruleset: Restricted,
}

/// What a reader produced: every table, and the problems found (errors and
/// warnings, in line order).
#[derive(Clone, Debug, Default)]
pub struct Imported {
    pub tables: Vec<Table>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Imported {
    /// The `filter` table, the one `trace` evaluates.
    #[must_use]
    pub fn filter(&self) -> Option<&Table> {
        self.tables.iter().find(|t| t.table == crate::Table::Filter)
    }

    /// Every table as one ruleset, filter first, as a compiled firewall
    /// holds them; `None` without a filter table.
    #[must_use]
    pub fn joined(&self) -> Option<Restricted> {
        self.filter()?;
        let mut all = crate::Ruleset::default();
        for t in crate::Table::ALL {
            let Some(table) = self.tables.iter().find(|x| x.table == t) else { continue };
            all.append(&table.ruleset);
        }
        Some(Restricted::read(all))
    }

    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Reads the ruleset file `name`: in `format` when it is given, else in
/// the format it is recognised to be ([`detect`]). A file that is not a
/// ruleset is one error (E0802) naming the file and what it looked like,
/// never an empty ruleset; an empty file is a ruleset only when the format
/// is given. `file` is used for the spans of the readers' diagnostics.
#[must_use]
pub fn read(bytes: &[u8], name: &str, file: FileId, format: Option<Format>) -> Imported {
    let refused = |what: Unrecognised| Imported {
        tables: vec![],
        diagnostics: vec![diagnostics::not_a_ruleset(name, what)],
    };
    let Ok(text) = std::str::from_utf8(bytes) else { return refused(Unrecognised::Binary) };
    let format = match (format, detect(text)) {
        (Some(Format::Script), _) if !text.trim().is_empty() && !detect::has_command(text) => {
            return refused(Unrecognised::ShellScript);
        }
        (Some(f), _) | (None, Ok(f)) => f,
        (None, Err(what)) => return refused(what),
    };
    parse(text, file, format)
}

/// Reads a ruleset in the given format. `file` is used for diagnostic spans.
#[must_use]
pub fn parse(text: &str, file: FileId, format: Format) -> Imported {
    match format {
        Format::Save => save::parse(text, file),
        Format::Script => script::parse(text, file),
    }
}

/// Writes tables back in iptables-restore form, normalised: each table's
/// chains in IR order with zeroed counters, rules as iptables-save prints
/// them, then `COMMIT`.
#[must_use]
pub fn write_restore(tables: &[Table]) -> String {
    let mut out = String::new();
    for t in tables {
        out.push('*');
        out.push_str(t.table.name());
        out.push('\n');
        for c in &t.ruleset.chains {
            out.push_str(&format!("{}\n", chain_line(c)));
        }
        for c in &t.ruleset.chains {
            for r in &c.rules {
                let text = format_rule(&t.ruleset, r, t.family);
                if text.is_empty() {
                    out.push_str(&format!("-A {}\n", c.name));
                } else {
                    out.push_str(&format!("-A {} {text}\n", c.name));
                }
            }
        }
        out.push_str("COMMIT\n");
    }
    out
}

#[cfg(test)]
mod tests;
