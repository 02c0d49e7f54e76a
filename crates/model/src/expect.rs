//! `expect` lines: what a firewall's rules must decide for the packets
//! they describe. The model only reads them; `rampart-analysis` checks
//! them against the compiled rules.

use rampart_diag::{Diagnostic, Span};
use rampart_syntax::ast;

use crate::firewall::{addr_column, iface_column, service_column};
use crate::resolve::Resolver;
use crate::{AddrColumn, Direction, Firewall, IfaceColumn, ServiceColumn, diagnostics};

/// One `expect` line.
#[derive(Clone, Debug)]
pub struct Expect {
    /// From `expect` to the end of the line.
    pub span: Span,
    pub verdict: Expected,
    pub src: AddrColumn,
    pub dst: AddrColumn,
    pub service: ServiceColumn,
    /// The interface packets arrive on (or, from the firewall, leave by).
    pub iface: IfaceColumn,
    pub direction: Direction,
    pub comment: Option<String>,
}

/// The verdict an `expect` line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Accept,
    /// Dropped or rejected: the packet does not pass.
    Deny,
    Reject,
}

impl Expected {
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            Expected::Accept => "accept",
            Expected::Deny => "deny",
            Expected::Reject => "reject",
        }
    }
}

pub(crate) fn build(
    lines: &[ast::Rule],
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Expect> {
    lines.iter().filter_map(|l| expect(l, fw, r, diags)).collect()
}

fn expect(
    l: &ast::Rule,
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Expect> {
    let before = diags.len();
    let verdict = match (l.action.text.as_str(), &l.argument) {
        ("accept", _) => Some(Expected::Accept),
        ("deny" | "drop", _) => Some(Expected::Deny),
        ("reject", None) => Some(Expected::Reject),
        _ => {
            diags.push(diagnostics::bad_expected_verdict(&l.action.text, l.action.span));
            None
        }
    };
    let misplaced = [
        (l.user.as_ref().map(|c| c.keyword), "a user clause"),
        (l.days.as_ref().map(|c| c.keyword), "a days clause"),
        (l.time.as_ref().map(|w| w.span), "a time clause"),
        (l.log, "log"),
        (l.stateless, "stateless"),
        (l.number.as_ref().map(|w| w.span), "a rule number"),
        (l.limit.as_ref().map(|c| c.keyword), "a limit"),
        (l.connlimit.as_ref().map(|c| c.keyword), "a connection limit"),
        (l.log_limit.as_ref().map(|c| c.keyword), "a log limit"),
        (
            l.direction.as_ref().filter(|_| l.on.is_none()).map(|w| w.span),
            "a direction without `on`",
        ),
    ];
    for (span, what) in misplaced {
        if let Some(span) = span {
            diags.push(diagnostics::misplaced(
                what,
                span,
                "an expectation describes new connections by addresses, service and interface",
            ));
        }
    }
    let out = Expect {
        span: l.span,
        verdict: verdict?,
        src: addr_column(l.from.as_ref(), fw, r, diags),
        dst: addr_column(l.to.as_ref(), fw, r, diags),
        service: service_column(l.service.as_ref(), r, diags),
        iface: iface_column(l.on.as_ref(), fw, diags),
        direction: match l.direction.as_ref().map(|w| w.text.as_str()) {
            Some("in") => Direction::In,
            Some("out") => Direction::Out,
            _ => Direction::Both,
        },
        comment: l.comment.as_ref().map(|c| c.value.clone()),
    };
    (!diags[before..].iter().any(Diagnostic::is_error)).then_some(out)
}
