//! The atomic write: a temporary file beside the target, created with
//! `O_CREAT|O_EXCL` (a planted symlink or file makes it fail, never followed)
//! under an unpredictable name, written, synced, renamed over the target,
//! and the directory synced so the rename survives a crash.

use std::fs::{File, Permissions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file written and synced beside its target, not yet in place. Dropped
/// without [`Staged::commit`], it is removed.
pub struct Staged {
    tmp: NamedTempFile,
    target: PathBuf,
}

/// Write `bytes` to a new temporary file in `path`'s directory with `mode`,
/// synced to disk. Nothing at `path` changes yet.
pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<Staged> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    // A leading dot keeps the temporary file out of globs such as
    // sudoers' includedir and systemd's unit scan.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .rand_bytes(12)
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // The umask may have narrowed the mode at creation; set it exactly.
    tmp.as_file().set_permissions(Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    Ok(Staged { tmp, target: path.to_owned() })
}

impl Staged {
    /// Where the staged content is, for checking it before it goes live
    /// (`visudo -c -f`).
    #[must_use]
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Rename over the target and sync the directory.
    pub fn commit(self) -> std::io::Result<()> {
        let dir = self.tmp.path().parent().map(Path::to_owned).unwrap_or_default();
        self.tmp.persist(&self.target).map_err(|e| e.error)?;
        File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { &dir })?.sync_all()
    }
}

/// Replace `path` with `bytes` atomically, with `mode`.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    stage(path, bytes, mode)?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rampart-os-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_with_the_mode_and_leaves_nothing_behind() {
        let d = dir("mode");
        let p = d.join("rules.v4");
        write(&p, b"one", 0o600).unwrap();
        write(&p, b"two", 0o640).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn planted_symlinks_are_never_written_through() {
        let d = dir("symlink");
        let victim = d.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The names an attacker could predict from the target's name, and
        // the target itself, all point at the victim.
        let p = d.join("rules.v4");
        for planted in ["rules.v4.rampart-tmp", ".rules.v4.tmp", ".rules.v4.new"] {
            std::os::unix::fs::symlink(&victim, d.join(planted)).unwrap();
        }
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        write(&p, b"rules", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!std::fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "rules");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_staged_file_dropped_is_removed() {
        let d = dir("drop");
        let p = d.join("x");
        let s = stage(&p, b"x", 0o600).unwrap();
        assert!(s.path().exists() && !p.exists());
        drop(s);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
