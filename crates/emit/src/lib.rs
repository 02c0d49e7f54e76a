//! Text backends of the Ruleset IR. Each is a pure function of the IR:
//! the same ruleset gives byte-identical text.
//!
//! - [`iptables_restore`]: one `*filter … COMMIT` document for
//!   `iptables-restore` (or `ip6tables-restore`), loaded atomically.
//! - [`shell_script`]: Rampart's chains ([`hooked`]) inside a readable shell
//!   script in the Firewall Builder manner, loaded atomically and hooked
//!   into the built-in chains, leaving other software's rules alone.

pub mod hooked;
mod iptables_restore;
mod shell;

pub use iptables_restore::iptables_restore;
pub use shell::shell_script;

use rampart_diag::{Sources, printable};
use rampart_ir::Origin;

/// `rule 7 (policy.rp:31:5)`, or `rule 0 (implicit)` for rules Rampart adds.
#[must_use]
pub fn describe_origin(origin: Option<Origin>, sources: &Sources) -> String {
    match origin {
        Some(Origin { rule, span: Some(span) }) => {
            format!("rule {rule} ({})", sources.location(span))
        }
        Some(Origin { rule, span: None }) => format!("rule {rule} (implicit)"),
        None => "no policy rule".into(),
    }
}

/// A `#` comment line of a generated file (an iptables-restore document or
/// a shell script, which read `#` alike): a file name or title holding a
/// line break stays on this one line.
fn comment(text: &str) -> String {
    format!("# {}\n", printable(text))
}
