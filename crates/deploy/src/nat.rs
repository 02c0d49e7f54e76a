//! Rampart's part of the kernel's nat table. Its NAT rules live in its own
//! chains (`RAMPART_PRE`, `RAMPART_POST`), entered by one jump each from
//! the built-in chains; every other rule and chain of the table — Docker's
//! `DOCKER` chain, libvirt's masquerade — stays as it is. The documents
//! here are for `iptables-restore --noflush`.

use std::collections::BTreeSet;
use std::fmt::Write;

use rampart_ir::{Family, Restricted, Table, format_rule};

/// Rampart's user chains in the nat table.
#[must_use]
pub fn ours(rs: &Restricted) -> Vec<String> {
    rs.table(Table::Nat).filter(|c| !c.is_builtin()).map(|c| c.name.clone()).collect()
}

/// `-A CHAIN ...` lines of an iptables-save text with their chain.
fn appends(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|l| {
        let rest = l.strip_prefix("-A ")?;
        Some((rest.split_whitespace().next()?, l))
    })
}

/// Whether a rule line jumps (or goes) to one of `chains`.
fn jumps_to(line: &str, chains: &BTreeSet<String>) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|w| matches!(w[0], "-j" | "-g") && chains.contains(w[1]))
}

fn declared(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix(':'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// The nat part of an apply: Rampart's chains replaced, the jumps to them
/// added where `live` (the table now) lacks them, and chains of the last
/// apply (`old`) that are gone removed with the jumps to them. Empty when
/// neither the ruleset nor the last apply has NAT.
#[must_use]
pub fn apply_doc(rs: &Restricted, family: Family, old: &[String], live: &str) -> String {
    let new = ours(rs);
    let has = declared(live);
    let stale: BTreeSet<String> =
        old.iter().filter(|c| !new.contains(c) && has.contains(*c)).cloned().collect();
    if new.is_empty() && stale.is_empty() {
        return String::new();
    }
    let mut out = String::from("*nat\n");
    for c in &new {
        let _ = writeln!(out, ":{c} - [0:0]");
    }
    for (chain, line) in appends(live) {
        if Table::Nat.builtin(chain).is_some() && jumps_to(line, &stale) {
            let _ = writeln!(out, "-D{}", &line[2..]);
        }
    }
    for c in &stale {
        let _ = writeln!(out, "-F {c}\n-X {c}");
    }
    let live_lines: BTreeSet<&str> = live.lines().collect();
    for c in rs.table(Table::Nat) {
        for r in &c.rules {
            let line = format!("-A {} {}", c.name, format_rule(rs, r, family));
            if !c.is_builtin() || !live_lines.contains(line.as_str()) {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out.push_str("COMMIT\n");
    out
}

/// The nat part of a rollback: Rampart's chains (`ours`) and the jumps to
/// them put back as `saved` had them, removed where `saved` had none.
#[must_use]
pub fn restore_doc(saved: &str, ours: &BTreeSet<String>, live: &str) -> String {
    let (had, has) = (declared(saved), declared(live));
    let jumps = |text: &str| -> BTreeSet<String> {
        appends(text)
            .filter(|(c, l)| Table::Nat.builtin(c).is_some() && jumps_to(l, ours))
            .map(|(_, l)| l.to_owned())
            .collect()
    };
    let (then, now) = (jumps(saved), jumps(live));
    let mut out = String::from("*nat\n");
    for c in ours.iter().filter(|c| had.contains(*c)) {
        let _ = writeln!(out, ":{c} - [0:0]");
    }
    for l in now.difference(&then) {
        let _ = writeln!(out, "-D{}", &l[2..]);
    }
    for c in ours.iter().filter(|c| !had.contains(*c) && has.contains(*c)) {
        let _ = writeln!(out, "-F {c}\n-X {c}");
    }
    for (chain, l) in appends(saved) {
        if ours.contains(chain) {
            let _ = writeln!(out, "{l}");
        }
    }
    for l in then.difference(&now) {
        let _ = writeln!(out, "{l}");
    }
    out.push_str("COMMIT\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER: &str = "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n\
                          :DOCKER - [0:0]\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n\
                          -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n";

    #[test]
    fn a_rollback_removes_our_chains_and_jumps_and_keeps_dockers() {
        let live = DOCKER.replace(
            "COMMIT",
            ":RAMPART_POST - [0:0]\n-A POSTROUTING -j RAMPART_POST\n\
             -A RAMPART_POST -o eth0 -j MASQUERADE\nCOMMIT",
        );
        let ours: BTreeSet<String> = ["RAMPART_POST".to_owned()].into();
        assert_eq!(
            restore_doc(DOCKER, &ours, &live),
            "*nat\n-D POSTROUTING -j RAMPART_POST\n-F RAMPART_POST\n-X RAMPART_POST\nCOMMIT\n"
        );
        assert_eq!(
            restore_doc(&live, &ours, DOCKER).lines().filter(|l| l.contains("DOCKER")).count(),
            0
        );
    }
}
