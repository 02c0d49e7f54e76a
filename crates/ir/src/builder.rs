//! A ruleset under construction, its chains found by name in constant time.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;

use crate::rule::{AddrSet, Chain, ChainId, Hook, PortSet, Ruleset, Table, Target};

/// A [`Ruleset`] being built, with a name → id map beside it. Lowering adds
/// thousands of chains and looks one up per rule; a search over all chains
/// was a fifth of a 100,000-rule compile.
///
/// A jump may name a chain before it is made ([`Self::id`] reserves its id);
/// [`Self::finish`] puts the chains in the order they were made and renumbers
/// the jumps.
///
/// Equal address and port sets are made once ([`Self::addrs`],
/// [`Self::ports`]): a group that a thousand rules name is held once.
#[derive(Debug, Default)]
pub struct RulesetBuilder {
    /// By id; `None` while reserved and not yet made.
    chains: Vec<Option<Chain>>,
    names: HashMap<String, ChainId>,
    /// Ids in the order their chains were made.
    order: Vec<ChainId>,
    addr_sets: HashSet<Arc<AddrSet>>,
    port_sets: HashSet<Arc<PortSet>>,
}

/// The one shared copy of `value` in `pool`, made on first use.
fn share<T: Clone + Eq + Hash>(pool: &mut HashSet<Arc<T>>, value: &T) -> Arc<T> {
    if let Some(shared) = pool.get(value) {
        return Arc::clone(shared);
    }
    let shared = Arc::new(value.clone());
    pool.insert(Arc::clone(&shared));
    shared
}

/// The name a chain is found by. Built-in chains of tables other than
/// filter share their names with filter's (`OUTPUT`) and with each other's
/// (`PREROUTING`), so theirs name the table: `mangle:PREROUTING`.
fn key(chain: &Chain) -> String {
    if chain.is_builtin() && chain.table != Table::Filter {
        format!("{}:{}", chain.table.name(), chain.name)
    } else {
        chain.name.clone()
    }
}

impl RulesetBuilder {
    /// Starts from `chains`, whose names must differ.
    #[must_use]
    pub fn new(chains: Vec<Chain>) -> Self {
        let mut b = Self::default();
        for c in chains {
            b.push(c);
        }
        b
    }

    /// Whether the name is taken: made, or reserved by a jump.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The chain of that name, if it was made.
    #[must_use]
    pub fn index(&self, name: &str) -> Option<ChainId> {
        self.names.get(name).copied().filter(|id| self.chains[id.0].is_some())
    }

    /// The id of the chain of that name, reserved if it is not made yet.
    pub fn id(&mut self, name: &str) -> ChainId {
        if let Some(&id) = self.names.get(name) {
            return id;
        }
        let id = ChainId(self.chains.len());
        self.chains.push(None);
        self.names.insert(name.to_owned(), id);
        id
    }

    pub fn chain_mut(&mut self, name: &str) -> Option<&mut Chain> {
        let id = self.index(name)?;
        Some(self.at_mut(id))
    }

    /// `table`'s built-in chain at `hook`.
    pub fn builtin_mut(&mut self, table: Table, hook: Hook) -> Option<&mut Chain> {
        self.chains.iter_mut().flatten().find(|c| c.table == table && c.hook() == Some(hook))
    }

    /// The chain `id` (from [`Self::index`] or [`Self::push`]).
    ///
    /// # Panics
    /// When the chain is only reserved.
    pub fn at_mut(&mut self, id: ChainId) -> &mut Chain {
        self.chains[id.0].as_mut().expect("chain reserved but not made")
    }

    /// `set`, shared with the rules of this ruleset that match an equal set.
    pub fn addrs(&mut self, set: &AddrSet) -> Arc<AddrSet> {
        share(&mut self.addr_sets, set)
    }

    /// `set`, shared with the rules of this ruleset that match an equal set.
    pub fn ports(&mut self, set: &PortSet) -> Arc<PortSet> {
        share(&mut self.port_sets, set)
    }

    /// Makes a chain and returns its id.
    ///
    /// # Panics
    /// When a chain of that name was made before: callers pick fresh names.
    pub fn push(&mut self, chain: Chain) -> ChainId {
        let id = self.id(&key(&chain));
        assert!(self.chains[id.0].is_none(), "chain `{}` added twice", chain.name);
        self.chains[id.0] = Some(chain);
        self.order.push(id);
        id
    }

    /// # Panics
    /// When a jump names a chain that was never made.
    #[must_use]
    pub fn finish(self) -> Ruleset {
        let mut renumber = vec![ChainId(usize::MAX); self.chains.len()];
        for (new, old) in self.order.iter().enumerate() {
            renumber[old.0] = ChainId(new);
        }
        let mut slots = self.chains;
        let mut chains: Vec<Chain> =
            self.order.iter().map(|id| slots[id.0].take().expect("made")).collect();
        if let Some((name, _)) = self.names.iter().find(|(_, id)| renumber[id.0].0 == usize::MAX) {
            panic!("a jump names chain `{name}`, which was never made");
        }
        if renumber.iter().enumerate().any(|(i, id)| id.0 != i) {
            for r in chains.iter_mut().flat_map(|c| &mut c.rules) {
                if let Target::Jump(id) | Target::Goto(id) = &mut r.target {
                    *id = renumber[id.0];
                }
            }
        }
        // A chain grew rule by rule, by doubling; the slack of a chain of
        // 100,000 rules would be tens of MB.
        for c in &mut chains {
            c.rules.shrink_to_fit();
        }
        Ruleset { chains }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Policy, Rule};

    #[test]
    fn finds_chains_by_name_and_keeps_their_order() {
        let mut b = RulesetBuilder::new(vec![Chain::builtin(Hook::Input, Policy::Drop)]);
        assert_eq!(b.push(Chain::user("b")), ChainId(1));
        assert_eq!(b.push(Chain::user("a")), ChainId(2));
        assert!(b.contains("a") && !b.contains("c"));
        assert_eq!(b.index("b"), Some(ChainId(1)));
        b.chain_mut("a").unwrap().rules.push(Rule::new(vec![], Target::Accept));
        let names: Vec<_> =
            b.finish().chains.into_iter().map(|c| (c.name, c.rules.len())).collect();
        assert_eq!(names, [("INPUT".to_owned(), 0), ("b".to_owned(), 0), ("a".to_owned(), 1)]);
    }

    #[test]
    fn a_jump_made_before_its_chain_is_renumbered_into_creation_order() {
        let mut b = RulesetBuilder::new(vec![Chain::builtin(Hook::Input, Policy::Drop)]);
        let later = b.id("later");
        assert_eq!(b.index("later"), None);
        b.at_mut(ChainId(0)).rules.push(Rule::new(vec![], Target::Jump(later)));
        b.push(Chain::user("first"));
        b.push(Chain::user("later"));
        let rs = b.finish();
        assert_eq!(rs.chains[2].name, "later");
        assert_eq!(rs.chains[0].rules[0].target, Target::Jump(ChainId(2)));
    }

    #[test]
    fn equal_sets_are_made_once() {
        let mut b = RulesetBuilder::default();
        let net = |s: &str| crate::AddrItem::Net(s.parse().unwrap());
        let a = b.addrs(&AddrSet { name: Some("lan".into()), items: vec![net("10.0.0.0/8")] });
        let again = b.addrs(&AddrSet { name: Some("lan".into()), items: vec![net("10.0.0.0/8")] });
        let other = b.addrs(&AddrSet { name: None, items: vec![net("10.0.0.0/8")] });
        assert!(Arc::ptr_eq(&a, &again) && !Arc::ptr_eq(&a, &other));
        let p = b.ports(&PortSet { name: None, ranges: vec![(22, 22)] });
        assert!(Arc::ptr_eq(&p, &b.ports(&PortSet { name: None, ranges: vec![(22, 22)] })));
    }

    #[test]
    #[should_panic(expected = "added twice")]
    fn refuses_a_second_chain_of_one_name() {
        let mut b = RulesetBuilder::new(vec![Chain::user("x")]);
        b.push(Chain::user("x"));
    }

    #[test]
    #[should_panic(expected = "never made")]
    fn refuses_a_jump_to_a_chain_never_made() {
        let mut b = RulesetBuilder::default();
        b.id("x");
        let _ = b.finish();
    }
}
