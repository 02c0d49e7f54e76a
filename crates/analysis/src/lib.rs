//! Analysis of a compiled ruleset, exact over the matches it models.
//!
//! [`anomalies`]: per chain and address family, every rule is the set of
//! packets it matches ([`space::Space`], a product of interval sets); a
//! rule is shadowed or redundant when earlier rules together cover it,
//! and pairs that overlap with different verdicts are generalizations
//! or correlations. Matches not modelled are kept opaque, so the
//! analysis only claims what holds whatever they match. [`check`] turns
//! the anomalies into diagnostics on the policy's rules (W0301, W0320,
//! W0321, W0322). [`check_placed`] warns of policy rules that compile to no
//! line at all (W0490). [`check_depth`] refuses chains nested deeper than the
//! kernel follows (E0276).

pub mod anomaly;
mod check;
pub mod cuts;
mod depth;
mod diagnostics;
pub mod expect;
pub mod matrix;
pub mod packets;
mod placed;
mod ranges;
pub mod service;
pub mod space;

pub use anomaly::{Anomaly, Kind, anomalies};
pub use check::check;
pub use depth::check_depth;
pub use expect::{ExpectOutcome, expectations};
pub use matrix::{Matrix, matrix};
pub use placed::check_placed;
pub use ranges::Ranges;
pub use service::{ServiceMatrix, service_matrix};

#[cfg(test)]
mod expect_tests;
#[cfg(test)]
mod matrix_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;
