//! Has the kit drifted? Package updates reset the viewer's owner and mode,
//! hand edits change the sudoers fragment, a reboot without the boot
//! service leaves the firewall empty. `--fix` repairs what it safely can.

use std::fmt;
use std::os::unix::fs::MetadataExt;

use rampart_deploy::diff::{compiled_rules, loaded_rules};

use crate::install::{self, Root, Step};
use crate::{Error, Kit};

/// One difference between the kit and the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    ViewerMissing {
        path: String,
    },
    ViewerOwner {
        path: String,
        uid: u32,
        gid: u32,
        want_gid: u32,
    },
    ViewerMode {
        path: String,
        mode: u32,
    },
    GroupMissing {
        group: String,
    },
    FileMissing {
        path: String,
    },
    FileChanged {
        path: String,
    },
    /// Rules of the compiled firewall not in the loaded table, per chain.
    RulesMissing {
        chain: String,
        missing: Vec<String>,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::ViewerMissing { path } => write!(f, "viewer {path} is missing"),
            Finding::ViewerOwner { path, uid, gid, want_gid } => write!(
                f,
                "viewer {path} is owned by {uid}:{gid}, should be 0:{want_gid} (root and the viewer group)"
            ),
            Finding::ViewerMode { path, mode } => {
                write!(f, "viewer {path} has mode {mode:04o}, should be 0750")
            }
            Finding::GroupMissing { group } => write!(f, "group {group} does not exist"),
            Finding::FileMissing { path } => write!(f, "/{path} is missing"),
            Finding::FileChanged { path } => {
                write!(f, "/{path} differs from what the policy generates")
            }
            Finding::RulesMissing { chain, missing } => {
                write!(
                    f,
                    "chain {chain} lacks {} rule(s) of the compiled firewall:",
                    missing.len()
                )?;
                for m in missing {
                    write!(f, "\n    {m}")?;
                }
                Ok(())
            }
        }
    }
}

/// Compare the kit with the system under `root`. `loaded` is the output of
/// `iptables-save -t filter`, or `None` to skip the firewall.
pub fn audit(kit: &Kit, root: &Root, loaded: Option<&str>) -> Result<Vec<Finding>, Error> {
    let a = &kit.access;
    let mut out = Vec::new();
    let want_gid = install::group_id(root, &a.group)?;
    if want_gid.is_none() {
        out.push(Finding::GroupMissing { group: a.group.clone() });
    }
    match std::fs::metadata(root.join(&a.viewer)) {
        Err(_) => out.push(Finding::ViewerMissing { path: a.viewer.clone() }),
        Ok(m) => {
            if let Some(want_gid) = want_gid
                && (m.uid() != 0 || m.gid() != want_gid)
            {
                out.push(Finding::ViewerOwner {
                    path: a.viewer.clone(),
                    uid: m.uid(),
                    gid: m.gid(),
                    want_gid,
                });
            }
            if m.mode() & 0o7777 != 0o750 {
                out.push(Finding::ViewerMode { path: a.viewer.clone(), mode: m.mode() & 0o7777 });
            }
        }
    }
    let mut files = vec![(kit.sudoers_path(), kit.sudoers.as_str())];
    files.extend(kit.files().into_iter().map(|(p, _, c)| (p, c)));
    for (path, want) in files {
        match std::fs::read_to_string(root.join(&path)) {
            Err(_) => out.push(Finding::FileMissing { path }),
            Ok(have) if have != want => out.push(Finding::FileChanged { path }),
            Ok(_) => {}
        }
    }
    if let Some(loaded) = loaded {
        out.extend(missing_rules(&kit.rules, loaded)?);
    }
    Ok(out)
}

/// Every compiled rule must be loaded, in order, in its chain (other rules
/// may sit between them: the audit checks presence, not exclusivity).
/// A compiled document the reader cannot read whole is an error.
pub fn missing_rules(compiled: &str, loaded: &str) -> Result<Vec<Finding>, Error> {
    let want = compiled_rules(compiled)?;
    let have = loaded_rules(loaded);
    let mut out = Vec::new();
    for (chain, rules) in &want {
        let got = have.get(chain).map_or(&[][..], Vec::as_slice);
        let mut at = 0;
        let mut missing = Vec::new();
        for r in rules {
            match got[at..].iter().position(|g| g == r) {
                Some(i) => at += i + 1,
                None => missing.push(format!("-A {chain} {r}")),
            }
        }
        if !missing.is_empty() {
            out.push(Finding::RulesMissing { chain: chain.clone(), missing });
        }
    }
    Ok(out)
}

/// The steps that repair the findings. Missing firewall rules are not
/// repaired here: loading a firewall belongs to `rampart apply`, with its
/// lock-out guard.
#[must_use]
pub fn fix_plan(kit: &Kit, findings: &[Finding]) -> Vec<Step> {
    let a = &kit.access;
    let mut steps = Vec::new();
    if findings.iter().any(|f| matches!(f, Finding::GroupMissing { .. })) {
        steps.push(Step::CreateGroup { group: a.group.clone() });
    }
    if findings.iter().any(|f| {
        matches!(
            f,
            Finding::ViewerOwner { .. } | Finding::ViewerMode { .. } | Finding::GroupMissing { .. }
        )
    }) && !findings.iter().any(|f| matches!(f, Finding::ViewerMissing { .. }))
    {
        steps.push(Step::LockViewer { path: a.viewer.clone(), group: a.group.clone() });
    }
    for f in findings {
        let (Finding::FileMissing { path } | Finding::FileChanged { path }) = f else { continue };
        if *path == kit.sudoers_path() {
            steps.push(Step::InstallSudoers { path: path.clone(), content: kit.sudoers.clone() });
        } else if let Some((p, mode, c)) = kit.files().into_iter().find(|(p, _, _)| p == path) {
            steps.push(Step::WriteFile { path: p, mode, content: c.to_owned() });
        }
    }
    steps
}
