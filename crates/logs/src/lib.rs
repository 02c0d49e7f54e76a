//! x
pub mod envelope;
pub mod line;
