//! Lexer, parser and syntax tree of Rampart's policy language.
//!
//! Input: the text of one policy file. Output: [`Parsed`], a syntax tree
//! ([`ast::Policy`]) plus the diagnostics found on the way; parsing never
//! fails, it recovers at the next line. The tree keeps words as written
//! (`192.168.2.0/24`, `20001-20010`): giving them meaning, with errors that
//! point at them, is the model's job. Start reading at [`parser`].

pub mod ast;
mod diagnostics;
mod format;
pub mod lexer;
mod parser;
pub mod write;

pub use format::format;
pub use parser::parse;

/// A syntax tree and the problems found while building it.
#[derive(Debug)]
pub struct Parsed<T> {
    pub ast: T,
    pub diagnostics: Vec<rampart_diag::Diagnostic>,
    /// The text of each statement that did not parse (left out of `ast`),
    /// so later checks can tell a name defined there from an unknown one.
    pub skipped: Vec<rampart_diag::Span>,
}
