//! The plan as a Firewall Builder object database (`.fwb`, XML).
//!
//! The shape follows fwbuilder 5.3's `templates.xml`: a `Standard` library
//! holding the three "Any" objects every rule refers to (`sysid0` address,
//! `sysid1` service, `sysid2` time), and a user library with the objects
//! and firewall `fw` (`platform="iptables"`, `version="1.4.20"` so the
//! output uses syntax iptables 1.8 accepts).

use std::fmt::Write;

use crate::{Addr, Kind, Plan, Rule, Service};

/// Compiler options of the generated firewall.
#[derive(Clone, Copy, Debug)]
pub struct FwbOptions {
    /// `check_shading`: the shadowing check (on in the shipped templates).
    pub check_shading: bool,
    /// `use_iptables_restore`: load with one `iptables-restore` instead of
    /// one `iptables` call per rule.
    pub iptables_restore: bool,
}

const FW_ID: &str = "id_fw";

impl Plan {
    /// The policy as a `.fwb` file with firewall `fw`.
    #[must_use]
    pub fn fwb(&self, opts: FwbOptions) -> String {
        let mut o = String::with_capacity(self.n * 700);
        o.push_str(concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
            "<!DOCTYPE FWObjectDatabase SYSTEM \"fwbuilder.dtd\">\n",
            "<FWObjectDatabase xmlns=\"http://www.fwbuilder.org/1.0/\" version=\"24\" lastModified=\"0\" id=\"root\">\n",
            "  <Library id=\"syslib000\" color=\"#d4f8ff\" name=\"Standard\" comment=\"Standard objects\" ro=\"True\">\n",
            "    <AnyNetwork id=\"sysid0\" name=\"Any\" comment=\"Any Network\" ro=\"False\" address=\"0.0.0.0\" netmask=\"0.0.0.0\"/>\n",
            "    <AnyIPService id=\"sysid1\" protocol_num=\"0\" name=\"Any\" comment=\"Any IP Service\" ro=\"False\"/>\n",
            "    <AnyInterval id=\"sysid2\" days_of_week=\"0,1,2,3,4,5,6\" from_day=\"-1\" from_hour=\"-1\" from_minute=\"-1\" from_month=\"-1\" from_weekday=\"-1\" from_year=\"-1\" to_day=\"-1\" to_hour=\"-1\" to_minute=\"-1\" to_month=\"-1\" to_weekday=\"-1\" to_year=\"-1\" name=\"Any\" comment=\"Any Interval\" ro=\"False\"/>\n",
            "  </Library>\n",
            "  <Library id=\"lib_bench\" color=\"#d4ffd4\" name=\"Bench\" comment=\"rampart-bench\" ro=\"False\">\n",
            "    <ObjectGroup id=\"og_objects\" name=\"Objects\" comment=\"\" ro=\"False\">\n",
        ));
        // Leaves first, then the groups that refer to them.
        o.push_str("      <ObjectGroup id=\"og_addresses\" name=\"Addresses\" comment=\"\" ro=\"False\">\n");
        for obj in self.src_objects() {
            for (name, addr, _) in obj.leaves() {
                let _ = writeln!(
                    o,
                    "        <IPv4 id=\"id_{name}\" name=\"{name}\" comment=\"\" ro=\"False\" address=\"{addr}\" netmask=\"255.255.255.255\"/>"
                );
            }
        }
        o.push_str("      </ObjectGroup>\n");
        o.push_str(
            "      <ObjectGroup id=\"og_networks\" name=\"Networks\" comment=\"\" ro=\"False\">\n",
        );
        for obj in self.dst_objects() {
            for (name, addr, _) in obj.leaves() {
                let _ = writeln!(
                    o,
                    "        <Network id=\"id_{name}\" name=\"{name}\" comment=\"\" ro=\"False\" address=\"{addr}\" netmask=\"255.255.255.0\"/>"
                );
            }
        }
        o.push_str("      </ObjectGroup>\n");
        o.push_str(
            "      <ObjectGroup id=\"og_groups\" name=\"Groups\" comment=\"\" ro=\"False\">\n",
        );
        for obj in self.src_objects().chain(self.dst_objects()).filter(|a| a.is_group()) {
            let _ = writeln!(
                o,
                "        <ObjectGroup id=\"id_{0}\" name=\"{0}\" comment=\"\" ro=\"False\">",
                obj.name()
            );
            for (name, _, _) in obj.leaves() {
                let _ = writeln!(o, "          <ObjectRef ref=\"id_{name}\"/>");
            }
            o.push_str("        </ObjectGroup>\n");
        }
        o.push_str("      </ObjectGroup>\n    </ObjectGroup>\n");
        o.push_str(
            "    <ServiceGroup id=\"sg_services\" name=\"Services\" comment=\"\" ro=\"False\">\n",
        );
        for svc in self.svc_objects() {
            for (name, proto, port) in svc.leaves() {
                let (elem, flags) = match proto {
                    "tcp" => (
                        "TCPService",
                        " ack_flag=\"False\" ack_flag_mask=\"False\" fin_flag=\"False\" fin_flag_mask=\"False\" psh_flag=\"False\" psh_flag_mask=\"False\" rst_flag=\"False\" rst_flag_mask=\"False\" syn_flag=\"False\" syn_flag_mask=\"False\" urg_flag=\"False\" urg_flag_mask=\"False\"",
                    ),
                    _ => ("UDPService", ""),
                };
                let _ = writeln!(
                    o,
                    "      <{elem} id=\"id_{name}\"{flags} name=\"{name}\" comment=\"\" ro=\"False\" src_range_start=\"0\" src_range_end=\"0\" dst_range_start=\"{port}\" dst_range_end=\"{port}\"/>"
                );
            }
        }
        for svc in self.svc_objects().filter(|s| matches!(s, Service::Group(_))) {
            let _ = writeln!(
                o,
                "      <ServiceGroup id=\"id_{0}\" name=\"{0}\" comment=\"\" ro=\"False\">",
                svc.name()
            );
            for (name, _, _) in svc.leaves() {
                let _ = writeln!(o, "        <ServiceRef ref=\"id_{name}\"/>");
            }
            o.push_str("      </ServiceGroup>\n");
        }
        for a in 0..self.users {
            let _ = writeln!(
                o,
                "      <UserService id=\"id_u{a}\" name=\"u{a}\" comment=\"\" ro=\"False\" userid=\"{}\"/>",
                2000 + a
            );
        }
        o.push_str("    </ServiceGroup>\n");
        o.push_str(
            "    <ObjectGroup id=\"og_firewalls\" name=\"Firewalls\" comment=\"\" ro=\"False\">\n",
        );
        let _ = writeln!(
            o,
            "      <Firewall id=\"{FW_ID}\" host_OS=\"linux24\" inactive=\"False\" lastCompiled=\"0\" lastInstalled=\"0\" lastModified=\"0\" platform=\"iptables\" version=\"1.4.20\" name=\"fw\" comment=\"rampart-bench, {} rules\" ro=\"False\">",
            self.n
        );
        // Without a top NAT rule set fwb_ipt warns and exits 1.
        o.push_str(concat!(
            "        <NAT id=\"id_fw_nat\" name=\"NAT\" comment=\"\" ro=\"False\" ipv4_rule_set=\"False\" ipv6_rule_set=\"False\" top_rule_set=\"True\">\n",
            "          <RuleSetOptions/>\n",
            "        </NAT>\n",
        ));
        policy(&mut o, "id_main", "Policy", true, &self.main);
        for (j, rules) in self.branches.iter().enumerate() {
            policy(&mut o, &format!("id_br{j}"), &format!("br{j}"), false, rules);
        }
        o.push_str(concat!(
            "        <Routing id=\"id_fw_routing\" name=\"Routing\" comment=\"\" ro=\"False\" ipv4_rule_set=\"False\" ipv6_rule_set=\"False\" top_rule_set=\"True\">\n",
            "          <RuleSetOptions/>\n",
            "        </Routing>\n",
        ));
        for (k, (name, addr, mask)) in [
            ("eth0", "192.168.1.1", "255.255.255.0"),
            ("eth1", "192.168.2.1", "255.255.255.0"),
            ("lo", "127.0.0.1", "255.0.0.0"),
        ]
        .iter()
        .enumerate()
        {
            let _ = writeln!(
                o,
                "        <Interface id=\"id_if{k}\" dedicated_failover=\"False\" dyn=\"False\" label=\"\" mgmt=\"False\" security_level=\"0\" unnum=\"False\" unprotected=\"False\" name=\"{name}\" comment=\"\" ro=\"False\">\n          <IPv4 id=\"id_if{k}_ip\" name=\"fw:{name}:ip\" comment=\"\" ro=\"False\" address=\"{addr}\" netmask=\"{mask}\"/>\n          <InterfaceOptions/>\n        </Interface>"
            );
        }
        o.push_str(concat!(
            "        <Management address=\"0.0.0.0\">\n",
            "          <SNMPManagement enabled=\"False\" snmp_read_community=\"\" snmp_write_community=\"\"/>\n",
            "          <FWBDManagement enabled=\"False\" identity=\"\" port=\"-1\"/>\n",
            "          <PolicyInstallScript arguments=\"\" command=\"\" enabled=\"False\"/>\n",
            "        </Management>\n",
            "        <FirewallOptions>\n",
        ));
        let t = |b: bool| if b { "true" } else { "false" };
        for (name, value) in [
            ("accept_established", "true"),
            ("accept_new_tcp_with_no_syn", "true"),
            ("check_shading", t(opts.check_shading)),
            ("configure_interfaces", "false"),
            ("eliminate_duplicates", "true"),
            ("firewall_is_part_of_any_and_networks", "true"),
            ("flush_and_set_default_policy", "true"),
            ("linux24_ip_forward", ""),
            ("load_modules", "false"),
            ("log_level", "info"),
            ("log_prefix", "RULE %N -- %A "),
            ("loopback_interface", "lo"),
            ("manage_virtual_addr", "false"),
            ("use_iptables_restore", t(opts.iptables_restore)),
            ("verify_interfaces", "false"),
        ] {
            let _ = writeln!(o, "          <Option name=\"{name}\">{value}</Option>");
        }
        o.push_str("        </FirewallOptions>\n      </Firewall>\n    </ObjectGroup>\n  </Library>\n</FWObjectDatabase>\n");
        o
    }
}

fn policy(o: &mut String, id: &str, name: &str, top: bool, rules: &[Rule]) {
    let top = if top { "True" } else { "False" };
    let _ = writeln!(
        o,
        "        <Policy id=\"{id}\" name=\"{name}\" comment=\"\" ro=\"False\" ipv4_rule_set=\"False\" ipv6_rule_set=\"False\" top_rule_set=\"{top}\">"
    );
    for (pos, r) in rules.iter().enumerate() {
        rule(o, &format!("{id}_{pos}"), pos, r);
    }
    o.push_str("          <RuleSetOptions/>\n        </Policy>\n");
}

fn rule(o: &mut String, id: &str, pos: usize, r: &Rule) {
    let action = match r.kind {
        Kind::Accept | Kind::User(_) => "Accept",
        Kind::Deny | Kind::DenyNot => "Deny",
        Kind::Reject => "Reject",
        Kind::Branch(_) => "Branch",
    };
    let log = if r.log { "True" } else { "False" };
    let _ = writeln!(
        o,
        "          <PolicyRule id=\"{id}\" disabled=\"False\" log=\"{log}\" position=\"{pos}\" action=\"{action}\" direction=\"Both\" comment=\"{}\">",
        r.name
    );
    let addr_ref =
        |a: Option<Addr>| a.map_or_else(|| "sysid0".to_owned(), |a| format!("id_{}", a.name()));
    let src = if let Kind::User(_) = r.kind { FW_ID.to_owned() } else { addr_ref(r.src) };
    let neg = if r.kind == Kind::DenyNot { "True" } else { "False" };
    let _ = writeln!(
        o,
        "            <Src neg=\"{neg}\">\n              <ObjectRef ref=\"{src}\"/>\n            </Src>"
    );
    let _ = writeln!(
        o,
        "            <Dst neg=\"False\">\n              <ObjectRef ref=\"{}\"/>\n            </Dst>",
        addr_ref(r.dst)
    );
    // A rule's service column matches any of its members, so an owner match
    // and a port cannot be required together in one rule: a user rule keeps
    // the owner and drops the port (see tasks/bench/README.md).
    let srv = match (r.kind, r.svc) {
        (Kind::User(u), _) => format!("id_u{u}"),
        (_, Some(s)) => format!("id_{}", s.name()),
        (_, None) => "sysid1".to_owned(),
    };
    let _ = writeln!(
        o,
        "            <Srv neg=\"False\">\n              <ServiceRef ref=\"{srv}\"/>\n            </Srv>"
    );
    o.push_str("            <Itf neg=\"False\">\n              <ObjectRef ref=\"sysid0\"/>\n            </Itf>\n");
    o.push_str("            <When neg=\"False\">\n              <IntervalRef ref=\"sysid2\"/>\n            </When>\n");
    match r.kind {
        Kind::Branch(j) => {
            let _ = writeln!(
                o,
                "            <PolicyRuleOptions>\n              <Option name=\"branch_id\">id_br{j}</Option>\n            </PolicyRuleOptions>"
            );
        }
        _ => o.push_str("            <PolicyRuleOptions/>\n"),
    }
    o.push_str("          </PolicyRule>\n");
}
