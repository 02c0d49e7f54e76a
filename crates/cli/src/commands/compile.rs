//! `rampart compile`: policy to iptables-restore text, a shell script or an
//! nftables ruleset.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_deploy::bundle::{Bundle, Iface};
use rampart_diag::Sources;
use rampart_ir::{Family, Ruleset};
use rampart_lower::Compiled;
use rampart_model::Firewall;
use rayon::prelude::*;

use crate::commands::INVALID;
use crate::policy;
use crate::printer;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Target {
    /// One `*filter … COMMIT` document for `iptables-restore` (atomic).
    IptablesRestore,
    /// A readable shell script that loads the same documents atomically.
    IptablesScript,
    /// One `nft -f` document for IPv4 and IPv6: `table inet rampart` (and
    /// `table bridge rampart` for bridge ports), replaced atomically.
    Nft,
    /// Only the ARP guard of bridges with `arp-guard` (`table bridge
    /// rampart_arp`), to load with `nft -f` beside an iptables ruleset.
    NftArp,
    /// Everything a host needs to load the firewall with `rampart apply
    /// --compiled FILE`, without the policy: both backends' documents and
    /// the interfaces, in one JSON file.
    Bundle,
}

/// Compile a policy for one firewall.
///
/// Nothing is written when the policy has errors. The output is
/// deterministic: the same policy gives byte-identical text. IPv6 is
/// filtered too, by the same policy (rules whose addresses are all IPv4
/// only apply to IPv4): with `-o FILE.v4` the IPv6 document goes to
/// `FILE.v6` (else to `FILE.v6` beside `FILE`), with `-o DIR` the two are
/// `DIR/rules.v4` and `DIR/rules.v6`; on stdout choose it with `--family 6`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompileArgs {
    /// The policy file.
    policy: PathBuf,
    /// The firewall to compile (needed when the policy has several).
    #[arg(long, short = 'f', add = crate::complete::firewall())]
    firewall: Option<String>,
    /// What to produce.
    #[arg(long, short = 't', value_enum, default_value = "iptables-restore")]
    target: Target,
    /// Write to FILE instead of stdout; the IPv6 document goes beside it
    /// (`rules.v4` → `rules.v6`, other names FILE.v6). A directory gets
    /// `rules.v4` and `rules.v6` (`rules.sh`, `rules.nft`, `rules.json`).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// On stdout, which family's document to print (4 or 6).
    #[arg(long, default_value = "4", value_parser = clap::builder::PossibleValuesParser::new(["4", "6"]))]
    family: String,
    /// Compile every firewall of the policy, in parallel, into the
    /// directory given with -o: NAME.v4 and NAME.v6, NAME.nft or NAME.sh.
    #[arg(long, requires = "output", conflicts_with = "firewall")]
    all: bool,
    /// With `--target nft`: one rule after another as in the policy,
    /// instead of the classifier form (verdict maps that send a packet
    /// only to the rules that can match it). Same verdicts and logs.
    #[arg(long)]
    linear: bool,
}

/// Load, check and compile; `Err(code)` when the policy is invalid.
pub(crate) fn build(
    policy_path: &Path,
    firewall: Option<&str>,
    sources: &mut Sources,
) -> anyhow::Result<Result<(Firewall, Compiled), ExitCode>> {
    let Some(model) = policy::load_valid(policy_path, sources, policy::Analysis::Model, "written")?
    else {
        return Ok(Err(ExitCode::from(INVALID)));
    };
    // Taken out of the model, not copied: at 100,000 rules a firewall is
    // a hundred MB or so.
    let name = policy::pick(&model, firewall)?.name.clone();
    let fw = model.firewalls.into_iter().find(|f| f.name == name).expect("picked above");
    let compiled = rampart_lower::compile(&fw);
    // Checked here rather than in `load`, so the firewall is lowered once.
    if policy::too_deep(&policy::forms(&compiled), sources) {
        return Ok(Err(ExitCode::from(INVALID)));
    }
    Ok(Ok((fw, compiled)))
}

/// The nft document: the classifier form, or `linear`; what nft cannot
/// express is said on stderr.
fn nft_document(linear: bool, fw: &Firewall, rich: &Ruleset) -> String {
    let arp = rampart_nft::arp_guard(&fw.arp_guards());
    let out = if linear {
        rampart_nft::emit_with_notes(rich)
    } else {
        rampart_nft::emit_owned(rampart_nft::classify(rich))
    };
    nft_text(out, arp)
}

/// An nft document, followed by the ARP guard.
fn nft_text(out: rampart_nft::Output, arp: Option<String>) -> String {
    for n in &out.notes {
        let rule = n.rule.map_or_else(String::new, |r| format!(" rule {r}"));
        printer::note(&format!("warning: nft:{rule} in {} left out: {}", n.chain, n.message));
    }
    with_arp_guard(out.text, arp)
}

pub(crate) fn render(
    target: Target,
    linear: bool,
    fw: &Firewall,
    c: &Compiled,
    policy_name: &str,
    sources: &Sources,
) -> (String, Option<String>) {
    let title = |fam: &str| {
        format!(
            "firewall {} from {policy_name} ({fam}), generated by rampart {}",
            fw.name,
            env!("CARGO_PKG_VERSION")
        )
    };
    match target {
        Target::IptablesRestore => (
            rampart_emit::iptables_restore(&c.v4, Family::V4, &title("IPv4"), Some(sources)),
            Some(rampart_emit::iptables_restore(&c.v6, Family::V6, &title("IPv6"), Some(sources))),
        ),
        Target::IptablesScript => {
            (rampart_emit::shell_script(&title("shell script"), &c.v4, &c.v6, sources), None)
        }
        Target::Nft => (nft_document(linear, fw, &c.rich), None),
        Target::Bundle => (bundle(fw, c, policy_name).to_json(), None),
        Target::NftArp => match rampart_nft::arp_guard(&fw.arp_guards()) {
            Some(arp) => (arp, None),
            None => {
                printer::note(&format!(
                    "warning: firewall `{}` has no bridge port with `arp-guard`",
                    fw.name
                ));
                (String::new(), None)
            }
        },
    }
}

/// Where `-o PATH` writes the document and the IPv6 one: into a directory
/// under iptables-persistent's names (`rules.v4`, `rules.v6`; `rules.sh`,
/// `rules.nft`, `rules.json` for the other targets); `FILE.v4` pairs with
/// `FILE.v6`; another FILE with `FILE.v6`.
fn output_paths(path: &Path, target: Target) -> (PathBuf, PathBuf) {
    if path.is_dir() {
        let name = match target {
            Target::IptablesRestore => "rules.v4",
            Target::IptablesScript => "rules.sh",
            Target::Nft | Target::NftArp => "rules.nft",
            Target::Bundle => "rules.json",
        };
        return (path.join(name), path.join("rules.v6"));
    }
    let text = path.display().to_string();
    let v6 = match text.strip_suffix(".v4") {
        Some(stem) => format!("{stem}.v6"),
        None => format!("{text}.v6"),
    };
    (path.to_owned(), PathBuf::from(v6))
}

pub(crate) fn run(a: &CompileArgs) -> anyhow::Result<ExitCode> {
    if a.all {
        return run_all(a);
    }
    let mut sources = Sources::new();
    let name = a.policy.display().to_string();
    // The nft document needs the rich form alone, not the iptables pass.
    let (v4, v6, rules, chains) = if matches!(a.target, Target::Nft) {
        let Some(model) =
            policy::load_valid(&a.policy, &mut sources, policy::Analysis::Model, "written")?
        else {
            return Ok(ExitCode::from(INVALID));
        };
        let fw = policy::pick(&model, a.firewall.as_deref())?;
        let rich = rampart_lower::lower(fw);
        if policy::too_deep(&[("nft", &rich)], &sources) {
            return Ok(ExitCode::from(INVALID));
        }
        let arp = rampart_nft::arp_guard(&fw.arp_guards());
        let (rules, chains) = (rich.rule_count(), rich.chains.len());
        // Each stage's input is freed once the next is made: at 100,000
        // rules the model, the rich form and the classifier form are each
        // a hundred MB or so.
        drop(model);
        let form = if a.linear {
            rich
        } else {
            let form = rampart_nft::classify(&rich);
            drop(rich);
            form
        };
        (nft_text(rampart_nft::emit_owned(form), arp), None, rules, chains)
    } else {
        let (mut fw, mut compiled) = match build(&a.policy, a.firewall.as_deref(), &mut sources)? {
            Ok(x) => x,
            Err(code) => return Ok(code),
        };
        if matches!(a.target, Target::IptablesRestore | Target::IptablesScript) {
            // Only the iptables forms are written: the rich form and the
            // rule sets (a hundred MB at 100,000 rules) are freed first.
            compiled.rich = Ruleset::default();
            fw.rulesets = Vec::new();
        }
        let (v4, v6) = render(a.target, a.linear, &fw, &compiled, &name, &sources);
        (v4, v6, compiled.v4.rule_count(), compiled.v4.chains.len())
    };
    match &a.output {
        Some(path) => {
            let (path, v6_path) = &output_paths(path, a.target);
            write_atomically(path, &v4)?;
            if let Some(v6) = &v6 {
                write_atomically(v6_path, v6)?;
            }
            printer::note(&format!(
                "wrote {}{} ({} rules in {} chains)",
                path.display(),
                if v6.is_some() { format!(" and {}", v6_path.display()) } else { String::new() },
                rules,
                chains
            ));
        }
        // The nft document holds both families.
        None if a.family == "6" && !matches!(a.target, Target::Nft) => match v6 {
            Some(v6) => printer::out(&v6),
            None => anyhow::bail!("--family 6 applies to --target iptables-restore"),
        },
        None => printer::out(&v4),
    }
    Ok(ExitCode::SUCCESS)
}

/// A fleet: every firewall of one policy, compiled side by side.
fn run_all(a: &CompileArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let Some(model) =
        policy::load_valid(&a.policy, &mut sources, policy::Analysis::Errors, "written")?
    else {
        return Ok(ExitCode::from(INVALID));
    };
    let dir = a.output.as_deref().expect("clap requires -o with --all");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let name = a.policy.display().to_string();
    let ext = match a.target {
        Target::IptablesRestore => "v4",
        Target::IptablesScript => "sh",
        Target::Nft => "nft",
        Target::NftArp => "arp.nft",
        Target::Bundle => "json",
    };
    let sources = &sources;
    let results: Vec<anyhow::Result<String>> = model
        .firewalls
        .par_iter()
        .map(|fw| {
            let compiled = rampart_lower::compile(fw);
            let (main, v6) = render(a.target, a.linear, fw, &compiled, &name, sources);
            write_atomically(&dir.join(format!("{}.{ext}", fw.name)), &main)?;
            if let Some(v6) = v6 {
                write_atomically(&dir.join(format!("{}.v6", fw.name)), &v6)?;
            }
            Ok(format!("{}: {} rules", fw.name, compiled.v4.rule_count()))
        })
        .collect();
    let mut lines = Vec::new();
    for r in results {
        lines.push(r?);
    }
    printer::note(&format!(
        "wrote {} firewall(s) to {}:\n  {}",
        lines.len(),
        dir.display(),
        lines.join("\n  ")
    ));
    Ok(ExitCode::SUCCESS)
}

/// An nft document of Rampart's tables, followed by the ARP guard table
/// when bridges have `arp-guard`.
fn with_arp_guard(mut doc: String, arp: Option<String>) -> String {
    if let Some(arp) = arp {
        doc.push('\n');
        doc.push_str(&arp);
    }
    doc
}

/// A compiled firewall for `rampart apply --compiled` and `apply --host`.
pub(crate) fn bundle(fw: &Firewall, c: &Compiled, policy_name: &str) -> Bundle {
    let title = |fam: &str| format!("firewall {} from {policy_name} ({fam})", fw.name);
    Bundle {
        rampart_bundle: rampart_deploy::bundle::FORMAT,
        policy: policy_name.to_owned(),
        firewall: fw.name.clone(),
        interfaces: fw
            .interfaces
            .iter()
            .map(|i| Iface {
                name: i.name.clone(),
                addrs: i.addrs.iter().map(ipnet::IpNet::addr).collect(),
                management: i.management,
            })
            .collect(),
        iptables_v4: rampart_emit::iptables_restore(&c.v4, Family::V4, &title("IPv4"), None),
        iptables_v6: rampart_emit::iptables_restore(&c.v6, Family::V6, &title("IPv6"), None),
        nft: with_arp_guard(
            rampart_nft::emit(&rampart_nft::classify(&c.rich)),
            rampart_nft::arp_guard(&fw.arp_guards()),
        ),
        sets: rampart_ir::sets(&c.v4)
            .iter()
            .chain(&rampart_ir::sets(&c.v6))
            .map(rampart_deploy::bundle::Set::of)
            .collect(),
        digest: String::new(),
    }
    .sealed()
}

/// Readers never see half a file; a planted symlink is never followed.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    rampart_os::write(path, text.as_bytes(), 0o644)
        .with_context(|| format!("cannot write `{}`", path.display()))
}
