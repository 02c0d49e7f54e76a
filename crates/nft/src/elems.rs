//! Set elements in canonical form: sorted, merged, never overlapping.
//!
//! nft refuses overlapping intervals in a set and prints merged ones back,
//! so elements are merged here; the output is then the same for equal sets
//! however the policy spelt them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use rampart_ir::{AddrItem, Family, PortRange};

/// Elements as nft prints them, and whether the set needs `flags interval`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Elems {
    pub(crate) items: Vec<String>,
    pub(crate) interval: bool,
    /// The items as numbers, first to last (empty for interface names).
    pub(crate) ranges: Vec<(u128, u128)>,
}

/// The items of one family, e.g. `10.0.0.0/8`, `10.1.0.1-10.1.0.9`.
pub(crate) fn addrs(items: &[AddrItem], family: Family) -> Elems {
    let bits = match family {
        Family::V4 => 32,
        Family::V6 => 128,
    };
    let ranges = items.iter().filter(|i| i.family() == family).map(|i| bounds(*i)).collect();
    let merged = merge(ranges);
    let interval = merged.iter().any(|&(a, b)| a != b);
    let items = merged.iter().map(|&(a, b)| addr_range(a, b, bits)).collect();
    Elems { items, interval, ranges: merged }
}

/// Ports as `22` or `1024-65535`.
pub(crate) fn ports(ranges: &[PortRange]) -> Elems {
    let merged =
        merge(ranges.iter().map(|&(a, b)| (u128::from(a.min(b)), u128::from(a.max(b)))).collect());
    let interval = merged.iter().any(|&(a, b)| a != b);
    let items = merged
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    Elems { items, interval, ranges: merged }
}

pub(crate) fn bounds(item: AddrItem) -> (u128, u128) {
    match item {
        AddrItem::Net(n) => {
            let n = n.trunc();
            (to_bits(n.network()), to_bits(n.broadcast()))
        }
        AddrItem::Range(a, b) => {
            let (a, b) = (to_bits(a), to_bits(b));
            (a.min(b), a.max(b))
        }
    }
}

fn to_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_bits()),
        IpAddr::V6(a) => a.to_bits(),
    }
}

fn from_bits(x: u128, bits: u8) -> IpAddr {
    if bits == 32 {
        IpAddr::V4(Ipv4Addr::from_bits(u32::try_from(x).unwrap_or(u32::MAX)))
    } else {
        IpAddr::V6(Ipv6Addr::from_bits(x))
    }
}

/// Sort and join overlapping or adjacent ranges.
fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// `a`, `a/len` when the range is exactly a prefix, else `a-b`.
fn addr_range(a: u128, b: u128, bits: u8) -> String {
    let first = from_bits(a, bits);
    if a == b {
        return first.to_string();
    }
    let span = b - a;
    // A prefix: the span is 2^k - 1 and `a` is aligned to it.
    if span.checked_add(1).is_none_or(u128::is_power_of_two) && a & span == 0 {
        let host_bits = 128 - span.leading_zeros();
        let len = bits - u8::try_from(host_bits).unwrap_or(bits);
        if let Ok(net) = IpNet::new(first, len) {
            return net.to_string();
        }
    }
    format!("{first}-{}", from_bits(b, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> AddrItem {
        AddrItem::Net(s.parse().unwrap())
    }

    #[test]
    fn merges_and_prints_prefixes() {
        let items = [
            net("10.1.2.3/32"),
            net("10.0.0.0/8"),
            net("192.168.1.0/25"),
            net("192.168.1.128/25"),
            AddrItem::Range("172.16.0.1".parse().unwrap(), "172.16.0.9".parse().unwrap()),
            net("2001:db8::/32"),
        ];
        let e = addrs(&items, Family::V4);
        assert_eq!(e.items, ["10.0.0.0/8", "172.16.0.1-172.16.0.9", "192.168.1.0/24"]);
        assert!(e.interval);
        assert_eq!(addrs(&items, Family::V6).items, ["2001:db8::/32"]);
        assert_eq!(addrs(&[net("0.0.0.0/0")], Family::V4).items, ["0.0.0.0/0"]);
        assert_eq!(addrs(&[net("::/0")], Family::V6).items, ["::/0"]);
        let hosts = addrs(&[net("10.0.0.2/32"), net("10.0.0.1/32")], Family::V4);
        assert_eq!(hosts.items, ["10.0.0.1-10.0.0.2"]);
        let hosts = addrs(&[net("10.0.0.3/32"), net("10.0.0.1/32")], Family::V4);
        assert_eq!(
            hosts,
            Elems {
                items: vec!["10.0.0.1".into(), "10.0.0.3".into()],
                interval: false,
                ranges: vec![(0x0a00_0001, 0x0a00_0001), (0x0a00_0003, 0x0a00_0003)]
            }
        );
    }

    #[test]
    fn ports_merge() {
        let e = ports(&[(443, 443), (80, 80), (8000, 8080), (8080, 8090), (81, 81)]);
        assert_eq!(e.items, ["80-81", "443", "8000-8090"]);
        assert!(e.interval);
    }
}
