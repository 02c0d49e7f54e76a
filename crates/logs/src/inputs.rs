//! The inputs of a report (`summary`, `scans`, `blocklist`): the files in
//! order, or the kernel ring once through when there are none.

use std::io;
use std::path::{Path, PathBuf};

use crate::partial::Partial;
use crate::source::{LineSource, file};

/// An input that could not be read: the report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Neither `/dev/kmsg` nor `klogctl` could be read.
    #[error("cannot read the kernel ring (are you root?)")]
    Ring(#[source] io::Error),
    /// A file could not be opened.
    #[error("cannot open {}", .0.display())]
    Open(PathBuf, #[source] io::Error),
    /// A file could not be read to its end.
    #[error("cannot read {}", .0.display())]
    Read(PathBuf, #[source] io::Error),
}

/// The kernel ring once through, as [`crate::open_ring`] opens it.
pub(crate) fn ring() -> Result<Box<dyn LineSource + Send>, InputError> {
    crate::open_ring().map_err(InputError::Ring)
}

/// A file, plain or gzip.
pub(crate) fn open(path: &Path) -> Result<Box<dyn io::Read + Send>, InputError> {
    file::open(path).map_err(|e| InputError::Open(path.to_owned(), e))
}

/// Run `f` on every raw line of `files` (the kernel ring when there are
/// none); `f` gives back what of a firewall line was not read, and
/// `partial` keeps it by file and line. Returns the records the ring lost.
pub(crate) fn each_line(
    files: &[PathBuf],
    partial: &mut Partial,
    mut f: impl FnMut(&[u8]) -> Option<crate::line::Unread>,
) -> Result<u64, InputError> {
    let mut read = |raw: &[u8], n: &mut u64, partial: &mut Partial| {
        *n += 1;
        if let Some(u) = f(raw) {
            partial.note(&u, *n, raw);
        }
    };
    let mut n = 0;
    if files.is_empty() {
        let mut src = ring()?;
        let mut buf = Vec::new();
        while src.next_line(&mut buf).map_err(InputError::Ring)? {
            read(&buf, &mut n, partial);
        }
        return Ok(src.lost());
    }
    for path in files {
        n = 0;
        file::for_each_line(open(path)?, |raw| read(raw, &mut n, partial))
            .map_err(|e| InputError::Read(path.clone(), e))?;
        partial.set_file(&path.display().to_string());
    }
    Ok(0)
}
