//! The systemd journal through `journalctl -k -f -o json`, when present.
//! Lines are JSON records; [`crate::envelope::strip`] takes their MESSAGE.

use std::io;
use std::process::{Child, ChildStdout, Command, Stdio};

use super::{LineSource, ReaderSource};

/// A running `journalctl`, killed when dropped.
#[derive(Debug)]
pub struct Journal {
    child: Child,
    lines: ReaderSource<ChildStdout>,
}

impl Journal {
    /// Start `journalctl -k -o json` with `follow` (`-f -n 0`: new records
    /// only) or without (everything the journal has, then end).
    pub fn spawn(follow: bool) -> io::Result<Journal> {
        let mut cmd = Command::new("journalctl");
        cmd.args(["-k", "-o", "json", "--no-pager", "-q"]);
        if follow {
            cmd.args(["-f", "-n", "0"]);
        }
        let mut child =
            cmd.stdout(Stdio::piped()).stderr(Stdio::null()).stdin(Stdio::null()).spawn()?;
        let out = child.stdout.take().ok_or_else(|| io::Error::other("journalctl: no stdout"))?;
        Ok(Journal { child, lines: ReaderSource::new(out, "journalctl") })
    }
}

impl LineSource for Journal {
    fn next_line(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        self.lines.next_line(out)
    }

    fn lost(&self) -> u64 {
        self.lines.lost()
    }

    fn name(&self) -> &str {
        self.lines.name()
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `journalctl` can be run here.
pub fn available() -> bool {
    Command::new("journalctl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `journalctl -k -o json` once through: every line it gives must be a
    /// journal record the envelope reader understands, and it must end.
    #[test]
    fn journal_once_through() {
        assert!(available(), "journalctl is missing: apt-get install -y systemd");
        let mut j = Journal::spawn(false).expect("journalctl starts");
        let mut line = Vec::new();
        let mut n = 0;
        while j.next_line(&mut line).unwrap() && n < 1000 {
            let env = crate::envelope::strip(&line);
            assert_eq!(
                env.kind,
                crate::envelope::Kind::JournalJson,
                "{}",
                String::from_utf8_lossy(&line)
            );
            n += 1;
        }
    }
}
