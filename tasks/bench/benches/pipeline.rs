//! The compiler's inner loops on the generated 10,000-rule policy:
//! `cargo bench -p rampart-bench`.
//!
//! `load` is parse + resolve + every check of the model; `anomalies` is
//! the analysis of the compiled rules (W0301, W0320-W0322) that `rampart
//! check` runs after it.

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_bench::Plan;
use rampart_diag::Sources;
use rampart_ir::Family;

const N: usize = 10_000;

fn pipeline(c: &mut Criterion) {
    let text = Plan::new(N).rampart();
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("bench.rp", &text, &mut sources);
    let model = loaded.model.expect("the generated policy checks clean");
    let fw = &model.firewalls[0];
    let rich = rampart_lower::lower(fw);
    let v4 = rampart_lower::iptables(&rich, Family::V4);

    let mut g = c.benchmark_group("pipeline-10k");
    g.sample_size(10);
    g.bench_function("parse", |b| {
        b.iter(|| {
            let mut s = Sources::new();
            let file = s.add("bench.rp", text.as_str());
            rampart_syntax::parse(s.text(file), file)
        });
    });
    g.bench_function("load", |b| {
        b.iter(|| rampart_model::load_str("bench.rp", &text, &mut Sources::new()));
    });
    g.bench_function("lower", |b| b.iter(|| rampart_lower::lower(fw)));
    g.bench_function("anomalies", |b| b.iter(|| rampart_analysis::anomalies(&rich)));
    g.bench_function("iptables", |b| b.iter(|| rampart_lower::iptables(&rich, Family::V4)));
    g.bench_function("emit", |b| {
        b.iter(|| rampart_emit::iptables_restore(&v4, Family::V4, "bench", Some(&sources)));
    });
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
