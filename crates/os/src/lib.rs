//! This machine's files. Every file Rampart writes for others to read
//! (compiled rules, units, state, sudoers fragments) goes through
//! [`write`] or [`stage`], so no reader ever sees half a file and no
//! planted symlink redirects a write.

pub mod file;

pub use file::{Staged, stage, write};
