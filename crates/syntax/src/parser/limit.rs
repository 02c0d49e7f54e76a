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
