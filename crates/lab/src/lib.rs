//! A small kernel harness: throw-away network namespaces, veth pairs and
//! Linux bridges, built by shelling out to `ip`, for tests (and later
//! `rampart lab`) that hold rulesets to the kernel's truth.
//!
//! Input: what to build, through [`Netns`] and the helpers in [`netns`].
//! Output: namespaces that exist while their guard lives and are deleted on
//! drop. Everything created lives inside namespaces the caller owns, so
//! nothing on the host is touched. Start reading at [`Netns`].
//!
//! Missing tools are errors with an install hint ([`require_tools`]), never a
//! silent skip: a kernel test that cannot run must fail.

pub mod kmsg;
pub mod netns;

pub use kmsg::{Kmsg, enable_netns_logging};
pub use netns::{LabError, Netns, Tool, bridge, require_root, require_tools, sweep_stale, veth};
