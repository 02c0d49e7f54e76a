//! `rampart diff` and `rampart apply --dry-run`: the changes in order,
//! with their policy rules, and the guard's verdict, nothing loaded.

use rampart_lab::{Netns, Tool, require_tools};

use crate::deploy::{rampart, tools};
use crate::util::{tempdir, text};

/// Two rules of a policy, in the order given; their numbers stay, so that
/// swapping them moves the same rules.
fn policy(dir: &std::path::Path, name: &str, first_ssh: bool) -> String {
    let deny = "    deny from web number 5 comment \"web is out\"\n";
    let ssh = "    accept service ssh number 6 comment \"ssh\"\n";
    let rules = if first_ssh { format!("{ssh}{deny}") } else { format!("{deny}{ssh}") };
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "host web 10.0.0.80\nservice ssh tcp 22\nfirewall fw {{\n  interface eth0 10.0.0.1/24\n  \
             ruleset main {{\n{rules}  }}\n}}\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// A listing without its counts, which move with any packet, and without
/// iptables-save's dated comments: the rules are what must not change.
pub(crate) fn uncounted(listing: &str) -> String {
    let mut out = String::new();
    for line in listing.lines().filter(|l| !l.starts_with('#')) {
        let words: Vec<&str> = line.split(' ').collect();
        let mut kept = Vec::new();
        let mut i = 0;
        while i < words.len() {
            match words[i] {
                // nft: `counter packets N bytes M`
                "packets" | "bytes" if i + 1 < words.len() => i += 2,
                // iptables: `:INPUT DROP [N:M]`
                w if line.starts_with(':') && w.starts_with('[') => i += 1,
                w => {
                    kept.push(w);
                    i += 1;
                }
            }
        }
        out.push_str(&kept.join(" "));
        out.push('\n');
    }
    out
}

fn ok(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// The moved rules of the `changes` of `diff --json`, as (chain, rule, at).
fn moved(json: &str) -> Vec<(String, u64, String)> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["loaded"], false);
    let mut out = Vec::new();
    for c in v["changes"].as_array().unwrap() {
        for e in c["edits"].as_array().unwrap().iter().filter(|e| e["change"] == "moved") {
            let at = e["at"].as_str().unwrap_or_default().rsplit('/').next().unwrap().to_owned();
            out.push((
                c["chain"].as_str().unwrap().to_owned(),
                e["policy_rule"].as_u64().unwrap(),
                at,
            ));
        }
    }
    out
}

#[test]
fn a_reordering_shows_as_moved_and_nothing_is_loaded() {
    tools();
    let ns = Netns::new().unwrap();
    let state = tempdir("preview");
    let dir = tempdir("preview-policy");
    let (before, after) = (policy(&dir, "a.rp", false), policy(&dir, "b.rp", true));
    // A host with nothing loaded: the built-in chains get a hook and a
    // policy that drops.
    let out = ok(&rampart(&ns, &state, &["diff", &before], &[]));
    let words: Vec<String> =
        out.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let input = words.iter().position(|l| l == "chain INPUT: 2 added, 1 removed").expect(&out);
    assert_eq!(
        words[input + 1..input + 4],
        ["+ -j rampart-INPUT", "- policy ACCEPT", "+ policy DROP"]
    );
    ok(&rampart(&ns, &state, &["apply", &before], &[]));
    let loaded = || uncounted(&ns.stdout(["iptables-save", "-t", "filter"]).unwrap());
    let was = loaded();

    let json = ok(&rampart(&ns, &state, &["diff", &after, "--json"], &[]));
    // The deny (R5) moved below ssh (R6), or ssh above the deny: either
    // way one rule moved, named with where the new policy writes it.
    let m = moved(&json);
    assert_eq!(m.len(), 1, "{json}");
    assert_eq!(m[0].0, "rampart-INPUT");
    let line = if m[0].1 == 6 { 6 } else { 7 };
    assert_eq!(m[0].2, format!("b.rp:{line}"), "{json}");
    assert!(!json.contains("\"added\"") && !json.contains("\"removed\""), "{json}");

    let out =
        ok(&rampart(&ns, &state, &["apply", "--dry-run", &after, "--mgmt", "10.0.0.9:22"], &[]));
    assert!(out.contains("chain rampart-INPUT: 0 added, 0 removed, 1 moved\n  ~ "), "{out}");
    assert!(out.contains("lock-out guard: the management connection gets through"), "{out}");
    assert_eq!(loaded(), was, "a dry run loads nothing");

    // Rules that would cut the session: apply would refuse, and says why.
    let cutting = dir.join("cut.rp");
    std::fs::write(
        &cutting,
        "firewall fw {\n  interface eth0 10.0.0.1/24\n  ruleset main {\n  }\n}\n",
    )
    .unwrap();
    let out =
        rampart(&ns, &state, &["diff", cutting.to_str().unwrap(), "--mgmt", "10.0.0.9:22"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("lock-out guard: apply would refuse"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("chain rampart-INPUT: 0 added, 2 removed"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(loaded(), was);
}

#[test]
fn the_nft_backend_previews_as_the_kernel_lists_and_loads_nothing() {
    tools();
    require_tools(&[Tool::NFT, Tool { name: "unshare", package: "util-linux" }]).unwrap();
    let ns = Netns::new().unwrap();
    let state = tempdir("preview-nft");
    let dir = tempdir("preview-nft-policy");
    let (before, after) = (policy(&dir, "a.rp", false), policy(&dir, "b.rp", true));
    ok(&rampart(&ns, &state, &["apply", &before, "--backend", "nft"], &[]));
    let loaded = || uncounted(&ns.stdout(["nft", "list", "ruleset"]).unwrap());
    let was = loaded();

    // The same policy: the kernel's listing equals the preview's, no change.
    let out = ok(&rampart(&ns, &state, &["diff", &before, "--backend", "nft"], &[]));
    assert!(out.starts_with("no change\n"), "{out}");
    let json = ok(&rampart(&ns, &state, &["diff", &after, "--backend", "nft", "--json"], &[]));
    let m = moved(&json);
    assert!(
        !m.is_empty() && m.iter().all(|(c, _, _)| c.starts_with("inet rampart chain ")),
        "{json}"
    );
    assert!(m.iter().any(|(_, _, at)| at.starts_with("b.rp:")), "{json}");
    assert_eq!(loaded(), was, "a dry run loads nothing");
}
