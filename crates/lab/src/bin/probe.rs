//! `rampart-lab-probe`: sends exactly one packet, for kernel tests. Run it
//! inside a namespace (`ip netns exec NS rampart-lab-probe ...`).
//!
//! ```text
//! rampart-lab-probe raw SRC DST tcp SPORT DPORT FLAGS     one crafted TCP segment (FLAGS as a number)
//! rampart-lab-probe raw SRC DST udp SPORT DPORT           one UDP datagram
//! rampart-lab-probe raw SRC DST icmp TYPE CODE            one ICMP message
//! rampart-lab-probe udp DST SPORT DPORT                   one datagram from an ordinary socket
//! ```
//! `raw` needs CAP_NET_RAW and writes the IP header itself, so the source
//! may be any address. Probes leave with TTL 33, so a test can tell them
//! from the kernel's own replies. `udp` uses an ordinary socket, so it can run as any
//! user (owner matches).

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::ExitCode;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Every probe leaves with this TTL, so that a test can drop whatever else a
/// namespace sends (replies, REJECT's errors) before it is counted.
const PROBE_TTL: u8 = 33;

fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for c in chunks {
        for pair in c.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

fn packet(src: Ipv4Addr, dst: Ipv4Addr, proto: &str, a: u16, b: u16, flags: u8) -> Option<Vec<u8>> {
    let (num, mut l4): (u8, Vec<u8>) = match proto {
        "tcp" => {
            let mut h = Vec::with_capacity(20);
            h.extend(a.to_be_bytes());
            h.extend(b.to_be_bytes());
            h.extend(0x1000_0000u32.to_be_bytes()); // seq
            let ack: u32 = if flags & 0x10 != 0 { 0x2000_0000 } else { 0 };
            h.extend(ack.to_be_bytes());
            h.push(5 << 4);
            h.push(flags);
            h.extend(64240u16.to_be_bytes());
            h.extend([0, 0, 0, 0]); // checksum, urgent pointer
            (6, h)
        }
        "udp" => {
            let mut h = Vec::with_capacity(12);
            h.extend(a.to_be_bytes());
            h.extend(b.to_be_bytes());
            h.extend(12u16.to_be_bytes());
            h.extend([0, 0]);
            h.extend(*b"ramp");
            (17, h)
        }
        "icmp" => {
            let t = u8::try_from(a).ok()?;
            let c = u8::try_from(b).ok()?;
            let mut h = vec![t, c, 0, 0, 0x12, 0x34, 0, 1];
            h.extend(*b"rampart!");
            let sum = checksum(&[&h]);
            h[2..4].copy_from_slice(&sum.to_be_bytes());
            (1, h)
        }
        _ => return None,
    };
    let len = u16::try_from(l4.len()).ok()?;
    if num != 1 {
        let mut pseudo = Vec::with_capacity(12);
        pseudo.extend(src.octets());
        pseudo.extend(dst.octets());
        pseudo.extend([0, num]);
        pseudo.extend(len.to_be_bytes());
        let sum = checksum(&[&pseudo, &l4]);
        let at = if num == 6 { 16 } else { 6 };
        l4[at..at + 2].copy_from_slice(&sum.to_be_bytes());
    }
    let mut ip = vec![0x45, 0];
    ip.extend((20 + len).to_be_bytes());
    ip.extend([0, 0, 0x40, 0, PROBE_TTL, num, 0, 0]); // id 0 (kernel fills), DF
    ip.extend(src.octets());
    ip.extend(dst.octets());
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend(l4);
    Some(ip)
}

fn run(args: &[String]) -> Result<(), String> {
    let ip = |s: &String| s.parse::<Ipv4Addr>().map_err(|e| format!("{s}: {e}"));
    let num = |s: &String| s.parse::<u16>().map_err(|e| format!("{s}: {e}"));
    match args {
        [mode, src, dst, proto, a, b, rest @ ..] if mode == "raw" => {
            let flags =
                rest.first().map_or(Ok(0), |f| f.parse::<u8>().map_err(|e| e.to_string()))?;
            let (src, dst) = (ip(src)?, ip(dst)?);
            let buf = packet(src, dst, proto, num(a)?, num(b)?, flags).ok_or("bad packet spec")?;
            // IPPROTO_RAW: we write the IP header (IP_HDRINCL).
            let sock = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(255)))
                .map_err(|e| format!("raw socket: {e}"))?;
            // Probes to a subnet's broadcast address, too.
            sock.set_broadcast(true).map_err(|e| format!("SO_BROADCAST: {e}"))?;
            let to = SockAddr::from(SocketAddrV4::new(dst, 0));
            match sock.send_to(&buf, &to) {
                // A DROP in OUTPUT makes the send fail with EPERM: an answer.
                Err(e) if e.raw_os_error() == Some(1) => Ok(()),
                Err(e) => Err(format!("send: {e}")),
                Ok(_) => Ok(()),
            }
        }
        [mode, dst, sport, dport] if mode == "udp" => {
            let sock =
                UdpSocket::bind(("0.0.0.0", num(sport)?)).map_err(|e| format!("bind: {e}"))?;
            sock.set_ttl(u32::from(PROBE_TTL)).map_err(|e| format!("ttl: {e}"))?;
            // A DROP in OUTPUT makes send fail with EPERM: that is an answer, not an error.
            let _ = sock.send_to(b"rampart", (ip(dst)?, num(dport)?));
            Ok(())
        }
        _ => Err(
            "usage: rampart-lab-probe raw SRC DST tcp|udp|icmp A B [FLAGS] | udp DST SPORT DPORT"
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)] // a test tool's one error line
            {
                eprintln!("rampart-lab-probe: {e}");
            }
            ExitCode::from(2)
        }
    }
}
