//! Where lines come from: files and stdin ([`file`]), the kernel ring
//! ([`kmsg`]), a file followed across rotation ([`follow`]) and
//! `journalctl -f -o json` ([`journal`]) and NFLOG over netlink ([`nflog`]).

pub mod file;
pub mod follow;
pub mod journal;
pub mod kmsg;
pub mod nflog;

use std::io;

/// The longest line kept (a kernel LOG line is under 1 KiB): the rest of a
/// longer one is skipped and the line counted as lost, so a stream without
/// newlines (a gzip bomb of NULs) never fills memory.
pub const MAX_LINE: usize = 64 << 10;

/// Reads through the next `\n` (kept) into `out`, which never grows past
/// [`MAX_LINE`] (a cut line still ends with its `\n`). Returns the bytes
/// consumed and whether any were left out.
pub(crate) fn read_capped<R: io::BufRead + ?Sized>(
    r: &mut R,
    out: &mut Vec<u8>,
) -> io::Result<(usize, bool)> {
    let (mut consumed, mut cut) = (0, false);
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok((consumed, cut));
        }
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = MAX_LINE.saturating_sub(out.len());
        cut |= take > room;
        out.extend_from_slice(&buf[..take.min(room)]);
        if done && out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
        r.consume(take);
        consumed += take;
        if done {
            return Ok((consumed, cut));
        }
    }
}

/// A stream of raw lines (envelope still on, newline off).
pub trait LineSource {
    /// Put the next line into `out`. `Ok(false)` when the source has ended
    /// (a live source ends only when told to stop).
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool>;
    /// Records the source knows it lost (ring overruns, lines cut at
    /// [`MAX_LINE`]); never silent.
    fn lost(&self) -> u64 {
        0
    }
    /// Records the source had already dropped before reading began (the
    /// kernel ring's oldest record is not its first): history that is gone,
    /// reported apart from [`LineSource::lost`].
    fn dropped_before_start(&self) -> u64 {
        0
    }
    /// Name for messages (`/dev/kmsg`, a path, `journalctl`).
    fn name(&self) -> &str;
}

/// Lines of any reader (a file once through, stdin).
#[derive(Debug)]
pub struct ReaderSource<R> {
    reader: io::BufReader<R>,
    name: String,
    cut: u64,
}

impl<R: io::Read> ReaderSource<R> {
    /// Wrap a reader.
    pub fn new(reader: R, name: impl Into<String>) -> Self {
        let reader = io::BufReader::with_capacity(1 << 16, reader);
        ReaderSource { reader, name: name.into(), cut: 0 }
    }
}

impl<R: io::Read> LineSource for ReaderSource<R> {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        out.clear();
        let (n, cut) = read_capped(&mut self.reader, out)?;
        self.cut += u64::from(cut);
        while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            out.pop();
        }
        Ok(n > 0)
    }

    fn lost(&self) -> u64 {
        self.cut
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_source_strips_newlines_and_ends() {
        let mut r = ReaderSource::new(&b"a\r\nb\n\nlast"[..], "mem");
        let mut got = Vec::new();
        let mut buf = Vec::new();
        while r.next_line(&mut buf).unwrap() {
            got.push(String::from_utf8(buf.clone()).unwrap());
        }
        assert_eq!(got, ["a", "b", "", "last"]);
        assert_eq!((r.lost(), r.dropped_before_start(), r.name()), (0, 0, "mem"));
    }

    #[test]
    fn a_line_without_end_is_cut_and_counted() {
        // 10 MB of NULs, then a normal line.
        let mut data = vec![0u8; 10 << 20];
        data.extend_from_slice(b"\nnext\n");
        let mut r = ReaderSource::new(&data[..], "bomb");
        let mut buf = Vec::new();
        assert!(r.next_line(&mut buf).unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        assert!(buf.capacity() <= 2 * MAX_LINE, "buffered {} bytes", buf.capacity());
        assert!(r.next_line(&mut buf).unwrap());
        assert_eq!(buf, b"next");
        assert!(!r.next_line(&mut buf).unwrap());
        assert_eq!(r.lost(), 1);
    }
}
