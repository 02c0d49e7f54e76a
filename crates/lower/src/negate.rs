//! Negating several values, which one `!` cannot say: a chain that leaves
//! on each value and acts after the last. Lowering uses it for `not`
//! services, the iptables pass for negated lists.

use rampart_ir::{Chain, ChainId, Match, Rule, RulesetBuilder, Target};

/// A rule that negates several values, lowered into chains.
pub(crate) struct Negated {
    /// The policy rule's number, in the chains' names.
    pub number: u32,
    /// What every line made carries (comment, origin); its matches, log
    /// and target are replaced.
    pub template: Rule,
    /// One line of matches per negated value.
    pub values: Vec<Vec<Match>>,
    /// What the rule does when no value matched, at the end of the NOT chain.
    pub acts: Vec<Rule>,
}

impl Negated {
    /// For a rule that acts and lets the packet go on: a chain `R<n>_not`
    /// that RETURNs on each value, then acts, for the rule's other matches
    /// to jump (`-j`) to.
    pub(crate) fn chain(self, rs: &mut RulesetBuilder) -> ChainId {
        self.not_chain(rs, Target::Return)
    }

    /// For a `return` (or goto), which a chain of its own would only leave
    /// itself: the rule's chain `at` goes (`-g`) to `R<n>_not` on each line
    /// of the other matches (`jumps`) and then to `R<n>_rest`; the returned chain,
    /// `R<n>_rest`, takes the rules after the rule. Going to a chain and
    /// falling off its end continues wherever `at` would have returned to
    /// (its policy, for a built-in chain), so `R<n>_rest` is the rest of
    /// `at`. `R<n>_not` goes to `R<n>_rest` on each value, as if the rule
    /// had not matched, and otherwise acts: its RETURN leaves `at`, since
    /// no frame was pushed.
    pub(crate) fn split(
        self,
        jumps: Vec<Vec<Match>>,
        at: ChainId,
        rs: &mut RulesetBuilder,
    ) -> ChainId {
        let rest = fresh(rs, &format!("R{}_rest", self.number));
        let rest_id = rs.id(&rest);
        let not = self.not_chain(rs, Target::Goto(rest_id));
        let mut lines: Vec<Rule> =
            jumps.into_iter().map(|m| self.line(m, Target::Goto(not))).collect();
        lines.push(self.line(vec![], Target::Goto(rest_id)));
        rs.at_mut(at).rules.extend(lines);
        rs.push(Chain::user(&rest))
    }

    fn not_chain(&self, rs: &mut RulesetBuilder, on_value: Target) -> ChainId {
        let mut chain = Chain::user(&fresh(rs, &format!("R{}_not", self.number)));
        chain.rules = self.values.iter().map(|v| self.line(v.clone(), on_value.clone())).collect();
        chain.rules.extend(self.acts.iter().cloned());
        rs.push(chain)
    }

    /// A line of the rule: `matches` and `target`, without logging.
    pub(crate) fn line(&self, matches: Vec<Match>, target: Target) -> Rule {
        Rule { matches, log: None, target, ..self.template.clone() }
    }
}

/// `base`, or `base_2`, `base_3`... : the first name no chain has.
pub(crate) fn fresh(rs: &RulesetBuilder, base: &str) -> String {
    let mut name = base.to_owned();
    let mut n = 1;
    while rs.contains(&name) {
        n += 1;
        name = format!("{base}_{n}");
    }
    name
}
