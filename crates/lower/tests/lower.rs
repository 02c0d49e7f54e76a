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

#[test]
fn rules_land_in_input_output_or_forward_by_direction_and_addresses() {
    let c = compiled(&fw(
        "forward on",
        "accept from a to self service ssh\naccept from self to b\naccept from lan to b service web",
    ));
    let l = lines(&c.v4, Family::V4);
    assert!(
        l.contains(
            &"INPUT: -s 10.1.0.5/32 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
                .to_owned()
        ),
        "{l:#?}"
    );
    assert!(
        l.contains(&"OUTPUT: -d 10.2.0.7/32 -m conntrack --ctstate NEW -j ACCEPT".to_owned()),
        "{l:#?}"
    );
    assert!(l.contains(&"FORWARD: -s 10.1.0.0/24 -d 10.2.0.7/32 -p tcp -m multiport --dports 80,443 -m conntrack --ctstate NEW -j ACCEPT".to_owned()), "{l:#?}");
    // from a host that is not the firewall: never in OUTPUT
    assert!(!l.iter().any(|x| x.starts_with("OUTPUT: -s 10.1.0.5")), "{l:#?}");
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
    let l = lines(&c.v4, Family::V4);
    let temp: Vec<_> = l.iter().filter(|x| x.starts_with("R1_not:")).collect();
    assert_eq!(
        temp,
        vec![
            "R1_not: -s 10.1.0.0/24 -j RETURN",
            "R1_not: -s 10.2.0.0/24 -j RETURN",
            "R1_not: -j DROP"
        ]
    );
    // tcp and udp variants in several hooks all jump to the one chain
    assert!(l.iter().filter(|x| x.ends_with("-j R1_not")).count() >= 2);
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
    let c = compiled(&fw("", "deny from a log\ncontinue from b log"));
    let l = lines(&c.v4, Family::V4);
    assert!(l.contains(&"INPUT: -s 10.1.0.5/32 -j RULE_1".to_owned()), "{l:#?}");
    assert!(
        l.contains(&"RULE_1: -j LOG --log-prefix \"RULE 1 -- DENY \" --log-level 6".to_owned())
    );
    assert!(l.contains(&"RULE_1: -j DROP".to_owned()));
    // log-only (continue): LOG in place, no chain
    assert!(
        l.contains(
            &"INPUT: -s 10.2.0.7/32 -j LOG --log-prefix \"RULE 2 -- CONTINUE \" --log-level 6"
                .to_owned()
        ),
        "{l:#?}"
    );
}

#[test]
fn branch_jumps_into_the_rule_set_chain() {
    let body =
        fw("", "branch sub from lan\n }\n ruleset sub {\n accept service ssh\n return\n deny log");
    let c = compiled(&body);
    let l = lines(&c.v4, Family::V4);
    assert!(l.contains(&"INPUT: -s 10.1.0.0/24 -j sub".to_owned()), "{l:#?}");
    assert!(
        l.contains(
            &"sub: -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT".to_owned()
        ),
        "{l:#?}"
    );
    assert!(l.contains(&"sub: -j RETURN".to_owned()));
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
    let v6 = c.v6;
    let (ndp, rest): (Vec<String>, Vec<String>) = lines(&v6, Family::V6)
        .into_iter()
        .partition(|l| l.contains("-p ipv6-icmp -m icmp6 --icmpv6-type "));
    assert_eq!(
        rest,
        vec![
            "INPUT: -s 2001:db8::7/128 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT"
        ]
    );
    // IPv6 needs the ICMPv6 of RFC 4890 4.4.1 in and out: errors, neighbour
    // and router discovery, MLD (130-132, 143) and the rest
    assert_eq!(ndp.len(), 38, "{ndp:#?}");
    for t in ["1", "2", "3", "4", "130", "131", "132", "133", "136", "143"] {
        let want = format!("INPUT: -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT");
        assert!(ndp.contains(&want), "{want} in {ndp:#?}");
    }
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
    let input = lines(&c.v4, Family::V4)
        .into_iter()
        .filter(|x| x.starts_with("INPUT:"))
        .collect::<Vec<_>>();
    assert_eq!(input[0], "INPUT: -s 10.1.0.9/32 -i eth1 -p tcp -m tcp --dport 22 -j ACCEPT");
    assert_eq!(input[1], "INPUT: -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
    assert_eq!(input.last().unwrap(), "INPUT: -j RULE_0");
}

#[test]
fn antispoof_drops_own_and_foreign_sources_on_the_interface() {
    let c = compiled(&fw("", "antispoof eth0"));
    let l = lines(&c.v4, Family::V4);
    for src in ["10.0.0.1/32", "10.1.0.1/32", "10.1.0.0/24", "127.0.0.0/8"] {
        assert!(l.contains(&format!("INPUT: -s {src} -i eth0 -j RULE_1")), "{src}: {l:#?}");
    }
    // its own network may arrive on eth0
    assert!(!l.iter().any(|x| x.contains("-s 10.0.0.0/24")));
}

#[test]
fn bridge_guards_come_before_every_accept_and_log_their_port() {
    let c = compiled(
        "firewall fw {\n interface h 10.9.0.254/24\n forward on\n \
         bridge br {\n  guest p1 a\n  border up to host h\n }\n ruleset main {\n  accept\n }\n}\n",
    );
    let fwd = lines(&c.v4, Family::V4)
        .into_iter()
        .filter(|l| l.starts_with("FORWARD:"))
        .collect::<Vec<_>>();
    let first_accept = fwd.iter().position(|l| l.ends_with("-j ACCEPT")).unwrap();
    let last_guard = fwd
        .iter()
        .rposition(|l| l.contains("-m physdev") || l.contains("-i h") || l.contains("-o h"))
        .unwrap();
    assert!(last_guard < first_accept, "{fwd:#?}");
    assert_eq!(
        fwd[0],
        "FORWARD: -m physdev --physdev-out p1 --physdev-is-bridged ! -d 10.1.0.5/32 -j RULE_2"
    );
    let rule2 = c.v4.chain("FORWARD").unwrap().rules[0].comment.clone().unwrap();
    assert_eq!(rule2, "R2: guest port p1: out only to its guest");
    let log = lines(&c.v4, Family::V4).into_iter().find(|l| l.starts_with("RULE_2:")).unwrap();
    assert!(log.contains("--log-prefix \"RULE 2 -- DENY \""), "{log}");
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
    // OUTPUT gets its own R1_not_2 and R1_rest_2
    let l: Vec<_> = lines(&c, Family::V4)
        .into_iter()
        .filter(|l| !l.starts_with("OUTPUT") && !l.contains("_2:"))
        .collect();
    assert_eq!(
        l,
        vec![
            "INPUT: -g R1_not",
            "INPUT: -g R1_rest",
            // the rich form made R3_notsvc and R3_rest, so they come first
            "R3_notsvc: -p tcp -m multiport --dports 53,80,443 -g R3_rest",
            "R3_notsvc: -p udp -m udp --dport 53 -g R3_rest",
            "R3_notsvc: -j RETURN",
            "R3_rest: -m conntrack --ctstate NEW -j ACCEPT",
            // a logged return logs only when it returns
            "R1_not: -s 10.1.0.5/32 -g R1_rest",
            "R1_not: -s 10.2.0.7/32 -g R1_rest",
            "R1_not: -j LOG --log-prefix \"RULE 1 -- RETURN \" --log-level 6",
            "R1_not: -j RETURN",
            "R1_rest: -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
            // the negated service was split in the rich form already
            "R1_rest: -g R3_notsvc",
            "R1_rest: -g R3_rest",
        ]
    );
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
    r.log = Some(Log { prefix: "RULE 1 -- GOTO ".into(), level: 6 });
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
    let v6 = lines(&c.v6, Family::V6);
    assert!(
        v6.contains(
            &"PREROUTING: -i eth0 -p tcp -m tcp --dport 22 -j DNAT --to-destination 2001:db8::7"
                .to_owned()
        ),
        "the IPv6 forward goes to ip6tables only: {v6:?}"
    );
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
    let l = lines(&c.v4, Family::V4);
    let chains = |needle: &str| -> Vec<String> {
        l.iter()
            .filter(|x| x.contains(needle))
            .map(|x| x.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(chains("-s 10.1.0.5/32 -d 10.0.0.1/32"), vec!["INPUT", "FORWARD"], "{l:#?}");
    let web = chains("--dports 80,443");
    assert!(web.contains(&"OUTPUT".to_owned()) && web.contains(&"FORWARD".to_owned()), "{l:#?}");
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
    let resets: Vec<String> =
        lines(&c.v4, Family::V4).into_iter().filter(|l| l.contains("tcp-reset")).collect();
    assert!(resets.len() >= 2, "{resets:?}");
    for l in &resets {
        assert!(l.contains("-p tcp"), "{l}");
    }
}

#[test]
fn bridge_port_rules_use_physdev_in_input_and_forward() {
    let c = compiled(
        "firewall vm {\n interface vmh2 10.1.0.1/24\n forward on\n default none\n accept-established off\n \
         bridge virbr6 {\n  guest vk63 a\n  guest vk64 b\n }\n ruleset main {\n  accept from a service ssh on vk63 in\n  \
         deny to b on vk64 out\n  deny on not vk63 in\n  accept on virbr6\n }\n}\n",
    );
    let l: Vec<String> =
        lines(&c.v4, Family::V4).into_iter().filter(|l| !l.contains("RULE_")).collect();
    let want = [
        "INPUT: -s 10.1.0.5/32 -m physdev --physdev-in vk63 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
        "FORWARD: -s 10.1.0.5/32 -m physdev --physdev-in vk63 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT",
        "FORWARD: -d 10.2.0.7/32 -m physdev --physdev-out vk64 --physdev-is-bridged -j DROP",
        "INPUT: -m physdev ! --physdev-in vk63 -j DROP",
        "FORWARD: -m physdev ! --physdev-in vk63 -j DROP",
        "INPUT: -i virbr6 -m conntrack --ctstate NEW -j ACCEPT",
        "FORWARD: -o virbr6 -m conntrack --ctstate NEW -j ACCEPT",
        "OUTPUT: -o virbr6 -m conntrack --ctstate NEW -j ACCEPT",
    ];
    for w in want {
        assert!(l.contains(&w.to_owned()), "{w}\n{l:#?}");
    }
    // The firewall's own packets have no port (W0420): nothing in OUTPUT.
    assert!(!l.iter().any(|x| x.starts_with("OUTPUT:") && x.contains("physdev")), "{l:#?}");
}
