//! Running `nft` and commands in the namespaces of rampart-netns.

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub(crate) use rampart_netns::Netns;

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

/// `ip ARGS` inside `ns`; panics with ip's complaint if it fails.
pub(crate) fn ip(ns: &Netns, args: &[&str]) {
    if let Err(e) = ns.run([&["ip"], args].concat()) {
        panic!("in {}: {e}", ns.name());
    }
}

/// Any command inside `ns`, successful or not: tests look at the status.
pub(crate) fn run(ns: &Netns, args: &[&str]) -> Output {
    ns.command(args[0]).args(&args[1..]).output().expect("run ip netns exec")
}
