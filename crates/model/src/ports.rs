//! Bridge ports and bridges in a rule's `on` column: which rules can say
//! them, and what a port cannot match (the firewall's own packets leaving
//! through a port: OUTPUT only knows the bridge).

use rampart_diag::Diagnostic;
use rampart_syntax::ast::{self, Word};

use crate::{Direction, Firewall, Rule, diagnostics};

/// Whether `name` is a bridge of this firewall or a port of one: both may
/// stand in an `on` column without an `interface` line.
pub(crate) fn is_bridge_name(fw: &Firewall, name: &str) -> bool {
    fw.bridges.iter().any(|b| b.name == name) || fw.bridge_port(name).is_some()
}

/// Checks of a filter rule whose `on` column names bridge ports.
pub(crate) fn check_rule(rule: &Rule, ast: &ast::Rule, fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    let Some(col) = &ast.on else { return };
    let Some(port) = col.items.iter().find(|w| fw.port_of(&w.text).is_some()) else { return };
    if rule.iface.neg && rule.direction != Direction::In {
        // `! --physdev-out` needs `--physdev-is-bridged`, which would leave
        // routed packets out of the negation.
        diags.push(diagnostics::negated_port_out(&port.text, col.not.unwrap_or(port.span)));
        return;
    }
    let src = &rule.src;
    let own = fw.own_addresses();
    let may_be_firewall =
        src.neg || src.is_any() || src.firewall || own.iter().any(|a| src.set.items.contains(a));
    if !rule.iface.neg && rule.direction != Direction::In && may_be_firewall {
        let bridge = fw.port_of(&port.text).unwrap_or_default();
        diags.push(diagnostics::port_misses_own_packets(&port.text, bridge, port.span));
    }
}

/// An `on` column of a NAT rule or an `antispoof` naming a bridge port.
pub(crate) fn refuse(w: &Word, what: &str, fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    if let Some(bridge) = fw.port_of(&w.text) {
        diags.push(diagnostics::port_not_here(&w.text, bridge, what, w.span));
    }
}

impl Firewall {
    /// The bridge `name` is a port of.
    #[must_use]
    pub fn port_of(&self, name: &str) -> Option<&str> {
        self.bridge_port(name).map(|(b, _)| b.name.as_str())
    }
}
