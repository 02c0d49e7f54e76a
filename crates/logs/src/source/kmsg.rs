//! The kernel ring through `/dev/kmsg`, and `klogctl` where it is missing
//! (some containers).
//!
//! Each `read` of `/dev/kmsg` returns one record, `pri,seq,usec,flags;text`.
//! The sequence number is how losses are counted: when the ring wraps past
//! an unread record the kernel answers `EPIPE` and the next record's `seq`
//! jumps; every missing number is one lost record.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::LineSource;

/// Where to start reading the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The oldest record still in the ring. Records the ring dropped before
    /// that (its first `seq` is above 0) are reported by
    /// [`LineSource::dropped_before_start`], apart from read losses.
    Oldest,
    /// Only records written from now on.
    End,
}

/// `/dev/kmsg` reader.
#[derive(Debug)]
pub struct Kmsg {
    file: File,
    follow: bool,
    next_seq: Option<u64>,
    count_initial_gap: bool,
    dropped_before: u64,
    lost: u64,
    overruns: u64,
    buf: Vec<u8>,
}

/// The device path.
pub const KMSG: &str = "/dev/kmsg";

impl Kmsg {
    /// Open `/dev/kmsg`. With `follow` false, reading stops when the ring
    /// has no more records (non-blocking read until `EAGAIN`).
    pub fn open(start: Start, follow: bool) -> io::Result<Kmsg> {
        Self::open_path(Path::new(KMSG), start, follow)
    }

    /// [`Kmsg::open`] on another path (tests).
    pub fn open_path(path: &Path, start: Start, follow: bool) -> io::Result<Kmsg> {
        let mut opts = OpenOptions::new();
        opts.read(true);
        if !follow {
            opts.custom_flags(libc::O_NONBLOCK);
        }
        let mut file = opts.open(path)?;
        if start == Start::End {
            file.seek(SeekFrom::End(0))?;
        }
        Ok(Kmsg {
            file,
            follow,
            next_seq: None,
            count_initial_gap: start == Start::Oldest,
            dropped_before: 0,
            lost: 0,
            overruns: 0,
            buf: vec![0; 16 << 10],
        })
    }

    /// Times the kernel answered `EPIPE` (the ring overtook the reader).
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    fn note_seq(&mut self, seq: u64) {
        match self.next_seq {
            Some(n) if seq > n => self.lost += seq - n,
            None if self.count_initial_gap => self.dropped_before = seq,
            _ => {}
        }
        self.next_seq = Some(seq + 1);
    }
}

/// `seq` of a `pri,seq,usec,flags;` record head.
pub fn record_seq(rec: &[u8]) -> Option<u64> {
    let c1 = memchr::memchr(b',', rec)?;
    let rest = &rec[c1 + 1..];
    let c2 = memchr::memchr(b',', rest)?;
    std::str::from_utf8(&rest[..c2]).ok()?.parse().ok()
}

impl LineSource for Kmsg {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            match self.file.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    let rec = &self.buf[..n];
                    // Continuation lines (" SUBSYSTEM=...") follow the first newline.
                    let first = memchr::memchr(b'\n', rec).map_or(rec, |i| &rec[..i]);
                    out.clear();
                    out.extend_from_slice(first);
                    if let Some(seq) = record_seq(first) {
                        self.note_seq(seq);
                    }
                    return Ok(true);
                }
                Err(e) => match e.raw_os_error() {
                    Some(libc::EPIPE) => {
                        // The next record's seq shows how many were lost.
                        self.overruns += 1;
                    }
                    Some(libc::EAGAIN) if !self.follow => return Ok(false),
                    Some(libc::EINTR) => {}
                    _ => return Err(e),
                },
            }
        }
    }

    fn lost(&self) -> u64 {
        self.lost
    }

    fn dropped_before_start(&self) -> u64 {
        self.dropped_before
    }

    fn name(&self) -> &str {
        KMSG
    }
}

/// Read the whole ring once through `klogctl(SYSLOG_ACTION_READ_ALL)`, for
/// systems without `/dev/kmsg`. Lines look like `<4>[  12.345678] text`.
/// Losses cannot be counted this way (the syscall has no sequence numbers).
#[allow(unsafe_code)]
pub fn klogctl_read_all() -> io::Result<Vec<u8>> {
    const SYSLOG_ACTION_READ_ALL: libc::c_int = 3;
    const SYSLOG_ACTION_SIZE_BUFFER: libc::c_int = 10;
    // SAFETY: SIZE_BUFFER ignores the buffer arguments.
    let size = unsafe { libc::klogctl(SYSLOG_ACTION_SIZE_BUFFER, std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0).max(1 << 17)];
    let len = libc::c_int::try_from(buf.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the kernel writes at most `len` bytes into `buf`, which owns that many.
    let n = unsafe { libc::klogctl(SYSLOG_ACTION_READ_ALL, buf.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(usize::try_from(n).unwrap_or(0));
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn seq_gaps_are_counted() {
        let mut k = Kmsg {
            file: File::open("/dev/null").unwrap(),
            follow: false,
            next_seq: None,
            count_initial_gap: false,
            dropped_before: 0,
            lost: 0,
            overruns: 0,
            buf: Vec::new(),
        };
        for s in [10, 11, 15, 16, 20] {
            k.note_seq(s);
        }
        assert_eq!(k.lost(), 3 + 3);
        k.count_initial_gap = true;
        k.next_seq = None;
        k.note_seq(5);
        assert_eq!(k.lost(), 6, "records gone before reading began are not read losses");
        assert_eq!(k.dropped_before_start(), 5);
    }

    #[test]
    fn record_head() {
        assert_eq!(record_seq(b"6,1234,5678,-;hello"), Some(1234));
        assert_eq!(record_seq(b"garbage"), None);
    }

    /// Writes a record into the real ring and reads it back (root only, no
    /// traffic). Fails, never skips, when /dev/kmsg is unusable.
    #[test]
    fn real_kmsg_round_trip() {
        let mut k =
            Kmsg::open(Start::End, false).expect("/dev/kmsg must be readable (run as root)");
        let tag = format!(
            "rampart-kmsg-test-{} IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.1 ",
            std::process::id()
        );
        OpenOptions::new()
            .write(true)
            .open(KMSG)
            .and_then(|mut f| f.write_all(format!("{tag}\n").as_bytes()))
            .expect("/dev/kmsg must be writable (run as root)");
        let mut line = Vec::new();
        let mut found = false;
        while k.next_line(&mut line).unwrap() {
            // A record without a newline stays open (continuation) and unreadable.
            if line.ends_with(tag.as_bytes()) || line.ends_with(tag.trim_end().as_bytes()) {
                found = true;
            }
        }
        assert!(found, "record written to /dev/kmsg was not read back");
    }

    #[test]
    fn klogctl_reads_something() {
        let ring = klogctl_read_all().expect("klogctl(READ_ALL) needs CAP_SYSLOG");
        assert!(ring.starts_with(b"<"), "klogctl lines start with <prio>");
    }
}
