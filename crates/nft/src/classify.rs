//! The classifier form: each chain's first-match list as a decision tree
//! the kernel walks with verdict-map lookups instead of rule by rule.
//!
//! At a node (a run of rules in order) one field is chosen: IPv4
//! destination, IPv4 source, or the TCP or UDP destination port. Its values
//! are cut into intervals where the set of rules that can match changes;
//! each interval sends the packet with `goto` to a chain holding, in the
//! original order and with all their matches, exactly the rules that can
//! match there. Packets outside every interval (and of another family or
//! protocol) go on in the node's own chain with the rules that can match
//! them. A rule reached is therefore still the same rule, at most once per
//! packet: verdicts, logs, counters and comments are the linear form's.
//!
//! `goto` keeps `return` and the end of a chain meaning what they meant:
//! back to the caller of the chain being split (or its policy). A `jump`
//! whose chain cannot match anything in an interval, and that does not log,
//! changes nothing there, so it is left out of it: that is what keeps a
//! policy of source-only branches from being copied into every destination.
//!
//! A part that is a leaf beginning with a run of boxes (`leaf.rs`, one
//! rule is enough) gives those boxes, cut to the path that leads to it, to
//! its node: one map there instead of a lookup and a map per part, and no
//! chain for the part when its remaining rules are what the node's rest
//! does for its packets. A node with nothing but boxes in front of its
//! rest gives them on to its own node in the same way, up to what one map
//! holds. Fewer maps is what loads faster: the kernel finds a set by name
//! walking the table's list of sets.
//!
//! A rule matching any value of the field goes into every interval, so a
//! field is only used when the copies stay within a bound; otherwise the
//! chain stays linear; so does the whole ruleset where the cuts would nest
//! deeper than the kernel follows. The IR this returns is what [`crate::emit`] writes;
//! its runs of dispatch rules become one verdict map each (`merge.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};

use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, Match, PortMatch, PortSet, Proto, Rule, Ruleset,
    Table, Target,
};

use rampart_ir::depth;
use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::{elems, leaf};

/// Chains this short stay as written: easier to read, and a lookup saves
/// little.
const MIN_CHAIN: usize = 16;
/// Within a cut chain, runs this short stay linear: a lookup would cost as
/// much.
const LEAF: usize = 4;
/// A level may hold this many rules per rule of its node (plus `SLACK`).
const LEVEL_GROWTH: (usize, usize) = (2, 1);
const SLACK: usize = 8;
/// The whole chain may grow to this many times its rules (plus `SLACK`).
const TOTAL_GROWTH: usize = 2;
/// Called chains longer than this are not looked into.
const CALLEE_MAX: usize = 64;
/// Nested jumps looked through.
const DEPTH_MAX: usize = 4;
/// Boxes a node takes from its parts' leaves: what one map holds.
const HOIST_MAX: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Src,
    Dst,
    Dport(Proto),
}

const FIELDS: [Field; 4] =
    [Field::Dst, Field::Src, Field::Dport(Proto::Tcp), Field::Dport(Proto::Udp)];

type Range = (u128, u128);

/// The values of one field a rule can match: `ranges` (`None`: all), and
/// whether it can match a packet the field does not classify (another
/// family or protocol, a fragment).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Space {
    ranges: Option<Vec<Range>>,
    default: bool,
}

impl Space {
    const ANY: Space = Space { ranges: None, default: true };
    const NONE: Space = Space { ranges: Some(Vec::new()), default: false };

    fn is_any(&self) -> bool {
        self.ranges.is_none()
    }

    fn overlaps(&self, keys: &[Range]) -> bool {
        match &self.ranges {
            None => true,
            Some(rs) => rs.iter().any(|r| keys.iter().any(|k| r.0 <= k.1 && k.0 <= r.1)),
        }
    }

    fn union(self, other: Space) -> Space {
        let ranges = match (self.ranges, other.ranges) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            _ => None,
        };
        Space { ranges, default: self.default || other.default }
    }

    fn intersect(self, other: &Space) -> Space {
        let ranges = match (self.ranges, &other.ranges) {
            (None, o) => o.clone(),
            (s, None) => s,
            (Some(a), Some(b)) => Some(
                a.iter()
                    .flat_map(|x| {
                        b.iter().filter_map(move |y| {
                            let (lo, hi) = (x.0.max(y.0), x.1.min(y.1));
                            (lo <= hi).then_some((lo, hi))
                        })
                    })
                    .collect(),
            ),
        };
        Space { ranges, default: self.default && other.default }
    }
}

/// The classifier form of a ruleset: every chain that benefits becomes a
/// tree of chains reached by `goto`; the rest are copied as they are. The
/// chains keep their ids; the new ones follow them.
#[must_use]
pub fn classify(rs: &Ruleset) -> Ruleset {
    let mut c = Classifier {
        rs,
        names: rs.chains.iter().map(|c| c.name.clone()).collect(),
        made: Vec::new(),
        budget: 0,
        next: FxHashMap::default(),
        by_rules: FxHashMap::default(),
    };
    let mut chains = Vec::with_capacity(rs.chains.len());
    for chain in &rs.chains {
        if !classifiable(chain) {
            chains.push(chain.clone());
            continue;
        }
        c.budget = TOTAL_GROWTH * chain.rules.len() + SLACK;
        let rules: Vec<&Rule> = chain.rules.iter().collect();
        let rules = c.node(chain, rules, &mut Vec::new());
        chains.push(Chain {
            name: chain.name.clone(),
            table: chain.table,
            kind: chain.kind,
            rules,
        });
    }
    chains.extend(c.made);
    let out = Ruleset { chains };
    // Each cut is a goto more: where that nests deeper than the kernel
    // follows, the linear form (as deep as the policy) is loaded instead.
    if depth::deepest(&out).0 > depth::MAX_JUMPS {
        return rs.clone();
    }
    out
}

/// Only filter chains of the targets below. Bridge-port rules go to
/// another table by their chain's hook, and rules nft cannot express become
/// notes: such chains stay as they are.
fn classifiable(chain: &Chain) -> bool {
    chain.table == Table::Filter
        && chain.rules.len() > MIN_CHAIN
        && chain.rules.iter().all(|r| {
            matches!(
                r.target,
                Target::Accept
                    | Target::Drop
                    | Target::Reject(_)
                    | Target::Return
                    | Target::Jump(_)
                    | Target::Goto(_)
                    | Target::Log(_)
                    | Target::Nflog(_)
                    | Target::None // A limit's state is its rule's: copies would each keep their own.
            ) && r.matches.iter().all(|m| {
                !matches!(
                    m,
                    Match::Physdev(_)
                        | Match::Unknown(_)
                        | Match::Module(_)
                        | Match::Limit(_)
                        | Match::ConnLimit(_)
                )
            })
        })
}

struct Classifier<'a> {
    rs: &'a Ruleset,
    names: BTreeSet<String>,
    /// The chains made so far; ids follow the ruleset's.
    made: Vec<Chain>,
    /// Rules the current chain may still add by copying.
    budget: usize,
    /// Per chain and kind of name, the number to try next.
    next: FxHashMap<String, usize>,
    /// The chains of leaf maps' boxes by their rules, shared by all leaves.
    by_rules: FxHashMap<u64, Vec<usize>>,
}

/// One field's cut of a node: the intervals with the rules (positions in
/// the node) for each, and the rules for everything else.
struct Cut {
    field: Field,
    /// Leading rules that match every value: they stay in front.
    prefix: usize,
    keys: Vec<(Range, usize)>,
    parts: Vec<Vec<usize>>,
    rest: Vec<usize>,
    total: usize,
    widest: usize,
}

/// A cut node before its rest is classified: positions are in its rules.
struct Node {
    /// Rules that match every value of the field, in front.
    prefix: Vec<Rule>,
    /// Its parts' boxes, by kind (one map each).
    boxes: BTreeMap<(u8, bool), Vec<Rule>>,
    dispatch: Vec<Rule>,
    rest: Vec<usize>,
}

/// The path to a node: each field cut on the way and its intervals.
type Context = Vec<(Field, Vec<Range>)>;

impl<'a> Classifier<'a> {
    /// The rules of a node of `chain`'s tree; new chains go to `made`.
    fn node(&mut self, chain: &Chain, rules: Vec<&'a Rule>, ctx: &mut Context) -> Vec<Rule> {
        match self.best_cut(&rules, ctx) {
            Some(cut) => self.split(chain, &rules, cut, ctx),
            None => {
                let table = chain.table;
                let rs = self.rs;
                leaf::leaf(&rules, &|id| ends(rs, id), &mut |rules| {
                    self.boxed(table, &chain.name, rules)
                })
            }
        }
    }

    /// The chain of a leaf map's box.
    fn boxed(&mut self, table: Table, chain: &str, rules: Vec<Rule>) -> ChainId {
        self.made_once(rules, |c| Chain::user_in(table, &c.fresh(chain, "k")))
    }

    /// The chain made with `rules`: equal chains (a leaf map's boxes, or
    /// the same subtree reached from several parts) are made once.
    fn made_once(&mut self, rules: Vec<Rule>, chain: impl FnOnce(&mut Self) -> Chain) -> ChainId {
        let key = FxBuildHasher.hash_one(&rules);
        let base = self.rs.chains.len();
        let same = self.by_rules.get(&key).into_iter().flatten();
        if let Some(&at) = same.into_iter().find(|&&at| self.made[at].rules == rules) {
            return ChainId(base + at);
        }
        let made = Chain { rules, ..chain(self) };
        self.by_rules.entry(key).or_default().push(self.made.len());
        self.made.push(made);
        ChainId(base + self.made.len() - 1)
    }

    /// A node cut by `cut`: its dispatch, a chain per part, then the rest.
    fn split(
        &mut self,
        chain: &Chain,
        rules: &[&'a Rule],
        cut: Cut,
        ctx: &mut Context,
    ) -> Vec<Rule> {
        let node = self.parts(chain, rules, cut, ctx);
        self.finish(chain, rules, node, ctx)
    }

    /// A node's rules: in front, its boxes, its dispatch, then its rest.
    fn finish(
        &mut self,
        chain: &Chain,
        rules: &[&'a Rule],
        node: Node,
        ctx: &mut Context,
    ) -> Vec<Rule> {
        let mut out = node.prefix;
        out.extend(node.boxes.into_values().flatten());
        out.extend(node.dispatch);
        let rest = node.rest.iter().map(|&i| rules[i]).collect();
        out.extend(self.node(chain, rest, ctx));
        out
    }

    /// The parts of a node cut by `cut`, each a chain of its own or, where
    /// its rules begin with boxes (a leaf's run, or the boxes of a node
    /// that has nothing else in front of its rest), boxes of this node.
    /// Such a part needs no chain when its remaining rules are what the
    /// rest does for its packets anyway.
    fn parts(&mut self, chain: &Chain, rules: &[&'a Rule], cut: Cut, ctx: &mut Context) -> Node {
        self.budget =
            self.budget.saturating_sub(cut.total.saturating_sub(rules.len() - cut.prefix));
        let prefix = rules[..cut.prefix].iter().map(|&r| r.clone()).collect();
        let body = &rules[cut.prefix..];
        let in_rest: BTreeSet<usize> = cut.rest.iter().copied().collect();
        let mut boxes: BTreeMap<(u8, bool), Vec<Rule>> = BTreeMap::new();
        let mut room = HOIST_MAX;
        let mut targets = Vec::with_capacity(cut.parts.len());
        for (p, part) in cut.parts.iter().enumerate() {
            let keys: Vec<Range> = cut.keys.iter().filter(|k| k.1 == p).map(|k| k.0).collect();
            ctx.push((cut.field, keys));
            let name = self.fresh(&chain.name, "c");
            let branch = Chain::user_in(chain.table, &name);
            let members: Vec<&Rule> = part.iter().map(|&i| body[i]).collect();
            // The part's rules as chain `branch` would hold them, or its
            // boxes and the positions in `part` of the rules after them.
            let (own, after): (Option<Vec<Rule>>, Vec<usize>) = match self.best_cut(&members, ctx) {
                Some(sub) => {
                    let node = self.parts(&branch, &members, sub, ctx);
                    let size: usize = node.boxes.values().map(Vec::len).sum();
                    if node.prefix.is_empty() && node.dispatch.is_empty() && size <= room {
                        room -= size;
                        for (kind, rules) in node.boxes {
                            boxes.entry(kind).or_default().extend(rules);
                        }
                        (None, node.rest.iter().map(|&i| part[i]).collect())
                    } else {
                        (Some(self.finish(&branch, &members, node, ctx)), Vec::new())
                    }
                }
                None => match self.hoist(&branch, &members, &mut room, ctx) {
                    Some((n, groups)) => {
                        for group in groups {
                            boxes.entry(group.kind).or_default().extend(group.rules);
                        }
                        (None, part[n..].to_vec())
                    }
                    None => {
                        let table = chain.table;
                        let own = leaf::leaf(&members, &|id| ends(self.rs, id), &mut |rules| {
                            self.boxed(table, &name, rules)
                        });
                        (Some(own), Vec::new())
                    }
                },
            };
            let own = match own {
                Some(own) => own,
                None => {
                    // For this part's packets the rest meets only the
                    // rest's rules of this part.
                    let rest_here: Vec<usize> =
                        part.iter().copied().filter(|i| in_rest.contains(i)).collect();
                    if after == rest_here {
                        targets.push(None);
                        ctx.pop();
                        continue;
                    }
                    self.node(&branch, after.iter().map(|&i| body[i]).collect(), ctx)
                }
            };
            targets.push(Some(self.made_once(own, |_| branch)));
            ctx.pop();
        }
        let dispatch = cut
            .keys
            .iter()
            .filter_map(|&(key, part)| targets[part].map(|t| dispatch(cut.field, key, t)))
            .collect();
        let rest = cut.rest.iter().map(|&i| i + cut.prefix).collect();
        Node { prefix, boxes, dispatch, rest }
    }

    /// The boxes of the run that starts a leaf's `rules`, cut to the path
    /// `ctx` that leads to it (its packets lie there), and how many rules
    /// they stand for; `None` when there is no run or its boxes do not fit
    /// in `room`.
    fn hoist(
        &mut self,
        branch: &Chain,
        rules: &[&'a Rule],
        room: &mut usize,
        ctx: &Context,
    ) -> Option<(usize, Vec<leaf::Group>)> {
        let rs = self.rs;
        let mut run = leaf::Run::at(rules, 1, &|id| ends(rs, id))?;
        for (field, keys) in ctx {
            match *field {
                Field::Src => run.narrow(0, keys, None),
                Field::Dst => run.narrow(1, keys, None),
                Field::Dport(proto) => run.narrow(2, keys, Some(proto)),
            }
        }
        *room = room.checked_sub(run.size())?;
        let (table, name) = (branch.table, branch.name.clone());
        let groups = run.rules(rules, &mut |rules| self.boxed(table, &name, rules));
        Some((run.len(), groups))
    }

    fn fresh(&mut self, chain: &str, kind: &str) -> String {
        // Numbered on from the last one: a chain may get thousands.
        let next = self.next.entry(format!("{chain}_{kind}")).or_insert(1);
        let name = (*next..)
            .map(|i| format!("{chain}_{kind}{i}"))
            .find(|n| !self.names.contains(n))
            .unwrap_or_default();
        *next = name[chain.len() + kind.len() + 1..].parse::<usize>().map_or(1, |n| n + 1);
        self.names.insert(name.clone());
        name
    }

    /// The field whose cut leaves the shortest walk, within the bounds.
    fn best_cut(&self, rules: &[&'a Rule], ctx: &Context) -> Option<Cut> {
        if rules.len() <= LEAF {
            return None;
        }
        FIELDS.iter().filter_map(|&f| self.cut(f, rules, ctx)).min_by_key(|c| (c.widest, c.total))
    }

    fn cut(&self, field: Field, rules: &[&'a Rule], ctx: &[(Field, Vec<Range>)]) -> Option<Cut> {
        // Many rules jump to the same chain: what it can reach is worked
        // out once per cut.
        let mut reach: FxHashMap<ChainId, Space> = FxHashMap::default();
        let spaces: Vec<Space> = rules
            .iter()
            .map(|r| {
                let own = own_space(r, field);
                match self.callee(r, 0) {
                    Some((id, callee)) => own.intersect(
                        reach.entry(id).or_insert_with(|| self.reach(callee, field, ctx, 0)),
                    ),
                    None => own,
                }
            })
            .collect();
        let prefix = spaces.iter().take_while(|s| s.is_any()).count();
        let spaces = &spaces[prefix..];
        let n = spaces.len();
        if n <= LEAF {
            return None;
        }
        let limit = (n * LEVEL_GROWTH.0 / LEVEL_GROWTH.1 + SLACK).min(n + self.budget);
        // Elementary intervals: between consecutive bounds of any rule.
        let mut bounds: Vec<u128> = spaces
            .iter()
            .filter_map(|s| s.ranges.as_ref())
            .flatten()
            .flat_map(|&(lo, hi)| [lo, hi + 1])
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        if bounds.len() < 2 {
            return None;
        }
        let mut cells: Vec<Vec<usize>> = vec![Vec::new(); bounds.len() - 1];
        let any: Vec<usize> = (0..n).filter(|&i| spaces[i].is_any()).collect();
        let mut total = any.len();
        for (i, s) in spaces.iter().enumerate() {
            for &(lo, hi) in s.ranges.iter().flatten() {
                let first = bounds.partition_point(|&b| b < lo);
                let last = bounds.partition_point(|&b| b <= hi);
                for cell in &mut cells[first..last] {
                    if cell.last() != Some(&i) {
                        cell.push(i);
                        total += 1;
                    }
                }
                // Elementary intervals that end up in one chain count once
                // below; this only bounds the work.
                if total > 8 * limit {
                    return None;
                }
            }
        }
        let rest: Vec<usize> = (0..n).filter(|&i| spaces[i].default).collect();
        let mut parts: Vec<Vec<usize>> = Vec::new();
        let mut index: FxHashMap<Vec<usize>, usize> = FxHashMap::default();
        let mut keys: Vec<(Range, usize)> = Vec::new();
        let mut total = rest.len();
        for (c, cell) in cells.into_iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let range = (bounds[c], bounds[c + 1] - 1);
            let members = merged(&cell, &any);
            let part = match index.get(&members) {
                Some(&p) => p,
                None => {
                    total += members.len();
                    if total > limit {
                        return None;
                    }
                    parts.push(members.clone());
                    index.insert(members, parts.len() - 1);
                    parts.len() - 1
                }
            };
            match keys.last_mut() {
                Some((r, p)) if *p == part && r.1 + 1 == range.0 => r.1 = range.1,
                _ => keys.push((range, part)),
            }
        }
        let widest = parts.iter().map(Vec::len).max().unwrap_or(0).max(rest.len());
        // A cut that leaves most rules on one side only adds a lookup.
        (widest * 4 <= n * 3).then_some(Cut { field, prefix, keys, parts, rest, total, widest })
    }

    /// The values of `field` for which `rule` can do anything. A jump
    /// that does not log does something only where a rule of its chain
    /// that fits the path so far can match.
    fn space(&self, rule: &Rule, field: Field, ctx: &[(Field, Vec<Range>)], depth: usize) -> Space {
        let own = own_space(rule, field);
        match self.callee(rule, depth) {
            Some((_, callee)) => own.intersect(&self.reach(callee, field, ctx, depth)),
            None => own,
        }
    }

    /// The chain `rule` jumps to, when it is looked into.
    fn callee(&self, rule: &Rule, depth: usize) -> Option<(ChainId, &'a Chain)> {
        let Target::Jump(id) = rule.target else { return None };
        let callee = self.rs.get(id)?;
        (rule.log.is_none() && depth < DEPTH_MAX && callee.rules.len() <= CALLEE_MAX)
            .then_some((id, callee))
    }

    /// The values of `field` for which a rule of `callee` that fits the
    /// path so far can match.
    fn reach(
        &self,
        callee: &Chain,
        field: Field,
        ctx: &[(Field, Vec<Range>)],
        depth: usize,
    ) -> Space {
        let mut reach = Space::NONE;
        for r in &callee.rules {
            let fits = ctx.iter().all(|(f, keys)| self.space(r, *f, &[], depth + 1).overlaps(keys));
            if fits {
                reach = reach.union(self.space(r, field, ctx, depth + 1));
            }
        }
        reach
    }
}

/// Whether chain `id` decides every packet it gets: it ends in a plain
/// accept, drop or reject, and neither returns nor leaves by `goto`
/// before (a rule's own `log-limit` chain).
fn ends(rs: &Ruleset, id: ChainId) -> bool {
    rs.get(id).is_some_and(|c| {
        c.rules.last().is_some_and(|r| {
            r.matches.is_empty()
                && matches!(r.target, Target::Accept | Target::Drop | Target::Reject(_))
        }) && c.rules.iter().all(|r| !matches!(r.target, Target::Return | Target::Goto(_)))
    })
}

/// Two ascending lists of positions as one.
fn merged(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j == b.len() || (i < a.len() && a[i] < b[j]) {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out
}

/// What a rule's own matches allow for `field`.
fn own_space(rule: &Rule, field: Field) -> Space {
    match field {
        Field::Src | Field::Dst => {
            let addr = rule.matches.iter().find_map(|m| match (field, m) {
                (Field::Src, Match::Src(a)) | (Field::Dst, Match::Dst(a)) if !a.neg => Some(a),
                _ => None,
            });
            let Some(a) = addr else { return Space::ANY };
            let v4: Vec<Range> = a
                .set
                .items
                .iter()
                .filter(|i| i.family() == rampart_ir::Family::V4)
                .map(|&i| elems::bounds(i))
                .collect();
            Space { default: v4.len() < a.set.items.len(), ranges: Some(v4) }
        }
        Field::Dport(proto) => {
            let named = rule.matches.iter().find_map(|m| match m {
                Match::Proto { neg: false, proto } => Some(*proto),
                _ => None,
            });
            match named {
                None => Space::ANY,
                Some(p) if p != proto => Space { ranges: Some(Vec::new()), default: true },
                Some(_) => {
                    let ports = rule.matches.iter().find_map(|m| match m {
                        Match::Dport(p) if !p.neg => Some(p),
                        _ => None,
                    });
                    match ports {
                        // `tcp dport` fails on a fragment, as the lookup does.
                        Some(p) => Space {
                            ranges: Some(
                                p.set
                                    .ranges
                                    .iter()
                                    .map(|&(a, b)| (u128::from(a.min(b)), u128::from(a.max(b))))
                                    .collect(),
                            ),
                            default: false,
                        },
                        None => Space::ANY,
                    }
                }
            }
        }
    }
}

/// `field in key: goto target`, one element of the dispatch map.
fn dispatch(field: Field, (lo, hi): Range, target: ChainId) -> Rule {
    let v4 = |x: u128| IpAddr::V4(Ipv4Addr::from_bits(u32::try_from(x).unwrap_or(u32::MAX)));
    let addr =
        || AddrMatch { neg: false, set: AddrSet::one(AddrItem::Range(v4(lo), v4(hi))).into() };
    let matches = match field {
        Field::Src => vec![Match::Src(addr())],
        Field::Dst => vec![Match::Dst(addr())],
        Field::Dport(proto) => {
            let port = |x: u128| u16::try_from(x).unwrap_or(u16::MAX);
            vec![
                Match::Proto { neg: false, proto },
                Match::Dport(PortMatch {
                    neg: false,
                    set: PortSet { name: None, ranges: vec![(port(lo), port(hi))] }.into(),
                }),
            ]
        }
    };
    Rule::new(matches, Target::Goto(target))
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
