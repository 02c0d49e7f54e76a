//! Port scans and sweeps, the way psad looks at them: per source, within a
//! time window, how many distinct destination ports (a port scan) and how
//! many distinct destination hosts (a sweep) it touched.
//!
//! Windows are fixed (tumbling) and aligned to the clock, so the result does
//! not depend on where reading started within a window. Each source keeps
//! only its current window, so memory grows with the number of sources, not
//! with the length of the log. A line without time stamp falls in window 0.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::envelope::{self, Stamp};
use crate::inputs::{self, InputError};
use crate::line::{self, LogLine, LogProto, TcpFlags};
use crate::partial::Partial;

/// Thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Window length in seconds.
    pub window_secs: u64,
    /// Distinct destination ports in one window that make a port scan.
    pub min_ports: usize,
    /// Distinct destination hosts in one window that make a sweep.
    pub min_hosts: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { window_secs: 60, min_ports: 10, min_hosts: 10 }
    }
}

/// Distinct-target counts at or above which the danger level rises
/// (psad's levels count packets: 5, 15, 150, 1500, 10000; these count
/// distinct ports or hosts, which says more about intent).
pub const DANGER_STEPS: [usize; 4] = [50, 200, 1000, 5000];

/// One detected scan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scan {
    /// Scanning source.
    pub src: IpAddr,
    /// `portscan`, `sweep` or `portscan+sweep`.
    pub kind: String,
    /// 1 (just over the threshold) to 5 (thousands of targets, or stealth flags).
    pub danger: u8,
    /// Lines in the window.
    pub packets: u64,
    /// Distinct destination ports.
    pub ports: usize,
    /// Distinct destination hosts.
    pub hosts: usize,
    /// Up to 20 of the ports, ascending, as `proto/port`.
    pub sample_ports: Vec<String>,
    /// TCP scan styles seen: SYN, NULL, FIN, XMAS, ACK.
    pub tcp_styles: Vec<String>,
    /// First stamp in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last stamp in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Windows (of `window_secs`) in which this source crossed a threshold.
    pub windows: u64,
}

/// What `rampart logs scans` reports (its JSON form is `--json`).
#[derive(Debug, serde::Serialize)]
pub struct ScanReport {
    /// The scans found, most dangerous first.
    pub scans: Vec<Scan>,
    /// Firewall lines read only in part.
    pub partial_lines: u64,
    /// Records the kernel ring lost.
    pub lost_lines: u64,
    /// The lines read in part, by file and line.
    #[serde(skip)]
    pub partial: Partial,
}

/// The scans of at least `min_danger` in `files` (the kernel ring when
/// there are none).
pub fn scan_inputs(
    files: &[PathBuf],
    opts: ScanOptions,
    min_danger: u8,
) -> Result<ScanReport, InputError> {
    let mut det = Detector::new(opts);
    let mut partial = Partial::default();
    let lost = inputs::each_line(files, &mut partial, |raw| {
        let env = envelope::strip(raw);
        let l = line::parse(&env.message)?;
        det.add(&l, env.stamp);
        Some(l.unread)
    })?;
    let scans = det.finish().into_iter().filter(|s| s.danger >= min_danger).collect();
    Ok(ScanReport { scans, partial_lines: partial.lines, lost_lines: lost, partial })
}

#[derive(Debug, Default)]
struct Window {
    index: i64,
    packets: u64,
    ports: BTreeSet<(LogProto, u16)>,
    hosts: BTreeSet<IpAddr>,
    styles: BTreeSet<&'static str>,
    first: Option<Stamp>,
    last: Option<Stamp>,
}

/// Cap on the distinct ports/hosts kept per window, so a flood of random
/// destinations cannot use unbounded memory; counts saturate there.
const SET_CAP: usize = 65_536;

/// Streaming detector: feed lines with [`Detector::add`], then [`Detector::finish`].
#[derive(Debug, Default)]
pub struct Detector {
    opts: ScanOptions,
    current: BTreeMap<IpAddr, Window>,
    found: BTreeMap<IpAddr, Scan>,
}

impl Detector {
    /// A detector with these thresholds.
    pub fn new(opts: ScanOptions) -> Detector {
        Detector { opts, current: BTreeMap::new(), found: BTreeMap::new() }
    }

    /// Feed one firewall line.
    pub fn add(&mut self, l: &LogLine<'_>, stamp: Option<Stamp>) {
        let p = &l.packet;
        let Some(src) = p.src else { return };
        let window_us = i64::try_from(self.opts.window_secs.max(1))
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000);
        let index = stamp.map_or(0, |s| s.micros.div_euclid(window_us));
        let w = self.current.entry(src).or_default();
        if w.packets > 0 && w.index != index {
            let old = std::mem::take(w);
            w.index = index;
            Self::judge(&self.opts, &mut self.found, src, old);
        }
        let w = self.current.entry(src).or_default();
        w.index = index;
        w.packets += 1;
        if let (Some(proto), Some(dpt)) = (p.proto, p.dpt)
            && w.ports.len() < SET_CAP
        {
            w.ports.insert((proto, dpt));
        }
        if let Some(dst) = p.dst
            && w.hosts.len() < SET_CAP
        {
            w.hosts.insert(dst);
        }
        if p.proto == Some(LogProto::Tcp) {
            let f = p.tcp_flags.0;
            let style = match f {
                0 => Some("NULL"),
                x if x == TcpFlags::FIN => Some("FIN"),
                x if x == TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG => Some("XMAS"),
                x if x == TcpFlags::SYN => Some("SYN"),
                x if x == TcpFlags::ACK => Some("ACK"),
                _ => None,
            };
            if let Some(s) = style {
                w.styles.insert(s);
            }
        }
        if let Some(s) = stamp {
            w.first = Some(w.first.map_or(s, |f| f.min(s)));
            w.last = Some(w.last.map_or(s, |f| f.max(s)));
        }
    }

    fn judge(opts: &ScanOptions, found: &mut BTreeMap<IpAddr, Scan>, src: IpAddr, w: Window) {
        let is_scan = w.ports.len() >= opts.min_ports;
        let is_sweep = w.hosts.len() >= opts.min_hosts;
        if !is_scan && !is_sweep {
            return;
        }
        let kind = match (is_scan, is_sweep) {
            (true, true) => "portscan+sweep",
            (true, false) => "portscan",
            _ => "sweep",
        };
        let targets = w.ports.len().max(w.hosts.len());
        let mut danger = 1 + DANGER_STEPS.iter().filter(|&&s| targets >= s).count() as u8;
        // NULL, FIN and XMAS probes are never normal traffic.
        if w.styles.iter().any(|s| matches!(*s, "NULL" | "FIN" | "XMAS")) {
            danger += 1;
        }
        let scan = Scan {
            src,
            kind: kind.to_owned(),
            danger: danger.min(5),
            packets: w.packets,
            ports: w.ports.len(),
            hosts: w.hosts.len(),
            sample_ports: w
                .ports
                .iter()
                .take(20)
                .map(|(p, n)| format!("{}/{n}", p.name()))
                .collect(),
            tcp_styles: w.styles.iter().map(|s| (*s).to_owned()).collect(),
            first: w.first.map(|s| s.to_string()),
            last: w.last.map(|s| s.to_string()),
            windows: 1,
        };
        match found.get_mut(&src) {
            Some(prev) => {
                let windows = prev.windows + 1;
                // Keep the worst window; on a tie the earlier one.
                if (scan.danger, scan.ports + scan.hosts) > (prev.danger, prev.ports + prev.hosts) {
                    *prev = scan;
                }
                prev.windows = windows;
            }
            None => {
                found.insert(src, scan);
            }
        }
    }

    /// Close the open windows and list the scans, most dangerous first
    /// (then most targets, then address).
    pub fn finish(mut self) -> Vec<Scan> {
        for (src, w) in std::mem::take(&mut self.current) {
            Self::judge(&self.opts, &mut self.found, src, w);
        }
        let mut v: Vec<Scan> = self.found.into_values().collect();
        v.sort_by(|a, b| {
            b.danger
                .cmp(&a.danger)
                .then((b.ports + b.hosts).cmp(&(a.ports + a.hosts)))
                .then(a.src.cmp(&b.src))
        });
        v
    }
}

/// Text table of scans.
pub fn to_text(scans: &[Scan]) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    if scans.is_empty() {
        o.push_str("no scans found\n");
        return o;
    }
    let _ = writeln!(
        o,
        "{:<6} {:<40} {:<15} {:>7} {:>6} {:>6}  ports",
        "danger", "source", "kind", "packets", "ports", "hosts"
    );
    for s in scans {
        let mut ports = s.sample_ports.join(",");
        if s.ports > s.sample_ports.len() {
            ports.push_str(",...");
        }
        let _ = write!(
            o,
            "{:<6} {:<40} {:<15} {:>7} {:>6} {:>6}  {ports}",
            s.danger, s.src, s.kind, s.packets, s.ports, s.hosts
        );
        if !s.tcp_styles.is_empty() {
            let _ = write!(o, "  tcp:{}", s.tcp_styles.join(","));
        }
        if let (Some(f), Some(l)) = (&s.first, &s.last) {
            let _ = write!(o, "  {f} .. {l}");
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Clock;

    fn feed(d: &mut Detector, secs: i64, src: &str, dst: &str, dpt: u16, flags: &str) {
        let s = format!(
            "IN=eth0 OUT= SRC={src} DST={dst} LEN=40 TTL=50 ID=1 PROTO=TCP SPT=40000 DPT={dpt} WINDOW=1024 RES=0x00 {flags}URGP=0 "
        );
        let l = crate::line::parse(s.as_bytes()).unwrap();
        d.add(&l, Some(Stamp { clock: Clock::Wall, micros: secs * 1_000_000 }));
    }

    #[test]
    fn port_scan_sweep_and_quiet_source() {
        let mut d = Detector::new(ScanOptions::default());
        for port in 1..=60 {
            feed(&mut d, 120, "203.0.113.9", "192.0.2.1", port, "SYN ");
        }
        for host in 1..=12 {
            feed(&mut d, 130, "198.51.100.3", &format!("192.0.2.{host}"), 22, "");
        }
        for port in [22, 80, 443] {
            feed(&mut d, 125, "192.0.2.200", "192.0.2.1", port, "SYN ");
        }
        let scans = d.finish();
        assert_eq!(scans.len(), 2);
        let sweep = scans.iter().find(|s| s.kind == "sweep").unwrap();
        assert_eq!((sweep.hosts, sweep.ports, sweep.danger), (12, 1, 2), "NULL scan raises danger");
        assert_eq!(sweep.tcp_styles, ["NULL"]);
        let scan = scans.iter().find(|s| s.kind == "portscan").unwrap();
        assert_eq!((scan.ports, scan.danger, scan.packets), (60, 2, 60));
        assert_eq!(scan.sample_ports.len(), 20);
        assert_eq!(scan.sample_ports[0], "tcp/1");
    }

    #[test]
    fn slow_scan_split_across_windows_is_not_a_scan() {
        let mut d = Detector::new(ScanOptions { window_secs: 60, min_ports: 10, min_hosts: 10 });
        for port in 1..=30u16 {
            // one probe every 10 minutes
            feed(&mut d, i64::from(port) * 600, "203.0.113.50", "192.0.2.1", port, "SYN ");
        }
        assert!(d.finish().is_empty());
        let mut d =
            Detector::new(ScanOptions { window_secs: 86_400, min_ports: 10, min_hosts: 10 });
        for port in 1..=30u16 {
            feed(&mut d, i64::from(port) * 600, "203.0.113.50", "192.0.2.1", port, "SYN ");
        }
        assert_eq!(d.finish()[0].ports, 30);
    }

    #[test]
    fn worst_window_is_kept_and_windows_counted() {
        let mut d = Detector::new(ScanOptions::default());
        for port in 1..=15 {
            feed(&mut d, 0, "203.0.113.9", "192.0.2.1", port, "SYN ");
        }
        for port in 1..=300 {
            feed(&mut d, 600, "203.0.113.9", "192.0.2.1", port, "SYN ");
        }
        let s = &d.finish()[0];
        assert_eq!((s.ports, s.danger, s.windows), (300, 3, 2));
    }
}
