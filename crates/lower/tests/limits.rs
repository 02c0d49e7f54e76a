//! Rate and connection limits, and limited log lines, through lowering:
//! where the limit stands in the rule and where a limited log goes.

use rampart_ir::{Family, Ruleset, format_rule};
use rampart_lower::compile;

fn compiled(options: &str, rules: &str) -> rampart_lower::Compiled {
    let text = format!(
        "service ssh tcp 22\nservice web tcp 80, 443\nfirewall fw {{\n interface eth0 10.0.0.1/24\n \
         accept-established off\n {options}\n ruleset main {{\n{rules}\n }}\n ruleset other {{\n  \
         return log\n }}\n}}\n"
    );
    compile(&rampart_testing::firewall(&text))
}

/// The whole IPv4 output, a `CHAIN: rule` line per rule, comments left
/// out, for a snapshot.
fn text(rs: &Ruleset) -> String {
    rs.chains
        .iter()
        .flat_map(|c| {
            c.rules.iter().map(move |r| {
                let r = rampart_ir::Rule { comment: None, ..r.clone() };
                format!("{}: {}\n", c.name, format_rule(rs, &r, Family::V4))
            })
        })
        .collect()
}

#[test]
fn a_limit_comes_last_so_only_matching_packets_spend_tokens() {
    let c = compiled(
        "default none",
        "accept service ssh limit 3/minute per source\naccept service web connlimit 20\n\
         branch other",
    );
    insta::assert_snapshot!("limit_last", text(&c.v4));
}

#[test]
fn a_limited_log_goes_with_the_verdict_into_a_chain_the_catch_all_included() {
    // `log-limit none`: a line per packet, as without a limit (RULE_2); the
    // catch-all of every hook shares one chain (R0_log), under the
    // firewall's limit; a RETURN goes to its log chain (R4_log), so that it
    // still leaves the rule set
    let c = compiled(
        "log-limit 10/minute burst 20",
        "deny service ssh log log-limit 1/minute\naccept service web log log-limit none\nbranch other",
    );
    insta::assert_snapshot!("limited_log", text(&c.v4));
}
