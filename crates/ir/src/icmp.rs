//! ICMP and ICMPv6 type names as iptables knows them.

use crate::IcmpMatch;

const V4: &[(&str, IcmpMatch)] = {
    use IcmpMatch::{Type as T, TypeCode as C};
    &[
        ("echo-reply", T(0)),
        ("pong", T(0)),
        ("destination-unreachable", T(3)),
        ("network-unreachable", C(3, 0)),
        ("host-unreachable", C(3, 1)),
        ("protocol-unreachable", C(3, 2)),
        ("port-unreachable", C(3, 3)),
        ("fragmentation-needed", C(3, 4)),
        ("source-route-failed", C(3, 5)),
        ("network-unknown", C(3, 6)),
        ("host-unknown", C(3, 7)),
        ("network-prohibited", C(3, 9)),
        ("host-prohibited", C(3, 10)),
        ("TOS-network-unreachable", C(3, 11)),
        ("TOS-host-unreachable", C(3, 12)),
        ("communication-prohibited", C(3, 13)),
        ("host-precedence-violation", C(3, 14)),
        ("precedence-cutoff", C(3, 15)),
        ("source-quench", T(4)),
        ("redirect", T(5)),
        ("network-redirect", C(5, 0)),
        ("host-redirect", C(5, 1)),
        ("TOS-network-redirect", C(5, 2)),
        ("TOS-host-redirect", C(5, 3)),
        ("echo-request", T(8)),
        ("ping", T(8)),
        ("router-advertisement", T(9)),
        ("router-solicitation", T(10)),
        ("time-exceeded", T(11)),
        ("ttl-exceeded", T(11)),
        ("ttl-zero-during-transit", C(11, 0)),
        ("ttl-zero-during-reassembly", C(11, 1)),
        ("parameter-problem", T(12)),
        ("ip-header-bad", C(12, 0)),
        ("required-option-missing", C(12, 1)),
        ("timestamp-request", T(13)),
        ("timestamp-reply", T(14)),
        ("address-mask-request", T(17)),
        ("address-mask-reply", T(18)),
    ]
};

const V6: &[(&str, IcmpMatch)] = {
    use IcmpMatch::{Type as T, TypeCode as C};
    &[
        ("destination-unreachable", T(1)),
        ("no-route", C(1, 0)),
        ("communication-prohibited", C(1, 1)),
        ("beyond-scope", C(1, 2)),
        ("address-unreachable", C(1, 3)),
        ("port-unreachable", C(1, 4)),
        ("failed-policy", C(1, 5)),
        ("reject-route", C(1, 6)),
        ("packet-too-big", T(2)),
        ("time-exceeded", T(3)),
        ("ttl-exceeded", T(3)),
        ("ttl-zero-during-transit", C(3, 0)),
        ("ttl-zero-during-reassembly", C(3, 1)),
        ("parameter-problem", T(4)),
        ("bad-header", C(4, 0)),
        ("unknown-header-type", C(4, 1)),
        ("unknown-option", C(4, 2)),
        ("echo-request", T(128)),
        ("ping", T(128)),
        ("echo-reply", T(129)),
        ("pong", T(129)),
        ("mld-listener-query", T(130)),
        ("mld-listener-report", T(131)),
        ("mld-listener-done", T(132)),
        ("router-solicitation", T(133)),
        ("router-advertisement", T(134)),
        ("neighbour-solicitation", T(135)),
        ("neighbor-solicitation", T(135)),
        ("neighbour-advertisement", T(136)),
        ("neighbor-advertisement", T(136)),
        ("redirect", T(137)),
    ]
};

/// Parse `any`, a name (`echo-request`), or numbers (`8`, `8/0`).
#[must_use]
pub fn parse(s: &str, v6: bool) -> Option<IcmpMatch> {
    if s == "any" {
        return Some(IcmpMatch::Any);
    }
    if let Some((t, c)) = s.split_once('/') {
        return Some(IcmpMatch::TypeCode(t.parse().ok()?, c.parse().ok()?));
    }
    if let Ok(t) = s.parse() {
        return Some(IcmpMatch::Type(t));
    }
    let table = if v6 { V6 } else { V4 };
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)).map(|(_, m)| *m)
}

/// Does an ICMP packet of this type and code match?
#[must_use]
pub fn matches(m: IcmpMatch, typ: u8, code: u8) -> bool {
    match m {
        IcmpMatch::Any => true,
        IcmpMatch::Type(t) => t == typ,
        IcmpMatch::TypeCode(t, c) => t == typ && c == code,
    }
}

/// The form iptables-save prints: `8`, `11/1` or `any`.
#[must_use]
pub fn format(m: IcmpMatch) -> String {
    match m {
        IcmpMatch::Any => "any".into(),
        IcmpMatch::Type(t) => t.to_string(),
        IcmpMatch::TypeCode(t, c) => format!("{t}/{c}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("echo-request", false), Some(IcmpMatch::Type(8)));
        assert_eq!(parse("echo-request", true), Some(IcmpMatch::Type(128)));
        assert_eq!(parse("11/1", false), Some(IcmpMatch::TypeCode(11, 1)));
        assert_eq!(parse("port-unreachable", false), Some(IcmpMatch::TypeCode(3, 3)));
        assert_eq!(parse("bogus", false), None);
        assert_eq!(parse("300", false), None);
        assert!(matches(IcmpMatch::Type(3), 3, 13));
        assert!(!matches(IcmpMatch::TypeCode(3, 3), 3, 13));
    }
}
