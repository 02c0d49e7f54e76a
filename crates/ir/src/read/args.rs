//! Turns the words of one iptables rule (what follows `-A CHAIN`) into IR
//! rules. Known modules become typed matches; a module with any option we do
//! not model is kept whole as [`Match::Unknown`], so nothing is guessed.

use std::net::IpAddr;

use ipnet::IpNet;

use super::diagnostics::{self as d, Make, Unreadable};
use super::lex::Word;
use crate::{
    AddrItem, AddrMatch, AddrSet, AddrTypeMatch, AddrTypes, Connmark, CtStates, IdRange,
    IfaceMatch, Log, MarkSet, Match, NatTo, Nflog, OwnerMatch, PhysdevMatch, PortMatch, PortRange,
    PortSet, Proto, RejectWith, Rule, Target, TimeMatch, icmp,
    iptables::{TCP_FLAGS, WEEKDAYS},
};

/// The word `w` cannot be read, as `make` says of its text.
fn err(w: &Word, make: Make) -> Unreadable {
    err_in(w, &w.text, make)
}

/// The word `w` cannot be read, as `make` says of `text` (a part of it,
/// or the option it belongs to).
fn err_in(w: &Word, text: &str, make: Make) -> Unreadable {
    Unreadable { start: w.start, end: w.end, text: text.to_owned(), make }
}

/// Rules whose chain target is not resolved yet: a name that is not a
/// built-in target becomes a jump if such a chain exists (checked once every
/// chain is known); until then the rules' target is `None`.
pub(crate) struct ParsedRule {
    pub rules: Vec<Rule>,
    pub jump: Option<Jump>,
}

/// `-j NAME` or `-g NAME` to a chain, by name.
#[derive(Clone, Debug)]
pub(crate) struct Jump {
    pub goto: bool,
    pub word: Word,
}

/// Options that end a module's option list.
fn is_general(opt: &str) -> bool {
    matches!(
        opt,
        "-s" | "--source"
            | "--src"
            | "-d"
            | "--destination"
            | "--dst"
            | "-i"
            | "--in-interface"
            | "-o"
            | "--out-interface"
            | "-p"
            | "--protocol"
            | "-m"
            | "--match"
            | "-j"
            | "--jump"
            | "-g"
            | "--goto"
            | "-c"
            | "--set-counters"
            | "-f"
            | "--fragment"
    )
}

/// One option of a module: `! --dport 22` is `(true, "--dport", ["22"])`.
struct Opt<'a> {
    neg: bool,
    name: &'a Word,
    values: Vec<&'a Word>,
}

/// How many values a module option takes, when we know the option.
fn arity(opt: &str) -> Option<usize> {
    Some(match opt {
        "--syn"
        | "--physdev-is-bridged"
        | "--physdev-is-in"
        | "--physdev-is-out"
        | "--limit-iface-in"
        | "--limit-iface-out" => 0,
        "--tcp-flags" => 2,
        "--sport"
        | "--source-port"
        | "--dport"
        | "--destination-port"
        | "--sports"
        | "--source-ports"
        | "--dports"
        | "--destination-ports"
        | "--ports"
        | "--icmp-type"
        | "--icmpv6-type"
        | "--state"
        | "--ctstate"
        | "--physdev-in"
        | "--physdev-out"
        | "--uid-owner"
        | "--gid-owner"
        | "--src-range"
        | "--dst-range"
        | "--comment"
        | "--mark"
        | "--timestart"
        | "--timestop"
        | "--weekdays"
        | "--src-type"
        | "--dst-type" => 1,
        _ => return None,
    })
}

/// Parses rule words. `words` starts after the chain name.
pub(crate) fn parse_rule(words: &[Word]) -> Result<ParsedRule, Unreadable> {
    let mut p = RuleParser::default();
    let mut i = 0;
    while i < words.len() {
        let mut neg = false;
        let mut w = &words[i];
        if w.text == "!" {
            neg = true;
            i += 1;
            w = words.get(i).ok_or_else(|| err(&words[i - 1], d::negation_at_end))?;
        }
        i += 1;
        // Old syntax: `-s ! 10.0.0.1`.
        let mut value = |i: &mut usize| -> Result<&Word, Unreadable> {
            let mut v = words.get(*i).ok_or_else(|| err(w, d::missing_value))?;
            if v.text == "!" {
                neg = !neg;
                *i += 1;
                v = words.get(*i).ok_or_else(|| err(w, d::missing_value))?;
            }
            *i += 1;
            Ok(v)
        };
        match w.text.as_str() {
            "-s" | "--source" | "--src" => {
                let v = value(&mut i)?;
                p.addr(w, true, neg, addrs(v)?)?;
            }
            "-d" | "--destination" | "--dst" => {
                let v = value(&mut i)?;
                p.addr(w, false, neg, addrs(v)?)?;
            }
            "-i" | "--in-interface" => {
                let v = value(&mut i)?;
                p.matches.push(Match::InIface(
                    IfaceMatch { neg, names: vec![v.text.clone()].into() }.into(),
                ));
            }
            "-o" | "--out-interface" => {
                let v = value(&mut i)?;
                p.matches.push(Match::OutIface(
                    IfaceMatch { neg, names: vec![v.text.clone()].into() }.into(),
                ));
            }
            "-p" | "--protocol" => {
                let v = value(&mut i)?;
                match proto(&v.text) {
                    Some(None) if !neg => {}
                    Some(None) => return Err(err(v, d::never_matches)),
                    Some(Some(pr)) => {
                        if !neg {
                            p.proto = Some(pr);
                        }
                        p.matches.push(Match::Proto { neg, proto: pr });
                    }
                    None => return Err(err(v, d::unknown_protocol)),
                }
            }
            "-m" | "--match" => {
                let v = value(&mut i)?;
                if neg {
                    return Err(err(w, d::negated_module));
                }
                let start = i;
                i = module_end(words, i);
                p.load(v, &words[start..i]);
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                let v = value(&mut i)?;
                let start = i;
                i = module_end(words, i);
                p.target(w, v, &words[start..i])?;
            }
            "-c" | "--set-counters" => {
                value(&mut i)?;
                value(&mut i)?;
            }
            "-f" | "--fragment" => return Err(err(w, d::fragment_match)),
            opt if opt.starts_with('-') => {
                // An option away from its module belongs, as in iptables, to
                // the last module loaded that owns it (`-m tcp -m multiport
                // -s X --dports 80,443`), else to the protocol's implicit
                // module (`-p tcp --dport 22`).
                let start = i - 1 - usize::from(neg);
                i = module_end(words, i);
                let owner =
                    p.modules.iter_mut().rev().find(|m| options_of(&m.name.text).contains(&opt));
                if let Some(m) = owner {
                    m.args.extend_from_slice(&words[start..i]);
                    continue;
                }
                let module = match p.proto {
                    Some(Proto::Tcp) => "tcp",
                    Some(Proto::Udp) => "udp",
                    Some(Proto::Icmp) => "icmp",
                    Some(Proto::Icmpv6) => "icmp6",
                    _ => return Err(err(w, d::unknown_option)),
                };
                let name = Word { text: module.into(), ..w.clone() };
                p.load(&name, &words[start..i]);
            }
            _ => return Err(err(w, d::unexpected_word)),
        }
    }
    p.finish()
}

/// The options a known match module owns.
fn options_of(module: &str) -> &'static [&'static str] {
    match module {
        "tcp" => {
            &["--sport", "--source-port", "--dport", "--destination-port", "--syn", "--tcp-flags"]
        }
        "udp" => &["--sport", "--source-port", "--dport", "--destination-port"],
        "icmp" => &["--icmp-type"],
        "icmp6" | "ipv6-icmp" => &["--icmpv6-type"],
        "multiport" => {
            &["--sports", "--source-ports", "--dports", "--destination-ports", "--ports"]
        }
        "state" => &["--state"],
        "conntrack" => &["--ctstate"],
        "physdev" => &[
            "--physdev-in",
            "--physdev-out",
            "--physdev-is-bridged",
            "--physdev-is-in",
            "--physdev-is-out",
        ],
        "owner" => &["--uid-owner", "--gid-owner"],
        "iprange" => &["--src-range", "--dst-range"],
        "comment" => &["--comment"],
        "mark" => &["--mark"],
        "time" => &["--timestart", "--timestop", "--weekdays"],
        "addrtype" => &["--src-type", "--dst-type", "--limit-iface-in", "--limit-iface-out"],
        _ => &[],
    }
}

/// Index of the first word after a module's (or target's) options.
fn module_end(words: &[Word], mut i: usize) -> usize {
    while i < words.len() {
        let t = words[i].text.as_str();
        if is_general(t) {
            break;
        }
        if t == "!" && words.get(i + 1).is_some_and(|n| is_general(&n.text)) {
            break;
        }
        i += 1;
    }
    i
}

#[derive(Default)]
struct RuleParser {
    matches: Vec<Match>,
    /// Source and destination lists with the index of their placeholder in
    /// `matches`; `-s a,b` makes one rule per address.
    src: Option<(usize, bool, Vec<AddrItem>)>,
    dst: Option<(usize, bool, Vec<AddrItem>)>,
    proto: Option<Proto>,
    /// Match modules with their options, read once the whole rule is seen.
    modules: Vec<Module>,
    comment: Option<String>,
    target: Option<Target>,
    jump: Option<Jump>,
}

/// A `-m NAME` and its options; `at` is its placeholder in `matches`.
struct Module {
    at: usize,
    name: Word,
    args: Vec<Word>,
}

impl RuleParser {
    fn addr(
        &mut self,
        w: &Word,
        src: bool,
        neg: bool,
        items: Vec<AddrItem>,
    ) -> Result<(), Unreadable> {
        let slot = if src { &mut self.src } else { &mut self.dst };
        if slot.is_some() {
            return Err(err(w, d::given_twice));
        }
        *slot = Some((self.matches.len(), neg, items));
        // Placeholder, replaced per address in `finish`.
        self.matches.push(Match::unknown(String::new(), vec![]));
        Ok(())
    }

    /// Loads a module; its options are read in [`Self::finish`], when every
    /// option it owns has been found.
    fn load(&mut self, name: &Word, args: &[Word]) {
        let at = self.matches.len();
        self.matches.push(Match::unknown(String::new(), vec![]));
        self.modules.push(Module { at, name: name.clone(), args: args.to_vec() });
    }

    fn module(&mut self, name: &Word, args: &[Word]) -> Result<Vec<Match>, Unreadable> {
        let module = name.text.as_str();
        if super::modules::is_told(module) {
            let m = super::modules::read(module, args).unwrap_or_else(|| {
                Match::unknown(module.to_owned(), args.iter().map(|w| w.text.clone()).collect())
            });
            return Ok(vec![m]);
        }
        let opts = split_opts(args);
        let known = matches!(
            module,
            "tcp"
                | "udp"
                | "icmp"
                | "icmp6"
                | "ipv6-icmp"
                | "multiport"
                | "state"
                | "conntrack"
                | "physdev"
                | "owner"
                | "iprange"
                | "comment"
                | "mark"
                | "time"
                | "addrtype"
        );
        let typed = match (known, opts) {
            (true, Some(opts)) => self.typed(module, &opts)?,
            _ => None,
        };
        Ok(match typed {
            Some(ms) => ms,
            None => vec![Match::unknown(
                module.to_owned(),
                args.iter().map(|w| w.text.clone()).collect(),
            )],
        })
    }

    /// Typed matches for a known module, or `None` if an option is not ours
    /// (the module is then kept verbatim as unknown).
    fn typed(&mut self, module: &str, opts: &[Opt<'_>]) -> Result<Option<Vec<Match>>, Unreadable> {
        let mut out = Vec::new();
        let mut owner = OwnerMatch::default();
        let mut physdev = PhysdevMatch::default();
        let mut time = TimeMatch::default();
        let mut addrtype = AddrTypeMatch::default();
        for o in opts {
            let v = o.values.first().copied();
            let opt = o.name.text.as_str();
            if !options_of(module).contains(&opt) {
                return Ok(None);
            }
            let neg = o.neg;
            match opt {
                "--sport" | "--source-port" | "--sports" | "--source-ports" => {
                    out.push(Match::Sport(PortMatch {
                        neg,
                        set: ports(v.unwrap_or(o.name))?.into(),
                    }));
                }
                "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                    out.push(Match::Dport(PortMatch {
                        neg,
                        set: ports(v.unwrap_or(o.name))?.into(),
                    }));
                }
                "--ports" => {
                    out.push(Match::AnyPort(PortMatch {
                        neg,
                        set: ports(v.unwrap_or(o.name))?.into(),
                    }));
                }
                "--syn" => out.push(Match::TcpFlags { neg, mask: 0x17, comp: 0x02 }),
                "--tcp-flags" => {
                    let mask = tcp_flags(o.values[0])?;
                    let comp = tcp_flags(o.values[1])?;
                    out.push(Match::TcpFlags { neg, mask, comp });
                }
                "--icmp-type" | "--icmpv6-type" => {
                    let w = o.values[0];
                    let v6 = opt == "--icmpv6-type";
                    let icmp =
                        icmp::parse(&w.text, v6).ok_or_else(|| err(w, d::unknown_icmp_type))?;
                    out.push(Match::Icmp { neg, v6, icmp });
                }
                "--state" | "--ctstate" => {
                    let w = o.values[0];
                    // Other conntrack states (SNAT, DNAT) are not modelled.
                    let Some(states) = CtStates::parse(&w.text) else { return Ok(None) };
                    out.push(Match::State { neg, states });
                }
                "--physdev-in" => physdev.physdev_in = Some((neg, o.values[0].text.clone())),
                "--physdev-out" => physdev.physdev_out = Some((neg, o.values[0].text.clone())),
                "--physdev-is-bridged" => physdev.is_bridged = Some(neg),
                "--physdev-is-in" => physdev.is_in = Some(neg),
                "--physdev-is-out" => physdev.is_out = Some(neg),
                "--uid-owner" => owner.uid = Some(id_range(o.values[0], neg)?),
                "--gid-owner" => owner.gid = Some(id_range(o.values[0], neg)?),
                "--src-range" | "--dst-range" => {
                    let item = range(o.values[0])?;
                    let m = AddrMatch { neg, set: AddrSet::one(item).into() };
                    out.push(if opt == "--src-range" { Match::Src(m) } else { Match::Dst(m) });
                }
                "--comment" => {
                    let text = &o.values[0].text;
                    self.comment = Some(match self.comment.take() {
                        Some(c) => format!("{c} {text}"),
                        None => text.clone(),
                    });
                }
                "--mark" => {
                    let (value, mask) = mark(o.values[0])?;
                    out.push(Match::Mark { neg, value, mask });
                }
                "--timestart" | "--timestop" | "--weekdays" if neg => return Ok(None),
                "--timestart" => time.start = Some(clock(o.values[0])?),
                "--timestop" => time.stop = Some(clock(o.values[0])?),
                "--weekdays" => time.weekdays = weekdays(o.values[0])?,
                "--src-type" | "--dst-type" => {
                    let w = o.values[0];
                    let types =
                        AddrTypes::parse(&w.text).ok_or_else(|| err(w, d::unknown_address_type))?;
                    let side = Some((neg, types));
                    if opt == "--src-type" {
                        addrtype.src = side;
                    } else {
                        addrtype.dst = side;
                    }
                }
                "--limit-iface-in" => addrtype.limit_iface_in = true,
                "--limit-iface-out" => addrtype.limit_iface_out = true,
                _ => return Ok(None),
            }
        }
        match module {
            "owner" => out.push(Match::Owner(owner.into())),
            "physdev" => out.push(Match::Physdev(physdev.into())),
            "time" => out.push(Match::Time(time)),
            "addrtype" => out.push(Match::AddrType(addrtype)),
            _ => {}
        }
        Ok(Some(out))
    }

    fn target(&mut self, how: &Word, name: &Word, args: &[Word]) -> Result<(), Unreadable> {
        if self.target.is_some() {
            return Err(err(how, d::second_target));
        }
        let goto = how.text == "-g" || how.text == "--goto";
        let t = if goto {
            if !args.is_empty() {
                return Err(err(&args[0], d::goto_with_options));
            }
            self.jump = Some(Jump { goto: true, word: name.clone() });
            Target::None
        } else {
            self.known_target(name, args)?
        };
        self.target = Some(t);
        Ok(())
    }

    fn known_target(&mut self, name: &Word, args: &[Word]) -> Result<Target, Unreadable> {
        let other = || Target::Other {
            name: name.text.clone(),
            args: args.iter().map(|w| w.text.clone()).collect(),
        };
        if name.text == "CONNMARK"
            && let Some(c) = connmark(args)?
        {
            return Ok(Target::Connmark(c));
        }
        let Some(opts) = split_target_opts(args) else { return Ok(other()) };
        let get = |key: &str| opts.iter().find(|(k, _)| k.text == key).map(|(_, v)| *v);
        let only = |keys: &[&str]| opts.iter().all(|(k, _)| keys.contains(&k.text.as_str()));
        Ok(match name.text.as_str() {
            "ACCEPT" | "DROP" | "RETURN" if !args.is_empty() => {
                return Err(err_in(&args[0], &name.text, d::target_without_options));
            }
            "ACCEPT" => Target::Accept,
            "DROP" => Target::Drop,
            "RETURN" => Target::Return,
            "REJECT" if only(&["--reject-with"]) => match get("--reject-with") {
                None => Target::Reject(RejectWith::PortUnreachable),
                Some(w) => Target::Reject(
                    RejectWith::from_iptables(&w.text)
                        .ok_or_else(|| err(w, d::unknown_reject_type))?,
                ),
            },
            "LOG" if only(&["--log-prefix", "--log-level"]) => {
                let level = match get("--log-level") {
                    None => 4,
                    Some(w) => log_level(&w.text).ok_or_else(|| err(w, d::unknown_log_level))?,
                };
                let prefix = get("--log-prefix").map(|w| w.text.clone()).unwrap_or_default();
                Target::Log(Log { prefix, level })
            }
            "NFLOG" if only(&["--nflog-group", "--nflog-prefix"]) => {
                let group = match get("--nflog-group") {
                    None => 0,
                    Some(w) => w.text.parse().map_err(|_| err(w, d::bad_nflog_group))?,
                };
                let prefix = get("--nflog-prefix").map(|w| w.text.clone());
                Target::Nflog(Nflog { group, prefix })
            }
            "MARK" if opts.len() == 1 => match mark_op(opts[0].0, opts[0].1)? {
                Some(m) => Target::Mark(m),
                None => other(),
            },
            "SNAT" if opts.len() == 1 && only(&["--to-source"]) => Target::Snat(nat_to(opts[0].1)?),
            "DNAT" if opts.len() == 1 && only(&["--to-destination"]) => {
                Target::Dnat(nat_to(opts[0].1)?)
            }
            "MASQUERADE" if only(&["--to-ports"]) => {
                Target::Masquerade(get("--to-ports").map(to_ports).transpose()?)
            }
            "REDIRECT" if only(&["--to-ports"]) => {
                Target::Redirect(get("--to-ports").map(to_ports).transpose()?)
            }
            n if args.is_empty() && !is_extension_target(n) => {
                self.jump = Some(Jump { goto: false, word: name.clone() });
                Target::None
            }
            _ => other(),
        })
    }

    fn finish(mut self) -> Result<ParsedRule, Unreadable> {
        let mut read = Vec::new();
        for m in std::mem::take(&mut self.modules) {
            read.push((m.at, self.module(&m.name, &m.args)?));
        }
        let target = self.target.take().unwrap_or(Target::None);
        let srcs = expand(self.src.as_ref());
        let dsts = expand(self.dst.as_ref());
        let mut rules = Vec::new();
        for s in &srcs {
            for d in &dsts {
                let mut matches = Vec::new();
                for (k, m) in self.matches.iter().enumerate() {
                    match (s, d) {
                        ((Some(at), m_s), _) if *at == k => {
                            matches.extend(m_s.clone().map(Match::Src))
                        }
                        (_, (Some(at), m_d)) if *at == k => {
                            matches.extend(m_d.clone().map(Match::Dst))
                        }
                        _ => match read.iter().find(|(at, _)| *at == k) {
                            Some((_, ms)) => matches.extend(ms.iter().cloned()),
                            None => matches.push(m.clone()),
                        },
                    }
                }
                let mut rule = Rule::new(matches, target.clone());
                rule.comment = self.comment.as_deref().map(Into::into);
                rules.push(rule);
            }
        }
        Ok(ParsedRule { rules, jump: self.jump })
    }
}

/// One `Option<AddrMatch>` per rule to make: `-s a,b` gives two rules, as
/// iptables does; no `-s` gives one rule without a source match. A match
/// of everything (`0.0.0.0/0`) is dropped, as iptables-save does.
fn expand(list: Option<&(usize, bool, Vec<AddrItem>)>) -> Vec<(Option<usize>, Option<AddrMatch>)> {
    let Some((at, neg, items)) = list else { return vec![(None, None)] };
    items
        .iter()
        .map(|&item| {
            let all = matches!(item, AddrItem::Net(n) if n.prefix_len() == 0);
            (
                Some(*at),
                (!all || *neg).then(|| AddrMatch { neg: *neg, set: AddrSet::one(item).into() }),
            )
        })
        .collect()
}

/// Target names that are netfilter extensions, not user chains. A rule
/// `-j NAME` with no options still names a chain when one exists; this list
/// only decides what an undefined name means.
fn is_extension_target(name: &str) -> bool {
    matches!(
        name,
        "QUEUE"
            | "NFQUEUE"
            | "MARK"
            | "CONNMARK"
            | "CLASSIFY"
            | "TCPMSS"
            | "TRACE"
            | "NOTRACK"
            | "CT"
            | "AUDIT"
            | "CHECKSUM"
            | "DSCP"
            | "TOS"
            | "TTL"
            | "SET"
            | "TEE"
            | "ULOG"
            | "SNAT"
            | "DNAT"
            | "MASQUERADE"
            | "REDIRECT"
            | "NETMAP"
    )
}

/// Splits a module's words into options; `None` if the shape is not one we
/// know (an unknown option, a missing value).
fn split_opts(args: &[Word]) -> Option<Vec<Opt<'_>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let mut neg = false;
        if args[i].text == "!" {
            neg = true;
            i += 1;
        }
        let name = args.get(i)?;
        let n = arity(&name.text)?;
        i += 1;
        let mut values = Vec::new();
        for _ in 0..n {
            let mut v = args.get(i)?;
            if v.text == "!" {
                // Old syntax: `--dport ! 22`.
                neg = !neg;
                i += 1;
                v = args.get(i)?;
            }
            values.push(v);
            i += 1;
        }
        out.push(Opt { neg, name, values });
    }
    Some(out)
}

/// `--opt value` pairs of a target; `None` if the shape is not that.
/// A mark as iptables writes it: decimal or `0x` hex.
fn mark_number(w: &Word, s: &str) -> Result<u32, Unreadable> {
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    n.ok_or_else(|| err_in(w, s, d::bad_mark))
}

/// `VALUE[/MASK]`; the mask is all ones when left out.
fn value_mask(w: &Word) -> Result<(u32, u32), Unreadable> {
    match w.text.split_once('/') {
        Some((v, m)) => Ok((mark_number(w, v)?, mark_number(w, m)?)),
        None => Ok((mark_number(w, &w.text)?, u32::MAX)),
    }
}

/// MARK's (and CONNMARK's) operations as the kernel's one; `None` for an
/// option this reader does not know.
fn mark_op(op: &Word, val: &Word) -> Result<Option<MarkSet>, Unreadable> {
    let (v, m) = value_mask(val)?;
    Ok(Some(match op.text.as_str() {
        "--set-xmark" => MarkSet { mask: m, xor: v },
        "--set-mark" => MarkSet { mask: m | v, xor: v },
        "--and-mark" => MarkSet { mask: !v, xor: 0 },
        "--or-mark" => MarkSet { mask: v, xor: v },
        "--xor-mark" => MarkSet { mask: 0, xor: v },
        _ => return Ok(None),
    }))
}

/// CONNMARK's options; `None` when they are not ones this reader knows.
fn connmark(args: &[Word]) -> Result<Option<Connmark>, Unreadable> {
    let Some((op, rest)) = args.split_first() else { return Ok(None) };
    if let [val] = rest {
        return Ok(mark_op(op, val)?.map(Connmark::Set));
    }
    let save = match op.text.as_str() {
        "--save-mark" => true,
        "--restore-mark" => false,
        _ => return Ok(None),
    };
    let (mut nfmask, mut ctmask) = (u32::MAX, u32::MAX);
    for pair in rest.chunks(2) {
        let [k, v] = pair else { return Ok(None) };
        let (n, _) = value_mask(v)?;
        match k.text.as_str() {
            "--nfmask" => nfmask = n,
            "--ctmask" => ctmask = n,
            "--mask" => (nfmask, ctmask) = (n, n),
            _ => return Ok(None),
        }
    }
    Ok(Some(if save {
        Connmark::Save { nfmask, ctmask }
    } else {
        Connmark::Restore { nfmask, ctmask }
    }))
}

/// `PORT[-PORT]` (iptables also takes `:` between them).
fn port_range(w: &Word, s: &str) -> Result<PortRange, Unreadable> {
    let num = |p: &str| p.parse::<u16>().map_err(|_| err_in(w, p, d::bad_port));
    match s.split_once(['-', ':']) {
        Some((a, b)) => Ok((num(a)?, num(b)?)),
        None => {
            let p = num(s)?;
            Ok((p, p))
        }
    }
}

fn to_ports(w: &Word) -> Result<PortRange, Unreadable> {
    port_range(w, &w.text)
}

/// `ADDR[-ADDR][:PORT[-PORT]]`, an IPv6 address in brackets when a port
/// follows; either part may be left out (`:8080`).
fn nat_to(w: &Word) -> Result<NatTo, Unreadable> {
    let s = w.text.as_str();
    let (addrs, ports) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']').ok_or_else(|| err(w, d::bad_address))?;
        (a, p.strip_prefix(':'))
    } else if s.matches(':').count() > 1 {
        (s, None) // a bare IPv6 address
    } else {
        match s.split_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        }
    };
    let addr = |a: &str| a.parse::<IpAddr>().map_err(|_| err_in(w, a, d::bad_address));
    let addrs = match addrs {
        "" => None,
        a => {
            let (x, y) = match a.split_once('-') {
                Some((x, y)) => (addr(x)?, addr(y)?),
                None => (addr(a)?, addr(a)?),
            };
            if x.is_ipv4() != y.is_ipv4() || x > y {
                return Err(err_in(w, a, d::bad_address_range));
            }
            Some((x, y))
        }
    };
    let ports = ports.map(|p| port_range(w, p)).transpose()?;
    if addrs.is_none() && ports.is_none() {
        return Err(err(w, d::nothing_to_translate));
    }
    Ok(NatTo { addrs, ports })
}

fn split_target_opts(args: &[Word]) -> Option<Vec<(&Word, &Word)>> {
    args.chunks(2)
        .map(|c| match c {
            [k, v] if k.text.starts_with("--") => Some((k, v)),
            _ => None,
        })
        .collect()
}

/// `all` is `Some(None)`; unknown names are `None`.
fn proto(s: &str) -> Option<Option<Proto>> {
    let n: u8 = match s.to_ascii_lowercase().as_str() {
        "all" | "0" => return Some(None),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" | "ipv6-icmp" => 58,
        "udplite" => 136,
        "sctp" => 132,
        "dccp" => 33,
        "esp" => 50,
        "ah" => 51,
        "gre" => 47,
        "ipip" | "ipencap" => 4,
        "igmp" => 2,
        "ospf" => 89,
        "vrrp" => 112,
        "mh" | "ipv6-mh" => 135,
        other => match other.parse() {
            Ok(n) => n,
            Err(_) => from_protocols_file(other)?,
        },
    };
    Some(Some(Proto::from_number(n)))
}

/// A protocol name as iptables reads it: from `/etc/protocols` (names and
/// aliases, case-insensitive), so `-p ipv6` is protocol 41.
fn from_protocols_file(name: &str) -> Option<u8> {
    static TABLE: std::sync::OnceLock<Vec<(String, u8)>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let text = std::fs::read_to_string("/etc/protocols").unwrap_or_default();
        let mut out = Vec::new();
        for line in text.lines() {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            let (Some(first), Some(Ok(n))) = (words.next(), words.next().map(str::parse::<u8>))
            else {
                continue;
            };
            out.extend(std::iter::once(first).chain(words).map(|w| (w.to_ascii_lowercase(), n)));
        }
        out
    });
    table.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
}

fn addrs(w: &Word) -> Result<Vec<AddrItem>, Unreadable> {
    w.text.split(',').map(|a| addr(a).map_err(|make| err_in(w, a, make))).collect()
}

/// `10.0.0.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, and the v6 forms; an
/// error is the kind of problem with `s`.
fn addr(s: &str) -> Result<AddrItem, Make> {
    let (ip, len) = match s.split_once('/') {
        None => {
            let ip: IpAddr = s.parse().map_err(|_| d::bad_address as Make)?;
            let len = if ip.is_ipv4() { 32 } else { 128 };
            (ip, len)
        }
        Some((ip, mask)) => {
            let ip: IpAddr = ip.parse().map_err(|_| d::bad_address as Make)?;
            let len = match (mask.parse::<u8>(), ip, mask.parse::<IpAddr>()) {
                (Ok(len), _, _) => len,
                (_, IpAddr::V4(_), Ok(IpAddr::V4(m))) => {
                    mask_len(u128::from(m.to_bits()) << 96).ok_or(d::bad_mask as Make)?
                }
                (_, IpAddr::V6(_), Ok(IpAddr::V6(m))) => {
                    mask_len(m.to_bits()).ok_or(d::bad_mask as Make)?
                }
                _ => return Err(d::bad_mask),
            };
            (ip, len)
        }
    };
    let net = IpNet::new(ip, len).map_err(|_| d::bad_mask as Make)?;
    Ok(AddrItem::Net(net.trunc()))
}

fn mask_len(bits: u128) -> Option<u8> {
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then(|| u8::try_from(len).unwrap_or(128))
}

fn range(w: &Word) -> Result<AddrItem, Unreadable> {
    let bad = || err(w, d::bad_address_range);
    let (a, b) = w.text.split_once('-').ok_or_else(bad)?;
    let (a, b): (IpAddr, IpAddr) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    match (a, b) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Ok(AddrItem::Range(a, b))
        }
        _ => Err(bad()),
    }
}

fn ports(w: &Word) -> Result<PortSet, Unreadable> {
    let mut ranges = Vec::new();
    for part in w.text.split(',') {
        let r = match part.split_once(':') {
            Some((a, b)) => {
                let a = if a.is_empty() { 0 } else { port(a).ok_or_else(|| bad_port(w))? };
                let b = if b.is_empty() { 65535 } else { port(b).ok_or_else(|| bad_port(w))? };
                (a, b)
            }
            None => {
                let p = port(part).ok_or_else(|| bad_port(w))?;
                (p, p)
            }
        };
        if r.0 > r.1 {
            return Err(err_in(w, part, d::backwards_port_range));
        }
        ranges.push(r);
    }
    Ok(PortSet { name: None, ranges })
}

fn bad_port(w: &Word) -> Unreadable {
    err(w, d::bad_port)
}

/// A number or a well-known service name (a fixed table, so results do not
/// depend on the machine's /etc/services).
fn port(s: &str) -> Option<u16> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    Some(match s {
        "ftp-data" => 20,
        "ftp" => 21,
        "ssh" => 22,
        "telnet" => 23,
        "smtp" => 25,
        "domain" => 53,
        "bootps" => 67,
        "bootpc" => 68,
        "tftp" => 69,
        "http" | "www" => 80,
        "pop3" => 110,
        "ntp" => 123,
        "imap" | "imap2" => 143,
        "snmp" => 161,
        "ldap" => 389,
        "https" => 443,
        "smtps" => 465,
        "submission" => 587,
        "ldaps" => 636,
        "imaps" => 993,
        "pop3s" => 995,
        "openvpn" => 1194,
        "mysql" => 3306,
        "postgresql" => 5432,
        _ => return None,
    })
}

fn tcp_flags(w: &Word) -> Result<u8, Unreadable> {
    let mut bits = 0;
    for name in w.text.split(',') {
        bits |= match name.to_ascii_uppercase().as_str() {
            "ALL" => 0xff,
            "NONE" => 0,
            n => TCP_FLAGS
                .iter()
                .find(|(_, f)| *f == n)
                .map(|(b, _)| *b)
                .ok_or_else(|| err_in(w, name, d::unknown_tcp_flag))?,
        };
    }
    Ok(bits)
}

fn id_range(w: &Word, neg: bool) -> Result<IdRange, Unreadable> {
    let bad = || err(w, d::bad_owner);
    let (a, b) = w.text.split_once('-').unwrap_or((&w.text, &w.text));
    let first: u32 = a.parse().map_err(|_| bad())?;
    let last: u32 = b.parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    Ok(IdRange { neg, first, last })
}

fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn mark(w: &Word) -> Result<(u32, u32), Unreadable> {
    let bad = || err(w, d::bad_mark);
    match w.text.split_once('/') {
        Some((v, m)) => Ok((number(v).ok_or_else(bad)?, number(m).ok_or_else(bad)?)),
        None => Ok((number(&w.text).ok_or_else(bad)?, u32::MAX)),
    }
}

/// `HH:MM[:SS]` as minutes after midnight.
fn clock(w: &Word) -> Result<u16, Unreadable> {
    let bad = || err(w, d::bad_time);
    let mut it = w.text.split(':');
    let h: u16 = it.next().and_then(|h| h.parse().ok()).ok_or_else(bad)?;
    let m: u16 = it.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn weekdays(w: &Word) -> Result<u8, Unreadable> {
    let mut bits = 0u8;
    for day in w.text.split(',') {
        let i = match day.parse::<usize>() {
            Ok(n @ 1..=7) => n - 1,
            _ => WEEKDAYS
                .iter()
                .position(|n| n.eq_ignore_ascii_case(day))
                .ok_or_else(|| err_in(w, day, d::unknown_weekday))?,
        };
        bits |= 1 << i;
    }
    Ok(bits)
}

fn log_level(s: &str) -> Option<u8> {
    Some(match s {
        "emerg" | "panic" => 0,
        "alert" => 1,
        "crit" => 2,
        "err" | "error" => 3,
        "warning" | "warn" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        n => n.parse().ok().filter(|l| *l <= 7)?,
    })
}
