//! Running `nft` and owning a network namespace for the length of a test.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Run `nft ARGS -f -` with `input` on stdin, inside `netns` if given.
pub(crate) fn nft(netns: Option<&str>, args: &[&str], input: &str) -> Output {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "nft"]);
            c
        }
        None => Command::new("nft"),
    };
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run nft ({e}): install nftables (apt-get install nftables)")
        });
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Panic with nft's stderr unless it succeeded.
pub(crate) fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// As [`ok`], for any command's output, returning raw stdout.
pub(crate) fn ok_output(out: &Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

/// A network namespace named `rampart-t-<pid>-<tag>`, deleted on drop even
/// when the test fails.
pub(crate) struct Netns {
    pub(crate) name: String,
}

impl Netns {
    pub(crate) fn new(tag: &str) -> Self {
        let name = format!("rampart-t-{}-{tag}", std::process::id());
        // A leftover from a killed run of this same pid would block `add`.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap_or_else(|e| panic!("cannot run ip ({e}): install iproute2, run as root"));
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { name }
    }

    /// Run a command inside the namespace.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", &self.name]).args(args).output().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}
