//! The `nat` section: what it builds and what it refuses or warns about.

use rampart_diag::Sources;
use rampart_ir::NatTo;
use rampart_model::{NatAction, load_str};

const HEAD: &str = "host web 10.2.0.10\nnetwork lan 10.1.0.0/24\nhost far 192.0.2.9\n\
                    host web6 2001:db8::80\nservice http tcp 80\nservice dns udp 53\n\
                    firewall gw {\n interface eth0 100.64.0.1/24\n interface eth1 10.1.0.1/24\n \
                    interface eth2 10.2.0.1/24\n interface lo loopback\n forward on\n";

fn load(nat: &str, rules: &str) -> (Vec<(&'static str, String)>, Option<rampart_model::Model>) {
    let text = format!("{HEAD} ruleset main {{\n{rules} }}\n nat {{\n{nat} }}\n}}\n");
    let mut sources = Sources::new();
    let loaded = load_str("nat.rp", &text, &mut sources);
    let codes = loaded
        .diagnostics
        .iter()
        .map(|d| (d.code, d.span().map(|s| sources.location(s)).unwrap_or_default()))
        .collect();
    (codes, loaded.model)
}

#[test]
fn builds_every_kind_of_nat_rule_numbered_after_the_filter_rules() {
    let (codes, model) = load(
        "  masquerade on eth0 from lan\n  snat to 100.64.0.5-100.64.0.9:1024-65535 on eth0 service dns\n  \
         dnat to web:8080 on eth0 service http\n  redirect to 3128 from lan service http\n  \
         no-nat from lan to web\n",
        "  accept to web service http\n  accept from lan\n",
    );
    assert!(codes.is_empty(), "{codes:?}");
    let fw = &model.unwrap().firewalls[0];
    let numbers: Vec<u32> = fw.nat.iter().map(|n| n.number).collect();
    assert_eq!(numbers, [3, 4, 5, 6, 7]);
    assert_eq!(fw.nat[0].action, NatAction::Masquerade);
    let range = ("100.64.0.5".parse().unwrap(), "100.64.0.9".parse().unwrap());
    assert_eq!(
        fw.nat[1].action,
        NatAction::Snat(NatTo { addrs: Some(range), ports: Some((1024, 65535)) })
    );
    let web = ("10.2.0.10".parse().unwrap(), "10.2.0.10".parse().unwrap());
    assert_eq!(
        fw.nat[2].action,
        NatAction::Dnat(NatTo { addrs: Some(web), ports: Some((8080, 8080)) })
    );
    assert_eq!(fw.nat[3].action, NatAction::Redirect((3128, 3128)));
    assert_eq!(fw.nat[4].action, NatAction::NoNat);
}

#[test]
fn refuses_what_cannot_be_translated() {
    let cases = [
        ("  masquerade\n", "E0292"),
        ("  masquerade on lo\n", "E0293"),
        ("  snat to 100.64.0.1 on lo\n", "E0293"),
        ("  dnat to web6 from lan on eth0\n", "E0294"),
        ("  dnat to web:8080 on eth0\n", "E0295"),
        ("  snat to 100.64.0.5:2000-3000 on eth0\n", "E0295"),
        ("  dnat to web:8080 on eth0 service dns, ping\n", "E0295"),
        ("  dnat to lan on eth0\n", "E0291"),
        ("  dnat to 10.2.0.10-10.2.0.12 on eth0\n", "E0291"),
        ("  redirect to web service http\n", "E0291"),
        ("  accept from lan\n", "E0290"),
        ("  masquerade on eth0 log\n", "E0222"),
        ("  masquerade on eth9\n", "E0210"),
    ];
    for (nat, code) in cases {
        let (codes, _) = load(nat, "  accept to web\n");
        assert_eq!(codes.first().map(|c| c.0), Some(code), "{nat}: {codes:?}");
    }
}

#[test]
fn warns_about_a_port_forward_nothing_lets_through() {
    let (codes, _) =
        load("  dnat to web:8080 on eth0 service http\n", "  accept to web service http\n");
    assert_eq!(codes, [("W0311", "nat.rp:17:11".to_owned())], "port 8080 is not accepted");
    let (codes, _) = load("  dnat to web on eth0 service http\n", "  accept to web service http\n");
    assert!(codes.is_empty(), "{codes:?}");
    let (codes, _) = load("  dnat to far on eth0 service http\n", "  accept service http\n");
    assert_eq!(codes.iter().map(|c| c.0).collect::<Vec<_>>(), ["W0310"]);
}
