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

/// The elements of the sets in `ipset save` output that a trace can match
/// against: sets of type `hash:ip` or `hash:net` whose elements are
/// addresses or networks. A set of another type, with a `netmask`, or
/// with an element it cannot read (`nomatch`, ...) is left out, so its
/// rules stay undecided.
#[must_use]
pub fn ipset_members(text: &str) -> std::collections::BTreeMap<String, crate::AddrSet> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut sets: BTreeMap<String, crate::AddrSet> = BTreeMap::new();
    let mut bad: BTreeSet<String> = BTreeSet::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["create", name, kind, opts @ ..] => {
                let plain = plain_options(opts);
                if matches!(*kind, "hash:ip" | "hash:net") && plain {
                    sets.insert((*name).to_owned(), crate::AddrSet::default());
                } else {
                    bad.insert((*name).to_owned());
                }
            }
            ["add", name, elem, opts @ ..] => {
                let known = matches!(
                    opts.first(),
                    None | Some(&("timeout" | "packets" | "bytes" | "comment"))
                );
                let item = elem_item(elem);
                match (sets.get_mut(*name), item) {
                    (Some(set), Some(item)) if known && !opts.contains(&"nomatch") => {
                        set.items.push(item);
                    }
                    _ => {
                        bad.insert((*name).to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    sets.retain(|name, _| !bad.contains(name));
    sets
}

/// Whether a set's options leave its elements plain addresses: a
/// `netmask` (or anything unknown) does not.
fn plain_options(opts: &[&str]) -> bool {
    let mut i = 0;
    while let Some(o) = opts.get(i) {
        i += match *o {
            "counters" | "comment" | "skbinfo" | "forceadd" => 1,
            "family" | "hashsize" | "maxelem" | "timeout" | "bucketsize" | "initval" => 2,
            _ => return false,
        };
    }
    true
}

/// An address or network of an ipset element.
fn elem_item(s: &str) -> Option<crate::AddrItem> {
    let net = match s.split_once('/') {
        Some((a, l)) => ipnet::IpNet::new(a.parse().ok()?, l.parse().ok()?).ok()?.trunc(),
        None => ipnet::IpNet::from(s.parse::<std::net::IpAddr>().ok()?),
    };
    Some(crate::AddrItem::Net(net))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ipset_save_gives_the_members_it_can_read() {
        let text = "create f2b-sshd hash:ip family inet hashsize 1024 maxelem 65536 timeout 600\n\
add f2b-sshd 192.0.2.7 timeout 412\n\
add f2b-sshd 198.51.100.9\n\
create nets hash:net family inet hashsize 1024 maxelem 65536 counters comment\n\
add nets 203.0.113.0/24\n\
add nets 203.0.113.128/25 nomatch\n\
create pairs hash:ip,port family inet hashsize 1024 maxelem 65536\ncreate masked hash:ip family inet netmask 24\nadd masked 10.0.0.0\n\
add pairs 192.0.2.1,tcp:22\n\
create empty hash:ip family inet6 hashsize 1024 maxelem 65536\n";
        let sets = super::ipset_members(text);
        assert_eq!(sets.keys().collect::<Vec<_>>(), ["empty", "f2b-sshd"]);
        assert!(sets["f2b-sshd"].contains("198.51.100.9".parse().unwrap()));
        assert!(!sets["f2b-sshd"].contains("192.0.2.8".parse().unwrap()));
        assert!(sets["empty"].items.is_empty());
    }
}
