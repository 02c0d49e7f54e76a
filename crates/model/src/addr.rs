//! Address words: `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, `2001:db8::/32`,
//! `10.0.0.1-10.0.0.9`.

use std::net::IpAddr;

use ipnet::IpNet;
use rampart_diag::{Diagnostic, Span};
use rampart_ir::AddrItem;

use crate::diagnostics;

/// Does this word look like an address literal rather than a name?
pub(crate) fn is_literal(text: &str) -> bool {
    text.contains(':') || text.chars().next().is_some_and(|c| c.is_ascii_digit())
}

pub(crate) fn parse_addr(text: &str, span: Span) -> Result<IpAddr, Diagnostic> {
    text.parse().map_err(|_| diagnostics::bad_address(text, span))
}

/// A network; host bits must be zero.
pub(crate) fn parse_net(text: &str, span: Span) -> Result<IpNet, Diagnostic> {
    let Some((addr, len)) = text.split_once('/') else {
        return Err(diagnostics::bad_network(text, span, "missing `/LENGTH`"));
    };
    let ip = parse_addr(addr, span)?;
    let len = prefix_len(ip, len)
        .ok_or_else(|| diagnostics::bad_network(text, span, "bad prefix length or mask"))?;
    let net = IpNet::new(ip, len)
        .map_err(|_| diagnostics::bad_network(text, span, "prefix length too long"))?;
    if net.trunc() != net {
        return Err(diagnostics::bad_network(
            text,
            span,
            &format!("host bits are set; did you mean {}?", net.trunc()),
        ));
    }
    Ok(net)
}

/// Prefix length from `24` or from a dotted mask such as `255.255.255.0`.
fn prefix_len(ip: IpAddr, len: &str) -> Option<u8> {
    if let Ok(n) = len.parse::<u8>() {
        return Some(n);
    }
    match (ip, len.parse::<IpAddr>().ok()?) {
        (IpAddr::V4(_), IpAddr::V4(mask)) => {
            let bits = u32::from(mask);
            (bits.leading_ones() + bits.trailing_zeros() == 32)
                .then(|| u8::try_from(bits.leading_ones()).unwrap_or(32))
        }
        _ => None,
    }
}

/// An interface address with its prefix (`192.168.2.22/24`); a bare address
/// is a host address.
pub(crate) fn parse_iface_addr(text: &str, span: Span) -> Result<IpNet, Diagnostic> {
    match text.split_once('/') {
        Some((addr, len)) => {
            let ip = parse_addr(addr, span)?;
            let len = prefix_len(ip, len)
                .ok_or_else(|| diagnostics::bad_network(text, span, "bad prefix length or mask"))?;
            IpNet::new(ip, len)
                .map_err(|_| diagnostics::bad_network(text, span, "prefix length too long"))
        }
        None => Ok(IpNet::from(parse_addr(text, span)?)),
    }
}

/// Any address literal usable in a rule or group.
pub(crate) fn parse_item(text: &str, span: Span) -> Result<AddrItem, Diagnostic> {
    if text.contains('/') {
        return parse_net(text, span).map(AddrItem::Net);
    }
    if let Some((a, b)) = text.split_once('-') {
        return parse_range(a, b, span);
    }
    parse_addr(text, span).map(|ip| AddrItem::Net(IpNet::from(ip)))
}

pub(crate) fn parse_range(a: &str, b: &str, span: Span) -> Result<AddrItem, Diagnostic> {
    let first = parse_addr(a, span)?;
    let last = parse_addr(b, span)?;
    if first.is_ipv4() != last.is_ipv4() || first > last {
        return Err(diagnostics::bad_range(a, b, span));
    }
    Ok(AddrItem::Range(first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(s: &str) -> Result<AddrItem, &'static str> {
        parse_item(s, Span::default()).map_err(|d| d.code)
    }

    #[test]
    fn literals() {
        assert_eq!(item("10.0.0.0/255.0.0.0"), Ok(AddrItem::Net("10.0.0.0/8".parse().unwrap())));
        assert_eq!(item("10.0.0.1"), Ok(AddrItem::Net("10.0.0.1/32".parse().unwrap())));
        assert_eq!(item("2001:db8::/32"), Ok(AddrItem::Net("2001:db8::/32".parse().unwrap())));
        assert_eq!(item("10.0.0.1/24"), Err("E0205"));
        assert_eq!(item("10.0.0.0/33"), Err("E0205"));
        assert_eq!(item("10.0.0.0/255.0.255.0"), Err("E0205"));
        assert_eq!(item("10.0.0.300"), Err("E0204"));
        assert_eq!(item("10.0.0.9-10.0.0.1"), Err("E0280"));
        assert!(is_literal("::1") && is_literal("10.0.0.1") && !is_literal("web1"));
    }
}
