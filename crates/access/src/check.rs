//! Do the firewall's rules implement the access declaration? The rules are
//! written by hand in the policy (numbered, commented, where the reader
//! expects them); this check proves them with the evaluator: each granted
//! user reaches their console, and every other user and any other UID is
//! refused every console port.

use std::net::IpAddr;

use rampart_ir::Ruleset;
use rampart_model::{Access, Firewall};
use rampart_trace::{CtState, Hook, Packet, Verdict, tcp, trace};

/// A way in which the rules and the declaration disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub user: Option<String>,
    pub uid: u32,
    pub addr: IpAddr,
    pub port: u16,
    /// What the declaration wants: `true` accept.
    pub want_accept: bool,
    pub got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = match &self.user {
            Some(u) => format!("user {u} (UID {})", self.uid),
            None => format!("UID {} (no console)", self.uid),
        };
        let want = if self.want_accept { "be accepted" } else { "be refused" };
        write!(f, "{who} to {}:{} should {want}, the rules say {}", self.addr, self.port, self.got)
    }
}

/// A UID no grant names, standing for everybody else.
const NOBODY: u32 = 65534;

/// Check the compiled firewall against the declaration.
#[must_use]
pub fn check(a: &Access, fw: &Firewall) -> Vec<Mismatch> {
    let rs = rampart_lower::compile(fw).v4;
    let mut probes: Vec<(Option<&str>, u32)> =
        a.grants.iter().map(|g| (Some(g.user.name.as_str()), g.user.uid)).collect();
    probes.push((None, NOBODY));
    let servers: Vec<IpAddr> = {
        let mut s: Vec<IpAddr> = a.grants.iter().map(|g| g.addr).collect();
        s.sort();
        s.dedup();
        s
    };
    let mut out = Vec::new();
    for &(user, uid) in &probes {
        for &addr in &servers {
            for port in ports(a) {
                let own = a.grants.iter().find(|g| Some(g.user.name.as_str()) == user);
                let want_accept = own.is_some_and(|g| g.addr == addr && g.port == port);
                let verdict = verdict(&rs, fw, uid, addr, port);
                let ok = match (&verdict, want_accept) {
                    (Verdict::Accept, true) => true,
                    // a time window makes the verdict depend on the clock
                    (Verdict::Unknown, true) => own.is_some_and(|g| g.time.is_some()),
                    (Verdict::Drop | Verdict::Reject(_), false) => true,
                    _ => false,
                };
                if !ok {
                    out.push(Mismatch {
                        user: user.map(str::to_owned),
                        uid,
                        addr,
                        port,
                        want_accept,
                        got: verdict.name().to_string(),
                    });
                }
            }
        }
    }
    out
}

/// Every console port when the ranges are small, else their edges and the
/// granted ports.
fn ports(a: &Access) -> Vec<u16> {
    let ranges = a.console_ports();
    let total: u32 = ranges.iter().map(|(lo, hi)| u32::from(hi - lo) + 1).sum();
    let mut out: Vec<u16> = if total <= 256 {
        ranges.iter().flat_map(|&(lo, hi)| lo..=hi).collect()
    } else {
        ranges.iter().flat_map(|&(lo, hi)| [lo, hi]).collect()
    };
    out.extend(a.grants.iter().map(|g| g.port));
    out.sort_unstable();
    out.dedup();
    out
}

/// The interface a packet to `addr` leaves by: the one whose network holds
/// it, else the first that is not loopback.
fn out_iface(fw: &Firewall, addr: IpAddr) -> Option<String> {
    fw.interfaces
        .iter()
        .find(|i| i.addrs.iter().any(|n| n.contains(&addr)))
        .or_else(|| fw.interfaces.iter().find(|i| !i.loopback))
        .map(|i| i.name.clone())
}

fn verdict(rs: &Ruleset, fw: &Firewall, uid: u32, addr: IpAddr, port: u16) -> Verdict {
    let mut p = Packet::new(Hook::Output);
    p.out_iface = out_iface(fw, addr);
    p.src = fw
        .interfaces
        .iter()
        .find(|i| i.name == p.out_iface.as_deref().unwrap_or(""))
        .and_then(|i| i.addrs.iter().map(|n| n.addr()).find(|a| a.is_ipv4() == addr.is_ipv4()));
    p.dst = Some(addr);
    p.proto = Some(6);
    p.sport = Some(40000);
    p.dport = Some(port);
    p.tcp_flags = Some(tcp::SYN);
    p.state = CtState::New;
    p.uid = Some(uid);
    trace(rs, &p).verdict
}
