//! The boot files: what `rampart.service` (iptables) or
//! `rampart-nft.service` loads at boot. After every confirmed apply they
//! are exactly what was applied, for the backend used; the other backend's
//! files are removed, so boot never loads an older ruleset.

use std::collections::BTreeMap;
use std::path::Path;

use rampart_ir::Family;

use crate::DeployError;
use crate::apply::Load;
use crate::nft;
use crate::systemd::{RULES_NFT, RULES_V4, RULES_V6};

/// The boot files of a load, by name. The iptables documents are
/// `--noflush` ones that replace Rampart's chains and nothing else; the nft
/// one replaces Rampart's tables.
#[must_use]
pub fn files(load: &Load<'_>) -> BTreeMap<String, String> {
    match load {
        Load::Iptables { v4, v6 } => BTreeMap::from([
            (RULES_V4.to_owned(), boot_doc(v4, Family::V4)),
            (RULES_V6.to_owned(), boot_doc(v6, Family::V6)),
        ]),
        Load::Nft(doc) => BTreeMap::from([(RULES_NFT.to_owned(), nft::replace_prefix() + doc)]),
    }
}

/// Rampart's part of a fresh filter table: its chains, hooked into the
/// built-in chains (the unit takes out an earlier hook first when it runs
/// again).
fn boot_doc(rs: &rampart_ir::Restricted, family: Family) -> String {
    let mut doc = String::new();
    for table in rs.tables() {
        let owned = rampart_emit::hooked::owned(rs, family, table);
        doc.push_str(&crate::table::transition(&owned, &Default::default(), ""));
    }
    doc
}

/// Make `dir` hold exactly `files` (root only), each written atomically.
pub fn persist(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), DeployError> {
    let err = |what, path: &Path, source| DeployError::State {
        what,
        path: path.display().to_string(),
        source,
    };
    for name in [RULES_V4, RULES_V6, RULES_NFT] {
        let path = dir.join(name);
        match files.get(name) {
            Some(text) => rampart_os::write(&path, text.as_bytes(), 0o600)
                .map_err(|e| err("cannot write", &path, e))?,
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(err("cannot remove", &path, e));
                }
                _ => {}
            },
        }
    }
    Ok(())
}

/// How the boot files in `dir` differ from `files`, one sentence each.
pub fn check(dir: &Path, files: &BTreeMap<String, String>) -> Result<Vec<String>, DeployError> {
    let mut problems = Vec::new();
    for name in [RULES_V4, RULES_V6, RULES_NFT] {
        let path = dir.join(name);
        let found = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(DeployError::State {
                    what: "cannot read",
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        match (files.get(name), found) {
            (Some(want), Some(got)) if *want != got => problems.push(format!(
                "{}: not the applied rules (boot would load others)",
                path.display()
            )),
            (Some(_), None) => {
                problems.push(format!("{}: missing (boot would load nothing)", path.display()));
            }
            (None, Some(_)) => problems.push(format!(
                "{}: left from another ruleset (boot would load it)",
                path.display()
            )),
            _ => {}
        }
    }
    Ok(problems)
}
