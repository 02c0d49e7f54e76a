//! Trace throughput: the compiled evaluator against the straightforward
//! linear one, on generated rulesets of 1k, 10k and 100k rules.
//!
//! Run: `cargo bench -p rampart-trace --bench trace`. After criterion's
//! wall-clock figures it prints a table of packets per CPU-second (read
//! from the scheduler, so a busy machine disturbs it less). The ruleset shape:
//! an ESTABLISHED,RELATED accept first, then per-host rules (a source
//! network, one destination host, a protocol and a port, ACCEPT/DROP/LOG),
//! with 1 rule in 20 a jump to one of 8 user chains of 20 rules each, and
//! 20 rules constraining no address (e.g. `-p tcp --dport 22 -j LOG`),
//! spread over the first 2,000.
//! Packets: half built to hit a random rule, half random (most of which
//! fall through to the policy, the linear evaluator's worst case).
//!
//! For an instruction count that a busy machine does not disturb, with
//! `RAMPART_TRACE_PROFILE=N` the bench only traces the packets of the N-rule
//! ruleset 20 times with the compiled evaluator:
//! `RAMPART_TRACE_PROFILE=10000 valgrind --tool=callgrind <bench binary>`,
//! then `callgrind_annotate --inclusive=yes` gives the instructions of
//! `Tracer::trace` (called 20,480 times).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use rampart_ir::{
    AddrItem, AddrMatch, AddrSet, Chain, ChainId, CtStates, Log, Match, Policy, PortMatch, PortSet,
    Proto, Rule, Ruleset, Target,
};
use rampart_trace::{CtState, Hook, Packet, Tracer, tcp, trace};

const PORTS: [u16; 8] = [22, 25, 53, 80, 443, 3306, 5432, 8080];

fn host(i: u64) -> Ipv4Addr {
    let i = u32::try_from(i).unwrap_or(0);
    Ipv4Addr::new(10, (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

fn addr(net: Ipv4Addr, len: u8) -> AddrMatch {
    let n = ipnet::Ipv4Net::new(net, len).unwrap().trunc();
    AddrMatch { neg: false, set: AddrSet::one(AddrItem::Net(n.into())).into() }
}

fn ports(p: u16) -> PortMatch {
    PortMatch { neg: false, set: PortSet { name: None, ranges: vec![(p, p)] }.into() }
}

fn ruleset(n: usize, rng: &mut fastrand::Rng) -> Ruleset {
    let mut input = Chain::builtin(Hook::Input, Policy::Drop);
    input.rules.push(Rule::new(
        vec![Match::State {
            neg: false,
            states: CtStates(CtStates::ESTABLISHED | CtStates::RELATED),
        }],
        Target::Accept,
    ));
    let mut users: Vec<Chain> = (0..8).map(|i| Chain::user(&format!("user{i}"))).collect();
    for c in &mut users {
        for _ in 0..20 {
            let src = Ipv4Addr::from(0xc0a8_0000 | u32::try_from(rng.u64(..65536)).unwrap_or(0));
            c.rules.push(Rule::new(vec![Match::Src(addr(src, 32))], Target::Accept));
        }
    }
    let hosts = (n as u64 / 4).max(1);
    for i in 1..n {
        let proto = if rng.u64(..4) == 0 { Proto::Udp } else { Proto::Tcp };
        let port = PORTS[rng.u64(..8) as usize];
        let mut m = Vec::new();
        if i % 100 != 0 || i > 2000 {
            let src_len = [8u8, 16, 24, 32][rng.u64(..4) as usize];
            let src = Ipv4Addr::from(0xc0a8_0000 | u32::try_from(rng.u64(..65536)).unwrap_or(0));
            m.push(Match::Src(addr(src, src_len)));
            m.push(Match::Dst(addr(host(rng.u64(..hosts)), 32)));
        }
        m.push(Match::Proto { neg: false, proto });
        m.push(Match::Dport(ports(port)));
        let target = match i % 20 {
            0 => Target::Jump(ChainId(1 + rng.usize(..8))),
            1 => Target::Log(Log { prefix: format!("RULE {i} -- DENY "), level: 6 }),
            2..=5 => Target::Drop,
            _ => Target::Accept,
        };
        input.rules.push(Rule::new(m, target));
    }
    let mut rs = Ruleset { chains: vec![input] };
    rs.chains.extend(users);
    rs
}

fn packets(rs: &Ruleset, count: usize, rng: &mut fastrand::Rng) -> Vec<Packet> {
    let input = &rs.chains[0].rules;
    let hosts = (input.len() as u64 / 4).max(1);
    (0..count)
        .map(|k| {
            let mut p = Packet {
                in_iface: Some("eth0".into()),
                src: Some(IpAddr::V4(Ipv4Addr::from(
                    0xc0a8_0000 | u32::try_from(rng.u64(..65536)).unwrap_or(0),
                ))),
                dst: Some(IpAddr::V4(host(rng.u64(..hosts)))),
                proto: Some(6),
                sport: Some(40000 + u16::try_from(rng.u64(..20000)).unwrap_or(0)),
                dport: Some(PORTS[rng.u64(..8) as usize]),
                tcp_flags: Some(tcp::SYN),
                state: CtState::New,
                ..Packet::new(Hook::Input)
            };
            if k % 2 == 0 {
                // Aim at a random rule.
                let r = &input[1 + rng.u64(..input.len() as u64 - 1) as usize];
                for m in &r.matches {
                    match m {
                        Match::Src(a) | Match::Dst(a) => {
                            if let AddrItem::Net(n) = a.set.items[0] {
                                let ip = n.network();
                                if matches!(m, Match::Src(_)) {
                                    p.src = Some(ip)
                                } else {
                                    p.dst = Some(ip)
                                }
                            }
                        }
                        Match::Proto { proto, .. } => p.proto = Some(proto.number()),
                        Match::Dport(d) => p.dport = Some(d.set.ranges[0].0),
                        _ => {}
                    }
                }
                if p.proto == Some(17) {
                    p.tcp_flags = None;
                }
            }
            p
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("trace");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000, 100_000] {
        let mut rng = fastrand::Rng::with_seed(0x7261_6d70_6172_7421);
        let rs = ruleset(n, &mut rng);
        let compiled = Tracer::new(&rs);
        let batch = packets(&rs, 1024, &mut rng);
        // The linear evaluator is slow on big rulesets: give it fewer packets.
        let linear_batch = &batch[..(1024 * 1000 / n).clamp(8, 1024)];
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_with_input(BenchmarkId::new("compiled", n), &batch, |b, batch| {
            b.iter(|| {
                for p in batch {
                    black_box(compiled.trace(black_box(p)));
                }
            });
        });
        group.throughput(Throughput::Elements(linear_batch.len() as u64));
        group.bench_with_input(BenchmarkId::new("linear", n), linear_batch, |b, batch| {
            b.iter(|| {
                for p in batch {
                    black_box(trace(&rs, black_box(p)));
                }
            });
        });
    }
    group.finish();
    let mut group = c.benchmark_group("compile");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    for n in [1_000usize, 10_000, 100_000] {
        let rs = ruleset(n, &mut fastrand::Rng::with_seed(0x7261_6d70_6172_7421));
        group.bench_with_input(BenchmarkId::from_parameter(n), &rs, |b, rs| {
            b.iter(|| black_box(Tracer::new(rs)));
        });
    }
    group.finish();
}

/// CPU time this thread has run, from the scheduler (not wall time, so a
/// busy machine slows the figures less).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Packets per CPU-second of `f` over `batch`, run for about `secs` of CPU.
fn per_cpu_second(batch: &[Packet], secs: f64, f: impl Fn(&Packet)) -> f64 {
    let start = cpu_ns();
    let mut packets = 0u64;
    while (cpu_ns() - start) as f64 / 1e9 < secs {
        for p in batch {
            f(p);
        }
        packets += batch.len() as u64;
    }
    packets as f64 / ((cpu_ns() - start) as f64 / 1e9)
}

/// The table for BENCHMARKS.md: packets per CPU-second, both evaluators.
#[allow(clippy::print_stdout)] // a bench reports
fn cpu_table() {
    println!(
        "\n| rules | compiled (packets/CPU-s) | linear (packets/CPU-s) | ratio | compile time |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for n in [1_000usize, 10_000, 100_000] {
        let mut rng = fastrand::Rng::with_seed(0x7261_6d70_6172_7421);
        let rs = ruleset(n, &mut rng);
        let t = std::time::Instant::now();
        let compiled = Tracer::new(&rs);
        let build = t.elapsed();
        let batch = packets(&rs, 1024, &mut rng);
        let linear_batch = &batch[..(1024 * 1000 / n).clamp(8, 1024)];
        let fast = per_cpu_second(&batch, 2.0, |p| {
            black_box(compiled.trace(black_box(p)));
        });
        let slow = per_cpu_second(linear_batch, 2.0, |p| {
            black_box(trace(&rs, black_box(p)));
        });
        println!("| {n} | {fast:.0} | {slow:.0} | {:.0}× | {build:.0?} |", fast / slow);
    }
}

criterion_group!(benches, bench);

/// The compiled evaluator alone, for callgrind.
fn profile(n: usize) {
    let mut rng = fastrand::Rng::with_seed(0x7261_6d70_6172_7421);
    let rs = ruleset(n, &mut rng);
    let compiled = Tracer::new(&rs);
    let batch = packets(&rs, 1024, &mut rng);
    for _ in 0..20 {
        for p in &batch {
            black_box(compiled.trace(black_box(p)));
        }
    }
}

fn main() {
    if let Some(n) = std::env::var("RAMPART_TRACE_PROFILE").ok().and_then(|s| s.parse().ok()) {
        profile(n);
        return;
    }
    benches();
    cpu_table();
    Criterion::default().configure_from_args().final_summary();
}
