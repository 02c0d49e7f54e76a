//! Limits in the nft document: per-source limits fill dynamic sets, and
//! rules with a limit are never merged (each keeps its own bucket).

fn nft(rules: &str) -> String {
    let text = format!(
        "service ssh tcp 22\nservice web tcp 80, 443\nfirewall fw {{\n interface eth0 10.0.0.1/24\n \
         forward on\n default none\n ruleset main {{\n{rules}\n }}\n}}\n"
    );
    rampart_nft::emit(&rampart_lower::compile(&rampart_testing::firewall(&text)).rich)
}

#[test]
fn per_source_limits_fill_dynamic_sets_and_limited_rules_stay_apart() {
    let mut rules: Vec<String> =
        (1..=6).map(|i| format!("accept to 10.0.0.1{i} service ssh limit 1/second")).collect();
    rules.push("accept service web limit 3/minute per source".into());
    rules.push("accept service web connlimit 2 per source".into());
    let nft = nft(&rules.join("\n"));
    let forward = &nft[nft.find("chain forward").unwrap()..];
    let forward = &forward[..forward.find('}').unwrap()];
    assert_eq!(
        forward.matches("limit rate 1/second burst 5 packets counter accept").count(),
        6,
        "{nft}"
    );
    assert!(!nft.contains("forward_set") && !nft.contains("forward_map"), "{nft}");
    assert!(
        nft.contains(
            "add @rampart_7_v4 { ip saddr limit rate 3/minute burst 5 packets } counter accept"
        ),
        "{nft}"
    );
    assert!(nft.contains("add @rampart_8_v6 { ip6 saddr ct count 2 } counter accept"), "{nft}");
    assert!(
        nft.contains(
            "set rampart_7_v6 {\n\t\ttype ipv6_addr\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\t\
             timeout 100s\n\t}"
        ),
        "{nft}"
    );
    assert!(nft.contains(
        "set rampart_8_v4 {\n\t\ttype ipv4_addr\n\t\tsize 65535\n\t\tflags dynamic\n\t}"
    ));
}
