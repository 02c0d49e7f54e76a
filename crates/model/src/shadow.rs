//! ## What it does
//! Finds rules that can never match because an earlier rule of the same rule
//! set decides every packet they would match.
//!
//! ## Why is this bad?
//! The author expected the rule to act; the firewall ignores it.
//!
//! ## Example
//! ```text
//! accept from lan service ssh
//! deny   from lan.admin service ssh   # W0301: rule 2 can never match
//! ```
//!
//! The check is conservative: it reports only what it can prove, comparing
//! each rule with one earlier rule at a time and skipping negated columns.
//!
//! Comparing every rule with every earlier one is quadratic: 10,000 rules
//! took 3.5 s and 100,000 over 300 s. So the earlier rules are filed by
//! the networks of their source and destination columns together
//! ([`Index`]), and a rule is compared only with those whose columns could
//! contain its own, in rule order, so the warning names the same (first)
//! earlier rule as before.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use rampart_diag::Diagnostic;
use rampart_ir::{AddrItem, PortRange};

use crate::{Action, AddrColumn, Direction, Firewall, Rule, ServiceAtom, diagnostics};

pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    for rs in &fw.rulesets {
        let mut index = Index::default();
        let mut candidates = Vec::new();
        for (i, later) in rs.rules.iter().enumerate() {
            if may_be_covered(later) {
                index.candidates(later, &mut candidates);
                if let Some(earlier) =
                    candidates.iter().map(|&j| &rs.rules[j]).find(|e| covers(e, later))
                {
                    diags.push(diagnostics::shadowed(
                        later.number,
                        earlier.number,
                        later.span,
                        earlier.span,
                    ));
                }
            }
            if may_cover(later) {
                index.insert(i, later);
            }
        }
    }
}

fn negated(r: &Rule) -> bool {
    r.src.neg || r.dst.neg || r.service.neg || r.iface.neg
}

/// The conditions of [`covers`] on the earlier rule alone.
fn may_cover(a: &Rule) -> bool {
    matches!(a.action, Action::Accept | Action::Deny | Action::Reject(_)) && !negated(a)
}

/// The conditions of [`covers`] on the later rule alone.
fn may_be_covered(b: &Rule) -> bool {
    !matches!(b.action, Action::Antispoof(_)) && !negated(b)
}

/// Where an address column is filed, as the earlier rule of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// Could contain anything: any, the firewall with other addresses,
    /// address ranges. Always a candidate.
    Wild,
    /// Only the firewall.
    Firewall,
    /// One network of the column: (IPv4?, prefix length, network bits).
    Net(bool, u8, u128),
}

/// Rules filed under more key pairs than this go to the per-column indices.
const MAX_PAIRS: usize = 16;

/// The earlier rules of a rule set that can decide, filed by the keys of
/// both address columns, so that the rules that could contain a later
/// rule's addresses (see [`addr_covers`]) are found without the others.
#[derive(Default)]
struct Index {
    pairs: HashMap<(Key, Key), Vec<usize>>,
    /// Rules with many networks in both columns, by one column at a time.
    broad_src: HashMap<Key, Vec<usize>>,
    broad_dst: HashMap<Key, Vec<usize>>,
    /// The prefix lengths filed, per column: only these are probed.
    src_lens: BTreeSet<(bool, u8)>,
    dst_lens: BTreeSet<(bool, u8)>,
}

impl Index {
    fn insert(&mut self, i: usize, a: &Rule) {
        let (ks, kd) = (keys(&a.src), keys(&a.dst));
        for (keys, lens) in [(&ks, &mut self.src_lens), (&kd, &mut self.dst_lens)] {
            lens.extend(keys.iter().filter_map(|k| match k {
                Key::Net(v4, len, _) => Some((*v4, *len)),
                _ => None,
            }));
        }
        if ks.len() * kd.len() <= MAX_PAIRS {
            for &s in &ks {
                for &d in &kd {
                    file(&mut self.pairs, (s, d), i);
                }
            }
        } else {
            ks.iter().for_each(|&k| file(&mut self.broad_src, k, i));
            kd.iter().for_each(|&k| file(&mut self.broad_dst, k, i));
        }
    }

    /// The earlier rules that could cover `b`, in rule order.
    fn candidates(&self, b: &Rule, out: &mut Vec<usize>) {
        out.clear();
        let ps = probes(&b.src, &self.src_lens);
        let pd = probes(&b.dst, &self.dst_lens);
        for s in &ps {
            for d in &pd {
                if let Some(bucket) = self.pairs.get(&(*s, *d)) {
                    out.extend_from_slice(bucket);
                }
            }
        }
        // A broad rule is filed under every key of each column: one column
        // finds it; take the one with fewer entries.
        let count = |map: &HashMap<Key, Vec<usize>>, probes: &[Key]| -> usize {
            probes.iter().filter_map(|k| map.get(k)).map(Vec::len).sum()
        };
        let (map, probes) = if count(&self.broad_src, &ps) <= count(&self.broad_dst, &pd) {
            (&self.broad_src, &ps)
        } else {
            (&self.broad_dst, &pd)
        };
        for k in probes {
            if let Some(bucket) = map.get(k) {
                out.extend_from_slice(bucket);
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

fn file<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<usize>>, key: K, i: usize) {
    let bucket = map.entry(key).or_default();
    if bucket.last() != Some(&i) {
        bucket.push(i);
    }
}

/// The keys an earlier rule's column is filed under.
fn keys(col: &AddrColumn) -> Vec<Key> {
    let ranges = col.set.items.iter().any(|x| matches!(x, AddrItem::Range(..)));
    if col.is_any() || ranges || (col.firewall && !col.set.items.is_empty()) {
        return vec![Key::Wild];
    }
    if col.firewall {
        return vec![Key::Firewall];
    }
    let mut keys: Vec<Key> = col
        .set
        .items
        .iter()
        .filter_map(|x| match x {
            AddrItem::Net(n) => Some(Key::Net(n.addr().is_ipv4(), n.prefix_len(), bounds(*x).1)),
            AddrItem::Range(..) => None,
        })
        .collect();
    keys.sort_unstable_by_key(|k| match k {
        Key::Net(v4, len, net) => (*v4, *len, *net),
        _ => (false, 0, 0),
    });
    keys.dedup();
    keys
}

/// The keys under which a rule whose column could contain `col` is filed:
/// every earlier column that contains it holds a network that contains its
/// first address (or is wild, or is only the firewall when `col` is).
fn probes(col: &AddrColumn, lens: &BTreeSet<(bool, u8)>) -> Vec<Key> {
    let mut out = vec![Key::Wild];
    if col.is_any() {
        return out;
    }
    if col.firewall {
        if col.set.items.is_empty() {
            out.push(Key::Firewall);
        }
        return out;
    }
    let (v4, lo, hi) = bounds(col.set.items[0]);
    let width: u8 = if v4 { 32 } else { 128 };
    // A network contains [lo, hi] when it is a prefix of both.
    let common = u8::try_from(((lo ^ hi) << (128 - u32::from(width))).leading_zeros())
        .map_or(width, |c| c.min(width));
    for &(_, len) in lens.range((v4, 0)..=(v4, common)) {
        let host_bits = u32::from(width - len);
        let net = if host_bits >= 128 { 0 } else { lo >> host_bits << host_bits };
        out.push(Key::Net(v4, len, net));
    }
    out
}

/// Does `a` (earlier, final) decide every packet `b` matches?
pub(crate) fn covers(a: &Rule, b: &Rule) -> bool {
    if !may_cover(a) || !may_be_covered(b) {
        return false;
    }
    // A stateful accept sees only new connections; a stateless rule sees all.
    let new_only = |r: &Rule| r.action == Action::Accept && !r.stateless;
    if new_only(a) && !new_only(b) {
        return false;
    }
    addr_covers(&a.src, &b.src)
        && addr_covers(&a.dst, &b.dst)
        && (a.service.atoms.is_empty()
            || (!b.service.atoms.is_empty()
                && b.service
                    .atoms
                    .iter()
                    .all(|y| a.service.atoms.iter().any(|x| atom_covers(x, y)))))
        && (a.iface.names.is_empty()
            || (!b.iface.names.is_empty()
                && b.iface.names.iter().all(|n| a.iface.names.contains(n))))
        && (a.direction == Direction::Both || a.direction == b.direction)
        && (a.users.is_empty()
            || (!b.users.is_empty() && b.users.iter().all(|u| a.users.contains(u))))
}

fn addr_covers(a: &AddrColumn, b: &AddrColumn) -> bool {
    if a.is_any() {
        return true;
    }
    if b.is_any() || (b.firewall && !a.firewall) {
        return false;
    }
    b.set.items.iter().all(|y| a.set.items.iter().any(|x| item_covers(*x, *y)))
}

fn bounds(i: AddrItem) -> (bool, u128, u128) {
    let bits = |a: IpAddr| match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    match i {
        AddrItem::Net(n) => (n.addr().is_ipv4(), bits(n.network()), bits(n.broadcast())),
        AddrItem::Range(a, b) => (a.is_ipv4(), bits(a), bits(b)),
    }
}

fn item_covers(x: AddrItem, y: AddrItem) -> bool {
    let (fx, x0, x1) = bounds(x);
    let (fy, y0, y1) = bounds(y);
    fx == fy && x0 <= y0 && y1 <= x1
}

fn ports_cover(x: &[PortRange], y: &[PortRange]) -> bool {
    x.is_empty()
        || (!y.is_empty()
            && y.iter().all(|&(b0, b1)| x.iter().any(|&(a0, a1)| a0 <= b0 && b1 <= a1)))
}

fn atom_covers(x: &ServiceAtom, y: &ServiceAtom) -> bool {
    match (x.proto, y.proto) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(p), Some(q)) => {
            p == q
                && ports_cover(&x.sports, &y.sports)
                && ports_cover(&x.dports, &y.dports)
                && (x.icmp.is_none() || x.icmp == y.icmp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check before the index: every rule against every earlier one.
    fn check_pairwise(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
        for rs in &fw.rulesets {
            for (i, later) in rs.rules.iter().enumerate() {
                if let Some(earlier) = rs.rules[..i].iter().find(|e| covers(e, later)) {
                    diags.push(diagnostics::shadowed(
                        later.number,
                        earlier.number,
                        later.span,
                        earlier.span,
                    ));
                }
            }
        }
    }

    /// Random rule sets over overlapping networks, hosts, ranges, IPv6,
    /// `self` and `any`: the indexed check warns exactly as the pairwise one.
    #[test]
    fn index_finds_the_same_warnings_as_pairwise_comparison() {
        const ADDRS: &[&str] = &[
            "any",
            "self",
            "big",
            "mid",
            "small",
            "h1",
            "h2",
            "pool",
            "v6net",
            "v6host",
            "mixed",
            "10.1.2.0/25",
            "0.0.0.0/0",
            "fw",
            "many",
            "many",
        ];
        const SERVICES: &[&str] = &["ssh", "web", "dns", "all", "tcp-any", "ping"];
        const ACTIONS: &[&str] = &["accept", "deny", "reject", "continue", "accept", "deny"];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(seed >> 33).unwrap() % n
        };
        let mut warnings = 0;
        for round in 0..40 {
            let mut text = String::from(concat!(
                "network big 10.0.0.0/8\nnetwork mid 10.1.0.0/16\nnetwork small 10.1.2.0/24\n",
                "host h1 10.1.2.3\nhost h2 10.1.2.3, 10.9.9.9\nrange pool 10.1.2.1-10.1.2.9\n",
                "network v6net 2001:db8::/32\nhost v6host 2001:db8::1\n",
                "group mixed { small, v6host }\n",
                // More networks in both columns than the pair index files.
                "group many { 10.1.0.0/24, 10.1.1.0/24, 10.1.2.0/24, 10.1.3.0/24, 10.2.0.0/16 }\n",
                "service ssh tcp 22\nservice web tcp 80, 443\nservice dns tcp 53, udp 53\n",
                "service all any\nservice tcp-any tcp 1-65535\nservice ping icmp echo-request\n",
                "user alice uid 1000\n",
                "firewall fw {\n  interface eth0 192.168.1.1/24\n  interface eth1 10.1.2.254/24\n",
                "  forward on\n  ruleset main {\n",
            ));
            for _ in 0..(20 + round * 5) {
                let action = ACTIONS[next(ACTIONS.len())];
                let mut rule = format!("    {action}");
                let src = ADDRS[next(ADDRS.len())];
                let dst = ADDRS[next(ADDRS.len())];
                let user = src == "self" && !matches!(dst, "self" | "fw") && next(4) == 0;
                if src != "any" || next(2) == 0 {
                    let not = if !user && next(8) == 0 && src != "any" { "not " } else { "" };
                    rule += &format!(" from {not}{src}");
                }
                if dst != "any" {
                    rule += &format!(" to {dst}");
                }
                if next(3) > 0 {
                    rule += &format!(" service {}", SERVICES[next(SERVICES.len())]);
                }
                if next(4) == 0 {
                    rule += if next(2) == 0 { " on eth0" } else { " on eth1" };
                }
                if user {
                    rule += " out user alice";
                } else {
                    rule += [" in", " out", "", ""][next(4)];
                }
                if next(5) == 0 {
                    rule += " stateless";
                }
                text += &rule;
                text += "\n";
            }
            text += "  }\n}\n";
            let loaded = crate::load_str("shadow.rp", &text, &mut rampart_diag::Sources::new());
            let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
            assert!(errors.is_empty(), "{errors:?}\n{text}");
            for fw in &loaded.model.expect("a model").firewalls {
                let (mut indexed, mut pairwise) = (Vec::new(), Vec::new());
                check(fw, &mut indexed);
                check_pairwise(fw, &mut pairwise);
                assert_eq!(indexed, pairwise, "{text}");
                warnings += indexed.len();
            }
        }
        assert!(warnings > 50, "the rule sets shadow enough to mean something: {warnings}");
    }
}
