//! `rampart compile --target nft`: the shipped examples as nft documents,
//! snapshotted and accepted by `nft -c -f` (nft must be installed).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::rampart;

fn compile(example: &str) -> String {
    let out = rampart(&["compile", "--target", "nft", example]);
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<String> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rp"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "examples: {files:?}");
    for file in files {
        let path = format!("examples/{file}");
        let text = compile(&path);
        assert_eq!(text, compile(&path), "{path} is not deterministic");
        nft_check(&text);
        let name = format!("nft_{}", file.trim_end_matches(".rp").replace('-', "_"));
        insta::assert_snapshot!(name, text);
    }
}
