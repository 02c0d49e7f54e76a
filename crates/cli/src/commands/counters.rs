//! `rampart status --counters`, `rampart top` and `rampart metrics`: how
//! often each policy rule matched since its rules were loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use rampart_deploy::counters::{self, Hits, Tally};
use rampart_deploy::state::{APPLIED, Applied, StateDir};
use rampart_diag::Sources;
use rampart_model::Firewall;

use crate::commands::deploy::StateArgs;
use crate::commands::{INVALID, compile};
use crate::policy::{self, Checked};
use crate::printer;

/// Where each policy rule is: its rule set and `file:line`.
pub(crate) type Places = BTreeMap<u32, (String, String)>;

/// The rule set and `file:line` of every rule of `fw`; a number that
/// repeats across rule sets (imported rules) names all of them.
pub(crate) fn places(fw: &Firewall, sources: &Sources) -> Places {
    let rules = fw
        .rulesets
        .iter()
        .flat_map(|rs| rs.rules.iter().map(|r| (rs.name.as_str(), r.number, r.span)));
    // The `nat` section's rules: shown as the rule set `nat`.
    let nat = fw.nat.iter().map(|r| ("nat", r.number, r.span));
    let mut out: Places = BTreeMap::new();
    for (set, number, span) in rules.chain(nat) {
        let lc = sources.line_col(span.file, span.start);
        let at = format!("{}:{}", sources.name(span.file), lc.line);
        out.entry(number)
            .and_modify(|(sets, place)| {
                sets.push_str(&format!(", {set}"));
                place.push_str(&format!(", {at}"));
            })
            .or_insert((set.to_owned(), at));
    }
    out
}

/// The applied record and its counts.
pub(crate) struct Counts {
    pub(crate) record: Applied,
    pub(crate) tally: Tally,
    /// Why the rules carry no `file:line`, when they do not.
    pub(crate) unplaced: Option<String>,
}

/// The places of the applied policy's rules, when that policy still
/// compiles to the very bundle that was applied (else the lines may have
/// moved: the reason instead).
pub(crate) fn applied_places(record: &Applied) -> Result<Places, String> {
    let path = Path::new(&record.policy);
    let mut sources = Sources::new();
    let model = match policy::load(path, &mut sources, true, policy::Analysis::Errors) {
        Ok(Checked::Ok(m, ..)) => m,
        Ok(Checked::Invalid(_)) => return Err(format!("`{}` has errors now", record.policy)),
        Err(e) => return Err(format!("{e:#}")),
    };
    let fw =
        model.firewalls.iter().find(|f| f.name == record.firewall).ok_or_else(|| {
            format!("`{}` has no firewall `{}` now", record.policy, record.firewall)
        })?;
    let compiled = rampart_lower::compile(fw);
    if compile::bundle(fw, &compiled, &record.policy).digest != record.bundle {
        return Err(format!("`{}` changed since it was applied", record.policy));
    }
    Ok(places(fw, &sources))
}

/// Read the counters of what Rampart applied; `None` when it applied
/// nothing. `places` is looked up once by the caller (`top` refreshes).
pub(crate) fn read(
    state: &StateDir,
    places: Option<&Result<Places, String>>,
) -> anyhow::Result<Option<Counts>> {
    let Some(record) = state.read_json::<Applied>(APPLIED)? else { return Ok(None) };
    let mut tally = counters::tally(&counters::read(&record)?);
    let owned;
    let places = match places {
        Some(p) => p,
        None => {
            owned = applied_places(&record);
            &owned
        }
    };
    let unplaced = match places {
        Ok(p) => {
            counters::complete(&mut tally, p.keys().copied());
            for h in &mut tally.rules {
                if let Some((set, at)) = p.get(&h.rule) {
                    h.ruleset = Some(set.clone());
                    h.at = Some(at.clone());
                }
            }
            None
        }
        Err(why) => Some(why.clone()),
    };
    // The busiest first; rule order among equals.
    tally.rules.sort_by(|a, b| b.packets.cmp(&a.packets).then(a.rule.cmp(&b.rule)));
    Ok(Some(Counts { record, tally, unplaced }))
}

/// The table `status --counters` prints.
pub(crate) fn text(c: &Counts) -> String {
    let mut out = format!(
        "firewall `{}` (version {}): packets per policy rule since load\n",
        c.record.firewall, c.record.version
    );
    let set_w = c.tally.rules.iter().filter_map(|h| h.ruleset.as_ref()).map(String::len);
    let set_w = set_w.chain([8]).max().unwrap_or_default();
    let at_w = c.tally.rules.iter().filter_map(|h| h.at.as_ref()).map(String::len);
    let at_w = at_w.chain([5]).max().unwrap_or_default();
    out.push_str(&format!(
        "{:<7} {:>12} {:>14}  {:<set_w$}  {:<at_w$}  COMMENT\n",
        "RULE", "PACKETS", "BYTES", "RULE SET", "WHERE"
    ));
    for h in &c.tally.rules {
        out.push_str(&format!(
            "{:<7} {:>12} {:>14}  {:<set_w$}  {:<at_w$}  {}\n",
            format!("R{}", h.rule),
            h.packets,
            h.bytes,
            h.ruleset.as_deref().unwrap_or("-"),
            h.at.as_deref().unwrap_or("-"),
            comment(h)
        ));
    }
    for s in &c.tally.shared {
        out.push_str(&format!(
            "shared by merged rules `{}`: {} packets, {} bytes\n",
            s.comment, s.packets, s.bytes
        ));
    }
    let never: Vec<String> = c
        .tally
        .rules
        .iter()
        .filter(|h| h.packets == 0 && h.uncounted.is_none())
        .map(place)
        .collect();
    if !never.is_empty() {
        out.push_str(&format!("never hit since load: {}\n", never.join(", ")));
    }
    for why in [counters::NOT_LOADED, counters::MERGED] {
        let rules = c.tally.rules.iter().filter(|h| h.uncounted.as_deref() == Some(why));
        let rules: Vec<String> = rules.map(place).collect();
        if !rules.is_empty() {
            out.push_str(&format!("{why}: {}\n", rules.join(", ")));
        }
    }
    if let Some(why) = &c.unplaced {
        out.push_str(&format!("(no rule sets or lines: {why})\n"));
    }
    out
}

/// A rule and where the policy writes it: `R4 (fw.rp:12)`.
fn place(h: &Hits) -> String {
    match &h.at {
        Some(at) => format!("R{} ({at})", h.rule),
        None => format!("R{}", h.rule),
    }
}

/// A rule's comment; rule 0 is the rules Rampart adds by itself; a rule
/// without a counter says why.
pub(crate) fn comment(h: &Hits) -> &str {
    match (&h.comment, h.rule, &h.uncounted) {
        (Some(c), ..) => c,
        (None, 0, _) => "Rampart's own rules (established, management, default)",
        (None, _, Some(why)) => why,
        (None, _, None) => "",
    }
}

/// What `status --counters --json` prints.
pub(crate) fn json(c: &Counts) -> serde_json::Value {
    serde_json::json!({
        "firewall": c.record.firewall,
        "version": c.record.version,
        "rules": c.tally.rules,
        "shared": c.tally.shared,
        "never_hit": counters::never_hit(&c.tally),
        "unplaced": c.unplaced,
    })
}

/// The Prometheus text exposition of the counts (node_exporter's textfile
/// collector reads it), with the losses the log collector recorded.
pub(crate) fn metrics(c: &Counts, losses: Option<(&str, u64)>) -> String {
    let fw = label(&c.record.firewall);
    let mut out = String::new();
    for (name, help, pick) in [
        (
            "rampart_rule_packets_total",
            "Packets matched by each policy rule since its rules were loaded.",
            (|h: &Hits| h.packets) as fn(&Hits) -> u64,
        ),
        (
            "rampart_rule_bytes_total",
            "Bytes matched by each policy rule since its rules were loaded.",
            |h| h.bytes,
        ),
    ] {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        let mut rules: Vec<&Hits> = c.tally.rules.iter().collect();
        rules.sort_by_key(|h| h.rule);
        for h in rules {
            out.push_str(&format!(
                "{name}{{firewall=\"{fw}\",rule=\"{}\",ruleset=\"{}\",comment=\"{}\"}} {}\n",
                h.rule,
                label(h.ruleset.as_deref().unwrap_or("")),
                label(comment(h)),
                pick(h)
            ));
        }
    }
    if !c.tally.shared.is_empty() {
        for (name, help, bytes) in [
            (
                "rampart_merged_rules_packets_total",
                "Packets of nft rules that stand for several policy rules at once.",
                false,
            ),
            (
                "rampart_merged_rules_bytes_total",
                "Bytes of nft rules that stand for several policy rules at once.",
                true,
            ),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for s in &c.tally.shared {
                let v = if bytes { s.bytes } else { s.packets };
                out.push_str(&format!(
                    "{name}{{firewall=\"{fw}\",rules=\"{}\"}} {v}\n",
                    label(&s.comment)
                ));
            }
        }
    }
    if let Some((file, lost)) = losses {
        let name = "rampart_log_records_lost_total";
        out.push_str(&format!(
            "# HELP {name} Kernel log records the log collector lost (ring overruns), as recorded in its file.\n\
             # TYPE {name} counter\n{name}{{file=\"{}\"}} {lost}\n",
            label(file)
        ));
    }
    out
}

/// A label value as the text format escapes it.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The kernel records the log collector (`rampart logs collect`) lost, from
/// the lines it writes into its file when it loses some: `... rampart-logs:
/// lost N kernel records ...`, or `{"lost": N, ...}` with `--json-lines`.
pub(crate) fn collector_losses(path: &Path) -> anyhow::Result<u64> {
    let file = std::fs::File::open(path).with_context(|| {
        format!(
            "cannot read the log collector's file `{}` (`--log none` leaves the loss \
                 counter out)",
            path.display()
        )
    })?;
    let mut total = 0u64;
    let mut bad = None;
    rampart_logs::source::file::for_each_line(file, |line| {
        let text = String::from_utf8_lossy(line);
        let n = if let Some(rest) = text.split_once(" rampart-logs: lost ").map(|(_, r)| r) {
            rest.split(' ').next().map(str::parse::<u64>)
        } else if text.starts_with("{\"") && text.contains("\"lost\":") {
            // An event may quote a kernel line holding the same text: only
            // a top-level `lost` counts.
            let v = serde_json::from_str::<serde_json::Value>(&text).ok();
            total += v.and_then(|v| v.get("lost")?.as_u64()).unwrap_or_default();
            return;
        } else {
            return;
        };
        match n {
            Some(Ok(n)) => total += n,
            _ => bad = Some(text.into_owned()),
        }
    })
    .with_context(|| format!("cannot read `{}`", path.display()))?;
    if let Some(line) = bad {
        anyhow::bail!("`{}` has a loss line that cannot be read: {line}", path.display());
    }
    Ok(total)
}

/// Write the Prometheus text exposition of each policy rule's counters:
/// for node_exporter's textfile collector (`--output
/// /var/lib/prometheus/node-exporter/rampart.prom`, written atomically so
/// the collector never reads half a file), or to stdout.
///
/// Metrics: `rampart_rule_packets_total` and `rampart_rule_bytes_total`
/// labelled by firewall, rule (number), ruleset and comment;
/// `rampart_merged_rules_*` for nft rules that stand for several policy
/// rules; `rampart_log_records_lost_total`, the kernel records the log
/// collector lost, from its file (--log). Run it from a timer.
#[derive(Debug, clap::Args)]
pub(crate) struct MetricsArgs {
    /// Where to write the exposition (`-`: stdout).
    #[arg(long, short = 'o', default_value = "-", value_name = "FILE")]
    output: PathBuf,
    /// The log collector's file, whose loss lines are counted; `none`
    /// leaves the loss counter out.
    #[arg(long, default_value = "/var/log/rampart/firewall.log", value_name = "FILE")]
    log: PathBuf,
    #[command(flatten)]
    state: StateArgs,
}

pub(crate) fn run_metrics(a: &MetricsArgs) -> anyhow::Result<ExitCode> {
    let Some(c) = read(&a.state.dir(), None)? else {
        printer::note("error: nothing applied by rampart: no counters to export");
        return Ok(ExitCode::from(INVALID));
    };
    let log = a.log.display().to_string();
    let losses = if log == "none" { None } else { Some((log.as_str(), collector_losses(&a.log)?)) };
    let text = metrics(&c, losses);
    if a.output == Path::new("-") {
        printer::out(&text);
    } else {
        rampart_os::write(&a.output, text.as_bytes(), 0o644)
            .with_context(|| format!("cannot write `{}`", a.output.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
