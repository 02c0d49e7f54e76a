//! Match modules of rulesets read from iptables that Rampart's own
//! policies do not write: their answer depends on what the running host
//! keeps (a rate, a list of recent addresses, the connection's mark) or on
//! a field of the packet that a trace must be told (its length, the sender's
//! MAC address). Each is kept as written, so that it prints back unchanged,
//! with what it tests.

/// `-m MODULE ARGS…` and its meaning.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModuleMatch {
    /// The module's name and its words, as written.
    pub module: String,
    pub args: Vec<String>,
    pub test: ModuleTest,
}

/// What a [`ModuleMatch`] tests. `neg` is the module's `!`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModuleTest {
    /// `limit`, `hashlimit`: holds while packets come under the rate or,
    /// with `above` (`--hashlimit-above`), once they come faster.
    Rate { above: bool },
    /// `recent --name NAME`: `--set` holds for every packet (`check`
    /// false); `--rcheck`, `--update` and `--remove` hold when the address
    /// is listed, recently and often enough for the rule's `--seconds` and
    /// `--hitcount`.
    Recent { name: String, check: bool, neg: bool },
    /// `connmark --mark VALUE[/MASK]`: the connection's mark.
    Connmark { neg: bool, value: u32, mask: u32 },
    /// `mac --mac-source`: the Ethernet source of an arriving packet.
    MacSource { neg: bool, mac: [u8; 6] },
    /// `length --length MIN[:MAX]`: the IP packet's length in bytes.
    Length { neg: bool, min: u16, max: u16 },
    /// `tcpmss --mss MIN[:MAX]`: the MSS option of a TCP segment; a
    /// segment without one matches only when negated.
    TcpMss { neg: bool, min: u16, max: u16 },
    /// `pkttype --pkt-type`: how the link layer addressed the packet.
    PktType { neg: bool, kind: PktType },
}

/// The kernel's packet types that `-m pkttype` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PktType {
    Unicast,
    Broadcast,
    Multicast,
}

impl PktType {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "unicast" | "host" => PktType::Unicast,
            "broadcast" => PktType::Broadcast,
            "multicast" => PktType::Multicast,
            _ => return None,
        })
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            PktType::Unicast => "unicast",
            PktType::Broadcast => "broadcast",
            PktType::Multicast => "multicast",
        }
    }
}

/// `aa:bb:cc:dd:ee:ff` (case-insensitive).
#[must_use]
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut out {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_bad_ones_do_not() {
        assert_eq!(parse_mac("02:aB:0:1:ff:10"), Some([2, 0xab, 0, 1, 0xff, 0x10]));
        for bad in
            ["02:ab:00:01:ff", "02:ab:00:01:ff:10:11", "02:ab:00:01:ff:1g", "02::00:01:ff:10"]
        {
            assert_eq!(parse_mac(bad), None, "{bad}");
        }
    }
}
