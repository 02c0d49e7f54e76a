//! Where lines come from: files and stdin ([`file`]), the kernel ring
//! ([`kmsg`]), a file followed across rotation ([`follow`]) and
//! `journalctl -f -o json` ([`journal`]) and NFLOG over netlink ([`nflog`]).

pub mod file;
pub mod follow;
pub mod journal;
pub mod kmsg;
pub mod nflog;

use std::io;

/// A stream of raw lines (envelope still on, newline off).
pub trait LineSource {
    /// Put the next line into `out`. `Ok(false)` when the source has ended
    /// (a live source ends only when told to stop).
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool>;
    /// Records the source knows it lost (ring overruns); never silent.
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
pub struct ReaderSource<R> {
    reader: io::BufReader<R>,
    name: String,
}

impl<R: io::Read> ReaderSource<R> {
    /// Wrap a reader.
    pub fn new(reader: R, name: impl Into<String>) -> Self {
        ReaderSource { reader: io::BufReader::with_capacity(1 << 16, reader), name: name.into() }
    }
}

impl<R: io::Read> LineSource for ReaderSource<R> {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        out.clear();
        let n = io::BufRead::read_until(&mut self.reader, b'\n', out)?;
        while out.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            out.pop();
        }
        Ok(n > 0)
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
}
