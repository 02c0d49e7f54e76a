//! Source files, spans and diagnostics shared by every Rampart stage.
//!
//! Stages report problems in the input as [`Diagnostic`] values (never as
//! `Err`); the CLI renders them with [`render`]. Start with [`Sources`], which
//! owns every file read and turns byte spans into line and column.

mod diagnostic;
mod render;
mod source;
mod suggest;
mod text;

pub use diagnostic::{Diagnostic, Label, Severity};
pub use render::{render, render_json};
pub use source::{FileId, LineCol, Sources, Span};
pub use suggest::closest;
pub use text::{printable, printable_lines, reorders};
