//! The packet a trace follows: every header field and piece of kernel state
//! that a rule can look at.
//!
//! A field left `None` is *not given*: a rule that needs it is reported as
//! unknown (the trace says what the verdict would be either way) rather than
//! guessed. Some absences have a meaning of their own and are not unknown:
//! no physdev port means the packet did not cross a bridge, no uid/gid means
//! no local socket owns it (forwarded or kernel-made), and a missing
//! interface on the side the hook has none of (`-i` on output, `-o` on
//! input) is the empty name, as in the kernel.

use std::net::IpAddr;

pub use rampart_ir::Hook;

/// Conntrack state of the packet (`-m conntrack --ctstate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CtState {
    New,
    Established,
    Related,
    Invalid,
    Untracked,
}

impl CtState {
    /// The state's bit in [`rampart_ir::CtStates`].
    #[must_use]
    pub fn bit(self) -> u8 {
        use rampart_ir::CtStates as S;
        match self {
            CtState::New => S::NEW,
            CtState::Established => S::ESTABLISHED,
            CtState::Related => S::RELATED,
            CtState::Invalid => S::INVALID,
            CtState::Untracked => S::UNTRACKED,
        }
    }

    /// The name iptables uses: `NEW`, `ESTABLISHED`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CtState::New => "NEW",
            CtState::Established => "ESTABLISHED",
            CtState::Related => "RELATED",
            CtState::Invalid => "INVALID",
            CtState::Untracked => "UNTRACKED",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "new" => CtState::New,
            "established" => CtState::Established,
            "related" => CtState::Related,
            "invalid" => CtState::Invalid,
            "untracked" => CtState::Untracked,
            _ => return None,
        })
    }
}

/// TCP flag bits, as in the TCP header.
pub mod tcp {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// One packet at one hook.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Packet {
    pub hook: Hook,
    /// Input interface (`-i`); for a bridged packet, the bridge (`br0`).
    pub in_iface: Option<String>,
    /// Output interface (`-o`).
    pub out_iface: Option<String>,
    /// Bridge port the packet came in on (`--physdev-in`).
    pub physdev_in: Option<String>,
    /// Bridge port it goes out on (`--physdev-out`).
    pub physdev_out: Option<String>,
    /// Bridged from port to port (`--physdev-is-bridged`): there is an
    /// output port even when its name is not given.
    pub bridged: bool,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    /// IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6).
    pub proto: Option<u8>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// ICMP type and code.
    pub icmp: Option<(u8, Option<u8>)>,
    /// TCP flags; see [`tcp`].
    pub tcp_flags: Option<u8>,
    pub state: CtState,
    /// Owner of the local socket that sent the packet (output hook).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mark: u32,
    /// Route types of the source and destination addresses (`-m
    /// addrtype`); see [`crate::LocalTable::classify`].
    pub src_type: Option<rampart_ir::AddrTypes>,
    pub dst_type: Option<rampart_ir::AddrTypes>,
    /// Run-time sets the caller says the packet's addresses are in (true)
    /// or not in (false); a set not listed is undecided.
    pub sets: std::collections::BTreeMap<String, bool>,
    /// What the host keeps and the link layer carries, for the matches of
    /// iptables rulesets that read them.
    pub given: Given,
}

/// Facts no header shows, as the caller gives them: `-m limit` and
/// `hashlimit` take packets as coming under the rate unless `over_limit`;
/// the others are undecided where a fact is not given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Given {
    /// Packets come faster than every rate limit allows.
    pub over_limit: bool,
    /// `-m recent` lists that hold the checked address (true) or not.
    pub recent: std::collections::BTreeMap<String, bool>,
    /// The connection's mark (`-m connmark`), before the rules change it.
    pub connmark: Option<u32>,
    /// The Ethernet source address (`-m mac`).
    pub mac_source: Option<[u8; 6]>,
    /// The IP packet's length in bytes (`-m length`).
    pub length: Option<u16>,
    /// The TCP MSS option (`-m tcpmss`): `Some(None)` for a segment
    /// without one.
    pub mss: Option<Option<u16>>,
}

impl Packet {
    /// A packet at `hook` with nothing else given (state NEW, mark 0).
    #[must_use]
    pub fn new(hook: Hook) -> Self {
        Self {
            hook,
            in_iface: None,
            out_iface: None,
            physdev_in: None,
            physdev_out: None,
            bridged: false,
            src: None,
            dst: None,
            proto: None,
            sport: None,
            dport: None,
            icmp: None,
            tcp_flags: None,
            state: CtState::New,
            uid: None,
            gid: None,
            mark: 0,
            src_type: None,
            dst_type: None,
            sets: std::collections::BTreeMap::new(),
            given: Given::default(),
        }
    }

    /// The input interface as the kernel sees it: the empty name where the
    /// hook has none, `None` where it has one that was not given.
    #[must_use]
    pub fn in_name(&self) -> Option<&str> {
        match (&self.in_iface, self.hook) {
            (Some(n), _) => Some(n),
            (None, Hook::Output) => Some(""),
            (None, _) => None,
        }
    }

    /// The output interface, likewise.
    #[must_use]
    pub fn out_name(&self) -> Option<&str> {
        match (&self.out_iface, self.hook) {
            (Some(n), _) => Some(n),
            (None, Hook::Input | Hook::Prerouting) => Some(""),
            (None, _) => None,
        }
    }

    /// Whether the protocol carries ports (`Some(false)` for ICMP).
    #[must_use]
    pub fn has_ports(&self) -> Option<bool> {
        self.proto.map(|p| matches!(p, 6 | 17 | 33 | 132 | 136))
    }

    /// Whether the packet went through a bridge (br_netfilter info exists).
    #[must_use]
    pub fn via_bridge(&self) -> bool {
        self.physdev_in.is_some() || self.physdev_out.is_some() || self.bridged
    }
}

impl Packet {
    /// Answers the run-time sets that `rs` matches from their members (as
    /// `ipset save` lists them), where the caller said nothing of the set:
    /// in it or not, by the address each rule looks at. A set that one
    /// rule matches by source and another by destination, with different
    /// answers, stays undecided.
    pub fn sets_from(
        &mut self,
        rs: &rampart_ir::Ruleset,
        members: &std::collections::BTreeMap<String, rampart_ir::AddrSet>,
    ) {
        let mut found: std::collections::BTreeMap<String, Option<bool>> =
            std::collections::BTreeMap::new();
        for m in rs.chains.iter().flat_map(|c| &c.rules).flat_map(|r| &r.matches) {
            let rampart_ir::Match::Set(m) = m else { continue };
            let (Some(set), Some(addr)) =
                (members.get(&m.set.name), if m.src { self.src } else { self.dst })
            else {
                continue;
            };
            if self.sets.contains_key(&m.set.name) {
                continue;
            }
            let inside = set.contains(addr);
            found
                .entry(m.set.name.clone())
                .and_modify(|a| *a = a.filter(|was| *was == inside))
                .or_insert(Some(inside));
        }
        self.sets.extend(found.into_iter().filter_map(|(n, a)| Some((n, a?))));
    }
}
