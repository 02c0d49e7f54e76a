//! `rampart compile --target nft`: the shipped examples as nft documents,
//! snapshotted and accepted by `nft -c -f` (nft must be installed).

use std::path::Path;
use std::process::{Command, Stdio};

fn compile(example: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["compile", "--target", "nft", example])
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rampart");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn nft_check(text: &str) {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run nft ({e}): install nftables (apt-get install nftables)")
        });
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "nft -c -f: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn examples_compile_to_nft() {
    for (name, file) in [
        ("nft_spice_client", "examples/spice-client.rp"),
        ("nft_office_gateway", "examples/office-gateway.rp"),
    ] {
        let text = compile(file);
        assert_eq!(text, compile(file), "not deterministic");
        nft_check(&text);
        insta::assert_snapshot!(name, text);
    }
}
