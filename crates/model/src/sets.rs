//! `set NAME ipv4|ipv6 [timeout DURATION] [size N]`: a set of addresses
//! filled at run time, not by the policy. A rule names it as an address
//! (`deny from blocklist log`); its elements never reach the ruleset.

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{DynSet, Family};
use rampart_syntax::ast::{Column, Word};

use crate::resolve::{Resolved, Resolver};
use crate::{AddrColumn, Firewall, diagnostics};

/// The largest timeout ipset and nft take (ipset: 2^31/1000 seconds).
const MAX_TIMEOUT: u32 = 2_147_483;

pub(crate) fn declare(name: &Word, words: &[Word], diags: &mut Vec<Diagnostic>) -> Resolved {
    // ipset's limit; nft's is longer.
    if name.text.len() > 31
        || !name.text.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        diags.push(diagnostics::bad_set(
            name.span,
            "a set's name is a letter, then letters, digits or `_`, at most 31 in all \
             (it is the ipset's and the nft set's name)",
        ));
        return Resolved::Invalid;
    }
    let family = match words.first().map(|w| w.text.as_str()) {
        Some("ipv4") => Family::V4,
        Some("ipv6") => Family::V6,
        _ => {
            let span = words.first().map_or(name.span, |w| w.span);
            diags.push(diagnostics::bad_set(span, "write the family: `set NAME ipv4` or `ipv6`"));
            return Resolved::Invalid;
        }
    };
    let mut set = DynSet { name: name.text.clone(), family, timeout: None, size: None };
    let mut rest = &words[1..];
    while let [key, tail @ ..] = rest {
        let Some((value, tail)) = tail.split_first() else {
            diags.push(diagnostics::bad_set(key.span, "expected `timeout DURATION` or `size N`"));
            return Resolved::Invalid;
        };
        let parsed = match key.text.as_str() {
            "timeout" if set.timeout.is_none() => duration(&value.text)
                .map(|t| set.timeout = Some(t))
                .ok_or("a duration from 1s to 24d: 3600, 90s, 30m, 1h, 7d"),
            "size" if set.size.is_none() => value
                .text
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| set.size = Some(n))
                .ok_or("a number of elements from 1"),
            _ => Err("expected `timeout DURATION` or `size N`, each once"),
        };
        if let Err(why) = parsed {
            diags.push(diagnostics::bad_set(key.span.to(value.span), why));
            return Resolved::Invalid;
        }
        rest = tail;
    }
    Resolved::DynamicSet(set)
}

/// Seconds: `3600`, `90s`, `30m`, `1h`, `7d`.
fn duration(text: &str) -> Option<u32> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    let n: u32 = digits.parse().ok()?;
    n.checked_mul(scale).filter(|t| (1..=MAX_TIMEOUT).contains(t))
}

/// A column naming a run-time set names nothing else.
pub(crate) fn alone(items: &[Word], set: &Word, diags: &mut Vec<Diagnostic>) -> bool {
    if items.len() == 1 {
        return true;
    }
    let span: Span = items.first().map_or(set.span, |w| w.span.to(items[items.len() - 1].span));
    diags.push(diagnostics::set_beside_addresses(&set.text, span));
    false
}

/// NAT translates the first packet of a connection once; a set that
/// changes afterwards would not change the translation, so NAT rules take
/// no run-time set.
pub(crate) fn not_in_nat(
    c: Option<&Column>,
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> AddrColumn {
    let col = crate::firewall::addr_column(c, fw, r, diags);
    if let (Some(s), Some(c)) = (&col.dynamic, c) {
        diags.push(diagnostics::set_in_nat(&s.name, c.keyword.to(c.items[c.items.len() - 1].span)));
        return AddrColumn::default();
    }
    col
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::duration("1h"), Some(3600));
        assert_eq!(super::duration("90"), Some(90));
        assert_eq!(super::duration("7d"), Some(604_800));
        assert_eq!(super::duration("0s"), None);
        assert_eq!(super::duration("1w"), None);
        assert_eq!(super::duration("99999999d"), None);
    }
}
