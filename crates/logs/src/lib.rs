//! x
pub mod attribute;
pub mod envelope;
pub mod line;
