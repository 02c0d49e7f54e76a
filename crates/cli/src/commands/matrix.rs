//! `rampart matrix`: what can reach what, zone by zone.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use rampart_analysis::Matrix;
use rampart_diag::Sources;
use rampart_ir::Family;

use crate::commands::compile;
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
#[derive(Debug, clap::Args)]
pub(crate) struct MatrixArgs {
    /// The policy file.
    policy: PathBuf,
    /// The firewall of the policy.
    #[arg(long, add = crate::complete::firewall())]
    firewall: Option<String>,
    /// Address family.
    #[arg(long, default_value = "4", value_parser = ["4", "6"])]
    family: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: &MatrixArgs) -> anyhow::Result<ExitCode> {
    let mut sources = Sources::new();
    let (fw, compiled) = match compile::build(&a.policy, a.firewall.as_deref(), &mut sources)? {
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

/// The matrix as a table: a row per source zone, a column per
/// destination, one service per line in a cell.
pub(crate) fn text(m: &Matrix) -> String {
    let head = |z: &rampart_analysis::matrix::Zone| {
        if z.networks.is_empty() {
            z.name.clone()
        } else {
            format!("{} {}", z.name, z.networks.join(" "))
        }
    };
    let mut cols: Vec<Vec<Vec<String>>> = Vec::new();
    let mut first = vec![vec!["from \\ to".to_owned()]];
    first.extend(m.zones.iter().map(|z| vec![head(z)]));
    cols.push(first);
    for to in &m.zones {
        let mut col = vec![vec![head(to)]];
        for from in &m.zones {
            let cell = m.cells.iter().find(|c| c.from == from.name && c.to == to.name);
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
    let mut s = format!(
        "{} ({}): new connections the rules accept, from each row to each column\n\n",
        m.firewall,
        if m.family == "ipv4" { "IPv4" } else { "IPv6" }
    );
    for row in 0..=m.zones.len() {
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
    let _ = writeln!(
        s,
        "\nNAME* accepted for some of the addresses only; NAME? undecided (time, mark, unknown match); \
         {} packets traced",
        m.packets
    );
    s
}
