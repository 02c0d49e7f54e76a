//! What every test here needs: the binary, run from the project root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root, where `examples/` and the fixtures' paths start.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built `rampart`, run from the project root, without colour.
pub(crate) fn command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.current_dir(root()).env("NO_COLOR", "1");
    cmd
}

/// Run `rampart ARGS` to the end.
pub(crate) fn rampart(args: &[&str]) -> Output {
    command().args(args).output().expect("run rampart")
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A fresh directory under the target's temporary directory.
pub(crate) fn tempdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
