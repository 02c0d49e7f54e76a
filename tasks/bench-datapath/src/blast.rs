//! The sender: 64-byte UDP datagrams in batches of 64 (`sendmmsg`) for a
//! given time, as fast as the kernel takes them.

use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::Context;

const BATCH: usize = 64;

/// Datagrams sent per second to `dst:port` over `time`.
pub fn blast(dst: Ipv4Addr, port: u16, time: Duration) -> anyhow::Result<f64> {
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).context("udp socket")?;
    sock.connect((dst, port)).context("connect")?;
    let mut buf = [0u8; 64];
    let mut iov = [libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() }; BATCH];
    let start = Instant::now();
    let mut sent: u64 = 0;
    while start.elapsed() < time {
        sent += send_batch(sock.as_raw_fd(), &mut iov);
    }
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    Ok(sent as f64 / start.elapsed().as_secs_f64())
}

/// One `sendmmsg` of the batch; datagrams the kernel took.
#[allow(unsafe_code)]
fn send_batch(fd: i32, iov: &mut [libc::iovec; BATCH]) -> u64 {
    // SAFETY: an all-zero mmsghdr is valid (no name, no control data); each
    // points at one iovec of `iov`, which outlives the call, and every
    // iovec points at the caller's live buffer.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (m, io) in msgs.iter_mut().zip(iov.iter_mut()) {
        m.msg_hdr.msg_iov = io;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs` holds BATCH initialised headers, as passed.
    let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), BATCH as u32, 0) };
    u64::try_from(n).unwrap_or(0)
}
