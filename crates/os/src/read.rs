//! The bounded read of a text file someone else may have chosen (a policy,
//! an include): regular files only, opened without blocking (a FIFO never
//! hangs the reader), and at most `max` bytes (`/dev/zero` never fills
//! memory).

use std::io::{Error, ErrorKind, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The text of the regular file at `path`, refused when it is anything
/// else, longer than `max` bytes or not UTF-8. Error messages never quote
/// the content.
pub fn read_text(path: &Path, max: u64) -> std::io::Result<String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(Error::new(ErrorKind::InvalidInput, format!("{what}, not a regular file")));
    }
    let too_big = || Error::new(ErrorKind::InvalidData, format!("larger than {max} bytes"));
    if meta.len() > max {
        return Err(too_big());
    }
    // The file may grow while it is read: never take more than `max`.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_only_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.rp");
        std::fs::write(&p, "host a 10.0.0.1\n").unwrap();
        assert_eq!(read_text(&p, 100).unwrap(), "host a 10.0.0.1\n");
        assert!(read_text(&p, 4).unwrap_err().to_string().contains("larger than 4 bytes"));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo (coreutils)");
        assert!(read_text(&fifo, 100).unwrap_err().to_string().contains("a FIFO"));
        for dev in ["/dev/zero", "/dev/null"] {
            assert!(read_text(Path::new(dev), 100).unwrap_err().to_string().contains("a device"));
        }
        assert!(read_text(dir.path(), 100).unwrap_err().to_string().contains("a directory"));
        std::fs::write(&p, b"ok\xff").unwrap();
        assert!(read_text(&p, 100).unwrap_err().to_string().contains("not UTF-8"));
    }
}
