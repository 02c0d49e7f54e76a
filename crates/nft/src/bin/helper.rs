//! `rampart-nft-helper`: the listener and the prober that the nft kernel
//! tests run inside their namespaces (`ip netns exec NS rampart-nft-helper`
//! with `RAMPART_NFT_HELPER` set to `listen` or `probe`). Its stdout
//! is the protocol with the test (`tests/integration/protocol.rs`), hence
//! the prints.
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "stdout is how the helper answers; stderr its usage"
)]

#[path = "../../tests/integration/protocol.rs"]
mod protocol;

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use protocol::{L4, MARK, Probe};

/// How long a probe waits before calling the packet dropped. More than
/// TCP's first retransmission (1 s): an ICMP error that arrives while
/// `connect` still holds the socket is only a soft error, and the refusal
/// is reported with the answer to the retransmitted SYN.
const WAIT: Duration = Duration::from_millis(1500);

fn main() -> ExitCode {
    match std::env::var("RAMPART_NFT_HELPER").as_deref() {
        Ok("listen") => listen(&std::env::var("RAMPART_NFT_PORTS").unwrap()),
        Ok("probe") => probe_all(&std::env::var("RAMPART_NFT_PROBES").unwrap()),
        _ => {
            eprintln!("set RAMPART_NFT_HELPER to listen or probe");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// `tcp:22,80 udp:53`: accept TCP, echo UDP, on every address, forever.
fn listen(spec: &str) {
    for part in spec.split_whitespace() {
        let (l4, ports) = part.split_once(':').unwrap();
        for port in ports.split(',').filter(|p| !p.is_empty()) {
            let port: u16 = port.parse().unwrap();
            // `[::]` is dual-stack; fall back to IPv4 where IPv6 is off.
            let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            let any4: SocketAddr = ([0, 0, 0, 0], port).into();
            if l4 == "tcp" {
                let l = TcpListener::bind(any6).or_else(|_| TcpListener::bind(any4)).unwrap();
                thread::spawn(move || {
                    for mut s in l.incoming().flatten() {
                        let _ = s.write_all(b"x");
                    }
                });
            } else {
                let u = UdpSocket::bind(any6).or_else(|_| UdpSocket::bind(any4)).unwrap();
                thread::spawn(move || {
                    let mut buf = [0u8; 64];
                    while let Ok((n, from)) = u.recv_from(&mut buf) {
                        let _ = u.send_to(&buf[..n], from);
                    }
                });
            }
        }
    }
    println!("{MARK}ready");
    loop {
        thread::park();
    }
}

/// Run every probe (one per line), a few hundred at a time: a dropped probe
/// costs the whole wait, so rounds, not probes, set the time.
fn probe_all(lines: &str) {
    let probes: Vec<Probe> = lines.lines().filter(|l| !l.is_empty()).map(Probe::parse).collect();
    for chunk in probes.chunks(256) {
        let results: Vec<String> = thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|p| s.spawn(move || outcome(p))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (p, r) in chunk.iter().zip(results) {
            println!("{MARK}{} = {r}", p.line());
        }
    }
}

/// `open`, `refused`, `timeout`, or the errno class the kernel reported.
fn outcome(p: &Probe) -> String {
    let dst = SocketAddr::new(p.dst, p.port);
    let (ty, proto) = match p.l4 {
        L4::Tcp => (Type::STREAM, Protocol::TCP),
        L4::Udp => (Type::DGRAM, Protocol::UDP),
    };
    let sock = Socket::new(Domain::for_address(dst), ty, Some(proto)).unwrap();
    if let Some(src) = p.src
        && let Err(e) = sock.bind(&SocketAddr::new(src, 0).into())
    {
        return format!("bind-error {e}");
    }
    let res = match p.l4 {
        L4::Tcp => sock.connect_timeout(&dst.into(), WAIT),
        L4::Udp => (|| {
            sock.connect(&dst.into())?;
            sock.set_read_timeout(Some(WAIT))?;
            let u: UdpSocket = sock.try_clone()?.into();
            u.send(b"x")?;
            let mut buf = [0u8; 8];
            u.recv(&mut buf).map(|_| ())
        })(),
    };
    match res {
        Ok(()) => "open".into(),
        Err(e) => match (e.kind(), e.raw_os_error()) {
            (std::io::ErrorKind::ConnectionRefused, _) => "refused".into(),
            (std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock, _) => "timeout".into(),
            (_, Some(113)) => "unreach-host".into(),
            (_, Some(101)) => "unreach-net".into(),
            (_, Some(1 | 13)) => "eperm".into(),
            (_, Some(n)) => format!("errno-{n}"),
            (k, None) => format!("{k:?}"),
        },
    }
}
