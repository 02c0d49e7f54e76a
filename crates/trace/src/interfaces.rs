//! The firewall's interfaces as routing sees them: the one answer to
//! "which interface does this address lie behind", for the routed trace
//! (`--hook all`), masquerade and redirect, and the analysis's packets
//! (`expect`, the matrix).
//!
//! Each network lies behind the interface that holds it (the longest
//! prefix); every other address behind the `dynamic` interfaces and those
//! without an address (or, if there are none, behind any interface but
//! the loopback).

use std::net::IpAddr;

use ipnet::IpNet;

/// The firewall's interfaces: name, configured addresses (with their
/// prefix), whether the address is assigned at run time (DHCP, PPP), and
/// whether it is the loopback.
#[derive(Clone, Debug, Default)]
pub struct Interfaces {
    list: Vec<Interface>,
}

#[derive(Clone, Debug)]
struct Interface {
    name: String,
    addrs: Vec<IpNet>,
    dynamic: bool,
    loopback: bool,
}

impl Interfaces {
    /// No interfaces known (a ruleset read from a file): every route must
    /// be named, and masquerade's address is not given.
    #[must_use]
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Adds an interface, in the order the policy declares them.
    pub fn add(&mut self, name: &str, addrs: Vec<IpNet>, dynamic: bool) {
        self.list.push(Interface { name: name.to_owned(), addrs, dynamic, loopback: false });
    }

    /// Adds the loopback: its addresses are the firewall's own, but no
    /// other address lies behind it.
    pub fn add_loopback(&mut self, name: &str, addrs: Vec<IpNet>) {
        self.list.push(Interface { name: name.to_owned(), addrs, dynamic: false, loopback: true });
    }

    fn real(&self) -> impl Iterator<Item = &Interface> {
        self.list.iter().filter(|i| !i.loopback)
    }

    /// The names of the interfaces but the loopback, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.real().map(|i| i.name.as_str())
    }

    /// The networks of the interfaces but the loopback.
    pub fn networks(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.real().flat_map(|i| i.addrs.iter().map(IpNet::trunc))
    }

    /// Every address of the firewall's own, the loopback's included.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.list.iter().flat_map(|i| i.addrs.iter().map(IpNet::addr))
    }

    /// Whether `a` is one of the firewall's own (configured) addresses.
    #[must_use]
    pub fn own(&self, a: IpAddr) -> bool {
        self.addresses().any(|x| x == a)
    }

    /// Whether a packet to `a` is delivered here: a loopback address or
    /// one of the firewall's own.
    #[must_use]
    pub fn local(&self, a: IpAddr) -> bool {
        a.is_loopback() || self.own(a)
    }

    /// The first address of `iface` in the packet's family: the one
    /// masquerade puts as the source and redirect as the destination.
    #[must_use]
    pub fn address(&self, iface: &str, v6: bool) -> Option<IpAddr> {
        let i = self.list.iter().find(|i| i.name == iface)?;
        i.addrs.iter().map(IpNet::addr).find(|a| a.is_ipv6() == v6)
    }

    /// The address the firewall sends from by `out`: its own there, else
    /// its first in the family.
    #[must_use]
    pub fn source(&self, out: &str, v6: bool) -> Option<IpAddr> {
        self.address(out, v6).or_else(|| self.addresses().find(|a| a.is_ipv6() == v6))
    }

    /// Whether `iface` is known to take its address at run time.
    #[must_use]
    pub fn dynamic(&self, iface: &str) -> bool {
        self.list.iter().any(|i| i.name == iface && i.dynamic)
    }

    /// The interfaces that take their address at run time.
    pub fn dynamics(&self) -> impl Iterator<Item = &str> {
        self.real().filter(|i| i.dynamic).map(|i| i.name.as_str())
    }

    /// The interfaces whose network holds `a` at the longest prefix (more
    /// than one where networks are declared twice); none where no
    /// network holds it.
    #[must_use]
    pub fn holding(&self, a: IpAddr) -> Vec<&str> {
        let on = || self.real().flat_map(|i| i.addrs.iter().map(move |n| (i, n)));
        let Some(best) = on().filter(|(_, n)| n.contains(&a)).map(|(_, n)| n.prefix_len()).max()
        else {
            return Vec::new();
        };
        let mut v: Vec<&str> = on()
            .filter(|(_, n)| n.prefix_len() == best && n.contains(&a))
            .map(|(i, _)| i.name.as_str())
            .collect();
        v.dedup();
        v
    }

    /// The interfaces behind which every address outside their networks
    /// lies: the dynamic ones and those without an address, or, if there
    /// are none, all but the loopback.
    #[must_use]
    pub fn outside(&self) -> Vec<&str> {
        let v: Vec<&str> = self
            .real()
            .filter(|i| i.dynamic || i.addrs.is_empty())
            .map(|i| i.name.as_str())
            .collect();
        if v.is_empty() { self.names().collect() } else { v }
    }

    /// The interfaces behind which `a` lies: those holding its network,
    /// else [`Self::outside`].
    #[must_use]
    pub fn via(&self, a: IpAddr) -> Vec<&str> {
        let v = self.holding(a);
        if v.is_empty() { self.outside() } else { v }
    }
}
