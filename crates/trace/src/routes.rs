//! The route type of an address (`-m addrtype`, nft `fib … type`), from what
//! is known of the host's local routing table.
//!
//! The kernel looks IPv4 addresses up in the `local` table only: an address
//! found there is LOCAL or BROADCAST (or what else the table says), any other
//! is UNICAST. IPv6 does a full route lookup, so an IPv6 address that is not
//! local is left unknown here.

use std::net::IpAddr;

use ipnet::IpNet;
use rampart_ir::AddrTypes;

use crate::packet::{Hook, Packet};

/// Entries of the host's local routing table, or nothing known.
#[derive(Clone, Debug, Default)]
pub struct LocalTable {
    /// `None`: the host's addresses are not known.
    entries: Option<Vec<(IpNet, AddrTypes)>>,
}

impl LocalTable {
    /// A table of exact entries, as `ip route show table local` lists them.
    #[must_use]
    pub fn from_entries(entries: Vec<(IpNet, AddrTypes)>) -> Self {
        Self { entries: Some(entries) }
    }

    /// The table the kernel builds for these interface addresses (and an
    /// up loopback): each address LOCAL, each IPv4 subnet's last address
    /// BROADCAST.
    #[must_use]
    pub fn from_addresses(addrs: &[IpNet]) -> Self {
        let mut entries: Vec<(IpNet, AddrTypes)> = vec![
            (IpNet::new(IpAddr::from([127, 0, 0, 0]), 8).expect("valid"), AddrTypes::LOCAL),
            (IpNet::from(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)), AddrTypes::LOCAL),
        ];
        for a in addrs {
            entries.push((IpNet::from(a.addr()), AddrTypes::LOCAL));
            if let IpNet::V4(n) = a
                && n.prefix_len() < 31
            {
                entries.push((IpNet::from(IpAddr::V4(n.broadcast())), AddrTypes::BROADCAST));
            }
        }
        Self::from_entries(entries)
    }

    /// The route type of `addr`, or `None` when it cannot be known.
    /// `ours` says the packet's hook makes the address one of this host's
    /// (the destination on input, the source on output): without a table,
    /// such an address counts as LOCAL.
    #[must_use]
    pub fn route_type(&self, addr: IpAddr, ours: bool) -> Option<AddrTypes> {
        match addr {
            IpAddr::V4(a) if a.is_multicast() => return Some(AddrTypes::MULTICAST),
            IpAddr::V4(a) if a.is_broadcast() || a.octets()[0] == 0 => {
                return Some(AddrTypes::BROADCAST);
            }
            IpAddr::V6(a) if a.is_multicast() => return Some(AddrTypes::MULTICAST),
            _ => {}
        }
        let Some(entries) = &self.entries else {
            return ours.then_some(AddrTypes::LOCAL);
        };
        let best =
            entries.iter().filter(|(n, _)| n.contains(&addr)).max_by_key(|(n, _)| n.prefix_len());
        match (best, addr) {
            (Some((_, t)), _) => Some(*t),
            (None, IpAddr::V4(_)) => Some(AddrTypes::UNICAST),
            (None, IpAddr::V6(_)) => None,
        }
    }

    /// Sets the packet's `src_type` and `dst_type` from its addresses.
    pub fn classify(&self, p: &mut Packet) {
        p.src_type = p.src.and_then(|a| self.route_type(a, p.hook == Hook::Output));
        p.dst_type = p.dst.and_then(|a| self.route_type(a, p.hook == Hook::Input));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn known_addresses_are_local_or_broadcast_and_the_rest_unicast() {
        let t = LocalTable::from_addresses(&["10.5.0.1/24".parse().unwrap()]);
        assert_eq!(t.route_type(ip("10.5.0.1"), false), Some(AddrTypes::LOCAL));
        assert_eq!(t.route_type(ip("10.5.0.255"), true), Some(AddrTypes::BROADCAST));
        assert_eq!(t.route_type(ip("10.5.0.7"), true), Some(AddrTypes::UNICAST));
        assert_eq!(t.route_type(ip("127.0.0.53"), false), Some(AddrTypes::LOCAL));
        assert_eq!(t.route_type(ip("224.0.0.251"), false), Some(AddrTypes::MULTICAST));
        assert_eq!(t.route_type(ip("255.255.255.255"), false), Some(AddrTypes::BROADCAST));
        assert_eq!(t.route_type(ip("2001:db8::1"), true), None, "IPv6 needs a route lookup");
    }

    #[test]
    fn without_a_table_only_the_hook_says_an_address_is_ours() {
        let t = LocalTable::default();
        assert_eq!(t.route_type(ip("192.0.2.1"), true), Some(AddrTypes::LOCAL));
        assert_eq!(t.route_type(ip("192.0.2.1"), false), None);
        assert_eq!(t.route_type(ip("ff02::1"), false), Some(AddrTypes::MULTICAST));
    }
}
