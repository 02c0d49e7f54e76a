//! The Ruleset IR: netfilter as the kernel sees it.
//!
//! One IR serves every backend and the evaluator, so what is traced is what is
//! loaded. A [`Ruleset`] holds chains of one or more [`Table`]s: built-in
//! chains entered from a [`Hook`], user chains entered by jumps (by
//! [`ChainId`]), each a list of [`Rule`]s of typed [`Match`]es and a
//! [`Target`].
//!
//! The IR has a rich form and a restricted form. Lowering produces the rich
//! form, where a match may hold a whole (named) set of addresses, ports or
//! interfaces and a rule may log before its verdict — what nftables expresses
//! natively. The iptables pass in `rampart-lower` rewrites it into the
//! restricted form, where every rule is one iptables line; importers of
//! `iptables-save` produce that form directly. The restricted form is its
//! own type, [`Restricted`], which the iptables printers take. Start
//! reading at [`rule`].

mod addrtype;
mod arp;
mod builder;
pub mod depth;
mod dynset;
pub mod icmp;
mod iptables;
mod module;
pub mod origin;
mod rate;
pub mod read;
mod restricted;
pub mod rule;

pub use addrtype::{AddrTypeMatch, AddrTypes};
pub use arp::ArpGuard;
pub use builder::RulesetBuilder;
pub use dynset::{DynSet, SetMatch, ipset_members, sets};
pub use iptables::{TCP_FLAGS, addr_text, chain_line, format_rule, nat_to_text};
pub use module::{ModuleMatch, ModuleTest, PktType, parse_mac};
pub use rate::{ConnLimit, Limit, Rate, RateUnit};
pub use restricted::{MULTIPORT_MAX, NotRestricted, Restricted};
pub use rule::*;
