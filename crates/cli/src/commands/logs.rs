//! `rampart logs`: summary, follow, scans, blocklist, collect.
//!
//! Exit codes: 0 every line read whole; 1 the report is printed, but some
//! firewall lines were read only in part (a field that did not parse, a
//! line cut short: counted by what they hold) or the source lost records;
//! 2 it could not run (a file or the kernel ring could not be read).

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::{Subcommand, ValueEnum};
use ipnet::IpNet;
use rampart_deploy::sets;
use rampart_ir::origin::LogPrefix;
use rampart_logs::attribute::{Action, Attributor, RuleIndex, RuleInfo, RuleLookup};
use rampart_logs::blocklist::{self, BlockOptions, Names};
use rampart_logs::collect::{self, CollectOptions};
use rampart_logs::event::Filter;
use rampart_logs::live::{self, FollowFrom, Live};
use rampart_logs::partial::Partial;
use rampart_logs::scans::{self, ScanOptions};
use rampart_logs::summary::{self, SummaryOptions};
use rampart_logs::watch::{Shown, Watch};

use crate::printer;

/// Read firewall LOG lines from files, the kernel ring or the journal.
///
/// A firewall line with a field that does not parse (a redacted `DST=xxx`)
/// or cut short still counts by everything it holds; what was not read is
/// reported. Exit status: 0 every line read whole; 1 done, but some lines
/// were read only in part or the source lost records; 2 could not run.
#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    #[command(subcommand)]
    command: LogsCommand,
}

#[derive(Debug, Subcommand)]
enum LogsCommand {
    /// Totals, per rule/prefix and action, top sources, ports, interfaces, time span.
    Summary(SummaryArgs),
    /// Show firewall lines as they come, in readable columns, filtered.
    Follow(FollowArgs),
    /// Detect port scans and sweeps (psad-like), with a danger score 1-5.
    Scans(ScansArgs),
    /// List sources with many blocked lines, as nft set elements or an ipset file.
    Blocklist(BlocklistArgs),
    /// Write every firewall line from the best live source to a file.
    Collect(CollectArgs),
}

#[derive(Debug, clap::Args)]
struct InputArgs {
    /// Log files (plain or gzip; `-` is standard input). Without files: the
    /// kernel ring (/dev/kmsg, or klogctl where it is missing).
    files: Vec<PathBuf>,
    /// Log prefix template of the policy that wrote the log (%N rule number,
    /// %A action, %C rule set, %I interface; default "RULE %N -- %A ").
    /// With --policy, the policy's own `log-prefix` is used.
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_template)]
    prefix_template: Option<LogPrefix>,
    /// List the firewall lines read only in part (file, line number, what
    /// was not read, text).
    #[arg(long)]
    show_partial: bool,
}

#[derive(Debug, clap::Args)]
struct SummaryArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print a JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Length of each top list.
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    /// Parse files with N threads (chunks split at newlines, merged in order).
    #[arg(short = 'j', long, default_value_t = 1, value_name = "N")]
    threads: usize,
    /// Link each rule's lines to where the rule is written in this policy
    /// (file, line and comment).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The firewall of --policy (needed when it has several).
    #[arg(long, requires = "policy", add = crate::complete::firewall())]
    firewall: Option<String>,
}

#[derive(Debug, clap::Args)]
struct FilterArgs {
    /// Only lines of this Rampart rule number.
    #[arg(long)]
    rule: Option<u32>,
    /// Only sources in this network (repeatable), e.g. 10.0.0.0/8 or 2001:db8::/32.
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    src: Vec<IpNet>,
    /// Only destinations in this network (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    dst: Vec<IpNet>,
    /// Only lines with this source or destination port.
    #[arg(long)]
    port: Option<u16>,
    /// Only this action: ACCEPT, DENY (also DROP, ufw BLOCK), REJECT, BRANCH, CONTINUE, RETURN, AUDIT.
    #[arg(long, value_parser = parse_action)]
    action: Option<Action>,
    /// Only this protocol (tcp, udp, icmp, icmpv6, ...).
    #[arg(long)]
    proto: Option<String>,
    /// Only lines whose IN= or OUT= is this interface.
    #[arg(long, value_name = "IFACE")]
    iface: Option<String>,
}

#[derive(Debug, clap::Args)]
struct FollowArgs {
    /// Files to follow across rotation (tail -F). Without files: the kernel
    /// ring (/dev/kmsg), or the journal with --journal.
    files: Vec<PathBuf>,
    /// Read the files (or stdin, `-`) once and stop, instead of following.
    #[arg(long)]
    no_follow: bool,
    /// Start at the beginning of the files / the oldest record in the ring.
    #[arg(long)]
    from_start: bool,
    /// Follow `journalctl -k -f -o json` instead of /dev/kmsg.
    #[arg(long, conflicts_with = "files")]
    journal: bool,
    /// Follow NFLOG group N (`-j NFLOG --nflog-group N`, nft `log group N`) instead of /dev/kmsg.
    #[arg(long, value_name = "N", conflicts_with_all = ["files", "journal"])]
    nflog: Option<u16>,
    /// Print JSON lines instead of columns.
    #[arg(long)]
    json: bool,
    /// Stop after this many seconds without a new line (for scripts).
    #[arg(long, value_name = "SECS")]
    exit_idle: Option<f64>,
    #[command(flatten)]
    filter: FilterArgs,
    /// Log prefix template of the policy that wrote the log (see `summary`).
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_template)]
    prefix_template: Option<LogPrefix>,
    /// Show where each line's rule is written in this policy (file, line
    /// and comment).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The firewall of --policy (needed when it has several).
    #[arg(long, requires = "policy", add = crate::complete::firewall())]
    firewall: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ScansArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Window length in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    window: u64,
    /// Distinct destination ports within a window that make a port scan.
    #[arg(long, default_value_t = 10, value_name = "N")]
    min_ports: usize,
    /// Distinct destination hosts within a window that make a sweep.
    #[arg(long, default_value_t = 10, value_name = "N")]
    min_hosts: usize,
    /// Only report scans with at least this danger (1-5).
    #[arg(long, default_value_t = 1, value_name = "LEVEL")]
    min_danger: u8,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BlockFormat {
    /// `add element <table> <set> { ... }` lines for `nft -f`.
    Nft,
    /// `ipset restore` input.
    Ipset,
}

#[derive(Debug, clap::Args)]
struct BlocklistArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Minimum blocked lines per source.
    #[arg(long, default_value_t = 10, value_name = "N")]
    min_hits: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BlockFormat::Nft)]
    format: BlockFormat,
    /// Count every firewall line, not only DENY/REJECT ones.
    #[arg(long)]
    all_actions: bool,
    /// Never list addresses in this network (repeatable).
    #[arg(long, value_name = "CIDR", value_parser = parse_net)]
    exclude: Vec<IpNet>,
    /// nft table, as `family name`.
    #[arg(long, default_value = "inet rampart", value_name = "TABLE")]
    table: String,
    /// Set (nft) or ipset name for IPv4 sources.
    #[arg(long, default_value = "blocklist_v4", value_name = "NAME")]
    set4: String,
    /// Set (nft) or ipset name for IPv6 sources.
    #[arg(long, default_value = "blocklist_v6", value_name = "NAME")]
    set6: String,
    /// Add the sources to this loaded run-time set (`set NAME ipv4` in the
    /// policy) instead of printing them; once per family when the log holds
    /// both. Prints what was added.
    #[arg(long, value_name = "SET", conflicts_with_all = ["format", "table", "set4", "set6"])]
    apply: Vec<String>,
    /// With --apply: print what was added as JSON.
    #[arg(long, requires = "apply")]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct CollectArgs {
    /// File to append firewall lines to.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Write JSON lines (one decoded event per line) instead of syslog-style text.
    #[arg(long)]
    json_lines: bool,
    /// Collect from `journalctl -k -f -o json` instead of /dev/kmsg.
    #[arg(long, conflicts_with = "from")]
    journal: bool,
    /// Collect from this file, followed across rotation, instead of the kernel.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Collect from NFLOG group N (the preferred source when the ruleset logs with NFLOG).
    #[arg(long, value_name = "N", conflicts_with_all = ["from", "journal"])]
    nflog: Option<u16>,
    /// Netlink receive buffer for --nflog, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    rcvbuf: usize,
    /// Stop after this many seconds without a new line (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    exit_idle: Option<f64>,
    /// Log prefix template of the policy (for --json-lines attribution).
    #[arg(long, value_name = "TEMPLATE", value_parser = parse_template)]
    prefix_template: Option<LogPrefix>,
}

fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or network (10.0.0.0/8, 2001:db8::/32)"))
}

fn parse_action(s: &str) -> Result<Action, String> {
    Action::parse(s).ok_or_else(|| format!("unknown action {s:?}"))
}

fn parse_template(s: &str) -> Result<LogPrefix, String> {
    LogPrefix::parse(s).map_err(|e| e.to_string())
}

/// The prefixes to recognise: the policy's own `log-prefix` with
/// `--policy`, else `--prefix-template`, else the default.
fn attributor(flag: Option<&LogPrefix>, policy: Option<&Policy>) -> anyhow::Result<Attributor> {
    let template = match (flag, policy) {
        (Some(_), Some(_)) => bail!(
            "--prefix-template and --policy both say how prefixes are written: \
             the policy's `log-prefix` is used, drop --prefix-template"
        ),
        (Some(t), None) => t.clone(),
        (None, Some(p)) => p.template.clone(),
        (None, None) => LogPrefix::default(),
    };
    let own = policy.map(|p| p.own.clone()).unwrap_or_default();
    Ok(Attributor::new(template).with_own(own))
}

pub(crate) fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let result = match args.command {
        LogsCommand::Summary(a) => summary(a),
        LogsCommand::Follow(a) => follow(a),
        LogsCommand::Scans(a) => scans_cmd(a),
        LogsCommand::Blocklist(a) => blocklist_cmd(a),
        LogsCommand::Collect(a) => collect_cmd(a),
    };
    // `rampart logs follow | head` ends with a broken pipe: that is success.
    match result {
        Err(e) if e.chain().any(is_broken_pipe) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        || e.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
            == Some(io::ErrorKind::BrokenPipe)
}

fn input_code(partial: u64, lost: u64) -> ExitCode {
    if partial > 0 || lost > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn summary(a: SummaryArgs) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(a.policy.as_deref(), a.firewall.as_deref())? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let attributor = attributor(a.input.prefix_template.as_ref(), policy.as_ref())?;
    let s = summary::tally(&a.input.files, a.threads)?.finish(&SummaryOptions {
        top: a.top,
        attributor: &attributor,
        rules: policy.as_ref().map(|p| &p.rules as &dyn RuleLookup),
        show_partial: a.input.show_partial,
    });
    if a.json {
        printer::out(&(serde_json::to_string_pretty(&s)? + "\n"));
    } else {
        printer::out(&s.to_text());
    }
    Ok(input_code(s.partial_lines, s.lost_lines))
}

/// The lines read in part, on standard error after the report.
fn report_partial(partial: &Partial, show: bool) {
    if let Some(line) = partial.summary_line() {
        printer::note(&format!("note: {line}{}", if show { ":" } else { " (see --show-partial)" }));
    }
    if show {
        for p in &partial.samples {
            let file = if p.file.is_empty() { "-" } else { &p.file };
            let text = rampart_diag::printable(&p.text);
            printer::note(&format!("  {file}:{}: {}: {text}", p.line, p.what));
        }
    }
}

fn scans_cmd(a: ScansArgs) -> anyhow::Result<ExitCode> {
    let opts =
        ScanOptions { window_secs: a.window, min_ports: a.min_ports, min_hosts: a.min_hosts };
    let r = scans::scan_inputs(&a.input.files, opts, a.min_danger)?;
    if a.json {
        printer::out(&(serde_json::to_string_pretty(&r)? + "\n"));
    } else {
        printer::out(&scans::to_text(&r.scans));
        if r.lost_lines > 0 {
            printer::out(&format!(
                "warning: {} kernel records were lost before they could be read\n",
                r.lost_lines
            ));
        }
    }
    report_partial(&r.partial, a.input.show_partial);
    Ok(input_code(r.partial_lines, r.lost_lines))
}

fn blocklist_cmd(a: BlocklistArgs) -> anyhow::Result<ExitCode> {
    let attributor = attributor(a.input.prefix_template.as_ref(), None)?;
    let mut exclude = a.exclude.clone();
    // Never the address this session is managed from.
    if let Some(m) = rampart_deploy::guard::ssh_connection()
        .and_then(|s| rampart_deploy::guard::Mgmt::from_ssh_connection(&s).ok())
    {
        exclude.push(IpNet::from(m.client));
    }
    let opts = BlockOptions { min_hits: a.min_hits, all_actions: a.all_actions, exclude };
    let r = blocklist::from_inputs(&a.input.files, opts, attributor)?;
    if a.apply.is_empty() {
        let names = Names { nft_table: a.table, set4: a.set4, set6: a.set6 };
        printer::out(&match a.format {
            BlockFormat::Nft => blocklist::to_nft(&r.list, &names),
            BlockFormat::Ipset => blocklist::to_ipset(&r.list, &names),
        });
    } else {
        apply_blocklist(&a.apply, &r.list, a.json)?;
    }
    if r.lost > 0 {
        printer::note(&format!(
            "warning: {} kernel records were lost before they could be read",
            r.lost
        ));
    }
    if r.not_kernel > 0 {
        printer::note(&format!(
            "note: {} lines not written by the kernel (no `kernel:` tag) were not counted",
            r.not_kernel
        ));
    }
    report_partial(&r.partial, a.input.show_partial);
    Ok(input_code(r.partial.lines, r.lost))
}

/// One added source, as `--apply --json` prints it.
#[derive(serde::Serialize)]
struct Added<'a> {
    address: IpAddr,
    set: &'a str,
    lines: u64,
}

/// Each source into the named set of its family; nothing is added unless
/// every source has one.
fn apply_blocklist(
    names: &[String],
    list: &std::collections::BTreeMap<IpAddr, u64>,
    json: bool,
) -> anyhow::Result<()> {
    let sets = names.iter().map(|n| sets::live(n)).collect::<Result<Vec<_>, _>>()?;
    if let Some(pair) = sets.windows(2).find(|w| w[0].family == w[1].family) {
        bail!(
            "sets `{}` and `{}` hold the same family: give one set per family",
            pair[0].name,
            pair[1].name
        );
    }
    let of = |a: &IpAddr| sets.iter().find(|s| s.check(&[*a]).is_ok());
    if let Some(a) = list.keys().find(|a| of(a).is_none()) {
        let fam = if a.is_ipv6() { "ipv6" } else { "ipv4" };
        bail!("{a} is {fam}, and no set of --apply holds {fam} addresses: nothing was added");
    }
    let mut added = Vec::new();
    for set in &sets {
        let addrs: Vec<IpAddr> =
            list.keys().copied().filter(|a| set.check(&[*a]).is_ok()).collect();
        set.add(&addrs)?;
        added.extend(addrs.iter().map(|a| Added { address: *a, set: &set.name, lines: list[a] }));
    }
    if json {
        let v = serde_json::json!({ "sets": sets, "added": added });
        printer::out(&(serde_json::to_string_pretty(&v)? + "\n"));
        return Ok(());
    }
    let mut text = String::new();
    for a in &added {
        let set = sets.iter().find(|s| s.name == a.set).expect("the set of an added address");
        let timeout = set.timeout.map_or("no timeout".to_owned(), |t| format!("timeout {t}s"));
        let backend = match set.backend {
            sets::Backend::Nft => "nft",
            sets::Backend::Ipset => "ipset",
        };
        text += &format!(
            "added {} to {} ({backend}, {timeout}): {} blocked lines\n",
            a.address, a.set, a.lines
        );
    }
    if added.is_empty() {
        text = "nothing to add: no source has enough blocked lines\n".to_owned();
    }
    printer::out(&text);
    Ok(())
}

fn follow(a: FollowArgs) -> anyhow::Result<ExitCode> {
    let policy = match load_policy(a.policy.as_deref(), a.firewall.as_deref())? {
        Ok(policy) => policy,
        Err(code) => return Ok(code),
    };
    let attributor = attributor(a.prefix_template.as_ref(), policy.as_ref())?;
    let filter = Filter {
        rule: a.filter.rule,
        src: a.filter.src,
        dst: a.filter.dst,
        port: a.filter.port,
        action: a.filter.action,
        proto: a.filter.proto,
        iface: a.filter.iface,
    };
    let from = FollowFrom {
        files: a.files,
        once: a.no_follow,
        from_start: a.from_start,
        journal: a.journal,
        nflog: a.nflog,
    };
    let sources = live::follow_sources(&from, &mut |n| printer::note(&n))?;
    let live = Live::spawn(sources, a.exit_idle.map(Duration::from_secs_f64));
    let rules = policy.as_ref().map(|p| &p.rules as &dyn RuleLookup);
    let mut watch = Watch::new(live, attributor, filter, rules);
    for shown in &mut watch {
        let text = match shown? {
            Shown::Event(ev) if a.json => serde_json::to_string(&ev)? + "\n",
            Shown::Event(ev) => ev.columns() + "\n",
            Shown::Lost { n, total } if a.json => {
                format!("{}\n", serde_json::json!({ "lost": n, "lost_total": total }))
            }
            Shown::Lost { n, total } => {
                format!("--- {n} kernel records lost (ring overrun), {total} so far ---\n")
            }
        };
        if !printer::stream(&text) {
            break; // the reader has gone
        }
    }
    Ok(input_code(watch.partial, watch.lost))
}

fn collect_cmd(a: CollectArgs) -> anyhow::Result<ExitCode> {
    let attributor = attributor(a.prefix_template.as_ref(), None)?;
    let mut note = |n: String| printer::note(&n);
    let nflog = a.nflog.map(|g| (g, a.rcvbuf));
    let source = live::collect_source(a.from.as_deref(), nflog, a.journal, &mut note)?;
    printer::note(&format!(
        "collecting firewall lines from {} into {}",
        source.name(),
        a.to.display()
    ));
    let opts = CollectOptions {
        json_lines: a.json_lines,
        idle: a.exit_idle.map(Duration::from_secs_f64),
        attributor,
    };
    let done = collect::collect(source, &a.to, &opts, &mut note)?;
    printer::note(&format!("wrote {} firewall lines, {} records lost", done.written, done.lost));
    Ok(input_code(0, done.lost))
}

/// What `--policy` tells the log reader: where each rule is written and
/// how the firewall writes its prefixes.
struct Policy {
    rules: RuleIndex,
    template: LogPrefix,
    /// Rules' own prefixes: trimmed prefix → rule number and action word.
    own: std::collections::BTreeMap<String, (u32, String)>,
}

/// The rules of `--policy`, when given; `Err` with the exit code when the
/// policy has errors (they have been printed).
fn load_policy(
    path: Option<&std::path::Path>,
    firewall: Option<&str>,
) -> anyhow::Result<Result<Option<Policy>, ExitCode>> {
    let Some(path) = path else { return Ok(Ok(None)) };
    let mut sources = rampart_diag::Sources::new();
    let crate::policy::Checked::Ok(model, ..) =
        crate::policy::load(path, &mut sources, false, crate::policy::Analysis::Errors)?
    else {
        return Ok(Err(ExitCode::from(1)));
    };
    let fw = crate::policy::pick(&model, firewall)?;
    let rules = fw
        .rulesets
        .iter()
        .flat_map(|r| &r.rules)
        .map(|r| {
            let info = RuleInfo {
                file: sources.name(r.span.file).to_owned(),
                line: sources.line_col(r.span.file, r.span.start).line,
                comment: r.comment.clone(),
            };
            (r.number, info)
        })
        .collect();
    Ok(Ok(Some(Policy { rules, template: fw.options.log_prefix.clone(), own: own(fw) })))
}

/// The rules' own prefixes: trimmed prefix → rule number and action word.
fn own(fw: &rampart_model::Firewall) -> std::collections::BTreeMap<String, (u32, String)> {
    fw.rulesets
        .iter()
        .flat_map(|rs| rs.rules.iter().map(move |r| (rs, r)))
        .filter(|(_, r)| r.log_prefix.is_some())
        .map(|(rs, r)| {
            let prefix = rampart_model::rule_log_prefix(&fw.options, r, &rs.name);
            (prefix.trim().to_owned(), (r.number, r.action.log_word().to_owned()))
        })
        .collect()
}

/// How `fw`'s log lines name their rules.
pub(crate) fn attributor_of(fw: &rampart_model::Firewall) -> Attributor {
    Attributor::new(fw.options.log_prefix.clone()).with_own(own(fw))
}
