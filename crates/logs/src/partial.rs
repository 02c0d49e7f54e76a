//! Firewall lines read only in part. They are counted by everything they
//! hold like any other line; this is the account of what they lacked, so
//! no line is lost and none is taken for whole.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::line::Unread;

/// Keep at most this many partial lines for `--show-partial`.
pub const SAMPLES: usize = 1000;

/// A firewall line read only in part, kept for `--show-partial`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartialLine {
    /// File it came from (empty for the kernel ring).
    pub file: String,
    /// 1-based line number within that input.
    pub line: u64,
    /// What was not read: `DST= did not parse`, `cut short`.
    pub what: String,
    /// The line, lossily decoded.
    pub text: String,
}

/// How many firewall lines were read only in part, and what they lacked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Partial {
    /// Firewall lines read only in part (cut, or with a field that did not parse).
    pub lines: u64,
    /// Of those, lines cut short.
    pub cut: u64,
    /// Key (`DST`) → lines where its value did not parse.
    pub fields: BTreeMap<&'static str, u64>,
    /// The first [`SAMPLES`] partial lines.
    pub samples: Vec<PartialLine>,
}

impl Partial {
    /// Count line `line` (1-based, raw text `raw`) when it was not read whole.
    pub fn note(&mut self, unread: &Unread, line: u64, raw: &[u8]) {
        if unread.is_empty() {
            return;
        }
        self.lines += 1;
        self.cut += u64::from(unread.cut);
        for key in &unread.fields {
            *self.fields.entry(key).or_insert(0) += 1;
        }
        if self.samples.len() < SAMPLES {
            self.samples.push(PartialLine {
                file: String::new(),
                line,
                what: describe(&unread.fields, unread.cut),
                text: String::from_utf8_lossy(raw).into_owned(),
            });
        }
    }

    /// Add `other`, read after `self`; its samples not yet named by
    /// [`Partial::set_file`] have their line numbers shifted by `offset`.
    pub fn merge(&mut self, other: Partial, offset: u64) {
        self.lines += other.lines;
        self.cut += other.cut;
        for (k, n) in other.fields {
            *self.fields.entry(k).or_insert(0) += n;
        }
        for mut s in other.samples {
            if self.samples.len() >= SAMPLES {
                break;
            }
            if s.file.is_empty() {
                s.line += offset;
            }
            self.samples.push(s);
        }
    }

    /// Name the input the samples not yet named came from.
    pub fn set_file(&mut self, name: &str) {
        for s in self.samples.iter_mut().filter(|s| s.file.is_empty()) {
            s.file = name.to_owned();
        }
    }

    /// `2 firewall lines read in part: 1 cut short; fields not read: DST 1`,
    /// or nothing when every line was read whole.
    pub fn summary_line(&self) -> Option<String> {
        if self.lines == 0 {
            return None;
        }
        let mut o =
            format!("{} firewall lines read in part (counted by what they hold)", self.lines);
        if self.cut > 0 {
            let _ = write!(o, ": {} cut short", self.cut);
        }
        if !self.fields.is_empty() {
            o.push_str(if self.cut > 0 { "; " } else { ": " });
            o.push_str("fields not read:");
            for (k, n) in &self.fields {
                let _ = write!(o, " {k} {n}");
            }
        }
        Some(o)
    }
}

/// `DST=, TTL= did not parse; cut short`
pub fn describe(fields: &[&str], cut: bool) -> String {
    let mut o = String::new();
    for (i, k) in fields.iter().enumerate() {
        let _ = write!(o, "{}{k}=", if i > 0 { ", " } else { "" });
    }
    if !fields.is_empty() {
        o.push_str(" did not parse");
    }
    if cut {
        o.push_str(if o.is_empty() { "cut short" } else { "; cut short" });
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::parse;

    #[test]
    fn counts_and_describes() {
        let mut p = Partial::default();
        for (n, l) in [
            "IN=eth0 OUT= SRC=1.2.3.4 DST=xxx LEN=1 TTL=300 PROTO=47 ",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 PROTO=47 ",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=5",
        ]
        .iter()
        .enumerate()
        {
            p.note(&parse(l.as_bytes()).unwrap().unread, n as u64 + 1, l.as_bytes());
        }
        assert_eq!((p.lines, p.cut), (2, 1));
        assert_eq!(p.fields, BTreeMap::from([("DST", 1), ("TTL", 1)]));
        assert_eq!(p.samples[0].what, "DST=, TTL= did not parse");
        assert_eq!((p.samples[1].line, p.samples[1].what.as_str()), (3, "cut short"));
        assert_eq!(
            p.summary_line().unwrap(),
            "2 firewall lines read in part (counted by what they hold): 1 cut short; \
             fields not read: DST 1 TTL 1"
        );
    }
}
