//! How deep chains nest: nf_tables (behind nft and iptables-nft alike)
//! refuses a ruleset where a chain is reached through more than
//! [`MAX_JUMPS`] jumps or gotos from a base chain (`EMLINK`, "Too many
//! links").

use rampart_diag::Span;

use crate::{ChainId, Origin, Ruleset, Target};

/// Jumps from a base chain the kernel follows (`NFT_JUMP_STACK_SIZE` - 1).
pub const MAX_JUMPS: usize = 15;

/// The longest run of jumps and gotos from a base chain of `rs`, and the
/// policy rule on that run that makes the jump past [`MAX_JUMPS`] (the
/// last rule with a source span at or before it).
#[must_use]
pub fn deepest(rs: &Ruleset) -> (usize, Option<(u32, Span)>) {
    let mut height: Vec<Option<usize>> = vec![None; rs.chains.len()];
    let mut best = (0, None);
    for (i, c) in rs.chains.iter().enumerate() {
        if c.hook().is_none() {
            continue;
        }
        let h = height_of(rs, ChainId(i), &mut height, &mut vec![false; rs.chains.len()]);
        if h > best.0 {
            best = (h, blame(rs, ChainId(i), &height));
        }
    }
    best
}

fn targets(rs: &Ruleset, c: ChainId) -> impl Iterator<Item = (ChainId, Option<Origin>)> + '_ {
    rs[c].rules.iter().filter_map(|r| match r.target {
        Target::Jump(t) | Target::Goto(t) => Some((t, r.origin)),
        _ => None,
    })
}

/// The longest run of jumps starting in `c`. A loop (which no compiled
/// ruleset has, and the kernel refuses too) counts as unbounded.
fn height_of(rs: &Ruleset, c: ChainId, memo: &mut [Option<usize>], open: &mut [bool]) -> usize {
    if let Some(h) = memo[c.0] {
        return h;
    }
    if open[c.0] {
        return usize::MAX / 2;
    }
    open[c.0] = true;
    let callees: Vec<ChainId> = targets(rs, c).map(|(t, _)| t).collect();
    let h = callees.into_iter().map(|t| height_of(rs, t, memo, open) + 1).max().unwrap_or(0);
    open[c.0] = false;
    memo[c.0] = Some(h);
    h
}

/// Walks the longest run from `base` to the jump that goes one past the
/// limit, keeping the last policy rule seen.
fn blame(rs: &Ruleset, base: ChainId, height: &[Option<usize>]) -> Option<(u32, Span)> {
    let mut at = base;
    let mut last = None;
    for _ in 0..=MAX_JUMPS {
        let need = height[at.0]?.checked_sub(1)?;
        let (next, origin) = targets(rs, at).find(|(t, _)| height[t.0] == Some(need))?;
        if let Some(Origin { rule, span: Some(span) }) = origin.filter(|o| o.rule != 0) {
            last = Some((rule, span));
        }
        at = next;
    }
    last
}
