//! Deployment: getting a compiled ruleset into the kernel without locking
//! anyone out and with a way back.
//!
//! Input: the restricted-form IR of a compiled firewall. Output: a loaded
//! ruleset and a state directory recording what was applied and what was
//! there before. Start at [`apply::apply`]; [`guard`] traces the management
//! connection through the new rules before anything is loaded, [`status`]
//! compares what is loaded with what was applied, [`systemd`] writes the
//! boot units.

pub mod answer;
pub mod apply;
pub mod boot;
pub mod bundle;
mod conntrack;
pub mod counters;
pub mod diff;
pub mod guard;
pub mod iptables;
pub mod nft;
pub mod preflight;
pub mod preview;
pub mod remote;
pub mod sets;
pub mod state;
pub mod status;
pub mod systemd;
pub mod table;

/// The SHA-256 of `text` in hex: stable across builds and hosts, so a
/// version or a bundle's digest means the same everywhere.
#[must_use]
pub fn digest(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).iter().fold(String::new(), |mut s, b| {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
        s
    })
}

/// Why a deployment step could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeployError {
    /// A tool could not be started, or refused.
    #[error(transparent)]
    Tool(#[from] rampart_os::ToolError),
    /// The kernel or this host lacks what is needed (a container without
    /// the module, no permission); said once, in plain words, the tool's
    /// own error kept as the cause where one failed.
    #[error("{what}")]
    Capability {
        what: String,
        #[source]
        cause: Option<rampart_os::ToolError>,
    },
    /// Reading or writing the state directory failed.
    #[error("{what} `{path}`: {source}")]
    State { what: &'static str, path: String, source: std::io::Error },
    /// A compiled bundle that cannot be used.
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    /// An nft document that reaches beyond Rampart's own table.
    #[error("refused, nothing was loaded: the nft document: {0}")]
    NftScope(String),
    /// Another apply or rollback holds the state directory.
    #[error("{0}")]
    Busy(String),
    /// The rollback could not be armed; nothing was loaded.
    #[error("{0}")]
    Unprotected(String),
    /// Interrupted or failed after loading: the last confirmed rules were
    /// put back (or could not be, which the message says).
    #[error("{0}")]
    RolledBack(String),
    /// The ruleset holds what this deploy cannot load yet.
    #[error("{0}")]
    Unsupported(String),
    /// The ruleset would take over a chain that other software made.
    #[error("{0}")]
    Foreign(String),
    /// A value that cannot be written into a systemd unit.
    #[error("{0}")]
    Unit(String),
    /// The kernel is as it should be, but the boot files are not.
    #[error("{0}")]
    Boot(String),
    /// A tool's output that cannot be read: never taken for an empty one.
    #[error("{0}")]
    Unreadable(String),
    /// A run-time set that is not loaded, or an address that does not fit it.
    #[error("{0}")]
    Set(String),
    /// There is nothing to roll back to or confirm.
    #[error("{0}")]
    Nothing(String),
}
