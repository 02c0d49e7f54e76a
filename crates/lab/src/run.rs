//! A lab run: build, load the ruleset, start listeners, then per probe:
//! counters and kernel log before, send, counters and log after, and the
//! prediction of `rampart trace` for every hook the probe crosses.

use std::net::IpAddr;
use std::time::Duration;

use rampart_diag::Sources;
use rampart_ir::{Family, Ruleset};
use rampart_trace::{CtState, Hook, Packet, Tracer, Verdict, tcp};
use serde::Serialize;

use crate::describe::{ExpectedRule, Lab, Outcome, ProbeKind};
use crate::evidence::{self, Counter, KmsgTail, NetnsLogging};
use crate::netns::{LabError, Tool, require_root, require_tools};
use crate::path::{Crossing, Flow, Leg, Nat, Router, crossings};
use crate::probe::{self, Seen};
use crate::topology::{self, Topology};

/// The firewall's ruleset as `iptables-restore` documents, and the
/// backend the kernel gets.
#[derive(Clone, Debug)]
pub struct Rules {
    pub v4: String,
    pub v6: Option<String>,
    /// The same firewall as one `nft -f` document. When set, the kernel
    /// loads this instead of the iptables documents, which then serve only
    /// trace's prediction, and the kernel's counters are matched to trace's
    /// rules by the policy rule they name (`R<n>`).
    pub nft: Option<String>,
}

/// Everything the lab needs on the machine.
pub fn preflight() -> Result<(), LabError> {
    require_root()?;
    require_tools(&[
        Tool::IP,
        Tool::IPTABLES_RESTORE,
        Tool::IPTABLES_SAVE,
        Tool::NFT,
        Tool::SETPRIV,
        Tool::SOCAT,
        Tool { name: "ping", package: "iputils-ping" },
        Tool { name: "ss", package: "iproute2" },
        Tool { name: "sysctl", package: "procps" },
    ])
}

/// Which way a packet of a probe's connection goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Request,
    Reply,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Request => "request",
            Direction::Reply => "reply",
        })
    }
}

/// What became of a probe, or trace's answer for it: an outcome, or
/// unknown when trace cannot decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    Pass,
    Blocked,
    Unknown,
}

impl Answer {
    /// The outcome, unless unknown.
    #[must_use]
    pub fn outcome(self) -> Option<Outcome> {
        match self {
            Answer::Pass => Some(Outcome::Pass),
            Answer::Blocked => Some(Outcome::Blocked),
            Answer::Unknown => None,
        }
    }
}

impl From<Outcome> for Answer {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Pass => Answer::Pass,
            Outcome::Blocked => Answer::Blocked,
        }
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.outcome() {
            Some(o) => o.fmt(f),
            None => f.write_str("unknown"),
        }
    }
}

fn verdict_name<S: serde::Serializer>(v: &Verdict, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.name())
}

/// One hook crossing with trace's verdict for it.
#[derive(Clone, Debug, Serialize)]
pub struct Predicted {
    pub direction: Direction,
    #[serde(flatten)]
    pub crossing: Crossing,
    #[serde(serialize_with = "verdict_name")]
    pub verdict: Verdict,
    /// `CHAIN:INDEX` and the rule, or `policy of CHAIN`.
    pub decided_by: String,
    /// The deciding rule as a counter position (`index` 0: the policy).
    #[serde(skip)]
    pub decided_at: Option<(String, usize)>,
    /// The policy rule the deciding rule came from (`R<n>`).
    #[serde(skip)]
    pub decided_rule: Option<u32>,
    pub logs: Vec<String>,
    /// The rules that matched on trace's main path, as counters of one
    /// packet: what the kernel's counters would show.
    #[serde(skip)]
    pub matched: Vec<Counter>,
}

/// One probe's result.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    /// Line of the probe in the lab file.
    pub line: usize,
    pub probe: String,
    pub from: String,
    pub src: Option<IpAddr>,
    pub dst: IpAddr,
    pub sport: Option<u16>,
    pub mitm: Option<String>,
    pub expected: Outcome,
    pub seen: Answer,
    pub detail: String,
    pub predicted: Answer,
    /// The rule trace says decides (the blocking one, or the first
    /// crossing's accept).
    pub deciding: Option<String>,
    pub crossings: Vec<Predicted>,
    /// LOG lines the kernel printed for this probe.
    pub logs: Vec<String>,
    /// Rules whose packet counters moved, with the number of packets.
    pub counters: Vec<Counter>,
    /// Why the probe failed (empty when it met its expectation).
    pub problems: Vec<String>,
    pub trace_agrees: bool,
}

impl ProbeReport {
    #[must_use]
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub lab: String,
    /// The run id in the namespace names (`rl-<lab>-<run>-<node>`).
    pub run: String,
    pub probes: Vec<ProbeReport>,
    pub passed: usize,
    pub failed: usize,
    /// Probes where trace's prediction differs from what the kernel did.
    pub trace_disagrees: usize,
}

impl Report {
    /// The lab's report of its probes, counted.
    pub(crate) fn of(lab: &Lab, run: String, probes: Vec<ProbeReport>) -> Self {
        let failed = probes.iter().filter(|p| !p.ok()).count();
        Self {
            lab: lab.name.clone(),
            run,
            passed: probes.len() - failed,
            failed,
            trace_disagrees: probes.iter().filter(|p| !p.trace_agrees).count(),
            probes,
        }
    }
}

/// Builds the lab, loads the ruleset and starts the listeners. On error
/// nothing is left behind.
pub fn stand_up(lab: &Lab, rules: &Rules) -> Result<Topology, LabError> {
    preflight()?;
    topology::remove_on_interrupt();
    let topo = topology::build(lab, &crate::netns::run_id())?;
    // `build` removes what it made when it fails; past it, `topo` does.
    load(&topo, rules)?;
    topology::start_listeners(lab, &topo)?;
    Ok(topo)
}

/// Loads the documents with `iptables-restore`, which replaces the table
/// in one transaction or changes nothing, or the nft document with `nft
/// -f`, one transaction too; the exit status is checked.
fn load(topo: &Topology, rules: &Rules) -> Result<(), LabError> {
    if let Some(nft) = &rules.nft {
        topo.fw().run_with_input(&["nft", "-f", "-"], nft)?;
        return Ok(());
    }
    topo.fw().run_with_input(&["iptables-restore", "-w"], &rules.v4)?;
    if let Some(v6) = &rules.v6 {
        require_tools(&[Tool { name: "ip6tables-restore", package: "iptables" }])?;
        topo.fw().run_with_input(&["ip6tables-restore", "-w"], v6)?;
    }
    Ok(())
}

/// The tables as loaded, read back with `iptables-save`: what trace
/// evaluates, so rule positions are the kernel's own.
fn loaded_ruleset(topo: &Topology) -> Result<Ruleset, LabError> {
    let text = topo.fw().stdout(["iptables-save"])?;
    read_tables(&text, "iptables-save (read back)")
}

/// The tables of `iptables-save` or `iptables-restore` text as one
/// ruleset: the filter table, and the nat table the probes' connections
/// meet.
pub(crate) fn read_tables(text: &str, what: &str) -> Result<Ruleset, LabError> {
    let mut sources = Sources::new();
    let file = sources.add(what, text.to_owned());
    let save = Some(rampart_ir::read::Format::Save);
    let imported = rampart_ir::read::read(text.as_bytes(), what, file, save);
    if imported.has_errors() {
        return Err(LabError::Unreadable {
            what: what.into(),
            diagnostics: rampart_diag::render(&imported.diagnostics, &sources, false),
        });
    }
    Ok(imported.joined().map(rampart_ir::Restricted::into_ruleset).unwrap_or_default())
}

/// Runs the whole lab and removes it, also when a probe fails.
pub fn run(lab: &Lab, rules: &Rules) -> Result<Report, LabError> {
    preflight()?;
    let _logging = NetnsLogging::enable()?;
    let topo = stand_up(lab, rules)?;
    let ruleset = match rules.nft {
        // trace predicts from the same firewall's iptables form, so its
        // deciding rules are named alike on both backends.
        Some(_) => read_tables(&rules.v4, "IPv4 rules")?,
        None => loaded_ruleset(&topo)?,
    };
    let compiled = Tracer::new(&ruleset);
    let nft = rules.nft.is_some();
    let kmsg = KmsgTail::start()?;
    let mut probes = Vec::new();
    for (i, p) in lab.probes.iter().enumerate() {
        let sport = u16::try_from(40000 + i).unwrap_or(40000);
        probes.push(run_probe(lab, &topo, &compiled, &kmsg, p, sport, nft)?);
    }
    let run = topo.run.clone();
    drop(topo);
    Ok(Report::of(lab, run, probes))
}

fn run_probe(
    lab: &Lab,
    topo: &Topology,
    compiled: &Tracer,
    kmsg: &KmsgTail,
    p: &crate::describe::Probe,
    sport: u16,
    nft: bool,
) -> Result<ProbeReport, LabError> {
    let dst = lab.target_addr(&p.to).expect("checked target");
    let sport = (p.kind != ProbeKind::Ping).then_some(sport);
    let mitm = p.mitm.as_ref().map(|(m, _)| m.as_str());

    // Predict before sending: the forged entry changes routing answers.
    let (src, predicted) = predict_probe(lab, topo, |_| compiled, p, dst, sport)?;

    let spoof = match mitm {
        Some(m) => Some(probe::spoof(lab, topo, &p.from, dst, m)?),
        None => None,
    };
    let before = evidence::counters(topo.fw(), nft)?;
    let _ = kmsg.take();
    let argv = probe::command_line(p.kind, dst, p.port, sport.unwrap_or(0), p.uid);
    let seen = probe::send(topo.ns(&p.from), &argv, p.kind);
    if let Some(s) = &spoof {
        s.undo(topo);
    }
    let seen: Seen = seen?;
    // printk is synchronous, but give late retransmissions a moment.
    std::thread::sleep(Duration::from_millis(50));
    let after = evidence::counters(topo.fw(), nft)?;
    let counters = evidence::moved(&before, &after);
    let logs = log_lines(&kmsg.take(), p.kind, &predicted, src, dst, sport, p.port);

    let (pred, deciding) = combine(&predicted);
    let trace_agrees =
        pred == seen.outcome.into() && blocking_rule_moved(&predicted, &counters, nft);
    let problems = problems(p, seen.outcome, &counters, &logs, "the kernel");
    Ok(ProbeReport {
        line: p.line,
        probe: p.text.clone(),
        from: p.from.clone(),
        src,
        dst,
        sport,
        mitm: mitm.map(|m| match &spoof {
            Some(s) => format!("{m}.{}", s.attacker_iface),
            None => m.to_owned(),
        }),
        expected: p.expect,
        seen: seen.outcome.into(),
        detail: seen.detail,
        predicted: pred,
        deciding,
        crossings: predicted,
        logs,
        counters,
        problems,
        trace_agrees,
    })
}

/// The probe's source address and trace's verdict for every crossing of
/// the firewall, request then reply. `compiled` picks the ruleset (filter
/// and nat tables) by the address family of the destination.
pub(crate) fn predict_probe<'a>(
    lab: &Lab,
    router: &dyn Router,
    compiled: impl Fn(Family) -> &'a Tracer,
    p: &crate::describe::Probe,
    dst: IpAddr,
    sport: Option<u16>,
) -> Result<(Option<IpAddr>, Vec<Predicted>), LabError> {
    let compiled = compiled(if dst.is_ipv6() { Family::V6 } else { Family::V4 });
    let nat = Nat::new(compiled.ruleset(), lab);
    let src = router.route(&p.from, dst).ok().and_then(|h| h.src);
    let flow = Flow { src, dst, sport, dport: p.port };
    let request = crossings(
        lab,
        router,
        &nat,
        &Leg {
            from: &p.from,
            flow,
            packet: &first_packet(p, Direction::Request, dst.is_ipv6()),
            mitm: p.mitm.as_ref().map(|(m, _)| m.as_str()),
            reply_to: None,
        },
    )?;
    let mut predicted: Vec<Predicted> =
        request.crossings.iter().map(|c| predict(compiled, p, c, Direction::Request)).collect();
    // The reply leaves from where the request arrived, to the address it
    // came from (after the nat table's translations).
    if let (Some(back), Some(owner)) = (request.flow.reversed(), lab.owner(request.flow.dst)) {
        let reply = crossings(
            lab,
            router,
            &nat,
            &Leg {
                from: &owner.name,
                flow: back,
                packet: &first_packet(p, Direction::Reply, dst.is_ipv6()),
                mitm: None,
                reply_to: Some(request.conn.as_ref()),
            },
        )?;
        predicted.extend(reply.crossings.iter().map(|c| predict(compiled, p, c, Direction::Reply)));
    }
    Ok((src, predicted))
}

/// Where an outcome, the rules that matched and the LOG lines differ
/// from what the probe expects.
pub(crate) fn problems(
    p: &crate::describe::Probe,
    outcome: Outcome,
    counters: &[Counter],
    logs: &[String],
    who: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    if outcome != p.expect {
        problems.push(format!("expected {}, {who} said {}", p.expect.name(), outcome.name()));
    }
    if let Some(r) = &p.rule
        && !counters.iter().any(|c| rule_matches(r, c))
    {
        problems.push(format!("expected {r} to decide, but it did not match"));
    }
    if let Some(prefix) = &p.log
        && !logs.iter().any(|l| l.contains(prefix.as_str()))
    {
        problems.push(format!("expected a LOG line with prefix {prefix:?}, none was printed"));
    }
    problems
}

/// Whether a moved counter is the rule the probe expected.
fn rule_matches(r: &ExpectedRule, c: &Counter) -> bool {
    match r {
        ExpectedRule::Chain(chain, i) => c.chain == *chain && c.index == *i,
        ExpectedRule::Policy(n) => rampart_ir::origin::line_rule(&c.text) == Some(*n),
    }
}

/// A probe's packet in one direction, before the path sets its hook,
/// interfaces and addresses.
fn first_packet(p: &crate::describe::Probe, direction: Direction, v6: bool) -> Packet {
    let reply = direction == Direction::Reply;
    let mut pk = Packet::new(Hook::Prerouting);
    pk.state = if reply { CtState::Established } else { CtState::New };
    match p.kind {
        ProbeKind::Ping => {
            pk.proto = Some(if v6 { 58 } else { 1 });
            pk.icmp = Some(match (reply, v6) {
                (false, false) => (8, Some(0)),
                (true, false) => (0, Some(0)),
                (false, true) => (128, Some(0)),
                (true, true) => (129, Some(0)),
            });
        }
        ProbeKind::Tcp | ProbeKind::Udp => {
            pk.proto = Some(if p.kind == ProbeKind::Tcp { 6 } else { 17 });
            if p.kind == ProbeKind::Tcp {
                pk.tcp_flags = Some(if reply { tcp::SYN | tcp::ACK } else { tcp::SYN });
            }
        }
    }
    pk
}

/// The packet trace follows for one crossing.
fn packet(p: &crate::describe::Probe, c: &Crossing, direction: Direction) -> Packet {
    let mut pk = first_packet(p, direction, c.flow.dst.is_ipv6());
    pk.hook = c.hook;
    pk.in_iface.clone_from(&c.in_iface);
    pk.out_iface.clone_from(&c.out_iface);
    pk.physdev_in.clone_from(&c.physdev_in);
    pk.physdev_out.clone_from(&c.physdev_out);
    pk.bridged = c.bridged;
    (pk.src, pk.dst) = (c.flow.src, Some(c.flow.dst));
    if p.kind != ProbeKind::Ping {
        (pk.sport, pk.dport) = (c.flow.sport, c.flow.dport);
    }
    if c.hook == Hook::Output && direction == Direction::Request {
        // Sent by a local socket: root unless the probe names a UID.
        pk.uid = Some(p.uid.unwrap_or(0));
        pk.gid = Some(p.uid.unwrap_or(0));
    }
    pk
}

fn predict(
    compiled: &Tracer,
    p: &crate::describe::Probe,
    c: &Crossing,
    direction: Direction,
) -> Predicted {
    let pk = packet(p, c, direction);
    let mut t = compiled.trace(&pk);
    if c.nat_undecided {
        // The nat rules around the pass decide which packet it is.
        t.verdict = Verdict::Unknown;
    }
    let family = if c.flow.dst.is_ipv6() { Family::V6 } else { Family::V4 };
    let rs = compiled.ruleset();
    let decided_at = (t.verdict != Verdict::Unknown).then(|| match t.main.decided_by {
        Some(at) => (rs.chains[at.chain].name.clone(), at.rule + 1),
        None => (c.hook.chain().to_owned(), 0),
    });
    let decided_rule = t.main.decided_by.and_then(|at| {
        let rule = &rs.chains[at.chain].rules[at.rule];
        rule.origin
            .as_ref()
            .map(|o| o.rule)
            .or_else(|| rule.comment.as_deref().and_then(rampart_ir::origin::comment_rule))
    });
    let decided_by = if c.nat_undecided {
        "unknown (a nat rule trace cannot decide)".to_owned()
    } else if t.verdict == Verdict::Unknown {
        "unknown (a match trace cannot decide)".to_owned()
    } else {
        rampart_trace::explain::deciding(rs, &t.main, c.hook, family)
    };
    let mut matched: Vec<Counter> = t
        .path
        .iter()
        .map(|s| {
            let chain = &rs.chains[s.at.chain];
            Counter {
                chain: chain.name.clone(),
                index: s.at.rule + 1,
                packets: 1,
                text: rampart_ir::format_rule(rs, &chain.rules[s.at.rule], family),
            }
        })
        .collect();
    if t.verdict != Verdict::Unknown && t.main.decided_by.is_none() {
        matched.push(Counter {
            chain: c.hook.chain().to_owned(),
            index: 0,
            packets: 1,
            text: format!("policy {}", t.verdict.name()),
        });
    }
    Predicted {
        direction,
        crossing: c.clone(),
        verdict: t.verdict,
        decided_by,
        decided_at,
        decided_rule,
        logs: t.logs,
        matched,
    }
}

/// The probe's predicted outcome: blocked at the first crossing that does
/// not accept, unknown when trace cannot tell, else pass.
pub(crate) fn combine(predicted: &[Predicted]) -> (Answer, Option<String>) {
    for c in predicted {
        match c.verdict {
            Verdict::Accept => {}
            Verdict::Unknown => return (Answer::Unknown, Some(c.decided_by.clone())),
            _ => {
                let at = format!("{} ({})", c.decided_by, c.crossing.describe_pass());
                return (Answer::Blocked, Some(at));
            }
        }
    }
    (Answer::Pass, predicted.first().map(|c| c.decided_by.clone()))
}

/// For a probe trace says is blocked, the kernel must agree on where: the
/// counter of the rule (or policy) trace names must have moved. On nft,
/// whose chains are not iptables', a counter of a rule of the same policy
/// rule (`R<n>`); a chain's policy has no counter there, so a block by a
/// policy is proven by the outcome alone.
fn blocking_rule_moved(predicted: &[Predicted], counters: &[Counter], nft: bool) -> bool {
    let Some(block) = predicted.iter().find(|c| c.verdict != Verdict::Accept) else {
        return true;
    };
    match (&block.decided_at, nft) {
        (Some((_, 0)), true) => true,
        (Some(_), true) => block.decided_rule.is_some_and(|n| {
            counters.iter().any(|c| rampart_ir::origin::line_rule(&c.text) == Some(n))
        }),
        (Some((chain, index)), false) => {
            counters.iter().any(|c| c.chain == *chain && c.index == *index)
        }
        (None, _) => true,
    }
}

/// The kernel's LOG lines that belong to this probe, in either direction,
/// with the addresses it had at any crossing (NAT changes them).
fn log_lines(
    lines: &[String],
    kind: ProbeKind,
    crossings: &[Predicted],
    src: Option<IpAddr>,
    dst: IpAddr,
    sport: Option<u16>,
    dport: Option<u16>,
) -> Vec<String> {
    let Some(src) = src else { return vec![] };
    let mut flows = vec![Flow { src: Some(src), dst, sport, dport }];
    flows.extend(crossings.iter().map(|c| match c.direction {
        Direction::Request => c.crossing.flow,
        Direction::Reply => c.crossing.flow.reversed().unwrap_or(c.crossing.flow),
    }));
    let proto = match kind {
        ProbeKind::Ping => {
            if dst.is_ipv6() {
                "PROTO=ICMPv6"
            } else {
                "PROTO=ICMP "
            }
        }
        ProbeKind::Tcp => "PROTO=TCP ",
        ProbeKind::Udp => "PROTO=UDP ",
    };
    lines
        .iter()
        .filter(|l| l.contains(proto))
        .filter(|l| {
            let ports = |a: Option<u16>, b: Option<u16>| match (a, b) {
                (Some(a), Some(b)) => l.contains(&format!("SPT={a} DPT={b} ")),
                _ => true,
            };
            flows.iter().any(|f| {
                let Some(src) = f.src else { return false };
                let (fwd, back) =
                    (format!("SRC={src} DST={} ", f.dst), format!("SRC={} DST={src} ", f.dst));
                (l.contains(&fwd) && ports(f.sport, f.dport))
                    || (l.contains(&back) && ports(f.dport, f.sport))
            })
        })
        .map(|l| brief(l))
        .fold(Vec::new(), |mut v: Vec<String>, l| {
            // Retransmissions print the same line again; once is evidence.
            if !v.contains(&l) {
                v.push(l);
            }
            v
        })
}

/// A LOG line without what changes from run to run (MAC addresses, IP
/// ids, lengths): the prefix and the fields that say where the packet was.
fn brief(line: &str) -> String {
    const KEEP: [&str; 11] =
        ["IN", "OUT", "PHYSIN", "PHYSOUT", "SRC", "DST", "PROTO", "SPT", "DPT", "TYPE", "CODE"];
    let start = line.find("IN=").unwrap_or(0);
    let mut s = line[..start].to_owned();
    for w in line[start..].split_whitespace() {
        let key = w.split('=').next().unwrap_or("");
        if KEEP.contains(&key) {
            s.push_str(w);
            s.push(' ');
        }
    }
    s.trim_end().to_owned()
}
