//! The lab file: one statement per line (`;` also ends one), `{ }` blocks,
//! `#` comments, double-quoted text, split by the policy language's lexer.
//! Hand-written; every problem is a diagnostic with a span, and parsing
//! goes on at the next line so that one run reports every error.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use rampart_diag::{Diagnostic, FileId, Span};

use crate::describe::{
    Bridge, Endpoint, ExpectedRule, Interface, Lab, Link, Listener, ListenerProto, Node, Outcome,
    Port, Probe, ProbeKind, Route, RulesSource, Target, User,
};
use crate::diagnostics as d;

/// The lab, when the file has no errors, and every diagnostic found.
#[derive(Debug)]
pub struct Parsed {
    pub lab: Option<Lab>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

/// The lab file's tokens, from the policy language's lexer (the same
/// words, strings, `;`, `#` comments and lexical errors).
fn lex(text: &str, file: FileId, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    use rampart_syntax::lexer::{self, Kind};
    lexer::lex(text, file, diags)
        .into_iter()
        .map(|t| {
            let tok = match t.kind {
                Kind::Word => Tok::Word(t.text(text).to_owned()),
                Kind::Str => Tok::Text(lexer::unquote(t.text(text))),
                Kind::LBrace => Tok::Open,
                Kind::RBrace => Tok::Close,
                Kind::Comma => Tok::Comma,
                Kind::Newline | Kind::Eof => Tok::End,
            };
            Token { tok, span: t.span }
        })
        .collect()
}

/// One statement: its words (and texts) up to the end of the line, and
/// whether it opens a block.
struct Stmt {
    words: Vec<Token>,
    opens: bool,
    span: Span,
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

impl Parser<'_> {
    /// The next statement, or `None` at a `}` or the end of the file.
    fn stmt(&mut self) -> Option<Stmt> {
        loop {
            let t = self.toks.get(self.pos)?;
            match t.tok {
                Tok::End if self.pos + 1 == self.toks.len() => return None,
                Tok::End => self.pos += 1,
                Tok::Close => return None,
                _ => break,
            }
        }
        let mut words = Vec::new();
        let mut opens = false;
        while let Some(t) = self.toks.get(self.pos) {
            match t.tok {
                Tok::End | Tok::Close => break,
                Tok::Open => {
                    opens = true;
                    self.pos += 1;
                    break;
                }
                _ => {
                    words.push(t.clone());
                    self.pos += 1;
                }
            }
        }
        let span = words.first().map_or(self.toks[self.pos.min(self.toks.len() - 1)].span, |f| {
            f.span.to(words.last().map_or(f.span, |l| l.span))
        });
        Some(Stmt { words, opens, span })
    }

    /// Consumes the `}` that ends a block; reports it when missing.
    fn close(&mut self, open: Span) {
        match self.toks.get(self.pos) {
            Some(Token { tok: Tok::Close, .. }) => self.pos += 1,
            _ => self.diags.push(d::unclosed_block(open)),
        }
    }

    /// Skips a block that is not expected here.
    fn skip_block(&mut self) {
        let mut depth = 1;
        while let Some(t) = self.toks.get(self.pos) {
            self.pos += 1;
            match t.tok {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    fn line_of(&self, span: Span) -> usize {
        self.text[..span.start as usize].bytes().filter(|&c| c == b'\n').count() + 1
    }

    fn line_text(&self, span: Span) -> String {
        let start = self.text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
        let end = self.text[span.start as usize..]
            .find('\n')
            .map_or(self.text.len(), |i| i + span.start as usize);
        let line = &self.text[start..end];
        line.split('#').next().unwrap_or("").trim().to_owned()
    }
}

fn word(t: &Token) -> Option<&str> {
    match &t.tok {
        Tok::Word(w) => Some(w),
        _ => None,
    }
}

/// Splits the words after a keyword into comma-separated items.
fn items(words: &[Token]) -> Vec<&Token> {
    words.iter().filter(|t| t.tok != Tok::Comma).collect()
}

/// Parses a lab file. `path` names the file (its directory anchors the
/// relative paths in it, its stem is the default lab name).
#[must_use]
pub fn parse(path: &Path, text: &str, file: FileId) -> Parsed {
    let mut diags = Vec::new();
    let toks = lex(text, file, &mut diags);
    let mut p = Parser { toks, pos: 0, text, diags };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name: Option<String> = None;
    let mut firewall: Option<(Node, Option<RulesSource>)> = None;
    let mut hosts = Vec::new();
    let mut links = Vec::new();
    let mut bridges = Vec::new();
    let mut probes = Vec::new();

    loop {
        let Some(s) = p.stmt() else {
            if p.pos + 1 >= p.toks.len() {
                break;
            }
            // A stray `}` at the top level.
            let span = p.toks[p.pos].span;
            p.diags.push(d::unexpected(span, "`}` with no block open"));
            p.pos += 1;
            continue;
        };
        let Some(kw) = s.words.first().and_then(word) else {
            p.diags.push(d::unexpected(s.span, "a statement starts with a keyword"));
            if s.opens {
                p.skip_block();
            }
            continue;
        };
        let kw_span = s.words[0].span;
        match kw {
            "lab" => match s.words.get(1).and_then(word) {
                Some(n) if s.words.len() == 2 && valid_name(n) => name = Some(n.to_owned()),
                _ => p.diags.push(d::expected(s.span, "`lab NAME` (letters, digits, `-`, `_`)")),
            },
            "firewall" | "host" => {
                let Some((node, rules)) = node_stmt(&mut p, &s, kw, dir) else { continue };
                if node.firewall {
                    if let Some((first, _)) = &firewall {
                        p.diags.push(d::second_firewall(node.span, first.span));
                    } else {
                        firewall = Some((node, rules));
                    }
                } else {
                    hosts.push(node);
                }
            }
            "link" => links.extend(link_stmt(&mut p, &s)),
            "bridge" | "switch" => bridges.extend(bridge_block(&mut p, &s, kw)),
            "probe" => {
                if let Some(pr) = probe(&mut p, &s) {
                    probes.push(pr);
                }
            }
            other => {
                p.diags.push(d::unknown_statement(
                    other,
                    kw_span,
                    "lab, firewall, host, link, bridge, switch, probe",
                ));
                if s.opens {
                    p.skip_block();
                }
            }
        }
    }

    let mut diags = p.diags;
    let name = name.unwrap_or_else(|| {
        path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    });
    let Some((firewall, rules)) = firewall else {
        diags.push(d::no_firewall(Span::new(file, 0, 0)));
        return Parsed { lab: None, diagnostics: diags };
    };
    let Some(rules) = rules else {
        diags.push(d::no_rules(firewall.span));
        return Parsed { lab: None, diagnostics: diags };
    };
    let mut lab = Lab { name: sanitize(&name), firewall, rules, hosts, links, bridges, probes };
    crate::check::check(&mut lab, &mut diags);
    let ok = !diags.iter().any(Diagnostic::is_error);
    Parsed { lab: ok.then_some(lab), diagnostics: diags }
}

/// `firewall NAME { ... }` or `host NAME { ... }`: the node, and the
/// firewall's rules source.
fn node_stmt(
    p: &mut Parser<'_>,
    s: &Stmt,
    kw: &str,
    dir: &Path,
) -> Option<(Node, Option<RulesSource>)> {
    let Some(n) = s.words.get(1).and_then(word).filter(|n| valid_name(n)) else {
        p.diags.push(d::expected(s.span, &format!("`{kw} NAME {{`")));
        if s.opens {
            p.skip_block();
        }
        return None;
    };
    let is_fw = kw == "firewall";
    let mut node = Node {
        name: n.to_owned(),
        span: s.words[1].span,
        firewall: is_fw,
        interfaces: vec![],
        routes: vec![],
        forward: is_fw,
        users: vec![],
        listeners: vec![],
    };
    let mut rules = None;
    if s.opens {
        node_block(p, &mut node, &mut rules, dir);
        p.close(s.words[0].span);
    } else if s.words.len() > 2 {
        p.diags.push(d::expected(s.words[2].span, "`{` after the name"));
    }
    Some((node, rules))
}

/// `link NODE.IFACE NODE.IFACE`.
fn link_stmt(p: &mut Parser<'_>, s: &Stmt) -> Option<Link> {
    let ends: Vec<Endpoint> = s.words[1..].iter().filter_map(|t| endpoint(p, t)).collect();
    if s.words.len() != 3 || ends.len() != 2 {
        // A bad endpoint has been reported already.
        if ends.len() == s.words.len() - 1 {
            p.diags.push(d::expected(s.span, "`link NODE.IFACE NODE.IFACE`"));
        }
        return None;
    }
    let mut it = ends.into_iter();
    Some(Link { a: it.next()?, b: it.next()? })
}

/// `bridge NAME { ... }` or `switch NAME { ... }`.
fn bridge_block(p: &mut Parser<'_>, s: &Stmt, kw: &str) -> Option<Bridge> {
    let Some(n) = s.words.get(1).and_then(word).filter(|n| valid_iface(n)) else {
        p.diags.push(d::expected(s.span, &format!("`{kw} NAME {{` (an interface name)")));
        if s.opens {
            p.skip_block();
        }
        return None;
    };
    let mut br = Bridge {
        name: n.to_owned(),
        filtered: kw == "bridge",
        span: s.words[1].span,
        ports: vec![],
    };
    if s.opens {
        while let Some(ps) = p.stmt() {
            bridge_stmt(p, &ps, &mut br);
        }
        p.close(s.words[0].span);
    }
    Some(br)
}

/// Lab names become part of namespace names: keep them short and plain.
fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .take(24)
        .collect();
    if s.is_empty() { "lab".into() } else { s }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 20
        && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

/// Linux interface names: at most 15 bytes, no `/`, `:` or `.`.
fn valid_iface(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 15
        && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

fn endpoint(p: &mut Parser<'_>, t: &Token) -> Option<Endpoint> {
    let w = word(t)?;
    match w.split_once('.') {
        Some((n, i)) if valid_name(n) && valid_iface(i) => {
            Some(Endpoint { node: n.to_owned(), iface: i.to_owned(), span: t.span })
        }
        _ => {
            p.diags.push(d::bad_endpoint(w, t.span));
            None
        }
    }
}

fn node_block(p: &mut Parser<'_>, node: &mut Node, rules: &mut Option<RulesSource>, dir: &Path) {
    while let Some(s) = p.stmt() {
        if s.opens {
            p.diags.push(d::unexpected(s.span, "no blocks inside a host or firewall"));
            p.skip_block();
            continue;
        }
        let Some(kw) = s.words.first().and_then(word) else {
            p.diags.push(d::unexpected(s.span, "a statement starts with a keyword"));
            continue;
        };
        let args = &s.words[1..];
        match kw {
            "interface" => node.interfaces.extend(interface_stmt(p, &s)),
            "route" | "gateway" => node.routes.extend(route_stmt(p, &s, kw)),
            "forward" => match args.first().and_then(word) {
                Some("on") if args.len() == 1 => node.forward = true,
                Some("off") if args.len() == 1 => node.forward = false,
                _ => p.diags.push(d::expected(s.span, "`forward on` or `forward off`")),
            },
            "user" => match args {
                [n, uid] if word(n).is_some_and(valid_name) => {
                    match word(uid).and_then(|u| u.parse::<u32>().ok()) {
                        Some(uid) => {
                            node.users.push(User { name: word(n).unwrap_or("").into(), uid })
                        }
                        None => p.diags.push(d::bad_number(uid.span, "a UID")),
                    }
                }
                _ => p.diags.push(d::expected(s.span, "`user NAME UID`")),
            },
            "listen" => node.listeners.extend(listen_stmt(p, &s)),
            "policy" | "rules" if node.firewall => match args {
                [Token { tok: Tok::Text(f), .. }] => {
                    if rules.is_some() {
                        p.diags.push(d::unexpected(
                            s.span,
                            "the firewall has one `policy` or `rules`",
                        ));
                    }
                    let path = dir.join(f);
                    *rules = Some(if kw == "policy" {
                        RulesSource::Policy(path)
                    } else {
                        RulesSource::Rules(path)
                    });
                }
                _ => p.diags.push(d::expected(s.span, &format!("`{kw} \"FILE\"`"))),
            },
            other => {
                let allowed = if node.firewall {
                    "policy, rules, interface, route, gateway, forward, user, listen"
                } else {
                    "interface, route, gateway, forward, user, listen"
                };
                p.diags.push(d::unknown_statement(other, s.words[0].span, allowed));
            }
        }
    }
}

/// `interface NAME [ADDRESS/LEN, ...]`.
fn interface_stmt(p: &mut Parser<'_>, s: &Stmt) -> Option<Interface> {
    let args = &s.words[1..];
    let Some(n) = args.first().and_then(word).filter(|n| valid_iface(n)) else {
        p.diags.push(d::expected(s.span, "`interface NAME [ADDRESS/LEN, ...]`"));
        return None;
    };
    let mut addrs = Vec::new();
    for t in items(&args[1..]) {
        match word(t).and_then(|w| w.parse::<IpNet>().ok()) {
            Some(a) => addrs.push(a),
            None => p.diags.push(d::bad_address(t.span)),
        }
    }
    Some(Interface { name: n.to_owned(), addrs, span: args[0].span })
}

/// `route NETWORK via ADDRESS` or `gateway ADDRESS`.
fn route_stmt(p: &mut Parser<'_>, s: &Stmt, kw: &str) -> Option<Route> {
    let (to, via) = match (kw, &s.words[1..]) {
        ("gateway", [gw]) => ("default".to_owned(), gw),
        ("route", [to, v, gw]) if word(v) == Some("via") => {
            let t = word(to).unwrap_or("");
            if t != "default" && t.parse::<IpNet>().is_err() {
                p.diags.push(d::bad_address(to.span));
                return None;
            }
            (t.to_owned(), gw)
        }
        _ => {
            p.diags.push(d::expected(s.span, "`route NETWORK via ADDRESS` or `gateway ADDRESS`"));
            return None;
        }
    };
    match word(via).and_then(|w| w.parse::<IpAddr>().ok()) {
        Some(via) => Some(Route { to, via }),
        None => {
            p.diags.push(d::bad_address(via.span));
            None
        }
    }
}

/// `listen tcp|udp PORT, ...`: the listeners whose ports read.
fn listen_stmt(p: &mut Parser<'_>, s: &Stmt) -> Vec<Listener> {
    let args = &s.words[1..];
    let proto = match args.first().and_then(word) {
        Some("tcp") => ListenerProto::Tcp,
        Some("udp") => ListenerProto::Udp,
        _ => {
            p.diags.push(d::expected(s.span, "`listen tcp|udp PORT, ...`"));
            return vec![];
        }
    };
    let ports = items(&args[1..]);
    if ports.is_empty() {
        p.diags.push(d::expected(s.span, "`listen tcp|udp PORT, ...`"));
    }
    let mut out = Vec::new();
    for t in ports {
        match word(t).and_then(|w| w.parse::<u16>().ok()).filter(|&n| n > 0) {
            Some(port) => out.push(Listener { proto, port }),
            None => p.diags.push(d::bad_number(t.span, "a port (1-65535)")),
        }
    }
    out
}

fn bridge_stmt(p: &mut Parser<'_>, s: &Stmt, br: &mut Bridge) {
    if s.opens {
        p.diags.push(d::unexpected(s.span, "no blocks inside a bridge"));
        p.skip_block();
        return;
    }
    match s.words.as_slice() {
        [kw, n, peer] if word(kw) == Some("port") => {
            let Some(name) = word(n).filter(|n| valid_iface(n)) else {
                p.diags.push(d::expected(n.span, "a port name (an interface name)"));
                return;
            };
            if let Some(peer) = endpoint(p, peer) {
                br.ports.push(Port { name: name.to_owned(), peer });
            }
        }
        [kw, ..] if word(kw) == Some("port") => {
            p.diags.push(d::expected(s.span, "`port NAME NODE.IFACE` or `port NAME BRIDGE.PORT`"));
        }
        [kw, ..] => {
            let w = word(kw).unwrap_or("text");
            p.diags.push(d::unknown_statement(w, kw.span, "port"));
        }
        [] => {}
    }
}

/// The clauses of a probe line, as read so far.
#[derive(Default)]
struct ProbeClauses {
    from: Option<(String, Span)>,
    uid: Option<u32>,
    user: Option<(String, Span)>,
    to: Option<Target>,
    port: Option<u16>,
    mitm: Option<(String, Span)>,
    expect: Option<Outcome>,
    rule: Option<ExpectedRule>,
    log: Option<String>,
}

impl ProbeClauses {
    /// Reads the clause starting at `w[i]`: how many words it took, or
    /// `None` after reporting what is wrong with it.
    fn clause(&mut self, p: &mut Parser<'_>, w: &[Token], i: usize) -> Option<usize> {
        let kw = word(&w[i]).unwrap_or("");
        let arg = w.get(i + 1);
        let need = |p: &mut Parser<'_>, what: &str| {
            p.diags.push(d::expected(w[i].span, &format!("`{kw}` followed by {what}")));
        };
        match kw {
            "pass" | "blocked" => {
                self.expect = Some(if kw == "pass" { Outcome::Pass } else { Outcome::Blocked });
                return Some(1);
            }
            "from" | "to" | "mitm" | "user" => {
                let (Some(a), Some(at)) = (arg.and_then(word), arg) else {
                    need(p, "a name");
                    return None;
                };
                let named = Some((a.to_owned(), at.span));
                match kw {
                    "from" => self.from = named,
                    "mitm" => self.mitm = named,
                    "user" => self.user = named,
                    _ => {
                        self.to = Some(match a.parse::<IpAddr>() {
                            Ok(ip) => Target::Addr(ip),
                            Err(_) => Target::Node(a.to_owned(), at.span),
                        });
                    }
                }
            }
            "uid" | "port" => {
                let n = arg.and_then(word).and_then(|a| a.parse::<u32>().ok());
                match (kw, n) {
                    ("uid", Some(n)) => self.uid = Some(n),
                    ("port", Some(n)) if (1..=65535).contains(&n) => {
                        self.port = u16::try_from(n).ok();
                    }
                    _ => {
                        need(p, if kw == "uid" { "a number" } else { "a port (1-65535)" });
                        return None;
                    }
                }
            }
            "rule" => {
                let Some(r) = arg.and_then(word).and_then(parse_expected_rule) else {
                    need(p, "a policy rule number (7) or CHAIN:INDEX (INPUT:3)");
                    return None;
                };
                self.rule = Some(r);
            }
            "log" => {
                let Some(Tok::Text(t)) = arg.map(|t| &t.tok) else {
                    need(p, "a quoted log prefix");
                    return None;
                };
                self.log = Some(t.clone());
            }
            _ => {
                p.diags.push(d::unknown_statement(
                    word(&w[i]).unwrap_or("text"),
                    w[i].span,
                    "from, user, uid, to, port, mitm, pass, blocked, rule, log",
                ));
                return None;
            }
        }
        Some(2)
    }
}

fn probe_kind(p: &mut Parser<'_>, s: &Stmt) -> Option<ProbeKind> {
    let w = &s.words;
    match w.get(1).and_then(word) {
        Some("ping") => Some(ProbeKind::Ping),
        Some("tcp") => Some(ProbeKind::Tcp),
        Some("udp") => Some(ProbeKind::Udp),
        _ => {
            let span = w.get(1).map_or(s.span, |t| t.span);
            p.diags.push(d::expected(span, "a probe kind: ping, tcp or udp"));
            None
        }
    }
}

fn probe(p: &mut Parser<'_>, s: &Stmt) -> Option<Probe> {
    if s.opens {
        p.diags.push(d::unexpected(s.span, "a probe is one line"));
        p.skip_block();
        return None;
    }
    let kind = probe_kind(p, s)?;
    let mut c = ProbeClauses::default();
    let mut i = 2;
    while i < s.words.len() {
        i += c.clause(p, &s.words, i)?;
    }
    let (Some((from, from_span)), Some(to), Some(expect)) = (c.from, c.to, c.expect) else {
        p.diags.push(d::expected(
            s.span,
            "`from NODE`, `to NODE|ADDRESS` and `pass` or `blocked` in a probe",
        ));
        return None;
    };
    if kind != ProbeKind::Ping && c.port.is_none() {
        p.diags.push(d::expected(s.span, "`port N` on a tcp or udp probe"));
        return None;
    }
    if kind == ProbeKind::Ping && c.port.is_some() {
        p.diags.push(d::unexpected(s.span, "a ping has no port"));
        return None;
    }
    Some(Probe {
        kind,
        from,
        from_span,
        uid: c.uid,
        user: c.user,
        to,
        port: c.port,
        mitm: c.mitm,
        expect,
        rule: c.rule,
        log: c.log,
        line: p.line_of(s.span),
        text: p.line_text(s.span),
    })
}

fn parse_expected_rule(w: &str) -> Option<ExpectedRule> {
    if let Ok(n) = w.parse::<u32>() {
        return Some(ExpectedRule::Policy(n));
    }
    let (c, i) = w.rsplit_once(':')?;
    let i: usize = i.parse().ok().filter(|&i| i > 0)?;
    (!c.is_empty()).then(|| ExpectedRule::Chain(c.to_owned(), i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::Target;

    fn parse_text(text: &str) -> Parsed {
        parse(Path::new("/labs/t.lab"), text, FileId(0))
    }

    fn codes(p: &Parsed) -> Vec<&'static str> {
        p.diagnostics.iter().map(|d| d.code).collect()
    }

    const GOOD: &str = r#"
firewall fw {
  policy "p.rp"   # relative to the lab file
  interface eth0 10.0.0.1/24
  user alice 1000
}
bridge br0 { port p1 a.eth0; port p2 br1.p3 }
bridge br1 { port p4 b.eth0 }
host a { interface eth0 10.0.0.2/24; gateway 10.0.0.1; listen tcp 80, 443 }
host b {
  interface eth0 10.0.0.3/24
  route 10.9.0.0/16 via 10.0.0.1
  listen udp 53
}
link fw.eth0 b.eth1
probe tcp from fw user alice to a port 80 pass rule 7 log "RULE 7 -- DENY "
probe ping from a to 10.0.0.3 mitm b blocked rule FORWARD:3
"#;

    #[test]
    fn a_whole_lab() {
        let text = GOOD
            .replace("link fw.eth0 b.eth1", "link fw.eth0 b.eth0")
            .replace("port p4 b.eth0", "port p4 a.eth1");
        let text = text.replace(
            "host a { interface eth0 10.0.0.2/24;",
            "host a { interface eth0 10.0.0.2/24; interface eth1;",
        );
        let p = parse_text(&text);
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let lab = p.lab.unwrap();
        assert_eq!(lab.name, "t");
        assert!(matches!(&lab.rules, RulesSource::Policy(f) if f == Path::new("/labs/p.rp")));
        assert_eq!(lab.hosts.len(), 2);
        assert_eq!(lab.bridges[0].ports.len(), 2);
        assert_eq!(lab.hosts[0].listeners.len(), 2);
        assert_eq!(lab.hosts[1].routes[0].to, "10.9.0.0/16");
        let p0 = &lab.probes[0];
        assert_eq!(p0.uid, Some(1000));
        assert_eq!(p0.rule, Some(ExpectedRule::Policy(7)));
        assert_eq!(p0.log.as_deref(), Some("RULE 7 -- DENY "));
        assert!(matches!(p0.to, Target::Node(ref n, _) if n == "a"));
        let p1 = &lab.probes[1];
        assert_eq!(p1.mitm.as_ref().map(|m| m.0.as_str()), Some("b"));
        assert_eq!(p1.rule, Some(ExpectedRule::Chain("FORWARD".into(), 3)));
        assert_eq!(p1.line, 17);
    }

    #[test]
    fn every_error_is_reported_with_its_place() {
        let p = parse_text(
            "firewall fw {\n  interface eth0 10.0.0.1/40\n}\nhost a {\n  colour red\n}\n\
             link fw.eth0 a.eth9\nprobe tcp from a to fw pass\nprobe ping from nobody to fw pass\n",
        );
        assert!(p.lab.is_none());
        let c = codes(&p);
        for want in ["E0508", "E0505", "E0512"] {
            assert!(c.contains(&want), "{want} not in {c:?}");
        }
        let bad = p.diagnostics.iter().find(|d| d.code == "E0508").unwrap();
        assert_eq!(bad.span().map(|s| s.start), Some(31));
    }

    #[test]
    fn names_and_links_are_checked() {
        let p = parse_text(
            "firewall fw { rules \"r.save\"; interface eth0 }\nhost a { interface eth0 }\n\
             host a { interface eth0 }\nlink fw.eth0 a.eth9\nlink fw.eth0 a.eth0\n\
             probe ping from a user bob to fw pass\n",
        );
        let c = codes(&p);
        for want in ["E0513", "E0515", "E0516", "E0517"] {
            assert!(c.contains(&want), "{want} not in {c:?}");
        }
    }

    #[test]
    fn unclosed_blocks_and_stray_text() {
        let p = parse_text("firewall fw {\n  rules \"x\"\nhost a { interface eth0 \"oops\n");
        let c = codes(&p);
        // The policy language's lexer reports the open string.
        assert!(c.contains(&"E0002"), "{c:?}");
        assert!(c.contains(&"E0506"), "{c:?}");
        // And refuses a control character, as in a policy.
        let p = parse_text("lab t\nfirewall fw { rules \"x\u{1b}\" }\n");
        assert!(codes(&p).contains(&"E0008"), "{:?}", codes(&p));
    }
}
