//! The checked firewall model.
//!
//! Input: policy files (following `include`). Output: a [`Model`] of
//! firewalls whose rules hold resolved addresses, services, interfaces and
//! users, or diagnostics that say what is wrong and where. Start at
//! [`load`]; names are resolved in `resolve.rs`, firewalls and rules in
//! `firewall.rs`. Rules that can never match are found on the compiled
//! ruleset by `rampart-analysis`.

mod access;
mod addr;
mod bridge;
mod diagnostics;
mod expect;
mod firewall;
mod limit;
mod load;
mod mark;
mod model;
mod names;
mod nat;
mod ports;
mod prefix;
mod resolve;
mod service;
mod sets;
mod standard;
mod time;

pub use access::{Access, Grant};
pub use bridge::{Bridge, BridgePort, PortKind};
pub use expect::{Expect, Expected};
pub use firewall::{MAX_LOG_PREFIX, log_prefix, rule_log_prefix};
pub use load::{Loaded, MAX_POLICY_BYTES, load, load_str, load_text};
pub use model::*;
pub use names::IPTABLES_NAMES;
pub use time::describe as describe_time;
