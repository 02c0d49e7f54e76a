//! Who printed a LOG line: tie its prefix to a Rampart rule, a ufw or
//! firewalld verdict, or keep it as a free prefix.
//!
//! Linking a rule number to the policy's source line is left to the caller
//! through [`RuleLookup`]: the policy compiler fills a [`RuleIndex`], this
//! crate never parses policies.

use std::collections::BTreeMap;
use std::fmt;

use rampart_ir::origin::LogPrefix;

/// The verdict a prefix names, normalised across tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// ACCEPT, ufw ALLOW, firewalld ACCEPT
    Accept,
    /// DENY, DROP, ufw BLOCK / LIMIT BLOCK
    Deny,
    /// REJECT
    Reject,
    /// BRANCH (Rampart: jump to another rule set)
    Branch,
    /// CONTINUE (log-only rule)
    Continue,
    /// RETURN
    Return,
    /// ufw AUDIT and other log-only lines
    Audit,
}

impl Action {
    /// Parse an action word (case-insensitive): ACCEPT, ALLOW, DENY, DROP,
    /// BLOCK, REJECT, BRANCH, CONTINUE, RETURN, AUDIT, LOG.
    pub fn parse(word: &str) -> Option<Action> {
        let w = word.trim();
        let eq = |s: &str| w.eq_ignore_ascii_case(s);
        let a = if eq("ACCEPT") || eq("ALLOW") || eq("ACCEPTED") || eq("ALLOWED") {
            Action::Accept
        } else if ["DENY", "DROP", "BLOCK", "LIMIT BLOCK", "DENIED", "DROPPED", "BLOCKED"]
            .iter()
            .any(|w| eq(w))
        {
            Action::Deny
        } else if eq("REJECT") || eq("REJECTED") {
            Action::Reject
        } else if eq("BRANCH") {
            Action::Branch
        } else if eq("CONTINUE") {
            Action::Continue
        } else if eq("RETURN") {
            Action::Return
        } else if eq("AUDIT") || eq("LOG") {
            Action::Audit
        } else {
            return None;
        };
        Some(a)
    }

    /// Upper-case name as Rampart prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "ACCEPT",
            Action::Deny => "DENY",
            Action::Reject => "REJECT",
            Action::Branch => "BRANCH",
            Action::Continue => "CONTINUE",
            Action::Return => "RETURN",
            Action::Audit => "AUDIT",
        }
    }

    /// Whether the packet was stopped (DENY or REJECT).
    pub fn is_block(self) -> bool {
        matches!(self, Action::Deny | Action::Reject)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tool (and rule) a prefix comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Rampart's template (`RULE 16 -- DENY `). Rule 0 is a rule Rampart
    /// added itself (such as the final catch-all).
    Rampart {
        /// Rule number (`%N`).
        rule: u32,
        /// Action word (`%A`), normalised; None if the word is not known.
        action: Option<Action>,
        /// Rule set name (`%C`), when the template has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        ruleset: Option<String>,
    },
    /// ufw: `[UFW BLOCK] `, `[UFW ALLOW] `, `[UFW LIMIT BLOCK] `, `[UFW AUDIT] `.
    Ufw {
        /// The word(s) after `UFW`, e.g. `BLOCK`, `LIMIT BLOCK`.
        verdict: String,
    },
    /// firewalld: `filter_IN_public_REJECT: `, `FINAL_REJECT: `, `STATE_INVALID_DROP: `.
    Firewalld {
        /// Table (`filter`), when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        table: Option<String>,
        /// Chain direction (`IN`, `FWD`, `OUT`), when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        chain: Option<String>,
        /// Zone (`public`), when given.
        #[serde(skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
        /// Last word (`REJECT`, `DROP`, `ACCEPT`).
        verdict: String,
    },
    /// Any other prefix, trimmed; empty when the rule had no prefix.
    Free {
        /// The prefix text.
        prefix: String,
    },
}

/// Result of attributing a prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Attribution {
    /// Where the line came from.
    pub source: Source,
}

impl Attribution {
    /// The normalised verdict, when the prefix names one.
    pub fn action(&self) -> Option<Action> {
        match &self.source {
            Source::Rampart { action, .. } => *action,
            Source::Ufw { verdict } | Source::Firewalld { verdict, .. } => Action::parse(verdict),
            Source::Free { prefix: text } => {
                // Free prefixes often end in the verdict: "DROP", "iptables-dropped: ".
                let last = text.rsplit([' ', '_', '-', ':']).find(|w| !w.is_empty())?;
                Action::parse(last)
            }
        }
    }

    /// Rampart rule number, when the line came from a Rampart rule.
    pub fn rule(&self) -> Option<u32> {
        match self.source {
            Source::Rampart { rule, .. } => Some(rule),
            _ => None,
        }
    }
}

/// Where a rule was written, for `--policy`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// Policy file.
    pub file: String,
    /// 1-based line of the rule in `file`.
    pub line: u32,
    /// The rule's comment, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Rule number → where it was written. The policy compiler builds it.
pub type RuleIndex = BTreeMap<u32, RuleInfo>;

/// Look up the policy rule behind an attribution. Implemented for
/// [`RuleIndex`]; a compiler with rule sets can implement it per rule set.
pub trait RuleLookup {
    /// The rule `number` of rule set `ruleset` (None: the template has no `%C`).
    fn rule(&self, ruleset: Option<&str>, number: u32) -> Option<&RuleInfo>;
}

impl RuleLookup for RuleIndex {
    fn rule(&self, _ruleset: Option<&str>, number: u32) -> Option<&RuleInfo> {
        self.get(&number)
    }
}

/// Resolve an attribution to a policy rule, when a lookup was given.
pub fn rule_info<'r>(a: &Attribution, lookup: &'r dyn RuleLookup) -> Option<&'r RuleInfo> {
    match &a.source {
        Source::Rampart { rule, ruleset, .. } => lookup.rule(ruleset.as_deref(), *rule),
        _ => None,
    }
}

/// Attribute prefixes; holds the Rampart template to recognise.
#[derive(Debug, Clone, Default)]
pub struct Attributor {
    template: LogPrefix,
    /// Rules' own prefixes (`log prefix "..."`), trimmed → rule number and
    /// action word.
    own: BTreeMap<String, (u32, String)>,
}

impl Attributor {
    /// Use `template` (the policy's `log-prefix`) for Rampart prefixes.
    pub fn new(template: LogPrefix) -> Attributor {
        Attributor { template, own: BTreeMap::new() }
    }

    /// Also recognise the prefixes rules carry of their own, as the policy
    /// renders them (the policy checks that none names two rules).
    #[must_use]
    pub fn with_own(mut self, own: BTreeMap<String, (u32, String)>) -> Attributor {
        self.own = own;
        self
    }

    /// Attribute a prefix (raw bytes, trailing spaces allowed).
    pub fn attribute(&self, prefix: &[u8]) -> Attribution {
        let text = String::from_utf8_lossy(prefix);
        let text = text.trim();
        if let Some((rule, action)) = self.own.get(text) {
            let source =
                Source::Rampart { rule: *rule, action: Action::parse(action), ruleset: None };
            return Attribution { source };
        }
        if let Some(m) = self.template.matches(text) {
            return Attribution {
                source: Source::Rampart {
                    rule: m.rule,
                    action: m.action.and_then(Action::parse),
                    ruleset: m.ruleset.map(str::to_owned),
                },
            };
        }
        if let Some(v) = text.strip_prefix("[UFW ").and_then(|t| t.strip_suffix(']')) {
            return Attribution { source: Source::Ufw { verdict: v.to_owned() } };
        }
        if let Some(fw) = firewalld(text) {
            return Attribution { source: fw };
        }
        Attribution { source: Source::Free { prefix: text.to_owned() } }
    }
}

const FIREWALLD_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];
const FIREWALLD_VERDICTS: [&str; 4] = ["ACCEPT", "DROP", "REJECT", "DENY"];

/// `filter_IN_public_REJECT:`, `FINAL_REJECT:`, `STATE_INVALID_DROP:`.
fn firewalld(text: &str) -> Option<Source> {
    let body = text.strip_suffix(':')?;
    let (head, verdict) = body.rsplit_once('_')?;
    if !FIREWALLD_VERDICTS.contains(&verdict) {
        return None;
    }
    let verdict = verdict.to_owned();
    if let Some((table, rest)) = head.split_once('_')
        && FIREWALLD_TABLES.contains(&table)
    {
        let (chain, zone) =
            rest.split_once('_').map_or((rest, None), |(c, z)| (c, Some(z.to_owned())));
        return Some(Source::Firewalld {
            table: Some(table.to_owned()),
            chain: Some(chain.to_owned()),
            zone,
            verdict,
        });
    }
    if matches!(head, "FINAL" | "STATE_INVALID" | "INVALID") {
        return Some(Source::Firewalld {
            table: None,
            chain: None,
            zone: Some(head.to_owned()),
            verdict,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(p: &str) -> Attribution {
        Attributor::default().attribute(p.as_bytes())
    }

    #[test]
    fn a_rules_own_prefix_names_that_rule() {
        let own = BTreeMap::from([("sshd-brute:".to_owned(), (7, "DENY".to_owned()))]);
        let a = Attributor::default().with_own(own);
        let got = a.attribute(b"sshd-brute: ");
        assert_eq!(
            got.source,
            Source::Rampart { rule: 7, action: Some(Action::Deny), ruleset: None }
        );
        assert_eq!(a.attribute(b"RULE 3 -- ACCEPT ").rule(), Some(3));
        assert!(matches!(a.attribute(b"sshd-other: ").source, Source::Free { .. }));
    }

    #[test]
    fn rampart_default_template() {
        let a = at("RULE 16 -- DENY ");
        assert_eq!(
            a.source,
            Source::Rampart { rule: 16, action: Some(Action::Deny), ruleset: None }
        );
        assert_eq!(a.rule(), Some(16));
        assert_eq!(a.action(), Some(Action::Deny));
        for (word, act) in [
            ("ACCEPT", Action::Accept),
            ("REJECT", Action::Reject),
            ("BRANCH", Action::Branch),
            ("CONTINUE", Action::Continue),
            ("RETURN", Action::Return),
        ] {
            assert_eq!(at(&format!("RULE 0 -- {word} ")).action(), Some(act));
        }
        assert_eq!(at("RULE 0 -- DENY").rule(), Some(0));
    }

    #[test]
    fn rampart_bad_number_is_free() {
        assert!(matches!(at("RULE x -- DENY ").source, Source::Free { .. }));
        assert!(matches!(at("RULE 99999999999 -- DENY ").source, Source::Free { .. }));
    }

    #[test]
    fn custom_template_with_ruleset() {
        let t = LogPrefix::parse("%C:%N:%A ").unwrap();
        let a = Attributor::new(t).attribute(b"users:4:ACCEPT ");
        assert_eq!(
            a.source,
            Source::Rampart {
                rule: 4,
                action: Some(Action::Accept),
                ruleset: Some("users".into())
            }
        );
    }

    #[test]
    fn ufw() {
        assert_eq!(at("[UFW BLOCK] ").source, Source::Ufw { verdict: "BLOCK".into() });
        assert_eq!(at("[UFW BLOCK] ").action(), Some(Action::Deny));
        assert_eq!(at("[UFW ALLOW] ").action(), Some(Action::Accept));
        assert_eq!(at("[UFW LIMIT BLOCK] ").action(), Some(Action::Deny));
        assert_eq!(at("[UFW AUDIT] ").action(), Some(Action::Audit));
    }

    #[test]
    fn firewalld_prefixes() {
        assert_eq!(
            at("filter_IN_public_REJECT: ").source,
            Source::Firewalld {
                table: Some("filter".into()),
                chain: Some("IN".into()),
                zone: Some("public".into()),
                verdict: "REJECT".into()
            }
        );
        assert_eq!(at("filter_FWD_my_zone_DROP: ").action(), Some(Action::Deny));
        assert_eq!(
            at("FINAL_REJECT: ").source,
            Source::Firewalld {
                table: None,
                chain: None,
                zone: Some("FINAL".into()),
                verdict: "REJECT".into()
            }
        );
        assert_eq!(at("STATE_INVALID_DROP: ").action(), Some(Action::Deny));
    }

    #[test]
    fn free_prefixes() {
        assert_eq!(
            at("iptables-dropped: ").source,
            Source::Free { prefix: "iptables-dropped:".into() }
        );
        assert_eq!(at("iptables-dropped: ").action(), Some(Action::Deny));
        assert_eq!(at("INPUT DROP ").action(), Some(Action::Deny));
        assert_eq!(at("").source, Source::Free { prefix: String::new() });
        assert_eq!(at("").action(), None);
    }

    #[test]
    fn rule_index_hook() {
        let mut idx = RuleIndex::new();
        idx.insert(
            16,
            RuleInfo { file: "web.rp".into(), line: 42, comment: Some("no telnet".into()) },
        );
        let info = rule_info(&at("RULE 16 -- DENY "), &idx).unwrap();
        assert_eq!((info.file.as_str(), info.line), ("web.rp", 42));
        assert!(rule_info(&at("RULE 17 -- DENY "), &idx).is_none());
        assert!(rule_info(&at("[UFW BLOCK] "), &idx).is_none());
    }
}
