//! First-match evaluation of a ruleset: the walk through chains that the
//! kernel makes, shared by the straightforward evaluator ([`trace`]) and the
//! compiled one ([`crate::Tracer`]).
//!
//! Semantics: a packet enters the built-in chain of its hook (a hook whose
//! chain the ruleset lacks accepts, as an empty kernel table does). Rules are
//! tried in order; the first whose matches all hold applies its target.
//! ACCEPT, DROP, REJECT (and QUEUE/NFQUEUE) end the walk; `-j CHAIN` calls a
//! user chain and comes back after it; `-g CHAIN` goes there without coming
//! back, so that chain's end returns to whoever called the chain that made
//! the goto; RETURN (or the end of a user chain) goes back one call, and in a
//! built-in chain, or with nobody to return to, applies the built-in chain's
//! policy. LOG and NFLOG print and go on; MARK sets the mark that later
//! rules see. A rich-form rule's `log` prints before its target applies.
//!
//! When a match cannot be decided (see [`crate::Why`]), the walk forks: the
//! main path assumes the match fails, and each fork records what the verdict
//! would be if it held.

use std::borrow::Cow;

use rampart_ir::{
    ChainId, Connmark, MarkSet, Origin, Policy, RejectWith, Rule, Ruleset, Table, Target,
};

use crate::index::Lists;
use crate::matches::{Tri, Why};
use crate::packet::Packet;

/// A rule by position: chain index in the ruleset, rule index in the chain
/// (both from 0; printed from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleRef {
    pub chain: usize,
    pub rule: usize,
}

impl RuleRef {
    /// The rule itself, in the ruleset the trace walked.
    #[must_use]
    pub fn rule(self, rs: &Ruleset) -> &Rule {
        &rs.chains[self.chain].rules[self.rule]
    }

    /// The policy rule it was made from, if Rampart made it.
    #[must_use]
    pub fn origin(self, rs: &Ruleset) -> Option<Origin> {
        self.rule(rs).origin
    }
}

/// What a matching rule did, for the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Jump,
    Return,
    Log,
    Verdict,
    Continue,
}

impl Action {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Action::Jump => "jump",
            Action::Return => "return",
            Action::Log => "log",
            Action::Verdict => "verdict",
            Action::Continue => "continue",
        }
    }
}

/// The end of a walk.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Drop,
    Reject(RejectWith),
    /// A terminating target Rampart does not model further (NFQUEUE, or an
    /// unknown target assumed to stop).
    Other(String),
    /// The forks end in different verdicts.
    Unknown,
}

impl Verdict {
    /// `ACCEPT`, `DROP`, `REJECT`, the target's name, or `UNKNOWN`.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Verdict::Accept => "ACCEPT",
            Verdict::Drop => "DROP",
            Verdict::Reject(_) => "REJECT",
            Verdict::Other(n) => n,
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// One matching rule on the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub at: RuleRef,
    pub action: Action,
}

/// Where one walk ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    pub verdict: Verdict,
    /// `None` when a built-in chain's policy decided.
    pub decided_by: Option<RuleRef>,
}

impl Ending {
    #[must_use]
    pub fn policy(&self) -> bool {
        self.decided_by.is_none()
    }
}

/// What could not be decided at a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Undecided {
    /// The rule's match at this index (in `Rule::matches`).
    Match(usize, Why),
    /// The rule's target is unknown: does it stop the walk?
    Target,
}

/// A fork on the main path: the rule, what was undecided, and the ending
/// had it matched (the main path is the ending had it not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    pub at: RuleRef,
    pub undecided: Undecided,
    pub if_match: Ending,
    /// The walk past this fork met further undecided rules (taken as not
    /// matching in `if_match`).
    pub more: bool,
}

/// The full answer for one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The verdict when every fork agrees, else [`Verdict::Unknown`].
    pub verdict: Verdict,
    /// The main path's ending (undecided matches taken as failing).
    pub main: Ending,
    /// LOG and NFLOG prefixes in the order printed, on the main path.
    pub logs: Vec<String>,
    pub path: Vec<Step>,
    pub forks: Vec<Fork>,
}

/// What a matching rule's target does, with chains resolved to indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    Stop(Verdict),
    Return,
    Jump(usize),
    Goto(usize),
    Log(String),
    Continue,
    Mark(MarkSet),
    Connmark(Connmark),
    Unknown(String),
}

/// The marks a walk carries: the packet's, which MARK changes, and its
/// connection's, which CONNMARK changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Marks {
    pub mark: u32,
    /// `None`: not given (`-m connmark` is undecided).
    pub ct: Option<u32>,
    /// The packet has a connection (not INVALID or UNTRACKED): without one,
    /// CONNMARK changes nothing.
    pub tracked: bool,
}

impl Marks {
    pub(crate) fn of(p: &Packet) -> Self {
        let tracked = !matches!(p.state, crate::CtState::Invalid | crate::CtState::Untracked);
        Marks { mark: p.mark, ct: p.given.connmark, tracked }
    }

    /// After a CONNMARK target, as the kernel computes it; `None` when the
    /// packet's mark would come from a connection mark not given.
    fn connmark(self, c: Connmark) -> Option<Self> {
        if !self.tracked {
            return Some(self);
        }
        let mut m = self;
        match c {
            Connmark::Set(set) if set.mask == u32::MAX => m.ct = Some(set.xor),
            Connmark::Set(set) => m.ct = self.ct.map(|ct| set.apply(ct)),
            Connmark::Save { nfmask, ctmask } => {
                let from_packet = self.mark & nfmask;
                m.ct = match self.ct {
                    _ if ctmask == u32::MAX => Some(from_packet),
                    Some(ct) => Some((ct & !ctmask) ^ from_packet),
                    None => None,
                };
            }
            Connmark::Restore { nfmask, ctmask } => {
                let ct = if ctmask == 0 { 0 } else { self.ct? };
                m.mark = (self.mark & !nfmask) ^ (ct & ctmask);
            }
        }
        Some(m)
    }
}

/// Both evaluators answer these; the walk is the same.
pub(crate) trait Engine {
    type Prepared;
    fn ruleset(&self) -> &Ruleset;
    fn start(&self, p: &Self::Prepared) -> Option<usize>;
    /// The rules of `chain` that may match, in order.
    fn visit(&self, chain: usize, p: &Self::Prepared) -> Visit<'_>;
    /// Whether the rule matches a packet now carrying `marks` (MARK and
    /// CONNMARK targets change them on the way); for unknown, the first
    /// undecided match.
    fn check(&self, at: RuleRef, p: &Self::Prepared, marks: Marks) -> (Tri, usize);
    fn act(&self, at: RuleRef) -> Cow<'_, Act>;
    fn marks(p: &Self::Prepared) -> Marks;
    /// Steps after which a walk is taken to loop.
    fn step_limit(&self) -> usize;
}

/// The steps a walk through `rs` may take: more only in a goto loop.
pub(crate) fn step_limit(rs: &Ruleset) -> usize {
    4 * (rs.rule_count() + rs.chains.len()) + 16
}

/// The rules of a chain a walk looks at, in order: all of them, or the
/// candidates an index picked (merged as the walk goes, so no list is built).
pub(crate) enum Visit<'a> {
    All(std::ops::Range<usize>),
    Lists(Lists<'a>),
}

impl Iterator for Visit<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Visit::All(r) => r.next(),
            Visit::Lists(l) => l.next().map(|r| r as usize),
        }
    }
}

#[derive(Default)]
pub(crate) struct Recorder {
    pub full: bool,
    pub path: Vec<Step>,
    pub logs: Vec<String>,
    pub undecided: Vec<(RuleRef, Undecided)>,
}

/// One walk; the k-th undecided point takes `choices[k]` (default: no match).
pub(crate) fn walk<E: Engine>(
    e: &E,
    packet: &E::Prepared,
    choices: &[bool],
    rec: &mut Recorder,
) -> Ending {
    let rs = e.ruleset();
    let Some(base) = e.start(packet) else {
        return Ending { verdict: Verdict::Accept, decided_by: None };
    };
    let policy = || {
        let v = match rs.chains[base].policy() {
            Some(Policy::Drop) => Verdict::Drop,
            _ => Verdict::Accept,
        };
        Ending { verdict: v, decided_by: None }
    };
    let p = packet;
    let mut marks = E::marks(p);
    // Frames to return to: chain and the candidates it has left.
    let mut stack: Vec<(usize, Visit<'_>)> = Vec::new();
    let (mut chain, mut visit) = (base, e.visit(base, p));
    let mut undecided = 0usize;
    let mut steps = 0usize;
    let limit = e.step_limit();
    loop {
        steps += 1;
        if steps > limit {
            // Only a goto loop gets here; the kernel refuses to load one.
            return Ending { verdict: Verdict::Unknown, decided_by: None };
        }
        let Some(r) = visit.next() else {
            match stack.pop() {
                Some((c, v)) if !rs.chains[chain].is_builtin() => {
                    (chain, visit) = (c, v);
                }
                _ => return policy(),
            }
            continue;
        };
        let at = RuleRef { chain, rule: r };
        let (tri, which) = e.check(at, p, marks);
        let matched = match tri {
            Tri::True => true,
            Tri::False => false,
            Tri::Unknown(why) => {
                let k = undecided;
                undecided += 1;
                rec.undecided.push((at, Undecided::Match(which, why)));
                choices.get(k).copied().unwrap_or(false)
            }
        };
        if !matched {
            continue;
        }
        let rule = &rs.chains[chain].rules[r];
        if let Some(l) = &rule.log
            && rec.full
        {
            rec.logs.push(l.prefix.clone());
        }
        let step = |rec: &mut Recorder, action| {
            if rec.full {
                rec.path.push(Step { at, action });
            }
        };
        let mut act = e.act(at);
        if let Act::Connmark(c) = &*act {
            match marks.connmark(*c) {
                Some(m) => marks = m,
                None => act = Cow::Owned(Act::Unknown("CONNMARK".into())),
            }
        }
        match &*act {
            Act::Stop(v) => {
                step(rec, Action::Verdict);
                return Ending { verdict: v.clone(), decided_by: Some(at) };
            }
            Act::Return => {
                step(rec, Action::Return);
                match stack.pop() {
                    Some((c, v)) if !rs.chains[chain].is_builtin() => {
                        (chain, visit) = (c, v);
                    }
                    _ => return policy(),
                }
            }
            &Act::Jump(c) => {
                step(rec, Action::Jump);
                let v = e.visit(c, p);
                stack.push((chain, std::mem::replace(&mut visit, v)));
                chain = c;
            }
            &Act::Goto(c) => {
                step(rec, Action::Jump);
                (chain, visit) = (c, e.visit(c, p));
            }
            Act::Log(prefix) => {
                step(rec, Action::Log);
                if rec.full {
                    rec.logs.push(prefix.clone());
                }
            }
            // A CONNMARK's marks were changed above.
            Act::Continue | Act::Connmark(_) => step(rec, Action::Continue),
            Act::Mark(m) => {
                step(rec, Action::Continue);
                marks.mark = m.apply(marks.mark);
            }
            Act::Unknown(name) => {
                let k = undecided;
                undecided += 1;
                rec.undecided.push((at, Undecided::Target));
                if choices.get(k).copied().unwrap_or(false) {
                    step(rec, Action::Verdict);
                    return Ending { verdict: Verdict::Other(name.clone()), decided_by: Some(at) };
                }
                step(rec, Action::Continue);
            }
        }
    }
}

/// How many walks the forks and the search for disagreeing ones may each
/// make; a fork past the bound ends in [`Verdict::Unknown`].
const MAX_WALKS: usize = 256;

/// What taking an undecided point as matching leads to, when that needs no
/// walk: a verdict at once, or (a LOG or a plain continue) nothing that
/// changes the walk, so the ending without it (`None` inside).
fn settled<E: Engine>(e: &E, at: RuleRef, what: Undecided) -> Option<Option<Verdict>> {
    if what == Undecided::Target {
        return None;
    }
    match &*e.act(at) {
        Act::Stop(v) => Some(Some(v.clone())),
        Act::Log(_) | Act::Continue => Some(None),
        _ => None,
    }
}

/// The main walk, one fork per undecided point on it, and the verdict over
/// every combination of undecided points (bounded by `MAX_WALKS`). Points
/// whose outcome needs no walk (a verdict, a LOG) cost none, so thousands
/// of undecided rules that all accept give ACCEPT, in linear time.
pub(crate) fn explore<E: Engine>(e: &E, p: &E::Prepared) -> Trace {
    // Room for a typical path, so that recording it allocates once.
    let mut rec = Recorder { full: true, path: Vec::with_capacity(8), ..Recorder::default() };
    let main = walk(e, p, &[], &mut rec);
    let Recorder { path, logs, undecided, .. } = rec;
    if undecided.is_empty() {
        return Trace { verdict: main.verdict.clone(), main, logs, path, forks: vec![] };
    }
    let mut forks = Vec::with_capacity(undecided.len());
    let mut walks = 0;
    for (k, &(at, what)) in undecided.iter().enumerate() {
        let more = undecided.len() > k + 1;
        let (if_match, more) = match settled(e, at, what) {
            Some(Some(verdict)) => (Ending { verdict, decided_by: Some(at) }, false),
            Some(None) => (main.clone(), more),
            None if walks < MAX_WALKS => {
                walks += 1;
                let mut choices = vec![false; k];
                choices.push(true);
                let mut r = Recorder::default();
                let end = walk(e, p, &choices, &mut r);
                (end, r.undecided.len() > k + 1)
            }
            None => (Ending { verdict: Verdict::Unknown, decided_by: None }, more),
        };
        forks.push(Fork { at, undecided: what, if_match, more });
    }
    // Every leaf of the tree of choices, depth first.
    let mut todo: Vec<Vec<bool>> = vec![vec![]];
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut walks = 0;
    let mut complete = true;
    let add = |verdicts: &mut Vec<Verdict>, v: Verdict| {
        if !verdicts.contains(&v) {
            verdicts.push(v);
        }
    };
    while let Some(choices) = todo.pop() {
        walks += 1;
        if walks > MAX_WALKS {
            complete = false;
            break;
        }
        let mut r = Recorder::default();
        let end = walk(e, p, &choices, &mut r);
        add(&mut verdicts, end.verdict);
        for j in choices.len()..r.undecided.len() {
            let (at, what) = r.undecided[j];
            match settled(e, at, what) {
                Some(Some(v)) => add(&mut verdicts, v),
                // The same walk as this one: nothing new below it.
                Some(None) => {}
                None => {
                    let mut c = choices.clone();
                    c.resize(j, false);
                    c.push(true);
                    todo.push(c);
                }
            }
        }
    }
    let verdict = match (complete, verdicts.as_slice()) {
        (true, [one]) => one.clone(),
        _ => Verdict::Unknown,
    };
    Trace { verdict, main, logs, path, forks }
}

/// Resolves a target in a ruleset of `chains` chains.
pub(crate) fn act(target: &Target, chains: usize) -> Act {
    let chain = |c: ChainId, act: fn(usize) -> Act| {
        if c.0 < chains { act(c.0) } else { Act::Unknown(format!("chain number {}", c.0)) }
    };
    match target {
        Target::Accept => Act::Stop(Verdict::Accept),
        Target::Drop => Act::Stop(Verdict::Drop),
        Target::Reject(w) => Act::Stop(Verdict::Reject(*w)),
        Target::Return => Act::Return,
        Target::Jump(c) => chain(*c, Act::Jump),
        Target::Goto(c) => chain(*c, Act::Goto),
        Target::Log(l) => Act::Log(l.prefix.clone()),
        Target::Nflog(n) => Act::Log(n.prefix.clone().unwrap_or_default()),
        Target::None => Act::Continue,
        Target::Mark(m) => Act::Mark(*m),
        Target::Connmark(c) => Act::Connmark(*c),
        // A translation ends the nat chain's walk, as the kernel's NAT
        // targets do; `nat::translate` reads it off the deciding rule.
        Target::Snat(_) | Target::Dnat(_) | Target::Masquerade(_) | Target::Redirect(_) => {
            Act::Stop(Verdict::Accept)
        }
        Target::Other { name, args } => other(name, args),
    }
}

/// Targets kept verbatim: the ones whose effect on filtering is known.
fn other(name: &str, args: &[String]) -> Act {
    match name {
        "QUEUE" | "NFQUEUE" => Act::Stop(Verdict::Other(name.to_owned())),
        "LOG" => {
            let prefix = args
                .iter()
                .position(|a| a == "--log-prefix")
                .and_then(|i| args.get(i + 1))
                .cloned()
                .unwrap_or_default();
            Act::Log(prefix)
        }
        "NFLOG" | "ULOG" => {
            let prefix = args
                .iter()
                .position(|a| a == "--nflog-prefix" || a == "--ulog-prefix")
                .and_then(|i| args.get(i + 1))
                .cloned()
                .unwrap_or_default();
            Act::Log(prefix)
        }
        // Change the packet or conntrack, not the mark or the verdict.
        "CLASSIFY" | "TCPMSS" | "DSCP" | "TOS" | "TTL" | "HL" | "CHECKSUM" | "AUDIT" | "TRACE"
        | "SET" | "CT" | "NOTRACK" | "TEE" | "LED" | "IDLETIMER" | "SECMARK" | "CONNSECMARK"
        | "RATEEST" => Act::Continue,
        _ => Act::Unknown(name.to_owned()),
    }
}

/// The straightforward evaluator: reads the IR rule by rule.
struct Linear<'a> {
    rs: &'a Ruleset,
    /// The table whose base chain at the packet's hook the walk starts in.
    table: Table,
}

impl Engine for Linear<'_> {
    type Prepared = Packet;

    fn ruleset(&self) -> &Ruleset {
        self.rs
    }

    fn start(&self, p: &Packet) -> Option<usize> {
        self.rs.base(self.table, p.hook).map(|c| c.0)
    }

    fn visit(&self, chain: usize, _: &Packet) -> Visit<'_> {
        Visit::All(0..self.rs.chains[chain].rules.len())
    }

    fn check(&self, at: RuleRef, p: &Packet, marks: Marks) -> (Tri, usize) {
        let rule = at.rule(self.rs);
        let marked;
        let p = if marks.mark == p.mark && marks.ct == p.given.connmark {
            p
        } else {
            let mut q = Packet { mark: marks.mark, ..p.clone() };
            q.given.connmark = marks.ct;
            marked = q;
            &marked
        };
        Tri::all(rule.matches.iter().map(|m| crate::matches::eval(m, p)))
    }

    fn act(&self, at: RuleRef) -> Cow<'_, Act> {
        let rule = at.rule(self.rs);
        Cow::Owned(act(&rule.target, self.rs.chains.len()))
    }

    fn marks(p: &Packet) -> Marks {
        Marks::of(p)
    }

    fn step_limit(&self) -> usize {
        step_limit(self.rs)
    }
}

/// Traces a packet through a ruleset with the straightforward evaluator
/// (the reference the compiled one is checked against). Run
/// [`crate::check`] first: a jump to a missing chain is traced as an
/// unknown target.
#[must_use]
pub fn trace(ruleset: &Ruleset, packet: &Packet) -> Trace {
    match premarked(ruleset, packet) {
        Some(p) => explore(&Linear { rs: ruleset, table: Table::Filter }, &p),
        None => explore(&Linear { rs: ruleset, table: Table::Filter }, packet),
    }
}

/// An arriving packet as the filter table sees it, after the mangle
/// table's PREROUTING chain set its mark (the `mark` rules of a policy).
/// `None` when there is no such chain, or it jumps, or one of its MARK
/// rules is undecided for this packet: the mark stays as given.
fn premarked(rs: &Ruleset, packet: &Packet) -> Option<Packet> {
    use rampart_ir::Hook;
    if !matches!(packet.hook, Hook::Input | Hook::Forward) {
        return None;
    }
    let chain = &rs[rs.base(Table::Mangle, Hook::Prerouting)?];
    let mut p = Packet { hook: Hook::Prerouting, ..packet.clone() };
    for rule in &chain.rules {
        let Target::Mark(set) = rule.target else { return None };
        let all = rule
            .matches
            .iter()
            .map(|m| crate::matches::eval(m, &p))
            .fold(Tri::True, crate::matches::and);
        match all {
            Tri::True => p.mark = set.apply(p.mark),
            Tri::False => {}
            Tri::Unknown(_) => return None,
        }
    }
    Some(Packet { hook: packet.hook, ..p })
}

/// As [`trace`], through `table`'s base chain at the packet's hook.
#[must_use]
pub fn trace_table(ruleset: &Ruleset, table: Table, packet: &Packet) -> Trace {
    explore(&Linear { rs: ruleset, table }, packet)
}

/// As [`trace`], through the base chain `chain` (one of several of its
/// table at the packet's hook, as nftables tables have) and the chains it
/// reaches.
#[must_use]
pub fn trace_chain(ruleset: &Ruleset, chain: ChainId, packet: &Packet) -> Trace {
    let e = Entered { e: &Linear { rs: ruleset, table: Table::Filter }, chain: chain.0 };
    match premarked(ruleset, packet) {
        Some(p) => explore(&e, &p),
        None => explore(&e, packet),
    }
}

/// An engine whose walks start in a given chain rather than its table's
/// first base chain at the packet's hook.
pub(crate) struct Entered<'a, E> {
    pub e: &'a E,
    pub chain: usize,
}

impl<E: Engine> Engine for Entered<'_, E> {
    type Prepared = E::Prepared;

    fn ruleset(&self) -> &Ruleset {
        self.e.ruleset()
    }

    fn start(&self, _: &Self::Prepared) -> Option<usize> {
        Some(self.chain)
    }

    fn visit(&self, chain: usize, p: &Self::Prepared) -> Visit<'_> {
        self.e.visit(chain, p)
    }

    fn check(&self, at: RuleRef, p: &Self::Prepared, marks: Marks) -> (Tri, usize) {
        self.e.check(at, p, marks)
    }

    fn act(&self, at: RuleRef) -> Cow<'_, Act> {
        self.e.act(at)
    }

    fn marks(p: &Self::Prepared) -> Marks {
        E::marks(p)
    }

    fn step_limit(&self) -> usize {
        self.e.step_limit()
    }
}

/// A packet through several base chains of one hook in the kernel's order
/// (nftables tables at their priorities): an accept, by a rule or a
/// policy, goes on to the next; any other verdict, undecided included,
/// ends the walk. The traces of the chains passed, in order.
#[must_use]
pub fn trace_through(bases: &[&Ruleset], packet: &Packet) -> Vec<Trace> {
    let mut out = Vec::new();
    for rs in bases {
        let t = trace(rs, packet);
        let go_on = t.verdict == Verdict::Accept;
        out.push(t);
        if !go_on {
            break;
        }
    }
    out
}
