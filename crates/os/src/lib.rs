//! This machine's files. Every file Rampart writes for others to read
//! (compiled rules, units, state, sudoers fragments) goes through
//! [`write`] or [`stage`], so no reader ever sees half a file and no
//! planted symlink redirects a write. Files others may have chosen are
//! read with [`read_text`]: regular files only, bounded. Tools are run
//! with [`run`], which keeps their own words for the error.

pub mod command;
pub mod file;
pub mod read;

pub use command::{ToolError, output, run};
pub use file::{Staged, stage, write};
pub use read::read_text;
