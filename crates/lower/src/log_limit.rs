//! Log lines under a rate limit. A rich rule logs and acts in one step, and
//! a limit in that rule would hold back the verdict too; so a limited log
//! moves with the verdict into a chain of its own, whose first rule logs
//! under the limit and whose second acts, whatever the limit said.

use rampart_ir::{Chain, ChainId, Limit, Match, Rule, RulesetBuilder, Target};

/// Rewrite `rules` (one policy rule's, numbered `number`) so that each log
/// line is written only under `limit`.
pub(crate) fn apply(
    rules: Vec<Rule>,
    limit: Option<&Limit>,
    number: u32,
    rs: &mut RulesetBuilder,
) -> Vec<Rule> {
    let Some(limit) = limit else { return rules };
    let mut out = Vec::with_capacity(rules.len());
    for mut rule in rules {
        let Some(log) = rule.log.take() else {
            out.push(rule);
            continue;
        };
        let mut logger = Rule { matches: vec![Match::Limit(limit.clone().into())], ..rule.clone() };
        logger.target = Target::Log(*log);
        if rule.target == Target::None {
            // Log only: the limit can stand in the rule itself.
            logger.matches = rule.matches;
            logger.matches.push(Match::Limit(limit.clone().into()));
            out.push(logger);
            continue;
        }
        let act = Rule { matches: crate::iptables::verdict_matches(&rule), ..rule.clone() };
        let id = chain(rs, &format!("R{number}_log"), vec![logger, act]);
        // A RETURN must leave the chain the rule is in: go to the log chain
        // rather than jump, so its RETURN returns from where the rule was.
        rule.target =
            if rule.target == Target::Return { Target::Goto(id) } else { Target::Jump(id) };
        out.push(rule);
    }
    out
}

/// A chain holding `rules`: one made before under `base` (another variant
/// or hook of the same rule), else a new one.
fn chain(rs: &mut RulesetBuilder, base: &str, rules: Vec<Rule>) -> ChainId {
    let mut n = 1;
    loop {
        let name = if n == 1 { base.to_owned() } else { format!("{base}{n}") };
        match rs.index(&name) {
            Some(id) if rs.at_mut(id).rules == rules => return id,
            None if !rs.contains(&name) => {
                let mut c = Chain::user(&name);
                c.rules = rules;
                return rs.push(c);
            }
            _ => n += 1,
        }
    }
}
