//! `nft -c -f` (check mode, nothing applied) accepts every output.

use crate::{fixtures, sys};

#[test]
fn nft_check_accepts_every_fixture() {
    let ns = sys::Netns::new().unwrap();
    for (name, rs) in fixtures::all() {
        let text = rampart_nft::emit(&rs);
        sys::ok(
            &sys::nft(Some(ns.name()), &["-c", "-f", "-"], &text),
            &format!("nft -c -f ({name})"),
        );
    }
}
