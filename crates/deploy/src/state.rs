//! The state directory: what was applied, what was there before, and a
//! pending try that waits for confirmation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::DeployError;

/// Default place for state; `--state-dir` or `RAMPART_STATE_DIR` override it.
pub const DEFAULT_DIR: &str = "/var/lib/rampart";

/// What was applied, kept as `applied.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub policy: String,
    pub firewall: String,
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
    /// `iptables` or `nft`.
    #[serde(default = "iptables")]
    pub backend: String,
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
}

pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn ensure(&self) -> Result<(), DeployError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|source| self.err("cannot create", &self.dir, source))
    }

    fn err(&self, what: &'static str, path: &Path, source: std::io::Error) -> DeployError {
        DeployError::State { what, path: path.display().to_string(), source }
    }

    /// Write through a temporary file and rename, so a crash never leaves
    /// half a file.
    pub fn write(&self, name: &str, text: &str) -> Result<(), DeployError> {
        self.ensure()?;
        let path = self.file(name);
        let tmp = self.file(&format!(".{name}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| self.err("cannot write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| self.err("cannot write", &path, e))
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
}

/// Seconds since the Unix epoch.
#[must_use]
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
