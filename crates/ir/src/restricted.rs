//! The restricted form as a type: what iptables-restore can load, one line
//! per rule. An iptables printer takes a [`Restricted`], so it cannot be
//! handed a rich rule and silently drop its `log` or all but one address.

use std::ops::Deref;

use crate::rule::{Match, PortSet, Ruleset};

/// `-m multiport` takes at most 15 ports, a range counting as two.
pub const MULTIPORT_MAX: usize = 15;

impl PortSet {
    /// The multiport slots the set takes.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.ranges.iter().map(|(a, b)| if a == b { 1 } else { 2 }).sum()
    }
}

/// A ruleset in the restricted form: no rule logs before its target, every
/// address and interface match holds one value, ports fit one multiport,
/// and all rules are of one family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restricted(Ruleset);

/// Why a ruleset is not in the restricted form: the first rule that is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRestricted {
    pub chain: String,
    /// From 1.
    pub rule: usize,
    pub why: &'static str,
}

impl std::fmt::Display for NotRestricted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rule {}: {}", self.chain, self.rule, self.why)
    }
}

impl std::error::Error for NotRestricted {}

impl Restricted {
    /// Checks that `rs` is in the restricted form.
    ///
    /// # Errors
    /// The first rule that is not one iptables line.
    pub fn new(rs: Ruleset) -> Result<Self, NotRestricted> {
        let mut family = None;
        for c in &rs.chains {
            for (i, r) in c.rules.iter().enumerate() {
                let fail = |why| NotRestricted { chain: c.name.clone(), rule: i + 1, why };
                if r.log.is_some() {
                    return Err(fail("logs before its target (needs a LOG rule)"));
                }
                if let Some(why) = r.matches.iter().find_map(not_one_line) {
                    return Err(fail(why));
                }
                match (family, r.family()) {
                    (Some(a), Some(b)) if a != b => return Err(fail("mixes address families")),
                    (None, f) => family = f,
                    _ => {}
                }
            }
        }
        Ok(Self(rs))
    }

    /// Wraps what a reader of iptables-save built: one line per rule.
    pub(crate) fn read(rs: Ruleset) -> Self {
        Self(rs)
    }

    #[must_use]
    pub fn into_ruleset(self) -> Ruleset {
        self.0
    }
}

impl Deref for Restricted {
    type Target = Ruleset;

    fn deref(&self) -> &Ruleset {
        &self.0
    }
}

/// Why a match needs more than one iptables line, if it does.
fn not_one_line(m: &Match) -> Option<&'static str> {
    match m {
        Match::Src(a) | Match::Dst(a) if a.set.items.len() != 1 => {
            Some("an address match holds other than one address")
        }
        Match::InIface(i) | Match::OutIface(i) if i.names.len() != 1 => {
            Some("an interface match holds other than one name")
        }
        Match::Sport(p) | Match::Dport(p) | Match::AnyPort(p)
            if p.set.ranges.is_empty() || p.set.slots() > MULTIPORT_MAX =>
        {
            Some("a port match does not fit one multiport")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{AddrItem, AddrMatch, AddrSet, Chain, Hook, Log, Policy, Rule, Target};

    fn one(rule: Rule) -> Ruleset {
        let mut c = Chain::builtin(Hook::Input, Policy::Drop);
        c.rules.push(rule);
        Ruleset { chains: vec![c] }
    }

    #[test]
    fn refuses_rich_rules() {
        let mut logged = Rule::new(vec![], Target::Drop);
        logged.log = Some(Log { prefix: "x".into(), level: 4 }.into());
        assert_eq!(Restricted::new(one(logged)).unwrap_err().why.split(' ').next(), Some("logs"));
        let items = vec![
            AddrItem::Net("10.0.0.1/32".parse().unwrap()),
            AddrItem::Net("10.0.0.2/32".parse().unwrap()),
        ];
        let two = Match::Src(AddrMatch { neg: false, set: AddrSet { name: None, items }.into() });
        assert!(Restricted::new(one(Rule::new(vec![two], Target::Accept))).is_err());
        assert!(Restricted::new(one(Rule::new(vec![], Target::Accept))).is_ok());
    }
}
