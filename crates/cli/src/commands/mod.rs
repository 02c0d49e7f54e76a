//! One module per subcommand. Each exposes `run(args) -> anyhow::Result<ExitCode>`.

pub(crate) mod access;
pub(crate) mod check;
pub(crate) mod compile;
pub(crate) mod counters;
pub(crate) mod demo;
pub(crate) mod deploy;
pub(crate) mod fmt;
pub(crate) mod fwb;
pub(crate) mod import;
pub(crate) mod lab;
pub(crate) mod logs;
pub(crate) mod lsp;
pub(crate) mod matrix;
pub(crate) mod nft_rules;
pub(crate) mod push;
pub(crate) mod reference;
pub(crate) mod report;
pub(crate) mod set;
pub(crate) mod test;
pub(crate) mod top;
pub(crate) mod trace;

use std::process::ExitCode;

use crate::args::Command;

/// Problems were found in the input.
pub(crate) const INVALID: u8 = 1;

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(a) => check::run(&a),
        Command::Compile(a) => compile::run(&a),
        Command::Demo(a) => demo::run(&a),
        Command::Apply(a) => deploy::apply(&a),
        Command::Diff(a) => deploy::diff(&a),
        Command::Confirm(a) => deploy::confirm(&a),
        Command::Rollback(a) => deploy::rollback(&a),
        Command::Status(a) => deploy::status(&a),
        Command::InstallService(a) => deploy::install_service(&a),
        Command::Metrics(a) => counters::run_metrics(&a),
        Command::Top(a) => top::run(&a),
        Command::Watchdog(a) => deploy::watchdog(&a),
        Command::Trace(args) => trace::run(*args),
        Command::Import(args) => import::run(args),
        Command::Logs(args) => logs::run(args),
        Command::Lab(a) => lab::run(&a),
        Command::Access(a) => access::run(&a),
        Command::Explain(a) => reference::explain(&a),
        Command::Fmt(a) => fmt::run(&a),
        Command::Lsp(_) => lsp::run(),
        Command::Manpages(a) => reference::manpages(&a),
        Command::Test(a) => test::run(&a),
        Command::Matrix(a) => matrix::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Set(a) => set::run(&a),
    }
}
