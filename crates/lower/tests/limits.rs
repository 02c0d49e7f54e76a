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

fn lines(rs: &Ruleset, chain: &str) -> Vec<String> {
    let c = rs.chain(chain).unwrap_or_else(|| panic!("no chain {chain}"));
    c.rules
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.comment = None;
            format_rule(rs, &r, Family::V4)
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
    let input = lines(&c.v4, "INPUT");
    assert_eq!(
        input[0],
        "-p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m hashlimit --hashlimit-upto 3/min \
         --hashlimit-burst 5 --hashlimit-mode srcip --hashlimit-name rampart_1 \
         --hashlimit-htable-expire 100000 -j ACCEPT"
    );
    assert_eq!(
        input[1],
        "-p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -m connlimit \
         --connlimit-upto 20 --connlimit-mask 0 --connlimit-saddr -j ACCEPT"
    );
}

#[test]
fn a_limited_log_goes_with_the_verdict_into_a_chain_the_catch_all_included() {
    let c = compiled(
        "log-limit 10/minute burst 20",
        "deny service ssh log log-limit 1/minute\naccept service web log log-limit none\nbranch other",
    );
    let input = lines(&c.v4, "INPUT");
    assert_eq!(input[0], "-p tcp -m tcp --dport 22 -j R1_log");
    assert_eq!(
        lines(&c.v4, "R1_log"),
        ["-m limit --limit 1/min -j LOG --log-prefix \"RULE 1 -- DENY \" --log-level 6", "-j DROP"]
    );
    // `none`: a line per packet, as without a limit
    assert!(input[1].ends_with("-j RULE_2"), "{input:#?}");
    // the catch-all of every hook shares one chain, under the firewall's limit
    assert_eq!(input.last().unwrap(), "-j R0_log");
    assert_eq!(lines(&c.v4, "OUTPUT").last().unwrap(), "-j R0_log");
    assert_eq!(
        lines(&c.v4, "R0_log")[0],
        "-m limit --limit 10/min --limit-burst 20 -j LOG --log-prefix \"RULE 0 -- DENY \" \
         --log-level 6"
    );
    // a RETURN goes to its log chain, so that it still leaves the rule set
    let other = lines(&c.v4, "other_in");
    assert_eq!(other, ["-g R4_log"]);
    assert_eq!(lines(&c.v4, "R4_log")[1], "-j RETURN");
}
