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
        let Some((l, rules)) = lab::load(f, Some(lab::LabBackend::Iptables))? else {
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

/// One probe or expectation, as the text and JUnit forms show it.
struct Case<'a> {
    ok: bool,
    line: usize,
    text: &'a str,
    /// What follows the text on its line: what was seen, or the packets.
    result: String,
    problems: Vec<&'a str>,
}

impl Tested {
    fn failed(&self) -> usize {
        match self {
            Tested::Lab(r) => r.failed,
            Tested::Policy(p) => p.failed,
        }
    }

    /// The file as named in the report (JUnit's class name).
    fn name(&self) -> &str {
        match self {
            Tested::Lab(r) => &r.lab,
            Tested::Policy(p) => &p.policy,
        }
    }

    fn cases(&self) -> Vec<Case<'_>> {
        match self {
            Tested::Lab(r) => r
                .probes
                .iter()
                .map(|p| Case {
                    ok: p.ok(),
                    line: p.line,
                    text: &p.probe,
                    result: format!(
                        "-> {} ({})",
                        p.seen,
                        p.deciding.as_deref().unwrap_or("no crossing of the firewall")
                    ),
                    problems: p.problems.iter().map(String::as_str).collect(),
                })
                .collect(),
            Tested::Policy(p) => p
                .expectations
                .iter()
                .map(|e| Case {
                    ok: e.outcome.holds(),
                    line: e.line as usize,
                    text: &e.text,
                    result: format!("({} packet(s))", e.outcome.packets),
                    problems: e.problem.iter().map(String::as_str).collect(),
                })
                .collect(),
        }
    }

    /// The closing line's counts.
    fn summary(&self) -> String {
        match self {
            Tested::Lab(r) => format!(
                "{} probe(s), {} as expected, {} failed",
                r.probes.len(),
                r.passed,
                r.failed
            ),
            Tested::Policy(p) => format!(
                "{} expectation(s), {} hold, {} failed",
                p.expectations.len(),
                p.passed,
                p.failed
            ),
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
        for c in r.cases() {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let _ = writeln!(s, "{mark} {file}:{} {} {}", c.line, c.text, c.result);
            for pr in &c.problems {
                let _ = writeln!(s, "       {pr}");
            }
        }
        let _ = writeln!(s, "{file}: {} (offline, by trace)", r.summary());
    }
    s
}

fn junit(reports: &[(String, Tested)]) -> anyhow::Result<String> {
    let mut out = Junit::new("rampart test");
    for (file, r) in reports {
        let mut suite = TestSuite::new(file.as_str());
        for c in r.cases() {
            let status = if c.ok {
                TestCaseStatus::success()
            } else {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(c.problems.join("; "));
                st
            };
            let mut case = TestCase::new(format!("line {}: {}", c.line, c.text), status);
            case.set_classname(r.name());
            suite.add_test_case(case);
        }
        out.add_test_suite(suite);
    }
    Ok(out.to_string()?)
}
