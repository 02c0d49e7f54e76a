//! Live sources read side by side: each on its own thread (a blocking
//! read on `/dev/kmsg` cannot time out), their lines and losses sent to
//! one channel; and the sources `follow` and `collect` read.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::source::follow::Tail;
use crate::source::kmsg::{Kmsg, Start};
use crate::source::nflog::Nflog;
use crate::source::{LineSource, ReaderSource, file, journal};

/// A source that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The kernel ring could not be read once through.
    #[error("cannot read the kernel ring (are you root?)")]
    Ring(#[source] io::Error),
    /// `/dev/kmsg` could not be opened and there is no journal.
    #[error("cannot open /dev/kmsg (are you root?) and journalctl is not available")]
    Kmsg(#[source] io::Error),
    /// `journalctl -f` could not be started.
    #[error("cannot start journalctl")]
    Journal(#[source] io::Error),
    /// The NFLOG group could not be bound.
    #[error("cannot subscribe to NFLOG group {0}")]
    Nflog(u16, #[source] io::Error),
    /// A file could not be opened.
    #[error("cannot open {}", .0.display())]
    Open(PathBuf, #[source] io::Error),
    /// A file could not be followed.
    #[error("cannot follow {}", .0.display())]
    Follow(PathBuf, #[source] io::Error),
}

/// New kernel lines from now on (`from_start`: from the oldest record in
/// the ring): `/dev/kmsg`, or `journalctl -k -f` when asked (`journal`) or
/// when `/dev/kmsg` cannot be opened, which `note` is told.
pub fn kernel(
    journal: bool,
    from_start: bool,
    note: &mut dyn FnMut(String),
) -> Result<Box<dyn LineSource + Send>, OpenError> {
    let spawn = || journal::Journal::spawn(true).map_err(OpenError::Journal);
    if journal {
        return Ok(Box::new(spawn()?));
    }
    let start = if from_start { Start::Oldest } else { Start::End };
    match Kmsg::open(start, true) {
        Ok(k) => Ok(Box::new(k)),
        Err(e) if journal::available() => {
            note(format!("note: /dev/kmsg: {e}; following journalctl instead"));
            Ok(Box::new(spawn()?))
        }
        Err(e) => Err(OpenError::Kmsg(e)),
    }
}

/// Where `follow` reads.
#[derive(Debug, Clone, Default)]
pub struct FollowFrom {
    /// Files (`-` is standard input); none: the kernel.
    pub files: Vec<PathBuf>,
    /// Read the files, or the ring, once and stop.
    pub once: bool,
    /// Start at the beginning of the files, or the oldest record of the ring.
    pub from_start: bool,
    /// The journal instead of `/dev/kmsg`.
    pub journal: bool,
    /// This NFLOG group instead of `/dev/kmsg`.
    pub nflog: Option<u16>,
}

/// The sources of `follow`.
pub fn follow_sources(
    from: &FollowFrom,
    note: &mut dyn FnMut(String),
) -> Result<Vec<Box<dyn LineSource + Send>>, OpenError> {
    let mut sources: Vec<Box<dyn LineSource + Send>> = Vec::new();
    if from.once {
        if from.files.is_empty() {
            sources.push(crate::open_ring().map_err(OpenError::Ring)?);
        }
        for p in &from.files {
            let r = file::open(p).map_err(|e| OpenError::Open(p.clone(), e))?;
            sources.push(Box::new(ReaderSource::new(r, p.display().to_string())));
        }
    } else if let Some(group) = from.nflog {
        sources
            .push(Box::new(Nflog::open(group, 32 << 20).map_err(|e| OpenError::Nflog(group, e))?));
    } else if from.files.is_empty() {
        sources.push(kernel(from.journal, from.from_start, note)?);
    } else {
        for p in &from.files {
            if p.as_os_str() == "-" {
                sources.push(Box::new(ReaderSource::new(io::stdin(), "-")));
            } else {
                let tail =
                    Tail::open(p, from.from_start).map_err(|e| OpenError::Follow(p.clone(), e))?;
                sources.push(Box::new(tail));
            }
        }
    }
    Ok(sources)
}

/// The source of `collect`: a followed file, an NFLOG group (with its
/// receive buffer in bytes), or the kernel.
pub fn collect_source(
    file: Option<&Path>,
    nflog: Option<(u16, usize)>,
    journal: bool,
    note: &mut dyn FnMut(String),
) -> Result<Box<dyn LineSource + Send>, OpenError> {
    Ok(match (file, nflog) {
        (Some(p), _) => {
            Box::new(Tail::open(p, false).map_err(|e| OpenError::Follow(p.to_owned(), e))?)
        }
        (None, Some((group, rcvbuf))) => {
            Box::new(Nflog::open(group, rcvbuf).map_err(|e| OpenError::Nflog(group, e))?)
        }
        (None, None) => kernel(journal, false, note)?,
    })
}

/// What a live source gives.
#[derive(Debug)]
pub enum Record {
    /// A raw line.
    Line(Vec<u8>),
    /// This many more records were lost by the source.
    Lost(u64),
}

/// A source failed while being read.
#[derive(Debug, thiserror::Error)]
#[error("reading {name}")]
pub struct LiveError {
    /// The source.
    pub name: String,
    /// What failed.
    #[source]
    pub source: io::Error,
}

enum Msg {
    Record(Record),
    End(String, io::Result<()>),
}

/// What [`Live::poll`] found.
pub enum Poll {
    /// A record.
    Record(Record),
    /// Nothing yet.
    Wait,
    /// Every source has ended.
    End,
}

/// Sources read side by side, their records in one stream.
pub struct Live {
    rx: mpsc::Receiver<Msg>,
    running: usize,
    idle: Option<Duration>,
}

impl Live {
    /// Start a thread per source. With `idle`, the stream ends once no
    /// source has given anything for that long.
    pub fn spawn(sources: Vec<Box<dyn LineSource + Send>>, idle: Option<Duration>) -> Live {
        let (tx, rx) = mpsc::sync_channel(4096);
        let running = sources.len();
        for mut src in sources {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut reported = 0;
                let result = loop {
                    match src.next_line(&mut buf) {
                        Ok(true) => {
                            let lost = src.lost();
                            if lost > reported {
                                let _ = tx.send(Msg::Record(Record::Lost(lost - reported)));
                                reported = lost;
                            }
                            if tx.send(Msg::Record(Record::Line(std::mem::take(&mut buf)))).is_err()
                            {
                                break Ok(());
                            }
                        }
                        Ok(false) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                let _ = tx.send(Msg::End(src.name().to_owned(), result));
            });
        }
        Live { rx, running, idle }
    }

    /// The next record, waiting for it; `None` at the end (every source
    /// ended, or none spoke for the idle time).
    pub fn wait(&mut self) -> Option<Result<Record, LiveError>> {
        while self.running > 0 {
            let msg = match self.idle {
                Some(d) => self.rx.recv_timeout(d).ok()?,
                None => self.rx.recv().ok()?,
            };
            if let Some(r) = self.take(msg) {
                return Some(r);
            }
        }
        None
    }

    /// The next record if one is there, without waiting.
    pub fn poll(&mut self) -> Result<Poll, LiveError> {
        while self.running > 0 {
            let msg = match self.rx.try_recv() {
                Ok(m) => m,
                Err(mpsc::TryRecvError::Empty) => return Ok(Poll::Wait),
                Err(mpsc::TryRecvError::Disconnected) => return Ok(Poll::End),
            };
            if let Some(r) = self.take(msg) {
                return r.map(Poll::Record);
            }
        }
        Ok(Poll::End)
    }

    /// A record, a failed source, or `None` for a source that ended well.
    fn take(&mut self, msg: Msg) -> Option<Result<Record, LiveError>> {
        match msg {
            Msg::Record(r) => Some(Ok(r)),
            Msg::End(name, res) => {
                self.running -= 1;
                res.err().map(|source| Err(LiveError { name, source }))
            }
        }
    }
}
