//! The state directory: what was applied, the way back to the last
//! confirmed state, a pending try, and the lock that keeps two applies
//! apart.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DeployError;

/// Default place for state; `--state-dir` or `RAMPART_STATE_DIR` override it.
pub const DEFAULT_DIR: &str = "/var/lib/rampart";
/// Default place of the boot files; `--boot-dir` or `RAMPART_BOOT_DIR`
/// override it.
pub const DEFAULT_BOOT_DIR: &str = "/etc/rampart";

/// What is applied now.
pub const APPLIED: &str = "applied.json";
/// A try (or an apply in progress) that the watchdog rolls back unless it
/// is confirmed (or finishes) in time.
pub const PENDING: &str = "pending.json";
/// The last confirmed state: the filter tables as saved, Rampart's nft
/// tables as listed, and the record of what Rampart had applied then.
pub const PREVIOUS: &str = "previous.v4";
pub const PREVIOUS6: &str = "previous.v6";
pub const PREVIOUS_NFT: &str = "previous.nft";
pub const PREVIOUS_RECORD: &str = "previous.json";
/// The nat tables as saved, when Rampart had or loads NAT rules.
pub const PREVIOUS_NAT: &str = "previous.nat.v4";
pub const PREVIOUS_NAT6: &str = "previous.nat.v6";
/// The mangle tables as saved, when Rampart had or loads marks.
pub const PREVIOUS_MANGLE: &str = "previous.mangle.v4";
pub const PREVIOUS_MANGLE6: &str = "previous.mangle.v6";
const LOCK: &str = "lock";
/// How long an apply or rollback waits for the lock before it gives up.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// The files of an apply not yet confirmed: the try and what it replaced.
/// Confirming or rolling back removes them.
pub const UNCONFIRMED: [&str; 9] = [
    PENDING,
    PREVIOUS,
    PREVIOUS6,
    PREVIOUS_NFT,
    PREVIOUS_RECORD,
    PREVIOUS_NAT,
    PREVIOUS_NAT6,
    PREVIOUS_MANGLE,
    PREVIOUS_MANGLE6,
];

/// Whether `name` is a file Rampart keeps here; a directory holding only
/// these is ours.
fn ours(name: &str) -> bool {
    name == APPLIED || name == LOCK || UNCONFIRMED.contains(&name)
}

/// What was applied, kept as `applied.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub policy: String,
    pub firewall: String,
    /// The digest of the compiled bundle applied: the same on the machine
    /// that compiled it (`rampart compile --target bundle`).
    #[serde(default)]
    pub bundle: String,
    /// A hash of the loaded document: the same policy gives the same version.
    pub version: String,
    /// Seconds since the Unix epoch.
    pub applied_at: u64,
    /// Rampart's chains in the filter table, so the next apply can remove
    /// those that are gone (iptables only).
    pub chains: Vec<String>,
    /// The same for IPv6.
    #[serde(default)]
    pub chains6: Vec<String>,
    /// Rampart's chains in the nat table (IPv4, IPv6).
    #[serde(default)]
    pub nat: Vec<String>,
    #[serde(default)]
    pub nat6: Vec<String>,
    /// Rampart's chains in the mangle table (marks; IPv4, IPv6).
    #[serde(default)]
    pub mangle: Vec<String>,
    #[serde(default)]
    pub mangle6: Vec<String>,
    /// `iptables` or `nft`.
    #[serde(default = "iptables")]
    pub backend: String,
    /// The document loaded (iptables: Rampart's filter, nat and mangle parts; nft:
    /// the kernel's listing after loading), which status compares with the
    /// kernel.
    #[serde(default)]
    pub doc: String,
    /// The IPv6 document (iptables).
    #[serde(default)]
    pub doc6: Option<String>,
    /// The boot files of this ruleset, by name (see [`crate::boot`]).
    #[serde(default)]
    pub boot: BTreeMap<String, String>,
}

fn iptables() -> String {
    "iptables".into()
}

/// A try waiting for `rampart confirm`, kept as `pending.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// Seconds since the Unix epoch after which the watchdog rolls back.
    pub deadline: u64,
    /// Identifies this try, so an old watchdog never undoes a newer apply.
    pub token: String,
    /// Waits for `rampart confirm`; otherwise it is an apply in progress,
    /// which its own end confirms.
    #[serde(default = "yes")]
    pub awaits_confirm: bool,
}

fn yes() -> bool {
    true
}

/// Held while a command changes the kernel or the state; released on drop.
#[must_use]
pub struct Lock {
    _file: File,
}

pub struct StateDir {
    dir: PathBuf,
    boot: Option<PathBuf>,
}

impl StateDir {
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), boot: None }
    }

    /// Keep the boot files in `dir` equal to the last confirmed apply, once
    /// it exists (`rampart install-service` creates it).
    #[must_use]
    pub fn with_boot(mut self, dir: impl Into<PathBuf>) -> Self {
        self.boot = Some(dir.into());
        self
    }

    /// The boot directory, when there is one.
    #[must_use]
    pub fn boot(&self) -> Option<&Path> {
        self.boot.as_deref().filter(|d| d.is_dir())
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Create the directory for root only (0700). An existing one that
    /// others may read is narrowed when it holds only Rampart's files, and
    /// refused otherwise (it is somebody else's directory).
    pub fn ensure(&self) -> Result<(), DeployError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| self.err("cannot create", &self.dir, source))?;
        let meta =
            std::fs::metadata(&self.dir).map_err(|e| self.err("cannot read", &self.dir, e))?;
        if meta.permissions().mode() & 0o077 == 0 {
            return Ok(());
        }
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| self.err("cannot read", &self.dir, e))?;
        let foreign = entries.filter_map(Result::ok).any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Temporary files of the atomic write start with a dot.
            !ours(&name) && !name.starts_with('.')
        });
        if foreign {
            return Err(self.err(
                "refusing a state directory others can read, holding files that are not \
                 Rampart's (give rampart a directory of its own)",
                &self.dir,
                std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            ));
        }
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|source| self.err("cannot protect", &self.dir, source))
    }

    fn err(&self, what: &'static str, path: &Path, source: std::io::Error) -> DeployError {
        DeployError::State { what, path: path.display().to_string(), source }
    }

    /// Take the lock: `wait` blocks until the holder is done; otherwise a
    /// lock still held after a few seconds (a watchdog finishing a rollback
    /// takes less) is refused with a sentence that says so.
    pub fn lock(&self, wait: bool) -> Result<Lock, DeployError> {
        self.ensure()?;
        let path = self.file(LOCK);
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| self.err("cannot open", &path, e))?;
        if wait {
            f.lock().map_err(|e| self.err("cannot lock", &path, e))?;
        } else {
            let until = std::time::Instant::now() + BUSY_WAIT;
            loop {
                match f.try_lock() {
                    Ok(()) => break,
                    Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return Err(DeployError::Busy(format!(
                            "another rampart apply or rollback is running (it holds {}); \
                             nothing was changed: wait for it and run this again",
                            path.display()
                        )));
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(self.err("cannot lock", &path, e));
                    }
                }
            }
        }
        Ok(Lock { _file: f })
    }

    /// Atomically, readable by root only: saved rulesets show the whole
    /// firewall.
    pub fn write(&self, name: &str, text: &str) -> Result<(), DeployError> {
        self.ensure()?;
        let path = self.file(name);
        rampart_os::write(&path, text.as_bytes(), 0o600)
            .map_err(|e| self.err("cannot write", &path, e))
    }

    pub fn read(&self, name: &str) -> Result<Option<String>, DeployError> {
        let path = self.file(name);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err("cannot read", &path, e)),
        }
    }

    pub fn remove(&self, name: &str) -> Result<(), DeployError> {
        let path = self.file(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err("cannot remove", &path, e)),
        }
    }

    pub fn read_json<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
    ) -> Result<Option<T>, DeployError> {
        let Some(text) = self.read(name)? else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            self.err(
                "cannot parse",
                &self.file(name),
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })
    }

    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), DeployError> {
        let text = serde_json::to_string_pretty(value).expect("state serialises");
        self.write(name, &(text + "\n"))
    }

    /// Write `value`, or remove the file when there is none.
    pub fn put_json<T: Serialize>(&self, name: &str, value: Option<&T>) -> Result<(), DeployError> {
        match value {
            Some(v) => self.write_json(name, v),
            None => self.remove(name),
        }
    }
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_root_only_and_never_somebody_elses() {
        let tmp = rampart_testing::tempdir("state");
        let dir = tmp.join("state");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let state = StateDir::new(&dir);
        state.write(APPLIED, "{}").unwrap();
        assert_eq!((mode(&dir), mode(&dir.join(APPLIED))), (0o700, 0o600));
        // Opened up by someone: narrowed again, it holds only Rampart's files.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        state.ensure().unwrap();
        assert_eq!(mode(&dir), 0o700);
        // Open and holding other files: somebody else's, refused.
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(state.ensure().unwrap_err().to_string().contains("not Rampart's"));
        assert_eq!(mode(&dir), 0o755);
    }
}
