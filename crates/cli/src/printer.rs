//! The only place that prints. Data goes to stdout, messages to stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::io::{IsTerminal, Write};

use rampart_diag::{Diagnostic, Sources};

/// Write data to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// One piece of a stream (`logs follow`), written at once; `false` once the
/// reader has gone (`| head`), so the caller can stop.
pub(crate) fn stream(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok()
}

/// A message for the person at the terminal.
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// Render diagnostics to stderr, in colour on a terminal unless NO_COLOR is set.
pub(crate) fn diagnostics(diags: &[Diagnostic], sources: &Sources) {
    if diags.is_empty() {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", rampart_diag::render(diags, sources, color));
}
