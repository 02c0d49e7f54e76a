//! `rampart-bench-datapath N...`: what a packet costs the kernel with the
//! benchmark policy of N rules loaded, as iptables, linear nft and the
//! classifier form, against a drop-all ruleset measured in the same run.
//!
//! A router namespace sits between a sender and a receiver namespace (veth
//! links, interfaces `eth0`/`eth1` as the policy names them). The sender
//! (`blast`, `sendmmsg` of 64-byte UDP datagrams) runs for a fixed time and
//! reports datagrams per second: "unmatched" goes to 10.200.0.1:9, which no
//! rule names (a scan or a flood); "matched" goes to the destination and
//! UDP port of the policy's last `deny from not …` rule, which drops it, so
//! every datagram is classified anew. Load time is `nft -f` or
//! `iptables-restore` of the whole document. The classifier form is also
//! loaded without its `log` statements, and compiled from the policy with
//! a firewall-wide `log-limit`, as a host that logs what it drops would
//! set it. Run as root; prints Markdown.

mod blast;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rampart_bench::{Kind, Plan};
use rampart_diag::Sources;
use rampart_ir::Family;
use rampart_lab::{Netns, veth};

const USAGE: &str = "usage: rampart-bench-datapath [--secs S] [--also NAME=DIR] N...   (root)\n       \
                     rampart-bench-datapath blast DST PORT SECS";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[expect(clippy::print_stderr, reason = "a benchmark tool's error")]
            {
                eprintln!("rampart-bench-datapath: {e:#}");
            }
            std::process::ExitCode::from(2)
        }
    }
}

#[expect(clippy::print_stdout, reason = "the report")]
fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, dst, port, secs] = args.as_slice()
        && cmd == "blast"
    {
        let time = Duration::from_secs_f64(secs.parse()?);
        println!("{:.0}", blast::blast(dst.parse()?, port.parse()?, time)?);
        return Ok(());
    }
    let mut secs = 2.0;
    let mut sizes = Vec::new();
    // Documents made elsewhere (another build), `DIR/N.nft` per size.
    let mut also: Vec<(String, std::path::PathBuf)> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secs" => secs = it.next().context(USAGE)?.parse()?,
            "--also" => {
                let (name, dir) = it.next().and_then(|s| s.split_once('=')).context(USAGE)?;
                also.push((name.to_owned(), std::path::PathBuf::from(dir)));
            }
            n => sizes
                .push(n.parse::<usize>().with_context(|| format!("{USAGE}\nnot a number: {n}"))?),
        }
    }
    if sizes.is_empty() {
        bail!(USAGE);
    }
    let time = Duration::from_secs_f64(secs);
    println!("| rules | ruleset | load | unmatched pps | / drop-all | matched pps | / drop-all |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for n in sizes {
        let bench = Bench::new(n)?;
        let drop_all = measure(&Ruleset::Nft(DROP_ALL.to_owned()), &bench, time)?;
        let row = |name: &str, m: &Measured| {
            println!(
                "| {n} | {name} | {:.2} s | {:.0} | {:.1}% | {:.0} | {:.1}% |",
                m.load.as_secs_f64(),
                m.unmatched,
                100.0 * m.unmatched / drop_all.unmatched,
                m.matched,
                100.0 * m.matched / drop_all.matched,
            );
        };
        row("drop-all", &drop_all);
        for (name, rules) in bench.rulesets() {
            row(name, &measure(&rules, &bench, time)?);
        }
        for (name, dir) in &also {
            let path = dir.join(format!("{n}.nft"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            row(name, &measure(&Ruleset::Nft(text), &bench, time)?);
        }
    }
    Ok(())
}

const DROP_ALL: &str = "table inet dropall {\n\tchain f {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n";

enum Ruleset {
    Nft(String),
    Iptables(String),
}

/// The policy of N rules compiled three ways, the classifier form of the
/// same policy with a firewall-wide `log-limit`, and the matched packet.
struct Bench {
    iptables: String,
    linear: String,
    classifier: String,
    limited: String,
    matched: (Ipv4Addr, u16),
}

/// The `log-limit` of the "log-limit" variant: what a host that logs
/// denied packets would set, so a flood is counted but not written out.
const LOG_LIMIT: &str = "  log-limit 10/second burst 20\n";

impl Bench {
    fn new(n: usize) -> anyhow::Result<Bench> {
        let plan = Plan::new(n);
        let text = plan.rampart();
        let rich = lower(&text)?;
        let firewall = "\nfirewall fw {\n";
        let at = text.find(firewall).context("the policy has no firewall `fw`")? + firewall.len();
        let limited = lower(&format!("{}{LOG_LIMIT}{}", &text[..at], &text[at..]))?;
        let v4 = rampart_lower::iptables(&rich, Family::V4);
        let matched = plan
            .main
            .iter()
            .rev()
            .filter(|r| r.kind == Kind::DenyNot)
            .find_map(|r| {
                let svc = r.svc?.leaves()[0].clone();
                let net = r.dst?.leaves()[0].1;
                (svc.1 == "udp").then(|| (Ipv4Addr::from(u32::from(net) + 1), svc.2))
            })
            .context("the policy has no `deny from not` rule on a UDP service")?;
        Ok(Bench {
            iptables: rampart_emit::iptables_restore(&v4, Family::V4, "bench", None),
            linear: rampart_nft::emit(&rich),
            classifier: rampart_nft::emit(&rampart_nft::classify(&rich)),
            limited: rampart_nft::emit(&rampart_nft::classify(&limited)),
            matched,
        })
    }

    fn rulesets(&self) -> [(&'static str, Ruleset); 7] {
        [
            ("Rampart iptables", Ruleset::Iptables(self.iptables.clone())),
            ("Rampart nft, linear", Ruleset::Nft(self.linear.clone())),
            ("Rampart nft, linear, no counters", Ruleset::Nft(uncounted(&self.linear))),
            ("Rampart nft, classifier", Ruleset::Nft(self.classifier.clone())),
            ("Rampart nft, classifier, no counters", Ruleset::Nft(uncounted(&self.classifier))),
            ("Rampart nft, classifier, no `log`", Ruleset::Nft(without_log(&self.classifier))),
            ("Rampart nft, classifier, `log-limit`", Ruleset::Nft(self.limited.clone())),
        ]
    }
}

/// The rich form of the policy `text`.
fn lower(text: &str) -> anyhow::Result<rampart_ir::Ruleset> {
    let loaded = rampart_model::load_str("bench.rp", text, &mut Sources::new());
    let model = loaded.model.context("the generated policy has errors")?;
    Ok(rampart_lower::lower(&model.firewalls[0]))
}

/// The document without its `counter` statements: what counting costs is
/// the difference. (Only the statement: the bench policy's comments hold
/// no such word.)
fn uncounted(doc: &str) -> String {
    doc.lines()
        .map(|l| {
            let indent = l.len() - l.trim_start().len();
            let words: Vec<&str> = l.split_whitespace().filter(|w| *w != "counter").collect();
            format!("{}{}\n", &l[..indent], words.join(" "))
        })
        .collect()
}

/// The document without its `log` statements: what logging costs a packet.
fn without_log(doc: &str) -> String {
    doc.lines()
        .map(|l| match (l.find(" log prefix \""), l.find(" level info")) {
            (Some(a), Some(b)) if a < b => {
                format!("{}{}\n", &l[..a], &l[b + " level info".len()..])
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

struct Measured {
    load: Duration,
    unmatched: f64,
    matched: f64,
}

/// Fresh namespaces, the ruleset loaded into the router, both rates.
fn measure(rules: &Ruleset, bench: &Bench, time: Duration) -> anyhow::Result<Measured> {
    let (sender, router, receiver) = (Netns::new()?, Netns::new()?, Netns::new()?);
    veth(&sender, "s0", &router, "eth0")?;
    veth(&receiver, "d0", &router, "eth1")?;
    sender.addr("s0", "192.168.1.2/24")?;
    router.addr("eth0", "192.168.1.1/24")?;
    router.addr("eth1", "192.168.2.1/24")?;
    receiver.addr("d0", "10.200.0.1/32")?;
    sender.route("default", "192.168.1.1")?;
    router.run(["ip", "route", "add", "10.200.0.1/32", "dev", "eth1"])?;
    router.run(["ip", "route", "add", "10.128.0.0/9", "dev", "eth1"])?;
    router.sysctl("net.ipv4.ip_forward", "1")?;
    let start = Instant::now();
    match rules {
        Ruleset::Nft(text) => router.run_with_input(&["nft", "-f", "-"], text)?,
        Ruleset::Iptables(text) => router.run_with_input(&["iptables-restore"], text)?,
    };
    let load = start.elapsed();
    let me = std::env::current_exe()?;
    let rate = |dst: Ipv4Addr, port: u16| -> anyhow::Result<f64> {
        let out = sender.stdout([
            me.as_os_str(),
            "blast".as_ref(),
            dst.to_string().as_ref(),
            port.to_string().as_ref(),
            time.as_secs_f64().to_string().as_ref(),
        ])?;
        out.trim().parse().with_context(|| format!("sender said {out:?}"))
    };
    let unmatched = rate(Ipv4Addr::new(10, 200, 0, 1), 9)?;
    let matched = rate(bench.matched.0, bench.matched.1)?;
    Ok(Measured { load, unmatched, matched })
}
