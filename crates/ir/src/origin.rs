//! The log-prefix template, the one definition of how a LOG line names its
//! rule: the compiler renders it into every `--log-prefix`, the log reader
//! matches it to find the rule again.
//!
//! A template is text with placeholders: `%N` the rule number, `%A` the
//! action word (`DENY`), `%C` the rule set, `%I` the interface, `%%` a
//! percent sign. It must hold `%N`, and two placeholders need text between
//! them, so that every rendered prefix can be read back.
//!
//! ```
//! use rampart_ir::origin::{LogPrefix, PrefixValues};
//!
//! let t = LogPrefix::parse("%C:%N %A ").unwrap();
//! let v = PrefixValues { rule: 7, action: "DENY", ruleset: "users", iface: "eth0" };
//! assert_eq!(t.render(&v), "users:7 DENY ");
//! let m = t.matches("users:7 DENY").unwrap();
//! assert_eq!((m.rule, m.action, m.ruleset), (7, Some("DENY"), Some("users")));
//! ```

use std::fmt;

/// Rampart's default template (`RULE 16 -- DENY `), fwbuilder's too.
pub const DEFAULT_LOG_PREFIX: &str = "RULE %N -- %A ";

/// A parsed log-prefix template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPrefix {
    text: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Rule,
    Action,
    RuleSet,
    Iface,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(String),
    Field(Field),
}

/// What a rule's prefix is rendered from.
#[derive(Clone, Copy, Debug)]
pub struct PrefixValues<'a> {
    pub rule: u32,
    pub action: &'a str,
    pub ruleset: &'a str,
    pub iface: &'a str,
}

/// What a prefix read back gives: the fields the template holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixFields<'p> {
    pub rule: u32,
    pub action: Option<&'p str>,
    pub ruleset: Option<&'p str>,
    pub iface: Option<&'p str>,
}

/// Why a template cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("log prefix template {0:?} has no %N (rule number)")]
    NoNumber(String),
    #[error("log prefix template {0:?} has two placeholders with no text between them")]
    Adjacent(String),
    #[error(
        "log prefix template {0:?} has an unknown placeholder `{1}` (known: %N, %A, %C, %I, %%)"
    )]
    Unknown(String, String),
}

impl LogPrefix {
    /// Parse a template (see the module documentation).
    pub fn parse(text: &str) -> Result<LogPrefix, PrefixError> {
        let prefix = Self::parse_own(text)?;
        if !prefix.pieces.contains(&Piece::Field(Field::Rule)) {
            return Err(PrefixError::NoNumber(text.to_owned()));
        }
        Ok(prefix)
    }

    /// A rule's own prefix (`log prefix "..."`): the same placeholders, but
    /// `%N` is not needed, since the whole prefix names the rule.
    pub fn parse_own(text: &str) -> Result<LogPrefix, PrefixError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                lit.push(c);
                continue;
            }
            let field = match chars.next() {
                Some('%') => {
                    lit.push('%');
                    continue;
                }
                Some('N') => Field::Rule,
                Some('A') => Field::Action,
                Some('C') => Field::RuleSet,
                Some('I') => Field::Iface,
                other => {
                    let p = other.map_or_else(|| "%".to_owned(), |o| format!("%{o}"));
                    return Err(PrefixError::Unknown(text.to_owned(), p));
                }
            };
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            } else if matches!(pieces.last(), Some(Piece::Field(_))) {
                return Err(PrefixError::Adjacent(text.to_owned()));
            }
            pieces.push(Piece::Field(field));
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(LogPrefix { text: text.to_owned(), pieces })
    }

    /// The template as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the template shows the rule set (`%C`), which makes prefixes
    /// longer the longer the rule set's name.
    #[must_use]
    pub fn shows_ruleset(&self) -> bool {
        self.pieces.contains(&Piece::Field(Field::RuleSet))
    }

    /// The prefix of one rule.
    #[must_use]
    pub fn render(&self, v: &PrefixValues<'_>) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(l) => out.push_str(l),
                Piece::Field(Field::Rule) => out.push_str(&v.rule.to_string()),
                Piece::Field(Field::Action) => out.push_str(v.action),
                Piece::Field(Field::RuleSet) => out.push_str(v.ruleset),
                Piece::Field(Field::Iface) => out.push_str(v.iface),
            }
        }
        out
    }

    /// Read a prefix back; `None` when this template did not render it.
    /// Spaces around the prefix are ignored: the kernel's line runs the
    /// prefix into the first field, readers trim it.
    #[must_use]
    pub fn matches<'p>(&self, prefix: &'p str) -> Option<PrefixFields<'p>> {
        let pieces = trim_end(&self.pieces);
        let mut out = PrefixFields { rule: 0, action: None, ruleset: None, iface: None };
        let (mut rule, prefix) = (None, prefix.trim());
        match_at(&pieces, prefix, &mut rule, &mut out).then_some(())?;
        Some(PrefixFields { rule: rule?, ..out })
    }
}

impl Default for LogPrefix {
    fn default() -> Self {
        LogPrefix::parse(DEFAULT_LOG_PREFIX).expect("the default template is valid")
    }
}

impl fmt::Display for LogPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The pieces with the trailing spaces of the last literal dropped.
fn trim_end(pieces: &[Piece]) -> Vec<Piece> {
    let mut out = pieces.to_vec();
    if let Some(Piece::Lit(l)) = out.last_mut() {
        l.truncate(l.trim_end().len());
        if l.is_empty() {
            out.pop();
        }
    }
    out
}

/// Match `pieces` against all of `rest`. A field takes every length that
/// lets the rest match, so a rule set name may contain the text that
/// follows it in the template.
fn match_at<'p>(
    pieces: &[Piece],
    rest: &'p str,
    rule: &mut Option<u32>,
    out: &mut PrefixFields<'p>,
) -> bool {
    let Some((first, next)) = pieces.split_first() else { return rest.is_empty() };
    let field = match first {
        Piece::Lit(l) => {
            return rest.strip_prefix(l.as_str()).is_some_and(|r| match_at(next, r, rule, out));
        }
        Piece::Field(f) => *f,
    };
    // the field's value ends where the next literal starts, or at the end
    let ends: Vec<usize> = match next.first() {
        Some(Piece::Lit(l)) => rest.match_indices(l.as_str()).map(|(i, _)| i).collect(),
        _ => vec![rest.len()],
    };
    for end in ends.into_iter().filter(|&e| e > 0) {
        let value = &rest[..end];
        match field {
            Field::Rule => match value.parse::<u32>() {
                Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => *rule = Some(n),
                _ => continue,
            },
            Field::Action => out.action = Some(value),
            Field::RuleSet => out.ruleset = Some(value),
            Field::Iface => out.iface = Some(value),
        }
        if match_at(next, &rest[end..], rule, out) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> PrefixValues<'static> {
        PrefixValues { rule: 16, action: "DENY", ruleset: "main", iface: "eth0" }
    }

    #[test]
    fn default_renders_and_reads_back() {
        let t = LogPrefix::default();
        assert_eq!(t.render(&values()), "RULE 16 -- DENY ");
        let m = t.matches("RULE 16 -- DENY ").unwrap();
        assert_eq!((m.rule, m.action, m.ruleset), (16, Some("DENY"), None));
        assert_eq!(t.matches("RULE 0 -- DENY").unwrap().rule, 0);
        assert_eq!(t.matches("RULE x -- DENY"), None);
        assert_eq!(t.matches("RULE 99999999999 -- DENY"), None);
        assert_eq!(t.matches("RULE 16 -- "), None);
        assert_eq!(t.matches("[UFW BLOCK]"), None);
    }

    #[test]
    fn every_field_round_trips() {
        let t = LogPrefix::parse("%C/%I:%N %A%% ").unwrap();
        let v = PrefixValues { rule: 3, action: "ACCEPT", ruleset: "a-b:c", iface: "br0" };
        let p = t.render(&v);
        assert_eq!(p, "a-b:c/br0:3 ACCEPT% ");
        let m = t.matches(&p).unwrap();
        assert_eq!(m.rule, 3);
        assert_eq!(m.action, Some("ACCEPT"));
        assert_eq!(m.iface, Some("br0"));
        assert_eq!(m.ruleset, Some("a-b:c"));
        assert!(t.shows_ruleset());
        assert!(!LogPrefix::default().shows_ruleset());
    }

    #[test]
    fn templates_that_cannot_be_read_back_are_refused() {
        assert_eq!(LogPrefix::parse("%A"), Err(PrefixError::NoNumber("%A".into())));
        assert_eq!(LogPrefix::parse("%N%A"), Err(PrefixError::Adjacent("%N%A".into())));
        assert_eq!(
            LogPrefix::parse("R %N %R"),
            Err(PrefixError::Unknown("R %N %R".into(), "%R".into()))
        );
        assert_eq!(
            LogPrefix::parse("R %N %"),
            Err(PrefixError::Unknown("R %N %".into(), "%".into()))
        );
    }
}

/// The comment Rampart gives a generated rule: `R7: text`, or `R7` without
/// text. [`comment_rule`] reads it back.
#[must_use]
pub fn comment(rule: u32, text: Option<&str>) -> String {
    match text {
        Some(t) => format!("R{rule}: {t}"),
        None => format!("R{rule}"),
    }
}

/// The policy rule a comment written by [`comment`] names.
#[must_use]
pub fn comment_rule(comment: &str) -> Option<u32> {
    let rest = comment.strip_prefix('R')?;
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let tail = &rest[digits..];
    (digits > 0 && (tail.is_empty() || tail.starts_with(": ")))
        .then(|| rest[..digits].parse().ok())?
}

/// The policy rule named by the comment of a rule line as the kernel
/// lists it: iptables (`... -m comment --comment "R7: text" ...`) or nft
/// (`... comment "R7: text"`).
#[must_use]
pub fn line_rule(line: &str) -> Option<u32> {
    let after = match line.split_once("--comment ") {
        Some((_, a)) => a,
        None => line.rsplit_once(" comment ")?.1,
    };
    let value = match after.strip_prefix('"') {
        Some(q) => q.split('"').next()?,
        None => after.split_whitespace().next()?,
    };
    comment_rule(value)
}

#[cfg(test)]
mod comment_tests {
    use super::*;

    #[test]
    fn comments_name_their_rule_and_read_back() {
        assert_eq!(comment(7, Some("web")), "R7: web");
        for (text, rule) in [("R7: web", Some(7)), ("R12", Some(12)), ("R1x", None), ("web", None)]
        {
            assert_eq!(comment_rule(text), rule, "{text}");
        }
        assert_eq!(line_rule("-A INPUT -m comment --comment \"R7: a b\" -j DROP"), Some(7));
        assert_eq!(line_rule("-A INPUT -m comment --comment R12 -j DROP"), Some(12));
        assert_eq!(line_rule("-A INPUT -j DROP"), None);
        assert_eq!(line_rule("ip saddr 10.0.0.1 drop comment \"R7: a b\""), Some(7));
    }
}
