//! What the kernel tests and `rampart-nft-helper` (the listener and prober
//! they run inside their namespaces) say to each other: a probe as one line
//! in, an answer as one marked line out. Each side uses part of it.
#![allow(dead_code)]

use std::net::IpAddr;

/// Marks the helper's answers among whatever else its output holds.
pub(crate) const MARK: &str = "@@ ";

/// Transport of a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum L4 {
    Tcp,
    Udp,
}

/// One connection attempt: `src` `None` lets the kernel choose.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Probe {
    pub(crate) l4: L4,
    pub(crate) src: Option<IpAddr>,
    pub(crate) dst: IpAddr,
    pub(crate) port: u16,
}

impl Probe {
    pub(crate) fn line(&self) -> String {
        let l4 = if self.l4 == L4::Tcp { "tcp" } else { "udp" };
        let src = self.src.map_or_else(|| "-".to_owned(), |s| s.to_string());
        format!("{l4} {src} {} {}", self.dst, self.port)
    }

    pub(crate) fn parse(line: &str) -> Self {
        let f: Vec<&str> = line.split_whitespace().collect();
        Self {
            l4: if f[0] == "tcp" { L4::Tcp } else { L4::Udp },
            src: (f[1] != "-").then(|| f[1].parse().unwrap()),
            dst: f[2].parse().unwrap(),
            port: f[3].parse().unwrap(),
        }
    }
}
