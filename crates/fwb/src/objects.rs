//! Addresses, services and time intervals of the .fwb file into Rampart
//! object statements, written once each, in the order first used.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;

use rampart_syntax::write;
use roxmltree::Node;

use crate::db::{Index, NS};

/// A rule's address item.
pub(crate) enum Addr {
    Any,
    /// The firewall being imported.
    Me,
    Named(String),
}

/// A rule's service item.
pub(crate) enum Svc {
    Any,
    Named(String),
    /// A user service: the owner of locally sent packets.
    User(String),
}

/// Why an element has no Rampart form, as the diagnostic says it
/// (`Custom service "xyz"`).
pub(crate) type Lost = String;

pub(crate) struct Objects<'a, 'i> {
    idx: &'a Index<'a, 'i>,
    fw_id: &'a str,
    /// Definitions, in the order written.
    pub(crate) lines: Vec<String>,
    /// Ids already written, with their Rampart names (and whether a user).
    done: HashMap<String, Svc>,
    taken: BTreeSet<String>,
    /// Groups being written, to refuse cycles.
    open: BTreeSet<String>,
}

fn what(n: Node<'_, '_>) -> String {
    let kind = match n.tag_name().name() {
        "CustomService" => "Custom service",
        "TagService" => "Tag service",
        "DNSName" => "DNS name object",
        "AddressTable" => "address table",
        "physAddress" => "MAC address object",
        "AttachedNetworks" => "attached networks object",
        "IntervalGroup" => "time interval group",
        other => other,
    };
    format!("{kind} \"{}\"", n.attribute("name").unwrap_or(""))
}

impl<'a, 'i> Objects<'a, 'i> {
    pub(crate) fn new(idx: &'a Index<'a, 'i>, fw_id: &'a str) -> Self {
        Objects {
            idx,
            fw_id,
            lines: vec![],
            done: HashMap::new(),
            taken: BTreeSet::new(),
            open: BTreeSet::new(),
        }
    }

    pub(crate) fn fw_id(&self) -> &str {
        self.fw_id
    }

    /// A name not yet taken, derived from Firewall Builder's.
    pub(crate) fn fresh(&mut self, wanted: &str) -> String {
        let base = write::name(wanted);
        let mut name = base.clone();
        let mut n = 1;
        while !self.taken.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        name
    }

    pub(crate) fn resolve(&self, r: Node<'a, 'i>) -> Result<Node<'a, 'i>, Lost> {
        let id = r.attribute("ref").unwrap_or("");
        self.idx.get(id).ok_or_else(|| format!("a reference to the missing object `{id}`"))
    }

    fn define(&mut self, n: Node<'a, 'i>, line: impl FnOnce(&str) -> String) -> String {
        let name = self.fresh(n.attribute("name").unwrap_or("object"));
        let mut text = line(&name);
        if let Some(c) = n.attribute("comment").and_then(one_line) {
            text.push_str(&format!("  # {c}"));
        }
        self.lines.push(text);
        self.done.insert(n.attribute("id").unwrap_or("").to_owned(), Svc::Named(name.clone()));
        name
    }

    fn known(&self, n: Node<'_, '_>) -> Option<Svc> {
        match self.done.get(n.attribute("id")?)? {
            Svc::Named(s) => Some(Svc::Named(s.clone())),
            Svc::User(s) => Some(Svc::User(s.clone())),
            Svc::Any => Some(Svc::Any),
        }
    }

    pub(crate) fn address(&mut self, n: Node<'a, 'i>) -> Result<Addr, Lost> {
        if let Some(Svc::Named(name)) = self.known(n) {
            return Ok(Addr::Named(name));
        }
        let id = n.attribute("id").unwrap_or("");
        let attr = |k: &str| n.attribute(k).unwrap_or("");
        let name = match n.tag_name().name() {
            "AnyNetwork" => return Ok(Addr::Any),
            "Firewall" | "Cluster" if id == self.fw_id => return Ok(Addr::Me),
            "Firewall" | "Cluster" | "Host" | "Interface" => {
                let addrs = interface_addrs(n, &what(n))?;
                let list: Vec<_> = addrs.iter().map(|(a, _)| a.as_str()).collect();
                self.define(n, |name| format!("host {name} {}", list.join(", ")))
            }
            "IPv4" | "IPv6" => self.define(n, |name| format!("host {name} {}", attr("address"))),
            "Network" => {
                let len = prefix_len(attr("netmask")).ok_or_else(|| {
                    format!("{} (its netmask {} is not contiguous)", what(n), attr("netmask"))
                })?;
                self.define(n, |name| format!("network {name} {}/{len}", attr("address")))
            }
            "NetworkIPv6" => self.define(n, |name| {
                format!("network {name} {}/{}", attr("address"), attr("netmask"))
            }),
            "AddressRange" => self.define(n, |name| {
                format!("range {name} {} - {}", attr("start_address"), attr("end_address"))
            }),
            // Read when compiling, as fwb_ipt reads it: Rampart's address
            // table. A relative name is relative to where fwb_ipt ran.
            "AddressTable" if attr("run_time") != "True" => {
                let path = attr("filename");
                let quoted =
                    write::quote(path).filter(|_| path.starts_with('/')).ok_or_else(|| {
                        format!("{} (its file name is not an absolute path)", what(n))
                    })?;
                self.define(n, |name| format!("set {name} from {quoted}"))
            }
            "AddressTable" => {
                return Err(format!(
                    "{} (a run-time table: {} is read when the firewall starts)",
                    what(n),
                    one_line(attr("filename")).unwrap_or_default()
                ));
            }
            "ObjectGroup" => {
                let members = self.members(n, Self::address)?;
                let items: Vec<String> = members
                    .into_iter()
                    .map(|m| match m {
                        Addr::Any => Err(format!("{} (it holds Any)", what(n))),
                        Addr::Me => Err(format!("{} (it holds the firewall itself)", what(n))),
                        Addr::Named(s) => Ok(s),
                    })
                    .collect::<Result<_, _>>()?;
                self.define(n, |name| format!("group {name} {{ {} }}", items.join(", ")))
            }
            _ => return Err(what(n)),
        };
        Ok(Addr::Named(name))
    }

    fn members<T>(
        &mut self,
        n: Node<'a, 'i>,
        each: fn(&mut Self, Node<'a, 'i>) -> Result<T, Lost>,
    ) -> Result<Vec<T>, Lost> {
        let id = n.attribute("id").unwrap_or("").to_owned();
        if !self.open.insert(id.clone()) {
            return Err(format!("{} (it contains itself)", what(n)));
        }
        let out = n
            .children()
            .filter(|c| c.is_element())
            .map(|c| {
                let target = self.resolve(c)?;
                each(self, target)
            })
            .collect::<Result<Vec<_>, _>>();
        self.open.remove(&id);
        let out = out?;
        if out.is_empty() {
            return Err(format!("{} (it is empty)", what(n)));
        }
        Ok(out)
    }

    pub(crate) fn service(&mut self, n: Node<'a, 'i>) -> Result<Svc, Lost> {
        if let Some(s) = self.known(n) {
            return Ok(s);
        }
        let attr = |k: &str| n.attribute(k).unwrap_or("");
        let name = match n.tag_name().name() {
            "AnyIPService" => return Ok(Svc::Any),
            "TCPService" | "UDPService" => {
                let proto = if n.tag_name().name() == "TCPService" { "tcp" } else { "udp" };
                let flags = ["ack", "fin", "psh", "rst", "syn", "urg"];
                if flags.iter().any(|f| attr(&format!("{f}_flag_mask")) == "True") {
                    return Err(format!("{} (TCP flags)", what(n)));
                }
                if attr("established") == "True" {
                    return Err(format!("{} (established)", what(n)));
                }
                let mut clause = proto.to_owned();
                if let Some(p) = ports(attr("src_range_start"), attr("src_range_end")) {
                    clause.push_str(&format!(" sport {p}"));
                }
                if let Some(p) = ports(attr("dst_range_start"), attr("dst_range_end")) {
                    clause.push_str(&format!(" dport {p}"));
                }
                self.define(n, |name| format!("service {name} {clause}"))
            }
            "ICMPService" | "ICMP6Service" => {
                let proto = if n.tag_name().name() == "ICMPService" { "icmp" } else { "icmpv6" };
                let ty = match (attr("type"), attr("code")) {
                    ("-1" | "", _) => "any".to_owned(),
                    (t, "-1" | "") => t.to_owned(),
                    (t, c) => format!("{t}/{c}"),
                };
                self.define(n, |name| format!("service {name} {proto} {ty}"))
            }
            "IPService" => {
                let options = ["fragm", "short_fragm", "lsrr", "ssrr", "rr", "ts", "any_opt"];
                if options.iter().any(|o| attr(o) == "True")
                    || !matches!(attr("tos"), "" | "0")
                    || !matches!(attr("dscp"), "" | "0")
                {
                    return Err(format!("{} (IP options, fragments, TOS or DSCP)", what(n)));
                }
                match attr("protocol_num") {
                    "0" | "" => return Ok(Svc::Any),
                    p => self.define(n, |name| format!("service {name} proto {p}")),
                }
            }
            "UserService" => {
                let uid = attr("userid");
                if uid.parse::<u32>().is_err() {
                    return Err(format!(
                        "{} (user `{uid}` is a name; Rampart needs its UID)",
                        what(n)
                    ));
                }
                let name = self.fresh(attr("name"));
                self.lines.push(format!("user {name} uid {uid}"));
                self.done.insert(attr("id").to_owned(), Svc::User(name.clone()));
                return Ok(Svc::User(name));
            }
            "ServiceGroup" => {
                let members = self.members(n, Self::service)?;
                let items: Vec<String> = members
                    .into_iter()
                    .map(|m| match m {
                        Svc::Named(s) => Ok(s),
                        Svc::Any => Err(format!("{} (it holds any service)", what(n))),
                        Svc::User(_) => Err(format!("{} (it mixes user services in)", what(n))),
                    })
                    .collect::<Result<_, _>>()?;
                self.define(n, |name| format!("group {name} {{ {} }}", items.join(", ")))
            }
            _ => return Err(what(n)),
        };
        Ok(Svc::Named(name))
    }
}

/// `days ... time ...` for a time interval; `None` for any time.
pub(crate) fn interval(n: Node<'_, '_>) -> Result<Option<String>, Lost> {
    let attr = |k: &str| n.attribute(k).unwrap_or("-1");
    match n.tag_name().name() {
        "AnyInterval" => return Ok(None),
        "Interval" => {}
        _ => return Err(what(n)),
    }
    if ["from_day", "from_month", "from_year", "to_day", "to_month", "to_year"]
        .iter()
        .any(|k| attr(k) != "-1")
    {
        return Err(format!("{} (dates)", what(n)));
    }
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let days: Vec<&str> = n
        .attribute("days_of_week")
        .unwrap_or("")
        .split(',')
        .filter_map(|d| DAYS.get(d.trim().parse::<usize>().ok()?).copied())
        .collect();
    let mut out = Vec::new();
    if !days.is_empty() && days.len() < 7 {
        out.push(format!("days {}", days.join(", ")));
    }
    let clock = |h: &str, m: &str| -> Option<(u32, u32)> {
        Some((h.parse().ok().filter(|h| *h < 24)?, m.parse().ok().filter(|m| *m < 60)?))
    };
    let from = clock(attr("from_hour"), attr("from_minute")).unwrap_or((0, 0));
    let to = clock(attr("to_hour"), attr("to_minute")).unwrap_or((23, 59));
    if (from, to) != ((0, 0), (23, 59)) {
        out.push(format!("time {:02}:{:02}-{:02}:{:02}", from.0, from.1, to.0, to.1));
    }
    Ok((!out.is_empty()).then(|| out.join(" ")))
}

/// The addresses of a host, firewall or interface, with prefix lengths.
pub(crate) fn interface_addrs(n: Node<'_, '_>, what: &str) -> Result<Vec<(String, u8)>, Lost> {
    if n.has_tag_name((NS, "Interface")) && n.attribute("dyn") == Some("True") {
        return Err(format!("{what} (a dynamic address, known only at run time)"));
    }
    let mut out = Vec::new();
    for a in
        n.descendants().filter(|d| d.has_tag_name((NS, "IPv4")) || d.has_tag_name((NS, "IPv6")))
    {
        let addr = a.attribute("address").unwrap_or("").to_owned();
        let mask = a.attribute("netmask").unwrap_or("");
        let len = if a.has_tag_name((NS, "IPv4")) { prefix_len(mask) } else { mask.parse().ok() };
        out.push((addr, len.unwrap_or(if a.has_tag_name((NS, "IPv4")) { 32 } else { 128 })));
    }
    if out.is_empty() {
        return Err(format!("{what} (it has no address)"));
    }
    Ok(out)
}

/// The prefix length of a dotted netmask (or a bare length).
fn prefix_len(mask: &str) -> Option<u8> {
    if let Ok(len) = mask.parse::<u8>() {
        return (len <= 32).then_some(len);
    }
    let bits = u32::from(mask.parse::<Ipv4Addr>().ok()?);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then(|| bits.leading_ones() as u8)
}

/// A port range as the language writes it; `None` for any port.
fn ports(start: &str, end: &str) -> Option<String> {
    let s: u16 = start.parse().unwrap_or(0);
    let e: u16 = end.parse().unwrap_or(0);
    match (s, e) {
        (0, 0) => None,
        (s, 0) => Some(s.to_string()),
        (s, e) if s == e => Some(s.to_string()),
        (s, e) => Some(format!("{s}-{e}")),
    }
}

/// A comment as one line of text, or `None` when empty. A mark that
/// reorders text is written as its escape (`\u{202e}`): the policy's lexer
/// refuses it raw, as it could make the comment hide part of the line.
pub(crate) fn one_line(text: &str) -> Option<String> {
    let clean: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let joined = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then(|| rampart_diag::printable(&joined).into_owned())
}
