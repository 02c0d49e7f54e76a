//! `rampart trace`: which rule decides a packet, and why.
//!
//! Input: a [`rampart_ir::Ruleset`] (the filter table, rich or restricted
//! form, compiled by Rampart or read from `iptables-save` or a script by
//! [`rampart_ir::read`]) and a [`Packet`]. Output: a [`Trace`]: the path of
//! matching rules with what each did, the LOG/NFLOG prefixes printed, the
//! verdict and the rule that decided it, and for every match that cannot
//! be decided, what the verdict would be either way.
//!
//! Start reading at [`eval`] (the semantics of the walk through chains) and
//! [`matches`] (what each match means). [`Tracer`] is the same evaluator
//! compiled for speed; [`explain`] renders a trace as text or JSON.

mod check;
mod compile;
pub mod eval;
pub mod explain;
mod index;
mod interfaces;
pub mod matches;
pub mod nat;
pub mod packet;
pub mod routed;
mod routes;

pub use check::{Problem, check};
pub use compile::{Prepared, Tracer};
pub use eval::{
    Action, Ending, Fork, RuleRef, Step, Trace, Undecided, Verdict, trace, trace_chain,
    trace_table, trace_through,
};
pub use interfaces::Interfaces;
pub use matches::{Tri, Why};
pub use packet::{CtState, Given, Hook, Packet, tcp};
pub use routed::{Passage, Route, Routed, Walk, routed, stages};
pub use routes::LocalTable;

#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod tests;
