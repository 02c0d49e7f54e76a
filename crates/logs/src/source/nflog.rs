//! NFLOG (`-j NFLOG --nflog-group N`, nft `log group N`) over netlink: a
//! journal-independent collector that, unlike the kernel ring, can be given
//! a large socket buffer.
//!
//! Each packet arrives as netlink attributes plus the first bytes of the
//! packet. They are turned into the text of a kernel LOG line
//! (`PREFIX IN=.. OUT=.. MAC=.. SRC=.. ...`), so every command reads NFLOG
//! exactly like LOG. Losses are counted from the per-group sequence numbers
//! (`NFULNL_CFG_F_SEQ`) and from `ENOBUFS` (socket buffer overrun).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::Nla as _;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_netfilter::nflog::{
    ConfigCmd, ConfigFlags, ConfigMode, PacketNla, Timeout, ULogMessage, config_request,
};
use netlink_packet_netfilter::{NetfilterMessage, NetfilterMessageInner, NetfilterProtoFamily};
use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};

use super::LineSource;
use crate::envelope::Stamp;

/// Bytes of each packet to copy: enough for IPv6 + TCP headers with options.
const COPY_RANGE: u32 = 256;

/// An NFLOG group subscription.
pub struct Nflog {
    socket: Socket,
    group: u16,
    name: String,
    buf: Vec<u8>,
    /// Lines decoded from the last datagram, not yet handed out.
    pending: std::collections::VecDeque<Vec<u8>>,
    next_seq: Option<u32>,
    lost: u64,
    overruns: u64,
    ifnames: HashMap<u32, String>,
}

impl std::fmt::Debug for Nflog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nflog")
            .field("group", &self.group)
            .field("lost", &self.lost)
            .finish_non_exhaustive()
    }
}

fn send_config(
    socket: &Socket,
    family: NetfilterProtoFamily,
    group: u16,
    nlas: Vec<netlink_packet_netfilter::nflog::ConfigNla>,
) -> io::Result<()> {
    let msg = config_request(family, group, nlas);
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    socket.send(&buf, 0)?;
    // Every request is acknowledged (NLM_F_ACK): an error code means refused.
    let mut rx = vec![0u8; 8192];
    let n = socket.recv(&mut &mut rx[..], 0)?;
    let reply =
        <NetlinkMessage<NetfilterMessage>>::deserialize(&rx[..n]).map_err(io::Error::other)?;
    if let NetlinkPayload::Error(e) = reply.payload
        && let Some(code) = e.code
    {
        return Err(io::Error::from_raw_os_error(-code.get()));
    }
    Ok(())
}

impl Nflog {
    /// Subscribe to `group` with a receive buffer of `rcvbuf` bytes
    /// (`SO_RCVBUFFORCE` as root; otherwise `SO_RCVBUF`, capped by
    /// `net.core.rmem_max`).
    pub fn open(group: u16, rcvbuf: usize) -> io::Result<Nflog> {
        let mut socket = Socket::new(NETLINK_NETFILTER)?;
        socket.bind_auto()?;
        if force_rcvbuf(&socket, rcvbuf).is_err() {
            socket.set_rx_buf_sz(rcvbuf)?;
        }
        // Legacy per-family binding; harmless on new kernels.
        for fam in [NetfilterProtoFamily::IPv4, NetfilterProtoFamily::IPv6] {
            let _ = send_config(&socket, fam, 0, vec![ConfigCmd::PfBind.into()]);
        }
        send_config(
            &socket,
            NetfilterProtoFamily::Unspec,
            group,
            vec![
                ConfigCmd::Bind.into(),
                ConfigFlags::SEQ.into(),
                ConfigMode::new_packet(COPY_RANGE).into(),
                // Flush batched messages after 100 ms at most.
                Timeout::from(std::time::Duration::from_millis(100)).into(),
            ],
        )?;
        Ok(Nflog {
            socket,
            group,
            name: format!("nflog group {group}"),
            buf: vec![0; 1 << 17],
            pending: std::collections::VecDeque::new(),
            next_seq: None,
            lost: 0,
            overruns: 0,
            ifnames: HashMap::new(),
        })
    }

    /// Times the socket buffer overflowed (`ENOBUFS`).
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    fn ifname(&mut self, index: u32) -> String {
        if let Some(n) = self.ifnames.get(&index) {
            return n.clone();
        }
        let name = ifname_from_sys(index).unwrap_or_else(|| format!("if{index}"));
        self.ifnames.insert(index, name.clone());
        name
    }

    fn note_seq(&mut self, seq: u32) {
        if let Some(n) = self.next_seq
            && seq > n
        {
            self.lost += u64::from(seq - n);
        }
        self.next_seq = Some(seq.wrapping_add(1));
    }

    fn decode_datagram(&mut self, n: usize) {
        let mut off = 0;
        while off < n {
            let Ok(msg) = <NetlinkMessage<NetfilterMessage>>::deserialize(&self.buf[off..n]) else {
                break;
            };
            let len = msg.header.length as usize;
            if let NetlinkPayload::InnerMessage(NetfilterMessage {
                inner: NetfilterMessageInner::ULog(ULogMessage::Packet(nlas)),
                ..
            }) = &msg.payload
            {
                let line = self.log_line(nlas);
                self.pending.push_back(line);
            }
            if len == 0 {
                break;
            }
            off += (len + 3) & !3;
        }
    }

    /// Render the attributes as the kernel's LOG line text.
    fn log_line(&mut self, nlas: &[PacketNla]) -> Vec<u8> {
        let mut prefix = String::new();
        let (mut indev, mut outdev, mut physin, mut physout) = (None, None, None, None);
        let (mut uid, mut gid, mut mark, mut seq) = (None, None, None, None);
        let mut payload: &[u8] = &[];
        let mut hwheader: &[u8] = &[];
        let mut stamp = None;
        for nla in nlas {
            match nla {
                PacketNla::Prefix(p) => prefix = p.to_string_lossy().into_owned(),
                PacketNla::IfIndexInDev(i) => indev = Some(*i),
                PacketNla::IfIndexOutDev(i) => outdev = Some(*i),
                PacketNla::IfIndexPhysInDev(i) => physin = Some(*i),
                PacketNla::IfIndexPhysOutDev(i) => physout = Some(*i),
                PacketNla::Uid(u) => uid = Some(*u),
                PacketNla::Gid(g) => gid = Some(*g),
                PacketNla::Mark(m) => mark = Some(*m),
                PacketNla::Seq(s) => seq = Some(*s),
                PacketNla::Payload(p) => payload = p,
                PacketNla::HwHeader(h) => hwheader = h,
                PacketNla::Timestamp(t) => {
                    let mut raw = [0u8; 16];
                    t.emit_value(&mut raw);
                    let secs = u64::from_be_bytes(raw[..8].try_into().unwrap_or_default());
                    let usecs = u64::from_be_bytes(raw[8..].try_into().unwrap_or_default());
                    stamp = i64::try_from(secs * 1_000_000 + usecs).ok();
                }
                _ => {}
            }
        }
        if let Some(s) = seq {
            self.note_seq(s);
        }
        let mut t = String::with_capacity(256);
        // A wall-clock envelope so summaries get a time span.
        let st = Stamp {
            clock: crate::envelope::Clock::Wall,
            micros: stamp.unwrap_or_else(|| Stamp::now().micros),
        };
        let _ = write!(t, "{st} nflog kernel: {prefix}");
        let names: Vec<String> = [indev, outdev, physin, physout]
            .iter()
            .map(|i| i.map(|i| self.ifname(i)).unwrap_or_default())
            .collect();
        let _ = write!(t, "IN={} OUT={} ", names[0], names[1]);
        if physin.is_some() {
            let _ = write!(t, "PHYSIN={} ", names[2]);
        }
        if physout.is_some() {
            let _ = write!(t, "PHYSOUT={} ", names[3]);
        }
        if !hwheader.is_empty() {
            let mac: Vec<String> = hwheader.iter().map(|b| format!("{b:02x}")).collect();
            let _ = write!(t, "MAC={} ", mac.join(":"));
        }
        packet_text(payload, &mut t);
        if let Some(u) = uid {
            let _ = write!(t, "UID={u} GID={} ", gid.unwrap_or(0));
        }
        if let Some(m) = mark.filter(|m| *m != 0) {
            let _ = write!(t, "MARK=0x{m:x} ");
        }
        t.into_bytes()
    }
}

/// `SO_RCVBUFFORCE`: as root, a buffer above `net.core.rmem_max`, which is
/// what lets a burst of LOG packets wait instead of being dropped.
#[allow(unsafe_code)]
fn force_rcvbuf(socket: &Socket, bytes: usize) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: the fd is a live socket owned by `socket`; the option value
    // points at a c_int that outlives the call, and `len` is its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const v).cast(),
            len,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Interface name of an index, from /sys (no ioctl, no unsafe).
fn ifname_from_sys(index: u32) -> Option<String> {
    for e in std::fs::read_dir("/sys/class/net").ok()?.flatten() {
        let idx = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
        if idx.trim().parse::<u32>().ok() == Some(index) {
            return Some(e.file_name().to_string_lossy().into_owned());
        }
    }
    None
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// IP header and layer 4 in the kernel's LOG wording (`nf_log_syslog.c`).
pub fn packet_text(p: &[u8], t: &mut String) {
    let Some(&v) = p.first() else { return };
    match v >> 4 {
        4 if p.len() >= 20 => {
            let ihl = usize::from(v & 0x0f) * 4;
            let (tos, len, id, frag) =
                (p[1], be16(p, 2).unwrap_or(0), be16(p, 4).unwrap_or(0), be16(p, 6).unwrap_or(0));
            let src = Ipv4Addr::new(p[12], p[13], p[14], p[15]);
            let dst = Ipv4Addr::new(p[16], p[17], p[18], p[19]);
            let _ = write!(
                t,
                "SRC={src} DST={dst} LEN={len} TOS=0x{:02X} PREC=0x{:02X} TTL={} ID={id} ",
                tos & 0x1e,
                tos & 0xe0,
                p[8]
            );
            if frag & 0x8000 != 0 {
                t.push_str("CE ");
            }
            if frag & 0x4000 != 0 {
                t.push_str("DF ");
            }
            if frag & 0x2000 != 0 {
                t.push_str("MF ");
            }
            let off = frag & 0x1fff;
            if off != 0 {
                let _ = write!(t, "FRAG:{off} ");
            }
            let l4 = p.get(ihl..).unwrap_or(&[]);
            l4_text(p[9], if off != 0 { &[] } else { l4 }, false, t);
        }
        6 if p.len() >= 40 => {
            let w = be32(p, 0).unwrap_or(0);
            let mut a = [0u8; 16];
            a.copy_from_slice(&p[8..24]);
            let src = Ipv6Addr::from(a);
            a.copy_from_slice(&p[24..40]);
            let dst = Ipv6Addr::from(a);
            let seg = |x: Ipv6Addr| {
                x.segments().iter().map(|s| format!("{s:04x}")).collect::<Vec<_>>().join(":")
            };
            let _ = write!(
                t,
                "SRC={} DST={} LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
                seg(src),
                seg(dst),
                usize::from(be16(p, 4).unwrap_or(0)) + 40,
                (w >> 20) & 0xff,
                p[7],
                w & 0xfffff
            );
            l4_text(p[6], &p[40..], true, t);
        }
        _ => {}
    }
}

fn l4_text(proto: u8, l: &[u8], v6: bool, t: &mut String) {
    match proto {
        6 => {
            t.push_str("PROTO=TCP ");
            let (Some(sp), Some(dp)) = (be16(l, 0), be16(l, 2)) else { return };
            let _ = write!(t, "SPT={sp} DPT={dp} ");
            let (Some(seq), Some(ack), Some(win)) = (be32(l, 4), be32(l, 8), be16(l, 14)) else {
                return;
            };
            let _ = write!(t, "SEQ={seq} ACK={ack} WINDOW={win} RES=0x{:02x} ", l[12] & 0x0e);
            let f = l[13];
            for (bit, name) in [
                (0x80, "CWR"),
                (0x40, "ECE"),
                (0x20, "URG"),
                (0x10, "ACK"),
                (0x08, "PSH"),
                (0x04, "RST"),
                (0x02, "SYN"),
                (0x01, "FIN"),
            ] {
                if f & bit != 0 {
                    let _ = write!(t, "{name} ");
                }
            }
            let _ = write!(t, "URGP={} ", be16(l, 18).unwrap_or(0));
        }
        17 | 136 => {
            t.push_str(if proto == 17 { "PROTO=UDP " } else { "PROTO=UDPLITE " });
            if let (Some(sp), Some(dp), Some(len)) = (be16(l, 0), be16(l, 2), be16(l, 4)) {
                let _ = write!(t, "SPT={sp} DPT={dp} LEN={len} ");
            }
        }
        1 | 58 => {
            t.push_str(if v6 { "PROTO=ICMPv6 " } else { "PROTO=ICMP " });
            let (Some(&ty), Some(&code)) = (l.first(), l.get(1)) else { return };
            let _ = write!(t, "TYPE={ty} CODE={code} ");
            let echo = if v6 { matches!(ty, 128 | 129) } else { matches!(ty, 0 | 8) };
            if echo && let (Some(id), Some(seq)) = (be16(l, 4), be16(l, 6)) {
                let _ = write!(t, "ID={id} SEQ={seq} ");
            }
        }
        n => {
            let _ = write!(t, "PROTO={n} ");
        }
    }
}

impl LineSource for Nflog {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            if let Some(l) = self.pending.pop_front() {
                *out = l;
                return Ok(true);
            }
            match self.socket.recv(&mut &mut self.buf[..], 0) {
                Ok(n) => self.decode_datagram(n),
                // The socket buffer overflowed: the sequence gap counts how many.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.overruns += 1,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn lost(&self) -> u64 {
        self.lost
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_tcp_syn_as_log_text() {
        let mut p =
            vec![0x45, 0x00, 0, 60, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        p.extend([0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0]);
        let mut t = String::new();
        packet_text(&p, &mut t);
        assert_eq!(
            t,
            "SRC=10.0.0.1 DST=10.0.0.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=4660 DF PROTO=TCP SPT=40000 DPT=22 SEQ=1 ACK=0 WINDOW=64240 RES=0x00 SYN URGP=0 "
        );
        assert_eq!(crate::line::parse(t.as_bytes()), None, "no IN=/OUT= yet: not a firewall line");
        let full = format!("IN=eth0 OUT= {t}");
        let l = crate::line::parse(full.as_bytes()).unwrap();
        assert_eq!((l.packet.dpt, l.packet.ttl, l.packet.df), (Some(22), Some(64), true));
        assert!(l.unread.is_empty(), "{:?}", l.unread);
    }

    #[test]
    fn ipv4_icmp_echo_and_ipv6_udp() {
        let mut p = vec![0x45, 0, 0, 84, 0, 1, 0, 0, 64, 1, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
        p.extend([8, 0, 0, 0, 0x00, 0x07, 0x00, 0x02]);
        let mut t = String::new();
        packet_text(&p, &mut t);
        assert!(t.ends_with("PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=2 "), "{t}");
        let mut p6 = vec![0x60, 0, 0, 5, 0, 8, 17, 64];
        p6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain([0u8; 11].iter()).chain([1u8].iter()));
        p6.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain([0u8; 11].iter()).chain([2u8].iter()));
        p6.extend([0, 53, 0, 53, 0, 8, 0, 0]);
        let mut t = String::new();
        packet_text(&p6, &mut t);
        assert_eq!(
            t,
            "SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:0db8:0000:0000:0000:0000:0000:0002 LEN=48 TC=0 HOPLIMIT=64 FLOWLBL=5 PROTO=UDP SPT=53 DPT=53 LEN=8 "
        );
    }

    #[test]
    fn truncated_payloads_do_not_panic() {
        let full = [
            0x45u8, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x9c, 0x40, 0,
            22, 0, 0,
        ];
        for n in 0..full.len() {
            let mut t = String::new();
            packet_text(&full[..n], &mut t);
        }
    }
}
