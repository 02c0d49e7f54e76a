//! What the page shows, gathered from the policy's syntax (objects and
//! rules as written), the model (numbers, interfaces) and the analysis
//! of the compiled rules.

use std::collections::BTreeMap;

use askama::Template;
use rampart_analysis::matrix::{Cell as Crossing, Matrix, Zone};
use rampart_diag::{Severity, Sources, Span};
use rampart_ir::{Family, Ruleset};
use rampart_lower::Compiled;
use rampart_model::Firewall;
use rampart_syntax::ast::{self, Column, Item};
use rampart_trace::{Tracer, explain};

#[derive(Template)]
#[template(path = "report.html")]
pub struct Page {
    pub title: String,
    pub version: &'static str,
    pub interfaces: Vec<Iface>,
    /// (bridge, port, kind, what lies behind it)
    pub bridges: Vec<(String, String, &'static str, String)>,
    pub topology: Topology,
    pub options: Vec<(String, String)>,
    pub objects: Vec<Object>,
    pub rulesets: Vec<RuleSet>,
    pub matrices: Vec<Grid>,
    pub spoofing: Vec<Finding>,
    pub anomalies: Vec<Finding>,
    pub expectations: Vec<Expectation>,
    pub lab: Option<LabSection>,
    pub counters: Option<Counted>,
    pub logs: Option<Logged>,
}

/// Sections shown only when their data is given.
#[derive(Default)]
pub struct Extras {
    pub lab: Option<LabSection>,
    pub counters: Option<Counted>,
    pub logs: Option<Logged>,
}

/// The rules that log most, from a log file.
pub struct Logged {
    pub file: String,
    pub lines: u64,
    pub firewall_lines: u64,
    /// Firewall lines read only in part (still counted by prefix).
    pub partial_lines: u64,
    /// (rule, when Rampart's prefix names one; the prefix; lines), most
    /// lines first.
    pub top: Vec<(Option<u32>, String, u64)>,
}

/// A lab's probes and how they came out.
pub struct LabSection {
    pub name: String,
    /// `offline, by trace`, or how the run was made.
    pub how: String,
    pub passed: usize,
    pub probes: Vec<LabProbe>,
}

pub struct LabProbe {
    pub line: usize,
    pub probe: String,
    pub expected: String,
    pub seen: String,
    pub ok: bool,
}

/// The kernel's counts of the policy's rules.
pub struct Counted {
    /// Rule numbers that matched no packet since their rules were loaded.
    pub never: Vec<u32>,
    /// (rule, packets, bytes), most packets first.
    pub busiest: Vec<(u32, u64, u64)>,
}

/// The drawing of the firewall: a row per interface, bridge and port,
/// each a box joined to the firewall (or its bridge), its addresses or
/// kind, and what lies behind it.
pub struct Topology {
    pub name: String,
    /// Wide enough for the longest text at 8 units a character.
    pub width: u32,
    pub height: u32,
    pub rows: Vec<TopoRow>,
}

pub struct TopoRow {
    /// Top of the row's box.
    pub y: u32,
    /// Left of the box: ports sit to the right of their bridge.
    pub x: u32,
    /// `iface`, `bridge`, `port`: the CSS class.
    pub kind: &'static str,
    pub name: String,
    /// Addresses, or the port's kind.
    pub detail: String,
    /// Networks behind an interface, a guest, the far side of a border.
    pub behind: String,
    /// A bridge's line down to its last port (0 for the others).
    pub down: u32,
}

/// Rows 32 units apart, below a margin for the firewall's name.
const ROW: u32 = 32;

fn topology(fw: &Firewall, bridges: &[(String, String, &'static str, String)]) -> Topology {
    let mut rows = Vec::new();
    let mut y = 44;
    for i in &fw.interfaces {
        let nets: Vec<String> = i.addrs.iter().map(|a| a.trunc().to_string()).collect();
        let behind = if i.loopback { "the host itself".to_owned() } else { nets.join(", ") };
        rows.push(TopoRow {
            y,
            x: 200,
            kind: "iface",
            name: i.name.clone(),
            detail: i.addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            behind,
            down: 0,
        });
        y += ROW;
    }
    for b in &fw.bridges {
        let ports: Vec<_> = bridges.iter().filter(|x| x.0 == b.name).collect();
        rows.push(TopoRow {
            y,
            x: 200,
            kind: "bridge",
            name: b.name.clone(),
            detail: "bridge".into(),
            behind: String::new(),
            down: ROW * ports.len() as u32 - 12,
        });
        y += ROW;
        for (_, port, kind, behind) in ports {
            rows.push(TopoRow {
                y,
                x: 240,
                kind: "port",
                name: port.clone(),
                detail: format!("{kind} port"),
                behind: behind.clone(),
                down: 0,
            });
            y += ROW;
        }
    }
    let longest = rows.iter().map(|r| r.behind.chars().count()).max().unwrap_or(0);
    Topology { name: fw.name.clone(), width: 660 + 8 * longest as u32, height: y + 12, rows }
}

pub struct Iface {
    pub name: String,
    pub addrs: String,
    pub flags: String,
}

pub struct Object {
    pub kind: &'static str,
    pub name: String,
    pub value: String,
    pub used_by: Vec<u32>,
}

pub struct RuleSet {
    pub name: String,
    pub rules: Vec<Rule>,
}

pub struct Rule {
    pub number: u32,
    /// `accept`, `deny`, `reject`, `branch`, ...: the CSS class too.
    pub action: String,
    pub argument: String,
    pub from: Cell,
    pub to: Cell,
    pub service: Cell,
    pub on: String,
    pub options: String,
    pub comment: String,
    pub line: u32,
}

/// A column as written; `not` shown apart.
pub struct Cell {
    pub not: bool,
    pub items: String,
}

pub struct Grid {
    /// `IPv4`, or `IPv4, bridged by br0`.
    pub title: String,
    pub zones: Vec<String>,
    pub rows: Vec<GridRow>,
    /// Packets traced for the whole matrix (on its first grid).
    pub packets: Option<usize>,
}

pub struct GridRow {
    pub from: String,
    pub cells: Vec<GridCell>,
}

pub struct GridCell {
    /// The zone to itself: no crossing.
    pub same: bool,
    /// (label, class `all`/`some`/`undecided`, hover text)
    pub items: Vec<(String, &'static str, String)>,
}

pub struct Finding {
    pub code: &'static str,
    /// `error`, `warning`, `info`.
    pub severity: &'static str,
    pub message: String,
    /// `file:line:col` of each span, with its label.
    pub places: Vec<(String, String)>,
}

pub struct Expectation {
    pub text: String,
    pub line: u32,
    pub holds: bool,
    pub detail: String,
    pub packets: usize,
    pub trace: String,
}

pub(crate) fn page(
    policy: &str,
    fw: &Firewall,
    c: &Compiled,
    sources: &Sources,
    extras: Extras,
) -> Page {
    let asts: Vec<ast::Policy> =
        sources.ids().map(|id| rampart_syntax::parse(sources.text(id), id).ast).collect();
    let numbers: BTreeMap<Span, u32> =
        fw.rulesets.iter().flat_map(|r| &r.rules).map(|r| (r.span, r.number)).collect();
    let rulesets = rulesets(fw, &asts, &numbers, sources);
    let objects = objects(&asts, &rulesets);
    let matrices = [(Family::V4, &*c.v4), (Family::V6, &*c.v6)]
        .into_iter()
        .filter(|(f, _)| *f == Family::V4 || has_family(fw, Family::V6))
        .filter_map(|(f, rs)| rampart_analysis::matrix(fw, rs, f))
        .collect::<Vec<_>>();
    let spoofing = matrices
        .iter()
        .flat_map(|m| &m.spoofing)
        .map(|s| finding(&s.diagnostic(), sources))
        .collect();
    let anomalies = rampart_analysis::check(&c.rich).iter().map(|d| finding(d, sources)).collect();
    let expectations = rampart_analysis::expectations(fw, &c.v4, &c.v6)
        .into_iter()
        .map(|o| {
            let lc = sources.line_col(o.span.file, o.span.start);
            let trace = o.sample.as_ref().map_or_else(String::new, |(p, f)| {
                let rs: &Ruleset = if *f == Family::V4 { &c.v4 } else { &c.v6 };
                explain::to_text(rs, p, &Tracer::new(rs).trace(p), *f)
            });
            Expectation {
                text: sources.slice(o.span).to_owned(),
                line: lc.line,
                holds: o.holds(),
                detail: o.diagnostic().map_or_else(|| "holds".to_owned(), |d| d.message),
                packets: o.packets,
                trace,
            }
        })
        .collect();
    let bridges = bridge_ports(fw);
    Page {
        topology: topology(fw, &bridges),
        title: format!("firewall {} ({policy})", fw.name),
        version: env!("CARGO_PKG_VERSION"),
        interfaces: fw
            .interfaces
            .iter()
            .map(|i| Iface {
                name: i.name.clone(),
                addrs: i.addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                flags: [
                    (i.loopback, "loopback"),
                    (i.dynamic, "dynamic"),
                    (i.management, "management"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(", "),
            })
            .collect(),
        bridges,
        options: options(fw),
        objects,
        rulesets,
        matrices: matrices.iter().flat_map(grids).collect(),
        spoofing,
        anomalies,
        expectations,
        lab: extras.lab,
        counters: extras.counters,
        logs: extras.logs,
    }
}

/// (bridge, port, kind, what lies behind it), port by port.
fn bridge_ports(fw: &Firewall) -> Vec<(String, String, &'static str, String)> {
    fw.bridges
        .iter()
        .flat_map(|b| b.ports.iter().map(move |p| (b, p)))
        .map(|(b, p)| {
            let (kind, behind) = match &p.kind {
                rampart_model::PortKind::Guest { addrs: a, mac, .. } => (
                    "guest",
                    format!(
                        "{}{}",
                        addrs(&a.items),
                        mac.as_ref().map_or_else(String::new, |m| format!(" (mac {m})"))
                    ),
                ),
                rampart_model::PortKind::Border { peer } => {
                    ("border", format!("port {peer}; beyond: {}", addrs(&fw.far_side(p).items)))
                }
                rampart_model::PortKind::HostLink { iface, beyond } => {
                    ("border", format!("host interface {iface}; beyond: {}", addrs(&beyond.items)))
                }
                rampart_model::PortKind::Plain => ("port", "any address".to_owned()),
            };
            (b.name.clone(), p.name.clone(), kind, behind)
        })
        .collect()
}

fn has_family(fw: &Firewall, f: Family) -> bool {
    fw.interfaces.iter().flat_map(|i| &i.addrs).any(|a| a.addr().is_ipv4() == (f == Family::V4))
}

fn options(fw: &Firewall) -> Vec<(String, String)> {
    let o = &fw.options;
    let onoff = |b: bool| if b { "on" } else { "off" }.to_owned();
    vec![
        ("default".into(), format!("{:?}", o.default).to_lowercase()),
        ("forward".into(), onoff(o.forward)),
        ("accept-established".into(), onoff(o.accept_established)),
        ("log-level".into(), o.log_level.to_string()),
        (
            "backup-ssh".into(),
            o.backup_ssh.as_ref().map_or_else(|| "none".into(), |s| addrs(&s.items)),
        ),
    ]
}

fn addrs(items: &[rampart_ir::AddrItem]) -> String {
    let one = |i: &rampart_ir::AddrItem| match i {
        rampart_ir::AddrItem::Net(n) if n.prefix_len() == n.max_prefix_len() => {
            n.addr().to_string()
        }
        rampart_ir::AddrItem::Net(n) => n.to_string(),
        rampart_ir::AddrItem::Range(a, b) => format!("{a}-{b}"),
    };
    items.iter().map(one).collect::<Vec<_>>().join(", ")
}

fn words(c: Option<&Column>) -> Cell {
    match c {
        None => Cell { not: false, items: "any".into() },
        Some(c) => Cell {
            not: c.not.is_some(),
            items: c.items.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(", "),
        },
    }
}

/// The rule sets of `fw` as written, numbered as the model numbers them.
fn rulesets(
    fw: &Firewall,
    asts: &[ast::Policy],
    numbers: &BTreeMap<Span, u32>,
    sources: &Sources,
) -> Vec<RuleSet> {
    let Some(afw) = asts.iter().flat_map(|p| &p.items).find_map(|i| match i {
        Item::Firewall(f) if f.name.text == fw.name => Some(f),
        _ => None,
    }) else {
        return Vec::new();
    };
    afw.rulesets
        .iter()
        .map(|rs| RuleSet {
            name: rs.name.text.clone(),
            rules: rs
                .rules
                .iter()
                .filter_map(|r| {
                    let number = *numbers.get(&r.span)?;
                    let mut options: Vec<String> = Vec::new();
                    if let Some(u) = &r.user {
                        options.push(format!("user {}", words(Some(u)).items));
                    }
                    if let Some(d) = &r.days {
                        options.push(format!("days {}", words(Some(d)).items));
                    }
                    if let Some(t) = &r.time {
                        options.push(format!("time {}", t.text));
                    }
                    for (on, what) in
                        [(r.log.is_some(), "log"), (r.stateless.is_some(), "stateless")]
                    {
                        if on {
                            options.push(what.into());
                        }
                    }
                    for (l, what) in [
                        (&r.limit, "limit"),
                        (&r.connlimit, "connlimit"),
                        (&r.log_limit, "log-limit"),
                    ] {
                        if let Some(l) = l {
                            options.push(format!("{what} {}", l.value.text));
                        }
                    }
                    let on = match (&r.on, &r.direction) {
                        (None, None) => String::new(),
                        (c, d) => {
                            let c = c.as_ref().map(|c| {
                                let w = words(Some(c));
                                if w.not { format!("not {}", w.items) } else { w.items }
                            });
                            [c, d.as_ref().map(|d| d.text.clone())]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ")
                        }
                    };
                    Some(Rule {
                        number,
                        action: r.action.text.clone(),
                        argument: r.argument.as_ref().map(|a| a.text.clone()).unwrap_or_default(),
                        from: words(r.from.as_ref()),
                        to: words(r.to.as_ref()),
                        service: words(r.service.as_ref()),
                        on,
                        options: options.join(", "),
                        comment: r.comment.as_ref().map(|c| c.value.clone()).unwrap_or_default(),
                        line: sources.line_col(r.span.file, r.span.start).line,
                    })
                })
                .collect(),
        })
        .collect()
}

/// Every named object of the policy, and the rules that name it.
fn objects(asts: &[ast::Policy], rulesets: &[RuleSet]) -> Vec<Object> {
    let join = |w: &[ast::Word]| w.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(", ");
    let mut out = Vec::new();
    for item in asts.iter().flat_map(|p| &p.items) {
        let (kind, name, value) = match item {
            Item::Host { name, addrs } => ("host", name, join(addrs)),
            Item::Network { name, net } => ("network", name, net.text.clone()),
            Item::Range { name, first, last } => {
                ("range", name, format!("{} - {}", first.text, last.text))
            }
            Item::Group { name, members } => ("group", name, join(members)),
            Item::AddressTable { name, file, .. } => {
                ("address table", name, format!("from \"{}\"", file.value))
            }
            Item::Service { name, clauses } => (
                "service",
                name,
                clauses
                    .iter()
                    .map(|c| {
                        let mut s = c.proto.text.clone();
                        if !c.sports.is_empty() {
                            s.push_str(&format!(" sport {}", join(&c.sports)));
                        }
                        if !c.dports.is_empty() {
                            s.push(' ');
                            s.push_str(&join(&c.dports));
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Item::User { name, uid, gid } => (
                "user",
                name,
                format!(
                    "uid {}{}",
                    uid.text,
                    gid.as_ref().map_or_else(String::new, |g| format!(" gid {}", g.text))
                ),
            ),
            _ => continue,
        };
        let named = |c: &Cell| c.items.split(", ").any(|w| w == name.text);
        let used_by = rulesets
            .iter()
            .flat_map(|r| &r.rules)
            .filter(|r| {
                named(&r.from)
                    || named(&r.to)
                    || named(&r.service)
                    || r.options.contains(&name.text)
            })
            .map(|r| r.number)
            .collect();
        out.push(Object { kind, name: name.text.clone(), value, used_by });
    }
    out
}

/// A matrix's grid, and one per bridge.
fn grids(m: &Matrix) -> Vec<Grid> {
    let family = if m.family == "ipv4" { "IPv4" } else { "IPv6" };
    let mut out = vec![grid(family.to_owned(), &m.zones, &m.cells, Some(m.packets))];
    for b in &m.bridges {
        out.push(grid(format!("{family}, bridged by {}", b.bridge), &b.ports, &b.cells, None));
    }
    out
}

fn grid(title: String, zones: &[Zone], cells: &[Crossing], packets: Option<usize>) -> Grid {
    let labels: Vec<String> = zones
        .iter()
        .map(|z| {
            if z.networks.is_empty() {
                z.name.clone()
            } else {
                format!("{} {}", z.name, z.networks.join(" "))
            }
        })
        .collect();
    let rows = zones
        .iter()
        .zip(&labels)
        .map(|(from, label)| GridRow {
            from: label.clone(),
            cells: zones
                .iter()
                .map(|to| {
                    let cell = cells.iter().find(|c| c.from == from.name && c.to == to.name);
                    GridCell {
                        same: cell.is_none(),
                        items: cell
                            .map(|c| {
                                c.allowed
                                    .iter()
                                    .map(|a| {
                                        let class = if a.undecided > 0 {
                                            "undecided"
                                        } else if a.accepted < a.packets {
                                            "some"
                                        } else {
                                            "all"
                                        };
                                        let rules: Vec<String> =
                                            a.rules.iter().map(ToString::to_string).collect();
                                        let title = format!(
                                            "{}: {} of {} packets accepted, by rule {}",
                                            a.service,
                                            a.accepted,
                                            a.packets,
                                            rules.join(", ")
                                        );
                                        (a.label(), class, title)
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect();
    Grid { title, zones: labels, rows, packets }
}

fn finding(d: &rampart_diag::Diagnostic, sources: &Sources) -> Finding {
    Finding {
        code: d.code,
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        },
        message: d.message.clone(),
        places: d.labels.iter().map(|l| (sources.location(l.span), l.message.clone())).collect(),
    }
}
