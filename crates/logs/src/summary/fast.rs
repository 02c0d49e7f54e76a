//! The summary's own reader of a LOG line: it keeps only what a summary
//! counts (prefix, interfaces, source, protocol, destination port) and
//! checks every other value as the full parser would, without storing it.
//!
//! It follows the order in which the kernel prints the fields
//! (`nf_log_syslog.c`): each key is one comparison, each value is read up
//! to the space that ends it, so a line is walked once with no dispatch.
//! It never decides that a line is read in part: a line off that order (ARP,
//! IP options, fragments, a value that does not parse, keys moved by
//! hand) comes back as [`Read::Unsure`] and the full parser
//! ([`crate::line::parse`]) decides. So every line is counted exactly as
//! the full parser counts it; the kernel's own lines just cost far less.

use std::net::IpAddr;

use crate::line::{self, LogLine, LogProto};

/// What a summary counts of one firewall line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields<'a> {
    /// Prefix without trailing spaces.
    pub prefix: &'a [u8],
    pub in_iface: &'a [u8],
    pub out_iface: &'a [u8],
    /// Source address as [`addr_key`].
    pub src: Option<u128>,
    pub proto: Option<LogProto>,
    pub dpt: Option<u16>,
}

impl<'a> Fields<'a> {
    /// The same fields taken from a fully parsed line.
    pub fn of(l: &LogLine<'a>) -> Fields<'a> {
        Fields {
            prefix: l.prefix_trimmed(),
            in_iface: l.in_iface,
            out_iface: l.out_iface,
            src: l.packet.src.map(addr_key),
            proto: l.packet.proto,
            dpt: l.packet.dpt,
        }
    }
}

/// An address as one integer (IPv4 mapped into IPv6): cheaper to hash
/// than an `IpAddr`, and one map holds both families.
pub(crate) fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

/// The verdict of [`read`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<'a> {
    /// A well-formed firewall line.
    Firewall(Fields<'a>),
    /// Not a firewall line (no `IN=... OUT=`).
    Other,
    /// Ask the full parser.
    Unsure,
}

/// Read one kernel message (envelope already stripped).
pub(crate) fn read(msg: &[u8]) -> Read<'_> {
    let Some(at) = line::find_fields(msg) else { return Read::Other };
    match fields(msg, at) {
        Some(f) => Read::Firewall(f),
        None => Read::Unsure,
    }
}

/// The fields from `IN=` on, in the kernel's order.
fn fields(msg: &[u8], at: usize) -> Option<Fields<'_>> {
    let mut c = Cursor(&msg[at..]);
    c.key(b"IN=")?;
    let in_iface = c.text();
    c.key(b"OUT=")?;
    let out_iface = c.text();
    for bridge_or_mac in [&b"PHYSIN="[..], b"PHYSOUT=", b"MAC="] {
        if c.key(bridge_or_mac).is_some() {
            c.text();
        }
    }
    c.key(b"SRC=")?;
    let src = c.addr()?;
    c.key(b"DST=")?;
    c.addr()?;
    c.key(b"LEN=")?;
    c.dec::<u32>()?;
    if c.key(b"TOS=").is_some() {
        c.hex::<u8>()?;
        c.key(b"PREC=")?;
        c.hex::<u8>()?;
        c.key(b"TTL=")?;
        c.dec::<u8>()?;
        c.key(b"ID=")?;
        c.dec::<u32>()?;
    } else {
        c.key(b"TC=")?;
        c.dec::<u8>()?;
        c.key(b"HOPLIMIT=")?;
        c.dec::<u8>()?;
        c.key(b"FLOWLBL=")?;
        c.dec::<u32>()?;
    }
    c.flags(); // CE DF MF
    c.key(b"PROTO=")?;
    let proto = LogProto::parse(c.text());
    let mut dpt = None;
    match proto {
        LogProto::Tcp => {
            c.key(b"SPT=")?;
            c.dec::<u16>()?;
            c.key(b"DPT=")?;
            dpt = Some(c.dec::<u16>()?);
            if c.key(b"SEQ=").is_some() {
                c.dec::<u32>()?;
                c.key(b"ACK=")?;
                c.dec::<u32>()?;
            }
            c.key(b"WINDOW=")?;
            c.dec::<u32>()?;
            c.key(b"RES=")?;
            c.hex::<u8>()?;
            c.flags(); // SYN ACK FIN ...
            c.key(b"URGP=")?;
            c.dec::<u32>()?;
        }
        LogProto::Udp | LogProto::UdpLite => {
            c.key(b"SPT=")?;
            c.dec::<u16>()?;
            c.key(b"DPT=")?;
            dpt = Some(c.dec::<u16>()?);
            c.key(b"LEN=")?;
            c.dec::<u32>()?;
        }
        LogProto::Icmp | LogProto::Icmpv6 => {
            c.key(b"TYPE=")?;
            c.dec::<u8>()?;
            c.key(b"CODE=")?;
            c.dec::<u8>()?;
            if c.key(b"ID=").is_some() {
                c.dec::<u32>()?;
                c.key(b"SEQ=")?;
                c.dec::<u32>()?;
            }
            // An error quotes the packet: the full parser keeps it as
            // text and checks only that the bracket is closed.
            if c.0.first() == Some(&b'[') {
                c.quoted()?;
            }
            if c.key(b"MTU=").is_some() {
                c.dec::<u32>()?;
            }
        }
        _ => return None,
    }
    if c.key(b"UID=").is_some() {
        c.dec::<u32>()?;
        c.key(b"GID=")?;
        c.dec::<u32>()?;
    }
    if c.key(b"MARK=").is_some() {
        c.hex::<u32>()?;
    }
    c.0.iter().all(|&b| b == b' ').then_some(Fields {
        prefix: line::trim_ascii_end(&msg[..at]),
        in_iface,
        out_iface,
        src: Some(src),
        proto: Some(proto),
        dpt,
    })
}

/// The rest of the line. Every read takes a value up to its space and the
/// one space after it; the full parser splits tokens at single spaces
/// the same way.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// Take `key` (`SRC=`) when the text goes on with it.
    #[inline(always)]
    fn key(&mut self, key: &[u8]) -> Option<()> {
        self.0 = self.0.strip_prefix(key)?;
        Some(())
    }

    /// Past the value that ends here: at the space (taken) or the end.
    #[inline(always)]
    fn skip(&mut self, n: usize) {
        self.0 = self.0.get(n + 1..).unwrap_or_default();
    }

    /// A value taken as it is (interface names, MAC, protocol).
    #[inline(always)]
    fn text(&mut self) -> &'a [u8] {
        let n = line::find_space(self.0);
        let v = &self.0[..n];
        self.skip(n);
        v
    }

    /// Tokens of capital letters only (`DF`, `SYN`): flags, which never
    /// fail in the full parser.
    #[inline(always)]
    fn flags(&mut self) {
        loop {
            let n = first_not(word(self.0), b'A', 26);
            if n == 0 || n == 8 || !matches!(self.0.get(n), None | Some(b' ')) {
                return;
            }
            self.skip(n);
        }
    }

    /// A decimal, as `line::num` reads it (one to ten digits, a u32),
    /// that fits `T`. Up to eight digits are converted at once.
    #[inline(always)]
    fn dec<T: TryFrom<u32>>(&mut self) -> Option<T> {
        let x = word(self.0);
        let n = first_not(x, b'0', 10);
        if n == 8 {
            let n = line::find_space(self.0);
            let v = line::num(&self.0[..n], "").ok()?;
            self.skip(n);
            return T::try_from(v).ok();
        }
        if n == 0 || !matches!(self.0.get(n), None | Some(b' ')) {
            return None;
        }
        self.skip(n);
        T::try_from(digits_value(x, n)).ok()
    }

    /// `0x..`, as `line::hex` reads it (one to eight hex digits), that
    /// fits `T`.
    #[inline(always)]
    fn hex<T: TryFrom<u32>>(&mut self) -> Option<T> {
        let digits = self.0.strip_prefix(b"0x").or_else(|| self.0.strip_prefix(b"0X"))?;
        let mut n = 0u32;
        let mut i = 0;
        while let Some(&b) = digits.get(i) {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                b' ' => break,
                _ => return None,
            };
            n = n << 4 | u32::from(d);
            i += 1;
            if i > 8 {
                return None;
            }
        }
        if i == 0 {
            return None;
        }
        self.skip(i + 2);
        T::try_from(n).ok()
    }

    /// An address as `line::ip` reads it, as [`addr_key`].
    #[inline(always)]
    fn addr(&mut self) -> Option<u128> {
        if let Some((a, n)) = ipv4(self.0) {
            self.skip(n);
            return Some(u128::from(a) | 0xffff << 32);
        }
        let n = line::find_space(self.0);
        let a = line::ip(&self.0[..n], "").ok()?;
        self.skip(n);
        Some(addr_key(a))
    }

    /// `[...]`, nested brackets counted, then a space or the end.
    fn quoted(&mut self) -> Option<()> {
        let end = line::matching_bracket(self.0)? + 1;
        if self.0.get(end).is_some_and(|&b| b != b' ') {
            return None;
        }
        self.skip(end);
        Some(())
    }
}

/// A dotted quad followed by a space or the end, as `line::ipv4` reads
/// it (one to three digits per octet, at most 255): its bits and length.
fn ipv4(s: &[u8]) -> Option<(u32, usize)> {
    let digit = |i: usize| s.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let (mut bits, mut i) = (0u32, 0);
    for k in 0..4 {
        let mut octet = u32::from(digit(i)?);
        i += 1;
        for _ in 0..2 {
            let Some(d) = digit(i) else { break };
            octet = octet * 10 + u32::from(d);
            i += 1;
        }
        if octet > 255 {
            return None;
        }
        bits = bits << 8 | octet;
        match (k, s.get(i)) {
            (0..3, Some(b'.')) => i += 1,
            (3, None | Some(b' ')) => {}
            _ => return None,
        }
    }
    Some((bits, i))
}

/// The first 8 bytes of `s` as an integer, zero-padded past its end.
#[inline(always)]
fn word(s: &[u8]) -> u64 {
    match s.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        // A loop, not copy_from_slice: that would be a memcpy call.
        None => s.iter().rev().fold(0, |w, &b| w << 8 | u64::from(b)),
    }
}

/// Index of the first of the 8 bytes of `x` outside `lo..lo + span`
/// (span below 128), or 8. Borrows and carries between bytes only reach
/// bytes above the first one outside, which is the only one used.
#[inline(always)]
fn first_not(x: u64, lo: u8, span: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let t = x.wrapping_sub(ONES * u64::from(lo));
    let out = (t.wrapping_add(ONES * u64::from(128 - span)) | t) & (ONES << 7);
    (out.trailing_zeros() / 8) as usize
}

/// The value of the `n` (1 to 8) decimal digits at the start of `x`, in
/// three multiply steps instead of a loop.
#[inline(always)]
fn digits_value(x: u64, n: usize) -> u32 {
    let d = (x.wrapping_sub(0x3030_3030_3030_3030)) << (8 * (8 - n));
    let d = (d.wrapping_mul(10) + (d >> 8)) & 0x00ff_00ff_00ff_00ff;
    let d = (d.wrapping_mul(100) + (d >> 16)) & 0x0000_ffff_0000_ffff;
    let d = (d.wrapping_mul(10000) + (d >> 32)) & 0xffff_ffff;
    d as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read `msg` both ways: when the fast reader answers, it must agree
    /// with the full parser.
    fn both(msg: &str) -> Read<'_> {
        let r = read(msg.as_bytes());
        match (&r, line::parse(msg.as_bytes())) {
            (Read::Firewall(f), Some(l)) => {
                assert_eq!(*f, Fields::of(&l), "{msg}");
                assert!(l.unread.is_empty(), "fast took a line read in part: {msg}");
            }
            (Read::Other, None) | (Read::Unsure, _) => {}
            (r, full) => panic!("fast {r:?} but full {full:?}: {msg}"),
        }
        r
    }

    const KERNEL: [&str; 9] = [
        "RULE 16 -- DENY IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=54321 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ",
        "IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=52 TOS=0x00 PREC=0x00 TTL=64 ID=0 DF PROTO=TCP SPT=1 DPT=2 SEQ=4000000000 ACK=17 WINDOW=501 RES=0x00 ACK PSH FIN URGP=0 ",
        "[UFW BLOCK] IN=eth0 OUT= MAC=ff:ff:ff:ff:ff:ff:00:11:22:33:44:55:08:00 SRC=192.168.1.20 DST=192.168.1.255 LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID=4242 PROTO=UDP SPT=137 DPT=137 LEN=58 ",
        "RULE 3 -- ACCEPT IN=eth1 OUT= SRC=198.51.100.9 DST=192.0.2.1 LEN=84 TOS=0x00 PREC=0x00 TTL=63 ID=11111 DF PROTO=ICMP TYPE=8 CODE=0 ID=2222 SEQ=3 ",
        "RULE 0 -- DENY IN=eth0 OUT= SRC=192.0.2.1 DST=203.0.113.5 LEN=92 TOS=0x00 PREC=0xC0 TTL=64 ID=999 PROTO=ICMP TYPE=3 CODE=3 [SRC=203.0.113.5 DST=192.0.2.1 LEN=64 TOS=0x00 PREC=0x00 TTL=1 ID=7 PROTO=UDP SPT=40000 DPT=33434 LEN=44 ] MTU=1400 UID=0 GID=0 ",
        "RULE 7 -- REJECT IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:00ff LEN=72 TC=0 HOPLIMIT=64 FLOWLBL=123456 PROTO=TCP SPT=40000 DPT=443 WINDOW=65535 RES=0x00 SYN URGP=0 ",
        "RULE 12 -- DENY IN=br0 OUT=br0 PHYSIN=vnet0 PHYSOUT=vnet1 MAC=52:54:00:aa:bb:cc:52:54:00:dd:ee:ff:08:00 SRC=10.1.0.5 DST=10.1.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=5555 DPT=80 WINDOW=29200 RES=0x00 SYN URGP=0 ",
        "RULE 4 -- DENY IN= OUT=eth0 SRC=192.0.2.10 DST=198.51.100.20 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4321 DF PROTO=TCP SPT=43210 DPT=20003 WINDOW=64240 RES=0x00 SYN URGP=0 UID=1021 GID=1021 MARK=0x1f ",
        "IN=eth0 OUT= SRC=fe80:0000:0000:0000:0000:0000:0000:0001 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=64 TC=0 HOPLIMIT=255 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=5 SEQ=6",
    ];

    #[test]
    fn kernel_lines_are_read_fast_and_agree() {
        for msg in KERNEL {
            assert!(matches!(both(msg), Read::Firewall(_)), "{msg}");
        }
        let Read::Firewall(f) = both(KERNEL[0]) else { unreachable!() };
        assert_eq!(
            (f.prefix, f.in_iface, f.dpt),
            (&b"RULE 16 -- DENY"[..], &b"eth0"[..], Some(22))
        );
    }

    #[test]
    fn unusual_lines_go_to_the_full_parser() {
        for msg in [
            // Fragments, IP options, ARP, a cut line, bad values.
            "IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1500 TOS=0x00 PREC=0x00 TTL=60 ID=77 CE MF FRAG:185 OPT (07270400) PROTO=UDP ",
            "IN=eth0 OUT= SRC=fe80:0000:0000:0000:0000:0000:0000:0001 DST=ff02:0000:0000:0000:0000:0000:0000:0001 LEN=1280 TC=0 HOPLIMIT=255 FLOWLBL=0 FRAG:1232 ID:0000abcd PROTO=ICMPv6 TYPE=128 CODE=0 ID=5 SEQ=6 ",
            "ARPSPOOF IN=br0 OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:aa:bb:cc:08:06 ARP HTYPE=1 PTYPE=0x0800 OPCODE=2 MACSRC=52:54:00:aa:bb:cc IPSRC=10.1.0.1 MACDST=00:00:00:00:00:00 IPDST=10.1.0.5 ",
            "RULE 16 -- DENY IN=eth0 OUT= MAC=00:11",
            "IN=eth0 OUT= SRC=1.2.3 DST=1.2.3.4 LEN=1 TOS=0x00 PREC=0x00 TTL=1 ID=1 PROTO=TCP ",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 TOS=0x00 PREC=0x00 TTL=300 ID=1 PROTO=UDP SPT=1 DPT=2 LEN=3",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 TOS=0x00 PREC=0x00 TTL=3 ID=1 PROTO=UDP SPT=1 DPT=70000 LEN=3",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 TOS=0x100 PREC=0x00 TTL=3 ID=1 PROTO=UDP SPT=1 DPT=7 LEN=3",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=1.2.3.4 LEN=1 TOS=0x00 PREC=0x00 TTL=3 ID=1 PROTO=ICMP TYPE=3 CODE=1 [SRC=1.2.3.4",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 PROTO=TCP SPT=1 DPT=2 ",
            "IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=47 ",
        ] {
            assert_eq!(both(msg), Read::Unsure, "{msg}");
        }
        assert_eq!(both("usb 1-1: new high-speed USB device"), Read::Other);
    }

    #[test]
    fn swar_digits_match_plain_loops() {
        for s in
            ["", "0", "7 ", "42", "255.", "12345678", "123456789", "9x", "0000001 ", "99999999"]
        {
            let x = word(s.as_bytes());
            let n = s.bytes().take(8).take_while(u8::is_ascii_digit).count();
            assert_eq!(first_not(x, b'0', 10), n, "{s:?}");
            if n > 0 {
                assert_eq!(u64::from(digits_value(x, n)), s[..n].parse::<u64>().unwrap(), "{s:?}");
            }
        }
        for s in ["SYN URGP", "DF", "A", "ACKPSHFIN", "Df", "@", "Z["] {
            let n = s.bytes().take(8).take_while(u8::is_ascii_uppercase).count();
            assert_eq!(first_not(word(s.as_bytes()), b'A', 26), n, "{s:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Cut, splice and garble kernel lines: the fast reader may pass
        /// a line on, but never disagree with the full parser.
        #[test]
        fn mangled_lines_agree(which in 0usize..9, cut in 0usize..400, len in 0usize..6, junk in "[ \\[\\]()=A-Z0-9.:x]{0,12}") {
            let base = KERNEL[which];
            let cut = cut.min(base.len());
            let end = (cut + len).min(base.len());
            both(&format!("{}{}{}", &base[..cut], junk, &base[end..]));
        }

        /// The 16-byte reader of dotted quads accepts what `line::ipv4` does.
        #[test]
        fn ipv4_matches_the_full_parser(addr in "[0-9.]{0,17}", tail in "( [A-Z=]{0,4})?") {
            let text = format!("{addr}{tail}");
            let want = line::ipv4(addr.as_bytes()).map(|a| (u32::from(a), addr.len()));
            proptest::prop_assert_eq!(ipv4(text.as_bytes()), want);
        }
    }
}
