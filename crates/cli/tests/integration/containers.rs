//! Where rules cannot be loaded, or their LOG lines go nowhere (a
//! container): one sentence on what is missing and what still works,
//! before anything is loaded.

use std::process::Output;

use rampart_lab::{Netns, Tool, require_tools};

use crate::deploy::{NO_BOOT, rampart, tools};
use crate::preview::uncounted;
use crate::util::{root, tempdir, text};

/// rampart in `ns` with CAP_NET_ADMIN dropped (as LXC without it does).
fn without_net_admin(ns: &Netns, state: &std::path::Path, args: &[&str]) -> Output {
    without(ns, "net_admin", state, args)
}

/// rampart in `ns` with capability `cap` dropped.
fn without(ns: &Netns, cap: &str, state: &std::path::Path, args: &[&str]) -> Output {
    let drop = format!("-{cap}");
    ns.command("setpriv")
        .args(["--bounding-set", &drop, "--inh-caps", &drop, "--"])
        .arg(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("RAMPART_BOOT_DIR", NO_BOOT)
        .env("SSH_CONNECTION", "")
        .output()
        .expect("run rampart under setpriv")
}

#[test]
fn without_cap_net_admin_nothing_is_tried_and_one_sentence_says_why() {
    tools();
    require_tools(&[Tool::SETPRIV, Tool::NFT]).unwrap();
    let ns = Netns::new().unwrap();
    let state = tempdir("no-net-admin");
    let listed = || uncounted(&ns.stdout(["iptables-save"]).unwrap());
    let before = listed();
    for (args, what) in [
        (&["apply", "examples/spice-client.rp"][..], "nothing was loaded"),
        (&["apply", "examples/spice-client.rp", "--backend", "nft"][..], "nothing was loaded"),
        (&["diff", "examples/spice-client.rp"][..], "nothing was compared"),
        (&["status", "--counters"][..], "nothing applied by rampart"),
    ] {
        let out = without_net_admin(&ns, &state, args);
        let err = text(&out.stderr);
        if args[0] == "status" {
            // Nothing was applied: nothing to read, and no error.
            assert!(text(&out.stdout).contains(what), "{args:?}: {err}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let sentence = err.lines().find(|l| l.contains("CAP_NET_ADMIN")).unwrap_or_default();
        assert!(
            sentence.contains("lacks CAP_NET_ADMIN")
                && sentence.contains(what)
                && sentence
                    .contains("still works here: `rampart check`, `compile`, `trace` and `test`"),
            "{args:?}: {err}"
        );
    }
    assert!(!state.join("applied.json").exists() && !state.join("pending.json").exists());
    assert_eq!(listed(), before, "nothing was loaded");
}

#[test]
fn an_nft_preview_without_a_namespace_of_its_own_says_so() {
    tools();
    require_tools(&[Tool::SETPRIV, Tool::NFT]).unwrap();
    let ns = Netns::new().unwrap();
    let state = tempdir("no-sys-admin");
    let args = ["diff", "examples/spice-client.rp", "--backend", "nft"];
    let out = without(&ns, "sys_admin", &state, &args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot make a throw-away network namespace"), "{err}");
    assert!(err.contains("nothing was compared"), "{err}");
}

#[test]
fn log_rules_in_a_network_namespace_of_their_own_are_said_to_depend_on_the_host() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("netns-log");
    // spice-client logs (`deny ... log`, the default deny).
    let out = rampart(&ns, &state, &["apply", "examples/spice-client.rp"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let note = err.lines().position(|l| l.contains("not the host's network namespace"));
    let applied = err.lines().position(|l| l.starts_with("applied firewall"));
    assert!(note.is_some() && note < applied, "said before loading: {err}");
    assert!(
        err.contains("net.netfilter.nf_log_all_netns=1") && err.contains("`rampart logs follow`")
    );
}
