//! Recursive descent over the token stream, one statement per line.
//!
//! On an error the parser reports it and skips to the end of the line, so one
//! run shows every problem in the file.

use rampart_diag::{Diagnostic, FileId, Span};

use crate::Parsed;
use crate::ast::{
    Access, Bridge, BridgePort, Column, Firewall, Interface, Item, Policy, Rule, RuleSet,
    ServiceClause, Setting, Text, Value, Word,
};
use crate::diagnostics;
use crate::lexer::{self, Kind, Token};

mod limit;

/// Parse one policy file.
#[must_use]
pub fn parse(src: &str, file: FileId) -> Parsed<Policy> {
    let mut diagnostics = Vec::new();
    let tokens = lexer::lex(src, file, &mut diagnostics);
    let mut p = Parser { src, tokens, pos: 0, diags: diagnostics, skipped: Vec::new() };
    let ast = p.policy();
    Parsed { ast, diagnostics: p.diags, skipped: p.skipped }
}

/// A statement could not be parsed; it has been reported.
struct Reported;

type PResult<T> = Result<T, Reported>;

const TOP_LEVEL: &str =
    "include, host, network, range, group, service, set, user, firewall, access";
const FIREWALL_LEVEL: &str = "interface, bridge, ruleset, nat, expect, or an option (log-prefix, log-level, log-limit, default, \
                              accept-established, backup-ssh, forward, self-in-networks, entry)";
const PROTOCOLS: [&str; 7] = ["tcp", "udp", "icmp", "icmpv6", "proto", "any", "ip"];

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    diags: Vec<Diagnostic>,
    skipped: Vec<Span>,
}

impl Parser<'_> {
    fn peek(&self) -> Token {
        self.tokens[self.pos]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if t.kind != Kind::Eof {
            self.pos += 1;
        }
        t
    }

    fn text(&self, t: Token) -> &str {
        t.text(self.src)
    }

    fn describe(&self, t: Token) -> String {
        match t.kind {
            Kind::Word => format!("`{}`", self.text(t)),
            Kind::Str => "a string".into(),
            Kind::LBrace => "`{`".into(),
            Kind::RBrace => "`}`".into(),
            Kind::Comma => "`,`".into(),
            Kind::Newline => "end of line".into(),
            Kind::Eof => "end of file".into(),
        }
    }

    fn at_word(&self, w: &str) -> bool {
        let t = self.peek();
        t.kind == Kind::Word && self.text(t) == w
    }

    fn eat_word(&mut self, w: &str) -> Option<Span> {
        self.at_word(w).then(|| self.bump().span)
    }

    fn word(&mut self, what: &str) -> PResult<Word> {
        let t = self.peek();
        if t.kind == Kind::Word {
            self.bump();
            Ok(Word { text: self.text(t).to_owned(), span: t.span })
        } else {
            Err(self.error_expected(what, t))
        }
    }

    fn string(&mut self, what: &str) -> PResult<Text> {
        let t = self.peek();
        if t.kind == Kind::Str {
            self.bump();
            Ok(Text { value: lexer::unquote(self.text(t)), span: t.span })
        } else {
            Err(self.error_expected(what, t))
        }
    }

    fn error_expected(&mut self, what: &str, t: Token) -> Reported {
        let found = self.describe(t);
        self.diags.push(diagnostics::expected(what, &found, t.span));
        Reported
    }

    fn at_line_end(&self) -> bool {
        matches!(self.peek().kind, Kind::Newline | Kind::Eof | Kind::RBrace)
    }

    fn skip_newlines(&mut self) {
        while self.peek().kind == Kind::Newline {
            self.bump();
        }
    }

    fn end_statement(&mut self) -> PResult<()> {
        if self.at_line_end() {
            if self.peek().kind == Kind::Newline {
                self.bump();
            }
            Ok(())
        } else {
            let t = self.peek();
            Err(self.error_expected("end of line", t))
        }
    }

    /// Skip the rest of a broken statement that began at `from`, including
    /// any block it opened, and keep the span of its text.
    fn recover(&mut self, from: Span) {
        let mut depth = 0usize;
        let mut end = from.end;
        loop {
            let t = self.peek();
            match t.kind {
                Kind::Eof => break,
                Kind::Newline | Kind::RBrace if depth == 0 => break,
                Kind::LBrace => depth += 1,
                Kind::RBrace => depth -= 1,
                _ => {}
            }
            end = t.span.end;
            self.bump();
        }
        if self.peek().kind == Kind::Newline {
            self.bump();
        }
        self.skipped.push(Span { end, ..from });
    }

    /// `WORD (, WORD)*`, newlines allowed after a comma.
    fn word_list(&mut self, what: &str) -> PResult<Vec<Word>> {
        let mut items = vec![self.word(what)?];
        while self.peek().kind == Kind::Comma {
            self.bump();
            self.skip_newlines();
            items.push(self.word(what)?);
        }
        Ok(items)
    }

    fn policy(&mut self) -> Policy {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            let t = self.peek();
            match t.kind {
                Kind::Eof => break,
                Kind::RBrace => {
                    self.bump();
                    let found = self.describe(t);
                    self.diags.push(diagnostics::expected("a statement", &found, t.span));
                }
                _ => match self.item() {
                    Ok(item) => items.push(item),
                    Err(Reported) => self.recover(t.span),
                },
            }
        }
        Policy { items }
    }

    fn item(&mut self) -> PResult<Item> {
        let kw = self.word("a statement")?;
        let item = match kw.text.as_str() {
            "include" => Item::Include(self.string("a file name in double quotes")?),
            "host" => {
                let name = self.word("a host name")?;
                Item::Host { name, addrs: self.word_list("an address")? }
            }
            "network" => {
                let name = self.word("a network name")?;
                Item::Network { name, net: self.word("a network such as 10.0.0.0/8")? }
            }
            "range" => self.range()?,
            "group" => self.group()?,
            "service" => self.service()?,
            "user" => self.user()?,
            "set" => {
                let name = self.word("a set name")?;
                if self.peek().kind == Kind::Word && self.text(self.peek()) == "from" {
                    self.bump();
                    let file = self.string("a file name in double quotes")?;
                    Item::AddressTable { name, file, addrs: Vec::new() }
                } else {
                    let mut words = Vec::new();
                    while self.peek().kind == Kind::Word {
                        words.push(self.word("a word")?);
                    }
                    Item::Set { name, words }
                }
            }
            "firewall" => return Ok(Item::Firewall(self.firewall()?)),
            "access" => return Ok(Item::Access(self.access()?)),
            other => {
                self.diags.push(diagnostics::unknown_statement(
                    other,
                    kw.span,
                    "at top level",
                    TOP_LEVEL,
                ));
                return Err(Reported);
            }
        };
        self.end_statement()?;
        Ok(item)
    }

    fn range(&mut self) -> PResult<Item> {
        let name = self.word("a range name")?;
        let first = self.word("the first address")?;
        if self.eat_word("-").is_some() {
            let last = self.word("the last address")?;
            return Ok(Item::Range { name, first, last });
        }
        // `10.0.0.1-10.0.0.9` as one word
        match first.text.split_once('-') {
            Some((a, b)) => {
                let s = first.span;
                let mid = s.start as usize + a.len();
                Ok(Item::Range {
                    name,
                    first: Word {
                        text: a.to_owned(),
                        span: Span::new(s.file, s.start as usize, mid),
                    },
                    last: Word {
                        text: b.to_owned(),
                        span: Span::new(s.file, mid + 1, s.end as usize),
                    },
                })
            }
            None => {
                let t = self.peek();
                Err(self.error_expected("`-` and the last address", t))
            }
        }
    }

    fn group(&mut self) -> PResult<Item> {
        let name = self.word("a group name")?;
        let mut members = Vec::new();
        if self.peek().kind == Kind::LBrace {
            let open = self.bump().span;
            loop {
                self.skip_newlines();
                match self.peek().kind {
                    Kind::RBrace => {
                        self.bump();
                        break;
                    }
                    Kind::Eof => {
                        self.diags.push(diagnostics::unclosed_block(open));
                        return Err(Reported);
                    }
                    Kind::Comma => {
                        self.bump();
                    }
                    _ => members.push(self.word("a group member")?),
                }
            }
        } else {
            members = self.word_list("a group member")?;
        }
        Ok(Item::Group { name, members })
    }

    fn service(&mut self) -> PResult<Item> {
        let name = self.word("a service name")?;
        let mut clauses = Vec::new();
        loop {
            let proto = self.word("a protocol (tcp, udp, icmp, icmpv6, proto N, any)")?;
            if !PROTOCOLS.contains(&proto.text.as_str()) {
                self.diags.push(
                    diagnostics::expected("a protocol", &format!("`{}`", proto.text), proto.span)
                        .with_help("one of: tcp, udp, icmp, icmpv6, proto NUMBER, any"),
                );
                return Err(Reported);
            }
            let mut clause = ServiceClause { proto, sports: vec![], dports: vec![] };
            loop {
                if self.at_line_end() {
                    break;
                }
                if self.peek().kind == Kind::Comma {
                    // a comma either continues a value list or separates clauses
                    self.bump();
                    self.skip_newlines();
                }
                // `any` after a protocol is its value (every port or type of
                // that protocol), never a clause of every protocol
                let t = self.peek();
                if t.kind != Kind::Word
                    || (self.text(t) != "any" && PROTOCOLS.contains(&self.text(t)))
                {
                    break;
                }
                if self.eat_word("sport").is_some() {
                    clause.sports.extend(self.word_list("a source port")?);
                } else if self.eat_word("dport").is_some() {
                    clause.dports.extend(self.word_list("a destination port")?);
                } else {
                    clause.dports.push(self.word("a port")?);
                }
            }
            clauses.push(clause);
            if self.at_line_end() {
                break;
            }
        }
        Ok(Item::Service { name, clauses })
    }

    fn user(&mut self) -> PResult<Item> {
        let name = self.word("a user name")?;
        if self.eat_word("uid").is_none() {
            let t = self.peek();
            return Err(self.error_expected("`uid`", t));
        }
        let uid = self.word("a numeric UID")?;
        let gid =
            if self.eat_word("gid").is_some() { Some(self.word("a numeric GID")?) } else { None };
        Ok(Item::User { name, uid, gid })
    }

    fn open_block(&mut self) -> PResult<Span> {
        let t = self.peek();
        if t.kind == Kind::LBrace {
            self.bump();
            Ok(t.span)
        } else {
            Err(self.error_expected("`{`", t))
        }
    }

    fn firewall(&mut self) -> PResult<Firewall> {
        let name = self.word("a firewall name")?;
        let open = self.open_block()?;
        let mut fw = Firewall {
            name,
            interfaces: vec![],
            bridges: vec![],
            options: vec![],
            rulesets: vec![],
            nat: vec![],
            expects: vec![],
        };
        loop {
            self.skip_newlines();
            match self.peek().kind {
                Kind::RBrace => {
                    self.bump();
                    return Ok(fw);
                }
                Kind::Eof => {
                    self.diags.push(diagnostics::unclosed_block(open));
                    return Ok(fw);
                }
                _ => {
                    let from = self.peek().span;
                    if let Err(Reported) = self.firewall_statement(&mut fw) {
                        self.recover(from);
                    }
                }
            }
        }
    }

    fn firewall_statement(&mut self, fw: &mut Firewall) -> PResult<()> {
        let kw = self.word("a firewall statement")?;
        match kw.text.as_str() {
            "interface" => {
                let name = self.word("an interface name")?;
                let mut iface = Interface { name, addrs: vec![], flags: vec![] };
                while !self.at_line_end() {
                    if self.peek().kind == Kind::Comma {
                        self.bump();
                        continue;
                    }
                    let w = self.word("an address or flag")?;
                    if matches!(w.text.as_str(), "loopback" | "dynamic" | "management") {
                        iface.flags.push(w);
                    } else {
                        iface.addrs.push(w);
                    }
                }
                fw.interfaces.push(iface);
                self.end_statement()
            }
            "bridge" => {
                let b = self.bridge()?;
                fw.bridges.push(b);
                Ok(())
            }
            "ruleset" => {
                let rs = self.ruleset()?;
                fw.rulesets.push(rs);
                Ok(())
            }
            "nat" => {
                let open = self.open_block()?;
                fw.nat.extend(self.rules(open));
                Ok(())
            }
            "expect" => {
                let mut rule = self.rule()?;
                rule.span = kw.span.to(rule.span);
                fw.expects.push(rule);
                Ok(())
            }
            "log-prefix" | "log-level" | "log-limit" | "default" | "accept-established"
            | "backup-ssh" | "forward" | "self-in-networks" | "entry" => {
                let mut values = Vec::new();
                while !self.at_line_end() {
                    let t = self.peek();
                    match t.kind {
                        Kind::Str => values.push(Value::Text(self.string("a value")?)),
                        Kind::Word => values.push(Value::Word(self.word("a value")?)),
                        _ => return Err(self.error_expected("a value", t)),
                    }
                }
                fw.options.push(Setting { key: kw, values });
                self.end_statement()
            }
            other => {
                self.diags.push(diagnostics::unknown_statement(
                    other,
                    kw.span,
                    "in a firewall",
                    FIREWALL_LEVEL,
                ));
                Err(Reported)
            }
        }
    }

    fn bridge(&mut self) -> PResult<Bridge> {
        let name = self.word("a bridge name")?;
        let open = self.open_block()?;
        let mut bridge = Bridge { name, options: vec![], ports: vec![] };
        loop {
            self.skip_newlines();
            match self.peek().kind {
                Kind::RBrace => {
                    self.bump();
                    return Ok(bridge);
                }
                Kind::Eof => {
                    self.diags.push(diagnostics::unclosed_block(open));
                    return Ok(bridge);
                }
                _ => {
                    let from = self.peek().span;
                    if let Err(Reported) = self.bridge_statement(&mut bridge) {
                        self.recover(from);
                    }
                }
            }
        }
    }

    fn bridge_statement(&mut self, bridge: &mut Bridge) -> PResult<()> {
        let kind = self.word("a bridge statement")?;
        match kind.text.as_str() {
            "guest" | "border" | "port" => {
                let name = self.word("a bridge port name")?;
                let mut rest = Vec::new();
                while !self.at_line_end() {
                    if self.peek().kind == Kind::Comma {
                        self.bump();
                        self.skip_newlines();
                        continue;
                    }
                    rest.push(
                        self.word("an address, `mac`, `to`, `host`, `beyond` or `arp-guard`")?,
                    );
                }
                bridge.ports.push(BridgePort { kind, name, rest });
            }
            "arp-guard" => bridge.options.push(kind),
            other => {
                self.diags.push(diagnostics::unknown_statement(
                    other,
                    kind.span,
                    "in a bridge",
                    "guest PORT ADDR..., border PORT to PEER, border PORT to host IFACE, port PORT, arp-guard",
                ));
                return Err(Reported);
            }
        }
        self.end_statement()
    }

    fn ruleset(&mut self) -> PResult<RuleSet> {
        let name = self.word("a rule set name")?;
        let open = self.open_block()?;
        Ok(RuleSet { name, rules: self.rules(open) })
    }

    /// Rules up to the `}` of the block opened at `open`.
    fn rules(&mut self, open: Span) -> Vec<Rule> {
        // Sized once by the lines up to the closing brace (a rule is one
        // line): 100,000 rules grown by doubling held room for 131,072,
        // and twice that while the last growth copied them.
        self.skip_newlines();
        let lines = self.tokens[self.pos..]
            .iter()
            .take_while(|t| !matches!(t.kind, Kind::RBrace | Kind::Eof))
            .filter(|t| t.kind == Kind::Newline)
            .count();
        let mut rules = Vec::with_capacity(lines);
        loop {
            self.skip_newlines();
            match self.peek().kind {
                Kind::RBrace => {
                    self.bump();
                    return rules;
                }
                Kind::Eof => {
                    self.diags.push(diagnostics::unclosed_block(open));
                    return rules;
                }
                _ => {
                    let from = self.peek().span;
                    match self.rule() {
                        Ok(r) => rules.push(r),
                        Err(Reported) => self.recover(from),
                    }
                }
            }
        }
    }

    /// `access NAME for FIREWALL { KEY VALUE... }`, one statement per line.
    fn access(&mut self) -> PResult<Access> {
        let name = self.word("an access name")?;
        if self.eat_word("for").is_none() {
            let t = self.peek();
            return Err(self.error_expected("`for` and a firewall name", t));
        }
        let firewall = self.word("a firewall name")?;
        let open = self.open_block()?;
        let mut access = Access { name, firewall, statements: vec![] };
        loop {
            self.skip_newlines();
            match self.peek().kind {
                Kind::RBrace => {
                    self.bump();
                    return Ok(access);
                }
                Kind::Eof => {
                    self.diags.push(diagnostics::unclosed_block(open));
                    return Ok(access);
                }
                _ => {
                    let from = self.peek().span;
                    match self.access_statement() {
                        Ok(s) => access.statements.push(s),
                        Err(Reported) => self.recover(from),
                    }
                }
            }
        }
    }

    fn access_statement(&mut self) -> PResult<Setting> {
        let key = self.word("an access statement (viewer, group, password, consoles, user)")?;
        let mut values = Vec::new();
        while !self.at_line_end() {
            let t = self.peek();
            match t.kind {
                Kind::Comma => {
                    self.bump();
                    self.skip_newlines();
                }
                Kind::Str => values.push(Value::Text(self.string("a value")?)),
                Kind::Word => values.push(Value::Word(self.word("a value")?)),
                _ => return Err(self.error_expected("a value", t)),
            }
        }
        self.end_statement()?;
        Ok(Setting { key, values })
    }

    fn column(&mut self, keyword: Span, what: &str) -> PResult<Column> {
        let not = self.eat_word("not");
        Ok(Column { keyword, not, items: self.word_list(what)? })
    }

    fn rule(&mut self) -> PResult<Rule> {
        let action = self.word("a rule action")?;
        let argument = match action.text.as_str() {
            "branch" => Some(self.word("the rule set to branch to")?),
            "antispoof" => Some(self.word("an interface")?),
            "mark" => Some(self.word("a mark such as 1 or 0x10/0xff")?),
            "reject" if self.eat_word("with").is_some() => Some(self.word("a reject reply")?),
            "snat" | "dnat" | "redirect" => {
                if self.eat_word("to").is_none() {
                    let t = self.peek();
                    return Err(self.error_expected("`to` and what to translate to", t));
                }
                Some(self.word("an address or port to translate to")?)
            }
            _ => None,
        };
        let mut r = Rule {
            span: action.span,
            action,
            argument: argument.map(Box::new),
            from: None,
            to: None,
            service: None,
            on: None,
            direction: None,
            user: None,
            days: None,
            time: None,
            log: None,
            stateless: None,
            limit: None,
            connlimit: None,
            log_limit: None,
            log_prefix: None,
            mark: None,
            marked: None,
            tcp_flags: None,
            disabled: None,
            number: None,
            comment: None,
        };
        let mut after_log = false;
        while !self.at_line_end() {
            let t = self.peek();
            if t.kind == Kind::Str {
                // a bare string at the end of a rule is its comment
                let prev = self.tokens[self.pos.saturating_sub(1)];
                after_log = r.comment.is_none() && self.text(prev) == "log";
                let text = self.string("a comment")?;
                self.set_once(&mut r.comment, text, t.span, false)?;
                continue;
            }
            let w = self.word("a rule clause")?;
            match w.text.as_str() {
                "from" => {
                    let c = self.column(w.span, "an address or object")?;
                    self.set_once(&mut r.from, c, w.span, false)?;
                }
                "to" => {
                    let c = self.column(w.span, "an address or object")?;
                    self.set_once(&mut r.to, c, w.span, false)?;
                }
                "service" => {
                    let c = self.column(w.span, "a service")?;
                    self.set_once(&mut r.service, c, w.span, false)?;
                }
                "on" => {
                    let c = self.column(w.span, "an interface")?;
                    self.set_once(&mut r.on, c, w.span, false)?;
                }
                "user" => {
                    let c = Column { keyword: w.span, not: None, items: self.word_list("a user")? };
                    self.set_once(&mut r.user, c, w.span, false)?;
                }
                "days" => {
                    let c =
                        Column { keyword: w.span, not: None, items: self.word_list("a weekday")? };
                    self.set_once(&mut r.days, c, w.span, false)?;
                }
                "time" => {
                    let t = self.word("a daily window such as 08:00-18:00")?;
                    self.set_once(&mut r.time, t, w.span, false)?;
                }
                "in" | "out" => {
                    let span = w.span;
                    self.set_once(&mut r.direction, w, span, false)?;
                }
                "log" => {
                    self.set_once(&mut r.log, w.span, w.span, false)?;
                    if self.eat_word("prefix").is_some() {
                        r.log_prefix =
                            Some(Box::new(self.string("a log prefix in double quotes")?));
                    }
                }
                "disabled" => self.set_once(&mut r.disabled, w.span, w.span, false)?,
                "mark" | "marked" => {
                    let v = self.word("a mark such as 1 or 0x10/0xff")?;
                    let slot = if w.text == "mark" { &mut r.mark } else { &mut r.marked };
                    self.set_once(slot, v, w.span, false)?;
                }
                "tcp-flags" => {
                    let items = self.word_list(
                        "a TCP flag (syn, ack, fin, rst, psh, urg, ece, cwr, or no-FLAG)",
                    )?;
                    let c = Column { keyword: w.span, not: None, items };
                    self.set_once(&mut r.tcp_flags, c, w.span, false)?;
                }
                "stateless" => self.set_once(&mut r.stateless, w.span, w.span, false)?,
                "limit" => {
                    let l = self.limit(w.span, "limit")?;
                    self.set_once(&mut r.limit, l, w.span, false)?;
                }
                "connlimit" => {
                    let l = self.limit(w.span, "connlimit")?;
                    self.set_once(&mut r.connlimit, l, w.span, false)?;
                }
                "log-limit" => {
                    let l = self.limit(w.span, "log-limit")?;
                    self.set_once(&mut r.log_limit, l, w.span, false)?;
                }
                "number" => {
                    let n = self.word("a rule number")?;
                    self.set_once(&mut r.number, n, w.span, false)?;
                }
                "comment" => {
                    let text = self.string("a comment in double quotes")?;
                    self.set_once(&mut r.comment, text, w.span, after_log)?;
                }
                other => {
                    self.diags.push(diagnostics::unknown_rule_word(other, w.span));
                    return Err(Reported);
                }
            }
        }
        let end = self.tokens[self.pos.saturating_sub(1)].span;
        r.span = r.span.to(end);
        self.end_statement()?;
        Ok(r)
    }

    fn set_once<T, V: Into<T>>(
        &mut self,
        slot: &mut Option<T>,
        value: V,
        span: Span,
        after_log: bool,
    ) -> PResult<()> {
        if slot.is_some() {
            let word = &self.src[span.start as usize..span.end as usize];
            self.diags.push(diagnostics::duplicate_clause(word, span, after_log));
            return Err(Reported);
        }
        *slot = Some(value.into());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Policy {
        let p = parse(src, FileId(0));
        assert!(p.diagnostics.is_empty(), "{:#?}", p.diagnostics);
        p.ast
    }

    fn codes(src: &str) -> Vec<&'static str> {
        parse(src, FileId(0)).diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn objects() {
        let p =
            ok("host a 10.0.0.1, 2001:db8::1\nnetwork n 10.0.0.0/8\nrange r 10.0.0.1 - 10.0.0.9\n\
                    range r2 10.0.0.1-10.0.0.9\ngroup g { a, n,\n r }\nuser me uid 1021 gid 100\n");
        assert_eq!(p.items.len(), 6);
        let Item::Range { first, last, .. } = &p.items[3] else { panic!() };
        assert_eq!((first.text.as_str(), last.text.as_str()), ("10.0.0.1", "10.0.0.9"));
        let Item::Group { members, .. } = &p.items[4] else { panic!() };
        assert_eq!(members.len(), 3);
    }

    #[test]
    fn services() {
        let p = ok("service dns tcp 53, udp 53\nservice x tcp sport 1024-65535 dport 22, 80\n\
                    service ping icmp 8/0, 11\nservice gre proto 47\n");
        let Item::Service { clauses, .. } = &p.items[0] else { panic!() };
        assert_eq!(clauses.len(), 2);
        let Item::Service { clauses, .. } = &p.items[1] else { panic!() };
        assert_eq!(clauses[0].sports.len(), 1);
        assert_eq!(clauses[0].dports.len(), 2);
        // `any` after a protocol is a value of that clause, not a new one
        let p = ok("service a icmp any\nservice b udp 53, any, tcp any\n");
        let Item::Service { clauses, .. } = &p.items[0] else { panic!() };
        assert_eq!(clauses.len(), 1);
        assert_eq!(clauses[0].dports[0].text, "any");
        let Item::Service { clauses, .. } = &p.items[1] else { panic!() };
        assert_eq!(clauses.len(), 2);
        assert_eq!(clauses[0].dports.len(), 2);
    }

    #[test]
    fn rules() {
        let p = ok("firewall fw {\n interface eth0 10.0.0.1/24\n log-prefix \"R %N \"\n \
                    ruleset main {\n  accept from not a, b to c service ssh on eth0 in log \"hi\"\n  \
                    branch other user me\n  reject with tcp-reset service ssh\n }\n}\n");
        let Item::Firewall(fw) = &p.items[0] else { panic!() };
        let r = &fw.rulesets[0].rules[0];
        assert!(r.from.as_ref().unwrap().not.is_some());
        assert_eq!(r.from.as_ref().unwrap().items.len(), 2);
        assert_eq!(r.comment.as_ref().unwrap().value, "hi");
        assert_eq!(fw.rulesets[0].rules[1].argument.as_ref().unwrap().text, "other");
        assert_eq!(fw.rulesets[0].rules[2].argument.as_ref().unwrap().text, "tcp-reset");
        let p = ok("firewall fw {\n ruleset main {\n  deny log number 16\n }\n}\n");
        let Item::Firewall(fw) = &p.items[0] else { panic!() };
        assert_eq!(fw.rulesets[0].rules[0].number.as_ref().unwrap().text, "16");
    }

    #[test]
    fn a_rule_set_is_sized_once() {
        let rules = "  accept to a\n".repeat(5);
        let p = ok(&format!("firewall fw {{\n ruleset main {{\n{rules} }}\n}}\n"));
        let Item::Firewall(fw) = &p.items[0] else { panic!() };
        let rules = &fw.rulesets[0].rules;
        // grown by doubling, 100,000 rules held room for 131,072
        assert_eq!((rules.len(), rules.capacity()), (5, 5));
    }

    #[test]
    fn nat_rules() {
        let p = ok("firewall fw {\n nat {\n  masquerade on eth0 from lan\n  \
                    dnat to web:8080 to 100.64.0.1 service http on eth0\n }\n \
                    nat {\n  redirect to 3128 service http\n }\n}\n");
        let Item::Firewall(fw) = &p.items[0] else { panic!() };
        assert_eq!(fw.nat.len(), 3, "two nat blocks read as one");
        assert!(fw.nat[0].argument.is_none());
        assert_eq!(fw.nat[1].argument.as_ref().unwrap().text, "web:8080");
        assert_eq!(fw.nat[1].to.as_ref().unwrap().items[0].text, "100.64.0.1");
        assert_eq!(fw.nat[2].argument.as_ref().unwrap().text, "3128");
        assert_eq!(codes("firewall fw {\n nat {\n  dnat web\n }\n}\n"), ["E0003"]);
    }

    /// What was really meant, not "given twice" with a hint about commas.
    #[test]
    fn second_clauses_say_what_was_meant() {
        let message = |rule: &str| {
            let p =
                parse(&format!("firewall f {{\n ruleset main {{\n  {rule}\n }}\n}}\n"), FileId(0));
            let d = &p.diagnostics[0];
            (d.message.clone(), d.help.clone().unwrap_or_default())
        };
        let (m, h) = message("deny log \"RULE 6 -- DENY \" comment \"x\"");
        assert_eq!(m, "a rule has one comment");
        assert!(h.contains("log prefix \"TEXT\""), "{h}");
        let (m, h) = message("accept service ssh in out");
        assert_eq!(m, "a rule has one direction, `in` or `out`");
        assert!(h.contains("leave out both"), "{h}");
        let (m, _) = message("accept from a from b");
        assert_eq!(m, "`from` given twice in one rule");
    }

    #[test]
    fn recovers_and_reports_every_error() {
        assert_eq!(codes("hots a 1.2.3.4\nhost b\nnetwork n 10.0.0.0/8\n"), vec!["E0004", "E0003"]);
        assert_eq!(
            codes("firewall f {\n ruleset main {\n accept frm x\n deny log log\n }\n}\n"),
            vec!["E0005", "E0006"]
        );
        assert_eq!(codes("firewall f {\n"), vec!["E0007"]);
    }

    fn helps(src: &str) -> Vec<String> {
        parse(src, FileId(0)).diagnostics.into_iter().filter_map(|d| d.help).collect()
    }

    /// Misspelt keywords get the nearest one in their help, at every level.
    #[test]
    fn did_you_mean_keywords() {
        let h = helps(
            "servce web tcp 80\nfirewall f {\n interfce eth0 10.0.0.1/24\n log-prefx \"x\"\n \
             ruleset main {\n  accept servce web\n  accept frobnicate\n  accept conlimit 3\n }\n}\n",
        );
        assert!(h[0].starts_with("did you mean `service`? expected one of:"), "{h:?}");
        assert!(h[1].starts_with("did you mean `interface`?"), "{h:?}");
        assert!(h[2].starts_with("did you mean `log-prefix`?"), "{h:?}");
        assert!(h[3].starts_with("did you mean `service`? a rule is"), "{h:?}");
        assert!(h[4].starts_with("a rule is"), "nothing near `frobnicate`: {h:?}");
        assert!(h.get(5).is_some_and(|h| h.starts_with("did you mean `connlimit`?")), "{h:?}");
        assert_eq!(h.len(), 6);
    }

    #[test]
    fn access_and_time() {
        let p = ok("access spice for lap {\n viewer \"/usr/bin/rv\"\n \
                    user me to srv port 20002 days mon, tue time 08:00-18:00\n}\n\
                    firewall lap {\n ruleset main {\n  accept user me days sat time 09:00-10:30\n }\n}\n");
        let Item::Access(a) = &p.items[0] else { panic!() };
        assert_eq!((a.name.text.as_str(), a.firewall.text.as_str()), ("spice", "lap"));
        assert_eq!(a.statements[1].values.len(), 10);
        let Item::Firewall(fw) = &p.items[1] else { panic!() };
        let r = &fw.rulesets[0].rules[0];
        assert_eq!(r.days.as_ref().unwrap().items[0].text, "sat");
        assert_eq!(r.time.as_ref().unwrap().text, "09:00-10:30");
        assert_eq!(codes("access a lap {\n}\n"), vec!["E0003"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(src in "\\PC{0,200}") {
            let _ = parse(&src, FileId(0));
        }

        #[test]
        fn never_panics_on_near_policies(src in "(host|group|firewall|ruleset|accept|from|to|not|\\{|\\}|,|\n|\"|a|1\\.2\\.3\\.4| )*") {
            let _ = parse(&src, FileId(0));
        }
    }
}
