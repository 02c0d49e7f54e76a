//! Rate and connection limits: `limit`, `connlimit`, `log-limit`.

use std::collections::BTreeSet;

use rampart_diag::Diagnostic;
use rampart_ir::{ConnLimit, Limit, Rate, RateUnit};
use rampart_syntax::ast::{self, Value, Word};

use crate::{Action, Firewall, diagnostics};

/// `COUNT/UNIT`; the unit may be spelt `second`, `sec`, `s` and so on.
fn rate(w: &Word, diags: &mut Vec<Diagnostic>) -> Option<Rate> {
    let unit = |u: &str| match u {
        "second" | "sec" | "s" => Some(RateUnit::Second),
        "minute" | "min" | "m" => Some(RateUnit::Minute),
        "hour" | "h" => Some(RateUnit::Hour),
        "day" | "d" => Some(RateUnit::Day),
        _ => None,
    };
    let parsed = w.text.split_once('/').and_then(|(n, u)| {
        let count = n.parse::<u32>().ok().filter(|c| *c > 0)?;
        Some(Rate { count, unit: unit(u)? })
    });
    let Some(r) = parsed else {
        diags.push(diagnostics::bad_rate(&w.text, w.span));
        return None;
    };
    if r.unit == RateUnit::Second && r.count > Rate::MAX_PER_SECOND {
        diags.push(diagnostics::limit_out_of_range(
            "rate",
            &w.text,
            w.span,
            "at most 10000/second",
        ));
        return None;
    }
    Some(r)
}

fn count(w: &Word, what: &str, max: u32, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    match w.text.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            diags.push(diagnostics::limit_out_of_range(
                what,
                &w.text,
                w.span,
                &format!("1 to {max}"),
            ));
            None
        }
    }
}

fn burst(w: Option<&Word>, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    w.map_or(Some(Limit::DEFAULT_BURST), |w| count(w, "burst", 10_000, diags))
}

/// A rule's `limit`; a per-source one is named later by [`name_tables`].
pub(crate) fn limit(l: &ast::Limit, diags: &mut Vec<Diagnostic>) -> Option<Limit> {
    let rate = rate(&l.value, diags);
    let burst = burst(l.burst.as_ref(), diags);
    Some(Limit { rate: rate?, burst: burst?, per_source: l.per_source.map(|_| String::new()) })
}

pub(crate) fn conn_limit(l: &ast::Limit, diags: &mut Vec<Diagnostic>) -> Option<ConnLimit> {
    let upto = count(&l.value, "connection limit", 65_535, diags)?;
    Some(ConnLimit { upto, per_source: l.per_source.map(|_| String::new()) })
}

/// A log line's limit: the rule's own `log-limit` (`none`: every packet),
/// else the firewall's default.
pub(crate) fn log_limit(
    rule: &ast::Rule,
    default: Option<&Limit>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Limit> {
    match &rule.log_limit {
        // antispoof always logs
        Some(l) if rule.log.is_none() && rule.action.text != "antispoof" => {
            diags.push(diagnostics::log_limit_without_log(l.keyword.to(l.value.span)));
            None
        }
        Some(l) if l.value.text == "none" && l.burst.is_none() => None,
        Some(l) => limit(l, diags),
        None => default.cloned(),
    }
}

/// The firewall's `log-limit RATE [burst N]` (or `none`).
pub(crate) fn option(values: &[Value], diags: &mut Vec<Diagnostic>) -> Result<Option<Limit>, ()> {
    match values {
        [Value::Word(w)] if w.text == "none" => Ok(None),
        [Value::Word(r)] => limit(&plain(r, None), diags).map(Some).ok_or(()),
        [Value::Word(r), Value::Word(b), Value::Word(n)] if b.text == "burst" => {
            limit(&plain(r, Some(n)), diags).map(Some).ok_or(())
        }
        _ => Err(()),
    }
}

fn plain(value: &Word, burst: Option<&Word>) -> ast::Limit {
    ast::Limit {
        keyword: value.span,
        value: value.clone(),
        burst: burst.cloned(),
        per_source: None,
    }
}

/// Warn where a limit only narrows what a drop catches.
pub(crate) fn check(rule: &ast::Rule, action: &Action, diags: &mut Vec<Diagnostic>) {
    if matches!(action, Action::Deny | Action::Reject(_)) {
        for l in [&rule.limit, &rule.connlimit].into_iter().flatten() {
            diags.push(diagnostics::limit_on_deny(l.keyword.to(l.value.span)));
        }
    }
}

/// The longest hashlimit table name the kernel takes.
const MAX_TABLE_NAME: usize = 15;

/// Give each per-source limit its table: `rampart_N` after the rule's
/// number, `rampart_N_2` if that name is taken (numbers repeat across rule
/// sets, and a rule may have both limits). Variants of one rule share it.
pub(crate) fn name_tables(fw: &mut Firewall) {
    let mut used = BTreeSet::new();
    for rule in fw.rulesets.iter_mut().flat_map(|rs| rs.rules.iter_mut()) {
        let slots = [
            rule.limit.as_mut().and_then(|l| l.per_source.as_mut()),
            rule.conn_limit.as_mut().and_then(|c| c.per_source.as_mut()),
        ];
        for slot in slots.into_iter().flatten() {
            let base = format!("rampart_{}", rule.number);
            let name = (1..)
                .map(|i| if i == 1 { base.clone() } else { format!("{base}_{i}") })
                .find(|n| !used.contains(n))
                .filter(|n| n.len() <= MAX_TABLE_NAME)
                .unwrap_or_else(|| format!("rampart_x{}", used.len() + 1));
            used.insert(name.clone());
            *slot = name;
        }
    }
}
