//! Loading a policy for a command: read, check, report, pick a firewall.

use std::path::Path;

use anyhow::Context;
use rampart_diag::{Diagnostic, Severity, Sources};
use rampart_model::{Firewall, Model};

use crate::printer;

/// Built-in example policies, so that `rampart demo` works anywhere.
pub(crate) const EXAMPLES: [(&str, &str); 2] = [
    ("examples/spice-client.rp", include_str!("../../../examples/spice-client.rp")),
    ("examples/office-gateway.rp", include_str!("../../../examples/office-gateway.rp")),
];

/// A checked policy, or the reason it cannot be used.
pub(crate) enum Checked {
    Ok(Model, Vec<Diagnostic>),
    /// Errors were found (and printed).
    Invalid(Vec<Diagnostic>),
}

/// Load and check a policy file. Diagnostics are printed unless `quiet`.
pub(crate) fn load(path: &Path, sources: &mut Sources, quiet: bool) -> anyhow::Result<Checked> {
    let loaded = rampart_model::load(path, sources)
        .with_context(|| format!("cannot read policy `{}`", path.display()))?;
    Ok(finish(loaded, sources, quiet))
}

/// Prints (unless `quiet`) the diagnostics of loading and, for a model
/// without errors, the warnings of the analysis of each firewall.
pub(crate) fn finish(mut loaded: rampart_model::Loaded, sources: &Sources, quiet: bool) -> Checked {
    if let Some(m) = loaded.model.as_ref().filter(|_| !loaded.has_errors()) {
        let (warnings, _) = analyse(m);
        loaded.diagnostics.extend(warnings);
        loaded.diagnostics.extend(expectations(m).iter().filter_map(|o| o.diagnostic()));
    }
    if !quiet {
        printer::diagnostics(&loaded.diagnostics, sources);
    }
    match loaded.model {
        Some(m) if !loaded.has_errors() => Checked::Ok(m, loaded.diagnostics),
        _ => Checked::Invalid(loaded.diagnostics),
    }
}

/// The anomalies of each firewall's compiled ruleset: warnings (rules
/// that never match or change nothing) and notes (overlaps whose order
/// matters, exceptions before general rules), shown by `check --anomalies`;
/// and, among the first, errors for every form that nests chains deeper
/// than the kernel loads.
pub(crate) fn analyse(model: &Model) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    model
        .firewalls
        .iter()
        .flat_map(|fw| {
            // The nft classifier keeps a ruleset linear where cutting it
            // would nest too deep, so the rich form stands for nft.
            let c = rampart_lower::compile(fw);
            let forms = [("nft", &c.rich), ("iptables", &*c.v4), ("ip6tables", &*c.v6)];
            let mut out = rampart_analysis::check_depth(&forms);
            out.extend(rampart_analysis::check(&c.rich));
            out
        })
        .partition(|d| d.severity != Severity::Info)
}

/// The `expect` lines of every firewall, checked against the rules
/// `rampart compile` writes for it.
pub(crate) fn expectations(model: &Model) -> Vec<rampart_analysis::ExpectOutcome> {
    model
        .firewalls
        .iter()
        .filter(|fw| !fw.expects.is_empty())
        .flat_map(|fw| {
            let c = rampart_lower::compile(fw);
            rampart_analysis::expectations(fw, &c.v4, &c.v6)
        })
        .collect()
}

/// The firewall to work on: the one named, or the only one.
pub(crate) fn pick<'m>(model: &'m Model, name: Option<&str>) -> anyhow::Result<&'m Firewall> {
    let names = || model.firewalls.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
    match name {
        Some(n) => model
            .firewall(n)
            .with_context(|| format!("no firewall `{n}` in the policy (it has: {})", names())),
        None => match model.firewalls.as_slice() {
            [one] => Ok(one),
            [] => anyhow::bail!("the policy describes no firewall; add `firewall NAME {{ ... }}`"),
            _ => anyhow::bail!(
                "the policy describes several firewalls ({}); choose one with --firewall",
                names()
            ),
        },
    }
}
