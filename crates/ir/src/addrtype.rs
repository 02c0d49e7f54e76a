//! `-m addrtype` / nft `fib … type`: the route type of a packet's source or
//! destination address, as the kernel's routing tables classify it.

/// A set of route types, as the kernel's `XT_ADDRTYPE_*` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct AddrTypes(pub u16);

impl AddrTypes {
    pub const UNSPEC: Self = Self(1);
    pub const UNICAST: Self = Self(1 << 1);
    pub const LOCAL: Self = Self(1 << 2);
    pub const BROADCAST: Self = Self(1 << 3);
    pub const ANYCAST: Self = Self(1 << 4);
    pub const MULTICAST: Self = Self(1 << 5);
    pub const BLACKHOLE: Self = Self(1 << 6);
    pub const UNREACHABLE: Self = Self(1 << 7);
    pub const PROHIBIT: Self = Self(1 << 8);
    pub const THROW: Self = Self(1 << 9);
    pub const NAT: Self = Self(1 << 10);
    pub const XRESOLVE: Self = Self(1 << 11);

    /// Every type with its iptables name, in the order iptables-save prints.
    pub const NAMES: [(Self, &'static str); 12] = [
        (Self::UNSPEC, "UNSPEC"),
        (Self::UNICAST, "UNICAST"),
        (Self::LOCAL, "LOCAL"),
        (Self::BROADCAST, "BROADCAST"),
        (Self::ANYCAST, "ANYCAST"),
        (Self::MULTICAST, "MULTICAST"),
        (Self::BLACKHOLE, "BLACKHOLE"),
        (Self::UNREACHABLE, "UNREACHABLE"),
        (Self::PROHIBIT, "PROHIBIT"),
        (Self::THROW, "THROW"),
        (Self::NAT, "NAT"),
        (Self::XRESOLVE, "XRESOLVE"),
    ];

    #[must_use]
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Parse `LOCAL,BROADCAST` (case-insensitive, as iptables does).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let mut bits = 0;
        for part in s.split(',') {
            let (t, _) = Self::NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(part.trim()))?;
            bits |= t.0;
        }
        (bits != 0).then_some(Self(bits))
    }

    /// Names in iptables-save order, upper case.
    #[must_use]
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES.iter().filter(|(t, _)| self.intersects(*t)).map(|(_, n)| *n).collect()
    }
}

/// `-m addrtype`. Each side is `(negated, types)`; a side matches when the
/// address's type is one of `types` (or none of them, negated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AddrTypeMatch {
    pub src: Option<(bool, AddrTypes)>,
    pub dst: Option<(bool, AddrTypes)>,
    /// Only routes through the input interface count (`--limit-iface-in`).
    pub limit_iface_in: bool,
    /// Only routes through the output interface count (`--limit-iface-out`).
    pub limit_iface_out: bool,
}

#[cfg(test)]
mod tests {
    use super::AddrTypes;

    #[test]
    fn names_parse_back() {
        let t = AddrTypes::parse("broadcast,LOCAL").unwrap();
        assert_eq!(t, AddrTypes(AddrTypes::LOCAL.0 | AddrTypes::BROADCAST.0));
        assert_eq!(t.names(), ["LOCAL", "BROADCAST"]);
        assert_eq!(AddrTypes::parse("LOCAL,nonsense"), None);
        assert_eq!(AddrTypes::parse(""), None);
    }
}
