//! Firewall Builder files (`.fwb`) into Rampart policy text.
//!
//! Input: the XML of a Firewall Builder object database. Output: the text
//! of a Rampart policy for one firewall ([`import`]) — the objects its rules
//! use, its interfaces and options, its policy rule sets with their rule
//! numbers — or a summary of the file ([`list`]). What Rampart cannot
//! express is never dropped silently: each such element is a diagnostic
//! naming the rule set and rule, and a comment where it stood in the text.
//! Start reading at `policy.rs`; `objects.rs` writes addresses and services.

mod db;
mod diagnostics;
mod objects;
mod policy;

use rampart_diag::{Diagnostic, FileId};

pub use db::Summary;

/// A policy written from a .fwb file, and what could not be carried over.
#[derive(Debug)]
pub struct Imported {
    /// The firewall's name as Firewall Builder spells it.
    pub firewall: String,
    /// Rampart policy text; parts left out are comments in place.
    pub text: String,
    /// One error per part left out (non-empty means the policy is not the
    /// whole firewall).
    pub diagnostics: Vec<Diagnostic>,
}

/// Why no policy could be written at all.
#[derive(Debug)]
pub enum Error {
    /// The XML does not parse or is not an object database.
    Unreadable(Vec<Diagnostic>),
    /// `--firewall NAME` names none of the file's iptables firewalls.
    NoSuchFirewall { name: String, available: Vec<String> },
    /// Several iptables firewalls and none chosen.
    Ambiguous(Vec<String>),
    /// The file describes no iptables firewall.
    NoFirewall,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Unreadable(_) => write!(f, "the file is not a readable Firewall Builder file"),
            Error::NoSuchFirewall { name, available } => write!(
                f,
                "no iptables firewall `{name}` in the file (it has: {})",
                available.join(", ")
            ),
            Error::Ambiguous(names) => write!(
                f,
                "the file describes several iptables firewalls ({}); choose one with --firewall",
                names.join(", ")
            ),
            Error::NoFirewall => write!(f, "the file describes no iptables firewall"),
        }
    }
}

impl std::error::Error for Error {}

/// Write the policy of one iptables firewall of `xml` (the only one, or
/// the one named). `file` is where diagnostics point; `file_name` is
/// named in the policy's heading.
pub fn import(
    xml: &str,
    file: FileId,
    file_name: &str,
    firewall: Option<&str>,
) -> Result<Imported, Error> {
    let db = db::Db::parse(xml, file).map_err(Error::Unreadable)?;
    let names: Vec<String> = db.firewalls().map(|f| db.name(f).to_owned()).collect();
    let fw = match firewall {
        Some(n) => db.firewalls().find(|f| db.name(*f) == n).ok_or_else(|| {
            Error::NoSuchFirewall { name: n.to_owned(), available: names.clone() }
        })?,
        None => match names.len() {
            0 => return Err(Error::NoFirewall),
            1 => db.firewalls().next().ok_or(Error::NoFirewall)?,
            _ => return Err(Error::Ambiguous(names)),
        },
    };
    let (text, diagnostics) = policy::write(&db, fw, file_name);
    Ok(Imported { firewall: db.name(fw).to_owned(), text, diagnostics })
}

/// Every firewall of the file (of any platform), its rule sets and the
/// number of objects of each kind.
pub fn list(xml: &str, file: FileId) -> Result<Summary, Vec<Diagnostic>> {
    Ok(db::Db::parse(xml, file)?.summary())
}
