//! x
pub mod attribute;
pub mod envelope;
pub mod line;
pub mod source;
pub mod summary;
