//! `rampart trace`: which rule decides a packet.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rampart_ir::{Family, IcmpMatch, Ruleset, icmp};
use rampart_trace::{
    CtState, Given, Hook, Interfaces, LocalTable, Packet, Tracer, check, explain, tcp,
};

use super::import::{RulesFormat, read_rules};
use crate::printer;

/// Trace a packet through a firewall: the rules it meets, the log lines it
/// prints, and the verdict.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["policy", "rules", "live"])))]
pub(crate) struct TraceArgs {
    /// A Rampart policy file (with --firewall).
    pub(crate) policy: Option<PathBuf>,
    /// The firewall of the policy to trace.
    #[arg(long, requires = "policy", add = crate::complete::firewall())]
    pub(crate) firewall: Option<String>,
    /// An existing ruleset: iptables-save output or a `$IPTABLES` script.
    #[arg(long, value_name = "FILE", conflicts_with = "policy")]
    pub(crate) rules: Option<PathBuf>,
    /// The rulesets this host is running: every nftables table, the
    /// iptables-nft tables as iptables wrote them, and iptables-legacy's.
    #[arg(long, conflicts_with_all = ["policy", "rules"])]
    pub(crate) live: bool,
    /// Force the format of --rules instead of detecting it.
    #[arg(long, value_enum, requires = "rules")]
    pub(crate) format: Option<RulesFormat>,
    /// Which backend's ruleset of the policy to trace: the iptables one, or
    /// the rich one the nftables backend writes (sets, log-then-verdict).
    #[arg(long, value_enum, default_value = "iptables", requires = "policy")]
    pub(crate) target: TraceTarget,
    #[command(flatten)]
    pub(crate) packet: PacketArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TraceTarget {
    Iptables,
    Nft,
}

/// The packet. Fields not given are unknown: rules that need them are
/// reported with the verdict either way.
#[derive(Debug, clap::Args)]
pub(crate) struct PacketArgs {
    /// Netfilter hook: input, output or forward (the filter rules), or
    /// prerouting or postrouting (the NAT rules, for a new connection: the
    /// translation and the packet the next hooks see), or all: a packet
    /// arriving on --in through prerouting, the routing decision (from the
    /// policy's interfaces, or --out), input or forward, and postrouting.
    #[arg(
        long,
        default_value = "input",
        value_parser = ["input", "output", "forward", "prerouting", "postrouting", "all"]
    )]
    pub(crate) hook: String,
    /// Input interface (-i).
    #[arg(long = "in", value_name = "IFACE")]
    pub(crate) in_iface: Option<String>,
    /// Output interface (-o).
    #[arg(long = "out", value_name = "IFACE")]
    pub(crate) out_iface: Option<String>,
    /// Bridge port the packet came in on.
    #[arg(long, value_name = "PORT")]
    pub(crate) physdev_in: Option<String>,
    /// Bridge port the packet goes out on.
    #[arg(long, value_name = "PORT")]
    pub(crate) physdev_out: Option<String>,
    /// Bridged port to port (set by itself on forward when a port is given).
    #[arg(long)]
    pub(crate) physdev_is_bridged: bool,
    /// Source address.
    #[arg(long, value_name = "IP")]
    pub(crate) src: Option<IpAddr>,
    /// Destination address.
    #[arg(long, value_name = "IP")]
    pub(crate) dst: Option<IpAddr>,
    /// Protocol: tcp, udp, icmp, icmpv6 or a number.
    #[arg(long, value_name = "PROTO")]
    pub(crate) proto: Option<String>,
    /// Source port.
    #[arg(long, value_name = "N")]
    pub(crate) sport: Option<u16>,
    /// Destination port.
    #[arg(long, value_name = "N")]
    pub(crate) dport: Option<u16>,
    /// ICMP type, as a number or a name, with an optional code: 8, 3/3, echo-request.
    #[arg(long, value_name = "TYPE[/CODE]")]
    pub(crate) icmp_type: Option<String>,
    /// TCP flags, comma separated: syn, ack, fin, rst, psh, urg
    /// (default: syn for state new, ack otherwise).
    #[arg(long, value_name = "FLAGS")]
    pub(crate) tcp_flags: Option<String>,
    /// Conntrack state: new, established, related, invalid, untracked.
    #[arg(long, default_value = "new")]
    pub(crate) state: String,
    /// UID of the sending socket (owner match; output hook).
    #[arg(long, value_name = "N")]
    pub(crate) uid: Option<u32>,
    /// GID of the sending socket (owner match; output hook).
    #[arg(long, value_name = "N")]
    pub(crate) gid: Option<u32>,
    /// Packet mark, decimal or 0x hex.
    #[arg(long, value_name = "N")]
    pub(crate) mark: Option<String>,
    /// The packet's address is in this run-time set (`set NAME ipv4`):
    /// the set's elements are not in the ruleset, so without this or
    /// --not-in-set a rule on the set is undecided.
    #[arg(long, value_name = "SET")]
    pub(crate) in_set: Vec<String>,
    /// The packet's address is not in this run-time set.
    #[arg(long, value_name = "SET")]
    pub(crate) not_in_set: Vec<String>,
    /// The members of the run-time sets, as `ipset save` writes them: a
    /// rule on a set listed there (`hash:ip`, `hash:net`) is decided by
    /// the address it looks at; --in-set and --not-in-set come first.
    /// With --live, the host's own sets are read when a rule uses one.
    #[arg(long, value_name = "FILE")]
    pub(crate) ipset_file: Option<PathBuf>,
    /// An address of the firewall host, with its prefix length (repeat for
    /// each): decides `-m addrtype` / `fib … type` (LOCAL, BROADCAST,
    /// UNICAST). Without it, only the destination on input (and the source
    /// on output) counts as local. `--live` reads the host's own.
    #[arg(long, value_name = "ADDR/LEN")]
    pub(crate) local: Vec<ipnet::IpNet>,
    /// Packets come faster than the rate limits allow (`-m limit`,
    /// `hashlimit`, a policy's `limit`); without it they come under the rate.
    #[arg(long)]
    pub(crate) over_limit: bool,
    /// The address a `-m recent --name NAME` rule checks is on that list
    /// (recently and often enough for the rule); without this or
    /// --recent-unlisted the rule is undecided.
    #[arg(long, value_name = "NAME")]
    pub(crate) recent_listed: Vec<String>,
    /// The address is not on the `-m recent` list NAME.
    #[arg(long, value_name = "NAME")]
    pub(crate) recent_unlisted: Vec<String>,
    /// The connection's mark (`-m connmark`), decimal or 0x hex.
    #[arg(long, value_name = "N")]
    pub(crate) connmark: Option<String>,
    /// The Ethernet source address (`-m mac --mac-source`).
    #[arg(long, value_name = "MAC")]
    pub(crate) mac_source: Option<String>,
    /// The IP packet's length in bytes (`-m length`).
    #[arg(long, value_name = "BYTES")]
    pub(crate) length: Option<u16>,
    /// The TCP segment's MSS option (`-m tcpmss`), or `none`.
    #[arg(long, value_name = "N|none")]
    pub(crate) mss: Option<String>,
}

/// A mark: decimal or 0x hex.
fn mark_number(flag: &str, m: &str) -> anyhow::Result<u32> {
    match m.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => m.parse(),
    }
    .with_context(|| format!("{flag} `{m}` is not a number"))
}

pub(crate) fn proto_number(s: &str) -> anyhow::Result<u8> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => n.parse().with_context(|| format!("unknown protocol `{s}`"))?,
    })
}

fn tcp_flags(s: &str) -> anyhow::Result<u8> {
    let mut bits = 0;
    for f in s.split(',') {
        bits |= match f.trim().to_ascii_lowercase().as_str() {
            "syn" => tcp::SYN,
            "ack" => tcp::ACK,
            "fin" => tcp::FIN,
            "rst" => tcp::RST,
            "psh" => tcp::PSH,
            "urg" => tcp::URG,
            "none" => 0,
            other => bail!("unknown TCP flag `{other}` (use syn, ack, fin, rst, psh, urg)"),
        };
    }
    Ok(bits)
}

impl PacketArgs {
    /// The packet, or a message saying which flag is wrong.
    pub(crate) fn packet(&self) -> anyhow::Result<Packet> {
        // `all` starts where a packet arrives.
        let hook = match self.hook.as_str() {
            "all" => Hook::Prerouting,
            h => Hook::parse(h)
                .context("--hook is input, output, forward, prerouting, postrouting or all")?,
        };
        let state = CtState::parse(&self.state)
            .context("--state is new, established, related, invalid or untracked")?;
        let proto = self.proto.as_deref().map(proto_number).transpose()?;
        if let (Some(s), Some(d)) = (self.src, self.dst)
            && s.is_ipv4() != d.is_ipv4()
        {
            bail!("--src and --dst are of different address families");
        }
        let icmp = match &self.icmp_type {
            None => None,
            Some(s) => {
                let v6 = proto == Some(58) || self.src.or(self.dst).is_some_and(|a| a.is_ipv6());
                match icmp::parse(s, v6) {
                    Some(IcmpMatch::TypeCode(t, c)) => Some((t, Some(c))),
                    // Echo request and reply only have code 0.
                    Some(IcmpMatch::Type(t @ (0 | 8 | 128 | 129))) => Some((t, Some(0))),
                    Some(IcmpMatch::Type(t)) => Some((t, None)),
                    _ => bail!("unknown ICMP type `{s}`"),
                }
            }
        };
        let tcp_flags = match (&self.tcp_flags, proto) {
            (Some(f), _) => Some(tcp_flags(f)?),
            (None, Some(6)) if state == CtState::New => Some(tcp::SYN),
            (None, Some(6)) => Some(tcp::ACK),
            (None, _) => None,
        };
        let mark = self.mark.as_deref().map_or(Ok(0), |m| mark_number("--mark", m))?;
        let mac_source = match &self.mac_source {
            None => None,
            Some(m) => Some(
                rampart_ir::parse_mac(m)
                    .with_context(|| format!("--mac-source `{m}` is not a MAC address"))?,
            ),
        };
        let mss = match self.mss.as_deref() {
            None => None,
            Some("none") => Some(None),
            Some(n) => {
                Some(Some(n.parse().with_context(|| format!("--mss `{n}` is not a number"))?))
            }
        };
        let given = Given {
            over_limit: self.over_limit,
            recent: self
                .recent_listed
                .iter()
                .map(|n| (n.clone(), true))
                .chain(self.recent_unlisted.iter().map(|n| (n.clone(), false)))
                .collect(),
            connmark: self.connmark.as_deref().map(|m| mark_number("--connmark", m)).transpose()?,
            mac_source,
            length: self.length,
            mss,
        };
        let physdev = self.physdev_in.is_some() || self.physdev_out.is_some();
        let mut packet = Packet {
            hook,
            in_iface: self.in_iface.clone(),
            out_iface: self.out_iface.clone(),
            physdev_in: self.physdev_in.clone(),
            physdev_out: self.physdev_out.clone(),
            bridged: self.physdev_is_bridged || (hook == Hook::Forward && physdev),
            src: self.src,
            dst: self.dst,
            proto,
            sport: self.sport,
            dport: self.dport,
            icmp,
            tcp_flags,
            state,
            uid: self.uid,
            gid: self.gid,
            mark,
            src_type: None,
            dst_type: None,
            sets: self
                .in_set
                .iter()
                .map(|n| (n.clone(), true))
                .chain(self.not_in_set.iter().map(|n| (n.clone(), false)))
                .collect(),
            given,
        };
        self.local_table().classify(&mut packet);
        Ok(packet)
    }

    /// What `--local` says of the host's addresses.
    fn local_table(&self) -> LocalTable {
        match self.local.as_slice() {
            [] => LocalTable::default(),
            addrs => LocalTable::from_addresses(addrs),
        }
    }
}

/// Decides the `-m set` matches of `rulesets` by the members of the
/// run-time sets: from `--ipset-file`, or with `--live` from this host
/// (`ipset save`, run only when a rule matches a set). Sets it cannot
/// read stay undecided.
fn run_time_sets(
    args: &TraceArgs,
    packet: &mut Packet,
    rulesets: &[&Ruleset],
) -> anyhow::Result<()> {
    let text = if let Some(file) = &args.packet.ipset_file {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    } else if args.live
        && rulesets
            .iter()
            .flat_map(|rs| &rs.chains)
            .flat_map(|c| &c.rules)
            .any(|r| r.matches.iter().any(|m| matches!(m, rampart_ir::Match::Set(_))))
    {
        let mut ipset = std::process::Command::new("ipset");
        rampart_os::run(ipset.arg("save"), "ipset", None)
            .context("reading this host's run-time sets (ipset save)")?
    } else {
        return Ok(());
    };
    let members = rampart_ir::ipset_members(&text);
    for rs in rulesets {
        packet.sets_from(rs, &members);
    }
    Ok(())
}

pub(crate) fn run(args: TraceArgs) -> anyhow::Result<ExitCode> {
    let mut packet = match args.packet.packet() {
        Ok(p) => p,
        Err(e) => {
            printer::note(&format!("error: {e:#}"));
            return Ok(ExitCode::from(1));
        }
    };
    let all = args.packet.hook == "all";
    // Across the hooks, or at a hook with nat chains, an nft ruleset is
    // traced as one ruleset.
    let hook = packet.hook;
    let nat_hooks = |rs: &rampart_ir::read::nft::NftRuleset| {
        all || rs.bases.iter().any(|b| b.kind == rampart_ir::Table::Nat && b.hook == hook)
    };
    let mut nft_joined = None;
    let mut local = args.packet.local_table();
    if args.live {
        if args.packet.local.is_empty() {
            local = super::nft_rules::local_table()?;
            local.classify(&mut packet);
        }
        let rs = super::nft_rules::live()?;
        if !nat_hooks(&rs) {
            let rulesets: Vec<_> = rs.bases.iter().map(|b| &b.ruleset).collect();
            run_time_sets(&args, &mut packet, &rulesets)?;
            return super::nft_rules::trace(&rs, &packet, args.json);
        }
        nft_joined = Some(rs);
    }
    if let Some(path) = &args.rules {
        let nft = match args.format {
            None => super::nft_rules::read_file(path)?,
            Some(_) => None,
        };
        if let Some(read) = nft {
            let Some(rs) = read else {
                return Ok(ExitCode::from(1));
            };
            if !nat_hooks(&rs) {
                let rulesets: Vec<_> = rs.bases.iter().map(|b| &b.ruleset).collect();
                run_time_sets(&args, &mut packet, &rulesets)?;
                note_assumed_local(&args.packet, &packet, &rulesets);
                return super::nft_rules::trace(&rs, &packet, args.json);
            }
            nft_joined = Some(rs);
        }
    }
    let mut ifaces = Interfaces::unknown();
    let (ruleset, family) = match (nft_joined, &args.rules, &args.policy) {
        (Some(rs), _, _) => {
            let v6 = matches!(packet.src.or(packet.dst), Some(IpAddr::V6(_)));
            (rs.joined(v6), if v6 { Family::V6 } else { Family::V4 })
        }
        (None, Some(path), _) => {
            let Some(imported) = read_rules(path, args.format)? else {
                return Ok(ExitCode::from(1));
            };
            // Every table: the nat table's rules for the NAT hooks.
            let (Some(rs), Some(t)) = (imported.joined(), imported.filter()) else {
                // Without a filter table the file says nothing about what
                // the filter hooks decide: never an empty, accepting one.
                printer::note(&format!(
                    "error: {} has no filter table, so it cannot say what a packet meets",
                    path.display()
                ));
                return Ok(ExitCode::from(1));
            };
            // iptables and ip6tables rules are separate tables: an IPv4
            // ruleset decides nothing for an IPv6 packet, and the other way.
            if let Some(addr) = packet.src.or(packet.dst) {
                let wanted = if addr.is_ipv6() { Family::V6 } else { Family::V4 };
                if wanted != t.family {
                    let (has, other) = match t.family {
                        Family::V4 => ("IPv4 (iptables)", "ip6tables"),
                        Family::V6 => ("IPv6 (ip6tables)", "iptables"),
                    };
                    printer::note(&format!(
                        "error: {} holds {has} rules; they decide nothing for this packet. \
                         Trace it against the {other} ruleset.",
                        path.display()
                    ));
                    return Ok(ExitCode::from(1));
                }
            }
            (rs.into_ruleset(), t.family)
        }
        (None, None, Some(policy)) => {
            let mut sources = rampart_diag::Sources::new();
            let (fw, compiled) =
                match super::compile::build(policy, args.firewall.as_deref(), &mut sources)? {
                    Ok(built) => built,
                    Err(code) => return Ok(code),
                };
            ifaces = rampart_analysis::packets::interfaces(&fw);
            bridge_ports(&mut packet, &fw);
            // The ruleset that `rampart compile` loads for this family; a
            // firewall without IPv6 rules leaves IPv6 alone (empty tables).
            let v6 = matches!(packet.src.or(packet.dst), Some(IpAddr::V6(_)));
            let family = if v6 { Family::V6 } else { Family::V4 };
            match (args.target, v6) {
                // one inet table holds both families
                (TraceTarget::Nft, _) => (compiled.rich, family),
                (TraceTarget::Iptables, true) => (compiled.v6.into_ruleset(), family),
                (TraceTarget::Iptables, false) => (compiled.v4.into_ruleset(), family),
            }
        }
        (None, None, None) => bail!("give a policy file or --rules FILE"),
    };
    run_time_sets(&args, &mut packet, &[&ruleset])?;
    note_assumed_local(&args.packet, &packet, &[&ruleset]);
    note_rate(&args.packet, &[&ruleset]);
    let problems = check(&ruleset);
    if !problems.is_empty() {
        for p in &problems {
            printer::note(&format!("error: chain {} rule {}: {}", p.chain, p.index, p.message));
        }
        return Ok(ExitCode::from(1));
    }
    let family = match packet.src.or(packet.dst) {
        Some(IpAddr::V6(_)) => Family::V6,
        Some(IpAddr::V4(_)) => Family::V4,
        None => family,
    };
    let compiled = Tracer::new(&ruleset);
    if all {
        let r = rampart_trace::routed(&ruleset, &packet, &ifaces, &local, &|c, p| {
            compiled.trace_chain(c, p)
        });
        if args.json {
            let json = explain::routed_to_json(&ruleset, &r, family);
            printer::out(&format!("{}\n", serde_json::to_string_pretty(&json)?));
        } else {
            printer::out(&explain::routed_to_text(&ruleset, &r, family));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if matches!(packet.hook, Hook::Prerouting | Hook::Postrouting) {
        return nat(&ruleset, &packet, &ifaces, family, args.json);
    }
    let trace = compiled.trace(&packet);
    if args.json {
        let json = explain::to_json(&ruleset, &trace, family);
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&json)?));
    } else {
        printer::out(&explain::to_text(&ruleset, &packet, &trace, family));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--in PORT` or `--out PORT` naming a port of one of the policy's
/// bridges: the kernel shows the bridge as the interface and the port as
/// the physdev, so the packet gets both.
fn bridge_ports(packet: &mut Packet, fw: &rampart_model::Firewall) {
    for (iface, physdev) in [
        (&mut packet.in_iface, &mut packet.physdev_in),
        (&mut packet.out_iface, &mut packet.physdev_out),
    ] {
        if physdev.is_none()
            && let Some(bridge) = iface.as_deref().and_then(|p| fw.port_of(p))
        {
            *physdev = iface.replace(bridge.to_owned());
        }
    }
    let physdev = packet.physdev_in.is_some() || packet.physdev_out.is_some();
    packet.bridged |= packet.hook == Hook::Forward && physdev;
}

/// Rate limits are taken as holding (packets under the rate) unless
/// `--over-limit`: say so where a ruleset has one.
fn note_rate(args: &PacketArgs, rulesets: &[&rampart_ir::Ruleset]) {
    use rampart_ir::{Match, ModuleTest};
    let rate = |m: &Match| match m {
        Match::Limit(_) => true,
        Match::Module(m) => matches!(m.test, ModuleTest::Rate { .. }),
        _ => false,
    };
    let uses = rulesets
        .iter()
        .flat_map(|rs| &rs.chains)
        .flat_map(|c| &c.rules)
        .any(|r| r.matches.iter().any(rate));
    if uses {
        let how = if args.over_limit { "faster than" } else { "under" };
        printer::note(&format!(
            "note: rate limits (-m limit, hashlimit, limit): packets taken as coming {how} the \
             rate{}",
            if args.over_limit { "" } else { "; --over-limit asks the other way" }
        ));
    }
}

/// Without the host's addresses, `-m addrtype` takes the destination of an
/// input packet (the source of an output one) as LOCAL: say so where it
/// can matter, since a subnet broadcast would be BROADCAST.
fn note_assumed_local(args: &PacketArgs, packet: &Packet, rulesets: &[&rampart_ir::Ruleset]) {
    let addr = match packet.hook {
        Hook::Input => packet.dst,
        Hook::Output => packet.src,
        _ => None,
    };
    let uses = || {
        rulesets
            .iter()
            .flat_map(|rs| &rs.chains)
            .flat_map(|c| &c.rules)
            .any(|r| r.matches.iter().any(|m| matches!(m, rampart_ir::Match::AddrType(_))))
    };
    if let Some(addr) = addr
        && args.local.is_empty()
        && uses()
    {
        printer::note(&format!(
            "note: address types (-m addrtype, fib): {addr} counts as LOCAL, an address of this \
             host; give the host's addresses with --local ADDR/LEN to tell broadcasts apart"
        ));
    }
}

/// `--hook prerouting|postrouting`: the nat table's walk for a new
/// connection and the translation it makes.
fn nat(
    ruleset: &rampart_ir::Ruleset,
    packet: &Packet,
    ifaces: &Interfaces,
    family: Family,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let n = rampart_trace::nat::translate(ruleset, packet, ifaces);
    if json {
        let v = explain::nat_json(ruleset, packet, &n, family);
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    } else {
        let mut text = explain::to_text(ruleset, packet, &n.trace, family);
        text.push_str(&format!("nat: {}\n", explain::nat_line(packet, &n)));
        if let Some(t) = &n.translation {
            text.push_str(&format!("then: {}\n", explain::packet_line(&t.after)));
            // Connection tracking translates the replies back.
            let back = t.undo(packet, &t.reply());
            let (arrives, leaves) = (explain::endpoints(&t.reply()), explain::endpoints(&back));
            text.push_str(&format!("reply: {arrives} leaves as {leaves}\n"));
        }
        printer::out(&text);
    }
    Ok(ExitCode::SUCCESS)
}
