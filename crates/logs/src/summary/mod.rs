//! Count firewall lines: per prefix, source, port, interface, protocol, time.
//!
//! A [`Tally`] is filled line by line and merged with others (one per chunk
//! when `--threads` > 1); [`Tally::finish`] sorts everything into a
//! deterministic [`Summary`]. Attribution runs once per distinct prefix at
//! the end, not per line.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::net::IpAddr;
use std::path::PathBuf;

use rampart_diag::printable;

use crate::attribute::{Attribution, Attributor, RuleInfo, RuleLookup, rule_info};
use crate::envelope::{self, Clock, Stamp};
use crate::inputs::{self, InputError};
use crate::line::{self, LogLine, LogProto};
use crate::partial::{Partial, PartialLine};
use crate::source::file::{CHUNK_SIZE, Chunker, lines};

mod fast;
mod names;

use fast::{Fields, Read as FastRead};
use names::Names;

/// FxHash: the hot maps are keyed by short, trusted-enough keys and SipHash
/// would cost a third of the per-line time.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            if let Ok(w) = <[u8; 8]>::try_from(c) {
                self.add(u64::from_le_bytes(w));
            }
        }
        let mut tail = 0u64;
        for (i, &b) in chunks.remainder().iter().enumerate() {
            tail |= u64::from(b) << (8 * i);
        }
        self.add(tail);
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Mergeable counters. Fill with [`Tally::add_line`], combine with
/// [`Tally::merge`] (in input order), finish with [`Tally::finish`].
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Every line read.
    pub total_lines: u64,
    /// Firewall lines counted (those read in part too).
    pub firewall_lines: u64,
    /// Lines that were not firewall lines.
    pub unparsed_lines: u64,
    /// Firewall lines read only in part.
    pub partial: Partial,
    /// Lines the source reported lost (kernel ring overrun).
    pub lost_lines: u64,
    /// Records the kernel ring had dropped before reading began.
    pub dropped_before_start: u64,
    by_prefix: Names,
    /// Keyed by [`fast::addr_key`].
    sources: FxMap<u128, u64>,
    /// Keyed by `proto_code << 16 | port`.
    ports: FxMap<u32, u64>,
    /// Indexed by [`proto_code`].
    protos: Vec<u64>,
    in_ifaces: Names,
    out_ifaces: Names,
    /// (min, max) per clock: Wall, WallNoYear, Boot.
    span: [Option<(i64, i64)>; 3],
}

fn key_addr(k: u128) -> IpAddr {
    std::net::Ipv6Addr::from_bits(k).to_canonical()
}

const PROTO_CODES: usize = 8 + 256;

fn proto_code(p: LogProto) -> u16 {
    match p {
        LogProto::Tcp => 0,
        LogProto::Udp => 1,
        LogProto::UdpLite => 2,
        LogProto::Icmp => 3,
        LogProto::Icmpv6 => 4,
        LogProto::Ah => 5,
        LogProto::Esp => 6,
        LogProto::Other => 7,
        LogProto::Num(n) => 8 + u16::from(n),
    }
}

fn code_proto(c: u16) -> LogProto {
    match c {
        0 => LogProto::Tcp,
        1 => LogProto::Udp,
        2 => LogProto::UdpLite,
        3 => LogProto::Icmp,
        4 => LogProto::Icmpv6,
        5 => LogProto::Ah,
        6 => LogProto::Esp,
        7 => LogProto::Other,
        n => LogProto::Num(u8::try_from(n - 8).unwrap_or(u8::MAX)),
    }
}

fn clock_slot(c: Clock) -> usize {
    match c {
        Clock::Wall => 0,
        Clock::WallNoYear => 1,
        Clock::Boot => 2,
    }
}

/// Count `files` in order, each with `threads` threads, or the kernel ring
/// once through when there are none.
pub fn tally(files: &[PathBuf], threads: usize) -> Result<Tally, InputError> {
    let mut total = Tally::default();
    if files.is_empty() {
        let mut src = inputs::ring()?;
        let mut buf = Vec::new();
        while src.next_line(&mut buf).map_err(InputError::Ring)? {
            total.add_line(&buf);
        }
        total.lost_lines = src.lost();
        total.dropped_before_start = src.dropped_before_start();
        total.set_file(src.name());
        return Ok(total);
    }
    for path in files {
        let mut t = Tally::read(inputs::open(path)?, threads.max(1))
            .map_err(|e| InputError::Read(path.clone(), e))?;
        t.set_file(&path.display().to_string());
        total.merge(t);
    }
    Ok(total)
}

impl Tally {
    /// Count one raw line (any envelope, without newline). The summary's
    /// own reader takes the common lines; the full parser the rest.
    pub fn add_line(&mut self, raw: &[u8]) {
        self.total_lines += 1;
        let env = envelope::strip(raw);
        match fast::read(&env.message) {
            FastRead::Firewall(f) => {
                self.firewall_lines += 1;
                self.count(&f, env.stamp);
            }
            FastRead::Other => self.unparsed_lines += 1,
            FastRead::Unsure => self.add_parsed_line(raw, &env.message, env.stamp),
        }
    }

    /// [`Tally::add_line`] through the full parser only.
    fn add_parsed_line(&mut self, raw: &[u8], msg: &[u8], stamp: Option<Stamp>) {
        match line::parse(msg) {
            Some(l) => {
                self.firewall_lines += 1;
                self.add_parsed(&l, stamp);
                self.partial.note(&l.unread, self.total_lines, raw);
            }
            None => self.unparsed_lines += 1,
        }
    }

    /// Count a parsed firewall line (for callers that parse themselves;
    /// what it lacked is theirs to note).
    pub fn add_parsed(&mut self, l: &LogLine<'_>, stamp: Option<Stamp>) {
        self.count(&Fields::of(l), stamp);
    }

    fn count(&mut self, f: &Fields<'_>, stamp: Option<Stamp>) {
        self.by_prefix.bump(f.prefix);
        if let Some(src) = f.src {
            *self.sources.entry(src).or_insert(0) += 1;
        }
        // A line cut before PROTO= has no protocol, and no port to count.
        if let Some(proto) = f.proto {
            let code = proto_code(proto);
            if self.protos.is_empty() {
                self.protos = vec![0; PROTO_CODES];
            }
            self.protos[usize::from(code)] += 1;
            if let Some(dpt) = f.dpt {
                *self.ports.entry(u32::from(code) << 16 | u32::from(dpt)).or_insert(0) += 1;
            }
        }
        if !f.in_iface.is_empty() {
            self.in_ifaces.bump(f.in_iface);
        }
        if !f.out_iface.is_empty() {
            self.out_ifaces.bump(f.out_iface);
        }
        if let Some(s) = stamp {
            let slot = &mut self.span[clock_slot(s.clock)];
            *slot = Some(match *slot {
                Some((lo, hi)) => (lo.min(s.micros), hi.max(s.micros)),
                None => (s.micros, s.micros),
            });
        }
    }

    /// Name the input these counts came from, for partial-line reports.
    pub fn set_file(&mut self, name: &str) {
        self.partial.set_file(name);
    }

    /// Add `other`, which was read after `self`. Line numbers of its bad
    /// partial lines not yet named by [`Tally::set_file`] are shifted by the lines
    /// already counted (chunks of one input).
    pub fn merge(&mut self, other: Tally) {
        let offset = self.total_lines;
        self.total_lines += other.total_lines;
        self.firewall_lines += other.firewall_lines;
        self.unparsed_lines += other.unparsed_lines;
        self.lost_lines += other.lost_lines;
        self.dropped_before_start += other.dropped_before_start;
        fn add<K: std::hash::Hash + Eq>(into: &mut FxMap<K, u64>, from: FxMap<K, u64>) {
            for (k, v) in from {
                *into.entry(k).or_insert(0) += v;
            }
        }
        self.by_prefix.merge(other.by_prefix);
        add(&mut self.sources, other.sources);
        add(&mut self.ports, other.ports);
        if self.protos.is_empty() {
            self.protos = other.protos;
        } else {
            for (a, b) in self.protos.iter_mut().zip(other.protos) {
                *a += b;
            }
        }
        self.in_ifaces.merge(other.in_ifaces);
        self.out_ifaces.merge(other.out_ifaces);
        for (mine, theirs) in self.span.iter_mut().zip(other.span) {
            *mine = match (*mine, theirs) {
                (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
                (x, None) => x,
                (None, y) => y,
            };
        }
        self.partial.merge(other.partial, offset);
    }

    /// Count all lines of a reader. With `threads` > 1 chunks are parsed in
    /// parallel (rayon) while the next batch is read; merging in chunk order
    /// keeps the result identical to a single-threaded run.
    pub fn read(reader: impl Read + Send, threads: usize) -> io::Result<Tally> {
        Self::read_chunked(reader, threads, CHUNK_SIZE)
    }

    /// [`Tally::read`] with an explicit chunk size (tests use tiny ones).
    pub fn read_chunked(
        reader: impl Read + Send,
        threads: usize,
        chunk: usize,
    ) -> io::Result<Tally> {
        let mut chunker = Chunker::new(reader, chunk);
        let mut total = Tally::default();
        if threads <= 1 {
            let mut buf = Vec::new();
            while chunker.next_into(&mut buf)? {
                for l in lines(&buf) {
                    total.add_line(l);
                }
            }
            return Ok(total);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(io::Error::other)?;
        let read_batch = |chunker: &mut Chunker<_>| -> io::Result<Vec<Vec<u8>>> {
            let mut batch = Vec::with_capacity(threads);
            for _ in 0..threads {
                let mut buf = Vec::new();
                if !chunker.next_into(&mut buf)? {
                    break;
                }
                batch.push(buf);
            }
            Ok(batch)
        };
        pool.install(|| {
            use rayon::prelude::*;
            let mut batch = read_batch(&mut chunker)?;
            while !batch.is_empty() {
                let (next, tallies) = rayon::join(
                    || read_batch(&mut chunker),
                    || {
                        batch
                            .par_iter()
                            .map(|c| {
                                let mut t = Tally::default();
                                for l in lines(c) {
                                    t.add_line(l);
                                }
                                t
                            })
                            .collect::<Vec<_>>()
                    },
                );
                for t in tallies {
                    total.merge(t);
                }
                batch = next?;
            }
            Ok(total)
        })
    }

    /// Sort and cut to the report.
    pub fn finish(self, opts: &SummaryOptions<'_>) -> Summary {
        let top = opts.top;
        let mut by_prefix = BTreeMap::new();
        let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
        let mut rules = Vec::new();
        for (p, n) in self.by_prefix.iter() {
            let text = String::from_utf8_lossy(&p).into_owned();
            let a = opts.attributor.attribute(&p);
            let action = a.action();
            *by_action.entry(action.map_or("-".to_owned(), |a| a.to_string())).or_insert(0) += n;
            let policy = opts.rules.and_then(|r| rule_info(&a, r)).cloned();
            rules.push(PrefixCount {
                prefix: text.clone(),
                attribution: a,
                action: action.map(|a| a.to_string()),
                count: n,
                policy,
            });
            *by_prefix.entry(text).or_insert(0) += n;
        }
        rules.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.prefix.cmp(&b.prefix)));

        let mut top_sources: Vec<AddrCount> =
            self.sources.iter().map(|(a, c)| AddrCount { addr: key_addr(*a), count: *c }).collect();
        top_sources.sort_by(|a, b| b.count.cmp(&a.count).then(a.addr.cmp(&b.addr)));
        top_sources.truncate(top);

        // Top ports per protocol.
        let mut per_proto: BTreeMap<LogProto, Vec<(u16, u64)>> = BTreeMap::new();
        for (key, c) in &self.ports {
            let (code, port) = ((key >> 16) as u16, (key & 0xffff) as u16);
            per_proto.entry(code_proto(code)).or_default().push((port, *c));
        }
        let mut top_ports = Vec::new();
        for (proto, mut v) in per_proto {
            let order = |a: &(u16, u64), b: &(u16, u64)| b.1.cmp(&a.1).then(a.0.cmp(&b.0));
            // Tens of thousands of ports: select the top ones, sort only those.
            if v.len() > top && top > 0 {
                v.select_nth_unstable_by(top - 1, order);
                v.truncate(top);
            }
            v.sort_by(order);
            for (port, count) in v.into_iter().take(top) {
                top_ports.push(PortCount { proto: proto.name().into_owned(), port, count });
            }
        }

        let mut top_interfaces = Vec::new();
        for (dir, m) in [("in", &self.in_ifaces), ("out", &self.out_ifaces)] {
            let mut v: Vec<_> =
                m.iter().map(|(k, c)| (String::from_utf8_lossy(&k).into_owned(), c)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            for (name, count) in v.into_iter().take(top) {
                top_interfaces.push(IfaceCount { direction: dir.to_owned(), name, count });
            }
        }
        let by_proto = (0u16..)
            .zip(&self.protos)
            .filter(|(_, c)| **c > 0)
            .map(|(code, c)| (code_proto(code).name().into_owned(), *c))
            .collect();

        let clocks = [Clock::Wall, Clock::WallNoYear, Clock::Boot];
        let time_span = self.span.iter().zip(clocks).find_map(|(s, clock)| {
            let (lo, hi) = (*s)?;
            Some(TimeSpan {
                first: Stamp { clock, micros: lo }.to_string(),
                last: Stamp { clock, micros: hi }.to_string(),
                clock,
                seconds: (hi - lo) as f64 / 1e6,
            })
        });

        Summary {
            total_lines: self.total_lines,
            firewall_lines: self.firewall_lines,
            unparsed_lines: self.unparsed_lines,
            partial_lines: self.partial.lines,
            cut_lines: self.partial.cut,
            unparsed_fields: self
                .partial
                .fields
                .iter()
                .map(|(k, n)| ((*k).to_owned(), *n))
                .collect(),
            lost_lines: self.lost_lines,
            dropped_before_start: self.dropped_before_start,
            time_span,
            by_prefix,
            by_action,
            rules,
            by_proto,
            top_sources,
            top_ports,
            top_interfaces,
            partial: if opts.show_partial { self.partial.samples } else { Vec::new() },
        }
    }
}

/// How to finish a [`Tally`].
pub struct SummaryOptions<'a> {
    /// Length of each top list.
    pub top: usize,
    /// Prefix attribution.
    pub attributor: &'a Attributor,
    /// Policy rules for `--policy` (None until the compiler provides them).
    pub rules: Option<&'a dyn RuleLookup>,
    /// Keep the lines read in part in the report.
    pub show_partial: bool,
}

/// Count per prefix, with its attribution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PrefixCount {
    /// Prefix without trailing space.
    pub prefix: String,
    /// Who printed it.
    pub attribution: Attribution,
    /// Normalised verdict, if the prefix names one.
    pub action: Option<String>,
    /// Lines.
    pub count: u64,
    /// Policy rule, with `--policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<RuleInfo>,
}

/// `{"addr","count"}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct AddrCount {
    /// Source address.
    pub addr: IpAddr,
    /// Lines.
    pub count: u64,
}

/// `{"proto","port","count"}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct PortCount {
    /// `tcp`, `udp`, ...
    pub proto: String,
    /// Destination port.
    pub port: u16,
    /// Lines.
    pub count: u64,
}

/// `{"direction","name","count"}`
#[derive(Debug, Clone, serde::Serialize)]
pub struct IfaceCount {
    /// `in` or `out`.
    pub direction: String,
    /// Interface name.
    pub name: String,
    /// Lines.
    pub count: u64,
}

/// First and last time stamp seen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TimeSpan {
    /// Earliest stamp.
    pub first: String,
    /// Latest stamp.
    pub last: String,
    /// Which clock (wall, wall without year, boot).
    pub clock: Clock,
    /// last - first.
    pub seconds: f64,
}

/// The report of `rampart logs summary`; its JSON form is the `--json` output.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Every line read.
    pub total_lines: u64,
    /// Firewall lines counted, those read in part too.
    pub firewall_lines: u64,
    /// Lines that were not firewall lines.
    pub unparsed_lines: u64,
    /// Firewall lines read only in part: counted by what they hold.
    pub partial_lines: u64,
    /// Of those, lines cut short (by the ring, syslog, a log shipper).
    pub cut_lines: u64,
    /// Key (`DST`) → lines whose value for it did not parse (redacted, odd).
    pub unparsed_fields: BTreeMap<String, u64>,
    /// Lines lost while reading (kernel ring overrun, NFLOG buffer full).
    pub lost_lines: u64,
    /// Records the kernel ring had already dropped before reading began
    /// (history older than the ring holds); 0 for files.
    pub dropped_before_start: u64,
    /// First and last time stamps, on the best clock available.
    pub time_span: Option<TimeSpan>,
    /// Prefix (without trailing space) → lines.
    pub by_prefix: BTreeMap<String, u64>,
    /// Action → lines (`-` when the prefix names none).
    pub by_action: BTreeMap<String, u64>,
    /// Per prefix with attribution, most lines first.
    pub rules: Vec<PrefixCount>,
    /// Protocol → lines.
    pub by_proto: BTreeMap<String, u64>,
    /// Most frequent source addresses.
    pub top_sources: Vec<AddrCount>,
    /// Most frequent destination ports, per protocol.
    pub top_ports: Vec<PortCount>,
    /// Most frequent input and output interfaces.
    pub top_interfaces: Vec<IfaceCount>,
    /// Lines read in part (with `--show-partial`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<PartialLine>,
}

impl Summary {
    /// Human-readable report.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "lines: {} total, {} firewall ({} read in part), {} other, {} lost",
            self.total_lines,
            self.firewall_lines,
            self.partial_lines,
            self.unparsed_lines,
            self.lost_lines
        );
        if self.partial_lines > 0 {
            let _ = write!(o, "read in part: {} cut short", self.cut_lines);
            if !self.unparsed_fields.is_empty() {
                o.push_str("; fields not read:");
                for (k, n) in &self.unparsed_fields {
                    let _ = write!(o, " {k} {n}");
                }
            }
            o.push('\n');
        }
        if let Some(t) = &self.time_span {
            let _ = writeln!(o, "time:  {} .. {} ({})", t.first, t.last, human_secs(t.seconds));
        }
        if self.lost_lines > 0 {
            let _ = writeln!(
                o,
                "warning: {} lines were lost by the source before they could be read",
                self.lost_lines
            );
        }
        if self.dropped_before_start > 0 {
            let _ = writeln!(
                o,
                "note: the kernel ring had dropped {} older records before reading began",
                self.dropped_before_start
            );
        }
        if !self.rules.is_empty() {
            let _ = writeln!(o, "\nby rule/prefix:");
            // Prefixes come from whoever wrote the log line: escaped, and
            // the column no wider than a usual prefix (the kernel's is 29).
            let shown: Vec<String> = self
                .rules
                .iter()
                .map(|r| {
                    if r.prefix.is_empty() {
                        "(none)".into()
                    } else {
                        printable(&r.prefix).into_owned()
                    }
                })
                .collect();
            let w = shown.iter().map(|p| p.chars().count()).max().unwrap_or(0).clamp(8, 48);
            for (r, prefix) in self.rules.iter().zip(&shown) {
                let who = describe(&r.attribution);
                let pad = w.saturating_sub(prefix.chars().count());
                let _ = write!(o, "  {:>9}  {prefix}{:pad$}  {who}", r.count, "");
                if let Some(p) = &r.policy {
                    let _ = write!(o, "  {}:{}", p.file, p.line);
                    if let Some(c) = &p.comment {
                        let _ = write!(o, " # {c}");
                    }
                }
                o.push('\n');
            }
        }
        if !self.by_action.is_empty() {
            let _ = writeln!(o, "\nby action:");
            for (a, n) in &self.by_action {
                let _ = writeln!(o, "  {n:>9}  {a}");
            }
        }
        if !self.by_proto.is_empty() {
            let _ = writeln!(o, "\nby protocol:");
            for (p, n) in &self.by_proto {
                let _ = writeln!(o, "  {n:>9}  {p}");
            }
        }
        if !self.top_sources.is_empty() {
            let _ = writeln!(o, "\ntop sources:");
            for s in &self.top_sources {
                let _ = writeln!(o, "  {:>9}  {}", s.count, s.addr);
            }
        }
        if !self.top_ports.is_empty() {
            let _ = writeln!(o, "\ntop destination ports:");
            for p in &self.top_ports {
                let _ = writeln!(o, "  {:>9}  {}/{}", p.count, p.port, p.proto);
            }
        }
        if !self.top_interfaces.is_empty() {
            let _ = writeln!(o, "\ntop interfaces:");
            for i in &self.top_interfaces {
                let _ = writeln!(o, "  {:>9}  {} {}", i.count, i.direction, printable(&i.name));
            }
        }
        if !self.partial.is_empty() {
            let _ = writeln!(o, "\nlines read in part:");
            for b in &self.partial {
                let file = if b.file.is_empty() { "-" } else { &b.file };
                let _ = writeln!(o, "  {file}:{}: {}\n    {}", b.line, b.what, printable(&b.text));
            }
        }
        o
    }
}

fn human_secs(s: f64) -> String {
    let s = s.max(0.0) as u64;
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 { format!("{d}d {h}h {m}m {sec}s") } else { format!("{h}h {m}m {sec}s") }
}

/// Short description of an attribution for text output.
pub fn describe(a: &Attribution) -> String {
    use crate::attribute::Source;
    match &a.source {
        Source::Rampart { rule, action, ruleset } => {
            let act = action.map_or("?".to_owned(), |a| a.to_string());
            match ruleset {
                Some(r) => format!("rampart {r} rule {rule} {act}"),
                None => format!("rampart rule {rule} {act}"),
            }
        }
        Source::Ufw { verdict } => format!("ufw {verdict}"),
        Source::Firewalld { zone, verdict, .. } => {
            format!("firewalld {} {verdict}", zone.as_deref().unwrap_or("-"))
        }
        Source::Free { .. } => a.action().map_or("free".to_owned(), |x| format!("free {x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
Nov 28 10:00:01 web1 kernel: [100.000001] RULE 16 -- DENY IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.10 LEN=60 TTL=51 ID=1 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0
Nov 28 10:00:02 web1 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.10 LEN=40 TTL=51 ID=2 PROTO=UDP SPT=5 DPT=53 LEN=20
Nov 28 10:00:03 web1 sshd[12]: Accepted publickey for root
Nov 28 10:00:04 web1 kernel: RULE 16 -- DENY IN=eth0 OUT= MAC=00:11
Nov 28 10:05:00 web1 kernel: RULE 0 -- DENY IN=eth1 OUT= SRC=198.51.100.1 DST=192.0.2.10 LEN=60 TTL=51 ID=1 PROTO=TCP SPT=1 DPT=22 WINDOW=1 RES=0x00 SYN URGP=0
";

    fn opts(a: &Attributor) -> SummaryOptions<'_> {
        SummaryOptions { top: 10, attributor: a, rules: None, show_partial: true }
    }

    #[test]
    fn counts_and_span() {
        let a = Attributor::default();
        let s = Tally::read(SAMPLE.as_bytes(), 1).unwrap().finish(&opts(&a));
        assert_eq!((s.total_lines, s.firewall_lines, s.unparsed_lines), (5, 4, 1));
        assert_eq!((s.partial_lines, s.cut_lines), (1, 1));
        assert_eq!(s.by_prefix.get("RULE 16 -- DENY"), Some(&2), "the cut line counts");
        assert_eq!(s.by_prefix.get("[UFW BLOCK]"), Some(&1));
        assert_eq!(s.by_action.get("DENY"), Some(&4));
        assert_eq!(s.top_sources[0].addr.to_string(), "203.0.113.7");
        assert_eq!(s.top_sources[0].count, 2);
        assert_eq!(
            (s.top_ports[0].proto.as_str(), s.top_ports[0].port, s.top_ports[0].count),
            ("tcp", 22, 2)
        );
        let t = s.time_span.unwrap();
        assert_eq!(
            (t.first.as_str(), t.last.as_str(), t.seconds),
            ("Nov 28 10:00:01", "Nov 28 10:05:00", 299.0)
        );
        assert_eq!(s.partial[0].line, 4);
    }

    fn tricky() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tricky.log")).unwrap()
    }

    /// The summary's fast reader counts a mixed file (ICMP errors, IPv6,
    /// FRAG:, options, ARP, UID, journal JSON, lines read in part) exactly as
    /// the full parser does, and takes most of its firewall lines itself.
    #[test]
    fn fast_reader_counts_as_the_full_parser() {
        let text = tricky();
        let (mut fast, mut full) = (Tally::default(), Tally::default());
        let mut quick = 0;
        for l in lines(&text) {
            fast.add_line(l);
            let env = envelope::strip(l);
            quick += usize::from(matches!(fast::read(&env.message), FastRead::Firewall(_)));
            full.total_lines += 1;
            full.add_parsed_line(l, &env.message, env.stamp);
        }
        let a = Attributor::default();
        let json = |t: Tally| serde_json::to_string_pretty(&t.finish(&opts(&a))).unwrap();
        let (fast, full) = (json(fast), json(full));
        assert_eq!(fast, full);
        assert!(full.contains("\"partial_lines\": 9"), "{full}");
        assert!(quick >= 15, "the fast reader took only {quick} lines");
    }

    #[test]
    fn threads_and_chunks_do_not_change_the_result() {
        let a = Attributor::default();
        let mut big = SAMPLE.repeat(50).into_bytes();
        big.extend(tricky().repeat(20));
        let one =
            serde_json::to_string(&Tally::read(&big[..], 1).unwrap().finish(&opts(&a))).unwrap();
        // Chunks of at least a quarter line: longer lines are passed on cut.
        for (threads, chunk) in [(2, 128), (3, 1000), (4, 100)] {
            let t = Tally::read_chunked(&big[..], threads, chunk).unwrap();
            assert_eq!(
                serde_json::to_string(&t.finish(&opts(&a))).unwrap(),
                one,
                "threads {threads} chunk {chunk}"
            );
        }
    }
}
