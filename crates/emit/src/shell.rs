use std::fmt::Write;

use rampart_diag::{Sources, printable};
use rampart_ir::{Family, Restricted};

use crate::{comment, describe_origin, hooked};

/// A shell script that says what each policy rule does and then loads
/// Rampart's chains ([`crate::hooked`]) with one `iptables-restore
/// --noflush` (and `ip6tables-restore`) call each, fed from a here-document,
/// and hooks them into the built-in chains unless they are hooked already:
/// other software's chains and rules stay, and there is never a moment
/// without a firewall. Arguments (such as `--test`) are passed on; with
/// `--test` nothing is hooked.
#[must_use]
pub fn shell_script(title: &str, v4: &Restricted, v6: &Restricted, sources: &Sources) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/bin/sh");
    out.push_str(&comment(title));
    out.push_str(
        "#\n# Read it before you run it. Rampart's chains load in one atomic transaction\n\
         # per address family and are hooked into INPUT, FORWARD and OUTPUT (a jump\n\
         # appended once: rules other software put there decide first); the policies\n\
         # of those chains are set, and every other chain and rule is left as it is.\n\
         # Chains an earlier run made that this policy no longer has stay: `rampart\n\
         # apply` removes those.\n\
         # Run with --test to only check the rules.\n\
         set -eu\n\
         IPTABLES=${IPTABLES:-iptables}\n\
         IP6TABLES=${IP6TABLES:-ip6tables}\n\
         IPTABLES_RESTORE=${IPTABLES_RESTORE:-iptables-restore}\n\
         IP6TABLES_RESTORE=${IP6TABLES_RESTORE:-ip6tables-restore}\n\n\
         # hook TOOL TABLE CHAIN: jump from CHAIN to rampart-CHAIN, once.\n\
         hook() {\n\
         \t\"$1\" -w -t \"$2\" -C \"$3\" -j \"rampart-$3\" 2>/dev/null \\\n\
         \t\t|| \"$1\" -w -t \"$2\" -A \"$3\" -j \"rampart-$3\"\n\
         }\n\n",
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
    let mut hooks = String::new();
    let mut doc = |family: Family, rs: &Restricted, tool: &str, tag: &str| {
        let _ = writeln!(out, "\n\"${tool}_RESTORE\" -w --noflush \"$@\" <<'{tag}'");
        out.push_str(&comment(title));
        for table in rs.tables() {
            let owned = hooked::owned(rs, family, table);
            let _ = writeln!(out, "*{}", table.name());
            for (chain, policy) in &owned.policies {
                let _ = writeln!(out, ":{chain} {policy} [0:0]");
            }
            for (chain, _) in &owned.chains {
                let _ = writeln!(out, ":{chain} - [0:0]");
            }
            for rule in owned.chains.iter().flat_map(|(_, rules)| rules) {
                let _ = writeln!(out, "{rule}");
            }
            out.push_str("COMMIT\n");
            for chain in &owned.hooks {
                let _ = writeln!(hooks, "hook \"${tool}\" {} {chain}", table.name());
            }
        }
        let _ = writeln!(out, "{tag}");
    };
    doc(Family::V4, v4, "IPTABLES", "RAMPART_IPV4");
    doc(Family::V6, v6, "IP6TABLES", "RAMPART_IPV6");
    let _ = writeln!(out, "\ncase \" $* \" in *\" --test \"*) exit 0 ;; esac\n{hooks}");
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
