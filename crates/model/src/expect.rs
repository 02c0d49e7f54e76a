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
    // Every clause named: one added to rules must be placed here too,
    // never silently ignored in an expectation.
    let ast::Rule {
        action,
        argument,
        from,
        to,
        service,
        on,
        direction,
        user,
        days,
        time,
        log,
        stateless,
        limit,
        connlimit,
        log_limit,
        log_prefix,
        mark,
        marked,
        tcp_flags,
        disabled,
        number,
        comment,
        span,
    } = l;
    let verdict = match (action.text.as_str(), argument) {
        ("accept", _) => Some(Expected::Accept),
        ("deny" | "drop", _) => Some(Expected::Deny),
        ("reject", None) => Some(Expected::Reject),
        _ => {
            diags.push(diagnostics::bad_expected_verdict(&action.text, action.span));
            None
        }
    };
    let misplaced = [
        (user.as_ref().map(|c| c.keyword), "a user clause"),
        (days.as_ref().map(|c| c.keyword), "a days clause"),
        (time.as_ref().map(|w| w.span), "a time clause"),
        (*log, "log"),
        (*stateless, "stateless"),
        (limit.as_ref().map(|x| x.keyword), "a limit"),
        (connlimit.as_ref().map(|x| x.keyword), "a connlimit"),
        (log_limit.as_ref().map(|x| x.keyword), "a log-limit"),
        (log_prefix.as_ref().map(|x| x.span), "a log prefix"),
        (*disabled, "disabled"),
        (mark.as_ref().map(|x| x.span), "a mark"),
        (marked.as_ref().map(|x| x.span), "a mark match"),
        (tcp_flags.as_ref().map(|x| x.keyword), "a TCP flags match"),
        (number.as_ref().map(|w| w.span), "a rule number"),
        (direction.as_ref().filter(|_| on.is_none()).map(|w| w.span), "a direction without `on`"),
    ];
    for (at, what) in misplaced {
        if let Some(at) = at {
            diags.push(diagnostics::misplaced(
                what,
                at,
                "an expectation describes new connections by addresses, service and interface",
            ));
        }
    }
    let out = Expect {
        span: *span,
        verdict: verdict?,
        src: addr_column(from.as_ref(), fw, r, diags),
        dst: addr_column(to.as_ref(), fw, r, diags),
        service: service_column(service.as_ref(), r, diags),
        iface: iface_column(on.as_deref(), fw, diags),
        direction: match direction.as_ref().map(|w| w.text.as_str()) {
            Some("in") => Direction::In,
            Some("out") => Direction::Out,
            _ => Direction::Both,
        },
        comment: comment.as_ref().map(|c| c.value.clone()),
    };
    (!diags[before..].iter().any(Diagnostic::is_error)).then_some(out)
}
