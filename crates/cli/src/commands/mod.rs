//! One module per subcommand. Each exposes `run(args) -> anyhow::Result<ExitCode>`.

use std::process::ExitCode;

use crate::args::Command;

pub(crate) mod logs;

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Logs(args) => logs::run(args),
    }
}
