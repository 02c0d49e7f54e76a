//! Generate realistic firewall log lines for the benchmark.
//!
//! `cargo run --release -p rampart-logs --example gen_logs -- 1000000 > big.log`
//!
//! Deterministic (fixed seed): mixed envelopes (syslog, RFC 3339, dmesg,
//! kmsg, journal JSON), Rampart, ufw, firewalld and free prefixes, TCP/UDP/
//! ICMP (with quoted packets)/IPv6, a few hundred sources with a skewed
//! distribution, and about 7% non-firewall lines.

use std::io::{self, BufWriter, Write};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Skewed pick in 0..n: low indexes are much more frequent.
    fn skewed(&mut self, n: u64) -> u64 {
        let x = self.below(1 << 20) as f64 / f64::from(1 << 20);
        ((x * x * x) * n as f64) as u64
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const PORTS: [u16; 16] =
    [22, 23, 25, 80, 443, 445, 3389, 8080, 3306, 5900, 139, 53, 123, 1433, 6379, 20002];

fn main() -> io::Result<()> {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let out = io::stdout().lock();
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let sources: Vec<String> = (0..400)
        .map(|i| match i % 4 {
            0 => format!("203.0.113.{}", i / 4 + 1),
            1 => format!("198.51.{}.{}", 100 + i % 20, i / 4 + 1),
            2 => format!("45.{}.{}.{}", 10 + i % 50, i % 200, i / 4 + 1),
            _ => format!("185.{}.{}.{}", 100 + i % 30, i % 250, i / 4 + 7),
        })
        .collect();
    let mut secs: u64 = 6 * 3600;
    let mut uptime_us: u64 = 86_000_000_000;
    let mut seq: u64 = 100_000;
    let mut msg = String::with_capacity(512);
    for i in 0..n {
        if r.below(4) == 0 {
            secs += 1;
        }
        uptime_us += 1 + r.below(500_000);
        seq += 1;
        let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let day = 28 - (secs / 86400 % 27);
        msg.clear();
        let env = r.below(100);
        if env < 7 {
            // Not a firewall line.
            let text = match i % 3 {
                0 => "e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
                1 => {
                    "audit: type=1400 audit(1764316801.123:42): apparmor=\"DENIED\" operation=\"open\""
                }
                _ => "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
            };
            writeln!(
                w,
                "{} {day:>2} {h:02}:{m:02}:{s:02} web1 kernel: [{}.{:06}] {text}",
                MONTHS[10],
                uptime_us / 1_000_000,
                uptime_us % 1_000_000
            )?;
            continue;
        }
        // Prefix.
        let p = r.below(100);
        let rule = 1 + r.skewed(40);
        let prefix = if p < 55 {
            format!("RULE {rule} -- DENY ")
        } else if p < 60 {
            format!("RULE {rule} -- ACCEPT ")
        } else if p < 63 {
            format!("RULE {rule} -- REJECT ")
        } else if p < 65 {
            "RULE 0 -- DENY ".to_owned()
        } else if p < 85 {
            "[UFW BLOCK] ".to_owned()
        } else if p < 90 {
            "[UFW ALLOW] ".to_owned()
        } else if p < 92 {
            "[UFW LIMIT BLOCK] ".to_owned()
        } else if p < 94 {
            "[UFW AUDIT] ".to_owned()
        } else if p < 97 {
            "filter_IN_public_REJECT: ".to_owned()
        } else {
            "iptables-dropped: ".to_owned()
        };
        let src = &sources[r.skewed(sources.len() as u64) as usize];
        let id = r.below(65536);
        let ttl = 40 + r.below(200);
        let mac = "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00";
        msg.push_str(&prefix);
        let kind = r.below(100);
        if kind < 68 {
            let dpt = if r.below(3) == 0 {
                1 + r.below(65535) as u16
            } else {
                PORTS[r.skewed(16) as usize]
            };
            let spt = 1024 + r.below(64000);
            msg.push_str(&format!(
                "IN=eth0 OUT= {mac} SRC={src} DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL={ttl} ID={id} DF PROTO=TCP SPT={spt} DPT={dpt} WINDOW={} RES=0x00 SYN URGP=0 ",
                1024 + r.below(64000)
            ));
        } else if kind < 88 {
            let dpt = [53u16, 123, 137, 161, 1900, 5353][r.below(6) as usize];
            msg.push_str(&format!(
                "IN=eth0 OUT= {mac} SRC={src} DST=192.0.2.10 LEN=78 TOS=0x00 PREC=0x00 TTL={ttl} ID={id} PROTO=UDP SPT={} DPT={dpt} LEN=58 ",
                1024 + r.below(64000)
            ));
        } else if kind < 94 {
            msg.push_str(&format!(
                "IN=eth0 OUT= {mac} SRC={src} DST=192.0.2.10 LEN=84 TOS=0x00 PREC=0x00 TTL={ttl} ID={id} DF PROTO=ICMP TYPE=8 CODE=0 ID={} SEQ={} ",
                r.below(65536),
                r.below(100)
            ));
        } else if kind < 97 {
            msg.push_str(&format!(
                "IN= OUT=eth0 SRC=192.0.2.10 DST={src} LEN=92 TOS=0x00 PREC=0xC0 TTL=64 ID={id} PROTO=ICMP TYPE=3 CODE=3 [SRC={src} DST=192.0.2.10 LEN=64 TOS=0x00 PREC=0x00 TTL=1 ID=7 PROTO=UDP SPT=40000 DPT=33434 LEN=44 ] UID=0 GID=0 "
            ));
        } else {
            msg.push_str(&format!(
                "IN=eth0 OUT= MAC=33:33:00:00:00:01:00:11:22:33:44:55:86:dd SRC=2001:0db8:0000:0000:0000:0000:{:04x}:0001 DST=2001:0db8:0000:0000:0000:0000:0000:00ff LEN=72 TC=0 HOPLIMIT=64 FLOWLBL={id} PROTO=TCP SPT=40000 DPT=443 WINDOW=65535 RES=0x00 SYN URGP=0 ",
                r.below(300)
            ));
        }
        let up = format!("{}.{:06}", uptime_us / 1_000_000, uptime_us % 1_000_000);
        if env < 55 {
            writeln!(w, "Nov {day:>2} {h:02}:{m:02}:{s:02} web1 kernel: [{up}] {msg}")?;
        } else if env < 65 {
            writeln!(w, "Nov {day:>2} {h:02}:{m:02}:{s:02} web1 kernel: {msg}")?;
        } else if env < 80 {
            writeln!(
                w,
                "2026-11-{day:02}T{h:02}:{m:02}:{s:02}.{:06}+00:00 web1 kernel: {msg}",
                uptime_us % 1_000_000
            )?;
        } else if env < 90 {
            writeln!(w, "[{up}] {msg}")?;
        } else if env < 97 {
            writeln!(w, "4,{seq},{uptime_us},-;{msg}")?;
        } else {
            writeln!(
                w,
                "{{\"__REALTIME_TIMESTAMP\":\"{}\",\"_TRANSPORT\":\"kernel\",\"PRIORITY\":\"4\",\"MESSAGE\":\"{msg}\"}}",
                1_795_824_000_000_000 + secs * 1_000_000
            )?;
        }
    }
    w.flush()
}
