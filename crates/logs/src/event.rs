//! One firewall line as an owned, printable event: readable columns for
//! `follow`, JSON lines for `follow --json` and `collect --json-lines`, and
//! the filters of `follow`.

use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::attribute::{Action, Attribution, RuleInfo, RuleLookup, Source, rule_info};
use crate::envelope::Stamp;
use crate::line::{LogLine, LogProto};

/// A decoded firewall line, owned.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    /// Time stamp as printed by the envelope (RFC 3339, syslog, or `[boot secs]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Prefix without trailing space.
    pub prefix: String,
    /// Who printed the line.
    pub attribution: Attribution,
    /// Normalised verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// `IN=`
    #[serde(rename = "in")]
    pub in_iface: String,
    /// `OUT=`
    #[serde(rename = "out")]
    pub out_iface: String,
    /// `PHYSIN=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physin: Option<String>,
    /// `PHYSOUT=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physout: Option<String>,
    /// `MAC=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// `SRC=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    /// `DST=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    /// Protocol name (`tcp`, `udp`, `icmp`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// `SPT=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spt: Option<u16>,
    /// `DPT=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpt: Option<u16>,
    /// IP `LEN=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub len: Option<u32>,
    /// `TTL=` / `HOPLIMIT=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    /// TCP flags, comma separated.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tcp_flags: String,
    /// ICMP type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// `UID=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// `GID=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// `MARK=`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    /// Source and destination of the packet an ICMP error quotes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested: Option<String>,
    /// Where the rule is written in the policy (`follow --policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<RuleInfo>,
    /// Keys whose value did not parse (`DST`): those fields are absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unparsed_fields: Vec<&'static str>,
    /// The line was cut short: the fields after the cut are absent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Event {
    /// Build from a parsed line.
    pub fn new(l: &LogLine<'_>, stamp: Option<Stamp>, attribution: Attribution) -> Event {
        let p = &l.packet;
        let nested = l.nested_packet().and_then(Result::ok).map(|n| {
            let mut t = String::new();
            let _ = write!(t, "{}", n.proto.map_or("?".into(), |p| p.name()));
            if let Some(a) = n.src {
                let _ = write!(t, " {a}");
            }
            if let Some(pt) = n.spt {
                let _ = write!(t, ":{pt}");
            }
            if let Some(a) = n.dst {
                let _ = write!(t, " > {a}");
            }
            if let Some(pt) = n.dpt {
                let _ = write!(t, ":{pt}");
            }
            t
        });
        Event {
            time: stamp.map(|s| s.to_string()),
            prefix: s(l.prefix_trimmed()),
            action: attribution.action(),
            attribution,
            in_iface: s(l.in_iface),
            out_iface: s(l.out_iface),
            physin: l.physin.map(s),
            physout: l.physout.map(s),
            mac: l.mac.map(s),
            src: p.src.or_else(|| l.arp.as_ref().and_then(|a| a.ip_src)),
            dst: p.dst.or_else(|| l.arp.as_ref().and_then(|a| a.ip_dst)),
            proto: p
                .proto
                .map(|x| x.name().into_owned())
                .or_else(|| l.arp.as_ref().map(|_| "arp".to_owned())),
            spt: p.spt,
            dpt: p.dpt,
            len: p.len,
            ttl: p.ttl.or(p.hoplimit),
            tcp_flags: if p.proto == Some(LogProto::Tcp) {
                p.tcp_flags.to_string()
            } else {
                String::new()
            },
            icmp_type: p.icmp_type,
            icmp_code: p.icmp_code,
            uid: l.uid,
            gid: l.gid,
            mark: l.mark,
            nested,
            policy: None,
            unparsed_fields: l.unread.fields.clone(),
            cut: l.unread.cut,
        }
    }

    /// Link the event to its policy rule, when the lookup knows it.
    pub fn with_policy(mut self, rules: &dyn RuleLookup) -> Event {
        self.policy = rule_info(&self.attribution, rules).cloned();
        self
    }

    /// One readable line: time, who, interfaces, protocol, addresses, details.
    pub fn columns(&self) -> String {
        let who = match &self.attribution.source {
            Source::Rampart { rule, action, .. } => {
                format!("#{rule} {}", action.map_or("?", Action::as_str))
            }
            Source::Ufw { verdict } => format!("ufw {verdict}"),
            Source::Firewalld { verdict, .. } => format!("fwd {verdict}"),
            Source::Free { prefix } if prefix.is_empty() => "-".to_owned(),
            Source::Free { prefix } => prefix.clone(),
        };
        let mut ifs = format!("{}>{}", self.in_iface, self.out_iface);
        if self.physin.is_some() || self.physout.is_some() {
            let _ = write!(
                ifs,
                " [{}>{}]",
                self.physin.as_deref().unwrap_or(""),
                self.physout.as_deref().unwrap_or("")
            );
        }
        let ep = |a: Option<IpAddr>, p: Option<u16>| match (a, p) {
            (Some(a @ IpAddr::V6(_)), Some(p)) => format!("[{a}]:{p}"),
            (Some(a), Some(p)) => format!("{a}:{p}"),
            (Some(a), None) => a.to_string(),
            (None, _) => "?".to_owned(),
        };
        let mut out = format!(
            "{:<20} {:<14} {:<12} {:<6} {} > {}",
            self.time.as_deref().unwrap_or("-"),
            who,
            ifs,
            self.proto.as_deref().unwrap_or("-"),
            ep(self.src, self.spt),
            ep(self.dst, self.dpt)
        );
        if !self.tcp_flags.is_empty() {
            let _ = write!(out, " {}", self.tcp_flags);
        }
        if let (Some(t), Some(c)) = (self.icmp_type, self.icmp_code) {
            let _ = write!(out, " type {t}/{c}");
        }
        if let Some(n) = &self.nested {
            let _ = write!(out, " [{n}]");
        }
        if let Some(u) = self.uid {
            let _ = write!(out, " uid={u}");
        }
        if !self.unparsed_fields.is_empty() || self.cut {
            let what = crate::partial::describe(&self.unparsed_fields, self.cut);
            let _ = write!(out, " ({what})");
        }
        if let Some(p) = &self.policy {
            let _ = write!(out, "  {}:{}", p.file, p.line);
            if let Some(c) = &p.comment {
                let _ = write!(out, " # {c}");
            }
        }
        out
    }
}

/// Filters of `rampart logs follow`. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Rampart rule number.
    pub rule: Option<u32>,
    /// Source address within one of these networks.
    pub src: Vec<IpNet>,
    /// Destination address within one of these networks.
    pub dst: Vec<IpNet>,
    /// Source or destination port.
    pub port: Option<u16>,
    /// Normalised action.
    pub action: Option<Action>,
    /// Protocol name (`tcp`, `udp`, `icmp`...).
    pub proto: Option<String>,
    /// `IN=` or `OUT=` interface.
    pub iface: Option<String>,
}

impl Filter {
    /// Whether the line passes every filter given.
    pub fn matches(&self, l: &LogLine<'_>, a: &Attribution) -> bool {
        let p = &l.packet;
        if self.rule.is_some() && a.rule() != self.rule {
            return false;
        }
        if self.action.is_some() && a.action() != self.action {
            return false;
        }
        if !self.src.is_empty() && !p.src.is_some_and(|s| self.src.iter().any(|n| n.contains(&s))) {
            return false;
        }
        if !self.dst.is_empty() && !p.dst.is_some_and(|d| self.dst.iter().any(|n| n.contains(&d))) {
            return false;
        }
        if let Some(port) = self.port
            && p.dpt != Some(port)
            && p.spt != Some(port)
        {
            return false;
        }
        if let Some(proto) = &self.proto
            && !p.proto.is_some_and(|x| x.name().eq_ignore_ascii_case(proto))
        {
            return false;
        }
        if let Some(i) = &self.iface
            && l.in_iface != i.as_bytes()
            && l.out_iface != i.as_bytes()
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Attributor;

    const L: &str = "RULE 16 -- DENY IN=eth0 OUT= SRC=203.0.113.7 DST=192.0.2.10 LEN=60 TTL=51 ID=1 DF PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ";

    #[test]
    fn columns_and_json() {
        let l = crate::line::parse(L.as_bytes()).unwrap();
        let a = Attributor::default().attribute(l.prefix);
        let e = Event::new(&l, None, a);
        assert_eq!(
            e.columns(),
            "-                    #16 DENY       eth0>        tcp    203.0.113.7:51234 > 192.0.2.10:22 SYN"
        );
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["action"], "DENY");
        assert_eq!(j["attribution"]["source"]["rule"], 16);
        assert_eq!(j["dpt"], 22);
        assert!(j.get("policy").is_none());
        assert!(j.get("unparsed_fields").is_none() && j.get("cut").is_none());
    }

    #[test]
    fn a_line_read_in_part_says_so() {
        let text = L.replace("DST=192.0.2.10", "DST=xxx");
        let cut = &text[..=text.find(" WINDOW=").unwrap()];
        let l = crate::line::parse(cut.as_bytes()).unwrap();
        let e = Event::new(&l, None, Attributor::default().attribute(l.prefix));
        assert!(
            e.columns().ends_with("203.0.113.7:51234 > ? (DST= did not parse; cut short)"),
            "{}",
            e.columns()
        );
        assert_eq!(e.dpt, Some(22));
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(
            (&j["unparsed_fields"], &j["cut"]),
            (&serde_json::json!(["DST"]), &serde_json::json!(true))
        );
    }

    #[test]
    fn policy_rule_in_columns_and_json() {
        let l = crate::line::parse(L.as_bytes()).unwrap();
        let mut rules = crate::attribute::RuleIndex::new();
        let info = RuleInfo { file: "web.rp".into(), line: 42, comment: Some("no ssh".into()) };
        rules.insert(16, info);
        let e = Event::new(&l, None, Attributor::default().attribute(l.prefix)).with_policy(&rules);
        assert!(e.columns().ends_with(" SYN  web.rp:42 # no ssh"), "{}", e.columns());
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(
            j["policy"],
            serde_json::json!({"file": "web.rp", "line": 42, "comment": "no ssh"})
        );
        rules.clear();
        let e = Event::new(&l, None, Attributor::default().attribute(l.prefix)).with_policy(&rules);
        assert_eq!(e.policy, None, "a rule the policy does not have");
    }

    #[test]
    fn filters() {
        let l = crate::line::parse(L.as_bytes()).unwrap();
        let a = Attributor::default().attribute(l.prefix);
        let yes = |f: Filter| f.matches(&l, &a);
        assert!(yes(Filter::default()));
        assert!(yes(Filter { rule: Some(16), ..Filter::default() }));
        assert!(!yes(Filter { rule: Some(15), ..Filter::default() }));
        assert!(yes(Filter { src: vec!["203.0.113.0/24".parse().unwrap()], ..Filter::default() }));
        assert!(!yes(Filter { src: vec!["10.0.0.0/8".parse().unwrap()], ..Filter::default() }));
        assert!(yes(Filter { port: Some(22), ..Filter::default() }));
        assert!(yes(Filter { port: Some(51234), ..Filter::default() }));
        assert!(!yes(Filter { port: Some(80), ..Filter::default() }));
        assert!(yes(Filter { action: Some(Action::Deny), ..Filter::default() }));
        assert!(!yes(Filter { action: Some(Action::Accept), ..Filter::default() }));
        assert!(yes(Filter {
            proto: Some("TCP".into()),
            iface: Some("eth0".into()),
            ..Filter::default()
        }));
        assert!(!yes(Filter { iface: Some("eth1".into()), ..Filter::default() }));
    }
}
