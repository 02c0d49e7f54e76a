//! `rampart-bench gen N OUTDIR`: write the synthetic policy of N rules in
//! Rampart's language, as Firewall Builder `.fwb` files and as an Aerleon
//! policy. `tasks/bench/run.sh` runs the tools on them.
//!
//! `rampart-bench analyse N...`: the anomaly analysis of the compiled
//! policy of N rules, timed alone (the median of 3 runs), one line per N.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rampart_bench::{Plan, fwb::FwbOptions};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("rampart-bench: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: rampart-bench gen N OUTDIR | analyse N...";

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "analyse") {
        for n in &args[1..] {
            let n: usize = n.parse().with_context(|| format!("N must be a number: {n}"))?;
            analyse(n)?;
        }
        return Ok(());
    }
    let [cmd, n, dir] = args.as_slice() else { bail!(USAGE) };
    if cmd != "gen" {
        bail!(USAGE);
    }
    let n: usize = n.parse().with_context(|| format!("N must be a number: {n}"))?;
    if n < rampart_bench::MIN_N {
        bail!("N must be at least {}", rampart_bench::MIN_N);
    }
    write_all(&Plan::new(n), Path::new(dir))
}

fn analyse(n: usize) -> anyhow::Result<()> {
    let text = Plan::new(n).rampart();
    let loaded = rampart_model::load_str("bench.rp", &text, &mut rampart_diag::Sources::new());
    let model = loaded.model.context("the generated policy loads")?;
    let rich = rampart_lower::lower(&model.firewalls[0]);
    let mut times = Vec::new();
    let mut found = Vec::new();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        found = rampart_analysis::anomalies(&rich);
        times.push(t.elapsed());
    }
    times.sort();
    let count = |k| found.iter().filter(|a| a.kind == k).count();
    use rampart_analysis::Kind;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "N={n}\tcompiled rules {}\tanalysis {:.3} s\tshadowed {}\tredundant {}\tgeneralization {}\tcorrelation {}",
            rich.rule_count(),
            times[1].as_secs_f64(),
            count(Kind::Shadowed),
            count(Kind::Redundant),
            count(Kind::Generalization),
            count(Kind::Correlation)
        );
    }
    Ok(())
}

fn write_all(plan: &Plan, dir: &Path) -> anyhow::Result<()> {
    let write = |rel: &str, text: &str| -> anyhow::Result<()> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("rampart/policy.rp", &plan.rampart())?;
    for (name, check_shading, iptables_restore) in [
        ("fwb/fw-shadow.fwb", true, false),
        ("fwb/fw.fwb", false, false),
        ("fwb/fw-restore.fwb", false, true),
    ] {
        write(name, &plan.fwb(FwbOptions { check_shading, iptables_restore }))?;
    }
    let a = plan.aerleon();
    write("aerleon/def/NETWORK.net", &a.networks)?;
    write("aerleon/def/SERVICES.svc", &a.services)?;
    write("aerleon/iptables/pol/bench.pol", &a.iptables)?;
    write("aerleon/nftables/pol/bench.pol", &a.nftables)?;
    Ok(())
}
