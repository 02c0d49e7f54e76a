//! Services every policy may name without declaring them (`ssh`, `https`,
//! `dns`, …). A service the policy declares under the same name wins, so a
//! site that runs SSH on port 2222 writes `service ssh tcp 2222` as before.

use rampart_ir::{IcmpMatch, PortRange, Proto};

use crate::ServiceAtom;

/// One clause of a standard service: a protocol and destination ports, or
/// an ICMP type.
enum Clause {
    Ports(Proto, &'static [PortRange]),
    Icmp(Proto, u8),
}

use Clause::{Icmp, Ports};

/// Name and clauses, sorted by name (the README lists them in this order).
const SERVICES: &[(&str, &[Clause])] = &[
    ("dhcp", &[Ports(Proto::Udp, &[(67, 68)])]),
    ("dns", &[Ports(Proto::Udp, &[(53, 53)]), Ports(Proto::Tcp, &[(53, 53)])]),
    ("ftp", &[Ports(Proto::Tcp, &[(21, 21)])]),
    ("http", &[Ports(Proto::Tcp, &[(80, 80)])]),
    ("https", &[Ports(Proto::Tcp, &[(443, 443)])]),
    ("imap", &[Ports(Proto::Tcp, &[(143, 143)])]),
    ("imaps", &[Ports(Proto::Tcp, &[(993, 993)])]),
    ("ldap", &[Ports(Proto::Tcp, &[(389, 389)])]),
    ("ldaps", &[Ports(Proto::Tcp, &[(636, 636)])]),
    ("mysql", &[Ports(Proto::Tcp, &[(3306, 3306)])]),
    ("ntp", &[Ports(Proto::Udp, &[(123, 123)])]),
    ("ping", &[Icmp(Proto::Icmp, 8)]),
    ("ping6", &[Icmp(Proto::Icmpv6, 128)]),
    ("pop3", &[Ports(Proto::Tcp, &[(110, 110)])]),
    ("pop3s", &[Ports(Proto::Tcp, &[(995, 995)])]),
    ("postgresql", &[Ports(Proto::Tcp, &[(5432, 5432)])]),
    ("rdp", &[Ports(Proto::Tcp, &[(3389, 3389)])]),
    ("smtp", &[Ports(Proto::Tcp, &[(25, 25)])]),
    ("smtps", &[Ports(Proto::Tcp, &[(465, 465)])]),
    ("snmp", &[Ports(Proto::Udp, &[(161, 161)])]),
    ("ssh", &[Ports(Proto::Tcp, &[(22, 22)])]),
    ("submission", &[Ports(Proto::Tcp, &[(587, 587)])]),
    ("syslog", &[Ports(Proto::Udp, &[(514, 514)])]),
    ("wireguard", &[Ports(Proto::Udp, &[(51820, 51820)])]),
];

/// The names of the standard services.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    SERVICES.iter().map(|(n, _)| *n)
}

/// The atoms of the standard service `name`, with the name as the table
/// knows it (so it can key the resolver's memo).
pub(crate) fn service(name: &str) -> Option<(&'static str, Vec<ServiceAtom>)> {
    let i = SERVICES.binary_search_by(|(n, _)| (*n).cmp(name)).ok()?;
    let (key, clauses) = SERVICES[i];
    let atom = |proto, dports: &[PortRange], icmp| ServiceAtom {
        name: Some(key.to_owned()),
        proto: Some(proto),
        sports: vec![],
        dports: dports.to_vec(),
        icmp,
    };
    let atoms = clauses
        .iter()
        .map(|c| match *c {
            Ports(proto, ports) => atom(proto, ports, None),
            Icmp(proto, typ) => atom(proto, &[], Some(IcmpMatch::Type(typ))),
        })
        .collect();
    Some((key, atoms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookups_find_every_entry() {
        assert!(SERVICES.windows(2).all(|w| w[0].0 < w[1].0));
        for (name, _) in SERVICES {
            assert_eq!(service(name).map(|(k, _)| k), Some(*name));
        }
        assert!(service("sshd").is_none());
    }
}
