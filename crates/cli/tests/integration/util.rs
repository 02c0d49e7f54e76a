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

pub(crate) use rampart_testing::tempdir;

/// A gateway with masquerade and a port forward, for the deploy tests.
pub(crate) const NAT_GATEWAY: &str = "network lan 10.1.0.0/24\nhost web 10.2.0.10\n\
    service http tcp 80\nfirewall gw {\n interface eth0 100.64.0.1/24\n \
    interface eth1 10.1.0.1/24\n interface eth2 10.2.0.1/24\n forward on\n ruleset main {\n  \
    accept to web service http\n  accept from lan\n }\n nat {\n  masquerade on eth0 from lan\n  \
    dnat to web on eth0 service http\n }\n}\n";
