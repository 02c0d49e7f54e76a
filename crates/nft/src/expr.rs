//! nft rule pieces before set names are known.

use crate::elems::Elems;

/// What a list's elements are; named sets exist for all but interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    Ipv4,
    Ipv6,
    Port,
    Iface,
    CtState,
}

impl Kind {
    pub(crate) fn nft_type(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4_addr",
            Kind::Ipv6 => "ipv6_addr",
            Kind::Port => "inet_service",
            Kind::Iface => "ifname",
            Kind::CtState => "ct_state",
        }
    }
}

/// A list of values on the right of a comparison: inline or a named set,
/// decided later by [`crate::sets::Sets`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct List {
    pub(crate) kind: Kind,
    /// The policy group's name, when the column was exactly one group.
    pub(crate) name: Option<String>,
    pub(crate) elems: Elems,
}

/// One expression or statement of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Expr {
    /// `lhs @set`, `lhs != { a, b }`, `lhs value`.
    Cmp { lhs: &'static str, neg: bool, list: List },
    /// Anything else, already in nft syntax.
    Raw(String),
}

impl Expr {
    pub(crate) fn raw(s: impl Into<String>) -> Self {
        Expr::Raw(s.into())
    }
}

/// One nft rule: matches, then statements, verdict and comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NftRule {
    pub(crate) matches: Vec<Expr>,
    /// `counter`, `log ...`: statements before the verdict.
    pub(crate) stmts: Vec<String>,
    pub(crate) verdict: Option<String>,
    /// Unquoted.
    pub(crate) comment: Option<String>,
    /// It holds a limit, whose state is the rule's own: never merged.
    pub(crate) stateful: bool,
}
