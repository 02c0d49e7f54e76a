//! Firewalls, their interfaces, options, rule sets and rules.

use std::collections::BTreeSet;
use std::sync::Arc;

use rampart_diag::Diagnostic;
use rampart_ir::origin::{LogPrefix, PrefixValues};
use rampart_ir::{AddrSet, RejectWith};
use rampart_syntax::ast::{self, Column, Setting, Value, Word};

use crate::resolve::{ADDRESS_KINDS, Resolved, Resolver, SERVICE_KINDS};
use crate::{
    Action, AddrColumn, DefaultAction, Direction, Firewall, IfaceColumn, Interface, Options, Rule,
    RuleSet, ServiceAtom, ServiceColumn, User, addr, diagnostics,
};

/// The longest log prefix the kernel keeps (the LOG target's limit is 29
/// characters plus the terminating NUL).
pub const MAX_LOG_PREFIX: usize = 29;

pub(crate) fn build(
    fw: &ast::Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Firewall {
    let interfaces = fw.interfaces.iter().filter_map(|i| interface(i, diags)).collect();
    let mut out = Firewall {
        name: fw.name.text.clone(),
        span: fw.name.span,
        interfaces,
        bridges: vec![],
        options: Options::default(),
        rulesets: vec![],
        nat: vec![],
        expects: vec![],
    };
    for s in &fw.options {
        option(&mut out.options, s, r, diags);
    }
    out.bridges = fw.bridges.iter().map(|b| crate::bridge::build(b, r, diags)).collect();
    let mut names = BTreeSet::new();
    for rs in &fw.rulesets {
        if !names.insert(rs.name.text.as_str()) {
            diags.push(diagnostics::duplicate_ruleset(&rs.name.text, rs.name.span));
        }
    }
    let mut number = 0;
    for rs in &fw.rulesets {
        // Sized once: a rule set of 100,000 rules grown by doubling would
        // hold room for 131,072.
        let mut rules = Vec::with_capacity(rs.rules.len());
        for rule in &rs.rules {
            number = self::number(rule.number.as_deref(), number + 1, diags);
            // checked like any rule, then left out: its number stays taken
            let entry = rs.name.text == out.options.entry;
            rules.extend(
                self::rule(rule, number, entry, &out, &names, r, diags)
                    .filter(|_| rule.disabled.is_none()),
            );
        }
        out.rulesets.push(RuleSet { name: rs.name.text.clone(), span: rs.name.span, rules });
    }
    crate::limit::name_tables(&mut out);
    out.nat = crate::nat::build(&fw.nat, number, &out, r, diags);
    out.expects = crate::expect::build(&fw.expects, &out, r, diags);
    if out.ruleset(&out.options.entry).is_none() {
        let span =
            fw.options.iter().find(|o| o.key.text == "entry").map_or(out.span, |o| o.key.span);
        diags.push(diagnostics::missing_main(&out.name, &out.options.entry, span));
    }
    crate::bridge::check(&out, diags);
    check_branches(&out, diags);
    crate::prefix::check(&out, diags);
    crate::names::check(&out, diags);
    out
}

fn interface(i: &ast::Interface, diags: &mut Vec<Diagnostic>) -> Option<Interface> {
    let mut addrs = Vec::new();
    for w in &i.addrs {
        match addr::parse_iface_addr(&w.text, w.span) {
            Ok(a) => addrs.push(a),
            Err(d) => diags.push(d),
        }
    }
    let has = |f: &str| i.flags.iter().any(|w| w.text == f);
    Some(Interface {
        name: i.name.text.clone(),
        span: i.name.span,
        addrs,
        loopback: has("loopback"),
        dynamic: has("dynamic"),
        management: has("management"),
    })
}

fn option(o: &mut Options, s: &Setting, r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) {
    let key = s.key.text.as_str();
    let span = s.values.first().map_or(s.key.span, Value::span);
    let one = s.values.first().map(Value::text).filter(|_| s.values.len() == 1);
    let bad = |diags: &mut Vec<Diagnostic>, expected: &str| {
        diags.push(diagnostics::bad_option(key, span, expected));
    };
    match (key, one) {
        ("entry", Some(t)) => o.entry = t.to_owned(),
        ("log-prefix", Some(t)) => match LogPrefix::parse(t) {
            Ok(p) => o.log_prefix = p,
            Err(e) => bad(diags, &format!("a template a log line can be traced back by: {e}")),
        },
        ("log-limit", _) => match crate::limit::option(&s.values, diags) {
            Ok(l) => o.log_limit = l,
            Err(()) => bad(diags, "a rate such as `3/minute`, `3/minute burst 10`, or `none`"),
        },
        ("log-level", Some(t)) => match log_level(t) {
            Some(l) => o.log_level = l,
            None => bad(
                diags,
                "a syslog level: emerg, alert, crit, err, warning, notice, info, debug or 0–7",
            ),
        },
        ("default", Some(t)) => match t {
            "deny" => o.default = DefaultAction::Deny,
            "deny-quiet" => o.default = DefaultAction::DenyQuiet,
            "reject" => o.default = DefaultAction::Reject,
            "none" => o.default = DefaultAction::None,
            _ => bad(diags, "deny, deny-quiet, reject or none"),
        },
        ("accept-established" | "forward" | "self-in-networks", Some(t)) => {
            let v = match t {
                "on" | "yes" | "true" => true,
                "off" | "no" | "false" => false,
                _ => return bad(diags, "on or off"),
            };
            match key {
                "forward" => o.forward = v,
                "self-in-networks" => o.self_in_networks = v,
                _ => o.accept_established = v,
            }
        }
        ("backup-ssh", _) => match s.values.as_slice() {
            [Value::Word(from), rest @ ..] if from.text == "from" && !rest.is_empty() => {
                let mut set = AddrSet::default();
                for v in rest {
                    let Value::Word(w) = v else { return bad(diags, "addresses or host names") };
                    match addresses(w, r, diags) {
                        Some(Addr::Items(items)) => set.items.extend(items),
                        Some(Addr::Firewall) => diags.push(diagnostics::wrong_kind(
                            &w.text,
                            "this firewall",
                            "an admin host",
                            w.span,
                        )),
                        None => {}
                    }
                }
                o.backup_ssh = Some(set);
            }
            _ => bad(diags, "`from HOST[, HOST...]`"),
        },
        _ => bad(diags, "one value"),
    }
}

fn log_level(t: &str) -> Option<u8> {
    const NAMES: [&str; 8] =
        ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
    t.parse::<u8>()
        .ok()
        .filter(|l| *l < 8)
        .or_else(|| NAMES.iter().position(|n| *n == t).and_then(|i| u8::try_from(i).ok()))
}

pub(crate) enum Addr {
    Items(Vec<rampart_ir::AddrItem>),
    Firewall,
}

/// One word of an address column: a literal, an object name, or the firewall.
pub(crate) fn addresses(
    w: &Word,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Addr> {
    if w.text == "self" {
        return Some(Addr::Firewall);
    }
    if addr::is_literal(&w.text) {
        return addr::parse_item(&w.text, w.span)
            .map_err(|d| diags.push(d))
            .ok()
            .map(|i| Addr::Items(vec![i]));
    }
    match r.lookup(&w.text, diags) {
        Some(Resolved::Addresses(items)) => Some(Addr::Items(items)),
        Some(Resolved::Firewall(items)) => Some(Addr::Items(items)),
        Some(Resolved::Invalid) => None,
        Some(_) => {
            diags.push(diagnostics::wrong_kind(&w.text, r.kind_of(&w.text), "an address", w.span));
            None
        }
        None => {
            diags.push(
                diagnostics::unknown_name(
                    "address object",
                    &w.text,
                    w.span,
                    "define it with `host`, `network`, `range` or `group`, or write an address",
                )
                .suggest(&w.text, r.names_of(&ADDRESS_KINDS)),
            );
            None
        }
    }
}

pub(crate) fn addr_column(
    c: Option<&Column>,
    fw: &Firewall,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> AddrColumn {
    let Some(c) = c else { return AddrColumn::default() };
    let neg = c.not.is_some();
    if is_any(c, diags) {
        return AddrColumn::default();
    }
    // a single named object keeps its name, so nftables can emit a named set
    let alone = match c.items.as_slice() {
        [w] if !addr::is_literal(&w.text) && w.text != "self" && w.text != fw.name => {
            Some(w.text.as_str())
        }
        _ => None,
    };
    if let Some(set) = alone.and_then(|name| r.named_addresses(name)) {
        return AddrColumn { neg, set, ..AddrColumn::default() };
    }
    let before = diags.len();
    let mut col = AddrColumn { neg, ..AddrColumn::default() };
    let mut set = AddrSet { name: alone.map(str::to_owned), items: Vec::new() };
    let mut broken = false;
    for w in &c.items {
        if w.text == fw.name {
            col.firewall = true;
            continue;
        }
        if let Some(Resolved::DynamicSet(s)) = r.lookup(&w.text, diags) {
            broken |= !crate::sets::alone(&c.items, w, diags);
            set.name = None;
            col.dynamic = Some(Box::new(s));
            continue;
        }
        if let Some(other) = r.dynamic_firewall_in(&w.text) {
            diags.push(diagnostics::dynamic_firewall_in_column(&w.text, other, w.span));
        }
        match addresses(w, r, diags) {
            Some(Addr::Items(items)) => set.items.extend(items),
            Some(Addr::Firewall) => col.firewall = true,
            None => broken = true,
        }
    }
    // A column that names objects but holds no address would read as `any`.
    if !broken && !col.firewall && col.dynamic.is_none() && set.items.is_empty() {
        let span = c.items.first().map_or(fw.span, |w| w.span);
        diags.push(diagnostics::no_addresses(span));
    }
    set.items.sort();
    set.items.dedup();
    set.items.shrink_to_fit();
    col.set = Arc::new(set);
    // Made again it would come out the same, with nothing to report.
    if let Some(name) = alone
        && diags.len() == before
        && !col.firewall
        && col.dynamic.is_none()
    {
        r.keep_named_addresses(name, col.set.clone());
    }
    col
}

/// Whether a column says `any` alone. `any` beside other items, or `not any`
/// (which matches nothing), is an error: read either way it would widen or
/// empty the rule against what the other words say.
fn is_any(c: &Column, diags: &mut Vec<Diagnostic>) -> bool {
    let Some(w) = c.items.iter().find(|w| w.text == "any") else { return false };
    if c.items.len() > 1 {
        diags.push(diagnostics::any_beside_values("items of this column", w.span));
    } else if let Some(not) = c.not {
        diags.push(diagnostics::not_any(not.to(w.span)));
    }
    true
}

pub(crate) fn service_column(
    c: Option<&Column>,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> ServiceColumn {
    let Some(c) = c else { return ServiceColumn::default() };
    let neg = c.not.is_some();
    if is_any(c, diags) {
        return ServiceColumn::default();
    }
    let alone = match c.items.as_slice() {
        [w] => Some(w.text.as_str()),
        _ => None,
    };
    if let Some(atoms) = alone.and_then(|name| r.named_services(name)) {
        return ServiceColumn { neg, atoms };
    }
    let mut atoms = Vec::new();
    let mut named = None;
    for w in &c.items {
        match r.lookup(&w.text, diags) {
            Some(Resolved::Services(found)) => {
                // a group's atoms are named after the group when it is the only item
                let name = alone.map(str::to_owned);
                named = alone;
                atoms.extend(found.into_iter().map(|mut a| {
                    if name.is_some() {
                        a.name.clone_from(&name);
                    }
                    a
                }));
            }
            Some(Resolved::Invalid) => {}
            Some(_) => diags.push(diagnostics::wrong_kind(
                &w.text,
                r.kind_of(&w.text),
                "a service",
                w.span,
            )),
            None => diags.push(
                diagnostics::unknown_name(
                    "service",
                    &w.text,
                    w.span,
                    "define it with `service NAME tcp PORT` (or udp, icmp, proto N)",
                )
                .suggest(&w.text, r.names_of(&SERVICE_KINDS)),
            ),
        }
    }
    let atoms: Arc<[ServiceAtom]> = atoms.into();
    if let Some(name) = named {
        r.keep_named_services(name, atoms.clone());
    }
    ServiceColumn { neg, atoms }
}

pub(crate) fn iface_column(
    c: Option<&Column>,
    fw: &Firewall,
    diags: &mut Vec<Diagnostic>,
) -> IfaceColumn {
    let Some(c) = c else { return IfaceColumn::default() };
    if is_any(c, diags) {
        return IfaceColumn::default();
    }
    let mut names = Vec::new();
    for w in &c.items {
        check_iface(w, fw, diags);
        names.push(w.text.clone());
    }
    IfaceColumn { neg: c.not.is_some(), names }
}

fn check_iface(w: &Word, fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    // `eth+` is a wildcard over interfaces of that prefix
    let known = match w.text.strip_suffix('+') {
        Some(p) => fw.interfaces.iter().any(|i| i.name.starts_with(p)),
        None => fw.interface(&w.text).is_some() || crate::ports::is_bridge_name(fw, &w.text),
    };
    if !known {
        diags.push(
            diagnostics::unknown_interface(&w.text, &fw.name, w.span)
                .suggest(&w.text, fw.interfaces.iter().map(|i| i.name.as_str())),
        );
    }
}

fn users(c: Option<&Column>, r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) -> Vec<User> {
    let Some(c) = c else { return vec![] };
    let mut out = Vec::new();
    for w in &c.items {
        match r.lookup(&w.text, diags) {
            Some(Resolved::User(u)) => out.push(u),
            Some(Resolved::Invalid) => {}
            Some(_) => {
                diags.push(diagnostics::wrong_kind(&w.text, r.kind_of(&w.text), "a user", w.span))
            }
            None => diags.push(
                diagnostics::unknown_name(
                    "user",
                    &w.text,
                    w.span,
                    "define it with `user NAME uid N`",
                )
                .suggest(&w.text, r.names_of(&["a user"])),
            ),
        }
    }
    out
}

fn action(
    rule: &ast::Rule,
    fw: &Firewall,
    rulesets: &BTreeSet<&str>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Action> {
    let arg = rule.argument.as_ref();
    Some(match rule.action.text.as_str() {
        "accept" => Action::Accept,
        "deny" | "drop" => Action::Deny,
        "reject" => match arg {
            None => Action::Reject(RejectWith::PortUnreachable),
            Some(w) => match reject_with(&w.text) {
                Some(with) => Action::Reject(with),
                None => {
                    diags.push(diagnostics::bad_option(
                        "reject with",
                        w.span,
                        "tcp-reset, port-unreachable, host-unreachable, net-unreachable, \
                         proto-unreachable, host-prohibited, net-prohibited or admin-prohibited",
                    ));
                    return None;
                }
            },
        },
        "branch" => {
            let w = arg?;
            if !rulesets.contains(w.text.as_str()) {
                diags.push(
                    diagnostics::unknown_ruleset(&w.text, w.span)
                        .suggest(&w.text, rulesets.iter().copied()),
                );
                return None;
            }
            Action::Branch(w.text.clone())
        }
        "continue" => Action::Continue,
        "mark" => Action::Mark(crate::mark::set(arg?, diags)?),
        "return" => Action::Return,
        "antispoof" => {
            let w = arg?;
            check_iface(w, fw, diags);
            crate::ports::refuse(w, "antispoof", fw, diags);
            Action::Antispoof(w.text.clone())
        }
        other => {
            diags.push(diagnostics::unknown_action(other, rule.action.span));
            return None;
        }
    })
}

fn reject_with(t: &str) -> Option<RejectWith> {
    use RejectWith::*;
    Some(match t {
        "tcp-reset" => TcpReset,
        "port-unreachable" => PortUnreachable,
        "host-unreachable" => HostUnreachable,
        "net-unreachable" => NetUnreachable,
        "proto-unreachable" => ProtoUnreachable,
        "host-prohibited" => HostProhibited,
        "net-prohibited" => NetProhibited,
        "admin-prohibited" => AdminProhibited,
        _ => return None,
    })
}

/// A rule's number: `number N` as written, else the one after the rule
/// before, so a run of imported rules keeps its numbers with one `number`.
fn number(written: Option<&ast::Word>, next: u32, diags: &mut Vec<Diagnostic>) -> u32 {
    let Some(w) = written else { return next };
    w.text.parse().unwrap_or_else(|_| {
        diags.push(diagnostics::bad_number("rule number", &w.text, w.span));
        next
    })
}

fn rule(
    rule: &ast::Rule,
    number: u32,
    entry: bool,
    fw: &Firewall,
    rulesets: &BTreeSet<&str>,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let before = diags.len();
    let action = action(rule, fw, rulesets, diags);
    let direction = match rule.direction.as_ref().map(|w| w.text.as_str()) {
        Some("in") => Direction::In,
        Some("out") => Direction::Out,
        _ => Direction::Both,
    };
    let out = Rule {
        number,
        span: rule.span,
        action: action.unwrap_or(Action::Continue),
        src: addr_column(rule.from.as_ref(), fw, r, diags),
        dst: addr_column(rule.to.as_ref(), fw, r, diags),
        service: service_column(rule.service.as_ref(), r, diags),
        iface: iface_column(rule.on.as_deref(), fw, diags),
        direction,
        users: users(rule.user.as_deref(), r, diags),
        time: crate::time::window(
            rule.days.as_ref().map_or(&[][..], |c| c.items.as_slice()),
            rule.time.as_deref(),
            diags,
        ),
        mark: rule.mark.as_ref().and_then(|w| crate::mark::set(w, diags)),
        marked: rule.marked.as_ref().and_then(|w| crate::mark::value(w, diags)),
        tcp_flags: rule.tcp_flags.as_ref().and_then(|c| crate::mark::tcp_flags(c, diags)),
        log: rule.log.is_some(),
        log_prefix: rule
            .log_prefix
            .as_ref()
            .and_then(|t| crate::prefix::own(t, diags))
            .map(Box::new),
        log_limit: crate::limit::log_limit(rule, fw.options.log_limit.as_ref(), diags)
            .map(Box::new),
        limit: rule.limit.as_ref().and_then(|l| crate::limit::limit(l, diags)).map(Box::new),
        conn_limit: rule
            .connlimit
            .as_ref()
            .and_then(|l| crate::limit::conn_limit(l, diags))
            .map(Box::new),
        stateless: rule.stateless.is_some(),
        comment: rule.comment.as_ref().map(|c| c.value.clone()),
    };
    crate::ports::check_rule(&out, rule, fw, diags);
    crate::limit::check(rule, &out.action, diags);
    let sets_mark = out.mark.is_some() || matches!(out.action, Action::Mark(_));
    crate::mark::check(rule, sets_mark, out.direction, &out.src, entry, diags);
    if let Some(c) = &rule.tcp_flags
        && out.service.atoms.iter().any(|a| a.proto != Some(rampart_ir::Proto::Tcp))
    {
        diags.push(diagnostics::tcp_flags_without_tcp(c.keyword));
    }
    if let Action::Antispoof(_) = out.action
        && (rule.on.is_some() || rule.user.is_some())
    {
        diags.push(diagnostics::misplaced(
            "an on/user clause",
            rule.span,
            "antispoof names its interface itself; `from` chooses its sources",
        ));
    }
    if let Some(c) = &rule.user {
        if out.direction == Direction::In {
            diags.push(diagnostics::user_on_incoming(
                c.keyword.to(rule.span),
                "this rule only matches incoming traffic (`in`)",
            ));
        } else if out.dst.firewall && out.dst.set.items.is_empty() && !out.dst.neg {
            diags.push(diagnostics::user_on_incoming(
                c.keyword,
                "traffic to the firewall itself is incoming",
            ));
        } else if !out.src.is_any() && !out.src.firewall {
            diags.push(diagnostics::user_on_incoming(
                c.keyword,
                "the source is not this firewall, so the packets are not its own",
            ));
        }
    }
    (diags.len() == before || !diags[before..].iter().any(Diagnostic::is_error)).then_some(out)
}

fn check_branches(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    // Depth-first walk from every rule set; a branch to a set on the stack is a loop.
    fn walk<'f>(
        fw: &'f Firewall,
        name: &'f str,
        stack: &mut Vec<&'f str>,
        diags: &mut Vec<Diagnostic>,
    ) {
        let Some(rs) = fw.ruleset(name) else { return };
        stack.push(name);
        for rule in &rs.rules {
            if let Action::Branch(target) = &rule.action {
                if stack.contains(&target.as_str()) {
                    diags.push(diagnostics::branch_cycle(target, rule.span));
                } else {
                    walk(fw, target, stack, diags);
                }
            }
        }
        stack.pop();
    }
    let entry = fw.options.entry.as_str();
    if fw.ruleset(entry).is_some() {
        walk(fw, entry, &mut Vec::new(), diags);
    }
    for rs in &fw.rulesets {
        let used = rs.name == entry
            || fw
                .rulesets
                .iter()
                .flat_map(|s| &s.rules)
                .any(|r| r.action == Action::Branch(rs.name.clone()));
        if !used {
            diags.push(diagnostics::unused_ruleset(&rs.name, rs.span));
        }
    }
}

/// A prefix from the firewall's template (rules Rampart adds itself).
#[must_use]
pub fn log_prefix(
    options: &Options,
    number: u32,
    action: &str,
    ruleset: &str,
    iface: &str,
) -> String {
    options.log_prefix.render(&PrefixValues { rule: number, action, ruleset, iface })
}

/// The log prefix of a policy rule of rule set `ruleset`: its own
/// `log prefix`, else the firewall's template.
#[must_use]
pub fn rule_log_prefix(options: &Options, rule: &Rule, ruleset: &str) -> String {
    let iface = match &rule.action {
        Action::Antispoof(i) => i.as_str(),
        _ => rule.iface.names.first().map_or("any", String::as_str),
    };
    let values = PrefixValues { rule: rule.number, action: rule.action.log_word(), ruleset, iface };
    rule.log_prefix.as_deref().unwrap_or(&options.log_prefix).render(&values)
}
