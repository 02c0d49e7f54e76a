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
use rampart_ir::{Family, Table, format_rule};
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

/// An nft ruleset file, text or JSON, recognised by its content: `None`
/// when the file is something else (iptables text, or bytes that are not
/// text, which the iptables reader refuses as such), `Some(None)` when it
/// is nft but did not read (diagnostics already printed).
pub(crate) fn read_file(path: &Path) -> anyhow::Result<Option<Option<NftRuleset>>> {
    use rampart_ir::read::{Unrecognised, detect};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(None) };
    match detect(text) {
        Err(Unrecognised::NftJson) => Ok(Some(read(path, text))),
        Err(Unrecognised::Nftables) => Ok(Some(read(path, &from_text(path)?))),
        _ => Ok(None),
    }
}

/// nft text as the kernel reads it: loaded with `nft -f` into a
/// throw-away network namespace (`unshare --net`, root only) and listed
/// back as JSON, so nothing of the host changes and nft itself parses.
pub(crate) fn from_text(path: &Path) -> anyhow::Result<String> {
    let script = "nft -f \"$1\" && nft -j list ruleset";
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--net", "sh", "-c", script, "sh"]).arg(path);
    rampart_os::run(&mut cmd, "nftables", None)
        .context("loading the nft ruleset into a throw-away namespace (needs root and nft)")
}

/// This host's rulesets: `nft -j list ruleset` for every table, with the
/// iptables-nft `filter` tables read through `iptables-nft-save` instead
/// (their rules as iptables wrote them, at the kernel's place and
/// priority), and iptables-legacy's filter table, which the kernel
/// registered before any nft table and so runs last among priority 0.
/// This host's local routing tables (`ip route show table local`), which
/// decide what `-m addrtype` and `fib … type` see.
pub(crate) fn local_table() -> anyhow::Result<rampart_trace::LocalTable> {
    let mut entries = Vec::new();
    for family in ["-4", "-6"] {
        let mut ip = std::process::Command::new("ip");
        let text = rampart_os::run(
            ip.args([family, "-j", "route", "show", "table", "local"]),
            "iproute2",
            None,
        )
        .context("listing the local routing table")?;
        let routes: Vec<serde_json::Value> = serde_json::from_str(&text)
            .context("`ip -j route` printed something that is not JSON")?;
        for r in routes {
            // An entry not understood would make its addresses UNICAST: refuse.
            let (Some(kind), Some(dst)) = (r["type"].as_str(), r["dst"].as_str()) else {
                anyhow::bail!(
                    "`ip -j route show table local` printed an entry without type or dst: {r}"
                );
            };
            let kind = rampart_ir::AddrTypes::parse(kind).with_context(|| {
                format!("`ip -j route show table local` printed the route type `{kind}`")
            })?;
            let net = match dst.parse::<ipnet::IpNet>() {
                Ok(n) => n,
                Err(_) => dst
                    .parse::<std::net::IpAddr>()
                    .map(ipnet::IpNet::from)
                    .with_context(|| format!("`ip -j route` printed the destination `{dst}`"))?,
            };
            entries.push((net, kind));
        }
    }
    Ok(rampart_trace::LocalTable::from_entries(entries))
}

pub(crate) fn live() -> anyhow::Result<NftRuleset> {
    let mut nft = std::process::Command::new("nft");
    let text = rampart_os::run(nft.args(["-j", "list", "ruleset"]), "nftables", None)
        .context("listing the nft ruleset")?;
    let Some(mut rs) = read(Path::new("nft -j list ruleset"), &text) else {
        anyhow::bail!("the host's nft ruleset could not be read");
    };
    let save = |tool: &str, table: Table| -> anyhow::Result<Option<rampart_ir::Ruleset>> {
        let mut cmd = std::process::Command::new(tool);
        // A backend without the table (or not installed) has nothing to add.
        let Ok(text) = rampart_os::run(cmd.args(["-t", table.name()]), "iptables", None) else {
            return Ok(None);
        };
        if !text.contains(&format!("*{}", table.name())) {
            return Ok(None);
        }
        let mut sources = Sources::new();
        let file = sources.add(tool.to_owned(), text.clone());
        let im = rampart_ir::read::parse(&text, file, rampart_ir::read::Format::Save);
        printer::diagnostics(&im.diagnostics, &sources);
        anyhow::ensure!(!im.has_errors(), "`{tool}` printed rules Rampart cannot read");
        let read = im.tables.iter().find(|t| t.table == table);
        Ok(read.map(|t| t.ruleset.clone().into_ruleset()))
    };
    // iptables-nft's filter and nat tables, as iptables reads them back
    // (their matches are xt expressions in nft's listing).
    for (family, tool) in [("ip", "iptables-nft-save"), ("ip6", "ip6tables-nft-save")] {
        for table in [Table::Filter, Table::Nat] {
            if let Some(read) = save(tool, table)? {
                let ours = |b: &&mut Base| b.family == family && b.table == table.name();
                for b in rs.bases.iter_mut().filter(ours) {
                    b.ruleset = read.clone();
                }
            }
        }
    }
    for (family, tool) in [("ip", "iptables-legacy-save"), ("ip6", "ip6tables-legacy-save")] {
        if let Some(filter) = save(tool, Table::Filter)? {
            // Without rules and with accepting policies it changes nothing:
            // the kernel makes such a table in every namespace once its
            // module is loaded.
            let accept = |c: &rampart_ir::Chain| {
                c.rules.is_empty() && c.policy().is_none_or(|p| p == rampart_ir::Policy::Accept)
            };
            if filter.chains.iter().all(accept) {
                continue;
            }
            for c in filter.chains.iter().filter(|c| c.is_builtin()) {
                let Some(hook) = c.hook() else { continue };
                rs.bases.push(Base {
                    family: family.to_owned(),
                    table: "filter (iptables-legacy)".to_owned(),
                    chain: c.name.clone(),
                    hook,
                    priority: 0,
                    kind: rampart_ir::Table::Filter,
                    ruleset: filter.clone(),
                });
            }
        }
    }
    // Stable: the legacy chains stay after the nft ones of their priority.
    rs.bases.sort_by_key(|b| (b.hook, b.priority));
    Ok(rs)
}

/// Traces `packet` through the base chains of its hook, by priority: an
/// accept (by rule or policy) goes on to the next base chain, anything
/// else ends the walk there, an undecided verdict included.
pub(crate) fn trace(rs: &NftRuleset, packet: &Packet, json: bool) -> anyhow::Result<ExitCode> {
    let family = match packet.src.or(packet.dst) {
        Some(IpAddr::V6(_)) => Family::V6,
        _ => Family::V4,
    };
    // A frame crossing a bridge meets the bridge family's chains first;
    // br_netfilter then hands it to the IP chains of the same hook.
    let bridged = packet.bridged || packet.physdev_in.is_some() || packet.physdev_out.is_some();
    let bases: Vec<&Base> = rs
        .bridge_at(packet.hook)
        .filter(|_| bridged)
        .chain(rs.at(packet.hook).filter(|b| family_of(b).is_none_or(|f| f == family)))
        .collect();
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
    if bases.is_empty() {
        let _ = writeln!(
            text,
            "no base chain at hook {}: the kernel lets the packet pass",
            packet.hook.name()
        );
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
            "# table {} {} chain {}: type {} hook {} priority {}",
            b.family,
            b.table,
            b.chain,
            b.kind.name(),
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
