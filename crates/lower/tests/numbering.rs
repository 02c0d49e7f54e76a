//! Rule numbers a migrating user can keep: disabled rules hold theirs, the
//! entry rule set has any name, and derived rules are numbered predictably.

use rampart_ir::{Family, format_rule};
use rampart_lower::compile;

fn compiled(text: &str) -> rampart_lower::Compiled {
    compile(&rampart_testing::firewall(text))
}

#[test]
fn a_disabled_rule_keeps_its_number_in_an_entry_set_of_any_name() {
    let c = compiled(
        "service ssh tcp 22\nservice http tcp 80\nfirewall fw {\n interface eth0 10.0.0.1/24\n \
         entry Policy\n accept-established off\n default none\n ruleset Policy {\n  \
         accept service ssh disabled\n  accept service http log prefix \"HTTP %N \"\n }\n}\n",
    );
    // rule 2 keeps its number: comment, chain and prefix
    insta::assert_snapshot!("disabled_keeps_number", text(&c.v4));
}

#[test]
fn bridge_guards_are_numbered_after_the_filter_and_nat_rules() {
    let c = compiled(
        "host g1 10.6.0.2\nfirewall fw {\n interface eth0 10.0.0.1/24\n forward on\n \
         bridge br0 {\n  guest vm1 g1\n }\n ruleset main {\n  accept number 10\n }\n nat {\n  \
         masquerade on eth0\n }\n}\n",
    );
    let numbers: Vec<u32> = c
        .rich
        .chains
        .iter()
        .flat_map(|ch| &ch.rules)
        .filter_map(|r| r.origin.map(|o| o.rule))
        .filter(|&n| n > 11)
        .collect();
    // rule 10, the nat rule 11, then the guest port's three guards
    assert_eq!(numbers.iter().min(), Some(&12), "{numbers:?}");
    assert_eq!(numbers.iter().max(), Some(&14), "{numbers:?}");
}

#[test]
fn antispoof_takes_a_chosen_list_of_sources() {
    let c = compiled(
        "network b1 192.168.0.0/16\nnetwork b2 172.16.0.0/12\ngroup bogons { b1, b2 }\nfirewall fw {\n interface eth0 10.0.0.1/24\n \
         interface eth1 10.1.0.1/24\n accept-established off\n default none\n ruleset main {\n  \
         antispoof eth0 from bogons\n  antispoof eth1 from not 10.1.0.0/24\n  antispoof eth0\n }\n}\n",
    );
    // without `from`, the derived list: the firewall's addresses, loopback,
    // eth1's network
    insta::assert_snapshot!("antispoof_from", text(&c.v4));
}

/// The whole IPv4 output, a `CHAIN: rule` line per rule, for a snapshot.
fn text(rs: &rampart_ir::Ruleset) -> String {
    rs.chains
        .iter()
        .flat_map(|c| {
            c.rules.iter().map(move |r| format!("{}: {}\n", c.name, format_rule(rs, r, Family::V4)))
        })
        .collect()
}
