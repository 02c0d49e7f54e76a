//! One module per subcommand. Each exposes `run(args) -> anyhow::Result<ExitCode>`.

use std::process::ExitCode;

use crate::args::Command;

pub(crate) mod import;
pub(crate) mod trace;

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Trace(args) => trace::run(*args),
        Command::Import(args) => import::run(args),
    }
}
