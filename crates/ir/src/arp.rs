//! An ARP guard on a bridge port: ARP entering it must name one of these
//! senders. Kept beside the IP rulesets because iptables has no ARP
//! matches; the nftables backend writes it as a bridge-family table.

use std::net::Ipv4Addr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArpGuard {
    pub port: String,
    /// Allowed sender IPv4 addresses.
    pub addrs: Vec<Ipv4Addr>,
    /// Allowed sender MAC, when known (`aa:bb:cc:dd:ee:ff`).
    pub mac: Option<String>,
}
