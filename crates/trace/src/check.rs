//! What the kernel would refuse to load, and a trace could not follow:
//! jumps to missing chains, jumps into built-in chains, and loops.

use rampart_ir::{Ruleset, Target};

/// A ruleset problem at a rule (chain name, index from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub chain: String,
    pub index: usize,
    pub message: String,
}

/// Finds problems; an empty list means every walk ends.
#[must_use]
pub fn check(rs: &Ruleset) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); rs.chains.len()];
    for (ci, c) in rs.chains.iter().enumerate() {
        for (ri, r) in c.rules.iter().enumerate() {
            let (Target::Jump(to) | Target::Goto(to)) = &r.target else { continue };
            let problem =
                |message: String| Problem { chain: c.name.clone(), index: ri + 1, message };
            match rs.get(*to) {
                None => problems
                    .push(problem(format!("jumps to chain number {}, which does not exist", to.0))),
                Some(t) if t.is_builtin() => {
                    problems.push(problem(format!("jumps to the built-in chain `{}`", t.name)));
                }
                Some(t) if t.table != c.table => {
                    let table = t.table.name();
                    problems.push(problem(format!("jumps to `{}` in table {table}", t.name)));
                }
                Some(_) => edges[ci].push(to.0),
            }
        }
    }
    // A loop through jumps or gotos: depth-first search with colours.
    let mut colour = vec![0u8; rs.chains.len()];
    fn visit(n: usize, edges: &[Vec<usize>], colour: &mut [u8]) -> Option<usize> {
        colour[n] = 1;
        for &m in &edges[n] {
            if colour[m] == 1 {
                return Some(m);
            }
            if colour[m] == 0
                && let Some(x) = visit(m, edges, colour)
            {
                return Some(x);
            }
        }
        colour[n] = 2;
        None
    }
    for n in 0..rs.chains.len() {
        if colour[n] == 0
            && let Some(m) = visit(n, &edges, &mut colour)
        {
            problems.push(Problem {
                chain: rs.chains[m].name.clone(),
                index: 0,
                message: format!("chain `{}` is part of a jump loop", rs.chains[m].name),
            });
            break;
        }
    }
    problems
}
