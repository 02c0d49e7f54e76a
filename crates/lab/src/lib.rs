//! A kernel lab: throw-away network namespaces, veth pairs and Linux
//! bridges, built by shelling out to `ip`, in which a ruleset is loaded
//! with the real tools and probed. It is `rampart lab` and the harness of
//! every kernel test.
//!
//! Input: a lab file ([`parse()`] → [`Lab`]) and the firewall's ruleset as
//! `iptables-restore` text, and optionally as an `nft -f` document to load
//! instead ([`Rules`]). Output: a [`Report`], per probe the
//! outcome expected, seen and predicted by `rampart trace`, with the LOG
//! lines and rule counters as evidence. Start reading at [`run::run`];
//! [`topology`] builds, [`probe`] sends, [`evidence`] reads back,
//! [`path`] predicts the hooks a probe crosses.
//!
//! The lower layer, [`Netns`] and the helpers in [`netns`], is what the
//! kernel tests use directly. Missing tools are errors with an install
//! hint ([`require_tools`]), never a silent skip.

mod check;
pub mod describe;
mod diagnostics;
pub mod evidence;
pub mod kmsg;
/// The harness, its own crate so that the nft backend's tests use it
/// without the lab.
pub use rampart_netns as netns;
pub mod offline;
pub mod parse;
pub mod path;
pub mod probe;
pub mod run;
pub mod topology;

pub use describe::Lab;
pub use evidence::{KmsgTail, NetnsLogging};
pub use kmsg::Kmsg;
pub use netns::{
    LabError, Netns, Spawned, Tool, bridge, connects_as, connects_many, require_root,
    require_tools, sweep_stale, veth, wait_until,
};
pub use parse::{Parsed, parse};
pub use run::{Report, Rules};
