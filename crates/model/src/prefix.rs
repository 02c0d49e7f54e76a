//! Log prefixes: a rule's own (`log prefix "..."`), and the checks every
//! prefix passes — length, and that the log reader can tell rules apart.

use std::collections::BTreeMap;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::origin::LogPrefix;
use rampart_syntax::ast::Text;

use crate::firewall::{MAX_LOG_PREFIX, log_prefix, rule_log_prefix};
use crate::{Action, DefaultAction, Firewall, diagnostics};

/// A rule's own prefix: a template in which `%N` is optional. Printable
/// ASCII only, without `"` or `\`, which the two backends quote apart.
pub(crate) fn own(t: &Text, diags: &mut Vec<Diagnostic>) -> Option<LogPrefix> {
    let bad = t.value.chars().find(|c| !(' '..='~').contains(c) || matches!(c, '"' | '\\'));
    if let Some(c) = bad {
        let why = format!("{} is not allowed in a log prefix", c.escape_debug());
        diags.push(diagnostics::bad_log_prefix(&t.value, t.span, &why));
        return None;
    }
    if t.value.trim().is_empty() {
        diags.push(diagnostics::bad_log_prefix(&t.value, t.span, "a log prefix needs some text"));
        return None;
    }
    LogPrefix::parse_own(&t.value)
        .map_err(|e| diags.push(diagnostics::bad_log_prefix(&t.value, t.span, &e.to_string())))
        .ok()
}

/// Every logged rule's prefix: at most 29 bytes, and — where a rule has a
/// prefix of its own — one that no other rule writes and that the
/// firewall's template does not read as another rule's.
pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    // Trimmed prefix → (rule number, where), as the log reader will see it.
    let mut seen: BTreeMap<String, (u32, Option<Span>, bool)> = BTreeMap::new();
    if fw.options.default != DefaultAction::None && fw.options.default != DefaultAction::DenyQuiet {
        let word = if fw.options.default == DefaultAction::Reject { "REJECT" } else { "DENY" };
        let p = log_prefix(&fw.options, 0, word, &fw.options.entry, "any");
        seen.insert(p.trim().to_owned(), (0, None, false));
    }
    for rs in &fw.rulesets {
        for rule in rs.rules.iter().filter(|r| r.log || matches!(r.action, Action::Antispoof(_))) {
            let p = rule_log_prefix(&fw.options, rule, &rs.name);
            if p.len() > MAX_LOG_PREFIX {
                diags.push(diagnostics::log_prefix_too_long(&p, rule.number, rule.span));
            }
            let own = rule.log_prefix.is_some();
            let key = p.trim().to_owned();
            if own
                && let Some(m) =
                    fw.options.log_prefix.matches(&key).filter(|m| m.rule != rule.number)
            {
                diags.push(diagnostics::log_prefix_taken(&key, rule.span, m.rule, None));
                continue;
            }
            match seen.get(&key) {
                // two rules of one number may share the template's prefix
                Some(&(n, span, other_own))
                    if (own || other_own) && (n, span) != (rule.number, Some(rule.span)) =>
                {
                    diags.push(diagnostics::log_prefix_taken(&key, rule.span, n, span));
                }
                Some(_) => {}
                None => {
                    seen.insert(key, (rule.number, Some(rule.span), own));
                }
            }
        }
    }
}
