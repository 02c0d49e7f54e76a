//! One firewall of the file into the text of a Rampart policy: objects,
//! interfaces, options, then the policy rule sets, top rule set first as
//! `main`, each rule with its Firewall Builder number.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;

use rampart_diag::Diagnostic;
use rampart_syntax::write;
use roxmltree::Node;

use crate::db::{Db, NS};
use crate::diagnostics;
use crate::objects::{self, Addr, Lost, Objects, Svc};

mod nat;

/// Rule option values that mean "not set".
fn unset(value: &str) -> bool {
    matches!(value, "" | "0" | "-1" | "False" | "false")
}

struct Writer<'a, 'i> {
    db: &'a Db<'i>,
    objs: Objects<'a, 'i>,
    diags: Vec<Diagnostic>,
    fw_name: &'a str,
    /// Policy rule set ids and their Rampart names.
    rulesets: HashMap<&'a str, String>,
    /// The number Rampart gives the next rule without `number`.
    next: u32,
    /// Parts left out because fwb_ipt compiles them to something else
    /// than they say (E1104, not E1101).
    miscompiled: Vec<roxmltree::NodeId>,
    /// The firewall's addresses, when it is a bridging firewall.
    bridging_own: Vec<IpAddr>,
}

pub(crate) fn write(db: &Db<'_>, fw: Node<'_, '_>, file_name: &str) -> (String, Vec<Diagnostic>) {
    let idx = db.index();
    let fw_id = fw.attribute("id").unwrap_or("");
    let mut w = Writer {
        db,
        objs: Objects::new(&idx, fw_id),
        diags: vec![],
        fw_name: db.name(fw),
        rulesets: HashMap::new(),
        next: 1,
        miscompiled: vec![],
        bridging_own: vec![],
    };
    let mut body = String::new();
    w.interfaces(fw, &mut body);
    w.options(fw, &mut body);
    let mut policies: Vec<Node<'_, '_>> =
        fw.children().filter(|c| c.has_tag_name((NS, "Policy"))).collect();
    // The top rule set is the entry point; the others follow in file order.
    if let Some(top) = policies.iter().position(|p| p.attribute("top_rule_set") == Some("True")) {
        let p = policies.remove(top);
        policies.insert(0, p);
    }
    for (i, p) in policies.iter().enumerate() {
        let name = if i == 0 { "main".to_owned() } else { w.objs.fresh(db.name(*p)) };
        w.rulesets.insert(p.attribute("id").unwrap_or(""), name);
    }
    for p in &policies {
        w.ruleset(*p, &mut body);
    }
    w.nat(fw, &mut body);
    for other in fw.children().filter(|c| c.has_tag_name((NS, "Routing"))) {
        let rules = other.children().filter(|r| r.tag_name().name().ends_with("Rule"));
        for r in rules.filter(|r| r.attribute("disabled") != Some("True")) {
            let place = format!(
                "rule {} of Routing \"{}\" (firewall \"{}\")",
                r.attribute("position").unwrap_or("?"),
                db.name(other),
                w.fw_name
            );
            w.diags.push(diagnostics::left_out(&place, "a Routing rule", db.span(r)));
            let _ = writeln!(
                body,
                "  # left out: Routing rule {} of \"{}\"",
                r.attribute("position").unwrap_or("?"),
                one(db.name(other))
            );
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `rampart import fwb` from {}, firewall \"{}\".",
        one(file_name),
        one(w.fw_name)
    );
    let _ = writeln!(
        out,
        "# Rules keep their Firewall Builder numbers (`number N`), so log prefixes stay the same."
    );
    out.push('\n');
    for line in &w.objs.lines {
        let _ = writeln!(out, "{line}");
    }
    if !w.objs.lines.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "firewall {} {{", write::name(w.fw_name));
    out.push_str(&body);
    out.push_str("}\n");
    (out, w.diags)
}

/// Text for a `#` comment: one line, no control characters.
fn one(text: &str) -> String {
    objects::one_line(text).unwrap_or_default()
}

impl<'a, 'i> Writer<'a, 'i> {
    fn lost(&mut self, place: &str, what: &str, node: Node<'_, '_>) {
        let span = self.db.span(node);
        self.diags.push(if self.miscompiled.contains(&node.id()) {
            diagnostics::miscompiled(place, what, span)
        } else {
            diagnostics::left_out(place, what, span)
        });
    }

    fn interfaces(&mut self, fw: Node<'a, 'i>, out: &mut String) {
        let mut ports = Vec::new();
        for itf in fw.children().filter(|c| c.has_tag_name((NS, "Interface"))) {
            let name = self.db.name(itf);
            let place = format!("interface {name} (firewall \"{}\")", self.fw_name);
            let mut line = format!("  interface {}", write::name(name));
            let dynamic = itf.attribute("dyn") == Some("True");
            let addrs = if dynamic || itf.attribute("unnum") == Some("True") {
                vec![]
            } else {
                objects::interface_addrs(itf, name).unwrap_or_default()
            };
            let list: Vec<String> = addrs.iter().map(|(a, l)| format!("{a}/{l}")).collect();
            if !list.is_empty() {
                let _ = write!(line, " {}", list.join(", "));
            }
            if addrs.iter().any(|(a, _)| a.starts_with("127.") || a == "::1") {
                line.push_str(" loopback");
            }
            if dynamic {
                line.push_str(" dynamic");
            }
            if itf.attribute("mgmt") == Some("True") {
                line.push_str(" management");
            }
            if let Some(label) = itf.attribute("label").and_then(objects::one_line) {
                let _ = write!(line, "  # {label}");
            }
            let _ = writeln!(out, "{line}");
            for sub in itf.children().filter(|c| c.has_tag_name((NS, "Interface"))) {
                if is_bridge_port(sub) {
                    ports.push((name, sub));
                    continue;
                }
                let what = format!("sub-interface \"{}\"", self.db.name(sub));
                self.lost(&place, &what, sub);
                let _ = writeln!(out, "  # left out: {}", one(&what));
            }
        }
        self.bridges(&ports, out);
    }

    /// Each bridge interface's ports as a `bridge` block of plain ports:
    /// Firewall Builder knows nothing of what lies beyond a port.
    fn bridges(&mut self, ports: &[(&str, Node<'a, 'i>)], out: &mut String) {
        let mut bridge = None;
        for (name, port) in ports {
            if bridge != Some(*name) {
                if bridge.is_some() {
                    let _ = writeln!(out, "  }}");
                }
                let _ = writeln!(out, "\n  bridge {} {{", write::name(name));
                bridge = Some(*name);
            }
            let port_name = self.db.name(*port);
            let _ = writeln!(out, "    port {}", write::name(port_name));
            let addrs = port
                .children()
                .filter(|c| c.has_tag_name((NS, "IPv4")) || c.has_tag_name((NS, "IPv6")));
            for a in addrs {
                let place = format!("bridge port {port_name} (firewall \"{}\")", self.fw_name);
                let what = format!(
                    "the address {} of a bridge port",
                    a.attribute("address").unwrap_or("?")
                );
                self.lost(&place, &what, a);
                let _ = writeln!(out, "    # left out: {}", one(&what));
            }
        }
        if bridge.is_some() {
            let _ = writeln!(out, "  }}\n");
        }
    }

    fn options(&mut self, fw: Node<'a, 'i>, out: &mut String) {
        let opts: HashMap<&str, &str> = fw
            .children()
            .filter(|c| c.has_tag_name((NS, "FirewallOptions")))
            .flat_map(|o| o.children())
            .filter_map(|o| Some((o.attribute("name")?, o.text().unwrap_or(""))))
            .collect();
        let get = |k: &str| opts.get(k).copied().unwrap_or("");
        let place = format!("options of firewall \"{}\"", self.fw_name);
        let on = |v: &str| matches!(v, "True" | "true" | "1");
        let mut lost = Vec::new();
        let prefix = get("log_prefix");
        if !prefix.is_empty() {
            match write::quote(prefix) {
                Some(q) if !prefix.contains("%C") && !prefix.contains("%R") => {
                    let _ = writeln!(out, "  log-prefix {q}");
                }
                _ => lost.push(format!("the log prefix template \"{}\"", one(prefix))),
            }
        }
        match get("log_level") {
            "" => {}
            l
            @ ("emerg" | "alert" | "crit" | "error" | "warning" | "notice" | "info" | "debug") => {
                let _ = writeln!(out, "  log-level {l}");
            }
            l => lost.push(format!("log level \"{}\"", one(l))),
        }
        let _ = writeln!(out, "  default none");
        let established = on(get("accept_established")) || get("accept_established").is_empty();
        let _ = writeln!(out, "  accept-established {}", if established { "on" } else { "off" });
        // Firewall Builder compiles FORWARD rules whatever its ip_forward setting.
        let _ = writeln!(out, "  forward on");
        if on(get("bridging_fw")) {
            // fwb_ipt's bridging mode leaves the firewall out of networks
            // (not out of ranges: see `range_around_fw`).
            let _ = writeln!(out, "  self-in-networks off  # a bridging firewall");
            let itfs = fw.children().filter(|c| c.has_tag_name((NS, "Interface")));
            let addrs = itfs.flat_map(|i| objects::interface_addrs(i, "").unwrap_or_default());
            self.bridging_own = addrs.filter_map(|(a, _)| a.parse().ok()).collect();
        } else {
            let _ = writeln!(out, "  self-in-networks on");
        }
        if on(get("mgmt_ssh")) && !get("mgmt_addr").is_empty() {
            let _ = writeln!(
                out,
                "  backup-ssh from {}",
                write::name(get("mgmt_addr")).trim_start_matches('_')
            );
        }
        for (key, what) in [
            ("drop_invalid", "dropping INVALID packets"),
            ("log_invalid", "logging INVALID packets"),
            ("log_all", "logging every rule"),
            ("use_ULOG", "ULOG logging"),
            ("use_NFLOG", "NFLOG logging"),
            ("clamp_mss_to_mtu", "clamping the MSS to the MTU"),
        ] {
            if on(get(key)) {
                lost.push(what.to_owned());
            }
        }
        if matches!(get("accept_new_tcp_with_no_syn"), "False" | "false") {
            lost.push("dropping new TCP sessions without SYN".to_owned());
        }
        if matches!(get("firewall_is_part_of_any_and_networks"), "False" | "false") {
            lost.push("\"firewall is not part of any\" (Rampart always counts it in)".to_owned());
        }
        if !unset(get("limit_value")) {
            lost.push("a rate limit on logging".to_owned());
        }
        let span_node =
            fw.children().find(|c| c.has_tag_name((NS, "FirewallOptions"))).unwrap_or(fw);
        for what in lost {
            self.lost(&place, &what, span_node);
            let _ = writeln!(out, "  # left out: {}", one(&what));
        }
        out.push('\n');
    }

    fn ruleset(&mut self, rs: Node<'a, 'i>, out: &mut String) {
        let name = self.rulesets.get(rs.attribute("id").unwrap_or("")).cloned().unwrap_or_default();
        let fwb_name = self.db.name(rs);
        let _ = writeln!(out, "  ruleset {name} {{  # Policy \"{}\"", one(fwb_name));
        let rules = rs.children().filter(|r| r.has_tag_name((NS, "PolicyRule")));
        for (i, r) in rules.enumerate() {
            let position: u32 =
                r.attribute("position").and_then(|p| p.parse().ok()).unwrap_or(i as u32);
            let place =
                format!("rule {position} of Policy \"{fwb_name}\" (firewall \"{}\")", self.fw_name);
            let mut lost = Vec::new();
            let text = self.rule(r, &mut lost);
            let disabled = r.attribute("disabled") == Some("True");
            if disabled {
                let _ =
                    writeln!(out, "    # disabled in Firewall Builder: rule {position}: {text}");
                continue;
            }
            if !lost.is_empty() {
                for (what, node) in &lost {
                    self.lost(&place, what, *node);
                }
                let whats: Vec<String> = lost.iter().map(|(w, _)| one(w)).collect();
                let _ =
                    writeln!(out, "    # left out: rule {position} ({}): {text}", whats.join("; "));
                continue;
            }
            let number =
                if position == self.next { String::new() } else { format!(" number {position}") };
            self.next = position + 1;
            let comment = r
                .attribute("comment")
                .and_then(objects::one_line)
                .and_then(|c| write::quote(&c))
                .map(|q| format!(" comment {q}"))
                .unwrap_or_default();
            let _ = writeln!(out, "    {text}{number}{comment}");
        }
        let _ = writeln!(out, "  }}\n");
    }

    /// The rule's text (without number and comment); what it cannot
    /// express goes to `lost`.
    fn rule(&mut self, r: Node<'a, 'i>, lost: &mut Vec<(Lost, Node<'a, 'i>)>) -> String {
        let opts: Vec<(&str, &str)> = r
            .children()
            .filter(|c| c.has_tag_name((NS, "PolicyRuleOptions")))
            .flat_map(|o| o.children())
            .filter_map(|o| Some((o.attribute("name")?, o.text().unwrap_or(""))))
            .collect();
        let opt = |k: &str| opts.iter().find(|(n, _)| *n == k).map_or("", |(_, v)| *v);
        let mut text = match r.attribute("action").unwrap_or("") {
            "Accept" => "accept".to_owned(),
            "Deny" => "deny".to_owned(),
            "Reject" => match reject_with(opt("action_on_reject")) {
                Some("") => "reject".to_owned(),
                Some(with) => format!("reject with {with}"),
                None => {
                    lost.push((format!("reject with \"{}\"", opt("action_on_reject")), r));
                    "reject".to_owned()
                }
            },
            "Continue" | "Accounting" => "continue".to_owned(),
            "Return" => "return".to_owned(),
            "Branch" => {
                let target = self.rulesets.get(opt("branch_id")).cloned();
                match target {
                    Some(t) if t != "main" => format!("branch {t}"),
                    _ => {
                        lost.push((
                            "a branch to a rule set that is not in this firewall".to_owned(),
                            r,
                        ));
                        "branch ?".to_owned()
                    }
                }
            }
            other => {
                lost.push((format!("the action {other}"), r));
                other.to_lowercase()
            }
        };
        for (kind, kw) in [("Src", "from"), ("Dst", "to")] {
            if let Some(col) = child(r, kind) {
                text.push_str(&self.addr_column(col, kw, lost));
            }
        }
        if let Some(col) = child(r, "Srv") {
            text.push_str(&self.service_column(col, lost));
        }
        if let Some(col) = child(r, "Itf") {
            let inbound = r.attribute("direction") == Some("Inbound");
            text.push_str(&self.iface_column(col, Some(inbound), lost));
        }
        match r.attribute("direction") {
            Some("Inbound") => text.push_str(" in"),
            Some("Outbound") => text.push_str(" out"),
            _ => {}
        }
        if let Some(col) = child(r, "When") {
            text.push_str(&self.when_column(col, lost));
        }
        if r.attribute("log") == Some("True") {
            text.push_str(" log");
        }
        if matches!(opt("stateless"), "True" | "true" | "1") {
            text.push_str(" stateless");
        }
        let handled = [
            "stateless",
            "action_on_reject",
            "branch_id",
            "branch_name",
            "rule_name_accounting",
            "counter_name",
            "ulog_nlgroup",
        ];
        for (name, value) in &opts {
            if !handled.contains(name) && !unset(value) {
                lost.push((format!("the rule option {name} = \"{}\"", one(value)), r));
            }
        }
        text
    }

    fn items(&self, col: Node<'a, 'i>, lost: &mut Vec<(Lost, Node<'a, 'i>)>) -> Vec<Node<'a, 'i>> {
        col.children()
            .filter(|c| c.is_element())
            .filter_map(|c| self.objs.resolve(c).map_err(|e| lost.push((e, c))).ok())
            .collect()
    }

    fn addr_column(
        &mut self,
        col: Node<'a, 'i>,
        kw: &str,
        lost: &mut Vec<(Lost, Node<'a, 'i>)>,
    ) -> String {
        let mut names = Vec::new();
        for n in self.items(col, lost) {
            if let Some(r) = self.range_around_fw(n, 0) {
                let what = format!(
                    "the address range \"{}\" around the bridging firewall's address (fwb_ipt \
                     counts the firewall in such a range but not in a network; Rampart's \
                     self-in-networks counts it in both or neither)",
                    self.db.name(r)
                );
                lost.push((what, r));
            }
            match self.objs.address(n) {
                Ok(Addr::Any) => return String::new(),
                Ok(Addr::Me) => names.push("self".to_owned()),
                Ok(Addr::Named(s)) => names.push(s),
                Err(e) => lost.push((e, n)),
            }
        }
        column(kw, neg(col), &names)
    }

    /// An address range, `n` or a member of the group `n`, that holds one
    /// of a bridging firewall's addresses.
    fn range_around_fw(&self, n: Node<'a, 'i>, depth: u8) -> Option<Node<'a, 'i>> {
        if self.bridging_own.is_empty() || depth > 16 {
            return None;
        }
        if n.has_tag_name((NS, "AddressRange")) {
            let end = |k| n.attribute(k).and_then(|a| a.parse::<IpAddr>().ok());
            let (lo, hi) = (end("start_address")?, end("end_address")?);
            let inside = |a: &IpAddr| a.is_ipv4() == lo.is_ipv4() && lo <= *a && *a <= hi;
            return self.bridging_own.iter().any(inside).then_some(n);
        }
        if !n.tag_name().name().ends_with("Group") {
            return None;
        }
        let members = n.children().filter(|c| c.is_element());
        members
            .filter_map(|c| self.objs.resolve(c).ok())
            .find_map(|m| self.range_around_fw(m, depth + 1))
    }

    fn service_column(
        &mut self,
        col: Node<'a, 'i>,
        lost: &mut Vec<(Lost, Node<'a, 'i>)>,
    ) -> String {
        let (mut services, mut users) = (Vec::new(), Vec::new());
        for n in self.items(col, lost) {
            match self.objs.service(n) {
                Ok(Svc::Any) => services.push(None),
                Ok(Svc::Named(s)) => services.push(Some(s)),
                Ok(Svc::User(u)) => users.push(u),
                Err(e) => lost.push((e, n)),
            }
        }
        if !users.is_empty() {
            if !services.is_empty() || neg(col) {
                lost.push((
                    "a service column mixing user services with others, or negated".to_owned(),
                    col,
                ));
            }
            return format!(" user {}", users.join(", "));
        }
        if services.iter().any(Option::is_none) {
            return String::new();
        }
        column("service", neg(col), &services.into_iter().flatten().collect::<Vec<_>>())
    }

    /// `inbound`: of a policy rule, whether it is inbound; `None` for a
    /// NAT rule, where a bridge port has no place.
    fn iface_column(
        &mut self,
        col: Node<'a, 'i>,
        inbound: Option<bool>,
        lost: &mut Vec<(Lost, Node<'a, 'i>)>,
    ) -> String {
        let mut names = Vec::new();
        let of_fw = |n: Node<'_, '_>| n.attribute("id") == Some(self.objs.fw_id());
        for n in self.items(col, lost) {
            if n.has_tag_name((NS, "AnyNetwork")) {
                return String::new();
            }
            let own = n.has_tag_name((NS, "Interface")) && n.parent().is_some_and(of_fw);
            let port = n.has_tag_name((NS, "Interface"))
                && is_bridge_port(n)
                && n.parent().and_then(|b| b.parent()).is_some_and(of_fw);
            if port && inbound.is_none() {
                lost.push((format!("the bridge port \"{}\" in a NAT rule", self.db.name(n)), n));
            } else if port && neg(col) {
                // fwb_ipt writes `--physdev-in PORT` for `not PORT`: the
                // rule and the firewall it ran disagree, so neither is
                // carried over unseen.
                self.miscompiled.push(col.id());
                let what = format!(
                    "the negated bridge port \"{}\" (fwb_ipt drops the negation and matches the \
                     port itself)",
                    self.db.name(n)
                );
                lost.push((what, col));
            } else if own || port {
                names.push(write::name(self.db.name(n)));
            } else {
                let what = format!(
                    "{} \"{}\" in the interface column",
                    n.tag_name().name(),
                    self.db.name(n)
                );
                lost.push((what, n));
            }
        }
        column("on", neg(col), &names)
    }

    fn when_column(&mut self, col: Node<'a, 'i>, lost: &mut Vec<(Lost, Node<'a, 'i>)>) -> String {
        let mut out = String::new();
        let items = self.items(col, lost);
        for n in &items {
            match objects::interval(*n) {
                Ok(None) => return String::new(),
                Ok(Some(t)) if items.len() == 1 && !neg(col) => out = format!(" {t}"),
                Ok(Some(_)) => lost.push(("several or negated time intervals".to_owned(), col)),
                Err(e) => lost.push((e, *n)),
            }
        }
        out
    }
}

/// An interface's type (`InterfaceOptions`), empty when unset.
fn iface_type<'a>(itf: Node<'a, '_>) -> &'a str {
    itf.children()
        .filter(|c| c.has_tag_name((NS, "InterfaceOptions")))
        .flat_map(|o| o.children())
        .find(|o| o.attribute("name") == Some("type"))
        .and_then(|o| o.text())
        .unwrap_or("")
}

/// A sub-interface of a bridge that is an ethernet port, as Firewall
/// Builder's compilers tell bridge ports.
fn is_bridge_port(itf: Node<'_, '_>) -> bool {
    matches!(iface_type(itf), "" | "ethernet")
        && itf
            .parent()
            .is_some_and(|p| p.has_tag_name((NS, "Interface")) && iface_type(p) == "bridge")
}

fn child<'a, 'i>(r: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    r.children().find(|c| c.has_tag_name((NS, tag)))
}

fn neg(col: Node<'_, '_>) -> bool {
    col.attribute("neg") == Some("True")
}

fn column(kw: &str, not: bool, items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    format!(" {kw} {}{}", if not { "not " } else { "" }, items.join(", "))
}

/// Firewall Builder's reject replies in Rampart's words; `Some("")` for
/// the default, `None` for one Rampart lacks.
fn reject_with(fwb: &str) -> Option<&'static str> {
    Some(match fwb {
        "" => "",
        "ICMP net unreachable" => "net-unreachable",
        "ICMP host unreachable" => "host-unreachable",
        "ICMP port unreachable" => "port-unreachable",
        "ICMP proto unreachable" | "ICMP protocol unreachable" => "proto-unreachable",
        "ICMP net prohibited" => "net-prohibited",
        "ICMP host prohibited" => "host-prohibited",
        "ICMP admin prohibited" => "admin-prohibited",
        "TCP RST" => "tcp-reset",
        _ => return None,
    })
}
