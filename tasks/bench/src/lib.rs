//! The synthetic policy of the benchmark suite, written in three forms.
//!
//! [`Plan::new`] decides N rules over host, network and port groups, with
//! negation, user rules, branches and logging; [`Plan::rampart`],
//! [`Plan::fwb`] and [`Plan::aerleon`] write the same policy as Rampart's
//! language, a Firewall Builder `.fwb` database and an Aerleon policy.
//! How each construct maps, and what a peer cannot express, is in
//! `tasks/bench/README.md`.

mod aerleon;
pub mod fwb;
mod plan;
mod rampart;

pub use aerleon::Aerleon;
pub use plan::{Addr, BRANCH_RULES, Kind, MIN_N, Plan, Rule, Service};
