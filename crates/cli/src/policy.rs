//! Loading a policy for a command: read, check, report, pick a firewall.

use std::path::Path;

use anyhow::Context;
use rampart_diag::{Diagnostic, Severity, Sources};
use rampart_ir::Ruleset;
use rampart_lower::{Compiled, compile};
use rampart_model::{Firewall, Model};

use crate::printer;

/// Built-in example policies, so that `rampart demo` works anywhere.
pub(crate) const EXAMPLES: [(&str, &str); 2] = [
    ("examples/spice-client.rp", include_str!("../../../examples/spice-client.rp")),
    ("examples/office-gateway.rp", include_str!("../../../examples/office-gateway.rp")),
];

/// A checked policy, or the reason it cannot be used.
pub(crate) enum Checked {
    /// The model, its diagnostics (printed unless quiet), and the notes of
    /// the anomaly analysis (W0321, W0322; only with [`Analysis::Anomalies`],
    /// never printed here).
    Ok(Model, Vec<Diagnostic>, Vec<Diagnostic>),
    /// Errors were found (and printed).
    Invalid(Vec<Diagnostic>),
}

/// How much of the analysis a command runs on a policy.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Analysis {
    /// The model's diagnostics and the `expect` lines; the caller checks
    /// the forms it compiles with [`too_deep`] (`compile`, which lowers
    /// once).
    Model,
    /// Also every compiled form nested too deep: what decides whether
    /// the rules can be loaded.
    Errors,
    /// Also the anomalies of the compiled rules (W0301, W0320): `check`.
    /// It compares every rule with the earlier ones, so it costs more
    /// than compiling and is left to `check`, as a linter is.
    Anomalies,
}

/// Load and check a policy file. Diagnostics are printed unless `quiet`.
pub(crate) fn load(
    path: &Path,
    sources: &mut Sources,
    quiet: bool,
    analysis: Analysis,
) -> anyhow::Result<Checked> {
    let loaded = rampart_model::load(path, sources)
        .with_context(|| format!("cannot read policy `{}`", path.display()))?;
    Ok(finish(loaded, sources, quiet, analysis))
}

/// [`load`] for a command that acts on the policy: its model, or `None`
/// when it has errors (printed, with the note that nothing was `done`).
pub(crate) fn load_valid(
    path: &Path,
    sources: &mut Sources,
    analysis: Analysis,
    done: &str,
) -> anyhow::Result<Option<Model>> {
    Ok(match load(path, sources, false, analysis)? {
        Checked::Ok(model, ..) => Some(model),
        Checked::Invalid(_) => {
            printer::note(&format!("error: the policy has errors; nothing was {done}"));
            None
        }
    })
}

/// Prints (unless `quiet`) the diagnostics of loading and, for a model
/// without errors, those of the `analysis` of each firewall.
pub(crate) fn finish(
    mut loaded: rampart_model::Loaded,
    sources: &Sources,
    quiet: bool,
    analysis: Analysis,
) -> Checked {
    let mut notes = Vec::new();
    if let Some(m) = loaded.model.as_ref().filter(|_| !loaded.has_errors()) {
        let found = match analysis {
            Analysis::Anomalies => {
                let (warnings, n) = analyse(m);
                notes = n;
                warnings
            }
            Analysis::Errors => m.firewalls.iter().flat_map(|fw| depth(&compile(fw))).collect(),
            Analysis::Model => Vec::new(),
        };
        loaded.diagnostics.extend(found);
        loaded.diagnostics.extend(expectations(m).iter().filter_map(|o| o.diagnostic()));
    }
    if !quiet {
        printer::diagnostics(&loaded.diagnostics, sources);
    }
    match loaded.model {
        Some(m) if !loaded.has_errors() => Checked::Ok(m, loaded.diagnostics, notes),
        _ => Checked::Invalid(loaded.diagnostics),
    }
}

/// The anomalies of each firewall's compiled ruleset: warnings (rules
/// that never match or change nothing) and notes (overlaps whose order
/// matters, exceptions before general rules), shown by `check --anomalies`;
/// and, among the first, errors for every form that nests chains deeper
/// than the kernel loads.
fn analyse(model: &Model) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    model
        .firewalls
        .iter()
        .flat_map(|fw| {
            let c = compile(fw);
            let mut out = depth(&c);
            out.extend(rampart_analysis::check(&c.rich));
            out.extend(rampart_analysis::check_placed(fw, &c.rich));
            out
        })
        .partition(|d| d.severity != Severity::Info)
}

fn depth(c: &Compiled) -> Vec<Diagnostic> {
    rampart_analysis::check_depth(&forms(c))
}

/// The forms of `c` that load, by backend. The nft classifier keeps a
/// ruleset linear where cutting it would nest too deep, so the rich form
/// stands for nft.
pub(crate) fn forms(c: &Compiled) -> [(&'static str, &Ruleset); 3] {
    [("nft", &c.rich), ("iptables", &*c.v4), ("ip6tables", &*c.v6)]
}

/// Prints E0276 for each of `forms` nested deeper than the kernel
/// follows, and that nothing was written; true when there was one.
pub(crate) fn too_deep(forms: &[(&str, &Ruleset)], sources: &Sources) -> bool {
    let errors = rampart_analysis::check_depth(forms);
    printer::diagnostics(&errors, sources);
    if !errors.is_empty() {
        printer::note("error: the policy has errors; nothing was written");
    }
    !errors.is_empty()
}

/// The `expect` lines of every firewall, checked against the rules
/// `rampart compile` writes for it.
pub(crate) fn expectations(model: &Model) -> Vec<rampart_analysis::ExpectOutcome> {
    model
        .firewalls
        .iter()
        .filter(|fw| !fw.expects.is_empty())
        .flat_map(|fw| {
            let c = compile(fw);
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
