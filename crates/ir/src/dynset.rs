//! Sets of addresses filled at run time (fail2ban, `rampart logs blocklist
//! --apply`): an ipset for iptables, a named set with timeouts for nft.
//! The policy declares the set; its elements are never part of a ruleset.

use crate::Family;

/// A run-time set as the policy declares it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DynSet {
    pub name: String,
    pub family: Family,
    /// Seconds an element stays unless added with its own timeout.
    pub timeout: Option<u32>,
    /// The most elements the set holds.
    pub size: Option<u32>,
}

/// `-m set --match-set NAME src|dst` / `ip saddr @NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetMatch {
    pub set: DynSet,
    /// The source address (else the destination).
    pub src: bool,
    pub neg: bool,
}

impl DynSet {
    /// `ipset create` arguments, `-exist` so that an existing set keeps
    /// its elements.
    #[must_use]
    pub fn ipset_create(&self) -> Vec<String> {
        let family = match self.family {
            Family::V4 => "inet",
            Family::V6 => "inet6",
        };
        let mut args: Vec<String> =
            ["create", &self.name, "hash:ip", "family", family].map(str::to_owned).into();
        if let Some(t) = self.timeout {
            args.extend(["timeout".to_owned(), t.to_string()]);
        }
        if let Some(n) = self.size {
            args.extend(["maxelem".to_owned(), n.to_string()]);
        }
        args.push("-exist".to_owned());
        args
    }
}

/// Every run-time set the rules of `rs` match, once, by name.
#[must_use]
pub fn sets(rs: &crate::Ruleset) -> Vec<DynSet> {
    let mut out: Vec<DynSet> = rs
        .chains
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|r| &r.matches)
        .filter_map(|m| match m {
            crate::Match::Set(s) => Some(s.set.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.name == b.name);
    out
}
