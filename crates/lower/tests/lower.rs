//! Lowering passes on small policies: where rules land, how negation, logging,
//! branches and address families are lowered.

use rampart_ir::{Family, Hook, Ruleset, format_rule};
use rampart_lower::compile;

fn compiled(body: &str) -> rampart_lower::Compiled {
    let text = format!(
        "network lan 10.1.0.0/24\nnetwork dmz 10.2.0.0/24\nhost a 10.1.0.5\nhost b 10.2.0.7\nhost v6 2001:db8::7\n\
         group both {{ lan, dmz }}\nservice ssh tcp 22\nservice web tcp 80, 443\nservice dns tcp 53, udp 53\n\
         user alice uid 1000\n{body}"
    );
    compile(&rampart_testing::firewall(&text))
}

fn fw(options: &str, rules: &str) -> String {
    format!(
        "firewall fw {{\n interface eth0 10.0.0.1/24\n interface eth1 10.1.0.1/24\n interface lo loopback\n \
         default none\n accept-established off\n {options}\n ruleset main {{\n{rules}\n }}\n}}\n"
    )
}

/// `CHAIN: rule` lines of one family, comments stripped.
fn lines(rs: &Ruleset, family: Family) -> Vec<String> {
    rs.chains
        .iter()
        .flat_map(|c| {
            c.rules.iter().map(move |r| {
                let mut r = r.clone();
                r.comment = None;
                format!("{}: {}", c.name, format_rule(rs, &r, family))
            })
        })
        .collect()
}

/// The whole output of one family, a line per rule, for a snapshot.
fn text(rs: &Ruleset, family: Family) -> String {
    lines(rs, family).join("\n") + "\n"
}

#[test]
fn rules_land_in_input_output_or_forward_by_direction_and_addresses() {
    let c = compiled(&fw(
        "forward on",
        "accept from a to self service ssh\naccept from self to b\naccept from lan to b service web",
    ));
    // from a host that is not the firewall: never in OUTPUT
    insta::assert_snapshot!("by_direction", text(&c.v4, Family::V4));
    // without `forward on`, nothing but the policy in FORWARD
    let c = compiled(&fw("", "accept from lan to b service web"));
    assert!(c.v4.chain("FORWARD").unwrap().rules.is_empty());
}

#[test]
fn user_rules_go_to_output_only() {
    let c = compiled(&fw("forward on", "accept to b service ssh user alice"));
    let l = lines(&c.v4, Family::V4);
    assert_eq!(
        l,
        vec![
            "OUTPUT: -d 10.2.0.7/32 -p tcp -m tcp --dport 22 -m owner --uid-owner 1000 -m conntrack --ctstate NEW -j ACCEPT"
        ]
    );
}

#[test]
fn negated_group_uses_one_temporary_chain_without_repeated_lines() {
    let c = compiled(&fw("forward on", "deny from not both to b service dns"));
    // tcp and udp variants in several hooks all jump to the one chain
    insta::assert_snapshot!("negated_group", text(&c.v4, Family::V4));
    let l = lines(&c.v4, Family::V4);
    let mut sorted = l.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), l.len(), "a line is repeated: {l:#?}");
    // a single negated value stays a plain `!`
    let c = compiled(&fw("", "deny from not a to self"));
    assert_eq!(lines(&c.v4, Family::V4), vec!["INPUT: ! -s 10.1.0.5/32 -j DROP"]);
}

#[test]
fn logged_rules_jump_to_a_log_chain_with_the_prefix() {
    // log-only (continue): LOG in place, no chain
    let c = compiled(&fw("", "deny from a log\ncontinue from b log"));
    insta::assert_snapshot!("logged", text(&c.v4, Family::V4));
}

#[test]
fn branch_jumps_into_the_rule_set_chain() {
    let body =
        fw("", "branch sub from lan\n }\n ruleset sub {\n accept service ssh\n return\n deny log");
    let c = compiled(&body);
    insta::assert_snapshot!("branch", text(&c.v4, Family::V4));
    // entered from INPUT only, so one chain named after the rule set
    assert!(c.v4.chain("sub").is_some() && c.v4.chain("sub_in").is_none());
}

#[test]
fn families_split_and_icmp_follows_its_family() {
    let c = compiled(&fw("", "accept from a, v6 to self service ssh"));
    assert_eq!(
        lines(&c.v4, Family::V4),
        vec!["INPUT: -s 10.1.0.5/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"]
    );
    // IPv6 needs the ICMPv6 of RFC 4890 4.4.1 in and out: errors, neighbour
    // and router discovery, MLD (130-132, 143) and the rest
    insta::assert_snapshot!("families_v6", text(&c.v6, Family::V6));
    // No IPv6 anywhere: IPv6 is still filtered, by the default and the
    // neighbour discovery it needs, as the nft inet table does.
    let c = compiled(&fw("", "accept from a"));
    let (ndp, rest): (Vec<String>, Vec<String>) = lines(&c.v6, Family::V6)
        .into_iter()
        .partition(|l| l.contains("-p ipv6-icmp -m icmp6 --icmpv6-type "));
    assert_eq!(ndp.len(), 38, "{ndp:#?}");
    assert!(rest.is_empty(), "an IPv4 rule leaked into IPv6: {rest:#?}");
    assert!(
        c.v6.chains
            .iter()
            .filter(|ch| ch.is_builtin())
            .all(|ch| ch.policy() == Some(rampart_ir::Policy::Drop))
    );
}

#[test]
fn implicit_rules_come_first_and_last() {
    let c = compiled(
        "host admin 10.1.0.9\nfirewall fw {\n interface eth1 10.1.0.1/24 management\n backup-ssh from admin\n ruleset main {\n deny\n }\n}\n",
    );
    insta::assert_snapshot!("implicit", text(&c.v4, Family::V4));
}

#[test]
fn antispoof_drops_own_and_foreign_sources_on_the_interface() {
    let c = compiled(&fw("", "antispoof eth0"));
    // its own network (10.0.0.0/24) may arrive on eth0
    insta::assert_snapshot!("antispoof", text(&c.v4, Family::V4));
}

#[test]
fn bridge_guards_come_before_every_accept_and_log_their_port() {
    let c = compiled(
        "firewall fw {\n interface h 10.9.0.254/24\n forward on\n \
         bridge br {\n  guest p1 a\n  border up to host h\n }\n ruleset main {\n  accept\n }\n}\n",
    );
    insta::assert_snapshot!("bridge_guards", text(&c.v4, Family::V4));
    let rule2 = c.v4.chain("FORWARD").unwrap().rules[0].comment.as_deref().unwrap();
    assert_eq!(rule2, "R2: guest port p1: out only to its guest");
}

#[test]
fn return_with_a_negated_list_goes_to_a_chain_that_goes_on_with_the_rest() {
    let c = compiled(&fw(
        "forward on",
        "branch x from dmz to lan\n }\n ruleset x {\n  return to not a, lan service web\n  accept service ssh",
    ));
    assert_eq!(
        lines(&c.v4, Family::V4),
        vec![
            "FORWARD: -s 10.2.0.0/24 -d 10.1.0.0/24 -j x",
            // the other matches stay on the goto; everything else goes on in R2_rest
            "x: -p tcp -m multiport --dports 80,443 -g R2_not",
            "x: -g R2_rest",
            // a listed value goes on as if the rule had not matched ...
            "R2_not: -d 10.1.0.0/24 -g R2_rest",
            "R2_not: -d 10.1.0.5/32 -g R2_rest",
            // ... any other returns from x: nothing pushed a frame for R2_not
            "R2_not: -j RETURN",
            "R2_rest: -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
        ]
    );
    // nftables negates the set itself: the rich form keeps one return rule
    let x = c.rich.chain("x").unwrap();
    assert_eq!(x.rules.len(), 2);
    assert_eq!(x.rules[0].target, rampart_ir::Target::Return);
}

#[test]
fn several_returns_split_a_built_in_chain_again_and_the_catch_all_stays_last() {
    let c = compiled(&fw(
        "",
        "return from not a, b log\naccept to self service ssh\nreturn to self service not web, dns\naccept to self",
    ))
    .v4;
    // OUTPUT gets its own R1_not_2 and R1_rest_2; the rich form made
    // R3_not and R3_rest, so they come first; a logged return logs only
    // when it returns
    insta::assert_snapshot!("several_returns", text(&c, Family::V4));
    // with a catch-all, it follows the last rule of main, in the last split
    let c = compiled(&fw("default deny", "return from not a, b\naccept to self")).v4;
    let rest = c.chain("R1_rest").unwrap();
    let last = rest.rules.last().unwrap();
    assert_eq!(last.origin.unwrap().rule, 0, "{rest:#?}");
    assert_eq!(format_rule(&c, last, Family::V4).split(" -j ").last(), Some("RULE_0"));
}

#[test]
fn a_logged_goto_logs_in_place() {
    use rampart_ir::{Chain, Log, Policy, Rule, Target};
    // In a LOG chain, the end of the chain gone to would come back to the
    // LOG chain's caller and go on there.
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    let mut r = Rule::new(vec![], Target::Goto(rampart_ir::ChainId(1)));
    r.log = Some(Log { prefix: "RULE 1 -- GOTO ".into(), level: 6 }.into());
    input.rules.push(r);
    let rich = Ruleset { chains: vec![input, Chain::user("x")] };
    assert_eq!(
        lines(&rampart_lower::iptables(&rich, Family::V4), Family::V4),
        vec!["INPUT: -j LOG --log-prefix \"RULE 1 -- GOTO \" --log-level 6", "INPUT: -g x"]
    );
}

#[test]
fn nat_rules_go_to_the_nat_hooks_in_order() {
    let c = compiled(
        "host www 10.2.0.80\nservice http tcp 80\nfirewall fw {\n interface eth0 100.64.0.1/24\n \
         interface eth1 10.1.0.1/24\n interface eth2 10.2.0.1/24\n forward on\n \
         ruleset main {\n  accept to www service http\n }\n nat {\n  no-nat from lan to dmz\n  \
         masquerade on eth0 from lan\n  dnat to www on eth0 service http\n  \
         dnat to v6 on eth0 service ssh\n }\n}\n",
    );
    let nat: Vec<String> = lines(&c.v4, Family::V4)
        .into_iter()
        .filter(|l| l.starts_with("PREROUTING") || l.starts_with("POSTROUTING"))
        .collect();
    assert_eq!(
        nat,
        [
            "PREROUTING: -s 10.1.0.0/24 -d 10.2.0.0/24 -j ACCEPT",
            "PREROUTING: -i eth0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.2.0.80",
            "POSTROUTING: -s 10.1.0.0/24 -d 10.2.0.0/24 -j ACCEPT",
            "POSTROUTING: -s 10.1.0.0/24 -o eth0 -j MASQUERADE",
        ]
    );
    // the IPv6 forward goes to ip6tables only
    insta::assert_snapshot!("nat_v6", text(&c.v6, Family::V6));
    assert!(c.rich.chains.iter().filter(|ch| ch.table == rampart_ir::Table::Nat).count() == 2);
    let plain = compiled(&fw("", "  accept from lan"));
    assert!(plain.rich.tables() == [rampart_ir::Table::Filter], "no NAT, no nat table");
}

#[test]
fn self_in_networks_places_a_network_around_the_firewall_in_output_too() {
    let outputs = |opt: &str| {
        lines(&compiled(&fw(opt, "  accept from lan")).v4, Family::V4)
            .into_iter()
            .filter(|l| l.starts_with("OUTPUT:") && l.contains("-s 10.1.0.0/24"))
            .count()
    };
    assert_eq!(outputs(""), 0);
    assert_eq!(outputs("self-in-networks on"), 1);
}

#[test]
fn a_group_holding_the_firewall_gives_input_and_output_lines_too() {
    // By address (a host object on the firewall's own address) and by name.
    let c = compiled(&format!(
        "host gw-addr 10.0.0.1\ngroup mine {{ fw, b }}\n{}",
        fw("forward on", "accept from a to gw-addr service ssh\naccept from mine to a service web")
    ));
    insta::assert_snapshot!("group_with_firewall", text(&c.v4, Family::V4));
}

/// No packet crossing the firewall comes from or goes to one of its own
/// addresses but a spoofed one: a FORWARD line never accepts them, whether
/// the column names the firewall, a group holding it or its address. A deny
/// keeps them (it only drops), and so does a negated column (`not` would
/// take the spoofed packets in).
#[test]
fn forward_lines_never_accept_the_firewall_s_own_addresses() {
    let c = compiled(&format!(
        "host gw-addr 10.0.0.1\ngroup mine {{ fw, b }}\n{}",
        fw(
            "forward on",
            "accept from a to gw-addr service ssh\naccept from mine to a service web\n\
             accept from fw, b to a service dns\naccept from gw-addr to a service ssh\n\
             deny from mine to a service ssh\naccept from not mine to a service ssh"
        )
    ));
    let forward: Vec<String> = lines(&c.v4, Family::V4)
        .into_iter()
        .filter(|l| !l.starts_with("INPUT:") && !l.starts_with("OUTPUT:"))
        .collect();
    assert_eq!(
        forward,
        [
            "FORWARD: -s 10.2.0.7/32 -d 10.1.0.5/32 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT",
            "FORWARD: -s 10.2.0.7/32 -d 10.1.0.5/32 -p tcp -m tcp --dport 53 -m conntrack --ctstate NEW -j ACCEPT",
            "FORWARD: -s 10.2.0.7/32 -d 10.1.0.5/32 -p udp -m udp --dport 53 -m conntrack --ctstate NEW -j ACCEPT",
            "FORWARD: -s 10.0.0.1/32 -d 10.1.0.5/32 -p tcp -m tcp --dport 22 -j DROP",
            "FORWARD: -s 10.1.0.1/32 -d 10.1.0.5/32 -p tcp -m tcp --dport 22 -j DROP",
            "FORWARD: -s 10.2.0.7/32 -d 10.1.0.5/32 -p tcp -m tcp --dport 22 -j DROP",
            "FORWARD: -d 10.1.0.5/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j R6_not",
            "R6_not: -s 10.0.0.1/32 -j RETURN",
            "R6_not: -s 10.1.0.1/32 -j RETURN",
            "R6_not: -s 10.2.0.7/32 -j RETURN",
            "R6_not: -j ACCEPT",
        ]
    );
}

/// A logged `reject with tcp-reset` lands in a `RULE_N` chain: its REJECT
/// line still says `-p tcp`, which iptables-restore requires (the kernel
/// equivalence tests load the compiler's output unchanged).
#[test]
fn a_logged_tcp_reset_keeps_its_protocol_in_the_log_chain() {
    let c = compiled(&fw(
        "",
        "  reject with tcp-reset service web log in\n  reject with tcp-reset from a log in",
    ));
    insta::assert_snapshot!("tcp_reset_logged", text(&c.v4, Family::V4));
}

#[test]
fn bridge_port_rules_use_physdev_in_input_and_forward() {
    let c = compiled(
        "firewall vm {\n interface vmh2 10.1.0.1/24\n forward on\n default none\n accept-established off\n \
         bridge virbr6 {\n  guest vk63 a\n  guest vk64 b\n }\n ruleset main {\n  accept from a service ssh on vk63 in\n  \
         deny to b on vk64 out\n  deny on not vk63 in\n  accept on virbr6\n }\n}\n",
    );
    // The firewall's own packets have no port (W0420): nothing in OUTPUT.
    insta::assert_snapshot!("bridge_ports", text(&c.v4, Family::V4));
}

#[test]
fn plain_ports_match_as_ports_and_derive_no_guard() {
    let c = compiled(
        "firewall vm {\n interface vmh2 10.1.0.1/24\n forward on\n default none\n accept-established off\n \
         bridge br0 {\n  port eth1\n  port eth2\n }\n ruleset main {\n  accept from lan service ssh on eth1 in\n  \
         deny to b on eth2 out\n }\n}\n",
    );
    let all = lines(&c.v4, Family::V4);
    assert_eq!(
        all.iter().filter(|l| l.contains("physdev")).count(),
        3,
        "in INPUT and FORWARD for eth1, FORWARD for eth2, and no guard: {all:#?}"
    );
    assert!(all.iter().any(|l| l.starts_with("FORWARD:") && l.contains("--physdev-out eth2")));
}
