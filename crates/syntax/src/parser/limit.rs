//! The limit clauses of a rule: `limit RATE [burst N] [per source]`,
//! `connlimit N [per source]`, `log-limit RATE [burst N]` (or `none`).

use super::{PResult, Parser};
use crate::ast::Limit;
use rampart_diag::Span;

impl Parser<'_> {
    /// After the keyword at `keyword`: the value, then the options `kind`
    /// takes, in any order.
    pub(super) fn limit(&mut self, keyword: Span, kind: &str) -> PResult<Limit> {
        let what = match kind {
            "connlimit" => "a number of connections",
            _ => "a rate such as 3/minute",
        };
        let value = self.word(what)?;
        let mut l = Limit { keyword, value, burst: None, per_source: None };
        loop {
            if kind != "connlimit" && l.burst.is_none() && self.eat_word("burst").is_some() {
                l.burst = Some(self.word("a number of packets")?);
            } else if kind != "log-limit"
                && l.per_source.is_none()
                && let Some(per) = self.eat_word("per")
            {
                let Some(source) = self.eat_word("source") else {
                    let t = self.peek();
                    return Err(self.error_expected("`source` (a limit per source address)", t));
                };
                l.per_source = Some(per.to(source));
            } else {
                return Ok(l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::Item;
    use crate::parse;
    use rampart_diag::FileId;

    fn rule(text: &str) -> Result<crate::ast::Rule, Vec<&'static str>> {
        let p = parse(&format!("firewall f {{\n ruleset main {{\n  {text}\n }}\n}}\n"), FileId(0));
        if !p.diagnostics.is_empty() {
            return Err(p.diagnostics.iter().map(|d| d.code).collect());
        }
        let Item::Firewall(fw) = &p.ast.items[0] else { panic!() };
        Ok(fw.rulesets[0].rules[0].clone())
    }

    #[test]
    fn limits_take_their_options_in_any_order() {
        let r = rule("accept service ssh limit 3/minute per source burst 5 log log-limit 1/hour")
            .unwrap();
        let l = r.limit.unwrap();
        assert_eq!(l.value.text, "3/minute");
        assert_eq!(l.burst.unwrap().text, "5");
        assert!(l.per_source.is_some());
        assert_eq!(r.log_limit.unwrap().value.text, "1/hour");
        assert!(r.log.is_some());
        let c = rule("accept connlimit 20 per source").unwrap().connlimit.unwrap();
        assert_eq!(c.value.text, "20");
    }

    #[test]
    fn options_a_limit_does_not_take_are_errors() {
        assert_eq!(rule("accept limit 3/minute per host").unwrap_err(), ["E0003"]);
        assert_eq!(rule("accept connlimit 3 burst 5").unwrap_err(), ["E0005"]);
        assert_eq!(rule("accept log log-limit 3/minute per source").unwrap_err(), ["E0005"]);
        assert_eq!(rule("accept limit 3/minute limit 4/minute").unwrap_err(), ["E0006"]);
    }
}
