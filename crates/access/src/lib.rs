//! The console access kit: one user, one VM console.
//!
//! Input: an [`Access`] declaration of the model and the firewall it
//! belongs to. Output: a [`Kit`], the files that lock the viewer program
//! down (a sudoers fragment that pins each user's exact arguments, a
//! launcher that picks the caller's console by UID, systemd units for a
//! periodic audit) and the compiled firewall they go with. [`install`]
//! plans and applies the kit under a root directory and takes it away
//! again; [`audit`] finds drift and repairs it; [`check`] proves with the
//! evaluator that the firewall's rules let each user reach only their own
//! console.

pub mod audit;
pub mod check;
pub mod install;
pub mod launcher;
pub mod sudoers;

use rampart_model::{Access, Firewall};

/// Why a step of the kit could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written or changed.
    #[error("{what} `{path}`: {source}")]
    Io { what: &'static str, path: String, source: std::io::Error },
    /// A tool could not be started, or refused.
    #[error(transparent)]
    Tool(#[from] rampart_os::ToolError),
    /// Something the kit needs is not there.
    #[error("{0}")]
    Missing(String),
    /// The compiled rules cannot be read back whole.
    #[error(transparent)]
    Rules(#[from] rampart_deploy::DeployError),
}

/// Every generated file of one access declaration, with where it goes.
#[derive(Clone, Debug)]
pub struct Kit {
    pub access: Access,
    /// `rampart-NAME`: the sudoers fragment's and the launcher's name.
    pub stem: String,
    pub sudoers: String,
    pub launcher: String,
    pub service: String,
    pub timer: String,
    /// The compiled IPv4 ruleset (`iptables-restore` text) of the firewall.
    pub rules: String,
}

/// Where the files go, relative to the installation root.
pub mod paths {
    pub const SUDOERS_DIR: &str = "etc/sudoers.d";
    pub const LAUNCHER_DIR: &str = "usr/local/bin";
    pub const UNIT_DIR: &str = "etc/systemd/system";
    pub const STATE_DIR: &str = "var/lib/rampart/access";
}

impl Kit {
    /// Generate the kit. `audit` is the command line the audit service runs
    /// (`/usr/local/bin/rampart access audit /etc/rampart/policy.rp ...`),
    /// one argument per item; one that no unit can hold is an error.
    pub fn new(
        access: &Access,
        fw: &Firewall,
        audit: &[&str],
    ) -> Result<Kit, rampart_deploy::DeployError> {
        let stem = stem(&access.name);
        let compiled = rampart_lower::compile(fw);
        let title = format!("firewall {} (access {})", fw.name, access.name);
        let rules =
            rampart_emit::iptables_restore(&compiled.v4, rampart_ir::Family::V4, &title, None);
        let (service, timer) = rampart_deploy::systemd::audit_units(&access.name, audit)?;
        Ok(Kit {
            sudoers: sudoers::fragment(access),
            launcher: launcher::script(access, &stem),
            service,
            timer,
            rules,
            stem,
            access: access.clone(),
        })
    }

    pub fn sudoers_path(&self) -> String {
        format!("{}/{}", paths::SUDOERS_DIR, self.stem)
    }

    pub fn launcher_path(&self) -> String {
        format!("{}/{}", paths::LAUNCHER_DIR, self.stem)
    }

    pub fn unit_name(&self, ext: &str) -> String {
        format!("{}-audit.{ext}", self.stem)
    }

    /// The generated files: relative path, mode, content.
    #[must_use]
    pub fn files(&self) -> Vec<(String, u32, &str)> {
        vec![
            (self.launcher_path(), 0o755, self.launcher.as_str()),
            (format!("{}/{}", paths::UNIT_DIR, self.unit_name("service")), 0o644, &self.service),
            (format!("{}/{}", paths::UNIT_DIR, self.unit_name("timer")), 0o644, &self.timer),
        ]
    }
}

/// `rampart-NAME`, safe as a sudoers.d file name (sudo skips names with a
/// `.` or ending in `~`) and as a command name.
fn stem(name: &str) -> String {
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    format!("rampart-{safe}")
}

/// The `spice://HOST?tls-port=PORT` address of a console.
#[must_use]
pub fn console_url(g: &rampart_model::Grant) -> String {
    let host = if g.addr.is_ipv6() && g.host.contains(':') {
        format!("[{}]", g.host)
    } else {
        g.host.clone()
    };
    format!("spice://{host}?tls-port={}", g.port)
}
