//! Files and standard input, plain or gzip (detected by magic bytes), read
//! in chunks that end at a newline so memory stays bounded whatever the
//! file size.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// Default chunk size: big enough to amortise reads, small enough that a
/// few chunks in flight stay far below 64 MB.
pub const CHUNK_SIZE: usize = 4 << 20;

/// Open a path (`-` is standard input), decompressing gzip when the first
/// two bytes are its magic `1f 8b` (rotated `kern.log.2.gz`).
pub fn open(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    if path.as_os_str() == "-" {
        return maybe_gzip(Box::new(io::stdin()));
    }
    let f = File::open(path)?;
    maybe_gzip(Box::new(f))
}

/// Wrap a reader in a gzip decoder when it starts with the gzip magic.
pub fn maybe_gzip(r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut br = BufReader::with_capacity(64 << 10, r);
    let head = br.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        // MultiGz: logrotate and `cat a.gz b.gz` produce several members.
        Ok(Box::new(MultiGzDecoder::new(br)))
    } else {
        Ok(Box::new(br))
    }
}

/// Reads `size`-byte chunks that always end just after a `\n` (or at EOF).
pub struct Chunker<R> {
    reader: R,
    size: usize,
    carry: Vec<u8>,
    eof: bool,
}

impl<R: Read> Chunker<R> {
    /// Chunks of about `size` bytes.
    pub fn new(reader: R, size: usize) -> Chunker<R> {
        Chunker { reader, size: size.max(1), carry: Vec::new(), eof: false }
    }

    /// Next chunk, reusing `buf`'s allocation; `Ok(false)` at the end.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        buf.append(&mut self.carry);
        loop {
            if let Some(nl) = memchr::memrchr(b'\n', buf)
                && (buf.len() >= self.size || self.eof)
            {
                self.carry.extend_from_slice(&buf[nl + 1..]);
                buf.truncate(nl + 1);
                return Ok(true);
            }
            if self.eof {
                // Last line without a newline, or nothing left.
                return Ok(!buf.is_empty());
            }
            // A line longer than four chunks is passed on cut, not buffered forever.
            if buf.len() >= self.size * 4 {
                return Ok(true);
            }
            let start = buf.len();
            let want = self.size.saturating_sub(start).max(64 << 10);
            // read_to_end fills spare capacity without zeroing it first.
            buf.reserve(want);
            let n = (&mut self.reader).take(want as u64).read_to_end(buf)?;
            if n < want {
                self.eof = true;
            }
        }
    }
}

/// Call `f` on every line (without its newline) of `reader`, reading in
/// chunks of [`CHUNK_SIZE`].
pub fn for_each_line<R: Read>(reader: R, mut f: impl FnMut(&[u8])) -> io::Result<()> {
    let mut chunker = Chunker::new(reader, CHUNK_SIZE);
    let mut buf = Vec::new();
    while chunker.next_into(&mut buf)? {
        for line in lines(&buf) {
            f(line);
        }
    }
    Ok(())
}

/// Lines of a chunk, without their `\n`. One memchr searcher for the
/// whole chunk rather than a fresh search per line.
pub fn lines(chunk: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = chunk.strip_suffix(b"\n").unwrap_or(chunk);
    let mut start = 0;
    let mut ends = memchr::memchr_iter(b'\n', body);
    std::iter::from_fn(move || {
        if start > body.len() {
            return None;
        }
        let end = ends.next().unwrap_or(body.len());
        let line = &body[start..end];
        start = end + 1;
        Some(line)
    })
    .filter(move |_| !chunk.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn all_chunks(data: &[u8], size: usize) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(data, size);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while c.next_into(&mut buf).unwrap() {
            out.push(buf.clone());
        }
        out
    }

    #[test]
    fn chunks_end_at_newlines_and_lose_nothing() {
        let data: Vec<u8> = (0..1000)
            .flat_map(|i| format!("line {i} {}\n", "x".repeat(i % 37)).into_bytes())
            .collect();
        for size in [1, 7, 100, 4096, 1 << 20] {
            let chunks = all_chunks(&data, size);
            assert!(chunks.iter().all(|c| c.ends_with(b"\n")), "size {size}");
            assert_eq!(chunks.concat(), data, "size {size}");
        }
    }

    #[test]
    fn last_line_without_newline() {
        let chunks = all_chunks(b"a\nb\nlast", 2);
        assert_eq!(chunks.concat(), b"a\nb\nlast");
        let got: Vec<&[u8]> = chunks.iter().flat_map(|c| lines(c)).collect();
        assert_eq!(got, vec![&b"a"[..], b"b", b"last"]);
    }

    #[test]
    fn empty_input() {
        assert!(all_chunks(b"", 10).is_empty());
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").collect::<Vec<_>>(), vec![&b""[..]]);
    }

    #[test]
    fn gzip_detected_by_magic_and_multi_member() {
        let mut gz = Vec::new();
        for part in ["one\n", "two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let mut out = String::new();
        maybe_gzip(Box::new(io::Cursor::new(gz))).unwrap().read_to_string(&mut out).unwrap();
        assert_eq!(out, "one\ntwo\n");
        let mut plain = String::new();
        maybe_gzip(Box::new(io::Cursor::new(b"plain\n".to_vec())))
            .unwrap()
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, "plain\n");
    }
}
