//! `rampart test FILES`: a lab file's probes answered by trace alone, no
//! root and no kernel: the fast check for a policy repository's CI.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
use rampart_lab::run::Report;

use crate::commands::INVALID;
use crate::commands::lab;
use crate::printer;

/// Answer the probes of lab files offline: the firewall's ruleset is
/// compiled (or read) as `lab run` does, and every probe is decided by
/// `trace` on the path the lab's routes and bridges give it.
///
/// No root needed. Exit 1 when a probe differs from its expectation (or
/// trace cannot decide it). `rampart lab run` remains the proof in a real
/// kernel.
#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// Lab files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the reports as JSON (one array, one report per file).
    #[arg(long, conflicts_with = "junit")]
    json: bool,
    /// Print JUnit XML: one test suite per file, one test case per probe.
    #[arg(long)]
    junit: bool,
}

pub(crate) fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let mut reports = Vec::new();
    for f in &args.files {
        let Some((l, rules)) = lab::load(f, true)? else { return Ok(ExitCode::from(INVALID)) };
        let report = rampart_lab::offline::run(&l, &rules)
            .map_err(|e| anyhow::Error::new(e).context(format!("{}", f.display())))?;
        reports.push((f.display().to_string(), report));
    }
    if args.json {
        let all: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&all)?));
    } else if args.junit {
        printer::out(&junit(&reports)?);
    } else {
        printer::out(&text(&reports));
    }
    let failed = reports.iter().any(|(_, r)| r.failed > 0);
    Ok(if failed { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}

/// One line per probe: ok or FAIL, where in the file, and what decided.
fn text(reports: &[(String, Report)]) -> String {
    let mut s = String::new();
    for (file, r) in reports {
        for p in &r.probes {
            let mark = if p.ok() { "ok  " } else { "FAIL" };
            let by = p.deciding.as_deref().unwrap_or("no crossing of the firewall");
            let _ = writeln!(s, "{mark} {file}:{} {} -> {} ({by})", p.line, p.probe, p.seen);
            for pr in &p.problems {
                let _ = writeln!(s, "       {pr}");
            }
        }
        let _ = writeln!(
            s,
            "{file}: {} probe(s), {} as expected, {} failed (offline, by trace)",
            r.probes.len(),
            r.passed,
            r.failed
        );
    }
    s
}

fn junit(reports: &[(String, Report)]) -> anyhow::Result<String> {
    let mut out = Junit::new("rampart test");
    for (file, r) in reports {
        let mut suite = TestSuite::new(file.as_str());
        for p in &r.probes {
            let name = format!("line {}: {}", p.line, p.probe);
            let status = if p.ok() {
                TestCaseStatus::success()
            } else {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(p.problems.join("; "));
                st
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(r.lab.as_str());
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    Ok(out.to_string()?)
}
