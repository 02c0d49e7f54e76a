//! Service clauses (`tcp 80, 443`, `udp sport 68 dport 67`, `icmp 8/0`,
//! `proto 47`, `any`, `tcp any`) into protocol atoms.

use rampart_diag::Diagnostic;
use rampart_ir::{PortRange, Proto, icmp};
use rampart_syntax::ast::{ServiceClause, Word};

use crate::{ServiceAtom, diagnostics};

pub(crate) fn atoms(
    name: &str,
    clauses: &[ServiceClause],
    diags: &mut Vec<Diagnostic>,
) -> Vec<ServiceAtom> {
    let mut out = Vec::new();
    every_protocol_alone(clauses, diags);
    for c in clauses {
        let base = ServiceAtom {
            name: Some(name.to_owned()),
            proto: None,
            sports: vec![],
            dports: vec![],
            icmp: None,
        };
        match c.proto.text.as_str() {
            "tcp" | "udp" => {
                let proto = if c.proto.text == "tcp" { Proto::Tcp } else { Proto::Udp };
                let sports = ports(&c.proto, &c.sports, diags);
                let dports = ports(&c.proto, &c.dports, diags);
                out.push(ServiceAtom { proto: Some(proto), sports, dports, ..base });
            }
            "icmp" | "icmpv6" => {
                let v6 = c.proto.text == "icmpv6";
                let proto = Some(if v6 { Proto::Icmpv6 } else { Proto::Icmp });
                no_sports(c, diags);
                any_alone(&c.proto, &c.dports, diags);
                // `icmp any` is the protocol without a type, as `icmp` alone
                let types: Vec<&Word> = c.dports.iter().filter(|w| w.text != "any").collect();
                if types.is_empty() {
                    out.push(ServiceAtom { proto, ..base.clone() });
                }
                for w in types {
                    match icmp::parse(&w.text, v6) {
                        Some(m) => out.push(ServiceAtom { proto, icmp: Some(m), ..base.clone() }),
                        None => diags.push(diagnostics::bad_icmp(&w.text, w.span)),
                    }
                }
            }
            "proto" => {
                no_sports(c, diags);
                match c.dports.as_slice() {
                    [w] => match w.text.parse::<u8>() {
                        Ok(n) => {
                            out.push(ServiceAtom { proto: Some(Proto::from_number(n)), ..base })
                        }
                        Err(_) => diags.push(diagnostics::bad_number(
                            "IP protocol number (0–255)",
                            &w.text,
                            w.span,
                        )),
                    },
                    _ => diags.push(diagnostics::bad_number(
                        "single IP protocol number",
                        "",
                        c.proto.span,
                    )),
                }
            }
            // `any` / `ip`: every protocol
            _ => {
                no_sports(c, diags);
                if let Some(w) = c.dports.first() {
                    diags.push(diagnostics::misplaced("a port", w.span, "`any` takes no ports"));
                }
                out.push(base);
            }
        }
    }
    out
}

fn no_sports(c: &ServiceClause, diags: &mut Vec<Diagnostic>) {
    if let Some(w) = c.sports.first() {
        diags.push(diagnostics::misplaced("a source port", w.span, "only tcp and udp have ports"));
    }
}

/// A clause of every protocol (`any`, `ip`) beside others would widen the
/// service to everything, whatever the others say.
fn every_protocol_alone(clauses: &[ServiceClause], diags: &mut Vec<Diagnostic>) {
    if clauses.len() < 2 {
        return;
    }
    for c in clauses {
        if matches!(c.proto.text.as_str(), "any" | "ip") {
            diags.push(diagnostics::every_protocol_not_alone(&c.proto.text, c.proto.span));
        }
    }
}

/// `any` is every port or type of the protocol on its own; beside other
/// values it is a mistake whichever was meant.
fn any_alone(proto: &Word, words: &[Word], diags: &mut Vec<Diagnostic>) {
    if words.len() < 2 {
        return;
    }
    if let Some(w) = words.iter().find(|w| w.text == "any") {
        diags.push(diagnostics::any_beside_values(&format!("values of `{}`", proto.text), w.span));
    }
}

/// Empty for `any` (every port).
fn ports(proto: &Word, words: &[Word], diags: &mut Vec<Diagnostic>) -> Vec<PortRange> {
    any_alone(proto, words, diags);
    let mut out = Vec::new();
    for w in words.iter().filter(|w| w.text != "any") {
        match parse_port_range(&w.text) {
            Some(r) => out.push(r),
            None => diags.push(diagnostics::bad_port(&w.text, w.span)),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `22`, `20001-20010` or `20001:20010`.
pub(crate) fn parse_port_range(text: &str) -> Option<PortRange> {
    let (a, b) = text.split_once(['-', ':']).unwrap_or((text, text));
    let (a, b) = (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?);
    (a <= b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("22"), Some((22, 22)));
        assert_eq!(parse_port_range("20001-20010"), Some((20001, 20010)));
        assert_eq!(parse_port_range("1:2"), Some((1, 2)));
        assert_eq!(parse_port_range("65536"), None);
        assert_eq!(parse_port_range("9-1"), None);
        assert_eq!(parse_port_range("http"), None);
    }
}
