//! `rampart matrix`: what can reach what, zone by zone.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rampart_analysis::matrix::{Cell, Zone};
use rampart_analysis::service::Service;
use rampart_analysis::{Matrix, ServiceMatrix};
use rampart_diag::Sources;
use rampart_ir::read::nft::NftRuleset;
use rampart_ir::{Family, Hook};

use crate::commands::compile;
use crate::commands::import::{RulesFormat, read_rules};
use crate::commands::nft_rules;
use crate::commands::trace::proto_number;
use crate::printer;

/// The services each zone may open to each other zone: the firewall
/// itself (`self`) and what lies behind each interface (its networks;
/// `elsewhere` for the addresses behind no interface's network).
///
/// Every cell is decided by trace on the compiled rules, one new
/// connection per piece of the address and port space the rules tell
/// apart, so the table is exact. `ssh*`: accepted for some of the zones'
/// addresses only; `ssh?`: the verdict depends on a time window, a mark
/// or an unknown match. Also warns (W0340) for each interface that
/// accepts a packet claiming a source from another zone.
///
/// With --rules FILE (any ruleset trace reads) instead: for one chain and
/// one service, the classes of addresses the chain treats alike as
/// sources and as destinations, and the class pairs it accepts. Matches
/// trace cannot decide for the service (interfaces, rates, unknown
/// modules) are taken both ways and listed: the pairs are an upper
/// closure.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["policy", "rules"])))]
pub(crate) struct MatrixArgs {
    /// The policy file.
    policy: Option<PathBuf>,
    /// The firewall of the policy.
    #[arg(long, requires = "policy", add = crate::complete::firewall())]
    firewall: Option<String>,
    /// An existing ruleset: iptables-save output, a `$IPTABLES` script,
    /// or nftables text or `nft -j list ruleset` JSON.
    #[arg(long, value_name = "FILE", conflicts_with = "policy", requires_all = ["chain", "proto"])]
    rules: Option<PathBuf>,
    /// Force the format of --rules instead of detecting it.
    #[arg(long, value_enum, requires = "rules")]
    format: Option<RulesFormat>,
    /// The built-in filter chain of --rules: INPUT, FORWARD or OUTPUT (for
    /// nft: the one filter base chain at that hook).
    #[arg(long, requires = "rules")]
    chain: Option<String>,
    /// The service's protocol: tcp, udp, icmp, sctp or a number.
    #[arg(long, requires = "rules")]
    proto: Option<String>,
    /// The service's source port.
    #[arg(long, requires = "rules")]
    sport: Option<u16>,
    /// The service's destination port.
    #[arg(long, requires = "rules")]
    dport: Option<u16>,
    /// Address family.
    #[arg(long, default_value = "4", value_parser = ["4", "6"])]
    family: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: &MatrixArgs) -> anyhow::Result<ExitCode> {
    let Some(policy) = &a.policy else { return rules(a) };
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(policy, a.firewall.as_deref(), &mut sources)? {
        Ok(built) => built,
        Err(code) => return Ok(code),
    };
    let (family, rs) = match a.family.as_str() {
        "6" => (Family::V6, compiled.v6.into_ruleset()),
        _ => (Family::V4, compiled.v4.into_ruleset()),
    };
    let Some(m) = rampart_analysis::matrix(&fw, &rs, family) else {
        anyhow::bail!(
            "the matrix of {} would trace more than {} packets",
            fw.name,
            rampart_analysis::matrix::LIMIT
        );
    };
    if a.json {
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&m)?));
    } else {
        let diags: Vec<_> = m.spoofing.iter().map(|s| s.diagnostic()).collect();
        printer::diagnostics(&diags, &sources);
        printer::out(&text(&m));
    }
    Ok(ExitCode::SUCCESS)
}

/// The service matrix of a chain of --rules.
fn rules(a: &MatrixArgs) -> anyhow::Result<ExitCode> {
    let (Some(path), Some(chain), Some(proto)) = (&a.rules, &a.chain, &a.proto) else {
        anyhow::bail!("--rules needs --chain and --proto");
    };
    let svc = Service { proto: proto_number(proto)?, sport: a.sport, dport: a.dport };
    if a.format.is_none()
        && let Some(read) = nft_rules::read_file(path)?
    {
        let Some(rs) = read else { return Ok(ExitCode::from(1)) };
        return nft_matrix(a, &rs, chain, svc);
    }
    let Some(imported) = read_rules(path, a.format)? else {
        return Ok(ExitCode::from(1));
    };
    let (Some(rs), Some(t)) = (imported.joined(), imported.filter()) else {
        printer::note(&format!("error: {} has no filter table", path.display()));
        return Ok(ExitCode::from(1));
    };
    print_service(a, rampart_analysis::service_matrix(&rs.into_ruleset(), t.family, chain, svc))
}

/// The service matrix of the one filter base chain of an nft ruleset at
/// the hook `chain` names. Several base chains at one hook (tables of
/// their own, in priority order) are refused: one chain's classes would
/// not say what the sequence does.
fn nft_matrix(
    a: &MatrixArgs,
    rs: &NftRuleset,
    chain: &str,
    svc: Service,
) -> anyhow::Result<ExitCode> {
    let Some(hook) =
        Hook::parse(chain).filter(|h| matches!(h, Hook::Input | Hook::Forward | Hook::Output))
    else {
        anyhow::bail!(
            "--chain {chain}: give the hook of a filter base chain: input, forward or output"
        );
    };
    let (family, own) = match a.family.as_str() {
        "6" => (Family::V6, "ip6"),
        _ => (Family::V4, "ip"),
    };
    let bases: Vec<_> = rs.at(hook).filter(|b| b.family == own || b.family == "inet").collect();
    let [base] = bases.as_slice() else {
        let names: Vec<_> =
            bases.iter().map(|b| format!("{} {} {}", b.family, b.table, b.chain)).collect();
        printer::note(&format!(
            "error: {} filter base chains at hook {} ({}): the matrix is of one chain",
            bases.len(),
            hook.name(),
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        ));
        return Ok(ExitCode::from(1));
    };
    let start = &base.ruleset.chains[0].name;
    print_service(a, rampart_analysis::service_matrix(&base.ruleset, family, start, svc))
}

fn print_service(a: &MatrixArgs, m: Result<ServiceMatrix, String>) -> anyhow::Result<ExitCode> {
    let m = match m {
        Ok(m) => m,
        Err(e) => {
            printer::note(&format!("error: {e}"));
            return Ok(ExitCode::from(1));
        }
    };
    if a.json {
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&m)?));
    } else {
        printer::out(&service_text(&m));
    }
    Ok(ExitCode::SUCCESS)
}

fn service_text(m: &ServiceMatrix) -> String {
    let mut s = format!("{}: address classes the chain treats alike\n", m.chain);
    for c in &m.classes {
        let _ = writeln!(s, "  {}: {}", c.name, c.ranges.join(" "));
    }
    let _ = writeln!(s, "\naccepted (source class -> destination class):");
    for (a, b) in &m.allowed {
        let _ = writeln!(s, "  {a} -> {b}");
    }
    if m.allowed.is_empty() {
        let _ = writeln!(s, "  nothing");
    }
    if !m.approximated.is_empty() {
        let _ = writeln!(s, "\ntaken both ways (upper closure: the pairs may be fewer):");
        for x in &m.approximated {
            let _ = writeln!(s, "  {} rule {}: {} ({})", x.chain, x.rule, x.text, x.why);
        }
    }
    s
}

/// The matrix as a table: a row per source zone, a column per
/// destination, one service per line in a cell.
pub(crate) fn text(m: &Matrix) -> String {
    let mut s = format!(
        "{} ({}): new connections the rules accept, from each row to each column\n\n",
        m.firewall,
        if m.family == "ipv4" { "IPv4" } else { "IPv6" }
    );
    grid(&mut s, &m.zones, &m.cells);
    for b in &m.bridges {
        let _ = writeln!(s, "\nbridged by {}, from each row's port to each column's:\n", b.bridge);
        grid(&mut s, &b.ports, &b.cells);
    }
    let _ = writeln!(
        s,
        "\nNAME* accepted for some of the addresses only; NAME? undecided (time, mark, unknown match); \
         {} packets traced",
        m.packets
    );
    s
}

/// One table: a row per zone (or port), a column per zone, one service
/// per line in a cell.
fn grid(s: &mut String, zones: &[Zone], cells: &[Cell]) {
    let head = |z: &Zone| {
        if z.networks.is_empty() {
            z.name.clone()
        } else {
            format!("{} {}", z.name, z.networks.join(" "))
        }
    };
    let mut cols: Vec<Vec<Vec<String>>> = Vec::new();
    let mut first = vec![vec!["from \\ to".to_owned()]];
    first.extend(zones.iter().map(|z| vec![head(z)]));
    cols.push(first);
    for to in zones {
        let mut col = vec![vec![head(to)]];
        for from in zones {
            let cell = cells.iter().find(|c| c.from == from.name && c.to == to.name);
            col.push(match cell {
                None => vec!["-".to_owned()],
                Some(c) if c.allowed.is_empty() => vec!["nothing".to_owned()],
                Some(c) => c.allowed.iter().map(rampart_analysis::matrix::Allowed::label).collect(),
            });
        }
        cols.push(col);
    }
    let widths: Vec<usize> = cols
        .iter()
        .map(|c| c.iter().flatten().map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    for row in 0..=zones.len() {
        let height = cols.iter().map(|c| c[row].len()).max().unwrap_or(1);
        for line in 0..height {
            let cells: Vec<String> = cols
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{:w$}", c[row].get(line).map_or("", String::as_str)))
                .collect();
            let _ = writeln!(s, "{}", cells.join(" | ").trim_end());
        }
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        let _ = writeln!(s, "{}", rule.join("-+-"));
    }
}
