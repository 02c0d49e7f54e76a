//! Rules as `iptables-save` prints them (the restricted form).

use std::fmt::Write;

use crate::{
    AddrItem, AddrMatch, Chain, Connmark, Family, IdRange, IfaceMatch, Match, NatTo, Policy,
    PortMatch, PortRange, Proto, RejectWith, Rule, Ruleset, Target, icmp,
};

/// TCP flag bits in the order iptables-save prints them.
pub const TCP_FLAGS: [(u8, &str); 8] = [
    (0x01, "FIN"),
    (0x02, "SYN"),
    (0x04, "RST"),
    (0x08, "PSH"),
    (0x10, "ACK"),
    (0x20, "URG"),
    (0x40, "ECE"),
    (0x80, "CWR"),
];

/// A chain's declaration line in an iptables-restore document:
/// `:INPUT DROP [0:0]` for a built-in chain, `:NAME - [0:0]` for a user one.
#[must_use]
pub fn chain_line(chain: &Chain) -> String {
    let policy = match chain.policy() {
        Some(Policy::Accept) => "ACCEPT",
        Some(Policy::Drop) => "DROP",
        None => "-",
    };
    one_line(format!(":{} {policy} [0:0]", chain.name))
}

/// One rule in iptables syntax, without the leading `-A CHAIN`, e.g.
/// `-s 10.0.0.0/8 -p tcp -m tcp --dport 22 -j ACCEPT`.
///
/// Expects the restricted form (one address per match, one interface); the
/// iptables pass in `rampart-lower` guarantees it for compiled rules. `rs`
/// names the chains jumped to.
#[must_use]
pub fn format_rule(rs: &Ruleset, rule: &Rule, family: Family) -> String {
    let mut out = String::new();
    let proto = rule.matches.iter().find_map(|m| match m {
        Match::Proto { neg: false, proto } => Some(*proto),
        _ => None,
    });
    let mut last = Module::default();
    for m in &rule.matches {
        last = write_match(&mut out, m, proto, family, &last);
    }
    if let Some(c) = &rule.comment {
        let _ = write!(out, " -m comment --comment {}", quote(c));
    }
    write_target(&mut out, rs, &rule.target, family);
    one_line(out.trim_start().to_owned())
}

/// A generated line, checked: a control character (a NUL above all) would
/// cut it where iptables-restore reads it, and the part cut off holds the
/// target. Texts are escaped by [`quote`]; names are words by the time they
/// get here, so this only fires on a bug.
fn one_line(line: String) -> String {
    assert!(
        !line.contains(char::is_control),
        "generated iptables line with a control character: {line:?}"
    );
    line
}

fn neg(out: &mut String, n: bool) {
    if n {
        out.push_str(" !");
    }
}

/// The `-m` module the previous match was written with, and its options so
/// far: consecutive tcp/udp options share one `-m tcp`, as iptables-save
/// prints them, but an option given twice (two `--dport` matches) needs a
/// module of its own, or iptables-restore refuses the line.
#[derive(Clone, Debug, Default)]
struct Module {
    name: &'static str,
    opts: Vec<&'static str>,
}

/// Writes one match; returns the module it leaves open.
fn write_match(
    out: &mut String,
    m: &Match,
    proto: Option<Proto>,
    family: Family,
    last: &Module,
) -> Module {
    let port_module = match proto {
        Some(Proto::Udp) => "udp",
        _ => "tcp",
    };
    let module = |out: &mut String, name: &'static str, opt: &'static str| {
        let mut cur = last.clone();
        // multiport takes one option per instance.
        if last.name != name || last.opts.contains(&opt) || name == "multiport" {
            let _ = write!(out, " -m {name}");
            cur = Module { name, opts: vec![] };
        }
        cur.opts.push(opt);
        cur
    };
    match m {
        Match::Src(a) => write_addr(out, a, "-s", "--src-range"),
        Match::Dst(a) => write_addr(out, a, "-d", "--dst-range"),
        Match::InIface(i) => write_iface(out, i, "-i"),
        Match::OutIface(i) => write_iface(out, i, "-o"),
        Match::Proto { neg: n, proto } => {
            neg(out, *n);
            let _ = write!(out, " -p {}", proto.name());
        }
        Match::Sport(p) | Match::Dport(p) | Match::AnyPort(p) => {
            let (single, multi) = match m {
                Match::Sport(_) => ("--sport", "--sports"),
                Match::Dport(_) => ("--dport", "--dports"),
                _ => ("--port", "--ports"),
            };
            let multiport = p.set.ranges.len() > 1 || matches!(m, Match::AnyPort(_));
            let used = if multiport {
                module(out, "multiport", multi)
            } else {
                module(out, port_module, single)
            };
            neg(out, p.neg);
            let _ = write!(out, " {} {}", if multiport { multi } else { single }, ports(p));
            return used;
        }
        Match::Icmp { neg: n, v6, icmp: i } => {
            let opt = if *v6 { "--icmpv6-type" } else { "--icmp-type" };
            let used = module(out, if *v6 { "icmp6" } else { "icmp" }, opt);
            neg(out, *n);
            let _ = write!(out, " {opt} {}", icmp::format(*i));
            return used;
        }
        Match::State { neg: n, states } => {
            let _ = write!(out, " -m conntrack");
            neg(out, *n);
            let _ = write!(out, " --ctstate {}", states.names().join(","));
        }
        Match::Owner(o) => {
            let _ = write!(out, " -m owner");
            write_id(out, o.uid, "--uid-owner");
            write_id(out, o.gid, "--gid-owner");
        }
        Match::Physdev(p) => {
            let _ = write!(out, " -m physdev");
            for (opt, val) in [("--physdev-in", &p.physdev_in), ("--physdev-out", &p.physdev_out)] {
                if let Some((n, name)) = val {
                    neg(out, *n);
                    let _ = write!(out, " {opt} {}", quote_if_needed(name));
                }
            }
            for (opt, val) in [
                ("--physdev-is-in", p.is_in),
                ("--physdev-is-out", p.is_out),
                ("--physdev-is-bridged", p.is_bridged),
            ] {
                if let Some(n) = val {
                    neg(out, n);
                    let _ = write!(out, " {opt}");
                }
            }
        }
        Match::TcpFlags { neg: n, mask, comp } => {
            let used = module(out, "tcp", "--tcp-flags");
            neg(out, *n);
            let _ = write!(out, " --tcp-flags {} {}", flag_names(*mask), flag_names(*comp));
            return used;
        }
        Match::Mark { neg: n, value, mask } => {
            let _ = write!(out, " -m mark");
            neg(out, *n);
            if *mask == u32::MAX {
                let _ = write!(out, " --mark {value:#x}");
            } else {
                let _ = write!(out, " --mark {value:#x}/{mask:#x}");
            }
        }
        Match::Time(t) => {
            let _ = write!(out, " -m time");
            if let Some(s) = t.start {
                let _ = write!(out, " --timestart {:02}:{:02}:00", s / 60, s % 60);
            }
            if let Some(s) = t.stop {
                let _ = write!(out, " --timestop {:02}:{:02}:59", s / 60, s % 60);
            }
            if t.weekdays != 0 {
                let _ = write!(out, " --weekdays {}", weekday_names(t.weekdays));
            }
        }
        Match::Limit(l) => out.push_str(&l.iptables()),
        Match::ConnLimit(c) => out.push_str(&c.iptables(family)),
        Match::AddrType(t) => {
            let _ = write!(out, " -m addrtype");
            for (opt, side) in [("--src-type", t.src), ("--dst-type", t.dst)] {
                if let Some((n, types)) = side {
                    neg(out, n);
                    let _ = write!(out, " {opt} {}", types.names().join(","));
                }
            }
            for (opt, on) in
                [("--limit-iface-in", t.limit_iface_in), ("--limit-iface-out", t.limit_iface_out)]
            {
                if on {
                    let _ = write!(out, " {opt}");
                }
            }
        }
        Match::Set(m) => {
            let _ = write!(out, " -m set");
            neg(out, m.neg);
            let dir = if m.src { "src" } else { "dst" };
            let _ = write!(out, " --match-set {} {dir}", quote_if_needed(&m.set.name));
        }
        Match::Module(m) => {
            let _ = write!(out, " -m {}", quote_if_needed(&m.module));
            for a in &m.args {
                let _ = write!(out, " {}", quote_if_needed(a));
            }
        }
        Match::Unknown(u) => {
            let _ = write!(out, " -m {}", quote_if_needed(&u.module));
            for a in &u.args {
                let _ = write!(out, " {}", quote_if_needed(a));
            }
        }
    }
    Module::default()
}

fn write_addr(out: &mut String, a: &AddrMatch, opt: &str, range_opt: &str) {
    let items: Vec<String> = a.set.items.iter().map(|i| addr_text(*i)).collect();
    let is_range = a.set.items.iter().any(|i| matches!(i, AddrItem::Range(..)));
    if is_range {
        let _ = write!(out, " -m iprange");
        neg(out, a.neg);
        let _ = write!(out, " {range_opt} {}", items.join(","));
    } else {
        neg(out, a.neg);
        let _ = write!(out, " {opt} {}", items.join(","));
    }
}

/// `10.0.0.1/32`, `10.0.0.0/8` or `10.0.0.1-10.0.0.9`.
#[must_use]
pub fn addr_text(item: AddrItem) -> String {
    match item {
        AddrItem::Net(n) => n.to_string(),
        AddrItem::Range(a, b) => format!("{a}-{b}"),
    }
}

/// `ADDR[-ADDR][:PORT[-PORT]]`, an IPv6 address in brackets when a port
/// follows, as iptables prints `--to-source` and `--to-destination`.
#[must_use]
pub fn nat_to_text(to: NatTo) -> String {
    let mut s = String::new();
    if let Some((a, b)) = to.addrs {
        let bracket = a.is_ipv6() && to.ports.is_some();
        if bracket {
            s.push('[');
        }
        s.push_str(&a.to_string());
        if a != b {
            let _ = write!(s, "-{b}");
        }
        if bracket {
            s.push(']');
        }
    }
    if let Some(p) = to.ports {
        let _ = write!(s, ":{}", port_range_text(p, '-'));
    }
    s
}

fn port_range_text((a, b): PortRange, sep: char) -> String {
    if a == b { a.to_string() } else { format!("{a}{sep}{b}") }
}

fn write_iface(out: &mut String, i: &IfaceMatch, opt: &str) {
    neg(out, i.neg);
    let names: Vec<String> = i.names.iter().map(|n| quote_if_needed(n)).collect();
    let _ = write!(out, " {opt} {}", names.join(","));
}

fn write_id(out: &mut String, id: Option<IdRange>, opt: &str) {
    if let Some(r) = id {
        neg(out, r.neg);
        if r.first == r.last {
            let _ = write!(out, " {opt} {}", r.first);
        } else {
            let _ = write!(out, " {opt} {}-{}", r.first, r.last);
        }
    }
}

fn ports(p: &PortMatch) -> String {
    let parts: Vec<String> = p
        .set
        .ranges
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}:{b}") })
        .collect();
    parts.join(",")
}

fn flag_names(bits: u8) -> String {
    if bits == 0 {
        return "NONE".into();
    }
    if bits == 0xff {
        return "ALL".into();
    }
    let names: Vec<&str> =
        TCP_FLAGS.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| *n).collect();
    names.join(",")
}

/// Weekday names as `-m time` prints them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn weekday_names(bits: u8) -> String {
    let names: Vec<&str> = WEEKDAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    names.join(",")
}

fn write_target(out: &mut String, rs: &Ruleset, target: &Target, family: Family) {
    match target {
        Target::Accept => out.push_str(" -j ACCEPT"),
        Target::Drop => out.push_str(" -j DROP"),
        Target::Return => out.push_str(" -j RETURN"),
        Target::Reject(with) => {
            let _ = write!(out, " -j REJECT --reject-with {}", reject_name(*with, family));
        }
        Target::Jump(c) => {
            let _ = write!(out, " -j {}", quote_if_needed(rs.name(*c)));
        }
        Target::Goto(c) => {
            let _ = write!(out, " -g {}", quote_if_needed(rs.name(*c)));
        }
        Target::Log(l) => {
            let _ =
                write!(out, " -j LOG --log-prefix {} --log-level {}", quote(&l.prefix), l.level);
        }
        Target::Nflog(n) => {
            out.push_str(" -j NFLOG");
            if let Some(p) = &n.prefix {
                let _ = write!(out, " --nflog-prefix {}", quote(p));
            }
            let _ = write!(out, " --nflog-group {}", n.group);
        }
        Target::Mark(m) => {
            let _ = write!(out, " -j MARK --set-xmark {:#x}/{:#x}", m.xor, m.mask);
        }
        Target::Connmark(Connmark::Set(m)) => {
            let _ = write!(out, " -j CONNMARK --set-xmark {:#x}/{:#x}", m.xor, m.mask);
        }
        Target::Connmark(Connmark::Save { nfmask, ctmask }) => {
            let _ =
                write!(out, " -j CONNMARK --save-mark --nfmask {nfmask:#x} --ctmask {ctmask:#x}");
        }
        Target::Connmark(Connmark::Restore { nfmask, ctmask }) => {
            let _ = write!(
                out,
                " -j CONNMARK --restore-mark --nfmask {nfmask:#x} --ctmask {ctmask:#x}"
            );
        }
        Target::Snat(to) => {
            let _ = write!(out, " -j SNAT --to-source {}", nat_to_text(*to));
        }
        Target::Dnat(to) => {
            let _ = write!(out, " -j DNAT --to-destination {}", nat_to_text(*to));
        }
        Target::Masquerade(ports) | Target::Redirect(ports) => {
            let name =
                if matches!(target, Target::Masquerade(_)) { "MASQUERADE" } else { "REDIRECT" };
            let _ = write!(out, " -j {name}");
            if let Some(p) = ports {
                let _ = write!(out, " --to-ports {}", port_range_text(*p, '-'));
            }
        }
        Target::None => {}
        Target::Other { name, args } => {
            let _ = write!(out, " -j {}", quote_if_needed(name));
            for a in args {
                let _ = write!(out, " {}", quote_if_needed(a));
            }
        }
    }
}

fn reject_name(with: RejectWith, family: Family) -> &'static str {
    with.iptables_name(family)
}

/// Double-quote a value for iptables-restore, escaping `"` and `\`.
/// iptables-restore has no escape for a control character, so one is
/// written in its visible escaped form rather than cutting the line.
#[must_use]
pub fn quote(s: &str) -> String {
    let s = rampart_diag::printable(s);
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn quote_if_needed(s: &str) -> String {
    // A control character stays: in a name it is a bug `one_line` stops.
    if s.is_empty() || s.contains([' ', '"', '\\', '\'']) { quote(s) } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddrSet, CtStates, Log, OwnerMatch, PortSet};

    fn net(s: &str) -> AddrMatch {
        AddrMatch { neg: false, set: AddrSet::one(AddrItem::Net(s.parse().unwrap())).into() }
    }

    #[test]
    fn formats_like_iptables_save() {
        let rule = Rule {
            matches: vec![
                Match::Dst(net("192.168.2.2/32")),
                Match::OutIface(IfaceMatch::one("eth0").into()),
                Match::Proto { neg: false, proto: Proto::Tcp },
                Match::Dport(PortMatch {
                    neg: false,
                    set: PortSet { name: None, ranges: vec![(20002, 20002)] }.into(),
                }),
                Match::Owner(
                    OwnerMatch {
                        uid: Some(IdRange { neg: false, first: 1021, last: 1021 }),
                        gid: None,
                    }
                    .into(),
                ),
                Match::State { neg: false, states: CtStates(CtStates::NEW) },
            ],
            log: None,
            target: Target::Accept,
            comment: Some("rule 7".into()),
            origin: None,
            counters: None,
        };
        assert_eq!(
            format_rule(&Ruleset::default(), &rule, Family::V4),
            "-d 192.168.2.2/32 -o eth0 -p tcp -m tcp --dport 20002 -m owner --uid-owner 1021 \
             -m conntrack --ctstate NEW -m comment --comment \"rule 7\" -j ACCEPT"
        );
    }

    #[test]
    fn multiport_log_and_negation() {
        let mut rule = Rule::new(
            vec![
                Match::Src(AddrMatch { neg: true, ..net("10.0.0.0/8") }),
                Match::Proto { neg: false, proto: Proto::Udp },
                Match::Dport(PortMatch {
                    neg: false,
                    set: PortSet { name: None, ranges: vec![(53, 53), (67, 68)] }.into(),
                }),
            ],
            Target::Log(Log { prefix: "RULE 3 -- DENY ".into(), level: 6 }),
        );
        assert_eq!(
            format_rule(&Ruleset::default(), &rule, Family::V4),
            "! -s 10.0.0.0/8 -p udp -m multiport --dports 53,67:68 -j LOG --log-prefix \"RULE 3 -- DENY \" --log-level 6"
        );
        rule.target = Target::Reject(RejectWith::AdminProhibited);
        assert!(
            format_rule(&Ruleset::default(), &rule, Family::V6)
                .ends_with("--reject-with icmp6-adm-prohibited")
        );
    }

    #[test]
    fn control_characters_never_cut_a_line() {
        let mut rule = Rule::new(vec![Match::Src(net("10.0.0.1/32"))], Target::Drop);
        rule.comment = Some("R1: x\0\n-A INPUT -j ACCEPT".into());
        assert_eq!(
            format_rule(&Ruleset::default(), &rule, Family::V4),
            r#"-s 10.0.0.1/32 -m comment --comment "R1: x\\u{0}\\n-A INPUT -j ACCEPT" -j DROP"#
        );
        rule.target = Target::Log(Log { prefix: "a\u{1b}[2J".into(), level: 4 });
        assert!(
            format_rule(&Ruleset::default(), &rule, Family::V4)
                .ends_with(r#"--log-prefix "a\\u{1b}[2J" --log-level 4"#)
        );
    }

    #[test]
    #[should_panic(expected = "control character")]
    fn a_name_with_a_control_character_is_a_bug() {
        let mut rs = Ruleset::default();
        rs.chains.push(crate::Chain::user("X\0"));
        let _ = format_rule(&rs, &Rule::new(vec![], Target::Jump(crate::ChainId(0))), Family::V4);
    }
}
