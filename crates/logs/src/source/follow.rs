//! Follow a file across rotation, with `tail -F` semantics: after the end
//! of the file, poll; when the path names a new inode (logrotate moved it)
//! or the file shrank (copytruncate), finish the old one and reopen.

use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::LineSource;

/// A followed file.
#[derive(Debug)]
pub struct Tail {
    path: PathBuf,
    name: String,
    reader: Option<BufReader<File>>,
    ino: u64,
    pos: u64,
    partial: Vec<u8>,
    /// The line in `partial` was cut at `MAX_LINE`.
    cutting: bool,
    /// Lines cut at `MAX_LINE`.
    cut: u64,
    poll: Duration,
    idle_limit: Option<Duration>,
    rotations: u64,
}

impl Tail {
    /// Follow `path`; with `from_start` false only lines written after now.
    /// The file may not exist yet: it is opened when it appears.
    pub fn open(path: impl Into<PathBuf>, from_start: bool) -> io::Result<Tail> {
        let path = path.into();
        let name = path.display().to_string();
        let mut t = Tail {
            path,
            name,
            reader: None,
            ino: 0,
            pos: 0,
            partial: Vec::new(),
            cutting: false,
            cut: 0,
            poll: Duration::from_millis(200),
            idle_limit: None,
            rotations: 0,
        };
        if t.reopen()?
            && !from_start
            && let Some(r) = t.reader.as_mut()
        {
            t.pos = r.seek(SeekFrom::End(0))?;
        }
        Ok(t)
    }

    /// How often to look for new data and rotation.
    pub fn poll_every(mut self, d: Duration) -> Self {
        self.poll = d;
        self
    }

    /// End (`next_line` returns false) after this long without new data.
    pub fn stop_after_idle(mut self, d: Duration) -> Self {
        self.idle_limit = Some(d);
        self
    }

    /// Times the file was found rotated or truncated.
    pub fn rotations(&self) -> u64 {
        self.rotations
    }

    fn reopen(&mut self) -> io::Result<bool> {
        match File::open(&self.path) {
            Ok(f) => {
                self.ino = f.metadata()?.ino();
                self.reader = Some(BufReader::with_capacity(1 << 16, f));
                self.pos = 0;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.reader = None;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the path now names another file, or ours shrank.
    fn rotated(&self) -> io::Result<bool> {
        match std::fs::metadata(&self.path) {
            Ok(m) => Ok(m.ino() != self.ino || m.len() < self.pos || self.reader.is_none()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn take_partial(&mut self, out: &mut Vec<u8>) -> bool {
        if self.partial.is_empty() {
            return false;
        }
        out.clear();
        out.append(&mut self.partial);
        true
    }
}

impl LineSource for Tail {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        let mut idle_since = Instant::now();
        loop {
            if let Some(r) = self.reader.as_mut() {
                let (n, cut) = super::read_capped(r, &mut self.partial)?;
                self.pos += n as u64;
                self.cutting |= cut;
                if self.partial.last() == Some(&b'\n') {
                    self.cut += u64::from(std::mem::take(&mut self.cutting));
                    self.partial.pop();
                    if self.partial.last() == Some(&b'\r') {
                        self.partial.pop();
                    }
                    out.clear();
                    out.append(&mut self.partial);
                    return Ok(true);
                }
                if n > 0 {
                    idle_since = Instant::now();
                    continue;
                }
            }
            // At the end of what is there: rotated?
            if self.rotated()? {
                // A last line without newline in the old file still counts.
                let had = self.take_partial(out);
                if self.reopen()? && self.ino != 0 {
                    self.rotations += 1;
                }
                if had {
                    return Ok(true);
                }
                continue;
            }
            if self.idle_limit.is_some_and(|l| idle_since.elapsed() >= l) {
                return Ok(self.take_partial(out));
            }
            std::thread::sleep(self.poll);
        }
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
    use std::io::Write;

    fn append(p: &std::path::Path, s: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap()
            .write_all(s.as_bytes())
            .unwrap();
    }

    fn drain(t: &mut Tail) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while t.next_line(&mut buf).unwrap() {
            out.push(String::from_utf8(buf.clone()).unwrap());
        }
        out
    }

    #[test]
    fn follows_rename_rotation_and_truncation() {
        let d = rampart_testing::tempdir("tail");
        let p = d.join("kern.log");
        append(&p, "old\n");
        let mut t = Tail::open(&p, false)
            .unwrap()
            .poll_every(Duration::from_millis(5))
            .stop_after_idle(Duration::from_millis(100));
        append(&p, "a\nb");
        // logrotate: move away, create anew.
        std::fs::rename(&p, d.join("kern.log.1")).unwrap();
        append(&p, "c\n");
        assert_eq!(drain(&mut t), ["a", "b", "c"]);
        assert_eq!(t.rotations(), 1);
        // copytruncate: same inode, shorter.
        std::fs::write(&p, "").unwrap();
        assert!(drain(&mut t).is_empty());
        append(&p, "d\n");
        assert_eq!(drain(&mut t), ["d"]);
        assert_eq!(t.rotations(), 2);
    }

    #[test]
    fn waits_for_a_missing_file() {
        let d = rampart_testing::tempdir("tail-missing");
        let p = d.join("ufw.log");
        let mut t = Tail::open(&p, true)
            .unwrap()
            .poll_every(Duration::from_millis(5))
            .stop_after_idle(Duration::from_millis(100));
        append(&p, "x\ny\n");
        assert_eq!(drain(&mut t), ["x", "y"]);
    }

    #[test]
    fn a_line_without_end_is_cut_and_counted() {
        let d = rampart_testing::tempdir("tail-bomb");
        let p = d.join("kern.log");
        let mut t = Tail::open(&p, true)
            .unwrap()
            .poll_every(Duration::from_millis(5))
            .stop_after_idle(Duration::from_millis(100));
        let nuls = "\0".repeat(8 << 20);
        append(&p, &format!("{nuls}{nuls}\nafter\n"));
        let got = drain(&mut t);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), super::super::MAX_LINE);
        assert_eq!(got[1], "after");
        assert_eq!(t.lost(), 1);
    }
}
