//! The `nat` section of a firewall: masquerade, snat, dnat (port
//! forwarding), redirect and no-nat exceptions, with their checks.
//!
//! Rampart does not open the filter path for a port forward by itself: the
//! rule sets stay the one place that says what passes. A forward that no
//! accept rule lets through is a warning (W0311) naming the rule to add.

use std::net::IpAddr;

use rampart_diag::Diagnostic;
use rampart_ir::{AddrItem, Family, NatTo, PortRange, Proto};
use rampart_syntax::ast::{self, Word};

use crate::firewall::{Addr, addresses, iface_column, service_column};
use crate::resolve::Resolver;
use crate::{Action, Firewall, NatAction, NatRule, addr, diagnostics, service};

/// The firewall's NAT rules, numbered on from `number` (the last filter
/// rule's number).
pub(crate) fn build(
    rules: &[ast::Rule],
    mut number: u32,
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<NatRule> {
    let mut out = Vec::new();
    for rule in rules {
        number += 1;
        let before = diags.len();
        let built = self::rule(rule, number, fw, r, diags);
        if let Some(n) = built
            && !diags[before..].iter().any(Diagnostic::is_error)
        {
            check(&n, rule, fw, diags);
            out.push(n);
        }
    }
    out
}

fn rule(
    rule: &ast::Rule,
    number: u32,
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<NatRule> {
    let misplaced = [
        (rule.user.as_ref().map(|c| c.keyword), "`user`"),
        (rule.days.as_ref().map(|c| c.keyword), "`days`"),
        (rule.time.as_ref().map(|w| w.span), "`time`"),
        (rule.direction.as_ref().map(|w| w.span), "`in`/`out`"),
        (rule.log, "`log`"),
        (rule.stateless, "`stateless`"),
        (rule.service.as_ref().and_then(|c| c.not), "`not` in a service"),
    ];
    for (span, what) in misplaced {
        if let Some(span) = span {
            diags.push(diagnostics::misplaced(
                what,
                span,
                "a NAT rule translates the first packet of a connection; it has from, to, \
                 service, on and comment",
            ));
        }
    }
    let arg = rule.argument.as_ref();
    let action = match rule.action.text.as_str() {
        "masquerade" => NatAction::Masquerade,
        "no-nat" => NatAction::NoNat,
        "snat" => NatAction::Snat(translation(arg?, true, r, diags)?),
        "dnat" => NatAction::Dnat(translation(arg?, false, r, diags)?),
        "redirect" => {
            let w = arg?;
            let Some(p) = service::parse_port_range(&w.text) else {
                diags.push(diagnostics::bad_translation(
                    &w.text,
                    w.span,
                    "redirect goes to a port of the firewall: `redirect to 3128`",
                ));
                return None;
            };
            NatAction::Redirect(p)
        }
        other => {
            diags.push(diagnostics::unknown_nat_action(other, rule.action.span));
            return None;
        }
    };
    for w in rule.on.iter().flat_map(|c| &c.items) {
        crate::ports::refuse(w, "a NAT rule", fw, diags);
    }
    Some(NatRule {
        number,
        span: rule.span,
        action,
        src: crate::sets::not_in_nat(rule.from.as_ref(), fw, r, diags),
        dst: crate::sets::not_in_nat(rule.to.as_ref(), fw, r, diags),
        service: service_column(rule.service.as_ref(), r, diags),
        iface: iface_column(rule.on.as_deref(), fw, diags),
        comment: rule.comment.as_ref().map(|c| c.value.clone()),
    })
}

/// `ADDR[-ADDR][:PORT[-PORT]]` or `NAME[:PORT]`, an object of one address;
/// a range of addresses only for snat. An IPv6 address takes no port.
fn translation(
    w: &Word,
    range: bool,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<NatTo> {
    let bad = |diags: &mut Vec<Diagnostic>, why: &str| {
        diags.push(diagnostics::bad_translation(&w.text, w.span, why));
    };
    let (host, port) = match w.text.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (w.text.as_str(), None),
    };
    let ports = match port {
        None => None,
        Some(p) => match service::parse_port_range(p) {
            Some(p) => Some(p),
            None => {
                bad(diags, "the part after `:` is a port or FIRST-LAST");
                return None;
            }
        },
    };
    let word = Word { text: host.to_owned(), span: w.span };
    let addrs = if let Some((a, b)) = host.split_once('-').filter(|_| addr::is_literal(host)) {
        let (a, b) = (addr::parse_addr(a, w.span).ok()?, addr::parse_addr(b, w.span).ok()?);
        if !range || a.is_ipv4() != b.is_ipv4() || a > b {
            bad(diags, "an address range, FIRST-LAST of one family, is for snat only");
            return None;
        }
        (a, b)
    } else {
        let items = match addresses(&word, r, diags)? {
            Addr::Items(items) => items,
            Addr::Firewall => {
                bad(diags, "to reach the firewall itself, use `redirect`");
                return None;
            }
        };
        match items.as_slice() {
            [AddrItem::Net(n)] if n.prefix_len() == n.max_prefix_len() => (n.addr(), n.addr()),
            [AddrItem::Range(a, b)] if range => (*a, *b),
            _ => {
                bad(diags, "translate to one address (a host, not a network or a group)");
                return None;
            }
        }
    };
    Some(NatTo { addrs: Some(addrs), ports })
}

/// The checks that need the whole rule: interfaces, families, ports, and
/// for a port forward, the way on through the filter rules.
fn check(n: &NatRule, rule: &ast::Rule, fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    let before = diags.len();
    let on = rule.on.as_ref().map_or(rule.span, |c| c.keyword);
    let source_nat = matches!(n.action, NatAction::Masquerade | NatAction::Snat(_));
    if matches!(n.action, NatAction::Masquerade) && n.iface.names.is_empty() {
        diags.push(diagnostics::nat_needs_interface(rule.span));
    }
    if source_nat && !n.iface.neg {
        for name in &n.iface.names {
            if fw.interface(name).is_some_and(|i| i.loopback) {
                diags.push(diagnostics::nat_on_loopback(name, on));
            }
        }
    }
    let to = match &n.action {
        NatAction::Snat(to) | NatAction::Dnat(to) => Some(*to),
        _ => None,
    };
    if let Some(NatTo { addrs: Some((a, _)), .. }) = to {
        let family = if a.is_ipv4() { Family::V4 } else { Family::V6 };
        for (col, c) in [(&n.src, rule.from.as_ref()), (&n.dst, rule.to.as_ref())] {
            let span = c.map_or(rule.span, |c| c.keyword);
            if !col.neg && !col.set.items.is_empty() && col.set.family() == Some(other(family)) {
                diags.push(diagnostics::nat_family(&a.to_string(), span));
            }
        }
    }
    let ports = match &n.action {
        NatAction::Snat(to) | NatAction::Dnat(to) => to.ports,
        NatAction::Redirect(p) => Some(*p),
        _ => None,
    };
    let l4 = !n.service.atoms.is_empty()
        && n.service.atoms.iter().all(|a| matches!(a.proto, Some(Proto::Tcp | Proto::Udp)));
    if ports.is_some() && !l4 {
        let span = rule.service.as_ref().map_or(rule.span, |c| c.keyword);
        diags.push(diagnostics::nat_port_without_service(span));
    }
    let errors = diags[before..].iter().filter(|d| d.is_error()).count();
    if let NatAction::Dnat(NatTo { addrs: Some((a, _)), ports }) = n.action
        && errors == 0
    {
        let arg = rule.argument.as_ref().map_or(rule.span, |w| w.span);
        if !reachable(fw, a) {
            diags.push(diagnostics::dnat_unreachable(&a.to_string(), arg));
        }
        if !forward_accepted(fw, n, a, ports) {
            diags.push(diagnostics::forward_not_accepted(
                n.number,
                &a.to_string(),
                arg,
                fw.options.forward,
            ));
        }
    }
}

fn other(f: Family) -> Family {
    match f {
        Family::V4 => Family::V6,
        Family::V6 => Family::V4,
    }
}

/// Whether an address lies in a network of one of the firewall's
/// interfaces, or is one of its own.
fn reachable(fw: &Firewall, a: IpAddr) -> bool {
    fw.interfaces.iter().flat_map(|i| &i.addrs).any(|n| n.contains(&a))
}

/// Whether some accept rule lets the translated connection through:
/// forwarding is on and a rule accepts the new destination (or any) for the
/// translated port (or any service).
fn forward_accepted(fw: &Firewall, n: &NatRule, to: IpAddr, ports: Option<PortRange>) -> bool {
    if !fw.options.forward {
        return false;
    }
    let dports: Vec<(Option<Proto>, u16)> = match ports {
        Some((p, _)) => n.service.atoms.iter().map(|a| (a.proto, p)).collect(),
        None => n
            .service
            .atoms
            .iter()
            .flat_map(|a| a.dports.iter().map(move |r| (a.proto, r.0)))
            .collect(),
    };
    fw.rulesets.iter().flat_map(|s| &s.rules).any(|r| {
        let dst = r.dst.is_any() || (!r.dst.neg && r.dst.set.contains(to));
        let service = r.service.atoms.is_empty()
            || (!r.service.neg
                && (dports.is_empty()
                    || dports.iter().all(|(proto, port)| {
                        r.service.atoms.iter().any(|a| {
                            (a.proto.is_none() || a.proto == *proto)
                                && (a.dports.is_empty()
                                    || a.dports.iter().any(|(lo, hi)| lo <= port && port <= hi))
                        })
                    })));
        r.action == Action::Accept && dst && service
    })
}
