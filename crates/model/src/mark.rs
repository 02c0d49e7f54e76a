//! Marks and TCP flags: `mark N` (an action, or beside another one),
//! `marked N`, `tcp-flags syn, no-ack`.

use rampart_diag::Diagnostic;
use rampart_ir::MarkSet;
use rampart_syntax::ast::{self, Column, Word};

use crate::{AddrColumn, Direction, diagnostics};

fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `VALUE[/MASK]`: the value and the bits it covers (all without a mask).
pub(crate) fn value(w: &Word, diags: &mut Vec<Diagnostic>) -> Option<(u32, u32)> {
    let parsed = match w.text.split_once('/') {
        Some((v, m)) => number(v).zip(number(m)).filter(|(v, m)| v & !m == 0),
        None => number(&w.text).map(|v| (v, u32::MAX)),
    };
    if parsed.is_none() {
        diags.push(diagnostics::bad_mark(&w.text, w.span));
    }
    parsed
}

/// A mark to set: the masked bits become the value, the others stay.
pub(crate) fn set(w: &Word, diags: &mut Vec<Diagnostic>) -> Option<MarkSet> {
    value(w, diags).map(|(xor, mask)| MarkSet { mask, xor })
}

/// `syn, no-ack`: (flags looked at, flags that must be set).
pub(crate) fn tcp_flags(c: &Column, diags: &mut Vec<Diagnostic>) -> Option<(u8, u8)> {
    const NAMES: [&str; 8] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"];
    let (mut mask, mut comp, mut ok) = (0u8, 0u8, true);
    for w in &c.items {
        let (clear, name) =
            w.text.strip_prefix("no-").map_or((false, w.text.as_str()), |n| (true, n));
        match NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) {
            Some(i) => {
                mask |= 1 << i;
                if !clear {
                    comp |= 1 << i;
                }
            }
            None => {
                diags.push(diagnostics::bad_tcp_flag(&w.text, w.span));
                ok = false;
            }
        }
    }
    ok.then_some((mask, comp))
}

/// Where a mark is set: before routing, so only on what arrives (no
/// outgoing interface) and only from the entry rule set.
pub(crate) fn check(
    rule: &ast::Rule,
    sets_mark: bool,
    direction: Direction,
    src: &AddrColumn,
    entry: bool,
    diags: &mut Vec<Diagnostic>,
) {
    if !sets_mark {
        return;
    }
    let arriving = rule.on.is_some() && direction == Direction::In;
    let own = src.is_any() || src.firewall || src.neg;
    if !entry {
        diags.push(diagnostics::mark_misplaced(
            rule.span,
            "this rule set is branched to; marks are set before any branch is taken",
        ));
    } else if rule.on.is_some() && direction != Direction::In {
        diags.push(diagnostics::mark_misplaced(
            rule.span,
            "the outgoing interface is only known after routing: write `on IFACE in`",
        ));
    } else if own && !arriving {
        diags.push(diagnostics::mark_misplaced(
            rule.span,
            "this rule would also match the firewall's own packets, which are not marked: \
             give a `from` that is not the firewall, or `on IFACE in`",
        ));
    }
}
