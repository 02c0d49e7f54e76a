//! `access NAME for FIREWALL { ... }`: who may open which console, with
//! which viewer program. The kit (sudoers, launcher, audit) is generated
//! from this by the `rampart-access` crate.

use std::net::IpAddr;

use rampart_diag::{Diagnostic, Span};
use rampart_ir::{AddrItem, PortRange, Proto, TimeMatch};
use rampart_syntax::ast::{self, Value, Word};

use crate::resolve::{Resolved, Resolver};
use crate::{User, addr, diagnostics, service, time};

/// The access kit of one firewall (a client host).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub name: String,
    pub span: Span,
    pub firewall: String,
    /// Absolute path of the viewer program (`/usr/bin/remote-viewer`).
    pub viewer: String,
    /// The group that alone may run the viewer (`spicegrp`).
    pub group: String,
    /// Whether sudo asks the user's own password.
    pub password: bool,
    /// TCP ports of every console; everyone without a grant is denied them.
    pub consoles: Vec<PortRange>,
    /// One per user, in source order.
    pub grants: Vec<Grant>,
}

/// One user's console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub user: User,
    /// The server as written: a host object's name or an address. It is what
    /// the viewer connects to (`spice://HOST?tls-port=PORT`).
    pub host: String,
    /// The server's address, for the firewall check.
    pub addr: IpAddr,
    pub port: u16,
    pub time: Option<TimeMatch>,
    pub span: Span,
}

const STATEMENTS: &str = "viewer \"PATH\", group NAME, password yes|no, consoles SERVICE|PORTS, \
                          user NAME to HOST port N [days D, ...] [time HH:MM-HH:MM]";

pub(crate) fn build(
    a: &ast::Access,
    r: &mut Resolver<'_>,
    firewalls: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Access {
    if !firewalls.contains(&a.firewall.text.as_str()) {
        diags.push(
            diagnostics::unknown_name(
                "firewall",
                &a.firewall.text,
                a.firewall.span,
                "an access kit belongs to a firewall (the client host) of this policy",
            )
            .suggest(&a.firewall.text, firewalls.iter().copied()),
        );
    }
    let mut out = Access {
        name: a.name.text.clone(),
        span: a.name.span,
        firewall: a.firewall.text.clone(),
        viewer: "/usr/bin/remote-viewer".into(),
        group: "spicegrp".into(),
        password: true,
        consoles: vec![],
        grants: vec![],
    };
    for s in &a.statements {
        let span = s.values.first().map_or(s.key.span, Value::span);
        let one = s.values.first().map(Value::text).filter(|_| s.values.len() == 1);
        let bad = |diags: &mut Vec<Diagnostic>, expected: &str| {
            diags.push(diagnostics::bad_access(&s.key.text, span, expected));
        };
        match (s.key.text.as_str(), one) {
            ("viewer", Some(p)) if safe_path(p) => out.viewer = p.to_owned(),
            ("viewer", _) => bad(diags, "an absolute path of letters, digits and / . _ + -"),
            ("group", Some(g)) if safe_name(g) => out.group = g.to_owned(),
            ("group", _) => bad(diags, "a group name (lower case letters, digits, _ and -)"),
            ("password", Some("yes" | "on" | "true")) => out.password = true,
            ("password", Some("no" | "off" | "false")) => out.password = false,
            ("password", _) => bad(diags, "yes or no"),
            ("consoles", _) => out.consoles = consoles(s, r, diags),
            ("user", _) => {
                if let Some(grants) = grant_line(s, r, diags) {
                    out.grants.extend(grants);
                }
            }
            (other, _) => diags.push(diagnostics::bad_access(
                other,
                s.key.span,
                &format!("one of: {STATEMENTS}"),
            )),
        }
    }
    check(&out, diags);
    out
}

fn safe_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.contains("//")
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._+-".contains(&b))
}

fn safe_name(n: &str) -> bool {
    n.len() <= 32
        && n.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b))
}

/// `consoles spice-all` (a TCP service) or `consoles 20001-20010, 20020`.
fn consoles(s: &ast::Setting, r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) -> Vec<PortRange> {
    let mut out = Vec::new();
    for v in &s.values {
        let text = v.text();
        if let Some(p) = service::parse_port_range(text) {
            out.push(p);
            continue;
        }
        match r.lookup(text, diags) {
            Some(Resolved::Services(atoms)) => {
                for a in atoms {
                    if a.proto == Some(Proto::Tcp) && !a.dports.is_empty() {
                        out.extend(a.dports);
                    } else {
                        diags.push(diagnostics::bad_access(
                            "consoles",
                            v.span(),
                            "TCP destination ports (consoles listen on TCP)",
                        ));
                    }
                }
            }
            Some(Resolved::Invalid) => {}
            _ => diags.push(diagnostics::bad_access(
                "consoles",
                v.span(),
                "a TCP service or ports such as 20001-20010",
            )),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// `user A[, B] to HOST port N [days D, ...] [time HH:MM-HH:MM]`.
fn grant_line(
    s: &ast::Setting,
    r: &mut Resolver<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Grant>> {
    let words: Vec<&Word> = s
        .values
        .iter()
        .filter_map(|v| match v {
            Value::Word(w) => Some(w),
            Value::Text(_) => None,
        })
        .collect();
    let syntax = |diags: &mut Vec<Diagnostic>| {
        diags.push(diagnostics::bad_access(
            "user",
            s.key.span,
            "`user NAME to HOST port N [days D, ...] [time HH:MM-HH:MM]`",
        ));
    };
    let Some(to) = words.iter().position(|w| w.text == "to") else {
        syntax(diags);
        return None;
    };
    let (names, rest) = words.split_at(to);
    let [_, host, port_kw, port, tail @ ..] = rest else {
        syntax(diags);
        return None;
    };
    if names.is_empty() || port_kw.text != "port" || s.values.len() != words.len() {
        syntax(diags);
        return None;
    }
    let port = match port.text.parse::<u16>() {
        Ok(p) if p > 0 => p,
        _ => {
            diags.push(diagnostics::bad_port(&port.text, port.span));
            return None;
        }
    };
    let addr = server(host, r, diags)?;
    let (mut days, mut time_w) = (Vec::new(), None);
    let mut i = 0;
    while i < tail.len() {
        match tail[i].text.as_str() {
            "days" => {
                i += 1;
                while i < tail.len() && tail[i].text != "time" {
                    days.push(tail[i].clone());
                    i += 1;
                }
            }
            "time" if i + 1 < tail.len() => {
                time_w = Some(tail[i + 1]);
                i += 2;
            }
            _ => {
                syntax(diags);
                return None;
            }
        }
    }
    let time = time::window(&days, time_w, diags);
    let mut out = Vec::new();
    for n in names {
        match r.lookup(&n.text, diags) {
            // Goes into sudoers as is: `ALL`, `%group`, `+netgroup` or an
            // upper-case alias would grant far more than one user.
            Some(Resolved::User(user)) if !safe_name(&user.name) => diags.push(
                diagnostics::bad_access(
                    "user",
                    n.span,
                    "a login name (lower case letters, digits, _ and -): sudo reads others                      as keywords, groups or aliases",
                ),
            ),
            Some(Resolved::User(user)) => out.push(Grant {
                user,
                host: host.text.clone(),
                addr,
                port,
                time,
                span: n.span.to(words.last().map_or(n.span, |w| w.span)),
            }),
            Some(Resolved::Invalid) => {}
            Some(_) => {
                diags.push(diagnostics::wrong_kind(&n.text, r.kind_of(&n.text), "a user", n.span))
            }
            None => diags.push(
                diagnostics::unknown_name("user", &n.text, n.span, "define it with `user NAME uid N`")
                    .suggest(&n.text, r.names_of(&["a user"])),
            ),
        }
    }
    Some(out)
}

/// The server: a literal address, or a host object with one address.
fn server(w: &Word, r: &mut Resolver<'_>, diags: &mut Vec<Diagnostic>) -> Option<IpAddr> {
    if addr::is_literal(&w.text) {
        return addr::parse_addr(&w.text, w.span).map_err(|d| diags.push(d)).ok();
    }
    match r.lookup(&w.text, diags) {
        Some(Resolved::Addresses(items)) => match items.as_slice() {
            [AddrItem::Net(n)] if n.prefix_len() == n.max_prefix_len() => Some(n.addr()),
            _ => {
                diags.push(diagnostics::bad_access(
                    "user",
                    w.span,
                    "a host with exactly one address (the console server)",
                ));
                None
            }
        },
        Some(Resolved::Invalid) => None,
        Some(_) => {
            diags.push(diagnostics::wrong_kind(&w.text, r.kind_of(&w.text), "a host", w.span));
            None
        }
        None => {
            diags.push(
                diagnostics::unknown_name(
                    "host",
                    &w.text,
                    w.span,
                    "define the console server with `host NAME ADDRESS`",
                )
                .suggest(&w.text, r.names_of(&["a host"])),
            );
            None
        }
    }
}

fn check(a: &Access, diags: &mut Vec<Diagnostic>) {
    for (i, g) in a.grants.iter().enumerate() {
        if let Some(first) = a.grants[..i].iter().find(|f| f.user.name == g.user.name) {
            diags.push(diagnostics::second_console(&g.user.name, g.span, first.span));
        }
        if !a.consoles.is_empty()
            && !a.consoles.iter().any(|(lo, hi)| (*lo..=*hi).contains(&g.port))
        {
            diags.push(diagnostics::port_outside_consoles(g.port, g.span));
        }
    }
    if a.grants.is_empty() {
        diags.push(diagnostics::bad_access(
            "access",
            a.span,
            "at least one `user NAME to HOST port N` line",
        ));
    }
}

impl Access {
    /// The console ports: the declared ranges, or the granted ports.
    #[must_use]
    pub fn console_ports(&self) -> Vec<PortRange> {
        if self.consoles.is_empty() {
            let mut p: Vec<PortRange> = self.grants.iter().map(|g| (g.port, g.port)).collect();
            p.sort_unstable();
            p.dedup();
            p
        } else {
            self.consoles.clone()
        }
    }
}

/// Every declaration; two of one name are an error.
pub(crate) fn build_all(
    items: &[&ast::Access],
    r: &mut Resolver<'_>,
    firewalls: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Access> {
    let mut out: Vec<Access> = Vec::new();
    for a in items {
        if let Some(first) = out.iter().find(|o| o.name == a.name.text) {
            diags.push(diagnostics::duplicate_name(&a.name.text, a.name.span, first.span));
            continue;
        }
        out.push(build(a, r, firewalls, diags));
    }
    out
}
