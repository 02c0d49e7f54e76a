//! Sources worth blocking: addresses with at least N blocked lines, written
//! as nft set elements or an `ipset restore` file for the policy's blocklist
//! group.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

use crate::attribute::Attributor;
use crate::envelope;
use crate::inputs::{self, InputError};
use crate::line::{self, LogLine};
use crate::partial::Partial;

/// Which lines count and which sources stay off the list.
#[derive(Debug, Clone, Default)]
pub struct BlockOptions {
    /// Minimum lines per source.
    pub min_hits: u64,
    /// Count every firewall line, not only DENY/REJECT ones (ufw BLOCK,
    /// DROP prefixes and the like count as DENY).
    pub all_actions: bool,
    /// Never list addresses in these networks (your own, your monitoring).
    pub exclude: Vec<IpNet>,
}

/// Counts blocked lines per source.
#[derive(Debug, Default)]
pub struct Collector {
    opts: BlockOptions,
    attributor: Attributor,
    counts: HashMap<IpAddr, u64>,
    blocking_prefix: HashMap<Vec<u8>, bool>,
}

impl Collector {
    /// A collector with these options.
    pub fn new(opts: BlockOptions, attributor: Attributor) -> Collector {
        Collector { opts, attributor, counts: HashMap::new(), blocking_prefix: HashMap::new() }
    }

    /// Feed one firewall line.
    pub fn add(&mut self, l: &LogLine<'_>) {
        let Some(src) = l.packet.src else { return };
        // Locally generated packets (empty IN=) carry this host's own address.
        if l.in_iface.is_empty() {
            return;
        }
        if !self.opts.all_actions {
            let prefix = l.prefix_trimmed();
            let blocks = match self.blocking_prefix.get(prefix) {
                Some(b) => *b,
                None => {
                    let b =
                        self.attributor.attribute(prefix).action().is_some_and(|a| a.is_block());
                    self.blocking_prefix.insert(prefix.to_vec(), b);
                    b
                }
            };
            if !blocks {
                return;
            }
        }
        *self.counts.entry(src).or_insert(0) += 1;
    }

    /// Sources with at least `min_hits` lines, not excluded, by address.
    pub fn finish(self) -> BTreeMap<IpAddr, u64> {
        self.counts
            .into_iter()
            .filter(|(a, n)| {
                *n >= self.opts.min_hits
                    && !never_a_source(*a)
                    && !self.opts.exclude.iter().any(|net| net.contains(a))
            })
            .collect()
    }
}

/// What `rampart logs blocklist` found.
#[derive(Debug)]
pub struct BlockReport {
    /// Sources to block, with their lines, by address.
    pub list: BTreeMap<IpAddr, u64>,
    /// Firewall lines read only in part.
    pub partial: Partial,
    /// Lines not written by the kernel (no `kernel:` tag), not counted.
    pub not_kernel: u64,
    /// Records the kernel ring lost.
    pub lost: u64,
}

/// The blocklist of `files` (the kernel ring when there are none). Only
/// lines the kernel wrote count: any program may log a line that looks
/// like the kernel's.
pub fn from_inputs(
    files: &[PathBuf],
    opts: BlockOptions,
    attributor: Attributor,
) -> Result<BlockReport, InputError> {
    let mut c = Collector::new(opts, attributor);
    let mut partial = Partial::default();
    let mut not_kernel = 0u64;
    let lost = inputs::each_line(files, &mut partial, |raw| {
        let env = envelope::strip(raw);
        if env.kind != envelope::Kind::Bare && !env.from_kernel {
            not_kernel += 1;
            return None;
        }
        let l = line::parse(&env.message)?;
        c.add(&l);
        Some(l.unread)
    })?;
    Ok(BlockReport { list: c.finish(), partial, not_kernel, lost })
}

/// Addresses no real peer sends from, which a forged line could use to make
/// the list block the host itself or its own networks: unspecified,
/// loopback, broadcast, multicast, link-local.
fn never_a_source(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            v.is_unspecified()
                || v.is_loopback()
                || v.is_broadcast()
                || v.is_multicast()
                || v.is_link_local()
        }
        IpAddr::V6(v) => {
            v.to_ipv4_mapped().is_some_and(|m| never_a_source(IpAddr::V4(m)))
                || v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_unicast_link_local()
        }
    }
}

/// Names used in the output.
#[derive(Debug, Clone)]
pub struct Names {
    /// nft: `family table`, e.g. `inet rampart`.
    pub nft_table: String,
    /// Set (nft) or ipset name for IPv4.
    pub set4: String,
    /// Set (nft) or ipset name for IPv6.
    pub set6: String,
}

impl Default for Names {
    fn default() -> Self {
        Names {
            nft_table: "inet rampart".into(),
            set4: "blocklist_v4".into(),
            set6: "blocklist_v6".into(),
        }
    }
}

/// `nft -f` input adding the addresses to the two sets.
pub fn to_nft(list: &BTreeMap<IpAddr, u64>, names: &Names) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# rampart logs blocklist: {} sources", list.len());
    for (v6, set) in [(false, &names.set4), (true, &names.set6)] {
        let addrs: Vec<String> =
            list.keys().filter(|a| a.is_ipv6() == v6).map(ToString::to_string).collect();
        if !addrs.is_empty() {
            let _ = writeln!(o, "add element {} {set} {{ {} }}", names.nft_table, addrs.join(", "));
        }
    }
    o
}

/// `ipset restore` input: create both sets if missing, add each address.
pub fn to_ipset(list: &BTreeMap<IpAddr, u64>, names: &Names) -> String {
    let mut o = String::new();
    for (v6, set, family) in [(false, &names.set4, "inet"), (true, &names.set6, "inet6")] {
        let addrs: Vec<&IpAddr> = list.keys().filter(|a| a.is_ipv6() == v6).collect();
        if addrs.is_empty() {
            continue;
        }
        let _ = writeln!(o, "create {set} hash:ip family {family} -exist");
        for a in addrs {
            let _ = writeln!(o, "add {set} {a} -exist");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(lines: &[&str], opts: BlockOptions) -> BTreeMap<IpAddr, u64> {
        let mut c = Collector::new(opts, Attributor::default());
        for s in lines {
            c.add(&crate::line::parse(s.as_bytes()).unwrap());
        }
        c.finish()
    }

    const DENY: &str =
        "RULE 16 -- DENY IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.1 LEN=40 PROTO=TCP SPT=1 DPT=22 ";
    const UFW6: &str = "[UFW BLOCK] IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0009 DST=2001:0db8:0000:0000:0000:0000:0000:0001 LEN=40 TC=0 HOPLIMIT=60 FLOWLBL=0 PROTO=TCP SPT=1 DPT=22 ";
    const OK: &str = "RULE 2 -- ACCEPT IN=eth0 OUT= SRC=198.51.100.1 DST=192.0.2.1 LEN=40 PROTO=TCP SPT=1 DPT=22 ";

    #[test]
    fn min_hits_actions_and_exclusions() {
        let lines = [DENY, DENY, DENY, UFW6, UFW6, OK, OK, OK];
        let l = collect(&lines, BlockOptions { min_hits: 2, ..BlockOptions::default() });
        assert_eq!(l.len(), 2, "accepted lines do not count");
        let l = collect(
            &lines,
            BlockOptions { min_hits: 3, all_actions: true, ..BlockOptions::default() },
        );
        assert_eq!(
            l.keys().map(ToString::to_string).collect::<Vec<_>>(),
            ["198.51.100.1", "203.0.113.7"]
        );
        let l = collect(
            &lines,
            BlockOptions {
                min_hits: 1,
                exclude: vec!["203.0.113.0/24".parse().unwrap()],
                ..BlockOptions::default()
            },
        );
        assert_eq!(l.len(), 1);
    }

    #[test]
    fn outgoing_lines_never_list_this_host() {
        let out = "RULE 4 -- DENY IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.20 LEN=60 PROTO=TCP SPT=1 DPT=2 UID=0 GID=0 ";
        assert!(
            collect(&[out, out, out], BlockOptions { min_hits: 1, ..BlockOptions::default() })
                .is_empty()
        );
    }

    #[test]
    fn addresses_no_peer_sends_from_are_never_listed() {
        let lines: Vec<String> = [
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "169.254.1.1",
            "::",
            "::1",
            "ff02::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "203.0.113.9",
        ]
        .iter()
        .map(|a| {
            format!(
                "RULE 1 -- DENY IN=eth0 OUT= SRC={a} DST=192.0.2.1 LEN=60 PROTO=TCP SPT=1 DPT=2 "
            )
        })
        .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let l = collect(&lines, BlockOptions { min_hits: 1, ..BlockOptions::default() });
        assert_eq!(l.keys().map(ToString::to_string).collect::<Vec<_>>(), ["203.0.113.9"]);
    }

    #[test]
    fn renders() {
        let l = collect(&[DENY, UFW6], BlockOptions { min_hits: 1, ..BlockOptions::default() });
        let names = Names::default();
        assert_eq!(
            to_nft(&l, &names),
            "# rampart logs blocklist: 2 sources\nadd element inet rampart blocklist_v4 { 203.0.113.7 }\nadd element inet rampart blocklist_v6 { 2001:db8::9 }\n"
        );
        assert_eq!(
            to_ipset(&l, &names),
            "create blocklist_v4 hash:ip family inet -exist\nadd blocklist_v4 203.0.113.7 -exist\ncreate blocklist_v6 hash:ip family inet6 -exist\nadd blocklist_v6 2001:db8::9 -exist\n"
        );
    }
}
