use std::fmt::Write;

use rampart_diag::{Sources, printable};
use rampart_ir::{Family, Restricted};

use crate::{comment, describe_origin, iptables_restore};

/// A shell script that says what each policy rule does and then loads the
/// rules with one `iptables-restore` (and `ip6tables-restore`) call each,
/// fed from a here-document: nothing is flushed first, so there is never a
/// moment without a firewall. Arguments (such as `--test`) are passed on.
#[must_use]
pub fn shell_script(title: &str, v4: &Restricted, v6: &Restricted, sources: &Sources) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/sh");
    out.push_str(&comment(title));
    out.push_str(
        "#\n# Read it before you run it. The rules load in one atomic transaction per\n\
         # address family; nothing is flushed first. Run with --test to only check them.\n\
         set -eu\n\
         IPTABLES_RESTORE=${IPTABLES_RESTORE:-iptables-restore}\n\
         IP6TABLES_RESTORE=${IP6TABLES_RESTORE:-ip6tables-restore}\n\n",
    );
    // One line per policy rule, in rule order.
    let mut said = std::collections::BTreeMap::new();
    for c in v4.chains.iter().chain(&v6.chains) {
        for r in &c.rules {
            let Some(origin) = r.origin else { continue };
            said.entry(origin.rule).or_insert_with(|| {
                let what = describe_origin(Some(origin), sources);
                let note = r.comment.as_deref().and_then(|c| c.split_once(": ")).map(|(_, c)| c);
                match (origin.span, note) {
                    (Some(span), _) => format!("{what}: {}", squeeze(sources.slice(span))),
                    (None, Some(n)) => format!("{what}: {n}"),
                    (None, None) => what,
                }
            });
        }
    }
    for line in said.values() {
        let _ = writeln!(out, "echo {}", sh_quote(line));
    }
    let mut doc = |family: Family, rs: &Restricted, cmd: &str, tag: &str| {
        let _ = writeln!(out, "\n\"${cmd}\" -w \"$@\" <<'{tag}'");
        out.push_str(&iptables_restore(rs, family, title, Some(sources)));
        let _ = writeln!(out, "{tag}");
    };
    doc(Family::V4, v4, "IPTABLES_RESTORE", "RAMPART_IPV4");
    doc(Family::V6, v6, "IP6TABLES_RESTORE", "RAMPART_IPV6");
    out
}

/// The rule's text on one line with single spaces.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Single-quote for sh: `'` becomes `'\''`, control characters their
/// escapes (echo prints them as text; none reaches the terminal raw).
fn sh_quote(s: &str) -> String {
    format!("'{}'", printable(s).replace('\'', r"'\''"))
}
