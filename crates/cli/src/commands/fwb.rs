//! `rampart import fwb FILE.fwb`: a Firewall Builder file into a Rampart
//! policy, checked before it is written.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::{Diagnostic, FileId, Sources};

use crate::commands::INVALID;
use crate::printer;

#[derive(Debug, clap::Args)]
pub(crate) struct FwbImport {
    /// The Firewall Builder file.
    pub(crate) file: PathBuf,
    /// The firewall to import (needed when the file has several iptables firewalls).
    #[arg(long)]
    pub(crate) firewall: Option<String>,
    /// Write the policy here instead of stdout.
    #[arg(short, long)]
    pub(crate) output: Option<PathBuf>,
    /// List the firewalls, rule sets and object counts of the file instead.
    #[arg(long, conflicts_with_all = ["firewall", "output"])]
    pub(crate) list: bool,
}

pub(crate) fn run(args: &FwbImport) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let xml =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut sources = Sources::new();
    let name = path.display().to_string();
    let file = sources.add(name.clone(), xml.clone());
    if args.list {
        return match rampart_fwb::list(&xml, file) {
            Ok(summary) => {
                printer::out(&listing(&summary));
                Ok(ExitCode::SUCCESS)
            }
            Err(diags) => {
                printer::diagnostics(&diags, &sources);
                Ok(ExitCode::from(INVALID))
            }
        };
    }
    let imported = match rampart_fwb::import(&xml, file, &name, args.firewall.as_deref()) {
        Ok(i) => i,
        Err(rampart_fwb::Error::Unreadable(diags)) => {
            printer::diagnostics(&diags, &sources);
            return Ok(ExitCode::from(INVALID));
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    printer::diagnostics(&imported.diagnostics, &sources);
    // The policy is checked as `rampart check` would: an importer that
    // writes a policy Rampart refuses is a bug, said so here.
    let out_name =
        args.output.as_ref().map_or("<imported policy>".to_owned(), |p| p.display().to_string());
    let before = sources.ids().count();
    let loaded = rampart_model::load_str(&out_name, &imported.text, &mut sources);
    if loaded.has_errors() {
        printer::diagnostics(&loaded.diagnostics, &sources);
        let policy = sources.ids().nth(before);
        if loaded.diagnostics.iter().any(|d| d.is_error() && in_a_table(d, policy)) {
            printer::note(&format!(
                "error: an address table of firewall `{}` has errors; nothing was written",
                imported.firewall
            ));
            return Ok(ExitCode::from(INVALID));
        }
        anyhow::bail!(
            "the imported policy of `{}` does not check (a bug in the importer)",
            imported.firewall
        );
    }
    match &args.output {
        Some(p) => rampart_os::write(p, imported.text.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", p.display()))?,
        None => printer::out(&imported.text),
    }
    if imported.diagnostics.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        printer::note(&format!(
            "{} part(s) of `{}` left out; each is a comment in the policy",
            imported.diagnostics.len(),
            imported.firewall
        ));
        Ok(ExitCode::from(INVALID))
    }
}

/// Whether `d` is about an address table the imported policy reads (a
/// line of its file, or a file that cannot be read, E0481): the input's
/// error, not the importer's. The other errors of a policy whose table is
/// unreadable (an empty column) follow from it.
fn in_a_table(d: &Diagnostic, policy: Option<FileId>) -> bool {
    d.code == "E0481" || d.span().is_some_and(|s| Some(s.file) != policy)
}

fn listing(s: &rampart_fwb::Summary) -> String {
    let mut out = String::new();
    for fw in &s.firewalls {
        let _ = writeln!(out, "firewall {:?} ({}, {})", fw.name, fw.platform, fw.host_os);
        for rs in &fw.rulesets {
            let top = if rs.top { ", top" } else { "" };
            let _ = writeln!(out, "  {} {:?}: {} rule(s){top}", rs.kind, rs.name, rs.rules);
        }
    }
    let _ = writeln!(out, "objects:");
    for (kind, n) in &s.objects {
        let _ = writeln!(out, "  {n:6}  {kind}");
    }
    out
}
