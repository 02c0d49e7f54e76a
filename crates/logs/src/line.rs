//! The kernel's LOG line (`nf_log_syslog.c`), parsed without a regex.
//!
//! The line is split at spaces with `memchr`; each `KEY=value` token is
//! dispatched on its key. The kernel repeats keys: `LEN=` is the IP length
//! before `PROTO=` and the UDP length after it, `ID=` is the IP id before
//! `PROTO=` and the ICMP echo id after it. So keys after `PROTO=` are read as
//! layer-4 fields, which makes "first occurrence wins for the IP header" hold
//! by construction. The quoted packet of an ICMP error (`[SRC=... ]`) is kept
//! aside as text and parsed on request by [`LogLine::nested_packet`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use memchr::memchr;

/// A key of up to 8 bytes as an integer (keys never contain NUL, so zero
/// padding keeps them distinct). Matching integers is a jump table;
/// matching byte strings was a chain of `memcmp` calls.
#[inline]
const fn pack(k: &[u8]) -> u64 {
    if k.len() > 8 {
        return u64::MAX;
    }
    let mut v = 0u64;
    let mut i = 0;
    while i < k.len() {
        v |= (k[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

/// [`pack`] at run time: one 8-byte load and a mask when the line has 8
/// bytes left from the key on, a loop only at the very end of a line.
#[inline]
fn key_code(from: &[u8], len: usize) -> u64 {
    if len > 8 {
        return u64::MAX;
    }
    match from.first_chunk::<8>() {
        Some(w) => {
            let v = u64::from_le_bytes(*w);
            if len == 8 { v } else { v & ((1u64 << (8 * len)) - 1) }
        }
        None => pack(&from[..len]),
    }
}

macro_rules! keys {
    ($($name:ident = $text:literal;)*) => { $(const $name: u64 = pack($text);)* };
}

keys! {
    K_SRC = b"SRC"; K_DST = b"DST"; K_LEN = b"LEN"; K_TOS = b"TOS"; K_PREC = b"PREC";
    K_TTL = b"TTL"; K_ID = b"ID"; K_TC = b"TC"; K_HOPLIMIT = b"HOPLIMIT"; K_FLOWLBL = b"FLOWLBL";
    K_PROTO = b"PROTO"; K_SPT = b"SPT"; K_DPT = b"DPT"; K_SEQ = b"SEQ"; K_ACK = b"ACK";
    K_WINDOW = b"WINDOW"; K_RES = b"RES"; K_URGP = b"URGP"; K_TYPE = b"TYPE"; K_CODE = b"CODE";
    K_MTU = b"MTU"; K_POINTER = b"POINTER"; K_GATEWAY = b"GATEWAY"; K_SPI = b"SPI";
    K_IN = b"IN"; K_OUT = b"OUT"; K_PHYSIN = b"PHYSIN"; K_PHYSOUT = b"PHYSOUT"; K_MAC = b"MAC";
    K_UID = b"UID"; K_GID = b"GID"; K_MARK = b"MARK"; K_OPCODE = b"OPCODE"; K_MACSRC = b"MACSRC";
    K_MACDST = b"MACDST"; K_IPSRC = b"IPSRC"; K_IPDST = b"IPDST";
    F_CWR = b"CWR"; F_ECE = b"ECE"; F_URG = b"URG"; F_PSH = b"PSH"; F_RST = b"RST";
    F_SYN = b"SYN"; F_FIN = b"FIN"; F_CE = b"CE"; F_DF = b"DF"; F_MF = b"MF";
}

/// Position of the first space, or `s.len()`. Eight bytes at a time
/// (SWAR): tokens are 5 to 40 bytes, too short for SIMD set-up to pay.
#[inline]
pub(crate) fn find_space(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let mut i = 0;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ SPACES;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < s.len() && s[i] != b' ' {
        i += 1;
    }
    i
}

/// Bytes equal to zero in `x`, as their high bits. Only the lowest set bit
/// is exact (a borrow can mark bytes above it), which is all callers use.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
}

/// The token at the start of `s`: (its length, the position of its `=`,
/// the packed key before the `=`). Keys are at most 8 bytes, so one 8-byte
/// load usually finds the `=` and yields the key code with a mask.
#[inline]
fn split_token(s: &[u8]) -> (usize, Option<usize>, u64) {
    if let Some(w) = s.first_chunk::<8>() {
        let x = u64::from_le_bytes(*w);
        let sp = zero_bytes(x ^ 0x2020_2020_2020_2020);
        let eq = zero_bytes(x ^ 0x3d3d_3d3d_3d3d_3d3d);
        let sp_at = if sp == 0 { 8 } else { (sp.trailing_zeros() / 8) as usize };
        let eq_at = if eq == 0 { 8 } else { (eq.trailing_zeros() / 8) as usize };
        if eq_at < sp_at {
            let end = if sp_at < 8 { sp_at } else { eq_at + 1 + find_space(&s[eq_at + 1..]) };
            let code = if eq_at == 0 { 0 } else { x & (u64::MAX >> (64 - 8 * eq_at)) };
            return (end, Some(eq_at), code);
        }
        if sp_at < 8 {
            return (sp_at, None, 0);
        }
    }
    let end = find_space(s);
    let eq = find_byte(b'=', &s[..end]);
    let code = eq.map_or(0, |e| key_code(s, e));
    (end, eq, code)
}

/// Position of `b` in a short slice. Tokens average under ten bytes, where
/// a plain loop beats the SIMD setup of `memchr`.
#[inline]
fn find_byte(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Why the packet an ICMP error quotes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A known key had a value that does not parse (`TTL=abc`, `SRC=1.2.3`).
    #[error("bad value for {key}=")]
    BadValue {
        /// The key whose value did not parse.
        key: &'static str,
    },
    /// A `[` of a nested packet is never closed.
    #[error("unclosed '[' of an ICMP error's quoted packet")]
    Unclosed,
}

/// Layer-4 protocol as the kernel names it in `PROTO=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum LogProto {
    /// `PROTO=TCP`
    Tcp,
    /// `PROTO=UDP`
    Udp,
    /// `PROTO=UDPLITE`
    UdpLite,
    /// `PROTO=ICMP`
    Icmp,
    /// `PROTO=ICMPv6`
    Icmpv6,
    /// `PROTO=AH`
    Ah,
    /// `PROTO=ESP`
    Esp,
    /// `PROTO=47` and other numbers the kernel does not name.
    Num(u8),
    /// A name this parser does not know.
    #[default]
    Other,
}

impl LogProto {
    pub(crate) fn parse(v: &[u8]) -> LogProto {
        match v {
            b"TCP" => LogProto::Tcp,
            b"UDP" => LogProto::Udp,
            b"UDPLITE" => LogProto::UdpLite,
            b"ICMP" => LogProto::Icmp,
            b"ICMPv6" => LogProto::Icmpv6,
            b"AH" => LogProto::Ah,
            b"ESP" => LogProto::Esp,
            _ => dec(v).and_then(|n| u8::try_from(n).ok()).map_or(LogProto::Other, LogProto::Num),
        }
    }

    /// Lower-case name used in summaries and JSON (`tcp`, `udp`, `icmp`, `47`).
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            LogProto::Tcp => "tcp".into(),
            LogProto::Udp => "udp".into(),
            LogProto::UdpLite => "udplite".into(),
            LogProto::Icmp => "icmp".into(),
            LogProto::Icmpv6 => "icmpv6".into(),
            LogProto::Ah => "ah".into(),
            LogProto::Esp => "esp".into(),
            LogProto::Num(n) => n.to_string().into(),
            LogProto::Other => "other".into(),
        }
    }

    /// Whether the protocol carries ports (SPT/DPT).
    pub fn has_ports(self) -> bool {
        matches!(self, LogProto::Tcp | LogProto::Udp | LogProto::UdpLite)
    }
}

/// TCP flags as the kernel prints them, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN
    pub const FIN: u8 = 1;
    /// SYN
    pub const SYN: u8 = 2;
    /// RST
    pub const RST: u8 = 4;
    /// PSH
    pub const PSH: u8 = 8;
    /// ACK
    pub const ACK: u8 = 16;
    /// URG
    pub const URG: u8 = 32;
    /// ECE
    pub const ECE: u8 = 64;
    /// CWR
    pub const CWR: u8 = 128;

    const NAMES: [(u8, &'static str); 8] = [
        (Self::CWR, "CWR"),
        (Self::ECE, "ECE"),
        (Self::URG, "URG"),
        (Self::ACK, "ACK"),
        (Self::PSH, "PSH"),
        (Self::RST, "RST"),
        (Self::SYN, "SYN"),
        (Self::FIN, "FIN"),
    ];

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

impl std::fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Fields of one IP packet: the logged packet or the packet quoted inside an
/// ICMP error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet<'a> {
    /// `SRC=`
    pub src: Option<IpAddr>,
    /// `DST=`
    pub dst: Option<IpAddr>,
    /// `LEN=` before `PROTO=`: IP total length (IPv6: payload length).
    pub len: Option<u32>,
    /// `TOS=0x..` (IPv4)
    pub tos: Option<u8>,
    /// `PREC=0x..` (IPv4)
    pub prec: Option<u8>,
    /// `TTL=` (IPv4)
    pub ttl: Option<u8>,
    /// `ID=` before `PROTO=` (IPv4), or `ID:xxxxxxxx` of an IPv6 fragment header.
    pub id: Option<u32>,
    /// `CE` (IPv4 congestion flag)
    pub ce: bool,
    /// `DF`
    pub df: bool,
    /// `MF`
    pub mf: bool,
    /// `FRAG:n` fragment offset.
    pub frag: Option<u16>,
    /// IP options / IPv6 extension text inside `OPT ( ... )`.
    pub ip_opt: Option<&'a [u8]>,
    /// `TC=` (IPv6 traffic class)
    pub tc: Option<u8>,
    /// `HOPLIMIT=` (IPv6)
    pub hoplimit: Option<u8>,
    /// `FLOWLBL=` (IPv6)
    pub flowlbl: Option<u32>,
    /// `PROTO=`
    pub proto: Option<LogProto>,
    /// `INCOMPLETE [n bytes]`: the layer-4 header was cut short.
    pub incomplete: bool,
    /// `SPT=`
    pub spt: Option<u16>,
    /// `DPT=`
    pub dpt: Option<u16>,
    /// `LEN=` after `PROTO=UDP`: UDP length.
    pub udp_len: Option<u32>,
    /// `SEQ=` (TCP)
    pub seq: Option<u32>,
    /// `ACK=` (TCP acknowledgement number; the flag is in `tcp_flags`)
    pub ack: Option<u32>,
    /// `WINDOW=`
    pub window: Option<u32>,
    /// `RES=0x..`
    pub res: Option<u8>,
    /// `SYN`, `ACK`, ... flags
    pub tcp_flags: TcpFlags,
    /// `URGP=`
    pub urgp: Option<u32>,
    /// TCP options `OPT (...)` after `PROTO=`.
    pub tcp_opt: Option<&'a [u8]>,
    /// ICMP `TYPE=`
    pub icmp_type: Option<u8>,
    /// ICMP `CODE=`
    pub icmp_code: Option<u8>,
    /// ICMP echo `ID=` (after `PROTO=`)
    pub icmp_id: Option<u32>,
    /// ICMP echo `SEQ=`
    pub icmp_seq: Option<u32>,
    /// ICMP `MTU=` (fragmentation needed / packet too big)
    pub mtu: Option<u32>,
    /// ICMP `PARAMETER=` / ICMPv6 `POINTER=`
    pub parameter: Option<u32>,
    /// ICMP redirect `GATEWAY=`
    pub gateway: Option<IpAddr>,
    /// AH/ESP `SPI=0x..`
    pub spi: Option<u32>,
}

/// ARP fields of a bridge or arptables log line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arp<'a> {
    /// `OPCODE=` (1 request, 2 reply)
    pub opcode: Option<u16>,
    /// `MACSRC=`
    pub mac_src: Option<&'a [u8]>,
    /// `IPSRC=`
    pub ip_src: Option<IpAddr>,
    /// `MACDST=`
    pub mac_dst: Option<&'a [u8]>,
    /// `IPDST=`
    pub ip_dst: Option<IpAddr>,
}

/// One kernel LOG line. Borrows from the message text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// `--log-prefix` text, exactly as printed (usually with a trailing space).
    pub prefix: &'a [u8],
    /// `IN=` (empty for locally generated packets)
    pub in_iface: &'a [u8],
    /// `OUT=` (empty for packets to this host)
    pub out_iface: &'a [u8],
    /// `PHYSIN=` (bridge port)
    pub physin: Option<&'a [u8]>,
    /// `PHYSOUT=` (bridge port)
    pub physout: Option<&'a [u8]>,
    /// `MAC=` destination:source:ethertype
    pub mac: Option<&'a [u8]>,
    /// The logged packet.
    pub packet: Packet<'a>,
    /// Text of the packet quoted by an ICMP error, between `[` and `]`.
    pub nested: Option<&'a [u8]>,
    /// `UID=` (`--log-uid`, local sockets only)
    pub uid: Option<u32>,
    /// `GID=`
    pub gid: Option<u32>,
    /// `MARK=0x..`
    pub mark: Option<u32>,
    /// ARP fields, for ARP packets.
    pub arp: Option<Arp<'a>>,
    /// What of the line could not be read; everything else was.
    pub unread: Unread,
}

/// The part of a firewall line that was not read. The line still counts
/// by everything that was: a redacted `DST=xxx` or a line cut short keeps
/// its prefix, source, protocol and port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unread {
    /// Keys whose value did not parse (`DST=xxx`, `TTL=300`), in line
    /// order; each such field is left empty.
    pub fields: Vec<&'static str>,
    /// The line stops before the fields the kernel always writes (cut by
    /// the ring, syslog or a log shipper, or an unclosed `[`). Its last
    /// word, when not followed by a space, may itself be cut and is not read.
    pub cut: bool,
}

impl Unread {
    /// Whether the whole line was read.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && !self.cut
    }
}

impl<'a> LogLine<'a> {
    /// The prefix without trailing spaces (the key used in summaries).
    pub fn prefix_trimmed(&self) -> &'a [u8] {
        trim_ascii_end(self.prefix)
    }

    /// Parse the packet an ICMP error quotes, as its own [`Packet`] so its
    /// fields never overwrite the outer packet's.
    pub fn nested_packet(&self) -> Option<Result<Packet<'a>, LineError>> {
        let text = self.nested?;
        let mut p = Packet::default();
        let mut odd = Vec::new();
        Some(scan(text, &mut p, None, &mut odd).and_then(|_| match odd.first() {
            Some(&key) => Err(LineError::BadValue { key }),
            None => Ok(p),
        }))
    }

    /// Whether the line holds the fields the kernel always writes last for
    /// its protocol (a value that did not parse still counts as there).
    fn ends_whole(&self) -> bool {
        if self.arp.is_some() {
            return true;
        }
        let p = &self.packet;
        let seen = |v: bool, key: &str| v || self.unread.fields.contains(&key);
        if !seen(p.src.is_some(), "SRC") {
            return false;
        }
        let Some(proto) = p.proto else { return false };
        // A later fragment stops at PROTO=, a short packet at INCOMPLETE.
        if p.incomplete || p.frag.is_some_and(|f| f > 0) {
            return true;
        }
        match proto {
            LogProto::Tcp => seen(p.urgp.is_some(), "URGP"),
            LogProto::Udp | LogProto::UdpLite => seen(p.udp_len.is_some(), "LEN"),
            LogProto::Icmp | LogProto::Icmpv6 => seen(p.icmp_code.is_some(), "CODE"),
            LogProto::Ah | LogProto::Esp => seen(p.spi.is_some(), "SPI"),
            // The kernel ends a protocol it does not name at its number.
            LogProto::Num(_) => true,
            // A name it does not print: a cut one (`PROTO=TC`).
            LogProto::Other => false,
        }
    }
}

pub(crate) fn trim_ascii_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Find where the kernel's fields start: an `IN=<ifname>` followed by ` OUT=`.
/// Everything before it is the prefix.
pub fn find_fields(msg: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = find_in(&msg[from..]) {
        let at = from + i;
        let v = at + 3;
        let sp = v + find_byte(b' ', &msg[v..])?;
        if msg[sp + 1..].starts_with(b"OUT=") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Position of the first `IN=`: the `=` signs are found eight bytes at a
/// time and the two bytes before each are compared. The first `=` of a
/// LOG line is usually that of `IN=`, a few words in, where a memmem
/// searcher would cost more to start than to run.
fn find_in(s: &[u8]) -> Option<usize> {
    let mut i = 2;
    while i < s.len() {
        let x = match s[i..].first_chunk::<8>() {
            Some(w) => u64::from_le_bytes(*w),
            None => s[i..].iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
        } ^ 0x3d3d_3d3d_3d3d_3d3d;
        let found = zero_bytes(x);
        if found == 0 {
            i += 8;
            continue;
        }
        let eq = i + (found.trailing_zeros() / 8) as usize;
        if eq >= s.len() {
            return None;
        }
        if &s[eq - 2..eq] == b"IN" {
            return Some(eq - 2);
        }
        i = eq + 1;
    }
    None
}

/// Parse one kernel message (envelope already stripped, see
/// [`crate::envelope::strip`]).
///
/// Returns `None` when the message is not a firewall line at all. A
/// firewall line always comes back: what could not be read is in
/// [`LogLine::unread`], never a reason to lose the line.
pub fn parse(msg: &[u8]) -> Option<LogLine<'_>> {
    let at = find_fields(msg)?;
    let line = read(msg, at, msg.len());
    if !line.unread.cut || msg.ends_with(b" ") {
        return Some(line);
    }
    // Cut without a space at the end: the last word may be half a value
    // (`SRC=203.0.113.7` of `203.0.113.71`), so it is not read.
    let end = memchr::memrchr(b' ', &msg[at..]).map_or(at, |i| at + i);
    let mut line = read(msg, at, end);
    line.unread.cut = true;
    Some(line)
}

/// The fields of `msg[at..end]` into a line whose prefix is `msg[..at]`.
fn read(msg: &[u8], at: usize, end: usize) -> LogLine<'_> {
    let mut line = LogLine { prefix: &msg[..at], ..LogLine::default() };
    // Borrow the packet and the outer fields apart, so the scan fills the
    // line in place instead of a packet copied in afterwards.
    let LogLine {
        packet,
        in_iface,
        out_iface,
        physin,
        physout,
        mac,
        nested,
        uid,
        gid,
        mark,
        arp,
        unread,
        ..
    } = &mut line;
    let mut outer =
        Outer { in_iface, out_iface, physin, physout, mac, nested, uid, gid, mark, arp };
    let text = &msg[at..end];
    line.unread.cut = match scan(text, packet, Some(&mut outer), &mut unread.fields) {
        // A last value that does not parse, with no space after it, is
        // taken for cut rather than odd (`URGP=` of `URGP=0`).
        Ok(true) if !text.ends_with(b" ") => true,
        Ok(_) => !line.ends_whole(),
        Err(_) => true,
    };
    line
}

/// Fields only the outer line has (interfaces, socket owner, mark, nested packet).
struct Outer<'l, 'a> {
    in_iface: &'l mut &'a [u8],
    out_iface: &'l mut &'a [u8],
    physin: &'l mut Option<&'a [u8]>,
    physout: &'l mut Option<&'a [u8]>,
    mac: &'l mut Option<&'a [u8]>,
    nested: &'l mut Option<&'a [u8]>,
    uid: &'l mut Option<u32>,
    gid: &'l mut Option<u32>,
    mark: &'l mut Option<u32>,
    arp: &'l mut Option<Arp<'a>>,
}

impl<'a> Outer<'_, 'a> {
    /// Returns false when the key is not one of the outer line's own.
    fn field(&mut self, code: u64, val: &'a [u8]) -> Result<bool, LineError> {
        match code {
            K_IN => *self.in_iface = val,
            K_OUT => *self.out_iface = val,
            K_PHYSIN => *self.physin = Some(val),
            K_PHYSOUT => *self.physout = Some(val),
            K_MAC => *self.mac = Some(val),
            K_UID => *self.uid = Some(num(val, "UID")?),
            K_GID => *self.gid = Some(num(val, "GID")?),
            K_MARK => *self.mark = Some(hex(val, "MARK")?),
            K_OPCODE => {
                self.arp.get_or_insert_default().opcode =
                    Some(narrow(num(val, "OPCODE")?, "OPCODE")?);
            }
            K_MACSRC => self.arp.get_or_insert_default().mac_src = Some(val),
            K_MACDST => self.arp.get_or_insert_default().mac_dst = Some(val),
            K_IPSRC => self.arp.get_or_insert_default().ip_src = Some(ip(val, "IPSRC")?),
            K_IPDST => self.arp.get_or_insert_default().ip_dst = Some(ip(val, "IPDST")?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Walk the tokens of `text`, filling `p` (and `outer`, for the outer line).
/// A value that does not parse leaves its field empty and its key in `odd`;
/// `Ok(true)` when that was the last word. `Err` only for a `[` never
/// closed (the rest of the line is not read).
fn scan<'a>(
    text: &'a [u8],
    p: &mut Packet<'a>,
    mut outer: Option<&mut Outer<'_, 'a>>,
    odd: &mut Vec<&'static str>,
) -> Result<bool, LineError> {
    let mut rest = text;
    let mut l4 = false;
    let mut last_odd = false;
    while let Some(&c) = rest.first() {
        match c {
            b' ' => {
                rest = &rest[1..];
                continue;
            }
            b'[' => {
                let close = matching_bracket(rest).ok_or(LineError::Unclosed)?;
                let inner = &rest[1..close];
                if inner.starts_with(b"SRC=")
                    && let Some(o) = outer.as_deref_mut()
                    && o.nested.is_none()
                {
                    *o.nested = Some(trim_ascii_end(inner));
                }
                rest = &rest[close + 1..];
                continue;
            }
            b'(' => {
                // `OPT (hex)` or IPv6 `OPT ( ext headers )`.
                let close = memchr(b')', rest).unwrap_or(rest.len());
                let body = rest[1..close].trim_ascii();
                if l4 {
                    p.tcp_opt = Some(body);
                } else {
                    p.ip_opt = Some(body);
                    for tok in body.split(|&b| b == b' ') {
                        note(colon_token(tok, p), odd);
                    }
                    last_odd = false;
                }
                rest = &rest[(close + 1).min(rest.len())..];
                continue;
            }
            _ => {}
        }
        let whole = rest;
        let (end, eq, code) = split_token(rest);
        let tok = &rest[..end];
        rest = &rest[end..];
        // Tokens are separated by one space: skip it here, not in a loop turn.
        if let [b' ', tail @ ..] = rest {
            rest = tail;
        }
        let r = match eq {
            None => flag(tok, key_code(whole, tok.len()), p, l4),
            Some(eq) if l4 => l4_field(code, &tok[..eq], &tok[eq + 1..], p, outer.as_deref_mut()),
            Some(eq) => l3_field(code, &tok[eq + 1..], p, outer.as_deref_mut(), &mut l4),
        };
        last_odd = note(r, odd);
    }
    Ok(last_odd)
}

/// Keep the key of a value that did not parse; whether there was one.
#[inline]
fn note(r: Result<(), LineError>, odd: &mut Vec<&'static str>) -> bool {
    if let Err(LineError::BadValue { key }) = r {
        odd.push(key);
        return true;
    }
    false
}

/// A `KEY=value` before `PROTO=`: the IP header and the outer fields.
#[inline]
fn l3_field<'a>(
    code: u64,
    val: &'a [u8],
    p: &mut Packet<'a>,
    outer: Option<&mut Outer<'_, 'a>>,
    l4: &mut bool,
) -> Result<(), LineError> {
    match code {
        K_SRC => p.src = Some(ip(val, "SRC")?),
        K_DST => p.dst = Some(ip(val, "DST")?),
        K_LEN => p.len = Some(num(val, "LEN")?),
        K_TOS => p.tos = Some(narrow(hex(val, "TOS")?, "TOS")?),
        K_PREC => p.prec = Some(narrow(hex(val, "PREC")?, "PREC")?),
        K_TTL => p.ttl = Some(narrow(num(val, "TTL")?, "TTL")?),
        K_ID => p.id = Some(num(val, "ID")?),
        K_TC => p.tc = Some(narrow(num(val, "TC")?, "TC")?),
        K_HOPLIMIT => p.hoplimit = Some(narrow(num(val, "HOPLIMIT")?, "HOPLIMIT")?),
        K_FLOWLBL => p.flowlbl = Some(num(val, "FLOWLBL")?),
        K_PROTO => {
            p.proto = Some(LogProto::parse(val));
            *l4 = true;
        }
        _ => {
            if let Some(o) = outer {
                o.field(code, val)?;
            }
        }
    }
    Ok(())
}

/// A `KEY=value` after `PROTO=`: the layer-4 header and the outer fields.
#[inline]
fn l4_field<'a>(
    code: u64,
    key: &[u8],
    val: &'a [u8],
    p: &mut Packet<'a>,
    outer: Option<&mut Outer<'_, 'a>>,
) -> Result<(), LineError> {
    match code {
        K_SPT => p.spt = Some(narrow(num(val, "SPT")?, "SPT")?),
        K_DPT => p.dpt = Some(narrow(num(val, "DPT")?, "DPT")?),
        K_LEN => p.udp_len = Some(num(val, "LEN")?),
        K_SEQ if p.proto == Some(LogProto::Tcp) => p.seq = Some(num(val, "SEQ")?),
        K_ACK => p.ack = Some(num(val, "ACK")?),
        K_WINDOW => p.window = Some(num(val, "WINDOW")?),
        K_RES => p.res = Some(narrow(hex(val, "RES")?, "RES")?),
        K_URGP => p.urgp = Some(num(val, "URGP")?),
        K_TYPE => p.icmp_type = Some(narrow(num(val, "TYPE")?, "TYPE")?),
        K_CODE => p.icmp_code = Some(narrow(num(val, "CODE")?, "CODE")?),
        K_ID => p.icmp_id = Some(num(val, "ID")?),
        K_SEQ => p.icmp_seq = Some(num(val, "SEQ")?),
        K_MTU => p.mtu = Some(num(val, "MTU")?),
        u64::MAX if key == b"PARAMETER" => p.parameter = Some(num(val, "PARAMETER")?),
        K_POINTER => p.parameter = Some(hex_bare(val, "POINTER")?),
        K_GATEWAY => p.gateway = Some(ip(val, "GATEWAY")?),
        K_SPI => p.spi = Some(hex(val, "SPI")?),
        _ => {
            if let Some(o) = outer {
                o.field(code, val)?;
            }
        }
    }
    Ok(())
}

/// Index of the `]` closing the `[` at `s[0]`, counting nested brackets
/// (`INCOMPLETE [65 bytes]` can appear inside a quoted packet).
pub(crate) fn matching_bracket(s: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for i in memchr::memchr2_iter(b'[', b']', s) {
        if s[i] == b'[' {
            depth += 1;
        } else {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

fn flag(tok: &[u8], code: u64, p: &mut Packet<'_>, l4: bool) -> Result<(), LineError> {
    if l4 && p.proto == Some(LogProto::Tcp) {
        let bit = match code {
            F_CWR => TcpFlags::CWR,
            F_ECE => TcpFlags::ECE,
            F_URG => TcpFlags::URG,
            K_ACK => TcpFlags::ACK,
            F_PSH => TcpFlags::PSH,
            F_RST => TcpFlags::RST,
            F_SYN => TcpFlags::SYN,
            F_FIN => TcpFlags::FIN,
            _ => 0,
        };
        if bit != 0 {
            p.tcp_flags.0 |= bit;
            return Ok(());
        }
    }
    match code {
        F_CE => p.ce = true,
        F_DF => p.df = true,
        F_MF => p.mf = true,
        u64::MAX if tok == b"INCOMPLETE" => p.incomplete = true,
        _ => colon_token(tok, p)?,
    }
    Ok(())
}

/// `FRAG:1480` (IPv4 and IPv6) and `ID:0000abcd` (IPv6 fragment header).
fn colon_token(tok: &[u8], p: &mut Packet<'_>) -> Result<(), LineError> {
    if let Some(v) = tok.strip_prefix(b"FRAG:") {
        p.frag = Some(narrow(num(v, "FRAG")?, "FRAG")?);
    } else if let Some(v) = tok.strip_prefix(b"ID:") {
        p.id = Some(hex_bare(v, "ID")?);
    }
    Ok(())
}

fn narrow<T: TryFrom<u32>>(v: u32, key: &'static str) -> Result<T, LineError> {
    T::try_from(v).map_err(|_| LineError::BadValue { key })
}

/// Decimal u32; None on empty, non-digit or overflow.
fn dec(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 10 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    u32::try_from(n).ok()
}

pub(crate) fn num(v: &[u8], key: &'static str) -> Result<u32, LineError> {
    dec(v).ok_or(LineError::BadValue { key })
}

/// `0x1f`
pub(crate) fn hex(v: &[u8], key: &'static str) -> Result<u32, LineError> {
    let digits = v
        .strip_prefix(b"0x")
        .or_else(|| v.strip_prefix(b"0X"))
        .ok_or(LineError::BadValue { key })?;
    hex_bare(digits, key)
}

fn hex_bare(v: &[u8], key: &'static str) -> Result<u32, LineError> {
    if v.is_empty() || v.len() > 8 {
        return Err(LineError::BadValue { key });
    }
    let mut n = 0u32;
    for &b in v {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(LineError::BadValue { key }),
        };
        n = (n << 4) | u32::from(d);
    }
    Ok(n)
}

pub(crate) fn ip(v: &[u8], key: &'static str) -> Result<IpAddr, LineError> {
    if let Some(a) = ipv4(v) {
        return Ok(IpAddr::V4(a));
    }
    if let Some(a) = ipv6_padded(v) {
        return Ok(IpAddr::V6(a));
    }
    // Other IPv6 spellings (NFLOG text, hand-written lines) through str.
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
        .map(IpAddr::V6)
        .ok_or(LineError::BadValue { key })
}

/// IPv6 as the kernel prints it: eight groups of four hex digits
/// (`2001:0db8:0000:...`), read without going through `str`.
fn ipv6_padded(v: &[u8]) -> Option<Ipv6Addr> {
    if v.len() != 39 {
        return None;
    }
    let mut bits = 0u128;
    for (i, &b) in v.iter().enumerate() {
        if i % 5 == 4 {
            if b != b':' {
                return None;
            }
            continue;
        }
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        bits = bits << 4 | u128::from(d);
    }
    Some(Ipv6Addr::from_bits(bits))
}

/// Dotted quad by hand (`Ipv4Addr::parse_ascii` is not stable).
pub(crate) fn ipv4(v: &[u8]) -> Option<Ipv4Addr> {
    let mut o = [0u8; 4];
    let mut rest = v;
    for (k, slot) in o.iter_mut().enumerate() {
        let (n, used) = octet(rest)?;
        *slot = n;
        rest = &rest[used..];
        if k < 3 {
            rest = rest.strip_prefix(b".")?;
        }
    }
    rest.is_empty().then(|| Ipv4Addr::from(o))
}

/// One to three digits at the start of `s`, at most 255.
#[inline]
fn octet(s: &[u8]) -> Option<(u8, usize)> {
    let d0 = s.first()?.wrapping_sub(b'0');
    if d0 > 9 {
        return None;
    }
    let mut n = u32::from(d0);
    let mut i = 1;
    while i < 3 {
        match s.get(i) {
            Some(&b) if b.is_ascii_digit() => {
                n = n * 10 + u32::from(b - b'0');
                i += 1;
            }
            _ => break,
        }
    }
    Some((u8::try_from(n).ok()?, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LogLine<'_> {
        let l = parse(s.as_bytes()).expect("is a firewall line");
        assert!(l.unread.fields.is_empty(), "{s}: {:?}", l.unread);
        l
    }

    fn v4(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    const TCP_SYN: &str = "RULE 16 -- DENY IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.7 DST=192.0.2.10 LEN=60 TOS=0x10 PREC=0x20 TTL=51 ID=54321 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ";

    #[test]
    fn tcp_syn() {
        let l = p(TCP_SYN);
        assert_eq!(l.prefix, b"RULE 16 -- DENY ");
        assert_eq!(l.prefix_trimmed(), b"RULE 16 -- DENY");
        assert_eq!(l.in_iface, b"eth0");
        assert_eq!(l.out_iface, b"");
        assert_eq!(l.mac, Some(&b"52:54:00:12:34:56:52:54:00:65:43:21:08:00"[..]));
        let k = &l.packet;
        assert_eq!(k.src, v4("203.0.113.7"));
        assert_eq!(k.dst, v4("192.0.2.10"));
        assert_eq!(
            (k.len, k.tos, k.prec, k.ttl, k.id),
            (Some(60), Some(0x10), Some(0x20), Some(51), Some(54321))
        );
        assert!(k.df && !k.mf && !k.ce);
        assert_eq!(k.proto, Some(LogProto::Tcp));
        assert_eq!(
            (k.spt, k.dpt, k.window, k.res, k.urgp),
            (Some(51234), Some(22), Some(64240), Some(0), Some(0))
        );
        assert_eq!(k.tcp_flags, TcpFlags(TcpFlags::SYN));
        assert_eq!(k.seq, None);
    }

    #[test]
    fn tcp_with_seq_ack_flags_and_options() {
        let l = p(
            "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=1 DPT=2 SEQ=4000000000 ACK=17 WINDOW=501 RES=0x00 ACK PSH FIN URGP=0 OPT (0101080A) ",
        );
        let k = &l.packet;
        assert_eq!(l.prefix, b"");
        assert_eq!((k.seq, k.ack), (Some(4_000_000_000), Some(17)));
        assert!(k.tcp_flags.has(TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN));
        assert!(!k.tcp_flags.has(TcpFlags::SYN));
        assert_eq!(k.tcp_flags.to_string(), "ACK,PSH,FIN");
        assert_eq!(k.tcp_opt, Some(&b"0101080A"[..]));
        assert_eq!(k.ip_opt, None);
    }

    #[test]
    fn udp_two_len() {
        let l = p(
            "[UFW BLOCK] IN=eth0 OUT= MAC=ff:ff:ff:ff:ff:ff:00:11:22:33:44:55:08:00 SRC=192.168.1.20 DST=192.168.1.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=4242 PROTO=UDP SPT=137 DPT=137 LEN=58 ",
        );
        let k = &l.packet;
        assert_eq!(k.len, Some(78), "first LEN= is the IP length");
        assert_eq!(k.udp_len, Some(58), "second LEN= is the UDP length");
        assert_eq!((k.spt, k.dpt), (Some(137), Some(137)));
        assert_eq!(l.prefix_trimmed(), b"[UFW BLOCK]");
    }

    #[test]
    fn icmp_echo_two_id() {
        let l = p(
            "RULE 3 -- ACCEPT IN=eth1 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 SRC=198.51.100.9 DST=192.0.2.1 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=11111 DF PROTO=ICMP TYPE=8 CODE=0 ID=2222 SEQ=3 ",
        );
        let k = &l.packet;
        assert_eq!(k.id, Some(11111), "first ID= is the IP id");
        assert_eq!(k.icmp_id, Some(2222), "second ID= is the echo id");
        assert_eq!((k.icmp_type, k.icmp_code, k.icmp_seq), (Some(8), Some(0), Some(3)));
        assert_eq!(k.seq, None);
    }

    #[test]
    fn icmp_port_unreachable_nested() {
        let l = p(
            "RULE 0 -- DENY IN=eth0 OUT= SRC=192.0.2.1 DST=203.0.113.5 LEN=92 TOS=0x00 PREC=0xC0 TTL=64 ID=999 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.5 DST=192.0.2.1 LEN=64 TOS=0x00 PREC=0x00 TTL=1 ID=7 PROTO=UDP SPT=40000 DPT=33434 LEN=44 ] MTU=1400 UID=0 GID=0 ",
        );
        let k = &l.packet;
        assert_eq!(k.src, v4("192.0.2.1"));
        assert_eq!(k.dst, v4("203.0.113.5"));
        assert_eq!((k.len, k.ttl, k.id, k.prec), (Some(92), Some(64), Some(999), Some(0xC0)));
        assert_eq!((k.icmp_type, k.icmp_code, k.mtu), (Some(3), Some(3), Some(1400)));
        assert_eq!((k.spt, k.dpt, k.udp_len), (None, None, None), "nested keys stay nested");
        assert_eq!((l.uid, l.gid), (Some(0), Some(0)));
        let n = l.nested_packet().unwrap().unwrap();
        assert_eq!(n.src, v4("203.0.113.5"));
        assert_eq!((n.len, n.ttl, n.id), (Some(64), Some(1), Some(7)));
        assert_eq!(
            (n.proto, n.spt, n.dpt, n.udp_len),
            (Some(LogProto::Udp), Some(40000), Some(33434), Some(44))
        );
    }

    #[test]
    fn ipv6_zero_padded() {
        let l = p(
            "RULE 7 -- REJECT IN=eth0 OUT= MAC=33:33:00:00:00:01:00:11:22:33:44:55:86:dd SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:00ff LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=123456 PROTO=TCP SPT=40000 DPT=443 WINDOW=65535 RES=0x00 SYN URGP=0 ",
        );
        let k = &l.packet;
        assert_eq!(k.src, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(k.dst, Some("2001:db8::ff".parse().unwrap()));
        assert_eq!(
            (k.len, k.tc, k.hoplimit, k.flowlbl),
            (Some(72), Some(0), Some(64), Some(123_456))
        );
        assert_eq!(k.ttl, None);
        assert_eq!(k.dpt, Some(443));
    }

    #[test]
    fn icmpv6_echo_and_fragment() {
        let l = p(
            "IN=eth0 OUT= SRC=fe80:0000:0000:0000:0000:0000:0000:0001 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=1280 TC=0 HOPLIMIT=255 FLOWLBL=0 FRAG:1232 ID:0000abcd PROTO=ICMPv6 TYPE=128 CODE=0 ID=5 SEQ=6 ",
        );
        let k = &l.packet;
        assert_eq!((k.frag, k.id), (Some(1232), Some(0xabcd)));
        assert_eq!(
            (k.proto, k.icmp_type, k.icmp_id, k.icmp_seq),
            (Some(LogProto::Icmpv6), Some(128), Some(5), Some(6))
        );
    }

    #[test]
    fn bridge_physdev() {
        let l = p(
            "RULE 12 -- DENY IN=br0 OUT=br0 PHYSIN=vnet0 PHYSOUT=vnet1 MAC=52:54:00:aa:bb:cc:52:54:00:dd:ee:ff:08:00 SRC=10.1.0.5 DST=10.1.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5555 DPT=80 WINDOW=29200 RES=0x00 SYN URGP=0 ",
        );
        assert_eq!((l.in_iface, l.out_iface), (&b"br0"[..], &b"br0"[..]));
        assert_eq!((l.physin, l.physout), (Some(&b"vnet0"[..]), Some(&b"vnet1"[..])));
    }

    #[test]
    fn output_uid_gid_mark() {
        let l = p(
            "RULE 4 -- DENY IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.20 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4321 DF PROTO=TCP SPT=43210 DPT=20003 WINDOW=64240 RES=0x00 SYN URGP=0 UID=1021 GID=1021 MARK=0x1f ",
        );
        assert_eq!(l.in_iface, b"");
        assert_eq!((l.uid, l.gid, l.mark), (Some(1021), Some(1021), Some(0x1f)));
    }

    #[test]
    fn fragment_ip_options_ce_mf() {
        let l = p(
            "IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1500 TOS=0x00 PREC=0x00 TTL=60 ID=77 CE MF FRAG:185 OPT (07270400) PROTO=UDP ",
        );
        let k = &l.packet;
        assert!(k.ce && k.mf && !k.df);
        assert_eq!(k.frag, Some(185));
        assert_eq!(k.ip_opt, Some(&b"07270400"[..]));
        assert_eq!(k.proto, Some(LogProto::Udp));
        assert_eq!(k.dpt, None);
    }

    #[test]
    fn ah_esp_other_proto() {
        let l =
            p("IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=100 TTL=60 ID=1 PROTO=ESP SPI=0x1234abcd ");
        assert_eq!((l.packet.proto, l.packet.spi), (Some(LogProto::Esp), Some(0x1234_abcd)));
        let l = p("IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=100 TTL=60 ID=1 PROTO=47 ");
        assert_eq!(l.packet.proto, Some(LogProto::Num(47)));
    }

    #[test]
    fn arp_line() {
        let l = p(
            "ARPSPOOF IN=br0 OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:aa:bb:cc:08:06 ARP HTYPE=1 PTYPE=0x0800 OPCODE=2 MACSRC=52:54:00:aa:bb:cc IPSRC=10.1.0.1 MACDST=00:00:00:00:00:00 IPDST=10.1.0.5 ",
        );
        let a = l.arp.unwrap();
        assert_eq!(a.opcode, Some(2));
        assert_eq!(a.ip_src, v4("10.1.0.1"));
        assert_eq!(l.packet.src, None);
    }

    #[test]
    fn ufw_variants_and_firewalld() {
        for pre in [
            "[UFW ALLOW] ",
            "[UFW LIMIT BLOCK] ",
            "[UFW AUDIT] ",
            "filter_IN_public_REJECT: ",
            "FINAL_REJECT: ",
        ] {
            let s =
                format!("{pre}IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 PROTO=TCP SPT=1 DPT=2 ");
            assert_eq!(p(&s).prefix, pre.as_bytes());
        }
    }

    #[test]
    fn prefix_without_space_and_containing_in() {
        let l = p("DROPIN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 PROTO=TCP ");
        assert_eq!(l.prefix, b"DROP");
        let l = p("MY-IN=X IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 ");
        assert_eq!(l.prefix, b"MY-IN=X ");
    }

    #[test]
    fn not_firewall_lines() {
        assert_eq!(parse(b"usb 1-1: new high-speed USB device"), None);
        assert_eq!(parse(b"IN=eth0"), None);
        assert_eq!(parse(b""), None);
    }

    fn unread(s: &str) -> (Vec<&'static str>, bool) {
        let l = parse(s.as_bytes()).expect("is a firewall line");
        (l.unread.fields, l.unread.cut)
    }

    #[test]
    fn kernel_lines_are_read_whole() {
        for s in [TCP_SYN, TCP_SYN.trim_end()] {
            assert!(parse(s.as_bytes()).unwrap().unread.is_empty(), "{s}");
        }
    }

    /// A value that does not parse (people redact addresses before
    /// sharing logs) leaves that field empty and every other one read.
    #[test]
    fn odd_values_are_kept_aside() {
        let s = "[UFW BLOCK] IN=eth0 OUT= MAC=00:11 SRC=45.55.2.201 DST=xxx LEN=60 TOS=0x00 PREC=0x00 TTL=300 ID=1 DF PROTO=TCP SPT=40788 DPT=3306 WINDOW=1 RES=0x00 SYN URGP=0 ";
        let l = parse(s.as_bytes()).unwrap();
        assert_eq!(l.unread, Unread { fields: vec!["DST", "TTL"], cut: false });
        let k = &l.packet;
        assert_eq!((k.src, k.dst, k.ttl), (v4("45.55.2.201"), None, None));
        assert_eq!((k.proto, k.spt, k.dpt), (Some(LogProto::Tcp), Some(40788), Some(3306)));
        assert_eq!(l.prefix_trimmed(), b"[UFW BLOCK]");
        assert_eq!(
            unread("IN=eth0 OUT= SRC=x.x.x.x DST=1.2.3.4 LEN=1 PROTO=47 "),
            (vec!["SRC"], false)
        );
        assert_eq!(
            unread("IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 PROTO=UDP SPT=1 DPT=70000 LEN=8 "),
            (vec!["DPT"], false)
        );
    }

    /// Lines cut by the ring, syslog or a shipper are read up to the cut;
    /// a last word without its space may be half a value and is dropped.
    #[test]
    fn cut_lines_keep_what_they_have() {
        let l = parse(&TCP_SYN.as_bytes()[..TCP_SYN.find(" DPT=").unwrap() + 7]).unwrap();
        assert_eq!(l.unread, Unread { fields: vec![], cut: true });
        assert_eq!((l.packet.spt, l.packet.dpt), (Some(51234), None), "DPT=2 of DPT=22 is dropped");
        let l = parse(&TCP_SYN.as_bytes()[..TCP_SYN.find(" LEN=").unwrap() - 2]).unwrap();
        assert_eq!((l.packet.src, l.packet.dst, l.unread.cut), (v4("203.0.113.7"), None, true));
        let l = parse(b"RULE 16 -- DENY IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.10 ").unwrap();
        assert_eq!(
            (l.packet.dst, l.unread.cut),
            (v4("192.0.2.10"), true),
            "a space ends a whole word"
        );
        assert_eq!(unread("IN=eth0 OUT= MAC=00:11"), (vec![], true));
        assert_eq!(unread("IN=eth0 OUT= SRC=1.2.3"), (vec![], true));
        assert_eq!(
            unread(
                "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 PROTO=ICMP TYPE=3 CODE=1 [SRC=1.2.3.4 "
            ),
            (vec![], true)
        );
        // Later fragments and short packets end early by themselves.
        assert_eq!(
            unread(
                "IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1500 TTL=60 ID=77 MF FRAG:185 PROTO=UDP "
            ),
            (vec![], false)
        );
        assert_eq!(
            unread(
                "IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1500 TTL=60 ID=77 PROTO=TCP INCOMPLETE [8 bytes] "
            ),
            (vec![], false)
        );
    }

    /// Cut anywhere, a kernel line never reads a value it does not hold
    /// whole, and says it was cut unless it ends where the kernel ends it.
    #[test]
    fn a_cut_never_changes_a_value() {
        let full = p(TCP_SYN);
        let f = &full.packet;
        let start = TCP_SYN.find(" OUT=").unwrap() + 5;
        for n in start..TCP_SYN.len() {
            let l = parse(&TCP_SYN.as_bytes()[..n]).unwrap();
            let k = &l.packet;
            let text = &TCP_SYN[..n];
            assert!(l.unread.fields.is_empty(), "{text}: {:?}", l.unread);
            assert_eq!(l.unread.cut, !text.ends_with("URGP=0"), "{text}");
            assert!(l.mac.is_none() || l.mac == full.mac, "{text}");
            for (cut, whole) in [(k.src, f.src), (k.dst, f.dst)] {
                assert!(cut.is_none() || cut == whole, "{text}");
            }
            for (cut, whole) in
                [(k.len, f.len), (k.id, f.id), (k.window, f.window), (k.urgp, f.urgp)]
            {
                assert!(cut.is_none() || cut == whole, "{text}");
            }
            for (cut, whole) in [(k.spt, f.spt), (k.dpt, f.dpt)] {
                assert!(cut.is_none() || cut == whole, "{text}");
            }
            for (cut, whole) in [(k.tos, f.tos), (k.prec, f.prec), (k.ttl, f.ttl), (k.res, f.res)] {
                assert!(cut.is_none() || cut == whole, "{text}");
            }
        }
    }

    #[test]
    fn nested_packet_errors() {
        let l = parse(b"IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 PROTO=ICMP TYPE=3 CODE=1 [SRC=1.2.3 DST=1.2.3.4 ] ").unwrap();
        assert!(l.unread.is_empty());
        assert_eq!(l.nested_packet(), Some(Err(LineError::BadValue { key: "SRC" })));
    }

    #[test]
    fn split_token_matches_naive() {
        let cases: [&[u8]; 12] = [
            b"SRC=1.2.3.4 DST",
            b"ID=5",
            b"DF PROTO",
            b"PARAMETER=7 x",
            b"HOPLIMIT=64",
            b"=x",
            b"INCOMPLETE [",
            b"A=B=C D",
            b"SYN",
            b"MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC",
            b"FRAG:123 ",
            b"12345678=9",
        ];
        for s in cases {
            let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
            let eq = s[..end].iter().position(|&b| b == b'=');
            let code = eq.map_or(0, |e| pack(&s[..e]));
            assert_eq!(split_token(s), (end, eq, code), "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn find_space_matches_naive() {
        for s in [
            &b""[..],
            b" ",
            b"abc",
            b"abcdefgh",
            b"abcdefgh ",
            b"abcdefghijklmnop q",
            b"a b",
            b"\xa0\xa0 x",
            b"12345678\x20",
        ] {
            assert_eq!(
                find_space(s),
                s.iter().position(|&b| b == b' ').unwrap_or(s.len()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn ipv4_parser() {
        assert_eq!(ipv4(b"0.0.0.0"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        assert_eq!(ipv4(b"255.255.255.255"), Some(Ipv4Addr::new(255, 255, 255, 255)));
        for bad in [
            &b"256.1.1.1"[..],
            b"1.1.1",
            b"1.1.1.1.1",
            b"1..1.1",
            b"1.1.1.",
            b"a.b.c.d",
            b"1111.1.1.1",
            b"",
        ] {
            assert_eq!(ipv4(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let env = crate::envelope::strip(&bytes);
            if let Some(l) = parse(&env.message) {
                let _ = l.nested_packet();
            }
        }

        #[test]
        fn mangled_firewall_lines_never_panic(cut in 0usize..400, junk in "[ \\[\\]()=A-Z0-9.:x]{0,40}") {
            let base = "<4>[ 1.5] RULE 0 -- DENY IN=eth0 OUT= SRC=192.0.2.1 DST=203.0.113.5 LEN=92 TOS=0x00 PREC=0xC0 TTL=64 ID=999 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.5 DST=192.0.2.1 LEN=64 PROTO=UDP SPT=4 DPT=3 LEN=44 ] MTU=1400 OPT (00) ";
            let cut = cut.min(base.len());
            let s = format!("{}{}{}", &base[..cut], junk, &base[cut..]);
            let env = crate::envelope::strip(s.as_bytes());
            if let Some(l) = parse(&env.message) {
                let _ = l.nested_packet();
            }
        }
    }
}
