//! Rampart's part of a table (filter, nat for NAT rules, mangle for
//! marks), and the `iptables-restore --noflush` document that turns the
//! live part into another one. Rampart owns its
//! chains (the `rampart-<CHAIN>` chains holding its rules of each built-in
//! chain, and the policy's own chains), the jumps that hook them into the
//! built-in chains, and the built-in chains' policies; every other rule and
//! chain stays in place and in order.
//!
//! A missing hook is appended: the rules Docker, libvirt and fail2ban
//! insert at the top of a built-in chain decide first, as they do after a
//! reboot (Rampart loads before them, they insert above it). A hook that is
//! there stays where it is.

use std::collections::BTreeSet;
use std::fmt::Write;

use rampart_emit::hooked::{Owned, hook_rule, own_chain};
use rampart_ir::Table;

/// Chains declared in an iptables-save text, with their policy (`-` for
/// user chains).
fn declared(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?))
        })
        .collect()
}

fn is_builtin(policy: &str) -> bool {
    policy != "-"
}

/// Rampart's part of `saved` (iptables-save text); `ours` names its chains
/// (and, from applies made before Rampart had chains of its own, the
/// built-in chains it filled).
#[must_use]
pub fn part(saved: &str, ours: &BTreeSet<String>, table: Table) -> Owned {
    let mut o = Owned { table, ..Owned::default() };
    for (name, policy) in declared(saved) {
        let builtin = is_builtin(policy);
        if builtin && (ours.contains(name) || ours.contains(&own_chain(name))) {
            let policy = if policy == "ACCEPT" { "ACCEPT" } else { "DROP" };
            o.policies.push((name.to_owned(), policy));
        }
        if builtin && saved.lines().any(|l| l == hook_rule(name)) && ours.contains(&own_chain(name))
        {
            o.hooks.push(name.to_owned());
        }
        if ours.contains(name) {
            let prefix = format!("-A {name} ");
            let rules = saved.lines().filter(|l| l.starts_with(&prefix)).map(str::to_owned);
            o.chains.push((name.to_owned(), rules.collect()));
        }
    }
    o
}

/// The `--noflush` document that makes Rampart's part of `live` equal to
/// `target`: `ours` names every chain Rampart may have in `live`, so those
/// `target` lacks are removed (their hooks first).
#[must_use]
pub fn transition(target: &Owned, ours: &BTreeSet<String>, live: &str) -> String {
    let live_chains = declared(live);
    let builtin = |c: &str| {
        live_chains.iter().any(|(n, p)| *n == c && is_builtin(p))
            || target.policies.iter().any(|(n, _)| n == c)
    };
    let wanted: BTreeSet<&str> = target.chains.iter().map(|(c, _)| c.as_str()).collect();
    let mut out = format!("*{}\n", target.table.name());
    for (b, policy) in &target.policies {
        let _ = writeln!(out, ":{b} {policy} [0:0]");
    }
    // A chain line flushes a user chain; built-in ones need `-F`.
    let mut flushed = BTreeSet::new();
    for (c, _) in &target.chains {
        if builtin(c) {
            let _ = writeln!(out, "-F {c}");
            flushed.insert(c.as_str());
        } else {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
    }
    for c in ours.iter().filter(|c| builtin(c) && !wanted.contains(c.as_str())) {
        let _ = writeln!(out, "-F {c}");
        flushed.insert(c.as_str());
    }
    let gone: Vec<&String> = ours
        .iter()
        .filter(|c| !builtin(c) && !wanted.contains(c.as_str()))
        .filter(|c| live_chains.iter().any(|(n, _)| n == c))
        .collect();
    for (b, _) in live_chains.iter().filter(|(_, p)| is_builtin(p)) {
        let hook = hook_rule(b);
        let hooked = gone.iter().any(|c| **c == own_chain(b));
        if hooked && !flushed.contains(b) && live.lines().any(|l| l == hook) {
            let _ = writeln!(out, "-D {b} -j {}", own_chain(b));
        }
    }
    for c in &gone {
        let _ = writeln!(out, "-F {c}");
    }
    for c in &gone {
        let _ = writeln!(out, "-X {c}");
    }
    for (_, rules) in &target.chains {
        for r in rules {
            let _ = writeln!(out, "{r}");
        }
    }
    for b in &target.hooks {
        if !live.lines().any(|l| l == hook_rule(b)) || flushed.contains(b.as_str()) {
            let _ = writeln!(out, "{}", hook_rule(b));
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// Rampart's chains as a plain document (declarations and `-A` lines), for
/// comparing with the kernel: hooks and policies are checked apart.
#[must_use]
pub fn listing(target: &Owned) -> String {
    let mut out = format!("*{}\n", target.table.name());
    for (c, _) in &target.chains {
        let _ = writeln!(out, ":{c} - [0:0]");
    }
    for r in target.chains.iter().flat_map(|(_, r)| r) {
        let _ = writeln!(out, "{r}");
    }
    out.push_str("COMMIT\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Docker's and fail2ban's shapes around Rampart's.
    const LIVE: &str = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
        :DOCKER-USER - [0:0]\n:f2b-sshd - [0:0]\n:rampart-INPUT - [0:0]\n:old - [0:0]\n\
        -A INPUT -j f2b-sshd\n-A INPUT -j rampart-INPUT\n-A FORWARD -j DOCKER-USER\n\
        -A FORWARD -o docker0 -j ACCEPT\n-A rampart-INPUT -j old\n-A old -j DROP\n\
        -A DOCKER-USER -j RETURN\n-A f2b-sshd -j RETURN\nCOMMIT\n";

    #[test]
    fn replaces_rampart_chains_and_hooks_and_nothing_else() {
        let target = Owned {
            policies: vec![("INPUT".into(), "DROP"), ("FORWARD".into(), "DROP")],
            chains: vec![
                ("rampart-INPUT".into(), vec!["-A rampart-INPUT -j ACCEPT".into()]),
                ("rampart-FORWARD".into(), vec![]),
            ],
            hooks: vec!["INPUT".into(), "FORWARD".into()],
            table: Table::Filter,
        };
        let doc = transition(&target, &set(&["rampart-INPUT", "old"]), LIVE);
        assert_eq!(
            doc,
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:rampart-INPUT - [0:0]\n\
             :rampart-FORWARD - [0:0]\n-F old\n-X old\n-A rampart-INPUT -j ACCEPT\n\
             -A FORWARD -j rampart-FORWARD\nCOMMIT\n"
        );
        // Back to nothing: the hook goes before its chain.
        let part = part(LIVE, &set(&[]), Table::Filter);
        let doc = transition(&part, &set(&["rampart-INPUT", "old"]), LIVE);
        assert_eq!(
            doc,
            "*filter\n-D INPUT -j rampart-INPUT\n-F old\n-F rampart-INPUT\n-X old\n\
             -X rampart-INPUT\nCOMMIT\n"
        );
    }

    #[test]
    fn reads_rampart_part_of_a_saved_table() {
        let p = part(LIVE, &set(&["rampart-INPUT", "old"]), Table::Filter);
        assert_eq!(p.policies, vec![("INPUT".to_owned(), "DROP")]);
        assert_eq!(p.hooks, vec!["INPUT".to_owned()]);
        assert_eq!(
            p.chains,
            vec![
                ("rampart-INPUT".to_owned(), vec!["-A rampart-INPUT -j old".to_owned()]),
                ("old".to_owned(), vec!["-A old -j DROP".to_owned()]),
            ]
        );
    }
}
