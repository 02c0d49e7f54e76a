//! `expect` lines checked against the compiled rules: every packet the
//! line describes (one per piece of the [`Cuts`], so the check is exact)
//! is traced, and the verdict compared.

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{Family, Ruleset};
use rampart_model::{Expect, Expected, Firewall};
use rampart_trace::explain::describe;
use rampart_trace::{Interfaces, Packet, Tracer, Verdict};
use serde::Serialize;

use crate::cuts::Cuts;
use crate::diagnostics as d;
use crate::packets::{Ends, On, cut_at, cut_services, interfaces, packets, services};
use crate::space::{DST, SRC, items};

/// An expectation describing more packets than this is not checked
/// (and fails): narrow it.
pub const LIMIT: usize = 200_000;

/// What became of one `expect` line.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectOutcome {
    #[serde(skip)]
    pub span: Span,
    pub expected: &'static str,
    /// The packets traced (one per piece of the description).
    pub packets: usize,
    #[serde(flatten)]
    pub result: Result,
    /// The packet that stands for the line: the first that fails, else
    /// the first traced.
    #[serde(skip)]
    pub sample: Option<(Packet, Family)>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Result {
    Holds,
    /// `count` packets get another verdict; `packet` is the first.
    Fails {
        packet: String,
        got: String,
        rule: Option<u32>,
        #[serde(skip)]
        rule_span: Option<Span>,
        count: usize,
    },
    /// The verdict depends on a match trace cannot decide.
    Undecided {
        packet: String,
        rule: Option<u32>,
    },
    TooBroad,
    NoPacket,
}

impl ExpectOutcome {
    #[must_use]
    pub fn holds(&self) -> bool {
        matches!(self.result, Result::Holds)
    }

    /// The error for an expectation that does not hold.
    #[must_use]
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        Some(match &self.result {
            Result::Holds => return None,
            Result::Fails { packet, got, rule, rule_span, count } => {
                let by = rule.map(|n| (n, *rule_span));
                d::expectation_fails(
                    self.span,
                    self.expected,
                    packet,
                    got,
                    by,
                    *count,
                    self.packets,
                )
            }
            Result::Undecided { packet, rule } => {
                d::expectation_undecided(self.span, packet, *rule)
            }
            Result::TooBroad => d::expectation_too_broad(self.span, self.packets, LIMIT),
            Result::NoPacket => d::expectation_empty(self.span),
        })
    }
}

/// Checks every `expect` line of `fw` against its compiled rules, one
/// ruleset per family (what `rampart compile` loads).
#[must_use]
pub fn expectations(fw: &Firewall, v4: &Ruleset, v6: &Ruleset) -> Vec<ExpectOutcome> {
    if fw.expects.is_empty() {
        return Vec::new();
    }
    let ifaces = interfaces(fw);
    let fams: Vec<(Cuts, Tracer, &Ruleset)> = [(v4, Family::V4), (v6, Family::V6)]
        .into_iter()
        .map(|(rs, f)| {
            let mut c = Cuts::of(rs, f);
            cut_at(&ifaces, &mut c);
            (c, Tracer::new(rs), rs)
        })
        .collect();
    fw.expects.iter().map(|e| check(&ifaces, &fams, e)).collect()
}

fn check(ifaces: &Interfaces, fams: &[(Cuts, Tracer, &Ruleset)], e: &Expect) -> ExpectOutcome {
    let mut out = ExpectOutcome {
        span: e.span,
        expected: e.verdict.word(),
        packets: 0,
        result: Result::Holds,
        sample: None,
    };
    let mut all = Vec::new();
    for (base, compiled, rs) in fams {
        let mut cuts = base.clone();
        cuts.add(SRC, &items(&e.src.set.items, cuts.family));
        cuts.add(DST, &items(&e.dst.set.items, cuts.family));
        cut_services(&e.service, &mut cuts);
        let src = Ends::of(&e.src, &cuts, SRC);
        let dst = Ends::of(&e.dst, &cuts, DST);
        let svc = services(&e.service, &cuts);
        let on = On { iface: &e.iface, direction: e.direction };
        let Some(ps) = packets(ifaces, &cuts, &src, &dst, &svc, &on, LIMIT - all.len()) else {
            out.packets = LIMIT;
            out.result = Result::TooBroad;
            return out;
        };
        all.extend(ps.into_iter().map(|p| (p, compiled, *rs, cuts.family)));
    }
    out.packets = all.len();
    if all.is_empty() {
        out.result = Result::NoPacket;
        return out;
    }
    let mut count = 0;
    out.sample = all.first().map(|(p, _, _, f)| (p.clone(), *f));
    for (p, compiled, rs, f) in &all {
        let t = compiled.trace(p);
        let origin = t.main.decided_by.and_then(|at| at.origin(rs));
        if t.verdict == Verdict::Unknown {
            out.sample = Some((p.clone(), *f));
            out.result = Result::Undecided {
                packet: describe(p),
                rule: t.forks.first().and_then(|f| f.at.origin(rs)).map(|o| o.rule),
            };
            return out;
        }
        if !wanted(e.verdict, &t.verdict) {
            count += 1;
            if count == 1 {
                out.sample = Some((p.clone(), *f));
                out.result = Result::Fails {
                    packet: describe(p),
                    got: t.verdict.name().to_ascii_lowercase(),
                    rule: origin.map(|o| o.rule),
                    rule_span: origin.and_then(|o| o.span),
                    count: 0,
                };
            }
        }
    }
    if let Result::Fails { count: c, .. } = &mut out.result {
        *c = count;
    }
    out
}

/// A deny expectation holds for a drop or a reject: the packet does not pass.
fn wanted(e: Expected, v: &Verdict) -> bool {
    match e {
        Expected::Accept => *v == Verdict::Accept,
        Expected::Deny => matches!(v, Verdict::Drop | Verdict::Reject(_)),
        Expected::Reject => matches!(v, Verdict::Reject(_)),
    }
}
