//! `collect`: every firewall line of a live source appended to a file, as
//! the kernel wrote it or as JSON lines, losses recorded in place.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::attribute::Attributor;
use crate::envelope::{self, Stamp};
use crate::event::Event;
use crate::line;
use crate::live::{Live, LiveError, Poll, Record};
use crate::source::LineSource;

/// How to collect.
pub struct CollectOptions {
    /// One decoded event per line instead of syslog-style text.
    pub json_lines: bool,
    /// Stop after this long without a line.
    pub idle: Option<Duration>,
    /// How prefixes are read, for the JSON lines.
    pub attributor: Attributor,
}

/// What was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Firewall lines written.
    pub written: u64,
    /// Records the source lost.
    pub lost: u64,
}

/// Collecting stopped.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The file could not be opened.
    #[error("cannot open {} for appending", .0.display())]
    Open(PathBuf, #[source] io::Error),
    /// The file could not be written.
    #[error("cannot write {}", .0.display())]
    Write(PathBuf, #[source] io::Error),
    /// The source failed.
    #[error(transparent)]
    Read(#[from] LiveError),
    /// A source that should run for ever ended without a line.
    #[error("source {0} ended without a firewall line")]
    Empty(String),
}

/// Append the firewall lines of `source` to `to` until it ends (or is
/// idle as long as `opts` says); `warn` hears of each loss as it happens.
pub fn collect(
    source: Box<dyn LineSource + Send>,
    to: &Path,
    opts: &CollectOptions,
    warn: &mut dyn FnMut(String),
) -> Result<Collected, CollectError> {
    let name = source.name().to_owned();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(to)
        .map_err(|e| CollectError::Open(to.to_owned(), e))?;
    let mut w = io::BufWriter::new(file);
    let host = hostname();
    let mut live = Live::spawn(vec![source], opts.idle);
    let mut done = Collected { written: 0, lost: 0 };
    let write_err = |e| CollectError::Write(to.to_owned(), e);
    loop {
        // Flush whenever the source has nothing more for now: durable
        // without a write per line during a burst.
        let record = match live.poll()? {
            Poll::Record(r) => r,
            Poll::End => break,
            Poll::Wait => {
                w.flush().map_err(write_err)?;
                match live.wait() {
                    Some(r) => r?,
                    None => break,
                }
            }
        };
        match record {
            Record::Line(raw) => {
                let env = envelope::strip(&raw);
                // Lines read in part are kept too: the file is the record.
                let Some(l) = line::parse(&env.message) else { continue };
                let now = Stamp::now();
                if opts.json_lines {
                    let mut ev = Event::new(&l, Some(now), opts.attributor.attribute(l.prefix));
                    ev.time = Some(now.to_string());
                    serde_json::to_writer(&mut w, &ev)
                        .map_err(io::Error::from)
                        .map_err(write_err)?;
                    writeln!(w).map_err(write_err)?;
                } else {
                    write!(w, "{now} {host} kernel: ").map_err(write_err)?;
                    w.write_all(&env.message).map_err(write_err)?;
                    writeln!(w).map_err(write_err)?;
                }
                done.written += 1;
            }
            Record::Lost(n) => {
                done.lost += n;
                let (now, lost) = (Stamp::now(), done.lost);
                if opts.json_lines {
                    let v = serde_json::json!({ "time": now.to_string(), "lost": n, "lost_total": lost });
                    writeln!(w, "{v}").map_err(write_err)?;
                } else {
                    writeln!(
                        w,
                        "{now} {host} rampart-logs: lost {n} kernel records (ring overrun), {lost} so far"
                    )
                    .map_err(write_err)?;
                }
                w.flush().map_err(write_err)?;
                warn(format!("warning: {n} kernel records lost ({lost} so far)"));
            }
        }
    }
    w.flush().map_err(write_err)?;
    if done == (Collected { written: 0, lost: 0 }) && opts.idle.is_none() {
        return Err(CollectError::Empty(name));
    }
    Ok(done)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
