//! Firewall Builder NAT rules as the rules of a `nat { }` block.
//!
//! Firewall Builder says what a rule does by the translated columns it
//! fills: a translated source makes source NAT (masquerade when it is a
//! firewall interface with a dynamic address, else snat to that address),
//! a translated destination makes a port forward (a redirect when it is the
//! firewall itself), none makes `no-nat`. The interfaces come from the
//! inbound/outbound interface columns, or for source NAT from the
//! interface written as the translated source, as `fwb_ipt` does.

use std::fmt::Write as _;

use roxmltree::Node;

use super::{Writer, child, neg, one};
use crate::db::NS;
use crate::objects::{self, Addr, Lost, Svc};

/// What one rule translates to, before its columns are written.
enum Action {
    NoNat,
    Masquerade { iface: String },
    Snat { to: String, iface: String },
    Dnat { to: String },
    Redirect { port: String },
}

type LostList<'a, 'i> = Vec<(Lost, Node<'a, 'i>)>;

impl<'a, 'i> Writer<'a, 'i> {
    /// The firewall's NAT rule set (the top one) as a `nat { }` block;
    /// the rules of other NAT rule sets are left out.
    pub(super) fn nat(&mut self, fw: Node<'a, 'i>, out: &mut String) {
        let mut sets: Vec<Node<'a, 'i>> =
            fw.children().filter(|c| c.has_tag_name((NS, "NAT"))).collect();
        if let Some(top) = sets.iter().position(|s| s.attribute("top_rule_set") == Some("True")) {
            let s = sets.remove(top);
            sets.insert(0, s);
        }
        for (i, set) in sets.iter().enumerate() {
            let name = self.db.name(*set);
            let rules: Vec<Node<'a, 'i>> =
                set.children().filter(|r| r.has_tag_name((NS, "NATRule"))).collect();
            if i > 0 {
                for r in rules.iter().filter(|r| r.attribute("disabled") != Some("True")) {
                    let place = self.nat_place(*r, name);
                    let what = format!(
                        "a rule of NAT rule set \"{}\", which only a NAT branch enters \
                         (a Rampart nat block has no branches)",
                        one(name)
                    );
                    self.lost(&place, &what, *r);
                    let _ =
                        writeln!(out, "  # left out: NAT rule {} of \"{}\"", pos(*r), one(name));
                }
                continue;
            }
            if rules.is_empty() {
                continue;
            }
            let _ = writeln!(out, "  nat {{  # NAT \"{}\"", one(name));
            for r in rules {
                let mut lost = Vec::new();
                let text = self.nat_rule(r, &mut lost);
                if r.attribute("disabled") == Some("True") {
                    let _ = writeln!(
                        out,
                        "    # disabled in Firewall Builder: NAT rule {}: {text}",
                        pos(r)
                    );
                    continue;
                }
                if !lost.is_empty() {
                    let place = self.nat_place(r, name);
                    for (what, node) in &lost {
                        self.lost(&place, what, *node);
                    }
                    let whats: Vec<String> = lost.iter().map(|(w, _)| one(w)).collect();
                    let _ = writeln!(
                        out,
                        "    # left out: NAT rule {} ({}): {text}",
                        pos(r),
                        whats.join("; ")
                    );
                    continue;
                }
                let comment = r
                    .attribute("comment")
                    .and_then(objects::one_line)
                    .and_then(|c| rampart_syntax::write::quote(&c))
                    .map(|q| format!(" comment {q}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "    {text}{comment}");
            }
            let _ = writeln!(out, "  }}\n");
        }
    }

    fn nat_place(&self, r: Node<'_, '_>, set: &str) -> String {
        format!("rule {} of NAT \"{set}\" (firewall \"{}\")", pos(r), self.fw_name)
    }

    fn nat_rule(&mut self, r: Node<'a, 'i>, lost: &mut LostList<'a, 'i>) -> String {
        if r.attribute("action") != Some("Translate") {
            lost.push(("a NAT branch (a Rampart nat block has no branches)".to_owned(), r));
        }
        let action = self.nat_action(r, lost);
        let mut text = match &action {
            Action::NoNat => "no-nat".to_owned(),
            Action::Masquerade { .. } => "masquerade".to_owned(),
            Action::Snat { to, .. } => format!("snat to {to}"),
            Action::Dnat { to } => format!("dnat to {to}"),
            Action::Redirect { port } => format!("redirect to {port}"),
        };
        // The rule's own interface columns first.
        let inbound =
            child(r, "ItfInb").map(|c| self.iface_column(c, None, lost)).unwrap_or_default();
        let outbound =
            child(r, "ItfOutb").map(|c| self.iface_column(c, None, lost)).unwrap_or_default();
        let on = match &action {
            Action::Masquerade { iface } | Action::Snat { iface, .. } if outbound.is_empty() => {
                format!(" on {iface}")
            }
            Action::Masquerade { .. } | Action::Snat { .. } => outbound,
            Action::Dnat { .. } | Action::Redirect { .. } => inbound,
            Action::NoNat => {
                if !inbound.is_empty() || !outbound.is_empty() {
                    lost.push(("an interface on a rule that translates nothing".to_owned(), r));
                }
                String::new()
            }
        };
        text.push_str(&on);
        for (kind, kw) in [("OSrc", "from"), ("ODst", "to")] {
            if let Some(col) = child(r, kind) {
                if neg(col) {
                    lost.push((format!("a negated {kind} column"), col));
                }
                text.push_str(&self.addr_column(col, kw, lost));
            }
        }
        if let Some(col) = child(r, "OSrv") {
            if neg(col) {
                lost.push(("a negated service column".to_owned(), col));
            }
            text.push_str(&self.service_column(col, lost));
        }
        if child(r, "When").is_some_and(|w| w.children().any(|c| c.is_element())) {
            lost.push(("a time interval on a NAT rule".to_owned(), r));
        }
        text
    }

    /// The one object of a translated column, `None` for Any.
    fn translated(
        &mut self,
        r: Node<'a, 'i>,
        col: &str,
        lost: &mut LostList<'a, 'i>,
    ) -> Option<Node<'a, 'i>> {
        let c = child(r, col)?;
        if neg(c) {
            lost.push((format!("a negated {col} column"), c));
        }
        let items = self.items(c, lost);
        match items.as_slice() {
            [] => None,
            [n] if n.has_tag_name((NS, "AnyNetwork")) || n.has_tag_name((NS, "AnyIPService")) => {
                None
            }
            [n] => Some(*n),
            _ => {
                lost.push((format!("several objects in the {col} column"), c));
                None
            }
        }
    }

    /// The translation the T columns ask for.
    fn nat_action(&mut self, r: Node<'a, 'i>, lost: &mut LostList<'a, 'i>) -> Action {
        let tsrc = self.translated(r, "TSrc", lost);
        let tdst = self.translated(r, "TDst", lost);
        let port = match self.translated(r, "TSrv", lost) {
            None => None,
            Some(s) => match self.translated_port(s) {
                Ok(p) => Some(p),
                Err(e) => {
                    lost.push((e, s));
                    None
                }
            },
        };
        match (tsrc, tdst) {
            (None, None) if port.is_none() => Action::NoNat,
            (Some(_), Some(_)) => {
                lost.push(("translating both source and destination".to_owned(), r));
                Action::NoNat
            }
            (Some(src), None) => {
                if port.is_some() {
                    lost.push(("a source NAT that also changes ports".to_owned(), r));
                }
                self.source_nat(src, lost)
            }
            (None, Some(dst)) if self.is_me(dst) => match port {
                Some(port) => Action::Redirect { port },
                None => {
                    lost.push(("a redirect to the firewall without a port".to_owned(), r));
                    Action::NoNat
                }
            },
            (None, None) => {
                lost.push(("a translation of the port alone".to_owned(), r));
                Action::NoNat
            }
            (None, Some(dst)) => match self.objs.address(dst) {
                Ok(Addr::Named(name)) => {
                    Action::Dnat { to: port.map_or(name.clone(), |p| format!("{name}:{p}")) }
                }
                Ok(_) => {
                    lost.push(("a translated destination Rampart cannot name".to_owned(), dst));
                    Action::NoNat
                }
                Err(e) => {
                    lost.push((e, dst));
                    Action::NoNat
                }
            },
        }
    }

    fn is_me(&self, n: Node<'_, '_>) -> bool {
        n.attribute("id") == Some(self.objs.fw_id())
    }

    /// Source NAT to a firewall interface: its address, or masquerade when
    /// the address is dynamic.
    fn source_nat(&mut self, src: Node<'a, 'i>, lost: &mut LostList<'a, 'i>) -> Action {
        let own_iface =
            src.has_tag_name((NS, "Interface")) && src.parent().is_some_and(|p| self.is_me(p));
        if !own_iface {
            lost.push((format!("a {} as the translated source", src.tag_name().name()), src));
            return Action::NoNat;
        }
        let iface = rampart_syntax::write::name(self.db.name(src));
        if src.attribute("dyn") == Some("True") {
            return Action::Masquerade { iface };
        }
        match objects::interface_addrs(src, self.db.name(src)) {
            Ok(addrs) => match addrs.as_slice() {
                [(a, _)] => Action::Snat { to: a.clone(), iface },
                _ => {
                    lost.push(("source NAT to an interface of several addresses".to_owned(), src));
                    Action::NoNat
                }
            },
            Err(e) => {
                lost.push((e, src));
                Action::NoNat
            }
        }
    }

    /// The destination port a translated service names.
    fn translated_port(&mut self, s: Node<'a, 'i>) -> Result<String, Lost> {
        let (start, end) = (s.attribute("dst_range_start"), s.attribute("dst_range_end"));
        let tcp_udp = s.has_tag_name((NS, "TCPService")) || s.has_tag_name((NS, "UDPService"));
        match (tcp_udp, start, end) {
            (true, Some(a), Some(b)) if a == b && a != "0" => Ok(a.to_owned()),
            _ => match self.objs.service(s) {
                Ok(Svc::Named(n)) => {
                    Err(format!("the translated service {n} (one TCP or UDP port only)"))
                }
                _ => Err("a translated service that is not one TCP or UDP port".to_owned()),
            },
        }
    }
}

fn pos<'n>(r: Node<'n, '_>) -> &'n str {
    r.attribute("position").unwrap_or("?")
}
