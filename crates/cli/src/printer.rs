//! The only place that prints. Data goes to stdout, messages to stderr.
//!
//! Text can quote its input (names, paths, log lines, a tool's output), so
//! every control character but a line break or a tab is written as its
//! escape (`\u{1b}`): nothing read can move the cursor or fake output.

#![allow(clippy::print_stdout, clippy::print_stderr)] // printing is this module's job

use std::io::{IsTerminal, Write};

use rampart_diag::{Diagnostic, Sources, printable_lines};

/// Write data to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn out(text: &str) {
    let text = printable_lines(text);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// One piece of a stream (`logs follow`), written at once; `false` once the
/// reader has gone (`| head`), so the caller can stop.
pub(crate) fn stream(text: &str) -> bool {
    let text = printable_lines(text);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_ok()
}

/// A message for the person at the terminal.
pub(crate) fn note(text: &str) {
    eprintln!("{}", printable_lines(text));
}

/// Render diagnostics to stderr, in colour on a terminal unless NO_COLOR is
/// set. The renderer escapes what they quote itself, around its colours.
pub(crate) fn diagnostics(diags: &[Diagnostic], sources: &Sources) {
    if diags.is_empty() {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    eprint!("{}", rampart_diag::render(diags, sources, color));
}
