//! `rampart test FILES`: a lab file's probes answered by trace alone, no
//! root and no kernel: the fast check for a policy repository's CI.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_diag::Sources;
use std::process::ExitCode;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
use rampart_lab::run::Report;

use crate::commands::INVALID;
use crate::commands::lab;
use crate::{policy, printer};

/// Answer the probes of lab files offline: the firewall's ruleset is
/// compiled (or read) as `lab run` does, and every probe is decided by
/// `trace` on the path the lab's routes and bridges give it. A policy
/// file (`.rp`) has its `expect` lines checked the same way.
///
/// No root needed. Exit 1 when a probe or expectation differs (or trace
/// cannot decide it). `rampart lab run` remains the proof in a real
/// kernel.
#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// Lab files, or policy files (`.rp`) with `expect` lines.
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
        let name = f.display().to_string();
        if f.extension().is_some_and(|e| e == "rp") {
            let Some(r) = expectations(f)? else { return Ok(ExitCode::from(INVALID)) };
            reports.push((name, Tested::Policy(r)));
            continue;
        }
        let Some((l, rules)) = lab::load(f, Some(lab::LabTarget::IptablesRestore))? else {
            return Ok(ExitCode::from(INVALID));
        };
        let report = rampart_lab::offline::run(&l, &rules)
            .map_err(|e| anyhow::Error::new(e).context(name.clone()))?;
        reports.push((name, Tested::Lab(report)));
    }
    if args.json {
        let all: Vec<&Tested> = reports.iter().map(|(_, r)| r).collect();
        printer::out(&format!("{}\n", serde_json::to_string_pretty(&all)?));
    } else if args.junit {
        printer::out(&junit(&reports)?);
    } else {
        printer::out(&text(&reports));
    }
    let failed = reports.iter().any(|(_, r)| r.failed() > 0);
    Ok(if failed { ExitCode::from(INVALID) } else { ExitCode::SUCCESS })
}

/// What one file gave: a lab's probes, or a policy's `expect` lines.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Tested {
    Lab(Report),
    Policy(Expectations),
}

impl Tested {
    fn failed(&self) -> usize {
        match self {
            Tested::Lab(r) => r.failed,
            Tested::Policy(p) => p.failed,
        }
    }
}

#[derive(serde::Serialize)]
struct Expectations {
    policy: String,
    passed: usize,
    failed: usize,
    expectations: Vec<Expectation>,
}

#[derive(serde::Serialize)]
struct Expectation {
    line: u32,
    column: u32,
    text: String,
    #[serde(flatten)]
    outcome: rampart_analysis::ExpectOutcome,
    /// The error, as `check` prints it, when it does not hold.
    problem: Option<String>,
}

/// The `expect` lines of a policy, each checked by trace. `None` when
/// the policy has errors (printed) other than its expectations.
fn expectations(path: &Path) -> anyhow::Result<Option<Expectations>> {
    let mut sources = Sources::new();
    let loaded = rampart_model::load(path, &mut sources)
        .with_context(|| format!("cannot read policy `{}`", path.display()))?;
    let model = match loaded.model {
        Some(m) if !loaded.has_errors() => m,
        _ => {
            printer::diagnostics(&loaded.diagnostics, &sources);
            printer::note(&format!("{}: the policy has errors", path.display()));
            return Ok(None);
        }
    };
    let expectations: Vec<Expectation> = policy::expectations(&model)
        .into_iter()
        .map(|o| {
            let at = sources.line_col(o.span.file, o.span.start);
            Expectation {
                line: at.line,
                column: at.col,
                text: sources.slice(o.span).to_owned(),
                problem: o.diagnostic().map(|d| d.message),
                outcome: o,
            }
        })
        .collect();
    let failed = expectations.iter().filter(|e| !e.outcome.holds()).count();
    Ok(Some(Expectations {
        policy: path.display().to_string(),
        passed: expectations.len() - failed,
        failed,
        expectations,
    }))
}

/// One line per probe or expectation: ok or FAIL, where in the file,
/// and what decided.
fn text(reports: &[(String, Tested)]) -> String {
    let mut s = String::new();
    for (file, r) in reports {
        let r = match r {
            Tested::Lab(r) => r,
            Tested::Policy(p) => {
                for e in &p.expectations {
                    let mark = if e.outcome.holds() { "ok  " } else { "FAIL" };
                    let n = e.outcome.packets;
                    let _ = writeln!(s, "{mark} {file}:{} {} ({n} packet(s))", e.line, e.text);
                    if let Some(pr) = &e.problem {
                        let _ = writeln!(s, "       {pr}");
                    }
                }
                let _ = writeln!(
                    s,
                    "{file}: {} expectation(s), {} hold, {} failed (offline, by trace)",
                    p.expectations.len(),
                    p.passed,
                    p.failed
                );
                continue;
            }
        };
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

fn junit(reports: &[(String, Tested)]) -> anyhow::Result<String> {
    let mut out = Junit::new("rampart test");
    for (file, r) in reports {
        let mut suite = TestSuite::new(file.as_str());
        let r = match r {
            Tested::Lab(r) => r,
            Tested::Policy(p) => {
                for e in &p.expectations {
                    let status = match &e.problem {
                        None => TestCaseStatus::success(),
                        Some(pr) => {
                            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                            st.set_message(pr.as_str());
                            st
                        }
                    };
                    let mut case = TestCase::new(format!("line {}: {}", e.line, e.text), status);
                    case.set_classname(p.policy.as_str());
                    suite.add_test_case(case);
                }
                out.add_test_suite(suite);
                continue;
            }
        };
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
