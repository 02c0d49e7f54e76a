//! Match modules whose answer a trace is told rather than reads off the
//! packet's headers: `limit`, `hashlimit`, `recent`, `set`, `connmark`,
//! `mac`, `length`, `tcpmss`, `pkttype`. A shape not listed here (an option
//! we do not know, a value the kernel would refuse) gives `None`: the
//! module is then kept as an unknown match, undecided in a trace.

use super::lex::Word;
use crate::{DynSet, Family, Match, ModuleMatch, ModuleTest, PktType, SetMatch, parse_mac};

/// Whether `module` is one of those read here.
pub(crate) fn is_told(module: &str) -> bool {
    matches!(
        module,
        "limit"
            | "hashlimit"
            | "recent"
            | "set"
            | "connmark"
            | "mac"
            | "length"
            | "tcpmss"
            | "pkttype"
    )
}

/// One option: `! --mark 0x1` is `(true, "--mark", ["0x1"])`.
type Opt<'a> = (bool, &'a str, Vec<&'a str>);

/// The module's options; `arity` says how many values each takes (`None`:
/// an option we do not know).
fn options<'a>(args: &'a [Word], arity: impl Fn(&str) -> Option<usize>) -> Option<Vec<Opt<'a>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let neg = args[i].text == "!";
        i += usize::from(neg);
        let name = args.get(i)?.text.as_str();
        let n = arity(name)?;
        let values: Option<Vec<&str>> =
            (0..n).map(|k| args.get(i + 1 + k).map(|w| w.text.as_str())).collect();
        let values = values?;
        if values.contains(&"!") {
            return None;
        }
        out.push((neg, name, values));
        i += 1 + n;
    }
    Some(out)
}

/// The typed match, or `None` to keep the module as unknown.
pub(crate) fn read(module: &str, args: &[Word]) -> Option<Match> {
    let test = match module {
        "limit" => rate(args, &["--limit", "--limit-burst"])?,
        "hashlimit" => rate(
            args,
            &[
                "--hashlimit-upto",
                "--hashlimit-above",
                "--hashlimit",
                "--hashlimit-name",
                "--hashlimit-burst",
                "--hashlimit-mode",
                "--hashlimit-srcmask",
                "--hashlimit-dstmask",
                "--hashlimit-htable-size",
                "--hashlimit-htable-max",
                "--hashlimit-htable-expire",
                "--hashlimit-htable-gcinterval",
            ],
        )?,
        "recent" => recent(args)?,
        "set" => return set(args),
        "connmark" => {
            let (neg, v) = one(args, "--mark")?;
            let (value, mask) = value_mask(v)?;
            ModuleTest::Connmark { neg, value, mask }
        }
        "mac" => {
            let (neg, v) = one(args, "--mac-source")?;
            ModuleTest::MacSource { neg, mac: parse_mac(v)? }
        }
        "length" => {
            let (neg, v) = one(args, "--length")?;
            let (min, max) = range(v)?;
            ModuleTest::Length { neg, min, max }
        }
        "tcpmss" => {
            let (neg, v) = one(args, "--mss")?;
            let (min, max) = range(v)?;
            ModuleTest::TcpMss { neg, min, max }
        }
        "pkttype" => {
            let (neg, v) = one(args, "--pkt-type")?;
            ModuleTest::PktType { neg, kind: PktType::parse(v)? }
        }
        _ => return None,
    };
    Some(Match::Module(Box::new(ModuleMatch {
        module: module.to_owned(),
        args: args.iter().map(|w| w.text.clone()).collect(),
        test,
    })))
}

/// The value of a module's one option, `name`, and its `!`.
fn one<'a>(args: &'a [Word], name: &str) -> Option<(bool, &'a str)> {
    match options(args, |o| (o == name).then_some(1))?.as_slice() {
        [(neg, _, v)] => Some((*neg, v[0])),
        _ => None,
    }
}

/// `limit` and `hashlimit`: every option known, a rate given, no `!`.
fn rate(args: &[Word], known: &[&str]) -> Option<ModuleTest> {
    let opts = options(args, |o| known.contains(&o).then_some(1))?;
    if opts.iter().any(|(neg, _, _)| *neg) {
        return None;
    }
    let rates: Vec<&Opt<'_>> = opts
        .iter()
        .filter(|(_, o, _)| {
            matches!(*o, "--limit" | "--hashlimit-upto" | "--hashlimit-above" | "--hashlimit")
        })
        .collect();
    match rates.as_slice() {
        [(_, o, v)] if rate_ok(v[0]) => Some(ModuleTest::Rate { above: *o == "--hashlimit-above" }),
        // `limit` alone takes the kernel's default of 3/hour.
        [] if known.contains(&"--limit") => Some(ModuleTest::Rate { above: false }),
        _ => None,
    }
}

/// `N/UNIT` as iptables reads it.
fn rate_ok(s: &str) -> bool {
    let (n, unit) = s.split_once('/').unwrap_or((s, "sec"));
    let units = ["s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"];
    n.parse::<u32>().is_ok_and(|n| n > 0) && units.contains(&unit)
}

fn recent(args: &[Word]) -> Option<ModuleTest> {
    let arity = |o: &str| match o {
        "--set" | "--rcheck" | "--update" | "--remove" | "--rsource" | "--rdest" | "--reap"
        | "--rttl" => Some(0),
        "--name" | "--seconds" | "--hitcount" | "--mask" => Some(1),
        _ => None,
    };
    let opts = options(args, arity)?;
    let mut name = "DEFAULT".to_owned();
    let mut command = None;
    for (neg, o, v) in &opts {
        match *o {
            "--set" | "--rcheck" | "--update" | "--remove" => {
                // One command per match.
                if command.is_some() {
                    return None;
                }
                command = Some((*neg, *o != "--set"));
            }
            _ if *neg => return None,
            "--name" => v[0].clone_into(&mut name),
            "--seconds" | "--hitcount" => {
                v[0].parse::<u32>().ok()?;
            }
            _ => {}
        }
    }
    let (neg, check) = command?;
    Some(ModuleTest::Recent { name, check, neg })
}

/// `[!] --match-set NAME src|dst`; the family is the table's, settled
/// once every rule is read.
fn set(args: &[Word]) -> Option<Match> {
    let opts = options(args, |o| (o == "--match-set").then_some(2))?;
    let [(neg, _, v)] = opts.as_slice() else { return None };
    let src = match v[1] {
        "src" => true,
        "dst" => false,
        _ => return None,
    };
    let set = DynSet { name: v[0].to_owned(), family: Family::V4, timeout: None, size: None };
    Some(Match::Set(SetMatch { set, src, neg: *neg }.into()))
}

fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn value_mask(s: &str) -> Option<(u32, u32)> {
    match s.split_once('/') {
        Some((v, m)) => Some((number(v)?, number(m)?)),
        None => Some((number(s)?, u32::MAX)),
    }
}

/// `N`, `N:M`, `N:` or `:M`, low to high.
fn range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = match s.split_once(':') {
        Some((a, b)) => (
            if a.is_empty() { 0 } else { a.parse().ok()? },
            if b.is_empty() { u16::MAX } else { b.parse().ok()? },
        ),
        None => {
            let n = s.parse().ok()?;
            (n, n)
        }
    };
    (a <= b).then_some((a, b))
}
