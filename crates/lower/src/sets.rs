//! Run-time sets in a rule's address columns: `-m set --match-set NAME
//! src|dst` (nft: `ip saddr @NAME`). The set holds no address when
//! compiling, so the column has no other match.

use rampart_ir::{Match, SetMatch};
use rampart_model::Rule;

/// The set matches of `rule`'s source and destination columns.
pub(crate) fn matches(rule: &Rule) -> Vec<Match> {
    [(&rule.src, true), (&rule.dst, false)]
        .into_iter()
        .filter_map(|(col, src)| {
            let set = col.dynamic.as_deref().cloned()?;
            Some(Match::Set(SetMatch { set, src, neg: col.neg }.into()))
        })
        .collect()
}
