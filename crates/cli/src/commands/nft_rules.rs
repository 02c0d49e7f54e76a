//! nftables rulesets read back (`nft -j list ruleset`): traced through
//! every base chain of the packet's hook in the kernel's order, and
//! printed as understood (`rampart import nft`).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use rampart_diag::Sources;
use rampart_ir::read::nft::{self, Base, NftRuleset};
use rampart_ir::{Family, format_rule};
use rampart_trace::{Packet, Verdict, check, explain, trace_through};

use crate::commands::INVALID;
use crate::printer;

/// Reads nft JSON from `path`; diagnostics go to stderr. `None` on errors.
pub(crate) fn read(path: &Path, text: &str) -> Option<NftRuleset> {
    let mut sources = Sources::new();
    let file = sources.add(path.display().to_string(), text.to_owned());
    let rs = nft::parse(text, file);
    printer::diagnostics(&rs.diagnostics, &sources);
    (!rs.has_errors()).then_some(rs)
}

fn family_of(b: &Base) -> Option<Family> {
    match b.family.as_str() {
        "ip" => Some(Family::V4),
        "ip6" => Some(Family::V6),
        _ => None,
    }
}

/// Traces `packet` through the base chains of its hook, by priority: an
/// accept (by rule or policy) goes on to the next base chain, anything
/// else ends the walk there, an undecided verdict included.
pub(crate) fn trace(rs: &NftRuleset, packet: &Packet, json: bool) -> anyhow::Result<ExitCode> {
    let family = match packet.src.or(packet.dst) {
        Some(IpAddr::V6(_)) => Family::V6,
        _ => Family::V4,
    };
    let bases: Vec<&Base> =
        rs.at(packet.hook).filter(|b| family_of(b).is_none_or(|f| f == family)).collect();
    for b in &bases {
        if let Some(p) = check(&b.ruleset).first() {
            anyhow::bail!(
                "table {} {} chain {}: rule {}: {}",
                b.family,
                b.table,
                p.chain,
                p.index,
                p.message
            );
        }
    }
    let rulesets: Vec<&rampart_ir::Ruleset> = bases.iter().map(|b| &b.ruleset).collect();
    let traces = trace_through(&rulesets, packet);
    let mut text = String::new();
    let mut steps = Vec::new();
    let mut verdict = Verdict::Accept;
    for (b, t) in bases.iter().zip(&traces) {
        let _ = writeln!(
            text,
            "table {} {} chain {} (hook {}, priority {}):",
            b.family,
            b.table,
            b.chain,
            b.hook.name(),
            b.priority
        );
        text.push_str(&explain::to_text(&b.ruleset, packet, t, family));
        steps.push(serde_json::json!({
            "family": b.family, "table": b.table, "chain": b.chain, "priority": b.priority,
            "trace": explain::to_json(&b.ruleset, t, family),
        }));
        verdict = t.verdict.clone();
    }
    if json {
        let out = serde_json::json!({"verdict": verdict.name(), "base_chains": steps});
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&out)?));
    } else {
        let _ = writeln!(text, "final verdict: {}", verdict.name());
        printer::out(&text);
    }
    Ok(ExitCode::SUCCESS)
}

/// `rampart import nft FILE`: every base chain and its table's chains,
/// rule by rule as understood (iptables notation; what was not understood
/// shows as `-m nft` with its JSON).
pub(crate) fn import(path: &Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let Some(rs) = read(path, &text) else { return Ok(ExitCode::from(INVALID)) };
    let mut out = String::new();
    for b in &rs.bases {
        let family = family_of(b).unwrap_or(Family::V4);
        let _ = writeln!(
            out,
            "# table {} {} chain {}: hook {} priority {}",
            b.family,
            b.table,
            b.chain,
            b.hook.name(),
            b.priority
        );
        for c in &b.ruleset.chains {
            let policy = c
                .policy()
                .map_or("-", |p| if p == rampart_ir::Policy::Drop { "DROP" } else { "ACCEPT" });
            let _ = writeln!(out, ":{} {policy}", c.name);
            for r in &c.rules {
                let _ = writeln!(out, "-A {} {}", c.name, format_rule(&b.ruleset, r, family));
            }
        }
    }
    printer::out(&out);
    Ok(ExitCode::SUCCESS)
}
